#!/usr/bin/env python3
"""A crawl shared through Redis: pages/s of 1, 2 and 4 workers against the single-process
crawl of the same site, and what Redis pays per URL (CPU, memory).

  python3 bench/cluster.py [--build build] [--pages 20000] [--delay-ms 0,20] [--inflight 16]

Per site (uvcrawl-siteserver, --size 8192, each --delay-ms): the plain crawl, then W workers
(first with the seed, the others joining) on a fresh redis-server (appendonly yes, in a temp
dir). Wall seconds from the first start to the last exit; pages/s = records / wall; the
crawlers' user+sys CPU (os.wait4); Redis's CPU (/proc/PID/stat) and used_memory growth (INFO)
divided by the URLs of the crawl; the export checked against the site's /__expected.
Prints a markdown table (bench/README.md keeps the figures)."""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def redis_cmd(port, *args):
    """One command over a fresh connection; the raw reply text."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        out = b"*%d\r\n" % len(args) + b"".join(
            b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args)
        s.sendall(out)
        f = s.makefile("rb")
        line = f.readline()
        if line.startswith(b"$"):
            n = int(line[1:])
            return f.read(n + 2)[:-2].decode(errors="replace") if n >= 0 else ""
        return line.decode(errors="replace").rstrip("\r\n")


def redis_info(port, field):
    for line in redis_cmd(port, "INFO", "memory").splitlines():
        if line.startswith(field + ":"):
            return int(line.split(":")[1])
    return 0


def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / TICK


def start_redis(d):
    port = free_port()
    p = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
                          "--appendonly", "yes", "--save", "", "--loglevel", "warning"],
                         stdout=subprocess.DEVNULL)
    for _ in range(400):
        try:
            if "PONG" in redis_cmd(port, "PING"):
                return p, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def run(cmds):
    """Starts each command (the first one alone until it is up), waits for all; returns
    (wall seconds, user+sys CPU of all)."""
    t0 = time.monotonic()
    procs = []
    cpu = 0.0
    for i, c in enumerate(cmds):
        procs.append(subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    for p in procs:
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        cpu += ru.ru_utime + ru.ru_stime
        if p.returncode != 0:
            sys.exit(f"crawler exited {p.returncode}: {p.stderr.read().decode()[-500:]}")
    return time.monotonic() - t0, cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--pages", type=int, default=20000)
    ap.add_argument("--delay-ms", default="0,20")
    ap.add_argument("--inflight", type=int, default=16)
    ap.add_argument("--workers", default="1,2,4")
    a = ap.parse_args()
    uv = os.path.join(a.build, "uvcrawl")
    site_bin = os.path.join(a.build, "uvcrawl-siteserver")
    tmp = tempfile.mkdtemp(prefix="uvcrawl-bench-cluster-")
    rows = []
    try:
        for delay in [int(x) for x in a.delay_ms.split(",")]:
            site = subprocess.Popen([site_bin, "--pages", str(a.pages), "--size", "8192",
                                     "--delay", str(delay)], stdout=subprocess.PIPE)
            port = int(site.stdout.readline().split()[1])
            root = f"http://127.0.0.1:{port}/"
            want = len(urllib.request.urlopen(root + "__expected").read().splitlines())
            common = ["-q", "--max-inflight", str(a.inflight)]
            out = os.path.join(tmp, "single.jsonl")
            wall, cpu = run([[uv, *common, "-o", out, root]])
            n = sum(1 for _ in open(out))
            assert n == want, (n, want)
            rows.append((delay, "single process", 1, wall, n / wall, cpu, "", "", ""))
            for w in [int(x) for x in a.workers.split(",")]:
                d = tempfile.mkdtemp(dir=tmp)
                rp, rport = start_redis(d)
                mem0 = redis_info(rport, "used_memory")
                cpu0 = proc_cpu(rp.pid)
                url = f"redis://127.0.0.1:{rport}"
                name = f"b{delay}-{w}"
                base = [uv, *common, "--redis", url, "--crawl", name]
                first = base + ["-o", os.path.join(tmp, f"{name}-0.jsonl"), root]
                # The first worker creates the crawl; the others wait for it (10 s at most).
                wall, cpu = run([first] + [base + ["-o", os.path.join(tmp, f"{name}-{i}.jsonl")]
                                           for i in range(1, w)])
                rcpu = proc_cpu(rp.pid) - cpu0
                mem = redis_info(rport, "used_memory") - mem0
                exp = os.path.join(tmp, f"{name}-export.jsonl")
                subprocess.run([uv, "--redis", url, "--crawl", name, "--export", "-o", exp, "-q"],
                               check=True)
                urls = [json.loads(line)["url"] for line in open(exp)]
                assert len(urls) == len(set(urls)) == want, (len(urls), len(set(urls)), want)
                # The seen set alone: what SADDs of 64-bit fingerprints cost, without records.
                recs = redis_cmd(rport, "MEMORY", "USAGE", "uvc:{%s}:rec" % name, "SAMPLES", "0")
                rec_bytes = int(recs.split(":")[1]) if recs.startswith(":") else 0
                rows.append((delay, f"{w} worker{'s' if w > 1 else ''}", w, wall, want / wall,
                             cpu, f"{rcpu:.2f}", f"{1e6 * rcpu / want:.0f}",
                             f"{mem / want:.0f} ({(mem - rec_bytes) / want:.0f} w/o records)"))
                rp.terminate()
                rp.wait()
            site.terminate()
            site.wait()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"pages {a.pages} (8 KiB), --max-inflight {a.inflight} per process, "
          f"{os.cpu_count()} cores\n")
    print("| server delay | crawl | wall s | pages/s | crawler CPU s | Redis CPU s | "
          "Redis CPU us/URL | Redis bytes/URL |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for d, what, _, wall, pps, cpu, rcpu, rus, mem in rows:
        print(f"| {d} ms | {what} | {wall:.2f} | {pps:.0f} | {cpu:.2f} | {rcpu} | {rus} | {mem} |")


if __name__ == "__main__":
    main()
