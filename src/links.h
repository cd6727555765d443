/* Who links each broken URL (links.c): the link graph of a link check. Pure. */
#ifndef UVCRAWL_LINKS_H
#define UVCRAWL_LINKS_H

#include "uvcrawl.h" /* uvcrawl_broken_t */

typedef struct uvcrawl__linkgraph_s uvcrawl__linkgraph_t;
/* 1 when url (interned) is known to be good: its edges can be forgotten. */
typedef int (*uvcrawl__is_good_cb)(void *arg, const char *url);

uvcrawl__linkgraph_t *uvcrawl__linkgraph_new(uvcrawl__is_good_cb is_good, void *arg);
void uvcrawl__linkgraph_free(uvcrawl__linkgraph_t *g);
/* Notes that page from links to; both must stay valid (the frontier's interned strings). */
int uvcrawl__linkgraph_add(uvcrawl__linkgraph_t *g, const char *from, const char *to);
/* Remembers a broken URL (interned); error is copied. */
int uvcrawl__linkgraph_broken(uvcrawl__linkgraph_t *g, const char *url, long status,
                              const char *error, int external);
/* Calls cb for each broken URL, sorted, with its distinct referrers sorted. Returns how many
 * or UV_ENOMEM. */
typedef void (*uvcrawl__broken_cb)(void *arg, const uvcrawl_broken_t *broken);
int uvcrawl__linkgraph_foreach(uvcrawl__linkgraph_t *g, uvcrawl__broken_cb cb, void *arg);

#endif
