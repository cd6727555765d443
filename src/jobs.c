/* Work that would stall the loop — md5 of the body, gumbo parsing, URL resolution — runs here,
 * on the libuv thread pool. Only the hex digest and the link list come back to the loop. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "uvcrawl-int.h"

uvcrawl__thread_probe_cb uvcrawl__thread_probe;

int uvcrawl__md5_hex(const char *data, size_t len, char hex[33]) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  static const char digits[] = "0123456789abcdef";
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (ctx == NULL) return UV_ENOMEM;
  int ok = EVP_DigestInit_ex(ctx, EVP_md5(), NULL) && EVP_DigestUpdate(ctx, data, len) &&
           EVP_DigestFinal_ex(ctx, d, &n);
  EVP_MD_CTX_free(ctx);
  if (!ok || n != 16) return UV_ENOMEM;
  for (unsigned i = 0; i < n; i++) {
    hex[2 * i] = digits[d[i] >> 4];
    hex[2 * i + 1] = digits[d[i] & 15];
  }
  hex[32] = '\0';
  return 0;
}

int uvcrawl__in_scope(const char *url, const char *const *origins, size_t n) {
  char *origin;
  int found = 0;
  if (n == 0) return 1;
  if (uvcrawl__url_origin(url, &origin) != 0) return 0;
  for (size_t i = 0; i < n && !found; i++) found = strcmp(origin, origins[i]) == 0;
  free(origin);
  return found;
}

int uvcrawl__should_parse(long status, const char *ct, int depth, int max_depth) {
  int html = ct != NULL && (strncasecmp(ct, "text/html", 9) == 0 ||
                            strncasecmp(ct, "application/xhtml+xml", 21) == 0);
  return html && status >= 200 && status < 300 && (max_depth < 0 || depth < max_depth);
}

/* Resolves every extracted ref against the page (or its <base href>) into job->links. */
static int resolve_links(uvcrawl__job_t *job, const uvcrawl__links_t *found) {
  char *base = NULL;
  const char *against = job->url;
  if (found->base != NULL && uvcrawl__url_resolve(job->url, found->base, &base) == 0)
    against = base;
  job->links = found->n ? malloc(found->n * sizeof(*job->links)) : NULL;
  job->foreign = found->n && job->keep_foreign ? malloc(found->n * sizeof(*job->foreign)) : NULL;
  if (found->n && (job->links == NULL || (job->keep_foreign && job->foreign == NULL))) {
    free(base);
    return UV_ENOMEM;
  }
  for (size_t i = 0; i < found->n; i++) {
    char *abs;
    int err = uvcrawl__url_resolve(against, found->refs[i], &abs);
    if (err == UV_ENOMEM) {
      free(base);
      return err;
    }
    if (err != 0) continue; /* not a crawlable link */
    /* Foreign links are dropped here, so they never reach the loop. */
    if (uvcrawl__in_scope(abs, job->origins, job->norigins)) job->links[job->nlinks++] = abs;
    else if (job->keep_foreign) job->foreign[job->nforeign++] = abs;
    else free(abs);
  }
  free(base);
  return 0;
}

#define SITEMAP_MAX_BYTES (50u << 20) /* the protocol's own limit, uncompressed */

/* A sitemap's <loc>s become the job's links, through the same resolution and scope filter as
 * HTML links. A bad sitemap is not an error of the URL: it just gives no links. */
static int parse_sitemap(uvcrawl__job_t *job) {
  uvcrawl__sitemap_t sm;
  uvcrawl__links_t found;
  memset(&sm, 0, sizeof(sm));
  int err = uvcrawl__sitemap_parse(job->body, job->len, SITEMAP_MAX_BYTES, job->max_links, &sm);
  if (err != 0) return err == UV_ENOMEM ? err : 0;
  memset(&found, 0, sizeof(found));
  found.refs = sm.locs;
  found.n = sm.n;
  job->sitemap_index = sm.index;
  err = resolve_links(job, &found);
  uvcrawl__sitemap_free(&sm);
  return err;
}

void uvcrawl__job_run(uvcrawl__job_t *job) {
  job->md5[0] = '\0';
  if (job->robots_agent) {
    job->status = uvcrawl__robots_parse(job->body, job->len, job->robots_agent, &job->robots);
    return;
  }
  if (uvcrawl__thread_probe) uvcrawl__thread_probe("md5");
  if (job->len > 0 && (job->status = uvcrawl__md5_hex(job->body, job->len, job->md5)) != 0)
    return;
  if (job->mirror_fd >= 0) {
    char *rel;
    job->mirror_err = uvcrawl__store_path(job->url, &rel);
    if (job->mirror_err == 0) {
      job->mirror_err = uvcrawl__store_write(job->mirror_fd, rel, job->body, job->len,
                                             job->do_fsync);
      free(rel);
    }
  }
  if (job->sitemap) {
    job->status = parse_sitemap(job);
    return;
  }
  if (!job->parse || job->len == 0) return;
  if (uvcrawl__thread_probe) uvcrawl__thread_probe("parse");
  uvcrawl__links_t found;
  memset(&found, 0, sizeof(found));
  /* The fast path scans the whole body in O(1) memory; gumbo, where it runs, needs ~700 bytes
   * per element and sees only the first max_parse bytes. */
  uvcrawl__extract_t x;
  memset(&x, 0, sizeof(x));
  x.parser = job->parser;
  x.max_links = job->max_links;
  x.max_parse = job->max_parse;
  job->status = uvcrawl__extract(job->body, job->len, &x, &found);
  job->parse_capped = x.capped;
  job->parse_fast = x.fast;
  job->parse_bailed = x.bailed;
  if (job->status == 0) job->status = resolve_links(job, &found);
  uvcrawl__links_free(&found);
}

/* ---- batches: many jobs per uv_work_t ------------------------------------------------ */

/* Each finished uv_work_t costs a wakeup of the loop, and libuv before 1.45 makes the loop
 * spin, then sched_yield, while a pool thread is between marking and signalling a finished job
 * (uv__async_spin): a pool thread preempted there stalls the loop for a time slice. Jobs that
 * wait are therefore handed out in batches, at most one batch per pool thread, so a busy pool
 * signals the loop a few times per batch instead of once per page. */
#define BATCH_MAX 64 /* jobs per batch at most */
/* A batch starts no job after this long, so big pages still come back in good time. bench/lag.py
 * (100 KB pages, ~4 ms of gumbo each, 2 cores): loop lag p99 2.5 ms with batches of 8, 1.9-2.2
 * with 32, 1.7 with 64. */
#define BATCH_NS (400 * 1000000ull)

typedef struct batch_s {
  uv_work_t req;
  uvcrawl__pool_t *pool;
  uvcrawl__job_t *jobs; /* linked through job->next */
  uvcrawl__job_t *rest; /* jobs the batch had no time for: they go back to the queue */
  struct batch_s *next_free;
} batch_t;

struct uvcrawl__pool_s {
  uv_loop_t *loop;
  uvcrawl__job_t *head, *tail; /* waiting for a batch */
  size_t waiting;
  unsigned slots, busy;        /* batches the pool may run at once, and runs now */
  batch_t *free_batches;
  uint64_t nbatches, njobs;
  batch_t batches[];           /* slots of them */
};

static void work_cb(uv_work_t *req) {
  batch_t *b = UVCRAWL_CONTAINER_OF(req, batch_t, req);
  uint64_t start = uv_hrtime();
  for (uvcrawl__job_t *job = b->jobs, *prev = NULL; job != NULL; prev = job, job = job->next) {
    if (prev != NULL && uv_hrtime() - start > BATCH_NS) {
      prev->next = NULL;
      b->rest = job;
      return;
    }
    uvcrawl__job_run(job);
  }
}

static void dispatch(uvcrawl__pool_t *pool);

static void after_work_cb(uv_work_t *req, int status) {
  batch_t *b = UVCRAWL_CONTAINER_OF(req, batch_t, req);
  uvcrawl__pool_t *pool = b->pool;
  uvcrawl__job_t *job = b->jobs, *next, *rest = b->rest;
  b->jobs = b->rest = NULL;
  if (rest != NULL) { /* back to the front, in order */
    uvcrawl__job_t *last = rest;
    size_t n = 1;
    for (; last->next != NULL; last = last->next) n++;
    last->next = pool->head;
    pool->head = rest;
    if (pool->tail == NULL) pool->tail = last;
    pool->waiting += n;
  }
  b->next_free = pool->free_batches;
  pool->free_batches = b;
  pool->busy--;
  dispatch(pool); /* the pool works on while the loop takes these results */
  for (; job != NULL; job = next) {
    next = job->next; /* the callback frees the job's owner */
    if (status == UV_ECANCELED) job->status = UV_ECANCELED;
    job->cb(job);
  }
}

/* Hands the waiting jobs to idle batches, shared evenly, BATCH_MAX at most each. */
static void dispatch(uvcrawl__pool_t *pool) {
  while (pool->waiting > 0 && pool->busy < pool->slots) {
    size_t idle = pool->slots - pool->busy;
    size_t n = (pool->waiting + idle - 1) / idle;
    if (n > BATCH_MAX) n = BATCH_MAX;
    batch_t *b = pool->free_batches;
    pool->free_batches = b->next_free;
    b->jobs = pool->head;
    uvcrawl__job_t *last = pool->head;
    for (size_t i = 1; i < n; i++) last = last->next;
    pool->head = last->next;
    if (pool->head == NULL) pool->tail = NULL;
    last->next = NULL;
    pool->waiting -= n;
    pool->busy++;
    pool->nbatches++;
    /* uv_queue_work fails only without a work_cb. */
    (void)uv_queue_work(pool->loop, &b->req, work_cb, after_work_cb);
  }
}

int uvcrawl__pool_new(uv_loop_t *loop, uvcrawl__pool_t **out) {
  /* libuv's own rule for its pool size: more batches than threads would only queue. */
  const char *env = getenv("UV_THREADPOOL_SIZE");
  unsigned long slots = env != NULL ? strtoul(env, NULL, 10) : 4;
  if (slots < 1) slots = 1;
  if (slots > 1024) slots = 1024;
  uvcrawl__pool_t *pool = calloc(1, sizeof(*pool) + slots * sizeof(batch_t));
  if (pool == NULL) return UV_ENOMEM;
  pool->loop = loop;
  pool->slots = (unsigned)slots;
  for (unsigned i = 0; i < pool->slots; i++) {
    pool->batches[i].pool = pool;
    pool->batches[i].next_free = pool->free_batches;
    pool->free_batches = &pool->batches[i];
  }
  *out = pool;
  return 0;
}

void uvcrawl__pool_free(uvcrawl__pool_t *pool) { free(pool); }

void uvcrawl__pool_counts(const uvcrawl__pool_t *pool, uint64_t *jobs, uint64_t *batches) {
  *jobs = pool->njobs;
  *batches = pool->nbatches;
}

void uvcrawl__job_submit(uvcrawl__pool_t *pool, uvcrawl__job_t *job, uvcrawl__job_cb cb) {
  job->cb = cb;
  job->next = NULL;
  job->links = NULL;
  job->nlinks = 0;
  job->foreign = NULL;
  job->nforeign = 0;
  job->robots = NULL;
  job->sitemap_index = 0;
  job->status = 0;
  job->md5[0] = '\0';
  job->mirror_err = 0;
  if (pool->tail) pool->tail->next = job;
  else pool->head = job;
  pool->tail = job;
  pool->waiting++;
  pool->njobs++;
  dispatch(pool);
}

void uvcrawl__job_cleanup(uvcrawl__job_t *job) {
  for (size_t i = 0; i < job->nlinks; i++) free(job->links[i]);
  for (size_t i = 0; i < job->nforeign; i++) free(job->foreign[i]);
  free(job->links);
  free(job->foreign);
  job->links = job->foreign = NULL;
  job->nlinks = job->nforeign = 0;
}
