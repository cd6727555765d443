/* record.c: a record's fields from real transfers (the site server's 200, 301 and 404), and
 * how item, transfer and job outputs fill a uvcrawl_result_t, as both engines use them. */
#include <string.h>

#include "output.h"
#include "record.h"
#include "transfer.h"
#include "task.h"
#include "siteproc.h"

static int port;

static size_t sink(char *p, size_t size, size_t n, void *arg) {
  (void)p;
  *(size_t *)arg += size * n;
  return size * n;
}

/* GETs path with the request options both engines use; *code gets curl's result. */
static CURL *get(const char *path, char *errbuf, size_t *got, CURLcode *code) {
  char url[128];
  uvcrawl_options_t *o;
  CURL *e = curl_easy_init();
  ASSERT_EQ(uvcrawl_options_new(&o), 0);
  ASSERT_NOT_NULL(e);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
  errbuf[0] = '\0';
  uvcrawl__easy_setup(e, o, "test-record", url, sink, got, errbuf, NULL);
  *code = curl_easy_perform(e);
  uvcrawl_options_free(o);
  return e;
}

static void test_transfers(void) {
  char errbuf[CURL_ERROR_SIZE], *redirect;
  size_t got = 0;
  CURLcode code;
  uvcrawl__xfer_t x;

  CURL *e = get("/p/1.html", errbuf, &got, &code);
  ASSERT_EQ(code, CURLE_OK);
  uvcrawl__record_read(e, code, &x);
  ASSERT_EQ(x.status, 200);
  ASSERT_STR_EQ(x.http_version, "1.1");
  ASSERT_STR_EQ(x.content_type, "text/html; charset=utf-8");
  ASSERT(x.ms > 0);
  ASSERT_EQ(x.code, CURLE_OK);
  ASSERT_NULL(x.error);
  ASSERT_NULL(x.redirect);
  ASSERT_EQ(x.bytes, 0); /* the caller's: only it knows what it kept */
  ASSERT_EQ(uvcrawl__record_redirect(e, x.status, "http://127.0.0.1/p/1.html", &redirect), 0);
  ASSERT_NULL(redirect);
  uvcrawl__record_error(0, code, errbuf, &x.error, &x.error_name);
  ASSERT_NULL(x.error); /* a good transfer leaves them as they were */
  uvcrawl__record_error(1, code, errbuf, &x.error, &x.error_name);
  ASSERT_STR_EQ(x.error, UVCRAWL__MSG_TOO_BIG);
  ASSERT_STR_EQ(x.error_name, uvcrawl_err_name(UVCRAWL_ETOOBIG));
  curl_easy_cleanup(e);

  /* A relative Location ("/p/7.html"): curl makes it absolute against the request, then it
   * is normalized as every URL of a crawl is (case, dot segments, default port). */
  e = get("/r/7", errbuf, &got, &code);
  uvcrawl__record_read(e, code, &x);
  ASSERT_EQ(x.status, 301);
  char want[64];
  snprintf(want, sizeof(want), "http://127.0.0.1:%d/p/7.html", port);
  ASSERT_EQ(uvcrawl__record_redirect(e, x.status, "http://127.0.0.1/r/7", &redirect), 1);
  ASSERT_STR_EQ(redirect, want);
  free(redirect);
  curl_easy_cleanup(e);

  e = get("/missing/3.html", errbuf, &got, &code);
  uvcrawl__record_read(e, code, &x);
  ASSERT_EQ(x.status, 404);
  ASSERT_EQ(uvcrawl__record_redirect(e, x.status, "http://127.0.0.1/", &redirect), 0);
  curl_easy_cleanup(e);

  /* Nothing listens on port 1: no response, curl's message and name. */
  char url[] = "http://127.0.0.1:1/";
  uvcrawl_options_t *o;
  ASSERT_EQ(uvcrawl_options_new(&o), 0);
  e = curl_easy_init();
  uvcrawl__easy_setup(e, o, "test-record", url, sink, &got, errbuf, NULL);
  code = curl_easy_perform(e);
  uvcrawl__record_read(e, code, &x);
  ASSERT_EQ(x.status, 0);
  ASSERT_NULL(x.http_version);
  ASSERT_EQ(x.code, CURLE_COULDNT_CONNECT);
  uvcrawl__record_error(0, code, errbuf, &x.error, &x.error_name);
  ASSERT_STR_EQ(x.error, errbuf);
  ASSERT_STR_EQ(x.error_name, "CURLE_COULDNT_CONNECT");
  errbuf[0] = '\0'; /* curl wrote no detail: its generic message */
  uvcrawl__record_error(0, code, errbuf, &x.error, &x.error_name);
  ASSERT_STR_EQ(x.error, curl_easy_strerror(CURLE_COULDNT_CONNECT));
  curl_easy_cleanup(e);
  uvcrawl_options_free(o);
}

static void test_fill(void) {
  uvcrawl__item_t item;
  uvcrawl__job_t job;
  uvcrawl__xfer_t x;
  uvcrawl_result_t r;
  memset(&item, 0, sizeof(item));
  memset(&job, 0, sizeof(job));
  memset(&x, 0, sizeof(x));
  item.url = "http://a/b";
  item.referrer = "http://a/";
  item.depth = 2;
  item.attempts = 1;
  x.status = 302;
  x.http_version = "2";
  x.content_type = "text/html";
  x.ms = 1.5;
  x.code = CURLE_OK;
  x.redirect = "http://a/c";
  x.bytes = 42;
  x.error_name = "stale"; /* no error: the name is not reported */
  snprintf(job.md5, sizeof(job.md5), "%s", "0123456789abcdef0123456789abcdef");
  job.ngiven = 7;
  uvcrawl__record_fill(&r, &item, &x, &job);
  ASSERT_STR_EQ(r.url, "http://a/b");
  ASSERT_STR_EQ(r.referrer, "http://a/");
  ASSERT_EQ(r.depth, 2);
  ASSERT_EQ(r.attempts, 2);
  ASSERT_EQ(r.status, 302);
  ASSERT_STR_EQ(r.http_version, "2");
  ASSERT_STR_EQ(r.content_type, "text/html");
  ASSERT(r.ms == 1.5);
  ASSERT_EQ(r.curl_code, 0);
  ASSERT_STR_EQ(r.redirect, "http://a/c");
  ASSERT_EQ(r.bytes, 42);
  ASSERT_STR_EQ(r.md5, job.md5);
  ASSERT_EQ(r.links, 7);
  ASSERT_NULL(r.error);
  ASSERT_NULL(r.error_name);
  ASSERT_NULL(r.note);
  ASSERT_EQ(r.broken, 0); /* the engine's to judge */

  x.error = "boom";
  x.error_name = "CURLE_RECV_ERROR";
  job.md5[0] = '\0';
  uvcrawl__record_fill(&r, &item, &x, &job);
  ASSERT_STR_EQ(r.error, "boom");
  ASSERT_STR_EQ(r.error_name, "CURLE_RECV_ERROR");
  ASSERT_NULL(r.md5); /* no body hashed */
}

int main(int argc, char **argv) {
  char *args[] = {argv[1], "--pages", "20", NULL};
  ASSERT_EQ(argc, 2);
  pid_t pid = siteproc_start(argv[1], args, &port);
  ASSERT_EQ(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
  test_transfers();
  test_fill();
  curl_global_cleanup();
  siteproc_stop(pid);
  printf("record: transfers read, redirects resolved, errors named, records filled\n");
  return 0;
}
