/* Retry policy (retry.h). Pure. */
#include <curl/curl.h>

#include "retry.h"

#define BACKOFF_BASE_MS 500
#define BACKOFF_MAX_MS 60000

int uvcrawl__retryable(int code, long status) {
  switch ((CURLcode)code) {
  case CURLE_OK: return status >= 500 || status == 408 || status == 429;
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_COULDNT_CONNECT:
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM: return 1;
  default: return 0;
  }
}

uint64_t uvcrawl__backoff_ms(unsigned attempts, uint64_t *rng) {
  unsigned shift = attempts < 7 ? attempts : 7;
  uint64_t base = (uint64_t)BACKOFF_BASE_MS << shift;
  if (base > BACKOFF_MAX_MS) base = BACKOFF_MAX_MS;
  *rng ^= *rng << 13;
  *rng ^= *rng >> 7;
  *rng ^= *rng << 17;
  return base / 2 + *rng % (base + 1);
}
