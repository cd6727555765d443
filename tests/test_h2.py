"""HTTP/2, keep-alive, TLS options and Accept-Encoding against a real server: nginx with a
throwaway self-signed certificate for 127.0.0.1, serving a static site the test writes.
nginx's access log is the witness: which protocol, which connection, when each request ran,
and whether the response was compressed. Needs nginx-light and openssl (.ci/install)."""
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from sitelib import check, crawl, records, run_tests  # noqa: E402
import nginxlib  # noqa: E402

NGINX = nginxlib.NGINX
TMP = tempfile.mkdtemp(prefix="uvcrawl-h2-")
ROOT = os.path.join(TMP, "site")
CERT = os.path.join(TMP, "cert.pem")
ACCESS_LOG = os.path.join(TMP, "access.log")

PAGES = 300         # the main site: /p/N.html
SLOW_PAGES = 16     # /slow/N.html, sent at a limited rate so that overlaps can be measured:
SLOW_BYTES = 40000  # nginx sends SLOW_RATE bytes, waits a second, sends the rest, so each
SLOW_RATE = 32768   # slow request lasts about a second

# $msec: when the request ended; $request_time: how long it ran (both in ms, from nginx's
# cached clock, so a request that starts after another ended never seems to start before
# that end).
LOG_FORMAT = ("$connection $connection_requests $server_protocol $status $msec $request_time "
              "$request_uri $sent_http_content_encoding")


def tool_missing(name, path):
    print(f"FAIL: {name} not found at {path}: run .ci/install (as root) to install the "
          "nginx-light and openssl packages this test needs", file=sys.stderr)
    sys.exit(1)


# ---- the site ---------------------------------------------------------------------------

def page_links(i):
    """Links of /p/i.html (hrefs); a few are broken."""
    links = [f"/p/{(i * 7 + 1) % PAGES}.html", f"/p/{(i * 13 + 5) % PAGES}.html",
             f"/p/{(i + 1) % PAGES}.html", "/"]
    if i % 20 == 3:
        links.append(f"/missing/{i}.html")
    return links


def write_site():
    """Writes the pages; returns {url path: (status, file path or None)} of everything a crawl
    from / must record."""
    rng = random.Random(5)
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    expected = {}

    def write(path, links, filler):
        body = ["<!doctype html><html><head><title>", path, "</title></head><body>"]
        body += [f'<a href="{h}">{h}</a>\n' for h in links]
        body.append("<p>" + filler + "</p></body></html>\n")
        full = os.path.join(ROOT, path.lstrip("/"))
        if path.endswith("/"):
            full = os.path.join(full, "index.html")
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write("".join(body))
        return full

    os.makedirs(ROOT, exist_ok=True)
    expected["/"] = (200, write("/", ["/p/0.html", "/p/150.html"], "home"))
    for i in range(PAGES):
        text = " ".join(rng.choice(words) for _ in range(200 + i % 50))  # compresses well
        expected[f"/p/{i}.html"] = (200, write(f"/p/{i}.html", page_links(i), text))
        for h in page_links(i):
            if h.startswith("/missing/"):
                expected[h] = (404, None)
    # The slow corner: an index linking every slow page; random hex does not compress much,
    # and gzip is off there anyway, so each page is about SLOW_BYTES on the wire.
    slow = [f"/slow/{i}.html" for i in range(SLOW_PAGES)]
    write("/slow/", slow, "slow index")
    for i, p in enumerate(slow):
        write(p, ["/slow/", slow[(i + 1) % SLOW_PAGES]],
              "%x" % rng.getrandbits(4 * (SLOW_BYTES - 200)))
    return expected


def md5_file(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


# ---- nginx ------------------------------------------------------------------------------

def make_cert():
    try:
        p = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                            "-keyout", os.path.join(TMP, "key.pem"), "-out", CERT,
                            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                           capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        tool_missing("openssl", "PATH")
    check(p.returncode == 0, f"openssl req failed: {p.stderr}")


def start_nginx():
    """TLS + HTTP/2 (and HTTP/1.1 by ALPN) on .port, cleartext HTTP/2 with prior knowledge
    only on .ports[1]. Everything it writes is under TMP."""
    def servers(ports):
        return f"""
  server {{
    listen 127.0.0.1:{ports[0]} ssl http2;
    listen 127.0.0.1:{ports[1]} http2;
    ssl_certificate {CERT};
    ssl_certificate_key {TMP}/key.pem;
    root {ROOT};
    location /slow/ {{
      gzip off;
      limit_rate {SLOW_RATE};
    }}
  }}"""
    try:
        srv = nginxlib.Nginx(TMP, servers, nports=2, log_format=LOG_FORMAT, http_conf="""
  types { text/html html; }
  gzip on;
  gzip_types text/html;
  gzip_min_length 20;""")
    except nginxlib.NginxError as e:
        check(False, str(e))
    srv.origin = f"https://127.0.0.1:{srv.port}"
    srv.h2c_port = srv.ports[1]
    return srv


class Log:
    """The access log lines written since the object was made."""

    def __init__(self):
        self.offset = os.path.getsize(ACCESS_LOG) if os.path.exists(ACCESS_LOG) else 0

    def rows(self, want=0):
        """[{conn, nreq, proto, status, start, end, uri, encoding}]; waits until at least
        `want` rows are there (nginx writes a line when a request ends, which on a loaded
        machine can be after the crawler has its answer): 60 s is only a bound for a log that
        never gets them."""
        deadline = time.monotonic() + 60
        while True:
            with open(ACCESS_LOG) as f:
                f.seek(self.offset)
                lines = [ln.split() for ln in f.read().splitlines() if ln.strip()]
            if len(lines) >= want or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        rows = []
        for ln in lines:
            conn, nreq, proto, status, msec, rtime, uri = ln[:7]
            end = round(float(msec) * 1000)
            rows.append({"conn": int(conn), "nreq": int(nreq), "proto": proto,
                         "status": int(status), "start": end - round(float(rtime) * 1000),
                         "end": end, "uri": uri, "encoding": ln[7] if len(ln) > 7 else "-"})
        return rows


def max_overlap(rows):
    """Most requests running at once: intervals [start, end) in ms. At one instant an end
    comes before a start, so a request that began as another ended does not count twice."""
    events = sorted([(r["start"], 1) for r in rows] + [(r["end"], -1) for r in rows])
    now = best = 0
    for _, d in events:
        now += d
        best = max(best, now)
    return best


def max_overlap_per_connection(rows):
    by = {}
    for r in rows:
        by.setdefault(r["conn"], []).append(r)
    return max(max_overlap(v) for v in by.values())


SERVER = None
EXPECTED = None


def libcurl_version():
    """(major, minor) of the libcurl uvcrawl links, or None when it cannot be told."""
    try:
        import ctypes
        lib = ctypes.CDLL("libcurl.so.4")
        lib.curl_version.restype = ctypes.c_char_p
        v = lib.curl_version().decode().split()[0].split("/")[1].split(".")
        return int(v[0]), int(v[1])
    except (OSError, IndexError, ValueError):
        return None


def run(*args, name="out", url=None):
    out = os.path.join(TMP, name + ".jsonl")
    code, _, err = crawl(url or SERVER.origin + "/", "-q", "-o", out, *args, timeout=120)
    return code, {r["url"]: r for r in records(out)}, err


def check_site_records(recs, version, what):
    want = {SERVER.origin + p: v for p, v in EXPECTED.items()}
    check(set(recs) == set(want),
          f"{what}: missing {sorted(set(want) - set(recs))[:5]} extra "
          f"{sorted(set(recs) - set(want))[:5]}")
    for u, (status, path) in want.items():
        r = recs[u]
        check(r["status"] == status and r["error"] is None, f"{what}: {u}: {r}")
        check(r["http_version"] == version, f"{what}: {u} over HTTP/{r['http_version']}")
        if path is not None:
            check(r["md5"] == md5_file(path) and r["bytes"] == os.path.getsize(path),
                  f"{what}: {u}: md5/bytes {r['md5']} {r['bytes']} differ from the file")


def site_rows(rows):
    return [r for r in rows if not r["uri"].startswith("/slow/") and r["uri"] != "/robots.txt"]


# ---- tests ------------------------------------------------------------------------------

def test_h2_multiplexed_and_compressed():
    log = Log()
    code, recs, err = run("--cacert", CERT, "--max-inflight", 64)
    check(code == 0, f"exit {code}: {err}")
    check_site_records(recs, "2", "h2")
    rows = log.rows(want=len(EXPECTED) + 1)
    check(len(site_rows(rows)) == len(EXPECTED),
          f"{len(site_rows(rows))} requests for {len(EXPECTED)} URLs: some fetched twice?")
    check(all(r["proto"] == "HTTP/2.0" for r in rows), "a request was not HTTP/2")
    conns = {r["conn"] for r in rows}
    print(f"  h2: {len(rows)} requests on {len(conns)} connection(s), up to "
          f"{max(r['nreq'] for r in rows)} requests on one")
    check(len(conns) <= 2, f"h2: {len(conns)} connections for one origin")
    # Accept-Encoding: curl asked for gzip, nginx sent it, and the records hold the plain
    # bodies' md5 (checked above).
    html = [r for r in rows if r["status"] == 200 and r["uri"] != "/robots.txt"]
    check(html and all(r["encoding"] == "gzip" for r in html),
          f"not every HTML response was gzipped: {[r for r in html if r['encoding'] != 'gzip'][:3]}")


def test_many_seeds_share_one_connection():
    # --ignore-robots: nothing opens the connection first, so 40 seeds start at once. With
    # CURLOPT_PIPEWAIT they wait for the first connection's ALPN answer and then share it.
    log = Log()
    seeds = [f"{SERVER.origin}/p/{i}.html" for i in range(0, 200, 5)]
    out = os.path.join(TMP, "seeds.jsonl")
    code, _, err = crawl(*seeds, "-q", "-o", out, "--cacert", CERT, "--ignore-robots",
                         "--max-depth", 0, "--max-inflight", 64)
    check(code == 0, err)
    recs = records(out)
    check(len(recs) == len(seeds) and all(r["status"] == 200 and r["http_version"] == "2"
                                          for r in recs), "seeds")
    rows = log.rows(want=len(seeds))
    conns = {r["conn"] for r in rows}
    print(f"  h2, {len(seeds)} seeds at once: {len(rows)} requests on {len(conns)} connection(s)")
    check(len(conns) == 1, f"{len(seeds)} concurrent requests opened {len(conns)} connections")


def test_http11_keepalive():
    log = Log()
    code, recs, err = run("--cacert", CERT, "--max-inflight", 64, "--http-version", "1.1",
                          name="h1")
    check(code == 0, f"exit {code}: {err}")
    check_site_records(recs, "1.1", "--http-version 1.1")
    rows = log.rows(want=len(EXPECTED) + 1)
    check(all(r["proto"] == "HTTP/1.1" for r in rows), "a request was not HTTP/1.1")
    conns = {r["conn"] for r in rows}
    print(f"  http/1.1: {len(rows)} requests on {len(conns)} connections, up to "
          f"{max(r['nreq'] for r in rows)} requests on one")
    # More than one connection (no multiplexing), at most the cap, and each reused many times.
    check(1 < len(conns) <= 64, f"{len(conns)} connections")
    check(len(conns) * 4 <= len(rows), f"{len(rows)} requests on {len(conns)} connections: "
          "keep-alive connections are not reused")
    html = [r for r in rows if r["status"] == 200 and r["uri"] != "/robots.txt"]
    check(all(r["encoding"] == "gzip" for r in html), "HTTP/1.1 responses not gzipped")


def test_threads_engine_versions():
    for version, args in (("2", []), ("1.1", ["--http-version", "1.1"])):
        code, recs, err = run("--engine", "threads", "--threads", 8, "--cacert", CERT, *args,
                              name="threads" + version)
        check(code == 0, err)
        check_site_records(recs, version, f"--engine threads, HTTP/{version}")


def slow_crawl(*args, name):
    log = Log()
    t0 = time.monotonic()
    code, recs, err = run("--cacert", CERT, *args, name=name, url=SERVER.origin + "/slow/")
    check(code == 0, err)
    check(len(recs) == SLOW_PAGES + 1 and all(r["status"] == 200 for r in recs.values()),
          f"slow site {args}: {len(recs)} records")
    rows = [r for r in log.rows(want=SLOW_PAGES + 1) if r["uri"].startswith("/slow/")]
    check(len(rows) == SLOW_PAGES + 1, f"{len(rows)} slow requests logged")
    return rows, time.monotonic() - t0


def test_caps_count_streams():
    rows, secs = slow_crawl("--max-inflight", 8, name="cap8")
    conns = {r["conn"] for r in rows}
    peak, per_conn = max_overlap(rows), max_overlap_per_connection(rows)
    print(f"  h2 --max-inflight 8: at most {peak} requests at once, {per_conn} on one "
          f"connection, {len(conns)} connection(s), {secs:.1f} s")
    check(all(r["proto"] == "HTTP/2.0" for r in rows), "not HTTP/2")
    check(len(conns) <= 2, f"{len(conns)} connections")
    check(peak <= 8, f"{peak} streams at once with --max-inflight 8")
    check(per_conn >= 4, f"at most {per_conn} streams at once on one connection: not multiplexed")

    rows, secs = slow_crawl("--max-inflight", 64, "--per-host", 4, name="host4")
    peak, per_conn = max_overlap(rows), max_overlap_per_connection(rows)
    print(f"  h2 --per-host 4: at most {peak} requests at once, {per_conn} on one connection, "
          f"{len({r['conn'] for r in rows})} connection(s), {secs:.1f} s")
    check(2 <= peak <= 4, f"{peak} streams at once with --per-host 4")

    # The same measurement over HTTP/1.1: one request at a time per connection, so the
    # per-connection figure above is not an artefact of the log arithmetic.
    rows, secs = slow_crawl("--max-inflight", 8, "--http-version", "1.1", name="cap8h1")
    peak, per_conn = max_overlap(rows), max_overlap_per_connection(rows)
    print(f"  http/1.1 --max-inflight 8: at most {peak} requests at once, {per_conn} on one "
          f"connection, {len({r['conn'] for r in rows})} connections, {secs:.1f} s")
    check(2 <= peak <= 8 and per_conn == 1, f"HTTP/1.1: peak {peak}, per connection {per_conn}")


def test_tls_verification():
    # No --cacert: the self-signed certificate is refused; robots.txt fails first, so the seed
    # is not fetched and its record carries curl's TLS error.
    log = Log()
    code, recs, err = run("--max-inflight", 8, name="untrusted")
    check(code == 3, f"exit {code} for an untrusted certificate: {err}")
    seed = recs.get(SERVER.origin + "/")
    check(seed is not None and seed["status"] == 0 and seed["http_version"] is None and
          "certificate" in (seed["error"] or "").lower(), f"seed record: {seed}")
    check(all(r["error"] for r in recs.values()), "a record without an error")
    check(log.rows() == [], "a request got through an unverified TLS connection")
    # The same with --ignore-robots: the seed's own fetch fails the same way.
    code, recs, err = run("--ignore-robots", name="untrusted2")
    seed = recs[SERVER.origin + "/"]
    check(code == 3 and seed["status"] == 0 and "certificate" in (seed["error"] or "").lower(),
          f"exit {code}, seed {seed}")
    check("certificate" in err, f"stderr does not say why: {err}")
    # -k / --insecure: the whole site.
    for flag in ("--insecure", "-k"):
        code, recs, err = run(flag, name="insecure")
        check(code == 0, f"{flag}: exit {code}: {err}")
        check_site_records(recs, "2", flag)
    # A CA file that does not exist is a usage error, said once.
    code, _, err = crawl(SERVER.origin + "/", "--cacert", os.path.join(TMP, "nope.pem"))
    check(code == 2 and "nope.pem" in err, f"exit {code}: {err}")


def test_h2c_prior_knowledge():
    # The cleartext port speaks HTTP/2 only: --http-version 2 crawls it, the default (HTTP/1.1
    # on cleartext) cannot.
    url = f"http://127.0.0.1:{SERVER.h2c_port}/"
    log = Log()
    code, recs, err = run("--http-version", "2", name="h2c", url=url)
    check(code == 0, f"exit {code}: {err}")
    check(len(recs) == len(EXPECTED) and all(r["http_version"] == "2" and r["error"] is None
                                             for r in recs.values()), "h2c records")
    rows = log.rows(want=len(EXPECTED) + 1)
    check(all(r["proto"] == "HTTP/2.0" for r in rows), "h2c: not all HTTP/2")
    conns = len({r["conn"] for r in rows})
    version = libcurl_version()
    print(f"  h2c (libcurl {version}): {len(rows)} requests on {conns} connection(s)")
    if version is not None and version < (8, 0):
        # transfer.c: libcurl before 8.0 cannot reuse a prior-knowledge connection.
        check(conns == len(rows), f"h2c with libcurl {version}: {conns} connections")
    elif version is not None:
        check(conns <= 2, f"h2c: {conns} connections: not multiplexed")
    code, recs, err = run("--ignore-robots", name="h2c-default", url=url)
    check(code == 3 and recs[url]["status"] == 0, f"HTTP/1.1 to an h2c-only port: exit {code}")
    code, _, err = crawl(url, "--http-version", "3")
    check(code == 2 and "--http-version" in err, f"--http-version 3: exit {code}: {err}")


def main():
    global SERVER, EXPECTED
    if not os.access(NGINX, os.X_OK):
        tool_missing("nginx", NGINX)
    make_cert()
    EXPECTED = write_site()
    SERVER = start_nginx()
    try:
        run_tests([test_h2_multiplexed_and_compressed, test_many_seeds_share_one_connection,
                   test_http11_keepalive, test_threads_engine_versions, test_caps_count_streams,
                   test_tls_verification, test_h2c_prior_knowledge])
    finally:
        SERVER.close()
    shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
