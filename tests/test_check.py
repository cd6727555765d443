"""--check: every broken internal and external link with all its referrers, each distinct URL
checked once, exit codes, and every report format read back by a real consumer."""
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(__file__))
from sitelib import Site, check, crawl, run_tests  # noqa: E402

TMP = tempfile.mkdtemp(prefix="uvcrawl-check-")


def truth(site, ext_pages):
    """{broken url: sorted referrers} from the server's own link graph."""
    statuses = {u: s for u, s, _ in site.expected()}
    refs = {}
    for line in site.get("/__links").decode().splitlines():
        frm, to = line.split()
        refs.setdefault(to, set()).add(frm)
    broken = {}
    for to, frm in refs.items():
        if to in statuses:
            bad = statuses[to] >= 400
        else:  # the external site: /p/N.html exists for N < ext_pages, /gone/ never
            m = re.search(r"/p/(\d+)\.html$", to)
            bad = not (m and int(m.group(1)) < ext_pages)
        if bad:
            broken[to] = sorted(frm)
    return broken


def test_broken_links_with_all_referrers():
    with Site("--pages", 40, "--broken", 0) as ext, \
         Site("--pages", 400, "--broken", 15, "--external", ext.origin) as site:
        code, out, err = crawl(site.root, "--check", "--format", "json")
        check(code == 1, f"exit {code}, expected 1: {err}")
        rep = json.loads(out)
        got = {b["url"]: sorted(b["referrers"]) for b in rep["broken"]}
        want = truth(site, 40)
        check(any(u.startswith(ext.origin) for u in want), "no external broken link in the site")
        check(any(u.startswith(site.origin) for u in want), "no internal broken link")
        check(set(got) == set(want), f"missing {sorted(set(want) - set(got))[:3]} "
                                     f"extra {sorted(set(got) - set(want))[:3]}")
        for u in want:
            check(got[u] == want[u], f"{u}: referrers {got[u]} != {want[u]}")
        check(rep["broken_count"] == len(want), "count")
        # External URLs are checked once each (HEAD), never crawled further.
        log = [line.split(" ", 2) for line in ext.get("/__log").decode().splitlines()]
        paths = [p for _, m, p in log if p != "/robots.txt"]
        check(len(paths) == len(set(paths)), "an external URL was checked twice")
        check(all(m == "HEAD" for _, m, p in log if p != "/robots.txt"), "not HEAD")
        check("/" not in paths, "the external site was crawled")


def test_head_refused_falls_back_to_get():
    with Site("--pages", 40, "--broken", 0, "--no-head") as ext, \
         Site("--pages", 100, "--broken", 0, "--external", ext.origin) as site:
        code, out, err = crawl(site.root, "--check", "--format", "json")
        rep = json.loads(out)
        got = {b["url"] for b in rep["broken"]}
        check(got == set(truth(site, 40)), f"{sorted(got)[:3]}")
        log = [line.split(" ", 2) for line in ext.get("/__log").decode().splitlines()]
        methods = {}
        for _, m, p in log:
            methods.setdefault(p, []).append(m)
        check(all(v == ["HEAD", "GET"] for p, v in methods.items() if p != "/robots.txt"),
              f"{list(methods.items())[:3]}")


def test_exit_codes_and_accept():
    with Site("--pages", 100, "--broken", 0) as site:
        # The root's one foreign link (127.0.0.2:9) is really broken: leave it out to be clean.
        code, out, _ = crawl(site.root, "--check")
        check(code == 1 and "127.0.0.2:9" in out, f"unreachable link not reported: {out}")
        code, out, _ = crawl(site.root, "--check", "--exclude", r"^http://127\.0\.0\.2")
        check(code == 0 and "0 broken links" in out, f"clean site: {code} {out[-200:]}")
    with Site("--pages", 100, "--broken", 20) as site:
        code, _, _ = crawl(site.root, "--check", "--accept", "200..299,404", "--exclude",
                           r"^http://127\.0\.0\.2")
        check(code == 0, f"--accept 404: exit {code}")
        code, _, err = crawl(site.root, "--check", "--accept", "2xx")
        check(code == 2 and "status list" in err, f"bad --accept: {code} {err}")
    code, _, err = crawl("http://127.0.0.1:1/", "--check")
    check(code == 3, f"unreachable seed: {code} {err}")


def test_formats_read_by_consumers():
    with Site("--pages", 40, "--broken", 0) as ext, \
         Site("--pages", 150, "--broken", 15, "--external", ext.origin) as site:
        want = truth(site, 40)
        n = len(want)
        pairs = sum(len(v) for v in want.values())

        code, out, _ = crawl(site.root, "--format", "json")
        jq = subprocess.run(["jq", ".broken_count"], input=out, capture_output=True, text=True)
        check(jq.returncode == 0 and int(jq.stdout) == n, f"jq: {jq.stdout} {jq.stderr}")

        code, out, _ = crawl(site.root, "--format", "csv")
        rows = list(csv.DictReader(io.StringIO(out)))
        check(len(rows) == pairs and {r["url"] for r in rows} == set(want), "csv")

        code, out, _ = crawl(site.root, "--format", "junit")
        path = os.path.join(TMP, "junit.xml")
        with open(path, "w") as f:
            f.write(out)
        if shutil.which("xmllint"):
            lint = subprocess.run(["xmllint", "--noout", path], capture_output=True, text=True)
            check(lint.returncode == 0, f"xmllint: {lint.stderr}")
        root = ET.parse(path).getroot()
        failures = root.findall(".//testcase/failure")
        check(len(failures) == n and int(root.get("failures")) == n, "junit failures")

        code, out, _ = crawl(site.root, "--format", "markdown")
        table = [line for line in out.splitlines() if line.startswith("| http")]
        check(len(table) == n, f"markdown rows {len(table)} != {n}")

        code, out, _ = crawl(site.root, "--check")
        check(len(re.findall(r"^BROKEN ", out, re.M)) == n, "text")
        check(len(re.findall(r"^  linked from ", out, re.M)) == pairs, "text referrers")

        code, out, _ = crawl(site.root, "--format", "jsonl")
        recs = [json.loads(line) for line in out.splitlines()]
        check({r["url"] for r in recs} == {u for u, _, _ in site.expected()}, "jsonl")

        code, out, _ = crawl(site.root, "--check", "--verbose")
        check(re.search(r"^REDIRECT \S+/r/\d+ -> \S+/p/\d+\.html$", out, re.M), "--verbose")


def test_summary_names_duplicates_and_statuses():
    d = tempfile.mkdtemp(dir=TMP)
    with open(os.path.join(d, "index.html"), "w") as f:
        f.write('<a href="a.html">a</a> <a href="b.html">b</a> <a href="gone.html">x</a>')
    for name in ("a.html", "b.html"):
        with open(os.path.join(d, name), "w") as f:
            f.write("<p>same body</p>")
    srv = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind",
                            "127.0.0.1", "-d", d], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
    try:
        port = int(re.search(r"port (\d+)", srv.stdout.readline()).group(1))
        code, _, err = crawl(f"http://127.0.0.1:{port}/")
        check(re.search(r"duplicate content: 2 URLs with md5 \w+, e.g. \S+/a.html and \S+/b.html",
                        err), f"no duplicate report: {err}")
        check("2xx 3, 3xx 0, 4xx 1" in err, f"status classes: {err}")
    finally:
        srv.terminate()
        srv.wait()


if __name__ == "__main__":
    run_tests([test_broken_links_with_all_referrers, test_head_refused_falls_back_to_get,
               test_exit_codes_and_accept, test_formats_read_by_consumers,
               test_summary_names_duplicates_and_statuses])
