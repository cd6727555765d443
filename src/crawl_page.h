/* A page in flight (struct page_s, crawl.h): made when its transfer is admitted, linked into
 * c->pages until its record has gone out, then freed with all it owns. The bottom of the
 * crawler's parts: every part that ends a page frees it here, none calls back up. */
#ifndef UVCRAWL_CRAWL_PAGE_H
#define UVCRAWL_CRAWL_PAGE_H

#include "crawl.h"

/* A zeroed page for item (copied; its strings stay the frontier's), linked into c->pages.
 * Owned by the crawler until uvcrawl__page_free(). NULL when out of memory. */
page_t *uvcrawl__page_new(uvcrawl_t *c, const uvcrawl__item_t *item);
/* Unlinks p from c->pages and frees it with all it owns; its body leaves the buffer budget. */
void uvcrawl__page_free(page_t *p);

#endif /* UVCRAWL_CRAWL_PAGE_H */
