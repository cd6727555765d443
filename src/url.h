/* URLs (url.c): resolving, normalizing, origins and trap checks, on libcurl's URL API. url.c
 * links libcurl; this header names no curl type, so pure modules may call it. */
#ifndef UVCRAWL_URL_H
#define UVCRAWL_URL_H

#include <stddef.h>

/* Resolves ref against base (base may be NULL when ref is absolute) and normalizes the result:
 * surrounding whitespace and embedded tab/CR/LF stripped from ref (as browsers do), fragment
 * dropped, scheme and host lower-cased, default port removed, dot segments removed, empty path
 * made "/", unsafe characters percent-encoded. Only http and https are accepted.
 * On success *out is a malloc'd string the caller frees. Returns 0, UVCRAWL_EURL,
 * UVCRAWL_ESCHEME or UV_ENOMEM. */
int uvcrawl__url_resolve(const char *base, const char *ref, char **out);

/* A base URL parsed once, for many uvcrawl__url_resolve(base, ref) calls: curl copies the
 * parsed handle for each ref instead of parsing base again. uvcrawl__url_base_new returns 0,
 * or what uvcrawl__url_resolve would fail with for any ref (UVCRAWL_EURL, UVCRAWL_ESCHEME,
 * UV_ENOMEM); *out is the caller's, freed with uvcrawl__url_base_free (NULL is fine).
 * uvcrawl__url_resolve_base(b, ref, out) is uvcrawl__url_resolve(base, ref, out). */
typedef struct uvcrawl__urlbase_s uvcrawl__urlbase_t;
int uvcrawl__url_base_new(const char *base, uvcrawl__urlbase_t **out);
int uvcrawl__url_resolve_base(const uvcrawl__urlbase_t *b, const char *ref, char **out);
void uvcrawl__url_base_free(uvcrawl__urlbase_t *b);

/* 1 when a normalized URL looks like a spider trap: a path segment that repeats more than 3
 * times, or more than 64 segments. Pure. */
int uvcrawl__url_is_trap(const char *url);

/* The scope key of a normalized URL: "scheme://host:port" with the port always spelled out
 * (e.g. "http://example.com:80"). *out is malloc'd, the caller frees it. Returns 0 or an error
 * as above. */
int uvcrawl__url_origin(const char *url, char **out);

/* 1 when url, a normalized URL (uvcrawl__url_resolve's output), has one of the origin keys
 * origins[0..n) (n == 0: every URL). Reads the string, since normalized means curl already
 * wrote it in one spelling; falls back to uvcrawl__url_origin() for userinfo, IP literals and
 * escapes in the authority. Same answer as uvcrawl__in_scope() for such URLs. */
int uvcrawl__url_has_origin(const char *url, const char *const *origins, size_t n);

/* Pre-filters for a page's raw refs, so curl sees fewer of them. Both are exact, never a
 * guess: 1 from uvcrawl__url_surely_skipped() means uvcrawl__url_resolve() fails for ref with
 * any base (a javascript:, mailto:, data: or tel: reference); 1 from uvcrawl__url_is_self()
 * means ref is empty or a fragment only, so it resolves to the base itself and its result
 * depends only on the base and on whether ref contains '%'. */
int uvcrawl__url_surely_skipped(const char *ref);
int uvcrawl__url_is_self(const char *ref);

#endif
