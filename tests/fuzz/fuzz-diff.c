/* libFuzzer: the fast scanner against gumbo. Wherever the scanner does not bail out, both must
 * give the same set of resolved links and the same base URL (tests/linkdiff.h); a difference
 * aborts with both sides printed. Seeds: tests/fixtures/*.html and, where ../shared exists,
 * the html5lib inputs (tests/fuzz/seed-html5lib.py). */
#include <stdint.h>
#include <stdlib.h>

#include "../linkdiff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int reason;
  /* gumbo needs ~700 bytes per element: keep inputs where it stays fast. */
  if (size > 1 << 16) return 0;
  if (linkdiff_run((const char *)data, size, &reason, 1) == LINKDIFF_DIFFERENT) abort();
  return 0;
}
