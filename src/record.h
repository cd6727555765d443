/* One record for both engines: what a finished transfer says (status, HTTP version, time,
 * content type, redirect target, curl's code and error name) and how it goes into a
 * uvcrawl_result_t with the URL's item and its job's outputs. The loop engine
 * (crawl_fetch.c, crawl_records.c) and the threads engine (cli/engine_threads.c) both fill
 * their records here, so the two agree field for field. */
#ifndef UVCRAWL_RECORD_H
#define UVCRAWL_RECORD_H

#include "engine_loop.h"
#include "frontier.h"
#include "jobs.h"
#include "uvcrawl.h"

/* A transfer's outcome, as a record reports it. Strings are borrowed. */
typedef struct {
  long status;              /* HTTP status, 0 when no response came */
  const char *http_version; /* static ("1.1", "2"...), NULL without a response */
  const char *content_type; /* or NULL; from the handle: valid until it is reset or reused */
  double ms;                /* the whole transfer */
  int code;                 /* its CURLcode */
  const char *error;        /* NULL when it went well */
  const char *error_name;   /* static: curl's or uvcrawl_err_name()'s; with error only */
  const char *redirect;     /* the resolved target of a 3xx, or NULL */
  size_t bytes;             /* body bytes */
} uvcrawl__xfer_t;

/* Reads status, http_version, ms and content_type from easy once its transfer ended with
 * code; the other fields are zero. */
void uvcrawl__record_read(CURL *easy, CURLcode code, uvcrawl__xfer_t *x);
/* The target of a 3xx response: its Location (curl makes it absolute against the request)
 * normalized by uvcrawl__url_resolve() against url, the URL the record is for.
 * Returns 1 with *out malloc'd (the caller frees it), or 0 with *out NULL: not a redirect,
 * no Location, or one that does not resolve. */
int uvcrawl__record_redirect(CURL *easy, long status, const char *url, char **out);
/* The error of a transfer that ended with code: the body size cap when too_big, else curl's
 * message (errbuf, CURL_ERROR_SIZE bytes, when curl wrote one; borrowed) and curl's name for
 * code. Leaves *error and *error_name as they are when the transfer went well. */
void uvcrawl__record_error(int too_big, CURLcode code, const char *errbuf, const char **error,
                           const char **error_name);
/* *r (zeroed first) from item (url, referrer, depth, attempts), x and job (md5, links, the
 * note on capped links). Borrows every string; the caller sets what is its engine's alone
 * (broken, external, WARC). */
void uvcrawl__record_fill(uvcrawl_result_t *r, const uvcrawl__item_t *item,
                          const uvcrawl__xfer_t *x, const uvcrawl__job_t *job);

#endif /* UVCRAWL_RECORD_H */
