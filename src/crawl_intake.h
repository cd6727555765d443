/* What a page gives back: links and redirect targets into the frontier (filters, caps and
 * skips), sitemaps, and a page's return from the pool, after which its links are queued a few
 * thousand per loop iteration before its record may go out. */
#ifndef UVCRAWL_CRAWL_INTAKE_H
#define UVCRAWL_CRAWL_INTAKE_H

#include "crawl.h"

/* A link (or a redirect target, hops > 0) found on page from; requisite: the page needs it
 * to display (--page-requisites fetches it past --max-depth and off scope). */
void uvcrawl__intake_link(uvcrawl_t *c, const char *url, const page_t *from, unsigned hops,
                          int requisite);
/* Queues url as a sitemap (depth 0: sitemaps are entry points like seeds); url and referrer
 * (may be NULL) are copied. */
void uvcrawl__intake_sitemap(uvcrawl_t *c, const char *url, const char *referrer);
/* The pool's callback for a page's job (uvcrawl__job_submit). */
void uvcrawl__intake_job_done(uvcrawl__job_t *job);
/* The page's body has been worked on (and archived): its links go to the drain. */
void uvcrawl__intake_job_finished(page_t *p);
/* From the drain: queues the links of finished pages (LINKS_PER_TURN in all) and records the
 * pages whose links are all queued (PAGES_PER_TURN at most). */
void uvcrawl__intake_drain(uvcrawl_t *c);

#endif /* UVCRAWL_CRAWL_INTAKE_H */
