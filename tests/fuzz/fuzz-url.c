/* libFuzzer: URL resolution, normalization, origin, trap check and mirror path of any input.
 * Normalizing twice must give the same string (idempotence), and a mirror path never climbs
 * out of its root. The string-read scope and the pre-filters agree with the parsing ones, and
 * the NUL-separated pieces of the input, as one page's refs, give the same links through
 * uvcrawl__job_resolve_links()'s fast path as through its plain one (repeats aside). */
#include <stdlib.h>
#include <string.h>

#include "extract.h"
#include "jobs.h"
#include "store.h"
#include "url.h"
#include "uvcrawl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fast path's list must be the plain one's first occurrences, in order. */
static void same_list(char **plain, size_t np, char **fast, size_t nf) {
  size_t k = 0;
  for (size_t i = 0; i < np; i++) {
    size_t j = 0;
    while (j < i && strcmp(plain[j], plain[i]) != 0) j++;
    if (j < i) continue;
    if (k >= nf || strcmp(fast[k], plain[i]) != 0) abort();
    k++;
  }
  if (k != nf) abort();
}

static void compare_paths(char *buf, size_t size) {
  static const char *const origins[] = {"http://example.com:80"};
  char *refs[64];
  uvcrawl__links_t found;
  memset(&found, 0, sizeof(found));
  for (size_t i = 0; i <= size && found.n < 64;) { /* buf[size] is the final NUL */
    refs[found.n++] = buf + i;
    i += strlen(buf + i) + 1;
  }
  found.refs = refs;
  for (int mode = 0; mode < 4; mode++) {
    uvcrawl__job_t plain, fast;
    memset(&plain, 0, sizeof(plain));
    plain.url = "http://example.com/a/b/c?q";
    plain.origins = origins;
    plain.norigins = mode & 1;
    plain.keep_foreign = mode >> 1;
    fast = plain;
    if (uvcrawl__job_resolve_links(&plain, &found, 0) != 0 ||
        uvcrawl__job_resolve_links(&fast, &found, 1) != 0)
      abort();
    same_list(plain.links, plain.nlinks, fast.links, fast.nlinks);
    same_list(plain.foreign, plain.nforeign, fast.foreign, fast.nforeign);
    if (plain.ngiven != fast.ngiven) abort();
    uvcrawl__job_cleanup(&plain);
    uvcrawl__job_cleanup(&fast);
  }
}

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
  compare_paths(ref, size);
  free(ref);
  free(abs);
  free(again);
  free(origin);
  free(path);
  return 0;
}
