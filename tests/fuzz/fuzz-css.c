/* libFuzzer: the CSS URL scanner on any bytes. Each reported URL must be non-empty, have no
 * NUL inside and lie within what the scanner may build (escapes decode to at most 4 bytes
 * per 2 input bytes, a raw byte to at most 3). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "css.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_url(void *arg, const char *url, size_t len) {
  size_t size = *(size_t *)arg;
  if (len == 0 || strlen(url) != len || len > 3 * size) abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (uvcrawl__css_scan((const char *)data, size, on_url, &size) != 0) abort();
  return 0;
}
