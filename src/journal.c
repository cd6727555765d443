/* The crawl journal: an append-only log of what was discovered and what was completed, so a
 * killed crawl resumes without losing or redoing a page. Pure: bytes in, records out.
 *
 * File: the magic line, then records of
 *   u32 length (of type + payload, little-endian) | u32 crc32 (of type + payload) | type | payload
 * 'D' discovered: u32 depth | url NUL | referrer (may be empty) NUL
 * 'S' the same, for a URL to be read as a sitemap
 * 'R' the same, for a page requisite (--page-requisites)
 * 'C' completed:  url NUL | the record's JSON line (no newline)
 * A record torn by a crash or power loss fails its length or checksum check; it and anything
 * after it are ignored (and cut off before appending again). */
#include "journal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "dynbuf.h"

#define MAX_RECORD (64u << 20)

static void put_u32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
  p[2] = (unsigned char)(v >> 16);
  p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Appends one framed record made of the type byte and two parts. */
static int frame(char **b, size_t *len, size_t *cap, char type, const void *a, size_t alen,
                 const void *c, size_t clen) {
  size_t n = 1 + alen + clen;
  if (n > MAX_RECORD) return -E2BIG;
  int err = uvcrawl__buf_reserve(b, len, cap, 8 + n);
  if (err) return err;
  unsigned char *p = (unsigned char *)*b + *len;
  p[8] = (unsigned char)type;
  memcpy(p + 9, a, alen);
  if (clen) memcpy(p + 9 + alen, c, clen);
  put_u32(p, (uint32_t)n);
  put_u32(p + 4, (uint32_t)crc32(0L, p + 8, (uInt)n));
  *len += 8 + n;
  return 0;
}

int uvcrawl__journal_discovered(char **b, size_t *len, size_t *cap, char type, const char *url,
                                const char *referrer, int depth) {
  size_t ul = strlen(url) + 1, rl = referrer ? strlen(referrer) + 1 : 1;
  char head[4 + 2048];
  if (ul > sizeof(head) - 4) { /* long URLs: build the payload on the heap */
    char *tmp = malloc(4 + ul);
    if (tmp == NULL) return -ENOMEM;
    put_u32((unsigned char *)tmp, (uint32_t)depth);
    memcpy(tmp + 4, url, ul);
    int err = frame(b, len, cap, type, tmp, 4 + ul, referrer ? referrer : "", rl);
    free(tmp);
    return err;
  }
  put_u32((unsigned char *)head, (uint32_t)depth);
  memcpy(head + 4, url, ul);
  return frame(b, len, cap, type, head, 4 + ul, referrer ? referrer : "", rl);
}

int uvcrawl__journal_completed(char **b, size_t *len, size_t *cap, const char *url,
                               const char *line, size_t line_len) {
  return frame(b, len, cap, 'C', url, strlen(url) + 1, line, line_len);
}

size_t uvcrawl__journal_replay(const char *data, size_t len, uvcrawl__journal_cb cb, void *arg) {
  const unsigned char *p = (const unsigned char *)data;
  size_t off = sizeof(UVCRAWL__JOURNAL_MAGIC) - 1;
  if (len < off || memcmp(data, UVCRAWL__JOURNAL_MAGIC, off) != 0) return 0;
  while (len - off >= 8) {
    uint32_t n = get_u32(p + off), crc = get_u32(p + off + 4);
    if (n < 1 || n > MAX_RECORD || n > len - off - 8) break;
    const unsigned char *rec = p + off + 8;
    if ((uint32_t)crc32(0L, rec, n) != crc) break;
    const char *body = (const char *)rec + 1;
    size_t blen = n - 1;
    if (rec[0] == 'D' || rec[0] == 'S' || rec[0] == 'R') {
      if (blen < 4) break;
      const char *url = body + 4, *end = body + blen;
      const char *z1 = memchr(url, '\0', (size_t)(end - url));
      if (z1 == NULL) break;
      const char *ref = z1 + 1;
      const char *z2 = ref < end ? memchr(ref, '\0', (size_t)(end - ref)) : NULL;
      if (z2 == NULL || z2 + 1 != end) break;
      uint32_t depth = get_u32((const unsigned char *)body);
      if (depth > INT32_MAX) break;
      if (cb(arg, rec[0], url, *ref ? ref : NULL, 0, (int)depth) != 0) break;
    } else if (rec[0] == 'C') {
      const char *z = memchr(body, '\0', blen);
      if (z == NULL) break;
      size_t ll = blen - (size_t)(z + 1 - body);
      if (cb(arg, 'C', body, z + 1, ll, 0) != 0) break;
    } else {
      break;
    }
    off += 8 + n;
  }
  return off;
}
