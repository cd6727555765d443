/* Error codes' texts and names, and the library's version (include/uvcrawl.h). No state. */
#include <errno.h>
#include <string.h>

#include "uvcrawl.h"

/* The pure modules return -errno values without libuv's header (meson.build): on Unix those
 * are libuv's codes. */
_Static_assert(UV_ENOMEM == -ENOMEM && UV_EINVAL == -EINVAL && UV_E2BIG == -E2BIG &&
                   UV_EIO == -EIO && UV_ENOTSUP == -ENOTSUP,
               "libuv's error codes are negated errno values");

/* 1 when libuv knows err (for a code it does not, uv_strerror() and uv_err_name() allocate a
 * string that is never freed). */
static int uv_knows(int err) {
  char buf[64];
  uv_err_name_r(err, buf, sizeof(buf));
  return strncmp(buf, "Unknown", 7) != 0;
}

const char *uvcrawl_strerror(int err) {
  switch (err) {
#define XX(code, val, msg) \
  case val:                \
    return msg;
    UVCRAWL_ERRNO_MAP(XX)
#undef XX
  default:
    return uv_knows(err) ? uv_strerror(err) : "unknown error";
  }
}

const char *uvcrawl_err_name(int err) {
  switch (err) {
#define XX(code, val, msg) \
  case val:                \
    return #code;
    UVCRAWL_ERRNO_MAP(XX)
#undef XX
  default:
    return uv_knows(err) ? uv_err_name(err) : "UNKNOWN";
  }
}

const char *uvcrawl_version(void) { return UVCRAWL_VERSION_STRING; }
