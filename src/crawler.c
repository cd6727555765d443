/* The crawler: public API, lifecycle, admission (the in-flight semaphore) and statistics.
 *
 * A URL moves frontier -> transfer (engine_loop) -> job (thread pool: md5, parse) -> record.
 * Admission takes a slot only while fewer than the cap are in flight and the bodies waiting for
 * the pool fit the buffer budget; everything else waits in the frontier. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uvcrawl-int.h"

#define FD_RESERVE 16     /* the loop's own fds, output file, stdio */
#define FDS_PER_XFER 2    /* a socket, plus the resolver's wakeup pair in the worst case */
#define MAX_ACCEPT 32
#define EXTERNAL_GET_MAX 65536 /* bytes read of an external GET before hanging up */

/* Frontier state words: link-check verdict in the low bits, and whether the journal says the
 * URL was already completed. */
enum { URL_GOOD = 1, URL_BROKEN = 2, URL_VERDICT = 3, URL_DONE = 4 };

typedef enum { ST_IDLE, ST_RUNNING, ST_STOPPING, ST_DONE, ST_CLOSING } state_t;

typedef struct page_s page_t;

struct uvcrawl_s {
  uv_loop_t *loop;
  void *data;
  uvcrawl_options_t opts;
  char *user_agent;
  uvcrawl__frontier_t *frontier;
  uvcrawl__linkgraph_t *graph; /* with options.check */
  long accept[MAX_ACCEPT][2];
  size_t naccept;
  uvcrawl__engine_t *engine;
  uvcrawl__output_t *output;
  uvcrawl__output_t *journal;
  char *scratch;     /* a record's JSON line, then its journal frame */
  size_t scratch_len, scratch_cap;
  int flushes;       /* writers still flushing before on_done */
  char **origins;
  size_t norigins;
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
  uint64_t lag_prev_ns;
  uvcrawl__hist_t lag;
  int mirror_fd;
  state_t state;
  int closing_parts;
  uvcrawl_result_cb on_result;
  uvcrawl_done_cb on_done;
  uvcrawl_close_cb on_close;
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
  int get_fallback; /* the HEAD was refused: this is the GET */
  int hung_up;      /* we stopped reading an external GET on purpose */
  char errbuf[CURL_ERROR_SIZE];
  uvcrawl__job_t job;
  long status;
  char *content_type;
  char *redirect;
  const char *error;
  CURLcode code;
  double ms;
};

const char *uvcrawl_strerror(int err) {
  switch (err) {
#define XX(code, val, msg) \
  case val:                \
    return msg;
    UVCRAWL_ERRNO_MAP(XX)
#undef XX
  default:
    return uv_strerror(err);
  }
}

const char *uvcrawl_version(void) { return UVCRAWL_VERSION_STRING; }

void uvcrawl_options_init(uvcrawl_options_t *o) {
  memset(o, 0, sizeof(*o));
  o->max_inflight = 64;
  o->max_depth = -1;
  o->max_body = 32u << 20;
  o->max_buffer = 256u << 20;
  o->timeout_ms = 60000;
  o->connect_timeout_ms = 10000;
}

void uvcrawl_set_data(uvcrawl_t *c, void *data) { c->data = data; }
void *uvcrawl_get_data(const uvcrawl_t *c) { return c->data; }

/* Open fds now: /proc/self/fd where there is one, a guess elsewhere. */
static unsigned count_open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  unsigned n = 0;
  if (d == NULL) return FD_RESERVE;
  while (readdir(d) != NULL) n++;
  closedir(d);
  return n > 3 ? n - 3 : 0; /* ".", "..", and the dir's own fd */
}

/* The in-flight cap RLIMIT_NOFILE allows, so the crawl can never run out of fds. */
static unsigned clamp_inflight(unsigned wanted) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return wanted;
  uint64_t used = count_open_fds() + FD_RESERVE;
  uint64_t room = rl.rlim_cur > used ? (rl.rlim_cur - used) / FDS_PER_XFER : 0;
  if (room < 1) room = 1;
  return wanted > room ? (unsigned)room : wanted;
}

static void on_transfer_done(void *arg, CURL *easy, CURLcode code);

/* Parses "200..299,403" into c->accept. */
static int parse_accept(uvcrawl_t *c, const char *spec) {
  const char *p = spec;
  c->naccept = 0;
  while (*p) {
    char *end;
    long lo = strtol(p, &end, 10), hi = lo;
    if (end == p || lo < 0 || lo > 999) return UVCRAWL_EACCEPT;
    p = end;
    if (strncmp(p, "..", 2) == 0) {
      hi = strtol(p + 2, &end, 10);
      if (end == p + 2 || hi < lo || hi > 999) return UVCRAWL_EACCEPT;
      p = end;
    }
    if (c->naccept == MAX_ACCEPT) return UVCRAWL_EACCEPT;
    c->accept[c->naccept][0] = lo;
    c->accept[c->naccept][1] = hi;
    c->naccept++;
    if (*p == ',') p++;
    else if (*p != '\0') return UVCRAWL_EACCEPT;
  }
  return c->naccept ? 0 : UVCRAWL_EACCEPT;
}

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

/* Appends a 'D' record: url was queued. The journal's order is the frontier's order. */
static void journal_discovered(uvcrawl_t *c, const char *url, const char *referrer, int depth) {
  c->scratch_len = 0;
  if (c->journal && uvcrawl__journal_discovered(&c->scratch, &c->scratch_len, &c->scratch_cap,
                                                url, referrer, depth) == 0)
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
  return 0;
}

/* Rebuilds the frontier from the journal: 'D' queues (seeds also restore the scope), 'C' marks
 * completed and restores the record to the output. */
static int on_replay(void *arg, int type, const char *url, const char *ref, size_t len,
                     int depth) {
  uvcrawl_t *c = arg;
  uint32_t *state;
  if (type == 'D') {
    if (ref == NULL && depth == 0 && add_origin(c, url) != 0) return -1;
    return uvcrawl__frontier_add(c->frontier, url, ref, depth) < 0 ? -1 : 0;
  }
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

static CURLcode global_init_result;
static void global_init(void) { global_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); }

int uvcrawl_create(uv_loop_t *loop, const uvcrawl_options_t *opts, uvcrawl_t **out) {
  static uv_once_t once = UV_ONCE_INIT;
  uvcrawl_t *c;
  int err = UV_ENOMEM;

  /* curl_global_init is not thread-safe: once per process, whoever gets here first. */
  uv_once(&once, global_init);
  if (global_init_result != CURLE_OK) return UVCRAWL_ECURL;

  c = calloc(1, sizeof(*c));
  if (c == NULL) return UV_ENOMEM;
  c->loop = loop;
  c->mirror_fd = -1;
  if (opts) c->opts = *opts;
  else uvcrawl_options_init(&c->opts);
  if (c->opts.max_inflight == 0) c->opts.max_inflight = 1;
  c->stats.inflight_cap = clamp_inflight(c->opts.max_inflight);
  c->user_agent = strdup(c->opts.user_agent ? c->opts.user_agent
                                            : "uvcrawl/" UVCRAWL_VERSION_STRING);
  c->opts.user_agent = NULL;
  c->idle = calloc(c->stats.inflight_cap, sizeof(*c->idle));
  c->frontier = uvcrawl__frontier_new();
  if (c->user_agent == NULL || c->idle == NULL || c->frontier == NULL) goto fail;
  if ((err = parse_accept(c, c->opts.accept ? c->opts.accept : "200..299")) != 0) goto fail;
  c->opts.accept = NULL;
  err = UV_ENOMEM;
  if (c->opts.check && (c->graph = uvcrawl__linkgraph_new(url_is_good, c)) == NULL) goto fail;
  if (c->opts.mirror_dir != NULL &&
      (err = uvcrawl__store_open_root(c->opts.mirror_dir, &c->mirror_fd)) != 0)
    goto fail;
  c->opts.mirror_dir = NULL;
  /* Test-only: a slow disk, to prove backpressure bounds memory. */
  const char *delay = getenv("UVCRAWL_TEST_WRITE_DELAY_MS");
  if (delay != NULL) uvcrawl__store_delay_ms = (unsigned)strtoul(delay, NULL, 10);
  err = uvcrawl__engine_new(loop, c->stats.inflight_cap, on_transfer_done, c, &c->engine);
  if (err) goto fail;
  /* Files last: nothing after them can fail but the journal replay. */
  if (c->opts.output_path != NULL &&
      (err = uvcrawl__output_open(loop, c->opts.output_path, 0, 0, &c->output)) != 0)
    goto fail_engine;
  c->opts.output_path = NULL;
  if (c->opts.state_dir != NULL && (err = open_journal(c, c->opts.state_dir)) != 0)
    goto fail_engine;
  c->opts.state_dir = NULL;
  uv_timer_init(loop, &c->tick);
  uv_timer_init(loop, &c->lag_timer);
  *out = c;
  return 0;

fail_engine:
  uvcrawl__engine_close(c->engine, NULL, NULL);
  if (c->output) uvcrawl__output_close(c->output, NULL, NULL);
fail:
  if (c->mirror_fd >= 0) close(c->mirror_fd);
  for (size_t i = 0; i < c->norigins; i++) free(c->origins[i]);
  free(c->origins);
  uvcrawl__frontier_free(c->frontier);
  uvcrawl__linkgraph_free(c->graph);
  free(c->idle);
  free(c->user_agent);
  free(c);
  return err;
}

int uvcrawl_add_seed(uvcrawl_t *c, const char *url) {
  char *norm;
  int err;
  if (c->state != ST_IDLE) return UVCRAWL_ESTATE;
  if ((err = uvcrawl__url_resolve(NULL, url, &norm)) != 0) return err;
  if ((err = add_origin(c, norm)) == 0 &&
      (err = uvcrawl__frontier_add(c->frontier, norm, NULL, 0)) == 1)
    journal_discovered(c, norm, NULL, 0);
  free(norm);
  return err < 0 ? err : 0;
}

static void on_tick(uv_timer_t *t);

/* Loop lag: a 1 ms repeating timer fires late by as long as the loop was busy elsewhere. */
static void on_lag_timer(uv_timer_t *t) {
  uvcrawl_t *c = UVCRAWL_CONTAINER_OF(t, uvcrawl_t, lag_timer);
  uint64_t now = uv_hrtime(), due = c->lag_prev_ns + 1000000;
  uvcrawl__hist_add(&c->lag, now > due ? (now - due) / 1000 : 0);
  c->lag_prev_ns = now;
}

static void schedule_tick(uvcrawl_t *c) {
  if (!uv_is_active((uv_handle_t *)&c->tick)) uv_timer_start(&c->tick, on_tick, 0, 0);
}

int uvcrawl_start(uvcrawl_t *c, uvcrawl_result_cb on_result, uvcrawl_done_cb on_done) {
  if (c->state != ST_IDLE) return UVCRAWL_ESTATE;
  if (c->norigins == 0) return UVCRAWL_ENOSEED;
  c->on_result = on_result;
  c->on_done = on_done;
  c->state = ST_RUNNING;
  c->start_ns = uv_hrtime();
  c->lag_prev_ns = c->start_ns;
  uv_timer_start(&c->lag_timer, on_lag_timer, 1, 1);
  schedule_tick(c);
  return 0;
}

/* ---- transfers ------------------------------------------------------------------------- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
  page_t *p = userdata;
  size_t n = size * nmemb;
  if (p->external) {
    /* Only the status matters: read a little, then hang up. */
    p->len += n;
    if (p->len < EXTERNAL_GET_MAX) return n;
    p->hung_up = 1;
    return 0;
  }
  if (p->len + n > p->c->opts.max_body) {
    p->too_big = 1;
    return 0; /* curl aborts the transfer: CURLE_WRITE_ERROR */
  }
  if (p->cap - p->len < n) {
    size_t cap = p->cap ? p->cap : 16384;
    while (cap - p->len < n) cap *= 2;
    if (cap > p->c->opts.max_body) cap = p->c->opts.max_body;
    char *b = realloc(p->body, cap);
    if (b == NULL) return 0;
    p->body = b;
    p->c->buffered += cap - p->cap;
    if (p->c->buffered > p->c->stats.buffered_max) p->c->stats.buffered_max = p->c->buffered;
    p->cap = cap;
  }
  memcpy(p->body + p->len, ptr, n);
  p->len += n;
  return n;
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
  c->buffered -= p->cap;
  uvcrawl__job_cleanup(&p->job);
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
static void page_finish(page_t *p) {
  uvcrawl_t *c = p->c;
  uvcrawl_result_t r;
  memset(&r, 0, sizeof(r));
  r.url = p->item.url;
  r.status = p->status;
  r.depth = p->item.depth;
  r.referrer = p->item.referrer;
  r.content_type = p->content_type;
  r.bytes = p->len;
  r.md5 = p->job.md5[0] ? p->job.md5 : NULL;
  r.redirect = p->redirect;
  r.error = p->error;
  r.ms = p->ms;
  r.curl_code = (int)p->code;
  r.links = (unsigned)(p->job.nlinks + p->job.nforeign);
  r.external = p->external;
  r.broken = is_broken(c, r.status, r.error);
  if (p->external) r.bytes = 0;
  c->stats.pages++;
  c->stats.bytes += r.bytes;
  if (r.broken) c->stats.errors++;
  if (c->graph) {
    uint32_t *state;
    if (uvcrawl__frontier_lookup(c->frontier, r.url, NULL, &state))
      *state = (*state & ~(uint32_t)URL_VERDICT) | (r.broken ? URL_BROKEN : URL_GOOD);
    if (r.broken)
      uvcrawl__linkgraph_broken(c->graph, p->item.url, r.status, r.error, r.external);
  }
  if (c->output || c->journal) {
    c->scratch_len = 0;
    if (uvcrawl__json_record(&r, &c->scratch, &c->scratch_len, &c->scratch_cap) == 0) {
      size_t line = c->scratch_len;
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
  if (c->on_result && c->state != ST_CLOSING) c->on_result(c, &r);
  page_free(p);
}

static void enqueue(uvcrawl_t *c, const char *url, const page_t *from) {
  const char *to;
  uint32_t *state;
  if (c->opts.max_depth >= 0 && from->item.depth + 1 > c->opts.max_depth) return;
  if (uvcrawl__frontier_add(c->frontier, url, from->item.url, from->item.depth + 1) == 1)
    journal_discovered(c, url, from->item.url, from->item.depth + 1);
  /* Link checking: remember who links a URL until it is known good. */
  if (c->graph && uvcrawl__frontier_lookup(c->frontier, url, &to, &state) &&
      (*state & URL_VERDICT) != URL_GOOD)
    uvcrawl__linkgraph_add(c->graph, from->item.url, to);
}

static void pump(uvcrawl_t *c);

static void on_job_done(uvcrawl__job_t *job) {
  page_t *p = UVCRAWL_CONTAINER_OF(job, page_t, job);
  uvcrawl_t *c = p->c;
  c->jobs--;
  if (job->status == UV_ENOMEM && p->error == NULL) p->error = "out of memory while parsing";
  if (job->mirror_err != 0) {
    c->stats.mirror_errors++;
    if (p->error == NULL) {
      snprintf(p->errbuf, sizeof(p->errbuf), "mirror: %s", uv_strerror(job->mirror_err));
      p->error = p->errbuf;
    }
  }
  if (c->state == ST_RUNNING) {
    for (size_t i = 0; i < job->nlinks; i++) enqueue(c, job->links[i], p);
    for (size_t i = 0; i < job->nforeign; i++) enqueue(c, job->foreign[i], p);
  }
  page_finish(p);
  pump(c);
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
  curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &us);
  p->ms = (double)us / 1000.0;
  if (curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &s) == CURLE_OK && s != NULL)
    p->content_type = strdup(s);
  if (p->status >= 300 && p->status < 400 &&
      curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &s) == CURLE_OK && s != NULL &&
      uvcrawl__url_resolve(p->item.url, s, &p->redirect) == 0 && c->state == ST_RUNNING &&
      (c->opts.check ||
       uvcrawl__in_scope(p->redirect, (const char *const *)c->origins, c->norigins)))
    enqueue(c, p->redirect, p);
  if (p->hung_up && code == CURLE_WRITE_ERROR) code = p->code = CURLE_OK;
  if (p->too_big) p->error = "body exceeds the size cap (--max-body)";
  else if (code != CURLE_OK) p->error = p->errbuf[0] ? p->errbuf : curl_easy_strerror(code);
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
    if (uvcrawl__engine_add(c->engine, easy) == 0) {
      c->inflight++;
      return;
    }
    p->error = "could not start the transfer";
  }
  p->easy = NULL;
  release_easy(c, easy);

  int mirror = c->mirror_fd >= 0 && !p->external && code == CURLE_OK && p->status >= 200 &&
               p->status < 300;
  if ((p->len == 0 && !mirror) || p->external || c->state == ST_CLOSING) {
    page_finish(p);
    pump(c);
    return;
  }
  p->job.body = p->body;
  p->job.len = p->len;
  p->job.url = p->item.url;
  p->job.parse = code == CURLE_OK && uvcrawl__should_parse(p->status, p->content_type,
                                                            p->item.depth, c->opts.max_depth);
  p->job.origins = (const char *const *)c->origins;
  p->job.norigins = c->norigins;
  p->job.keep_foreign = c->opts.check;
  p->job.mirror_fd = mirror ? c->mirror_fd : -1;
  p->job.do_fsync = c->opts.fsync;
  if (uvcrawl__job_submit(c->loop, &p->job, on_job_done) != 0) {
    p->error = "could not queue work";
    page_finish(p);
    pump(c);
    return;
  }
  c->jobs++;
}

static void fetch(uvcrawl_t *c, const uvcrawl__item_t *item) {
  page_t *p = calloc(1, sizeof(*p));
  CURL *e;
  if (p == NULL) return; /* out of memory: the URL is dropped, the crawl goes on */
  p->c = c;
  p->item = *item;
  p->external = c->opts.check &&
                !uvcrawl__in_scope(item->url, (const char *const *)c->origins, c->norigins);
  p->next = c->pages;
  if (c->pages) c->pages->prev = p;
  c->pages = p;
  c->started++;
  e = acquire_easy(c);
  if (e == NULL) {
    p->error = "out of memory";
    page_finish(p);
    return;
  }
  p->easy = e;
  curl_easy_setopt(e, CURLOPT_URL, item->url);
  curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)p);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, p);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->opts.timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->opts.connect_timeout_ms);
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->opts.max_body);
  if (p->external) curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  if (uvcrawl__engine_add(c->engine, e) != 0) {
    p->easy = NULL;
    release_easy(c, e);
    p->error = "could not start the transfer";
    page_finish(p);
    return;
  }
  c->inflight++;
  if (c->inflight > c->stats.inflight_max) c->stats.inflight_max = c->inflight;
}

static int may_admit(const uvcrawl_t *c) {
  return c->state == ST_RUNNING && c->inflight < c->stats.inflight_cap &&
         c->buffered < c->opts.max_buffer &&
         (c->opts.max_pages == 0 || c->started < c->opts.max_pages);
}

/* Admits queued URLs while a slot is free; notices the end of the crawl. */
static void pump(uvcrawl_t *c) {
  uvcrawl__item_t item;
  uint32_t *state;
  while (may_admit(c) && uvcrawl__frontier_pop(c->frontier, &item)) {
    if (c->stats.resumed && uvcrawl__frontier_lookup(c->frontier, item.url, NULL, &state) &&
        (*state & URL_DONE))
      continue; /* completed before the crash */
    fetch(c, &item);
  }
  if (c->inflight == 0 && c->jobs == 0 && c->state != ST_DONE) schedule_tick(c);
}

/* ---- lifecycle ----------------------------------------------------------------------- */

static void on_flushed(void *arg, int status) {
  uvcrawl_t *c = arg;
  if (status != 0 && c->stats.output_errors == 0) c->stats.output_errors = 1;
  if (--c->flushes > 0 || c->state == ST_CLOSING) return;
  int was_stopped = c->state == ST_STOPPING;
  c->state = ST_DONE;
  c->stats.wall_ms = (double)(uv_hrtime() - c->start_ns) / 1e6;
  if (c->on_done) c->on_done(c, was_stopped ? UV_ECANCELED : 0);
}

static void part_closed(uvcrawl_t *c) {
  if (--c->closing_parts > 0) return;
  uvcrawl_close_cb cb = c->on_close;
  for (size_t i = 0; i < c->norigins; i++) free(c->origins[i]);
  free(c->origins);
  uvcrawl__frontier_free(c->frontier);
  uvcrawl__linkgraph_free(c->graph);
  free(c->user_agent);
  free(c->idle);
  free(c->scratch);
  c->frontier = NULL;
  if (cb) cb(c);
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

static void on_lag_closed(uv_handle_t *h) {
  part_closed(UVCRAWL_CONTAINER_OF((uv_timer_t *)h, uvcrawl_t, lag_timer));
}

static void teardown(uvcrawl_t *c) {
  while (c->nidle > 0) curl_easy_cleanup(c->idle[--c->nidle]);
  if (c->mirror_fd >= 0) close(c->mirror_fd);
  c->mirror_fd = -1;
  c->closing_parts = 3 + (c->output != NULL) + (c->journal != NULL);
  uvcrawl__engine_close(c->engine, on_engine_closed, c);
  if (c->output) uvcrawl__output_close(c->output, on_output_closed, c);
  if (c->journal) uvcrawl__output_close(c->journal, on_output_closed, c);
  uv_close((uv_handle_t *)&c->tick, on_tick_closed);
  uv_close((uv_handle_t *)&c->lag_timer, on_lag_closed);
}

static void on_tick(uv_timer_t *t) {
  uvcrawl_t *c = UVCRAWL_CONTAINER_OF(t, uvcrawl_t, tick);
  if (c->state == ST_CLOSING) {
    if (c->jobs == 0) teardown(c);
    return;
  }
  pump(c);
  if (c->inflight > 0 || c->jobs > 0 || c->state == ST_DONE || c->state == ST_IDLE) return;
  if (c->state == ST_RUNNING && uvcrawl__frontier_queued(c->frontier) > 0 &&
      (c->opts.max_pages == 0 || c->started < c->opts.max_pages))
    return;
  uv_timer_stop(&c->tick);
  uv_timer_stop(&c->lag_timer);
  /* on_done waits until the records and the journal are on disk. */
  c->flushes = 1 + (c->output != NULL) + (c->journal != NULL);
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

int uvcrawl_stop(uvcrawl_t *c) {
  if (c->state != ST_RUNNING) return c->state == ST_IDLE ? UVCRAWL_ESTATE : 0;
  c->state = ST_STOPPING;
  abort_transfers(c);
  schedule_tick(c);
  return 0;
}

void uvcrawl_close(uvcrawl_t *c, uvcrawl_close_cb close_cb) {
  if (c->state == ST_CLOSING) return;
  if (c->state == ST_RUNNING) abort_transfers(c);
  uv_timer_stop(&c->lag_timer);
  c->state = ST_CLOSING;
  c->on_close = close_cb;
  /* Teardown waits for pool jobs (their callbacks touch c) and runs from a clean stack. */
  uv_timer_stop(&c->tick);
  uv_timer_start(&c->tick, on_tick, 0, 0);
}

int uvcrawl_foreach_broken(uvcrawl_t *c, uvcrawl_broken_cb cb, void *arg) {
  if (c->graph == NULL || c->state == ST_CLOSING) return UVCRAWL_ESTATE;
  return uvcrawl__linkgraph_foreach(c->graph, cb, arg);
}

void uvcrawl_get_stats(const uvcrawl_t *c, uvcrawl_stats_t *s) {
  *s = c->stats;
  s->inflight = c->inflight;
  s->queued = c->frontier ? uvcrawl__frontier_queued(c->frontier) : 0;
  s->seen = c->frontier ? uvcrawl__frontier_seen(c->frontier) : 0;
  if (c->engine) uvcrawl__engine_sockets(c->engine, &s->fds_max);
  s->lag_p50_ms = uvcrawl__hist_quantile_ms(&c->lag, 0.50);
  s->lag_p99_ms = uvcrawl__hist_quantile_ms(&c->lag, 0.99);
  s->lag_max_ms = (double)c->lag.max_us / 1000.0;
  if (c->state == ST_RUNNING || c->state == ST_STOPPING)
    s->wall_ms = (double)(uv_hrtime() - c->start_ns) / 1e6;
}
