/* URL handling per link, in ns: the links of a directory of HTML pages (default: the python3
 * docs) resolved the way a crawl does, by uvcrawl__job_resolve_links() with the fast path (with
 * and without a cache across the pages, which the crawl has per pool slot) and with the plain
 * one (every ref through the resolver and the scope check: what jobs.c did before). Extraction (gumbo) runs once, untimed. Also checks that both give the same links.
 *
 *   build/bench/uvcrawl-urlbench [DIR [ROUNDS]]
 *
 * Pages are resolved as http://127.0.0.1:8080/<path under DIR>, scope that origin, as a crawl
 * of DIR served there would. Exit 0, 1 when the paths disagree, 2 on a usage or I/O error. */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "extract.h"
#include "jobs.h"
#include "url.h"
#include "uvcrawl.h"

#define ORIGIN "http://127.0.0.1:8080"

typedef struct {
  char *url;
  uvcrawl__links_t found;
} page_t;

typedef struct {
  page_t *pages;
  size_t n, cap;
} corpus_t;

static char *slurp(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  char *buf = NULL;
  size_t n = 0, cap = 0, got;
  if (fp == NULL) return NULL;
  do {
    if (cap - n < 65536) {
      char *b = realloc(buf, cap ? cap * 2 : 131072);
      if (b == NULL) break;
      buf = b;
      cap = cap ? cap * 2 : 131072;
    }
    got = fread(buf + n, 1, cap - n, fp);
    n += got;
  } while (got > 0);
  fclose(fp);
  *len = n;
  return buf;
}

/* Walks dir (rel: its path under the root) adding every *.html page. Returns 0 or -1. */
static int walk(corpus_t *c, const char *root, const char *rel) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", root, rel);
  DIR *d = opendir(path);
  struct dirent *de;
  if (d == NULL) return -1;
  while ((de = readdir(d)) != NULL) {
    char sub[4096], full[8192];
    struct stat st;
    if (de->d_name[0] == '.') continue;
    snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
    snprintf(full, sizeof(full), "%s/%s", root, sub);
    if (stat(full, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (walk(c, root, sub) != 0) break;
      continue;
    }
    size_t nl = strlen(de->d_name), len;
    if (nl < 5 || strcmp(de->d_name + nl - 5, ".html") != 0) continue;
    char *html = slurp(full, &len);
    if (html == NULL) continue;
    if (c->n == c->cap) {
      size_t cap = c->cap ? c->cap * 2 : 256;
      page_t *p = realloc(c->pages, cap * sizeof(*p));
      if (p == NULL) {
        free(html);
        break;
      }
      c->pages = p;
      c->cap = cap;
    }
    page_t *p = &c->pages[c->n];
    memset(p, 0, sizeof(*p));
    size_t ulen = strlen(ORIGIN) + 2 + strlen(sub);
    p->url = malloc(ulen);
    if (p->url == NULL || uvcrawl__extract_links(html, len, 0, &p->found) != 0) {
      free(html);
      free(p->url);
      break;
    }
    snprintf(p->url, ulen, "%s/%s", ORIGIN, sub);
    free(html);
    c->n++;
  }
  closedir(d);
  return 0;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const origins[] = {ORIGIN};

/* first[i] = 1 when s[i] is the first occurrence of its string in s[0..n): sorts indices. */
static const char *const *sort_base;

static int cmp_idx(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  int c = strcmp(sort_base[x], sort_base[y]);
  return c != 0 ? c : (x < y ? -1 : x > y);
}

static unsigned char *first_occurrences(char *const *s, size_t n) {
  size_t *idx = malloc((n ? n : 1) * sizeof(*idx));
  unsigned char *first = calloc(n ? n : 1, 1);
  if (idx == NULL || first == NULL) exit(2);
  for (size_t i = 0; i < n; i++) idx[i] = i;
  sort_base = (const char *const *)s;
  qsort(idx, n, sizeof(*idx), cmp_idx);
  for (size_t i = 0; i < n; i++)
    first[idx[i]] = i == 0 || strcmp(s[idx[i - 1]], s[idx[i]]) != 0;
  free(idx);
  return first;
}

/* One pass over the corpus (mode 0: plain, 1: fast, 2: fast with a cache across the pages,
 * cold at the start as in a crawl); returns seconds, adds the links kept to *kept and the
 * cache's misses to *misses. */
static double pass(const corpus_t *c, int mode, size_t *kept, uint64_t *misses) {
  double t0 = now_s();
  uvcrawl__urlcache_t *cache = mode == 2 ? uvcrawl__urlcache_new() : NULL;
  if (mode == 2 && cache == NULL) exit(2);
  for (size_t i = 0; i < c->n; i++) {
    uvcrawl__job_t job;
    memset(&job, 0, sizeof(job));
    job.url = c->pages[i].url;
    job.origins = origins;
    job.norigins = 1;
    job.url_cache = cache;
    if (uvcrawl__job_resolve_links(&job, &c->pages[i].found, mode > 0) != 0) {
      fprintf(stderr, "urlbench: out of memory\n");
      exit(2);
    }
    *kept += job.nlinks;
    uvcrawl__job_cleanup(&job);
  }
  double t = now_s() - t0;
  if (cache != NULL) {
    uint64_t hits, miss;
    uvcrawl__urlcache_counts(cache, &hits, &miss);
    *misses += miss;
    uvcrawl__urlcache_free(cache);
  }
  return t;
}

/* 1 when the fast path's links are the plain path's without repeats, page by page. */
static int same_links(const corpus_t *c) {
  int ok = 1;
  uvcrawl__urlcache_t *cache = uvcrawl__urlcache_new();
  if (cache == NULL) exit(2);
  for (size_t i = 0; i < c->n; i++) {
    uvcrawl__job_t a, b;
    memset(&a, 0, sizeof(a));
    a.url = c->pages[i].url;
    a.origins = origins;
    a.norigins = 1;
    b = a;
    b.url_cache = cache; /* the fast path with the cache, as the crawl runs it */
    if (uvcrawl__job_resolve_links(&a, &c->pages[i].found, 0) != 0 ||
        uvcrawl__job_resolve_links(&b, &c->pages[i].found, 1) != 0)
      exit(2);
    size_t k = 0;
    unsigned char *first = first_occurrences(a.links, a.nlinks);
    for (size_t x = 0; x < a.nlinks && ok; x++) {
      if (!first[x]) continue;
      if (k >= b.nlinks || strcmp(b.links[k], a.links[x]) != 0) {
        fprintf(stderr, "urlbench: %s: link %zu differs: plain %s, fast %s\n", a.url, k,
                a.links[x], k < b.nlinks ? b.links[k] : "(none)");
        ok = 0;
      }
      k++;
    }
    free(first);
    if (ok && (k != b.nlinks || a.ngiven != b.ngiven)) {
      fprintf(stderr, "urlbench: %s: %zu vs %zu links, given %zu vs %zu\n", a.url, k, b.nlinks,
              a.ngiven, b.ngiven);
      ok = 0;
    }
    uvcrawl__job_cleanup(&a);
    uvcrawl__job_cleanup(&b);
  }
  uvcrawl__urlcache_free(cache);
  return ok;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "/usr/share/doc/python3.11-doc/html";
  long rounds = argc > 2 ? strtol(argv[2], NULL, 10) : 5;
  corpus_t c = {NULL, 0, 0};
  size_t refs = 0, distinct = 0, resolved = 0;
  if (rounds < 1 || rounds > 1000) {
    fprintf(stderr, "usage: %s [DIR [ROUNDS (1-1000)]]\n", argv[0]);
    return 2;
  }
  if (walk(&c, dir, "") != 0 || c.n == 0) {
    fprintf(stderr, "urlbench: no HTML pages under %s (python3-doc installed?)\n", dir);
    return 2;
  }
  for (size_t i = 0; i < c.n; i++) {
    const uvcrawl__links_t *f = &c.pages[i].found;
    refs += f->n;
    unsigned char *first = first_occurrences(f->refs, f->n);
    for (size_t j = 0; j < f->n; j++) distinct += first[j];
    free(first);
    /* What the fast path hands to curl: one per key (the text through '#', and whether a '%'
     * follows), less the pre-filtered refs; fragment-only refs once per '%' class. */
    char **keys = malloc((f->n ? f->n : 1) * sizeof(*keys));
    size_t nk = 0;
    int self[2] = {0, 0};
    if (keys == NULL) return 2;
    for (size_t j = 0; j < f->n; j++) {
      const char *r = f->refs[j], *h = strchr(r, '#');
      if (uvcrawl__url_surely_skipped(r)) continue;
      if (uvcrawl__url_is_self(r)) {
        self[strchr(r, '%') != NULL] = 1;
        continue;
      }
      size_t kl = h ? (size_t)(h - r) + 1 : strlen(r);
      keys[nk] = malloc(kl + 2);
      if (keys[nk] == NULL) return 2;
      memcpy(keys[nk], r, kl);
      keys[nk][kl] = h && strchr(h, '%') ? '%' : '\0';
      keys[nk][kl + 1] = '\0';
      nk++;
    }
    first = first_occurrences(keys, nk);
    for (size_t j = 0; j < nk; j++) {
      resolved += first[j];
      free(keys[j]);
    }
    resolved += (size_t)(self[0] + self[1]);
    free(first);
    free(keys);
  }
  if (!same_links(&c)) return 1;

  static const char *const names[3] = {"plain", "fast", "cache"};
  double *t[3];
  size_t kept[3] = {0, 0, 0};
  uint64_t misses = 0;
  for (int m = 0; m < 3; m++)
    if ((t[m] = calloc((size_t)rounds, sizeof(double))) == NULL) return 2;
  for (long r = 0; r < rounds; r++) /* alternating, so a busy moment hits all three */
    for (int m = 0; m < 3; m++) t[m][r] = pass(&c, m, &kept[m], &misses);
  printf("urlbench: %zu pages under %s, %zu refs, %zu distinct per page, curl resolutions: "
         "%zu on the fast path, %" PRIu64 " with the cache; links kept per pass: plain %zu, "
         "fast %zu (the same links, each once)\n",
         c.n, dir, refs, distinct, resolved, misses / (uint64_t)rounds, kept[0] / (size_t)rounds,
         kept[1] / (size_t)rounds);
  for (int m = 0; m < 3; m++) {
    qsort(t[m], (size_t)rounds, sizeof(double), cmp_double);
    double med = t[m][rounds / 2];
    printf("  %-5s median of %ld: %.1f ms per pass, %.0f ns per distinct link, %.0f ns per ref,"
           " %.0f ns per link kept (min %.1f ms)\n",
           names[m], rounds, med * 1e3, med * 1e9 / (double)distinct, med * 1e9 / (double)refs,
           med * 1e9 / (double)(kept[1] / (size_t)rounds), t[m][0] * 1e3);
  }
  printf("  speed-up against plain: fast %.2fx, with the cache %.2fx\n",
         t[0][rounds / 2] / t[1][rounds / 2], t[0][rounds / 2] / t[2][rounds / 2]);
  for (size_t i = 0; i < c.n; i++) {
    free(c.pages[i].url);
    uvcrawl__links_free(&c.pages[i].found);
  }
  free(c.pages);
  for (int m = 0; m < 3; m++) free(t[m]);
  return 0;
}
