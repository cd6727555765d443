/* Content types (mime.h). Pure. */
#include "mime.h"

#include <stddef.h>
#include <strings.h>

int uvcrawl__is_html(const char *ct) {
  return ct != NULL && (strncasecmp(ct, "text/html", 9) == 0 ||
                        strncasecmp(ct, "application/xhtml+xml", 21) == 0);
}

int uvcrawl__is_css(const char *ct) { return ct != NULL && strncasecmp(ct, "text/css", 8) == 0; }

int uvcrawl__should_parse(long status, const char *ct, int depth, int max_depth) {
  return (uvcrawl__is_html(ct) || uvcrawl__is_css(ct)) && status >= 200 && status < 300 &&
         (max_depth < 0 || depth < max_depth);
}
