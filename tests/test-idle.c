/* A crawl waiting on a slow server leaves its loop asleep: the loop-lag timer stops ticking
 * once the loop has had nothing to do for a few milliseconds, instead of waking it 1,000
 * times a second, and starts again with the next event. Counted in loop iterations (a check
 * handle of the test's own), per fetched URL, against a server that takes 300 ms per answer:
 * a 1 ms timer would make about 300 of them per URL. */
#include "siteproc.h"
#include "uvcrawl.h"

static uint64_t iterations;
static uvcrawl_stats_t stats;

static void on_iteration(uv_check_t *h) {
  (void)h;
  iterations++;
}

static void on_done(uvcrawl_t *c, int status, void *arg) {
  (void)arg;
  ASSERT_EQ(status, 0);
  uvcrawl_get_stats(c, &stats, sizeof(stats));
  uvcrawl_close(c, NULL, NULL);
}

int main(int argc, char **argv) {
  char *args[] = {argv[1], "--pages", "4", "--delay", "300", NULL};
  char seed[64];
  int port;
  uv_loop_t loop;
  uv_check_t check;
  uvcrawl_t *c;
  uvcrawl_options_t *opts;
  ASSERT_EQ(argc, 2);
  pid_t pid = siteproc_start(argv[1], args, &port);
  ASSERT_EQ(uv_loop_init(&loop), 0);
  uv_check_init(&loop, &check);
  uv_check_start(&check, on_iteration);
  uv_unref((uv_handle_t *)&check);
  ASSERT_EQ(uvcrawl_options_new(&opts), 0);
  /* One request at a time: the loop waits 300 ms for each. */
  ASSERT_EQ(uvcrawl_options_set_int(opts, UVCRAWL_OPT_MAX_INFLIGHT, 1), 0);
  ASSERT_EQ(uvcrawl_create(&loop, opts, &c), 0);
  uvcrawl_options_free(opts);
  snprintf(seed, sizeof(seed), "http://127.0.0.1:%d/", port);
  ASSERT_EQ(uvcrawl_add_seed(c, seed), 0);
  ASSERT_EQ(uvcrawl_start(c, NULL, on_done, NULL), 0);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  uv_close((uv_handle_t *)&check, NULL);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  siteproc_stop(pid);
  /* robots.txt and every page, each answered after 300 ms */
  ASSERT_GE(stats.pages, 4);
  printf("idle: %llu loop iterations for %llu URLs\n", (unsigned long long)iterations,
         (unsigned long long)stats.pages);
  ASSERT_LE(iterations, 60 * (stats.pages + 1));
  return 0;
}
