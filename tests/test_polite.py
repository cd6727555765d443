"""Politeness and robustness against the site server: robots.txt, per-host delays and caps,
fairness between hosts, retries with Retry-After, adaptive throttling, filters and scope.
Timing is read from the server's own request log, with generous tolerances."""
import os
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from sitelib import UVCRAWL, Site, check, crawl, records, run_tests, spaced, stop  # noqa: E402

TMP = tempfile.mkdtemp(prefix="uvcrawl-polite-")


def server_log(site):
    return site.log()


def run(site_or_url, *args, name="out"):
    out = os.path.join(TMP, name + ".jsonl")
    root = site_or_url if isinstance(site_or_url, str) else site_or_url.root
    code, _, err = crawl(root, "-o", out, *args)
    return code, {r["url"]: r for r in records(out)}, err


def robots_file(text):
    path = os.path.join(TMP, f"robots{abs(hash(text))}.txt")
    with open(path, "w") as f:
        f.write(text)
    return path


def test_robots_rules_obeyed_and_reported():
    rules = robots_file("User-agent: *\nDisallow: /p/1\nAllow: /p/1.html\n\n"
                        "User-agent: otherbot\nDisallow: /\n")
    with Site("--pages", 300, "--robots", rules) as site:
        code, recs, err = run(site)
        check(code == 0, err)
        log = server_log(site)
        paths = [p for _, _, p in log]
        check(paths.count("/robots.txt") == 1 and paths[0] == "/robots.txt",
              f"robots.txt fetched {paths.count('/robots.txt')} times, first {paths[0]}")
        blocked = [u for u in recs if u.startswith(site.origin + "/p/1") and u != site.origin + "/p/1.html"]
        check(blocked, "nothing under /p/1 in the site?")
        for u in blocked:
            check(recs[u]["skipped"] == "disallowed by robots.txt", f"{u}: {recs[u]}")
            check(u[len(site.origin):] not in paths, f"{u} was requested")
        check(recs[site.origin + "/p/1.html"]["status"] == 200, "longest match: Allow wins")
        # Pages behind a disallowed page are never discovered; everything found is recorded.
        check(set(recs) <= {u for u, _, _ in site.expected()} and len(recs) > 100, "records")
        # --ignore-robots fetches them all.
        site.reset()
        code, recs, _ = run(site, "--ignore-robots", name="ign")
        check(all(r["skipped"] is None for r in recs.values()), "skipped with --ignore-robots")
        check("/robots.txt" not in [p for _, _, p in server_log(site)], "robots.txt fetched")


def test_robots_status_and_redirect():
    with Site("--pages", 50, "--robots-status", 503) as site:
        code, recs, _ = run(site)
        check(len(recs) == 1 and "503" in (recs[site.root]["skipped"] or ""), f"{recs}")
        check([p for _, _, p in server_log(site)] == ["/robots.txt"], "crawled despite 5xx")
    with Site("--pages", 50, "--robots-status", 404) as site:
        code, recs, _ = run(site)
        check(set(recs) == {u for u, _, _ in site.expected()}, "4xx must allow everything")
    rules = robots_file("User-agent: *\nDisallow: /p/\n")
    with Site("--pages", 50, "--robots", rules, "--robots-redirect") as site:
        code, recs, _ = run(site)
        check(all(r["skipped"] for u, r in recs.items() if "/p/" in u), "redirected rules lost")
        check(recs[site.root]["status"] == 200, "root")


def gaps(log, prefix="/p/"):
    times = [t for t, _, p in log if p.startswith(prefix) or p == "/"]
    return [b - a for a, b in zip(times, times[1:])]


def test_delay_and_crawl_delay():
    with Site("--pages", 12, "--fanout", 12, "--broken", 0, "--redirect", 0) as site:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        code, recs, _ = run(site, "--delay", "150ms", "--max-inflight", 8)
        wall = time.monotonic() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        g = gaps(server_log(site))
        check(len(g) >= 10 and spaced(g, 140), f"--delay 150: gaps {g}")
        # Waiting for a host's delay is sleeping in the loop, not spinning in it.
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        check(wall > 1.5 and cpu < 0.3 * wall, f"--delay 150: {cpu:.2f} s CPU in {wall:.2f} s")
        site.reset()
        run(site, "--delay", "100ms", "--random-delay", "--max-inflight", 8)
        g = gaps(server_log(site))
        # The upper bound (1.5x) is test-frontier's, on a fake clock: a loaded machine may
        # start a request late, never early.
        check(spaced(g, 45) and len({round(x) for x in g}) > 3, f"--random-delay: gaps {g}")
    rules = robots_file("User-agent: *\nCrawl-delay: 0.2\n")
    with Site("--pages", 10, "--fanout", 10, "--broken", 0, "--redirect", 0,
              "--robots", rules) as site:
        run(site, "--max-inflight", 8)
        g = gaps(server_log(site))
        check(len(g) >= 9 and spaced(g, 190), f"Crawl-delay 0.2: gaps {g}")


def test_per_host_cap():
    with Site("--pages", 200, "--delay", 30) as site:
        site.reset()
        code, recs, _ = run(site, "--per-host", 3, "--max-inflight", 50)
        check(site.stats()["max_concurrent"] <= 3, f"{site.stats()}")
        check(len(recs) == len(site.expected()), "incomplete")


def test_slow_host_does_not_starve_fast_one():
    # Order, not durations: the slow host's pages are held (answered only on /__release), so
    # both of its per-host slots stay taken while the fast host must still be crawled to the
    # end with the other two of the four; a crawler that lets the slow host block it never
    # gets there (the wait fails). Then the held pages are let go and the crawl completes.
    with Site("--pages", 12, "--hold", "--broken", 0) as slow, \
         Site("--pages", 300, "--broken", 0) as fast:
        out = os.path.join(TMP, "two.jsonl")
        proc = subprocess.Popen([UVCRAWL, slow.root, fast.root, "-o", out, "--per-host", "2",
                                 "--max-inflight", "4"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120  # a hang bound only
            while slow.stats()["held"] < 2:
                check(proc.poll() is None and time.monotonic() < deadline,
                      f"the slow host's pages were not both requested: {slow.stats()}")
                time.sleep(0.002)
            slow_requests = slow.requests()
            want = {u[len(fast.origin):] for u, _, _ in fast.expected()}
            fast.wait_requests(len(want) + 1, proc)  # its pages and its robots.txt
            seen = {p for _, _, p in fast.log()}
            check(want <= seen, f"fast host pages not requested: {sorted(want - seen)[:4]}")
            st = slow.stats()
            check(st["held"] == 2 and st["requests"] == slow_requests and st["max_active"] == 2,
                  f"the slow host moved while held: {st}, {slow_requests} requests before")
            slow.get("/__release")
            _, err = proc.communicate(timeout=120)
        finally:
            stop(proc)
        check(proc.returncode == 0, err)
        check(len(records(out)) == len(slow.expected()) + len(fast.expected()), "incomplete")


def retried(site, path, retries, name):
    """Crawls only site's path with retries; returns its record and the server's request times
    of it (the server's log is reset first)."""
    site.reset()
    _, recs, _ = run(site.origin + path, "--retries", retries, "--ignore-robots",
                     "--max-depth", 0, name=name)
    return recs[site.origin + path], [ms for ms, _, p in server_log(site) if p == path]


def test_retry_after_and_backoff():
    with Site("--pages", 5) as site:
        r, t = retried(site, "/h/429", 3, "429")
        check(r["status"] == 200 and r["attempts"] == 3, f"{r}")
        check(len(t) == 3 and all(b - a >= 950 for a, b in zip(t, t[1:])),
              f"Retry-After: 1 not honored: {t}")
        r, t = retried(site, "/h/429date", 3, "429d")
        check(r["status"] == 200 and len(t) == 3 and all(b - a >= 900 for a, b in zip(t, t[1:])),
              f"HTTP-date Retry-After: {r} {t}")
        r, t = retried(site, "/h/503", 5, "503")
        check(r["status"] == 200 and r["attempts"] == 4, f"{r}")
        check(all(b - a >= 240 for a, b in zip(t, t[1:])), f"no backoff between 503s: {t}")
        # Without retries, the 429 is the record.
        site.reset()
        code, recs, _ = run(site.origin + "/h/429/x", "--ignore-robots", "--max-depth", 0,
                            name="429n")
        check(recs[site.origin + "/h/429/x"]["status"] == 429, "retried without --retries")


def test_throttled_host_slows_down():
    with Site("--pages", 5) as site:
        # Five URLs of one host answer 429 twice each: after the first 429s the host's
        # requests spread out instead of hammering it.
        seeds = [site.origin + f"/h/429/{i}" for i in range(5)]
        out = os.path.join(TMP, "thr.jsonl")
        code, _, err = crawl(*seeds, "-o", out, "--retries", 4, "--ignore-robots",
                             "--max-inflight", 8, "--max-retry-after", "2s", "--max-depth", 0)
        check(code == 0, err)
        recs = records(out)
        check(all(r["status"] == 200 for r in recs) and len(recs) == 5, f"{recs}")
        t = sorted(ms for ms, _, p in server_log(site))
        check(len(t) == 15, f"{len(t)} requests")
        later = [b - a for a, b in zip(t[5:], t[6:])]
        check(later and sum(1 for x in later if x >= 200) >= len(later) // 2,
              f"no adaptive spacing after 429s: {later}")


def test_filters_and_scope():
    with Site("--pages", 200) as site:
        code, recs, _ = run(site, "--exclude", r"/p/1[0-9]*\.html$", "--ignore-robots")
        check(recs and not any(u.endswith(".html") and "/p/1" in u for u in recs), "exclude")
        code, recs, _ = run(site, "--include", r"/p/[0-9]\.html$", "--include", r"/$",
                            "--ignore-robots", name="inc")
        check(set(recs) == {site.root} | {site.origin + f"/p/{i}.html" for i in range(1, 10)}
              & {u for u, _, _ in site.expected()}, f"include: {sorted(recs)[:12]}")
        code, recs, _ = run(site.origin + "/p/1.html", "--scope", "prefix", "--ignore-robots",
                            name="prefix")
        check(recs and all(u.startswith(site.origin + "/p/") for u in recs), "prefix scope")
        check(len(recs) > 50, f"prefix crawl too small: {len(recs)}")
        code, _, err = crawl(site.root, "--scope", "galaxy")
        check(code == 2 and "scope" in err, f"bad scope: {code} {err}")
        code, _, err = crawl(site.root, "--include", "([")
        check(code == 2 and "regular expression" in err, f"bad regex: {code} {err}")


def test_url_length_cap():
    with Site("--pages", 50) as site:
        code, recs, _ = run(site, "--max-url-len", 33, "--ignore-robots")
        long = [r for u, r in recs.items() if len(u) > 33]
        check(long and all(r["skipped"] == "URL longer than the URL length cap (max_url_len)" for r in long),
              f"{long[:3]}")


def test_sitemaps():
    with Site("--pages", 200, "--sitemap", 30) as site:
        extra = {line.split()[0] for line in site.get("/__sitemap").decode().splitlines()}
        base = {u for u, _, _ in site.expected()}
        check(any("/orphan/" in u for u in extra) and any(u.endswith(".gz") for u in extra),
              "the site has no orphans or gzip sitemap")
        code, recs, _ = run(site, "--sitemaps", name="sm")
        check(code == 0 and set(recs) == base | extra,
              f"missing {sorted(base | extra - set(recs))[:4]} extra {sorted(set(recs) - base - extra)[:4]}")
        code, recs, _ = run(site, name="nosm")
        check(set(recs) == base, "sitemaps read without --sitemaps")


if __name__ == "__main__":
    run_tests([test_robots_rules_obeyed_and_reported, test_robots_status_and_redirect,
               test_delay_and_crawl_delay, test_per_host_cap,
               test_slow_host_does_not_starve_fast_one, test_retry_after_and_backoff,
               test_throttled_host_slows_down, test_filters_and_scope, test_url_length_cap,
               test_sitemaps])
