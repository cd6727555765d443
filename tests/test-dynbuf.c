/* src/dynbuf.c: the typed-array growth, the capped buffer's cap, and sizes that overflow. */
#include "task.h"
#include "dynbuf.h"
#include "uvcrawl.h"

static void test_array_grow(void) {
  int *v = NULL;
  size_t cap = 0;
  ASSERT_EQ(uvcrawl__array_grow((void **)&v, &cap, 0, sizeof(*v), 8), 0); /* nothing needed */
  ASSERT_NULL(v);
  ASSERT_EQ(cap, 0);
  ASSERT_EQ(uvcrawl__array_grow((void **)&v, &cap, 1, sizeof(*v), 8), 0);
  ASSERT_NOT_NULL(v);
  ASSERT_EQ(cap, 8);
  for (int i = 0; i < 8; i++) v[i] = i;
  int *was = v;
  ASSERT_EQ(uvcrawl__array_grow((void **)&v, &cap, 8, sizeof(*v), 8), 0); /* room already */
  ASSERT(v == was);
  ASSERT_EQ(cap, 8);
  ASSERT_EQ(uvcrawl__array_grow((void **)&v, &cap, 9, sizeof(*v), 8), 0); /* doubles */
  ASSERT_EQ(cap, 16);
  ASSERT_EQ(uvcrawl__array_grow((void **)&v, &cap, 100, sizeof(*v), 8), 0); /* until it fits */
  ASSERT_EQ(cap, 128);
  for (int i = 0; i < 8; i++) ASSERT_EQ(v[i], i);

  /* Sizes past SIZE_MAX: an error, and the array as it was. */
  was = v;
  ASSERT_EQ(uvcrawl__array_grow((void **)&v, &cap, SIZE_MAX / 2, sizeof(*v), 8), UV_ENOMEM);
  ASSERT(v == was);
  ASSERT_EQ(cap, 128);
  ASSERT_EQ(uvcrawl__array_grow((void **)&v, &cap, SIZE_MAX, 1, 8), UV_ENOMEM); /* doubling */
  ASSERT(v == was);
  ASSERT_EQ(cap, 128);
  for (int i = 0; i < 8; i++) ASSERT_EQ(v[i], i);
  free(v);

  /* No first: one element; a huge first overflows at the multiplication. */
  char *c = NULL;
  cap = 0;
  ASSERT_EQ(uvcrawl__array_grow((void **)&c, &cap, 1, 1, 0), 0);
  ASSERT_EQ(cap, 1);
  free(c);
  c = NULL;
  cap = 0;
  ASSERT_EQ(uvcrawl__array_grow((void **)&c, &cap, 1, 16, SIZE_MAX / 8), UV_ENOMEM);
  ASSERT_NULL(c);
  ASSERT_EQ(cap, 0);
}

static void test_buf_overflow(void) {
  char *b = NULL;
  size_t len = 0, cap = 0;
  ASSERT_EQ(uvcrawl__buf_add(&b, &len, &cap, "abc", 3), 0);
  ASSERT_EQ(cap, 256);
  /* A need no doubling reaches is an error, not a wrapped size. */
  ASSERT_EQ(uvcrawl__buf_reserve(&b, &len, &cap, SIZE_MAX - 8), UV_ENOMEM);
  ASSERT_EQ(cap, 256);
  ASSERT_EQ(len, 3);
  ASSERT(memcmp(b, "abc", 3) == 0);
  free(b);
}

static void test_dynbuf_cap(void) {
  uvcrawl__dynbuf_t d;
  uvcrawl__dynbuf_init(&d, 1000);
  char block[300];
  memset(block, 'x', sizeof block);
  for (int i = 0; i < 3; i++) ASSERT_EQ(uvcrawl__dynbuf_add(&d, block, sizeof block), 0);
  ASSERT_EQ(uvcrawl__dynbuf_add(&d, block, sizeof block), UV_E2BIG); /* 1200 > 1000 */
  ASSERT_EQ(d.len, 900);
  ASSERT_EQ(uvcrawl__dynbuf_add(&d, block, 100), 0); /* exactly the cap */
  ASSERT_EQ(d.len, 1000);
  ASSERT_EQ(d.p[1000], '\0');
  ASSERT_LE(d.cap, 1001); /* never more memory than the cap and the NUL */
  ASSERT_EQ(uvcrawl__dynbuf_add(&d, "y", 1), UV_E2BIG);
  uvcrawl__dynbuf_free(&d);
}

int main(void) {
  test_array_grow();
  test_buf_overflow();
  test_dynbuf_cap();
  return 0;
}
