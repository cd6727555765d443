/* The classic crawler, kept for comparison with the event loop: N pthreads share one frontier
 * (a mutex and a condition variable); each takes a URL, fetches it with a blocking
 * curl_easy_perform on its own easy handle, then hashes, parses and writes the record itself.
 * Crawl policy (host scope, depth, redirects, max_pages, link and parse caps) is the loop
 * engine's, and its records are filled by the same code (record.c: fields, error strings), so
 * both engines produce the same records for the same site with default options.
 *
 * Not part of the library's ABI: the CLI and the benchmarks link it with the internal library
 * (uvcrawl_internal), whose request options (transfer.c), body buffers, jobs and record
 * building it shares with the loop engine.
 *
 * Deliberately not here: robots.txt (not fetched, not obeyed), politeness, retries, link
 * checking, the journal, filters, wider scopes, --accept, sitemaps, and the redirect-chain,
 * URL-length and spider-trap skips. Options that ask for one of those are refused
 * (UV_ENOTSUP) rather than silently ignored, except ignore_robots, whose default is to obey. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine_threads.h"
#include "dynbuf.h"
#include "http.h"
#include "mime.h"
#include "output.h"
#include "record.h"
#include "scope.h"
#include "store.h"
#include "transfer.h"
#include "url.h"

/* A worker's fds: its socket, the wakeup socketpair of the private multi handle that
 * curl_easy_perform creates, and the threaded resolver's pair while a name resolves. */
#define FDS_PER_THREAD 5
#define OUT_BUFFER (64 * 1024)
#define BODY_KEEP (1u << 20) /* an idle worker keeps at most this much body buffer */

typedef struct {
  uvcrawl_options_t opts;
  char *user_agent;     /* owned: shared_free() frees it */
  uvcrawl__http_t *http; /* the workers share its cookie jar (curl locks it) */
  char **origins;
  size_t norigins;
  int mirror_fd;        /* the mirror root, or -1 */
  _Atomic uint64_t buffered;     /* body buffer bytes the workers hold */
  _Atomic uint64_t buffered_max;
  _Atomic uint64_t parse_fast, parse_bailouts; /* stats: which parser gave each page's links */

  pthread_mutex_t lock; /* guards everything down to `waiting` */
  pthread_cond_t cond;
  uvcrawl__frontier_t *frontier;
  uint64_t started;     /* URLs taken, for max_pages */
  unsigned busy;        /* workers between pop and enqueue: they may still add URLs */
  unsigned waiting;     /* workers blocked on cond */

  pthread_mutex_t out_lock; /* guards the output, on_result and the counters below */
  FILE *out;
  int out_error;
  uvcrawl_result_cb on_result;
  void *arg;
  uint64_t pages, errors, bytes, mirror_errors;
} shared_t;

typedef struct {
  shared_t *s;
  pthread_t tid;
  CURL *easy;
  char *body;
  size_t len, cap;
  int too_big;
  int connected; /* its handle opened a connection: the stats' fds_max counts these */
  char errbuf[CURL_ERROR_SIZE];
  char *rec; /* the JSON line, reused across URLs */
  size_t rec_len, rec_cap;
} worker_t;

static CURLcode global_init_result;
static void global_init(void) { global_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); }

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Body memory, as the loop engine reports it (stats.buffered_max); grow only. */
static void note_buffered(shared_t *s, uint64_t grown) {
  uint64_t now = atomic_fetch_add(&s->buffered, grown) + grown;
  uint64_t max = atomic_load(&s->buffered_max);
  while (now > max && !atomic_compare_exchange_weak(&s->buffered_max, &max, now)) {
  }
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
  worker_t *w = userdata;
  size_t n = size * nmemb, grown;
  int err = uvcrawl__body_append(&w->body, &w->len, &w->cap, ptr, n, w->s->opts.max_body, &grown);
  if (err == UVCRAWL_ETOOBIG) w->too_big = 1;
  if (err) return 0; /* curl aborts the transfer: CURLE_WRITE_ERROR */
  note_buffered(w->s, grown);
  return n;
}

/* Caller holds s->lock. Same rule as crawl_intake.c's enqueue(). Returns 1 when url was queued. */
static int enqueue_locked(shared_t *s, const char *url, const uvcrawl__item_t *from) {
  if (s->opts.max_depth >= 0 && from->depth + 1 > s->opts.max_depth) return 0;
  return uvcrawl__frontier_add(s->frontier, url, from->url, from->depth + 1) == 1;
}

/* Caller holds s->lock. No URL may be taken any more: max_pages is spent. */
static int exhausted_locked(const shared_t *s) {
  return s->opts.max_pages != 0 && s->started >= s->opts.max_pages;
}

/* Takes the next URL, blocking while the queue is empty but a busy worker may still add to it.
 * Returns 0 when the crawl is over for this worker. */
static int take(shared_t *s, uvcrawl__item_t *item) {
  int got = 0;
  pthread_mutex_lock(&s->lock);
  for (;;) {
    if (exhausted_locked(s)) break;
    if (uvcrawl__frontier_pop(s->frontier, item)) {
      s->started++;
      s->busy++;
      got = 1;
      break;
    }
    if (s->busy == 0) break; /* empty queue and nobody can refill it: done */
    s->waiting++;
    pthread_cond_wait(&s->cond, &s->lock);
    s->waiting--;
  }
  /* Whoever notices the end wakes the rest so they notice it too. */
  if (!got && s->waiting > 0) pthread_cond_broadcast(&s->cond);
  pthread_mutex_unlock(&s->lock);
  return got;
}

/* Adds a page's outgoing URLs and ends its busy period, in one critical section. */
static void give_back(shared_t *s, const uvcrawl__item_t *item, const char *redirect,
                      char *const *links, size_t nlinks) {
  unsigned added = 0;
  pthread_mutex_lock(&s->lock);
  if (redirect != NULL) added += (unsigned)enqueue_locked(s, redirect, item);
  for (size_t i = 0; i < nlinks; i++) added += (unsigned)enqueue_locked(s, links[i], item);
  s->busy--;
  /* Wake one sleeper per new URL; at the very end, all of them, so they can exit. */
  if (s->waiting > 0) {
    if (s->busy == 0 || added >= s->waiting) pthread_cond_broadcast(&s->cond);
    else
      while (added-- > 0) pthread_cond_signal(&s->cond);
  }
  pthread_mutex_unlock(&s->lock);
}

static void emit(worker_t *w, const uvcrawl_result_t *r, int mirror_err) {
  shared_t *s = w->s;
  int fmt_err = 0;
  if (s->out != NULL) {
    w->rec_len = 0;
    fmt_err = uvcrawl__json_record(r, &w->rec, &w->rec_len, &w->rec_cap);
    if (fmt_err == 0) fmt_err = uvcrawl__buf_add(&w->rec, &w->rec_len, &w->rec_cap, "\n", 1);
  }
  pthread_mutex_lock(&s->out_lock);
  s->pages++;
  s->bytes += r->bytes;
  if (r->broken) s->errors++;
  if (mirror_err) s->mirror_errors++;
  /* A record that could not be formatted is lost, as in output.c; a write error is kept. */
  if (s->out != NULL && fmt_err == 0 && s->out_error == 0) {
    errno = 0;
    if (fwrite(w->rec, 1, w->rec_len, s->out) != w->rec_len)
      s->out_error = errno ? -errno : UV_EIO;
  }
  if (s->on_result) s->on_result(NULL, r, s->arg);
  pthread_mutex_unlock(&s->out_lock);
}

/* Fetches one URL, runs the job on this thread, queues what it found, writes the record. */
static void crawl_one(worker_t *w, const uvcrawl__item_t *item) {
  shared_t *s = w->s;
  CURL *e = w->easy;
  uvcrawl__job_t job;
  uvcrawl_result_t r;
  uvcrawl__xfer_t x;
  char *redirect = NULL;
  long nconn = 0;

  curl_easy_reset(e); /* keeps the connection and DNS caches, drops the options */
  w->len = 0;
  w->too_big = 0;
  w->errbuf[0] = '\0';
  uvcrawl__easy_setup(e, &s->opts, s->user_agent, item->url, on_body, w, w->errbuf, s->http);
  CURLcode code = curl_easy_perform(e);

  /* x's strings are borrowed from the handle: valid until the next reset, i.e. for this
   * whole function. */
  uvcrawl__record_read(e, code, &x);
  const long status = x.status;
  const char *ct = x.content_type;
  if (!w->connected && curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &nconn) == CURLE_OK &&
      nconn > 0)
    w->connected = 1;
  uvcrawl__record_redirect(e, status, item->url, &redirect); /* on failure redirect is NULL */
  uvcrawl__record_error(w->too_big, code, w->errbuf, &x.error, &x.error_name);

  /* As crawl_fetch.c: the job runs when there is a body, or a 2xx to save (even empty). */
  int mirror = s->mirror_fd >= 0 && code == CURLE_OK && status >= 200 && status < 300;
  memset(&job, 0, sizeof(job));
  job.mirror_fd = -1;
  if (w->len > 0 || mirror) {
    job.body = w->body;
    job.len = w->len;
    job.url = item->url;
    job.parse = code == CURLE_OK &&
                uvcrawl__should_parse(status, ct, item->depth, s->opts.max_depth);
    job.css = uvcrawl__is_css(ct); /* a style sheet: its url()s, not HTML */
    job.origins = (const char *const *)s->origins;
    job.norigins = s->norigins;
    job.max_links = s->opts.max_links;
    job.max_parse = s->opts.max_parse;
    job.parser = s->opts.parser;
    job.mirror_fd = mirror ? s->mirror_fd : -1;
    job.do_fsync = s->opts.fsync;
    uvcrawl__job_run(&job);
    if (job.parse_fast) atomic_fetch_add(&s->parse_fast, 1);
    if (job.parse_bailed) atomic_fetch_add(&s->parse_bailouts, 1);
    if (job.status == UV_ENOMEM && x.error == NULL) {
      x.error = "out of memory while parsing";
      x.error_name = uvcrawl_err_name(UV_ENOMEM);
    }
    if (job.mirror_err != 0 && x.error == NULL) {
      /* errbuf is free again: curl wrote to it during the transfer only. */
      snprintf(w->errbuf, sizeof(w->errbuf), "mirror: %s", uv_strerror(job.mirror_err));
      x.error = w->errbuf;
      x.error_name = uvcrawl_err_name(job.mirror_err);
    }
  }

  give_back(s, item,
            redirect != NULL && uvcrawl__in_scope(redirect, (const char *const *)s->origins,
                                                  s->norigins)
                ? redirect
                : NULL,
            job.links, job.nlinks);

  x.redirect = redirect;
  x.bytes = w->len;
  uvcrawl__record_fill(&r, item, &x, &job); /* item->attempts is 0: no retries here */
  /* crawl_records.c's is_broken() with the default --accept: 2xx fine, 3xx judged by the
   * target. */
  r.broken = x.error != NULL || status < 200 || status >= 400;
  emit(w, &r, job.mirror_err != 0);

  uvcrawl__job_cleanup(&job);
  free(redirect);
  if (w->cap > BODY_KEEP) { /* one huge page must not pin max_body per thread for good */
    atomic_fetch_sub(&s->buffered, w->cap);
    free(w->body);
    w->body = NULL;
    w->cap = 0;
  }
}

static void *worker_main(void *arg) {
  worker_t *w = arg;
  uvcrawl__item_t item;
  while (take(w->s, &item)) crawl_one(w, &item);
  return NULL;
}

/* Options that need machinery only the loop engine has. */
static int unsupported(const uvcrawl_options_t *o) {
  return o->check || o->state_dir != NULL || o->resume || o->per_host || o->delay_ms ||
         o->random_delay || o->retries || o->include != NULL || o->exclude != NULL ||
         (o->scope != NULL && strcmp(o->scope, "host") != 0) || o->accept != NULL ||
         o->sitemaps;
}

/* Opens the record file with output.c's flags and mode. Returns 0 or a negative errno. */
static int open_output(const char *path, FILE **out) {
  int fd;
  FILE *f;
  if (strcmp(path, "-") == 0) {
    *out = stdout;
    return 0;
  }
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -errno;
  f = fdopen(fd, "w");
  if (f == NULL) {
    int err = -errno;
    close(fd);
    return err;
  }
  setvbuf(f, NULL, _IOFBF, OUT_BUFFER); /* failure leaves stdio's default: still correct */
  *out = f;
  return 0;
}

/* Normalizes a seed, adds its origin to the scope (once) and queues it at depth 0. */
static int add_seed(shared_t *s, const char *url) {
  char *norm, *origin;
  int err, known = 0;
  if ((err = uvcrawl__url_resolve(NULL, url, &norm)) != 0) return err;
  if ((err = uvcrawl__url_origin(norm, &origin)) != 0) {
    free(norm);
    return err;
  }
  for (size_t i = 0; i < s->norigins && !known; i++) known = strcmp(s->origins[i], origin) == 0;
  if (!known) {
    char **o = realloc(s->origins, (s->norigins + 1) * sizeof(*o));
    if (o == NULL) {
      free(norm);
      free(origin);
      return UV_ENOMEM;
    }
    s->origins = o;
    s->origins[s->norigins++] = origin;
    if (uvcrawl__http_add_origin(s->http, origin) != 0) { /* --user: seed origins only */
      free(norm);
      return UV_ENOMEM;
    }
  } else {
    free(origin);
  }
  err = uvcrawl__frontier_add(s->frontier, norm, NULL, 0);
  free(norm);
  return err < 0 ? err : 0;
}

/* Copies the options into a zeroed s and refuses those this engine cannot honour. opts and its
 * strings stay the caller's, borrowed for the run. Returns 0, UV_ENOTSUP or UV_EINVAL. */
static int shared_init(shared_t *s, const uvcrawl_options_t *opts, uvcrawl_result_cb on_result,
                       void *arg) {
  memset(s, 0, sizeof(*s));
  s->mirror_fd = -1;
  if (opts) s->opts = *opts;
  else uvcrawl__options_defaults(&s->opts);
  s->on_result = on_result;
  s->arg = arg;
  if (unsupported(&s->opts)) return UV_ENOTSUP;
  if (s->opts.http_version < 0 || s->opts.http_version > 2) return UV_EINVAL;
  return 0;
}

/* Allocates the user agent and frontier (into s, freed by shared_free()) and the nthreads
 * zeroed workers (*workers, the caller's to free_workers() even on failure). Returns 0 or
 * UV_ENOMEM. */
static int shared_alloc(shared_t *s, unsigned nthreads, worker_t **workers) {
  s->user_agent = strdup(s->opts.user_agent ? s->opts.user_agent
                                            : "uvcrawl/" UVCRAWL_VERSION_STRING);
  s->frontier = uvcrawl__frontier_new();
  *workers = calloc(nthreads, sizeof(**workers));
  if (s->user_agent == NULL || s->frontier == NULL || *workers == NULL) return UV_ENOMEM;
  return 0;
}

/* Opens what the crawl writes to and reads from, in the loop engine's order: HTTP state, output,
 * mirror root, then the seeds. What opened is left in s for shared_free() and close_output(). */
static int shared_open(shared_t *s, const char *const *seeds, size_t nseeds) {
  int err;
  if ((err = uvcrawl__http_new(&s->opts, &s->http)) != 0) return err;
  if (s->opts.output_path != NULL && (err = open_output(s->opts.output_path, &s->out)) != 0)
    return err;
  if (s->opts.mirror_dir != NULL &&
      (err = uvcrawl__store_open_root(s->opts.mirror_dir, &s->mirror_fd)) != 0)
    return err;
  for (size_t i = 0; i < nseeds; i++)
    if ((err = add_seed(s, seeds[i])) != 0) return err;
  if (uvcrawl__frontier_queued(s->frontier) == 0) return UVCRAWL_ENOSEED;
  return 0;
}

/* Initializes the mutexes and the condition variable; *locks counts those that exist, for
 * shared_free(). Returns 0 or UV_ENOMEM. */
static int init_locks(shared_t *s, int *locks) {
  if (pthread_mutex_init(&s->lock, NULL) != 0) return UV_ENOMEM;
  *locks = 1;
  if (pthread_mutex_init(&s->out_lock, NULL) != 0) return UV_ENOMEM;
  *locks = 2;
  if (pthread_cond_init(&s->cond, NULL) != 0) return UV_ENOMEM;
  *locks = 3;
  return 0;
}

/* Starts up to nthreads workers and waits for them all; *running is how many ran, each with an
 * easy handle that free_workers() cleans up. Returns 0, or why not one worker could start. */
static int run_workers(shared_t *s, worker_t *workers, unsigned nthreads, unsigned *running) {
  /* Workers start as soon as they exist; the shared state is ready, and if a later
   * pthread_create fails the crawl simply runs on fewer threads. */
  int start_err = 0;
  for (unsigned i = 0; i < nthreads; i++) {
    worker_t *w = &workers[*running];
    w->s = s;
    if ((w->easy = curl_easy_init()) == NULL) {
      start_err = UVCRAWL_ECURL;
      break;
    }
    if ((start_err = pthread_create(&w->tid, NULL, worker_main, w)) != 0) {
      start_err = -start_err; /* EAGAIN: the thread or memory limit */
      curl_easy_cleanup(w->easy);
      w->easy = NULL;
      break;
    }
    (*running)++;
  }
  for (unsigned i = 0; i < *running; i++) pthread_join(workers[i].tid, NULL);
  return *running == 0 ? start_err : 0; /* not one worker: nothing was fetched */
}

/* The run's totals, as the loop engine reports them; stats was zeroed at the start. */
static void fill_stats(uvcrawl_stats_t *stats, const shared_t *s, const worker_t *workers,
                       unsigned running, unsigned nthreads, uint64_t start_ns) {
  stats->wall_ms = (double)(now_ns() - start_ns) / 1e6;
  stats->pages = s->pages;
  stats->errors = s->errors;
  stats->bytes = s->bytes;
  stats->queued = uvcrawl__frontier_queued(s->frontier);
  stats->seen = uvcrawl__frontier_seen(s->frontier);
  stats->inflight_max = running;
  stats->inflight_cap = nthreads;
  stats->mirror_errors = s->mirror_errors;
  stats->buffered_max = atomic_load(&s->buffered_max);
  stats->parse_fast = atomic_load(&s->parse_fast);
  stats->parse_bailouts = atomic_load(&s->parse_bailouts);
  for (unsigned i = 0; i < running; i++) stats->fds_max += (unsigned)workers[i].connected;
}

/* Flushes and closes s->out (not stdout, which stays open). Returns the first write error of
 * the run, or 0. */
static int close_output(shared_t *s) {
  errno = 0;
  if (fflush(s->out) != 0 && s->out_error == 0) s->out_error = errno ? -errno : UV_EIO;
  errno = 0;
  if (s->out != stdout && fclose(s->out) != 0 && s->out_error == 0)
    s->out_error = errno ? -errno : UV_EIO;
  return s->out_error;
}

/* Frees workers (may be NULL) with the handles and buffers of the first `running`. */
static void free_workers(worker_t *workers, unsigned running) {
  if (workers == NULL) return;
  for (unsigned i = 0; i < running; i++) {
    curl_easy_cleanup(workers[i].easy);
    free(workers[i].body);
    free(workers[i].rec);
  }
  free(workers);
}

/* Frees what shared_alloc() and shared_open() left in s, whether or not they succeeded, after
 * the `locks` that init_locks() made; the output is close_output()'s. */
static void shared_free(shared_t *s, int locks) {
  uvcrawl__http_free(s->http);
  if (locks >= 3) pthread_cond_destroy(&s->cond);
  if (locks >= 2) pthread_mutex_destroy(&s->out_lock);
  if (locks >= 1) pthread_mutex_destroy(&s->lock);
  if (s->mirror_fd >= 0) close(s->mirror_fd);
  for (size_t i = 0; i < s->norigins; i++) free(s->origins[i]);
  free(s->origins);
  uvcrawl__frontier_free(s->frontier);
  free(s->user_agent);
}

int cli_threads_run(const uvcrawl_options_t *opts, const char *const *seeds, size_t nseeds,
                    unsigned threads, uvcrawl_result_cb on_result, void *arg,
                    uvcrawl_stats_t *stats) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  shared_t s;
  worker_t *workers = NULL;
  unsigned nthreads, running = 0;
  int err, locks = 0;

  if (stats) memset(stats, 0, sizeof(*stats));
  /* WARC output is the loop engine's. */
  if (opts != NULL && opts->warc_path != NULL) return UV_EINVAL;
  /* curl_global_init is not thread-safe: once per process (crawler.c has its own once, and
   * libcurl counts the calls). */
  pthread_once(&once, global_init);
  if (global_init_result != CURLE_OK) return UVCRAWL_ECURL;
  if ((err = shared_init(&s, opts, on_result, arg)) != 0) return err;
  nthreads = uvcrawl__fd_room(threads ? threads : 1, FDS_PER_THREAD);
  s.opts.max_inflight = nthreads; /* what the transfers size their buffers by */

  if ((err = shared_alloc(&s, nthreads, &workers)) == 0 &&
      (err = shared_open(&s, seeds, nseeds)) == 0 && (err = init_locks(&s, &locks)) == 0) {
    uint64_t start_ns = now_ns();
    err = run_workers(&s, workers, nthreads, &running);
    if (stats) fill_stats(stats, &s, workers, running, nthreads, start_ns);
  }

  if (s.out != NULL) {
    int out_err = close_output(&s);
    if (out_err != 0 && stats) stats->output_errors = 1; /* as the loop engine counts it */
    if (err == 0) err = out_err; /* the crawl ran, but its records are incomplete */
  }
  free_workers(workers, running);
  if (running > 0 && uvcrawl__http_save(s.http) != 0) { /* --save-cookies, as the loop's */
    if (stats) stats->output_errors = 1;
    if (err == 0) err = UV_EIO;
  }
  shared_free(&s, locks);
  return err;
}
