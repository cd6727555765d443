/* The frontier interface: what the crawler asks of a frontier, so that one crawler runs either
 * on the local frontier (frontier.c: one process, synchronous) or on a frontier shared by many
 * processes through Redis (redis_frontier.c: claims and acks are round trips).
 *
 * The local frontier (frontier.c) is pure: no I/O, no loop (callers pass the time in).
 *
 * The crawler always keeps the local frontier as its seen set and string table (items' URLs
 * are interned there); the ops decide what is queued where and what may start now. An
 * asynchronous frontier answers next() with 0 while it waits for work and calls the wake
 * callback it was given when work (or the end of the crawl) arrives. */
#ifndef UVCRAWL_FRONTIER_H
#define UVCRAWL_FRONTIER_H

#include <stddef.h>
#include <stdint.h>

#include "robots.h"

/* ---- frontier.c: the local frontier ---------------------------------------------------- */

typedef struct uvcrawl__frontier_s uvcrawl__frontier_t;
/* Strings in an item are interned: owned by the frontier, valid until uvcrawl__frontier_free(). */
typedef struct {
  const char *url;
  const char *referrer; /* NULL for seeds */
  int depth;
  uint32_t host;        /* the frontier's index of the URL's host */
  uint32_t token;       /* shared frontier (redis_frontier.h): the lease's fencing token, 0: none */
  uint16_t attempts;    /* fetches before this one (retries) */
  uint8_t disallowed;   /* set by uvcrawl__frontier_next: robots.txt forbids it */
  uint8_t lease_gen;    /* shared frontier: which of the worker's identities holds the lease */
} uvcrawl__item_t;

/* Returns a new, empty frontier or NULL when out of memory. */
uvcrawl__frontier_t *uvcrawl__frontier_new(void);
void uvcrawl__frontier_free(uvcrawl__frontier_t *f);

/* Politeness: at most per_host requests at once per host (0: no cap), request starts on one
 * host at least delay_ms apart (random_delay: 0.5x to 1.5x of it), and with robots each host
 * waits until uvcrawl__frontier_set_robots() was called for it. Call before adding URLs. */
void uvcrawl__frontier_set_policy(uvcrawl__frontier_t *f, unsigned per_host, uint32_t delay_ms,
                                  int random_delay, int robots);

/* Marks url seen and queues it on its host (FIFO) if it was not seen before. url and referrer
 * are copied (interned once). Returns 1 when queued, 0 when already seen, UVCRAWL_EURL or
 * UV_ENOMEM. */
int uvcrawl__frontier_add(uvcrawl__frontier_t *f, const char *url, const char *referrer,
                          int depth);
/* Interns url and marks it seen without queueing it. *interned (may be NULL) gets the
 * frontier's copy. Returns 1 when new, 0 when seen before, UV_ENOMEM. */
int uvcrawl__frontier_mark(uvcrawl__frontier_t *f, const char *url, const char **interned);
/* Finds a seen URL: *interned gets the frontier's copy, *state a word the owner may use for
 * it (0 until set). Both outputs may be NULL. Returns 1 when seen, 0 when not. */
int uvcrawl__frontier_lookup(uvcrawl__frontier_t *f, const char *url, const char **interned,
                             uint32_t **state);
/* Pops the next queued URL of any host, round-robin, ignoring politeness (the threads engine).
 * Returns 1, or 0 when empty. */
int uvcrawl__frontier_pop(uvcrawl__frontier_t *f, uvcrawl__item_t *item);
/* Polite pop: the next URL of a host that may start a request at now_ns (round-robin over
 * hosts, so one slow host never starves the others). The host's slot is taken until
 * uvcrawl__frontier_done(), unless item->disallowed (robots.txt forbids the URL: report it, no
 * slot taken). Returns 1; or 0 with *wake_ns the earliest time a host becomes ready (0: none
 * waits on time). */
int uvcrawl__frontier_next(uvcrawl__frontier_t *f, uint64_t now_ns, uvcrawl__item_t *item,
                           uint64_t *wake_ns);
/* The request for item ended: frees its host slot. throttle_ms > 0 (a 429/503, or Retry-After)
 * pushes the host's next start out and raises its delay; 0 lets a raised delay decay. */
void uvcrawl__frontier_done(uvcrawl__frontier_t *f, const uvcrawl__item_t *item, uint64_t now_ns,
                            uint32_t throttle_ms);
/* Queues item again at the head of its host, not to start before not_before_ns. 0 or
 * UV_ENOMEM. */
int uvcrawl__frontier_retry(uvcrawl__frontier_t *f, const uvcrawl__item_t *item,
                            uint64_t not_before_ns);
/* An origin whose robots.txt must be fetched before its URLs (marked as being fetched), or
 * NULL. The string is the frontier's. */
const char *uvcrawl__frontier_robots_needed(uvcrawl__frontier_t *f);
/* The robots.txt fetch for origin could not start (no fd): hand it out again later. */
void uvcrawl__frontier_robots_again(uvcrawl__frontier_t *f, const char *origin);
/* Hands the origin's robots rules to the frontier (ownership passes; NULL: no rules) and
 * releases its URLs; the rules' Crawl-delay raises the host's delay. */
void uvcrawl__frontier_set_robots(uvcrawl__frontier_t *f, const char *origin,
                                  uvcrawl__robots_t *robots);
size_t uvcrawl__frontier_queued(const uvcrawl__frontier_t *f);
size_t uvcrawl__frontier_seen(const uvcrawl__frontier_t *f);
/* Bytes the frontier holds (arena, table, queue), for memory reports. */
size_t uvcrawl__frontier_memory(const uvcrawl__frontier_t *f);

/* ---- the ops ---------------------------------------------------------------------------- */

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

#endif
