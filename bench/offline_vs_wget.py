#!/usr/bin/env python3
"""The offline-mirror site of tests/test_offline.py (a site and a CDN, every requisite kind)
mirrored by uvcrawl -p --convert-links -E, wget -m -p -k -E -H and wget2 -m -p -k -E -H:
files saved, and links into the two servers in the saved HTML/CSS that are relative
references to files that exist (good) or not (bad: absolute, or a missing file).

    python3 bench/offline_vs_wget.py [--build-dir build]"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
import test_offline as t  # noqa: E402


def score(root, origins):
    good = bad = 0
    for path in t.saved_docs(root):
        for link in t.file_links(path):
            if not link or link.startswith("#") or link.startswith(t.SKIP):
                continue
            u = urllib.parse.urlsplit(link)
            if u.scheme or link.startswith("//"):
                bad += f"{u.scheme}://{u.netloc}" in origins
                continue
            target = os.path.normpath(os.path.join(os.path.dirname(path),
                                                   urllib.parse.unquote(u.path)))
            if os.path.isfile(target):
                good += 1
            else:
                bad += 1
    return good, bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default="build")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="uvcrawl-offline-cmp-")
    site, cdn = t.make_sites()
    origins = {site.origin, cdn.origin}
    wanted = len(site.files) - 1 + 5  # without robots.txt; the CDN's five requisites
    try:
        runs = {
            "uvcrawl": [os.path.join(a.build_dir, "uvcrawl"), site.origin + "/", "--mirror",
                        os.path.join(tmp, "uvcrawl"), "-p", "--convert-links", "-E", "-q"],
        }
        for tool in ("wget", "wget2"):
            exe = shutil.which(tool)
            if exe:
                runs[tool] = [exe, "-q", "-m", "-p", "-k", "-E", "-H", "--domains=127.0.0.1",
                              "--tries=1", "-P", os.path.join(tmp, tool), site.origin + "/"]
        for name, argv in runs.items():
            before = len(site.log) + len(cdn.log)
            subprocess.run(argv, capture_output=True, timeout=300)
            root = os.path.join(tmp, name)
            files = sum(len(f) for _, _, f in os.walk(root))
            good, bad = score(root, origins)
            print(f"{name:8} requests {len(site.log) + len(cdn.log) - before:3}  files {files:3} "
                  f"(the site needs {wanted})  links: {good} relative to existing files, "
                  f"{bad} not")
    finally:
        site.close()
        cdn.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
