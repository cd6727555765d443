/* Admission (crawl_pump.h). */
#include <string.h>

#include "container.h"
#include "crawl_fetch.h"
#include "crawl_pump.h"
#include "crawl_robots.h"

/* Nothing left to fetch: the frontier is empty, or --max-pages is used up. */
int uvcrawl__pump_finished(uvcrawl_t *c) {
  return !c->fops->more(c->fq) ||
         (c->opts.max_pages != 0 && c->started >= c->opts.max_pages);
}

static int may_admit(uvcrawl_t *c) {
  return c->state == ST_RUNNING && c->inflight < c->stats.inflight_cap &&
         c->buffered < c->opts.max_buffer &&
         (c->opts.max_pages == 0 || c->started < c->opts.max_pages) &&
         /* Last, as a no there means "soon"; never a no with nothing in flight. */
         (c->inflight == 0 || uvcrawl__engine_may_add(c->engine));
}

void uvcrawl__pump_on_admit(void *arg) { uvcrawl__pump(arg); }

static void on_wake(uv_timer_t *t) {
  uvcrawl__pump(UVCRAWL_CONTAINER_OF(t, uvcrawl_t, wake));
}

/* Admits queued URLs while a slot is free (robots.txt first for a new host, then the next
 * URL of a host whose delay has passed); arms the wake timer for the earliest host that waits;
 * notices the end of the crawl. */
void uvcrawl__pump(uvcrawl_t *c) {
  uvcrawl__item_t item;
  uint32_t *state;
  uint64_t wake = 0;
  const char *origin;
  uint64_t now = uv_hrtime();
  if (c->fd_pause_until > now && c->state == ST_RUNNING) {
    uv_timer_start(&c->wake, on_wake, (c->fd_pause_until - now) / 1000000 + 1, 0);
    return; /* the wake timer pumps again: a tick now would only spin */
  }
  while (may_admit(c)) {
    if ((origin = c->fops->robots_needed(c->fq)) != NULL) {
      memset(&item, 0, sizeof(item));
      uvcrawl__fetch(c, &item, origin);
      continue;
    }
    if (!c->fops->next(c->fq, uv_hrtime(), &item, &wake)) break;
    if (c->stats.resumed && uvcrawl__frontier_lookup(c->frontier, item.url, NULL, &state) &&
        (*state & URL_DONE)) {
      if (!item.disallowed) c->fops->done(c->fq, &item, uv_hrtime(), 0);
      continue; /* completed before the crash */
    }
    if (item.disallowed) {
      c->started++;
      uvcrawl__crawl_robots_disallowed(c, &item);
      continue;
    }
    uvcrawl__fetch(c, &item, NULL);
  }
  if (wake != 0 && c->state == ST_RUNNING) {
    now = uv_hrtime();
    uint64_t ms = wake > now ? (wake - now + 999999) / 1000000 : 1;
    uv_timer_start(&c->wake, on_wake, ms, 0);
    return; /* URLs wait for a host's delay: the wake timer pumps again, no tick needed */
  }
  /* Nothing in flight and nothing admissible: the tick ends the crawl (or tears it down).
   * A frontier that still holds URLs then waits for an event (a robots.txt, a page's links, a
   * stop), never on a 0 ms timer: every slot taken is given back (fetch_failed), so such a
   * wait always ends. */
  if (c->inflight == 0 && c->jobs == 0 && c->state != ST_DONE && !c->finishing &&
      (c->state != ST_RUNNING || uvcrawl__pump_finished(c)))
    uvcrawl__crawl_schedule_tick(c);
}
