"""The crawler's parts call one way (#14): the graph of `#include "crawl*.h"` among src/crawler.c,
src/crawl*.c and src/crawl*.h has no cycle (a file including its own header is no edge), and
no part hides an edge by declaring another part's function itself instead of including its
header. A part below that must tell one above uses a hook in struct uvcrawl_s (crawl.h)."""
import os
import re
import sys

SRC = os.path.join(os.environ["SOURCE_ROOT"], "src")
INCLUDE = re.compile(r'^\s*#\s*include\s*"(crawl(?:_\w+)?)\.h"', re.M)
# A prototype at file scope that is not static: another file's function, declared by hand.
PROTOTYPE = re.compile(r"^(?!static\b)\w[^;{}()#]*\buvcrawl__\w+\s*\([^;{}]*\)\s*;", re.M)


def module(name):
    """crawl_fetch.c and crawl_fetch.h are one module; crawler.c is its own (crawl.h's is
    the shared state every part sits on)."""
    return os.path.splitext(name)[0]


def read_graph():
    graph, hidden = {}, []
    for f in sorted(os.listdir(SRC)):
        if not (f.startswith("crawl") and f.endswith((".c", ".h"))):
            continue
        with open(os.path.join(SRC, f), encoding="utf-8") as fh:
            text = fh.read()
        src = module(f)
        edges = graph.setdefault(src, set())
        edges.update(h for h in INCLUDE.findall(text) if h != src)
        if f.endswith(".c"):
            hidden += [f"{f}: {m.group(0).splitlines()[0]}" for m in PROTOTYPE.finditer(text)]
    return graph, hidden


def find_cycle(graph):
    """A cycle as a list of modules, or None; also returns a bottom-up order."""
    state, order, stack = {}, [], []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        state[n] = 2
        stack.pop()
        order.append(n)
        return None

    for n in sorted(graph):
        if n not in state:
            found = visit(n)
            if found:
                return found, order
    return None, order


def main():
    graph, hidden = read_graph()
    nedges = sum(len(e) for e in graph.values())
    # The regex still sees the parts: crawler.c alone includes most of them.
    assert "crawler" in graph and nedges >= 10, f"only {nedges} includes found under {SRC}"
    cycle, order = find_cycle(graph)
    failed = False
    if cycle:
        print("crawler parts include each other in a cycle: " + " -> ".join(cycle))
        failed = True
    if hidden:
        print("another part's function declared by hand (include its header, or use a hook):\n  "
              + "\n  ".join(hidden))
        failed = True
    if failed:
        sys.exit(1)
    print(f"{len(graph)} modules, {nedges} includes, acyclic; top down: "
          + " ".join(reversed(order)))


main()
