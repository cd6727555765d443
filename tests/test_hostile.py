"""Hostile servers and hostile HTML: every bad answer becomes a per-URL error or a capped
result, memory stays bounded, and the crawl finishes."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from sitelib import UVCRAWL, Site, check, records, run_tests  # noqa: E402

TMP = tempfile.mkdtemp(prefix="uvcrawl-hostile-")


def test_hostile_site():
    out = os.path.join(TMP, "h.jsonl")
    with Site("--pages", 30, "--hostile") as site:
        # The limits are what the slow paths run into; what answers at once (/h/cl-short's
        # close) must beat them even on a loaded machine, so they are not tight.
        args = [UVCRAWL, "-q", site.root, "-o", out, "--timeout", "8s", "--low-speed-time", "5s",
                "--max-links", "5000", "--ignore-robots"]
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _, status, ru = os.wait4(p.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        check(code == 0, f"exit {code}: {p.stderr.read()}")
        recs = {r["url"][len(site.origin):]: r for r in records(out)}
        sanitized = os.environ.get("UVCRAWL_SANITIZED", "none") != "none"
        rss = ru.ru_maxrss / 1024
        if not sanitized:
            check(rss < 250, f"peak RSS {rss:.0f} MB")

        def err(path, *words):
            r = recs.get(path)
            check(r is not None, f"no record for {path}")
            check(r["error"] and any(w in r["error"].lower() for w in words),
                  f"{path}: expected an error with {words}, got {r}")

        err("/h/reset", "poll", "reset", "recv", "transfer closed", "partial")
        err("/h/badstatus", "http version", "weird", "unsupported")
        err("/h/badchunk", "chunk")
        err("/h/bigheader", "memory", "header", "too large")
        err("/h/endless", "timed out", "too slow")
        err("/h/trickle", "too slow", "timed out")
        err("/h/gzipbomb", "size cap")
        err("/h/huge", "maximum file size", "size cap")
        err("/h/cl-short", "transfer closed", "partial")
        # Answers that are odd but usable are recorded, not failed.
        check(recs["/h/junk"]["status"] == 200 and recs["/h/junk"]["bytes"] == 65536, "junk")
        check(recs["/h/deep"]["links"] == 1 and "/p/1.html" in recs, "deep page lost its link")
        ml = recs["/h/manylinks"]
        check(ml["links"] == 5000 and "link cap" in (ml["note"] or ""), f"manylinks: {ml}")
        # An endless redirect chain stops at --max-redirects with a reason; a self-redirect once.
        loops = [u for u in recs if u.startswith("/h/loop/")]
        check(len(loops) == 12, f"{len(loops)} loop records")
        check(recs["/h/loop/11"]["skipped"].startswith("redirect chain"), "loop not capped")
        check(recs["/h/loopback"]["status"] == 301, "loopback")
        # The ordinary pages are all there.
        for url, status, _ in site.expected():
            check(url[len(site.origin):] in recs, f"lost {url}")


if __name__ == "__main__":
    run_tests([test_hostile_site])
