"""WARC output read back by a real consumer (warcio, from npm: its parser, `warcio index` and
`warcio cdx-index`) and checked by tests/warc-check.mjs: every record parses, every digest
verifies, every response has its request, revisits link up, the CDXJ index equals warcio's and
points at each record, and each JSONL record names its WARC record, whose payload decoded from
its (kept) content coding has the record's md5.

First the sample that warc.c/cdxj.c write alone (tests/warc-sample.c); then crawls: the site
server (robots.txt, sitemaps, redirects, 404s, --check HEADs), nginx serving the python3 docs
with gzip on (chunked + gzip over HTTP/1.1; HTTP/2 over TLS), a recrawl with --warc-dedup that
stores only what changed, rollover, a plain .warc, and --resume after kill -9 with a torn tail.
Skips when node or warcio is missing (.ci/install puts warcio in /opt/uvcrawl-node)."""
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(__file__))
from nginxlib import NGINX, Nginx  # noqa: E402
from sitelib import UVCRAWL, Site, check, crawl, records, run_tests, skip  # noqa: E402

SAMPLE = os.environ["WARC_SAMPLE"]
CHECK = os.environ["WARC_CHECK"]
PREFIX = os.environ.get("WARCIO_PREFIX", "/opt/uvcrawl-node")
PYDOCS = "/usr/share/doc/python3/html"
TMP = tempfile.mkdtemp(prefix="uvcrawl-warc-")


def checker(*args):
    """Runs warc-check.mjs; returns its summary (fails the test on a problem)."""
    if str(args[0]).startswith("--") or len(args) > 2:
        args = ("--pairs", *args)  # a crawl: every response and revisit has its request
    out = subprocess.run(["node", CHECK, PREFIX, *map(str, args)], capture_output=True,
                         text=True, timeout=600)
    check(out.returncode == 0, f"warc-check {args}: {out.stderr[-3000:]}")
    return json.loads(out.stdout)


def path(name):
    return os.path.join(TMP, name)


def warc_bytes(f):
    raw = open(f, "rb").read()
    return gzip.decompress(raw) if f.endswith(".gz") else raw


def test_sample():
    for name in ("sample.warc.gz", "sample.warc"):
        warc, cdxj = path(name), path(name + ".cdxj")
        subprocess.run([SAMPLE, warc, cdxj], check=True)
        summary = checker(warc, cdxj)
        check(summary["counts"] == {"warcinfo": 1, "response": 4, "request": 4, "revisit": 1},
              summary)
        check(summary["cdxj"] == 5, summary)
        raw = open(warc, "rb").read()
        data = warc_bytes(warc)
        # The gzip-coded response is stored coded: its body is a gzip stream of the page.
        i = data.index(b"WARC-Target-URI: http://127.0.0.1:8080/gz?b=2&a=1")
        body = data[data.index(b"\r\n\r\n", data.index(b"HTTP/1.1 200", i)) + 4:]
        check(body[:2] == b"\x1f\x8b", body[:8])
        check(b"stored compressed" in zlib.decompressobj(31).decompress(body), "gzip body")
        # A corrupted byte inside a block must be caught.
        if not name.endswith(".gz"):
            bad = bytearray(raw)
            k = raw.index(b"compressed page") if b"compressed page" in raw else raw.index(b"not found")
            bad[k] ^= 1
            badf = path("bad.warc")
            open(badf, "wb").write(bad)
            out = subprocess.run(["node", CHECK, PREFIX, badf], capture_output=True,
                                 text=True, timeout=60)
            check(out.returncode == 1 and "digest" in out.stderr, (out.returncode, out.stderr))


def fetched(recs):
    return [r for r in recs if r["skipped"] is None and r["status"] > 0]


def test_siteserver():
    with Site("--pages", 60, "--broken", 10, "--redirect", 10, "--sitemap", 4,
              "--external", "http://127.0.0.1:1") as site:
        warc, cdx, out = path("site.warc.gz"), path("site.cdxj"), path("site.jsonl")
        code, _, err = crawl("-q", site.root, "--sitemaps", "--check", "-o", out, "--warc", warc,
                             "--warc-cdx", cdx)
        check(code in (0, 1), f"exit {code}: {err}")
        s = checker("--cdx", cdx, "--jsonl", out, warc)
        recs = records(out)
        got = fetched(recs)
        with_warc = [r for r in got if r.get("warc_record_id")]
        check(len(with_warc) == len(got), f"{len(got) - len(with_warc)} fetched URLs without a "
                                          "WARC record")
        check(s["jsonl"] == len(got), s)
        data = warc_bytes(warc)
        check(b"WARC-Target-URI: " + site.origin.encode() + b"/robots.txt" in data,
              "robots.txt not archived")
        # Each request and response of the crawl: robots.txt is one more than the records.
        pairs = s["counts"]["request"]
        check(pairs == s["counts"]["response"] + s["counts"].get("revisit", 0), s)
        check(pairs >= len(got) + 1, (pairs, len(got)))
        check(s["cdxj"] == pairs, s)
        seen = site.log()
        check(len([m for _, m, p in seen if not p.startswith("/__")]) == pairs,
              f"the server saw {len(seen)} requests, the WARC has {pairs}")


def test_check_heads_archived():
    # The external site answers HEAD with 405, so each check is a HEAD and then a GET.
    with Site("--pages", 5, "--no-head") as ext:
        with Site("--pages", 30, "--external", ext.origin) as site:
            warc, out = path("check.warc.gz"), path("check.jsonl")
            code, _, err = crawl("-q", site.root, "--check", "-o", out, "--warc", warc)
            check(code in (0, 1), f"exit {code}: {err}")
            s = checker("--jsonl", out, warc)
            data = warc_bytes(warc)
            check(b"\r\n\r\nHEAD /p/" in data, "no HEAD request archived")
            check(b"HTTP/1.1 405" in data, "the refused HEAD's 405 not archived")
            ext_recs = [r for r in records(out) if r["external"] and r["status"] > 0]
            check(ext_recs and all(r.get("warc_record_id") for r in ext_recs),
                  "external checks without WARC records")
            print("check:", s)


# ---- nginx: the python3 docs with gzip on ---------------------------------------------------

def start_nginx(root):
    """nginx (tests/nginxlib.py) with gzip on: HTTP/1.1 cleartext on .origin (chunked + gzip
    for HTML), TLS with HTTP/2 on .tls_origin. root holds the python docs linked as /py/ and a
    small site the test changes between crawls under /small/."""
    d = tempfile.mkdtemp(prefix="nginx-", dir=TMP)
    key, cert = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-keyout", key,
                    "-out", cert, "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)

    def servers(ports):
        return f"""server {{
    listen 127.0.0.1:{ports[0]};
    listen 127.0.0.1:{ports[1]} ssl http2;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    root {root};
  }}"""
    ng = Nginx(d, servers, nports=2, http_conf="include /etc/nginx/mime.types;\n  gzip on;\n"
               "  gzip_types text/css application/javascript text/plain;\n  gzip_min_length 20;")
    ng.origin = f"http://127.0.0.1:{ng.ports[0]}"
    ng.tls_origin = f"https://127.0.0.1:{ng.ports[1]}"
    return ng


def small_site(root, changed):
    """/small/: an index, ten pages and dup.html, a copy of p1.html; with changed, page 3 says
    something else."""
    d = os.path.join(root, "small")
    os.makedirs(d, exist_ok=True)
    links = "".join(f'<a href="p{i}.html">page {i}</a>\n' for i in range(10))
    links += '<a href="dup.html">the same as page 1</a>\n'
    open(os.path.join(d, "index.html"), "w").write(f"<html><body>{links}</body></html>\n")
    for i in range(10):
        words = " ".join(f"word{(i * 7 + k) % 50}" for k in range(300))
        if changed and i == 3:
            words += " changed"
        page = f"<html><body><h1>page {i}</h1><p>{words}</p>{links}</body></html>\n"
        open(os.path.join(d, f"p{i}.html"), "w").write(page)
        if i == 1:
            open(os.path.join(d, "dup.html"), "w").write(page)


def test_nginx():
    if not os.access(NGINX, os.X_OK) or not os.path.isdir(PYDOCS):
        skip("nginx or the python3 docs missing")
    root = path("www")
    os.makedirs(root, exist_ok=True)
    os.symlink(PYDOCS, os.path.join(root, "py"))
    small_site(root, changed=False)
    ng = start_nginx(root)
    try:
        # The whole python docs over HTTP/1.1: HTML comes chunked and gzip-coded.
        warc, cdx, out = path("py.warc.gz"), path("py.cdxj"), path("py.jsonl")
        code, _, err = crawl("-q", ng.origin + "/py/index.html", "--scope", "prefix", "-o", out,
                             "--warc", warc, "--warc-cdx", cdx, "--max-inflight", 16,
                             timeout=600)
        check(code in (0, 1), f"exit {code}: {err}")
        s = checker("--cdx", cdx, "--jsonl", out, warc)
        recs = records(out)
        check(len(fetched(recs)) > 500, f"only {len(fetched(recs))} pages of the python docs")
        check(s["jsonl"] == len(fetched(recs)), s)
        check(s["coded"] > 300, f"only {s['coded']} responses kept their gzip coding: {s}")
        data = warc_bytes(warc)
        check(b"X-Crawler-Transfer-Encoding: chunked" in data, "no chunked response seen")
        check(b"\r\nContent-Encoding: gzip\r\n" in data, "no gzip-coded response")
        print("python docs:", s)

        # HTTP/2 over TLS: the status line in HTTP/1.1 form, WARC-Protocol: h2.
        warc2, out2 = path("h2.warc.gz"), path("h2.jsonl")
        code, _, err = crawl("-q", ng.tls_origin + "/small/index.html", "-k", "-o", out2,
                             "--warc", warc2)
        check(code == 0, f"exit {code}: {err}")
        s2 = checker("--jsonl", out2, warc2)
        data = warc_bytes(warc2)
        check(b"WARC-Protocol: h2\r\n" in data and b"HTTP/1.1 200 OK\r\n" in data, "h2 form")
        check(b"HTTP/2" not in data, "an HTTP/2 status or request line was stored as such")
        check(all(r["http_version"] == "2" for r in fetched(records(out2))), "not HTTP/2")
        print("h2:", s2)

        # A recrawl with --warc-dedup of the first crawl's index: only page 3 changed.
        first, first_cdx = path("small1.warc.gz"), path("small1.cdxj")
        code, _, err = crawl("-q", ng.origin + "/small/", "-o", path("small1.jsonl"), "--warc",
                             first, "--warc-cdx", first_cdx)
        check(code == 0, f"exit {code}: {err}")
        s1 = checker("--cdx", first_cdx, "--jsonl", path("small1.jsonl"), first)
        # Within a crawl: p1.html and dup.html have one payload, stored once.
        check(s1["counts"].get("revisit") == 1 and s1["cross_revisits"] == 0, s1)
        check(b"WARC-Refers-To: <urn:uuid:" in warc_bytes(first), "no WARC-Refers-To")
        small_site(root, changed=True)
        second, out3 = path("small2.warc.gz"), path("small2.jsonl")
        code, _, err = crawl("-q", ng.origin + "/small/", "-o", out3, "--warc", second,
                             "--warc-dedup", first_cdx, "--warc-cdx", path("small2.cdxj"))
        check(code == 0, f"exit {code}: {err}")
        s3 = checker("--prev", first, "--cdx", path("small2.cdxj"), "--jsonl", out3, second)
        # Stored in full: the changed page and robots.txt (a 404, never a revisit); the index,
        # the nine unchanged pages and dup.html are revisits of the first crawl's records.
        check(s3["counts"].get("revisit") == 11 and s3["cross_revisits"] == 11, s3)
        data = warc_bytes(second)
        full = set()
        for rec in data.split(b"WARC/1.1\r\n")[1:]:
            if rec.startswith(b"WARC-Type: response\r\n"):
                uri = rec.split(b"WARC-Target-URI: ", 1)[1].split(b"\r\n", 1)[0].decode()
                full.add(uri[len(ng.origin):])
        check(full == {"/robots.txt", "/small/p3.html"}, f"stored in full: {full}")
        print("dedup:", s1, s3)
    finally:
        ng.close()


def test_rollover_and_plain():
    with Site("--pages", 120, "--size", 3000) as site:
        base = path("roll.warc.gz")
        cdx, out = path("roll.cdxj"), path("roll.jsonl")
        code, _, err = crawl("-q", site.root, "-o", out, "--warc", base, "--warc-max-size",
                             "40K", "--warc-cdx", cdx)
        check(code == 0, f"exit {code}: {err}")
        files = sorted(f for f in os.listdir(TMP) if f.startswith("roll-") and
                       f.endswith(".warc.gz"))
        check(len(files) >= 3 and files[0] == "roll-00000.warc.gz", files)
        s = checker("--cdx", cdx, "--jsonl", out, *[path(f) for f in files])
        check(s["counts"]["warcinfo"] == len(files), s)
        names = {r["warc_file"] for r in records(out) if r.get("warc_file")}
        check(len(names) == len(files), names)

        plain, pout = path("plain.warc"), path("plain.jsonl")
        code, _, err = crawl("-q", site.root, "-o", pout, "--warc", plain, "--warc-cdx",
                             path("plain.cdxj"))
        check(code == 0, f"exit {code}: {err}")
        raw = open(plain, "rb").read()
        check(raw.startswith(b"WARC/1.1\r\nWARC-Type: warcinfo"), raw[:40])
        checker("--cdx", path("plain.cdxj"), "--jsonl", pout, plain)


def size_of(f):
    try:
        return os.path.getsize(f)
    except FileNotFoundError:
        return 0


def series(base):
    """The files of a --warc-max-size series, in order."""
    stem = os.path.basename(base)[:-len(".warc.gz")]
    return [path(f) for f in sorted(os.listdir(TMP))
            if f.startswith(stem + "-") and f.endswith(".warc.gz")]


def resume_after_kill9(name, extra):
    """Kill -9 mid-crawl, a torn tail, --resume: one WARC (or --warc-max-size series) whole."""
    state, out, warc = path(name + ".state"), path(name + ".jsonl"), path(name)
    cdx = path(name + ".cdxj")
    with Site("--pages", 1000, "--delay", 2) as site:
        args = [UVCRAWL, "-q", site.root, "--state", state, "-o", out, "--warc", warc,
                "--warc-cdx", cdx, "--max-inflight", 8, *extra]
        p = subprocess.Popen(list(map(str, args)), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        # Kill on progress: once the journal (flushed in 64 KiB writes) holds a few hundred
        # completed pages, about a third of the site.
        while size_of(os.path.join(state, "journal")) < 100000 and p.poll() is None:
            time.sleep(0.02)
        check(p.poll() is None, "the crawl ended before the kill")
        p.send_signal(signal.SIGKILL)
        p.wait()
        files = series(warc) if extra else [warc]
        check(files, "no WARC written before the kill")
        last = files[-1]
        # A torn tail, as a power loss would leave it: half a record.
        whole = os.path.getsize(last)
        with open(last, "ab") as f:
            f.write(gzip.compress(b"WARC/1.1\r\nWARC-Type: response\r\n")[:20]
                    if name.endswith(".gz") else b"WARC/1.1\r\nWARC-Type: resp")
        code, _, err = crawl("-q", "--state", state, "--resume", "-o", out, "--warc", warc,
                             "--warc-cdx", cdx, *extra, timeout=300)
        check(code == 0, f"resume exit {code}: {err}")
        files = series(warc) if extra else [warc]
        check(os.path.getsize(last) > whole or len(files) > 1 and files[-1] != last,
              "the WARC did not grow after the resume")
        s = checker("--cdx", cdx, "--jsonl", out, *files)
        recs = records(out)
        want = {u for u, _, _ in site.expected()}
        check({r["url"] for r in recs} == want, "URLs lost across the kill")
        check(all(r.get("warc_record_id") for r in fetched(recs)), "records without WARC")
        check(s["counts"]["warcinfo"] == len(files), s)
        check(len(files) >= (3 if extra else 1), files)
        print("resume", name, len(files), "file(s)", s)


# A gzipped WARC, a plain one, and a rolled-over series whose last file is torn: three tests,
# so that meson runs them in parallel.
def test_resume_after_kill9_gz():
    resume_after_kill9("res.warc.gz", [])


def test_resume_after_kill9_plain():
    resume_after_kill9("res.warc", [])


def test_resume_after_kill9_rollover():
    resume_after_kill9("resroll.warc.gz", ["--warc-max-size", "300K"])


def test_hostile():
    """Resets, bad chunking, a gzip bomb, endless and huge bodies: each record still whole."""
    with Site("--pages", 5, "--hostile") as site:
        warc, cdx, out = path("hostile.warc.gz"), path("hostile.cdxj"), path("hostile.jsonl")
        code, _, err = crawl("-q", site.root, "-o", out, "--warc", warc, "--warc-cdx", cdx,
                             "--timeout", "5s", "--max-body", "4M", "--retries", 3)
        check(code == 0, f"exit {code}: {err}")
        s = checker("--cdx", cdx, "--jsonl", out, warc)
        bomb = [r for r in records(out) if r["url"].endswith("/h/gzipbomb")]
        check(bomb and bomb[0]["error_name"] == "ETOOBIG" and
              "exceeds the body size cap" in (bomb[0]["error"] or ""), bomb)
        data = warc_bytes(warc)
        check(b"WARC-Truncated: length" in data and b"WARC-Truncated: disconnect" in data,
              "truncated bodies not marked")
        # Every fetch is archived: /h/503 answers 503 three times, then 200.
        uri = b"WARC-Target-URI: " + site.origin.encode() + b"/h/503\r\n"
        resp = [r for r in data.split(b"WARC/1.1\r\n") if uri in r and
                not r.startswith(b"WARC-Type: request")]  # the 200 may be a revisit
        check(len(resp) == 4 and sum(b"HTTP/1.1 503" in r for r in resp) == 3,
              f"{len(resp)} responses of /h/503 archived")
        print("hostile:", s)


def test_usage_errors():
    code, _, err = crawl("--engine", "threads", "--warc", path("x.warc.gz"), "http://127.0.0.1:1/")
    check(code == 2 and "--warc works with --engine loop only" in err, (code, err))
    code, _, err = crawl("--warc-cdx", path("x.cdxj"), "http://127.0.0.1:1/")
    check(code == 2 and "need --warc" in err, (code, err))
    open(path("junk.warc.gz"), "wb").write(b"not a warc at all")
    os.makedirs(path("junkstate"), exist_ok=True)
    code, _, err = crawl("--resume", "--state", path("junkstate"), "--warc", path("junk.warc.gz"),
                         "http://127.0.0.1:1/")
    check(code != 0 and "WARC" in err, (code, err))
    code, _, err = crawl("--warc", path("nodir/x.warc.gz"), "http://127.0.0.1:1/")
    check(code != 0 and "WARC" in err, (code, err))


def main():
    if shutil.which("node") is None or not os.path.isdir(os.path.join(PREFIX, "node_modules",
                                                                      "warcio")):
        print(f"SKIP: node or warcio (in {PREFIX}) missing")
        sys.exit(77)
    try:
        run_tests([test_sample, test_usage_errors, test_siteserver, test_check_heads_archived,
                   test_hostile, test_rollover_and_plain, test_resume_after_kill9_gz,
                   test_resume_after_kill9_plain, test_resume_after_kill9_rollover, test_nginx])
    finally:
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
