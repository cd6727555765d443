/* libFuzzer: replaying a damaged journal stops cleanly at the first bad record. */
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "uvcrawl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int visit(void *arg, int type, const char *url, const char *ref, size_t len, int depth) {
  size_t *n = arg;
  if (url == NULL || (type != 'D' && type != 'S' && type != 'C') || depth < 0) abort();
  if (type == 'C' && len > 0 && ref == NULL) abort();
  *n += strlen(url) + len;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t seen = 0;
  size_t valid = uvcrawl__journal_replay((const char *)data, size, visit, &seen);
  if (valid > size) abort();
  return 0;
}
