/* Table-driven tests for src/url.c: uvcrawl__url_resolve() and uvcrawl__url_origin().
 *
 * Rows marked "curl 7.88:" pin behaviour that comes from libcurl rather than from a standard;
 * they were checked against libcurl 7.88.1 and may need revisiting on a newer curl. */
#include <dirent.h>

#include "task.h"
#include "extract.h"
#include "jobs.h"
#include "scope.h"
#include "url.h"
#include "uvcrawl.h"

#define B "http://example.com/a/b/c.html"

typedef struct {
  const char *base;
  const char *ref;
  const char *expect; /* NULL when err is non-zero */
  int err;
} resolve_row_t;

static const resolve_row_t resolve_rows[] = {
  /* Absolute URLs, with and without a base. */
  {NULL, "http://example.com/x", "http://example.com/x", 0},
  {NULL, "https://example.com/x?y=1", "https://example.com/x?y=1", 0},
  {B, "http://other.org/p", "http://other.org/p", 0},
  {"https://u:p@a.com:8080/x?q#f", "http://b.com", "http://b.com/", 0},

  /* Relative references (RFC 3986 section 5). */
  {B, "d.html", "http://example.com/a/b/d.html", 0},
  {B, "./d.html", "http://example.com/a/b/d.html", 0},
  {B, "../p/d.html", "http://example.com/a/p/d.html", 0},
  {B, "/p/./d.html", "http://example.com/p/d.html", 0},
  {B, "/p/q/../d.html", "http://example.com/p/d.html", 0},
  {B, "../../../../x", "http://example.com/x", 0}, /* cannot climb above the root */
  {B, ".", "http://example.com/a/b/", 0},
  {B, "..", "http://example.com/a/", 0},
  {B, "?q=1", "http://example.com/a/b/c.html?q=1", 0},
  {B "?old=1", "?q=1", "http://example.com/a/b/c.html?q=1", 0},
  {B "?k=v", "#frag", "http://example.com/a/b/c.html?k=v", 0}, /* same page */
  {B "?k=v", "", "http://example.com/a/b/c.html?k=v", 0},      /* same page */
  {B, "d.html#sec", "http://example.com/a/b/d.html", 0},
  {B, "//other.host/x", "http://other.host/x", 0},
  {"https://example.com/", "//other.host/x", "https://other.host/x", 0},
  /* Found by fuzzing: a percent-encoded host that only becomes an IPv4 literal on a second
   * parse; one pass must already give the fixed point. */
  {B, "//%30", "http://0.0.0.0/", 0},
  {B, "g;x?y", "http://example.com/a/b/g;x?y", 0},

  /* Case, ports, empty path, fragments. */
  {NULL, "HTTP://EXAMPLE.COM/Path", "http://example.com/Path", 0},
  {NULL, "HtTpS://Mixed.Example.Com", "https://mixed.example.com/", 0},
  {NULL, "http://example.com:80/x", "http://example.com/x", 0},
  {NULL, "https://example.com:443/x", "https://example.com/x", 0},
  {NULL, "http://example.com:0080/x", "http://example.com/x", 0},
  {NULL, "http://example.com:8080/x", "http://example.com:8080/x", 0},
  {NULL, "https://example.com:80/x", "https://example.com:80/x", 0},
  {NULL, "http://example.com:443/x", "http://example.com:443/x", 0},
  {NULL, "http://example.com", "http://example.com/", 0},
  {NULL, "http://example.com?x=1", "http://example.com/?x=1", 0},
  {NULL, "http://example.com/x#top", "http://example.com/x", 0},
  {NULL, "http://example.com/x?b=2&a=1#f", "http://example.com/x?b=2&a=1", 0},
  {NULL, "http://%41.example.com/", "http://a.example.com/", 0}, /* curl decodes the host */

  /* Whitespace and encoding. */
  {B, "  d.html \t\r\n", "http://example.com/a/b/d.html", 0},
  {B, "\nd\n.ht\tml\r", "http://example.com/a/b/d.html", 0},
  {NULL, "\thttp://exa\nmple.com/x\r\n", "http://example.com/x", 0},
  {B, "my page.html", "http://example.com/a/b/my%20page.html", 0},
  {B, "s?q=a b", "http://example.com/a/b/s?q=a%20b", 0}, /* %20, not curl's '+' */
  {B, "s?q=a+b", "http://example.com/a/b/s?q=a+b", 0},
  {B, "caf\xc3\xa9.html", "http://example.com/a/b/caf%C3%A9.html", 0},
  {NULL, "http://example.com/\xe9t\xe9?v=\xff", "http://example.com/%E9t%E9?v=%FF", 0},
  {NULL, "http://example.com/%7efoo%2f", "http://example.com/%7Efoo%2F", 0},
  {NULL, "http://example.com/%zz", "http://example.com/%zz", 0}, /* kept as written */
  /* Control bytes and '"<>' are encoded by url.c (curl 7.88 rejects the former, keeps the
   * latter raw); curl 7.88 leaves '`{}|^\' raw. */
  {B, "x\001y\177z", "http://example.com/a/b/x%01y%7Fz", 0},
  {B, "q\"<>`{}|^\\", "http://example.com/a/b/q%22%3C%3E`{}|^\\", 0},
  {B, "s?a=\"<x>\"", "http://example.com/a/b/s?a=%22%3Cx%3E%22", 0},

  /* IP literals. */
  {NULL, "http://[::1]/x", "http://[::1]/x", 0},
  {NULL, "http://[::1]:80/x", "http://[::1]/x", 0},
  {NULL, "http://[2001:DB8::1]:8080/", "http://[2001:db8::1]:8080/", 0},
  {NULL, "http://127.0.0.1:3000/x", "http://127.0.0.1:3000/x", 0},
  {NULL, "http://0x7f.1/", "http://127.0.0.1/", 0}, /* curl 7.88 normalizes IPv4 forms */
  {B, "//[::1]/y", "http://[::1]/y", 0},
  {NULL, "http://[FE80::1%25eth0]/x", "http://[fe80::1%25eth0]/x", 0}, /* zone id kept */

  /* Userinfo is kept. */
  {NULL, "http://user:pw@Example.com/", "http://user:pw@example.com/", 0},

  /* Schemes other than http and https. */
  {B, "mailto:x@y", NULL, UVCRAWL_ESCHEME},
  {B, "MAILTO:x@y", NULL, UVCRAWL_ESCHEME},
  {B, "javascript:void(0)", NULL, UVCRAWL_ESCHEME},
  {B, " javascript:alert(1) ", NULL, UVCRAWL_ESCHEME},
  {B, "ftp://ftp.example.com/f", NULL, UVCRAWL_ESCHEME},
  {B, "data:text/plain,hi", NULL, UVCRAWL_ESCHEME},
  {B, "tel:+15551234", NULL, UVCRAWL_ESCHEME},
  {NULL, "file:///etc/passwd", NULL, UVCRAWL_ESCHEME},
  {NULL, "ws://example.com/", NULL, UVCRAWL_ESCHEME},
  {"ftp://ftp.example.com/dir/", "f.txt", NULL, UVCRAWL_ESCHEME},

  /* Garbage. */
  {NULL, "http://", NULL, UVCRAWL_EURL},
  {NULL, "http://[::1", NULL, UVCRAWL_EURL},
  {NULL, "", NULL, UVCRAWL_EURL},
  {NULL, " \t\n", NULL, UVCRAWL_EURL},
  {NULL, "#frag", NULL, UVCRAWL_EURL},
  {NULL, "c.html", NULL, UVCRAWL_EURL},     /* relative without a base */
  {NULL, "/p/c.html", NULL, UVCRAWL_EURL},  /* relative without a base */
  {NULL, "example.com/x", NULL, UVCRAWL_EURL},
  {NULL, "http://example.com:99999/", NULL, UVCRAWL_EURL},
  {NULL, "http://exa mple.com/", NULL, UVCRAWL_EURL},
  {NULL, "http:////example.com/", NULL, UVCRAWL_EURL}, /* curl 7.88: bad slashes */
  {"not a url", "c.html", NULL, UVCRAWL_EURL},
  {B, "http:foo", NULL, UVCRAWL_EURL}, /* curl 7.88: bad slashes (a browser: same-scheme path) */
  {NULL, "http://exa\001mple.com/", NULL, UVCRAWL_EURL},
};

typedef struct {
  const char *url;
  const char *expect;
  int err;
} origin_row_t;

static const origin_row_t origin_rows[] = {
  {"http://example.com/x", "http://example.com:80", 0},
  {"https://example.com/x?y", "https://example.com:443", 0},
  {"http://example.com:8080/", "http://example.com:8080", 0},
  {"https://example.com:8443/a/b", "https://example.com:8443", 0},
  {"http://example.com:80/", "http://example.com:80", 0},
  {"HTTPS://WWW.Example.COM", "https://www.example.com:443", 0},
  {"http://[::1]:3000/x", "http://[::1]:3000", 0},
  {"http://[::1]/", "http://[::1]:80", 0},
  {"http://user:pw@example.com/", "http://example.com:80", 0},
  {"ftp://example.com/", NULL, UVCRAWL_ESCHEME},
  {"mailto:x@y", NULL, UVCRAWL_ESCHEME},
  {"/relative", NULL, UVCRAWL_EURL},
  {"", NULL, UVCRAWL_EURL},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void check_resolve(const resolve_row_t *row, size_t i) {
  char *out = (char *)"sentinel";
  int err = uvcrawl__url_resolve(row->base, row->ref, &out);
  if (err != row->err) {
    fprintf(stderr, "resolve row %zu: base=\"%s\" ref=\"%s\": got %d (%s), want %d\n", i,
            row->base ? row->base : "(null)", row->ref, err, out && err == 0 ? out : "-",
            row->err);
  }
  ASSERT_EQ(err, row->err);
  if (err == 0) {
    ASSERT_STR_EQ(out, row->expect);
    free(out);
  } else {
    ASSERT_NULL(out);
  }
  /* The same through a base parsed once (or, where it does not parse, no result at all). */
  uvcrawl__urlbase_t *b = NULL;
  if (row->base == NULL) return;
  int berr = uvcrawl__url_base_new(row->base, &b);
  if (berr != 0) {
    ASSERT_NULL(b);
    ASSERT_NE(row->err, 0);
    return;
  }
  out = (char *)"sentinel";
  ASSERT_EQ(uvcrawl__url_resolve_base(b, row->ref, &out), row->err);
  if (row->err == 0) {
    ASSERT_STR_EQ(out, row->expect);
    free(out);
  } else {
    ASSERT_NULL(out);
  }
  uvcrawl__url_base_free(b);
}

static void check_origin(const origin_row_t *row) {
  char *out = (char *)"sentinel";
  int err = uvcrawl__url_origin(row->url, &out);
  if (err != row->err)
    fprintf(stderr, "origin \"%s\": got %d, want %d\n", row->url, err, row->err);
  ASSERT_EQ(err, row->err);
  if (err == 0) {
    ASSERT_STR_EQ(out, row->expect);
    free(out);
  } else {
    ASSERT_NULL(out);
  }
}

/* Resolving a resolved URL must give it back unchanged: the frontier dedups on this string. */
static void check_idempotent(void) {
  size_t i;
  for (i = 0; i < COUNT(resolve_rows); i++) {
    char *again = NULL;
    if (resolve_rows[i].err != 0) continue;
    ASSERT_EQ(uvcrawl__url_resolve(NULL, resolve_rows[i].expect, &again), 0);
    ASSERT_STR_EQ(again, resolve_rows[i].expect);
    free(again);
  }
}

/* uvcrawl__url_has_origin() reads the normalized string; it must agree with the parsing
 * uvcrawl__url_origin() on every URL the resolver gives. */
static void check_has_origin(void) {
  static const char *const others[] = {"http://example.com:8080", "https://example.com:80",
                                       "http://example.co:80", "http://example.com:8",
                                       "http://other.host:80", "http://[::1]:80"};
  size_t i, j, checked = 0;
  for (i = 0; i < COUNT(resolve_rows); i++) {
    const char *url = resolve_rows[i].expect;
    char *origin = NULL;
    if (resolve_rows[i].err != 0) continue;
    ASSERT_EQ(uvcrawl__url_origin(url, &origin), 0);
    const char *one[] = {origin};
    ASSERT_EQ(uvcrawl__url_has_origin(url, one, 1), 1);
    ASSERT_EQ(uvcrawl__url_has_origin(url, NULL, 0), 1);
    for (j = 0; j < COUNT(others); j++) {
      const char *pair[] = {others[j], origin};
      ASSERT_EQ(uvcrawl__url_has_origin(url, pair, 2), 1);
      ASSERT_EQ(uvcrawl__url_has_origin(url, pair, 1), strcmp(origin, others[j]) == 0);
      ASSERT_EQ(uvcrawl__url_has_origin(url, pair, 1), uvcrawl__in_scope(url, pair, 1));
    }
    free(origin);
    checked++;
  }
  ASSERT_GT(checked, 50);
}

/* The pre-filters never decide differently from the resolver. */
static void check_prefilters(void) {
  static const char *const skipped[] = {"javascript:void(0)", " JavaScript:x", "mailto:a@b",
                                        "\t\nMAILTO:", "data:text/html,<a>", "tel:+1",
                                        "data:", "javascript:#x"};
  static const char *const not_skipped[] = {"java\nscript:x", "javascriptx:y", "mailto",
                                            "./mailto:x", "tel", "http://x/", "datax:1"};
  static const char *const self[] = {"", "#", "#top", "  #x", "\t#", " ", "#%41", "\n"};
  static const char *const not_self[] = {"?", "x#", "./#", "%23", "a", " a#"};
  char *want = NULL, *got = NULL;
  size_t i;
  for (i = 0; i < COUNT(skipped); i++) {
    ASSERT_EQ(uvcrawl__url_surely_skipped(skipped[i]), 1);
    ASSERT_NE(uvcrawl__url_resolve(B, skipped[i], &got), 0);
    ASSERT_NULL(got);
  }
  for (i = 0; i < COUNT(not_skipped); i++)
    ASSERT_EQ(uvcrawl__url_surely_skipped(not_skipped[i]), 0);
  for (i = 0; i < COUNT(resolve_rows); i++)
    if (uvcrawl__url_surely_skipped(resolve_rows[i].ref)) ASSERT_NE(resolve_rows[i].err, 0);
  ASSERT_EQ(uvcrawl__url_resolve(B "?k=v", "", &want), 0);
  for (i = 0; i < COUNT(self); i++) {
    ASSERT_EQ(uvcrawl__url_is_self(self[i]), 1);
    ASSERT_EQ(uvcrawl__url_resolve(B "?k=v", self[i], &got), 0);
    ASSERT_STR_EQ(got, want);
    free(got);
  }
  free(want);
  for (i = 0; i < COUNT(not_self); i++) ASSERT_EQ(uvcrawl__url_is_self(not_self[i]), 0);
}

/* ---- uvcrawl__job_resolve_links(): the fast path against the plain one --------------------- */

/* Runs both paths on refs (and base) and requires: the fast path's links[] and foreign[] are
 * the plain path's with repeats removed, first occurrences in document order; same ngiven.
 * Returns how many links the fast path kept. */
/* first[i] = 1 when s[i] is the first occurrence of its string in s[0..n) (sorted indices, so
 * pages with many links stay cheap under the sanitizers). */
static char *const *sort_base;

static int cmp_idx(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  int c = strcmp(sort_base[x], sort_base[y]);
  return c != 0 ? c : (x < y ? -1 : x > y);
}

static unsigned char *first_occurrences(char *const *s, size_t n) {
  size_t *idx = malloc((n ? n : 1) * sizeof(*idx));
  unsigned char *first = calloc(n ? n : 1, 1);
  ASSERT_NOT_NULL(idx);
  ASSERT_NOT_NULL(first);
  for (size_t i = 0; i < n; i++) idx[i] = i;
  sort_base = s;
  qsort(idx, n, sizeof(*idx), cmp_idx);
  for (size_t i = 0; i < n; i++)
    first[idx[i]] = i == 0 || strcmp(s[idx[i - 1]], s[idx[i]]) != 0;
  free(idx);
  return first;
}

/* One cache for every page of the test, as a pool slot keeps one for the whole crawl. */
static uvcrawl__urlcache_t *cache;

static size_t compare_paths(const char *page, const uvcrawl__links_t *found,
                            const char *const *origins, size_t norigins, int keep_foreign) {
  uvcrawl__job_t plain, fast;
  memset(&plain, 0, sizeof(plain));
  plain.url = page;
  plain.origins = origins;
  plain.norigins = norigins;
  plain.keep_foreign = keep_foreign;
  fast = plain;
  fast.url_cache = cache;
  ASSERT_EQ(uvcrawl__job_resolve_links(&plain, found, 0), 0);
  ASSERT_EQ(uvcrawl__job_resolve_links(&fast, found, 1), 0);
  ASSERT_EQ(fast.ngiven, plain.ngiven);
  ASSERT_EQ(plain.ngiven, plain.nlinks + plain.nforeign);
  for (int list = 0; list < 2; list++) {
    char **p = list ? plain.foreign : plain.links, **f = list ? fast.foreign : fast.links;
    size_t np = list ? plain.nforeign : plain.nlinks, nf = list ? fast.nforeign : fast.nlinks;
    size_t k = 0;
    unsigned char *first = first_occurrences(p, np);
    for (size_t i = 0; i < np; i++) {
      if (!first[i]) continue; /* a repeat */
      if (k >= nf) FAIL("%s: fast path lacks \"%s\"", page, p[i]);
      if (strcmp(f[k], p[i]) != 0)
        FAIL("%s: link %zu: fast \"%s\", plain \"%s\"", page, k, f[k], p[i]);
      k++;
    }
    if (k != nf) FAIL("%s: fast path has extra \"%s\"", page, f[k]);
    free(first);
  }
  size_t kept = fast.nlinks + fast.nforeign;
  uvcrawl__job_cleanup(&plain);
  uvcrawl__job_cleanup(&fast);
  return kept;
}

static void check_paths_one_page(const char *page, const uvcrawl__links_t *found) {
  static const char *const one[] = {"http://example.com:80"};
  static const char *const two[] = {"https://example.com:443", "http://other.host:80"};
  compare_paths(page, found, NULL, 0, 0);
  compare_paths(page, found, one, 1, 0);
  compare_paths(page, found, one, 1, 1);
  compare_paths(page, found, two, 2, 0);
  compare_paths(page, found, two, 2, 1);
}

/* The same refs on pages of one directory (the cache answers: same links?), of others, with a
 * query, at the root, over https. */
static void check_paths_all_scopes(const char *page, const uvcrawl__links_t *found) {
  static const char *const pages[] = {"http://example.com/a/b/d.html", "http://example.com/a/b/",
                                      "http://example.com/a/b/c.html?q=/x/y",
                                      "http://example.com/a/", "http://example.com/",
                                      "https://example.com/a/b/c.html", "http://other.host/a/b/"};
  check_paths_one_page(page, found);
  for (size_t i = 0; i < COUNT(pages); i++) check_paths_one_page(pages[i], found);
  check_paths_one_page(page, found);
}

/* More distinct refs than the cache holds: it starts over, and stays right. */
static void check_cache_overflow(void) {
  enum { N = 12000 };
  char **refs = malloc(N * sizeof(*refs));
  uint64_t hits0, misses0, hits, misses;
  uvcrawl__links_t found;
  ASSERT_NOT_NULL(refs);
  for (size_t i = 0; i < N; i++) {
    refs[i] = malloc(32);
    ASSERT_NOT_NULL(refs[i]);
    snprintf(refs[i], 32, i % 3 ? "p%zu.html#x" : "../q%zu", i / 2);
  }
  memset(&found, 0, sizeof(found));
  found.refs = refs;
  found.n = N;
  uvcrawl__urlcache_counts(cache, &hits0, &misses0);
  compare_paths(B, &found, NULL, 0, 0);
  uvcrawl__urlcache_counts(cache, &hits, &misses);
  ASSERT_GT(misses - misses0, 8192); /* more than the cache keeps */
  found.refs = refs + N - 100;       /* what the cache still holds, from another page */
  found.n = 100;
  compare_paths("http://example.com/a/b/other.html", &found, NULL, 0, 0);
  uvcrawl__urlcache_counts(cache, &hits0, &misses0);
  ASSERT_GE(hits0 - hits, 60); /* 67 distinct keys among the 100 */
  ASSERT_EQ(misses0, misses);
  for (size_t i = 0; i < N; i++) free(refs[i]);
  free(refs);
}

/* A base parsed once (refs joined to it as text where curl would only join them) gives what
 * uvcrawl__url_resolve gives, for every pair. */
static void check_base_cross(void) {
  static const char *const bases[] = {
    "http://h", "http://h/", "http://h/a/b.html", "http://u:p@h:81/a/b/", "http://[::1]/a/",
    "http://h/a//b", "https://Example.COM/A/b", "http://h/a/b?q=/x/y", "http://h/%7ex/y",
    "http://h/a/b#f", "http://h:80/x", "http://h/a/./b/../c", "HTTP://h/a b/c",
  };
  static const char *const refs[] = {
    "a", "a.html", "a@b", "x;y=1", "a?b/c", "/", "/?q", "~u/", "a#b%zz", "(x)", "/p/1.html",
    "/a/../b", "a/./b/../c", "a//b", "/a//b", "$&'*+,=!", "a?", "a#", "/#x", "-", "_x",
    "a:b", "./a", "../a", "//h2/a", "?q", "#f", "a%41", "a b", "a\\b", "\xc3\xa9", "A.HTML",
  };
  for (size_t i = 0; i < COUNT(bases); i++) {
    uvcrawl__urlbase_t *b = NULL;
    int berr = uvcrawl__url_base_new(bases[i], &b);
    for (size_t k = 0; k < COUNT(refs); k++) {
      char *want = NULL, *got = NULL;
      int werr = uvcrawl__url_resolve(bases[i], refs[k], &want);
      if (berr != 0) {
        ASSERT_NE(werr, 0);
        continue;
      }
      int gerr = uvcrawl__url_resolve_base(b, refs[k], &got);
      if (gerr != werr || (werr == 0 && strcmp(got, want) != 0))
        FAIL("base \"%s\" ref \"%s\": %d \"%s\" against %d \"%s\"", bases[i], refs[k], gerr,
             got ? got : "", werr, want ? want : "");
      free(want);
      free(got);
    }
    uvcrawl__url_base_free(b);
  }
}

/* Absolute refs resolve without the base, and their results are shared by every directory. */
static void check_absolute_refs(void) {
  static char *refs[] = {
    "http://example.com/x", "HTTP://Example.COM/y#f", "  https://example.com/z", "https://o.host/",
    "http://example.com:80/%7ex", "Http://example.com/a/../b", "a1+.-b://host/p", "x:/y",
    "ht\ttp://example.com/t", "//example.com/pr", "http:rel", "1http://example.com/",
    "abcdefghijklmnopqrstuvwxyzabc://example.com/", "abcdefghijklmnopqrstuvwxyzabcd://x/",
  };
  uvcrawl__links_t found;
  uint64_t hits0, misses0, hits, misses;
  memset(&found, 0, sizeof(found));
  found.refs = refs;
  found.n = COUNT(refs);
  compare_paths("http://example.com/one/a.html", &found, NULL, 0, 1);
  uvcrawl__urlcache_counts(cache, &hits0, &misses0);
  compare_paths("http://example.com/two/three/b.html", &found, NULL, 0, 1);
  uvcrawl__urlcache_counts(cache, &hits, &misses);
  /* The first 7 (scheme, then "://") and the 29-letter scheme: answered from the cache. */
  ASSERT_GE(hits - hits0, 8);
  check_paths_all_scopes(B, &found);
}

static void check_resolve_paths(void) {
  static char *refs[] = {
    "a.html", "./a.html", "a.html", "a.html#x", "#", "#top", "", "  #x", "#%41", "#top",
    "javascript:void(0)", " MAILTO:x@y", "java\nscript:x", "data:,x", "tel:1", "mailto:x@y",
    "http://other.host/x", "http://other.host/x", "//other.host/x#f", "https://example.com/s",
    "%7efoo", "%7Efoo", "/a/b/c.html", "c.html", "?q=1", "?q=1", "http://[::1]/v6",
    "http://u:p@example.com/auth", "http://u:p@example.com/auth", "http://%41.example.com/",
    "ftp://example.com/f", "http://", "b/../a.html", "A.HTML", "http://EXAMPLE.com/a/b/a.html",
    /* One key per text before '#' (the '#' ending the whitespace strip) and '%' after it. */
    "a.html #x", "a.html ", "a.html #y", "d.html#%zz", "d.html#y", "d.html#%41", " #%zz",
  };
  uvcrawl__links_t found;
  memset(&found, 0, sizeof(found));
  found.refs = refs;
  found.n = COUNT(refs);
  check_paths_all_scopes(B, &found);
  /* Kept once each: a.html, c.html (the page, also for every "#..." and ""), other.host/x,
   * https://example.com/s, %7Efoo, c.html?q=1, [::1]/v6, u:p@.../auth, a.example.com/,
   * A.HTML, a.html%20, d.html: 12; the plain path keeps every repeat. */
  ASSERT_EQ(compare_paths(B, &found, NULL, 0, 0), 12);
  char base[] = "http://Other.Host/dir/";
  found.base = base; /* links resolve against it, and "#x" is the base itself */
  check_paths_all_scopes(B, &found);
  found.base = NULL;
  found.n = 0;
  check_paths_all_scopes(B, &found);
}

static char *slurp(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  ASSERT_NOT_NULL(fp);
  ASSERT_EQ(fseek(fp, 0, SEEK_END), 0);
  long n = ftell(fp);
  ASSERT_GE(n, 0);
  ASSERT_EQ(fseek(fp, 0, SEEK_SET), 0);
  char *buf = malloc((size_t)n + 1);
  ASSERT_NOT_NULL(buf);
  ASSERT_EQ(fread(buf, 1, (size_t)n, fp), (size_t)n);
  fclose(fp);
  *len = (size_t)n;
  return buf;
}

/* Every extractor fixture, through both paths. */
static size_t check_fixture_paths(void) {
  DIR *d = opendir(FIXTURES);
  struct dirent *de;
  size_t pages = 0;
  ASSERT_NOT_NULL(d);
  while ((de = readdir(d)) != NULL) {
    size_t nl = strlen(de->d_name), len;
    if (nl < 5 || strcmp(de->d_name + nl - 5, ".html") != 0) continue;
    char path[4096];
    ASSERT_LE(snprintf(path, sizeof(path), "%s/%s", FIXTURES, de->d_name), sizeof(path) - 1);
    char *html = slurp(path, &len);
    uvcrawl__links_t found;
    memset(&found, 0, sizeof(found));
    ASSERT_EQ(uvcrawl__extract_links(html, len, 0, &found), 0);
    check_paths_all_scopes(B, &found);
    uvcrawl__links_free(&found);
    free(html);
    pages++;
  }
  closedir(d);
  ASSERT_GT(pages, 5);
  return pages;
}

int main(void) {
  size_t i;
  for (i = 0; i < COUNT(resolve_rows); i++) check_resolve(&resolve_rows[i], i);
  for (i = 0; i < COUNT(origin_rows); i++) check_origin(&origin_rows[i]);
  check_idempotent();
  check_has_origin();
  check_prefilters();
  cache = uvcrawl__urlcache_new();
  ASSERT_NOT_NULL(cache);
  check_resolve_paths();
  check_absolute_refs();
  check_base_cross();
  size_t pages = check_fixture_paths();
  check_cache_overflow();
  uint64_t hits, misses;
  uvcrawl__urlcache_counts(cache, &hits, &misses);
  ASSERT_GT(hits, 100); /* the cache was used */
  uvcrawl__urlcache_free(cache);
  printf("test-url: %zu resolve rows, %zu origin rows, idempotence, scope from the string, "
         "pre-filters, fast (with a cache: %" PRIu64 " hits, %" PRIu64 " misses) against plain "
         "resolution on %zu fixtures: all passed\n",
         COUNT(resolve_rows), COUNT(origin_rows), hits, misses, pages);
  return 0;
}
