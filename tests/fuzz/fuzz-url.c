/* libFuzzer: URL resolution, normalization, origin, trap check and mirror path of any input.
 * Normalizing twice must give the same string (idempotence), and a mirror path never climbs
 * out of its root. The string-read scope and the pre-filters agree with the parsing ones. */
#include <stdlib.h>
#include <string.h>

#include "uvcrawl-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *ref = malloc(size + 1), *abs = NULL, *again = NULL, *origin = NULL, *path = NULL;
  if (ref == NULL) return 0;
  memcpy(ref, data, size);
  ref[size] = '\0';
  /* The pre-filters only ever say what the resolver would. */
  if (uvcrawl__url_surely_skipped(ref) &&
      uvcrawl__url_resolve("http://example.com/", ref, &abs) == 0)
    abort();
  if (uvcrawl__url_is_self(ref)) {
    char *self = NULL;
    int e1 = uvcrawl__url_resolve("http://example.com/a?b", ref, &self);
    int e2 = uvcrawl__url_resolve("http://example.com/a?b", strchr(ref, '%') ? "#%" : "", &abs);
    if (e1 != e2 || (e1 == 0 && strcmp(self, abs) != 0)) abort();
    free(self);
  }
  free(abs);
  abs = NULL;
  if (uvcrawl__url_resolve("http://example.com/a/b/c?q", ref, &abs) == 0) {
    if (uvcrawl__url_resolve(NULL, abs, &again) != 0 || strcmp(abs, again) != 0) abort();
    if (uvcrawl__url_origin(abs, &origin) != 0) abort();
    /* Scope read from the string agrees with the parsed origin. */
    const char *const mine[] = {origin}, *const other[] = {"http://example.com:80"};
    if (uvcrawl__url_has_origin(abs, mine, 1) != 1) abort();
    if (uvcrawl__url_has_origin(abs, other, 1) != (strcmp(origin, other[0]) == 0)) abort();
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
