/* Every internal header at once, for the crawler's files only (crawl.h, so crawler.c and
 * crawl_*.c; record.h; src/cli/engine_threads.c) until they include what they use: then this
 * goes. Other modules include their own headers; a pure module cannot include this (it pulls
 * in libuv and libcurl through the non-pure headers). */
#ifndef UVCRAWL_INT_H
#define UVCRAWL_INT_H

#include "uvcrawl.h"

#include "container.h"
#include "dynbuf.h"
#include "engine_loop.h"
#include "extract.h"
#include "frontier.h"
#include "journal.h"
#include "jobs.h"
#include "lag.h"
#include "links.h"
#include "md5.h"
#include "mime.h"
#include "options.h"
#include "output.h"
#include "redis_frontier.h"
#include "robots.h"
#include "scope.h"
#include "sitemap.h"
#include "store.h"
#include "testhooks.h"
#include "transfer.h"
#include "url.h"

#endif
