/* WARC 1.1 records (ISO 28500:2017), as bytes: the pieces a crawler needs to archive what it
 * fetched — record IDs, dates, sha1 digests in the base32 form the ecosystem reads, HTTP heads
 * made self-consistent, and whole records, optionally as one gzip member each.
 *
 * Pure: bytes in, bytes out; no I/O, no libuv, no global state (OpenSSL for sha1, getrandom
 * for the random record IDs, zlib for gzip), so thread-pool workers may call it concurrently. */
#ifndef UVCRAWL_WARC_H
#define UVCRAWL_WARC_H

#include <stddef.h>
#include <stdint.h>

#include "dynbuf.h"

#define UVCRAWL__WARC_ID_SIZE 48     /* "<urn:uuid:8-4-4-4-12>" and its NUL */
#define UVCRAWL__WARC_DATE_SIZE 32   /* "2026-12-01T20:09:56.123456Z" and its NUL */
#define UVCRAWL__WARC_DIGEST_SIZE 38 /* "sha1:" + 32 base32 characters and its NUL */

/* A piece of a record block (borrowed). */
typedef struct {
  const void *p;
  size_t len;
} uvcrawl__warc_chunk_t;

/* A named WARC header field (both borrowed); a NULL value leaves the field out. */
typedef struct {
  const char *name;
  const char *value;
} uvcrawl__warc_field_t;

/* A new random (version 4) record ID into id. Returns 0, or -EIO when no randomness. */
int uvcrawl__warc_id(char id[UVCRAWL__WARC_ID_SIZE]);

/* WARC-Date of a time in nanoseconds since the epoch, with microseconds (WARC 1.1 allows
 * sub-second precision). */
void uvcrawl__warc_date(uint64_t unix_ns, char date[UVCRAWL__WARC_DATE_SIZE]);

/* "sha1:" and the base32 (RFC 4648, no padding) sha1 of the chunks' bytes. 0 or -ENOMEM. */
int uvcrawl__warc_sha1(const uvcrawl__warc_chunk_t *chunks, size_t n,
                       char digest[UVCRAWL__WARC_DIGEST_SIZE]);

/* gzip values of uvcrawl__warc_record(): no gzip, a gzip member, or a gzip member whose last
 * block chunk is already compressed (a content-coded payload): that chunk goes in stored
 * deflate blocks, at about memcpy's cost, since compressing it again gains nothing. */
enum { UVCRAWL__WARC_PLAIN = 0, UVCRAWL__WARC_GZIP = 1, UVCRAWL__WARC_GZIP_STORE_LAST = 2 };

/* Appends one record to out: "WARC/1.1", WARC-Type, WARC-Record-ID, WARC-Date, the fields in
 * order, Content-Type (NULL: none), WARC-Block-Digest and Content-Length computed over the
 * block's chunks, the block, and the closing CRLF CRLF. With gzip the record is one gzip member
 * (what .warc.gz readers expect: each record can be read from its own offset). On failure out
 * is as it was. Returns 0, -ENOMEM or -E2BIG (out's cap). */
int uvcrawl__warc_record(uvcrawl__dynbuf_t *out, const char *type, const char *record_id,
                         const char *date, const char *content_type,
                         const uvcrawl__warc_field_t *fields, size_t nfields,
                         const uvcrawl__warc_chunk_t *block, size_t nblock, int gzip);

/* Appends the HTTP head of a response or request block, made from the head as received (raw:
 * the status or request line and header lines of ONE message, each ending in CRLF or LF, the
 * blank line optional; borrowed). A line of HTTP/2 or HTTP/3 is written in HTTP/1.1 form
 * ("HTTP/1.1 200 OK", "GET /x HTTP/1.1") and *protocol set to "h2" or "h3" (else NULL), for
 * WARC-Protocol. Since the block stores the body with its transfer coding removed, a
 * Transfer-Encoding header is renamed X-Crawler-Transfer-Encoding, so the block parses as it
 * is stored. Lines end in CRLF, and the blank line closes the head. Returns 0, -EINVAL (no
 * status/request line), -ENOMEM or -E2BIG. */
int uvcrawl__warc_http_head(uvcrawl__dynbuf_t *out, const char *raw, size_t len,
                            const char **protocol);

#endif /* UVCRAWL_WARC_H */
