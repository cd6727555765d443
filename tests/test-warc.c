/* WARC record bytes, digests, HTTP heads, SURT keys and CDXJ lines. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "cdxj.h"
#include "task.h"
#include "warc.h"

static void test_digest(void) {
  char d[UVCRAWL__WARC_DIGEST_SIZE];
  uvcrawl__warc_chunk_t none = {NULL, 0};
  ASSERT_EQ(uvcrawl__warc_sha1(&none, 1, d), 0);
  ASSERT_STR_EQ(d, "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ"); /* sha1 of nothing */
  /* sha1("abc") = a9993e364706816aba3e25717850c26c9cd0d89d, in two chunks */
  uvcrawl__warc_chunk_t abc[2] = {{"a", 1}, {"bc", 2}};
  ASSERT_EQ(uvcrawl__warc_sha1(abc, 2, d), 0);
  ASSERT_STR_EQ(d, "sha1:VGMT4NSHA2AWVOR6EVYXQUGCNSONBWE5");
}

static void test_id_date(void) {
  char a[UVCRAWL__WARC_ID_SIZE], b[UVCRAWL__WARC_ID_SIZE], t[UVCRAWL__WARC_DATE_SIZE];
  ASSERT_EQ(uvcrawl__warc_id(a), 0);
  ASSERT_EQ(uvcrawl__warc_id(b), 0);
  ASSERT_EQ(strlen(a), 47);
  ASSERT(strncmp(a, "<urn:uuid:", 10) == 0 && a[46] == '>');
  ASSERT(a[10 + 14] == '4');                        /* version 4 */
  ASSERT(strchr("89ab", a[10 + 19]) != NULL);       /* RFC 4122 variant */
  ASSERT(strcmp(a, b) != 0);
  uvcrawl__warc_date(1764620996123456789ull, t);
  ASSERT_STR_EQ(t, "2025-12-01T20:29:56.123456Z");
  uvcrawl__warc_date(0, t);
  ASSERT_STR_EQ(t, "1970-01-01T00:00:00.000000Z");
}

static void head(const char *raw, const char *want, const char *want_proto) {
  uvcrawl__dynbuf_t b;
  const char *proto;
  uvcrawl__dynbuf_init(&b, 0);
  ASSERT_EQ(uvcrawl__warc_http_head(&b, raw, strlen(raw), &proto), 0);
  ASSERT_STR_EQ(b.p, want);
  if (want_proto == NULL) ASSERT_NULL(proto);
  else ASSERT_STR_EQ(proto, want_proto);
  uvcrawl__dynbuf_free(&b);
}

static void test_http_head(void) {
  head("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n",
       "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n", NULL);
  head("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nContent-Encoding: gzip\n",
       "HTTP/1.1 200 OK\r\nX-Crawler-Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n",
       NULL);
  head("HTTP/2 404\r\ncontent-type: text/html\r\ntransfer-encoding: chunked\r\n\r\n",
       "HTTP/1.1 404 Not Found\r\ncontent-type: text/html\r\n"
       "X-Crawler-transfer-encoding: chunked\r\n\r\n", "h2");
  head("HTTP/3 299\r\n\r\n", "HTTP/1.1 299 Status\r\n\r\n", "h3");
  head("GET /a?b HTTP/2\r\nHost: x\r\nAccept: */*\r\n\r\n",
       "GET /a?b HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", "h2");
  head("HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE", "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", NULL);
  uvcrawl__dynbuf_t b;
  const char *proto;
  uvcrawl__dynbuf_init(&b, 0);
  ASSERT_EQ(uvcrawl__warc_http_head(&b, "", 0, &proto), -EINVAL);
  ASSERT_EQ(uvcrawl__warc_http_head(&b, "\r\n", 2, &proto), -EINVAL);
  ASSERT_EQ(uvcrawl__warc_http_head(&b, "HTTP/2 abc\r\n", 12, &proto), -EINVAL);
  ASSERT_EQ(uvcrawl__warc_http_head(&b, "nospace\r\n", 9, &proto), -EINVAL);
  ASSERT_EQ(b.len, 0);
  uvcrawl__dynbuf_free(&b);
}

/* A plain record, then the same record gzipped: the member inflates to the plain bytes. */
static void test_record(void) {
  uvcrawl__dynbuf_t plain, gz;
  uvcrawl__warc_chunk_t block[2] = {{"HTTP/1.1 200 OK\r\n\r\n", 19}, {"abc", 3}};
  uvcrawl__warc_field_t f[3] = {{"WARC-Target-URI", "http://a/"}, {"WARC-IP-Address", NULL},
                                {"WARC-Payload-Digest", "sha1:VGMT4NSHA2AWVOR6EVYXQUGCNSONBWE5"}};
  const char *id = "<urn:uuid:00000000-0000-4000-8000-000000000000>";
  uvcrawl__dynbuf_init(&plain, 0);
  uvcrawl__dynbuf_init(&gz, 0);
  ASSERT_EQ(uvcrawl__warc_record(&plain, "response", id, "2026-12-01T00:00:00.000000Z",
                                 "application/http; msgtype=response", f, 3, block, 2, 0), 0);
  char d[UVCRAWL__WARC_DIGEST_SIZE];
  ASSERT_EQ(uvcrawl__warc_sha1(block, 2, d), 0);
  char want[1024];
  snprintf(want, sizeof(want),
           "WARC/1.1\r\nWARC-Type: response\r\nWARC-Record-ID: %s\r\n"
           "WARC-Date: 2026-12-01T00:00:00.000000Z\r\nWARC-Target-URI: http://a/\r\n"
           "WARC-Payload-Digest: sha1:VGMT4NSHA2AWVOR6EVYXQUGCNSONBWE5\r\n"
           "Content-Type: application/http; msgtype=response\r\n"
           "WARC-Block-Digest: %s\r\nContent-Length: 22\r\n\r\n"
           "HTTP/1.1 200 OK\r\n\r\nabc\r\n\r\n", id, d);
  ASSERT_STR_EQ(plain.p, want);
  ASSERT_EQ(uvcrawl__warc_record(&gz, "response", id, "2026-12-01T00:00:00.000000Z",
                                 "application/http; msgtype=response", f, 3, block, 2, 1), 0);
  ASSERT(gz.len > 18 && (unsigned char)gz.p[0] == 0x1f && (unsigned char)gz.p[1] == 0x8b);
  char back[1024];
  z_stream z;
  memset(&z, 0, sizeof(z));
  ASSERT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  z.next_in = (Bytef *)gz.p;
  z.avail_in = (uInt)gz.len;
  z.next_out = (Bytef *)back;
  z.avail_out = sizeof(back);
  ASSERT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  ASSERT_EQ(z.avail_in, 0); /* exactly one member */
  ASSERT_EQ(sizeof(back) - z.avail_out, plain.len);
  ASSERT(memcmp(back, plain.p, plain.len) == 0);
  inflateEnd(&z);
  /* The payload stored, not deflated (it is compressed already): the same record inside, and
   * the payload's bytes as they are in the member. */
  uvcrawl__dynbuf_reset(&gz);
  ASSERT_EQ(uvcrawl__warc_record(&gz, "response", id, "2026-12-01T00:00:00.000000Z",
                                 "application/http; msgtype=response", f, 3, block, 2,
                                 UVCRAWL__WARC_GZIP_STORE_LAST), 0);
  ASSERT_NOT_NULL(memmem(gz.p, gz.len, "abc", 3));
  memset(&z, 0, sizeof(z));
  ASSERT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  z.next_in = (Bytef *)gz.p;
  z.avail_in = (uInt)gz.len;
  z.next_out = (Bytef *)back;
  z.avail_out = sizeof(back);
  ASSERT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  ASSERT_EQ(z.avail_in, 0);
  ASSERT_EQ(sizeof(back) - z.avail_out, plain.len);
  ASSERT(memcmp(back, plain.p, plain.len) == 0);
  inflateEnd(&z);
  /* A cap too small: nothing appended, an error. */
  uvcrawl__dynbuf_t small;
  uvcrawl__dynbuf_init(&small, 64);
  ASSERT_EQ(uvcrawl__warc_record(&small, "response", id, "x", NULL, f, 3, block, 2, 0), -E2BIG);
  ASSERT_EQ(small.len, 0);
  uvcrawl__dynbuf_free(&small);
  uvcrawl__dynbuf_free(&plain);
  uvcrawl__dynbuf_free(&gz);
}

static void surt(const char *url, const char *want) {
  uvcrawl__dynbuf_t b;
  uvcrawl__dynbuf_init(&b, 0);
  ASSERT_EQ(uvcrawl__cdxj_surt(&b, url), 0);
  ASSERT_STR_EQ(b.p, want);
  uvcrawl__dynbuf_free(&b);
}

static void test_surt(void) {
  surt("http://www.Example.com/A/b.html", "com,example)/a/b.html");
  surt("https://www2.example.co.uk:8443/x?b=2&a=1&B=0", "uk,co,example:8443)/x?a=1&b=0&b=2");
  surt("http://127.0.0.1:8080/", "1,0,0,127:8080)/");
  surt("http://example.com", "com,example)/");
  surt("http://example.com/p?", "com,example)/p");
  surt("http://example.com/p#frag", "com,example)/p");
  surt("http://user:pw@wwwx.example.com/", "com,example,wwwx)/");
  surt("http://[::1]:81/a", "[::1]:81)/a");
  surt("ftp://x/y", "ftp://x/y");
}

static void test_cdxj(void) {
  uvcrawl__dynbuf_t b;
  uvcrawl__dynbuf_init(&b, 0);
  uvcrawl__cdxj_entry_t e = {"http://www.example.com/b?z=1&a=\"q\"", "2026-12-01T20:09:56.123456Z",
                             " text/html; charset=utf-8", 200,
                             "sha1:VGMT4NSHA2AWVOR6EVYXQUGCNSONBWE5", 0, 512, 0, "a.warc.gz"};
  ASSERT_EQ(uvcrawl__cdxj_line(&b, &e), 0);
  e.url = "http://example.com/a";
  e.revisit = 1;
  e.offset = 512;
  e.length = 300;
  ASSERT_EQ(uvcrawl__cdxj_line(&b, &e), 0);
  e.url = "http://example.com/0";
  e.revisit = 0;
  e.mime = NULL;
  e.status = 0;
  e.digest = NULL;
  ASSERT_EQ(uvcrawl__cdxj_line(&b, &e), 0);
  ASSERT_EQ(uvcrawl__cdxj_sort(b.p, b.len), 0);
  ASSERT_STR_EQ(b.p,
    "com,example)/0 20261201200956 {\"url\":\"http://example.com/0\",\"length\":\"300\","
    "\"offset\":\"512\",\"filename\":\"a.warc.gz\"}\n"
    "com,example)/a 20261201200956 {\"url\":\"http://example.com/a\",\"mime\":\"warc/revisit\","
    "\"status\":\"200\",\"digest\":\"VGMT4NSHA2AWVOR6EVYXQUGCNSONBWE5\",\"length\":\"300\","
    "\"offset\":\"512\",\"filename\":\"a.warc.gz\"}\n"
    "com,example)/b?a=\"q\"&z=1 20261201200956 {\"url\":\"http://www.example.com/b?z=1&a=\\\"q\\\"\","
    "\"mime\":\"text/html\",\"status\":\"200\",\"digest\":\"VGMT4NSHA2AWVOR6EVYXQUGCNSONBWE5\","
    "\"length\":\"512\",\"offset\":\"0\",\"filename\":\"a.warc.gz\"}\n");
  uvcrawl__dynbuf_free(&b);
}

int main(void) {
  test_digest();
  test_id_date();
  test_http_head();
  test_record();
  test_surt();
  test_cdxj();
  printf("warc: all cases passed\n");
  return 0;
}
