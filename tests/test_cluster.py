"""One crawl across several uvcrawl workers through a real redis-server started here
(127.0.0.1, a free port, a temp dir, appendonly on): workers join and finish the site's exact
URL set; --per-host holds across all of them (the site server counts the requests it holds at
once); robots.txt is fetched once for the cluster; a worker with other options is refused
(exit 4); kill -9 of a worker, and of Redis itself, mid-crawl: the crawl still ends with every
URL recorded once (--export), and no more pages fetched twice than were in flight at the kill.
Kills happen on progress read from the site server's counters, never after a sleep.
Skips (77) without redis-server; meson registers it only in a build with hiredis."""
import collections
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from sitelib import UVCRAWL, Site, check, crawl, free_port, records, run_tests  # noqa: E402

TMP = tempfile.mkdtemp(prefix="uvcrawl-cluster-")
SANITIZED = os.environ.get("UVCRAWL_SANITIZED", "none") not in ("", "none")


class Redis:
    def __init__(self, *extra):
        self.dir = tempfile.mkdtemp(prefix="redis-", dir=TMP)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.extra = list(extra)
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--appendonly", "yes", "--save", "", "--daemonize", "no", "--loglevel", "warning",
             *self.extra], stdout=subprocess.DEVNULL)
        for _ in range(600):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith((b"+PONG", b"-NOAUTH")):  # NOAUTH: requirepass
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def close(self):
        if self.proc.poll() is None:
            self.kill()


def worker(redis, name, out, *args):
    return subprocess.Popen([UVCRAWL, "-q", "--redis", redis.url, "--crawl", name, "-o", out,
                             *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


def wait_all(procs, timeout=240):
    codes = []
    for p in procs:
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        codes.append((p.returncode, p.stderr.read()))
    return codes


def status(redis, name):
    code, out, err = crawl("--redis", redis.url, "--crawl", name, "--status")
    check(code == 0, f"--status: {code} {err}")
    return json.loads(out)


def export(redis, name):
    path = os.path.join(TMP, name + "-export.jsonl")
    code, _, err = crawl("--redis", redis.url, "--crawl", name, "--export", "-o", path)
    check(code == 0, f"--export: {code} {err}")
    return records(path)


def wait_created(redis, name, proc):
    """Until the first worker has created the crawl (it has the seeds)."""
    while proc.poll() is None:
        code, _, _ = crawl("--redis", redis.url, "--crawl", name, "--status")
        if code == 0:
            return
        time.sleep(0.02)


def wait_requests(site, n, procs):
    """Until the site has answered n requests (or a worker has ended)."""
    while site.stats()["requests"] < n and all(p.poll() is None for p in procs):
        time.sleep(0.01)


def check_exact(site, name, redis):
    want = {u for u, _, _ in site.expected()}
    recs = export(redis, name)
    urls = [r["url"] for r in recs]
    check(len(urls) == len(set(urls)), f"export: {len(urls) - len(set(urls))} URLs twice")
    check(set(urls) == want, f"export: missing {sorted(want - set(urls))[:5]}, extra "
                             f"{sorted(set(urls) - want)[:5]}")
    return want


def fetched_twice(site):
    counts = collections.Counter(p for _, m, p in site.log() if m == "GET")
    return sum(n - 1 for p, n in counts.items() if n > 1 and p != "/robots.txt"), counts


def test_three_workers_exact_set_caps_and_robots():
    redis = Redis()
    try:
        with Site("--pages", 600, "--delay", 5) as site:
            outs = [os.path.join(TMP, f"w{i}.jsonl") for i in range(3)]
            common = ["--per-host", 3, "--max-inflight", 16]
            procs = [worker(redis, "c1", outs[0], *common, site.root)]
            wait_created(redis, "c1", procs[0])
            procs += [worker(redis, "c1", outs[i], *common) for i in (1, 2)]
            # A worker with other options is refused, with its own exit status.
            code, _, err = crawl("--redis", redis.url, "--crawl", "c1", "--per-host", 5, "-q",
                                 site.root)
            check(code == 4 and "other options" in err, f"mismatch: {code} {err}")
            for code, err in wait_all(procs):
                check(code == 0, f"worker exit {code}: {err}")
            want = check_exact(site, "c1", redis)
            union = [r["url"] for o in outs for r in records(o)]
            check(set(union) == want and len(union) == len(want),
                  f"-o union: {len(union)} records, {len(set(union))} URLs of {len(want)}")
            check(sum(1 for o in outs if records(o)) >= 2, "only one worker did anything")
            st = site.stats()
            check(st["max_active"] <= 3, f"per-host 3 across workers, the server saw {st}")
            robots = [p for _, _, p in site.log() if p == "/robots.txt"]
            check(len(robots) == 1, f"robots.txt fetched {len(robots)} times")
            s = status(redis, "c1")
            check(s["finished"] and s["done"] == len(want) and s["queued"] == 0 and
                  s["leased"] == 0, f"status {s}")
            # A worker that comes after the end finds the crawl finished and exits 0.
            code, _, err = crawl("--redis", redis.url, "--crawl", "c1", *common, "-q",
                                 "-o", os.path.join(TMP, "late.jsonl"))
            check(code == 0 and records(os.path.join(TMP, "late.jsonl")) == [],
                  f"late worker {code} {err}")
            # No such crawl, no seeds: a usage error.
            code, _, err = crawl("--redis", redis.url, "--crawl", "nothing", "-q")
            check(code == 2 and "no crawl" in err, f"absent crawl: {code} {err}")
    finally:
        redis.close()


def test_usage_and_unreachable_redis():
    port = free_port()  # nothing listens there
    url = f"redis://127.0.0.1:{port}"
    code, _, err = crawl("--redis", url, "--crawl", "x", "-q", "http://127.0.0.1:1/")
    check(code == 3 and str(port) in err, f"unreachable: {code} {err}")
    code, _, err = crawl("--redis", url, "--crawl", "x", "--status")
    check(code == 3, f"--status unreachable: {code} {err}")
    for args in (["--redis", "http://127.0.0.1:1", "--crawl", "x"], ["--redis", url],
                 ["--crawl", "x", "--status"], ["--redis", url, "--crawl", "a b"],
                 ["--redis", url, "--crawl", "x", "--check", "http://127.0.0.1:1/"],
                 ["--redis", url, "--crawl", "x", "--status", "--export"]):
        code, _, err = crawl(*args)
        check(code == 2, f"{args}: {code} {err}")


def test_robots_rules_and_crawl_delay_shared():
    redis = Redis()
    rules = os.path.join(TMP, "robots.txt")
    with open(rules, "w") as f:
        f.write("User-agent: *\nDisallow: /p/1\nAllow: /p/1.html\nCrawl-delay: 0.1\n")
    try:
        with Site("--pages", 40, "--robots", rules) as site:
            outs = [os.path.join(TMP, f"rb{i}.jsonl") for i in range(2)]
            procs = [worker(redis, "c6", outs[0], site.root)]
            wait_created(redis, "c6", procs[0])
            procs.append(worker(redis, "c6", outs[1]))
            for code, err in wait_all(procs):
                check(code == 0, f"worker exit {code}: {err}")
            log = site.log()
            paths = [p for _, _, p in log]
            check(paths.count("/robots.txt") == 1, f"robots.txt {paths.count('/robots.txt')}x")
            recs = {r["url"]: r for r in export(redis, "c6")}
            blocked = [u for u in recs if u.startswith(site.origin + "/p/1")
                       and u != site.origin + "/p/1.html"]
            check(blocked, "nothing under /p/1?")
            for u in blocked:
                check(recs[u]["skipped"] == "disallowed by robots.txt", f"{u}: {recs[u]}")
                check(u[len(site.origin):] not in paths, f"{u} was requested")
            # Crawl-delay 0.1 s for the cluster: request starts stay apart across workers
            # (generous: claims, not starts, are spaced; the gap of one worker alone is ~0).
            times = sorted(t for t, _, p in log if p != "/robots.txt")
            gaps = sorted(b - a for a, b in zip(times, times[1:]))
            check(len(gaps) > 10 and gaps[len(gaps) // 10] >= 50,
                  f"10th percentile gap {gaps[len(gaps) // 10]} ms")
    finally:
        redis.close()


def test_kill9_worker_mid_crawl():
    redis = Redis()
    rng = random.Random(18)
    try:
        with Site("--pages", 1500, "--delay", 10) as site:
            outs = [os.path.join(TMP, f"k{i}.jsonl") for i in range(3)]
            common = ["--per-host", 4, "--max-inflight", 8, "--lease", "1s"]
            procs = [worker(redis, "c2", outs[0], *common, site.root)]
            procs += [worker(redis, "c2", outs[i], *common) for i in (1, 2)]
            total = len(site.expected())
            wait_requests(site, total // 3, procs)
            victim = rng.randrange(3)
            procs[victim].send_signal(signal.SIGKILL)
            procs[victim].wait()
            for i, (code, err) in enumerate(wait_all(procs)):
                if i != victim:
                    check(code == 0, f"worker {i} exit {code}: {err}")
            want = check_exact(site, "c2", redis)
            union = {r["url"] for o in outs for r in records(o)}
            check(union <= want, "records outside the site")
            twice, _ = fetched_twice(site)
            # At most what the dead worker held: its claim window is --max-inflight.
            check(twice <= 8, f"{twice} pages fetched twice")
            st = site.stats()
            check(st["max_active"] <= 4, f"per-host 4 across workers, the server saw {st}")
            s = status(redis, "c2")
            check(s["requeued"] >= 1 or twice == 0, f"status {s}")
    finally:
        redis.close()


def test_kill9_redis_mid_crawl():
    redis = Redis()
    try:
        with Site("--pages", 1500, "--delay", 10) as site:
            outs = [os.path.join(TMP, f"r{i}.jsonl") for i in range(2)]
            common = ["--per-host", 4, "--max-inflight", 8, "--lease", "2s"]
            procs = [worker(redis, "c3", outs[0], *common, site.root),
                     worker(redis, "c3", outs[1], *common)]
            total = len(site.expected())
            wait_requests(site, total // 3, procs)
            redis.kill()
            # The workers go on with what they hold, then wait for Redis: restart it once the
            # server has seen the requests of what they held.
            redis.start()
            for i, (code, err) in enumerate(wait_all(procs)):
                check(code == 0, f"worker {i} exit {code}: {err}")
            check_exact(site, "c3", redis)
            twice, _ = fetched_twice(site)
            check(twice <= 16, f"{twice} pages fetched twice (2 workers x 8 in flight)")
            st = site.stats()
            check(st["max_active"] <= 4, f"per-host 4 across workers, the server saw {st}")
    finally:
        redis.close()


def test_sigterm_worker_leaves_its_urls():
    redis = Redis()
    try:
        with Site("--pages", 800, "--delay", 10) as site:
            outs = [os.path.join(TMP, f"t{i}.jsonl") for i in range(2)]
            # A lease longer than the test: only the worker's goodbye gives its URLs back.
            common = ["--per-host", 4, "--max-inflight", 8, "--lease", "10m"]
            procs = [worker(redis, "c5", outs[0], *common, site.root)]
            wait_created(redis, "c5", procs[0])
            procs.append(worker(redis, "c5", outs[1], *common))
            wait_requests(site, len(site.expected()) // 3, procs)
            procs[1].send_signal(signal.SIGTERM)
            codes = wait_all(procs)
            check(codes[0][0] == 0, f"worker 0: {codes[0]}")
            check(codes[1][0] in (0, 130), f"worker 1: {codes[1]}")
            check_exact(site, "c5", redis)
    finally:
        redis.close()


def test_url_that_keeps_killing_workers_fails():
    redis = Redis()
    try:
        with Site("--pages", 200, "--delay", 2) as site:
            want = {u for u, _, _ in site.expected()}
            poison = sorted(u for u in want if "/missing/" in u)[0]
            env = dict(os.environ, UVCRAWL_TEST_DIE_ON=poison[len(site.origin):])
            # One lease each: little is lost with a worker but the poison.
            common = ["--max-tries", 2, "--lease", "1s", "--max-inflight", 1]
            outs = iter(os.path.join(TMP, f"x{i}.jsonl") for i in range(100))

            def start(*seed):
                return subprocess.Popen(
                    [UVCRAWL, "-q", "--redis", redis.url, "--crawl", "c4", "-o", next(outs),
                     *map(str, common), *seed], stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE, text=True, env=env)
            procs = [start(site.root)]
            wait_created(redis, "c4", procs[0])
            procs.append(start())
            deaths = 0
            # Whoever takes the poison dies; a new worker replaces it, as a supervisor would.
            while any(p.poll() is None for p in procs) and deaths < 10:
                for i, p in enumerate(procs):
                    if p.poll() == -signal.SIGKILL:
                        deaths += 1
                        procs[i] = start()
                time.sleep(0.02)
            for code, err in wait_all(procs):
                check(code == 0, f"worker exit {code}: {err}")
            check(deaths == 2, f"{deaths} workers died on {poison}, want --max-tries 2")
            recs = {r["url"]: r for r in export(redis, "c4")}
            check(set(recs) == want, f"export: missing {sorted(want - set(recs))[:5]}")
            check("worker lost 2 times" in (recs[poison]["error"] or ""), f"{recs[poison]}")
            # A dying worker may also take a URL it finished whose ack was still waiting to go
            # (acks are batched): those fail only if they are lost twice too.
            failed = [r for r in recs.values() if "worker lost" in (r["error"] or "")]
            s = status(redis, "c4")
            check(s["finished"] and s["failed"] == len(failed) >= 1, f"status {s}")
    finally:
        redis.close()


def test_auth_through_a_redis_restart():
    """A Redis that wants a password (requirepass) and has an ACL user: a wrong password is
    exit 3 with a message that names AUTH and never the password; the right ones (percent-
    escaped in the URL) crawl the exact set, the loop's connections AUTH again when Redis
    comes back after a kill -9, and --status and --export AUTH too."""
    redis = Redis("--requirepass", "s@cret", "--user", "crawler", "on", ">pw:1", "~*", "&*",
                  "+@all")
    try:
        with Site("--pages", 1500, "--delay", 10) as site:
            # Unescaped '/' and '@' in a password are its own (the user info ends at the last
            # '@'), and never shown either.
            for bad in (f"redis://:wrong-pw@127.0.0.1:{redis.port}",
                        f"redis://crawler:wrong-pw@127.0.0.1:{redis.port}/2",
                        f"redis://:wr/ong-pw@127.0.0.1:{redis.port}",
                        f"redis://:wr@ong-pw@127.0.0.1:{redis.port}"):
                code, _, err = crawl("--redis", bad, "--crawl", "a", "-q", site.root)
                check(code == 3 and "AUTH" in err and "ong-pw" not in err,
                      f"{bad}: exit {code} {err}")
            # %00 would cut the password short at AUTH: refused as a URL, still not shown.
            code, _, err = crawl("--redis", f"redis://:s%40cret%00xyz@127.0.0.1:{redis.port}",
                                 "--crawl", "a", "-q", site.root)
            check(code == 3 and "not a redis://" in err and "xyz" not in err,
                  f"%00: exit {code} {err}")
            code, _, err = crawl("--redis", f"redis://127.0.0.1:{redis.port}", "--crawl", "a",
                                 "-q", site.root)
            check(code == 3 and "NOAUTH" in err, f"no password: exit {code} {err}")
            redis.url = f"redis://:s%40cret@127.0.0.1:{redis.port}"
            outs = [os.path.join(TMP, f"auth{i}.jsonl") for i in range(2)]
            common = ["--per-host", 4, "--max-inflight", 8, "--lease", "2s"]
            procs = [worker(redis, "c7", outs[0], *common, site.root),
                     worker(redis, "c7", outs[1], *common)]
            wait_requests(site, len(site.expected()) // 3, procs)
            redis.kill()
            redis.start()
            for i, (code, err) in enumerate(wait_all(procs)):
                check(code == 0, f"worker {i} exit {code}: {err}")
            check_exact(site, "c7", redis)
            code, out, err = crawl("--redis", f"redis://:s@cret@127.0.0.1:{redis.port}",
                                   "--crawl", "c7", "--status")
            check(code == 0 and json.loads(out)["finished"], f"unescaped '@': {code} {err}")
        with Site("--pages", 50) as site:
            redis.url = f"redis://crawler:pw%3A1@127.0.0.1:{redis.port}/2"
            code, err = wait_all([worker(redis, "c8", os.path.join(TMP, "acl.jsonl"),
                                         site.root)])[0]
            check(code == 0, f"ACL user: exit {code}: {err}")
            check_exact(site, "c8", redis)
            check(status(redis, "c8")["finished"], "--status as the ACL user")
    finally:
        redis.close()


if __name__ == "__main__":
    if shutil.which("redis-server") is None:
        print("SKIP: no redis-server")
        sys.exit(77)
    run_tests([test_usage_and_unreachable_redis, test_three_workers_exact_set_caps_and_robots,
               test_robots_rules_and_crawl_delay_shared, test_kill9_worker_mid_crawl,
               test_kill9_redis_mid_crawl, test_sigterm_worker_leaves_its_urls,
               test_url_that_keeps_killing_workers_fails, test_auth_through_a_redis_restart])
    shutil.rmtree(TMP, ignore_errors=True)
