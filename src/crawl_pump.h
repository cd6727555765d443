/* Admission, the in-flight semaphore: what may start now (a slot free, the buffer budget not
 * spent, --max-pages not reached, curl ready for more), robots.txt before a new host's URLs,
 * the wake timer for hosts that wait, and noticing that the crawl has nothing left. */
#ifndef UVCRAWL_CRAWL_PUMP_H
#define UVCRAWL_CRAWL_PUMP_H

#include "crawl.h"

/* Admits queued URLs while a slot is free; arms the wake timer for the earliest host that
 * waits; schedules the tick when nothing is in flight and nothing is admissible. */
void uvcrawl__pump(uvcrawl_t *c);
/* 1 when nothing is left to fetch: the frontier is empty, or --max-pages is used up. */
int uvcrawl__pump_finished(uvcrawl_t *c);
/* The engine's admit callback (arg: the crawler). */
void uvcrawl__pump_on_admit(void *arg);

#endif /* UVCRAWL_CRAWL_PUMP_H */
