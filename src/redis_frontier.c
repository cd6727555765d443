/* The frontier of a crawl shared by many workers through Redis, behind the frontier interface
 * (frontier.h). The logic lives in the Redis function library (redis_frontier.lua, embedded in
 * the binary at build time): each operation is one atomic FCALL. This side batches: links are
 * filtered against the local seen set and sent in chunks, claims ask for as many URLs as this
 * worker may hold, acks of finished URLs go out together, always after the links those pages
 * gave (one connection: Redis runs them in that order, so "finished" can never be seen between
 * a page's ack and its links).
 *
 * Whatever fails while Redis is away is kept and sent again once it is back; claims simply stop
 * (admission pauses). A worker takes a new identity on every new connection: a claim whose
 * answer was lost holds leases nobody knows of, and only the lease timeout of the old identity
 * gives them back. Acks go out under the identity that claimed. */
#include "redis_frontier.h"

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "dynbuf.h"
#include "frontier.h"
#include "redis.h"
#include "robots.h"
#include "store.h"
#include "testhooks.h"
#include "url.h"
#include "uvcrawl.h"

static const char *test_die_on; /* testhooks.h */
void uvcrawl__test_die_on(const char *substr) { test_die_on = substr; }

extern const char uvcrawl__redis_lua[];
extern const size_t uvcrawl__redis_lua_len;

#define ADD_CHUNK 500   /* links per uvc_add (6 arguments each) */
#define ACK_CHUNK 200   /* acks per uvc_acks (4 arguments each) */
#define CLAIM_MAX 256   /* URLs asked for in one claim */
#define FLUSH_MS 5      /* links and acks wait this long for others to go with them */
#define POLL_MS 100     /* ask again this soon when nothing was ready */
#define WAIT_MAX_MS 1000
#define ABSENT_WAIT_MS 10000 /* a worker without seeds waits this long for the crawl */
#define BUCKET_SHIFT 52 /* 4096 buckets of the seen set: intsets up to 2M URLs (README) */

enum { H_UNKNOWN, H_LOOKUP, H_PARSING, H_TODO, H_FETCHING, H_READY };

typedef struct {
  char *origin;
  int state;
  uvcrawl__robots_t *rules;
  char *outcome; /* what our robots.txt fetch gave, acked with the rules' Crawl-delay */
  size_t outcome_len;
  uint32_t r_token;
  uint8_t r_gen;
  uvcrawl__item_t *wait; /* URLs claimed before the host's rules were known here */
  size_t nwait, capwait;
} host_t;

typedef struct {
  const char *url, *ref; /* interned in the local frontier */
  int depth;
} add_t;

typedef struct {
  const char *key; /* a URL (interned) or a host's origin (the host table's) */
  char *rec;
  size_t len;
  uint32_t token, throttle;
  uint8_t gen;
} ack_t;

typedef struct {
  uvcrawl__item_t item;
  uint64_t at_ns;
} delayed_t;

typedef struct batch_s {
  struct uvcrawl__rf_s *q;
  int kind; /* 'A' adds, 'K' acks */
  void *v;
  size_t n;
} batch_t;

struct uvcrawl__rf_s {
  uv_loop_t *loop;
  uvcrawl__frontier_t *local;
  uvcrawl__redis_t *redis;
  uvcrawl__rf_cbs_t cbs;
  void *arg;
  char prefix[300];
  char base_id[200];
  char id[216];          /* base_id#gen: the current identity */
  uint8_t gen;
  unsigned lease_ms, max_held;
  int ignore_robots;
  const char *die_on;    /* test hook: SIGKILL ourselves on handing out a URL containing it */
  int lookups_lost;      /* a robots lookup failed: ask again */
  int up, ever_up, finished, failed, closing;
  unsigned held;         /* leases claimed and not yet acked (or put into acks) */
  int claiming;          /* a claim or a status read is out */
  uint64_t claim_after;  /* uv_now(): no claim before */
  unsigned batches;      /* add/ack batches out */
  host_t **hosts;        /* open addressing on the origin */
  size_t nhosts, caphosts;
  uvcrawl__item_t *ready;
  size_t rhead, rcount, rcap;
  host_t **todo;         /* hosts whose robots.txt we are to fetch */
  size_t ntodo, captodo;
  delayed_t *delayed;
  size_t ndelayed, capdelayed;
  add_t *adds;
  size_t nadds, capadds;
  ack_t *acks;
  size_t nacks, capacks;
  char *scratch;         /* numbers and hosts of a batch being sent */
  size_t scratch_cap;
  uv_timer_t flush_timer, claim_timer, beat_timer;
  int open_handles;
  void (*close_cb)(void *);
  void *close_arg;
};

/* ---- small helpers ----------------------------------------------------------------------- */

/* The queue's arrays start at 16 elements (dynbuf.h). */
static int grow(void **v, size_t *cap, size_t need, size_t size) {
  return uvcrawl__array_grow(v, cap, need, size, 16);
}

static uint64_t hash64(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ULL;
  }
  /* splitmix64's finalizer: FNV's low bits alone spread badly over the buckets. */
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

/* A redis:// URL, parsed. */
typedef struct {
  char host[64];  /* resolved to an address: hiredis resolves blocking, which is fine here,
                   * before the loop, but not for its reconnects */
  int port, db;
  char user[128]; /* AUTH's, percent-decoded; "" for the default user */
  char pass[256]; /* "" for no AUTH */
  int auth;
  char shown[512]; /* the URL for messages: the password never appears, "***" instead */
} redis_url_t;

/* Percent-decodes n bytes of s into out (size outlen); -1 when it does not fit or is bad. */
static int userinfo_decode(const char *s, size_t n, char *out, size_t outlen) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    int c = (unsigned char)s[i];
    if (c == '%') {
      unsigned v;
      if (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) ||
          !isxdigit((unsigned char)s[i + 2]) || sscanf(s + i + 1, "%2x", &v) != 1)
        return -1;
      c = (int)v;
      i += 2;
      if (c == 0) return -1; /* AUTH would stop there: a password cut short */
    }
    if (o + 1 >= outlen) return -1;
    out[o++] = (char)c;
  }
  out[o] = '\0';
  return 0;
}

/* "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]" into u: 0, -1 (not such a URL) or -2 (the host
 * does not resolve). u->shown is set first, whatever the outcome. */
static int parse_redis_url(const char *url, redis_url_t *u) {
  const char *p = url;
  memset(u, 0, sizeof(*u));
  /* The user info ends at the last '@' (HOST, PORT and DB have none; a password may have '/'
   * and '@' unescaped), whatever the scheme: even a URL refused here is shown without it. */
  const char *sep = strstr(url, "://"), *auth = sep ? sep + 3 : url, *at = strrchr(auth, '@');
  const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
  if (at != NULL)
    snprintf(u->shown, sizeof(u->shown), "%.*s%.*s:***@%s", (int)(auth - url), url,
             colon ? (int)(colon - auth) : 0, auth, at + 1);
  else
    snprintf(u->shown, sizeof(u->shown), "%s", url);
  if (strncmp(p, "redis://", 8) != 0) return -1;
  p += 8;
  if (at != NULL) {
    if (colon == NULL || userinfo_decode(p, (size_t)(colon - p), u->user, sizeof(u->user)) ||
        userinfo_decode(colon + 1, (size_t)(at - colon - 1), u->pass, sizeof(u->pass)) ||
        u->pass[0] == '\0')
      return -1;
    u->auth = 1;
    p = at + 1;
  }
  const char *end = p + strcspn(p, ":/");
  size_t n = (size_t)(end - p);
  char name[256];
  if (n == 0 || n >= sizeof(name)) return -1;
  memcpy(name, p, n);
  name[n] = '\0';
  u->port = 6379;
  if (*end == ':') {
    char *e;
    long v = strtol(end + 1, &e, 10);
    if (e == end + 1 || v <= 0 || v > 65535) return -1;
    u->port = (int)v;
    end = e;
  }
  if (*end == '/' && end[1] != '\0') {
    char *e;
    long v = strtol(end + 1, &e, 10);
    if (e == end + 1 || *e != '\0' || v < 0 || v > 1000000) return -1;
    u->db = (int)v;
  } else if (*end != '\0' && strcmp(end, "/") != 0) {
    return -1;
  }
  struct addrinfo hints, *res;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_INET; /* hiredis 0.14 connects by name or IPv4/IPv6 literal */
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(name, NULL, &hints, &res) != 0) return -2;
  int ok = getnameinfo(res->ai_addr, res->ai_addrlen, u->host, sizeof(u->host), NULL, 0,
                       NI_NUMERICHOST) == 0;
  freeaddrinfo(res);
  return ok ? 0 : -2;
}

/* One blocking command whose reply must not be an error; 0, or -1 with why set. */
static int sync_ok(redisContext *rc, int argc, const char **argv, const size_t *lens,
                   const char *what, const redis_url_t *u, char *why, size_t whylen) {
  redisReply *r = redisCommandArgv(rc, argc, argv, lens);
  int bad = r == NULL || r->type == REDIS_REPLY_ERROR;
  if (bad) snprintf(why, whylen, "%s: %s: %s", u->shown, what, r ? r->str : rc->errstr);
  if (r) freeReplyObject(r);
  return bad ? -1 : 0;
}

/* A blocking connection for setup, --status and --export; u gets the parsed URL. */
static redisContext *connect_sync(const char *url, redis_url_t *u, char *why, size_t whylen) {
  int e = parse_redis_url(url, u);
  if (e != 0) {
    snprintf(why, whylen, "%s: %s", u->shown,
             e == -1 ? "not a redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] URL"
                     : "cannot resolve the host");
    return NULL;
  }
  struct timeval tv = {5, 0};
  redisContext *rc = redisConnectWithTimeout(u->host, u->port, tv);
  if (rc == NULL || rc->err) {
    snprintf(why, whylen, "%s: %s", u->shown, rc ? rc->errstr : "out of memory");
    if (rc) redisFree(rc);
    return NULL;
  }
  redisSetTimeout(rc, (struct timeval){30, 0});
  /* AUTH [USER] PASSWORD, then SELECT DB: what the loop's connection does on every connect. */
  char db[16];
  snprintf(db, sizeof(db), "%d", u->db);
  int named = u->user[0] != '\0';
  const char *auth[3] = {"AUTH", named ? u->user : u->pass, u->pass}, *select[2] = {"SELECT", db};
  size_t alens[3] = {4, strlen(auth[1]), strlen(u->pass)}, slens[2] = {6, strlen(db)};
  if ((u->auth && sync_ok(rc, named ? 3 : 2, auth, alens, "AUTH", u, why, whylen) != 0) ||
      (u->db != 0 && sync_ok(rc, 2, select, slens, "SELECT", u, why, whylen) != 0)) {
    redisFree(rc);
    return NULL;
  }
  return rc;
}

static void set_prefix(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "uvc:{%s}:", name);
}

/* The library's code as stored in Redis, or NULL when none is loaded (reply owned by r). */
static const redisReply *stored_code(redisReply *r) {
  if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements == 0) return NULL;
  redisReply *lib = r->element[0];
  for (size_t i = 0; lib->type == REDIS_REPLY_ARRAY && i + 1 < lib->elements; i += 2)
    if (lib->element[i]->type == REDIS_REPLY_STRING &&
        strcmp(lib->element[i]->str, "library_code") == 0)
      return lib->element[i + 1];
  return NULL;
}

/* FUNCTION LOAD by the first worker; REPLACE only when the stored code is another version. */
static int load_library(redisContext *rc, char *why, size_t whylen) {
  for (int attempt = 0; attempt < 3; attempt++) {
    redisReply *r = redisCommand(rc, "FUNCTION LIST LIBRARYNAME uvcrawl WITHCODE");
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
      snprintf(why, whylen, "FUNCTION LIST: %s (Redis 7 or later is needed)",
               r ? r->str : rc->errstr);
      if (r) freeReplyObject(r);
      return UVCRAWL_EREDIS;
    }
    const redisReply *code = stored_code(r);
    int same = code != NULL && code->type == REDIS_REPLY_STRING &&
               code->len == uvcrawl__redis_lua_len &&
               memcmp(code->str, uvcrawl__redis_lua, code->len) == 0;
    int replace = code != NULL && !same;
    freeReplyObject(r);
    if (same) return 0;
    r = replace ? redisCommand(rc, "FUNCTION LOAD REPLACE %b", uvcrawl__redis_lua,
                               uvcrawl__redis_lua_len)
                : redisCommand(rc, "FUNCTION LOAD %b", uvcrawl__redis_lua, uvcrawl__redis_lua_len);
    int ok = r != NULL && r->type != REDIS_REPLY_ERROR;
    if (!ok && attempt == 2)
      snprintf(why, whylen, "FUNCTION LOAD: %s", r ? r->str : rc->errstr);
    if (r) freeReplyObject(r);
    if (ok) return 0;
    /* Another worker loaded it between our LIST and LOAD: look again. */
  }
  return UVCRAWL_EREDIS;
}

/* ---- hosts ------------------------------------------------------------------------------- */

static uint64_t hash_origin(const char *s) { return hash64(s); }

static host_t *host_find(uvcrawl__rf_t *q, const char *origin, int create) {
  if (q->caphosts == 0 || (create && (q->nhosts + 1) * 10 > q->caphosts * 7)) {
    if (!create) return NULL;
    size_t n = q->caphosts ? q->caphosts * 2 : 64;
    host_t **t = calloc(n, sizeof(*t));
    if (t == NULL) return NULL;
    for (size_t i = 0; i < q->caphosts; i++) {
      if (q->hosts[i] == NULL) continue;
      size_t j = hash_origin(q->hosts[i]->origin) & (n - 1);
      while (t[j] != NULL) j = (j + 1) & (n - 1);
      t[j] = q->hosts[i];
    }
    free(q->hosts);
    q->hosts = t;
    q->caphosts = n;
  }
  size_t mask = q->caphosts - 1, i = hash_origin(origin) & mask;
  for (; q->hosts[i] != NULL; i = (i + 1) & mask)
    if (strcmp(q->hosts[i]->origin, origin) == 0) return q->hosts[i];
  if (!create) return NULL;
  host_t *h = calloc(1, sizeof(*h));
  if (h == NULL || (h->origin = strdup(origin)) == NULL) {
    free(h);
    return NULL;
  }
  h->state = q->ignore_robots ? H_READY : H_UNKNOWN;
  q->hosts[i] = h;
  q->nhosts++;
  return h;
}

/* The origin of url into buf (host key in Redis). 0 or an error. */
static int origin_of(const char *url, char *buf, size_t n) {
  if (uvcrawl__fast_origin(url, buf, n) > 0) return 0;
  char *o;
  int err = uvcrawl__url_origin(url, &o);
  if (err) return err;
  int fits = strlen(o) < n;
  if (fits) memcpy(buf, o, strlen(o) + 1);
  free(o);
  return fits ? 0 : UVCRAWL_EURL;
}

/* ---- sending ----------------------------------------------------------------------------- */

static void schedule_flush(uvcrawl__rf_t *q);
static void maybe_claim(uvcrawl__rf_t *q);

static void wake(uvcrawl__rf_t *q) {
  if (!q->closing) q->cbs.wake(q->arg);
}

static void fail(uvcrawl__rf_t *q, const char *why) {
  if (q->failed || q->closing) return;
  q->failed = 1;
  q->cbs.fatal(q->arg, why);
}

/* The answer says this identity was declared dead (its leases went to others). */
static int is_dead(const redisReply *r) {
  return r != NULL && r->type == REDIS_REPLY_ERROR && strstr(r->str, "DEAD") != NULL;
}

/* An error that passes: Redis loading its data after a restart, a busy script... */
static int is_transient(const redisReply *r) {
  static const char *const codes[] = {"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN",
                                      "CLUSTERDOWN"};
  if (r == NULL) return 1;
  if (r->type != REDIS_REPLY_ERROR) return 0;
  for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
    if (strncmp(r->str, codes[i], strlen(codes[i])) == 0) return 1;
  return 0;
}

static void new_identity(uvcrawl__rf_t *q) {
  q->gen++;
  snprintf(q->id, sizeof(q->id), "%s#%u", q->base_id, (unsigned)q->gen);
}

static void id_of(const uvcrawl__rf_t *q, uint8_t gen, char *buf, size_t n) {
  snprintf(buf, n, "%s#%u", q->base_id, (unsigned)gen);
}

static void on_flush(uv_timer_t *t);

static void on_batch(void *arg, redisReply *reply) {
  batch_t *b = arg;
  uvcrawl__rf_t *q = b->q;
  q->batches--;
  int ok = reply != NULL && reply->type != REDIS_REPLY_ERROR;
  int again = !ok && (is_transient(reply) || is_dead(reply));
  if (!ok && !again && !q->closing) {
    char why[512];
    snprintf(why, sizeof(why), "Redis refused %s: %s", b->kind == 'A' ? "uvc_add" : "uvc_acks",
             reply->str);
    fail(q, why);
  }
  if (b->kind == 'A') {
    add_t *v = b->v;
    if (again && !q->closing) {
      /* Lost with the connection (or our identity died): send them again. */
      if (is_dead(reply)) new_identity(q);
      if (grow((void **)&q->adds, &q->capadds, q->nadds + b->n, sizeof(*v)) == 0) {
        memcpy(q->adds + q->nadds, v, b->n * sizeof(*v));
        q->nadds += b->n;
      }
    } else if (ok && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0) {
      q->claim_after = 0; /* new URLs may be ready now */
    }
    free(v);
  } else {
    ack_t *v = b->v;
    if (again && !is_dead(reply) && !q->closing &&
        grow((void **)&q->acks, &q->capacks, q->nacks + b->n, sizeof(*v)) == 0) {
      memcpy(q->acks + q->nacks, v, b->n * sizeof(*v));
      q->nacks += b->n;
    } else {
      for (size_t i = 0; i < b->n; i++) free(v[i].rec);
    }
    free(v);
  }
  free(b);
  if (q->closing) return;
  if (again && reply != NULL && !uv_is_active((uv_handle_t *)&q->flush_timer))
    uv_timer_start(&q->flush_timer, on_flush, POLL_MS, 0); /* Redis is loading: not at once */
  schedule_flush(q);
  maybe_claim(q);
}

/* Room for n more bytes of numbers and hosts: pointers into it are taken only after the last
 * reservation of a batch. */
static int scratch_reserve(uvcrawl__rf_t *q, size_t n) {
  size_t used = 0; /* each batch writes it from the start */
  return uvcrawl__buf_reserve(&q->scratch, &used, &q->scratch_cap, n);
}

static void send_adds(uvcrawl__rf_t *q) {
  while (q->nadds > 0 && q->up) {
    size_t n = q->nadds < ADD_CHUNK ? q->nadds : ADD_CHUNK;
    size_t argc = 5 + 6 * n;
    const char **argv = malloc(argc * sizeof(*argv));
    size_t *lens = malloc(argc * sizeof(*lens));
    batch_t *b = malloc(sizeof(*b));
    add_t *v = malloc(n * sizeof(*v));
    /* per link: bucket (5), member (17), host (<= 512), depth (12) */
    if (argv == NULL || lens == NULL || b == NULL || v == NULL ||
        scratch_reserve(q, n * 560) != 0) {
      free(argv), free(lens), free(b), free(v);
      return; /* out of memory: try again at the next flush */
    }
    memcpy(v, q->adds + q->nadds - n, n * sizeof(*v));
    q->nadds -= n;
    argv[0] = "FCALL", argv[1] = "uvc_add", argv[2] = "1", argv[3] = q->prefix, argv[4] = q->id;
    char *s = q->scratch;
    size_t k = 5;
    for (size_t i = 0; i < n; i++) {
      uint64_t h = hash64(v[i].url);
      char *bucket = s;
      s += snprintf(s, 8, "%u", (unsigned)(h >> BUCKET_SHIFT)) + 1;
      char *member = s;
      s += snprintf(s, 20, "%llu",
                    (unsigned long long)(h & ((1ULL << BUCKET_SHIFT) - 1))) + 1;
      char *host = s;
      if (origin_of(v[i].url, host, 512) != 0) memcpy(host, "-", 2);
      s += strlen(host) + 1;
      char *depth = s;
      s += snprintf(s, 12, "%d", v[i].depth) + 1;
      const char *vals[6] = {bucket, member, v[i].url, host, depth, v[i].ref ? v[i].ref : ""};
      for (int j = 0; j < 6; j++, k++) {
        argv[k] = vals[j];
        lens[k] = strlen(vals[j]);
      }
    }
    for (size_t j = 0; j < 5; j++) lens[j] = strlen(argv[j]);
    b->q = q, b->kind = 'A', b->v = v, b->n = n;
    if (uvcrawl__redis_command(q->redis, on_batch, b, (int)argc, argv, lens) != 0) {
      memcpy(q->adds + q->nadds, v, n * sizeof(*v)); /* room is still there */
      q->nadds += n;
      free(v), free(b);
    } else {
      q->batches++;
    }
    free(argv);
    free(lens);
  }
}

static void send_acks(uvcrawl__rf_t *q) {
  while (q->nacks > 0 && q->up) {
    /* One identity per call: take the run of the oldest entry's. */
    uint8_t gen = q->acks[0].gen;
    size_t n = 0;
    while (n < q->nacks && n < ACK_CHUNK && q->acks[n].gen == gen) n++;
    size_t argc = 5 + 4 * n;
    const char **argv = malloc(argc * sizeof(*argv));
    size_t *lens = malloc(argc * sizeof(*lens));
    batch_t *b = malloc(sizeof(*b));
    ack_t *v = malloc(n * sizeof(*v));
    if (argv == NULL || lens == NULL || b == NULL || v == NULL ||
        scratch_reserve(q, n * 24 + 256) != 0) {
      free(argv), free(lens), free(b), free(v);
      return;
    }
    memcpy(v, q->acks, n * sizeof(*v));
    memmove(q->acks, q->acks + n, (q->nacks - n) * sizeof(*v));
    q->nacks -= n;
    char *s = q->scratch;
    id_of(q, gen, s, 232);
    argv[0] = "FCALL", argv[1] = "uvc_acks", argv[2] = "1", argv[3] = q->prefix, argv[4] = s;
    s += strlen(s) + 1;
    for (size_t j = 0; j < 5; j++) lens[j] = strlen(argv[j]);
    size_t k = 5;
    for (size_t i = 0; i < n; i++) {
      char *tok = s;
      s += snprintf(s, 12, "%u", (unsigned)v[i].token) + 1;
      char *thr = s;
      s += snprintf(s, 12, "%u", (unsigned)v[i].throttle) + 1;
      argv[k] = tok, lens[k++] = strlen(tok);
      argv[k] = v[i].key, lens[k++] = strlen(v[i].key);
      argv[k] = v[i].rec ? v[i].rec : "", lens[k++] = v[i].rec ? v[i].len : 0;
      argv[k] = thr, lens[k++] = strlen(thr);
    }
    b->q = q, b->kind = 'K', b->v = v, b->n = n;
    if (uvcrawl__redis_command(q->redis, on_batch, b, (int)argc, argv, lens) != 0) {
      for (size_t i = 0; i < n; i++) free(v[i].rec); /* cannot happen while up but for ENOMEM */
      free(v), free(b);
    } else {
      q->batches++;
    }
    free(argv);
    free(lens);
  }
}

static void on_flush(uv_timer_t *t) {
  uvcrawl__rf_t *q = t->data;
  if (!q->up || q->closing) return;
  send_adds(q); /* links first: then the acks of the pages that gave them */
  send_acks(q);
  maybe_claim(q);
}

static void schedule_flush(uvcrawl__rf_t *q) {
  /* A few ms of links and acks go in one call: each FCALL costs Redis some 50 us before it
   * does anything (bench/README.md). A full batch goes at once. */
  if (q->closing || !(q->nadds || q->nacks)) return;
  if (q->nadds >= ADD_CHUNK || q->nacks >= ACK_CHUNK) uv_timer_start(&q->flush_timer, on_flush, 0, 0);
  else if (!uv_is_active((uv_handle_t *)&q->flush_timer))
    uv_timer_start(&q->flush_timer, on_flush, FLUSH_MS, 0);
}

/* ---- claims ------------------------------------------------------------------------------ */

static int push_ready(uvcrawl__rf_t *q, const uvcrawl__item_t *it) {
  if (q->rcount == q->rcap) {
    size_t was = q->rcap;
    if (uvcrawl__array_grow((void **)&q->ready, &q->rcap, was + 1, sizeof(*q->ready), 64) != 0)
      return UV_ENOMEM;
    /* Doubled while full: the part that wrapped, [0, rhead), goes on after the old end. */
    memcpy(q->ready + was, q->ready, q->rhead * sizeof(*q->ready));
  }
  q->ready[(q->rhead + q->rcount) % q->rcap] = *it;
  q->rcount++;
  return 0;
}

static void on_robots_body(void *arg, redisReply *reply);
static void on_claim_timer(uv_timer_t *t) { maybe_claim(t->data); }

typedef struct {
  uvcrawl__rf_t *q;
  host_t *h;
} lookup_t;

/* Asks Redis for the robots.txt outcome another worker stored for h. */
static void lookup_robots(uvcrawl__rf_t *q, host_t *h) {
  lookup_t *l = malloc(sizeof(*l));
  if (l == NULL) return;
  l->q = q, l->h = h;
  const char *argv[5] = {"FCALL", "uvc_robots", "1", q->prefix, h->origin};
  size_t lens[5];
  for (int i = 0; i < 5; i++) lens[i] = strlen(argv[i]);
  h->state = H_LOOKUP;
  if (uvcrawl__redis_command(q->redis, on_robots_body, l, 5, argv, lens) != 0) {
    h->state = H_UNKNOWN;
    free(l);
  }
}

static void on_robots_body(void *arg, redisReply *reply) {
  lookup_t *l = arg;
  uvcrawl__rf_t *q = l->q;
  host_t *h = l->h;
  free(l);
  if (q->closing) return;
  if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
    h->state = H_UNKNOWN; /* asked again after the next claim's answer */
    q->lookups_lost = 1;
    return;
  }
  h->state = H_PARSING;
  if (reply->type != REDIS_REPLY_STRING || reply->len < 1) {
    q->cbs.robots_shared(q->arg, h->origin, 404, 0, "", 0); /* nothing stored: no rules */
    return;
  }
  /* "S<status>\n<body>" or "E<curl code>\n<error text>" (see robots_fetched below). */
  char *nl = memchr(reply->str, '\n', reply->len);
  long num = strtol(reply->str + 1, NULL, 10);
  const char *body = nl ? nl + 1 : "";
  size_t len = nl ? reply->len - (size_t)(nl + 1 - reply->str) : 0;
  if (reply->str[0] == 'S') q->cbs.robots_shared(q->arg, h->origin, num, 0, body, len);
  else q->cbs.robots_shared(q->arg, h->origin, 0, (int)num, body, len);
}

static void take_item(uvcrawl__rf_t *q, const redisReply *it) {
  if (it->type != REDIS_REPLY_ARRAY || it->elements < 5) return;
  for (size_t i = 0; i < 5; i++)
    if (it->element[i]->type != REDIS_REPLY_STRING) return;
  const char *kind = it->element[0]->str, *url = it->element[1]->str;
  uint32_t token = (uint32_t)strtoul(it->element[4]->str, NULL, 10);
  q->held++;
  if (kind[0] == 'R') {
    host_t *h = host_find(q, url, 1);
    if (h == NULL ||
        grow((void **)&q->todo, &q->captodo, q->ntodo + 1, sizeof(*q->todo)) != 0)
      return; /* out of memory: the lease runs out, another worker fetches it */
    h->state = H_TODO;
    h->r_token = token;
    h->r_gen = q->gen;
    q->todo[q->ntodo++] = h;
    return;
  }
  uvcrawl__item_t item;
  char origin[600];
  memset(&item, 0, sizeof(item));
  item.depth = (int)strtol(it->element[2]->str, NULL, 10);
  item.token = token;
  item.lease_gen = q->gen;
  if (uvcrawl__frontier_mark(q->local, url, &item.url) < 0) return;
  if (it->element[3]->len > 0 &&
      uvcrawl__frontier_mark(q->local, it->element[3]->str, &item.referrer) < 0)
    return;
  host_t *h = origin_of(url, origin, sizeof(origin)) == 0 ? host_find(q, origin, 1) : NULL;
  if (h == NULL) return;
  if (h->state == H_READY) {
    push_ready(q, &item);
    return;
  }
  if (grow((void **)&h->wait, &h->capwait, h->nwait + 1, sizeof(*h->wait)) != 0) return;
  h->wait[h->nwait++] = item;
  if (h->state == H_UNKNOWN) lookup_robots(q, h);
}

static void on_status(void *arg, redisReply *reply) {
  uvcrawl__rf_t *q = arg;
  q->claiming = 0;
  if (q->closing) return;
  if (reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 9 &&
      reply->element[8]->type == REDIS_REPLY_INTEGER && reply->element[8]->integer == 1) {
    q->finished = 1;
    wake(q);
    return;
  }
  q->claim_after = uv_now(q->loop) + POLL_MS;
  uv_timer_start(&q->claim_timer, on_claim_timer, POLL_MS, 0);
}

static void on_claim(void *arg, redisReply *reply) {
  uvcrawl__rf_t *q = arg;
  q->claiming = 0;
  if (q->closing) return;
  if (reply == NULL) return; /* the connection went: claims resume when it is back */
  if (is_transient(reply)) {
    q->claim_after = uv_now(q->loop) + POLL_MS;
    uv_timer_start(&q->claim_timer, on_claim_timer, POLL_MS, 0);
    return;
  }
  if (is_dead(reply)) {
    new_identity(q);
    maybe_claim(q);
    return;
  }
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
      reply->element[0]->type != REDIS_REPLY_INTEGER) {
    char why[512];
    snprintf(why, sizeof(why), "Redis refused uvc_claim: %s",
             reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected answer");
    fail(q, why);
    return;
  }
  long long wait = reply->element[0]->integer;
  if (q->lookups_lost) {
    q->lookups_lost = 0;
    for (size_t i = 0; i < q->caphosts; i++)
      if (q->hosts[i] && q->hosts[i]->state == H_UNKNOWN && q->hosts[i]->nwait > 0)
        lookup_robots(q, q->hosts[i]);
  }
  for (size_t i = 1; i < reply->elements; i++) take_item(q, reply->element[i]);
  if (reply->elements > 1) {
    wake(q);
    maybe_claim(q);
    return;
  }
  if (wait < 0 && q->held == 0 && q->nadds == 0 && q->nacks == 0 && q->batches == 0) {
    /* Nothing queued anywhere and nothing of ours outstanding: is the crawl over? */
    const char *argv[4] = {"FCALL", "uvc_status", "1", q->prefix};
    size_t lens[4];
    for (int i = 0; i < 4; i++) lens[i] = strlen(argv[i]);
    if (uvcrawl__redis_command(q->redis, on_status, q, 4, argv, lens) == 0) {
      q->claiming = 1;
      return;
    }
  }
  unsigned ms = wait <= 0 ? POLL_MS : wait > WAIT_MAX_MS ? WAIT_MAX_MS : (unsigned)wait;
  q->claim_after = uv_now(q->loop) + ms;
  uv_timer_start(&q->claim_timer, on_claim_timer, ms, 0);
}

static void maybe_claim(uvcrawl__rf_t *q) {
  if (q->closing || !q->up || q->claiming || q->finished || q->failed) return;
  if (q->held >= q->max_held) return; /* an ack calls again */
  /* A claim per finished URL would be a round trip each: wait for a quarter of the window,
   * unless nothing is left to start. */
  if (q->rcount > 0 && q->max_held - q->held < (q->max_held + 3) / 4) return;
  uint64_t now = uv_now(q->loop);
  if (q->claim_after > now) {
    if (!uv_is_active((uv_handle_t *)&q->claim_timer))
      uv_timer_start(&q->claim_timer, on_claim_timer, q->claim_after - now, 0);
    return;
  }
  /* What finished goes first: a worker that dies after this claim's answer loses no ack. */
  send_adds(q);
  send_acks(q);
  unsigned n = q->max_held - q->held;
  if (n > CLAIM_MAX) n = CLAIM_MAX;
  char num[16];
  snprintf(num, sizeof(num), "%u", n);
  const char *argv[6] = {"FCALL", "uvc_claim", "1", q->prefix, q->id, num};
  size_t lens[6];
  for (int i = 0; i < 6; i++) lens[i] = strlen(argv[i]);
  if (uvcrawl__redis_command(q->redis, on_claim, q, 6, argv, lens) == 0) q->claiming = 1;
}

/* ---- heartbeat and connection state ------------------------------------------------------ */

static void on_beat_reply(void *arg, redisReply *reply) {
  uvcrawl__rf_t *q = arg;
  if (!q->closing && is_dead(reply)) new_identity(q);
}

static void on_beat(uv_timer_t *t) {
  uvcrawl__rf_t *q = t->data;
  if (!q->up || q->closing) return;
  const char *argv[5] = {"FCALL", "uvc_heartbeat", "1", q->prefix, q->id};
  size_t lens[5];
  for (int i = 0; i < 5; i++) lens[i] = strlen(argv[i]);
  uvcrawl__redis_command(q->redis, on_beat_reply, q, 5, argv, lens);
}

static void on_state(void *arg, int up, const char *why) {
  uvcrawl__rf_t *q = arg;
  (void)why;
  q->up = up;
  if (!up || q->closing) return;
  if (q->ever_up) new_identity(q); /* see the header comment */
  q->ever_up = 1;
  q->claim_after = 0;
  on_beat(&q->beat_timer);
  for (size_t i = 0; i < q->caphosts; i++) /* lookups lost with the connection */
    if (q->hosts[i] && q->hosts[i]->state == H_UNKNOWN && q->hosts[i]->nwait > 0)
      lookup_robots(q, q->hosts[i]);
  schedule_flush(q);
  maybe_claim(q);
}

/* ---- the interface ----------------------------------------------------------------------- */

int uvcrawl__rf_push(uvcrawl__rf_t *q, const char *url, const char *referrer, int depth) {
  const char *u, *r = NULL;
  if (uvcrawl__frontier_mark(q->local, url, &u) < 0) return UV_ENOMEM;
  if (referrer && uvcrawl__frontier_mark(q->local, referrer, &r) < 0) return UV_ENOMEM;
  if (grow((void **)&q->adds, &q->capadds, q->nadds + 1, sizeof(*q->adds)) != 0)
    return UV_ENOMEM;
  q->adds[q->nadds].url = u;
  q->adds[q->nadds].ref = r;
  q->adds[q->nadds].depth = depth;
  q->nadds++;
  schedule_flush(q);
  return 1;
}

static int rf_add(void *qv, const char *url, const char *referrer, int depth) {
  uvcrawl__rf_t *q = qv;
  /* The local seen set filters first: a link this worker sent once is not sent again. */
  int r = uvcrawl__frontier_mark(q->local, url, NULL);
  if (r <= 0) return r;
  return uvcrawl__rf_push(q, url, referrer, depth);
}

static int allowed(const host_t *h, const char *url) {
  if (h == NULL || h->rules == NULL) return 1;
  const char *auth = strstr(url, "://");
  const char *path = auth ? strchr(auth + 3, '/') : NULL;
  return uvcrawl__robots_allowed(h->rules, path ? path : "/");
}

static int rf_next(void *qv, uint64_t now_ns, uvcrawl__item_t *item, uint64_t *wake_ns) {
  uvcrawl__rf_t *q = qv;
  uint64_t wake = 0;
  for (size_t i = 0; i < q->ndelayed; i++) {
    if (q->delayed[i].at_ns <= now_ns) {
      *item = q->delayed[i].item;
      q->delayed[i] = q->delayed[--q->ndelayed];
      return 1;
    }
    if (wake == 0 || q->delayed[i].at_ns < wake) wake = q->delayed[i].at_ns;
  }
  if (q->rcount > 0) {
    *item = q->ready[q->rhead];
    q->rhead = (q->rhead + 1) % q->rcap;
    q->rcount--;
    char origin[600];
    host_t *h = origin_of(item->url, origin, sizeof(origin)) == 0 ? host_find(q, origin, 0)
                                                                   : NULL;
    item->disallowed = !allowed(h, item->url);
    if (q->die_on != NULL && strstr(item->url, q->die_on) != NULL) raise(SIGKILL);
    return 1;
  }
  maybe_claim(q);
  if (wake_ns) *wake_ns = wake;
  return 0;
}

static void rf_done(void *qv, const uvcrawl__item_t *item, uint64_t now_ns,
                    uint32_t throttle_ms) {
  uvcrawl__rf_t *q = qv;
  (void)now_ns;
  char origin[600], thr[16];
  if (throttle_ms == 0 || !q->up || origin_of(item->url, origin, sizeof(origin)) != 0) return;
  /* Every worker backs off the host now, not only this one. */
  snprintf(thr, sizeof(thr), "%u", (unsigned)throttle_ms);
  const char *argv[7] = {"FCALL", "uvc_throttle", "1", q->prefix, q->id, origin, thr};
  size_t lens[7];
  for (int i = 0; i < 7; i++) lens[i] = strlen(argv[i]);
  uvcrawl__redis_command(q->redis, on_beat_reply, q, 7, argv, lens);
}

static int rf_retry(void *qv, const uvcrawl__item_t *item, uint64_t not_before_ns) {
  uvcrawl__rf_t *q = qv;
  /* The lease stays ours (the heartbeat keeps it) until the retry's ack. */
  if (grow((void **)&q->delayed, &q->capdelayed, q->ndelayed + 1, sizeof(*q->delayed)) != 0)
    return UV_ENOMEM;
  q->delayed[q->ndelayed].item = *item;
  q->delayed[q->ndelayed].at_ns = not_before_ns;
  q->ndelayed++;
  return 0;
}

static const char *rf_robots_needed(void *qv) {
  uvcrawl__rf_t *q = qv;
  if (q->ntodo == 0) return NULL;
  host_t *h = q->todo[--q->ntodo];
  h->state = H_FETCHING;
  return h->origin;
}

static void rf_robots_again(void *qv, const char *origin) {
  uvcrawl__rf_t *q = qv;
  host_t *h = host_find(q, origin, 0);
  if (h == NULL || grow((void **)&q->todo, &q->captodo, q->ntodo + 1, sizeof(*q->todo)) != 0)
    return;
  h->state = H_TODO;
  q->todo[q->ntodo++] = h;
}

static void rf_robots_fetched(void *qv, const char *origin, long status, int code,
                              const char *body, size_t len) {
  uvcrawl__rf_t *q = qv;
  host_t *h = host_find(q, origin, 0);
  if (h == NULL) return;
  free(h->outcome);
  h->outcome = malloc(len + 24);
  if (h->outcome == NULL) return;
  int n = status ? snprintf(h->outcome, 24, "S%ld\n", status)
                 : snprintf(h->outcome, 24, "E%d\n", code);
  memcpy(h->outcome + n, body, len);
  h->outcome_len = (size_t)n + len;
}

static void queue_ack(uvcrawl__rf_t *q, uint8_t gen, uint32_t token, const char *key,
                      const char *rec, size_t len, uint32_t throttle) {
  if (q->held > 0) q->held--;
  if (grow((void **)&q->acks, &q->capacks, q->nacks + 1, sizeof(*q->acks)) != 0) return;
  ack_t *a = &q->acks[q->nacks];
  a->rec = len ? malloc(len) : NULL;
  if (len && a->rec == NULL) return;
  if (len) memcpy(a->rec, rec, len);
  a->len = len;
  a->key = key;
  a->token = token;
  a->gen = gen;
  a->throttle = throttle;
  q->nacks++;
  schedule_flush(q);
}

static void rf_set_robots(void *qv, const char *origin, uvcrawl__robots_t *robots) {
  uvcrawl__rf_t *q = qv;
  host_t *h = host_find(q, origin, 0);
  if (h == NULL) {
    uvcrawl__robots_free(robots);
    return;
  }
  uvcrawl__robots_free(h->rules);
  h->rules = robots;
  if (h->state == H_FETCHING && h->outcome != NULL) {
    int capped;
    long d = robots ? uvcrawl__robots_crawl_delay_ms(robots, &capped) : -1;
    queue_ack(q, h->r_gen, h->r_token, h->origin, h->outcome, h->outcome_len,
              d > 0 ? (uint32_t)d : 0);
    free(h->outcome);
    h->outcome = NULL;
  }
  h->state = H_READY;
  for (size_t i = 0; i < h->nwait; i++) push_ready(q, &h->wait[i]);
  h->nwait = 0;
  wake(q);
}

static int rf_more(void *qv) {
  const uvcrawl__rf_t *q = qv;
  return !q->finished && !q->failed;
}

static size_t rf_queued(void *qv) {
  const uvcrawl__rf_t *q = qv;
  return q->rcount + q->ndelayed;
}

static void rf_completed(void *qv, const uvcrawl__item_t *item, const char *line, size_t len) {
  uvcrawl__rf_t *q = qv;
  if (item->token == 0) return; /* not a lease (a trap skipped where it was found) */
  queue_ack(q, item->lease_gen, item->token, item->url, line, line ? len : 0, 0);
  maybe_claim(q);
}

const uvcrawl__fops_t uvcrawl__rf_fops = {
    rf_add, rf_next, rf_done, rf_retry, rf_robots_needed, rf_robots_again, rf_robots_fetched,
    rf_set_robots, rf_more, rf_queued, rf_completed};

/* ---- setup and teardown ------------------------------------------------------------------ */

/* uvc_init's answer while no worker with seeds has created the crawl yet. */
static int init_absent(const redisReply *r) {
  return r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
         r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, "absent") == 0;
}

/* Joins or creates the crawl under prefix (uvc_init), waiting a while for it to appear. Returns
 * the last reply (the caller frees it with freeReplyObject), or NULL with rc->errstr set. */
static redisReply *send_init(redisContext *rc, const char *prefix, const uvcrawl__rf_opts_t *o) {
  char ph[16], dl[16], mt[16], ttl[16], ir[4];
  snprintf(ph, sizeof(ph), "%u", o->per_host);
  snprintf(dl, sizeof(dl), "%u", o->delay_ms);
  snprintf(mt, sizeof(mt), "%u", o->max_tries);
  snprintf(ttl, sizeof(ttl), "%u", o->lease_ms);
  snprintf(ir, sizeof(ir), "%d", o->ignore_robots ? 1 : 0);
  const char *argv[] = {"FCALL", "uvc_init", "1", prefix, o->identity, ph, dl, mt, ttl,
                        ir, o->seeds};
  size_t lens[11];
  for (int i = 0; i < 11; i++) lens[i] = strlen(argv[i]);
  redisReply *r = redisCommandArgv(rc, 11, argv, lens);
  /* Workers without seeds may start before the first one: wait a little for the crawl. */
  for (int i = 0; i < ABSENT_WAIT_MS / 200 && init_absent(r); i++) {
    freeReplyObject(r);
    usleep(200 * 1000);
    r = redisCommandArgv(rc, 11, argv, lens);
  }
  return r;
}

/* Reads uvc_init's reply r (borrowed; NULL: rc->errstr says why). On success *stored_seeds is
 * the crawl's seeds (malloc'd, the caller's). Returns 0, or an error with why filled for the
 * Redis-side ones. */
static int read_init(const redisReply *r, const redisContext *rc, const uvcrawl__rf_opts_t *o,
                     char **stored_seeds, char *why, size_t whylen) {
  if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
      r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING) {
    snprintf(why, whylen, "uvc_init: %s",
             r == NULL ? rc->errstr : r->type == REDIS_REPLY_ERROR ? r->str : "bad answer");
    return UVCRAWL_EREDIS;
  }
  if (strcmp(r->element[0]->str, "absent") == 0) {
    snprintf(why, whylen, "no crawl '%s' after %d s: start its first worker with the seeds",
             o->name, ABSENT_WAIT_MS / 1000);
    return UVCRAWL_ENOSEED;
  }
  if (strcmp(r->element[0]->str, "mismatch") == 0) {
    snprintf(why, whylen, "the crawl was started with other options:\n%s\nthis worker has:\n%s",
             r->element[1]->str, o->identity);
    return UVCRAWL_ECLUSTER;
  }
  if ((*stored_seeds = strdup(r->element[1]->str)) == NULL) return UV_ENOMEM;
  return 0;
}

/* Over the blocking connection rc (borrowed): loads the function library, then joins the
 * crawl. On success *q is a zeroed queue with only its prefix set and *stored_seeds the
 * crawl's seeds, both malloc'd and the caller's; on failure neither is left allocated. */
static int join_crawl(redisContext *rc, const uvcrawl__rf_opts_t *o, uvcrawl__rf_t **q,
                      char **stored_seeds, char *why, size_t whylen) {
  int err;
  if ((err = load_library(rc, why, whylen)) != 0) return err;
  if ((*q = calloc(1, sizeof(**q))) == NULL) return UV_ENOMEM;
  set_prefix((*q)->prefix, sizeof((*q)->prefix), o->name);
  redisReply *r = send_init(rc, (*q)->prefix, o);
  err = read_init(r, rc, o, stored_seeds, why, whylen);
  if (r) freeReplyObject(r);
  if (err) {
    free(*q);
    *q = NULL;
  }
  return err;
}

/* This worker's identity: host, pid and a clock sample, then the first generation. */
static void set_identity(uvcrawl__rf_t *q) {
  char hn[64] = "host";
  gethostname(hn, sizeof(hn) - 1);
  hn[sizeof(hn) - 1] = '\0';
  snprintf(q->base_id, sizeof(q->base_id), "%s/%ld/%08llx", hn, (long)getpid(),
           (unsigned long long)(uv_hrtime() & 0xffffffffULL));
  q->gen = 0;
  new_identity(q);
}

/* Opens the asynchronous connection the loop uses from now on (u borrowed for the call). */
static int open_redis(uvcrawl__rf_t *q, uv_loop_t *loop, const redis_url_t *u) {
  uvcrawl__redis_opts_t ro;
  memset(&ro, 0, sizeof(ro));
  ro.host = u->host;
  ro.port = u->port;
  ro.db = u->db;
  ro.user = u->user[0] ? u->user : NULL;
  ro.password = u->auth ? u->pass : NULL;
  ro.reply_timeout_ms = 10000;
  ro.backoff_max_ms = 1000;
  return uvcrawl__redis_new(loop, &ro, on_state, q, &q->redis);
}

/* The batching and heartbeat timers; only the heartbeat runs from the start. */
static void start_timers(uvcrawl__rf_t *q, uv_loop_t *loop) {
  uv_timer_init(loop, &q->flush_timer);
  uv_timer_init(loop, &q->claim_timer);
  uv_timer_init(loop, &q->beat_timer);
  q->flush_timer.data = q->claim_timer.data = q->beat_timer.data = q;
  unsigned beat = q->lease_ms / 3 ? q->lease_ms / 3 : 1;
  uv_timer_start(&q->beat_timer, on_beat, beat, beat);
}

int uvcrawl__rf_new(uv_loop_t *loop, uvcrawl__frontier_t *local, const uvcrawl__rf_opts_t *o,
                    const uvcrawl__rf_cbs_t *cbs, void *arg, char **stored_seeds, char *why,
                    size_t whylen, uvcrawl__rf_t **out) {
  redis_url_t u;
  int err;
  uvcrawl__rf_t *q = NULL;
  *stored_seeds = NULL;
  redisContext *rc = connect_sync(o->redis_url, &u, why, whylen);
  if (rc == NULL) return UVCRAWL_EREDIS;
  err = join_crawl(rc, o, &q, stored_seeds, why, whylen);
  redisFree(rc);
  if (err) return err;

  q->loop = loop;
  q->local = local;
  q->cbs = *cbs;
  q->arg = arg;
  q->lease_ms = o->lease_ms;
  q->max_held = o->max_held ? o->max_held : 64;
  q->ignore_robots = o->ignore_robots;
  q->die_on = test_die_on;
  set_identity(q);
  if ((err = open_redis(q, loop, &u)) != 0) {
    free(*stored_seeds);
    *stored_seeds = NULL;
    free(q);
    return err;
  }
  start_timers(q, loop);
  *out = q;
  return 0;
}

static void free_all(uvcrawl__rf_t *q) {
  for (size_t i = 0; i < q->caphosts; i++) {
    host_t *h = q->hosts[i];
    if (h == NULL) continue;
    uvcrawl__robots_free(h->rules);
    free(h->outcome);
    free(h->wait);
    free(h->origin);
    free(h);
  }
  for (size_t i = 0; i < q->nacks; i++) free(q->acks[i].rec);
  free(q->hosts);
  free(q->ready);
  free(q->todo);
  free(q->delayed);
  free(q->adds);
  free(q->acks);
  free(q->scratch);
  void (*cb)(void *) = q->close_cb;
  void *arg = q->close_arg;
  free(q);
  if (cb) cb(arg);
}

static void part_closed(uvcrawl__rf_t *q) {
  if (--q->open_handles == 0) free_all(q);
}
static void on_redis_closed(void *arg) { part_closed(arg); }
static void on_timer_closed(uv_handle_t *h) { part_closed(h->data); }

static void close_now(uvcrawl__rf_t *q) {
  q->open_handles = 4;
  uvcrawl__redis_close(q->redis, on_redis_closed, q);
  uv_close((uv_handle_t *)&q->flush_timer, on_timer_closed);
  uv_close((uv_handle_t *)&q->claim_timer, on_timer_closed);
  uv_close((uv_handle_t *)&q->beat_timer, on_timer_closed);
}

static void on_left(void *arg, redisReply *reply) {
  (void)reply;
  close_now(arg);
}

void uvcrawl__rf_close(uvcrawl__rf_t *q, void (*cb)(void *arg), void *arg) {
  q->closing = 1;
  q->close_cb = cb;
  q->close_arg = arg;
  uv_timer_stop(&q->flush_timer);
  uv_timer_stop(&q->claim_timer);
  uv_timer_stop(&q->beat_timer);
  /* Finished: nothing of ours is leased. Stopped early: our leases go back at once. */
  const char *argv[5] = {"FCALL", "uvc_leave", "1", q->prefix, q->id};
  size_t lens[5];
  for (int i = 0; i < 5; i++) lens[i] = strlen(argv[i]);
  if (!q->up ||
      uvcrawl__redis_command(q->redis, on_left, q, 5, argv, lens) != 0)
    close_now(q);
}

/* ---- --status and --export --------------------------------------------------------------- */

int uvcrawl__rf_status(const char *redis_url, const char *name, char **json, char *why,
                       size_t whylen) {
  char prefix[300];
  redis_url_t u;
  *json = NULL;
  redisContext *rc = connect_sync(redis_url, &u, why, whylen);
  if (rc == NULL) return UVCRAWL_EREDIS;
  set_prefix(prefix, sizeof(prefix), name);
  redisReply *r = redisCommand(rc, "EXISTS %scfg", prefix);
  int exists = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
  if (r) freeReplyObject(r);
  if (!exists) {
    snprintf(why, whylen, "no crawl named '%s' in %s", name, u.shown);
    redisFree(rc);
    return UVCRAWL_EREDIS;
  }
  r = redisCommand(rc, "FCALL uvc_status 1 %s", prefix);
  int err = UVCRAWL_EREDIS;
  if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 10) {
    snprintf(why, whylen, "uvc_status: %s",
             r == NULL ? rc->errstr : r->type == REDIS_REPLY_ERROR ? r->str : "bad answer");
  } else {
    long long v[10];
    for (int i = 0; i < 10; i++)
      v[i] = r->element[i]->type == REDIS_REPLY_INTEGER ? r->element[i]->integer : 0;
    double secs = (double)v[9] / 1000.0;
    size_t n = 512;
    if ((*json = malloc(n)) == NULL) {
      err = UV_ENOMEM;
    } else {
      snprintf(*json, n,
               "{\"crawl\":\"%s\",\"finished\":%s,\"queued\":%lld,\"leased\":%lld,"
               "\"done\":%lld,\"failed\":%lld,\"seen\":%lld,\"workers\":%lld,"
               "\"requeued\":%lld,\"rejected\":%lld,\"elapsed_s\":%.1f,"
               "\"pages_per_s\":%.1f}",
               name, v[8] ? "true" : "false", v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7],
               secs, secs > 0 ? (double)v[2] / secs : 0.0);
      err = 0;
    }
  }
  if (r) freeReplyObject(r);
  redisFree(rc);
  return err;
}

int uvcrawl__rf_export(const char *redis_url, const char *name, int fd, uint64_t *n, char *why,
                       size_t whylen) {
  char prefix[300], cursor[32] = "0";
  redis_url_t u;
  *n = 0;
  redisContext *rc = connect_sync(redis_url, &u, why, whylen);
  if (rc == NULL) return UVCRAWL_EREDIS;
  set_prefix(prefix, sizeof(prefix), name);
  int err = 0;
  /* HSCAN may give a field twice (while the hash is rehashed): a seen set keeps each once. */
  uvcrawl__frontier_t *seen = uvcrawl__frontier_new();
  if (seen == NULL) {
    redisFree(rc);
    return UV_ENOMEM;
  }
  do {
    redisReply *r = redisCommand(rc, "HSCAN %srec %s COUNT 1000", prefix, cursor);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
      snprintf(why, whylen, "HSCAN: %s",
               r == NULL ? rc->errstr : r->type == REDIS_REPLY_ERROR ? r->str : "bad answer");
      if (r) freeReplyObject(r);
      err = UVCRAWL_EREDIS;
      break;
    }
    snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
    redisReply *kv = r->element[1];
    for (size_t i = 1; err == 0 && i < kv->elements; i += 2) {
      if (kv->element[i]->type != REDIS_REPLY_STRING ||
          kv->element[i - 1]->type != REDIS_REPLY_STRING)
        continue;
      int fresh = uvcrawl__frontier_mark(seen, kv->element[i - 1]->str, NULL);
      if (fresh < 0) err = UV_ENOMEM;
      if (fresh <= 0) continue;
      if ((err = uvcrawl__write_all(fd, kv->element[i]->str, kv->element[i]->len)) == 0 &&
          (err = uvcrawl__write_all(fd, "\n", 1)) == 0)
        (*n)++;
    }
    freeReplyObject(r);
    if (err) snprintf(why, whylen, "cannot write the records: %s", strerror(-err));
  } while (err == 0 && strcmp(cursor, "0") != 0);
  uvcrawl__frontier_free(seen);
  redisFree(rc);
  return err;
}
