/* libFuzzer: link extraction from arbitrary bytes (must never crash, leak or overrun). */
#include <stdlib.h>
#include <string.h>

#include "extract.h"
#include "url.h"
#include "uvcrawl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uvcrawl__links_t links;
  memset(&links, 0, sizeof(links));
  if (uvcrawl__extract_links((const char *)data, size, 1000, &links) == 0) {
    for (size_t i = 0; i < links.n; i++) {
      char *abs;
      if (uvcrawl__url_resolve("http://example.com/a/b?c", links.refs[i], &abs) == 0) free(abs);
    }
  }
  uvcrawl__links_free(&links);
  return 0;
}
