/* The frontier of a crawl shared through Redis (redis_frontier.c; redis_frontier_none.c when
 * built without hiredis): the frontier ops (frontier.h) as round trips. Not pure: libuv. */
#ifndef UVCRAWL_REDIS_FRONTIER_H
#define UVCRAWL_REDIS_FRONTIER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "frontier.h"

typedef struct uvcrawl__rf_s uvcrawl__rf_t;

typedef struct {
  const char *redis_url;   /* redis://HOST:PORT[/DB] */
  const char *name;        /* the crawl's name: its keys are "uvc:{name}:..." */
  const char *identity;    /* the options that define the crawl, one string */
  const char *seeds;       /* this worker's normalized seeds, '\n'-separated ("": none) */
  unsigned per_host, delay_ms, lease_ms, max_tries;
  int ignore_robots;
  unsigned max_held;       /* leases held at once (claimed, not acked) */
} uvcrawl__rf_opts_t;

typedef struct {
  void (*wake)(void *arg);  /* work, or the end of the crawl, may be there: pump */
  /* Another worker fetched origin's robots.txt (status 0: no answer, body the error): apply
   * it, then call set_robots. */
  void (*robots_shared)(void *arg, const char *origin, long status, int code,
                        const char *body, size_t len);
  /* Redis said something this worker cannot go on after (why borrowed for the call). */
  void (*fatal)(void *arg, const char *why);
} uvcrawl__rf_cbs_t;

extern const uvcrawl__fops_t uvcrawl__rf_fops;

/* Blocking, before the loop runs (like opening the output): connects, loads the function
 * library (FUNCTION LOAD, REPLACE when the stored code differs), and joins or creates the
 * crawl. On success *out is the caller's (uvcrawl__rf_close()) and *stored_seeds the crawl's
 * seeds (malloc'd, the caller frees). Returns 0; UVCRAWL_ECLUSTER (why says: options or seeds
 * differ), UVCRAWL_EREDIS (unreachable, bad URL, refused), UV_ENOTSUP (built without hiredis)
 * or UV_ENOMEM. local is borrowed (strings are interned there) until the close. */
int uvcrawl__rf_new(uv_loop_t *loop, uvcrawl__frontier_t *local, const uvcrawl__rf_opts_t *o,
                    const uvcrawl__rf_cbs_t *cbs, void *arg, char **stored_seeds, char *why,
                    size_t whylen, uvcrawl__rf_t **out);
/* Queues url without the local seen-set filter (the seeds, which the local frontier saw). */
int uvcrawl__rf_push(uvcrawl__rf_t *q, const char *url, const char *referrer, int depth);
/* Tells Redis this worker leaves (its leases go back at once), then frees q; cb(arg) runs
 * once every handle is closed. */
void uvcrawl__rf_close(uvcrawl__rf_t *q, void (*cb)(void *arg), void *arg);

/* For --status and --export (blocking, no loop). status: *json gets one JSON object
 * (malloc'd). export: every record of the crawl, one line each, to fd; *n how many. Return 0,
 * UVCRAWL_EREDIS (why says), UV_ENOTSUP or a negative errno. */
int uvcrawl__rf_status(const char *redis_url, const char *name, char **json, char *why,
                       size_t whylen);
int uvcrawl__rf_export(const char *redis_url, const char *name, int fd, uint64_t *n, char *why,
                       size_t whylen);

#endif
