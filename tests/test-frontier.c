/* The frontier: FIFO order, exact dedup, interned referrers, growth past many rehashes. */
#include "task.h"
#include "uvcrawl-int.h"

int main(void) {
  uvcrawl__frontier_t *f = uvcrawl__frontier_new();
  uvcrawl__item_t it;
  char url[64];
  ASSERT_NOT_NULL(f);

  ASSERT_EQ(uvcrawl__frontier_add(f, "http://a/", NULL, 0), 1);
  ASSERT_EQ(uvcrawl__frontier_add(f, "http://a/", NULL, 0), 0);
  ASSERT_EQ(uvcrawl__frontier_add(f, "http://a/x", "http://a/", 1), 1);
  ASSERT_EQ(uvcrawl__frontier_mark(f, "http://a/y", NULL), 1);
  ASSERT_EQ(uvcrawl__frontier_add(f, "http://a/y", "http://a/", 1), 0);
  ASSERT_EQ(uvcrawl__frontier_queued(f), 2);
  ASSERT_EQ(uvcrawl__frontier_seen(f), 3);

  ASSERT_EQ(uvcrawl__frontier_pop(f, &it), 1);
  ASSERT_STR_EQ(it.url, "http://a/");
  ASSERT_NULL(it.referrer);
  ASSERT_EQ(it.depth, 0);
  const char *root = it.url;
  ASSERT_EQ(uvcrawl__frontier_pop(f, &it), 1);
  ASSERT_STR_EQ(it.url, "http://a/x");
  /* The referrer is the frontier's own copy of the page URL, stored once. */
  ASSERT(it.referrer == root);
  ASSERT_EQ(it.depth, 1);
  ASSERT_EQ(uvcrawl__frontier_pop(f, &it), 0);

  /* 200,000 URLs: every one queued once, popped in insertion order, all still seen. */
  for (int i = 0; i < 200000; i++) {
    snprintf(url, sizeof(url), "http://h/p/%d.html", i);
    ASSERT_EQ(uvcrawl__frontier_add(f, url, "http://a/", 2), 1);
    if (i % 3 == 0) ASSERT_EQ(uvcrawl__frontier_add(f, url, NULL, 9), 0);
    if (i % 1000 == 999) {
      /* interleave pops so the ring wraps */
      ASSERT_EQ(uvcrawl__frontier_pop(f, &it), 1);
    }
  }
  ASSERT_EQ(uvcrawl__frontier_seen(f), 200003);
  ASSERT_EQ(uvcrawl__frontier_queued(f), 200000 - 200);
  int expect = 200;
  while (uvcrawl__frontier_pop(f, &it)) {
    snprintf(url, sizeof(url), "http://h/p/%d.html", expect++);
    ASSERT_STR_EQ(it.url, url);
    ASSERT_EQ(it.depth, 2);
  }
  ASSERT_EQ(expect, 200000);
  ASSERT_GT(uvcrawl__frontier_memory(f), 200000 * 16);
  uvcrawl__frontier_free(f);
  printf("frontier: ok\n");
  return 0;
}
