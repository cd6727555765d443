#!/usr/bin/env python3
"""uvcrawl benchmark: loop engine vs threads engine (vs wget/wget2 when installed).

One command:  python3 bench/run.py            (full matrix, see bench/README.md)
              python3 bench/run.py --quick    (tiny site, a few seconds: a smoke test)

It builds build-release/ if needed, starts uvcrawl-siteserver once per site (pages, size,
delay), crawls it with every engine/concurrency, prints a table and writes
bench/results/bench-STAMP.{csv,md}. Python 3 standard library only.

Per run: wall seconds, pages/s (records per wall second), user+sys CPU seconds and peak RSS of
the crawler (os.wait4), peak open fds and peak threads (/proc/PID sampled every 20 ms), the
Little's-law ceiling concurrency/delay, and whether the run crawled the full site (its records
against the server's /__expected; for wget/wget2, the server's request count).

Exit status: non-zero only when a crawler run did not crawl the full site (never on speed).
"""
import argparse
import csv
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
sys.path.insert(0, os.path.join(ROOT, "tests"))
from sitelib import stop  # noqa: E402  (the tests' way to end a server)

FULL = dict(pages=20000, size=8192, delays=[0, 50, 200], caps=[16, 64, 256, 1024, 4096],
            threads=[16, 64, 256, 1024], wget2_threads=[16, 64], tool_cap_s=60.0)
QUICK = dict(pages=300, size=8192, delays=[0, 20], caps=[4, 32], threads=[4, 16],
             wget2_threads=[4], tool_cap_s=3.0)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---- build ------------------------------------------------------------------------------

def build(build_dir):
    """Configures build_dir as a release build if it is not one yet, then runs ninja."""
    if not os.path.exists(os.path.join(build_dir, "build.ninja")):
        log(f"bench: configuring {build_dir} (release)")
        subprocess.run(["meson", "setup", build_dir, "--buildtype=release", "-Dtests=false"],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    # Another developer may break the tree for a moment: retry a few times.
    for attempt in range(3):
        p = subprocess.run(["ninja", "-C", build_dir], cwd=ROOT, capture_output=True, text=True)
        if p.returncode == 0:
            break
        log(f"bench: ninja failed (attempt {attempt + 1}):\n{p.stdout[-2000:]}{p.stderr[-1000:]}")
        time.sleep(10)
    else:
        sys.exit("bench: build failed")
    with open(os.path.join(build_dir, "bench-commit.txt"), "w") as f:
        f.write(git_commit() + "\n")
    exe = os.path.join(build_dir, "uvcrawl")
    srv = os.path.join(build_dir, "uvcrawl-siteserver")
    for f in (exe, srv):
        if not os.access(f, os.X_OK):
            sys.exit(f"bench: {f} missing after the build")
    return exe, srv


# ---- the site server ----------------------------------------------------------------------

class Site:
    def __init__(self, server, pages, size, delay):
        self.proc = subprocess.Popen([server, "--pages", str(pages), "--size", str(size),
                                      "--delay", str(delay)], stdout=subprocess.PIPE)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("port "):
            self.proc.kill()
            sys.exit(f"bench: site server said {line!r}")
        self.port = int(line.split()[1])
        self.origin = f"http://127.0.0.1:{self.port}"
        self.root = self.origin + "/"
        self.expected = {ln.split()[0] for ln in self.get("/__expected").decode().splitlines()}

    def get(self, path):
        with urllib.request.urlopen(self.origin + path, timeout=60) as r:
            return r.read()

    def stats(self):
        return json.loads(self.get("/__stats"))

    def cpu(self):
        """The server's user+sys CPU seconds so far."""
        return proc_cpu(self.proc.pid)

    def reset(self):
        self.get("/__reset")

    def close(self):
        stop(self.proc)


# ---- one measured run ---------------------------------------------------------------------

HZ = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / HZ  # utime, stime
    except (OSError, IndexError, ValueError):
        return 0.0


def host_busy():
    """CPU seconds the whole machine spent busy so far (every task, every core)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
    return (sum(v[:8]) - idle) / HZ  # user..steal; guest time is already in user

class Sampler(threading.Thread):
    """Peak open fds, threads and resident memory of pid, read from /proc every `period` s.

    Memory is VmHWM, the kernel's own high-water mark of the exec'd image: wait4's ru_maxrss
    would also count this Python process, whose pages the child shared before exec."""

    def __init__(self, pid, period=0.02):
        super().__init__(daemon=True)
        self.pid, self.period = pid, period
        self.fds = self.threads = self.hwm_kb = 0
        self.done = threading.Event()

    def sample(self):
        try:
            self.fds = max(self.fds, len(os.listdir(f"/proc/{self.pid}/fd")))
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("Threads:"):
                        self.threads = max(self.threads, int(line.split()[1]))
                    elif line.startswith("VmHWM:"):
                        self.hwm_kb = max(self.hwm_kb, int(line.split()[1]))
        except (FileNotFoundError, ProcessLookupError, PermissionError, ValueError):
            pass  # exited (or a zombie) between the calls

    def run(self):
        while not self.done.is_set():
            self.sample()
            self.done.wait(self.period)


def measure(argv, cwd, time_cap=None, timeout=None):
    """Runs argv; returns (exit code or None when stopped, wall s, cpu s, rss MB, fds, threads,
    stopped_at_cap)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sampler = Sampler(proc.pid)
    sampler.start()
    stopper = None
    capped = []
    limit = time_cap if time_cap is not None else timeout
    if limit is not None:
        def stop():
            capped.append(True)
            try:
                proc.send_signal(signal.SIGKILL if time_cap is None else signal.SIGTERM)
            except ProcessLookupError:
                pass
        stopper = threading.Timer(limit, stop)
        stopper.start()
    # stderr is small (a summary line); read it in a thread so the pipe never fills.
    err_chunks = []
    reader = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True)
    reader.start()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    sampler.done.set()
    sampler.join()
    reader.join(timeout=5)
    if stopper:
        stopper.cancel()
    return dict(code=proc.returncode, wall=wall, cpu=ru.ru_utime + ru.ru_stime,
                rss=(sampler.hwm_kb or ru.ru_maxrss) / 1024.0, fds=sampler.fds, threads=sampler.threads,
                capped=bool(capped) and time_cap is not None, timed_out=bool(capped) and
                time_cap is None, stderr=(err_chunks[0] if err_chunks else b"").decode(
                    errors="replace"))


def run_uvcrawl(exe, site, engine, conc, tmp, timeout):
    out = os.path.join(tmp, "out.jsonl")
    argv = [exe, site.root, "-o", out, "-q", "--engine", engine]
    argv += ["--max-inflight", str(conc)] if engine == "loop" else ["--threads", str(conc)]
    site.reset()
    srv0, host0 = site.cpu(), host_busy()
    m = measure(argv, tmp, timeout=timeout)
    m["srv_cpu"] = site.cpu() - srv0
    m["other_cpu"] = max(host_busy() - host0 - m["cpu"] - m["srv_cpu"], 0.0)
    urls = []
    if os.path.exists(out):
        with open(out) as f:
            for line in f:
                if line.strip():
                    urls.append(json.loads(line)["url"])
        os.unlink(out)
    m["records"] = len(urls)
    m["full"] = m["code"] == 0 and len(urls) == len(set(urls)) and set(urls) == site.expected
    m["srv_conns"] = site.stats()["max_concurrent"]
    if m["code"] != 0:
        log(f"bench: {engine} {conc}: exit {m['code']}: {m['stderr'].strip()[:500]}")
    return m


def run_tool(argv, site, tmp, time_cap):
    """wget/wget2: no records, so completeness is the server's request count."""
    work = tempfile.mkdtemp(dir=tmp)
    site.reset()
    before = site.stats()["requests"]  # the server does not count /__ requests
    srv0, host0 = site.cpu(), host_busy()
    m = measure(argv + [site.root], work, time_cap=time_cap)
    m["srv_cpu"] = site.cpu() - srv0
    m["other_cpu"] = max(host_busy() - host0 - m["cpu"] - m["srv_cpu"], 0.0)
    st = site.stats()
    fetched = st["requests"] - before
    shutil.rmtree(work, ignore_errors=True)
    # (robots=off: no /robots.txt request.) A run stopped at the time cap is marked, not failed.
    m["records"] = max(fetched, 0)
    m["full"] = not m["capped"] and fetched >= len(site.expected)
    m["srv_conns"] = st["max_concurrent"]
    return m


def wait_idle(limit_s):
    """On a shared machine, waits (up to limit_s) until the other tasks leave the CPUs alone:
    less than a tenth of one core busy over a second. Returns the seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        b0 = host_busy()
        time.sleep(1.0)
        if host_busy() - b0 < 0.1:
            break
    return time.monotonic() - t0


# ---- output -------------------------------------------------------------------------------

COLS = ["engine", "conc", "delay_ms", "pages", "expected", "full", "wall_s", "pages_s",
        "ceiling_s", "eff_pct", "cpu_s", "rss_mb", "fds_peak", "threads_peak", "srv_conns",
        "srv_cpu_s", "other_cpu_s"]


def fmt_row(r):
    def f(v, spec):
        return "-" if v is None or v == "" else format(v, spec)
    return [r["engine"], str(r["conc"]), str(r["delay_ms"]), str(r["pages"]), str(r["expected"]),
            r["full"], f(r["wall_s"], ".2f"), f(r["pages_s"], ".0f"), f(r["ceiling_s"], ".0f"),
            f(r["eff_pct"], ".0f"), f(r["cpu_s"], ".2f"), f(r["rss_mb"], ".1f"),
            str(r["fds_peak"]), str(r["threads_peak"]), str(r["srv_conns"]),
            f(r["srv_cpu_s"], ".1f"), f(r["other_cpu_s"], ".1f")]


def table(rows, markdown=False):
    cells = [COLS] + [fmt_row(r) for r in rows]
    if markdown:
        lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(COLS)]
        lines += ["| " + " | ".join(c) + " |" for c in cells[1:]]
        return "\n".join(lines)
    w = [max(len(c[i]) for c in cells) for i in range(len(COLS))]
    return "\n".join("  ".join(c[i].rjust(w[i]) for i in range(len(COLS))) for c in cells)


def add_efficiency(rows):
    """eff_pct: the rate against min(Little's-law ceiling, the same engine+conc at 0 ms)."""
    zero = {(r["engine"], r["conc"]): r["pages_s"] for r in rows if r["delay_ms"] == 0}
    for r in rows:
        r["eff_pct"] = None
        if r["delay_ms"] == 0 or r["ceiling_s"] is None:
            continue
        bound = r["ceiling_s"]
        if (r["engine"], r["conc"]) in zero:
            bound = min(bound, zero[(r["engine"], r["conc"])])
        r["eff_pct"] = 100.0 * r["pages_s"] / bound if bound else None


def git_commit():
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip() or "?"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True).stdout.strip()
        return commit + (" (+ uncommitted changes)" if dirty else "")
    except OSError:
        return "?"


def machine(build_dir):
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    # The commit the binaries were built from (build() notes it), not whatever HEAD is now.
    try:
        with open(os.path.join(build_dir, "bench-commit.txt")) as f:
            commit = f.read().strip()
    except OSError:
        commit = "unknown (not built by bench/run.py)"
    return dict(date=datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
                nproc=os.cpu_count(), cpu=cpu, kernel=platform.release(), commit=commit)


def plot(rows, stamp):
    """pages/s and peak RSS vs concurrency, one pages/s chart per delay; needs gnuplot."""
    gp = shutil.which("gnuplot")
    base = os.path.join(RESULTS, f"bench-{stamp}")
    series = {}
    for r in rows:
        if r["engine"] in ("loop", "threads"):
            series.setdefault((r["engine"], r["delay_ms"]), []).append(r)
    if not series:
        log("bench: --plot: no loop/threads rows to plot")
        return
    script = ['if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) '
              '{ set terminal pngcairo size 900,600 } else { set terminal png size 900,600 }',
              "set logscale x 2", "set grid",
              "set key left top", "set xlabel 'concurrency (in flight / threads)'"]
    data_files = {}
    for (engine, delay), rs in sorted(series.items()):
        path = f"{base}-{engine}-{delay}ms.dat"
        with open(path, "w") as f:
            for r in sorted(rs, key=lambda r: r["conc"]):
                f.write(f"{r['conc']} {r['pages_s']:.3f} {r['rss_mb']:.3f}\n")
        data_files[(engine, delay)] = path
    for delay in sorted({d for _, d in series}):
        plots = [f"'{data_files[(e, delay)]}' using 1:2 with linespoints title '{e}'"
                 for e in ("loop", "threads") if (e, delay) in data_files]
        script += [f"set output '{base}-rate-{delay}ms.png'",
                   f"set title 'pages/s vs concurrency, {delay} ms server delay'",
                   "set ylabel 'pages/s'", "plot " + ", ".join(plots)]
    plots = [f"'{p}' using 1:3 with linespoints title '{e} {d} ms'"
             for (e, d), p in sorted(data_files.items())]
    script += [f"set output '{base}-rss.png'", "set title 'peak RSS vs concurrency'",
               "set ylabel 'MB'", "plot " + ", ".join(plots)]
    gp_path = base + ".gp"
    with open(gp_path, "w") as f:
        f.write("\n".join(script) + "\n")
    if gp is None:
        log(f"bench: --plot: gnuplot is not installed; skipped (script kept: {gp_path})")
        return
    p = subprocess.run([gp, gp_path], capture_output=True, text=True)
    if p.returncode != 0:
        log(f"bench: gnuplot failed: {p.stderr.strip()[:500]}")
    else:
        log(f"bench: plots in {base}-*.png")


# ---- main ---------------------------------------------------------------------------------

def int_list(s):
    return [int(x) for x in s.split(",") if x.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="tiny site (300 pages, 0/20 ms, caps 4/32, threads 4/16): seconds")
    ap.add_argument("--engines", default="loop,threads,wget,wget2",
                    help="comma list of loop,threads,wget,wget2 (default: all; missing tools "
                         "are skipped)")
    ap.add_argument("--delays", type=int_list, help="server delays in ms, e.g. 0,50")
    ap.add_argument("--pages", type=int, help="site size in pages")
    ap.add_argument("--size", type=int, help="page size in bytes")
    ap.add_argument("--caps", type=int_list, help="loop engine --max-inflight values")
    ap.add_argument("--threads", type=int_list, help="threads engine --threads values")
    ap.add_argument("--wget2-threads", type=int_list, help="wget2 --max-threads values")
    ap.add_argument("--tool-cap", type=float,
                    help="stop wget/wget2 after this many seconds and report the rate so far "
                         "(they fetch one or few pages at a time; default 60, quick 3)")
    ap.add_argument("--timeout", type=float, default=1800,
                    help="kill a uvcrawl run after this many seconds (counts as incomplete)")
    ap.add_argument("--wait-idle", type=float, default=0, metavar="S",
                    help="before each run, wait up to S seconds for other tasks to leave the "
                         "CPUs idle (shared machines; other_cpu_s shows what was left)")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build-release"))
    ap.add_argument("--no-build", action="store_true", help="use --build-dir as it is")
    ap.add_argument("--plot", action="store_true", help="PNG charts with gnuplot, if installed")
    args = ap.parse_args()

    cfg = dict(QUICK if args.quick else FULL)
    for k in ("pages", "size", "delays", "caps", "threads", "wget2_threads"):
        if getattr(args, k) is not None:
            cfg[k] = getattr(args, k)
    if args.tool_cap is not None:
        cfg["tool_cap_s"] = args.tool_cap
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    bad = [e for e in engines if e not in ("loop", "threads", "wget", "wget2")]
    if bad:
        ap.error(f"unknown engine(s): {', '.join(bad)}")
    tools = {}
    for tool in ("wget", "wget2"):
        if tool in engines:
            tools[tool] = shutil.which(tool)
            if tools[tool] is None:
                log(f"bench: {tool} is not installed: skipped")

    if args.no_build:
        exe = os.path.join(args.build_dir, "uvcrawl")
        srv = os.path.join(args.build_dir, "uvcrawl-siteserver")
    else:
        exe, srv = build(args.build_dir)

    os.makedirs(RESULTS, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    meta = machine(args.build_dir)
    log(f"bench: {meta['date']}, {meta['nproc']} cpus ({meta['cpu']}), commit {meta['commit']}")
    rows = []
    tmp = tempfile.mkdtemp(prefix="uvcrawl-bench-")
    try:
        for delay in cfg["delays"]:
            site = Site(srv, cfg["pages"], cfg["size"], delay)
            try:
                plan = []
                if "loop" in engines:
                    plan += [("loop", c) for c in cfg["caps"]]
                if "threads" in engines:
                    plan += [("threads", t) for t in cfg["threads"]]
                if tools.get("wget"):
                    plan += [("wget", 1)]
                if tools.get("wget2"):
                    plan += [("wget2", t) for t in cfg["wget2_threads"]]
                for engine, conc in plan:
                    if args.wait_idle > 0:
                        waited = wait_idle(args.wait_idle)
                        if waited >= args.wait_idle:
                            log(f"bench: the machine stayed busy for {waited:.0f} s; "
                                "measuring anyway (see other_cpu_s)")
                    log(f"bench: {cfg['pages']} pages, {delay} ms: {engine} {conc} ...")
                    if engine in ("loop", "threads"):
                        m = run_uvcrawl(exe, site, engine, conc, tmp, args.timeout)
                    elif engine == "wget":
                        m = run_tool([tools["wget"], "-r", "-l", "inf", "-nd", "--delete-after",
                                      "-q", "-e", "robots=off"], site, tmp, cfg["tool_cap_s"])
                    else:
                        m = run_tool([tools["wget2"], "-r", "-l", "0", "-nd", "--delete-after",
                                      "-q", "--robots=off", f"--max-threads={conc}"],
                                     site, tmp, cfg["tool_cap_s"])
                    full = "ok" if m["full"] else (
                        "capped" if m.get("capped") else
                        f"NO ({m['records']}/{len(site.expected)})")
                    rate = m["records"] / m["wall"] if m["wall"] > 0 else 0.0
                    rows.append(dict(
                        engine=engine, conc=conc, delay_ms=delay, pages=m["records"],
                        expected=len(site.expected), full=full, wall_s=m["wall"], pages_s=rate,
                        ceiling_s=(conc * 1000.0 / delay) if delay else None, eff_pct=None,
                        cpu_s=m["cpu"], rss_mb=m["rss"], fds_peak=m["fds"],
                        threads_peak=m["threads"], srv_conns=m["srv_conns"],
                        srv_cpu_s=m["srv_cpu"], other_cpu_s=m["other_cpu"]))
                    log(f"bench:   {m['wall']:.2f} s, {rate:.0f} pages/s, {full}")
            finally:
                site.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    add_efficiency(rows)
    csv_path = os.path.join(RESULTS, f"bench-{stamp}.csv")
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLS)
        w.writeheader()
        for r in rows:
            w.writerow({k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()})
    header = (f"{meta['date']}; {meta['nproc']} cpus, {meta['cpu']}; Linux {meta['kernel']}; "
              f"commit {meta['commit']}; site {cfg['pages']} pages x {cfg['size']} B")
    with open(os.path.join(RESULTS, f"bench-{stamp}.md"), "w") as f:
        f.write(header + "\n\n" + table(rows, markdown=True) + "\n")
    print(header)
    print(table(rows))
    print(f"\nCSV: {os.path.relpath(csv_path, ROOT)}")
    if args.plot:
        plot(rows, stamp)

    failed = [r for r in rows if r["engine"] in ("loop", "threads") and r["full"] != "ok"]
    failed += [r for r in rows if r["engine"] not in ("loop", "threads")
               and r["full"].startswith("NO")]
    if failed:
        log(f"bench: {len(failed)} run(s) did not crawl the full site")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
