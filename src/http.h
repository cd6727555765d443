/* The crawl's HTTP identity: custom headers, basic-auth credentials for the seeds' origins,
 * .netrc, the proxy, and the cookie jar every transfer shares (a CURLSH share handle with a
 * mutex per lock kind, so worker threads may share it too). Owned by the crawler or the
 * threads engine; transfer.c applies it to each request. */
#ifndef UVCRAWL_HTTP_H
#define UVCRAWL_HTTP_H

#include <curl/curl.h>

#include "uvcrawl.h"

typedef struct uvcrawl__http_s uvcrawl__http_t;

/* Copies o's headers, userpwd, netrc, proxy and cookie file names, creates the shared cookie
 * jar and reads o->cookie_load into it. *out is the caller's, freed by uvcrawl__http_free().
 * Returns 0, UV_EINVAL (a bad header line), UV_ENOMEM, UVCRAWL_ECURL, or the negative errno
 * of a cookie_load file that cannot be read. */
int uvcrawl__http_new(const uvcrawl_options_t *o, uvcrawl__http_t **out);

/* origin (scheme://host[:port], copied) is a seed's: its requests carry the credentials.
 * Known ones are ignored. 0 or UV_ENOMEM. Not thread-safe: call before the crawl runs. */
int uvcrawl__http_add_origin(uvcrawl__http_t *h, const char *origin);

/* Sets headers, credentials (for url's origin only), netrc, proxy and the cookie share on e.
 * h may be NULL (nothing is set). Safe from several threads at once. */
void uvcrawl__http_apply(const uvcrawl__http_t *h, CURL *e, const char *url);

/* Writes the jar to the cookie_save file (through a temporary file and a rename), if one was
 * given. Call when no transfer runs. Blocking file I/O: the loop engine calls it once, when
 * the crawl is over and the loop has nothing else to do (as uvcrawl__http_new reads
 * cookie_load before the crawl starts). Returns 0 or a negative errno. */
int uvcrawl__http_save(uvcrawl__http_t *h);

/* Frees h (NULL is fine). Every easy handle that used it must be cleaned up first. */
void uvcrawl__http_free(uvcrawl__http_t *h);

#endif
