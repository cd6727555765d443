/* CSS link extraction: the URLs a stylesheet makes a browser fetch.
 *
 * A tokenizer after CSS Syntax Level 3 (section 4), reduced to what decides where a URL is:
 * comments, strings (with escapes and line continuations), url() tokens, url("...") functions,
 * and `@import "..."`, with ident, hash, at-keyword and number/dimension tokens consumed whole so
 * that `myurl(`, `#url(`, `1url(` or a url( inside a comment or a string are never taken.
 *
 * Pure: bytes in, callbacks out. No I/O, no libuv, no global state; any number of threads may
 * scan at once. Memory: one scratch buffer per call for values that hold escapes. */
#ifndef UVCRAWL_CSS_H
#define UVCRAWL_CSS_H

#include <stddef.h>

/* Called for each URL in document order, with its escapes decoded (UTF-8) and, for url()
 * tokens, surrounding whitespace removed. url is borrowed for the call only and is NUL-terminated
 * (len excludes the NUL; a decoded NUL escape becomes U+FFFD, so len == strlen(url)). Empty
 * values are not reported. Return 0 to go on, anything else to stop the scan with that value. */
typedef int (*uvcrawl__css_url_cb)(void *arg, const char *url, size_t len);

/* Scans css (len bytes, borrowed, need not be NUL-terminated; NULL when len is 0). Returns 0,
 * the first nonzero value cb returned, or -ENOMEM (UV_ENOMEM) when the scratch buffer could not
 * be had. */
int uvcrawl__css_scan(const char *css, size_t len, uvcrawl__css_url_cb cb, void *arg);

/* The same scan, each URL with where its value is in css: [start, end) are the bytes inside
 * the quotes of a string, or of a url( ) token without its surrounding whitespace (escapes
 * still encoded there). For --convert-links. */
typedef int (*uvcrawl__css_span_cb)(void *arg, const char *url, size_t len, size_t start,
                                    size_t end);
int uvcrawl__css_scan_spans(const char *css, size_t len, uvcrawl__css_span_cb cb, void *arg);

#endif /* UVCRAWL_CSS_H */
