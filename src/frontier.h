/* The frontier interface: what the crawler asks of a frontier, so that one crawler runs either
 * on the local frontier (frontier.c: one process, synchronous) or on a frontier shared by many
 * processes through Redis (redis_frontier.c: claims and acks are round trips).
 *
 * The crawler always keeps the local frontier as its seen set and string table (items' URLs
 * are interned there); the ops decide what is queued where and what may start now. An
 * asynchronous frontier answers next() with 0 while it waits for work and calls the wake
 * callback it was given when work (or the end of the crawl) arrives. */
#ifndef UVCRAWL_FRONTIER_H
#define UVCRAWL_FRONTIER_H

#include "uvcrawl-int.h"

typedef struct {
  /* Queues url (copied or interned) unless seen: 1 queued, 0 seen before, < 0 an error. */
  int (*add)(void *q, const char *url, const char *referrer, int depth);
  /* As uvcrawl__frontier_next(): 1 and an item, or 0 and *wake_ns (0: the frontier wakes the
   * crawler itself, or nothing waits). */
  int (*next)(void *q, uint64_t now_ns, uvcrawl__item_t *item, uint64_t *wake_ns);
  /* The request for item ended (throttle_ms > 0: the host asked us to slow down). */
  void (*done)(void *q, const uvcrawl__item_t *item, uint64_t now_ns, uint32_t throttle_ms);
  /* item goes back, not to start before not_before_ns. 0 or UV_ENOMEM. */
  int (*retry)(void *q, const uvcrawl__item_t *item, uint64_t not_before_ns);
  const char *(*robots_needed)(void *q);
  void (*robots_again)(void *q, const char *origin);
  /* What the robots.txt fetch of origin gave, before it is applied (NULL: nothing to share):
   * status 0 when there was no answer (body is then the error text, code curl's). */
  void (*robots_fetched)(void *q, const char *origin, long status, int code, const char *body,
                         size_t len);
  void (*set_robots)(void *q, const char *origin, uvcrawl__robots_t *robots);
  /* 1 while the crawl may still give work (local: URLs queued; shared: not finished). */
  int (*more)(void *q);
  size_t (*queued)(void *q);
  /* item (from next()) is finished and line is its record (NULL: nothing to report). */
  void (*completed)(void *q, const uvcrawl__item_t *item, const char *line, size_t len);
} uvcrawl__fops_t;

/* The local frontier (q is a uvcrawl__frontier_t *). */
extern const uvcrawl__fops_t uvcrawl__local_fops;

/* The origin of a normalized URL into buf with the port spelled out, by string work alone;
 * the length, or 0 when the URL is not in that shape (ask uvcrawl__url_origin()). Pure. */
size_t uvcrawl__fast_origin(const char *url, char *buf, size_t size);

/* ---- redis_frontier.c: the frontier of a crawl shared through Redis -------------------- */

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
