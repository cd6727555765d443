/* Tests for src/htmlscan.c beyond the fixtures (test-extract.c runs those through both parsers):
 * srcset splitting, every bail-out reason, and every html5lib tree-construction #data input
 * through both parsers (the same resolved links and base unless the scanner bails out; the
 * corpus is skipped where ../shared/html5lib-tests is absent). test_html5lib.py runs the
 * html5lib tokenizer cases through the scanner's token stream. */
#include "linkdiff.h"
#include "task.h"

#include <dirent.h>

#ifndef FIXTURES
#error "FIXTURES must be defined to the fixtures directory"
#endif

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void check_srcset(void) {
  static const struct {
    const char *in;
    const char *want; /* URLs joined by '|' */
  } cases[] = {
      {"a.png", "a.png"},
      {"a.png 1x, b.png 2x", "a.png|b.png"},
      {"  a.png   320w ,b.png", "a.png|b.png"},
      {"a,b.png 1x", "a,b.png"},          /* a comma inside the URL stays */
      {"a.png, b.png", "a.png|b.png"},    /* a URL's trailing comma ends the candidate */
      {",,a.png,,", "a.png"},
      {"a.png (1x, 2x), b.png", "a.png|b.png"}, /* commas in parentheses do not split */
      {"data:image/png;base64,AA== 1x", "data:image/png;base64,AA=="},
      {"", ""},
      {" , ", ""},
  };
  size_t i;
  for (i = 0; i < COUNT(cases); i++) {
    char got[256];
    size_t pos = 0, len = strlen(cases[i].in), ulen, n = 0;
    const char *url;
    got[0] = '\0';
    while (uvcrawl__srcset_next(cases[i].in, len, &pos, &url, &ulen)) {
      ASSERT_LE(n + ulen + 2, sizeof(got));
      if (n) got[n++] = '|';
      memcpy(got + n, url, ulen);
      n += ulen;
      got[n] = '\0';
    }
    if (strcmp(got, cases[i].want) != 0)
      FAIL("srcset \"%s\": got \"%s\", want \"%s\"", cases[i].in, got, cases[i].want);
  }
}

static void check_bailouts(void) {
  static const struct {
    const char *html;
    int reason;
  } cases[] = {
      {"<a href=x></a>", UVCRAWL__HTMLSCAN_NONE},
      {"<select><option><a href=x>", UVCRAWL__HTMLSCAN_NONE}, /* dropped, as gumbo does */
      {"<table><tr><td><select><td><a href=x>", UVCRAWL__HTMLSCAN_SELECT},
      {"<template><select><a href=x>", UVCRAWL__HTMLSCAN_SELECT},
      {"<frameset><frame src=x>", UVCRAWL__HTMLSCAN_FRAMESET},
      {"<template><tr><td><a href=x>", UVCRAWL__HTMLSCAN_TEMPLATE_TABLE},
      {"<table><tr><td><base href=/x/>", UVCRAWL__HTMLSCAN_BASE_TABLE},
      {"<div><svg><g></div><a href=x>", UVCRAWL__HTMLSCAN_FOREIGN_END},
      {"<svg><foreignObject><a href=x>", UVCRAWL__HTMLSCAN_INTEGRATION},
      {"<math><mi><a href=x>", UVCRAWL__HTMLSCAN_INTEGRATION},
      {"<math><annotation-xml encoding=text/html><a href=x>", UVCRAWL__HTMLSCAN_ANNOTATION},
      {"<a x x href=y>", UVCRAWL__HTMLSCAN_ATTRS},
      {"<a href='&#99999999999;'>", UVCRAWL__HTMLSCAN_NONE}, /* U+FFFD, as gumbo is given it */
      {"<a href=1><a href=2>", UVCRAWL__HTMLSCAN_CAP}, /* with max_links 1 below */
  };
  size_t i;
  for (i = 0; i < COUNT(cases); i++) {
    uvcrawl__links_t links;
    int reason = -1, r;
    memset(&links, 0, sizeof(links));
    r = uvcrawl__htmlscan(cases[i].html, strlen(cases[i].html),
                          cases[i].reason == UVCRAWL__HTMLSCAN_CAP ? 1 : 0, &links, &reason);
    if (reason != cases[i].reason || r != (cases[i].reason ? UVCRAWL__HTMLSCAN_BAIL : 0))
      FAIL("%s: returned %d, reason \"%s\", want \"%s\"", cases[i].html, r,
           uvcrawl__htmlscan_reason_text(reason), uvcrawl__htmlscan_reason_text(cases[i].reason));
    if (r != 0) ASSERT_NULL(links.refs);
    uvcrawl__links_free(&links);
  }
  /* Deep svg nesting is bounded: the scanner keeps at most 64 foreign elements. */
  {
    char html[5 + 64 * 3 + 1];
    size_t n = 5, k;
    uvcrawl__links_t links;
    int reason;
    memcpy(html, "<svg>", 5);
    for (k = 0; k < 64; k++, n += 3) memcpy(html + n, "<g>", 3);
    memset(&links, 0, sizeof(links));
    ASSERT_EQ(uvcrawl__htmlscan(html, n, 0, &links, &reason), UVCRAWL__HTMLSCAN_BAIL);
    ASSERT_EQ(reason, UVCRAWL__HTMLSCAN_FOREIGN_DEPTH);
  }
}

/* Reads a whole file into a malloc'd, NUL-terminated buffer, or NULL. */
static char *slurp(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  char *buf = NULL;
  size_t cap = 0, n = 0, got;
  if (fp == NULL) return NULL;
  do {
    if (cap - n < 65536) {
      cap = cap ? cap * 2 : 65536;
      buf = realloc(buf, cap + 1);
      ASSERT_NOT_NULL(buf);
    }
    got = fread(buf + n, 1, cap - n, fp);
    n += got;
  } while (got > 0);
  fclose(fp);
  buf[n] = '\0';
  *len = n;
  return buf;
}

typedef struct {
  size_t ran, same, bailed, different;
  size_t reasons[UVCRAWL__HTMLSCAN_REASON_COUNT];
} tally_t;

/* Every "#data" section of a .dat file: from the line after "#data" to the line before
 * "#errors" (that last newline is not part of the input). */
static void run_dat(const char *path, tally_t *t) {
  size_t len;
  char *buf = slurp(path, &len), *p;
  ASSERT_NOT_NULL(buf);
  p = buf;
  while ((p = strstr(p, "#data\n")) != NULL) {
    char *start = p + 6, *stop = strstr(start, "\n#errors");
    int reason = 0, v;
    if (stop == NULL) break;
    v = linkdiff_run(start, (size_t)(stop - start), &reason, 1);
    t->ran++;
    if (v == LINKDIFF_SAME) t->same++;
    if (v == LINKDIFF_BAILED) {
      t->bailed++;
      t->reasons[reason]++;
    }
    if (v == LINKDIFF_DIFFERENT) {
      t->different++;
      fprintf(stderr, "%s: input:\n%.*s\n", path, (int)(stop - start), start);
    }
    p = stop;
  }
  free(buf);
}

static int check_tree_construction(void) {
  const char *dir = getenv("HTML5LIB_TESTS");
  char path[4096];
  DIR *d;
  struct dirent *e;
  tally_t t;
  int i;

  if (dir == NULL) dir = FIXTURES "/../../../shared/html5lib-tests";
  snprintf(path, sizeof(path), "%s/tree-construction", dir);
  d = opendir(path);
  if (d == NULL) {
    printf("test-htmlscan: no %s: tree-construction corpus skipped\n", path);
    return 0;
  }
  memset(&t, 0, sizeof(t));
  while ((e = readdir(d)) != NULL) {
    size_t n = strlen(e->d_name);
    char file[4096 + 256];
    if (n < 5 || strcmp(e->d_name + n - 4, ".dat") != 0) continue;
    snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
    run_dat(file, &t);
  }
  closedir(d);
  printf("test-htmlscan: html5lib tree-construction: %zu inputs ran, %zu same links, "
         "%zu bailed out, %zu different\n", t.ran, t.same, t.bailed, t.different);
  for (i = 1; i < UVCRAWL__HTMLSCAN_REASON_COUNT; i++)
    if (t.reasons[i]) printf("  bailed: %zu x %s\n", t.reasons[i], uvcrawl__htmlscan_reason_text(i));
  ASSERT_GT(t.ran, 1000);
  ASSERT_EQ(t.different, 0);
  return 1;
}

int main(void) {
  int corpus;
  check_srcset();
  check_bailouts();
  corpus = check_tree_construction();
  printf("test-htmlscan: srcset, bail-outs%s: all passed\n",
         corpus ? ", tree-construction corpus" : " (corpus skipped)");
  return 0;
}
