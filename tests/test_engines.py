"""The threads engine against the loop engine: same site, same records."""
import hashlib
import os
import resource
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from sitelib import Site, check, crawl, records, run_tests  # noqa: E402

TMP = tempfile.mkdtemp(prefix="uvcrawl-engines-")


def run(site, name, *extra):
    out = os.path.join(TMP, name + ".jsonl")
    code, _, err = crawl(site.root, "-o", out, *extra)
    check(code == 0, f"{name}: exit {code}: {err}")
    return records(out)


def triples(recs):
    return sorted((r["url"], r["status"], r["md5"]) for r in recs)


def test_same_records_as_loop():
    with Site("--pages", 2000, "--fanout", 5, "--broken", 10, "--redirect", 10) as site:
        exp = site.expected()
        loop = run(site, "loop", "--engine", "loop", "--max-inflight", 32)
        thr = run(site, "threads", "--engine", "threads", "--threads", 16)
        urls = [r["url"] for r in thr]
        check(len(urls) == len(set(urls)), "threads: a URL was fetched twice")
        check(set(urls) == {u for u, _, _ in exp},
              f"threads: set differs: missing {sorted({u for u, _, _ in exp} - set(urls))[:5]}"
              f" extra {sorted(set(urls) - {u for u, _, _ in exp})[:5]}")
        check({s for _, s, _ in exp} >= {200, 301, 404}, "site lacks a status")
        check(triples(loop) == triples(thr), "(url, status, md5) differ between engines")
        check(sorted((u, s) for u, s, _ in exp) == sorted((r["url"], r["status"]) for r in thr),
              "threads: statuses differ from the server's")
        by_url = {r["url"]: r for r in thr}
        lby = {r["url"]: r for r in loop}
        for r in thr:
            lr = lby[r["url"]]
            for k in ("bytes", "content_type", "redirect", "error", "links", "attempts",
                      "broken", "external", "skipped", "note"):
                if k not in lr:  # a field this build's records do not have
                    continue
                check(r[k] == lr[k], f"{r['url']}: {k} {r[k]!r} != loop's {lr[k]!r}")
            if r["depth"] == 0:
                check(r["referrer"] is None, "seed has a referrer")
            else:
                # Workers race, so the first referrer may differ from the loop's, but it must be
                # a fetched page one hop closer to the seed.
                ref = by_url.get(r["referrer"])
                check(ref is not None and ref["depth"] == r["depth"] - 1,
                      f"{r['url']}: referrer {r['referrer']}")


def test_max_depth():
    with Site("--pages", 500, "--fanout", 3) as site:
        for d in (0, 2):
            recs = run(site, f"depth{d}", "--engine", "threads", "--threads", 8,
                       "--max-depth", d)
            want = {u for u, _, dep in site.expected() if dep <= d}
            check({r["url"] for r in recs} == want, f"max-depth {d}: set differs")
            check(len(recs) == len(want), f"max-depth {d}: duplicates")
            check(all(r["depth"] <= d for r in recs), f"max-depth {d}: deeper record")


def test_max_pages():
    with Site("--pages", 500) as site:
        every = {u for u, _, _ in site.expected()}
        for n in (1, 50):
            recs = run(site, f"pages{n}", "--engine", "threads", "--threads", 16,
                       "--max-pages", n)
            check(len(recs) == n, f"{len(recs)} records for --max-pages {n}")
            check(len({r["url"] for r in recs}) == n, "duplicates")
            check({r["url"] for r in recs} <= every, "foreign url")


def test_connections_bounded_by_threads():
    for n, pages in ((1, 60), (7, 400)):
        with Site("--pages", pages, "--delay", 20) as site:
            site.reset()
            recs = run(site, f"conc{n}", "--engine", "threads", "--threads", n)
            st = site.stats()
            check(len(recs) == len(site.expected()), f"threads {n}: incomplete crawl")
            check(st["max_concurrent"] <= n, f"threads {n}: server saw "
                  f"{st['max_concurrent']} connections")
            if n > 1:
                check(st["max_concurrent"] > 2, f"threads {n}: no parallelism "
                      f"({st['max_concurrent']})")


def test_low_fd_limit():
    def lower():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    with Site("--pages", 600, "--delay", 5) as site:
        site.reset()
        out = os.path.join(TMP, "fd.jsonl")
        code, _, err = crawl(site.root, "-o", out, "--engine", "threads", "--threads", 1000,
                             preexec_fn=lower)
        check(code == 0, f"exit {code}: {err}")
        recs = records(out)
        check({r["url"] for r in recs} == {u for u, _, _ in site.expected()}, "set differs")
        check(all(r["error"] is None for r in recs), "errors under a low fd limit")
        st = site.stats()
        check(1 < st["max_concurrent"] < 64, f"{st['max_concurrent']} connections")


def test_mirror():
    root = os.path.join(TMP, "mirror")
    with Site("--pages", 300, "--size", 3000) as site:
        recs = run(site, "mirror", "--engine", "threads", "--threads", 8, "--mirror", root)
        ok = [r for r in recs if r["status"] == 200]
        check(len(ok) > 300 and all(r["error"] is None for r in recs), "mirror crawl")
        for r in ok:
            path = r["url"][len(site.origin):]
            path += "index.html" if path.endswith("/") else ""
            f = os.path.join(root, f"127.0.0.1:{site.port}", path.lstrip("/"))
            with open(f, "rb") as fh:
                check(hashlib.md5(fh.read()).hexdigest() == r["md5"], f"{f}: md5 differs")
        files = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
        check(len(files) == len(ok), f"{len(files)} files for {len(ok)} 200 records")


def test_unsupported_option_refused():
    # Politeness, retries, filters... live in the loop engine only: refused, never ignored.
    with Site("--pages", 20) as site:
        for opt in (["--retries", 2], ["--per-host", 2]):
            code, _, err = crawl(site.root, "--engine", "threads", *opt)
            check(code == 2 and "--engine loop" in err, f"{opt}: exit {code}: {err}")


def test_bad_seed():
    for seed in ("ftp://127.0.0.1/", "http://"):
        code, _, err = crawl("--engine", "threads", "--threads", 4, seed)
        check(code == 2 and "bad URL" in err, f"{seed}: exit {code}: {err}")


def test_unreachable_seed_is_a_record():
    out = os.path.join(TMP, "unreach.jsonl")
    code, _, err = crawl("--engine", "threads", "--threads", 4, "http://127.0.0.1:1/", "-o", out)
    recs = records(out)
    check(len(recs) == 1 and recs[0]["status"] == 0 and recs[0]["error"], f"{recs}")
    check(code == 3, f"unreachable seed: exit {code} {err}")


def test_stdout_output():
    with Site("--pages", 50) as site:
        code, out, err = crawl(site.root, "-o", "-", "--engine", "threads", "--threads", 4, "-q")
        check(code == 0, f"exit {code}: {err}")
        lines = [ln for ln in out.splitlines() if ln.strip()]
        check(len(lines) == len(site.expected()), f"{len(lines)} lines on stdout")


if __name__ == "__main__":
    run_tests([test_bad_seed, test_same_records_as_loop, test_max_depth, test_max_pages,
               test_connections_bounded_by_threads, test_low_fd_limit, test_mirror, test_unsupported_option_refused,
               test_unreachable_seed_is_a_record,
               test_stdout_output])
