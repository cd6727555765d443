/* --state-dir and --resume: the journal of what was discovered (D, S, R records) and completed
 * (C, written with the record, crawl_records.c), and rebuilding the crawl from it. The format
 * is journal.c's. */
#ifndef UVCRAWL_CRAWL_RESUME_H
#define UVCRAWL_CRAWL_RESUME_H

#include "crawl.h"

/* Opens (and with resume, replays) DIR/journal into c->journal. Runs before the loop does:
 * setup, like opening the output. Returns 0, UVCRAWL_ESTATEDIR (a journal there and no
 * resume), UV_ENOMEM or a negative errno. */
int uvcrawl__resume_open(uvcrawl_t *c, const char *dir);
/* Appends a 'D' record (type 'S' for a sitemap, 'R' for a requisite): url was queued. */
void uvcrawl__resume_discovered(uvcrawl_t *c, char type, const char *url, const char *referrer,
                                int depth);

#endif /* UVCRAWL_CRAWL_RESUME_H */
