/* Content codings undone: zlib for gzip and deflate, libbrotli and libzstd where built. */
#include "decode.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>
#ifdef UVCRAWL_HAVE_BROTLI
#include <brotli/decode.h>
#endif
#ifdef UVCRAWL_HAVE_ZSTD
#include <zstd.h>
#endif

#include "dynbuf.h"

const char *uvcrawl__decode_accept(void) {
  return "gzip, deflate"
#ifdef UVCRAWL_HAVE_BROTLI
         ", br"
#endif
#ifdef UVCRAWL_HAVE_ZSTD
         ", zstd"
#endif
      ;
}

static size_t trim(const char **s, size_t n) {
  while (n > 0 && (**s == ' ' || **s == '\t')) (*s)++, n--;
  while (n > 0 && ((*s)[n - 1] == ' ' || (*s)[n - 1] == '\t')) n--;
  return n;
}

int uvcrawl__decode_is_identity(const char *coding, size_t n) {
  if (coding == NULL) return 1;
  n = trim(&coding, n);
  return n == 0 || (n == 8 && strncasecmp(coding, "identity", 8) == 0);
}

/* zlib: windowBits 15 + 32 reads gzip and zlib headers; a deflate body without a zlib header
 * (what some servers send for "deflate") is retried raw. */
static int inflate_into(uvcrawl__dynbuf_t *out, const char *in, size_t len, int wbits) {
  unsigned char tmp[32768];
  z_stream z;
  memset(&z, 0, sizeof(z));
  if (inflateInit2(&z, wbits) != Z_OK) return -ENOMEM;
  z.next_in = (Bytef *)(uintptr_t)in;
  int err = 0;
  size_t left = len;
  for (;;) {
    if (z.avail_in == 0 && left > 0) {
      uInt slice = left > (1u << 30) ? (1u << 30) : (uInt)left;
      z.avail_in = slice;
      left -= slice;
    }
    z.next_out = tmp;
    z.avail_out = sizeof(tmp);
    int r = inflate(&z, Z_NO_FLUSH);
    if ((err = uvcrawl__dynbuf_add(out, tmp, sizeof(tmp) - z.avail_out)) != 0) break;
    if (r == Z_STREAM_END) {
      /* gzip allows members one after another: go on with the next one. */
      if (z.avail_in == 0 && left == 0) break;
      if (wbits == -15 || inflateReset(&z) != Z_OK) break;
      continue;
    }
    if (r == Z_BUF_ERROR && z.avail_in == 0 && left == 0) break; /* cut short: keep what came */
    if (r == Z_MEM_ERROR) err = -ENOMEM;
    else if (r != Z_OK && r != Z_BUF_ERROR) err = -EBADMSG;
    if (err != 0) break;
  }
  inflateEnd(&z);
  return err;
}

#ifdef UVCRAWL_HAVE_BROTLI
static int brotli_into(uvcrawl__dynbuf_t *out, const char *in, size_t len) {
  unsigned char tmp[32768];
  BrotliDecoderState *s = BrotliDecoderCreateInstance(NULL, NULL, NULL);
  if (s == NULL) return -ENOMEM;
  const uint8_t *next_in = (const uint8_t *)in;
  size_t avail_in = len;
  int err = 0;
  for (;;) {
    uint8_t *next_out = tmp;
    size_t avail_out = sizeof(tmp);
    BrotliDecoderResult r =
        BrotliDecoderDecompressStream(s, &avail_in, &next_in, &avail_out, &next_out, NULL);
    if ((err = uvcrawl__dynbuf_add(out, tmp, sizeof(tmp) - avail_out)) != 0) break;
    if (r == BROTLI_DECODER_RESULT_SUCCESS) break;
    if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) break; /* cut short */
    if (r == BROTLI_DECODER_RESULT_ERROR) {
      err = -EBADMSG;
      break;
    }
  }
  BrotliDecoderDestroyInstance(s);
  return err;
}
#endif

#ifdef UVCRAWL_HAVE_ZSTD
static int zstd_into(uvcrawl__dynbuf_t *out, const char *in, size_t len) {
  unsigned char tmp[32768];
  ZSTD_DStream *s = ZSTD_createDStream();
  if (s == NULL) return -ENOMEM;
  ZSTD_inBuffer ib = {in, len, 0};
  int err = 0;
  while (ib.pos < ib.size) {
    ZSTD_outBuffer ob = {tmp, sizeof(tmp), 0};
    size_t r = ZSTD_decompressStream(s, &ob, &ib);
    if (ZSTD_isError(r)) {
      err = -EBADMSG;
      break;
    }
    if ((err = uvcrawl__dynbuf_add(out, tmp, ob.pos)) != 0) break;
  }
  /* Output still held in the decoder once the input is used up. */
  for (int more = 1; err == 0 && more;) {
    ZSTD_outBuffer ob = {tmp, sizeof(tmp), 0};
    size_t r = ZSTD_decompressStream(s, &ob, &ib);
    if (ZSTD_isError(r)) break;
    err = uvcrawl__dynbuf_add(out, tmp, ob.pos);
    more = ob.pos == sizeof(tmp);
  }
  ZSTD_freeDStream(s);
  return err;
}
#endif

/* One coding of in into out. */
static int decode_one(const char *c, size_t n, const char *in, size_t len,
                      uvcrawl__dynbuf_t *out) {
  if ((n == 4 && strncasecmp(c, "gzip", 4) == 0) || (n == 6 && strncasecmp(c, "x-gzip", 6) == 0))
    return inflate_into(out, in, len, 15 + 16);
  if (n == 7 && strncasecmp(c, "deflate", 7) == 0) {
    size_t start = out->len;
    int err = inflate_into(out, in, len, 15);
    if (err == -EBADMSG) {
      out->len = start;
      err = inflate_into(out, in, len, -15);
    }
    return err;
  }
#ifdef UVCRAWL_HAVE_BROTLI
  if (n == 2 && strncasecmp(c, "br", 2) == 0) return brotli_into(out, in, len);
#endif
#ifdef UVCRAWL_HAVE_ZSTD
  if (n == 4 && strncasecmp(c, "zstd", 4) == 0) return zstd_into(out, in, len);
#endif
  if (uvcrawl__decode_is_identity(c, n)) return uvcrawl__dynbuf_add(out, in, len);
  return -ENOTSUP;
}

int uvcrawl__decode(const char *coding, size_t n, const char *in, size_t len, size_t max,
                    char **out, size_t *outlen) {
  uvcrawl__dynbuf_t cur;
  char *held = NULL; /* the input of the current step, when it is ours */
  size_t held_len = len;
  const char *src = in;
  int err = 0;
  *out = NULL;
  *outlen = 0;
  /* Codings are listed in the order applied: undo them from the last. */
  size_t end = n;
  while (err == 0) {
    size_t k = end;
    while (k > 0 && coding[k - 1] != ',') k--;
    const char *c = coding + k;
    size_t cn = trim(&c, end - k);
    uvcrawl__dynbuf_init(&cur, max);
    err = cn == 0 ? uvcrawl__dynbuf_add(&cur, src, held_len) : decode_one(c, cn, src, held_len, &cur);
    free(held);
    held = NULL;
    if (err != 0) {
      uvcrawl__dynbuf_free(&cur);
      break;
    }
    held = uvcrawl__dynbuf_take(&cur, &held_len);
    if (held == NULL && (held = malloc(1)) == NULL) err = -ENOMEM;
    src = held;
    if (k == 0) break;
    end = k - 1;
  }
  if (err != 0) {
    free(held);
    return err;
  }
  *out = held;
  *outlen = held_len;
  return 0;
}
