/* libFuzzer: the WARC HTTP head rewriter and the SURT key on any bytes. A head that is
 * accepted must come out as CRLF lines closed by one blank line, with no Transfer-Encoding. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cdxj.h"
#include "warc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uvcrawl__dynbuf_t b;
  const char *proto;
  uvcrawl__dynbuf_init(&b, 1 << 20);
  if (uvcrawl__warc_http_head(&b, (const char *)data, size, &proto) == 0) {
    if (b.len < 4 || memcmp(b.p + b.len - 4, "\r\n\r\n", 4) != 0) abort();
    for (size_t i = 0; i + 1 < b.len; i++)
      if (b.p[i] == '\n' && b.p[i + 1] != '\r' && strncasecmp(b.p + i + 1, "transfer-encoding:", 18) == 0)
        abort();
  }
  uvcrawl__dynbuf_reset(&b);
  char *url = malloc(size + 1);
  if (url == NULL) return 0;
  memcpy(url, data, size);
  url[size] = '\0';
  (void)uvcrawl__cdxj_surt(&b, url);
  free(url);
  uvcrawl__dynbuf_free(&b);
  return 0;
}
