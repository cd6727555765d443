"""The CLI a person sees: man page matches --help, the progress line, SIGINT."""
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from sitelib import UVCRAWL, Site, check, crawl, run_tests  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TMP = tempfile.mkdtemp(prefix="uvcrawl-cli-")


def test_man_page_matches_help():
    _, out, _ = crawl("--help")
    in_help = set(re.findall(r"--[a-z][a-z-]+", out))
    with open(os.path.join(HERE, "..", "doc", "uvcrawl.1")) as f:
        man = f.read().replace("\\-", "-")
    in_man = set(re.findall(r"--[a-z][a-z-]+", man))
    check(in_help and in_help == in_man,
          f"only in --help: {in_help - in_man}; only in the man page: {in_man - in_help}")
    for code in ("0", "1", "2", "3", "4", "130"):
        check(f".B {code}\n" in man, f"exit status {code} not in the man page")


def run_on_pty(args):
    """Runs uvcrawl with stderr on a pseudo-terminal; returns (exit code, what it drew)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([UVCRAWL, *map(str, args)], stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    data = b""
    while True:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        elif p.poll() is not None:
            break
    p.wait(timeout=30)
    os.close(master)
    return p.returncode, data.decode(errors="replace")


def test_progress_line_on_a_terminal_only():
    with Site("--pages", 600, "--delay", 5) as site:
        code, drawn = run_on_pty([site.root, "--max-inflight", 4])
        check(code == 0, f"exit {code}")
        lines = re.findall(r"\r\x1b\[K(\d+) done, (\d+) queued, (\d+) in flight", drawn)
        check(len(lines) >= 2, f"no live status line on a terminal: {drawn[:300]!r}")
        done = [int(d) for d, _, _ in lines]
        check(done == sorted(done) and done[-1] == len(site.expected()), f"counts: {done}")
        code, drawn = run_on_pty([site.root, "--quiet"])
        check(code == 0 and "\x1b[K" not in drawn, "status line drawn despite --quiet")
        # Not a terminal: no status line unless --progress.
        code, _, err = crawl(site.root)
        check(code == 0 and "\x1b[K" not in err, "status line drawn on a pipe")
        code, _, err = crawl(site.root, "--progress", "--max-inflight", 4)
        check(code == 0 and "\x1b[K" in err, "--progress did not force the line")


def test_sigint_stops_gracefully():
    out = os.path.join(TMP, "int.jsonl")
    with Site("--pages", 3000, "--delay", 50) as site:
        p = subprocess.Popen([UVCRAWL, site.root, "-o", out, "--max-inflight", "16"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        site.wait_requests(100, proc=p)  # progress, not time: >= 84 pages answered
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
        check(p.returncode == 130, f"exit {p.returncode}, expected 130: {err}")
        check("pages:" in err, f"no summary after SIGINT: {err}")
        with open(out) as f:
            recs = [json.loads(line) for line in f]  # every line complete JSON
        # It stopped instead of finishing: the server never saw the rest of the 3,000 pages
        # (16 at a time, 50 ms each, the whole crawl takes >= 9 s on any machine).
        check(0 < len(recs) < len(site.expected()), f"{len(recs)} records")
        check(site.requests() < len(site.expected()) / 2, f"{site.requests()} requests")
        check(len({r["url"] for r in recs}) == len(recs), "duplicate records")


def thread_nices(pid):
    """{tid: nice} of every thread of pid, from /proc (field 19 of stat)."""
    nices = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        nices[int(tid)] = int(fields[16])
    return nices


def test_pool_threads_yield_to_the_loop():
    # The loop thread keeps its nice value; the pool's threads (UV_THREADPOOL_SIZE of them)
    # get --pool-nice, 10 by default, 0 leaves them alone.
    with Site("--pages", 2000, "--delay", 50) as site:
        own = os.getpriority(os.PRIO_PROCESS, 0)  # what the threads start with
        for args, want in (([], 10), (["--pool-nice", "3"], 3), (["--pool-nice", "0"], own)):
            env = dict(os.environ, UV_THREADPOOL_SIZE="3")
            p = subprocess.Popen([UVCRAWL, "-q", site.root, "--max-inflight", "4", *args],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
            # Pages answered went through the pool: its threads exist and were reniced (the
            # renice runs before any other pool work, cli_prioritize).
            site.wait_requests(site.requests() + 20, proc=p)
            nices = thread_nices(p.pid)
            p.send_signal(signal.SIGINT)
            p.communicate(timeout=10)
            # The loop thread keeps the nice value it was started with (this test's own).
            check(nices.pop(p.pid) == own, f"loop thread reniced: {args}, not {own}")
            check(sorted(nices.values()) == [want] * 3, f"{args}: pool threads {nices}")
    code, _, err = crawl("--pool-nice", "20", "http://127.0.0.1:1/")
    check(code == 2 and "--pool-nice" in err, f"--pool-nice 20: exit {code} {err}")


def test_stats_json():
    # The final figures as JSON, and the worst loop lags with when they ended on the monotonic
    # clock (what a perf trace taken with -k CLOCK_MONOTONIC is stamped with).
    stats, out = os.path.join(TMP, "stats.json"), os.path.join(TMP, "stats.jsonl")
    with Site("--pages", 400) as site:
        t0 = time.monotonic_ns()
        code, _, err = crawl("-q", site.root, "--stats-json", stats, "-o", out)
        t1 = time.monotonic_ns()
        check(code in (0, 1), f"exit {code}: {err}")
        want = len(site.expected())
    with open(stats) as f:
        st = json.load(f)
    with open(out) as f:
        recs = [json.loads(line) for line in f]
    check(st["pages"] == len(recs) == want, f"pages {st['pages']}, {len(recs)} records, {want}")
    check(st["errors"] == sum(1 for r in recs if r.get("error") or (r.get("status") or 0) >= 400),
          f"errors {st['errors']}")
    check(st["pool_jobs"] >= st["pool_batches"] >= 1, f"pool {st['pool_jobs']}/{st['pool_batches']}")
    worst = st["lag_worst"]
    check(1 <= len(worst) <= 8, f"lag_worst: {worst}")
    check(abs(worst[0]["ms"] - st["lag_max_ms"]) < 0.002, f"{worst[0]} vs max {st['lag_max_ms']}")
    check(all(a["ms"] >= b["ms"] > 0 for a, b in zip(worst, worst[1:])), f"not worst first: {worst}")
    check(all(t0 <= w["at_ns"] <= t1 for w in worst), f"at_ns outside [{t0}, {t1}]: {worst}")
    check(len({w["at_ns"] for w in worst}) == len(worst), f"the same moment twice: {worst}")


def test_parser_fast_and_gumbo():
    # --parser: the fast scanner (default) and gumbo give every page the same links, on both
    # engines, and --stats-json says which parser gave them.
    runs = {}
    with Site("--pages", 400, "--broken", 5, "--redirect", 5) as site:
        for name, extra in (("fast", []), ("gumbo", ["--parser", "gumbo"]),
                            ("threads", ["--engine", "threads"])):
            stats, out = os.path.join(TMP, name + ".json"), os.path.join(TMP, name + ".jsonl")
            code, _, err = crawl("-q", site.root, "--stats-json", stats, "-o", out, *extra)
            check(code in (0, 1), f"{name}: exit {code}: {err}")
            with open(stats) as f:
                st = json.load(f)
            with open(out) as f:
                recs = {r["url"]: r for r in map(json.loads, f)}
            runs[name] = (st, recs)
        want = {u for u, _, _ in site.expected()}
        code, _, err = crawl(site.root)  # the end summary says it too
        summary = [line for line in err.splitlines() if line.startswith("links: ")]
    html = sum(1 for r in runs["fast"][1].values()
               if r["status"] == 200 and (r["content_type"] or "").startswith("text/html"))
    check(html > 100, f"only {html} HTML pages")
    for name, (st, recs) in runs.items():
        check(set(recs) == want, f"{name}: not the site's URL set")
        check({u: r["links"] for u, r in recs.items()} ==
              {u: r["links"] for u, r in runs["gumbo"][1].items()}, f"{name}: link counts differ")
        fast = 0 if name == "gumbo" else html
        check(st["parse_fast"] == fast and st["parse_bailouts"] == 0,
              f"{name}: parse_fast {st['parse_fast']} (want {fast}), "
              f"parse_bailouts {st['parse_bailouts']}")
    check(summary == [f"links: {html} HTML pages by the fast scanner, 0 handed to gumbo "
                      "(bail-outs)"], f"summary: {summary}")
    code, _, err = crawl("--parser", "lxml", "http://127.0.0.1:1/")
    check(code == 2 and "--parser" in err, f"--parser lxml: exit {code} {err}")


if __name__ == "__main__":
    run_tests([test_man_page_matches_help, test_progress_line_on_a_terminal_only,
               test_sigint_stops_gracefully, test_pool_threads_yield_to_the_loop,
               test_stats_json, test_parser_fast_and_gumbo])
