/* A growable byte buffer with a hard cap (after curl's dynbuf): what a hostile server sends
 * can never grow one past its cap. Pure: no libuv, no I/O.
 *
 * The bytes are owned by the buffer: uvcrawl__dynbuf_free() releases them, and
 * uvcrawl__dynbuf_take() hands them over to the caller. A failed add leaves the contents as
 * they were. A zeroed buffer is an empty one with no cap, as after uvcrawl__dynbuf_init(b, 0).
 */
#ifndef UVCRAWL_DYNBUF_H
#define UVCRAWL_DYNBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  char *p;    /* NUL-terminated while non-NULL (the NUL is not counted in len) */
  size_t len;
  size_t cap; /* bytes allocated */
  size_t max; /* len may not pass this (0: SIZE_MAX / 2) */
} uvcrawl__dynbuf_t;

void uvcrawl__dynbuf_init(uvcrawl__dynbuf_t *b, size_t max);
/* Appends n bytes of s (borrowed). Returns 0, -ENOMEM, or -E2BIG (past max; nothing added). */
int uvcrawl__dynbuf_add(uvcrawl__dynbuf_t *b, const void *s, size_t n);
int uvcrawl__dynbuf_addstr(uvcrawl__dynbuf_t *b, const char *s);
/* printf-style append; returns as uvcrawl__dynbuf_add(), or -EINVAL for a bad format. */
int uvcrawl__dynbuf_addf(uvcrawl__dynbuf_t *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Empties the buffer, keeping its memory for reuse. */
void uvcrawl__dynbuf_reset(uvcrawl__dynbuf_t *b);
/* Returns the bytes (caller frees; NULL when empty) and empties the buffer. */
char *uvcrawl__dynbuf_take(uvcrawl__dynbuf_t *b, size_t *len);
void uvcrawl__dynbuf_free(uvcrawl__dynbuf_t *b);

/* The same buffer kept as a (*data, *len, *cap) triple in the caller's own struct (records,
 * the journal, response bodies): no NUL kept, no cap but the one given. *data is the caller's
 * (free()); on failure nothing changes. */
/* Reserve room for more bytes, or append n bytes (doubling from 256). Return 0 or
 * UV_ENOMEM. */
int uvcrawl__buf_reserve(char **data, size_t *len, size_t *cap, size_t more);
int uvcrawl__buf_add(char **data, size_t *len, size_t *cap, const void *s, size_t n);
/* Appends n bytes to a response body that may not grow past max bytes (doubling from 16 KiB).
 * *grown gets how much the capacity grew, for memory accounting. Returns 0, UVCRAWL_ETOOBIG
 * (nothing appended) or UV_ENOMEM. */
int uvcrawl__body_append(char **buf, size_t *len, size_t *cap, const char *p, size_t n,
                         uint64_t max, size_t *grown);

/* Grows the array *v of *cap elements of elem bytes to hold at least need: *cap doubles (from
 * first when 0) until it does. *v is the caller's (free()); it may be NULL with *cap 0. Returns
 * 0 or UV_ENOMEM (also when the size overflows); on failure *v and *cap are as they were. */
int uvcrawl__array_grow(void **v, size_t *cap, size_t need, size_t elem, size_t first);

#endif /* UVCRAWL_DYNBUF_H */
