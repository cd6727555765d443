/* The capped growable buffer; doubling from 256 bytes. And the same growth, one routine, for
 * callers who keep (data, len, cap) in their own structs: records, the journal, response
 * bodies; and for typed arrays (element counts, not bytes). Pure. */
#include "dynbuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uvcrawl.h" /* UVCRAWL_ETOOBIG */

void uvcrawl__dynbuf_init(uvcrawl__dynbuf_t *b, size_t max) {
  b->p = NULL;
  b->len = b->cap = 0;
  b->max = max ? max : SIZE_MAX / 2;
}

/* The one growth rule: room for need more bytes past len in *p (*cap allocated), doubling
 * from first, at most limit bytes (len + need <= limit). 0 or -ENOMEM; nothing changes on
 * failure. */
static int grow(char **p, size_t *cap, size_t len, size_t need, size_t first, size_t limit) {
  if (*cap - len >= need) return 0;
  size_t c = *cap ? *cap : first;
  while (c - len < need) {
    if (c > SIZE_MAX / 2) return -ENOMEM; /* a need no doubling reaches */
    c *= 2;
  }
  if (c > limit) c = limit;
  char *q = realloc(*p, c);
  if (q == NULL) return -ENOMEM;
  *p = q;
  *cap = c;
  return 0;
}

/* Room for n more bytes and the NUL. */
static int reserve(uvcrawl__dynbuf_t *b, size_t n) {
  size_t max = b->max ? b->max : SIZE_MAX / 2; /* zeroed: as uvcrawl__dynbuf_init(b, 0) */
  if (n > max - b->len) return -E2BIG;
  /* Doubling cannot overflow: len + n <= max <= SIZE_MAX / 2. Never more memory than the
   * cap lets the contents fill. */
  return grow(&b->p, &b->cap, b->len, n + 1, 256, max + 1);
}

int uvcrawl__dynbuf_add(uvcrawl__dynbuf_t *b, const void *s, size_t n) {
  int err = reserve(b, n);
  if (err != 0) return err;
  if (n > 0) memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 0;
}

int uvcrawl__dynbuf_addstr(uvcrawl__dynbuf_t *b, const char *s) {
  return uvcrawl__dynbuf_add(b, s, strlen(s));
}

int uvcrawl__dynbuf_addf(uvcrawl__dynbuf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return -EINVAL;
  int err = reserve(b, (size_t)n);
  if (err != 0) return err;
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

void uvcrawl__dynbuf_reset(uvcrawl__dynbuf_t *b) {
  b->len = 0;
  if (b->p != NULL) b->p[0] = '\0';
}

char *uvcrawl__dynbuf_take(uvcrawl__dynbuf_t *b, size_t *len) {
  char *p = b->len ? b->p : NULL;
  if (len != NULL) *len = b->len;
  if (p == NULL) free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
  return p;
}

void uvcrawl__dynbuf_free(uvcrawl__dynbuf_t *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

/* ---- (data, len, cap) triples ------------------------------------------------------- */

int uvcrawl__buf_reserve(char **data, size_t *len, size_t *cap, size_t more) {
  return grow(data, cap, *len, more, 256, SIZE_MAX);
}

int uvcrawl__buf_add(char **data, size_t *len, size_t *cap, const void *s, size_t n) {
  int err = uvcrawl__buf_reserve(data, len, cap, n);
  if (err) return err;
  memcpy(*data + *len, s, n);
  *len += n;
  return 0;
}

int uvcrawl__body_append(char **buf, size_t *len, size_t *cap, const char *p, size_t n,
                         uint64_t max, size_t *grown) {
  *grown = 0;
  if (*len + n > max) return UVCRAWL_ETOOBIG;
  size_t was = *cap;
  int err = grow(buf, cap, *len, n, 16384, (size_t)max);
  if (err != 0) return err;
  *grown = *cap - was;
  memcpy(*buf + *len, p, n);
  *len += n;
  return 0;
}

/* ---- typed arrays -------------------------------------------------------------------- */

int uvcrawl__array_grow(void **v, size_t *cap, size_t need, size_t elem, size_t first) {
  if (need <= *cap) return 0;
  size_t n = *cap;
  if (n == 0) n = first ? first : 1;
  else if (n > SIZE_MAX / 2) return -ENOMEM;
  else n *= 2;
  while (n < need) {
    if (n > SIZE_MAX / 2) return -ENOMEM;
    n *= 2;
  }
  if (elem != 0 && n > SIZE_MAX / elem) return -ENOMEM;
  void *p = realloc(*v, n * elem);
  if (p == NULL) return -ENOMEM;
  *v = p;
  *cap = n;
  return 0;
}
