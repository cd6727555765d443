/* HTTP content codings undone (RFC 9110 8.4): gzip, deflate (zlib or raw, as servers send
 * both), and br and zstd when uvcrawl was built with libbrotli and libzstd. The WARC keeps a
 * response's coding; md5, parsing and the mirror want the decoded bytes, so this runs on the
 * thread pool. Pure: bytes in, bytes out, no global state. */
#ifndef UVCRAWL_DECODE_H
#define UVCRAWL_DECODE_H

#include <stddef.h>

/* The Accept-Encoding value for the codings this build decodes ("gzip, deflate, br, zstd"),
 * static storage. */
const char *uvcrawl__decode_accept(void);

/* 1 when the Content-Encoding value (NULL or borrowed, of n bytes) asks for no decoding
 * ("", "identity"); else 0. */
int uvcrawl__decode_is_identity(const char *coding, size_t n);

/* Decodes in[0..len) coded as coding (a Content-Encoding value of n bytes: one coding or a
 * comma-separated list, applied in order, undone last first; case-insensitive) into a malloc'd
 * *out of *outlen bytes that the caller frees (never NULL on success, even when empty). A
 * stream cut short gives what decoded so far (a body truncated in transit). Returns 0,
 * -ENOTSUP (a coding this build does not know), -EBADMSG (corrupt data), -E2BIG (the result
 * would pass max bytes) or -ENOMEM; *out is NULL on failure. */
int uvcrawl__decode(const char *coding, size_t n, const char *in, size_t len, size_t max,
                    char **out, size_t *outlen);

#endif /* UVCRAWL_DECODE_H */
