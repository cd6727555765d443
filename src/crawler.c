/* The crawler's lifecycle: the public handle, uvcrawl_create (options checked and parsed,
 * memory and files first, handles last), seeds, start, the tick that ends the crawl (the
 * flushes, --convert-links), stop and close, and the teardown that frees everything in the
 * last close callback. The state it shares with its parts is crawl.h's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container.h"
#include "crawl.h"
#include "crawl_fetch.h"
#include "crawl_intake.h"
#include "crawl_page.h"
#include "crawl_pump.h"
#include "crawl_records.h"
#include "crawl_resume.h"
#include "crawl_stats.h"
#include "crawl_warc.h"
#include "dynbuf.h"
#include "sitemap.h"
#include "store.h"
#include "transfer.h"
#include "url.h"

void uvcrawl_set_data(uvcrawl_t *c, void *data) { c->data = data; }
void *uvcrawl_get_data(const uvcrawl_t *c) { return c->data; }

static int url_is_good(void *arg, const char *url) {
  uvcrawl_t *c = arg;
  uint32_t *state;
  return uvcrawl__frontier_lookup(c->frontier, url, NULL, &state) &&
         (*state & URL_VERDICT) == URL_GOOD;
}

/* Adds url's origin to the scope unless it is there. */
int uvcrawl__crawl_add_origin(uvcrawl_t *c, const char *url) {
  char *origin;
  int err = uvcrawl__url_origin(url, &origin);
  if (err) return err;
  for (size_t i = 0; i < c->norigins; i++) {
    if (strcmp(c->origins[i], origin) == 0) {
      free(origin);
      return 0;
    }
  }
  char **o = realloc(c->origins, (c->norigins + 1) * sizeof(*o));
  if (o == NULL) {
    free(origin);
    return UV_ENOMEM;
  }
  c->origins = o;
  c->origins[c->norigins++] = origin;
  return uvcrawl__http_add_origin(c->http, origin); /* --user goes to seed origins only */
}

/* The options that decide which URLs a crawl fetches and how politely, as one string: the
 * workers of a shared crawl must agree on it. NULL when out of memory. */
static char *build_identity(const uvcrawl_options_t *o, const char *user_agent) {
  uvcrawl__dynbuf_t b;
  char line[256];
  uvcrawl__dynbuf_init(&b, 0);
  snprintf(line, sizeof(line),
           "uvcrawl cluster 1\nscope=%s\nmax_depth=%d\nper_host=%u\ndelay_ms=%u\n"
           "random_delay=%d\nignore_robots=%d\nretries=%u\nmax_url_len=%u\nmax_links=%u\n"
           "max_redirects=%u\nmax_parse=%llu\n",
           o->scope ? o->scope : "host", o->max_depth, o->per_host, o->delay_ms,
           o->random_delay, o->ignore_robots, o->retries, o->max_url_len, o->max_links,
           o->max_redirects, (unsigned long long)o->max_parse);
  int bad = uvcrawl__dynbuf_addstr(&b, line) != 0;
  const char *const *lists[2] = {o->include, o->exclude};
  for (int k = 0; k < 2; k++)
    for (size_t i = 0; lists[k] && lists[k][i]; i++) {
      bad |= uvcrawl__dynbuf_add(&b, k ? "exclude=" : "include=", 8) != 0;
      bad |= uvcrawl__dynbuf_addstr(&b, lists[k][i]) != 0;
      bad |= uvcrawl__dynbuf_add(&b, "\n", 1) != 0;
    }
  bad |= uvcrawl__dynbuf_addstr(&b, "user_agent=") != 0;
  bad |= user_agent == NULL || uvcrawl__dynbuf_addstr(&b, user_agent) != 0; /* NUL-ended */
  if (bad) {
    uvcrawl__dynbuf_free(&b);
    return NULL;
  }
  return uvcrawl__dynbuf_take(&b, NULL);
}

static CURLcode global_init_result;
static void global_init(void) {
  global_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
  uvcrawl__sitemap_global_init();
}

/* Frees what a crawler holds besides its handles; also the failure path of create. */
static void free_parts(uvcrawl_t *c) {
  if (c->mirror_fd >= 0) close(c->mirror_fd);
  c->mirror_fd = -1;
  for (size_t i = 0; i < c->norigins; i++) free(c->origins[i]);
  free(c->origins);
  for (size_t i = 0; i < c->nseeds; i++) free(c->seeds[i]);
  free(c->seeds);
  for (size_t i = 0; i < c->nblocked; i++) {
    free(c->blocked[i].origin);
    free(c->blocked[i].why);
  }
  free(c->blocked);
  uvcrawl__filters_free(c->include, c->ninclude);
  uvcrawl__filters_free(c->exclude, c->nexclude);
  uvcrawl__frontier_free(c->frontier);
  uvcrawl__linkgraph_free(c->graph);
  uvcrawl__pool_free(c->pool);
  uvcrawl__convert_free(c->convert);
  uvcrawl__converter_free(c->converter);
  uvcrawl__http_free(c->http); /* after every easy handle was cleaned up */
  free(c->user_agent);
  free(c->idle);
  free(c->scratch);
  uvcrawl__options_clear(&c->opts);
  free(c->identity);
  free(c->fatal_why);
  c->frontier = NULL;
}

/* Validation, memory and files first, the engine (the only part with handles) last: a failed
 * create then has nothing to close on the loop, and uv_loop_close() works at once. */
int uvcrawl_create(uv_loop_t *loop, const uvcrawl_options_t *opts, uvcrawl_t **out) {
  static uv_once_t once = UV_ONCE_INIT;
  uvcrawl_t *c;
  int err;

  if (loop == NULL || out == NULL) return UV_EINVAL;
  /* curl_global_init is not thread-safe: once per process, whoever gets here first. */
  uv_once(&once, global_init);
  if (global_init_result != CURLE_OK) return UVCRAWL_ECURL;

  c = calloc(1, sizeof(*c));
  if (c == NULL) return UV_ENOMEM;
  c->loop = loop;
  c->mirror_fd = -1;
  if (opts == NULL) uvcrawl__options_defaults(&c->opts);
  else if ((err = uvcrawl__options_copy(&c->opts, opts)) != 0) goto fail;
  c->stats.inflight_cap = uvcrawl__fd_room(c->opts.max_inflight, FDS_PER_XFER);
  err = UV_ENOMEM;
  c->user_agent = strdup(c->opts.user_agent ? c->opts.user_agent
                                            : "uvcrawl/" UVCRAWL_VERSION_STRING);
  c->idle = calloc(c->stats.inflight_cap, sizeof(*c->idle));
  c->frontier = uvcrawl__frontier_new();
  c->fops = &uvcrawl__local_fops;
  c->pump = uvcrawl__pump;
  c->fq = c->frontier;
  c->identity = build_identity(&c->opts, c->user_agent);
  if (c->user_agent == NULL || c->idle == NULL || c->frontier == NULL || c->identity == NULL)
    goto fail;
  if ((err = uvcrawl__http_new(&c->opts, &c->http)) != 0) goto fail;
  /* The setters checked these; parsed here into the forms the crawl uses. */
  if ((err = uvcrawl__accept_parse(c->opts.accept ? c->opts.accept : "200..299", c->accept,
                                   &c->naccept)) != 0)
    goto fail;
  if ((err = uvcrawl__scope_parse(c->opts.scope)) < 0) goto fail;
  c->scope = err;
  if ((err = uvcrawl__filters_compile(c->opts.include, &c->include, &c->ninclude)) != 0 ||
      (err = uvcrawl__filters_compile(c->opts.exclude, &c->exclude, &c->nexclude)) != 0)
    goto fail;
  uvcrawl__frontier_set_policy(c->frontier, c->opts.per_host, c->opts.delay_ms,
                               c->opts.random_delay, !c->opts.ignore_robots);
  c->rng = uv_hrtime() | 1;
  err = UV_ENOMEM;
  if (c->opts.check && (c->graph = uvcrawl__linkgraph_new(url_is_good, c)) == NULL) goto fail;
  if ((err = uvcrawl__pool_new(loop, c->opts.pool_threads, &c->pool)) != 0) goto fail;
  err = UV_ENOMEM;
  if (c->opts.convert_links && c->opts.mirror_dir != NULL &&
      (c->convert = uvcrawl__convert_new(c->opts.adjust_extension)) == NULL)
    goto fail;
  if (c->opts.mirror_dir != NULL &&
      (err = uvcrawl__store_open_root(c->opts.mirror_dir, &c->mirror_fd)) != 0)
    goto fail;
  /* Files: opened synchronously, and they hold no handle. */
  if (c->opts.output_path != NULL &&
      (err = uvcrawl__output_open(loop, c->opts.output_path, 0, 0, &c->output)) != 0)
    goto fail;
  if (c->opts.state_dir != NULL && (err = uvcrawl__resume_open(c, c->opts.state_dir)) != 0)
    goto fail;
  if (c->opts.warc_path != NULL && (err = uvcrawl__crawl_warc_open(c)) != 0) goto fail;
  err = uvcrawl__engine_new(loop, c->stats.inflight_cap, uvcrawl__fetch_done,
                            uvcrawl__pump_on_admit, c, &c->engine);
  if (err) goto fail;
  uv_timer_init(loop, &c->tick);
  uv_timer_init(loop, &c->lag_timer);
  uv_check_init(loop, &c->lag_wake);
  uv_unref((uv_handle_t *)&c->lag_wake);
  uv_prepare_init(loop, &c->lag_sleep);
  uv_unref((uv_handle_t *)&c->lag_sleep);
  uv_timer_init(loop, &c->wake);
  uv_idle_init(loop, &c->drain);
  *out = c;
  return 0;

fail:
  if (c->output) uvcrawl__output_discard(c->output);
  if (c->journal) uvcrawl__output_discard(c->journal);
  if (c->warc) uvcrawl__warcout_discard(c->warc);
  free_parts(c);
  free(c);
  return err;
}

int uvcrawl_add_seed(uvcrawl_t *c, const char *url) {
  char *norm;
  int err;
  /* After a join the seeds are Redis's: one added here would only reach the local queue,
   * which a shared crawl never reads. */
  if (c->state != ST_IDLE || c->rf != NULL) return UVCRAWL_ESTATE;
  if (url == NULL) return UVCRAWL_EURL;
  if ((err = uvcrawl__url_resolve(NULL, url, &norm)) != 0) return err;
  if ((err = uvcrawl__crawl_add_origin(c, norm)) == 0 &&
      (err = uvcrawl__frontier_add(c->frontier, norm, NULL, 0)) == 1)
    uvcrawl__resume_discovered(c, 'D', norm, NULL, 0);
  if (err >= 0) {
    /* The prefix scope: everything under the seed's directory. */
    char **sd = realloc(c->seeds, (c->nseeds + 1) * sizeof(*sd));
    if (sd == NULL) err = UV_ENOMEM;
    else {
      c->seeds = sd;
      uvcrawl__scope_prefix(norm);
      c->seeds[c->nseeds++] = norm;
      norm = NULL;
    }
  }
  free(norm);
  return err < 0 ? err : 0;
}

static void on_tick(uv_timer_t *t);

void uvcrawl__crawl_schedule_tick(uvcrawl_t *c) {
  if (!uv_is_active((uv_handle_t *)&c->tick)) uv_timer_start(&c->tick, on_tick, 0, 0);
}

/* Pages whose links are to be queued (and then recorded), records to deliver, on_done; then
 * admission, as they may have freed room. */
static void on_drain(uv_idle_t *h) {
  uvcrawl_t *c = UVCRAWL_CONTAINER_OF(h, uvcrawl_t, drain);
  uvcrawl__intake_drain(c);
  uvcrawl__records_deliver(c);
  if (c->drain_head == NULL && c->rec_head == NULL && !c->done_pending) uv_idle_stop(h);
  uvcrawl__pump(c);
}

void uvcrawl__crawl_kick_drain(uvcrawl_t *c) { uv_idle_start(&c->drain, on_drain); }

int uvcrawl_start(uvcrawl_t *c, uvcrawl_result_cb on_result, uvcrawl_done_cb on_done,
                  void *arg) {
  if (c->state != ST_IDLE) return UVCRAWL_ESTATE;
  if (c->norigins == 0) return UVCRAWL_ENOSEED;
  c->on_result = on_result;
  c->on_done = on_done;
  c->cb_arg = arg;
  c->state = ST_RUNNING;
  c->start_ns = uv_hrtime();
  c->lag_prev_ns = c->start_ns;
  for (size_t i = 0; c->opts.sitemaps && i < c->norigins; i++) {
    char url[4096];
    snprintf(url, sizeof(url), "%s/sitemap.xml", c->origins[i]);
    char *norm;
    if (uvcrawl__url_resolve(NULL, url, &norm) == 0) {
      uvcrawl__intake_sitemap(c, norm, NULL);
      free(norm);
    }
  }
  uvcrawl__stats_lag_start(c);
  uvcrawl__crawl_schedule_tick(c);
  return 0;
}

/* ---- lifecycle ----------------------------------------------------------------------- */

static void on_flushed(void *arg, int status) {
  uvcrawl_t *c = arg;
  if (status != 0 && c->stats.output_errors == 0) c->stats.output_errors = 1;
  if (--c->flushes > 0 || c->state == ST_CLOSING) return;
  int was_stopped = c->state == ST_STOPPING;
  c->state = ST_DONE;
  c->stats.wall_ms = (double)(uv_hrtime() - c->start_ns) / 1e6;
  if (uvcrawl__http_save(c->http) != 0) c->stats.output_errors = 1; /* --save-cookies */
  /* on_done goes out from the drain, after the records still queued for on_result. */
  c->done_pending = 1;
  c->done_status = c->fatal ? c->fatal : was_stopped ? UV_ECANCELED : 0;
  uvcrawl__crawl_kick_drain(c);
}

static void part_closed(uvcrawl_t *c) {
  if (--c->closing_parts > 0) return;
  uvcrawl_close_cb cb = c->on_close;
  void *arg = c->close_arg;
  free_parts(c);
  uvcrawl__records_free_all(c);
  if (cb) cb(c, arg);
  free(c);
}

static void on_engine_closed(void *arg) { part_closed(arg); }
static void on_output_closed(void *arg, int status) {
  (void)status;
  part_closed(arg);
}
static void on_tick_closed(uv_handle_t *h) {
  part_closed(UVCRAWL_CONTAINER_OF((uv_timer_t *)h, uvcrawl_t, tick));
}

static void on_wake_closed(uv_handle_t *h) {
  part_closed(UVCRAWL_CONTAINER_OF((uv_timer_t *)h, uvcrawl_t, wake));
}

static void on_drain_closed(uv_handle_t *h) {
  part_closed(UVCRAWL_CONTAINER_OF((uv_idle_t *)h, uvcrawl_t, drain));
}

static void on_lag_closed(uv_handle_t *h) {
  part_closed(UVCRAWL_CONTAINER_OF((uv_timer_t *)h, uvcrawl_t, lag_timer));
}

static void on_lag_wake_closed(uv_handle_t *h) {
  part_closed(UVCRAWL_CONTAINER_OF((uv_check_t *)h, uvcrawl_t, lag_wake));
}

static void on_lag_sleep_closed(uv_handle_t *h) {
  part_closed(UVCRAWL_CONTAINER_OF((uv_prepare_t *)h, uvcrawl_t, lag_sleep));
}

static void on_rf_closed(void *arg) { part_closed(arg); }

static void teardown(uvcrawl_t *c) {
  while (c->nidle > 0) curl_easy_cleanup(c->idle[--c->nidle]);
  if (c->mirror_fd >= 0) close(c->mirror_fd);
  c->mirror_fd = -1;
  c->closing_parts = 7 + (c->output != NULL) + (c->journal != NULL) + (c->rf != NULL) +
                     (c->warc != NULL);
  if (c->rf) uvcrawl__rf_close(c->rf, on_rf_closed, c);
  if (c->warc) uvcrawl__warcout_close(c->warc, on_output_closed, c);
  c->warc = NULL;
  uvcrawl__engine_close(c->engine, on_engine_closed, c);
  if (c->output) uvcrawl__output_close(c->output, on_output_closed, c);
  if (c->journal) uvcrawl__output_close(c->journal, on_output_closed, c);
  uv_close((uv_handle_t *)&c->tick, on_tick_closed);
  uv_close((uv_handle_t *)&c->lag_timer, on_lag_closed);
  uv_close((uv_handle_t *)&c->lag_wake, on_lag_wake_closed);
  uv_close((uv_handle_t *)&c->lag_sleep, on_lag_sleep_closed);
  uv_close((uv_handle_t *)&c->wake, on_wake_closed);
  uv_close((uv_handle_t *)&c->drain, on_drain_closed);
}

static void on_converted(void *arg) {
  uvcrawl_t *c = arg;
  c->jobs--;
  c->converted = 1;
  uvcrawl__crawl_schedule_tick(c);
}

/* --convert-links, once the crawl is done: every saved HTML and CSS file, on the pool. It
 * counts as a job, so the crawl ends (and a close waits) only after it. */
static void start_convert(uvcrawl_t *c) {
  size_t n = 0;
  c->converted = 1;
  if (uvcrawl__convert_freeze(c->convert, &n) != 0) {
    c->stats.convert_errors++;
    return;
  }
  c->stats.convert_total = n;
  if (uvcrawl__convert_start(c->loop, c->convert, n, c->mirror_fd, c->opts.fsync,
                             &c->stats.converted, &c->stats.convert_errors, on_converted, c,
                             &c->converter) != 0)
    return; /* nothing to convert, or out of memory */
  c->converted = 0;
  c->jobs++;
}

static void on_tick(uv_timer_t *t) {
  uvcrawl_t *c = UVCRAWL_CONTAINER_OF(t, uvcrawl_t, tick);
  if (c->state == ST_CLOSING) {
    if (c->jobs == 0) teardown(c);
    return;
  }
  if (c->finishing) return;
  uvcrawl__pump(c);
  if (c->inflight > 0 || c->jobs > 0 || c->state == ST_DONE || c->state == ST_IDLE) return;
  if (c->state == ST_RUNNING && !uvcrawl__pump_finished(c)) return;
  if (c->convert != NULL && !c->converted && c->state == ST_RUNNING) {
    start_convert(c); /* the tick comes back when it is done */
    if (!c->converted) return;
  }
  c->finishing = 1;
  uv_timer_stop(&c->tick);
  uvcrawl__stats_lag_stop(c);
  uv_timer_stop(&c->wake);
  /* on_done waits until the records and the journal are on disk. */
  c->flushes = 1 + (c->output != NULL) + (c->journal != NULL) + (c->warc != NULL);
  if (c->warc) uvcrawl__warcout_flush(c->warc, on_flushed, c);
  if (c->output) uvcrawl__output_flush(c->output, on_flushed, c);
  if (c->journal) uvcrawl__output_flush(c->journal, on_flushed, c);
  on_flushed(c, 0);
}

/* Aborts every transfer in flight; their URLs get no record. */
static void abort_transfers(uvcrawl_t *c) {
  page_t *p = c->pages, *next;
  for (; p != NULL; p = next) {
    next = p->next;
    if (p->easy == NULL) continue; /* in the pool: it finishes on its own */
    uvcrawl__engine_remove(c->engine, p->easy);
    uvcrawl__fetch_release_easy(c, p->easy);
    c->inflight--;
    uvcrawl__page_free(p);
  }
}

void uvcrawl__crawl_do_stop(uvcrawl_t *c) {
  if (c->state != ST_RUNNING || c->finishing) return; /* finishing: on_done(0) is on its way */
  c->state = ST_STOPPING;
  abort_transfers(c);
  uvcrawl__crawl_schedule_tick(c);
}

int uvcrawl_stop(uvcrawl_t *c) {
  if (c->state == ST_IDLE) return UVCRAWL_ESTATE;
  if (c->in_callback) c->stop_requested = 1; /* after the callback returns */
  else uvcrawl__crawl_do_stop(c);
  return 0;
}

void uvcrawl_close(uvcrawl_t *c, uvcrawl_close_cb close_cb, void *arg) {
  if (c->state == ST_CLOSING || c->close_requested) return;
  if (c->in_callback) {
    /* The caller's callback still runs on c: the close waits until it has returned. */
    c->close_requested = 1;
    c->close_requested_cb = close_cb;
    c->close_requested_arg = arg;
    return;
  }
  uvcrawl__crawl_do_close(c, close_cb, arg);
}

void uvcrawl__crawl_do_close(uvcrawl_t *c, uvcrawl_close_cb close_cb, void *arg) {
  if (c->state == ST_CLOSING) return;
  if (c->state == ST_RUNNING) abort_transfers(c);
  uvcrawl__stats_lag_stop(c);
  c->state = ST_CLOSING;
  c->on_close = close_cb;
  c->close_arg = arg;
  /* Teardown waits for pool jobs (their callbacks touch c) and runs from a clean stack. */
  uv_timer_stop(&c->tick);
  uv_timer_start(&c->tick, on_tick, 0, 0);
}
