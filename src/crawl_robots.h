/* robots.txt in the crawl (RFC 9309): what its fetch (ours or another worker's) decides for
 * the host, the hosts it blocks and why, and the records of the URLs it keeps us from. The
 * rules themselves are robots.c's. */
#ifndef UVCRAWL_CRAWL_ROBOTS_H
#define UVCRAWL_CRAWL_ROBOTS_H

#include "crawl.h"

/* 2xx: parse p's body on the pool; 4xx: no rules; 5xx or 429: the host is not crawled;
 * status 0 (err says why): its URLs fail with that error. Frees p (now or after the job). */
void uvcrawl__crawl_robots_apply(uvcrawl_t *c, page_t *p, long status, CURLcode code,
                                 const char *err);
/* Our own robots.txt transfer ended (p has let go of its easy handle): shares it (a shared
 * crawl), then applies it. Frees p (now or after the job). */
void uvcrawl__crawl_robots_fetched(uvcrawl_t *c, page_t *p, CURLcode code);
/* A robots.txt fetch that could not start (err: why): the host is not crawled. */
void uvcrawl__crawl_robots_failed(uvcrawl_t *c, const char *origin, const char *why, int err);
/* The record of a URL robots.txt keeps us from (item from the frontier, acked when shared). */
void uvcrawl__crawl_robots_disallowed(uvcrawl_t *c, const uvcrawl__item_t *item);

#endif /* UVCRAWL_CRAWL_ROBOTS_H */
