/* Running out of fds mid-crawl (the embedding app grabbed them after the cap was set) is a
 * backoff: no URL fails, nothing aborts, the crawl completes once fds come back. */
#include <errno.h>
#include <sys/resource.h>

#include "siteproc.h"
#include "uvcrawl.h"

static int hoard[256];
static int nhoard;
static unsigned results, failed;
static uvcrawl_stats_t stats;
static uv_check_t release_check;
static uvcrawl_t *crawler;

static void on_result(uvcrawl_t *c, const uvcrawl_result_t *r, void *arg) {
  (void)c;
  (void)arg;
  results++;
  if (r->error != NULL || r->skipped != NULL) {
    fprintf(stderr, "failed: %s: %s\n", r->url, r->error ? r->error : r->skipped);
    failed++;
  }
}

static void on_done(uvcrawl_t *c, int status, void *arg) {
  (void)arg;
  ASSERT_EQ(status, 0);
  uvcrawl_get_stats(c, &stats, sizeof(stats));
  uvcrawl_close(c, NULL, NULL);
}

/* The fds come back once the crawler has backed off for them a few times: on progress, not
 * after a time in which a slow machine might not have tried to connect at all. */
#define BACKOFFS_BEFORE_RELEASE 3
static void give_back(uv_check_t *h) {
  uvcrawl_stats_t s;
  uvcrawl_get_stats(crawler, &s, sizeof(s));
  if (s.fd_backoffs < BACKOFFS_BEFORE_RELEASE) return;
  while (nhoard > 0) close(hoard[--nhoard]);
  uv_close((uv_handle_t *)h, NULL);
}

int main(int argc, char **argv) {
  char *args[] = {argv[1], "--pages", "300", NULL};
  char seed[64], cmd[256], line[512];
  int port;
  uv_loop_t loop;
  uvcrawl_t *c;
  uvcrawl_options_t *opts;
  struct rlimit rl = {64, 64};
  ASSERT_EQ(argc, 2);
  pid_t pid = siteproc_start(argv[1], args, &port);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);

  ASSERT_EQ(uv_loop_init(&loop), 0);
  ASSERT_EQ(uvcrawl_options_new(&opts), 0);
  ASSERT_EQ(uvcrawl_options_set_int(opts, UVCRAWL_OPT_MAX_INFLIGHT, 8), 0);
  ASSERT_EQ(uvcrawl_create(&loop, opts, &c), 0);
  uvcrawl_options_free(opts);
  snprintf(seed, sizeof(seed), "http://127.0.0.1:%d/", port);
  ASSERT_EQ(uvcrawl_add_seed(c, seed), 0);
  crawler = c;
  uv_check_init(&loop, &release_check);
  uv_check_start(&release_check, give_back);
  ASSERT_EQ(uvcrawl_start(c, on_result, on_done, NULL), 0);
  /* Take every fd left, after the crawler sized its cap. */
  int fd;
  while (nhoard < 256 && (fd = dup(0)) >= 0) hoard[nhoard++] = fd;
  ASSERT_EQ(errno, EMFILE);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(uv_loop_close(&loop), 0);

  snprintf(cmd, sizeof(cmd), "%s --list --port %d --pages 300", argv[1], port);
  FILE *f = popen(cmd, "r");
  unsigned expected = 0;
  ASSERT_NOT_NULL(f);
  while (fgets(line, sizeof(line), f)) expected++;
  pclose(f);
  siteproc_stop(pid);
  ASSERT_EQ(failed, 0);
  ASSERT_EQ(results, expected);
  ASSERT_GE(stats.fd_backoffs, BACKOFFS_BEFORE_RELEASE);
  printf("fdstarve: %u results, %llu fd backoffs, none failed\n", results,
         (unsigned long long)stats.fd_backoffs);
  return 0;
}
