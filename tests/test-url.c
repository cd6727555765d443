/* Table-driven tests for src/url.c: uvcrawl__url_resolve() and uvcrawl__url_origin().
 *
 * Rows marked "curl 7.88:" pin behaviour that comes from libcurl rather than from a standard;
 * they were checked against libcurl 7.88.1 and may need revisiting on a newer curl. */
#include "task.h"
#include "uvcrawl-int.h"

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

int main(void) {
  size_t i;
  for (i = 0; i < COUNT(resolve_rows); i++) check_resolve(&resolve_rows[i], i);
  for (i = 0; i < COUNT(origin_rows); i++) check_origin(&origin_rows[i]);
  check_idempotent();
  printf("test-url: %zu resolve rows, %zu origin rows, idempotence: all passed\n",
         COUNT(resolve_rows), COUNT(origin_rows));
  return 0;
}
