#!/usr/bin/env python3
"""Loop lag while the thread pool is busy (issue: "never block the loop").

Crawls a synthetic site of big pages with --mirror (md5 + gumbo + file writes all on the
pool) and reports pages/s, MB/s and the loop lag the crawler measured (a 1 ms repeating
timer: p50/p99/max of how late it fired), plus peak RSS.

    python3 bench/lag.py [--pages 20000] [--size 100000] [--inflight 64] [--build build-release]
                         [--trace]

--trace records the whole machine's scheduler events with perf meanwhile and says, for each
of the crawler's 8 worst lags, where its time went (bench/lagtrace.py).
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import lagtrace

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def read_steal():
    """Seconds of CPU time the hypervisor took from this VM so far (0 on bare metal)."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    return int(fields[8]) / os.sysconf("SC_CLK_TCK") if len(fields) > 8 else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=20000)
    ap.add_argument("--size", type=int, default=100000)
    ap.add_argument("--inflight", type=int, default=64)
    ap.add_argument("--build", default="build-release")
    ap.add_argument("--keep", action="store_true", help="keep the mirror directory")
    ap.add_argument("--pool-nice", type=int, default=None, help="uvcrawl's --pool-nice")
    ap.add_argument("--trace", action="store_true",
                    help="attribute the worst lags with a perf scheduler trace")
    a = ap.parse_args()
    build = os.path.join(ROOT, a.build)
    if not os.path.exists(os.path.join(build, "build.ninja")):
        subprocess.run(["meson", "setup", build, "--buildtype=release", "-Dtests=false"],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    subprocess.run(["ninja", "-C", build], check=True, stdout=subprocess.DEVNULL)
    site = subprocess.Popen([os.path.join(build, "uvcrawl-siteserver"), "--pages", str(a.pages),
                             "--size", str(a.size)], stdout=subprocess.PIPE, text=True)
    port = int(site.stdout.readline().split()[1])
    mirror = tempfile.mkdtemp(prefix="uvcrawl-lag-")
    stats = os.path.join(mirror, "stats.json")
    try:
        cmd = [os.path.join(build, "uvcrawl"), "-q", f"http://127.0.0.1:{port}/", "--mirror",
               os.path.join(mirror, "m"), "--max-inflight", str(a.inflight), "--stats-json",
               stats] + ([] if a.pool_nice is None else ["--pool-nice", str(a.pool_nice)])
        perf = lagtrace.start(os.path.join(mirror, "perf.data")) if a.trace else None
        if perf is not None:
            time.sleep(1)  # perf is recording before the crawl starts
        p = subprocess.Popen(cmd)
        steal0 = read_steal()
        # The loop thread's own scheduler account (run time, runqueue wait, slices): lag that
        # is runqueue wait is the OS not running the loop, not the loop being busy.
        sched = None
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            try:
                with open(f"/proc/{p.pid}/task/{p.pid}/schedstat") as f:
                    sched = [int(x) for x in f.read().split()]
            except OSError:
                pass
            time.sleep(0.05)
        steal = read_steal() - steal0
        code = os.waitstatus_to_exitcode(status)
        with open(stats) as f:
            s = json.load(f)
        secs = s["wall_ms"] / 1000
        row = {
            "pages": s["pages"], "exit": code, "wall_s": round(secs, 1),
            "pages_per_s": round(s["pages"] / secs), "MB_per_s": round(s["bytes"] / 1e6 / secs, 1),
            "lag_p50_ms": s["lag_p50_ms"], "lag_p99_ms": s["lag_p99_ms"],
            "lag_max_ms": s["lag_max_ms"], "peak_rss_MB": round(ru.ru_maxrss / 1024),
            "cpu_s": round(ru.ru_utime + ru.ru_stime, 1), "pool_threads":
                os.environ.get("UV_THREADPOOL_SIZE", "cores"),
            "pool_nice": 10 if a.pool_nice is None else a.pool_nice,
            "loop_cpu_s": round(sched[0] / 1e9, 2) if sched else None,
            "loop_runq_wait_s": round(sched[1] / 1e9, 2) if sched else None,
            "steal_s": round(steal, 2),
            "pool_jobs": s.get("pool_jobs"), "pool_batches": s.get("pool_batches"),
        }
        if perf is not None:
            lagtrace.stop(perf)
            rows = lagtrace.attribute(os.path.join(mirror, "perf.data"), p.pid, s["lag_worst"])
            print(lagtrace.table(rows))
            # A bound, not just the top 8's: any lag not listed is at most the 8th worst.
            rest = min(r["lag_ms"] for r in rows) if len(rows) == 8 else 0
            row["lag_max_ms_less_vm_pauses"] = round(
                max(rest, max(r["lag_ms"] - r["vm_paused_ms"] for r in rows)), 2)
        print(json.dumps(row))
    finally:
        site.terminate()
        site.wait()
        if not a.keep:
            shutil.rmtree(mirror, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
