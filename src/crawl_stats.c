/* Statistics and the loop-lag probe (crawl_stats.h). */
#include <string.h>

#include "crawl_stats.h"
#include "container.h"

/* Loop lag: a 1 ms repeating timer fires late by as long as the loop was busy elsewhere.
 * Waking an idle loop 1,000 times a second cost more CPU than the pages of a crawl against a
 * slow server (200 ms, 16 in flight: 11,400 wakeups, half of the crawl's CPU), so after
 * LAG_PARK ticks in a row before each of which the loop slept most of the millisecond, the
 * timer stops, and the next poll that returns for anything starts it again, counting the
 * ticks it skipped as on time: what the timer would have measured, since a sleeping loop is
 * not late (the figures lose only its wakeup latency, tens of microseconds). */
#define LAG_PARK 8
static void on_lag_timer(uv_timer_t *t) {
  uvcrawl_t *c = UVCRAWL_CONTAINER_OF(t, uvcrawl_t, lag_timer);
  uint64_t now = uv_hrtime(), due = c->lag_prev_ns + 1000000;
  uint64_t late_us = now > due ? (now - due) / 1000 : 0;
  uvcrawl__hist_add(&c->lag, late_us, now);
  c->lag_prev_ns = now;
  c->lag_idle = c->lag_slept_ns >= 500000 ? c->lag_idle + 1 : 0;
  c->lag_slept_ns = 0;
  if (c->lag_idle >= LAG_PARK) {
    uv_timer_stop(t);
    c->lag_parked = 1;
    c->lag_idle = 0;
  }
}

static void on_lag_sleep(uv_prepare_t *h) {
  UVCRAWL_CONTAINER_OF(h, uvcrawl_t, lag_sleep)->lag_sleep_ns = uv_hrtime();
}

static void on_lag_wake(uv_check_t *h) {
  uvcrawl_t *c = UVCRAWL_CONTAINER_OF(h, uvcrawl_t, lag_wake);
  uint64_t now = uv_hrtime();
  c->lag_slept_ns += now - c->lag_sleep_ns;
  if (!c->lag_parked) return;
  c->lag_parked = 0;
  uvcrawl__hist_add_idle(&c->lag, (now - c->lag_prev_ns) / 1000000);
  c->lag_prev_ns = now;
  c->lag_slept_ns = 0;
  uv_timer_start(&c->lag_timer, on_lag_timer, 1, 1);
}

void uvcrawl__stats_lag_start(uvcrawl_t *c) {
  uv_timer_start(&c->lag_timer, on_lag_timer, 1, 1);
  c->lag_sleep_ns = c->start_ns;
  uv_prepare_start(&c->lag_sleep, on_lag_sleep);
  uv_check_start(&c->lag_wake, on_lag_wake);
}

void uvcrawl__stats_lag_stop(uvcrawl_t *c) {
  uv_timer_stop(&c->lag_timer);
  uv_check_stop(&c->lag_wake);
  uv_prepare_stop(&c->lag_sleep);
  c->lag_parked = 0;
}

typedef struct {
  uvcrawl_t *c;
  uvcrawl_broken_cb cb;
  void *arg;
} foreach_t;

static void foreach_one(void *arg, const uvcrawl_broken_t *b) {
  foreach_t *f = arg;
  f->cb(f->c, b, f->arg);
}

int uvcrawl_foreach_broken(uvcrawl_t *c, uvcrawl_broken_cb cb, void *arg) {
  if (c->graph == NULL || c->state == ST_CLOSING) return UVCRAWL_ESTATE;
  foreach_t f = {c, cb, arg};
  return uvcrawl__linkgraph_foreach(c->graph, foreach_one, &f);
}

static void fill_stats(const uvcrawl_t *c, uvcrawl_stats_t *s);

int uvcrawl_get_stats(const uvcrawl_t *c, uvcrawl_stats_t *stats, size_t size) {
  uvcrawl_stats_t s;
  if (stats == NULL) return UV_EINVAL;
  fill_stats(c, &s);
  /* A caller built against an older header has a shorter struct: only its part is written. */
  memcpy(stats, &s, size < sizeof(s) ? size : sizeof(s));
  return 0;
}

static void fill_stats(const uvcrawl_t *c, uvcrawl_stats_t *s) {
  *s = c->stats;
  s->inflight = c->inflight;
  s->queued = c->frontier ? c->fops->queued(c->fq) : 0;
  s->seen = c->frontier ? uvcrawl__frontier_seen(c->frontier) : 0;
  if (c->engine) uvcrawl__engine_sockets(c->engine, &s->fds_max);
  s->lag_p50_ms = uvcrawl__hist_quantile_ms(&c->lag, 0.50);
  s->lag_p99_ms = uvcrawl__hist_quantile_ms(&c->lag, 0.99);
  s->lag_max_ms = (double)c->lag.max_us / 1000.0;
  uint64_t at[UVCRAWL_LAG_WORST], us[UVCRAWL_LAG_WORST];
  unsigned n = uvcrawl__hist_worst(&c->lag, at, us);
  memset(s->lag_worst, 0, sizeof(s->lag_worst));
  for (unsigned i = 0; i < n; i++) {
    s->lag_worst[i].at_ns = at[i];
    s->lag_worst[i].ms = (double)us[i] / 1000.0;
  }
  uvcrawl__pool_counts(c->pool, &s->pool_jobs, &s->pool_batches);
  if (c->state == ST_RUNNING || c->state == ST_STOPPING)
    s->wall_ms = (double)(uv_hrtime() - c->start_ns) / 1e6;
}
