/* The crawler's glue to the WARC writer (warcout.c): opening it with the crawl's warcinfo,
 * what a transfer captured, and where the writer put a page's records. */
#ifndef UVCRAWL_CRAWL_WARC_H
#define UVCRAWL_CRAWL_WARC_H

#include "crawl.h"

/* Opens --warc, its warcinfo naming the crawl's settings (c->warc). Setup, before the loop
 * runs. Returns 0 or warcout's error. */
int uvcrawl__crawl_warc_open(uvcrawl_t *c);
/* Takes what the transfer left in p->warc: kept when a response came, else dropped. */
void uvcrawl__crawl_warc_captured(page_t *p, CURL *easy, CURLcode code);
/* Hands p's capture and body to the WARC writer, which archives them on its own (the body
 * becomes the writer's unless p is external). */
void uvcrawl__crawl_warc_archive(uvcrawl_t *c, page_t *p);
/* For uvcrawl__warcout_write()'s callback: where the writer put p's records (copied into p,
 * which frees them), or the output error it counts. */
void uvcrawl__crawl_warc_result(page_t *p, const uvcrawl__warcrec_result_t *res);

#endif /* UVCRAWL_CRAWL_WARC_H */
