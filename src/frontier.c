/* The frontier: a FIFO of URLs to fetch and the set of every URL seen. Pure: no I/O, no libuv.
 *
 * Each URL is stored once, in an arena; the seen set is an open-addressing table of pointers
 * into it (full strings compared on a hash match, so it is exact, not a fingerprint set), and
 * queue entries point into the arena too, referrers included. */
#include <stdlib.h>
#include <string.h>

#include "uvcrawl-int.h"

#define ARENA_CHUNK (256 * 1024)

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

struct uvcrawl__frontier_s {
  arena_chunk_t *chunks;
  size_t arena_bytes;
  slot_t *slots;
  size_t nslots; /* power of two */
  size_t nseen;
  uvcrawl__item_t *ring;
  size_t ring_cap; /* power of two */
  size_t head;
  size_t count;
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

static int table_grow(uvcrawl__frontier_t *f) {
  size_t n = f->nslots ? f->nslots * 2 : 1024;
  slot_t *slots = calloc(n, sizeof(*slots));
  if (slots == NULL) return UV_ENOMEM;
  for (size_t i = 0; i < f->nslots; i++) {
    if (f->slots[i].str == NULL) continue;
    size_t j = f->slots[i].hash & (n - 1);
    while (slots[j].str != NULL) j = (j + 1) & (n - 1);
    slots[j] = f->slots[i];
  }
  free(f->slots);
  f->slots = slots;
  f->nslots = n;
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
  free(f->ring);
  free(f);
}

/* The slot holding url, or the empty slot where it would go. */
static size_t find_slot(const uvcrawl__frontier_t *f, const char *url, uint32_t h) {
  size_t mask = f->nslots - 1;
  size_t i = h & mask;
  for (; f->slots[i].str != NULL; i = (i + 1) & mask)
    if (f->slots[i].hash == h && strcmp(f->slots[i].str, url) == 0) break;
  return i;
}

int uvcrawl__frontier_lookup(uvcrawl__frontier_t *f, const char *url, const char **interned,
                             uint32_t **state) {
  size_t i = find_slot(f, url, (uint32_t)hash_str(url));
  if (f->slots[i].str == NULL) return 0;
  if (interned) *interned = f->slots[i].str;
  if (state) *state = &f->slots[i].state;
  return 1;
}

int uvcrawl__frontier_mark(uvcrawl__frontier_t *f, const char *url, const char **interned) {
  uint32_t h = (uint32_t)hash_str(url);
  size_t mask = f->nslots - 1;
  size_t i = find_slot(f, url, h);
  if (f->slots[i].str != NULL) {
    if (interned) *interned = f->slots[i].str;
    return 0;
  }
  /* Keep the load under 70% so probe chains stay short. */
  if ((f->nseen + 1) * 10 > f->nslots * 7) {
    int err = table_grow(f);
    if (err) return err;
    mask = f->nslots - 1;
    for (i = h & mask; f->slots[i].str != NULL; i = (i + 1) & mask)
      ;
  }
  const char *copy = arena_dup(f, url, strlen(url));
  if (copy == NULL) return UV_ENOMEM;
  f->slots[i].str = copy;
  f->slots[i].hash = h;
  f->slots[i].state = 0;
  f->nseen++;
  if (interned) *interned = copy;
  return 1;
}

static int ring_push(uvcrawl__frontier_t *f, const uvcrawl__item_t *item) {
  if (f->count == f->ring_cap) {
    size_t n = f->ring_cap ? f->ring_cap * 2 : 1024;
    uvcrawl__item_t *ring = malloc(n * sizeof(*ring));
    if (ring == NULL) return UV_ENOMEM;
    for (size_t k = 0; k < f->count; k++) ring[k] = f->ring[(f->head + k) & (f->ring_cap - 1)];
    free(f->ring);
    f->ring = ring;
    f->ring_cap = n;
    f->head = 0;
  }
  f->ring[(f->head + f->count) & (f->ring_cap - 1)] = *item;
  f->count++;
  return 0;
}

int uvcrawl__frontier_add(uvcrawl__frontier_t *f, const char *url, const char *referrer,
                          int depth) {
  uvcrawl__item_t item = {NULL, NULL, depth};
  int r = uvcrawl__frontier_mark(f, url, &item.url);
  if (r <= 0) return r;
  if (referrer != NULL) {
    int err = uvcrawl__frontier_mark(f, referrer, &item.referrer);
    if (err < 0) return err;
  }
  int err = ring_push(f, &item);
  return err ? err : 1;
}

int uvcrawl__frontier_pop(uvcrawl__frontier_t *f, uvcrawl__item_t *item) {
  if (f->count == 0) return 0;
  *item = f->ring[f->head];
  f->head = (f->head + 1) & (f->ring_cap - 1);
  f->count--;
  return 1;
}

size_t uvcrawl__frontier_queued(const uvcrawl__frontier_t *f) { return f->count; }
size_t uvcrawl__frontier_seen(const uvcrawl__frontier_t *f) { return f->nseen; }

size_t uvcrawl__frontier_memory(const uvcrawl__frontier_t *f) {
  return sizeof(*f) + f->arena_bytes + f->nslots * sizeof(slot_t) +
         f->ring_cap * sizeof(uvcrawl__item_t);
}
