/* Transfers: a page for each URL (or robots.txt) admitted, its easy handle (kept for reuse),
 * the body as it arrives, and what happens when the transfer ends: a fd shortage backs off, a
 * retryable failure is queued again, a robots.txt goes to crawl_robots.c, a refused HEAD
 * becomes a GET, and the rest goes to the pool (crawl_intake.c) or straight to its record. */
#ifndef UVCRAWL_CRAWL_FETCH_H
#define UVCRAWL_CRAWL_FETCH_H

#include "crawl.h"

/* Starts a transfer for item, or for origin's robots.txt when robots_origin is set (borrowed:
 * the frontier's string). Every failure to start gives back what admission took. */
void uvcrawl__fetch(uvcrawl_t *c, const uvcrawl__item_t *item, const char *robots_origin);
/* The engine's done callback (arg: the crawler). */
void uvcrawl__fetch_done(void *arg, CURL *easy, CURLcode code);
/* Keeps easy for reuse (up to the in-flight cap), or cleans it up. */
void uvcrawl__fetch_release_easy(uvcrawl_t *c, CURL *easy);

#endif /* UVCRAWL_CRAWL_FETCH_H */
