/* Error codes' texts and names, and the library's version (include/uvcrawl.h). No state. */
#include <string.h>

#include "uvcrawl.h"

const char *uvcrawl_strerror(int err) {
  switch (err) {
#define XX(code, val, msg) \
  case val:                \
    return msg;
    UVCRAWL_ERRNO_MAP(XX)
#undef XX
  default:
    return uv_strerror(err);
  }
}

const char *uvcrawl_err_name(int err) {
  char buf[64];
  switch (err) {
#define XX(code, val, msg) \
  case val:                \
    return #code;
    UVCRAWL_ERRNO_MAP(XX)
#undef XX
  default:
    /* uv_err_name() allocates (and leaks) a string for a code it does not know. */
    uv_err_name_r(err, buf, sizeof(buf));
    return strncmp(buf, "Unknown", 7) == 0 ? "UNKNOWN" : uv_err_name(err);
  }
}

const char *uvcrawl_version(void) { return UVCRAWL_VERSION_STRING; }
