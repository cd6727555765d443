#!/usr/bin/env python3
"""Splits a perf profile of one uvcrawl crawl into what the CPU went to, by call stack.

    perf record --call-graph dwarf,32768 -F 499 -o perf.data -- build-release/uvcrawl ...
    (or: python3 bench/vs_wget2.py --sites python --perf perf.data
         --perf-args "--call-graph dwarf,32768 -F 499")
    perf script -i perf.data -F ip,sym,dso | python3 bench/perfcat.py

Each sample goes to the first category found walking its stack from the leaf up (so malloc
called from gumbo is gumbo's, a syscall made by libcurl is the transfers'); DWARF call graphs
are needed because libgumbo and libcurl have no frame pointers. Python 3 standard library only.
"""
import collections
import re
import sys

CATEGORIES = [
    ("gumbo parse (incl. its malloc/free)", r"^gumbo|^utf8iterator"),
    ("gumbo's allocations: malloc/free via extract.c heap_alloc/heap_free",
     r"^heap_alloc|^heap_free$"),
    ("extract.c self: tree walk, copies, heap_free_all (inlined)",
     r"^uvcrawl__extract_links$|^walk$|^copy_trimmed|^heap_free_all"),
    ("URL: resolve + scope (url.c, curl_url_*)",
     r"^uvcrawl__job_resolve_links|^resolve_fast|^uvcrawl__url_|^curl_url|^parse_normalized"
     r"|^clean_ref"),
    ("md5", r"^uvcrawl__md5_hex|^EVP_|^md5"),
    ("job outputs freed", r"^uvcrawl__job_cleanup|^uvcrawl__links_free"),
    ("loop: libcurl transfers (incl. their syscalls)", r"^curl_multi|^Curl_|^curl_easy"),
    ("loop: crawler/frontier/output",
     r"^uvcrawl__frontier|^emit$|^page_finish|^queue_links|^enqueue|^uvcrawl__output"
     r"|^on_job_done"),
    ("loop: libuv", r"^uv_run$|^uv__"),
]
RULES = [(name, re.compile(rx)) for name, rx in CATEGORIES]


def category(stack):
    """stack: symbols, leaf first."""
    for sym in stack:
        for name, rx in RULES:
            if rx.search(sym):
                return name
    return "other: " + ("kernel" if stack[0].startswith("[k]") else stack[0][:40])


def samples(lines):
    """Yields each sample's stack (leaf first) from `perf script` output."""
    stack = []
    for line in lines:
        if line[:1] in ("\t", " "):
            parts = line.strip().split(None, 1)
            if len(parts) == 2:
                sym = re.sub(r"\+0x[0-9a-f]+$", "", parts[1].rsplit(" (", 1)[0])
                stack.append(("[k]" if "kernel.kallsyms" in line else "") + sym)
            continue
        if stack:
            yield stack
        stack = []
    if stack:
        yield stack


def main():
    counts = collections.Counter(category(s) for s in samples(sys.stdin))
    total = sum(counts.values()) or 1
    for name, n in counts.most_common(20):
        print(f"{100.0 * n / total:6.2f}%  {name}")
    print(f"{total} samples")


if __name__ == "__main__":
    main()
