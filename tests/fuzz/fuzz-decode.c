/* libFuzzer: the content decoders on any bytes (the first byte picks the coding). A result is
 * never longer than the cap, and failing leaves no buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const codings[] = {"gzip", "deflate", "br", "zstd", "gzip, deflate",
                                        "identity", "br, gzip"};
  enum { CAP = 1 << 20 };
  if (size == 0) return 0;
  const char *c = codings[data[0] % (sizeof(codings) / sizeof(codings[0]))];
  char *out = (char *)1;
  size_t n = 0;
  int err = uvcrawl__decode(c, strlen(c), (const char *)data + 1, size - 1, CAP, &out, &n);
  if (err == 0 && (out == NULL || n > CAP)) abort();
  if (err != 0 && out != NULL) abort();
  free(out);
  return 0;
}
