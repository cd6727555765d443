"""Integration tests of the event-loop crawler against the project's site server."""
import hashlib
import os
import resource
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from sitelib import Site, check, crawl, records, run_tests  # noqa: E402

TMP = tempfile.mkdtemp(prefix="uvcrawl-test-")
KEYS = {"url", "status", "depth", "referrer", "content_type", "bytes", "md5", "redirect",
        "error", "ms"}


def full_crawl_of(site, *extra):
    out = os.path.join(TMP, "out.jsonl")
    code, _, err = crawl(site.root, "-o", out, *extra)
    check(code == 0, f"exit {code}: {err}")
    return records(out), err


def test_full_site_exact_set():
    with Site("--pages", 3000, "--fanout", 6, "--broken", 10, "--redirect", 10) as site:
        recs, _ = full_crawl_of(site, "--max-inflight", 32)
        exp = site.expected()
        urls = [r["url"] for r in recs]
        check(len(urls) == len(set(urls)), "a URL was fetched twice")
        check(set(urls) == {u for u, _, _ in exp},
              f"set differs: missing {sorted({u for u, _, _ in exp} - set(urls))[:5]} "
              f"extra {sorted(set(urls) - {u for u, _, _ in exp})[:5]}")
        by_url = {r["url"]: r for r in recs}
        statuses = {s for _, s, _ in exp}
        check({200, 301, 404} <= statuses, f"site lacks a status: {statuses}")
        for url, status, depth in exp:
            r = by_url[url]
            check(KEYS <= set(r), f"keys missing in {r}")
            check(r["status"] == status, f"{url}: status {r['status']} != {status}")
            check(r["depth"] == depth, f"{url}: depth {r['depth']} != {depth}")
            check(r["error"] is None, f"{url}: error {r['error']}")
            if status == 301:
                check(r["redirect"] and r["redirect"].startswith(site.origin + "/p/"),
                      f"{url}: redirect {r['redirect']}")
            else:
                check(r["redirect"] is None, f"{url}: redirect {r['redirect']}")
            if depth == 0:
                check(r["referrer"] is None, "seed has a referrer")
            else:
                check(r["referrer"] in by_url and by_url[r["referrer"]]["depth"] == depth - 1,
                      f"{url}: referrer {r['referrer']}")
        # md5 of each record equals the md5 of the body the server sends.
        for url, status, _ in exp[::7]:
            if status != 200:
                continue
            body = site.get(url[len(site.origin):])
            r = by_url[url]
            check(r["md5"] == hashlib.md5(body).hexdigest(), f"{url}: md5 differs")
            check(r["bytes"] == len(body), f"{url}: bytes {r['bytes']} != {len(body)}")
        img = [r for r in recs if "/img/" in r["url"]]
        check(img and all(r["content_type"] == "application/octet-stream" for r in img),
              "binary resources missing")


def test_max_depth():
    with Site("--pages", 500, "--fanout", 3) as site:
        recs, _ = full_crawl_of(site, "--max-depth", 2)
        want = {u for u, _, d in site.expected() if d <= 2}
        check({r["url"] for r in recs} == want, "max-depth 2 set differs")
        check(len(recs) == len(want), "duplicates")


def test_max_pages():
    with Site("--pages", 500) as site:
        recs, _ = full_crawl_of(site, "--max-pages", 50, "--max-inflight", 8)
        check(len(recs) == 50, f"{len(recs)} records for --max-pages 50")
        check({r["url"] for r in recs} <= {u for u, _, _ in site.expected()}, "foreign url")


def test_inflight_cap_respected():
    with Site("--pages", 400, "--delay", 20) as site:
        site.reset()
        recs, _ = full_crawl_of(site, "--max-inflight", 7)
        st = site.stats()
        check(len(recs) == len(site.expected()), "incomplete crawl")
        check(1 < st["max_concurrent"] <= 7, f"server saw {st['max_concurrent']} connections")


def test_low_fd_limit():
    # ulimit -n 64 with 1,000 in flight, and ulimit -n 32 with 10,000: the cap is clamped with
    # one warning and the crawl completes without a failed URL.
    for limit, want in ((64, 1000), (32, 10000)):
        def lower():
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
        with Site("--pages", 1500, "--delay", 5) as site:
            out = os.path.join(TMP, "fd.jsonl")
            code, _, err = crawl(site.root, "-o", out, "--max-inflight", want, preexec_fn=lower)
            check(code == 0, f"ulimit {limit}: exit {code}: {err}")
            check(err.count("lowered") == 1, f"ulimit {limit}: not one clamp warning: {err}")
            recs = records(out)
            check({r["url"] for r in recs} == {u for u, _, _ in site.expected()}, "set differs")
            check(all(r["error"] is None for r in recs), "errors under a low fd limit")


def test_usage_errors():
    code, out, err = crawl()
    check(code == 2 and "Usage" in err, f"no URL: {code} {err}")
    code, _, err = crawl("--bogus", "http://127.0.0.1:1/")
    check(code == 2 and "unknown option" in err, f"bad option: {code} {err}")
    code, _, err = crawl("--max-inflight", "x", "http://127.0.0.1:1/")
    check(code == 2 and "--max-inflight" in err, f"bad number: {code} {err}")
    code, _, err = crawl("ftp://127.0.0.1/")
    check(code == 2 and "bad URL" in err, f"bad scheme: {code} {err}")
    code, _, err = crawl("-o", "/nonexistent/dir/x.jsonl", "http://127.0.0.1:1/")
    check(code == 3 and "cannot start" in err, f"bad output: {code} {err}")
    code, out, _ = crawl("--version")
    check(code == 0 and out.startswith("uvcrawl "), "version")


def test_unreachable_seed_is_a_record():
    out = os.path.join(TMP, "unreach.jsonl")
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    code, _, err = crawl("http://127.0.0.1:1/", "-o", out)
    recs = records(out)
    check(len(recs) == 1 and recs[0]["status"] == 0 and recs[0]["error"], f"{recs}")
    check(code == 3, f"unreachable seed: exit {code} {err}")


def test_error_names():
    """Records carry the CURLcode and a stable name beside the message, from both engines;
    the library's own errors (a body over the cap) have uvcrawl_err_name()'s names."""
    for engine in ("loop", "threads"):
        out = os.path.join(TMP, f"names-{engine}.jsonl")
        crawl("http://127.0.0.1:1/", "-o", out, "--engine", engine)
        r = records(out)[0]
        check(r["curl_code"] == 7 and r["error_name"] == "CURLE_COULDNT_CONNECT",
              f"{engine}: refused: {r}")
    with Site("--pages", 20, "--broken", 20) as site:
        for engine in ("loop", "threads"):
            out = os.path.join(TMP, f"names-ok-{engine}.jsonl")
            crawl(site.root, "-o", out, "--engine", engine)
            recs = records(out)
            check(len(recs) > 10 and all(r["error_name"] is None and r["curl_code"] == 0
                                         for r in recs), f"{engine}: a name without an error")
            out = os.path.join(TMP, f"big-{engine}.jsonl")
            crawl(site.root, "-o", out, "--max-body", "100", "--ignore-robots", "--engine", engine)
            r = records(out)[0]
            check(r["error"] and r["error_name"] in ("ETOOBIG", "CURLE_FILESIZE_EXCEEDED") and
                  r["curl_code"] in (23, 63), f"{engine}: too big: {r}")

if __name__ == "__main__":
    run_tests([test_usage_errors, test_full_site_exact_set, test_max_depth, test_max_pages,
               test_inflight_cap_respected, test_low_fd_limit, test_unreachable_seed_is_a_record,
               test_error_names])
