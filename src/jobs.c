/* Work that would stall the loop — md5 of the body, gumbo parsing, URL resolution, and with
 * --warc building the records and undoing the content coding — runs here, on the libuv thread
 * pool. Only the hex digest and the link list come back to the loop. */
#include "jobs.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "container.h"
#include "convert.h"
#include "decode.h"
#include "extract.h"
#include "md5.h"
#include "robots.h"
#include "scope.h"
#include "sitemap.h"
#include "store.h"
#include "testhooks.h"
#include "url.h"
#include "uvcrawl.h"
#include "warcout.h"

/* ---- resolving a page's refs ----------------------------------------------------------- */

/* A set of byte strings borrowed from the caller (pointer + length, plus a flag that is part
 * of the key), with a small value per entry: open addressing (linear probing) in one
 * allocation sized for every string the page can add, so no entry costs a malloc and the
 * table never grows. */
typedef struct {
  const char *key; /* NULL: empty slot */
  size_t len;
  uint32_t hash;
  uint32_t flag;
  uint32_t val;
} slot_t;

typedef struct {
  slot_t *slots;
  size_t mask;
} strset_t;

static int strset_init(strset_t *set, size_t n) {
  size_t cap = 16;
  while (cap < 2 * n) { /* at most half full */
    if (cap > SIZE_MAX / 2 / sizeof(slot_t)) return UV_ENOMEM;
    cap *= 2;
  }
  set->slots = calloc(cap, sizeof(slot_t));
  if (set->slots == NULL) return UV_ENOMEM;
  set->mask = cap - 1;
  return 0;
}

/* The value of key[0..len) + flag: *found = 1 when it was there (its value is kept), else it
 * is added with value 0. Never fails: the set was sized for all keys. */
static uint32_t *strset_put(strset_t *set, const char *key, size_t len, unsigned flag,
                            int *found) {
  uint32_t h = 2166136261u ^ flag; /* FNV-1a */
  for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)key[i]) * 16777619u;
  size_t i = h & set->mask;
  for (slot_t *s = &set->slots[i]; s->key != NULL; s = &set->slots[i = (i + 1) & set->mask]) {
    if (s->hash == h && s->len == len && s->flag == flag && memcmp(s->key, key, len) == 0) {
      *found = 1;
      return &s->val;
    }
  }
  slot_t *s = &set->slots[i];
  s->key = key;
  s->len = len;
  s->hash = h;
  s->flag = flag;
  s->val = 0;
  *found = 0;
  return &s->val;
}

/* ---- results that outlive a page ---------------------------------------------------------
 *
 * Pages of a site repeat the same navigation, and a relative ref's result depends only on the
 * base up to the last '/' of its path (curl cuts the query, then the last segment; a '/' ref
 * keeps only the origin, an absolute one nothing): "../genindex.html" from every page of a
 * directory is one curl call. Keyed on (that directory, the ref's key as in resolve_fast);
 * refs whose result depends on the file or query ("", "#x", "?q") never come here. A cache
 * belongs to one pool slot, which one thread at a time runs. */

#define CACHE_SLOTS 16384u /* at most half of them used, then the cache starts over */

typedef struct {
  uint32_t hash;
  uint32_t flag;
  size_t dirlen, reflen;
  char *result; /* NULL: not a crawlable link */
  char key[];   /* dir then ref, not terminated */
} centry_t;

struct uvcrawl__urlcache_s {
  centry_t *slots[CACHE_SLOTS];
  unsigned used;
  uint64_t hits, misses;
};

uvcrawl__urlcache_t *uvcrawl__urlcache_new(void) { return calloc(1, sizeof(uvcrawl__urlcache_t)); }

static void cache_clear(uvcrawl__urlcache_t *c) {
  for (unsigned i = 0; i < CACHE_SLOTS; i++) {
    if (c->slots[i] == NULL) continue;
    free(c->slots[i]->result);
    free(c->slots[i]);
    c->slots[i] = NULL;
  }
  c->used = 0;
}

void uvcrawl__urlcache_free(uvcrawl__urlcache_t *c) {
  if (c == NULL) return;
  cache_clear(c);
  free(c);
}

void uvcrawl__urlcache_counts(const uvcrawl__urlcache_t *c, uint64_t *hits, uint64_t *misses) {
  *hits = c->hits;
  *misses = c->misses;
}

/* The length of base's directory ("scheme://auth/dir/"), or 0 when base (normalized, so
 * without '#') does not look like one: then nothing is cached for the page. */
static size_t base_dir_len(const char *base) {
  const char *auth = strstr(base, "://"), *path, *q, *slash = NULL;
  if (auth == NULL || strchr(base, '#') != NULL) return 0;
  path = strchr(auth + 3, '/');
  if (path == NULL) return 0;
  q = strchr(path, '?');
  for (const char *p = path; q ? p < q : *p != '\0'; p++)
    if (*p == '/') slash = p;
  return (size_t)(slash - base) + 1;
}

static uint32_t fnv(uint32_t h, const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

/* The page's base, parsed by curl the first time a ref needs it, then copied for every other
 * ref of the page instead of parsed again. */
typedef struct {
  const char *url;
  uvcrawl__urlbase_t *parsed; /* NULL: not yet, or it did not parse */
  int tried;
} lazy_base_t;

/* uvcrawl__url_resolve(base ? base->url : NULL, ref, out). */
static int resolve_ref(lazy_base_t *base, const char *ref, char **out) {
  if (base == NULL) return uvcrawl__url_resolve(NULL, ref, out);
  if (!base->tried) {
    base->tried = 1;
    if (uvcrawl__url_base_new(base->url, &base->parsed) == UV_ENOMEM) return UV_ENOMEM;
  }
  if (base->parsed == NULL) return uvcrawl__url_resolve(base->url, ref, out); /* its error */
  return uvcrawl__url_resolve_base(base->parsed, ref, out);
}

/* Resolves ref (its key: ref[0..reflen) and flag) against base, whose directory is
 * base[0..dirlen), through the cache; dirlen 0: ref is absolute (has_scheme), resolved without
 * the base. Same contract as uvcrawl__url_resolve(), except that the error of a ref that is not
 * a link is UVCRAWL_EURL whatever it was. */
static int cached_resolve(uvcrawl__urlcache_t *c, lazy_base_t *lbase, size_t dirlen,
                          const char *ref, size_t reflen, unsigned flag, char **out) {
  const char *base = lbase->url;
  uint32_t h = fnv(fnv(2166136261u ^ flag, base, dirlen) * 31u, ref, reflen);
  unsigned i = h & (CACHE_SLOTS - 1);
  centry_t *e;
  *out = NULL;
  for (; (e = c->slots[i]) != NULL; i = (i + 1) & (CACHE_SLOTS - 1)) {
    if (e->hash == h && e->flag == flag && e->dirlen == dirlen && e->reflen == reflen &&
        memcmp(e->key, base, dirlen) == 0 && memcmp(e->key + dirlen, ref, reflen) == 0) {
      c->hits++;
      if (e->result == NULL) return UVCRAWL_EURL;
      *out = strdup(e->result);
      return *out != NULL ? 0 : UV_ENOMEM;
    }
  }
  c->misses++;
  int err = resolve_ref(dirlen ? lbase : NULL, ref, out);
  if (err == UV_ENOMEM) return err;
  if (c->used >= CACHE_SLOTS / 2) { /* full: start over (a site's navigation comes back) */
    cache_clear(c);
    i = h & (CACHE_SLOTS - 1);
  }
  if (dirlen > SIZE_MAX / 2 - reflen - sizeof(*e)) return err;
  e = malloc(sizeof(*e) + dirlen + reflen);
  if (e == NULL) return err; /* not cached: the result is still right */
  e->hash = h;
  e->flag = flag;
  e->dirlen = dirlen;
  e->reflen = reflen;
  e->result = err == 0 ? strdup(*out) : NULL;
  if (err == 0 && e->result == NULL) {
    free(e);
    return err;
  }
  memcpy(e->key, base, dirlen);
  memcpy(e->key + dirlen, ref, reflen);
  c->slots[i] = e;
  c->used++;
  return err;
}

/* 1 when ref's result depends only on the base's directory: not "", "#x" or "?q" once
 * leading whitespace is stripped (as url.c's clean_ref() strips it). */
static int dir_only(const char *ref) {
  while (*ref != '\0' && (unsigned char)*ref <= 0x20) ref++;
  return *ref != '\0' && *ref != '#' && *ref != '?';
}

/* 1 when ref (leading C0 controls and spaces aside, as url.c strips them) starts with a scheme
 * of 2 to 29 characters and "://": curl then ignores the base altogether (curl_url_set with an
 * absolute URL replaces what the handle held), so it is resolved without one, a parse saved,
 * and its result, the same from every page, is cached under the ref alone. */
static int has_scheme(const char *ref) {
  size_t i = 0;
  while (*ref != '\0' && (unsigned char)*ref <= 0x20) ref++;
  if (!((ref[0] >= 'a' && ref[0] <= 'z') || (ref[0] >= 'A' && ref[0] <= 'Z'))) return 0;
  for (i = 1; i < 29; i++) {
    char ch = ref[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
          ch == '+' || ch == '-' || ch == '.'))
      break;
  }
  return i >= 2 && ref[i] == ':' && ref[i + 1] == '/' && ref[i + 2] == '/';
}

/* What became of a distinct ref (the raw set's values). */
enum { REF_DROPPED = 1, REF_KEPT = 2 };

/* abs (owned, taken) goes to links[] or foreign[] or away; returns REF_KEPT or REF_DROPPED. */
static int keep(uvcrawl__job_t *job, char *abs, int in_scope, int kind) {
  if (in_scope) {
    job->link_kinds[job->nlinks] = (unsigned char)kind;
    job->links[job->nlinks++] = abs;
  } else if (job->keep_foreign || (job->keep_requisites && kind == UVCRAWL__REF_REQUISITE)) {
    job->foreign_kinds[job->nforeign] = (unsigned char)kind;
    job->foreign[job->nforeign++] = abs;
  } else {
    free(abs);
    return REF_DROPPED;
  }
  return REF_KEPT;
}

static int kind_of(const uvcrawl__links_t *found, size_t i) {
  return found->kinds != NULL ? found->kinds[i] : UVCRAWL__REF_LINK;
}

/* Every ref through the resolver and the scope check, repeats included: the reference. */
static int resolve_plain(uvcrawl__job_t *job, const uvcrawl__links_t *found,
                         const char *against) {
  for (size_t i = 0; i < found->n; i++) {
    char *abs;
    int err = uvcrawl__url_resolve(against, found->refs[i], &abs);
    if (err == UV_ENOMEM) return err;
    if (err != 0) continue; /* not a crawlable link */
    if (keep(job, abs, uvcrawl__in_scope(abs, job->origins, job->norigins),
             kind_of(found, i)) == REF_KEPT)
      job->ngiven++;
  }
  return 0;
}

/* Each distinct ref resolved once; each distinct result kept once. A page repeats most of its
 * links (navigation, index entries), and curl parses a link three times in resolve + scope. */
static int resolve_fast(uvcrawl__job_t *job, const uvcrawl__links_t *found,
                        const char *against) {
  strset_t refs, urls;
  int self[2] = {0, 0}; /* a fragment-only ref without / with '%': 0 or what became of it */
  lazy_base_t lbase = {against, NULL, 0};
  size_t dirlen = job->url_cache != NULL ? base_dir_len(against) : 0;
  int err = strset_init(&refs, found->n);
  if (err != 0) return err;
  err = strset_init(&urls, found->n);
  if (err != 0) {
    free(refs.slots);
    return err;
  }
  for (size_t i = 0; i < found->n; i++) {
    const char *ref = found->refs[i];
    int seen, *self_fate = NULL, kind = kind_of(found, i);
    /* What a ref resolves to depends only on what precedes its '#' (the '#' included, as it
     * ends the trailing-whitespace strip) and on whether it holds a '%' (see
     * uvcrawl__url_resolve): "x.html#a" and "x.html#b" are one key. */
    const char *hash = strchr(ref, '#');
    size_t klen = hash != NULL ? (size_t)(hash - ref) + 1 : strlen(ref);
    /* The kind is part of the key: a link and a requisite to one URL are both heard. */
    uint32_t *fate = strset_put(&refs, ref, klen,
                                (hash != NULL && strchr(hash, '%') != NULL) | (unsigned)kind << 1,
                                &seen);
    if (!seen && uvcrawl__url_is_self(ref)) {
      /* "#top" and "#x" resolve to the same URL (the base): once per page. */
      self_fate = &self[strchr(ref, '%') != NULL];
      if (*self_fate != 0) {
        *fate = (uint32_t)*self_fate;
        seen = 1;
      }
    }
    if (!seen) {
      char *abs = NULL;
      *fate = REF_DROPPED;
      if (!uvcrawl__url_surely_skipped(ref)) {
        int absolute = has_scheme(ref);
        if (job->url_cache != NULL && (absolute || (dirlen > 0 && dir_only(ref))))
          err = cached_resolve(job->url_cache, &lbase, absolute ? 0 : dirlen, ref, klen,
                               hash != NULL && strchr(hash, '%') != NULL, &abs);
        else
          err = resolve_ref(absolute ? NULL : &lbase, ref, &abs);
        if (err == UV_ENOMEM) break;
        err = 0;
      }
      if (abs != NULL) {
        int dup = 0;
        int in = uvcrawl__url_has_origin(abs, job->origins, job->norigins);
        int kept = in || job->keep_foreign ||
                   (job->keep_requisites && kind == UVCRAWL__REF_REQUISITE);
        /* urls borrows what links[]/foreign[] hold; a dropped link is never added. Its value:
         * where the link went (index * 2 + 1 for foreign[]), plus one. */
        uint32_t *where = kept ? strset_put(&urls, abs, strlen(abs), 0, &dup) : NULL;
        if (dup) { /* another spelling of a link already kept: it may be a requisite too */
          size_t at = (*where - 1) >> 1;
          if (kind == UVCRAWL__REF_REQUISITE)
            ((*where - 1) & 1 ? job->foreign_kinds : job->link_kinds)[at] = (unsigned char)kind;
          free(abs);
          *fate = REF_KEPT;
        } else {
          size_t at = in ? job->nlinks : job->nforeign;
          *fate = (uint32_t)keep(job, abs, in, kind);
          if (where != NULL) *where = (uint32_t)(at * 2 + !in + 1);
        }
      }
      if (self_fate != NULL) *self_fate = (int)*fate;
    }
    if (*fate == REF_KEPT) job->ngiven++;
  }
  free(refs.slots);
  free(urls.slots);
  uvcrawl__url_base_free(lbase.parsed);
  return err;
}

int uvcrawl__job_resolve_links(uvcrawl__job_t *job, const uvcrawl__links_t *found, int fast) {
  char *base = NULL;
  const char *against = job->url;
  if (found->base != NULL && uvcrawl__url_resolve(job->url, found->base, &base) == 0)
    against = base;
  int foreign = job->keep_foreign || job->keep_requisites;
  job->links = found->n ? malloc(found->n * sizeof(*job->links)) : NULL;
  job->link_kinds = found->n ? malloc(found->n) : NULL;
  job->foreign = found->n && foreign ? malloc(found->n * sizeof(*job->foreign)) : NULL;
  job->foreign_kinds = found->n && foreign ? malloc(found->n) : NULL;
  job->ngiven = 0;
  int err = 0;
  if (found->n && (job->links == NULL || job->link_kinds == NULL ||
                   (foreign && (job->foreign == NULL || job->foreign_kinds == NULL))))
    err = UV_ENOMEM;
  else if (found->n)
    err = fast ? resolve_fast(job, found, against) : resolve_plain(job, found, against);
  free(base);
  return err;
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
  err = uvcrawl__job_resolve_links(job, &found, 1);
  uvcrawl__sitemap_free(&sm);
  return err;
}

/* With WARC the body came as the server coded it: the records are built over those bytes,
 * then it is decoded for md5, parsing and the mirror. Undecodable: the raw bytes are used. */
static void warc_decode(uvcrawl__job_t *job) {
  size_t n;
  (void)uvcrawl__warcrec_prepare(job->warc, job->body, job->len); /* failed: the writer retries */
  const char *coding = uvcrawl__warcrec_coding(job->warc, &n);
  if (coding == NULL || job->len == 0) return;
  char *out;
  size_t len;
  job->decode_err = uvcrawl__decode(coding, n, job->body, job->len, job->max_decoded, &out, &len);
  if (job->decode_err != 0) return;
  job->decoded = out;
  job->body = out;
  job->len = len;
}

void uvcrawl__job_run(uvcrawl__job_t *job) {
  if (job->work != NULL) {
    job->work(job);
    return;
  }
  job->md5[0] = '\0';
  if (job->warc != NULL) warc_decode(job);
  if (job->robots_agent) {
    job->status = uvcrawl__robots_parse(job->body, job->len, job->robots_agent, &job->robots);
    return;
  }
  if (uvcrawl__thread_probe) uvcrawl__thread_probe("md5");
  if (job->len > 0 && (job->status = uvcrawl__md5_hex(job->body, job->len, job->md5)) != 0)
    return;
  if (job->mirror_fd >= 0) {
    char *rel;
    job->mirror_err = uvcrawl__store_path_ext(job->url, job->content_type, job->adjust_ext, &rel);
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
  if (job->css) { /* a stylesheet: every link a requisite, against the sheet's own URL */
    job->status = uvcrawl__links_add_css(&found, job->body, job->len, job->max_links, NULL);
    if (job->status == 0) job->status = uvcrawl__job_resolve_links(job, &found, 1);
    uvcrawl__links_free(&found);
    return;
  }
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
  if (job->status == 0) job->status = uvcrawl__job_resolve_links(job, &found, 1);
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
  uvcrawl__urlcache_t *cache; /* the slot's: only the thread running the batch uses it */
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
    if (b->cache == NULL) b->cache = uvcrawl__urlcache_new(); /* NULL: pages go uncached */
    job->url_cache = b->cache;
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

int uvcrawl__pool_new(uv_loop_t *loop, unsigned threads, uvcrawl__pool_t **out) {
  /* One batch per pool thread: more would only queue. */
  unsigned long slots = threads;
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

void uvcrawl__pool_free(uvcrawl__pool_t *pool) {
  if (pool == NULL) return;
  for (unsigned i = 0; i < pool->slots; i++) uvcrawl__urlcache_free(pool->batches[i].cache);
  free(pool);
}

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
  job->link_kinds = job->foreign_kinds = NULL;
  job->ngiven = 0;
  job->robots = NULL;
  job->sitemap_index = 0;
  job->status = 0;
  job->md5[0] = '\0';
  job->mirror_err = 0;
  job->decoded = NULL;
  job->decode_err = 0;
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
  free(job->decoded);
  job->decoded = NULL;
  free(job->link_kinds);
  free(job->foreign_kinds);
  job->links = job->foreign = NULL;
  job->link_kinds = job->foreign_kinds = NULL;
  job->nlinks = job->nforeign = job->ngiven = 0;
}

/* ---- --convert-links: the saved files, a few at a time on the pool ---------------------- */

#define CONVERT_WORKS 4  /* uv_work_t in flight: the pool keeps room for other work */
#define CONVERT_CHUNK 16 /* files per uv_work_t */

struct uvcrawl__converter_s;

typedef struct {
  uv_work_t req;
  struct uvcrawl__converter_s *owner;
  size_t first, count;
  uint64_t errors; /* worker's: files of this chunk that could not be converted */
} cwork_t;

struct uvcrawl__converter_s {
  const uvcrawl__convert_t *cv;
  size_t nfiles, next;
  unsigned running;
  int root_fd, do_fsync;
  uint64_t *done, *errors;
  uvcrawl__convert_done_cb cb;
  void *arg;
  uv_loop_t *loop;
  cwork_t works[CONVERT_WORKS];
};

static void convert_work(uv_work_t *req) {
  cwork_t *w = UVCRAWL_CONTAINER_OF(req, cwork_t, req);
  w->errors = 0;
  for (size_t i = w->first; i < w->first + w->count; i++) {
    if (uvcrawl__thread_probe) uvcrawl__thread_probe("convert");
    if (uvcrawl__convert_file(w->owner->cv, i, w->owner->root_fd, w->owner->do_fsync) != 0)
      w->errors++;
  }
}

static void convert_next(uvcrawl__converter_t *k, cwork_t *w);

static void convert_after(uv_work_t *req, int status) {
  cwork_t *w = UVCRAWL_CONTAINER_OF(req, cwork_t, req);
  uvcrawl__converter_t *k = w->owner;
  *k->done += w->count;
  *k->errors += status == UV_ECANCELED ? w->count : w->errors;
  k->running--;
  convert_next(k, w);
  if (k->running == 0) k->cb(k->arg);
}

static void convert_next(uvcrawl__converter_t *k, cwork_t *w) {
  if (k->next >= k->nfiles) return;
  w->owner = k;
  w->first = k->next;
  w->count = k->nfiles - k->next < CONVERT_CHUNK ? k->nfiles - k->next : CONVERT_CHUNK;
  k->next += w->count;
  k->running++;
  (void)uv_queue_work(k->loop, &w->req, convert_work, convert_after);
}

int uvcrawl__convert_start(uv_loop_t *loop, const uvcrawl__convert_t *cv, size_t nfiles,
                           int root_fd, int do_fsync, uint64_t *done, uint64_t *errors,
                           uvcrawl__convert_done_cb cb, void *arg, uvcrawl__converter_t **out) {
  uvcrawl__converter_t *k = calloc(1, sizeof(*k));
  if (k == NULL) return UV_ENOMEM;
  k->cv = cv;
  k->nfiles = nfiles;
  k->root_fd = root_fd;
  k->do_fsync = do_fsync;
  k->done = done;
  k->errors = errors;
  k->cb = cb;
  k->arg = arg;
  k->loop = loop;
  *out = k;
  for (unsigned i = 0; i < CONVERT_WORKS; i++) convert_next(k, &k->works[i]);
  return k->running > 0 ? 0 : UV_EOF; /* UV_EOF: nothing to do, cb will not run */
}

void uvcrawl__converter_free(uvcrawl__converter_t *k) { free(k); }
