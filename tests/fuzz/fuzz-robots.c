/* libFuzzer: robots.txt parsing and matching of any bytes. */
#include <stdlib.h>
#include <string.h>

#include "robots.h"
#include "uvcrawl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uvcrawl__robots_t *r;
  int capped;
  if (uvcrawl__robots_parse((const char *)data, size, "uvcrawl/0.1", &r) != 0) return 0;
  /* The body's own first line doubles as a path to match. */
  char path[256];
  size_t n = size < sizeof(path) - 1 ? size : sizeof(path) - 1;
  memcpy(path, data, n);
  path[n] = '\0';
  (void)uvcrawl__robots_allowed(r, path);
  (void)uvcrawl__robots_allowed(r, "/a/b?c=d");
  (void)uvcrawl__robots_crawl_delay_ms(r, &capped);
  for (size_t i = 0; i < uvcrawl__robots_sitemaps(r); i++)
    if (uvcrawl__robots_sitemap(r, i) == NULL) abort();
  uvcrawl__robots_free(r);
  return 0;
}
