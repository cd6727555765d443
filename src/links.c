/* The link graph a link checker needs: which pages link each URL that turned out broken.
 * Pure. URLs are the frontier's interned pointers, so an edge is two pointers; edges into
 * URLs already known good are never stored, and are pruned whenever the array would grow. */
#include "links.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dynbuf.h"

typedef struct {
  const char *from;
  const char *to;
} edge_t;

typedef struct {
  const char *url;
  long status;
  char *error;
  int external;
} broken_t;

struct uvcrawl__linkgraph_s {
  edge_t *edges;
  size_t nedges, edges_cap;
  broken_t *broken;
  size_t nbroken, broken_cap;
  uvcrawl__is_good_cb is_good;
  void *arg;
};

uvcrawl__linkgraph_t *uvcrawl__linkgraph_new(uvcrawl__is_good_cb is_good, void *arg) {
  uvcrawl__linkgraph_t *g = calloc(1, sizeof(*g));
  if (g == NULL) return NULL;
  g->is_good = is_good;
  g->arg = arg;
  return g;
}

void uvcrawl__linkgraph_free(uvcrawl__linkgraph_t *g) {
  if (g == NULL) return;
  for (size_t i = 0; i < g->nbroken; i++) free(g->broken[i].error);
  free(g->broken);
  free(g->edges);
  free(g);
}

int uvcrawl__linkgraph_add(uvcrawl__linkgraph_t *g, const char *from, const char *to) {
  if (g->nedges == g->edges_cap) {
    /* Drop edges into pages that came back good; grow only if that freed too little. */
    size_t k = 0;
    for (size_t i = 0; i < g->nedges; i++)
      if (!g->is_good(g->arg, g->edges[i].to)) g->edges[k++] = g->edges[i];
    g->nedges = k;
    if ((g->nedges * 2 > g->edges_cap || g->edges_cap == 0) &&
        uvcrawl__array_grow((void **)&g->edges, &g->edges_cap, g->edges_cap + 1,
                            sizeof(*g->edges), 1024) != 0) /* edges_cap + 1: it doubles */
      return -ENOMEM;
  }
  g->edges[g->nedges].from = from;
  g->edges[g->nedges].to = to;
  g->nedges++;
  return 0;
}

int uvcrawl__linkgraph_broken(uvcrawl__linkgraph_t *g, const char *url, long status,
                              const char *error, int external) {
  if (uvcrawl__array_grow((void **)&g->broken, &g->broken_cap, g->nbroken + 1,
                          sizeof(*g->broken), 64) != 0)
    return -ENOMEM;
  broken_t *b = &g->broken[g->nbroken];
  b->error = error ? strdup(error) : NULL;
  if (error && b->error == NULL) return -ENOMEM;
  b->url = url;
  b->status = status;
  b->external = external;
  g->nbroken++;
  return 0;
}

static int cmp_edge(const void *a, const void *b) {
  const edge_t *x = a, *y = b;
  if (x->to != y->to) return x->to < y->to ? -1 : 1;
  int c = strcmp(x->from, y->from);
  return c;
}

static int cmp_broken(const void *a, const void *b) {
  return strcmp(((const broken_t *)a)->url, ((const broken_t *)b)->url);
}

int uvcrawl__linkgraph_foreach(uvcrawl__linkgraph_t *g, uvcrawl__broken_cb cb, void *arg) {
  /* Edges grouped by target, referrers sorted by name within a group, duplicates once. */
  /* qsort's base must not be NULL, even for no elements. */
  if (g->nedges > 1) qsort(g->edges, g->nedges, sizeof(*g->edges), cmp_edge);
  if (g->nbroken > 1) qsort(g->broken, g->nbroken, sizeof(*g->broken), cmp_broken);
  const char **refs = NULL;
  size_t refs_cap = 0;
  for (size_t i = 0; i < g->nbroken; i++) {
    broken_t *b = &g->broken[i];
    size_t lo = 0, hi = g->nedges, n = 0;
    while (lo < hi) { /* first edge with to >= b->url */
      size_t mid = lo + (hi - lo) / 2;
      if (g->edges[mid].to < b->url) lo = mid + 1;
      else hi = mid;
    }
    for (size_t j = lo; j < g->nedges && g->edges[j].to == b->url; j++) {
      if (n > 0 && strcmp(refs[n - 1], g->edges[j].from) == 0) continue;
      if (uvcrawl__array_grow((void **)&refs, &refs_cap, n + 1, sizeof(*refs), 16) != 0) {
        free(refs);
        return -ENOMEM;
      }
      refs[n++] = g->edges[j].from;
    }
    uvcrawl_broken_t out = {b->url, b->status, b->error, b->external, refs, n};
    cb(arg, &out);
  }
  free(refs);
  return (int)g->nbroken;
}
