/* engine_loop.c against the site server: keep-alive connections keep their uv_poll_t from one
 * transfer to the next (curl removes and adds the socket back each time), and connections the
 * server closes, whose fd numbers come back for new sockets, still get every event. */
#include <curl/curl.h>

#include "siteproc.h"
#include "engine_loop.h"
#include "uvcrawl.h"

#define INFLIGHT 2

/* Paths fetched in order, INFLIGHT at a time; the server closes the connection after the /h/
 * ones, so new sockets (often with the numbers just freed) follow the parked ones. */
static const char *paths[] = {
  "/", "/p/1.html", "/p/2.html", "/p/3.html", "/p/4.html", "/h/cl-short", "/p/5.html",
  "/p/6.html", "/h/badstatus", "/p/7.html", "/p/8.html", "/p/9.html", "/h/cl-short",
  "/p/10.html", "/h/badstatus", "/p/11.html", "/p/12.html", "/p/13.html", "/p/14.html",
  "/p/15.html", "/p/16.html", "/p/17.html", "/p/18.html", "/p/19.html", "/p/20.html",
};
#define NPATHS (sizeof(paths) / sizeof(paths[0]))
#define ROUNDS 4 /* every path ROUNDS times */

static uvcrawl__engine_t *engine;
static CURL *easies[INFLIGHT];
static char urls[INFLIGHT][128];
static size_t next_path, done, ok_pages, failed_h;
static int port;

static size_t discard(char *p, size_t size, size_t n, void *arg) {
  (void)p;
  (void)arg;
  return size * n;
}

static void start(int slot) {
  if (next_path == NPATHS * ROUNDS) return;
  snprintf(urls[slot], sizeof(urls[slot]), "http://127.0.0.1:%d%s", port,
           paths[next_path++ % NPATHS]);
  CURL *e = easies[slot];
  curl_easy_reset(e);
  curl_easy_setopt(e, CURLOPT_URL, urls[slot]);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)&easies[slot]);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 20000L);
  ASSERT_EQ(uvcrawl__engine_add(engine, e), 0);
}

static void on_done(void *arg, CURL *easy, CURLcode code) {
  char *priv;
  long status = 0;
  (void)arg;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
  int slot = (int)((CURL **)(void *)priv - easies);
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  done++;
  if (strstr(urls[slot], "/h/") != NULL) {
    ASSERT_NE(code, CURLE_OK); /* short body, bad status line: and the server hangs up */
    failed_h++;
  } else {
    if (code != CURLE_OK) FAIL("%s: %s", urls[slot], curl_easy_strerror(code));
    ASSERT_EQ(status, 200);
    ok_pages++;
  }
  start(slot);
}

/* The server's count of accepted connections (its own /__stats). */
static long server_connections(void) {
  char url[64], body[256] = {0};
  FILE *f = fmemopen(body, sizeof(body) - 1, "w");
  CURL *e = curl_easy_init();
  long n = -1;
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/__stats", port);
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, f);
  ASSERT_EQ(curl_easy_perform(e), CURLE_OK);
  curl_easy_cleanup(e);
  fclose(f);
  const char *p = strstr(body, "\"connections\":");
  ASSERT_NOT_NULL(p);
  n = strtol(p + 14, NULL, 10);
  return n;
}

static void on_closed(void *arg) { *(int *)arg = 1; }

int main(int argc, char **argv) {
  char *args[] = {argv[1], "--pages", "50", NULL};
  uv_loop_t loop;
  int closed = 0;
  ASSERT_EQ(argc, 2);
  pid_t pid = siteproc_start(argv[1], args, &port);
  ASSERT_EQ(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
  long conns0 = server_connections();

  ASSERT_EQ(uv_loop_init(&loop), 0);
  ASSERT_EQ(uvcrawl__engine_new(&loop, INFLIGHT, on_done, NULL, NULL, &engine), 0);
  for (int i = 0; i < INFLIGHT; i++) {
    ASSERT_NOT_NULL(easies[i] = curl_easy_init());
    start(i);
  }
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(done, NPATHS * ROUNDS);
  ASSERT_EQ(failed_h, 4 * ROUNDS);
  ASSERT_EQ(ok_pages, (NPATHS - 4) * ROUNDS);
  /* One poll per socket: without keeping them across transfers, one per transfer. */
  long conns = server_connections() - conns0 - 1; /* not the /__stats request itself */
  uint64_t polls = uvcrawl__engine_polls(engine);
  fprintf(stderr, "%zu transfers, %ld connections, %" PRIu64 " polls\n", done, conns, polls);
  ASSERT_GE(conns, 4 * ROUNDS);
  ASSERT_LE(polls, (uint64_t)conns);

  uvcrawl__engine_close(engine, on_closed, &closed);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(closed, 1);
  for (int i = 0; i < INFLIGHT; i++) curl_easy_cleanup(easies[i]);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  curl_global_cleanup();
  siteproc_stop(pid);
  return 0;
}
