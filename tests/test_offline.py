"""Mirrors to browse offline: --page-requisites (CSS, srcset, media, refresh, a CDN on a second
server), --convert-links, --adjust-extension, --check through style sheets, and a resumed
crawl that converts too; the python3 docs served by nginx as a real site.

The saved files are read back with Python's html.parser and a small CSS url() regex: every
link into the site must be a relative reference to a file that exists, and the files must be
byte-identical to what the servers sent outside the rewritten values."""
import hashlib
import html.parser
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(__file__))
from nginxlib import NGINX, Nginx  # noqa: E402
from sitelib import check, crawl, records, run_tests, skip  # noqa: E402

TMP = tempfile.mkdtemp(prefix="uvcrawl-offline-")
PYDOCS = "/usr/share/doc/python3/html"


class StaticSite:
    """A dict of path -> (content type, bytes) served on 127.0.0.1; every request logged."""

    def __init__(self, files):
        self.files = files
        self.log = []
        self.requests = []  # (method, path)
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.log.append(self.path)
                site.requests.append((self.command, self.path))
                path = self.path
                if path in site.redirects:
                    self.send_response(301)
                    self.send_header("Location", site.redirects[path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if path.endswith("/"):
                    path += "index.html"
                if path not in site.files:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                ct, body = site.files[path]
                self.send_response(200)
                self.send_header("Content-Type", ct)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_HEAD = do_GET

            def log_message(self, *a):
                pass

        self.redirects = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


HTML = "text/html; charset=utf-8"
CSS = "text/css"


def make_sites():
    """The test site and its CDN; returns (site, cdn)."""
    cdn = StaticSite({})
    site = StaticSite({})
    c = cdn.origin
    png = b"\x89PNG fake"
    site.files.update({
        "/robots.txt": ("text/plain", b"User-agent: *\nAllow: /\n"),
        "/index.html": (HTML, f"""<!DOCTYPE html>
<html><head>
<meta http-equiv="refresh" content="30; url=refreshed.html">
<link rel="stylesheet" href="/css/site.css">
<link rel="stylesheet" href="{c}/cdn.css">
<link rel="icon" href="favicon.ico">
<script src="{c}/lib/app.js"></script>
<style>
@import "css/extra.css";
body {{ background: url(img/bg.png) }}
</style>
</head><body>
<div style="background-image: url('img/div.png')">styled</div>
<img src="img/a.png" srcset="img/a-1x.png 1x, img/a-2x.png 2x" alt="a">
<picture><source srcset="img/p.webp 1x, img/p2.webp 2x"><img src="img/p.jpg"></picture>
<video src="media/movie.mp4" poster="img/poster.jpg"><track src="media/subs.vtt"></video>
<audio src="media/sound.ogg"></audio>
<object data="media/thing.svg"></object>
<input type="image" src="img/button.png">
<img src="{c}/img/cdn.png">
<img src="{c}/private/secret.png">
<a href="page">no extension</a> <a href="page#sec">fragment</a>
<a href="sub/">sub</a> <a href="moved">moved</a>
<a href="{c}/other.html">a page on the CDN: not a requisite</a>
<a href="http://127.0.0.1:9/never.html">elsewhere</a>
<a href="#top">top</a> <a href="mailto:x@example.com">mail</a>
<a href="style.css?v=2">query</a>
</body></html>
""".encode()),
        "/css/site.css": (CSS, b"""@import url("more.css");
body { background: url(../img/from-css.png) no-repeat; }
@font-face { font-family: f; src: url("../fonts/f.woff2") format("woff2"); }
"""),
        "/css/more.css": (CSS, b".m { background: url('/img/more.png') }\n"),
        "/css/extra.css": (CSS, b".x { background: url(x.png) }\n"),
        "/css/x.png": ("image/png", png),
        "/style.css?v=2": (CSS, b"/* a style sheet with a query */ .q { color: red }\n"),
        "/page": (HTML, b"""<html><body id="sec"><a href="/">home</a> <a href="index.html">index</a>
<img src="img/a-1x.png"><a href="sub/deeper.html">deeper</a></body></html>
"""),
        "/sub/index.html": (HTML, b"<html><body><a href='../page'>up</a><img src=../img/a.png>"
                                  b"<a href=deeper.html>d</a></body></html>\n"),
        "/sub/deeper.html": (HTML, b"<html><body><a href=\"../index.html\">home</a></body></html>\n"),
        "/refreshed.html": (HTML, b"<html><body>refreshed</body></html>\n"),
        "/target.html": (HTML, b"<html><body>the redirect's target</body></html>\n"),
    })
    site.redirects["/moved"] = "/target.html"
    for name in ("bg.png", "div.png", "a.png", "a-1x.png", "a-2x.png", "p.webp", "p2.webp", "p.jpg",
                 "poster.jpg", "button.png", "from-css.png", "more.png"):
        site.files["/img/" + name] = ("image/png", png)
    for name in ("movie.mp4", "subs.vtt", "sound.ogg", "thing.svg"):
        site.files["/media/" + name] = ("application/octet-stream", b"media " + name.encode())
    site.files["/favicon.ico"] = ("image/x-icon", b"ico")
    site.files["/fonts/f.woff2"] = ("font/woff2", b"woff2")
    cdn.files.update({
        "/robots.txt": ("text/plain", b"User-agent: *\nDisallow: /private/\n"),
        "/cdn.css": (CSS, b"@font-face { src: url(fonts/cdn.woff2) }\n.c{background:url(img/c2.png)}\n"),
        "/fonts/cdn.woff2": ("font/woff2", b"cdn font"),
        "/img/c2.png": ("image/png", png),
        "/img/cdn.png": ("image/png", png),
        "/lib/app.js": ("application/javascript", b"console.log('app')\n"),
        "/private/secret.png": ("image/png", png),
        "/other.html": (HTML, b"<html><body><img src='/img/never.png'></body></html>\n"),
    })
    return site, cdn


# ---- reading the saved files back -------------------------------------------------------

CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)\s]*))\s*\)|@import\s+(?:"([^"]*)"|'([^']*)')""")
SKIP = ("data:", "mailto:", "javascript:")


def css_urls(text):
    return [next(g for g in m.groups() if g is not None) for m in CSS_URL.finditer(text)]


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links = []
        self.in_style = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for name in ("href", "src", "poster"):
            if a.get(name):
                self.links.append(a[name].strip())
        if tag == "object" and a.get("data"):
            self.links.append(a["data"].strip())
        if a.get("srcset"):
            for cand in a["srcset"].split(","):
                if cand.strip():
                    self.links.append(cand.split()[0])
        if a.get("style"):
            self.links += css_urls(a["style"])
        if tag == "meta" and (a.get("http-equiv") or "").lower() == "refresh":
            m = re.search(r"url=\s*['\"]?([^'\"]+)", a.get("content") or "", re.I)
            if m:
                self.links.append(m.group(1).strip())
        self.in_style = tag == "style"

    def handle_endtag(self, tag):
        self.in_style = False

    def handle_data(self, data):
        if self.in_style:
            self.links += css_urls(data)


def file_links(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    if path.endswith(".css") or ".css?" in path:
        return css_urls(text)
    p = Links()
    p.feed(text)
    return p.links


def saved_docs(root):
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            with open(p, "rb") as f:
                head = f.read(512).lower()
            if n.endswith((".html", ".css")) or b"<html" in head or b"<!doctype" in head:
                yield p


def check_offline(root, origins, allowed_absolute, min_links=1):
    """Every link to one of origins in every saved HTML and CSS file under root is relative and
    names a file that exists; an absolute link to them is allowed only for a URL in
    allowed_absolute (not saved: broken, or not crawled on purpose). Returns the count."""
    n = 0
    for path in saved_docs(root):
        for link in file_links(path):
            if not link or link.startswith("#") or link.startswith(SKIP):
                continue
            u = urllib.parse.urlsplit(link)
            if u.scheme or link.startswith("//"):
                origin = f"{u.scheme}://{u.netloc}"
                if origin in origins:
                    url = urllib.parse.urlunsplit((u.scheme, u.netloc, u.path or "/", u.query, ""))
                    check(url in allowed_absolute, f"{path}: absolute link to the site {link}")
                continue
            check(not link.startswith("/"), f"{path}: root-relative link {link}")
            target = os.path.normpath(os.path.join(os.path.dirname(path),
                                                   urllib.parse.unquote(u.path)))
            check(os.path.isfile(target), f"{path}: {link} -> {target} does not exist")
            check(target.startswith(os.path.normpath(root)), f"{path}: {link} leaves the mirror")
            n += 1
    check(n >= min_links, f"only {n} relative links checked")
    return n


VALUE_ATTR = re.compile(r"""(\s(?:href|src|srcset|poster|data|style|content)\s*=\s*)("[^"]*"|'[^']*'|[^\s>]+)""", re.I)


def skeleton(data):
    """The bytes with every link-bearing attribute value and url()/@import value blanked."""
    text = data.decode("latin-1")
    text = VALUE_ATTR.sub(lambda m: m.group(1) + "V", text)
    return CSS_URL.sub("U", text)


def check_identical_outside_values(original, saved, what):
    check(skeleton(original) == skeleton(saved), f"{what}: changed outside the link values")


def mirror_file(root, origin, path):
    hostport = urllib.parse.urlsplit(origin).netloc
    return os.path.join(root, hostport, path.lstrip("/"))


def saved_path(root, url, ct):
    """Where uvcrawl -E saves url (store.c's names for plain ASCII paths)."""
    u = urllib.parse.urlsplit(url)
    path = urllib.parse.unquote(u.path)
    if path.endswith("/"):
        path += "index.html"
    name = path + ("?" + u.query if u.query else "")
    low = name.lower()
    if ct.startswith("text/html") and not low.endswith((".html", ".htm")):
        name += ".html"
    elif ct.startswith("text/css") and not low.endswith(".css"):
        name += ".css"
    return os.path.join(root, u.netloc, name.lstrip("/"))


def uvcrawl_mirror(site, root, *extra, out=None):
    out = out or root + ".jsonl"
    code, _, err = crawl(site.origin + "/", "--mirror", root, "-p", "--convert-links", "-E",
                         "-o", out, "--max-inflight", 8, *extra)
    return code, err, records(out)


# ---- tests ------------------------------------------------------------------------------

def test_requisites_convert_adjust():
    site, cdn = make_sites()
    try:
        root, stats = os.path.join(TMP, "site"), os.path.join(TMP, "site-stats.json")
        code, err, recs = uvcrawl_mirror(site, root, "--stats-json", stats)
        check(code == 0, f"exit {code}: {err}")
        by_url = {r["url"]: r for r in recs}
        # The summary counts the converted files, none failed; --stats-json says the same.
        m = re.search(r"convert-links: (\d+) of (\d+) saved HTML/CSS files done, 0 could not", err)
        check(m is not None and m.group(1) == m.group(2), f"no conversion summary: {err}")
        with open(stats) as f:
            st = json.load(f)
        check((st["convert_total"], st["converted"], st["convert_errors"]) ==
              (int(m.group(2)), int(m.group(2)), 0), f"--stats-json conversion figures: {st}")
        # Every requisite on the site and on the CDN, nothing the CDN does not need.
        for path in site.files:
            if path == "/robots.txt":
                continue
            alt = path[:-len("index.html")] if path.endswith("/index.html") else path
            check(site.origin + path in by_url or site.origin + alt in by_url,
                  f"not fetched: {path}")
        for path in ("/cdn.css", "/fonts/cdn.woff2", "/img/c2.png", "/img/cdn.png", "/lib/app.js"):
            check(cdn.origin + path in by_url and by_url[cdn.origin + path]["status"] == 200,
                  f"CDN requisite not fetched: {path}")
        check("/other.html" not in cdn.log, "a CDN page was crawled")
        check("/img/never.png" not in cdn.log, "the CDN was crawled further")
        check("/private/secret.png" not in cdn.log, "robots.txt of the CDN was not obeyed")
        check("/robots.txt" in cdn.log, "the CDN's robots.txt was not read")
        secret = by_url.get(cdn.origin + "/private/secret.png")
        check(secret is not None and secret["skipped"], "no skip record for the disallowed URL")
        # -E: text/html without .html and text/css without .css got the suffix.
        check(os.path.isfile(mirror_file(root, site.origin, "/page.html")), "page.html missing")
        check(os.path.isfile(mirror_file(root, site.origin, "/style.css?v=2.css")),
              "style.css?v=2.css missing")
        # Records keep the md5 of the body as fetched, before conversion.
        for path, (ct, body) in site.files.items():
            r = by_url.get(site.origin + path)
            if r and r["status"] == 200:
                check(r["md5"] == hashlib.md5(body).hexdigest(), f"{path}: md5 of the record")
        # Links: relative to existing files; absolute only where the URL was not saved.
        unsaved = {u for u, r in by_url.items() if r["status"] != 200 or r["error"]}
        unsaved |= {cdn.origin + "/other.html"}
        n = check_offline(root, {site.origin, cdn.origin}, unsaved, min_links=40)
        with open(mirror_file(root, site.origin, "/index.html"), "rb") as f:
            index = f.read()
        check(f'href="{cdn.origin}/other.html"'.encode() in index, "a not-saved link changed")
        check(b'href="page.html#sec"' in index, "fragment or -E name lost")
        check(b'href="target.html"' in index, "a redirect's source not pointed at its target")
        check(f'src="../{cdn.origin[7:]}/img/cdn.png"'.encode() in index, "CDN image link")
        check(b'href="http://127.0.0.1:9/never.html"' in index, "absolute external link changed")
        check(b'href="style.css%3Fv=2.css"' in index, "query name not encoded")
        # Byte-identical outside the rewritten values.
        for path, (ct, body) in list(site.files.items()) + [("cdn" + p, v) for p, v in cdn.files.items()]:
            if not ct.startswith(("text/html", "text/css")):
                continue
            origin = site.origin
            if path.startswith("cdn"):
                origin, path = cdn.origin, path[3:]
            saved = mirror_file(root, origin, path)
            if ct.startswith("text/html") and not path.endswith(".html"):
                saved += ".html"
            if ct.startswith("text/css") and not path.endswith(".css"):
                saved += ".css"
            if not os.path.isfile(saved):
                continue  # not a requisite (other.html)
            with open(saved, "rb") as f:
                check_identical_outside_values(body, f.read(), saved)
        print(f"site: {len(recs)} records, {n} relative links checked")
    finally:
        site.close()
        cdn.close()


def test_requisites_past_max_depth():
    """-p --max-depth 0: the seed's requisites (and a style sheet's imports) but no page."""
    site, cdn = make_sites()
    try:
        root = os.path.join(TMP, "depth0")
        code, err, recs = uvcrawl_mirror(site, root, "--max-depth", 0)
        check(code == 0, f"exit {code}: {err}")
        got = {r["url"] for r in recs if r["status"] == 200}
        for path in ("/css/site.css", "/css/more.css", "/img/more.png", "/fonts/f.woff2",
                     "/img/a-2x.png", "/media/subs.vtt", "/img/button.png"):
            check(site.origin + path in got, f"requisite {path} not fetched")
        check(cdn.origin + "/fonts/cdn.woff2" in got, "the CDN sheet's font not fetched")
        for path in ("/page", "/sub/", "/refreshed.html"):
            check(site.origin + path not in got, f"a page past --max-depth: {path}")
        # Without -p nothing past the seed.
        code, _, _ = crawl(site.origin + "/", "--max-depth", 0, "-o", root + ".plain.jsonl")
        check({r["url"] for r in records(root + ".plain.jsonl")} == {site.origin + "/"},
              "--max-depth 0 without -p fetched more than the seed")
    finally:
        site.close()
        cdn.close()


def test_requisites_with_check():
    """--check -p: a requisite on the CDN is fetched whole (GET) and saved; an ordinary link
    to the CDN is only checked (HEAD)."""
    site, cdn = make_sites()
    try:
        root = os.path.join(TMP, "checked")
        code, err, recs = uvcrawl_mirror(site, root, "--check")
        broken = {r["url"] for r in recs if r["broken"]}
        check(code == 1 and broken == {"http://127.0.0.1:9/never.html"},
              f"exit {code}, broken {broken}: {err}")
        check(("GET", "/img/cdn.png") in cdn.requests, f"CDN image not fetched: {cdn.requests}")
        check(("HEAD", "/img/cdn.png") not in cdn.requests, "a requisite was only checked")
        check(("HEAD", "/other.html") in cdn.requests, f"CDN link not checked: {cdn.requests}")
        check(("GET", "/other.html") not in cdn.requests, "a CDN page was fetched whole")
        check(os.path.isfile(mirror_file(root, cdn.origin, "/img/cdn.png")), "not saved")
        check(not os.path.exists(mirror_file(root, cdn.origin, "/other.html.html")), "saved")
    finally:
        site.close()
        cdn.close()


def test_check_broken_image_in_css():
    site = StaticSite({
        "/index.html": (HTML, b'<link rel="stylesheet" href="s.css"><a href="ok.html">ok</a>'),
        "/s.css": (CSS, b".a { background: url(img/missing.png) }\n"),
        "/ok.html": (HTML, b"<p>ok</p>"),
    })
    try:
        code, out, err = crawl(site.origin + "/", "--check", "--format", "json")
        check(code == 1, f"exit {code}, want 1: {err}")
        rep = json.loads(out)
        got = {b["url"]: b["referrers"] for b in rep["broken"]}
        miss = site.origin + "/img/missing.png"
        check(got.get(miss) == [site.origin + "/s.css"], f"broken: {got}")
    finally:
        site.close()


def test_resume_converts():
    site, cdn = make_sites()
    try:
        root = os.path.join(TMP, "resumed")
        state = os.path.join(TMP, "state")
        out1 = os.path.join(TMP, "r1.jsonl")
        code, err, recs1 = uvcrawl_mirror(site, root, "--state", state, "--max-pages", 6,
                                          "--max-inflight", 1, out=out1)
        check(code == 0, f"first part: exit {code}: {err}")
        check(len([r for r in recs1 if not r["skipped"]]) <= 6, "--max-pages not obeyed")
        out2 = os.path.join(TMP, "r2.jsonl")
        stats = os.path.join(TMP, "r2-stats.json")
        code, err, recs2 = uvcrawl_mirror(site, root, "--state", state, "--resume",
                                          "--stats-json", stats, out=out2)
        check(code == 0, f"resume: exit {code}: {err}")
        with open(stats) as f:
            resumed = json.load(f)["resumed"]
        done1 = len([r for r in recs1 if not r["skipped"]])
        check(resumed >= done1, f"--stats-json resumed {resumed}, the first part did {done1}")
        by_url = {r["url"]: r for r in recs2}
        check(site.origin + "/page" in by_url, "resume lost URLs")
        unsaved = {u for u, r in by_url.items() if r["status"] != 200 or r["error"]}
        unsaved |= {cdn.origin + "/other.html"}
        n = check_offline(root, {site.origin, cdn.origin}, unsaved, min_links=40)
        # Converting again (the files of the first part were converted already) changes nothing.
        before = {}
        for p in saved_docs(root):
            with open(p, "rb") as f:
                before[p] = f.read()
        code, err, _ = uvcrawl_mirror(site, root, "--state", state, "--resume",
                                      out=os.path.join(TMP, "r3.jsonl"))
        check(code == 0, f"second resume: exit {code}: {err}")
        for p, data in before.items():
            with open(p, "rb") as f:
                check(f.read() == data, f"{p}: a second conversion changed it")
        print(f"resumed: {n} relative links checked")
    finally:
        site.close()
        cdn.close()


def test_resume_keeps_a_late_requisite():
    """A CDN URL seen first as a plain link (--check: only a HEAD) and then, on a later page, as
    an image (-p: a requisite, fetched whole) stays a requisite across a resume: the journal
    records the upgrade, so the resumed crawl GETs and saves it. (On one page, the link and the
    image are one link of the requisite kind.)"""
    cdn = StaticSite({"/x.png": ("image/png", b"\x89PNG late requisite")})
    site = StaticSite({
        "/index.html": (HTML, f'<a href="a.html">a</a> <a href="{cdn.origin}/x.png">x</a>'
                        .encode()),
        "/a.html": (HTML, f'<img src="{cdn.origin}/x.png">'.encode())})
    try:
        root, state = os.path.join(TMP, "late"), os.path.join(TMP, "late-state")
        code, err, _ = uvcrawl_mirror(site, root, "--check", "--state", state, "--max-pages", 2,
                                      "--max-inflight", 1, out=os.path.join(TMP, "late1.jsonl"))
        check(code == 0, f"first part: exit {code}: {err}")
        check(not any(p == "/x.png" for _, p in cdn.requests),
              f"the first part already fetched it: {cdn.requests}")
        code, err, recs = uvcrawl_mirror(site, root, "--check", "--state", state, "--resume",
                                         out=os.path.join(TMP, "late2.jsonl"))
        check(code == 0, f"resume: exit {code}: {err}")
        check(("GET", "/x.png") in cdn.requests and ("HEAD", "/x.png") not in cdn.requests,
              f"the requisite was only checked after the resume: {cdn.requests}")
        with open(mirror_file(root, cdn.origin, "/x.png"), "rb") as f:
            check(f.read() == cdn.files["/x.png"][1], "not saved whole")
        check(cdn.origin + "/x.png" in {r["url"] for r in recs}, "no record")
    finally:
        site.close()
        cdn.close()


def test_resume_leaves_a_skipped_requisite_skipped():
    """A requisite skipped for its length (--max-url-len) is recorded as skipped, and a resume
    of the finished crawl fetches nothing (the journal holds no requisite record for it) and
    keeps every record, the skip record too."""
    long_png = "/img/" + "x" * 80 + ".png"
    site = StaticSite({"/index.html": (HTML, f'<img src="{long_png}">'.encode()),
                       long_png: ("image/png", b"\x89PNG long")})
    try:
        root, state = os.path.join(TMP, "skipreq"), os.path.join(TMP, "skipreq-state")
        code, err, recs = uvcrawl_mirror(site, root, "--state", state, "--max-url-len", 60,
                                         out=os.path.join(TMP, "skipreq1.jsonl"))
        skipped = [r for r in recs if r["url"].endswith(".png")]
        check(code == 0 and len(skipped) == 1 and skipped[0]["skipped"],
              f"exit {code}, records {recs}: {err}")
        code, err, recs = uvcrawl_mirror(site, root, "--state", state, "--resume",
                                         "--max-url-len", 60,
                                         out=os.path.join(TMP, "skipreq2.jsonl"))
        check(code == 0, f"resume: exit {code}: {err}")
        check(long_png not in site.log, f"the resume fetched the skipped URL: {site.requests}")
        again = {r["url"]: r for r in recs}
        check(again.keys() == {site.origin + "/", site.origin + long_png} and
              again[site.origin + long_png]["skipped"], f"the resumed output: {recs}")
    finally:
        site.close()


# ---- the python3 docs, served by nginx --------------------------------------------------

def test_python_docs():
    if not os.path.isdir(PYDOCS) or not os.access(NGINX, os.X_OK):
        skip("needs nginx-light and python3-doc")
    ntmp = os.path.join(TMP, "nginx")
    os.makedirs(ntmp)
    docs = os.path.realpath(PYDOCS)
    nginx = Nginx(ntmp, lambda ports: f"server {{ listen 127.0.0.1:{ports[0]}; root {docs}; }}")
    port = nginx.port
    try:
        origin = f"http://127.0.0.1:{port}"
        root = os.path.join(TMP, "pydocs")
        out = os.path.join(TMP, "pydocs.jsonl")
        code, _, err = crawl(origin + "/index.html", "--mirror", root, "-p", "--convert-links",
                             "-E", "-o", out, timeout=900)
        check(code == 0, f"exit {code}: {err[-2000:]}")
        recs = records(out)
        unsaved = {r["url"] for r in recs if r["status"] != 200 or r["error"]}
        n = check_offline(root, {origin}, unsaved, min_links=10000)
        # Byte-identical outside the rewritten values, page by page against nginx's files.
        pages = 0
        for r in recs:
            if r["status"] != 200 or not (r["content_type"] or "").startswith(("text/html", "text/css")):
                continue
            path = urllib.parse.unquote(urllib.parse.urlsplit(r["url"]).path)
            src = os.path.join(docs, path.lstrip("/"))
            if path.endswith("/"):
                src = os.path.join(src, "index.html")
            if not os.path.isfile(src):
                continue
            saved = saved_path(root, r["url"], r["content_type"])
            with open(src, "rb") as a, open(saved, "rb") as b:
                check_identical_outside_values(a.read(), b.read(), saved)
            pages += 1
        print(f"python docs: {len(recs)} records, {pages} pages compared, {n} relative links, "
              f"{len(unsaved)} URLs not saved")
    finally:
        nginx.close()


if __name__ == "__main__":
    try:
        run_tests([test_requisites_convert_adjust, test_requisites_past_max_depth,
                   test_requisites_with_check,
                   test_check_broken_image_in_css,
                   test_resume_converts, test_resume_keeps_a_late_requisite,
                   test_resume_leaves_a_skipped_requisite_skipped, test_python_docs])
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
