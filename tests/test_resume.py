"""--state/--resume: kill -9 at random moments, resume, and lose nothing.

Every kill waits for progress, read from the server's request counter, never for time: a
crawl is killed once the server has seen a (random) number of new requests, and the numbers
add up to fewer than the site has pages, so every kill lands before the crawl could end,
however fast or slow the machine."""
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from sitelib import UVCRAWL, Site, check, crawl, run_tests  # noqa: E402

TMP = tempfile.mkdtemp(prefix="uvcrawl-resume-")


def start(args):
    return subprocess.Popen([UVCRAWL, "-q", *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def read_records(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def check_final(site, out, mirror=None):
    recs = read_records(out)
    urls = [r["url"] for r in recs]
    want = {u for u, _, _ in site.expected()}
    check(len(urls) == len(set(urls)), f"{len(urls) - len(set(urls))} duplicate records")
    check(set(urls) == want, f"missing {sorted(want - set(urls))[:5]}, extra "
                             f"{sorted(set(urls) - want)[:5]}")
    if mirror:
        for r in recs:
            if r["status"] != 200:
                continue
            path = r["url"][len(site.origin):]
            path = path + "index.html" if path.endswith("/") else path
            f = os.path.join(mirror, f"127.0.0.1:{site.port}", path.lstrip("/"))
            with open(f, "rb") as fh:
                check(hashlib.md5(fh.read()).hexdigest() == r["md5"], f"{f}: md5 differs")
    return recs


def test_kill9_ten_times_then_complete():
    rng = random.Random(7)
    state, out, mirror = (os.path.join(TMP, n) for n in ("state", "out.jsonl", "mirror"))
    with Site("--pages", 4000, "--delay", 3, "--size", 4000) as site:
        args = [site.root, "--state", state, "-o", out, "--mirror", mirror, "--max-inflight", 32]
        # Ten kills after 50..250 new requests each: at most 2,500 (+ the few sent between a
        # count and the kill) of the 4,000 a whole crawl needs.
        for i in range(10):
            p = start(args + (["--resume"] if i else []))
            site.wait_requests(site.requests() + rng.randint(50, 250), proc=p)
            p.send_signal(signal.SIGKILL)
            p.wait()
        check(site.requests() < len(site.expected()), "the crawl could have ended: site too small")
        p = start(args + ["--resume"])
        _, err = p.communicate(timeout=120)
        check(p.returncode == 0, f"final resume exit {p.returncode}: {err}")
        check_final(site, out, mirror)


def test_torn_journal_tail_is_ignored():
    state, out = os.path.join(TMP, "torn"), os.path.join(TMP, "torn.jsonl")
    with Site("--pages", 1500, "--delay", 3) as site:
        p = start([site.root, "--state", state, "-o", out, "--max-inflight", 16])
        site.wait_requests(200, proc=p)
        p.send_signal(signal.SIGKILL)
        p.wait()
        journal = os.path.join(state, "journal")
        size = os.path.getsize(journal)
        with open(journal, "ab") as f:  # half a record, as a power loss would leave it
            f.write(b"\x40\x00\x00\x00\x12\x34\x56\x78Chttp://127.0.0.1/tor")
        code, _, err = crawl("--state", state, "--resume", "-o", out)
        check(code == 0, f"resume exit {code}: {err}")
        check(os.path.getsize(journal) > size, "journal did not grow past the torn tail")
        check_final(site, out)


def test_sigterm_saves_state():
    state, out = os.path.join(TMP, "term"), os.path.join(TMP, "term.jsonl")
    with Site("--pages", 2000, "--delay", 20) as site:
        p = start([site.root, "--state", state, "-o", out, "--max-inflight", 16])
        site.wait_requests(100, proc=p)  # at least 100 - 16 answered: records to keep
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=10)
        check(p.returncode == 130, f"SIGTERM exit {p.returncode}: {err}")
        before = len(read_records(out))
        check(0 < before < len(site.expected()), f"{before} records before resuming")
        code, _, err = crawl(site.root, "--state", state, "--resume", "-o", out)
        check(code == 0, f"resume exit {code}: {err}")
        check_final(site, out)


def test_sitemap_urls_survive_a_resume():
    state, out = os.path.join(TMP, "sm"), os.path.join(TMP, "sm.jsonl")
    with Site("--pages", 300, "--delay", 20, "--sitemap", 60) as site:
        args = [site.root, "--sitemaps", "--state", state, "-o", out, "--max-inflight", 4]
        for i in range(3):  # 3 x 30 of the 360 URLs
            p = start(args + (["--resume"] if i else []))
            site.wait_requests(site.requests() + 30, proc=p)
            p.send_signal(signal.SIGKILL)
            p.wait()
        code, _, err = crawl(*args, "--resume")
        check(code == 0, f"resume exit {code}: {err}")
        urls = [r["url"] for r in read_records(out)]
        extra = {line.split()[0] for line in site.get("/__sitemap").decode().splitlines()}
        want = {u for u, _, _ in site.expected()} | extra
        check(len(urls) == len(set(urls)) and set(urls) == want,
              f"missing {sorted(want - set(urls))[:4]}, extra {sorted(set(urls) - want)[:4]}")


def test_state_dir_is_not_clobbered():
    state = os.path.join(TMP, "term")  # holds a journal from the test before
    code, _, err = crawl("http://127.0.0.1:1/", "--state", state)
    check(code == 2 and "--resume" in err, f"exit {code}: {err}")
    code, _, err = crawl("--resume")
    check(code == 2 and "--state" in err, f"exit {code}: {err}")


if __name__ == "__main__":
    run_tests([test_kill9_ten_times_then_complete, test_torn_journal_tail_is_ignored,
               test_sigterm_saves_state, test_sitemap_urls_survive_a_resume,
               test_state_dir_is_not_clobbered])
