/* Retry policy: which failures are worth another attempt, and how long to wait before it.
 * Pure (curl's header for the CURLcode values only; nothing is linked from libcurl). */
#ifndef UVCRAWL_RETRY_H
#define UVCRAWL_RETRY_H

#include <stdint.h>

/* 1 when a transfer that ended with CURLcode code and HTTP status is worth retrying:
 * timeouts, failed connections, resets and other transport errors, 5xx, 408 and 429. */
int uvcrawl__retryable(int code, long status);
/* The wait before attempt number attempts + 1 when the server gave no Retry-After: 0.5 s,
 * 1 s, 2 s ... capped at a minute, each times 0.5..1.5 (xorshift on *rng, never 0) so that
 * retries spread out. */
uint64_t uvcrawl__backoff_ms(unsigned attempts, uint64_t *rng);

#endif
