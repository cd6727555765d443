/* The public API's contracts, through the public header only: typed option setters and their
 * errors, copies of what they are given, the sized stats read, error names, and the create
 * failure contract (nothing is left on the loop: uv_loop_close() works at once). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "task.h"
#include "uvcrawl.h"

static char dir[] = "/tmp/uvcrawl-api-XXXXXX";

static void test_setters(void) {
  uvcrawl_options_t *o;
  ASSERT_EQ(uvcrawl_options_new(&o), 0);
  /* Types: each setter takes its own options only. */
  ASSERT_EQ(uvcrawl_options_set_int(o, UVCRAWL_OPT_MAX_INFLIGHT, 10), 0);
  ASSERT_EQ(uvcrawl_options_set_int(o, UVCRAWL_OPT_USER_AGENT, 1), UV_EINVAL);
  ASSERT_EQ(uvcrawl_options_set_str(o, UVCRAWL_OPT_MAX_INFLIGHT, "10"), UV_EINVAL);
  ASSERT_EQ(uvcrawl_options_set_strv(o, UVCRAWL_OPT_SCOPE, NULL), UV_EINVAL);
  ASSERT_EQ(uvcrawl_options_set_str(o, UVCRAWL_OPT_INCLUDE, "x"), UV_EINVAL);
  ASSERT_EQ(uvcrawl_options_set_int(o, (uvcrawl_option_t)9999, 1), UV_EINVAL);
  ASSERT_EQ(uvcrawl_options_set_int(NULL, UVCRAWL_OPT_MAX_INFLIGHT, 1), UV_EINVAL);
  /* Ranges. */
  ASSERT_EQ(uvcrawl_options_set_int(o, UVCRAWL_OPT_MAX_INFLIGHT, 0), UV_EINVAL);
  ASSERT_EQ(uvcrawl_options_set_int(o, UVCRAWL_OPT_MAX_DEPTH, -2), UV_EINVAL);
  ASSERT_EQ(uvcrawl_options_set_int(o, UVCRAWL_OPT_MAX_DEPTH, -1), 0);
  ASSERT_EQ(uvcrawl_options_set_int(o, UVCRAWL_OPT_HTTP_VERSION, 3), UV_EINVAL);
  ASSERT_EQ(uvcrawl_options_set_int(o, UVCRAWL_OPT_HTTP_VERSION, 2), 0);
  ASSERT_EQ(uvcrawl_options_set_int(o, UVCRAWL_OPT_CHECK, 2), UV_EINVAL);
  ASSERT_EQ(uvcrawl_options_set_int(o, UVCRAWL_OPT_CHECK, 1), 0);
  ASSERT_EQ(uvcrawl_options_set_int(o, UVCRAWL_OPT_PARSER, UVCRAWL_PARSER_GUMBO), 0);
  ASSERT_EQ(uvcrawl_options_set_int(o, UVCRAWL_OPT_POOL_THREADS, 0), UV_EINVAL);
  /* Values with codes of their own. */
  ASSERT_EQ(uvcrawl_options_set_str(o, UVCRAWL_OPT_SCOPE, "galaxy"), UVCRAWL_ESCOPE);
  ASSERT_EQ(uvcrawl_options_set_str(o, UVCRAWL_OPT_SCOPE, "domain"), 0);
  ASSERT_EQ(uvcrawl_options_set_str(o, UVCRAWL_OPT_ACCEPT, "2xx"), UVCRAWL_EACCEPT);
  ASSERT_EQ(uvcrawl_options_set_str(o, UVCRAWL_OPT_ACCEPT, "200..299,403"), 0);
  ASSERT_EQ(uvcrawl_options_set_str(o, UVCRAWL_OPT_USER_AGENT, "bot\r\nX-Evil: 1"), UV_EINVAL);
  const char *bad_re[] = {"^http://a", "(", NULL};
  ASSERT_EQ(uvcrawl_options_set_strv(o, UVCRAWL_OPT_INCLUDE, bad_re), UVCRAWL_EREGEX);
  const char *bad_hdr[] = {"X-A: 1", "no colon", NULL};
  ASSERT_EQ(uvcrawl_options_set_strv(o, UVCRAWL_OPT_HEADERS, bad_hdr), UV_EINVAL);
  const char *good_hdr[] = {"X-A: 1", "Accept:", NULL};
  ASSERT_EQ(uvcrawl_options_set_strv(o, UVCRAWL_OPT_HEADERS, good_hdr), 0);
  /* NULL puts a string back to its default. */
  ASSERT_EQ(uvcrawl_options_set_str(o, UVCRAWL_OPT_SCOPE, NULL), 0);
  ASSERT_EQ(uvcrawl_options_set_strv(o, UVCRAWL_OPT_HEADERS, NULL), 0);
  uvcrawl_options_free(o);
  uvcrawl_options_free(NULL);
}

/* The setters copy: the caller's buffer may change before create, and the options may be
 * freed right after it. */
static void test_copies(void) {
  uv_loop_t loop;
  uvcrawl_options_t *o;
  uvcrawl_t *c;
  char path[128], want[128];
  snprintf(path, sizeof(path), "%s/records.jsonl", dir);
  snprintf(want, sizeof(want), "%s", path);
  ASSERT_EQ(uv_loop_init(&loop), 0);
  ASSERT_EQ(uvcrawl_options_new(&o), 0);
  ASSERT_EQ(uvcrawl_options_set_str(o, UVCRAWL_OPT_OUTPUT_PATH, path), 0);
  memset(path, 'x', sizeof(path) - 1);
  ASSERT_EQ(uvcrawl_create(&loop, o, &c), 0);
  uvcrawl_options_free(o);
  ASSERT_EQ(access(want, F_OK), 0); /* the file was opened under the name given */

  /* Stats by size: an older, shorter struct gets only the fields it knows. */
  uvcrawl_stats_t s;
  const size_t old = offsetof(uvcrawl_stats_t, inflight_cap);
  memset(&s, 0xaa, sizeof(s));
  ASSERT_EQ(uvcrawl_get_stats(c, &s, old), 0);
  ASSERT_EQ(s.pages, 0);
  for (size_t i = old; i < sizeof(s); i++) ASSERT_EQ(((unsigned char *)&s)[i], 0xaa);
  ASSERT_EQ(uvcrawl_get_stats(c, &s, sizeof(s)), 0);
  ASSERT_GE(s.inflight_cap, 1);
  ASSERT_EQ(uvcrawl_get_stats(c, NULL, sizeof(s)), UV_EINVAL);

  ASSERT_EQ(uvcrawl_create(NULL, NULL, &c), UV_EINVAL);
  ASSERT_EQ(uvcrawl_create(&loop, NULL, NULL), UV_EINVAL);
  ASSERT_EQ(uvcrawl_add_seed(c, NULL), UVCRAWL_EURL);
  ASSERT_EQ(uvcrawl_add_seed(c, "ftp://example.com/"), UVCRAWL_ESCHEME);
  ASSERT_EQ(uvcrawl_start(c, NULL, NULL, NULL), UVCRAWL_ENOSEED);
  ASSERT_EQ(uvcrawl_foreach_broken(c, NULL, NULL), UVCRAWL_ESTATE); /* without CHECK */
  ASSERT_EQ(uvcrawl_stop(c), UVCRAWL_ESTATE);                       /* never started */
  uvcrawl_close(c, NULL, NULL);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(uv_loop_close(&loop), 0);
}

/* A failed create leaves nothing behind: no handle to close, no memory (ASan), and *out is
 * untouched. */
static void expect_create_fails(uvcrawl_options_t *o, int want) {
  uv_loop_t loop;
  uvcrawl_t *c = (uvcrawl_t *)&loop; /* a marker: must stay as it is */
  ASSERT_EQ(uv_loop_init(&loop), 0);
  ASSERT_EQ(uvcrawl_create(&loop, o, &c), want);
  ASSERT(c == (uvcrawl_t *)&loop);
  ASSERT_EQ(uv_loop_close(&loop), 0); /* without running the loop */
}

static int closed;
static void on_closed(uvcrawl_t *c, void *arg) {
  (void)c;
  ASSERT(arg == &closed);
  closed++;
}

static void test_create_failures(void) {
  uvcrawl_options_t *o;
  char path[256];
  /* A mirror root that cannot be a directory. */
  ASSERT_EQ(uvcrawl_options_new(&o), 0);
  ASSERT_EQ(uvcrawl_options_set_str(o, UVCRAWL_OPT_MIRROR_DIR, "/dev/null/mirror"), 0);
  expect_create_fails(o, UV_ENOTDIR);
  uvcrawl_options_free(o);
  /* Records in a directory that does not exist. */
  ASSERT_EQ(uvcrawl_options_new(&o), 0);
  snprintf(path, sizeof(path), "%s/missing/records.jsonl", dir);
  ASSERT_EQ(uvcrawl_options_set_str(o, UVCRAWL_OPT_OUTPUT_PATH, path), 0);
  expect_create_fails(o, UV_ENOENT);
  uvcrawl_options_free(o);
  /* A state directory that holds a crawl, found after the records file was opened (and the
   * mirror root too): both are let go at once. */
  uv_loop_t loop;
  uvcrawl_t *c;
  snprintf(path, sizeof(path), "%s/state", dir);
  ASSERT_EQ(uvcrawl_options_new(&o), 0);
  ASSERT_EQ(uvcrawl_options_set_str(o, UVCRAWL_OPT_STATE_DIR, path), 0);
  ASSERT_EQ(uv_loop_init(&loop), 0);
  ASSERT_EQ(uvcrawl_create(&loop, o, &c), 0);
  ASSERT_EQ(uvcrawl_add_seed(c, "http://127.0.0.1:1/"), 0); /* journaled */
  uvcrawl_close(c, on_closed, &closed);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(closed, 1);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  snprintf(path, sizeof(path), "%s/out.jsonl", dir);
  ASSERT_EQ(uvcrawl_options_set_str(o, UVCRAWL_OPT_OUTPUT_PATH, path), 0);
  snprintf(path, sizeof(path), "%s/mirror", dir);
  ASSERT_EQ(uvcrawl_options_set_str(o, UVCRAWL_OPT_MIRROR_DIR, path), 0);
  expect_create_fails(o, UVCRAWL_ESTATEDIR);
  uvcrawl_options_free(o);
}

static void test_errors(void) {
  ASSERT_EQ(strcmp(uvcrawl_err_name(UVCRAWL_ETOOBIG), "ETOOBIG"), 0);
  ASSERT_EQ(strcmp(uvcrawl_err_name(UVCRAWL_ESTATEDIR), "ESTATEDIR"), 0);
  ASSERT_EQ(strcmp(uvcrawl_err_name(UV_ENOSPC), "ENOSPC"), 0);
  ASSERT_EQ(strcmp(uvcrawl_err_name(-123456789), "UNKNOWN"), 0);
  ASSERT_EQ(strcmp(uvcrawl_strerror(-123456789), "unknown error"), 0); /* static, not leaked */
  ASSERT_EQ(strcmp(uvcrawl_strerror(UV_ENOENT), uv_strerror(UV_ENOENT)), 0);
  /* The library's messages name no command-line flag. */
#define XX(code, val, msg) ASSERT(strstr(uvcrawl_strerror(val), "--") == NULL);
  UVCRAWL_ERRNO_MAP(XX)
#undef XX
}

int main(void) {
  ASSERT_NOT_NULL(mkdtemp(dir));
  test_setters();
  test_copies();
  test_create_failures();
  test_errors();
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  ASSERT_EQ(system(cmd), 0);
  printf("api: setters, copies, sized stats, create failures, error names\n");
  return 0;
}
