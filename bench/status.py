#!/usr/bin/env python3
"""How fast --status-listen answers GET /stats while the crawl is busy.

One command:  python3 bench/status.py            (20,000 x 8 KB, --mirror, 256 in flight)
              python3 bench/status.py --quick    (2,000 pages: a smoke test of a few seconds)

It builds build-release/ as bench/run.py does, starts uvcrawl-siteserver (no delay; at this
process's nice value, or --site-nice: at 19 the other jobs of a shared machine starve it and
the crawl with it), and crawls it with `uvcrawl --mirror DIR --max-inflight 256
--status-listen 0`, --runs times (3). This process is the client: it sends GET /stats on one
kept-alive connection (or a new connection per request, --new-conn) every --interval-ms for
the whole crawl, and times each from the first byte sent to the last byte of the answer. Only answers that say "done": false count, so
every figure is taken while the crawl runs; the last line pools every run's (at least 2,000).
Each answer's Server-Timing says what the loop itself spent on it: its thread's CPU time
from the moment the request can first have been seen (the loop's own doing; the rest of what
the client sees is waiting for a CPU). With --baseline it first crawls the same site without
--status-listen, so the two pages/s can be compared. Run it as `nice -n -10 python3
bench/status.py` on a shared machine (uvcrawl keeps the nice value on its loop thread, its
pool at 10), or with --realtime (root) as tests/test_status.py runs it. Python 3 standard
library only.

Exit status: non-zero when a crawl did not fetch the whole site or a request failed; never
because of speed (the figures are printed, and the issue's target is p99 < 5 ms).
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from run import Site, build, host_busy, log  # noqa: E402  (the same site and build)

REQUEST = b"GET /stats HTTP/1.1\r\nHost: bench\r\n\r\n"


def read_answer(s, buf, heads=None):
    """One HTTP answer from s (buf: bytes already read); returns (body, rest). Appends the
    answer's Server-Timing CPU figure (ms) to heads when given."""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the head")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    m = re.search(rb"\r\nContent-Length: (\d+)", head)
    if not head.startswith(b"HTTP/1.1 200") or m is None:
        raise ConnectionError(f"bad answer: {head[:80]!r}")
    n = int(m.group(1))
    if heads is not None:
        t = re.search(rb"\r\nServer-Timing: wall;dur=[\d.]+, cpu;dur=([\d.]+)", head)
        heads.append(float(t.group(1)) if t else float("nan"))
    while len(rest) < n:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed in the body")
        rest += chunk
    return rest[:n], rest[n:]


def poll(port, interval_s, out):
    """Sends timed GET /stats until the crawl is done; fills out."""
    lat, pages, cpu, s, buf = [], [], [], None, b""
    try:
        while True:  # the whole crawl: its busiest moments too
            if s is None:
                s = socket.create_connection(("127.0.0.1", port), timeout=30)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                buf = b""
            t0 = time.perf_counter_ns()
            s.sendall(REQUEST)
            body, buf = read_answer(s, buf, cpu)
            t1 = time.perf_counter_ns()
            st = json.loads(body)
            if st["done"]:
                cpu.pop()
                break
            lat.append((t1 - t0) / 1e6)
            pages.append(st["pages"])
            time.sleep(interval_s)
    except (OSError, ConnectionError, ValueError) as e:
        out["error"] = repr(e)
    finally:
        if s is not None:
            s.close()
    out["lat"], out["pages"], out["cpu"] = lat, pages, cpu[:len(lat)]


def new_conn_timing(port, interval_s, out):
    """As poll, but each request on a connection of its own, the connect timed too."""
    lat, pages, cpu = [], [], []
    try:
        while True:
            t0 = time.perf_counter_ns()
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.sendall(REQUEST)
            body, _ = read_answer(s, b"", cpu)
            t1 = time.perf_counter_ns()
            s.close()
            st = json.loads(body)
            if st["done"]:
                break
            lat.append((t1 - t0) / 1e6)
            pages.append(st["pages"])
            time.sleep(interval_s)
    except (OSError, ConnectionError, ValueError) as e:
        if not lat:
            out["error"] = repr(e)
    out["lat"], out["pages"], out["cpu"] = lat, pages, cpu[:len(lat)]


def idle_control(exe, srv, tmp, n, interval_s):
    """The same client against a crawl that does nothing (its one request waits an hour on the
    server): what the machine alone costs a request, with no crawl work on the loop."""
    site = Site(srv, 10, 100, 3600000)
    proc = subprocess.Popen([exe, site.root, "-q", "--max-inflight", "1", "--status-listen", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        m = re.match(r"status: listening on http://127\.0\.0\.1:(\d+)/", proc.stderr.readline())
        s = socket.create_connection(("127.0.0.1", int(m.group(1))), timeout=30)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        lat, buf = [], b""
        for _ in range(n):
            t0 = time.perf_counter_ns()
            s.sendall(REQUEST)
            _, buf = read_answer(s, buf)
            lat.append((time.perf_counter_ns() - t0) / 1e6)
            time.sleep(interval_s)
        s.close()
        return lat
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
        site.close()


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))] if v else float("nan")


def figures(v):
    return (f"p50 {pct(v, 0.5):.3f} ms, p99 {pct(v, 0.99):.3f} ms, p99.9 {pct(v, 0.999):.3f} ms, "
            f"max {max(v):.3f} ms")


def realtime(tid, prio):
    """SCHED_FIFO for one thread (0: the caller's); exits where this process may not."""
    try:
        os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(prio))
    except OSError as e:
        sys.exit(f"bench: --realtime needs root or CAP_SYS_NICE: {e}")


def crawl(exe, site, tmp, inflight, status, args):
    """One crawl of the whole site; returns a dict of what was measured."""
    mirror = tempfile.mkdtemp(dir=tmp)
    out = os.path.join(tmp, "out.jsonl")
    stats = os.path.join(tmp, "stats.json")
    argv = [exe, site.root, "-q", "--mirror", mirror, "--max-inflight", str(inflight),
            "-o", out, "--stats-json", stats]
    if status:
        argv += ["--status-listen", "0"]
    site.reset()
    host0, srv0 = host_busy(), site.cpu()
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    res = {}
    client = None
    if status:
        line = proc.stderr.readline()
        m = re.match(r"status: listening on http://127\.0\.0\.1:(\d+)/", line)
        if not m:
            proc.kill()
            sys.exit(f"bench: no listening line: {line!r}")
        port = int(m.group(1))
        timing = new_conn_timing if args.new_conn else poll

        def target(*a):
            if args.realtime:  # as tests/test_status.py: the client one step above the loop
                realtime(0, 2)
            timing(*a)
        if args.realtime:
            realtime(proc.pid, 1)  # the loop thread only (tid == pid), not the pool
        client = threading.Thread(target=target, args=(port, args.interval_ms / 1000.0, res))
        client.start()
    err = proc.stderr.read()
    code = proc.wait()
    wall = time.monotonic() - t0
    if client:
        client.join()
    with open(out) as f:
        urls = [json.loads(x)["url"] for x in f if x.strip()]
    with open(stats) as f:
        st = json.load(f)
    shutil.rmtree(mirror, ignore_errors=True)
    os.unlink(out)
    res.update(code=code, wall=wall, stderr=err, records=len(urls),
               full=code == 0 and len(urls) == len(set(urls)) and set(urls) == site.expected,
               pages_s=len(urls) / wall, lag_p99=st["lag_p99_ms"], lag_max=st["lag_max_ms"],
               crawler_pages_s=st["pages_per_s"], srv_cpu=site.cpu() - srv0,
               busy=host_busy() - host0)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--pages", type=int)
    ap.add_argument("--size", type=int, default=8192)
    ap.add_argument("--inflight", type=int, default=256)
    ap.add_argument("--requests", type=int, default=2000,
                    help="the least number of requests all runs together must time (default "
                         "2000); the client polls for the whole crawl")
    ap.add_argument("--interval-ms", type=float, default=1.0,
                    help="pause between an answer and the next request (default 1)")
    ap.add_argument("--site-nice", type=int, default=None,
                    help="nice value of the site server (default: this process's)")
    ap.add_argument("--new-conn", action="store_true", help="a new connection per request")
    ap.add_argument("--baseline", action="store_true",
                    help="also crawl without --status-listen first")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--idle-control", action="store_true",
                    help="also time --requests against an idle crawl (the machine's share)")
    ap.add_argument("--realtime", action="store_true",
                    help="the crawler's loop thread SCHED_FIFO 1 and the client's 2, as the "
                         "test does where root (the pool and the site server keep theirs)")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build-release"))
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    pages = args.pages or (2000 if args.quick else 20000)
    if args.no_build:
        exe = os.path.join(args.build_dir, "uvcrawl")
        srv = os.path.join(args.build_dir, "uvcrawl-siteserver")
    else:
        exe, srv = build(args.build_dir)
    tmp = tempfile.mkdtemp(prefix="uvcrawl-bench-status-")
    site = Site(srv, pages, args.size, 0)
    if args.site_nice is None:
        args.site_nice = os.nice(0)
    try:
        os.setpriority(os.PRIO_PROCESS, site.proc.pid, args.site_nice)
    except OSError as e:
        log(f"bench: site server left at its nice value: {e}")
    ok = True
    pooled, pooled_cpu, pooled_pages_s = [], [], []
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    log(f"bench: {stamp}, nproc {os.cpu_count()}, {platform.platform()}, load "
        f"{os.getloadavg()[0]:.2f}; site {pages} x {args.size} B ({len(site.expected)} URLs), "
        f"--mirror, --max-inflight {args.inflight}, GET /stats every {args.interval_ms} ms "
        f"{'on a new connection' if args.new_conn else 'on one kept-alive connection'}; "
        f"this process at nice {os.nice(0)}, the site server at {args.site_nice}"
        f"{'; loop and client SCHED_FIFO' if args.realtime else ''}")
    try:
        if args.baseline:
            b = crawl(exe, site, tmp, args.inflight, False, args)
            ok &= b["full"]
            print(f"baseline (no --status-listen): {b['records']} URLs full={b['full']} in "
                  f"{b['wall']:.2f} s, {b['pages_s']:.0f} pages/s, loop lag p99 "
                  f"{b['lag_p99']:.2f} ms max {b['lag_max']:.2f} ms, machine busy "
                  f"{b['busy']:.1f} CPU s")
        if args.idle_control:
            lat = idle_control(exe, srv, tmp, args.requests, args.interval_ms / 1000.0)
            print(f"idle control: {len(lat)} requests to a crawl with nothing to do: p50 "
                  f"{pct(lat, 0.5):.3f} ms, p99 {pct(lat, 0.99):.3f} ms, max {max(lat):.3f} ms")
        for i in range(args.runs):
            r = crawl(exe, site, tmp, args.inflight, True, args)
            lat = r.get("lat", [])
            ok &= r["full"] and "error" not in r
            pooled += lat
            pooled_cpu += r.get("cpu", [])
            pooled_pages_s.append(r["pages_s"])
            print(f"run {i + 1}: {r['records']} URLs full={r['full']} in {r['wall']:.2f} s, "
                  f"{r['pages_s']:.0f} pages/s, loop lag p99 {r['lag_p99']:.2f} ms max "
                  f"{r['lag_max']:.2f} ms, machine busy {r['busy']:.1f} CPU s of "
                  f"{r['wall'] * (os.cpu_count() or 1):.1f}")
            if lat:
                pg = r["pages"]
                print(f"  /stats: {len(lat)} requests while crawling (pages {pg[0]}..{pg[-1]}): "
                      f"{figures(lat)}, mean {sum(lat) / len(lat):.3f} ms")
            if r.get("cpu"):
                print(f"  the loop's own CPU per answer (Server-Timing): {figures(r['cpu'])}")
            if "error" in r:
                print(f"  client error: {r['error']}")
            if r["code"] != 0:
                print(f"  exit {r['code']}: {r['stderr'][-500:]}")
        if pooled:
            print(f"all {args.runs} runs ({min(pooled_pages_s):.0f}-{max(pooled_pages_s):.0f} "
                  f"pages/s): {len(pooled)} requests, {figures(pooled)}")
        if pooled_cpu:
            print(f"  the loop's own CPU: {figures(pooled_cpu)}")
        if len(pooled) < args.requests:
            print(f"  fewer than {args.requests} requests: more --runs or a lower --interval-ms")
            ok = False
    finally:
        site.close()
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
