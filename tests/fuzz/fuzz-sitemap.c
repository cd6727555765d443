/* libFuzzer: sitemap parsing (gzip or XML) of any bytes: never crash, leak or overrun, and
 * every kept loc is trimmed, non-empty and within the caps. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "sitemap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int initialized;
  if (!initialized) {
    uvcrawl__sitemap_global_init();
    initialized = 1;
  }
  /* A small inflate cap keeps gzip inputs fast; the URL cap comes from the input's length so
   * both a tiny and the default cap get exercised. */
  size_t max_urls = size % 7 == 0 ? 0 : size % 7;
  uvcrawl__sitemap_t s;
  int r = uvcrawl__sitemap_parse((const char *)data, size, 1024 * 1024, max_urls, &s);
  if (r != 0 && r != UV_EINVAL && r != UV_E2BIG && r != UV_ENOMEM) abort();
  if (r != 0 && (s.n != 0 || s.locs != NULL)) abort();
  if (s.n > (max_urls ? max_urls : UVCRAWL__SITEMAP_MAX_URLS) || s.n > s.cap) abort();
  if (s.index != 0 && s.index != 1) abort();
  for (size_t i = 0; i < s.n; i++) {
    size_t n = strlen(s.locs[i]);
    if (n == 0 || n > UVCRAWL__SITEMAP_MAX_LOC) abort();
    if (is_space(s.locs[i][0]) || is_space(s.locs[i][n - 1])) abort();
  }
  uvcrawl__sitemap_free(&s);
  return 0;
}
