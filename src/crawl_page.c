/* A page's life in c->pages (crawl_page.h). */
#include <stdlib.h>

#include "crawl_page.h"

page_t *uvcrawl__page_new(uvcrawl_t *c, const uvcrawl__item_t *item) {
  page_t *p = calloc(1, sizeof(*p));
  if (p == NULL) return NULL;
  p->c = c;
  p->item = *item;
  p->next = c->pages;
  if (c->pages) c->pages->prev = p;
  c->pages = p;
  return p;
}

static void page_unlink(page_t *p) {
  uvcrawl_t *c = p->c;
  if (p->prev) p->prev->next = p->next;
  else c->pages = p->next;
  if (p->next) p->next->prev = p->prev;
}

void uvcrawl__page_free(page_t *p) {
  uvcrawl_t *c = p->c;
  page_unlink(p);
  if (p->counted) c->buffered -= p->cap;
  uvcrawl__job_cleanup(&p->job);
  uvcrawl__robots_free(p->job.robots);
  uvcrawl__warcrec_free(p->warc);
  free(p->warc_file);
  free(p->own_url);
  free(p->body);
  free(p->content_type);
  free(p->redirect);
  free(p);
}
