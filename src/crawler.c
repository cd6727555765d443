/* The crawler: public API, lifecycle, admission (the in-flight semaphore) and statistics.
 *
 * A URL moves frontier -> transfer (engine_loop) -> job (thread pool: md5, parse) -> record;
 * with --warc the job also builds the WARC records and decodes the body (kept coded for the
 * archive), and the record waits for warcout.c's writer to have appended them.
 * Admission takes a slot only while fewer than the cap are in flight and the bodies waiting for
 * the pool fit the buffer budget; everything else waits in the frontier. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontier.h"
#include "convert.h"
#include "http.h"
#include "retry.h"
#include "scope.h"
#include "uvcrawl-int.h"
#include "warcout.h"

#define FDS_PER_XFER 2    /* a socket, plus the resolver's wakeup pair in the worst case */
#define MAX_ACCEPT UVCRAWL__MAX_ACCEPT
#define EXTERNAL_GET_MAX 65536 /* bytes read of an external GET before hanging up */

/* Frontier state words: link-check verdict in the low bits, and whether the journal says the
 * URL was already completed. */
enum { URL_GOOD = 1, URL_BROKEN = 2, URL_VERDICT = 3, URL_DONE = 4 };
#define HOPS_SHIFT 8 /* bits 8..15 of the state word: redirect hops that led to the URL */
#define URL_SITEMAP (1u << 16) /* fetch it as a sitemap: its <loc>s are its links */
#define URL_REQUISITE (1u << 17) /* --page-requisites: fetched (not HEAD-checked) off scope too */


/* RFC 9309: at least 500 KiB must be read. One byte more lets the parser see that the last
 * line was cut (and drop it). */
#define ROBOTS_MAX (UVCRAWL__ROBOTS_MAX_BYTES + 1)
#define FD_PAUSE_MS 100 /* socket() hit the fd limit: wait this long before admitting more */

typedef enum { ST_IDLE, ST_RUNNING, ST_STOPPING, ST_DONE, ST_CLOSING } state_t;

typedef struct page_s page_t;

/* A record waiting for the drain to hand it to on_result: the result with its strings copied
 * after it, so it outlives the page or the stack it came from. */
typedef struct rec_s {
  struct rec_s *next;
  uvcrawl_result_t r;
  char strings[];
} rec_t;

struct uvcrawl_s {
  uv_loop_t *loop;
  void *data;
  uvcrawl_options_t opts; /* the crawler's own deep copy */
  char *user_agent;
  uvcrawl__http_t *http; /* headers, credentials, proxy, the cookie jar */
  uvcrawl__frontier_t *frontier; /* the seen set and string table; the queue in local mode */
  const uvcrawl__fops_t *fops;   /* the queue: &uvcrawl__local_fops on frontier, or ... */
  void *fq;
  uvcrawl__rf_t *rf;             /* ... the shared one (uvcrawl_join_cluster), or NULL */
  const uvcrawl__item_t *acking; /* emit(): the record completes this item */
  char *identity;                /* the options that define a shared crawl */
  int fatal;                     /* the crawl ends with this status (Redis gave up on us) */
  char *fatal_why;               /* and why */
  uvcrawl__linkgraph_t *graph; /* with options.check */
  long accept[MAX_ACCEPT][2];
  size_t naccept;
  uvcrawl__engine_t *engine;
  uvcrawl__pool_t *pool;     /* hashing, parsing and writing, off the loop */
  uvcrawl__output_t *output;
  uvcrawl__output_t *journal;
  uvcrawl__warcout_t *warc;  /* --warc; NULL: none */
  char *scratch;     /* a record's JSON line, then its journal frame */
  size_t scratch_len, scratch_cap;
  int flushes;       /* writers still flushing before on_done */
  char **origins;
  size_t norigins;
  char **seeds;     /* normalized seed URLs, for the domain and prefix scopes */
  size_t nseeds;
  int scope;        /* UVCRAWL__SCOPE_* */
  regex_t *include, *exclude;
  size_t ninclude, nexclude;
  uv_timer_t wake;  /* a host's delay or backoff ends */
  uint64_t fd_pause_until; /* out of fds: admit nothing new until then */
  struct blocked_s {
    char *origin;
    char *why;      /* "robots.txt answered 503 ..." or the connection error */
    const char *name; /* the error's name (static), with is_error */
    int code;         /* and its CURLcode */
    int is_error;
  } *blocked;       /* hosts whose robots.txt could not be had */
  size_t nblocked;
  uint64_t rng;
  CURL **idle;     /* easy handles kept for reuse */
  size_t nidle;
  page_t *pages;   /* every page not yet recorded (in transfer or in the pool) */
  unsigned inflight;
  unsigned jobs;
  uint64_t buffered;
  uint64_t started;
  uvcrawl_stats_t stats;
  uint64_t start_ns;
  uv_timer_t tick;  /* runs pump/finish/teardown from a clean stack */
  uv_timer_t lag_timer;
  uv_prepare_t lag_sleep; /* before every poll: when the loop went to sleep */
  uv_check_t lag_wake;    /* after every poll: how long it slept; restarts a parked timer */
  uint64_t lag_sleep_ns, lag_slept_ns; /* since the last tick */
  unsigned lag_idle;      /* ticks in a row that found the loop asleep most of the time */
  int lag_parked;         /* the lag timer is stopped while the loop has nothing to do */
  uv_idle_t drain;  /* records finished pages (and queues their links) a few per iteration */
  page_t *drain_head, *drain_tail;
  uint64_t lag_prev_ns;
  uvcrawl__hist_t lag;
  int mirror_fd;
  uvcrawl__convert_t *convert;    /* --convert-links: what was saved where */
  uvcrawl__converter_t *converter; /* the conversion running after the crawl */
  int converted;                  /* 1 once it ran (or had nothing to do) */
  state_t state;
  int finishing;    /* on_tick is flushing the outputs for on_done: nothing more to stop */
  int closing_parts;
  /* User callbacks run only from on_drain (deliver()), never inside the crawler's bookkeeping;
   * stop and close asked for from one take effect when it has returned. */
  rec_t *rec_head, *rec_tail;
  int done_pending; /* on_done is due once the records before it are delivered */
  int done_status;
  int in_callback;
  int stop_requested, close_requested;
  uvcrawl_close_cb close_requested_cb;
  void *close_requested_arg;
  uvcrawl_result_cb on_result;
  uvcrawl_done_cb on_done;
  void *cb_arg;     /* uvcrawl_start()'s */
  uvcrawl_close_cb on_close;
  void *close_arg;
};

struct page_s {
  uvcrawl_t *c;
  page_t *prev, *next;
  CURL *easy;
  uvcrawl__item_t item;
  char *body;
  size_t len, cap;
  int too_big;
  int external;     /* out of scope, checked only (HEAD, then GET when refused) */
  const char *robots_origin; /* this transfer fetches that origin's robots.txt */
  char *own_url;             /* the robots.txt URL */
  int get_fallback; /* the HEAD was refused: this is the GET */
  int hung_up;      /* we stopped reading an external GET on purpose */
  int fd_starved;   /* socket() failed with EMFILE/ENFILE: try again later, not a failure */
  int counted;      /* its body counts against max_buffer (it waits for the pool) */
  size_t next_link; /* links before this one are queued (job.links, then job.foreign) */
  page_t *drain_next;
  char errbuf[CURL_ERROR_SIZE];
  uvcrawl__job_t job;
  long status;
  const char *http_version; /* static */
  char *content_type;
  char *redirect;
  const char *error;
  const char *error_name; /* static: curl's or uvcrawl_err_name()'s */
  CURLcode code;
  double ms;
  uvcrawl__warcrec_t *warc; /* the transfer's WARC capture, until the writer takes it */
  char *warc_file;          /* where the writer put it */
  uint64_t warc_offset;
  char warc_id[48];
  size_t decoded_len;       /* the body's bytes once its content coding is undone */
  int decoded;
};

void uvcrawl_set_data(uvcrawl_t *c, void *data) { c->data = data; }
void *uvcrawl_get_data(const uvcrawl_t *c) { return c->data; }

static void on_transfer_done(void *arg, CURL *easy, CURLcode code);
static void on_admit(void *arg);
static void on_drain(uv_idle_t *h);

static int is_broken(const uvcrawl_t *c, long status, const char *error) {
  if (error != NULL) return 1;
  if (status >= 300 && status < 400) return 0; /* its target is checked instead */
  for (size_t i = 0; i < c->naccept; i++)
    if (status >= c->accept[i][0] && status <= c->accept[i][1]) return 0;
  return 1;
}

static int url_is_good(void *arg, const char *url) {
  uvcrawl_t *c = arg;
  uint32_t *state;
  return uvcrawl__frontier_lookup(c->frontier, url, NULL, &state) &&
         (*state & URL_VERDICT) == URL_GOOD;
}

/* 1 when url was queued as a requisite of a page (--page-requisites). */
static int is_requisite(const uvcrawl_t *c, const char *url) {
  uint32_t *state;
  return c->opts.page_requisites && uvcrawl__frontier_lookup(c->frontier, url, NULL, &state) &&
         (*state & URL_REQUISITE);
}

/* Scope and filters are scope.c's; these read the crawler's. */
static int in_scope(const uvcrawl_t *c, const char *url) {
  return uvcrawl__scope_match(c->scope, url, (const char *const *)c->origins, c->norigins,
                              (const char *const *)c->seeds, c->nseeds);
}

static int passes_filters(const uvcrawl_t *c, const char *url) {
  return uvcrawl__filters_pass(c->include, c->ninclude, c->exclude, c->nexclude, url);
}

/* Appends a 'D' record (type 'S' for a sitemap): url was queued. The journal's order is the
 * frontier's order. */
static void journal_record(uvcrawl_t *c, char type, const char *url, const char *referrer,
                           int depth) {
  c->scratch_len = 0;
  if (c->journal && uvcrawl__journal_discovered(&c->scratch, &c->scratch_len, &c->scratch_cap,
                                                type, url, referrer, depth) == 0)
    uvcrawl__output_append(c->journal, c->scratch, c->scratch_len);
}

/* Adds url's origin to the scope unless it is there. */
static int add_origin(uvcrawl_t *c, const char *url) {
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

/* Rebuilds the frontier from the journal: 'D' queues (seeds also restore the scope), 'C' marks
 * completed and restores the record to the output. */
static int on_replay(void *arg, int type, const char *url, const char *ref, size_t len,
                     int depth) {
  uvcrawl_t *c = arg;
  uint32_t *state;
  if (type == 'D' || type == 'S' || type == 'R') {
    if (ref == NULL && depth == 0 && add_origin(c, url) != 0) return -1;
    if (uvcrawl__frontier_add(c->frontier, url, ref, depth) < 0) return -1;
    if (type != 'D' && uvcrawl__frontier_lookup(c->frontier, url, NULL, &state))
      *state |= type == 'S' ? URL_SITEMAP : URL_REQUISITE;
    return 0;
  }
  /* The files saved before the crash are converted at the end like the new ones. */
  if (c->convert != NULL && uvcrawl__convert_record(c->convert, ref, len) != 0) return -1;
  if (!uvcrawl__frontier_lookup(c->frontier, url, NULL, &state) || (*state & URL_DONE))
    return 0; /* completed twice (in flight at a kill, then redone): the first record stands */
  *state |= URL_DONE;
  c->stats.resumed++;
  c->started++;
  if (c->output && (uvcrawl__output_append(c->output, ref, len) != 0 ||
                    uvcrawl__output_append(c->output, "\n", 1) != 0))
    return -1;
  return 0;
}

/* Opens (and with resume, replays) DIR/journal. Runs before the loop does: setup, like
 * opening the output. */
static int open_journal(uvcrawl_t *c, const char *dir) {
  char path[4096];
  int fd, err;
  struct stat st;
  if ((err = uvcrawl__store_open_root(dir, &fd)) != 0) return err;
  close(fd);
  if (snprintf(path, sizeof(path), "%s/journal", dir) >= (int)sizeof(path)) return UV_ENAMETOOLONG;
  fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return -errno;
  if (fstat(fd, &st) != 0) err = -errno;
  else if (st.st_size > 0 && !c->opts.resume) err = UVCRAWL_ESTATEDIR;
  size_t valid = 0;
  if (err == 0 && st.st_size > 0) {
    char *image = malloc((size_t)st.st_size);
    if (image == NULL) err = UV_ENOMEM;
    else if (pread(fd, image, (size_t)st.st_size, 0) != st.st_size) err = UV_EIO;
    else valid = uvcrawl__journal_replay(image, (size_t)st.st_size, on_replay, c);
    free(image);
    /* A torn tail is cut off, so new records follow the last good one. */
    if (err == 0 && valid < (size_t)st.st_size && ftruncate(fd, (off_t)valid) != 0) err = -errno;
  }
  if (err == 0 && valid == 0) {
    if (ftruncate(fd, 0) != 0 ||
        pwrite(fd, UVCRAWL__JOURNAL_MAGIC, sizeof(UVCRAWL__JOURNAL_MAGIC) - 1, 0) < 0)
      err = -errno;
  }
  close(fd);
  if (err) return err;
  return uvcrawl__output_open(c->loop, path, 1,
                              c->opts.sync_interval_ms ? c->opts.sync_interval_ms : 1000,
                              &c->journal);
}

/* Opens --warc, its warcinfo naming the crawl's settings. Setup, like the journal. */
static int open_warc(uvcrawl_t *c) {
  uvcrawl__warcout_conf_t conf;
  char info[2048];
  snprintf(info, sizeof(info),
           "software: uvcrawl/%s\r\nformat: WARC File Format 1.1\r\n"
           "conformsTo: http://iipc.github.io/warc-specifications/specifications/warc-format/"
           "warc-1.1/\r\nrobots: %s\r\nhttp-header-user-agent: %s\r\n"
           "max-depth: %d\r\nscope: %s\r\n",
           UVCRAWL_VERSION_STRING, c->opts.ignore_robots ? "ignore" : "obey", c->user_agent,
           c->opts.max_depth, c->opts.scope ? c->opts.scope : "host");
  memset(&conf, 0, sizeof(conf));
  conf.path = c->opts.warc_path;
  conf.max_size = c->opts.warc_max_size;
  conf.cdx_path = c->opts.warc_cdx;
  conf.dedup_path = c->opts.warc_dedup;
  conf.resume = c->opts.resume;
  conf.info = info;
  return uvcrawl__warcout_open(c->loop, c->pool, &conf, &c->warc);
}

/* The options that decide which URLs a crawl fetches and how politely, as one string: the
 * workers of a shared crawl must agree on it. NULL when out of memory. */
static char *build_identity(const uvcrawl_options_t *o, const char *user_agent) {
  char *b = NULL;
  size_t len = 0, cap = 0;
  char line[256];
  snprintf(line, sizeof(line),
           "uvcrawl cluster 1\nscope=%s\nmax_depth=%d\nper_host=%u\ndelay_ms=%u\n"
           "random_delay=%d\nignore_robots=%d\nretries=%u\nmax_url_len=%u\nmax_links=%u\n"
           "max_redirects=%u\nmax_parse=%llu\n",
           o->scope ? o->scope : "host", o->max_depth, o->per_host, o->delay_ms,
           o->random_delay, o->ignore_robots, o->retries, o->max_url_len, o->max_links,
           o->max_redirects, (unsigned long long)o->max_parse);
  int bad = uvcrawl__buf_add(&b, &len, &cap, line, strlen(line)) != 0;
  const char *const *lists[2] = {o->include, o->exclude};
  for (int k = 0; k < 2; k++)
    for (size_t i = 0; lists[k] && lists[k][i]; i++) {
      bad |= uvcrawl__buf_add(&b, &len, &cap, k ? "exclude=" : "include=", 8) != 0;
      bad |= uvcrawl__buf_add(&b, &len, &cap, lists[k][i], strlen(lists[k][i])) != 0;
      bad |= uvcrawl__buf_add(&b, &len, &cap, "\n", 1) != 0;
    }
  bad |= uvcrawl__buf_add(&b, &len, &cap, "user_agent=", 11) != 0;
  bad |= user_agent == NULL || uvcrawl__buf_add(&b, &len, &cap, user_agent, strlen(user_agent) + 1) != 0;
  if (bad) {
    free(b);
    return NULL;
  }
  return b;
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
  if (c->opts.state_dir != NULL && (err = open_journal(c, c->opts.state_dir)) != 0) goto fail;
  if (c->opts.warc_path != NULL && (err = open_warc(c)) != 0) goto fail;
  err = uvcrawl__engine_new(loop, c->stats.inflight_cap, on_transfer_done, on_admit, c,
                            &c->engine);
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
  if (c->state != ST_IDLE) return UVCRAWL_ESTATE;
  if (url == NULL) return UVCRAWL_EURL;
  if ((err = uvcrawl__url_resolve(NULL, url, &norm)) != 0) return err;
  if ((err = add_origin(c, norm)) == 0 &&
      (err = uvcrawl__frontier_add(c->frontier, norm, NULL, 0)) == 1)
    journal_record(c, 'D', norm, NULL, 0);
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

static void lag_stop(uvcrawl_t *c) {
  uv_timer_stop(&c->lag_timer);
  uv_check_stop(&c->lag_wake);
  uv_prepare_stop(&c->lag_sleep);
  c->lag_parked = 0;
}

static void schedule_tick(uvcrawl_t *c) {
  if (!uv_is_active((uv_handle_t *)&c->tick)) uv_timer_start(&c->tick, on_tick, 0, 0);
}

static void enqueue_sitemap(uvcrawl_t *c, const char *url, const char *referrer);

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
      enqueue_sitemap(c, norm, NULL);
      free(norm);
    }
  }
  uv_timer_start(&c->lag_timer, on_lag_timer, 1, 1);
  c->lag_sleep_ns = c->start_ns;
  uv_prepare_start(&c->lag_sleep, on_lag_sleep);
  uv_check_start(&c->lag_wake, on_lag_wake);
  schedule_tick(c);
  return 0;
}

/* ---- transfers ------------------------------------------------------------------------- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
  page_t *p = userdata;
  size_t n = size * nmemb;
  const size_t total = n;
  if (p->robots_origin && p->len + n > ROBOTS_MAX) {
    n = p->len < ROBOTS_MAX ? ROBOTS_MAX - p->len : 0; /* the rest is ignored, as RFC 9309 allows */
    if (n == 0) return total;
  }
  if (p->external) {
    /* Only the status matters: read a little, then hang up. */
    p->len += n;
    if (p->len < EXTERNAL_GET_MAX) return n;
    p->hung_up = 1;
    return 0;
  }
  size_t grown;
  curl_off_t cl;
  if (p->cap == 0 && curl_easy_getinfo(p->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) ==
                         CURLE_OK && cl > 0 && (uint64_t)cl <= p->c->opts.max_body) {
    /* Size the buffer once from Content-Length: with thousands in flight, doubling from a
     * guess wastes tens of MB. */
    char *b = malloc((size_t)cl);
    if (b != NULL) {
      p->body = b;
      p->cap = (size_t)cl;
    }
  }
  int err = uvcrawl__body_append(&p->body, &p->len, &p->cap, ptr, n, p->c->opts.max_body, &grown);
  if (err == UVCRAWL_ETOOBIG) p->too_big = 1;
  if (err) return 0; /* curl aborts the transfer: CURLE_WRITE_ERROR */
  return total;
}

static void page_unlink(page_t *p) {
  uvcrawl_t *c = p->c;
  if (p->prev) p->prev->next = p->next;
  else c->pages = p->next;
  if (p->next) p->next->prev = p->prev;
}

static void page_free(page_t *p) {
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

static void release_easy(uvcrawl_t *c, CURL *easy) {
  if (c->nidle < c->stats.inflight_cap) c->idle[c->nidle++] = easy;
  else curl_easy_cleanup(easy);
}

static CURL *acquire_easy(uvcrawl_t *c) {
  if (c->nidle > 0) {
    CURL *e = c->idle[--c->nidle];
    curl_easy_reset(e);
    return e;
  }
  return curl_easy_init();
}

/* Emits the record of a page and frees it. */
/* Counts, remembers and writes one record, and hands it to the caller. */
static void emit(uvcrawl_t *c, uvcrawl_result_t *r);

static void page_finish(page_t *p) {
  uvcrawl_t *c = p->c;
  uvcrawl_result_t r;
  memset(&r, 0, sizeof(r));
  r.attempts = p->item.attempts + 1u;
  r.note = uvcrawl__record_note(&p->job);
  r.url = p->item.url;
  r.status = p->status;
  r.http_version = p->http_version;
  r.depth = p->item.depth;
  r.referrer = p->item.referrer;
  r.content_type = p->content_type;
  r.bytes = p->len;
  r.md5 = p->job.md5[0] ? p->job.md5 : NULL;
  r.redirect = p->redirect;
  r.error = p->error;
  r.error_name = p->error ? p->error_name : NULL;
  r.ms = p->ms;
  r.curl_code = (int)p->code;
  r.links = (unsigned)p->job.ngiven;
  r.external = p->external;
  if (p->external) r.bytes = 0;
  if (p->decoded) r.bytes = p->decoded_len;
  r.warc_file = p->warc_file;
  r.warc_offset = p->warc_offset;
  r.warc_record_id = p->warc_file ? p->warc_id : NULL;
  if (c->rf) c->acking = &p->item;
  emit(c, &r);
  c->acking = NULL;
  page_free(p);
}

/* A URL that is not fetched, with the reason, as a record of its own. */
/* *r: the record of an item that was never fetched, failed with error (borrowed strings). */
static void item_error(uvcrawl_result_t *r, const uvcrawl__item_t *item, const char *error,
                       const char *error_name) {
  memset(r, 0, sizeof(*r));
  r->url = item->url;
  r->referrer = item->referrer;
  r->depth = item->depth;
  r->error = error;
  r->error_name = error_name;
}

static void emit_skipped(uvcrawl_t *c, const char *url, const char *referrer, int depth,
                         const char *why) {
  uvcrawl_result_t r;
  memset(&r, 0, sizeof(r));
  r.url = url;
  r.referrer = referrer;
  r.depth = depth;
  r.skipped = why;
  c->stats.skipped++;
  emit(c, &r);
}

/* Copies one string of a record into the rec's tail. */
static const char *rec_str(char **at, const char *s) {
  if (s == NULL) return NULL;
  size_t n = strlen(s) + 1;
  char *d = memcpy(*at, s, n);
  *at += n;
  return d;
}

/* Queues a copy of r for the drain (on_result is never called from here: the caller is in the
 * middle of its bookkeeping). Out of memory, the caller does not see this record; it is
 * counted and written all the same. */
static void queue_record(uvcrawl_t *c, const uvcrawl_result_t *r) {
  const char *const strs[] = {r->url, r->referrer, r->content_type, r->md5, r->redirect,
                              r->error, r->skipped, r->note, r->http_version};
  size_t len = 0;
  for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
    if (strs[i] != NULL) len += strlen(strs[i]) + 1;
  rec_t *rec = malloc(sizeof(*rec) + len);
  if (rec == NULL) return;
  char *at = rec->strings;
  rec->next = NULL;
  rec->r = *r;
  rec->r.url = rec_str(&at, r->url);
  rec->r.referrer = rec_str(&at, r->referrer);
  rec->r.content_type = rec_str(&at, r->content_type);
  rec->r.md5 = rec_str(&at, r->md5);
  rec->r.redirect = rec_str(&at, r->redirect);
  rec->r.error = rec_str(&at, r->error);
  rec->r.skipped = rec_str(&at, r->skipped);
  rec->r.note = rec_str(&at, r->note);
  rec->r.http_version = rec_str(&at, r->http_version);
  if (c->rec_tail) c->rec_tail->next = rec;
  else c->rec_head = rec;
  c->rec_tail = rec;
  uv_idle_start(&c->drain, on_drain);
}

static void free_records(uvcrawl_t *c) {
  while (c->rec_head != NULL) {
    rec_t *r = c->rec_head;
    c->rec_head = r->next;
    free(r);
  }
  c->rec_tail = NULL;
}

static void emit(uvcrawl_t *c, uvcrawl_result_t *rp) {
  uvcrawl_result_t r = *rp;
  r.broken = r.skipped == NULL && is_broken(c, r.status, r.error);
  c->stats.pages++;
  c->stats.bytes += r.bytes;
  if (r.broken) c->stats.errors++;
  if (c->graph) {
    uint32_t *state;
    if (uvcrawl__frontier_lookup(c->frontier, r.url, NULL, &state))
      *state = (*state & ~(uint32_t)URL_VERDICT) | (r.broken ? URL_BROKEN : URL_GOOD);
    const char *interned;
    if (r.broken && uvcrawl__frontier_lookup(c->frontier, r.url, &interned, NULL))
      uvcrawl__linkgraph_broken(c->graph, interned, r.status, r.error, r.external);
  }
  if (c->output || c->journal || c->acking) {
    c->scratch_len = 0;
    if (uvcrawl__json_record(&r, &c->scratch, &c->scratch_len, &c->scratch_cap) == 0) {
      size_t line = c->scratch_len;
      if (c->acking) c->fops->completed(c->fq, c->acking, c->scratch, line);
      if (c->output) {
        uvcrawl__output_append(c->output, c->scratch, line);
        uvcrawl__output_append(c->output, "\n", 1);
      }
      /* The frame goes after the line in the same buffer, then only the frame is written;
       * room is made first so the line it copies cannot move under it. */
      if (c->journal &&
          uvcrawl__buf_reserve(&c->scratch, &c->scratch_len, &c->scratch_cap,
                               line + strlen(r.url) + 16) == 0 &&
          uvcrawl__journal_completed(&c->scratch, &c->scratch_len,
                                                   &c->scratch_cap, r.url, c->scratch,
                                                   line) == 0)
        uvcrawl__output_append(c->journal, c->scratch + line, c->scratch_len - line);
    }
  }
  if (c->convert != NULL && r.skipped == NULL && !r.external && r.error == NULL) {
    /* --convert-links: what went to the mirror (out of memory: that link stays as it is) */
    if (r.status >= 200 && r.status < 300)
      (void)uvcrawl__convert_saved(c->convert, r.url, r.content_type);
    else if (r.status >= 300 && r.status < 400 && r.redirect != NULL)
      (void)uvcrawl__convert_redirect(c->convert, r.url, r.redirect);
  }
  if (c->on_result && c->state != ST_CLOSING) queue_record(c, &r);
}

/* Why a newly found URL will not be fetched (a record says so), or NULL. */
static const char *skip_reason(const uvcrawl_t *c, const char *url, unsigned hops) {
  if (strlen(url) > c->opts.max_url_len) return "URL longer than the URL length cap (max_url_len)";
  if (hops > c->opts.max_redirects) return "redirect chain longer than the cap (max_redirects)";
  if (uvcrawl__url_is_trap(url)) return "looks like a spider trap (a path segment repeats)";
  return NULL;
}

/* A link (or a redirect target, hops > 0) found on page from; requisite: the page needs it
 * to display (--page-requisites fetches it past --max-depth and off scope). */
static void enqueue_hops(uvcrawl_t *c, const char *url, const page_t *from, unsigned hops,
                         int requisite) {
  const char *to;
  uint32_t *state;
  int depth = from->item.depth + 1;
  requisite = requisite && c->opts.page_requisites;
  if (c->opts.max_depth >= 0 && depth > c->opts.max_depth && !requisite) return;
  if (!passes_filters(c, url)) return;
  const char *why = skip_reason(c, url, hops);
  if (why != NULL) {
    if (uvcrawl__frontier_mark(c->frontier, url, &to) == 1) {
      const char *ref;
      uvcrawl__frontier_lookup(c->frontier, from->item.url, &ref, NULL);
      emit_skipped(c, to, ref, depth, why);
    }
  } else if (c->fops->add(c->fq, url, from->item.url, depth) == 1) {
    journal_record(c, requisite ? 'R' : 'D', url, from->item.url, depth);
    if (hops && uvcrawl__frontier_lookup(c->frontier, url, NULL, &state))
      *state |= (uint32_t)(hops > 255 ? 255 : hops) << HOPS_SHIFT;
  }
  /* Seen first as a plain link and still queued: a requisite all the same (fetched whole). */
  if (requisite && uvcrawl__frontier_lookup(c->frontier, url, NULL, &state))
    *state |= URL_REQUISITE;
  /* Link checking: remember who links a URL until it is known good. */
  if (c->graph && uvcrawl__frontier_lookup(c->frontier, url, &to, &state) &&
      (*state & URL_VERDICT) != URL_GOOD)
    uvcrawl__linkgraph_add(c->graph, from->item.url, to);
}

static void enqueue(uvcrawl_t *c, const char *url, const page_t *from, int requisite) {
  enqueue_hops(c, url, from, 0, requisite);
}

/* Queues url as a sitemap (depth 0: sitemaps are entry points like seeds). */
static void enqueue_sitemap(uvcrawl_t *c, const char *url, const char *referrer) {
  uint32_t *state;
  if (!in_scope(c, url)) return;
  if (c->fops->add(c->fq, url, referrer, 0) != 1) return;
  journal_record(c, 'S', url, referrer, 0);
  if (uvcrawl__frontier_lookup(c->frontier, url, NULL, &state)) *state |= URL_SITEMAP;
}

static void pump(uvcrawl_t *c);

/* Links queued per loop iteration: about 0.2 ms of loop time. A page with a million links is
 * queued over many iterations instead of stalling every transfer for tens of ms. */
#define LINKS_PER_TURN 4096
/* Finished pages recorded per loop iteration: a batch of 64 back from the pool is spread over
 * several iterations, with the sockets served in between. */
#define PAGES_PER_TURN 8
/* Records handed to on_result per loop iteration. */
#define RECORDS_PER_TURN 256

/* Queues up to *budget more of p's links; returns 1 once all of them are. */
static int queue_links(uvcrawl_t *c, page_t *p, size_t *budget) {
  uvcrawl__job_t *job = &p->job;
  size_t total = job->nlinks + job->nforeign;
  for (; p->next_link < total && *budget > 0; p->next_link++, (*budget)--) {
    size_t i = p->next_link;
    if (i >= job->nlinks) {
      enqueue(c, job->foreign[i - job->nlinks], p, job->foreign_kinds[i - job->nlinks]);
    } else if (job->sitemap_index) {
      enqueue_sitemap(c, job->links[i], p->item.url);
    } else if (c->scope == UVCRAWL__SCOPE_HOST || c->opts.check || in_scope(c, job->links[i]) ||
               (c->opts.page_requisites && job->link_kinds[i] == UVCRAWL__REF_REQUISITE)) {
      enqueue(c, job->links[i], p, job->link_kinds[i]);
    }
  }
  return p->next_link == total;
}

/* The page's links are all queued: only now may its record (and journal C) go out. */
static void page_links_queued(page_t *p) {
  uvcrawl_t *c = p->c;
  c->jobs--;
  page_finish(p);
}

static void do_stop(uvcrawl_t *c);
static void do_close(uvcrawl_t *c, uvcrawl_close_cb close_cb, void *arg);

/* A user callback has returned: what it asked for happens now. */
static void after_callback(uvcrawl_t *c) {
  c->in_callback = 0;
  if (c->close_requested) {
    c->close_requested = c->stop_requested = 0;
    do_close(c, c->close_requested_cb, c->close_requested_arg);
  } else if (c->stop_requested) {
    c->stop_requested = 0;
    do_stop(c);
  }
}

/* The only place user callbacks run: queued records in order, then on_done once they are
 * all out. Runs from the drain, with no crawler state held on the stack, so a callback may
 * stop or close the crawler (both take effect in after_callback). */
static void deliver(uvcrawl_t *c) {
  for (unsigned n = 0; n < RECORDS_PER_TURN && c->rec_head != NULL && c->state != ST_CLOSING;
       n++) {
    rec_t *r = c->rec_head;
    c->rec_head = r->next;
    if (c->rec_head == NULL) c->rec_tail = NULL;
    c->in_callback = 1;
    c->on_result(c, &r->r, c->cb_arg);
    free(r);
    after_callback(c);
  }
  if (c->state == ST_CLOSING) {
    free_records(c); /* closed: the caller wants no more */
    c->done_pending = 0;
  }
  if (c->done_pending && c->rec_head == NULL) {
    c->done_pending = 0;
    if (c->on_done) {
      c->in_callback = 1;
      c->on_done(c, c->done_status, c->cb_arg);
      after_callback(c);
    }
  }
}

static void on_drain(uv_idle_t *h) {
  uvcrawl_t *c = UVCRAWL_CONTAINER_OF(h, uvcrawl_t, drain);
  size_t budget = LINKS_PER_TURN;
  /* Pages are drained in every state, closing too: teardown waits for them (c->jobs). */
  for (unsigned n = 0; n < PAGES_PER_TURN && c->drain_head != NULL &&
                       queue_links(c, c->drain_head, &budget); n++) {
    page_t *p = c->drain_head;
    c->drain_head = p->drain_next;
    if (c->drain_head == NULL) c->drain_tail = NULL;
    page_links_queued(p);
  }
  deliver(c);
  if (c->drain_head == NULL && c->rec_head == NULL && !c->done_pending) uv_idle_stop(h);
  pump(c);
}

static void page_job_finished(page_t *p);

/* The writer has put the page's records in the WARC (or failed to). */
static void warc_result(page_t *p, const uvcrawl__warcrec_result_t *res) {
  if (res->file == NULL) {
    p->c->stats.output_errors = 1;
    return;
  }
  p->warc_file = strdup(res->file);
  p->warc_offset = res->offset;
  snprintf(p->warc_id, sizeof(p->warc_id), "%s", res->record_id);
}

static void on_warc_written(void *arg, const uvcrawl__warcrec_result_t *res) {
  page_t *p = arg;
  warc_result(p, res);
  page_job_finished(p);
}

/* A page with no body to work on, archived. */
static void on_warc_bare(void *arg, const uvcrawl__warcrec_result_t *res) {
  page_t *p = arg;
  uvcrawl_t *c = p->c;
  warc_result(p, res);
  c->jobs--;
  page_finish(p);
  pump(c);
}

/* Takes what the transfer left in p->warc: kept when a response came, else dropped. */
static void warc_captured(page_t *p, CURL *easy, CURLcode code) {
  char *eff = NULL;
  const char *url = p->item.url, *trunc = NULL;
  if (p->robots_origin && curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK &&
      eff != NULL)
    url = eff; /* robots.txt redirects are followed by libcurl: the last one is archived */
  /* An external link's body is never kept; a robots.txt past RFC 9309's size is cut. */
  if (p->too_big || code == CURLE_FILESIZE_EXCEEDED || (p->external && p->len > 0) ||
      (p->robots_origin && p->len >= ROBOTS_MAX))
    trunc = "length";
  else if (code != CURLE_OK)
    trunc = "disconnect";
  if (uvcrawl__warcrec_done(p->warc, easy, url, trunc) != 1) {
    uvcrawl__warcrec_free(p->warc);
    p->warc = NULL;
  }
}

/* Hands p's capture and body to the WARC writer, which archives them on its own. */
static void warc_archive(uvcrawl_t *c, page_t *p) {
  if (p->warc == NULL) return;
  uvcrawl__warcout_archive(c->warc, p->warc, p->external ? NULL : p->body,
                           p->external ? 0 : p->len);
  if (!p->external) p->body = NULL;
  p->warc = NULL;
}

static void on_job_done(uvcrawl__job_t *job) {
  page_t *p = UVCRAWL_CONTAINER_OF(job, page_t, job);
  uvcrawl_t *c = p->c;
  if (job->status == UV_ENOMEM && p->error == NULL) {
    p->error = "out of memory while parsing";
    p->error_name = "ENOMEM";
  }
  if (job->decode_err != 0 && p->error == NULL) {
    int e = job->decode_err == UV_E2BIG ? UVCRAWL_ETOOBIG : job->decode_err;
    snprintf(p->errbuf, sizeof(p->errbuf), "content decoding failed: %s",
             e == UVCRAWL_ETOOBIG  ? "the decoded body exceeds the body size cap"
             : e == UV_ENOTSUP ? "unknown Content-Encoding"
                               : uv_strerror(e));
    p->error = p->errbuf;
    p->error_name = uvcrawl_err_name(e);
  }
  if (job->decoded != NULL) {
    p->decoded = 1;
    p->decoded_len = job->len;
    free(job->decoded);
    job->decoded = NULL;
    job->body = NULL;
  }
  if (p->warc != NULL && c->state != ST_CLOSING) {
    /* The records were built on the pool; the writer appends them in order. The body (as
     * received) is freed once they are written. */
    uvcrawl__warcrec_t *r = p->warc;
    p->warc = NULL;
    job->warc = NULL;
    uvcrawl__warcout_write(c->warc, r, p->body, p->len, on_warc_written, p);
    return;
  }
  page_job_finished(p);
}

static void page_job_finished(page_t *p) {
  uvcrawl_t *c = p->c;
  uvcrawl__job_t *job = &p->job;
  c->stats.parse_fast += (uint64_t)job->parse_fast;
  c->stats.parse_bailouts += (uint64_t)job->parse_bailed;
  if (job->mirror_err != 0) {
    c->stats.mirror_errors++;
    if (p->error == NULL) {
      snprintf(p->errbuf, sizeof(p->errbuf), "mirror: %s", uv_strerror(job->mirror_err));
      p->error = p->errbuf;
      p->error_name = uvcrawl_err_name(job->mirror_err);
    }
  }
  /* The body has been hashed, parsed and written: its memory goes back to the budget now. */
  if (p->counted) c->buffered -= p->cap;
  p->counted = 0;
  free(p->body);
  p->body = NULL;
  /* Links are queued (and journaled) whatever the state, from on_drain: a page's completion
   * record must never reach the journal without the links it gave, or a resume would lose them. */
  p->drain_next = NULL;
  if (c->drain_tail) c->drain_tail->drain_next = p;
  else c->drain_head = p;
  c->drain_tail = p;
  uv_idle_start(&c->drain, on_drain);
}

static void on_robots_job_done(uvcrawl__job_t *job) {
  page_t *p = UVCRAWL_CONTAINER_OF(job, page_t, job);
  uvcrawl_t *c = p->c;
  c->jobs--;
  uvcrawl__robots_t *r = job->robots;
  job->robots = NULL;
  if (r == NULL) r = uvcrawl__robots_allow_all(); /* out of memory parsing: be lenient */
  for (size_t i = 0; c->opts.sitemaps && i < uvcrawl__robots_sitemaps(r); i++) {
    char *url;
    if (uvcrawl__url_resolve(p->own_url, uvcrawl__robots_sitemap(r, i), &url) == 0) {
      enqueue_sitemap(c, url, NULL);
      free(url);
    }
  }
  c->fops->set_robots(c->fq, p->robots_origin, r);
  job->warc = NULL;
  warc_archive(c, p);
  page_free(p);
  pump(c);
}

/* Remembers why a host's URLs will not be fetched. */
static void block_host(uvcrawl_t *c, const char *origin, const char *why, CURLcode code,
                       int is_error) {
  struct blocked_s *b = realloc(c->blocked, (c->nblocked + 1) * sizeof(*b));
  if (b == NULL) return;
  c->blocked = b;
  b[c->nblocked].origin = strdup(origin);
  b[c->nblocked].why = strdup(why);
  b[c->nblocked].name = is_error ? uvcrawl__curl_code_name(code) : NULL;
  b[c->nblocked].code = (int)code;
  b[c->nblocked].is_error = is_error;
  if (b[c->nblocked].origin && b[c->nblocked].why) c->nblocked++;
  else {
    free(b[c->nblocked].origin);
    free(b[c->nblocked].why);
  }
}

/* RFC 9309 2.3.1: 2xx → parse (on the pool); 4xx → no rules; 5xx or 429 → the host is not
 * crawled; no answer at all (status 0, err says why) → its URLs fail with that error. The
 * same whether this process fetched it or another worker of a shared crawl did. */
static void robots_apply(uvcrawl_t *c, page_t *p, long status, CURLcode code,
                         const char *err) {
  char why[CURL_ERROR_SIZE + 64];
  if (status >= 200 && status < 300 && c->state == ST_RUNNING) {
    p->job.body = p->body ? p->body : "";
    p->job.len = p->len;
    p->job.url = p->own_url;
    p->job.mirror_fd = -1;
    p->job.robots_agent = c->user_agent;
    p->job.warc = p->warc;
    p->job.max_decoded = c->opts.max_body;
    uvcrawl__job_submit(c->pool, &p->job, on_robots_job_done);
    c->jobs++;
    return;
  }
  if (status >= 400 && status < 500 && status != 429) {
    c->fops->set_robots(c->fq, p->robots_origin, uvcrawl__robots_allow_all());
  } else {
    if (status != 0) {
      snprintf(why, sizeof(why), "robots.txt answered %ld: the host is not crawled (RFC 9309)",
               status);
      block_host(c, p->robots_origin, why, code, 0);
    } else {
      snprintf(why, sizeof(why), "robots.txt unreachable: %s", err);
      block_host(c, p->robots_origin, why, code, 1);
    }
    c->fops->set_robots(c->fq, p->robots_origin, uvcrawl__robots_disallow_all());
  }
  warc_archive(c, p);
  page_free(p);
  pump(c);
}

static void robots_fetched(uvcrawl_t *c, page_t *p, CURL *easy, CURLcode code) {
  p->easy = NULL;
  release_easy(c, easy);
  const char *err = p->errbuf[0] ? p->errbuf : curl_easy_strerror(code);
  long status = code == CURLE_OK ? p->status : 0;
  if (c->fops->robots_fetched && c->state == ST_RUNNING) /* shared with the other workers */
    c->fops->robots_fetched(c->fq, p->robots_origin, status, (int)code,
                            status ? (p->body ? p->body : "") : err,
                            status ? p->len : strlen(err));
  robots_apply(c, p, status, code, err);
}

/* Our own socket(): it tells running out of fds apart from a failed connection. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose,
                                 struct curl_sockaddr *addr) {
  page_t *p = clientp;
  (void)purpose;
  curl_socket_t fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
  if (fd == CURL_SOCKET_BAD && (errno == EMFILE || errno == ENFILE)) p->fd_starved = 1;
  return fd;
}

/* socket() found no free fd: not the URL's fault. Pause admission briefly and fetch it (or the
 * host's robots.txt) again, same attempt. */
static void fd_backoff(uvcrawl_t *c, page_t *p, CURL *easy) {
  uint64_t now = uv_hrtime();
  c->fd_pause_until = now + FD_PAUSE_MS * 1000000u;
  c->stats.fd_backoffs++;
  if (p->robots_origin) {
    c->fops->robots_again(c->fq, p->robots_origin);
  } else {
    c->fops->done(c->fq, &p->item, now, 0);
    c->fops->retry(c->fq, &p->item, c->fd_pause_until);
    c->started--;
  }
  p->easy = NULL;
  release_easy(c, easy);
  page_free(p);
  pump(c);
}

static int retryable(CURLcode code, long status) {
  return uvcrawl__retryable((int)code, status); /* retry.c */
}

/* Frees the host's slot (throttling it on 429/503) and, when the failure is worth another try
 * and tries are left, queues the URL again after Retry-After or an exponential backoff with
 * jitter. Returns 1 when the page was requeued (and freed). */
static int retry_later(uvcrawl_t *c, page_t *p, CURL *easy, CURLcode code) {
  uint64_t now = uv_hrtime();
  curl_off_t ra = -1;
  uint64_t ra_ms = 0;
  if (curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0) {
    ra_ms = (uint64_t)ra * 1000u;
    if (ra_ms > c->opts.max_retry_after_ms) ra_ms = c->opts.max_retry_after_ms;
  }
  uint32_t throttle = 0;
  if (code == CURLE_OK && (p->status == 429 || p->status == 503))
    throttle = ra_ms ? (uint32_t)ra_ms : 1000;
  c->fops->done(c->fq, &p->item, now, throttle);
  if (!retryable(code, p->status) || p->too_big || p->item.attempts >= c->opts.retries ||
      c->state != ST_RUNNING)
    return 0;
  uint64_t wait_ms = ra_ms ? ra_ms : uvcrawl__backoff_ms(p->item.attempts, &c->rng);
  uvcrawl__item_t again = p->item;
  again.attempts++;
  if (c->fops->retry(c->fq, &again, now + wait_ms * 1000000u) != 0) return 0;
  c->stats.retries++;
  c->started--; /* a retry does not use up --max-pages */
  warc_archive(c, p); /* every fetch is archived, the failed ones too */
  p->easy = NULL;
  release_easy(c, easy);
  page_free(p);
  pump(c);
  return 1;
}

static void on_transfer_done(void *arg, CURL *easy, CURLcode code) {
  uvcrawl_t *c = arg;
  page_t *p;
  char *s = NULL;
  curl_off_t us = 0;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, &s);
  p = (page_t *)(void *)s;
  c->inflight--;
  p->code = code;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &p->status);
  p->http_version = p->status ? uvcrawl__http_version(easy) : NULL;
  curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &us);
  p->ms = (double)us / 1000.0;
  if (curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &s) == CURLE_OK && s != NULL)
    p->content_type = strdup(s);
  if (p->warc) warc_captured(p, easy, code);
  if (p->fd_starved && c->state == ST_RUNNING) {
    fd_backoff(c, p, easy);
    return;
  }
  if (p->robots_origin) {
    robots_fetched(c, p, easy, code);
    return;
  }
  if (retry_later(c, p, easy, code)) return;
  if (p->status >= 300 && p->status < 400 &&
      curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &s) == CURLE_OK && s != NULL &&
      uvcrawl__url_resolve(p->item.url, s, &p->redirect) == 0 &&
      (c->opts.check || in_scope(c, p->redirect))) {
    uint32_t *state;
    unsigned hops = 1;
    if (uvcrawl__frontier_lookup(c->frontier, p->item.url, NULL, &state))
      hops += (*state >> HOPS_SHIFT) & 255;
    enqueue_hops(c, p->redirect, p, hops, is_requisite(c, p->item.url));
  }
  if (p->hung_up && code == CURLE_WRITE_ERROR) code = p->code = CURLE_OK;
  if (p->too_big) {
    p->error = UVCRAWL__MSG_TOO_BIG;
    p->error_name = uvcrawl_err_name(UVCRAWL_ETOOBIG);
  } else if (code != CURLE_OK) {
    p->error = p->errbuf[0] ? p->errbuf : curl_easy_strerror(code);
    p->error_name = uvcrawl__curl_code_name(code);
  }
  if (p->external && !p->get_fallback && c->state == ST_RUNNING &&
      (p->status == 405 || p->status == 501 || (code != CURLE_OK && p->status == 0 &&
                                                code != CURLE_COULDNT_CONNECT &&
                                                code != CURLE_COULDNT_RESOLVE_HOST))) {
    /* HEAD refused: ask again with GET, on the same slot. */
    free(p->content_type);
    p->content_type = NULL;
    p->error = NULL;
    p->errbuf[0] = '\0';
    p->len = 0;
    p->get_fallback = 1;
    curl_easy_setopt(easy, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    if (c->warc) { /* the HEAD's exchange is archived, the GET gets its own */
      warc_archive(c, p);
      if ((p->warc = uvcrawl__warcrec_new(c->warc)) != NULL)
        uvcrawl__warcrec_setup(p->warc, easy);
    }
    if (uvcrawl__engine_add(c->engine, easy) == 0) {
      c->inflight++;
      return;
    }
    p->error = "could not start the transfer";
    p->error_name = uvcrawl_err_name(UVCRAWL_ECURL);
  }
  p->easy = NULL;
  release_easy(c, easy);

  int mirror = c->mirror_fd >= 0 && !p->external && code == CURLE_OK && p->status >= 200 &&
               p->status < 300;
  if ((p->len == 0 && !mirror) || p->external || c->state == ST_CLOSING) {
    if (p->warc && c->state != ST_CLOSING) {
      /* Nothing to hash or parse: the writer builds the records itself. */
      uvcrawl__warcrec_t *r = p->warc;
      p->warc = NULL;
      c->jobs++;
      uvcrawl__warcout_write(c->warc, r, p->body, p->external ? 0 : p->len, on_warc_bare, p);
      return;
    }
    page_finish(p);
    pump(c);
    return;
  }
  p->job.body = p->body;
  p->job.len = p->len;
  p->job.url = p->item.url;
  /* --page-requisites: a page at --max-depth is read for its requisites (deeper links are
   * dropped at enqueue), and a style sheet for what it imports whatever its depth. */
  int req = c->opts.page_requisites;
  p->job.css = uvcrawl__is_css(p->content_type);
  p->job.parse = code == CURLE_OK &&
                 uvcrawl__should_parse(p->status, p->content_type, p->item.depth,
                                       req && (p->job.css || c->opts.max_depth < 0) ? -1
                                       : req ? c->opts.max_depth + 1
                                             : c->opts.max_depth);
  p->job.keep_requisites = req;
  p->job.content_type = p->content_type;
  p->job.adjust_ext = c->opts.adjust_extension;
  p->job.origins = (const char *const *)c->origins;
  /* Other scopes are filtered on the loop. */
  p->job.norigins = c->scope == UVCRAWL__SCOPE_HOST ? c->norigins : 0;
  p->job.max_links = c->opts.max_links;
  p->job.max_parse = c->opts.max_parse;
  p->job.parser = c->opts.parser;
  p->job.keep_foreign = c->opts.check;
  uint32_t *state;
  p->job.sitemap = code == CURLE_OK && p->status >= 200 && p->status < 300 &&
                   uvcrawl__frontier_lookup(c->frontier, p->item.url, NULL, &state) &&
                   (*state & URL_SITEMAP);
  if (p->job.sitemap) p->job.parse = 0;
  p->job.mirror_fd = mirror ? c->mirror_fd : -1;
  p->job.do_fsync = c->opts.fsync;
  p->job.warc = p->warc;
  p->job.max_decoded = c->opts.max_body;
  /* From here the body waits for the pool: that is what --max-buffer bounds (bodies still
   * arriving are bounded by the in-flight cap times --max-body). */
  p->counted = 1;
  c->buffered += p->cap;
  if (c->buffered > c->stats.buffered_max) c->stats.buffered_max = c->buffered;
  uvcrawl__job_submit(c->pool, &p->job, on_job_done);
  c->jobs++;
}

/* A robots.txt fetch that could not start: the host is not crawled (its URLs get why as their
 * error), so its URLs never wait for rules that will not come. */
static void robots_failed(uvcrawl_t *c, const char *origin, const char *why, int err) {
  block_host(c, origin, why, err == UV_ENOMEM ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT, 1);
  uvcrawl__frontier_set_robots(c->frontier, origin, uvcrawl__robots_disallow_all());
}

/* Every way a transfer fails to start ends here: gives back what admission took (the host's
 * slot in the frontier, or the origin's robots.txt turn; the in-flight slot is only taken once
 * the transfer is in the engine) and records the URL with why as its error. p may be NULL (it
 * could not be allocated): item and robots_origin say what it was for. */
static void fetch_failed(uvcrawl_t *c, page_t *p, const uvcrawl__item_t *item,
                         const char *robots_origin, const char *why, int err) {
  if (p != NULL && p->easy != NULL) {
    release_easy(c, p->easy);
    p->easy = NULL;
  }
  if (robots_origin != NULL) {
    robots_failed(c, robots_origin, why, err);
    if (p != NULL) page_free(p);
    return;
  }
  c->fops->done(c->fq, item, uv_hrtime(), 0);
  if (p != NULL) {
    p->error = why;
    p->error_name = uvcrawl_err_name(err);
    page_finish(p);
    return;
  }
  uvcrawl_result_t r;
  item_error(&r, item, why, uvcrawl_err_name(err));
  r.attempts = item->attempts + 1u;
  c->started++;
  emit(c, &r);
}

/* Starts a transfer for item, or for origin's robots.txt when robots_origin is set. */
static void fetch(uvcrawl_t *c, const uvcrawl__item_t *item, const char *robots_origin) {
  page_t *p = calloc(1, sizeof(*p));
  CURL *e;
  if (p == NULL) {
    fetch_failed(c, NULL, item, robots_origin, "out of memory", UV_ENOMEM);
    return;
  }
  p->c = c;
  p->item = *item;
  p->next = c->pages;
  if (c->pages) c->pages->prev = p;
  c->pages = p;
  if (robots_origin) {
    size_t n = strlen(robots_origin) + sizeof("/robots.txt");
    p->robots_origin = robots_origin;
    if ((p->own_url = malloc(n)) == NULL) {
      fetch_failed(c, p, item, robots_origin, "robots.txt not fetched: out of memory",
                   UV_ENOMEM);
      return;
    }
    snprintf(p->own_url, n, "%s/robots.txt", robots_origin);
    p->item.url = p->own_url;
  }
  /* A robots.txt is always read in full, whichever host it is for: never a HEAD. */
  p->external = c->opts.check && !robots_origin && !in_scope(c, p->item.url) &&
                !is_requisite(c, p->item.url);
  if (!robots_origin) c->started++;
  e = acquire_easy(c);
  if (e == NULL) {
    fetch_failed(c, p, &p->item, robots_origin, "out of memory", UV_ENOMEM);
    return;
  }
  p->easy = e;
  uvcrawl__easy_setup(e, &c->opts, c->user_agent, p->item.url, on_body, p, p->errbuf, c->http);
  curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)p);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, p);
  if (p->external) curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  if (c->warc != NULL && (p->warc = uvcrawl__warcrec_new(c->warc)) != NULL)
    uvcrawl__warcrec_setup(p->warc, e); /* no memory: that fetch goes unarchived */
  if (p->robots_origin) {
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L); /* RFC 9309: follow up to five */
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)0);
  }
  if (uvcrawl__engine_add(c->engine, e) != 0) {
    fetch_failed(c, p, &p->item, robots_origin, "could not start the transfer",
                 UVCRAWL_ECURL);
    return;
  }
  c->inflight++;
  if (c->inflight > c->stats.inflight_max) c->stats.inflight_max = c->inflight;
}

/* Nothing left to fetch: the frontier is empty, or --max-pages is used up. */
static int frontier_finished(uvcrawl_t *c) {
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

static void on_admit(void *arg) { pump(arg); }

static void on_wake(uv_timer_t *t) {
  pump(UVCRAWL_CONTAINER_OF(t, uvcrawl_t, wake));
}

/* A URL robots.txt keeps us from: a skip record, or an error when robots.txt was unreachable. */
static void report_disallowed_record(uvcrawl_t *c, const uvcrawl__item_t *item) {
  for (size_t i = 0; i < c->nblocked; i++) {
    if (!uvcrawl__in_scope(item->url, (const char *const *)&c->blocked[i].origin, 1)) continue;
    if (!c->blocked[i].is_error) {
      emit_skipped(c, item->url, item->referrer, item->depth, c->blocked[i].why);
      return;
    }
    uvcrawl_result_t r;
    item_error(&r, item, c->blocked[i].why, c->blocked[i].name);
    r.curl_code = c->blocked[i].code; /* of the robots.txt fetch that failed */
    emit(c, &r);
    return;
  }
  emit_skipped(c, item->url, item->referrer, item->depth, "disallowed by robots.txt");
}

static void report_disallowed(uvcrawl_t *c, const uvcrawl__item_t *item) {
  if (c->rf) c->acking = item;
  report_disallowed_record(c, item);
  c->acking = NULL;
}

/* Admits queued URLs while a slot is free (robots.txt first for a new host, then the next
 * URL of a host whose delay has passed); arms the wake timer for the earliest host that waits;
 * notices the end of the crawl. */
static void pump(uvcrawl_t *c) {
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
      fetch(c, &item, origin);
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
      report_disallowed(c, &item);
      continue;
    }
    fetch(c, &item, NULL);
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
      (c->state != ST_RUNNING || frontier_finished(c)))
    schedule_tick(c);
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
  uv_idle_start(&c->drain, on_drain);
}

static void part_closed(uvcrawl_t *c) {
  if (--c->closing_parts > 0) return;
  uvcrawl_close_cb cb = c->on_close;
  void *arg = c->close_arg;
  free_parts(c);
  free_records(c);
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
  schedule_tick(c);
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
  pump(c);
  if (c->inflight > 0 || c->jobs > 0 || c->state == ST_DONE || c->state == ST_IDLE) return;
  if (c->state == ST_RUNNING && !frontier_finished(c)) return;
  if (c->convert != NULL && !c->converted && c->state == ST_RUNNING) {
    start_convert(c); /* the tick comes back when it is done */
    if (!c->converted) return;
  }
  c->finishing = 1;
  uv_timer_stop(&c->tick);
  lag_stop(c);
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
    release_easy(c, p->easy);
    c->inflight--;
    page_free(p);
  }
}

static void do_stop(uvcrawl_t *c) {
  if (c->state != ST_RUNNING || c->finishing) return; /* finishing: on_done(0) is on its way */
  c->state = ST_STOPPING;
  abort_transfers(c);
  schedule_tick(c);
}

int uvcrawl_stop(uvcrawl_t *c) {
  if (c->state == ST_IDLE) return UVCRAWL_ESTATE;
  if (c->in_callback) c->stop_requested = 1; /* after the callback returns */
  else do_stop(c);
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
  do_close(c, close_cb, arg);
}

static void do_close(uvcrawl_t *c, uvcrawl_close_cb close_cb, void *arg) {
  if (c->state == ST_CLOSING) return;
  if (c->state == ST_RUNNING) abort_transfers(c);
  lag_stop(c);
  c->state = ST_CLOSING;
  c->on_close = close_cb;
  c->close_arg = arg;
  /* Teardown waits for pool jobs (their callbacks touch c) and runs from a clean stack. */
  uv_timer_stop(&c->tick);
  uv_timer_start(&c->tick, on_tick, 0, 0);
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

/* ---- a crawl shared through Redis (frontier.h, redis_frontier.c) ------------------------- */

static void rf_wake(void *arg) { schedule_tick(arg); }

static void rf_fatal(void *arg, const char *why) {
  uvcrawl_t *c = arg;
  free(c->fatal_why);
  c->fatal_why = strdup(why);
  c->fatal = UVCRAWL_EREDIS;
  uvcrawl_stop(c);
}

/* Another worker fetched origin's robots.txt: the same decisions as after our own fetch. */
static void rf_robots_shared(void *arg, const char *origin, long status, int code,
                             const char *body, size_t len) {
  uvcrawl_t *c = arg;
  page_t *p = calloc(1, sizeof(*p));
  size_t n = strlen(origin) + sizeof("/robots.txt");
  char *err = malloc(len + 1);
  if (p == NULL || err == NULL || (p->own_url = malloc(n)) == NULL ||
      (len > 0 && (p->body = malloc(len)) == NULL)) {
    if (p) free(p->own_url);
    free(p);
    free(err);
    c->fops->set_robots(c->fq, origin, uvcrawl__robots_allow_all()); /* lenient, as on ENOMEM */
    return;
  }
  memcpy(err, body, len);
  err[len] = '\0';
  if (len > 0) memcpy(p->body, body, len);
  p->len = p->cap = len;
  snprintf(p->own_url, n, "%s/robots.txt", origin);
  p->c = c;
  p->robots_origin = origin; /* the shared frontier's string, valid until it is closed */
  p->status = status;
  p->next = c->pages;
  if (c->pages) c->pages->prev = p;
  c->pages = p;
  robots_apply(c, p, status, (CURLcode)code, err);
  free(err);
}

/* A seed the crawl was started with: its origin is in scope (nothing is queued here). */
static int adopt_seed(uvcrawl_t *c, const char *url) {
  char *norm;
  int err = uvcrawl__url_resolve(NULL, url, &norm);
  if (err == 0) err = add_origin(c, norm);
  char **sd = err ? NULL : realloc(c->seeds, (c->nseeds + 1) * sizeof(*sd));
  if (err == 0 && sd == NULL) err = UV_ENOMEM;
  if (err) {
    free(norm);
    return err;
  }
  c->seeds = sd;
  const char *auth = strstr(norm, "://");
  char *slash = auth ? strchr(auth + 3, '/') : NULL, *q = slash ? strchr(slash, '?') : NULL;
  if (q) *q = '\0';
  char *last = strrchr(norm, '/');
  if (last && last >= slash) last[1] = '\0';
  c->seeds[c->nseeds++] = norm;
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int uvcrawl_join_cluster(uvcrawl_t *c, const char *redis_url, const char *name,
                         unsigned lease_ms, unsigned max_tries, char *why, size_t whylen) {
  uvcrawl__item_t item;
  const char **mine = NULL;
  size_t n = 0;
  char *seeds = NULL, *stored = NULL;
  size_t len = 0, cap = 0;
  int err = 0;
  if (whylen) why[0] = '\0';
  if (c->state != ST_IDLE || c->rf != NULL) return UVCRAWL_ESTATE;
  if (c->opts.check || c->journal || c->opts.sitemaps || c->opts.max_pages) {
    snprintf(why, whylen, "a shared crawl does not take the CHECK, STATE_DIR, SITEMAPS or "
                          "MAX_PAGES options");
    return UV_ENOTSUP;
  }
  /* The seeds wait in the local queue: they go to Redis instead. */
  while (uvcrawl__frontier_pop(c->frontier, &item)) {
    const char **m = realloc(mine, (n + 1) * sizeof(*m));
    if (m == NULL) {
      free(mine);
      return UV_ENOMEM;
    }
    mine = m;
    mine[n++] = item.url;
  }
  if (n > 0) qsort(mine, n, sizeof(*mine), cmp_str);
  for (size_t i = 0; i < n && err == 0; i++)
    if (uvcrawl__buf_add(&seeds, &len, &cap, mine[i], strlen(mine[i])) != 0 ||
        uvcrawl__buf_add(&seeds, &len, &cap, i + 1 < n ? "\n" : "", i + 1 < n ? 1 : 0) != 0)
      err = UV_ENOMEM;
  if (err == 0 && uvcrawl__buf_add(&seeds, &len, &cap, "", 1) != 0) err = UV_ENOMEM;
  uvcrawl__rf_opts_t o;
  memset(&o, 0, sizeof(o));
  o.redis_url = redis_url;
  o.name = name;
  o.identity = c->identity;
  o.seeds = seeds;
  o.per_host = c->opts.per_host;
  o.delay_ms = c->opts.delay_ms;
  o.lease_ms = lease_ms ? lease_ms : 30000;
  o.max_tries = max_tries ? max_tries : 5;
  o.ignore_robots = c->opts.ignore_robots;
  o.max_held = c->stats.inflight_cap;
  uvcrawl__rf_cbs_t cbs = {rf_wake, rf_robots_shared, rf_fatal};
  uvcrawl__rf_t *rf = NULL;
  if (err == 0)
    err = uvcrawl__rf_new(c->loop, c->frontier, &o, &cbs, c, &stored, why, whylen, &rf);
  if (err == 0) {
    c->rf = rf; /* from here the crawler's close closes it */
    c->fops = &uvcrawl__rf_fops;
    c->fq = rf;
    if (n > 0 && strcmp(stored, seeds) != 0) {
      snprintf(why, whylen, "the crawl was started with other seeds:\n%s", stored);
      err = UVCRAWL_ECLUSTER;
    }
  }
  for (size_t i = 0; err == 0 && i < n; i++)
    if (uvcrawl__rf_push(rf, mine[i], NULL, 0) < 0) err = UV_ENOMEM;
  /* A worker started without seeds takes the crawl's, for its scope. */
  for (char *s = stored, *e; err == 0 && n == 0 && s && *s; s = e + (*e != '\0')) {
    e = s + strcspn(s, "\n");
    char save = *e;
    *e = '\0';
    err = adopt_seed(c, s);
    *e = save;
    if (save == '\0') break;
  }
  free(stored);
  free(seeds);
  free(mine);
  return err;
}

int uvcrawl_cluster_status(const char *redis_url, const char *name, char **json, char *why,
                           size_t whylen) {
  return uvcrawl__rf_status(redis_url, name, json, why, whylen);
}

int uvcrawl_cluster_export(const char *redis_url, const char *name, const char *path,
                           uint64_t *n, char *why, size_t whylen) {
  int fd = strcmp(path, "-") == 0 ? 1 : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    snprintf(why, whylen, "cannot write %s: %s", path, strerror(errno));
    return -errno;
  }
  int err = uvcrawl__rf_export(redis_url, name, fd, n, why, whylen);
  if (fd != 1 && close(fd) != 0 && err == 0) {
    snprintf(why, whylen, "cannot write %s: %s", path, strerror(errno));
    err = UV_EIO;
  }
  return err;
}

const char *uvcrawl_cluster_error(const uvcrawl_t *c) { return c->fatal_why; }
