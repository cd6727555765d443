"""The crawler's internals stay its own: only src/crawler.c and src/crawl_*.c include crawl.h
or a crawl_*.h header (#14: no source file includes another module's internals)."""
import os
import re
import sys

SRC = os.environ["SOURCE_ROOT"]
INCLUDE = re.compile(r'^\s*#\s*include\s*"(?:.*/)?(crawl(?:_\w+)?\.h)"', re.M)


def is_crawler(rel):
    name = os.path.basename(rel)
    return os.path.dirname(rel) == "src" and (name == "crawler.c" or name.startswith("crawl"))


def main():
    bad, crawler_files = [], 0
    for top in ("src", "tests", "bench", "examples", "include"):
        for d, _, files in os.walk(os.path.join(SRC, top)):
            for f in files:
                if not f.endswith((".c", ".h")):
                    continue
                rel = os.path.relpath(os.path.join(d, f), SRC)
                with open(os.path.join(d, f), encoding="utf-8", errors="replace") as fh:
                    found = INCLUDE.findall(fh.read())
                if is_crawler(rel):
                    crawler_files += 1
                elif found:
                    bad.append(f"{rel}: {', '.join(found)}")
    if bad:
        print("crawler internals included outside the crawler:\n  " + "\n  ".join(bad))
        sys.exit(1)
    assert crawler_files >= 2, f"found {crawler_files} crawler files under {SRC}/src"
    print(f"crawl.h and crawl_*.h: included by the crawler's {crawler_files} files only")


main()
