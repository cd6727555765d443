/* Tests for src/extract.c and src/htmlscan.c: each tests/fixtures/NAME.html goes through both
 * parsers. gumbo's refs must be NAME.links exactly (one per line, in tree order; an optional
 * first line "base: VALUE" gives the expected <base href>); the fast scanner's must be the same
 * set with the same base (gumbo's tree may repeat a link: formatting elements are cloned), or,
 * for the fixtures that say so, it must bail out, and the default path (fast, then gumbo) gives
 * the same set again. Then a few generated documents: deep nesting, the max_links cap, a buffer
 * without a NUL, empty input. */
#include "htmlscan.h"
#include "task.h"
#include "extract.h"
#include "uvcrawl.h"

#ifndef FIXTURES
#error "FIXTURES must be defined to the fixtures directory"
#endif

typedef struct {
  const char *name;
  size_t max_links;
  int bail; /* the reason the fast scanner must bail out with, or 0 */
} fixture_t;

static const fixture_t fixtures[] = {
  {"basic", 0, 0},           /* every tag kind that carries a link, srcset too */
  {"base", 0, 0},            /* first <base href> wins, trimmed, not a ref */
  {"base-empty", 0, 0},      /* an empty first <base href> still decides */
  {"base-foreign", 0, 0},    /* <base> in svg, math or template does not count */
  {"comments-script", 0, 0}, /* comments, script/title/textarea text are not links; style
                              * text gives its CSS url()s only */
  {"requisites", 0, 0},      /* media, object, input image, meta refresh, link rels: kinds */
  {"css-inline", 0, 0},      /* <style> and style="" CSS, with kinds */
  {"style-tags", 0, 0},      /* style="" where tree building drops or merges the tag */
  {"style-quirk", 0, UVCRAWL__HTMLSCAN_ATTRS}, /* a valueless attribute before style="" */
  {"malformed", 0, 0},       /* unclosed tags, unquoted/mixed-case attrs, stray '<', EOF in tag */
  {"entities", 0, 0},        /* character references in attribute values */
  {"charrefs", 0, 0},        /* the legacy no-semicolon rule, numeric edge cases */
  {"charref-overflow", 0, 0}, /* numeric references past 32 bits in text: no end of input */
  {"charref-overflow-attr", 0, 0}, /* ... in values: U+FFFD on both paths */
  {"whitespace", 0, 0},      /* trimming, empty values skipped */
  {"non-utf8", 0, 0},        /* invalid UTF-8 becomes U+FFFD */
  {"maxlinks", 3, UVCRAWL__HTMLSCAN_CAP}, /* the cap (gumbo's order decides); a late <base> */
  {"attributes", 0, 0},      /* every quoting form, '/', '=' and quotes in odd places */
  {"rawtext", 0, 0},         /* RCDATA (title, textarea), RAWTEXT (style, xmp, iframe, noembed,
                                noframes), end tags with attributes */
  {"script-states", 0, 0},   /* script data, escaped and double-escaped states */
  {"comments", 0, 0},        /* abrupt comments, --!>, bogus comments, DOCTYPE, CDATA in HTML */
  {"plaintext", 0, 0},       /* nothing after <plaintext> */
  {"foreign", 0, 0},         /* svg/math: no raw text, xlink:href, CDATA, breakout tags */
  {"noscript", 0, 0},        /* scripting off: noscript content is markup */
  {"template", 0, 0},        /* template contents give links but no base */
  {"srcset", 0, 0},          /* every candidate URL of img/source srcset */
  {"select", 0, 0},          /* tree building drops most start tags in a select */
  {"select-table", 0, UVCRAWL__HTMLSCAN_SELECT}, /* a table part may close a select in a table */
  {"frameset", 0, UVCRAWL__HTMLSCAN_FRAMESET}, /* a frameset can drop the body */
};

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted distinct strings of v[0..n) in a malloc'd array of borrowed pointers. */
static const char **distinct(char *const *v, size_t n, size_t *out_n) {
  const char **d = malloc((n + 1) * sizeof(*d));
  size_t i, k = 0;
  ASSERT_NOT_NULL(d);
  memcpy(d, v, n * sizeof(*d));
  qsort(d, n, sizeof(*d), cmp_str);
  for (i = 0; i < n; i++)
    if (k == 0 || strcmp(d[k - 1], d[i]) != 0) d[k++] = d[i];
  *out_n = k;
  return d;
}

/* "K ref" for each ref: the kind is part of what must agree. Malloc'd, freed by the caller. */
static char **with_kinds(const uvcrawl__links_t *l) {
  char **v = calloc(l->n + 1, sizeof(*v));
  ASSERT_NOT_NULL(v);
  for (size_t i = 0; i < l->n; i++) {
    size_t n = strlen(l->refs[i]) + 3;
    v[i] = malloc(n);
    ASSERT_NOT_NULL(v[i]);
    snprintf(v[i], n, "%c %s", l->kinds[i] == UVCRAWL__REF_REQUISITE ? 'R' : 'L', l->refs[i]);
  }
  return v;
}

static void free_strings(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

/* got must have the same distinct refs (with their kinds) as want and the same base. */
static void check_same_set(const char *name, const char *what, const uvcrawl__links_t *got,
                           const uvcrawl__links_t *want) {
  size_t ng, nw, i;
  char **gk = with_kinds(got), **wk = with_kinds(want);
  const char **g = distinct(gk, got->n, &ng), **w = distinct(wk, want->n, &nw);
  for (i = 0; i < ng && i < nw; i++)
    if (strcmp(g[i], w[i]) != 0) FAIL("%s (%s): \"%s\" against \"%s\"", name, what, g[i], w[i]);
  if (ng != nw) FAIL("%s (%s): %zu distinct refs, want %zu", name, what, ng, nw);
  if ((got->base == NULL) != (want->base == NULL) ||
      (got->base != NULL && strcmp(got->base, want->base) != 0))
    FAIL("%s (%s): base \"%s\", want \"%s\"", name, what, got->base ? got->base : "(none)",
         want->base ? want->base : "(none)");
  free(g);
  free(w);
  free_strings(gk, got->n);
  free_strings(wk, want->n);
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Reads a whole file into a malloc'd, NUL-terminated buffer the caller frees. */
static char *read_file(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  char *buf = NULL;
  size_t cap = 0, n = 0;

  if (fp == NULL) FAIL("cannot open %s", path);
  for (;;) {
    size_t got;
    if (cap - n < 4096) {
      cap = cap ? cap * 2 : 8192;
      buf = realloc(buf, cap + 1);
      ASSERT_NOT_NULL(buf);
    }
    got = fread(buf + n, 1, cap - n, fp);
    n += got;
    if (got == 0) break;
  }
  ASSERT(!ferror(fp));
  fclose(fp);
  buf[n] = '\0';
  *len = n;
  return buf;
}

static char *fixture_path(const char *name, const char *ext) {
  size_t len = strlen(FIXTURES) + 1 + strlen(name) + strlen(ext) + 1;
  char *p = malloc(len);
  ASSERT_NOT_NULL(p);
  snprintf(p, len, "%s/%s%s", FIXTURES, name, ext);
  return p;
}

static void check_fixture(const fixture_t *fx) {
  char *html_path = fixture_path(fx->name, ".html");
  char *links_path = fixture_path(fx->name, ".links");
  size_t html_len, exp_len, i = 0;
  char *html = read_file(html_path, &html_len);
  char *expected = read_file(links_path, &exp_len);
  char *line = expected;
  uvcrawl__links_t links, fast, dflt;
  int reason, r;

  memset(&links, 0, sizeof(links));
  memset(&fast, 0, sizeof(fast));
  memset(&dflt, 0, sizeof(dflt));
  ASSERT_EQ(uvcrawl__extract_links_gumbo(html, html_len, fx->max_links, &links), 0);

  if (strncmp(line, "base: ", 6) == 0) {
    char *nl = strchr(line, '\n');
    ASSERT_NOT_NULL(nl);
    *nl = '\0';
    ASSERT_STR_EQ(links.base, line + 6);
    line = nl + 1;
  } else if (links.base != NULL) {
    FAIL("%s: unexpected base \"%s\"", fx->name, links.base);
  }

  /* "kinds" first: each line is "L ref" (a link) or "R ref" (a requisite). */
  int kinds = strncmp(line, "kinds\n", 6) == 0;
  if (kinds) line += 6;
  while (*line != '\0') {
    char *nl = strchr(line, '\n');
    ASSERT_NOT_NULL(nl); /* every expected line ends with a newline */
    *nl = '\0';
    if (kinds) {
      if (i < links.n && links.kinds[i] != (line[0] == 'R' ? UVCRAWL__REF_REQUISITE : UVCRAWL__REF_LINK))
        FAIL("%s: ref %zu \"%s\": kind %d, want %c", fx->name, i, line + 2, links.kinds[i], line[0]);
      line += 2;
    }
    if (i >= links.n) FAIL("%s: missing ref %zu \"%s\"", fx->name, i, line);
    if (strcmp(links.refs[i], line) != 0)
      FAIL("%s: ref %zu: got \"%s\", want \"%s\"", fx->name, i, links.refs[i], line);
    i++;
    line = nl + 1;
  }
  if (i != links.n) FAIL("%s: extra ref %zu \"%s\"", fx->name, i, links.refs[i]);
  if (fx->max_links != 0) ASSERT_LE(links.n, fx->max_links);

  /* The fast scanner: the same links, or the bail-out this fixture is about. */
  r = uvcrawl__htmlscan(html, html_len, fx->max_links, &fast, &reason);
  if (fx->bail) {
    if (r != UVCRAWL__HTMLSCAN_BAIL || reason != fx->bail)
      FAIL("%s: the fast path returned %d (%s), want a bail-out (%s)", fx->name, r,
           uvcrawl__htmlscan_reason_text(reason), uvcrawl__htmlscan_reason_text(fx->bail));
    ASSERT_EQ(fast.n, 0);
    ASSERT_NULL(fast.refs);
  } else {
    if (r != 0) FAIL("%s: the fast path bailed out: %s", fx->name, uvcrawl__htmlscan_reason_text(reason));
    check_same_set(fx->name, "fast", &fast, &links);
  }
  /* The default path: fast, gumbo where it bails out. */
  ASSERT_EQ(uvcrawl__extract_links(html, html_len, fx->max_links, &dflt), 0);
  check_same_set(fx->name, "default", &dflt, &links);

  uvcrawl__links_free(&dflt);
  uvcrawl__links_free(&fast);
  uvcrawl__links_free(&links);
  ASSERT_NULL(links.refs);
  ASSERT_NULL(links.base);
  ASSERT_EQ(links.n, 0);
  ASSERT_EQ(links.cap, 0);
  free(html);
  free(expected);
  free(html_path);
  free(links_path);
}

/* Builds head + depth * "<TAG>" + leaf + depth * "</TAG>" + tail into a malloc'd buffer. */
static char *nested_doc(const char *tag, size_t depth, size_t *len_out) {
  const char head[] = "<html><body><a href=\"top.html\"></a>";
  const char leaf[] = "<a href=\"deep.html\">deep</a>";
  const char tail[] = "<a href=\"after.html\"></a></body></html>";
  char open[32], close[32];
  size_t lo, lc, len, i;
  char *html, *p;

  lo = (size_t)snprintf(open, sizeof(open), "<%s>", tag);
  lc = (size_t)snprintf(close, sizeof(close), "</%s>", tag);
  ASSERT_LE(lc, sizeof(close) - 1);
  len = strlen(head) + depth * (lo + lc) + strlen(leaf) + strlen(tail);
  html = p = malloc(len + 1);
  ASSERT_NOT_NULL(html);
  memcpy(p, head, strlen(head));
  p += strlen(head);
  for (i = 0; i < depth; i++, p += lo) memcpy(p, open, lo);
  memcpy(p, leaf, strlen(leaf));
  p += strlen(leaf);
  for (i = 0; i < depth; i++, p += lc) memcpy(p, close, lc);
  memcpy(p, tail, strlen(tail));
  p += strlen(tail);
  ASSERT_EQ(p - html, len);
  *len_out = len;
  return html;
}

typedef struct {
  const char *tag;
  size_t depth;
} deep_case_t;

static void deep_thread(void *arg) {
  const deep_case_t *dc = arg;
  uvcrawl__links_t links;
  size_t len;
  char *html = nested_doc(dc->tag, dc->depth, &len);

  int pass;

  /* Both parsers: gumbo's tree, and the scanner that keeps no tree. */
  for (pass = 0; pass < 2; pass++) {
    memset(&links, 0, sizeof(links));
    if (pass == 0) ASSERT_EQ(uvcrawl__extract_links_gumbo(html, len, 0, &links), 0);
    else ASSERT_EQ(uvcrawl__htmlscan(html, len, 0, &links, NULL), 0);
    ASSERT_EQ(links.n, 3);
    ASSERT_STR_EQ(links.refs[0], "top.html");
    ASSERT_STR_EQ(links.refs[1], "deep.html");
    ASSERT_STR_EQ(links.refs[2], "after.html");
    uvcrawl__links_free(&links);
  }
  free(html);
}

/* Deeply nested documents, parsed on a thread with a 256 KiB stack: neither the walk nor the
 * teardown of gumbo's tree may recurse per level (gumbo_destroy_output() does, and would need
 * tens of MiB here). 100,000 levels use <span>: each <div> start tag makes gumbo 0.10.1 scan
 * the whole stack of open elements (the "p in button scope" check), so 100,000 nested <div>s
 * take ~40 s of CPU; a shallower <div> case covers that tag. */
static void check_deep(void) {
  static const deep_case_t cases[] = {{"span", 100000}, {"div", 5000}};
  uv_thread_options_t opts;
  size_t i;

  opts.flags = UV_THREAD_HAS_STACK_SIZE;
  opts.stack_size = 256 * 1024;
  for (i = 0; i < COUNT(cases); i++) {
    uv_thread_t tid;
    ASSERT_EQ(uv_thread_create_ex(&tid, &opts, deep_thread, (void *)&cases[i]), 0);
    ASSERT_EQ(uv_thread_join(&tid), 0);
  }
}

/* Many links: the array grows by doubling past its first allocation; the cap cuts exactly. */
static void check_many(void) {
  const size_t total = 5000;
  const size_t caps[] = {0, 1, 16, 17, 4999, 5000, 5001};
  size_t len = 0, i, c, cap = total * 32 + 64;
  char *html = malloc(cap);
  uvcrawl__links_t links;

  ASSERT_NOT_NULL(html);
  for (i = 0; i < total; i++) {
    int w = snprintf(html + len, cap - len, "<a href=\"/p/%zu\">%zu</a>\n", i, i);
    ASSERT_GT(w, 0);
    ASSERT_LE((size_t)w, cap - len - 1);
    len += (size_t)w;
  }
  for (c = 0; c < COUNT(caps); c++) {
    size_t want = caps[c] == 0 || caps[c] > total ? total : caps[c];
    memset(&links, 0, sizeof(links));
    ASSERT_EQ(uvcrawl__extract_links(html, len, caps[c], &links), 0);
    ASSERT_EQ(links.n, want);
    ASSERT_LE(links.n, links.cap);
    for (i = 0; i < links.n; i++) {
      char buf[32];
      snprintf(buf, sizeof(buf), "/p/%zu", i);
      ASSERT_STR_EQ(links.refs[i], buf);
    }
    uvcrawl__links_free(&links);
  }
  free(html);
}

/* The buffer is length-delimited: bytes past len must not be read, no NUL is needed. */
static void check_length_bounded(void) {
  static const char buf[] = {'<', 'a', ' ', 'h', 'r', 'e', 'f', '=', 'x', '>', '<', 'a', ' ',
                             'h', 'r', 'e', 'f', '=', 'y', '>'}; /* not NUL-terminated */
  uvcrawl__links_t links;

  memset(&links, 0, sizeof(links));
  ASSERT_EQ(uvcrawl__extract_links(buf, 10, 0, &links), 0);
  ASSERT_EQ(links.n, 1);
  ASSERT_STR_EQ(links.refs[0], "x");
  uvcrawl__links_free(&links);

  ASSERT_EQ(uvcrawl__extract_links(buf, sizeof(buf), 0, &links), 0);
  ASSERT_EQ(links.n, 2);
  ASSERT_STR_EQ(links.refs[1], "y");
  uvcrawl__links_free(&links);
}

static void check_empty(void) {
  uvcrawl__links_t links;
  memset(&links, 0, sizeof(links));
  ASSERT_EQ(uvcrawl__extract_links("", 0, 0, &links), 0);
  ASSERT_EQ(links.n, 0);
  ASSERT_NULL(links.base);
  uvcrawl__links_free(&links);
  ASSERT_EQ(uvcrawl__extract_links("just text, no markup", 20, 0, &links), 0);
  ASSERT_EQ(links.n, 0);
  uvcrawl__links_free(&links);
  uvcrawl__links_free(&links); /* freeing a zeroed struct is harmless */
}

int main(void) {
  size_t i;
  for (i = 0; i < COUNT(fixtures); i++) check_fixture(&fixtures[i]);
  check_deep();
  check_many();
  check_length_bounded();
  check_empty();
  printf("test-extract: %zu fixtures, deep nesting, caps, bounds, empty: all passed\n",
         COUNT(fixtures));
  return 0;
}
