/* CDXJ index lines (pywb's format, as `warcio cdx-index` writes them): a SURT key, a 14-digit
 * timestamp and a JSON object naming where the record is. Pure: no I/O, no libuv. */
#ifndef UVCRAWL_CDXJ_H
#define UVCRAWL_CDXJ_H

#include <stdint.h>

#include "dynbuf.h"

/* Appends the SURT key of an http(s) URL (normalized, as uvcrawl__url_resolve gives it):
 * lower-cased, a leading "www." (or "www2." ...) dropped, host labels reversed and joined by
 * ',', the port when there is one, ')', the path, and the query's '&'-separated arguments
 * sorted; the fragment dropped. Another scheme is appended as it is. 0, -ENOMEM or -E2BIG. */
int uvcrawl__cdxj_surt(uvcrawl__dynbuf_t *out, const char *url);

/* One record to index (strings borrowed; mime, digest may be NULL; status 0: none). */
typedef struct {
  const char *url;
  const char *warc_date;  /* the record's WARC-Date */
  const char *mime;       /* the response's Content-Type (parameters are dropped) */
  long status;
  const char *digest;     /* WARC-Payload-Digest, "sha1:..." */
  int revisit;            /* mime is then "warc/revisit" */
  uint64_t length;        /* the record's bytes in the file (its gzip member when gzipped) */
  uint64_t offset;        /* where the record starts in the file */
  const char *filename;   /* the WARC file's name, as a replay tool finds it */
} uvcrawl__cdxj_entry_t;

/* Appends the entry's line, '\n' included. 0, -ENOMEM or -E2BIG. */
int uvcrawl__cdxj_line(uvcrawl__dynbuf_t *out, const uvcrawl__cdxj_entry_t *e);

/* Sorts the '\n'-terminated lines of buf (len bytes) in place, byte-wise (as LC_ALL=C sort),
 * which is the order replay tools binary-search. 0 or -ENOMEM. */
int uvcrawl__cdxj_sort(char *buf, size_t len);

#endif /* UVCRAWL_CDXJ_H */
