/* The options every request gets, in both engines (transfer.c), and what a finished easy
 * handle says. Not pure: libcurl. */
#ifndef UVCRAWL_TRANSFER_H
#define UVCRAWL_TRANSFER_H

#include <curl/curl.h>

#include "options.h"

struct uvcrawl__http_s; /* http.h */

/* Sets url, the body callback (with arg), errbuf (CURL_ERROR_SIZE bytes, borrowed until the
 * transfer ends), timeouts, caps and protocol limits from o, and http's headers,
 * credentials, proxy and cookie jar (http may be NULL). */
void uvcrawl__easy_setup(CURL *e, const uvcrawl_options_t *o, const char *user_agent,
                         const char *url, curl_write_callback on_body, void *arg,
                         char *errbuf, const struct uvcrawl__http_s *http);

/* The name of a CURLcode as curl's header spells it ("CURLE_OPERATION_TIMEDOUT"), for
 * records' error_name; "CURLE_UNKNOWN" for a code this build does not know. Static. */
const char *uvcrawl__curl_code_name(int code);

/* The HTTP version of e's last response, as records spell it ("1.0", "1.1", "2", "3"), or
 * NULL when there was none. Static storage. */
const char *uvcrawl__http_version(CURL *e);

/* How many of `wanted` transfers (each holding fds_each fds) fit in RLIMIT_NOFILE beside the
 * fds open now and a reserve, at least 1: neither engine can then run out of fds. */
unsigned uvcrawl__fd_room(unsigned wanted, unsigned fds_each);

#endif
