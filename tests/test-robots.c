/* Tests for src/robots.c: RFC 9309 parsing, group choice, longest-match, percent-encoding
 * equivalence, Crawl-delay, Sitemaps, the size caps, junk input and the cost of '*'. */
#include <time.h>

#include <uv.h>

#include "robots.h"
#include "task.h"

#define UA "uvcrawl/0.1.0 (+https://example.org/bot)"

typedef struct {
  const char *robots;
  const char *agent;
  const char *path;
  int allowed;
} row_t;

/* RFC 9309 section 5.1, verbatim (the trailing "EOF" line included: it has no ':'). */
#define RFC_EXAMPLE                 \
  "User-Agent: *\n"                 \
  "Disallow: *.gif$\n"              \
  "Disallow: /example/\n"           \
  "Allow: /publications/\n"         \
  "\n"                              \
  "User-Agent: foobot\n"            \
  "Disallow:/\n"                    \
  "Allow:/example/page.html\n"      \
  "Allow:/example/allowed.gif\n"    \
  "\n"                              \
  "User-Agent: barbot\n"            \
  "User-Agent: bazbot\n"            \
  "Disallow: /example/page.html\n"  \
  "\n"                              \
  "User-Agent: quxbot\n"            \
  "\n"                              \
  "EOF\n"

/* RFC 9309 section 5.2. */
#define RFC_LONGEST                           \
  "User-Agent: foobot\n"                      \
  "Allow: /example/page/\n"                   \
  "Disallow: /example/page/disallowed.gif\n"

#define ALL(rules) "User-agent: *\n" rules

static const row_t rows[] = {
  /* RFC 9309 5.1: foobot's own group. */
  {RFC_EXAMPLE, "foobot", "/example/page.html", 1},
  {RFC_EXAMPLE, "foobot", "/example/allowed.gif", 1},
  {RFC_EXAMPLE, "foobot", "/example/other.html", 0},
  {RFC_EXAMPLE, "foobot", "/", 0},
  {RFC_EXAMPLE, "foobot", "/robots.txt", 1}, /* implicitly allowed */
  /* barbot and bazbot share a group, and do not inherit "*". */
  {RFC_EXAMPLE, "barbot", "/example/page.html", 0},
  {RFC_EXAMPLE, "bazbot", "/example/page.html", 0},
  {RFC_EXAMPLE, "barbot", "/example/other.html", 1},
  {RFC_EXAMPLE, "bazbot", "/pics/cat.gif", 1},
  /* quxbot's group is empty: everything allowed, no fallback to "*". */
  {RFC_EXAMPLE, "quxbot", "/example/", 1},
  {RFC_EXAMPLE, "quxbot", "/cat.gif", 1},
  /* Anyone else gets "*". */
  {RFC_EXAMPLE, "otherbot", "/cat.gif", 0},
  {RFC_EXAMPLE, "otherbot", "/a/b/cat.gif", 0},
  {RFC_EXAMPLE, "otherbot", "/cat.gif?size=2", 1}, /* '$' anchors */
  {RFC_EXAMPLE, "otherbot", "/example/", 0},
  {RFC_EXAMPLE, "otherbot", "/example/x.html", 0},
  {RFC_EXAMPLE, "otherbot", "/publications/", 1},
  {RFC_EXAMPLE, "otherbot", "/anything", 1},
  {RFC_EXAMPLE, NULL, "/example/", 0},
  /* Agent matching: case-insensitive, on the product token of both sides. */
  {RFC_EXAMPLE, "FOOBOT", "/", 0},
  {RFC_EXAMPLE, "FooBot/2.1 (+http://foo.example/bot)", "/example/page.html", 1},
  {RFC_EXAMPLE, "foobotx", "/example/", 0}, /* not a prefix match: falls to "*" */
  {"User-agent: UVCrawl/2.0 (compatible)\nDisallow: /x\n", UA, "/x", 0},
  {"User-agent: uvcrawl\nDisallow: /\n", "uvcrawler/1.0", "/a", 1},
  /* RFC 9309 5.2: the longest match wins. */
  {RFC_LONGEST, "foobot", "/example/page/", 1},
  {RFC_LONGEST, "foobot", "/example/page/disallowed.gif", 0},
  {RFC_LONGEST, "foobot", "/example/page/ok.gif", 1},

  /* Google's documented precedence examples. */
  {ALL("Allow: /p\nDisallow: /\n"), UA, "/page", 1},
  {ALL("Allow: /folder\nDisallow: /folder\n"), UA, "/folder/page", 1}, /* tie: allow */
  {ALL("Disallow: /folder\nAllow: /folder\n"), UA, "/folder/page", 1}, /* in either order */
  {ALL("Allow: /page\nDisallow: /*.htm\n"), UA, "/page.htm", 0},
  {ALL("Allow: /page\nDisallow: /*.ph\n"), UA, "/page.php5", 1}, /* 5 octets each: allow */
  {ALL("Allow: /$\nDisallow: /\n"), UA, "/", 1},
  {ALL("Allow: /$\nDisallow: /\n"), UA, "/page.htm", 0},
  {ALL("Disallow: /*/private\nAllow: /public/private\n"), UA, "/public/private", 1},
  {ALL("Disallow: /*/private\nAllow: /public/private\n"), UA, "/x/private", 0},
  /* Google's documented path matching examples. */
  {ALL("Disallow: /fish\n"), UA, "/fish", 0},
  {ALL("Disallow: /fish\n"), UA, "/fish.html", 0},
  {ALL("Disallow: /fish\n"), UA, "/fish/salmon.html", 0},
  {ALL("Disallow: /fish\n"), UA, "/fishheads/yummy.html", 0},
  {ALL("Disallow: /fish\n"), UA, "/fish.php?id=anything", 0},
  {ALL("Disallow: /fish\n"), UA, "/Fish.asp", 1},
  {ALL("Disallow: /fish\n"), UA, "/catfish", 1},
  {ALL("Disallow: /fish\n"), UA, "/?id=fish", 1},
  {ALL("Disallow: /fish\n"), UA, "/desert/fish", 1},
  {ALL("Disallow: /fish*\n"), UA, "/fish", 0},
  {ALL("Disallow: /fish*\n"), UA, "/fishheads", 0},
  {ALL("Disallow: /fish*\n"), UA, "/Fish.asp", 1},
  {ALL("Disallow: /fish/\n"), UA, "/fish/", 0},
  {ALL("Disallow: /fish/\n"), UA, "/fish/?id=anything", 0},
  {ALL("Disallow: /fish/\n"), UA, "/fish/salmon.htm", 0},
  {ALL("Disallow: /fish/\n"), UA, "/fish", 1},
  {ALL("Disallow: /fish/\n"), UA, "/fish.html", 1},
  {ALL("Disallow: /fish/\n"), UA, "/animals/fish/", 1},
  {ALL("Disallow: /*.php\n"), UA, "/filename.php", 0},
  {ALL("Disallow: /*.php\n"), UA, "/folder/filename.php?parameters", 0},
  {ALL("Disallow: /*.php\n"), UA, "/folder/any.php.file.html", 0},
  {ALL("Disallow: /*.php\n"), UA, "/filename.php/", 0},
  {ALL("Disallow: /*.php\n"), UA, "/", 1},
  {ALL("Disallow: /*.php\n"), UA, "/windows.PHP", 1},
  {ALL("Disallow: /*.php$\n"), UA, "/filename.php", 0},
  {ALL("Disallow: /*.php$\n"), UA, "/folder/filename.php", 0},
  {ALL("Disallow: /*.php$\n"), UA, "/filename.php?parameters", 1},
  {ALL("Disallow: /*.php$\n"), UA, "/filename.php/", 1},
  {ALL("Disallow: /*.php$\n"), UA, "/filename.php5", 1},
  {ALL("Disallow: /*.php$\n"), UA, "/windows.PHP", 1},
  {ALL("Disallow: /fish*.php\n"), UA, "/fish.php", 0},
  {ALL("Disallow: /fish*.php\n"), UA, "/fishheads/catfish.php?parameters", 0},
  {ALL("Disallow: /fish*.php\n"), UA, "/Fish.PHP", 1},
  {ALL("Disallow: /*\n"), UA, "/", 0},
  {ALL("Disallow: *\n"), UA, "/x", 0},
  {ALL("Disallow: /$\n"), UA, "/", 0},
  {ALL("Disallow: /$\n"), UA, "/x", 1},
  {ALL("Disallow: /$\n"), UA, "", 0}, /* an empty path is "/" */
  {ALL("Disallow: /a**b\n"), UA, "/a/x/b", 0},
  {ALL("Disallow: /a*b*c$\n"), UA, "/abxbc", 0},
  {ALL("Disallow: /a*b*c$\n"), UA, "/abxbcd", 1},
  {ALL("Disallow: /a$b\n"), UA, "/a$b", 0}, /* '$' only anchors at the end */
  {ALL("Disallow: /a$b\n"), UA, "/a", 1},

  /* Groups. */
  {"User-agent: a\nDisallow: /x\n\nUser-agent: b\nDisallow: /y\n\nUser-agent: A\nDisallow: /z\n",
   "a", "/z", 0},
  {"User-agent: a\nDisallow: /x\n\nUser-agent: b\nDisallow: /y\n\nUser-agent: A\nDisallow: /z\n",
   "a", "/x", 0},
  {"User-agent: a\nDisallow: /x\n\nUser-agent: b\nDisallow: /y\n\nUser-agent: A\nDisallow: /z\n",
   "a", "/y", 1},
  {"User-agent: *\nDisallow: /\n\nUser-agent: uvcrawl\nDisallow: /private\n", UA, "/public", 1},
  {"User-agent: *\nDisallow: /\n\nUser-agent: uvcrawl\nDisallow: /private\n", UA, "/private", 0},
  {"User-agent: *\nDisallow: /\n\nUser-agent: uvcrawl\nDisallow: /private\n", "other", "/public",
   0},
  {"User-agent: *\nDisallow: /a\n\nUser-agent: *\nDisallow: /b\n", UA, "/b", 0}, /* "*" merged */
  {"User-agent: googlebot\nDisallow: /\n", UA, "/", 1}, /* no group applies: allowed */
  {"User-agent: googlebot\nUser-agent: uvcrawl\nDisallow: /s\n", UA, "/s", 0},
  {"User-agent: uvcrawl\n\nUser-agent: *\nDisallow: /\n", UA, "/x", 0}, /* blank lines too */
  {"User-agent: uvcrawl\nDisallow: /a\nUser-agent: other\nDisallow: /b\n", UA, "/b", 1},
  {"Disallow: /\nUser-agent: *\nDisallow: /x\n", UA, "/y", 1}, /* rules before any agent */
  {"User-agent: *\nDisallow: /\n\nUser-agent: uvcrawl\n", UA, "/x", 1},
  {"User-agent: a\nFoo: bar\nUser-agent: uvcrawl\nDisallow: /x\n", UA, "/x", 0},
  {"User-agent: a\nSitemap: http://e/s.xml\nUser-agent: uvcrawl\nDisallow: /x\n", UA, "/x", 0},
  {"User-agent: uvcrawl\nCrawl-delay: 1\nUser-agent: *\nDisallow: /\n", UA, "/x", 1},
  {"User-agent: * uvcrawl\nDisallow: /x\n", UA, "/x", 0}, /* the value's token is "*" */

  /* Syntax: keys, whitespace, comments, line endings, BOM, empty values, junk lines. */
  {"user-AGENT :  uvcrawl\n  DISALLOW\t:\t/x \n", UA, "/x", 0},
  {"Useragent: *\nDissallow: /x\n", UA, "/x", 0},
  {ALL("Disallow: /x # not /y\n# Disallow: /y\n"), UA, "/x", 0},
  {ALL("Disallow: /x # not /y\n# Disallow: /y\n"), UA, "/y", 1},
  {"User-agent: * # everyone\nDisallow: /a#b\n", UA, "/abc", 0},
  {"User-agent: *\rDisallow: /x\rAllow: /x/y\r", UA, "/x/z", 0},
  {"User-agent: *\rDisallow: /x\rAllow: /x/y\r", UA, "/x/y", 1},
  {"User-agent: *\r\nDisallow: /x\r\n", UA, "/x", 0},
  {"User-agent: *\r\n\r\nDisallow: /x\n\rAllow: /x/y", UA, "/x/y", 1}, /* mixed, no final EOL */
  {"\xEF\xBB\xBFUser-agent: *\nDisallow: /x\n", UA, "/x", 0},
  {ALL("Disallow:\n"), UA, "/x", 1},
  {ALL("Disallow: \nDisallow: /y\n"), UA, "/x", 1},
  {ALL("Disallow: \nDisallow: /y\n"), UA, "/y", 0},
  {ALL("Allow:\nDisallow: /\n"), UA, "/x", 0},
  {ALL("Noindex: /x\nFoo bar\n:\n::\n"), UA, "/x", 1},
  {"", UA, "/", 1},
  {ALL("Disallow: /\n"), UA, "/robots.txt", 1},
  {ALL("Disallow: /\n"), UA, "/robots.txt?x=1", 0},

  /* Percent-encoding equivalence (RFC 9309 2.2.2). */
  {ALL("Disallow: /a%7Eb\n"), UA, "/a~b", 0},
  {ALL("Disallow: /a~b\n"), UA, "/a%7eb", 0},
  {ALL("Disallow: /foo/bar/%62%61%7A\n"), UA, "/foo/bar/baz", 0},
  {ALL("Disallow: /\xE2\x82\xAC\n"), UA, "/%E2%82%AC", 0},
  {ALL("Disallow: /\xE2\x82\xAC\n"), UA, "/%e2%82%ac", 0},
  {ALL("Disallow: /%e2%82%ac\n"), UA, "/%E2%82%AC/x", 0},
  {ALL("Disallow: /foo/bar/\xE3\x83\x84\n"), UA, "/foo/bar/%E3%83%84", 0},
  {ALL("Disallow: /a%2Fb\n"), UA, "/a/b", 1}, /* reserved: not decoded */
  {ALL("Disallow: /a%2Fb\n"), UA, "/a%2fb", 0},
  {ALL("Disallow: /a b\n"), UA, "/a%20b", 0},
  {ALL("Disallow: /a{b}\n"), UA, "/a%7Bb%7D", 0},
  {ALL("Disallow: /100%\n"), UA, "/100%25", 0}, /* a stray '%' is "%25" */
  /* "/%E2%82" (7 octets) outranks "/\xE2*" (5: "%E2" and "*"). */
  {ALL("Allow: /\xE2*\nDisallow: /%E2%82\n"), UA, "/%E2%82%AC", 0},

  /* Query strings. */
  {ALL("Disallow: /*?\n"), UA, "/page?x=1", 0},
  {ALL("Disallow: /*?\n"), UA, "/page", 1},
  {ALL("Disallow: /search?q=\n"), UA, "/search?q=cats", 0},
  {ALL("Disallow: /search?q=\n"), UA, "/search", 1},
  {ALL("Disallow: /*?\nAllow: /*?lang=en$\n"), UA, "/p?lang=en", 1},
  {ALL("Disallow: /*?\nAllow: /*?lang=en$\n"), UA, "/p?lang=en&x", 0},
  {ALL("Disallow: /x\n"), UA, "/y#/x", 1}, /* a fragment is not part of the path */
};

/* Parses from an exactly-sized heap copy so ASan sees any read past the end of the body. */
static uvcrawl__robots_t *parse_exact(const char *text, size_t len, const char *agent) {
  char *copy = malloc(len ? len : 1);
  ASSERT_NOT_NULL(copy);
  if (len) memcpy(copy, text, len);
  uvcrawl__robots_t *r = NULL;
  ASSERT_EQ(uvcrawl__robots_parse(len ? copy : NULL, len, agent, &r), 0);
  ASSERT_NOT_NULL(r);
  free(copy);
  return r;
}

static uvcrawl__robots_t *parse(const char *text, const char *agent) {
  return parse_exact(text, strlen(text), agent);
}

static void test_table(void) {
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    const row_t *t = &rows[i];
    uvcrawl__robots_t *r = parse(t->robots, t->agent);
    int got = uvcrawl__robots_allowed(r, t->path);
    if (got != t->allowed)
      FAIL("row %zu: agent \"%s\" path \"%s\": got %s, want %s\n--- robots.txt ---\n%s", i,
           t->agent ? t->agent : "(null)", t->path, got ? "allowed" : "disallowed",
           t->allowed ? "allowed" : "disallowed", t->robots);
    uvcrawl__robots_free(r);
  }
}

static void check_delay(const char *text, const char *agent, long want, int want_capped) {
  uvcrawl__robots_t *r = parse(text, agent);
  int capped = -1;
  long got = uvcrawl__robots_crawl_delay_ms(r, &capped);
  if (got != want || capped != want_capped)
    FAIL("crawl-delay of \"%s\" for %s: got %ld (capped %d), want %ld (capped %d)", text, agent,
         got, capped, want, want_capped);
  ASSERT_EQ(uvcrawl__robots_crawl_delay_ms(r, NULL), want); /* capped may be NULL */
  uvcrawl__robots_free(r);
}

static void test_crawl_delay(void) {
  check_delay(ALL("Crawl-delay: 5\n"), UA, 5000, 0);
  check_delay(ALL("crawl-delay:0.5\n"), UA, 500, 0);
  check_delay(ALL("Crawl-delay: 1.25\n"), UA, 1250, 0);
  check_delay(ALL("Crawl-delay: .5\n"), UA, 500, 0);
  check_delay(ALL("Crawl-delay: 2.\n"), UA, 2000, 0);
  check_delay(ALL("Crawl-delay: 0\n"), UA, 0, 0);
  check_delay(ALL("Crawl-delay: 60\n"), UA, 60000, 0);
  check_delay(ALL("Crawl-delay: 60.0000\n"), UA, 60000, 0);
  check_delay(ALL("Crawl-delay: 60.0001\n"), UA, 60000, 1);
  check_delay(ALL("Crawl-delay: 120\n"), UA, 60000, 1);
  check_delay(ALL("Crawl-delay: 99999999999999999999999\n"), UA, 60000, 1);
  check_delay(ALL("Disallow: /x\n"), UA, -1, 0);                  /* absent */
  check_delay(ALL("Crawl-delay: soon\nCrawl-delay: -3\nCrawl-delay: 1,5\nCrawl-delay: .\n"), UA,
              -1, 0);                                             /* not numbers */
  check_delay("Crawl-delay: 9\nUser-agent: *\n", UA, -1, 0);     /* before any group */
  /* Per group: ours when it names us (even without a delay), "*" otherwise. */
  const char *two = "User-agent: *\nCrawl-delay: 10\n\nUser-agent: uvcrawl\nCrawl-delay: 2\n";
  check_delay(two, UA, 2000, 0);
  check_delay(two, "otherbot", 10000, 0);
  check_delay("User-agent: *\nCrawl-delay: 10\n\nUser-agent: uvcrawl\nDisallow: /x\n", UA, -1, 0);
  /* Merged groups: the largest wins. */
  check_delay("User-agent: uvcrawl\nCrawl-delay: 3\n\nUser-agent: uvcrawl\nCrawl-delay: 7\n"
              "\nUser-agent: uvcrawl\nCrawl-delay: 1\n",
              UA, 7000, 0);
  check_delay("User-agent: uvcrawl\nCrawl-delay: 60\nUser-agent: uvcrawl\nCrawl-delay: 61\n", UA,
              60000, 1);
}

static void test_sitemaps(void) {
  const char *text = "Sitemap: https://e.com/s1.xml\n"
                     "User-agent: *\n"
                     "SITEMAP :https://e.com/s2.xml # comment\n"
                     "Disallow: /x\n"
                     "User-agent: otherbot\n"
                     "sitemap: https://e.com/s3.xml?a=b\n"
                     "Sitemap:\n"
                     "Sitemap: http://bad\x01url/\n";
  for (int k = 0; k < 2; k++) { /* the same for every agent: Sitemap lines are global */
    uvcrawl__robots_t *r = parse(text, k ? "otherbot" : UA);
    ASSERT_EQ(uvcrawl__robots_sitemaps(r), 3);
    ASSERT_STR_EQ(uvcrawl__robots_sitemap(r, 0), "https://e.com/s1.xml");
    ASSERT_STR_EQ(uvcrawl__robots_sitemap(r, 1), "https://e.com/s2.xml");
    ASSERT_STR_EQ(uvcrawl__robots_sitemap(r, 2), "https://e.com/s3.xml?a=b");
    ASSERT_NULL(uvcrawl__robots_sitemap(r, 3));
    ASSERT_EQ(uvcrawl__robots_allowed(r, "/x"), k);
    uvcrawl__robots_free(r);
  }
  uvcrawl__robots_t *r = parse(ALL("Disallow: /\n"), UA);
  ASSERT_EQ(uvcrawl__robots_sitemaps(r), 0);
  ASSERT_NULL(uvcrawl__robots_sitemap(r, 0));
  uvcrawl__robots_free(r);

  /* Capped at UVCRAWL__ROBOTS_MAX_SITEMAPS. */
  size_t cap = 64 * (UVCRAWL__ROBOTS_MAX_SITEMAPS + 10), len = 0;
  char *big = malloc(cap);
  ASSERT_NOT_NULL(big);
  for (unsigned i = 0; i < UVCRAWL__ROBOTS_MAX_SITEMAPS + 10; i++)
    len += (size_t)snprintf(big + len, cap - len, "Sitemap: https://e.com/%u.xml\n", i);
  r = parse_exact(big, len, UA);
  ASSERT_EQ(uvcrawl__robots_sitemaps(r), UVCRAWL__ROBOTS_MAX_SITEMAPS);
  ASSERT_STR_EQ(uvcrawl__robots_sitemap(r, 999), "https://e.com/999.xml");
  uvcrawl__robots_free(r);
  free(big);
}

static void test_fixed(void) {
  uvcrawl__robots_t *a = uvcrawl__robots_allow_all(), *d = uvcrawl__robots_disallow_all();
  ASSERT_NOT_NULL(a);
  ASSERT_NOT_NULL(d);
  const char *paths[] = {"/", "", "/a/b?c=d", "/private/%E2%82%AC"};
  for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
    ASSERT_EQ(uvcrawl__robots_allowed(a, paths[i]), 1);
    ASSERT_EQ(uvcrawl__robots_allowed(d, paths[i]), 0);
  }
  ASSERT_EQ(uvcrawl__robots_allowed(d, "/robots.txt"), 1);
  ASSERT_EQ(uvcrawl__robots_allowed(d, "/robots%2etxt"), 1); /* '.' is unreserved */
  ASSERT_EQ(uvcrawl__robots_allowed(d, "/robots.txtx"), 0);
  int capped = -1;
  ASSERT_EQ(uvcrawl__robots_crawl_delay_ms(a, &capped), -1);
  ASSERT_EQ(capped, 0);
  ASSERT_EQ(uvcrawl__robots_crawl_delay_ms(d, NULL), -1);
  ASSERT_EQ(uvcrawl__robots_sitemaps(a), 0);
  ASSERT_EQ(uvcrawl__robots_sitemaps(d), 0);
  ASSERT_NULL(uvcrawl__robots_sitemap(d, 0));
  uvcrawl__robots_free(a);
  uvcrawl__robots_free(d);
  uvcrawl__robots_free(NULL);

  uvcrawl__robots_t *r = NULL; /* an empty body, even a NULL one */
  ASSERT_EQ(uvcrawl__robots_parse(NULL, 0, UA, &r), 0);
  ASSERT_EQ(uvcrawl__robots_allowed(r, "/"), 1);
  uvcrawl__robots_free(r);
}

/* A body over 500 KiB: rules before the cap count, the line the cap cuts and the rest do not. */
static void test_size_cap(void) {
  const size_t max = UVCRAWL__ROBOTS_MAX_BYTES, cap = max + 4096;
  char *b = malloc(cap);
  ASSERT_NOT_NULL(b);
  size_t len = 0;
  const char *head = "User-agent: *\nDisallow: /early\n";
  memcpy(b, head, strlen(head));
  len += strlen(head);
  const char *pad = "# padding padding padding padding padding padding padding padding\n";
  while (len + strlen(pad) <= max - 40) {
    memcpy(b + len, pad, strlen(pad));
    len += strlen(pad);
  }
  const char *last = "Disallow: /last\n";
  memcpy(b + len, last, strlen(last));
  len += strlen(last);
  while (len < max - 13) b[len++] = ' '; /* so the next line starts 12 bytes before the cap */
  b[len++] = '\n';
  /* Cut at the cap this line would read "Disallow: /c", broader than what it says. */
  const char *cut = "Disallow: /cut-rule-is-longer\n";
  memcpy(b + len, cut, strlen(cut));
  len += strlen(cut);
  ASSERT_GT(len, max);
  const char *late = "Disallow: /late\n";
  memcpy(b + len, late, strlen(late));
  len += strlen(late);

  uvcrawl__robots_t *r = parse_exact(b, len, UA);
  ASSERT_EQ(uvcrawl__robots_allowed(r, "/early"), 0);
  ASSERT_EQ(uvcrawl__robots_allowed(r, "/last"), 0);
  ASSERT_EQ(uvcrawl__robots_allowed(r, "/late"), 1);
  ASSERT_EQ(uvcrawl__robots_allowed(r, "/cat"), 1);
  ASSERT_EQ(uvcrawl__robots_allowed(r, "/cut-rule-is-longer"), 1);
  uvcrawl__robots_free(r);

  /* The same rule inside the cap does count (the test above is not vacuous). */
  r = parse(ALL("Disallow: /late\n"), UA);
  ASSERT_EQ(uvcrawl__robots_allowed(r, "/late"), 0);
  uvcrawl__robots_free(r);

  /* A line whose last byte is the last one read, its line feed the first one not read, is
   * whole: it counts. */
  memcpy(b, head, strlen(head));
  len = strlen(head);
  const char *edge = "Disallow: /edge";
  while (len < max - strlen(edge)) b[len++] = '\n';
  memcpy(b + len, edge, strlen(edge));
  len += strlen(edge);
  ASSERT_EQ(len, max);
  b[len++] = '\n';
  const char *more = "Disallow: /more\n";
  memcpy(b + len, more, strlen(more));
  len += strlen(more);
  r = parse_exact(b, len, UA);
  ASSERT_EQ(uvcrawl__robots_allowed(r, "/edge"), 0);
  ASSERT_EQ(uvcrawl__robots_allowed(r, "/more"), 1);
  uvcrawl__robots_free(r);
  free(b);
}

static void test_line_and_rule_caps(void) {
  /* An over-long line is skipped whole; the lines around it still count. */
  size_t cap = UVCRAWL__ROBOTS_MAX_LINE + 256, len = 0;
  char *b = malloc(cap);
  ASSERT_NOT_NULL(b);
  len = (size_t)snprintf(b, cap, "User-agent: *\nDisallow: /a");
  while (len < 14 + UVCRAWL__ROBOTS_MAX_LINE + 1) b[len++] = 'a';
  len += (size_t)snprintf(b + len, cap - len, "\nDisallow: /x\n");
  uvcrawl__robots_t *r = parse_exact(b, len, UA);
  ASSERT_EQ(uvcrawl__robots_allowed(r, "/aaa"), 1);
  ASSERT_EQ(uvcrawl__robots_allowed(r, "/x"), 0);
  uvcrawl__robots_free(r);
  free(b);

  /* Rules past UVCRAWL__ROBOTS_MAX_RULES are ignored. */
  cap = 32 * (UVCRAWL__ROBOTS_MAX_RULES + 10);
  b = malloc(cap);
  ASSERT_NOT_NULL(b);
  len = (size_t)snprintf(b, cap, "User-agent: *\n");
  for (unsigned i = 0; i < UVCRAWL__ROBOTS_MAX_RULES + 10; i++)
    len += (size_t)snprintf(b + len, cap - len, "Disallow: /r%u$\n", i);
  r = parse_exact(b, len, UA);
  ASSERT_EQ(uvcrawl__robots_allowed(r, "/r0"), 0);
  ASSERT_EQ(uvcrawl__robots_allowed(r, "/r9999"), 0);
  ASSERT_EQ(uvcrawl__robots_allowed(r, "/r10000"), 1);
  ASSERT_EQ(uvcrawl__robots_allowed(r, "/r10009"), 1);
  uvcrawl__robots_free(r);
  free(b);
}

/* Binary junk must parse without crashing, and NUL bytes must not end the body early. */
static void test_junk(void) {
  uint32_t seed = 12345;
  char buf[4096];
  const char *paths[] = {"/", "/a", "/%00", "/\x7f\xff", "/a*b$", "/%zz%", "/robots.txt"};
  for (int round = 0; round < 300; round++) {
    size_t n = (size_t)(round * 13) % sizeof(buf);
    for (size_t i = 0; i < n; i++) {
      seed = seed * 1103515245u + 12345u;
      /* bias toward the bytes the parser cares about */
      static const char hot[] = "\n\r:#*$%/ \tUser-agent:Disallow:Allow:Crawl-delay:Sitemap:";
      unsigned x = seed >> 16;
      buf[i] = (x & 1) ? hot[(x >> 1) % (sizeof(hot) - 1)] : (char)(x >> 8);
    }
    uvcrawl__robots_t *r = parse_exact(buf, n, round % 2 ? UA : "*");
    for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++) {
      int a = uvcrawl__robots_allowed(r, paths[k]);
      ASSERT(a == 0 || a == 1);
    }
    (void)uvcrawl__robots_crawl_delay_ms(r, NULL);
    for (size_t k = 0; k < uvcrawl__robots_sitemaps(r); k++)
      ASSERT_NOT_NULL(uvcrawl__robots_sitemap(r, k));
    uvcrawl__robots_free(r);
  }
  /* A NUL in the middle of the body is just another byte. */
  static const char nul[] = "User-agent: *\nDisallow: /a\0b\nDisallow: /c\n";
  uvcrawl__robots_t *r = parse_exact(nul, sizeof(nul) - 1, UA);
  ASSERT_EQ(uvcrawl__robots_allowed(r, "/c"), 0);
  ASSERT_EQ(uvcrawl__robots_allowed(r, "/a"), 1);
  uvcrawl__robots_free(r);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* '*' must not backtrack exponentially: a naive recursive matcher needs ~n^9 steps here. */
static void test_pathological(void) {
  enum { N = 10000 };
  char *path = malloc(N + 2);
  ASSERT_NOT_NULL(path);
  path[0] = '/';
  memset(path + 1, 'a', N);
  path[N + 1] = '\0';
  const char *texts[] = {
      ALL("Disallow: /a*a*a*a*a*a*a*a*a*b\n"),
      ALL("Disallow: /*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b$\n"),
      ALL("Disallow: /a*a*a*a*a*a*a*a*a*b\nDisallow: /*a*a*a*b$\nDisallow: /*aaaaaaaaaaaab\n"),
  };
  double t0 = now_s();
  for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
    uvcrawl__robots_t *r = parse(texts[i], UA);
    ASSERT_EQ(uvcrawl__robots_allowed(r, path), 1); /* no 'b': nothing matches */
    path[N] = 'b';                                  /* now the last one does */
    ASSERT_EQ(uvcrawl__robots_allowed(r, path), 0);
    path[N] = 'a';
    uvcrawl__robots_free(r);
  }
  double dt = now_s() - t0;
  if (dt >= 0.5) FAIL("pathological patterns took %.3f s", dt);
  free(path);
}

int main(void) {
  test_table();
  test_crawl_delay();
  test_sitemaps();
  test_fixed();
  test_size_cap();
  test_line_and_rule_caps();
  test_junk();
  test_pathological();
  printf("robots: ok (%zu table rows, crawl-delay, sitemaps, caps, junk, '*' cost)\n",
         sizeof(rows) / sizeof(rows[0]));
  return 0;
}
