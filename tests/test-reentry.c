/* Re-entrancy: uvcrawl_stop() and uvcrawl_close() from inside the crawler's callbacks, at every
 * point of a crawl, through the public API only (include/uvcrawl.h).
 *
 * The site's /k/ area (tests/siteserver.c) yields one of every kind of record: 200, 404, a 301
 * to a good page, a 301 into a robots.txt-disallowed path, an endless redirect chain, an
 * overlong link, a reset connection, a slow page, a binary body, a 500, and out-of-scope links
 * and a redirect checked on a second server (options.check). A first crawl counts the records
 * (R) and checks that every kind is there; then for each N in 1..R the crawl is run once with
 * uvcrawl_stop() and once with uvcrawl_close() from the N-th on_result, and twice more with
 * each from on_done. Every run must end with the close callback having run and
 * uv_loop_close() == 0; under ASan/UBSan (meson's build-asan) nothing may be touched after
 * it was freed. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "siteproc.h"
#include "task.h"
#include "uvcrawl.h"

enum mode { RUN_ALL, STOP_AT, CLOSE_AT, DONE_STOP, DONE_CLOSE };

static char seed[128], ext_origin[128], robots_path[64];
static enum mode mode;
static unsigned at;          /* STOP_AT / CLOSE_AT: the record position */
static unsigned results, dones, closes, after_close;
static int done_status;
static uvcrawl_t *crawler;
static uv_timer_t later; /* DONE_STOP: the close, from outside any crawler callback */
static uv_loop_t *crawl_loop;

/* RUN_ALL's record kinds. */
static unsigned k_ok, k_404, k_301, k_robots, k_chain, k_long, k_reset, k_500, k_bin, k_ext,
    k_ext404, k_slow;

static pid_t site, ext;

/* A failed assertion aborts: the site servers must not outlive the test. */
static void on_abort(int sig) {
  (void)sig;
  if (site > 0) kill(site, SIGTERM);
  if (ext > 0) kill(ext, SIGTERM);
  signal(SIGABRT, SIG_DFL);
  abort();
}

static int ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), t = strlen(tail);
  return n >= t && strcmp(s + n - t, tail) == 0;
}

static void classify(const uvcrawl_result_t *r) {
  if (r->skipped && strstr(r->skipped, "robots")) k_robots++;
  else if (r->skipped && strstr(r->skipped, "redirect chain")) k_chain++;
  else if (r->skipped && strstr(r->skipped, "URL longer than")) k_long++;
  else if (r->external && r->status == 404) k_ext404++;
  else if (r->external && r->status == 200) k_ext++;
  else if (ends_with(r->url, "/h/reset") && r->error != NULL) k_reset++;
  else if (r->status == 500) k_500++;
  else if (r->status == 404) k_404++;
  else if (r->status == 301 && r->redirect && ends_with(r->redirect, "/k/target.html")) k_301++;
  else if (r->status == 200 && r->content_type && strstr(r->content_type, "octet-stream"))
    k_bin++;
  else if (r->status == 200 && ends_with(r->url, "/k/slow.html")) k_slow++;
  else if (r->status == 200) k_ok++;
}

static void on_closed(uvcrawl_t *c, void *arg) {
  ASSERT(c == crawler);
  ASSERT(arg == &closes);
  closes++;
}

static void on_later(uv_timer_t *t) {
  uv_close((uv_handle_t *)t, NULL);
  uvcrawl_close(crawler, on_closed, &closes);
  uvcrawl_close(crawler, on_closed, &closes); /* idempotent */
}

static void on_result(uvcrawl_t *c, const uvcrawl_result_t *r, void *arg) {
  uvcrawl_stats_t st;
  ASSERT(c == crawler);
  ASSERT(arg == &results);
  ASSERT_NOT_NULL(r->url);
  if (closes || after_close) FAIL("a record after uvcrawl_close(): %s", r->url);
  results++;
  ASSERT_EQ(uvcrawl_get_stats(c, &st, sizeof(st)), 0); /* allowed from any callback */
  if (mode == RUN_ALL) classify(r);
  if (results != at) return;
  if (mode == STOP_AT) {
    ASSERT_EQ(uvcrawl_stop(c), 0);
    ASSERT_EQ(uvcrawl_stop(c), 0);
  } else if (mode == CLOSE_AT) {
    uvcrawl_close(c, on_closed, &closes);
    ASSERT_EQ(closes, 0); /* not under the caller: after the callback returns */
    ASSERT_EQ(uvcrawl_stop(c), 0); /* harmless after close was asked for */
    uvcrawl_close(c, on_closed, &closes);
    after_close = 1;
  }
}

static void on_done(uvcrawl_t *c, int status, void *arg) {
  ASSERT(c == crawler);
  ASSERT(arg == &results);
  ASSERT_EQ(closes, 0);
  if (after_close) FAIL("on_done after uvcrawl_close()");
  dones++;
  done_status = status;
  if (mode == DONE_STOP) {
    ASSERT_EQ(uvcrawl_stop(c), 0); /* already done: a no-op */
    ASSERT_EQ(uv_timer_init(crawl_loop, &later), 0);
    ASSERT_EQ(uv_timer_start(&later, on_later, 0, 0), 0);
    return;
  }
  uvcrawl_close(c, on_closed, &closes);
  ASSERT_EQ(closes, 0);
}

static void run(enum mode m, unsigned n) {
  uv_loop_t loop;
  uvcrawl_options_t *o;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  crawl_loop = &loop;
  ASSERT_EQ(uvcrawl_options_new(&o), 0);
  ASSERT_EQ(uvcrawl_options_set_int(o, UVCRAWL_OPT_CHECK, 1), 0);
  ASSERT_EQ(uvcrawl_options_set_int(o, UVCRAWL_OPT_MAX_REDIRECTS, 3), 0);
  ASSERT_EQ(uvcrawl_options_set_int(o, UVCRAWL_OPT_MAX_URL_LEN, 200), 0);
  ASSERT_EQ(uvcrawl_options_set_int(o, UVCRAWL_OPT_PER_HOST, 2), 0);
  ASSERT_EQ(uvcrawl_options_set_int(o, UVCRAWL_OPT_MAX_INFLIGHT, 4), 0);
  ASSERT_EQ(uvcrawl_options_set_int(o, UVCRAWL_OPT_TIMEOUT_MS, 20000), 0);
  mode = m;
  at = n;
  results = dones = closes = after_close = 0;
  done_status = 1;
  ASSERT_EQ(uvcrawl_create(&loop, o, &crawler), 0);
  uvcrawl_options_free(o);
  ASSERT_EQ(uvcrawl_add_seed(crawler, seed), 0);
  ASSERT_EQ(uvcrawl_start(crawler, on_result, on_done, &results), 0);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(closes, 1);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  switch (m) {
  case CLOSE_AT:
    ASSERT_EQ(results, n); /* nothing after the close */
    ASSERT_EQ(dones, 0);   /* closing a running crawl: no on_done */
    break;
  case STOP_AT:
    ASSERT_GE(results, n);
    ASSERT_EQ(dones, 1);
    /* UV_ECANCELED, or 0 when the crawl was already writing its end */
    ASSERT(done_status == UV_ECANCELED || done_status == 0);
    break;
  default:
    ASSERT_EQ(dones, 1);
    ASSERT_EQ(done_status, 0);
  }
}

int main(int argc, char **argv) {
  int port, ext_port;
  ASSERT_EQ(argc, 2);
  /* The robots.txt that keeps the crawler out of /k/private/. */
  snprintf(robots_path, sizeof robots_path, "/tmp/uvcrawl-reentry-%ld.txt", (long)getpid());
  FILE *f = fopen(robots_path, "w");
  ASSERT_NOT_NULL(f);
  fputs("User-agent: *\nDisallow: /k/private/\n", f);
  ASSERT_EQ(fclose(f), 0);
  char *ext_args[] = {argv[1], (char *)"--port", (char *)"0", NULL};
  signal(SIGABRT, on_abort);
  ext = siteproc_start(argv[1], ext_args, &ext_port);
  snprintf(ext_origin, sizeof ext_origin, "http://127.0.0.1:%d", ext_port);
  char *args[] = {argv[1], (char *)"--port", (char *)"0", (char *)"--robots", robots_path,
                  (char *)"--external", ext_origin, NULL};
  site = siteproc_start(argv[1], args, &port);
  snprintf(seed, sizeof seed, "http://127.0.0.1:%d/k/", port);

  run(RUN_ALL, 0);
  unsigned total = results;
  printf("%u records\n", total);
  ASSERT_GE(k_ok, 3); /* /k/, ok.html, target.html */
  ASSERT_EQ(k_404, 1);
  ASSERT_EQ(k_301, 1);
  ASSERT_EQ(k_robots, 1);
  ASSERT_EQ(k_chain, 1);
  ASSERT_EQ(k_long, 1);
  ASSERT_EQ(k_reset, 1);
  ASSERT_EQ(k_500, 1);
  ASSERT_EQ(k_bin, 1);
  ASSERT_EQ(k_slow, 1);
  ASSERT_EQ(k_ext, 2); /* E/k/ok.html and, through /k/away, E/k/target.html */
  ASSERT_EQ(k_ext404, 1);

  for (unsigned n = 1; n <= total; n++) {
    run(STOP_AT, n);
    run(CLOSE_AT, n);
  }
  run(DONE_STOP, 0);
  run(DONE_CLOSE, 0);
  printf("stop and close at each of %u records, and from on_done: ok\n", total);
  siteproc_stop(site);
  siteproc_stop(ext);
  unlink(robots_path);
  return 0;
}
