/* The crawler's statistics (uvcrawl_get_stats, uvcrawl_foreach_broken) and the loop-lag
 * probe they report. */
#ifndef UVCRAWL_CRAWL_STATS_H
#define UVCRAWL_CRAWL_STATS_H

#include "crawl.h"

/* Starts the lag probe (its handles were initialized by uvcrawl_create); c->start_ns set. */
void uvcrawl__stats_lag_start(uvcrawl_t *c);
/* Stops it (the end of the crawl, a close). */
void uvcrawl__stats_lag_stop(uvcrawl_t *c);

#endif /* UVCRAWL_CRAWL_STATS_H */
