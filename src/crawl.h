/* The crawler's shared state: struct uvcrawl_s and the page in flight, for the crawler's own
 * files only (crawler.c and crawl_*.c; no other source includes this). Also the lifecycle's
 * internal calls (crawler.c), and the scope reads every part makes.
 *
 * A URL moves frontier -> transfer (crawl_fetch.c, engine_loop) -> job (thread pool: md5,
 * parse; crawl_intake.c) -> record (crawl_records.c); with --warc the job also builds the WARC
 * records and decodes the body (kept coded for the archive), and the record waits for
 * warcout.c's writer to have appended them (crawl_warc.c). Admission (crawl_pump.c) takes a
 * slot only while fewer than the cap are in flight and the bodies waiting for the pool fit the
 * buffer budget; everything else waits in the frontier.
 *
 * The parts include one way only, each the ones below it (tests/test_crawl_flow.py):
 *   crawler.c -> pump -> fetch -> robots -> intake -> {warc, records, resume} -> page
 * with crawl_cluster.c (calls robots) and crawl_stats.c beside crawler.c. A part below tells
 * admission that room was freed through the pump hook, and asks for the drain (crawler.c's)
 * with uvcrawl__crawl_kick_drain, like the tick: from a clean stack, never a call back up. */
#ifndef UVCRAWL_CRAWL_H
#define UVCRAWL_CRAWL_H

#include <regex.h>
#include <stdint.h>

#include "convert.h"
#include "engine_loop.h"
#include "frontier.h"
#include "http.h"
#include "lag.h"
#include "links.h"
#include "options.h"
#include "output.h"
#include "redis_frontier.h"
#include "scope.h"
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
#define URL_SKIPPED (1u << 18) /* recorded as skipped (a trap, too long, too many redirects) */

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
  /* Set by uvcrawl_create to uvcrawl__pump: fetch and robots (below admission) call it when
   * a slot, a host or the buffer budget is free again. */
  void (*pump)(uvcrawl_t *c);
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

/* Links queued per loop iteration: about 0.2 ms of loop time. A page with a million links is
 * queued over many iterations instead of stalling every transfer for tens of ms. */
#define LINKS_PER_TURN 4096
/* Finished pages recorded per loop iteration: a batch of 64 back from the pool is spread over
 * several iterations, with the sockets served in between. */
#define PAGES_PER_TURN 8
/* Records handed to on_result per loop iteration. */
#define RECORDS_PER_TURN 256

/* 1 when url was queued as a requisite of a page (--page-requisites). */
static inline int is_requisite(const uvcrawl_t *c, const char *url) {
  uint32_t *state;
  return c->opts.page_requisites && uvcrawl__frontier_lookup(c->frontier, url, NULL, &state) &&
         (*state & URL_REQUISITE);
}

/* Scope and filters are scope.c's; these read the crawler's. */
static inline int in_scope(const uvcrawl_t *c, const char *url) {
  return uvcrawl__scope_match(c->scope, url, (const char *const *)c->origins, c->norigins,
                              (const char *const *)c->seeds, c->nseeds);
}

static inline int passes_filters(const uvcrawl_t *c, const char *url) {
  return uvcrawl__filters_pass(c->include, c->ninclude, c->exclude, c->nexclude, url);
}

/* ---- crawler.c: the lifecycle ---------------------------------------------------------- */

/* Adds url's origin to the scope unless it is there (and --user's credentials to it).
 * Returns 0, an error of uvcrawl__url_origin() or UV_ENOMEM. */
int uvcrawl__crawl_add_origin(uvcrawl_t *c, const char *url);
/* Runs the tick (pump, the end of the crawl, teardown) from a clean stack, once. */
void uvcrawl__crawl_schedule_tick(uvcrawl_t *c);
/* Starts the drain (the idle handle), which queues finished pages' links, delivers records and
 * on_done, then pumps: from a clean stack, every loop iteration until it has nothing left. */
void uvcrawl__crawl_kick_drain(uvcrawl_t *c);
/* What uvcrawl_stop() and uvcrawl_close() do once no user callback is running. */
void uvcrawl__crawl_do_stop(uvcrawl_t *c);
void uvcrawl__crawl_do_close(uvcrawl_t *c, uvcrawl_close_cb close_cb, void *arg);

#endif /* UVCRAWL_CRAWL_H */
