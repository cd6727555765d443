/* Tests for src/sitemap.c: urlset and sitemapindex, gzip (and a gzip bomb), namespaces and
 * prefixes, whitespace and entities in <loc>, the caps, billion laughs and external entities
 * (never expanded, never loaded), not-XML, truncated and corrupt documents, empty bodies,
 * silence on stderr, and parsing from several threads at once. */
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <uv.h>
#include <zlib.h>

#include "sitemap.h"
#include "task.h"

#define NS "http://www.sitemaps.org/schemas/sitemap/0.9"
#define XMLDECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parses a C string with the default caps; asserts the return code. */
static void parse_rc(const char *doc, int rc, uvcrawl__sitemap_t *s) {
  int r = uvcrawl__sitemap_parse(doc, strlen(doc), 0, 0, s);
  if (r != rc) FAIL("parse returned %d (%s), want %d, for:\n%s", r, uv_err_name(r), rc, doc);
  if (r != 0) {
    ASSERT_EQ(s->n, 0);
    ASSERT_NULL(s->locs);
  }
}

/* Asserts that doc parses to exactly the given locs (a NULL-terminated list) and index. */
static void expect(const char *doc, int index, const char *const *locs) {
  uvcrawl__sitemap_t s;
  size_t n = 0;
  parse_rc(doc, 0, &s);
  while (locs[n] != NULL) n++;
  if (s.n != n) FAIL("got %zu locs, want %zu, for:\n%s", s.n, n, doc);
  for (size_t i = 0; i < n; i++) ASSERT_STR_EQ(s.locs[i], locs[i]);
  ASSERT_EQ(s.index, index);
  uvcrawl__sitemap_free(&s);
  ASSERT_EQ(s.n, 0);
  ASSERT_NULL(s.locs);
}

#define LOCS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NOLOCS ((const char *const[]){NULL})

/* ---- a growable byte buffer and gzip -------------------------------------------------------- */

typedef struct {
  unsigned char *p;
  size_t len, cap;
} buf_t;

static void buf_add(buf_t *b, const void *data, size_t n) {
  if (b->cap - b->len < n) {
    size_t ncap = b->cap ? b->cap : 4096;
    while (ncap - b->len < n) ncap *= 2;
    b->p = realloc(b->p, ncap);
    ASSERT_NOT_NULL(b->p);
    b->cap = ncap;
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
}

static void buf_printf(buf_t *b, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  ASSERT(n >= 0 && (size_t)n < sizeof tmp);
  buf_add(b, tmp, (size_t)n);
}

/* Feeds in[0..n) to a gzip deflate stream, appending what comes out to out. */
static void deflate_feed(z_stream *z, const void *in, size_t n, int flush, buf_t *out) {
  unsigned char chunk[64 * 1024];
  z->next_in = (Bytef *)(uintptr_t)in;
  z->avail_in = (uInt)n;
  do {
    z->next_out = chunk;
    z->avail_out = sizeof chunk;
    int r = deflate(z, flush);
    ASSERT(r == Z_OK || r == Z_STREAM_END || r == Z_BUF_ERROR);
    buf_add(out, chunk, sizeof chunk - z->avail_out);
  } while (z->avail_out == 0 || z->avail_in != 0);
}

static void gzip_begin(z_stream *z, int strategy) {
  memset(z, 0, sizeof *z);
  ASSERT_EQ(deflateInit2(z, 9, Z_DEFLATED, 15 + 16, 9, strategy), Z_OK);
}

static void gzip(const void *in, size_t n, buf_t *out) {
  z_stream z;
  gzip_begin(&z, Z_DEFAULT_STRATEGY);
  deflate_feed(&z, in, n, Z_FINISH, out);
  deflateEnd(&z);
}

/* ---- the tests ------------------------------------------------------------------------------ */

static void test_urlset(void) {
  expect(XMLDECL "<urlset xmlns=\"" NS "\">\n"
                 "  <url>\n    <loc>http://www.example.com/</loc>\n"
                 "    <lastmod>2005-01-01</lastmod>\n    <changefreq>monthly</changefreq>\n"
                 "    <priority>0.8</priority>\n  </url>\n"
                 "  <url><loc>http://www.example.com/catalog?item=12&amp;desc=vacation_hawaii"
                 "</loc><changefreq>weekly</changefreq></url>\n"
                 "  <url><loc>http://www.example.com/catalog?item=73&amp;desc=vacation_new_zealand"
                 "</loc></url>\n"
                 "</urlset>\n",
         0,
         LOCS("http://www.example.com/",
              "http://www.example.com/catalog?item=12&desc=vacation_hawaii",
              "http://www.example.com/catalog?item=73&desc=vacation_new_zealand"));
  /* No declaration, no namespace: still a sitemap. */
  expect("<urlset><url><loc>http://a/1</loc></url></urlset>", 0, LOCS("http://a/1"));
  /* Empty sitemaps. */
  expect("<urlset/>", 0, NOLOCS);
  expect("<urlset xmlns=\"" NS "\"></urlset>", 0, NOLOCS);
  /* Only the first loc of an entry; empty locs, entries without loc, and locs outside an
   * entry or deeper inside it are skipped. */
  expect("<urlset><url><loc>http://a/1</loc><loc>http://a/dup</loc></url>"
         "<url><loc/></url><url><loc>  \n </loc><loc>http://a/2</loc></url>"
         "<url><lastmod>2020</lastmod></url><loc>http://a/stray</loc>"
         "<url><x><loc>http://a/deep</loc></x><loc>http://a/3</loc></url>"
         "<url/><sitemap><loc>http://a/not-an-entry-here</loc></sitemap>"
         "<url><loc>http://a/<b>bold</b>4</loc></url></urlset>",
         0, LOCS("http://a/1", "http://a/2", "http://a/3", "http://a/4"));
  /* Comments, processing instructions and a doctype without entities are passed over. */
  expect(XMLDECL "<!DOCTYPE urlset>\n<!-- c -->\n<urlset><?pi x?><url><!-- c -->"
                 "<loc>http://a/<!-- in -->1</loc></url></urlset>",
         0, LOCS("http://a/1"));
}

static void test_index(void) {
  expect(XMLDECL "<sitemapindex xmlns=\"" NS "\">\n"
                 "  <sitemap>\n    <loc>http://www.example.com/sitemap1.xml.gz</loc>\n"
                 "    <lastmod>2004-10-01T18:23:17+00:00</lastmod>\n  </sitemap>\n"
                 "  <sitemap><loc>http://www.example.com/sitemap2.xml.gz</loc></sitemap>\n"
                 "</sitemapindex>\n",
         1,
         LOCS("http://www.example.com/sitemap1.xml.gz", "http://www.example.com/sitemap2.xml.gz"));
  /* In an index, <url> entries are not entries. */
  expect("<sitemapindex><url><loc>http://a/page</loc></url>"
         "<sitemap><loc>http://a/s.xml</loc></sitemap></sitemapindex>",
         1, LOCS("http://a/s.xml"));
  expect("<sitemapindex/>", 1, NOLOCS);
}

static void test_gzip(void) {
  static const char doc[] = XMLDECL "<urlset xmlns=\"" NS "\">"
                                    "<url><loc>http://a/1</loc></url>"
                                    "<url><loc>http://a/2?x=1&amp;y=2</loc></url></urlset>\n";
  buf_t gz = {0};
  uvcrawl__sitemap_t s;
  gzip(doc, sizeof doc - 1, &gz);
  ASSERT(gz.p[0] == 0x1f && gz.p[1] == 0x8b);
  ASSERT_EQ(uvcrawl__sitemap_parse((const char *)gz.p, gz.len, 0, 0, &s), 0);
  ASSERT_EQ(s.n, 2);
  ASSERT_STR_EQ(s.locs[0], "http://a/1");
  ASSERT_STR_EQ(s.locs[1], "http://a/2?x=1&y=2");
  ASSERT_EQ(s.index, 0);
  uvcrawl__sitemap_free(&s);

  /* The cap applies to the inflated size: exactly max_bytes is fine, one less is too big. */
  ASSERT_EQ(uvcrawl__sitemap_parse((const char *)gz.p, gz.len, sizeof doc - 1, 0, &s), 0);
  ASSERT_EQ(s.n, 2);
  uvcrawl__sitemap_free(&s);
  ASSERT_EQ(uvcrawl__sitemap_parse((const char *)gz.p, gz.len, sizeof doc - 2, 0, &s), UV_E2BIG);
  ASSERT_EQ(s.n, 0);

  /* Two members, as `cat a.gz b.gz` makes: one document split across them. */
  buf_t two = {0};
  size_t half = (sizeof doc - 1) / 2;
  gzip(doc, half, &two);
  gzip(doc + half, sizeof doc - 1 - half, &two);
  ASSERT_EQ(uvcrawl__sitemap_parse((const char *)two.p, two.len, 0, 0, &s), 0);
  ASSERT_EQ(s.n, 2);
  ASSERT_STR_EQ(s.locs[1], "http://a/2?x=1&y=2");
  uvcrawl__sitemap_free(&s);
  /* Junk after the last member is ignored. */
  buf_add(&two, "junk", 4);
  ASSERT_EQ(uvcrawl__sitemap_parse((const char *)two.p, two.len, 0, 0, &s), 0);
  ASSERT_EQ(s.n, 2);
  uvcrawl__sitemap_free(&s);
  free(two.p);

  /* Cut short: parsed as far as it inflated (a truncated document, see test_truncated). */
  ASSERT_EQ(uvcrawl__sitemap_parse((const char *)gz.p, gz.len - 8, 0, 0, &s), 0); /* no trailer */
  ASSERT_EQ(s.n, 2);
  uvcrawl__sitemap_free(&s);
  ASSERT_EQ(uvcrawl__sitemap_parse((const char *)gz.p, 2, 0, 0, &s), UV_EINVAL); /* magic only */

  /* Damaged: a bad compression method, then a flipped CRC. */
  gz.p[2] ^= 0xff;
  ASSERT_EQ(uvcrawl__sitemap_parse((const char *)gz.p, gz.len, 0, 0, &s), UV_EINVAL);
  gz.p[2] ^= 0xff;
  gz.p[gz.len - 8] ^= 0xff;
  ASSERT_EQ(uvcrawl__sitemap_parse((const char *)gz.p, gz.len, 0, 0, &s), UV_EINVAL);
  ASSERT_EQ(s.n, 0);
  free(gz.p);

  /* A gzipped index. */
  static const char idx[] = "<sitemapindex><sitemap><loc>http://a/s1.xml</loc></sitemap>"
                            "</sitemapindex>";
  buf_t gi = {0};
  gzip(idx, sizeof idx - 1, &gi);
  ASSERT_EQ(uvcrawl__sitemap_parse((const char *)gi.p, gi.len, 0, 0, &s), 0);
  ASSERT_EQ(s.index, 1);
  ASSERT_EQ(s.n, 1);
  ASSERT_STR_EQ(s.locs[0], "http://a/s1.xml");
  uvcrawl__sitemap_free(&s);
  free(gi.p);
}

/* 200 MB of zeros deflated (about 200 KB, made streaming: the 200 MB never exist), and a
 * sitemap whose body is 60 MiB of whitespace: both stop at the 50 MiB cap, fast. */
static void test_gzip_bomb(void) {
  static const unsigned char zeros[1024 * 1024];
  buf_t bomb = {0};
  z_stream z;
  uvcrawl__sitemap_t s;

  gzip_begin(&z, Z_RLE); /* run-length matching: the same ratio as level 9, 3x faster */
  for (int i = 0; i < 200; i++) deflate_feed(&z, zeros, sizeof zeros, Z_NO_FLUSH, &bomb);
  deflate_feed(&z, NULL, 0, Z_FINISH, &bomb);
  ASSERT_EQ(z.total_in, 200u * 1024 * 1024);
  deflateEnd(&z);
  ASSERT_LE(bomb.len, 1024 * 1024);

  double t0 = now_s();
  ASSERT_EQ(uvcrawl__sitemap_parse((const char *)bomb.p, bomb.len, UVCRAWL__SITEMAP_MAX_BYTES, 0,
                                   &s),
            UV_E2BIG);
  ASSERT_EQ(uvcrawl__sitemap_parse((const char *)bomb.p, bomb.len, 0, 0, &s), UV_E2BIG);
  ASSERT_EQ(uvcrawl__sitemap_parse((const char *)bomb.p, bomb.len, 1000, 0, &s), UV_E2BIG);
  double dt = now_s() - t0;
  if (dt >= 3.0) FAIL("gzip bomb took %.3f s", dt);
  ASSERT_EQ(s.n, 0);
  free(bomb.p);

  /* A valid start, then whitespace past the cap. */
  buf_t ws = {0};
  static const char head[] = "<urlset><url><loc>http://a/1</loc></url>";
  gzip_begin(&z, Z_RLE);
  deflate_feed(&z, head, sizeof head - 1, Z_NO_FLUSH, &ws);
  char spaces[64 * 1024];
  memset(spaces, ' ', sizeof spaces);
  for (int i = 0; i < 60 * 16; i++) deflate_feed(&z, spaces, sizeof spaces, Z_NO_FLUSH, &ws);
  deflate_feed(&z, "</urlset>", 9, Z_FINISH, &ws);
  deflateEnd(&z);
  t0 = now_s();
  ASSERT_EQ(uvcrawl__sitemap_parse((const char *)ws.p, ws.len, 0, 0, &s), UV_E2BIG);
  dt = now_s() - t0;
  if (dt >= 3.0) FAIL("whitespace bomb took %.3f s", dt);
  /* With a cap that fits, it parses. */
  ASSERT_EQ(uvcrawl__sitemap_parse((const char *)ws.p, ws.len, 61u * 1024 * 1024, 0, &s), 0);
  ASSERT_EQ(s.n, 1);
  uvcrawl__sitemap_free(&s);
  free(ws.p);
}

static void test_plain_cap(void) {
  static const char doc[] = "<urlset><url><loc>http://a/1</loc></url></urlset>";
  uvcrawl__sitemap_t s;
  ASSERT_EQ(uvcrawl__sitemap_parse(doc, sizeof doc - 1, sizeof doc - 1, 0, &s), 0);
  ASSERT_EQ(s.n, 1);
  uvcrawl__sitemap_free(&s);
  ASSERT_EQ(uvcrawl__sitemap_parse(doc, sizeof doc - 1, sizeof doc - 2, 0, &s), UV_E2BIG);
  ASSERT_EQ(s.n, 0);
}

static void test_namespaces(void) {
  /* A prefix instead of the default namespace. */
  expect("<sm:urlset xmlns:sm=\"" NS "\"><sm:url><sm:loc>http://a/1</sm:loc></sm:url>"
         "</sm:urlset>",
         0, LOCS("http://a/1"));
  expect("<s:sitemapindex xmlns:s=\"" NS "\"><s:sitemap><s:loc>http://a/s.xml</s:loc>"
         "</s:sitemap></s:sitemapindex>",
         1, LOCS("http://a/s.xml"));
  /* Sloppy: a prefixed root with unprefixed (no-namespace) children. */
  expect("<sm:urlset xmlns:sm=\"" NS "\"><url><loc>http://a/1</loc></url></sm:urlset>", 0,
         LOCS("http://a/1"));
  /* Another namespace URI on the root still matches by local name. */
  expect("<urlset xmlns=\"http://www.google.com/schemas/sitemap/0.84\"><url><loc>http://a/1</loc>"
         "</url></urlset>",
         0, LOCS("http://a/1"));
  /* Image and video extensions: their locs are not the page's. */
  expect("<urlset xmlns=\"" NS "\" xmlns:image=\"http://www.google.com/schemas/sitemap-image/1.1\""
         " xmlns:video=\"http://www.google.com/schemas/sitemap-video/1.1\">"
         "<url><image:loc>http://a/direct.jpg</image:loc><loc>http://a/page</loc>"
         "<image:image><image:loc>http://a/pic.jpg</image:loc></image:image>"
         "<video:video><video:content_loc>http://a/v.mp4</video:content_loc></video:video>"
         "</url>"
         "<image:url><loc>http://a/foreign-entry</loc></image:url>"
         "<url><x:loc xmlns:x=\"urn:other\">http://a/other-ns</x:loc><loc>http://a/p2</loc>"
         "</url></urlset>",
         0, LOCS("http://a/page", "http://a/p2"));
  /* A namespace redeclared on a child, and prefixes bound to the sitemap namespace anywhere. */
  expect("<urlset xmlns=\"" NS "\"><url xmlns=\"" NS "\"><a:loc xmlns:a=\"" NS "\">http://a/1"
         "</a:loc></url></urlset>",
         0, LOCS("http://a/1"));
  /* An unbound prefix is a namespace error, not a well-formedness one: still read. */
  uvcrawl__sitemap_t s;
  static const char unbound[] = "<urlset><url><q:loc>http://a/1</q:loc></url></urlset>";
  int r = uvcrawl__sitemap_parse(unbound, sizeof unbound - 1, 0, 0, &s);
  ASSERT(r == 0 || r == UV_EINVAL);
  uvcrawl__sitemap_free(&s);
}

static void test_whitespace(void) {
  expect("<urlset>\n  <url>\n    <loc>\n      http://a/1\n    </loc>\n  </url>\n"
         "<url><loc>\t\r\n http://a/2 \t\r\n</loc></url>"
         "<url><loc><![CDATA[  http://a/3?x=<y>  ]]></loc></url>"
         "<url><loc>  <![CDATA[http://a/]]>4  </loc></url>"
         "<url><loc>http://a/with space</loc></url>"
         "<url><loc>&#x20;http://a/5&#9;</loc></url></urlset>",
         0,
         LOCS("http://a/1", "http://a/2", "http://a/3?x=<y>", "http://a/4", "http://a/with space",
              "http://a/5"));
  /* Whitespace before the declaration (a common blemish), and a byte-order mark. */
  expect("\n\r\n  " XMLDECL "<urlset><url><loc>http://a/1</loc></url></urlset>", 0,
         LOCS("http://a/1"));
  expect("\xef\xbb\xbf" XMLDECL "<urlset><url><loc>http://a/1</loc></url></urlset>", 0,
         LOCS("http://a/1"));
}

static void test_entities(void) {
  expect("<urlset><url><loc>http://a/?a=1&amp;b=2&lt;&gt;&quot;&apos;</loc></url>"
         "<url><loc>http://a/&#x41;&#66;&#xe9;</loc></url></urlset>",
         0, LOCS("http://a/?a=1&b=2<>\"'", "http://a/AB\xc3\xa9"));
  /* Latin-1 comes out as UTF-8. */
  expect("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><urlset><url><loc>http://a/caf\xe9"
         "</loc></url></urlset>",
         0, LOCS("http://a/caf\xc3\xa9"));
  /* A declared internal entity is not substituted: it contributes nothing. */
  expect("<!DOCTYPE urlset [<!ENTITY host \"evil.example\">]>"
         "<urlset><url><loc>http://&host;/x</loc></url></urlset>",
         0, LOCS("http:///x"));

  /* A long loc full of entities, across the reader's chunk boundaries. */
  buf_t doc = {0}, want = {0};
  buf_printf(&doc, "<urlset><url><loc>http://a/");
  buf_add(&want, "http://a/", 9);
  for (int i = 0; i < 700; i++) {
    buf_printf(&doc, "k%d=v&amp;", i);
    buf_printf(&want, "k%d=v&", i);
  }
  buf_printf(&doc, "</loc></url></urlset>");
  buf_add(&doc, "", 1);
  buf_add(&want, "", 1);
  ASSERT_LE(want.len - 1, UVCRAWL__SITEMAP_MAX_LOC);
  expect((const char *)doc.p, 0, LOCS((const char *)want.p));
  free(doc.p);
  free(want.p);
}

static void test_long_loc(void) {
  size_t max = UVCRAWL__SITEMAP_MAX_LOC;
  char *url = malloc(max + 2);
  ASSERT_NOT_NULL(url);
  memcpy(url, "http://a/", 9);
  memset(url + 9, 'x', max - 9);
  url[max] = '\0';
  buf_t doc = {0};
  /* max bytes: kept, with whitespace around; max + 1: skipped; the next entry still read. */
  buf_printf(&doc, "<urlset><url><loc>   ");
  buf_add(&doc, url, max);
  for (int i = 0; i < 3000; i++) buf_add(&doc, " \n", 2);
  buf_printf(&doc, "</loc></url><url><loc>");
  buf_add(&doc, url, max);
  buf_printf(&doc, "y</loc></url><url><loc>");
  buf_add(&doc, url, max);
  buf_printf(&doc, "  y</loc></url><url><loc>http://a/next</loc></url></urlset>");
  buf_add(&doc, "", 1);
  expect((const char *)doc.p, 0, LOCS(url, "http://a/next"));
  free(doc.p);
  free(url);
}

static void test_max_urls(void) {
  buf_t doc = {0};
  uvcrawl__sitemap_t s;
  buf_printf(&doc, "<urlset>");
  for (int i = 0; i < 60000; i++) buf_printf(&doc, "<url><loc>http://a/%d</loc></url>", i);
  buf_printf(&doc, "</urlset>");

  ASSERT_EQ(uvcrawl__sitemap_parse((const char *)doc.p, doc.len, 0, 3, &s), 0);
  ASSERT_EQ(s.n, 3);
  ASSERT_STR_EQ(s.locs[0], "http://a/0");
  ASSERT_STR_EQ(s.locs[2], "http://a/2");
  uvcrawl__sitemap_free(&s);
  /* Skipped locs do not count toward the cap. */
  static const char skips[] = "<urlset><url><loc/></url><url><loc>http://a/1</loc></url>"
                              "<url><loc> </loc></url><url><loc>http://a/2</loc></url></urlset>";
  ASSERT_EQ(uvcrawl__sitemap_parse(skips, sizeof skips - 1, 0, 2, &s), 0);
  ASSERT_EQ(s.n, 2);
  ASSERT_STR_EQ(s.locs[1], "http://a/2");
  uvcrawl__sitemap_free(&s);
  /* 0: the protocol's 50,000. */
  ASSERT_EQ(uvcrawl__sitemap_parse((const char *)doc.p, doc.len, 0, 0, &s), 0);
  ASSERT_EQ(s.n, UVCRAWL__SITEMAP_MAX_URLS);
  ASSERT_STR_EQ(s.locs[UVCRAWL__SITEMAP_MAX_URLS - 1], "http://a/49999");
  uvcrawl__sitemap_free(&s);
  ASSERT_EQ(uvcrawl__sitemap_parse((const char *)doc.p, doc.len, 0, 100000, &s), 0);
  ASSERT_EQ(s.n, 60000);
  ASSERT_STR_EQ(s.locs[59999], "http://a/59999");
  uvcrawl__sitemap_free(&s);
  free(doc.p);
}

#define LOL(n, m) " <!ENTITY lol" #n " \"" m m m m m m m m m m "\">\n"

/* Billion laughs (and its quadratic cousin): never expanded, so cheap, and no loc grows. */
static void test_billion_laughs(void) {
  static const char laughs[] =
      XMLDECL "<!DOCTYPE urlset [\n <!ENTITY lol \"lol\">\n" LOL(1, "&lol;") LOL(2, "&lol1;")
          LOL(3, "&lol2;") LOL(4, "&lol3;") LOL(5, "&lol4;") LOL(6, "&lol5;") LOL(7, "&lol6;")
              LOL(8, "&lol7;") LOL(9, "&lol8;") "]>\n"
      "<urlset><url><loc>http://a/1</loc></url><url><loc>http://a/&lol9;</loc></url>"
      "<url loc=\"&lol9;\"><loc>http://a/3</loc></url></urlset>\n";
  uvcrawl__sitemap_t s;
  double t0 = now_s();
  int r = uvcrawl__sitemap_parse(laughs, sizeof laughs - 1, 0, 0, &s);
  double dt = now_s() - t0;
  if (dt >= 1.0) FAIL("billion laughs took %.3f s", dt);
  /* libxml2 2.9 stops at the reference (its entity amplification check fires); one that just
   * declines to substitute would go on. Either way the loc before it stands, and no loc
   * laughs. */
  ASSERT_EQ(r, 0);
  ASSERT_GE(s.n, 1);
  ASSERT_STR_EQ(s.locs[0], "http://a/1");
  for (size_t i = 0; i < s.n; i++) {
    ASSERT_LE(strlen(s.locs[i]), 32);
    ASSERT_NULL(strstr(s.locs[i], "lol"));
  }
  uvcrawl__sitemap_free(&s);

  /* Quadratic blowup: one 20 KB entity referenced 5,000 times (100 MB if substituted). */
  buf_t doc = {0};
  buf_printf(&doc, "<!DOCTYPE urlset [<!ENTITY a \"");
  for (int i = 0; i < 2000; i++) buf_add(&doc, "aaaaaaaaaa", 10);
  buf_printf(&doc, "\">]><urlset><url><loc>http://a/");
  for (int i = 0; i < 5000; i++) buf_add(&doc, "&a;", 3);
  buf_printf(&doc, "</loc></url><url><loc>http://a/2</loc></url></urlset>");
  t0 = now_s();
  r = uvcrawl__sitemap_parse((const char *)doc.p, doc.len, 0, 0, &s);
  dt = now_s() - t0;
  if (dt >= 1.0) FAIL("quadratic blowup took %.3f s", dt);
  ASSERT_EQ(r, 0);
  for (size_t i = 0; i < s.n; i++) ASSERT_LE(strlen(s.locs[i]), 32);
  uvcrawl__sitemap_free(&s);
  free(doc.p);

  /* Even two harmless levels trip libxml2 2.9's check: the loc before the reference stands. */
  static const char two[] = "<!DOCTYPE urlset [<!ENTITY l \"l\"><!ENTITY l1 \"&l;&l;\">"
                            "<!ENTITY l2 \"&l1;&l1;\">]><urlset><url><loc>http://a/1</loc></url>"
                            "<url><loc>http://a/&l2;</loc></url></urlset>";
  ASSERT_EQ(uvcrawl__sitemap_parse(two, sizeof two - 1, 0, 0, &s), 0);
  ASSERT_GE(s.n, 1);
  ASSERT_STR_EQ(s.locs[0], "http://a/1");
  if (s.n == 2) ASSERT_STR_EQ(s.locs[1], "http://a/");
  uvcrawl__sitemap_free(&s);
}

/* Every load libxml2 would make of an external entity, DTD or XInclude goes through this. */
static int loads;
static xmlParserInputPtr counting_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt) {
  (void)url, (void)id, (void)ctxt;
  loads++; /* only the main thread parses while it is installed */
  return NULL;
}

static void test_xxe(void) {
  static const char *const docs[] = {
      /* An external general entity in a loc. */
      XMLDECL "<!DOCTYPE urlset [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
              "<urlset><url><loc>http://a/&xxe;</loc></url><url><loc>http://a/2</loc></url>"
              "</urlset>",
      /* An external parameter entity, referenced in the internal subset. */
      XMLDECL "<!DOCTYPE urlset [<!ENTITY % dtd SYSTEM \"file:///etc/passwd\"> %dtd;]>\n"
              "<urlset><url><loc>http://a/1</loc></url><url><loc>http://a/2</loc></url>"
              "</urlset>",
      /* An external DTD, over the network and from a file. */
      XMLDECL "<!DOCTYPE urlset SYSTEM \"http://127.0.0.1:9/evil.dtd\">\n"
              "<urlset><url><loc>http://a/1</loc></url><url><loc>http://a/2</loc></url>"
              "</urlset>",
      XMLDECL "<!DOCTYPE urlset PUBLIC \"-//x//y\" \"file:///etc/passwd\">\n"
              "<urlset><url><loc>http://a/1</loc></url><url><loc>http://a/2</loc></url>"
              "</urlset>",
      /* An entity defined through a parameter entity, and an XInclude. */
      XMLDECL "<!DOCTYPE urlset [<!ENTITY % p \"<!ENTITY e SYSTEM 'file:///etc/passwd'>\"> %p;]>"
              "<urlset><url><loc>http://a/&e;</loc></url><url><loc>http://a/2</loc></url>"
              "</urlset>",
      XMLDECL "<urlset xmlns:xi=\"http://www.w3.org/2001/XInclude\"><url><loc>http://a/1</loc>"
              "<xi:include href=\"file:///etc/passwd\" parse=\"text\"/></url>"
              "<url><loc>http://a/2<xi:include href=\"file:///etc/passwd\" parse=\"text\"/></loc>"
              "</url></urlset>",
  };
  for (int pass = 0; pass < 2; pass++) {
    /* Pass 0 with libxml2's own loader (a read would show in the locs), pass 1 counting. */
    xmlExternalEntityLoader old = xmlGetExternalEntityLoader();
    if (pass == 1) xmlSetExternalEntityLoader(counting_loader);
    for (size_t d = 0; d < sizeof docs / sizeof docs[0]; d++) {
      uvcrawl__sitemap_t s;
      int r = uvcrawl__sitemap_parse(docs[d], strlen(docs[d]), 0, 0, &s);
      if (r != 0) FAIL("doc %zu: %d", d, r);
      if (s.n != 2) FAIL("doc %zu: %zu locs", d, s.n);
      ASSERT_STR_EQ(s.locs[1], "http://a/2");
      for (size_t i = 0; i < s.n; i++) {
        ASSERT_NULL(strstr(s.locs[i], "root:"));
        ASSERT_LE(strlen(s.locs[i]), 10);
      }
      uvcrawl__sitemap_free(&s);
    }
    xmlSetExternalEntityLoader(old);
  }
  ASSERT_EQ(loads, 0);
}

static void test_not_sitemap(void) {
  uvcrawl__sitemap_t s;
  static const char *const bad[] = {
      "User-agent: *\nDisallow: /\n",
      "<!DOCTYPE html><html><head><title>x</title></head><body><a href=/a>a</a></body></html>",
      "<html><body><urlset><url><loc>http://a/1</loc></url></urlset></body></html>",
      "{\"urlset\": [\"http://a/1\"]}",
      "http://a/1\nhttp://a/2\n", /* a text sitemap: not XML */
      XMLDECL "<rss version=\"2.0\"><channel><item><link>http://a/1</link></item></channel></rss>",
      XMLDECL "<url><loc>http://a/1</loc></url>",
      XMLDECL "<!-- only a comment -->",
      XMLDECL,
      "<",
      "<urlset",
      "<urlset xmlns=\"" NS "\"",
      "\x1f",
      "\x1f\x8b",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) parse_rc(bad[i], UV_EINVAL, &s);
  /* Binary junk with NULs. */
  unsigned char junk[4096];
  uint32_t seed = 7;
  for (int round = 0; round < 200; round++) {
    size_t n = 1 + (size_t)round * 19 % sizeof junk;
    for (size_t i = 0; i < n; i++) {
      seed = seed * 1103515245u + 12345u;
      static const char hot[] = "<>/=\"' \n&;:!?[]urlsetlocsitemapindex\x1f\x8b";
      unsigned x = seed >> 16;
      junk[i] = (x & 1) ? (unsigned char)hot[(x >> 1) % (sizeof hot - 1)] : (unsigned char)(x >> 8);
    }
    int r = uvcrawl__sitemap_parse((const char *)junk, n, 0, 0, &s);
    ASSERT(r == 0 || r == UV_EINVAL || r == UV_E2BIG);
    for (size_t k = 0; k < s.n; k++) ASSERT_NOT_NULL(s.locs[k]);
    uvcrawl__sitemap_free(&s);
  }
}

static size_t count_before(const char *doc, size_t cut, const char *pat) {
  size_t n = 0, l = strlen(pat);
  for (const char *p = doc; (p = strstr(p, pat)) != NULL && (size_t)(p - doc) + l <= cut; p += l)
    n++;
  return n;
}

/* A document cut at every byte: UV_EINVAL until the root start tag is complete; after that 0,
 * with a prefix of the locs: at least every entry closed before the cut, at most every loc. */
static void test_truncated(void) {
  buf_t doc = {0};
  buf_printf(&doc, XMLDECL "<urlset xmlns=\"" NS "\">\n");
  for (int i = 0; i < 30; i++)
    buf_printf(&doc,
               i % 3 ? "  <url><loc>http://a/%d?x=1&amp;y=2</loc><lastmod>2024-01-01</lastmod>"
                       "</url>\n"
                     : "<url><loc>http://a/%d?x=1&amp;y=2</loc></url>",
               i);
  buf_printf(&doc, "</urlset>\n");
  buf_add(&doc, "", 1);
  const char *d = (const char *)doc.p;
  size_t len = doc.len - 1;
  size_t root_end = (size_t)(strchr(strstr(d, "<urlset"), '>') + 1 - d);
  for (size_t cut = 0; cut <= len; cut++) {
    uvcrawl__sitemap_t s;
    int r = uvcrawl__sitemap_parse(d, cut, 0, 0, &s);
    if (cut < root_end) {
      if (r != UV_EINVAL) FAIL("cut %zu: %d", cut, r);
      continue;
    }
    if (r != 0) FAIL("cut %zu: %d", cut, r);
    size_t lo = count_before(d, cut, "</url>"), hi = count_before(d, cut, "</loc>");
    if (s.n < lo || s.n > hi) FAIL("cut %zu: %zu locs, want %zu..%zu", cut, s.n, lo, hi);
    for (size_t i = 0; i < s.n; i++) {
      char want[64];
      snprintf(want, sizeof want, "http://a/%zu?x=1&y=2", i);
      ASSERT_STR_EQ(s.locs[i], want);
    }
    uvcrawl__sitemap_free(&s);
  }
  free(doc.p);
}

/* A document with one byte replaced at every position (by NUL, '<', '&' or '>'): past the root
 * start tag, 0 with a prefix of the locs holding every entry closed before that byte. */
static void test_corrupt(void) {
  buf_t doc = {0};
  char want[16][64];
  buf_printf(&doc, XMLDECL "<urlset xmlns=\"" NS "\">\r\n");
  for (int i = 0; i < 16; i++) {
    static const char *const forms[] = {
        "<url><loc>http://a/\xc3\xa9%d</loc></url>",
        ("\r\n  <url>\r\n\t<loc>http://a/\xe2\x82\xac%d</loc>\r\n"
         "<lastmod>x\xf0\x9f\x98\x80y</lastmod></url>\r\n"),
        "\r<url><loc>http://a/%d</loc></url>\r",
        "<url><loc>http://a/%d&amp;\xc3\xa9</loc><priority>1</priority></url>\n",
    };
    static const char *const wants[] = {"http://a/\xc3\xa9%d", "http://a/\xe2\x82\xac%d",
                                        "http://a/%d", "http://a/%d&\xc3\xa9"};
    buf_printf(&doc, forms[i % 4], i);
    snprintf(want[i], sizeof want[i], wants[i % 4], i);
  }
  buf_printf(&doc, "</urlset>\n");
  buf_add(&doc, "", 1);
  const char *d = (const char *)doc.p;
  size_t len = doc.len - 1;
  size_t root_end = (size_t)(strchr(strstr(d, "<urlset"), '>') + 1 - d);
  char *bad = malloc(len);
  ASSERT_NOT_NULL(bad);
  static const char kinds[] = {'\0', '<', '&', '>'};
  for (size_t k = 0; k < sizeof kinds; k++) {
    for (size_t pos = 0; pos < len; pos++) {
      if (d[pos] == kinds[k] || (unsigned char)d[pos] >= 0x80) continue;
      memcpy(bad, d, len);
      bad[pos] = kinds[k];
      uvcrawl__sitemap_t s;
      int r = uvcrawl__sitemap_parse(bad, len, 0, 0, &s);
      size_t lo = count_before(d, pos, "</url>"), hi = count_before(d, pos, "</loc>");
      if (kinds[k] == '>' && r == 0 && s.n == 16) { /* '>' in text is no error */
        uvcrawl__sitemap_free(&s);
        continue;
      }
      if (pos < root_end) {
        if (r != UV_EINVAL) FAIL("'%c' at %zu: %d", kinds[k] ? kinds[k] : '0', pos, r);
        continue;
      }
      if (r != 0 || s.n < lo || s.n > hi)
        FAIL("'%c' at %zu: %d with %zu locs, want 0 with %zu..%zu", kinds[k] ? kinds[k] : '0',
             pos, r, s.n, lo, hi);
      for (size_t i = 0; i < lo; i++) ASSERT_STR_EQ(s.locs[i], want[i]);
      uvcrawl__sitemap_free(&s);
    }
  }
  free(bad);
  free(doc.p);

  /* A mismatched end tag in the middle, and junk after the root: the same rule. */
  uvcrawl__sitemap_t s;
  parse_rc("<urlset><url><loc>http://a/1</loc></url><url><loc>http://a/2</loc></url><url>"
           "<loc>http://a/3</loc></bad></url><url><loc>http://a/4</loc></url></urlset>",
           0, &s);
  ASSERT(s.n == 2 || s.n == 3);
  ASSERT_STR_EQ(s.locs[1], "http://a/2");
  uvcrawl__sitemap_free(&s);
  expect("<urlset><url><loc>http://a/1</loc></url></urlset>\ngarbage", 0, LOCS("http://a/1"));
  expect("<urlset><url><loc>http://a/1</loc></url></urlset><urlset><url><loc>http://a/2</loc>"
         "</url></urlset>",
         0, LOCS("http://a/1"));
}

static void test_empty(void) {
  uvcrawl__sitemap_t s;
  ASSERT_EQ(uvcrawl__sitemap_parse(NULL, 0, 0, 0, &s), UV_EINVAL);
  ASSERT_EQ(uvcrawl__sitemap_parse("", 0, 0, 0, &s), UV_EINVAL);
  ASSERT_EQ(s.n, 0);
  ASSERT_NULL(s.locs);
  parse_rc(" \r\n\t ", UV_EINVAL, &s);
  /* An empty gzip member: inflates to nothing. */
  buf_t gz = {0};
  gzip("", 0, &gz);
  ASSERT_EQ(uvcrawl__sitemap_parse((const char *)gz.p, gz.len, 0, 0, &s), UV_EINVAL);
  free(gz.p);
  /* Freeing an empty or already freed result, or NULL, is fine. */
  uvcrawl__sitemap_free(&s);
  uvcrawl__sitemap_free(&s);
  uvcrawl__sitemap_free(NULL);
}

/* libxml2 must print nothing about a bad document: stderr goes to a file meanwhile. */
static void test_silent(void) {
  static const char *const docs[] = {
      "not xml at all", "<urlset><url><loc>http://a/1</loc></url><oops", "<urlset>&undefined;",
      "<?xml version=\"1.0\" encoding=\"no-such-charset\"?><urlset/>",
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?><urlset><url><loc>http://a/\xff\xfe</loc></url>",
      "<urlset><url><q:loc>x</q:loc></url></urlset>",
      "<!DOCTYPE urlset [<!ENTITY a \"&a;\">]><urlset><url><loc>&a;</loc></url></urlset>",
  };
  char path[] = "/tmp/test-sitemap-stderr-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  unlink(path);
  fflush(stderr);
  int saved = dup(2);
  ASSERT_GE(saved, 0);
  ASSERT_EQ(dup2(fd, 2), 2);
  for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
    uvcrawl__sitemap_t s;
    (void)uvcrawl__sitemap_parse(docs[i], strlen(docs[i]), 0, 0, &s);
    uvcrawl__sitemap_free(&s);
  }
  /* A text node over libxml2's 10 MB limit: reported as a memory error, which libxml2 prints
   * even with XML_PARSE_NOERROR unless the reader has an error handler. Not UV_ENOMEM: the
   * loc before it stands. */
  static const char head[] = "<urlset><url><loc>http://a/1</loc></url>";
  size_t big = 11u * 1024 * 1024;
  char *huge = malloc(sizeof head - 1 + big);
  ASSERT_NOT_NULL(huge);
  memcpy(huge, head, sizeof head - 1);
  memset(huge + sizeof head - 1, ' ', big);
  uvcrawl__sitemap_t s;
  ASSERT_EQ(uvcrawl__sitemap_parse(huge, sizeof head - 1 + big, 0, 0, &s), 0);
  ASSERT_EQ(s.n, 1);
  uvcrawl__sitemap_free(&s);
  free(huge);
  fflush(stderr);
  ASSERT_EQ(dup2(saved, 2), 2);
  close(saved);
  off_t size = lseek(fd, 0, SEEK_END);
  close(fd);
  if (size != 0) FAIL("libxml2 wrote %lld bytes to stderr", (long long)size);
}

/* Several threads parsing at once (as on the libuv pool) agree with one thread. */
typedef struct {
  buf_t gz;
  const char *plain;
  int failures;
} thread_arg_t;

static void parse_worker(void *arg) {
  thread_arg_t *t = arg;
  for (int i = 0; i < 200; i++) {
    uvcrawl__sitemap_t s;
    const char *body = i % 2 ? t->plain : (const char *)t->gz.p;
    size_t len = i % 2 ? strlen(t->plain) : t->gz.len;
    if (uvcrawl__sitemap_parse(body, len, 0, 0, &s) != 0 || s.n != 50 ||
        strcmp(s.locs[49], "http://a/49&x") != 0)
      t->failures++;
    uvcrawl__sitemap_free(&s);
    if (uvcrawl__sitemap_parse("<rss/>", 6, 0, 0, &s) != UV_EINVAL) t->failures++;
    if (uvcrawl__sitemap_parse("<urlset><url><loc>x</loc></url><", 32, 0, 0, &s) != 0 || s.n != 1)
      t->failures++;
    uvcrawl__sitemap_free(&s);
  }
}

static void test_threads(void) {
  enum { N = 4 };
  buf_t doc = {0};
  buf_printf(&doc, "<urlset xmlns=\"" NS "\">");
  for (int i = 0; i < 50; i++) buf_printf(&doc, "<url><loc> http://a/%d&amp;x </loc></url>", i);
  buf_printf(&doc, "</urlset>");
  buf_add(&doc, "", 1);
  thread_arg_t args[N];
  uv_thread_t tids[N];
  for (int i = 0; i < N; i++) {
    memset(&args[i], 0, sizeof args[i]);
    args[i].plain = (const char *)doc.p;
    gzip(doc.p, doc.len - 1, &args[i].gz);
    ASSERT_EQ(uv_thread_create(&tids[i], parse_worker, &args[i]), 0);
  }
  for (int i = 0; i < N; i++) {
    ASSERT_EQ(uv_thread_join(&tids[i]), 0);
    ASSERT_EQ(args[i].failures, 0);
    free(args[i].gz.p);
  }
  free(doc.p);
}

int main(void) {
  uvcrawl__sitemap_global_init();
  uvcrawl__sitemap_global_init(); /* harmless twice */
  test_urlset();
  test_index();
  test_gzip();
  test_gzip_bomb();
  test_plain_cap();
  test_namespaces();
  test_whitespace();
  test_entities();
  test_long_loc();
  test_max_urls();
  test_billion_laughs();
  test_xxe();
  test_not_sitemap();
  test_truncated();
  test_corrupt();
  test_empty();
  test_silent();
  test_threads();
  printf("sitemap: ok (urlset, index, gzip, bomb, caps, namespaces, whitespace, entities, "
         "billion laughs, XXE, not-XML, truncation, corruption, empty, silence, threads)\n");
  return 0;
}
