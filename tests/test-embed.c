/* Embedding: the crawler runs on a loop the test owns, beside the test's own timer, TCP
 * handles and child process, and leaves nothing behind: uv_loop_close() must return 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task.h"
#include "uvcrawl.h"

static uv_loop_t loop;
static uv_process_t server;
static uv_pipe_t server_out;
static uv_timer_t ticker;
static uv_tcp_t listener, accepted, client;
static uv_connect_t connect_req;
static char outbuf[256];
static size_t outlen;
static int port;
static const char *server_path;
static uvcrawl_t *crawler;
static unsigned results, ok_pages, ticks, echoes, closed, done_called, have_accepted;
static int done_status = 1;

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  static char scratch[4096];
  (void)h;
  (void)hint;
  *buf = uv_buf_init(scratch, sizeof(scratch));
}

static int tag = 42;

static void on_result(uvcrawl_t *c, const uvcrawl_result_t *r, void *arg) {
  ASSERT(c == crawler);
  ASSERT(arg == &tag);
  ASSERT_NOT_NULL(r->url);
  results++;
  if (r->status == 200) {
    ASSERT_NOT_NULL(r->md5);
    ASSERT_EQ(strlen(r->md5), 32);
    ok_pages++;
  }
}

static void on_crawler_closed(uvcrawl_t *c, void *arg) {
  ASSERT(c == crawler);
  ASSERT(arg == &closed);
  closed++;
  uv_process_kill(&server, SIGTERM);
  uv_close((uv_handle_t *)&ticker, NULL);
  uv_close((uv_handle_t *)&listener, NULL);
  uv_close((uv_handle_t *)&client, NULL);
  if (have_accepted) uv_close((uv_handle_t *)&accepted, NULL);
}

static void on_done(uvcrawl_t *c, int status, void *arg) {
  done_called++;
  done_status = status;
  ASSERT(arg == &tag);
  ASSERT_EQ(*(int *)uvcrawl_get_data(c), 42);
  uvcrawl_close(c, on_crawler_closed, &closed);
}

/* The caller's own TCP ping-pong keeps flowing while the crawl runs. */
static void on_client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void on_write_done(uv_write_t *req, int status) {
  ASSERT_EQ(status, 0);
  free(req);
}

static void send_ping(uv_stream_t *s) {
  uv_write_t *req = malloc(sizeof(*req));
  uv_buf_t b = uv_buf_init((char *)"ping", 4);
  ASSERT_NOT_NULL(req);
  ASSERT_EQ(uv_write(req, s, &b, 1, on_write_done), 0);
}

static void on_server_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  if (n > 0) send_ping(s);
}

static void on_client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  if (n <= 0) return;
  echoes++;
  if (!done_called) send_ping(s);
}

static void on_connection(uv_stream_t *l, int status) {
  ASSERT_EQ(status, 0);
  uv_tcp_init(&loop, &accepted);
  have_accepted = 1;
  ASSERT_EQ(uv_accept(l, (uv_stream_t *)&accepted), 0);
  uv_read_start((uv_stream_t *)&accepted, on_alloc, on_server_read);
}

static void on_connected(uv_connect_t *req, int status) {
  ASSERT_EQ(status, 0);
  uv_read_start(req->handle, on_alloc, on_client_read);
  send_ping(req->handle);
}

static void on_tick(uv_timer_t *t) {
  (void)t;
  ticks++;
}

static void start_crawl(void) {
  uvcrawl_options_t *opts;
  char seed[64];
  ASSERT_EQ(uvcrawl_options_new(&opts), 0);
  ASSERT_EQ(uvcrawl_options_set_int(opts, UVCRAWL_OPT_MAX_INFLIGHT, 8), 0);
  ASSERT_EQ(uvcrawl_create(&loop, opts, &crawler), 0);
  uvcrawl_options_free(opts); /* create copied it */
  uvcrawl_set_data(crawler, &tag);
  snprintf(seed, sizeof(seed), "http://127.0.0.1:%d/", port);
  ASSERT_EQ(uvcrawl_add_seed(crawler, seed), 0);
  ASSERT_EQ(uvcrawl_add_seed(crawler, "mailto:x@example.com"), UVCRAWL_ESCHEME);
  ASSERT_EQ(uvcrawl_start(crawler, on_result, on_done, &tag), 0);
  ASSERT_EQ(uvcrawl_start(crawler, on_result, on_done, &tag), UVCRAWL_ESTATE);
}

static void on_server_out(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  if (n <= 0) return;
  if ((size_t)n > sizeof(outbuf) - 1 - outlen) n = (ssize_t)(sizeof(outbuf) - 1 - outlen);
  memcpy(outbuf + outlen, buf->base, (size_t)n);
  outlen += (size_t)n;
  outbuf[outlen] = '\0';
  if (port == 0 && strchr(outbuf, '\n') != NULL) {
    ASSERT_EQ(sscanf(outbuf, "port %d", &port), 1);
    uv_read_stop(s);
    uv_close((uv_handle_t *)s, NULL);
    start_crawl();
  }
}

static void on_server_exit(uv_process_t *p, int64_t status, int sig) {
  (void)status;
  (void)sig;
  uv_close((uv_handle_t *)p, NULL);
}

static unsigned expected_count(void) {
  char cmd[1024];
  char line[512];
  unsigned n = 0;
  snprintf(cmd, sizeof(cmd), "%s --list --port %d --pages 300 --fanout 4", server_path, port);
  FILE *f = popen(cmd, "r");
  ASSERT_NOT_NULL(f);
  while (fgets(line, sizeof(line), f)) n++;
  ASSERT_EQ(pclose(f), 0);
  return n;
}

int main(int argc, char **argv) {
  struct sockaddr_in addr;
  ASSERT_EQ(argc, 2);
  server_path = argv[1];
  ASSERT_EQ(uv_loop_init(&loop), 0);

  char *args[] = {argv[1], "--pages", "300", "--fanout", "4", NULL};
  uv_stdio_container_t stdio[3];
  uv_process_options_t po;
  memset(&po, 0, sizeof(po));
  uv_pipe_init(&loop, &server_out, 0);
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[1].data.stream = (uv_stream_t *)&server_out;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = 2;
  po.file = argv[1];
  po.args = args;
  po.stdio = stdio;
  po.stdio_count = 3;
  po.exit_cb = on_server_exit;
  ASSERT_EQ(uv_spawn(&loop, &server, &po), 0);
  uv_read_start((uv_stream_t *)&server_out, on_alloc, on_server_out);

  uv_timer_init(&loop, &ticker);
  uv_timer_start(&ticker, on_tick, 1, 1);
  uv_tcp_init(&loop, &listener);
  uv_ip4_addr("127.0.0.1", 0, &addr);
  ASSERT_EQ(uv_tcp_bind(&listener, (const struct sockaddr *)&addr, 0), 0);
  ASSERT_EQ(uv_listen((uv_stream_t *)&listener, 8, on_connection), 0);
  int len = sizeof(addr);
  uv_tcp_getsockname(&listener, (struct sockaddr *)&addr, &len);
  uv_tcp_init(&loop, &client);
  ASSERT_EQ(uv_tcp_connect(&connect_req, &client, (const struct sockaddr *)&addr, on_connected),
            0);

  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(uv_loop_close(&loop), 0);

  ASSERT_EQ(done_called, 1);
  ASSERT_EQ(done_status, 0);
  ASSERT_EQ(closed, 1);
  ASSERT_EQ(results, expected_count());
  ASSERT_GT(ok_pages, 250);
  ASSERT_GT(ticks, 0);
  ASSERT_GT(echoes, 10);
  printf("embed: %u results, %u ticks, %u echoes; loop closed cleanly\n", results, ticks, echoes);
  return 0;
}
