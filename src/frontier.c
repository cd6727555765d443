/* The frontier: the set of every URL seen and, per host (scheme://host:port), a FIFO of URLs
 * to fetch with that host's politeness state: requests in flight, the earliest next start,
 * its delay (adapted upward when it throttles), and its robots.txt rules. Pure: no I/O, no
 * libuv; time comes in as an argument.
 *
 * Each URL is stored once, in an arena; the seen set is an open-addressing table of pointers
 * into it (full strings compared on a hash match, so it is exact, not a fingerprint set), and
 * queue entries point into the arena too, referrers included.
 *
 * The table grows incrementally: a rehash of every URL at once held the loop for 6-9 ms at
 * 23,000 URLs (the new table's first touch of each page is a fault, on this VM a TLB shootdown
 * each; bench/README.md), and would grow with the crawl. The old table stays as it was, read
 * only, while each new URL moves MOVE_PER_ADD of its slots into the new one. */
#include "frontier.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dynbuf.h"
#include "robots.h"
#include "url.h"

#define ARENA_CHUNK (256 * 1024)
/* Old slots moved per URL added while growing. The table doubles at 70% load, so the next
 * growth is 0.7 * old size additions away; moving all old slots takes old size / 4. */
#define MOVE_PER_ADD 4

typedef struct arena_chunk_s {
  struct arena_chunk_s *next;
  size_t used;
  size_t size;
  char data[];
} arena_chunk_t;

typedef struct {
  const char *str;
  uint32_t hash;  /* low bits of the full hash: enough to place and to compare first */
  uint32_t state; /* the owner's per-URL word (link checking keeps the status here) */
} slot_t;

enum { ROBOTS_NONE, ROBOTS_NEEDED, ROBOTS_FETCHING, ROBOTS_READY };

typedef struct {
  char *origin;
  uvcrawl__item_t *ring;
  size_t ring_cap; /* power of two */
  size_t head;
  size_t count;
  unsigned active;
  uint64_t next_ok_ns;   /* no request starts before this */
  uint32_t robots_delay_ms;
  uint32_t adapt_ms;     /* extra delay while the host throttles us; decays on success */
  uint64_t raised_ns;    /* when adapt_ms last grew */
  int robots_state;
  uvcrawl__robots_t *robots;
} host_t;

struct uvcrawl__frontier_s {
  arena_chunk_t *chunks;
  size_t arena_bytes;
  slot_t *slots;
  size_t nslots; /* power of two */
  size_t nseen;
  slot_t *old;   /* while growing: the previous table, unchanged; NULL otherwise */
  size_t nold;
  size_t moved;  /* old[0 .. moved) are in slots too */
  host_t *hosts;
  size_t nhosts, hosts_cap;
  size_t rr;      /* round-robin start for the next pick */
  size_t count;   /* queued over all hosts */
  /* policy */
  unsigned per_host;    /* 0: no per-host cap */
  uint32_t delay_ms;
  int random_delay;
  int robots;           /* hold each host until its robots.txt is known */
  uint64_t rng;
};

/* FNV-1a, 64-bit: short strings, good enough spread for a power-of-two table. */
static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ULL;
  }
  return h ^ (h >> 29);
}

/* Copies s into the arena; returns the copy or NULL when out of memory. */
static const char *arena_dup(uvcrawl__frontier_t *f, const char *s, size_t len) {
  arena_chunk_t *c = f->chunks;
  if (c == NULL || c->size - c->used < len + 1) {
    size_t size = len + 1 > ARENA_CHUNK ? len + 1 : ARENA_CHUNK;
    c = malloc(sizeof(*c) + size);
    if (c == NULL) return NULL;
    c->next = f->chunks;
    c->used = 0;
    c->size = size;
    f->chunks = c;
    f->arena_bytes += sizeof(*c) + size;
  }
  char *p = c->data + c->used;
  memcpy(p, s, len + 1);
  c->used += len + 1;
  return p;
}

/* Puts a slot whose URL is in no table yet into the current one. */
static void table_put(uvcrawl__frontier_t *f, const slot_t *s) {
  size_t mask = f->nslots - 1;
  size_t j = s->hash & mask;
  while (f->slots[j].str != NULL) j = (j + 1) & mask;
  f->slots[j] = *s;
}

/* Moves up to n more slots of the old table; frees it once all are moved. */
static void table_move(uvcrawl__frontier_t *f, size_t n) {
  for (; f->old != NULL && n > 0; n--) {
    if (f->old[f->moved].str != NULL) table_put(f, &f->old[f->moved]);
    if (++f->moved == f->nold) {
      free(f->old);
      f->old = NULL;
      f->nold = f->moved = 0;
    }
  }
}

static int table_grow(uvcrawl__frontier_t *f) {
  size_t n = f->nslots ? f->nslots * 2 : 1024;
  slot_t *slots = calloc(n, sizeof(*slots));
  if (slots == NULL) return -ENOMEM;
  table_move(f, SIZE_MAX); /* only if growth outran the moves: cannot, see MOVE_PER_ADD */
  f->old = f->slots;
  f->nold = f->nslots;
  f->moved = 0;
  f->slots = slots;
  f->nslots = n;
  if (f->old == NULL) f->nold = 0;
  return 0;
}

uvcrawl__frontier_t *uvcrawl__frontier_new(void) {
  uvcrawl__frontier_t *f = calloc(1, sizeof(*f));
  if (f == NULL) return NULL;
  if (table_grow(f) != 0) {
    free(f);
    return NULL;
  }
  return f;
}

void uvcrawl__frontier_free(uvcrawl__frontier_t *f) {
  if (f == NULL) return;
  arena_chunk_t *c = f->chunks;
  while (c != NULL) {
    arena_chunk_t *next = c->next;
    free(c);
    c = next;
  }
  free(f->slots);
  free(f->old);
  for (size_t i = 0; i < f->nhosts; i++) {
    free(f->hosts[i].ring);
    free(f->hosts[i].origin);
    uvcrawl__robots_free(f->hosts[i].robots);
  }
  free(f->hosts);
  free(f);
}

/* The slot of tab (n slots) holding url, or the empty slot where it would go. */
static size_t find_in(const slot_t *tab, size_t n, const char *url, uint32_t h) {
  size_t mask = n - 1;
  size_t i = h & mask;
  for (; tab[i].str != NULL; i = (i + 1) & mask)
    if (tab[i].hash == h && strcmp(tab[i].str, url) == 0) break;
  return i;
}

/* url's slot, in the current table or in the old one while growing; NULL when unseen. An old
 * slot not moved yet is the one that counts (its move copies the state); a moved one is found
 * in the current table first. */
static slot_t *find_slot(const uvcrawl__frontier_t *f, const char *url, uint32_t h) {
  size_t i = find_in(f->slots, f->nslots, url, h);
  if (f->slots[i].str != NULL) return &f->slots[i];
  if (f->old != NULL) {
    i = find_in(f->old, f->nold, url, h);
    if (f->old[i].str != NULL) return &f->old[i];
  }
  return NULL;
}

int uvcrawl__frontier_lookup(uvcrawl__frontier_t *f, const char *url, const char **interned,
                             uint32_t **state) {
  slot_t *s = find_slot(f, url, (uint32_t)hash_str(url));
  if (s == NULL) return 0;
  if (interned) *interned = s->str;
  if (state) *state = &s->state;
  return 1;
}

int uvcrawl__frontier_mark(uvcrawl__frontier_t *f, const char *url, const char **interned) {
  uint32_t h = (uint32_t)hash_str(url);
  const slot_t *s = find_slot(f, url, h);
  if (s != NULL) {
    if (interned) *interned = s->str;
    return 0;
  }
  /* Keep the load under 70% so probe chains stay short. */
  if ((f->nseen + 1) * 10 > f->nslots * 7) {
    int err = table_grow(f);
    if (err) return err;
  }
  const char *copy = arena_dup(f, url, strlen(url));
  if (copy == NULL) return -ENOMEM;
  slot_t add = {copy, h, 0};
  table_put(f, &add);
  f->nseen++;
  table_move(f, MOVE_PER_ADD);
  if (interned) *interned = copy;
  return 1;
}

static int ring_push(host_t *h, const uvcrawl__item_t *item, int front) {
  if (h->count == h->ring_cap) {
    size_t was = h->ring_cap;
    if (uvcrawl__array_grow((void **)&h->ring, &h->ring_cap, was + 1, sizeof(*h->ring), 16) != 0)
      return -ENOMEM;
    /* Doubled while full: the part that wrapped, [0, head), goes on after the old end. */
    memcpy(h->ring + was, h->ring, h->head * sizeof(*h->ring));
  }
  if (front) {
    h->head = (h->head + h->ring_cap - 1) & (h->ring_cap - 1);
    h->ring[h->head] = *item;
  } else {
    h->ring[(h->head + h->count) & (h->ring_cap - 1)] = *item;
  }
  h->count++;
  return 0;
}

static uvcrawl__item_t ring_pop(host_t *h) {
  uvcrawl__item_t it = h->ring[h->head];
  h->head = (h->head + 1) & (h->ring_cap - 1);
  h->count--;
  return it;
}

/* The origin of a normalized URL ("scheme://authority[:port]/..."), written into buf with the
 * port always spelled out, by string work alone: this runs for every new URL on the loop, and
 * a full parse there cost a page of 100,000 links a quarter of a second. Returns the length, or
 * 0 when the URL is not in that shape (the caller then asks libcurl). */
size_t uvcrawl__fast_origin(const char *url, char *buf, size_t size) {
  const char *sep = strstr(url, "://");
  if (sep == NULL) return 0;
  size_t slen = (size_t)(sep - url);
  const char *auth = sep + 3, *end = auth + strcspn(auth, "/?#");
  const char *colon = NULL;
  for (const char *q = end; q > auth; q--) {
    if (q[-1] == ']') break; /* an IPv6 literal: a ':' before it is not a port */
    if (q[-1] == ':') {
      colon = q - 1;
      break;
    }
  }
  const char *port = colon ? "" : (slen == 5 && memcmp(url, "https", 5) == 0) ? ":443" : ":80";
  size_t n = (size_t)(end - url) + strlen(port);
  if (n + 1 > size || memchr(auth, '@', (size_t)(end - auth)) != NULL) return 0;
  memcpy(buf, url, (size_t)(end - url));
  memcpy(buf + (end - url), port, strlen(port) + 1);
  return n;
}

/* The host of url, created on first sight. Returns its index or a negative error. */
static long host_of(uvcrawl__frontier_t *f, const char *url) {
  char fast[512], *origin;
  if (uvcrawl__fast_origin(url, fast, sizeof(fast)) > 0) {
    for (size_t i = f->nhosts; i-- > 0;)
      if (strcmp(f->hosts[i].origin, fast) == 0) return (long)i;
  }
  int err = uvcrawl__url_origin(url, &origin);
  if (err) return err;
  /* Few hosts per crawl: a linear scan from the most recent is fine. */
  for (size_t i = f->nhosts; i-- > 0;) {
    if (strcmp(f->hosts[i].origin, origin) == 0) {
      free(origin);
      return (long)i;
    }
  }
  if (uvcrawl__array_grow((void **)&f->hosts, &f->hosts_cap, f->nhosts + 1, sizeof(*f->hosts),
                          8) != 0) {
    free(origin);
    return -ENOMEM;
  }
  host_t *h = &f->hosts[f->nhosts];
  memset(h, 0, sizeof(*h));
  h->origin = origin;
  h->robots_state = f->robots ? ROBOTS_NEEDED : ROBOTS_NONE;
  return (long)f->nhosts++;
}

int uvcrawl__frontier_add(uvcrawl__frontier_t *f, const char *url, const char *referrer,
                          int depth) {
  uvcrawl__item_t item;
  memset(&item, 0, sizeof(item));
  item.depth = depth;
  int r = uvcrawl__frontier_mark(f, url, &item.url);
  if (r <= 0) return r;
  if (referrer != NULL) {
    int err = uvcrawl__frontier_mark(f, referrer, &item.referrer);
    if (err < 0) return err;
  }
  long host = host_of(f, url);
  if (host < 0) return (int)host;
  item.host = (uint32_t)host;
  int err = ring_push(&f->hosts[host], &item, 0);
  if (err) return err;
  f->count++;
  return 1;
}

int uvcrawl__frontier_pop(uvcrawl__frontier_t *f, uvcrawl__item_t *item) {
  for (size_t k = 0; k < f->nhosts; k++) {
    size_t i = (f->rr + k) % f->nhosts;
    if (f->hosts[i].count == 0) continue;
    *item = ring_pop(&f->hosts[i]);
    f->count--;
    f->rr = (i + 1) % f->nhosts;
    return 1;
  }
  return 0;
}

void uvcrawl__frontier_set_policy(uvcrawl__frontier_t *f, unsigned per_host, uint32_t delay_ms,
                                  int random_delay, int robots) {
  f->per_host = per_host;
  f->delay_ms = delay_ms;
  f->random_delay = random_delay;
  f->robots = robots;
  f->rng = 0x9e3779b97f4a7c15ULL;
}

/* The gap before the host's next request start. */
static uint64_t host_gap_ns(uvcrawl__frontier_t *f, const host_t *h) {
  uint64_t ms = f->delay_ms > h->robots_delay_ms ? f->delay_ms : h->robots_delay_ms;
  ms += h->adapt_ms;
  if (ms == 0) return 0;
  uint64_t ns = ms * 1000000u;
  if (f->random_delay) { /* 0.5x .. 1.5x, so request times do not look machine-made */
    f->rng ^= f->rng << 13;
    f->rng ^= f->rng >> 7;
    f->rng ^= f->rng << 17;
    ns = ns / 2 + (f->rng % (ns + 1));
  }
  return ns;
}

int uvcrawl__frontier_next(uvcrawl__frontier_t *f, uint64_t now_ns, uvcrawl__item_t *item,
                           uint64_t *wake_ns) {
  uint64_t wake = 0;
  for (size_t k = 0; k < f->nhosts; k++) {
    size_t i = (f->rr + k) % f->nhosts;
    host_t *h = &f->hosts[i];
    if (h->count == 0 || (h->robots_state != ROBOTS_NONE && h->robots_state != ROBOTS_READY))
      continue;
    if (f->per_host && h->active >= f->per_host) continue;
    if (h->next_ok_ns > now_ns) {
      if (wake == 0 || h->next_ok_ns < wake) wake = h->next_ok_ns;
      continue;
    }
    *item = ring_pop(h);
    f->count--;
    f->rr = (i + 1) % f->nhosts;
    item->disallowed = 0;
    if (h->robots != NULL) {
      /* The path (and query) starts at the first '/' after the authority. */
      const char *auth = strstr(item->url, "://");
      const char *path = auth ? strchr(auth + 3, '/') : NULL;
      if (!uvcrawl__robots_allowed(h->robots, path ? path : "/")) {
        item->disallowed = 1; /* reported by the caller, costs the host nothing */
        return 1;
      }
    }
    h->active++;
    h->next_ok_ns = now_ns + host_gap_ns(f, h);
    return 1;
  }
  if (wake_ns) *wake_ns = wake;
  return 0;
}

void uvcrawl__frontier_done(uvcrawl__frontier_t *f, const uvcrawl__item_t *item, uint64_t now_ns,
                            uint32_t throttle_ms) {
  host_t *h = &f->hosts[item->host];
  if (h->active > 0) h->active--;
  if (throttle_ms > 0) {
    /* The host said slow down: double the extra gap (at least what it asked), capped. Answers
     * to requests sent before the last raise could take effect do not compound it. */
    uint32_t a = h->adapt_ms;
    if (a == 0 || now_ns - h->raised_ns >= (uint64_t)a * 1000000u) {
      a = a ? a * 2 : 250;
      h->raised_ns = now_ns;
    }
    if (a < throttle_ms) a = throttle_ms;
    h->adapt_ms = a > 60000 ? 60000 : a;
    if (h->next_ok_ns < now_ns + (uint64_t)throttle_ms * 1000000u)
      h->next_ok_ns = now_ns + (uint64_t)throttle_ms * 1000000u;
  } else if (h->adapt_ms > 0) {
    h->adapt_ms = h->adapt_ms * 3 / 4; /* and recover gradually once it answers again */
    if (h->adapt_ms < 10) h->adapt_ms = 0;
  }
}

int uvcrawl__frontier_retry(uvcrawl__frontier_t *f, const uvcrawl__item_t *item,
                            uint64_t not_before_ns) {
  host_t *h = &f->hosts[item->host];
  int err = ring_push(h, item, 1);
  if (err) return err;
  f->count++;
  if (h->next_ok_ns < not_before_ns) h->next_ok_ns = not_before_ns;
  return 0;
}

const char *uvcrawl__frontier_robots_needed(uvcrawl__frontier_t *f) {
  for (size_t i = 0; i < f->nhosts; i++) {
    host_t *h = &f->hosts[i];
    if (h->robots_state == ROBOTS_NEEDED && h->count > 0) {
      h->robots_state = ROBOTS_FETCHING;
      return h->origin;
    }
  }
  return NULL;
}

void uvcrawl__frontier_robots_again(uvcrawl__frontier_t *f, const char *origin) {
  for (size_t i = 0; i < f->nhosts; i++)
    if (f->hosts[i].robots_state == ROBOTS_FETCHING && strcmp(f->hosts[i].origin, origin) == 0)
      f->hosts[i].robots_state = ROBOTS_NEEDED;
}

void uvcrawl__frontier_set_robots(uvcrawl__frontier_t *f, const char *origin,
                                  uvcrawl__robots_t *robots) {
  for (size_t i = 0; i < f->nhosts; i++) {
    host_t *h = &f->hosts[i];
    if (strcmp(h->origin, origin) != 0) continue;
    uvcrawl__robots_free(h->robots);
    h->robots = robots;
    h->robots_state = ROBOTS_READY;
    int capped;
    long d = robots ? uvcrawl__robots_crawl_delay_ms(robots, &capped) : -1;
    h->robots_delay_ms = d > 0 ? (uint32_t)d : 0;
    return;
  }
  uvcrawl__robots_free(robots);
}

size_t uvcrawl__frontier_queued(const uvcrawl__frontier_t *f) { return f->count; }
size_t uvcrawl__frontier_seen(const uvcrawl__frontier_t *f) { return f->nseen; }

size_t uvcrawl__frontier_memory(const uvcrawl__frontier_t *f) {
  size_t n = sizeof(*f) + f->arena_bytes + (f->nslots + f->nold) * sizeof(slot_t) +
             f->hosts_cap * sizeof(host_t);
  for (size_t i = 0; i < f->nhosts; i++) n += f->hosts[i].ring_cap * sizeof(uvcrawl__item_t);
  return n;
}

/* ---- the local frontier behind the frontier interface (frontier.h) ------------------- */

static int l_add(void *q, const char *url, const char *referrer, int depth) {
  return uvcrawl__frontier_add(q, url, referrer, depth);
}
static int l_next(void *q, uint64_t now_ns, uvcrawl__item_t *item, uint64_t *wake_ns) {
  return uvcrawl__frontier_next(q, now_ns, item, wake_ns);
}
static void l_done(void *q, const uvcrawl__item_t *item, uint64_t now_ns, uint32_t throttle_ms) {
  uvcrawl__frontier_done(q, item, now_ns, throttle_ms);
}
static int l_retry(void *q, const uvcrawl__item_t *item, uint64_t not_before_ns) {
  return uvcrawl__frontier_retry(q, item, not_before_ns);
}
static const char *l_robots_needed(void *q) { return uvcrawl__frontier_robots_needed(q); }
static void l_robots_again(void *q, const char *origin) {
  uvcrawl__frontier_robots_again(q, origin);
}
static void l_set_robots(void *q, const char *origin, uvcrawl__robots_t *robots) {
  uvcrawl__frontier_set_robots(q, origin, robots);
}
static int l_more(void *q) { return uvcrawl__frontier_queued(q) > 0; }
static size_t l_queued(void *q) { return uvcrawl__frontier_queued(q); }

const uvcrawl__fops_t uvcrawl__local_fops = {
    l_add, l_next, l_done, l_retry, l_robots_needed, l_robots_again, NULL, l_set_robots,
    l_more, l_queued, NULL};
