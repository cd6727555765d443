/* scope.c and retry.c: the pure policy cut out of crawler.c. */
#include <curl/curl.h>

#include "options.h"
#include "retry.h"
#include "scope.h"
#include "task.h"
#include "uvcrawl.h"

static void test_scope(void) {
  const char *origins[] = {"http://example.com:80", "https://b.org:443"};
  char p1[] = "http://example.com/docs/intro.html?x=1", p2[] = "http://example.com/a/";
  uvcrawl__scope_prefix(p1);
  uvcrawl__scope_prefix(p2);
  ASSERT_EQ(strcmp(p1, "http://example.com/docs/"), 0);
  ASSERT_EQ(strcmp(p2, "http://example.com/a/"), 0);
  const char *prefixes[] = {p1};
  enum { H = UVCRAWL__SCOPE_HOST, D = UVCRAWL__SCOPE_DOMAIN, P = UVCRAWL__SCOPE_PREFIX,
         A = UVCRAWL__SCOPE_ALL };
  ASSERT_EQ(uvcrawl__scope_match(H, "http://example.com/x", origins, 2, prefixes, 1), 1);
  ASSERT_EQ(uvcrawl__scope_match(H, "http://www.example.com/x", origins, 2, prefixes, 1), 0);
  ASSERT_EQ(uvcrawl__scope_match(H, "https://example.com/x", origins, 2, prefixes, 1), 0);
  ASSERT_EQ(uvcrawl__scope_match(D, "http://www.example.com/x", origins, 2, prefixes, 1), 1);
  ASSERT_EQ(uvcrawl__scope_match(D, "https://cdn.b.org/x", origins, 2, prefixes, 1), 1);
  ASSERT_EQ(uvcrawl__scope_match(D, "http://notexample.com/x", origins, 2, prefixes, 1), 0);
  ASSERT_EQ(uvcrawl__scope_match(P, "http://example.com/docs/a/b", origins, 2, prefixes, 1), 1);
  ASSERT_EQ(uvcrawl__scope_match(P, "http://example.com/other", origins, 2, prefixes, 1), 0);
  ASSERT_EQ(uvcrawl__scope_match(A, "http://anything.net/", origins, 2, prefixes, 1), 1);
  ASSERT_EQ(uvcrawl__scope_parse("prefix"), P);
  ASSERT_EQ(uvcrawl__scope_parse(NULL), H);
}

static void test_filters(void) {
  const char *inc[] = {"/docs/", "\\.html$", NULL}, *exc[] = {"\\?print", NULL};
  const char *bad[] = {"ok", "[", NULL};
  regex_t *ri, *re, *rb;
  size_t ni, ne, nb;
  ASSERT_EQ(uvcrawl__filters_compile(inc, &ri, &ni), 0);
  ASSERT_EQ(uvcrawl__filters_compile(exc, &re, &ne), 0);
  ASSERT_EQ(ni, 2);
  ASSERT_EQ(uvcrawl__filters_pass(ri, ni, re, ne, "http://a/docs/x"), 1);
  ASSERT_EQ(uvcrawl__filters_pass(ri, ni, re, ne, "http://a/p.html"), 1);
  ASSERT_EQ(uvcrawl__filters_pass(ri, ni, re, ne, "http://a/p.png"), 0);
  ASSERT_EQ(uvcrawl__filters_pass(ri, ni, re, ne, "http://a/docs/x?print"), 0);
  ASSERT_EQ(uvcrawl__filters_pass(NULL, 0, NULL, 0, "http://a/"), 1);
  ASSERT_EQ(uvcrawl__filters_compile(bad, &rb, &nb), UVCRAWL_EREGEX);
  ASSERT_EQ(nb, 1);
  uvcrawl__filters_free(rb, nb); /* what compiled before the bad one */
  uvcrawl__filters_free(ri, ni);
  uvcrawl__filters_free(re, ne);
}

static void test_retry(void) {
  ASSERT_EQ(uvcrawl__retryable(CURLE_OK, 503), 1);
  ASSERT_EQ(uvcrawl__retryable(CURLE_OK, 429), 1);
  ASSERT_EQ(uvcrawl__retryable(CURLE_OK, 404), 0);
  ASSERT_EQ(uvcrawl__retryable(CURLE_OPERATION_TIMEDOUT, 0), 1);
  ASSERT_EQ(uvcrawl__retryable(CURLE_COULDNT_RESOLVE_HOST, 0), 0);
  uint64_t rng = 12345 | 1;
  for (unsigned a = 0; a < 12; a++) {
    uint64_t base = a < 7 ? 500u << a : 60000;
    if (base > 60000) base = 60000;
    for (int i = 0; i < 100; i++) {
      uint64_t ms = uvcrawl__backoff_ms(a, &rng);
      ASSERT_GE(ms, base / 2);      /* 0.5x ... */
      ASSERT_LE(ms, base / 2 + base); /* ... 1.5x */
    }
  }
}

int main(void) {
  test_scope();
  test_filters();
  test_retry();
  printf("scope: scopes, prefixes, filters, retry policy\n");
  return 0;
}
