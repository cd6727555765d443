/* Content codings undone (decode.c): gzip, deflate with and without its zlib header, several
 * gzip members, br and zstd where built, lists of codings, caps, truncation and corruption. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#if defined(UVCRAWL_HAVE_BROTLI) && defined(TEST_BROTLI_ENC)
#include <brotli/encode.h>
#endif
#ifdef UVCRAWL_HAVE_ZSTD
#include <zstd.h>
#endif

#include "decode.h"
#include "task.h"

static const char text[] = "<!doctype html><p>the page as the server meant it, repeated: "
                           "the page as the server meant it</p>\n";

/* zlib-deflates in with windowBits wbits (31: gzip, 15: zlib, -15: raw) into out. */
static size_t z(const char *in, size_t len, int wbits, unsigned char *out, size_t cap) {
  z_stream s;
  memset(&s, 0, sizeof(s));
  ASSERT_EQ(deflateInit2(&s, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  s.next_in = (Bytef *)(uintptr_t)in;
  s.avail_in = (uInt)len;
  s.next_out = out;
  s.avail_out = (uInt)cap;
  ASSERT_EQ(deflate(&s, Z_FINISH), Z_STREAM_END);
  size_t n = cap - s.avail_out;
  deflateEnd(&s);
  return n;
}

static void expect(const char *coding, const void *in, size_t len, const char *want, size_t wlen) {
  char *out;
  size_t n;
  ASSERT_EQ(uvcrawl__decode(coding, strlen(coding), in, len, 0, &out, &n), 0);
  ASSERT_EQ(n, wlen);
  ASSERT(memcmp(out, want, wlen) == 0);
  free(out);
}

int main(void) {
  unsigned char a[1024], b[1024], two[2048];
  size_t tl = strlen(text), n, m;
  char *out;

  static const char accept[] = "gzip, deflate"
#ifdef UVCRAWL_HAVE_BROTLI
                               ", br"
#endif
#ifdef UVCRAWL_HAVE_ZSTD
                               ", zstd"
#endif
      ;
  ASSERT_STR_EQ(uvcrawl__decode_accept(), accept);
  ASSERT(uvcrawl__decode_is_identity(NULL, 0));
  ASSERT(uvcrawl__decode_is_identity(" identity ", 10));
  ASSERT(!uvcrawl__decode_is_identity("gzip", 4));

  n = z(text, tl, 31, a, sizeof(a));
  expect("gzip", a, n, text, tl);
  expect("GZIP", a, n, text, tl);
  expect("x-gzip", a, n, text, tl);
  /* Two members one after another: both decoded. */
  memcpy(two, a, n);
  memcpy(two + n, a, n);
  char twice[2 * sizeof(text)];
  memcpy(twice, text, tl);
  memcpy(twice + tl, text, tl);
  expect("gzip", two, 2 * n, twice, 2 * tl);
  /* deflate: zlib-wrapped as the RFC says, and raw as some servers send it. */
  m = z(text, tl, 15, b, sizeof(b));
  expect("deflate", b, m, text, tl);
  m = z(text, tl, -15, b, sizeof(b));
  expect("deflate", b, m, text, tl);
  /* A list is undone from the last coding applied: gzip, then deflate over that. */
  m = z((const char *)a, n, 15, b, sizeof(b));
  expect("gzip, deflate", b, m, text, tl);
  expect("identity", text, tl, text, tl);
  /* Cut short in transit: what decoded so far. */
  ASSERT_EQ(uvcrawl__decode("gzip", 4, (const char *)a, n - 10, 0, &out, &m), 0);
  ASSERT(m <= tl && memcmp(out, text, m) == 0);
  free(out);
  /* Over the cap, corrupt, unknown. */
  ASSERT_EQ(uvcrawl__decode("gzip", 4, (const char *)a, n, 10, &out, &m), -E2BIG);
  ASSERT_NULL(out);
  memcpy(b, a, n);
  b[12] ^= 0xff;
  b[13] ^= 0xff;
  ASSERT_EQ(uvcrawl__decode("gzip", 4, (const char *)b, n, 0, &out, &m), -EBADMSG);
  ASSERT_EQ(uvcrawl__decode("compress", 8, text, tl, 0, &out, &m), -ENOTSUP);
  /* Empty bodies decode to nothing, with a buffer all the same. */
  ASSERT_EQ(uvcrawl__decode("gzip", 4, "", 0, 0, &out, &m), 0);
  ASSERT_NOT_NULL(out);
  ASSERT_EQ(m, 0);
  free(out);
#if defined(UVCRAWL_HAVE_BROTLI) && defined(TEST_BROTLI_ENC)
  size_t bl = sizeof(b);
  ASSERT(BrotliEncoderCompress(5, 22, BROTLI_MODE_TEXT, tl, (const uint8_t *)text, &bl, b));
  expect("br", b, bl, text, tl);
  puts("br: ok");
#endif
#ifdef UVCRAWL_HAVE_ZSTD
  size_t zl = ZSTD_compress(b, sizeof(b), text, tl, 3);
  ASSERT(!ZSTD_isError(zl));
  expect("zstd", b, zl, text, tl);
  puts("zstd: ok");
#endif
  return 0;
}
