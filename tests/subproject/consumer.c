/* Built against uvcrawl as a subproject: the public header and library, nothing else. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include <uvcrawl.h>

int main(void) {
  uvcrawl_options_t *o;
  if (uvcrawl_options_new(&o) != 0) return 1;
  int bad = uvcrawl_options_set_int(o, UVCRAWL_OPT_MAX_INFLIGHT, 0);
  uvcrawl_options_free(o);
  printf("uvcrawl %s (0x%06x): %s\n", uvcrawl_version(), (unsigned)UVCRAWL_VERSION_HEX,
         uvcrawl_err_name(bad));
  return bad == UV_EINVAL ? 0 : 1;
}
