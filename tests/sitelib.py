"""Helpers for the integration tests: start the project's site server, run uvcrawl, read JSONL."""
import json
import os
import subprocess
import sys
import time
import urllib.request

UVCRAWL = os.environ.get("UVCRAWL", "build/uvcrawl")
SITESERVER = os.environ.get("SITESERVER", "build/uvcrawl-siteserver")


def free_port():
    """An ephemeral port on 127.0.0.1 that was free a moment ago (a server may still lose it
    to another process: callers retry)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc, timeout=10):
    """Terminates proc and waits for it; kills it if it has not gone after timeout seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Site:
    """A running uvcrawl-siteserver on 127.0.0.1 with an ephemeral port."""

    def __init__(self, *args):
        self.args = [str(a) for a in args]
        self.proc = subprocess.Popen([SITESERVER, *self.args], stdout=subprocess.PIPE)
        line = self.proc.stdout.readline().decode()
        assert line.startswith("port "), f"site server said {line!r}"
        self.port = int(line.split()[1])
        self.origin = f"http://127.0.0.1:{self.port}"
        self.root = self.origin + "/"

    def get(self, path):
        with urllib.request.urlopen(self.origin + path, timeout=10) as r:
            return r.read()

    def expected(self):
        """[(url, status, depth)] in BFS order, from the server's own link graph."""
        rows = []
        for line in self.get("/__expected").decode().splitlines():
            url, status, depth = line.split()
            rows.append((url, int(status), int(depth)))
        return rows

    def stats(self):
        return json.loads(self.get("/__stats"))

    def log(self):
        """[(ms, method, path)] of every request the server saw, in order (GET /__log)."""
        rows = []
        for line in self.get("/__log").decode().splitlines():
            ms, method, path = line.split(" ", 2)
            rows.append((float(ms), method, path))
        return rows

    def reset(self):
        self.get("/__reset")

    def requests(self):
        """Requests the server has seen so far (internal /__ ones not counted)."""
        return self.stats()["requests"]

    def wait_requests(self, n, proc=None, timeout=120):
        """Waits until the server has seen at least n requests: progress, not time. Returns
        the count; fails if proc (a Popen) exits first, or after timeout seconds, a bound
        only for a test that would otherwise hang."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.requests()
            if got >= n:
                return got
            if proc is not None and proc.poll() is not None:
                check(False, f"the crawl ended (exit {proc.returncode}) after {got} of {n} "
                             "requests")
            check(time.monotonic() < deadline, f"only {got} of {n} requests after {timeout} s")
            time.sleep(0.002)

    def close(self):
        stop(self.proc)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def crawl(*args, timeout=120, preexec_fn=None):
    """Runs uvcrawl with args; returns (exit code, stdout text, stderr text)."""
    p = subprocess.run([UVCRAWL, *[str(a) for a in args]], capture_output=True, text=True,
                       timeout=timeout, preexec_fn=preexec_fn)
    return p.returncode, p.stdout, p.stderr


def records(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def check(cond, msg):
    if not cond:
        print("FAIL:", msg, file=sys.stderr)
        sys.exit(1)


def spaced(g, ms):
    """Whether requests with these gaps (as the server saw them) were started at least ms
    apart. The crawler spaces the starts; a request can reach the server late (a loaded
    machine: 286 ms then 14 ms was seen for --delay 150), never early. So no single gap is
    held to ms, but any run of k gaps must span (k - 1) * ms: true for arrival delays under ms,
    and false for a crawler that does not wait (its spans are near 0)."""
    for i in range(len(g)):
        span = 0
        for k, x in enumerate(g[i:], 1):
            span += x
            if span < (k - 1) * ms:
                return False
    return True


SKIP_EXIT = 77  # what meson (and automake) report as SKIP


class Skip(Exception):
    """Raised by a test that cannot run here (a tool missing, not root): reported as a skip."""


def skip(why):
    raise Skip(why)


def run_tests(tests):
    """Runs each test function; prints one line each; exits non-zero on the first failure.
    A test raising Skip is reported as skipped; when every test skipped, the exit code is 77
    so that meson shows SKIP, not OK."""
    # argv: names of tests to run (meson splits a slow file into parallel parts), or
    # "--except NAME..." for all but those.
    names = sys.argv[1:]
    if names and names[0] == "--except":
        tests = [t for t in tests if t.__name__ not in names[1:]]
    elif names:
        unknown = set(names) - {t.__name__ for t in tests}
        check(not unknown, f"no such tests: {sorted(unknown)}")
        tests = [t for t in tests if t.__name__ in names]
    skipped = 0
    for t in tests:
        t0 = time.monotonic()  # printed only, to see where a suite's time goes
        try:
            t()
            print(f"ok {t.__name__} ({time.monotonic() - t0:.1f} s)")
        except Skip as e:
            skipped += 1
            print("SKIP", t.__name__ + ":", e)
    if tests and skipped == len(tests):
        sys.exit(SKIP_EXIT)
