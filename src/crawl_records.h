/* The one place records leave the crawler: counted, judged (broken or not), written to the
 * output and the journal, then queued for the drain (crawler.c's), which alone runs the user's
 * callbacks (on_result, then on_done; uvcrawl__records_deliver) so that they may stop or close
 * the crawler. */
#ifndef UVCRAWL_CRAWL_RECORDS_H
#define UVCRAWL_CRAWL_RECORDS_H

#include "crawl.h"

/* Counts, remembers and writes one record (its strings borrowed for the call), and queues a
 * copy for the caller's on_result. */
void uvcrawl__records_emit(uvcrawl_t *c, uvcrawl_result_t *r);
/* Emits the record of a fetched page and frees the page. */
void uvcrawl__records_page(page_t *p);
/* A URL that is not fetched, with the reason (why: static or borrowed), as a record of its
 * own. */
void uvcrawl__records_skipped(uvcrawl_t *c, const char *url, const char *referrer, int depth,
                              const char *why);
/* *r: the record of an item that was never fetched, failed with error (borrowed strings). */
void uvcrawl__records_item_error(uvcrawl_result_t *r, const uvcrawl__item_t *item,
                                 const char *error, const char *error_name);
/* Frees the records not yet delivered (closed: the caller wants no more). */
void uvcrawl__records_free_all(uvcrawl_t *c);
/* From the drain only, with no crawler state on the stack: hands queued records to on_result
 * (RECORDS_PER_TURN at most), then on_done once they are all out. */
void uvcrawl__records_deliver(uvcrawl_t *c);

#endif /* UVCRAWL_CRAWL_RECORDS_H */
