/* libFuzzer: --convert-links on any document, as HTML and as CSS, against a small map. It
 * must not crash or leak, and what it writes must differ from the input only inside the
 * values it reported converting (checked loosely: an unchanged document gives no output). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uvcrawl__convert_t *map(void) {
  static uvcrawl__convert_t *cv;
  static const char *const saved[][2] = {
      {"http://example.com/a/b", "text/html"}, {"http://example.com/a/i.png", "image/png"},
      {"http://example.com/", "text/html"},    {"http://example.com/s.css?v=1", "text/css"},
      {"http://cdn.example:8080/x y.png", "image/png"}};
  size_t n;
  if (cv != NULL) return cv;
  cv = uvcrawl__convert_new(1);
  if (cv == NULL) abort();
  for (size_t i = 0; i < sizeof(saved) / sizeof(saved[0]); i++)
    if (uvcrawl__convert_saved(cv, saved[i][0], saved[i][1]) != 0) abort();
  if (uvcrawl__convert_redirect(cv, "http://example.com/old", "http://example.com/a/b") != 0 ||
      uvcrawl__convert_freeze(cv, &n) != 0)
    abort();
  return cv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uvcrawl__convert_t *cv = map();
  for (int css = 0; css < 2; css++) {
    char *out;
    size_t outlen, n;
    if (uvcrawl__convert_doc(cv, "http://example.com/a/b", "example.com/a/b.html", css,
                             (const char *)data, size, &out, &outlen, &n) != 0)
      abort();
    if ((out == NULL) != (n == 0)) abort();
    free(out);
  }
  return 0;
}
