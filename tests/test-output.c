/* output.c's JSON record: numbers written by hand must read exactly as printf writes them. */
#include <math.h>

#include "task.h"
#include "output.h"
#include "uvcrawl.h"

/* The record as the printf-based writer spelled it (strings here need no escapes). */
static void reference(const uvcrawl_result_t *r, char *out, size_t n) {
#define Q(s) (s) ? "\"" : "", (s) ? (s) : "null", (s) ? "\"" : ""
  snprintf(out, n,
           "{\"url\":%s%s%s,\"status\":%ld,\"http_version\":%s%s%s,\"depth\":%d,"
           "\"referrer\":%s%s%s,\"content_type\":%s%s%s,\"bytes\":%llu,\"md5\":%s%s%s,"
           "\"redirect\":%s%s%s,\"error\":%s%s%s,\"curl_code\":%d,\"error_name\":%s%s%s,"
           "\"ms\":%.3f,\"links\":%u,\"attempts\":%u,"
           "\"external\":%s,\"broken\":%s,\"skipped\":%s%s%s,\"note\":%s%s%s}",
           Q(r->url), r->status, Q(r->http_version), r->depth, Q(r->referrer),
           Q(r->content_type), (unsigned long long)r->bytes, Q(r->md5), Q(r->redirect),
           Q(r->error), r->curl_code, Q(r->error_name), r->ms, r->links, r->attempts, r->external ? "true" : "false",
           r->broken ? "true" : "false", Q(r->skipped), Q(r->note));
  if (r->warc_file != NULL) { /* the WARC fields, only when there is a WARC record */
    size_t k = strlen(out) - 1;
    snprintf(out + k, n - k, ",\"warc_file\":\"%s\",\"warc_offset\":%llu,"
             "\"warc_record_id\":\"%s\"}", r->warc_file,
             (unsigned long long)r->warc_offset, r->warc_record_id);
  }
#undef Q
}

static void check(const uvcrawl_result_t *r) {
  char want[2048];
  char *b = NULL;
  size_t len = 0, cap = 0;
  reference(r, want, sizeof(want));
  ASSERT_EQ(uvcrawl__json_record(r, &b, &len, &cap), 0);
  ASSERT_EQ(len, strlen(want));
  b[len] = '\0'; /* cap > len: the writer reserves room for numbers */
  ASSERT_STR_EQ(b, want);
  free(b);
}

int main(void) {
  uvcrawl_result_t r;
  static const double ms[] = {0, 0.001, 0.01, 0.999, 1, 12.345, 999.9995, 1234567.891, 0.0005,
                              0.00049, 2.5e-7, 1e12, 1e300, -1, -0.001, 3.0001234};
  static const long status[] = {0, 200, 404, -1, 999, 2147483647L};
  memset(&r, 0, sizeof(r));
  r.url = "http://a/";
  check(&r);
  r.http_version = "1.1";
  r.referrer = "http://a/r";
  r.content_type = "text/html";
  r.md5 = "d41d8cd98f00b204e9800998ecf8427e";
  r.redirect = "http://a/x";
  r.error = "e";
  r.skipped = "s";
  r.note = "n";
  r.external = 1;
  r.broken = 1;
  for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
    for (size_t k = 0; k < sizeof(status) / sizeof(status[0]); k++) {
      r.ms = ms[i];
      r.status = status[k];
      r.depth = (int)(k * 1000003) - 3;
      r.bytes = (uint64_t)k * 0x1234567890ull + (k == 5 ? UINT64_MAX - 0x1234567890ull * 5 : 0);
      r.links = (unsigned)(i * 977);
      r.attempts = (unsigned)k + (i == 3 ? 4294967290u : 0);
      r.external = (int)(i & 1);
      r.broken = (int)(k & 1);
      r.curl_code = (int)status[k] - (int)k;
      r.error_name = k & 1 ? "CURLE_X" : NULL;
      check(&r);
    }
  }
  /* Every whole number of microseconds up to 10 s, as curl reports them. */
  for (uint64_t us = 0; us < 10000000; us += 997) {
    r.ms = (double)us / 1000.0;
    check(&r);
  }
  static const uint64_t offsets[] = {0, 1, 1189, 4294967296ull, UINT64_MAX};
  r.warc_file = "crawl-00001.warc.gz";
  r.warc_record_id = "<urn:uuid:00000000-0000-4000-8000-000000000000>";
  for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
    r.warc_offset = offsets[i];
    check(&r);
  }
  r.warc_file = NULL;
  r.ms = NAN;
  check(&r);
  r.ms = INFINITY;
  check(&r);
  return 0;
}
