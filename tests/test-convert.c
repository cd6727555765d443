/* --convert-links and --adjust-extension, pure parts: the names files get, the map rebuilt
 * from records, and each document rewritten only inside its link values. */
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "store.h"
#include "css.h"
#include "htmlscan.h"
#include "task.h"

static const struct {
  const char *url, *ct, *path;
} names[] = {
    {"http://h/a", "text/html", "h/a.html"},
    {"http://h/a.html", "text/html; charset=utf-8", "h/a.html"},
    {"http://h/a.HTM", "text/html", "h/a.HTM"},
    {"http://h/", "text/html", "h/index.html"},
    {"http://h/p.php?x=1", "application/xhtml+xml", "h/p.php?x=1.html"},
    {"http://h/s.css?v=2", "text/css", "h/s.css?v=2.css"},
    {"http://h/s.css", "text/css", "h/s.css"},
    {"http://h/i.png", "image/png", "h/i.png"},
    {"http://h/x", NULL, "h/x"},
};

static void check_names(void) {
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    char *out;
    ASSERT_EQ(uvcrawl__store_path_ext(names[i].url, names[i].ct, 1, &out), 0);
    ASSERT_STR_EQ(out, names[i].path);
    free(out);
  }
  char *out;
  ASSERT_EQ(uvcrawl__store_path_ext("http://h/a", "text/html", 0, &out), 0);
  ASSERT_STR_EQ(out, "h/a");
  free(out);
  /* A name that the suffix would push past 255 bytes is cut and given a digest. */
  char url[400];
  int n = snprintf(url, sizeof(url), "http://h/");
  for (int i = 0; i < 252; i++) url[n++] = 'b';
  url[n] = '\0';
  ASSERT_EQ(uvcrawl__store_path_ext(url, "text/html", 1, &out), 0);
  const char *name = strrchr(out, '/') + 1;
  ASSERT_LE(strlen(name), 255);
  ASSERT(strcmp(name + strlen(name) - 5, ".html") == 0);
  free(out);
}

typedef struct {
  char buf[1024];
  size_t n;
} spans_t;

static int on_span(void *arg, const char *url, size_t len, size_t start, size_t end) {
  spans_t *s = arg;
  s->n += (size_t)snprintf(s->buf + s->n, sizeof(s->buf) - s->n, "%s@%zu-%zu;", url, start, end);
  (void)len;
  return 0;
}

static void check_css_spans(void) {
  const char css[] = "a{b:url( x.png )} @import 'y.css'; c{d:url(\"z\\2e png\")} /* url(no) */";
  spans_t s = {{0}, 0};
  ASSERT_EQ(uvcrawl__css_scan_spans(css, sizeof(css) - 1, on_span, &s), 0);
  ASSERT_STR_EQ(s.buf, "x.png@9-14;y.css@27-32;z.png@44-52;");
}

/* A map of saved URLs, as the crawl's records would leave it. */
static uvcrawl__convert_t *make_map(void) {
  static const char *const recs[] = {
      "{\"url\":\"http://h/\",\"status\":200,\"content_type\":\"text/html\",\"error\":null,"
      "\"external\":false,\"skipped\":null}",
      "{\"url\":\"http://h/a\",\"status\":200,\"content_type\":\"text/html\",\"error\":null}",
      "{\"url\":\"http://h/d/s.css\",\"status\":200,\"content_type\":\"text/css\"}",
      "{\"url\":\"http://h/i.png\",\"status\":200,\"content_type\":\"image/png\"}",
      "{\"url\":\"http://h/q?x=1&y=2\",\"status\":200,\"content_type\":\"image/png\"}",
      "{\"url\":\"http://h/sp%20ace.png\",\"status\":200,\"content_type\":\"image/png\"}",
      "{\"url\":\"http://h/old\",\"status\":301,\"redirect\":\"http://h/a\"}",
      "{\"url\":\"http://h/404.png\",\"status\":404,\"content_type\":\"text/html\"}",
      "{\"url\":\"http://h/err.png\",\"status\":200,\"error\":\"mirror: no space left\"}",
      "{\"url\":\"http://cdn:81/c.png\",\"status\":200,\"content_type\":\"image/png\"}",
      "{\"url\":\"http://h/quo%22te.png\",\"status\":200,\"content_type\":\"image/png; x=\\\"y\\\"\"}",
  };
  uvcrawl__convert_t *cv = uvcrawl__convert_new(1);
  size_t nfiles;
  ASSERT_NOT_NULL(cv);
  for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++)
    ASSERT_EQ(uvcrawl__convert_record(cv, recs[i], strlen(recs[i])), 0);
  ASSERT_EQ(uvcrawl__convert_freeze(cv, &nfiles), 0);
  ASSERT_EQ(nfiles, 3); /* h/index.html, h/a.html, h/d/s.css */
  return cv;
}

static const struct {
  const char *url, *rel;
  int css;
  const char *in, *out; /* out NULL: unchanged */
} docs[] = {
    {"http://h/", "h/index.html", 0,
     "<a href=a>x</a><img src='i.png' alt=\"i.png\"><a href=\"404.png\">",
     "<a href=a.html>x</a><img src='i.png' alt=\"i.png\"><a href=\"http://h/404.png\">"},
    {"http://h/a", "h/a.html", 0, "<a href=\"/\">home</a> <a href=\"#x\">top</a>",
     "<a href=\"index.html\">home</a> <a href=\"#x\">top</a>"},
    /* already relative to saved files, absolute elsewhere, schemes left alone */
    {"http://h/a", "h/a.html", 0,
     "<a href=\"a.html#f\"><a href='http://elsewhere/x'><a href='mailto:m'><a href=\"i.png\">",
     NULL},
    {"http://h/", "h/index.html", 0, "<a href=\"old#s\"> <img src=\"http://cdn:81/c.png\">",
     "<a href=\"a.html#s\"> <img src=\"../cdn:81/c.png\">"},
    {"http://h/", "h/index.html", 0, "<img srcset=\"i.png 1x, sp%20ace.png 2x,404.png 3x\">",
     "<img srcset=\"i.png 1x, sp%20ace.png 2x,http://h/404.png 3x\">"},
    {"http://h/", "h/index.html", 0, "<img src=\"q?x=1&amp;y=2\">",
     "<img src=\"q%3Fx=1%26y=2\">"},
    {"http://h/", "h/index.html", 0,
     "<div style=\"background:url(&quot;d/s.css&quot;) , url(404.png)\">",
     "<div style=\"background:url(&quot;d/s.css&quot;) , url(http://h/404.png)\">"},
    {"http://h/", "h/index.html", 0,
     "<meta http-equiv=refresh content=\"5; URL=old\"><style>b{x:url( '404.png' )}</style>",
     "<meta http-equiv=refresh content=\"5; URL=a.html\"><style>b{x:url( 'http://h/404.png' )}</style>"},
    /* the base decides how the rest resolve, then points at the file itself */
    {"http://h/a", "h/a.html", 0, "<base href=\"http://h/d/\"><img src=\"../i.png\">",
     "<base href=\"a.html\"><img src=\"i.png\">"},
    {"http://h/d/s.css", "h/d/s.css", 1,
     "@import \"../a\";\nb { background: url(../404.png) } /* url(../i.png) */ c{d:url(\"../i.png\")}",
     "@import \"../a.html\";\nb { background: url(http://h/404.png) } /* url(../i.png) */ c{d:url(\"../i.png\")}"},
    {"http://h/d/s.css", "h/d/s.css", 1, "x{y:url(/quo%22te.png)}", "x{y:url(../quo%22te.png)}"},
    /* pages the link scan hands to gumbo (a select in a table, svg integration points) are
     * converted by the same tokenizer */
    {"http://h/", "h/index.html", 0,
     "<table><tr><td><select><option><td><a href=\"a\">x</a></table>"
     "<svg><foreignObject><div><img src=\"i.png\" style=\"x:url(404.png)\"></div></svg>",
     "<table><tr><td><select><option><td><a href=\"a.html\">x</a></table>"
     "<svg><foreignObject><div><img src=\"i.png\" style=\"x:url(http://h/404.png)\"></div></svg>"},
    /* no links at all, and markup the tokenizer must not misread */
    {"http://h/", "h/index.html", 0,
     "<script>var s='<a href=\"old\">';</script><!-- <a href=old> --><textarea><a href=old></textarea>",
     NULL},
};

static void check_docs(void) {
  uvcrawl__convert_t *cv = make_map();
  for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
    char *out;
    size_t outlen, n;
    ASSERT_EQ(uvcrawl__convert_doc(cv, docs[i].url, docs[i].rel, docs[i].css, docs[i].in,
                                   strlen(docs[i].in), &out, &outlen, &n),
              0);
    if (docs[i].out == NULL) {
      if (out != NULL) FAIL("doc %zu changed: %.*s", i, (int)outlen, out);
      continue;
    }
    if (out == NULL) FAIL("doc %zu unchanged, want %s", i, docs[i].out);
    ASSERT_EQ(outlen, strlen(out));
    ASSERT_STR_EQ(out, docs[i].out);
    /* Converting the result again changes nothing (a resumed crawl converts again). */
    char *again;
    size_t alen;
    ASSERT_EQ(uvcrawl__convert_doc(cv, docs[i].url, docs[i].rel, docs[i].css, out, outlen,
                                   &again, &alen, &n),
              0);
    if (again != NULL) FAIL("doc %zu: converting again gave %s", i, again);
    free(out);
  }
  uvcrawl__convert_free(cv);
}

static void check_refresh(void) {
  static const struct {
    const char *in, *url;
  } cases[] = {
      {"5; url=a.html", "a.html"}, {"0;URL='b c.html'", "b c.html"}, {"3, c.html", "c.html"},
      {"  7 ; url = \"d\" x", "d"},  {"5", NULL},                   {"x; url=e", NULL},
      {"1.5;url=f  ", "f"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    size_t start, len;
    int r = uvcrawl__refresh_url(cases[i].in, strlen(cases[i].in), &start, &len);
    if (cases[i].url == NULL) {
      ASSERT_EQ(r, 0);
      continue;
    }
    ASSERT_EQ(r, 1);
    ASSERT_EQ(len, strlen(cases[i].url));
    ASSERT(memcmp(cases[i].in + start, cases[i].url, len) == 0);
  }
  ASSERT(uvcrawl__html_rel_is_requisite("Shortcut ICON", 13));
  ASSERT(uvcrawl__html_rel_is_requisite(" alternate  stylesheet", 22));
  ASSERT(!uvcrawl__html_rel_is_requisite("alternate next", 14));
  ASSERT(!uvcrawl__html_rel_is_requisite("stylesheets", 11));
}

int main(void) {
  check_names();
  check_css_spans();
  check_docs();
  check_refresh();
  printf("test-convert: names, css spans, documents, refresh: all passed\n");
  return 0;
}
