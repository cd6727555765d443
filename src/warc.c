/* WARC 1.1 record bytes: IDs, dates, digests, HTTP heads and whole (optionally gzipped)
 * records. */
#include "warc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/evp.h>
#include <zlib.h>

int uvcrawl__warc_id(char id[UVCRAWL__WARC_ID_SIZE]) {
  unsigned char r[16];
  /* The kernel's randomness, not RAND_bytes: OpenSSL keeps per-thread generator state that
   * pool threads, never joined, would leave behind (valgrind calls it lost). */
  ssize_t got;
  do got = getrandom(r, sizeof(r), 0);
  while (got < 0 && errno == EINTR);
  if (got != (ssize_t)sizeof(r)) return -EIO;
  r[6] = (unsigned char)((r[6] & 0x0F) | 0x40); /* version 4 */
  r[8] = (unsigned char)((r[8] & 0x3F) | 0x80); /* RFC 4122 variant */
  snprintf(id, UVCRAWL__WARC_ID_SIZE,
           "<urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x>",
           r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
           r[14], r[15]);
  return 0;
}

void uvcrawl__warc_date(uint64_t unix_ns, char date[UVCRAWL__WARC_DATE_SIZE]) {
  time_t secs = (time_t)(unix_ns / 1000000000u);
  unsigned us = (unsigned)(unix_ns % 1000000000u / 1000u);
  struct tm tm;
  gmtime_r(&secs, &tm);
  size_t n = strftime(date, UVCRAWL__WARC_DATE_SIZE, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(date + n, UVCRAWL__WARC_DATE_SIZE - n, ".%06uZ", us);
}

int uvcrawl__warc_sha1(const uvcrawl__warc_chunk_t *chunks, size_t n,
                       char digest[UVCRAWL__WARC_DIGEST_SIZE]) {
  static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned dlen = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (ctx == NULL) return -ENOMEM;
  int ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL);
  for (size_t i = 0; ok && i < n; i++)
    if (chunks[i].len > 0) ok = EVP_DigestUpdate(ctx, chunks[i].p, chunks[i].len);
  ok = ok && EVP_DigestFinal_ex(ctx, d, &dlen);
  EVP_MD_CTX_free(ctx);
  if (!ok || dlen != 20) return -ENOMEM;
  memcpy(digest, "sha1:", 5);
  /* 20 bytes = 160 bits = 32 groups of 5 bits, no padding needed. */
  for (unsigned i = 0; i < 32; i++) {
    unsigned bit = i * 5, byte = bit / 8, shift = bit % 8;
    unsigned v = (unsigned)d[byte] << 8 | (byte + 1 < 20 ? d[byte + 1] : 0);
    digest[5 + i] = b32[(v >> (11 - shift)) & 31];
  }
  digest[37] = '\0';
  return 0;
}

/* Feeds n bytes through z into out (Z_FINISH when last). */
static int deflate_into(z_stream *z, uvcrawl__dynbuf_t *out, const void *p, size_t n, int last) {
  unsigned char tmp[16384];
  z->next_in = (Bytef *)(uintptr_t)p;
  for (;;) {
    /* avail_in is 32-bit: feed big chunks in slices. */
    size_t slice = n > (1u << 30) ? (1u << 30) : n;
    int flush = last && slice == n ? Z_FINISH : Z_NO_FLUSH;
    z->avail_in = (uInt)slice;
    do {
      z->next_out = tmp;
      z->avail_out = sizeof(tmp);
      int r = deflate(z, flush);
      if (r == Z_STREAM_ERROR) return -ENOMEM;
      int err = uvcrawl__dynbuf_add(out, tmp, sizeof(tmp) - z->avail_out);
      if (err != 0) return err;
      if (r == Z_STREAM_END) return 0;
    } while (z->avail_out == 0 || z->avail_in > 0 || flush == Z_FINISH);
    n -= slice;
    if (n == 0) return 0;
  }
}

/* Changes z's compression level between chunks, draining what deflateParams flushes. */
static int set_level(z_stream *z, uvcrawl__dynbuf_t *out, int level) {
  unsigned char tmp[16384];
  z->avail_in = 0;
  for (;;) {
    z->next_out = tmp;
    z->avail_out = sizeof(tmp);
    int r = deflateParams(z, level, Z_DEFAULT_STRATEGY);
    int err = uvcrawl__dynbuf_add(out, tmp, sizeof(tmp) - z->avail_out);
    if (err != 0) return err;
    if (r == Z_OK) return 0;
    if (r != Z_BUF_ERROR) return -ENOMEM;
  }
}

int uvcrawl__warc_record(uvcrawl__dynbuf_t *out, const char *type, const char *record_id,
                         const char *date, const char *content_type,
                         const uvcrawl__warc_field_t *fields, size_t nfields,
                         const uvcrawl__warc_chunk_t *block, size_t nblock, int gzip) {
  char digest[UVCRAWL__WARC_DIGEST_SIZE];
  uvcrawl__dynbuf_t head;
  size_t start = out->len, blen = 0;
  int err;

  for (size_t i = 0; i < nblock; i++) blen += block[i].len;
  if ((err = uvcrawl__warc_sha1(block, nblock, digest)) != 0) return err;
  uvcrawl__dynbuf_init(&head, 0);
  err = uvcrawl__dynbuf_addf(&head, "WARC/1.1\r\nWARC-Type: %s\r\nWARC-Record-ID: %s\r\n"
                             "WARC-Date: %s\r\n", type, record_id, date);
  for (size_t i = 0; err == 0 && i < nfields; i++)
    if (fields[i].value != NULL)
      err = uvcrawl__dynbuf_addf(&head, "%s: %s\r\n", fields[i].name, fields[i].value);
  if (err == 0 && content_type != NULL)
    err = uvcrawl__dynbuf_addf(&head, "Content-Type: %s\r\n", content_type);
  if (err == 0)
    err = uvcrawl__dynbuf_addf(&head, "WARC-Block-Digest: %s\r\nContent-Length: %zu\r\n\r\n",
                               digest, blen);
  if (err != 0) goto done;

  if (!gzip) {
    err = uvcrawl__dynbuf_add(out, head.p, head.len);
    for (size_t i = 0; err == 0 && i < nblock; i++)
      err = uvcrawl__dynbuf_add(out, block[i].p, block[i].len);
    if (err == 0) err = uvcrawl__dynbuf_add(out, "\r\n\r\n", 4);
  } else {
    z_stream z;
    memset(&z, 0, sizeof(z));
    /* windowBits 15 + 16: a gzip wrapper, one member per record. */
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      err = -ENOMEM;
      goto done;
    }
    err = deflate_into(&z, out, head.p, head.len, 0);
    for (size_t i = 0; err == 0 && i < nblock; i++) {
      int store = gzip == UVCRAWL__WARC_GZIP_STORE_LAST && i == nblock - 1 && block[i].len > 0;
      if (store) err = set_level(&z, out, 0);
      if (err == 0) err = deflate_into(&z, out, block[i].p, block[i].len, 0);
      if (err == 0 && store) err = set_level(&z, out, 6);
    }
    if (err == 0) err = deflate_into(&z, out, "\r\n\r\n", 4, 1);
    deflateEnd(&z);
  }
done:
  uvcrawl__dynbuf_free(&head);
  if (err != 0) {
    out->len = start;
    if (out->p != NULL) out->p[start] = '\0';
  }
  return err;
}

/* The reason phrase an HTTP/2 status line does not carry, for the HTTP/1.1 form. */
static const char *reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 410: return "Gone";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

/* 1 when the first line is an HTTP/2 or /3 status or request line; the version found. */
static const char *new_protocol(const char *line, size_t n, int *is_status) {
  *is_status = n >= 5 && memcmp(line, "HTTP/", 5) == 0;
  if (*is_status) {
    if (n >= 7 && (line[5] == '2' || line[5] == '3') && (line[6] == ' ' || line[6] == '.'))
      return line[5] == '2' ? "h2" : "h3";
    return NULL;
  }
  /* A request line: METHOD SP target SP HTTP/x */
  const char *sp = memrchr(line, ' ', n);
  if (sp == NULL || (size_t)(line + n - sp) < 7 || memcmp(sp + 1, "HTTP/", 5) != 0) return NULL;
  if (sp[6] == '2' || sp[6] == '3') return sp[6] == '2' ? "h2" : "h3";
  return NULL;
}

int uvcrawl__warc_http_head(uvcrawl__dynbuf_t *out, const char *raw, size_t len,
                            const char **protocol) {
  static const char te[] = "transfer-encoding:";
  size_t start = out->len, pos = 0;
  int err = 0, first = 1;

  *protocol = NULL;
  while (err == 0 && pos < len) {
    const char *line = raw + pos;
    const char *nl = memchr(line, '\n', len - pos);
    size_t n = nl != NULL ? (size_t)(nl - line) : len - pos;
    pos += n + (nl != NULL);
    if (n > 0 && line[n - 1] == '\r') n--;
    if (n == 0) break; /* the blank line: the head is complete */
    if (first) {
      int is_status;
      first = 0;
      *protocol = new_protocol(line, n, &is_status);
      if (*protocol != NULL && is_status) {
        /* "HTTP/2 200" -> "HTTP/1.1 200 OK" */
        const char *p = memchr(line, ' ', n);
        int status = 0;
        for (p = p ? p + 1 : line + n; p < line + n && *p >= '0' && *p <= '9'; p++)
          status = status * 10 + (*p - '0');
        if (status < 100 || status > 999) goto bad;
        err = uvcrawl__dynbuf_addf(out, "HTTP/1.1 %d %s\r\n", status, reason(status));
      } else if (*protocol != NULL) {
        const char *sp = memrchr(line, ' ', n);
        err = uvcrawl__dynbuf_add(out, line, (size_t)(sp - line));
        if (err == 0) err = uvcrawl__dynbuf_add(out, " HTTP/1.1\r\n", 11);
      } else {
        if (!is_status && memchr(line, ' ', n) == NULL) goto bad;
        err = uvcrawl__dynbuf_add(out, line, n);
        if (err == 0) err = uvcrawl__dynbuf_add(out, "\r\n", 2);
      }
      continue;
    }
    if (n >= sizeof(te) - 1 && strncasecmp(line, te, sizeof(te) - 1) == 0) {
      err = uvcrawl__dynbuf_add(out, "X-Crawler-", 10);
    }
    if (err == 0) err = uvcrawl__dynbuf_add(out, line, n);
    if (err == 0) err = uvcrawl__dynbuf_add(out, "\r\n", 2);
  }
  if (first) goto bad;
  if (err == 0) err = uvcrawl__dynbuf_add(out, "\r\n", 2);
  if (err == 0) return 0;
  goto undo;
bad:
  err = -EINVAL;
undo:
  out->len = start;
  if (out->p != NULL) out->p[start] = '\0';
  return err;
}
