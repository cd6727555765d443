/* libFuzzer: URL resolution, normalization, origin, trap check and mirror path of any input.
 * Normalizing twice must give the same string (idempotence), and a mirror path never climbs
 * out of its root. */
#include <stdlib.h>
#include <string.h>

#include "uvcrawl-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *ref = malloc(size + 1), *abs = NULL, *again = NULL, *origin = NULL, *path = NULL;
  if (ref == NULL) return 0;
  memcpy(ref, data, size);
  ref[size] = '\0';
  if (uvcrawl__url_resolve("http://example.com/a/b/c?q", ref, &abs) == 0) {
    if (uvcrawl__url_resolve(NULL, abs, &again) != 0 || strcmp(abs, again) != 0) abort();
    if (uvcrawl__url_origin(abs, &origin) != 0) abort();
    (void)uvcrawl__url_is_trap(abs);
    if (uvcrawl__store_path(abs, &path) == 0) {
      if (path[0] == '/' || strstr(path, "/../") || strncmp(path, "../", 3) == 0) abort();
    }
  }
  free(ref);
  free(abs);
  free(again);
  free(origin);
  free(path);
  return 0;
}
