/* Writes a sample WARC through warc.c and its CDXJ index through cdxj.c, for
 * tests/test_warc.py to read back with real archive tools (warcio) and the project's checker:
 *
 *   warc-sample OUT.warc[.gz] OUT.cdxj
 *
 * Records: warcinfo; request/response pairs for an HTTP/1.1 page, a chunked gzip-coded page
 * (coding kept, transfer coding removed), an HTTP/2 404, a redirect; and a revisit of the
 * first page's payload at another URL. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cdxj.h"
#include "task.h"
#include "warc.h"

static uvcrawl__dynbuf_t warc, cdxj;
static const char *fname;
static int gz;
static uint64_t now_ns = 1764620996000000000ull;

/* Appends a record and, when it is a response or revisit, its CDXJ line. */
static void put(const char *type, const char *uri, const char *id, const char *date,
                const char *ctype, const uvcrawl__warc_field_t *f, size_t nf,
                const uvcrawl__warc_chunk_t *block, size_t nblock, long status,
                const char *mime, const char *payload_digest) {
  size_t off = warc.len;
  ASSERT_EQ(uvcrawl__warc_record(&warc, type, id, date, ctype, f, nf, block, nblock, gz), 0);
  if (strcmp(type, "response") == 0 || strcmp(type, "revisit") == 0) {
    uvcrawl__cdxj_entry_t e = {uri, date, mime, status, payload_digest,
                               strcmp(type, "revisit") == 0, warc.len - off, off, fname};
    ASSERT_EQ(uvcrawl__cdxj_line(&cdxj, &e), 0);
  }
}

/* A request/response pair for uri: raw heads as a client saw them, body as stored. */
static void pair(const char *uri, const char *req_raw, const char *resp_raw, const char *body,
                 size_t blen, long status, const char *mime, char *resp_id, char *date,
                 char *digest) {
  char req_id[UVCRAWL__WARC_ID_SIZE];
  uvcrawl__dynbuf_t rq, rs;
  const char *proto, *rproto;
  ASSERT_EQ(uvcrawl__warc_id(req_id), 0);
  ASSERT_EQ(uvcrawl__warc_id(resp_id), 0);
  uvcrawl__warc_date(now_ns += 1234567, date);
  uvcrawl__dynbuf_init(&rq, 0);
  uvcrawl__dynbuf_init(&rs, 0);
  ASSERT_EQ(uvcrawl__warc_http_head(&rq, req_raw, strlen(req_raw), &rproto), 0);
  ASSERT_EQ(uvcrawl__warc_http_head(&rs, resp_raw, strlen(resp_raw), &proto), 0);
  uvcrawl__warc_chunk_t payload = {body, blen};
  ASSERT_EQ(uvcrawl__warc_sha1(&payload, 1, digest), 0);
  uvcrawl__warc_chunk_t rsb[2] = {{rs.p, rs.len}, {body, blen}};
  uvcrawl__warc_field_t rf[5] = {{"WARC-Target-URI", uri}, {"WARC-IP-Address", "127.0.0.1"},
                                 {"WARC-Protocol", proto}, {"WARC-Payload-Digest", digest},
                                 {"WARC-Concurrent-To", NULL}};
  put("response", uri, resp_id, date, "application/http; msgtype=response", rf, 4, rsb, 2,
      status, mime, digest);
  uvcrawl__warc_chunk_t rqb = {rq.p, rq.len};
  uvcrawl__warc_field_t qf[4] = {{"WARC-Target-URI", uri}, {"WARC-Protocol", rproto},
                                 {"WARC-Concurrent-To", resp_id}, {NULL, NULL}};
  put("request", uri, req_id, date, "application/http; msgtype=request", qf, 3, &rqb, 1, 0,
      NULL, NULL);
  uvcrawl__dynbuf_free(&rq);
  uvcrawl__dynbuf_free(&rs);
}

int main(int argc, char **argv) {
  char id[UVCRAWL__WARC_ID_SIZE], date[UVCRAWL__WARC_DATE_SIZE],
      digest[UVCRAWL__WARC_DIGEST_SIZE];
  char first_date[UVCRAWL__WARC_DATE_SIZE], first_digest[UVCRAWL__WARC_DIGEST_SIZE];
  if (argc != 3) {
    fprintf(stderr, "usage: warc-sample OUT.warc[.gz] OUT.cdxj\n");
    return 2;
  }
  size_t n = strlen(argv[1]);
  gz = n > 3 && strcmp(argv[1] + n - 3, ".gz") == 0;
  fname = strrchr(argv[1], '/') ? strrchr(argv[1], '/') + 1 : argv[1];
  uvcrawl__dynbuf_init(&warc, 0);
  uvcrawl__dynbuf_init(&cdxj, 0);

  /* warcinfo */
  const char *info = "software: uvcrawl warc-sample\r\nformat: WARC File Format 1.1\r\n"
                     "conformsTo: http://iipc.github.io/warc-specifications/specifications/"
                     "warc-format/warc-1.1/\r\n";
  uvcrawl__warc_chunk_t ib = {info, strlen(info)};
  uvcrawl__warc_field_t inf[1] = {{"WARC-Filename", fname}};
  ASSERT_EQ(uvcrawl__warc_id(id), 0);
  uvcrawl__warc_date(now_ns, date);
  put("warcinfo", NULL, id, date, "application/warc-fields", inf, 1, &ib, 1, 0, NULL, NULL);

  /* A plain HTTP/1.1 page. */
  const char *page = "<!doctype html><title>a</title><a href=\"/b\">b</a>\n";
  char first_id[UVCRAWL__WARC_ID_SIZE];
  pair("http://127.0.0.1:8080/", "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAccept: */*\r\n\r\n",
       "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 50\r\n\r\n",
       page, strlen(page), 200, "text/html; charset=utf-8", first_id, first_date, first_digest);

  /* Chunked and gzip-coded: the gzip bytes are stored, the chunking is not. */
  unsigned char zbody[256];
  const char *text = "<!doctype html><p>compressed page, stored compressed</p>\n";
  z_stream z;
  memset(&z, 0, sizeof(z));
  ASSERT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
  z.next_in = (Bytef *)text;
  z.avail_in = (uInt)strlen(text);
  z.next_out = zbody;
  z.avail_out = sizeof(zbody);
  ASSERT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  size_t zlen = sizeof(zbody) - z.avail_out;
  deflateEnd(&z);
  pair("http://127.0.0.1:8080/gz?b=2&a=1",
       "GET /gz?b=2&a=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAccept-Encoding: gzip\r\n\r\n",
       "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n"
       "Transfer-Encoding: chunked\r\n\r\n",
       (const char *)zbody, zlen, 200, "text/html", id, date, digest);

  /* HTTP/2, a 404 */
  const char *nf = "not found\n";
  pair("https://www.example.test/missing", "GET /missing HTTP/2\r\nHost: www.example.test\r\n\r\n",
       "HTTP/2 404\r\ncontent-type: text/plain\r\ncontent-length: 10\r\n\r\n", nf, strlen(nf),
       404, "text/plain", id, date, digest);

  /* A redirect with an empty body */
  pair("http://127.0.0.1:8080/r", "GET /r HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
       "HTTP/1.1 301 Moved Permanently\r\nLocation: /\r\nContent-Length: 0\r\n\r\n", "", 0, 301,
       NULL, id, date, digest);

  /* The first page's payload again at another URL: a revisit, headers only. */
  const char *rh = "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                   "Content-Length: 50\r\n\r\n";
  uvcrawl__dynbuf_t rs;
  const char *proto;
  uvcrawl__dynbuf_init(&rs, 0);
  ASSERT_EQ(uvcrawl__warc_http_head(&rs, rh, strlen(rh), &proto), 0);
  uvcrawl__warc_chunk_t rvb = {rs.p, rs.len};
  uvcrawl__warc_field_t rvf[5] = {
      {"WARC-Target-URI", "http://127.0.0.1:8080/copy"},
      {"WARC-Profile", "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"},
      {"WARC-Refers-To", first_id},
      {"WARC-Refers-To-Target-URI", "http://127.0.0.1:8080/"},
      {"WARC-Refers-To-Date", first_date}};
  uvcrawl__warc_field_t rvf_all[6];
  memcpy(rvf_all, rvf, sizeof(rvf));
  rvf_all[5].name = "WARC-Payload-Digest";
  rvf_all[5].value = first_digest;
  ASSERT_EQ(uvcrawl__warc_id(id), 0);
  uvcrawl__warc_date(now_ns += 1000, date);
  put("revisit", "http://127.0.0.1:8080/copy", id, date, "application/http; msgtype=response",
      rvf_all, 6, &rvb, 1, 200, "text/html; charset=utf-8", first_digest);
  uvcrawl__dynbuf_free(&rs);

  ASSERT_EQ(uvcrawl__cdxj_sort(cdxj.p, cdxj.len), 0);
  FILE *f = fopen(argv[1], "wb");
  FILE *g = fopen(argv[2], "wb");
  ASSERT(f != NULL && g != NULL);
  ASSERT_EQ(fwrite(warc.p, 1, warc.len, f), warc.len);
  ASSERT_EQ(fwrite(cdxj.p, 1, cdxj.len, g), cdxj.len);
  ASSERT_EQ(fclose(f), 0);
  ASSERT_EQ(fclose(g), 0);
  uvcrawl__dynbuf_free(&warc);
  uvcrawl__dynbuf_free(&cdxj);
  return 0;
}
