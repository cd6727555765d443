/* Shared by tests/fuzz/fuzz-diff.c and tests/test-htmlscan.c: runs the fast scanner and gumbo
 * on one document and compares what a crawl would take from each: the set of resolved links
 * (against a fixed page URL and the document's base) with their kinds, and the base itself. */
#ifndef UVCRAWL_TESTS_LINKDIFF_H
#define UVCRAWL_TESTS_LINKDIFF_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htmlscan.h"
#include "extract.h"
#include "url.h"
#include "uvcrawl.h"

#define LINKDIFF_PAGE "http://example.com/a/b?c"

enum { LINKDIFF_SAME = 0, LINKDIFF_BAILED = 1, LINKDIFF_DIFFERENT = 2 };

static int linkdiff_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted, deduplicated resolved links of found, in *out (n in *n); the caller frees each
 * string and the array. Aborts on ENOMEM (a test). */
static void linkdiff_resolve(const uvcrawl__links_t *found, char ***out, size_t *n) {
  char *base = NULL, **v = calloc(found->n + 1, sizeof(*v));
  const char *against = LINKDIFF_PAGE;
  size_t i, k = 0, j;

  if (v == NULL) abort();
  if (found->base != NULL && uvcrawl__url_resolve(LINKDIFF_PAGE, found->base, &base) == 0)
    against = base;
  for (i = 0; i < found->n; i++) {
    char *abs;
    int err = uvcrawl__url_resolve(against, found->refs[i], &abs);
    if (err == UV_ENOMEM) abort();
    if (err == 0) { /* "R url" or "L url": both parsers must agree on the kind too */
      size_t n = strlen(abs) + 3;
      char *kv = malloc(n);
      if (kv == NULL) abort();
      snprintf(kv, n, "%c %s", found->kinds[i] == UVCRAWL__REF_REQUISITE ? 'R' : 'L', abs);
      free(abs);
      v[k++] = kv;
    }
  }
  free(base);
  qsort(v, k, sizeof(*v), linkdiff_cmp);
  for (i = 0, j = 0; i < k; i++) {
    if (j > 0 && strcmp(v[j - 1], v[i]) == 0) {
      free(v[i]);
      continue;
    }
    v[j++] = v[i];
  }
  *out = v;
  *n = j;
}

static void linkdiff_free(char **v, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) free(v[i]);
  free(v);
}

/* Compares the two parsers on data. *reason gets the scanner's bail-out reason. When they
 * differ and report is set, both sides are printed to stderr. */
static int linkdiff_run(const char *data, size_t size, int *reason, int report) {
  uvcrawl__links_t fast, ref;
  char **a, **b;
  size_t na, nb, i;
  int r, verdict = LINKDIFF_SAME;

  memset(&fast, 0, sizeof(fast));
  memset(&ref, 0, sizeof(ref));
  r = uvcrawl__htmlscan(data, size, 0, &fast, reason);
  if (r == UVCRAWL__HTMLSCAN_BAIL) return LINKDIFF_BAILED;
  if (r != 0 || uvcrawl__extract_links_gumbo(data, size, 0, &ref) != 0) abort();
  linkdiff_resolve(&fast, &a, &na);
  linkdiff_resolve(&ref, &b, &nb);
  if ((fast.base == NULL) != (ref.base == NULL) ||
      (fast.base != NULL && strcmp(fast.base, ref.base) != 0))
    verdict = LINKDIFF_DIFFERENT;
  if (na != nb) verdict = LINKDIFF_DIFFERENT;
  for (i = 0; verdict == LINKDIFF_SAME && i < na; i++)
    if (strcmp(a[i], b[i]) != 0) verdict = LINKDIFF_DIFFERENT;
  if (verdict == LINKDIFF_DIFFERENT && report) {
    fprintf(stderr, "fast path and gumbo differ\n  base fast: %s\n  base gumbo: %s\n",
            fast.base ? fast.base : "(none)", ref.base ? ref.base : "(none)");
    for (i = 0; i < na; i++) fprintf(stderr, "  fast:  %s\n", a[i]);
    for (i = 0; i < nb; i++) fprintf(stderr, "  gumbo: %s\n", b[i]);
  }
  linkdiff_free(a, na);
  linkdiff_free(b, nb);
  uvcrawl__links_free(&fast);
  uvcrawl__links_free(&ref);
  return verdict;
}

#endif
