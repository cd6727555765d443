/* Ordered append-only files through libuv fs requests (output.c), and the JSON record a
 * fetched URL becomes. Not pure: libuv. */
#ifndef UVCRAWL_OUTPUT_H
#define UVCRAWL_OUTPUT_H

#include <stddef.h>
#include <uv.h>

#include "jobs.h"
#include "uvcrawl.h"

typedef struct uvcrawl__output_s uvcrawl__output_t;
typedef void (*uvcrawl__output_cb)(void *arg, int status);

/* Opens path ("-" = stdout), truncating it or appending to it, with an fdatasync at most
 * sync_ms apart while writing (0: never). Called before the crawl starts (the open itself is
 * synchronous). *out is owned; release it with uvcrawl__output_close(). */
int uvcrawl__output_open(uv_loop_t *loop, const char *path, int append, unsigned sync_ms,
                         uvcrawl__output_t **out);
/* Queues bytes (copied); full buffers are written in the background, in order. Returns 0 or
 * UV_ENOMEM; a write error is kept and reported by flush. */
int uvcrawl__output_append(uvcrawl__output_t *o, const void *data, size_t len);
/* cb(arg, status) runs once everything recorded so far is written (status: first write error). */
void uvcrawl__output_flush(uvcrawl__output_t *o, uvcrawl__output_cb cb, void *arg);
/* Closes the file and frees o at once, nothing written: the failure path of a setup. */
void uvcrawl__output_discard(uvcrawl__output_t *o);
/* Flushes, closes the file and frees o; cb may be NULL. */
void uvcrawl__output_close(uvcrawl__output_t *o, uvcrawl__output_cb cb, void *arg);

/* A record's messages, the same from both engines (no command-line flag in them). */
#define UVCRAWL__MSG_TOO_BIG "body exceeds the size cap (max_body)"
/* The note of a page whose links were cut short by max_links or max_parse, or NULL. */
const char *uvcrawl__record_note(const uvcrawl__job_t *job);
/* Appends r as a JSON object (no newline) to a malloc'd buffer (*buf, *len, *cap).
 * Pure; returns 0 or UV_ENOMEM. */
int uvcrawl__json_record(const uvcrawl_result_t *r, char **buf, size_t *len, size_t *cap);

#endif
