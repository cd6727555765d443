"""The Redis frontier function library (src/redis_frontier.lua) against a real redis-server
started here (127.0.0.1, a free port, a temp dir, appendonly on), driven by simulated workers
over a minimal RESP client: crawl identity, the compact seen set, per-host caps across
workers, robots.txt fetched once per host for the cluster, leases reclaimed from a worker that
stopped beating (its late ack rejected, itself told it is dead), a URL that keeps killing
workers failed after max_tries, "finished" decided atomically, and the library and the data
surviving a kill -9 of Redis. Nothing is timed: a lease expiry is waited for by asking again.
Skips (77) without redis-server."""
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from sitelib import free_port  # noqa: E402

LUA = os.path.join(os.path.dirname(__file__), "..", "src", "redis_frontier.lua")
P = "uvc:{t}:"


class Resp:
    """Just enough RESP2 to send commands and read replies."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.f = self.s.makefile("rb")

    def __call__(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))
        return self.read()

    def read(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("closed")
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data.decode("utf-8", "replace")
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise ValueError(line)


def start_redis(port, d):
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--dir", d, "--appendonly", "yes", "--save", "",
                             "--daemonize", "no", "--loglevel", "warning"],
                            stdout=subprocess.DEVNULL)
    for _ in range(600):
        try:
            r = Resp(port)
            if r("PING") == "PONG":
                return proc, r
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def fp(url):
    """(bucket, member): 16 bits of bucket, 48 of member, from the URL's sha1."""
    v = int.from_bytes(hashlib.sha1(url.encode()).digest()[:8], "big")
    return v >> 48, v & ((1 << 48) - 1)


def links(urls, depth=1, ref="-"):
    out = []
    for u in urls:
        b, m = fp(u)
        host = u.split("/")[2]
        out += [b, m, u, host, depth, ref]
    return out


def claim(r, w, n, p=P):
    rep = r("FCALL", "uvc_claim", 1, p, w, n)
    assert not isinstance(rep, Exception), rep
    return rep[0], rep[1:]


def ack(r, w, item, record="{}", throttle=0):
    return r("FCALL", "uvc_ack", 1, P, w, item[4], item[1], record, throttle)


def status(r):
    keys = ["queued", "leased", "done", "failed", "seen", "workers", "requeued", "rejected",
            "finished"]
    return dict(zip(keys, r("FCALL", "uvc_status", 1, P)))


def main():
    if shutil.which("redis-server") is None:
        print("SKIP: no redis-server")
        sys.exit(77)
    d = tempfile.mkdtemp(prefix="uvcrawl-rf-")
    port = free_port()
    proc, r = start_redis(port, d)
    try:
        assert r("FUNCTION", "LOAD", open(LUA).read()) == "uvcrawl"
        # identity: the first worker's options define the crawl
        assert r("FCALL", "uvc_init", 1, P, "scope=host;depth=-1", 2, 0, 3, 300) == ["created", ""]
        assert r("FCALL", "uvc_init", 1, P, "scope=host;depth=-1", 2, 0, 3, 300) == ["joined", ""]
        assert r("FCALL", "uvc_init", 1, P, "scope=all", 2, 0, 3, 300) == \
            ["mismatch", "scope=host;depth=-1"]

        a, b, c = "wa", "wb", "wc"
        r("FCALL", "uvc_heartbeat", 1, P, a)
        hosts = ["h1:80", "h2:80"]
        urls = [f"http://{h}/p{i}" for h in hosts for i in range(10)]
        assert r("FCALL", "uvc_add", 1, P, a, *links(urls)) == 20
        assert r("FCALL", "uvc_add", 1, P, a, *links(urls[:5] + ["http://h1:80/new"])) == 1
        st = status(r)
        assert st["queued"] == 21 and st["seen"] == 21, st

        # robots: the first claim of each host is its robots.txt, once for the cluster
        _, items = claim(r, a, 10)
        assert sorted(i[1] for i in items) == hosts and all(i[0] == "R" for i in items), items
        _, none = claim(r, b, 10)
        assert none == [], none
        for it in items:
            assert ack(r, a, it, "User-agent: *\nDisallow: /private\n") == 1
        assert r("FCALL", "uvc_robots", 1, P, "h1:80").startswith("User-agent")

        # per_host 2 across three workers: never more than 2 leases per host at once
        got = {}
        for w in (a, b, c, a, b, c):
            _, its = claim(r, w, 1)
            for it in its:
                assert it[0] == "U"
                got.setdefault(it[1].split("/")[2], []).append((w, it))
        assert all(len(v) == 2 for v in got.values()) and len(got) == 2, got
        _, more = claim(r, c, 10)
        assert more == [], more  # every slot is taken
        # worker b dies holding its leases; a and c finish theirs
        held_by_b = [it for v in got.values() for w, it in v if w == b]
        assert len(held_by_b) == 1, got
        for v in got.values():
            for w, it in v:
                if w != b:
                    assert ack(r, w, it, '{"url":"%s"}' % it[1]) == 1
        # wait (by asking again) until b's heartbeat runs out and its URLs come back
        for _ in range(2000):
            r("FCALL", "uvc_heartbeat", 1, P, a)
            r("FCALL", "uvc_heartbeat", 1, P, c)
            if status(r)["requeued"] >= len(held_by_b):
                break
            claim(r, c, 0)
            time.sleep(0.01)
        st = status(r)
        assert st["requeued"] == len(held_by_b), st
        # b's late acks are rejected, and b is told it is dead
        for it in held_by_b:
            assert ack(r, b, it, "{}") == 0
        hb = r("FCALL", "uvc_heartbeat", 1, P, b)
        assert isinstance(hb, RuntimeError), (hb, r("ZRANGE", P + "workers", 0, -1, "WITHSCORES"), r("SMEMBERS", P + "known"), held_by_b)
        assert status(r)["rejected"] == len(held_by_b)

        # the rest of the crawl by a and c, per-host caps held all along
        fetched = {it[1] for v in got.values() for w, it in v if w != b}
        while True:
            r("FCALL", "uvc_heartbeat", 1, P, a)
            wait, its = claim(r, a, 3)
            _, its2 = claim(r, c, 3)
            lease_hosts = {}
            for it in its + its2:
                h = it[1].split("/")[2]
                lease_hosts[h] = lease_hosts.get(h, 0) + 1
            assert all(n <= 2 for n in lease_hosts.values()), lease_hosts
            if not its and not its2:
                if wait == -1:
                    break
                time.sleep(0.01)
                continue
            for it in its:
                assert ack(r, a, it, '{"url":"%s"}' % it[1]) == 1
                fetched.add(it[1])
            for it in its2:
                assert ack(r, c, it, '{"url":"%s"}' % it[1]) == 1
                fetched.add(it[1])
        assert fetched == set(urls) | {"http://h1:80/new"}, fetched ^ set(urls)
        st = status(r)
        assert st["finished"] == 1 and st["done"] == 21 and st["queued"] == 0, st
        assert r("HLEN", P + "rec") == 21

        # a URL that keeps killing workers fails after max_tries (3)
        P2 = "uvc:{t2}:"
        assert r("FCALL", "uvc_init", 1, P2, "x", 0, 0, 3, 50) == ["created", ""]
        r("HSET", P2 + "h:k:80", "robots", "done")
        assert r("FCALL", "uvc_add", 1, P2, "w0", *links(["http://k:80/poison"])) == 1
        for n in range(3):
            w = f"victim{n}"
            rep = r("FCALL", "uvc_claim", 1, P2, w, 1)
            assert rep[1][1] == "http://k:80/poison", rep
            while True:  # until the victim's lease is reaped (by a claim of another worker)
                rep = r("FCALL", "uvc_claim", 1, P2, "observer", 0)
                assert len(rep) == 1, rep
                if r("HLEN", P2 + "lease") == 0:
                    break
                time.sleep(0.01)
        rec = r("HGET", P2 + "rec", "http://k:80/poison")
        assert rec is not None and "worker lost 3 times" in rec, rec
        st2 = dict(zip(["queued", "leased", "done", "failed"],
                       r("FCALL", "uvc_status", 1, P2)[:4]))
        assert st2 == {"queued": 0, "leased": 0, "done": 1, "failed": 1}, st2

        # memory of the seen set: 100,000 fingerprints in the intset buckets
        P3 = "uvc:{mem}:"
        r("FCALL", "uvc_init", 1, P3, "m", 0, 0, 3, 60000)
        batch = []
        for i in range(100000):
            bkt, m = fp(f"http://m/{i}")
            batch += ["SADD", f"{P3}s:{bkt >> 8}", m]  # 256 buckets: ~390 each, intsets
        s = r.s
        out = []
        for i in range(0, len(batch), 3):
            cmd = batch[i:i + 3]
            out.append(b"*3\r\n" + b"".join(b"$%d\r\n%s\r\n" % (len(str(x)), str(x).encode())
                                            for x in cmd))
        s.sendall(b"".join(out))
        for _ in range(100000):
            r.read()
        # What the bucket keys themselves take (MEMORY USAGE, every element counted), not
        # used_memory, which also holds the client's query buffer of the 100,000 pipelined
        # commands until Redis shrinks it (18.3 bytes per URL once, in a loaded suite).
        keys = sorted({batch[i + 1] for i in range(0, len(batch), 3)})
        per_url = sum(int(r("MEMORY", "USAGE", k, "SAMPLES", 0)) for k in keys) / 100000
        print(f"seen set: {per_url:.1f} bytes per URL")
        assert per_url < 16, per_url

        # the seeds are stored; a worker without seeds never creates a crawl
        P4 = "uvc:{t4}:"
        assert r("FCALL", "uvc_init", 1, P4, "y", 0, 0, 3, 60000, 1, "http://h4:80/") == \
            ["created", "http://h4:80/"]
        assert r("FCALL", "uvc_init", 1, P4, "y", 0, 0, 3, 60000, 1, "") == \
            ["joined", "http://h4:80/"]
        assert r("FCALL", "uvc_init", 1, "uvc:{none}:", "y", 0, 0, 3, 60000, 1, "") == \
            ["absent", ""]
        assert r("EXISTS", "uvc:{none}:cfg") == 0
        # batched acks (robots ignored: arg 6 is 1), each answered; a second ack is rejected
        assert r("FCALL", "uvc_add", 1, P4, "w", *links([f"http://h4:80/{i}" for i in range(5)])) == 5
        _, items = claim(r, "w", 5, P4)
        assert len(items) == 5 and all(i[0] == "U" for i in items), items
        args = []
        for it in items:
            args += [it[4], it[1], '{"url":"%s"}' % it[1], 0]
        assert r("FCALL", "uvc_acks", 1, P4, "w", *args) == [1] * 5
        assert r("FCALL", "uvc_acks", 1, P4, "w", *args) == [0] * 5
        st4 = dict(zip(["queued", "leased", "done"], r("FCALL", "uvc_status", 1, P4)[:3]))
        assert st4 == {"queued": 0, "leased": 0, "done": 5}, st4
        # a throttled host (429/503 with a retry) starts nothing for everyone until the time
        assert r("FCALL", "uvc_add", 1, P4, "w", *links(["http://h4:80/later"])) == 1
        assert r("FCALL", "uvc_throttle", 1, P4, "w", "h4:80", 60000) == 1
        wait, none = claim(r, "w", 5, P4)
        assert none == [] and wait > 30000, (wait, none)
        r("HSET", P4 + "h:h4:80", "not_before", 0)
        r("ZADD", P4 + "ready", 0, "h4:80")
        _, items = claim(r, "w", 5, P4)
        assert [i[1] for i in items] == ["http://h4:80/later"], items
        assert r("HGET", P4 + "h:h4:80", "delay_ms") == "1"  # doubled from 0, at least 1 ms

        # kill -9 of Redis: the library and the crawl survive (AOF)
        proc.kill()
        proc.wait()
        proc, r = start_redis(port, d)
        assert r("HLEN", P + "rec") == 21
        assert status(r)["finished"] == 1
        assert r("FCALL", "uvc_init", 1, P, "scope=host;depth=-1", 2, 0, 3, 300) == ["joined", ""]
        print("redis frontier: all checks passed")
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
