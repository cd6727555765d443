"""--mirror: files on disk match the records; a full disk fails URLs, not the crawl;
bodies waiting for a slow disk stay within --max-buffer."""
import glob
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from sitelib import UVCRAWL, Site, check, crawl, records, run_tests, skip  # noqa: E402

TMP = tempfile.mkdtemp(prefix="uvcrawl-mirror-")


def mirror_path(root, site, url):
    path = url[len(site.origin):]
    if path.endswith("/"):
        path += "index.html"
    return os.path.join(root, f"127.0.0.1:{site.port}", path.lstrip("/"))


def md5_file(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


def test_full_mirror_matches_records():
    root = os.path.join(TMP, "full")
    out = os.path.join(TMP, "full.jsonl")
    with Site("--pages", 1200, "--size", 6000) as site:
        code, _, err = crawl(site.root, "--mirror", root, "-o", out, "--max-inflight", 64)
        check(code == 0, f"exit {code}: {err}")
        recs = records(out)
        ok = [r for r in recs if r["status"] == 200]
        check(len(ok) > 1200, f"only {len(ok)} pages")
        for r in ok:
            p = mirror_path(root, site, r["url"])
            check(os.path.isfile(p), f"missing {p}")
            check(md5_file(p) == r["md5"], f"{p}: md5 differs from the record")
        files = [f for f in glob.glob(root + "/**", recursive=True) if os.path.isfile(f)]
        check(len(files) == len(ok), f"{len(files)} files for {len(ok)} 200 records")
        check(not [f for f in files if ".uvcrawl-tmp" in f], "temporary files left")


def test_disk_full_is_per_url_error():
    if os.geteuid() != 0:
        skip("mounting a tmpfs needs root")
    root = os.path.join(TMP, "small")
    os.makedirs(root)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", root], check=True)
    try:
        out = os.path.join(TMP, "small.jsonl")
        with Site("--pages", 300, "--size", 8000) as site:
            code, _, err = crawl(site.root, "--mirror", root, "-o", out)
            recs = records(out)
            check(code == 3, f"exit {code}, expected 3: {err}")
            check("could not be saved" in err, f"summary lacks mirror errors: {err}")
            # The crawl went on: every URL has its record.
            check({r["url"] for r in recs} == {u for u, _, _ in site.expected()}, "set differs")
            full = [r for r in recs if r["error"] and "no space left" in r["error"]]
            check(full, "no ENOSPC error recorded")
            saved = [r for r in recs if r["status"] == 200 and r["error"] is None]
            check(saved, "nothing saved at all")
            for r in saved:
                check(md5_file(mirror_path(root, site, r["url"])) == r["md5"], "md5 differs")
            for r in full:
                check(not os.path.exists(mirror_path(root, site, r["url"])),
                      f"a failed write left a file: {r['url']}")
            left = glob.glob(root + "/**/.uvcrawl-tmp*", recursive=True)
            check(not left, f"temporary files left: {left[:3]}")
    finally:
        subprocess.run(["umount", root], check=False)


def peak_rss_mb(args, env, stats_path):
    """Runs uvcrawl; returns its peak RSS in MB and the buffered_max of its --stats-json."""
    p = subprocess.Popen([UVCRAWL, *map(str, args), "--stats-json", stats_path], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    check(p.returncode == 0, f"exit {p.returncode}")
    with open(stats_path) as f:
        return ru.ru_maxrss / 1024.0, json.load(f)["buffered_max"]


def test_backpressure_bounds_memory():
    if os.environ.get("UVCRAWL_SANITIZED", "none") != "none":
        skip("RSS means nothing under ASan (quarantine, shadow memory)")
    # Two pool threads whatever the core count, each write held 5 ms: the disk takes 400
    # bodies/s, far below what the site serves, so without a cap bodies pile up.
    env = dict(os.environ, UVCRAWL_TEST_WRITE_DELAY_MS="5", UV_THREADPOOL_SIZE="2")
    inflight, size, cap = 64, 100000, 4 << 20
    with Site("--pages", 1000, "--size", size) as site:
        small, small_held = peak_rss_mb(
            [site.root, "--mirror", os.path.join(TMP, "bp1"), "--max-buffer", "4M",
             "--max-inflight", inflight], env, os.path.join(TMP, "bp1.json"))
        big, big_held = peak_rss_mb(
            [site.root, "--mirror", os.path.join(TMP, "bp2"), "--max-buffer", "1024M",
             "--max-inflight", inflight], env, os.path.join(TMP, "bp2.json"))
    print(f"peak RSS: {small:.1f} MB with --max-buffer 4, {big:.1f} MB with --max-buffer 1024;"
          f" bodies held at most {small_held} and {big_held} bytes")
    # What the cap promises: its budget plus the bodies of transfers already admitted.
    bound = cap + inflight * size
    check(small_held <= bound, f"held {small_held} bytes, over the budget's {bound}")
    # 4 MB budget + 64 bodies of 100 KB still arriving + a fixed overhead.
    check(small < 4 + 64 * 0.1 + 40, f"RSS {small:.1f} MB over budget")
    # The same crawl without the cap held more than the cap allows: the budget is what bounded
    # it (bytes the crawler counted, not RSS, whose fixed part and allocator vary with load).
    check(big_held > bound, f"cap made no difference: {big_held} vs {small_held} bytes held")
    n1 = len(glob.glob(os.path.join(TMP, "bp1") + "/**/*.html", recursive=True))
    check(n1 >= 1000, f"mirror incomplete: {n1} files")


if __name__ == "__main__":
    try:
        run_tests([test_full_mirror_matches_records, test_disk_full_is_per_url_error,
                   test_backpressure_bounds_memory])
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
