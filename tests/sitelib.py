"""Helpers for the integration tests: start the project's site server, run uvcrawl, read JSONL."""
import json
import os
import subprocess
import sys
import urllib.request

UVCRAWL = os.environ.get("UVCRAWL", "build/uvcrawl")
SITESERVER = os.environ.get("SITESERVER", "build/uvcrawl-siteserver")


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


def run_tests(tests):
    """Runs each test function; prints one line each; exits non-zero on the first failure."""
    for t in tests:
        t()
        print("ok", t.__name__)
