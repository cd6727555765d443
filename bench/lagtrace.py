"""What held the loop at its worst lags (bench/lag.py --trace).

A system-wide scheduler trace (perf, stamped with CLOCK_MONOTONIC like the crawler's
`lag_worst`) is read over each of the worst lags' windows, [end - lag, end]:

- loop running / runnable-waiting / sleeping: the loop thread's own state;
- yields: sched_yield calls by the loop thread (libuv 1.44's uv__async_spin);
- held by: what ran on the CPUs while the loop waited;
- VM paused: stretches of over PAUSE_MS with no scheduler or timer event on the CPU the loop
  thread last ran on, while that CPU was busy (or on every CPU). The scheduler tick (4 ms at
  HZ=250) fires on every busy CPU, so such a gap is the hypervisor not running that virtual
  CPU (the steal time /proc/stat counts), not the crawler.
"""
import bisect
import collections
import re
import signal
import subprocess

EVENTS = ["sched:sched_switch", "sched:sched_wakeup", "syscalls:sys_enter_sched_yield",
          "timer:hrtimer_expire_entry"]
PAUSE_MS = 4.5
LINE = re.compile(r"^\s*(\d+)\s+\[(\d+)\]\s+(\d+\.\d+):\s+(\S+):\s*(.*)$")
FIELD = re.compile(r"(\w+)=(\S+)")


def start(path):
    """Starts a system-wide trace into path; returns the perf process (None without perf)."""
    cmd = ["perf", "record", "-q", "-a", "-k", "CLOCK_MONOTONIC", "-o", path]
    for e in EVENTS:
        cmd += ["-e", e]
    try:
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return None


def stop(proc):
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)


def attribute(path, loop_tid, worst):
    """One dict per lag in worst (the crawler's lag_worst), saying where its time went."""
    wins = sorted((w["at_ns"] / 1e9 - w["ms"] / 1e3, w["at_ns"] / 1e9, w["ms"]) for w in worst)
    starts = [w[0] for w in wins]
    acc = [collections.Counter() for _ in wins]
    held = [collections.Counter() for _ in wins]
    woken = [None] * len(wins)  # who ended the loop's longest sleep in each window

    def overlap(a, b, fn):
        """Calls fn(i, seconds) for each window that [a, b] overlaps."""
        for i in range(max(0, bisect.bisect(starts, a) - 1), bisect.bisect(starts, b)):
            lo, hi = max(a, wins[i][0]), min(b, wins[i][1])
            if hi > lo:
                fn(i, hi - lo)

    script = subprocess.Popen(["perf", "script", "-i", path, "-F", "tid,cpu,time,event,trace",
                               "--ns"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True)
    state, since = "sleeping", None
    cur = {}           # cpu -> (comm, since)
    last_t = None      # the last event on any CPU
    last_on = {}       # cpu -> its last event
    loop_cpu = None    # where the loop thread last ran
    for line in script.stdout:
        m = LINE.match(line)
        if not m:
            continue
        tid, cpu, t, ev, rest = int(m.group(1)), int(m.group(2)), float(m.group(3)), m.group(4), m.group(5)
        if since is None:
            since = t
        if last_t is not None and t - last_t > PAUSE_MS / 1e3 and any(
                c != "swapper" for c, _ in cur.values()):
            overlap(last_t, t, lambda i, s: acc[i].update({"vm_paused": s}))
        last_t = t
        gap = t - last_on.get(cpu, t)
        last_on[cpu] = t
        if cpu == loop_cpu and gap > PAUSE_MS / 1e3 and cur.get(cpu, ("swapper",))[0] != "swapper":
            overlap(t - gap, t, lambda i, s: acc[i].update({"cpu_paused": s}))
        if ev == "sched:sched_switch":
            f = dict(FIELD.findall(rest))
            prev, nxt = int(f["prev_pid"]), int(f["next_pid"])
            if cpu in cur:
                comm, t0 = cur[cpu]
                if prev != loop_tid and comm != "swapper":
                    overlap(t0, t, lambda i, s, c=comm: held[i].update({c: s}))
            cur[cpu] = ("swapper" if nxt == 0 else f["next_comm"], t)
            if prev == loop_tid or nxt == loop_tid:
                loop_cpu = cpu
                overlap(since, t, lambda i, s, st=state: acc[i].update({st: s}))
                since = t
                state = "running" if nxt == loop_tid else (
                    "runnable" if f["prev_state"].startswith("R") else "sleeping")
        elif ev == "sched:sched_wakeup":
            if f"pid={loop_tid} " in rest and state == "sleeping":
                # The waker is the thread running where the wakeup happened: a timer interrupt
                # shows as whoever it interrupted, so only a long sleep's waker means much.
                waker = cur.get(cpu, ("?",))[0] if tid != 0 else "idle"
                def note(i, s, w=f"{waker} ({tid}) after {(t - since) * 1e3:.1f} ms"):
                    acc[i].update({"sleeping": s})
                    if woken[i] is None or s > woken[i][0]:
                        woken[i] = (s, w)
                overlap(since, t, note)
                since, state = t, "runnable"
        elif ev.endswith("sched_yield") and tid == loop_tid:
            overlap(t, t + 1e-9, lambda i, s: acc[i].update({"yields": 1}))
    script.wait()
    out = []
    for i, (_, end, ms) in enumerate(wins):
        a = acc[i]
        out.append({
            "at_ns": int(round(end * 1e9)), "lag_ms": ms,
            "running_ms": round(a["running"] * 1e3, 1), "runnable_ms": round(a["runnable"] * 1e3, 1),
            "sleeping_ms": round(a["sleeping"] * 1e3, 1), "yields": int(a["yields"]),
            # A gap on the loop's CPU and one on every CPU may be the same stretch.
            "vm_paused_ms": round(max(a["vm_paused"], a["cpu_paused"]) * 1e3, 1),
            "held_by": ", ".join(f"{c} {s * 1e3:.1f}" for c, s in held[i].most_common(3)),
            "woken_by": woken[i][1] if woken[i] and woken[i][0] > 1e-3 else "",
        })
    return sorted(out, key=lambda r: -r["lag_ms"])


def table(rows):
    head = ["lag ms", "VM paused ms", "loop running ms", "loop runnable ms", "loop sleeping ms",
            "sched_yield", "CPUs held by (ms)", "longest sleep ended by"]
    keys = ["lag_ms", "vm_paused_ms", "running_ms", "runnable_ms", "sleeping_ms", "yields",
            "held_by", "woken_by"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * (len(head) - 1) + "---|"]
    for r in rows:
        lines.append("| " + " | ".join(str(r[k]) for k in keys) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    import json
    import sys
    # lagtrace.py PERF_DATA LOOP_TID STATS_JSON: the table for an earlier run.
    with open(sys.argv[3]) as f:
        print(table(attribute(sys.argv[1], int(sys.argv[2]), json.load(f)["lag_worst"])))
