/* The crawl's WARC output (--warc): what each transfer sent and received, captured from
 * libcurl's callbacks on the loop, made into request/response records on the thread pool, and
 * written by one writer job at a time (so records follow each other and every offset is
 * exact), with revisit records for payloads already archived, rollover to numbered files, a
 * sorted CDXJ index written at the end, and --resume that continues after the last complete
 * record. Nothing here blocks the loop: opening (and the resume scan) happens at setup, like
 * the journal's replay.
 *
 * Life of a record (uvcrawl__warcrec_t): uvcrawl__warcrec_new() when a transfer starts, then
 * uvcrawl__warcrec_setup() on its easy handle; uvcrawl__warcrec_done() on the loop when it
 * ends; uvcrawl__warcrec_prepare() on a pool thread (optional: the writer prepares records that
 * were not); finally uvcrawl__warcout_write() or _archive() hand it to the writer, which owns
 * it from then on. uvcrawl__warcrec_free() drops one that is never written. */
#ifndef UVCRAWL_WARCOUT_H
#define UVCRAWL_WARCOUT_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <uv.h>

typedef struct uvcrawl__warcout_s uvcrawl__warcout_t;
typedef struct uvcrawl__warcrec_s uvcrawl__warcrec_t;
struct uvcrawl__pool_s;

typedef struct {
  const char *path;       /* FILE.warc.gz (one gzip member per record) or FILE.warc */
  uint64_t max_size;      /* 0: one file; else FILE-00000.warc.gz, -00001, ... each started
                             anew once it holds this many bytes */
  const char *cdx_path;   /* NULL, or where the sorted CDXJ index goes when the crawl ends */
  const char *dedup_path; /* NULL, or a previous crawl's CDXJ: payloads it lists are revisits */
  int resume;             /* continue the WARC (and its index) after its last complete record */
  const char *info;       /* "name: value\r\n" lines for the warcinfo record (borrowed) */
} uvcrawl__warcout_conf_t;

/* Opens (or with resume, scans and continues) the WARC; reads dedup_path. Synchronous: call
 * at setup, before the loop runs the crawl. The strings of conf are copied. *out is owned:
 * release it with uvcrawl__warcout_close(). Returns 0, a negative errno, UV_EINVAL (a file
 * to resume that is no WARC, or a dedup file that is no CDXJ) or UV_ENOMEM. */
int uvcrawl__warcout_open(uv_loop_t *loop, struct uvcrawl__pool_s *pool,
                          const uvcrawl__warcout_conf_t *conf, uvcrawl__warcout_t **out);

/* A new record capture for a transfer. Returns NULL when out of memory. */
uvcrawl__warcrec_t *uvcrawl__warcrec_new(uvcrawl__warcout_t *w);
void uvcrawl__warcrec_free(uvcrawl__warcrec_t *r);
/* Sets e's callbacks so the request as sent and the response head as received are captured,
 * and asks libcurl to keep the content coding (the body arrives as the server coded it;
 * Accept-Encoding lists the codings uvcrawl decodes). Call after the other options. */
void uvcrawl__warcrec_setup(uvcrawl__warcrec_t *r, CURL *e);
/* The transfer ended: takes the server's IP address from e; url (copied) is the record's
 * WARC-Target-URI. truncated: NULL, or why the body is incomplete ("length", "disconnect"),
 * for WARC-Truncated. Returns 1 when a response was received (the record is worth writing),
 * 0 when not, UV_ENOMEM. */
int uvcrawl__warcrec_done(uvcrawl__warcrec_t *r, CURL *e, const char *url, const char *truncated);
/* The response's Content-Encoding value (borrowed from r) and its length, or NULL when none.
 * After uvcrawl__warcrec_done(). */
const char *uvcrawl__warcrec_coding(const uvcrawl__warcrec_t *r, size_t *n);
/* Builds the record bytes over body[0..len) (borrowed for the call), as the writer would:
 * for a pool thread, so the gzip work spreads over the pool. 0 or UV_ENOMEM (the writer then
 * tries again). */
int uvcrawl__warcrec_prepare(uvcrawl__warcrec_t *r, const char *body, size_t len);

/* Where the writer put a record: the WARC file (as named on the command line, numbered with
 * rollover), the offset of its response (or revisit) record, and that record's ID; file is
 * NULL when the record could not be written. Strings are r's, valid during the callback. */
typedef struct {
  const char *file;
  uint64_t offset;
  const char *record_id;
  int revisit;
} uvcrawl__warcrec_result_t;
typedef void (*uvcrawl__warcout_cb)(void *arg, const uvcrawl__warcrec_result_t *res);

/* Queues r (owned by w from now on) with its body (borrowed until cb), to be written after
 * every record queued before it; cb(arg, res) runs on the loop once it is on disk (or failed;
 * never from inside this call). */
void uvcrawl__warcout_write(uvcrawl__warcout_t *w, uvcrawl__warcrec_t *r, const char *body,
                            size_t len, uvcrawl__warcout_cb cb, void *arg);
/* Same, without a callback: body (malloc'd, may be NULL) is owned by w from now on. */
void uvcrawl__warcout_archive(uvcrawl__warcout_t *w, uvcrawl__warcrec_t *r, char *body,
                              size_t len);
/* cb(arg, status) runs once every record queued so far is written, the WARC fdatasync'ed and
 * the CDXJ index written (status: 0 or the first error). One flush at a time. */
void uvcrawl__warcout_flush(uvcrawl__warcout_t *w, void (*cb)(void *arg, int status), void *arg);
/* Writes what is queued, closes the file and frees w; cb (may be NULL) runs after. */
void uvcrawl__warcout_close(uvcrawl__warcout_t *w, void (*cb)(void *arg, int status), void *arg);
/* Frees w at once, for a setup that fails after opening it: nothing may have been queued. */
void uvcrawl__warcout_discard(uvcrawl__warcout_t *w);
#endif /* UVCRAWL_WARCOUT_H */
