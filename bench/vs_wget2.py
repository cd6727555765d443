#!/usr/bin/env python3
"""Whole crawls, uvcrawl's loop engine against wget2, side by side (bench/README.md, "Against
wget2").

    python3 bench/vs_wget2.py [--build-dir build-release] [--base-exe OTHER/uvcrawl]
                              [--sites python,postgres,synthetic] [--repeats 3] [--conc 16]

Sites: the python3 docs and the postgresql-15 docs, each served by an nginx this script starts
on 127.0.0.1 (ephemeral port, temp config, HTTP/1.1, no compression), and the synthetic site of
bench/run.py (uvcrawl-siteserver, --pages x --size, 0 ms delay). Each crawler runs --repeats
times, the order rotating every repeat (alternating runs on a shared machine); the table gives
medians of CPU seconds (user+sys, os.wait4) per fetched URL, wall time, URLs/s and peak RSS.
--base-exe adds a second uvcrawl (e.g. a build of main) to the rotation.

Same work: every crawler fetches every URL of the site, once, with robots.txt ignored; wget2
parses every HTML page and throws the bodies away (--delete-after). The URL sets are compared:
on nginx from its access log, run by run (printed: counts and differences); on the synthetic
site against the server's /__expected (uvcrawl, its records) and its request count (wget2).
On the python docs uvcrawl's URL set is also compared with the pages reachable from index.html
by an independent walk of the files (Python's html.parser, the same tags and attributes).

Missing tools (wget2, nginx, the docs packages) are skipped with a message. Exit status is
non-zero only when uvcrawl does not fetch the whole site. Python 3 standard library only.
"""
import argparse
import html.parser
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run  # noqa: E402  (bench/run.py: measure(), Site, build())
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import nginxlib  # noqa: E402

NGINX = nginxlib.NGINX
DOCS = {
    "python": "/usr/share/doc/python3.11-doc/html",
    "postgres": "/usr/share/doc/postgresql-doc-15/html",
}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Nginx(nginxlib.Nginx):
    """nginx serving root on 127.0.0.1 (plain HTTP/1.1), logging "$status $request_uri"."""

    def __init__(self, root):
        tmp = tempfile.mkdtemp(prefix="uvcrawl-vs-wget2-")
        try:
            super().__init__(tmp, lambda ports: f"""
  keepalive_requests 1000000;
  sendfile on;
  server {{
    listen 127.0.0.1:{ports[0]};
    root {root};
  }}""", worker_connections=4096)
        except nginxlib.NginxError as e:
            sys.exit(f"vs_wget2: {e}")
        self.log_path = self.access_log
        self.root = f"http://127.0.0.1:{self.port}/"

    def requests_since(self, offset):
        """[(status, uri)] logged after offset."""
        return [(int(st), uri) for st, _, uri in
                (ln.partition(" ") for ln in self.log_lines(offset))]

    def cpu(self):
        return run.proc_cpu(self.proc.pid)

    def close(self):
        super().close()
        shutil.rmtree(self.tmp, ignore_errors=True)


# ---- the independent reachable set ------------------------------------------------------

LINK_ATTRS = {"a": "href", "area": "href", "link": "href", "img": "src", "script": "src",
              "iframe": "src", "source": "src", "embed": "src"}


class Refs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.refs, self.base = [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "base" and self.base is None and a.get("href"):
            self.base = a["href"].strip()
        name = LINK_ATTRS.get(tag)
        if name and a.get(name) and a[name].strip():
            self.refs.append(a[name].strip())

    handle_startendtag = handle_starttag


def reachable(root_dir):
    """URL paths reachable from /index.html over the files under root_dir, walked like nginx
    serves them (a directory without its slash: a 301 to it; .html parsed)."""
    seen, queue = {"/"}, ["/"]
    while queue:
        path = queue.pop()
        fs = os.path.join(root_dir, urllib.parse.unquote(path).lstrip("/"))
        if path.endswith("/"):
            fs = os.path.join(fs, "index.html")
        elif os.path.isdir(fs):
            nxt = path + "/"
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
            continue
        if not (fs.endswith(".html") or fs.endswith(".htm")) or not os.path.isfile(fs):
            continue
        p = Refs()
        with open(fs, "rb") as f:
            p.feed(f.read().decode("utf-8", errors="replace"))
        base = urllib.parse.urljoin("http://h" + path, p.base) if p.base else "http://h" + path
        for ref in p.refs:
            u = urllib.parse.urlsplit(urllib.parse.urljoin(base, ref))
            if u.scheme != "http" or u.netloc != "h":
                continue
            target = u.path or "/"
            if u.query:
                target += "?" + u.query
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def url_path(url):
    u = urllib.parse.urlsplit(url)
    return (u.path or "/") + ("?" + u.query if u.query else "")


def show_diff(name_a, a, name_b, b, limit=15):
    only_a, only_b = sorted(a - b), sorted(b - a)
    if not only_a and not only_b:
        log(f"vs_wget2:   {name_a} and {name_b}: the same {len(a)} URLs")
        return True
    log(f"vs_wget2:   {name_a} {len(a)} URLs, {name_b} {len(b)}: {len(only_a)} only in "
        f"{name_a}, {len(only_b)} only in {name_b}")
    for tag, xs in ((f"only {name_a}", only_a), (f"only {name_b}", only_b)):
        for x in xs[:limit]:
            log(f"vs_wget2:     {tag}: {x}")
        if len(xs) > limit:
            log(f"vs_wget2:     {tag}: ... {len(xs) - limit} more")
    return False


# ---- runs ---------------------------------------------------------------------------------

def uvcrawl_argv(exe, root, conc, out):
    # --max-parse 0: wget2 parses whole pages, so the same work (and the same URL set).
    return [exe, root, "-o", out, "-q", "--engine", "loop", "--max-inflight", str(conc),
            "--ignore-robots", "--max-parse", "0"]


def wget2_argv(exe, root, conc):
    return [exe, "-r", "-l", "0", "--no-parent", "-nd", "--delete-after", "-q", "--robots=off",
            f"--max-threads={conc}", "--no-config", root]


def read_records(out):
    import json
    urls = []
    if os.path.exists(out):
        with open(out) as f:
            urls = [json.loads(ln)["url"] for ln in f if ln.strip()]
        os.unlink(out)
    return urls


def run_nginx_site(name, docroot, crawlers, args, tmp):
    srv = Nginx(docroot)
    rows, sets = [], {}
    try:
        for rep in range(args.repeats):
            order = crawlers[rep % len(crawlers):] + crawlers[:rep % len(crawlers)]
            for label, kind, exe in order:
                work = tempfile.mkdtemp(dir=tmp)
                out = os.path.join(work, "out.jsonl")
                argv = (uvcrawl_argv(exe, srv.root, args.conc, out) if kind == "uvcrawl"
                        else wget2_argv(exe, srv.root, args.conc))
                off, srv0, host0 = srv.log_offset(), srv.cpu(), run.host_busy()
                m = run.measure(argv, work, timeout=args.timeout)
                m["srv_cpu"] = srv.cpu() - srv0
                m["other_cpu"] = max(run.host_busy() - host0 - m["cpu"] - m["srv_cpu"], 0.0)
                time.sleep(0.2)  # nginx logs a request as it ends; the crawler has exited
                reqs = srv.requests_since(off)
                m["urls"] = len(reqs)
                m["distinct"] = len({u for _, u in reqs})
                if kind == "uvcrawl":
                    recs = read_records(out)
                    m["records"] = len(recs)
                    sets.setdefault(label + " records", {url_path(u) for u in recs})
                    if m["code"] != 0:
                        log(f"vs_wget2: {label}: exit {m['code']}: {m['stderr'][:300]}")
                sets.setdefault(label, {u for _, u in reqs})
                shutil.rmtree(work, ignore_errors=True)
                rows.append(dict(site=name, crawler=label, rep=rep, **m))
                log(f"vs_wget2: {name} #{rep + 1} {label}: {m['urls']} requests "
                    f"({m['distinct']} distinct), {m['wall']:.2f} s wall, {m['cpu']:.2f} s CPU, "
                    f"{m['rss']:.0f} MB, other CPU {m['other_cpu']:.1f} s")
    finally:
        srv.close()
    labels = [c[0] for c in crawlers]
    ok = True
    log(f"vs_wget2: {name}: URL sets (nginx access log, first run of each)")
    for other in labels[1:]:
        show_diff(labels[0], sets[labels[0]], other, sets[other])
    for label, kind, _ in crawlers:
        if kind == "uvcrawl":
            ok &= show_diff(label + " requests", sets[label], label + " records",
                            sets[label + " records"])
    if name == "python":
        log("vs_wget2: python: uvcrawl against the pages reachable from /index.html "
            "(an independent walk of the files)")
        ref = reachable(docroot)
        show_diff(labels[0] + " records", sets[labels[0] + " records"], "reachable", ref)
    return rows, ok


def run_synthetic(crawlers, args, tmp, srv_exe):
    site = run.Site(srv_exe, args.pages, args.size, 0)
    rows, ok = [], True
    try:
        for rep in range(args.repeats):
            order = crawlers[rep % len(crawlers):] + crawlers[:rep % len(crawlers)]
            for label, kind, exe in order:
                if kind == "uvcrawl":
                    m = run.run_uvcrawl(exe, site, "loop", args.conc, tmp, args.timeout)
                    ok &= m["full"]
                else:
                    m = run.run_tool(wget2_argv(exe, None, args.conc)[:-1], site, tmp, None)
                m["urls"] = m["records"]
                m["distinct"] = None
                rows.append(dict(site="synthetic", crawler=label, rep=rep, **m))
                log(f"vs_wget2: synthetic #{rep + 1} {label}: {m['urls']} URLs of "
                    f"{len(site.expected)} expected ({'full' if m['full'] else 'NOT full'}), "
                    f"{m['wall']:.2f} s wall, {m['cpu']:.2f} s CPU, {m['rss']:.0f} MB, "
                    f"other CPU {m['other_cpu']:.1f} s")
    finally:
        site.close()
    return rows, ok


def summary(rows, ref="wget2"):
    out = ["| site | crawler | runs | URLs | CPU s (median) | CPU µs/URL | x wget2 | wall s | "
           "x wget2 | URLs/s | peak RSS MB | other CPU s |", "|" + "---|" * 12]
    sites = []
    for r in rows:
        if r["site"] not in sites:
            sites.append(r["site"])
    for site in sites:
        med = {}
        for label in dict.fromkeys(r["crawler"] for r in rows if r["site"] == site):
            rs = [r for r in rows if r["site"] == site and r["crawler"] == label]
            med[label] = dict(
                n=len(rs), urls=statistics.median(r["urls"] for r in rs),
                cpu=statistics.median(r["cpu"] for r in rs),
                cpu_url=statistics.median(r["cpu"] / max(r["urls"], 1) for r in rs),
                wall=statistics.median(r["wall"] for r in rs),
                rate=statistics.median(r["urls"] / r["wall"] for r in rs),
                rss=statistics.median(r["rss"] for r in rs),
                other=statistics.median(r["other_cpu"] for r in rs))
        base = med.get(ref)
        for label, m in med.items():
            xc = f"{m['cpu_url'] / base['cpu_url']:.2f}" if base else "-"
            xw = f"{m['wall'] / base['wall']:.2f}" if base else "-"
            out.append(f"| {site} | {label} | {m['n']} | {m['urls']:.0f} | {m['cpu']:.2f} | "
                       f"{m['cpu_url'] * 1e6:.0f} | {xc} | {m['wall']:.2f} | {xw} | "
                       f"{m['rate']:.0f} | {m['rss']:.1f} | {m['other']:.1f} |")
    return "\n".join(out)


def perf_one(exe, args):
    perf = shutil.which("perf")
    site = next((s for s in args.sites.split(",") if s.strip() in DOCS), None)
    if perf is None or site is None or not os.path.isdir(DOCS[site]):
        log("vs_wget2: --perf needs perf (linux-perf) and a docs site in --sites")
        return 0
    srv = Nginx(DOCS[site])
    work = tempfile.mkdtemp(prefix="uvcrawl-vs-wget2-perf-")
    try:
        out = os.path.join(work, "out.jsonl")
        p = subprocess.run([perf, "record"] + args.perf_args.split() + ["-q", "-o",
                            os.path.abspath(args.perf), "--"]
                           + uvcrawl_argv(exe, srv.root, args.conc, out), cwd=work)
        log(f"vs_wget2: perf record: exit {p.returncode}, {len(read_records(out))} records")
    finally:
        srv.close()
        shutil.rmtree(work, ignore_errors=True)
    rep = subprocess.run([perf, "report", "-i", os.path.abspath(args.perf), "--no-children",
                          "--sort", "dso,symbol", "--stdio", "-g", "none", "--percent-limit",
                          "0.5"], capture_output=True, text=True)
    lines = [ln for ln in rep.stdout.splitlines() if ln.strip() and not ln.startswith("#")]
    print("\n".join(lines[:25]))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(run.ROOT, "build-release"))
    ap.add_argument("--no-build", action="store_true", help="use --build-dir as it is")
    ap.add_argument("--base-exe", help="another uvcrawl binary to compare (label: base)")
    ap.add_argument("--sites", default="python,synthetic,postgres")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--conc", type=int, default=16,
                    help="uvcrawl --max-inflight and wget2 --max-threads (default 16)")
    ap.add_argument("--pages", type=int, default=20000, help="synthetic site pages")
    ap.add_argument("--size", type=int, default=8192, help="synthetic page bytes")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--perf", metavar="FILE",
                    help="instead of the matrix: one uvcrawl crawl of the first --sites docs "
                         "site under `perf record -g -o FILE`, then the top symbols by self time")
    ap.add_argument("--perf-args", default="-g",
                    help="perf record options (default -g; e.g. '--call-graph dwarf -F 499' "
                         "for callers through libraries without frame pointers)")
    args = ap.parse_args()

    args.build_dir = os.path.abspath(args.build_dir)
    if args.no_build:
        exe = os.path.join(args.build_dir, "uvcrawl")
        srv_exe = os.path.join(args.build_dir, "uvcrawl-siteserver")
    else:
        exe, srv_exe = run.build(args.build_dir)
    wget2 = shutil.which("wget2")
    crawlers = [("uvcrawl", "uvcrawl", exe)]
    if args.base_exe:
        crawlers.append(("base", "uvcrawl", os.path.abspath(args.base_exe)))
    if wget2:
        crawlers.append(("wget2", "wget2", wget2))
    else:
        log("vs_wget2: wget2 is not installed (apt-get install wget2): uvcrawl alone")
    meta = run.machine(args.build_dir)
    log(f"vs_wget2: {meta['date']}, {meta['nproc']} cpus, commit {meta['commit']}")
    if args.perf:
        return perf_one(exe, args)
    rows, ok = [], True
    tmp = tempfile.mkdtemp(prefix="uvcrawl-vs-wget2-runs-")
    try:
        for site in [s.strip() for s in args.sites.split(",") if s.strip()]:
            if site == "synthetic":
                r, good = run_synthetic(crawlers, args, tmp, srv_exe)
            elif site in DOCS:
                if not os.path.isdir(DOCS[site]):
                    log(f"vs_wget2: {DOCS[site]} missing (python3-doc / postgresql-doc-15): "
                        f"{site} skipped")
                    continue
                if not os.access(NGINX, os.X_OK):
                    log(f"vs_wget2: nginx missing ({NGINX}): {site} skipped")
                    continue
                r, good = run_nginx_site(site, DOCS[site], crawlers, args, tmp)
            else:
                ap.error(f"unknown site {site}")
            rows += r
            ok &= good
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{meta['date']}; {meta['nproc']} cpus, {meta['cpu']}; commit {meta['commit']}; "
          f"concurrency {args.conc}; medians of {args.repeats} alternating runs")
    print(summary(rows))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
