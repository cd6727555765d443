/* Allocation-failure torture, as curl's tests do it: a small crawl is run again and again,
 * with the Nth allocation the library makes failing, for N = 1, 2, ... until a run completes
 * without reaching N. Every run must end (on_done, or a clean error from uvcrawl_create,
 * uvcrawl_add_seed or uvcrawl_start), run the close callback, and leave the loop closable
 * (uv_loop_close() == 0); under ASan/UBSan (build-asan) no run may touch freed memory or
 * leak.
 *
 * The hook is link-time (meson: -Wl,--wrap=malloc,...): only calls made from the library's
 * objects and this file go through the __wrap_ functions, libc, libuv, libcurl and gumbo
 * keep their own allocator (gumbo allocates through the library's arena, so it is covered).
 * The library itself has no test hook.
 *
 * UVCRAWL_OOM_STRIDE=S steps N by S after the first 64 (default 1: every allocation);
 * UVCRAWL_OOM_RUNS=R picks S so that about R runs cover the whole crawl. To debug one run:
 * UVCRAWL_OOM_ONLY=N, and UVCRAWL_OOM_TRACE=1 prints where allocation N was made. */
#include <execinfo.h>
#include <ftw.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "siteproc.h"
#include "task.h"
#include "uvcrawl.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static atomic_ulong allocs;      /* allocations since the run started */
static atomic_ulong fail_at;     /* this one fails (0: none) */
static atomic_int injected;      /* a failure was injected in this run */

static int trace; /* UVCRAWL_OOM_TRACE: print where the failed allocation was made */

static int fail_now(void) {
  unsigned long n = atomic_fetch_add(&allocs, 1) + 1;
  if (n != atomic_load(&fail_at)) return 0;
  atomic_store(&injected, 1);
  if (trace) {
    void *frames[16];
    int k = backtrace(frames, 16);
    backtrace_symbols_fd(frames, k, 2);
  }
  return 1;
}

void *__wrap_malloc(size_t n) { return fail_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { return fail_now() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) { return fail_now() ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return fail_now() ? NULL : __real_strdup(s); }

static char seed[128], out_path[64], dir[64];
static unsigned closes, dones, results;
static uv_timer_t watchdog;
static unsigned long current;

static void on_closed(uvcrawl_t *c, void *arg) {
  (void)c;
  (void)arg;
  closes++;
}

static void on_result(uvcrawl_t *c, const uvcrawl_result_t *r, void *arg) {
  (void)c;
  (void)arg;
  ASSERT_NOT_NULL(r->url);
  results++;
}

static void on_done(uvcrawl_t *c, int status, void *arg) {
  (void)arg;
  ASSERT_EQ(status, 0);
  dones++;
  uvcrawl_close(c, on_closed, NULL);
}

static pid_t site;

/* A failed assertion aborts: the site server must not outlive the test. */
static void on_abort(int sig) {
  (void)sig;
  if (site > 0) kill(site, SIGTERM);
  signal(SIGABRT, SIG_DFL);
  abort();
}

static void on_watchdog(uv_timer_t *t) {
  (void)t;
  FAIL("the run failing allocation %lu did not end", current);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* One crawl with allocation n failing (0: none). Returns 1 when the failure was reached. */
static int run(unsigned long n) {
  uv_loop_t loop;
  uvcrawl_options_t *o;
  uvcrawl_t *c = NULL;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  ASSERT_EQ(uv_timer_init(&loop, &watchdog), 0);
  ASSERT_EQ(uv_timer_start(&watchdog, on_watchdog, 20000, 0), 0);
  uv_unref((uv_handle_t *)&watchdog); /* only fires while the crawl keeps the loop alive */
  ASSERT_EQ(uvcrawl_options_new(&o), 0);
  ASSERT_EQ(uvcrawl_options_set_int(o, UVCRAWL_OPT_CHECK, 1), 0);
  ASSERT_EQ(uvcrawl_options_set_int(o, UVCRAWL_OPT_PER_HOST, 2), 0);
  ASSERT_EQ(uvcrawl_options_set_int(o, UVCRAWL_OPT_MAX_INFLIGHT, 4), 0);
  ASSERT_EQ(uvcrawl_options_set_str(o, UVCRAWL_OPT_OUTPUT_PATH, out_path), 0);
  /* A fresh journal and mirror each run (a journal left behind would ask for --resume). */
  char state[80], mirror[80];
  snprintf(dir, sizeof dir, "/tmp/uvcrawl-oom-XXXXXX");
  ASSERT_NOT_NULL(mkdtemp(dir));
  snprintf(state, sizeof state, "%s/state", dir);
  snprintf(mirror, sizeof mirror, "%s/mirror", dir);
  ASSERT_EQ(uvcrawl_options_set_str(o, UVCRAWL_OPT_STATE_DIR, state), 0);
  ASSERT_EQ(uvcrawl_options_set_str(o, UVCRAWL_OPT_MIRROR_DIR, mirror), 0);
  ASSERT_EQ(uvcrawl_options_set_int(o, UVCRAWL_OPT_SITEMAPS, 1), 0);
  /* gumbo allocates through the library: its failures too */
  ASSERT_EQ(uvcrawl_options_set_int(o, UVCRAWL_OPT_PARSER, UVCRAWL_PARSER_GUMBO), 0);
  closes = dones = results = 0;
  current = n;
  atomic_store(&injected, 0);
  atomic_store(&allocs, 0);
  atomic_store(&fail_at, n);
  int err = uvcrawl_create(&loop, o, &c);
  atomic_store(&fail_at, 0); /* the options are freed with nothing failing */
  uvcrawl_options_free(o);
  atomic_store(&fail_at, n);
  if (err == 0) {
    if ((err = uvcrawl_add_seed(c, seed)) == 0)
      err = uvcrawl_start(c, on_result, on_done, NULL);
    if (err != 0) uvcrawl_close(c, on_closed, NULL);
  }
  if (err != 0) ASSERT_EQ(err, UV_ENOMEM); /* the only clean error here */
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  atomic_store(&fail_at, 0);
  if (c != NULL) {
    ASSERT_EQ(closes, 1);
    if (err == 0) ASSERT_EQ(dones, 1);
  }
  uv_close((uv_handle_t *)&watchdog, NULL);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  ASSERT_EQ(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
  return atomic_load(&injected);
}

int main(int argc, char **argv) {
  int port;
  ASSERT_EQ(argc, 2);
  snprintf(out_path, sizeof out_path, "/tmp/uvcrawl-oom-%ld.jsonl", (long)getpid());
  char *args[] = {argv[1], (char *)"--port", (char *)"0", (char *)"--pages", (char *)"12",
                  (char *)"--fanout", (char *)"3", (char *)"--broken", (char *)"20",
                  (char *)"--redirect", (char *)"20", (char *)"--sitemap", (char *)"2",
                  (char *)"--external", (char *)"http://127.0.0.1:1", NULL};
  trace = getenv("UVCRAWL_OOM_TRACE") != NULL;
  signal(SIGABRT, on_abort);
  site = siteproc_start(argv[1], args, &port);
  snprintf(seed, sizeof seed, "http://127.0.0.1:%d/", port);

  /* A clean run first: how many allocations a whole crawl makes, and that it is whole. */
  ASSERT_EQ(run(0), 0);
  unsigned long total = atomic_load(&allocs);
  unsigned clean_results = results;
  ASSERT_GT(clean_results, 10);
  unsigned long stride = 1;
  const char *s = getenv("UVCRAWL_OOM_STRIDE"), *r = getenv("UVCRAWL_OOM_RUNS");
  if (s != NULL) stride = strtoul(s, NULL, 10);
  else if (r != NULL && strtoul(r, NULL, 10) > 0) stride = total / strtoul(r, NULL, 10);
  if (stride == 0) stride = 1;
  printf("a whole crawl: %lu allocations, %u records; failing every %lu%s\n", total,
         clean_results, stride, stride > 1 ? " (after the first 64)" : "");
  fflush(stdout);

  unsigned long n = 1, runs = 0;
  const char *only = getenv("UVCRAWL_OOM_ONLY"); /* one run, to debug it */
  if (only != NULL) {
    run(strtoul(only, NULL, 10));
    siteproc_stop(site);
    return 0;
  }
  while (run(n)) {
    runs++;
    n += n < 64 ? 1 : stride;
  }
  printf("%lu runs, each ended cleanly; allocation %lu was past the end\n", runs, n);
  siteproc_stop(site);
  unlink(out_path);
  return 0;
}
