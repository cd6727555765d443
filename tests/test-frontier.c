/* The frontier: FIFO order, exact dedup, interned referrers, growth past many rehashes. */
#include "task.h"
#include "frontier.h"
#include "robots.h"
#include "uvcrawl.h"

#define MS 1000000ULL

/* Per-host politeness: caps, gaps, round-robin, retries, throttling, robots holds. */
static void check_hosts(void) {
  uvcrawl__frontier_t *f = uvcrawl__frontier_new();
  uvcrawl__item_t it, held[4];
  uint64_t wake;
  ASSERT_NOT_NULL(f);
  uvcrawl__frontier_set_policy(f, 2, 100, 0, 1);
  ASSERT_EQ(uvcrawl__frontier_add(f, "http://a/1", NULL, 0), 1);
  ASSERT_EQ(uvcrawl__frontier_add(f, "http://a/2", NULL, 0), 1);
  ASSERT_EQ(uvcrawl__frontier_add(f, "http://a/3", NULL, 0), 1);
  ASSERT_EQ(uvcrawl__frontier_add(f, "http://b:81/1", NULL, 0), 1);
  ASSERT_EQ(uvcrawl__frontier_add(f, "http://b:81/private/x", NULL, 0), 1);

  /* Nothing starts before robots.txt is known; each host asks for it once. */
  ASSERT_EQ(uvcrawl__frontier_next(f, 0, &it, &wake), 0);
  const char *o1 = uvcrawl__frontier_robots_needed(f);
  const char *o2 = uvcrawl__frontier_robots_needed(f);
  ASSERT_STR_EQ(o1, "http://a:80");
  ASSERT_STR_EQ(o2, "http://b:81");
  ASSERT_NULL(uvcrawl__frontier_robots_needed(f));
  uvcrawl__robots_t *r;
  const char *txt = "User-agent: *\nDisallow: /private\nCrawl-delay: 0.3\n";
  ASSERT_EQ(uvcrawl__robots_parse(txt, strlen(txt), "uvcrawl", &r), 0);
  uvcrawl__frontier_set_robots(f, "http://b:81", r);
  uvcrawl__frontier_set_robots(f, "http://a:80", uvcrawl__robots_allow_all());

  /* Round-robin: a, b, then a again (b's crawl-delay is 300 ms, a's --delay 100 ms). */
  ASSERT_EQ(uvcrawl__frontier_next(f, 1000 * MS, &held[0], &wake), 1);
  ASSERT_EQ(uvcrawl__frontier_next(f, 1000 * MS, &held[1], &wake), 1);
  ASSERT(strncmp(held[0].url, "http://a/", 9) == 0 || strncmp(held[1].url, "http://a/", 9) == 0);
  ASSERT(strncmp(held[0].url, "http://b:81/1", 13) == 0 ||
         strncmp(held[1].url, "http://b:81/1", 13) == 0);
  /* Both hosts now wait for their gap: the earliest wake is a's, 100 ms on. */
  ASSERT_EQ(uvcrawl__frontier_next(f, 1000 * MS, &it, &wake), 0);
  ASSERT_EQ(wake, 1100 * MS);
  ASSERT_EQ(uvcrawl__frontier_next(f, 1100 * MS, &held[2], &wake), 1);
  ASSERT_STR_EQ(held[2].url, "http://a/2");
  /* a has 2 in flight = --per-host: a/3 waits although its gap has passed. */
  ASSERT_EQ(uvcrawl__frontier_next(f, 1250 * MS, &it, &wake), 0);
  ASSERT_EQ(wake, 1300 * MS); /* only b waits on time */
  /* b's next URL is disallowed: handed out flagged, costing b no slot and no gap. */
  ASSERT_EQ(uvcrawl__frontier_next(f, 1300 * MS, &it, &wake), 1);
  ASSERT_STR_EQ(it.url, "http://b:81/private/x");
  ASSERT_EQ(it.disallowed, 1);

  /* a/1 is throttled (429, Retry-After 2 s) and retried: a waits 2 s, then a/1 comes first. */
  const uvcrawl__item_t *a1 = strcmp(held[0].url, "http://a/1") == 0 ? &held[0] : &held[1];
  uvcrawl__frontier_done(f, a1, 1300 * MS, 2000);
  uvcrawl__item_t again = *a1;
  again.attempts++;
  ASSERT_EQ(uvcrawl__frontier_retry(f, &again, 3300 * MS), 0);
  ASSERT_EQ(uvcrawl__frontier_next(f, 3000 * MS, &it, &wake), 0);
  ASSERT_EQ(wake, 3300 * MS);
  ASSERT_EQ(uvcrawl__frontier_next(f, 3300 * MS, &it, &wake), 1);
  ASSERT_STR_EQ(it.url, "http://a/1");
  ASSERT_EQ(it.attempts, 1);
  /* The throttled host keeps a raised delay (2000 ms + its own 100) until it recovers. */
  uvcrawl__frontier_done(f, &held[2], 3300 * MS, 0);
  ASSERT_EQ(uvcrawl__frontier_next(f, 3400 * MS, &it, &wake), 0);
  ASSERT_GE(wake, 3300 * MS + 1500 * MS);
  ASSERT_EQ(uvcrawl__frontier_queued(f), 1);
  uvcrawl__frontier_free(f);
}

/* --random-delay on a fake clock: each gap is 0.5x..1.5x of the delay, and they vary (the
 * real-time crawl in test_polite.py only checks the lower bound, which load cannot break). */
static void check_random_delay(void) {
  uvcrawl__frontier_t *f = uvcrawl__frontier_new();
  uvcrawl__item_t it;
  uint64_t wake, now = 5000 * MS, sum = 0, lo = UINT64_MAX, hi = 0;
  char url[64];
  ASSERT_NOT_NULL(f);
  uvcrawl__frontier_set_policy(f, 0, 100, 1, 0);
  for (int i = 0; i < 201; i++) {
    snprintf(url, sizeof(url), "http://r/%d", i);
    ASSERT_EQ(uvcrawl__frontier_add(f, url, NULL, 0), 1);
  }
  ASSERT_EQ(uvcrawl__frontier_next(f, now, &it, &wake), 1);
  for (int i = 0; i < 200; i++) {
    uvcrawl__frontier_done(f, &it, now, 0);
    ASSERT_EQ(uvcrawl__frontier_next(f, now, &it, &wake), 0); /* the gap is not over */
    uint64_t gap = wake - now;
    ASSERT_GE(gap, 50 * MS);
    ASSERT_LE(gap, 150 * MS);
    ASSERT_EQ(uvcrawl__frontier_next(f, wake - 1, &it, &wake), 0);
    now += gap;
    ASSERT_EQ(uvcrawl__frontier_next(f, now, &it, &wake), 1);
    sum += gap;
    if (gap < lo) lo = gap;
    if (gap > hi) hi = gap;
  }
  ASSERT_GE(sum / 200, 85 * MS); /* spread around the delay, not stuck at one end */
  ASSERT_LE(sum / 200, 115 * MS);
  ASSERT_GE(hi - lo, 50 * MS);
  uvcrawl__frontier_free(f);
}

int main(void) {
  check_random_delay();
  check_hosts();
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
