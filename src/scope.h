/* Which URLs a crawl takes: the scope (host, domain, prefix, all) and the --include/--exclude
 * style filters. Pure: strings in, a verdict out; no handle, no I/O. */
#ifndef UVCRAWL_SCOPE_H
#define UVCRAWL_SCOPE_H

#include <regex.h>
#include <stddef.h>

/* The values of uvcrawl__scope_parse() (options.h). */
enum { UVCRAWL__SCOPE_HOST, UVCRAWL__SCOPE_DOMAIN, UVCRAWL__SCOPE_PREFIX, UVCRAWL__SCOPE_ALL };

/* 1 when url (normalized) is in scope: host, one of the origins ("scheme://host:port");
 * domain, an origin's host or a subdomain of it; prefix, a URL starting with one of the
 * prefixes (uvcrawl__scope_prefix() of the seeds); all, any URL. */
int uvcrawl__scope_match(int scope, const char *url, const char *const *origins, size_t norigins,
                         const char *const *prefixes, size_t nprefixes);
/* 1 when url's origin is one of origins[0..n) (n == 0: every URL is in scope). The host
 * scope with uvcrawl__url_origin(); what both engines and the link filter ask. */
int uvcrawl__in_scope(const char *url, const char *const *origins, size_t n);
/* Cuts a normalized seed URL, in place, to its prefix-scope key: the query dropped, the path
 * cut after its last '/'. */
void uvcrawl__scope_prefix(char *url);

/* Compiles a NULL-ended list of POSIX EREs into *out (owned: uvcrawl__filters_free(), also
 * after a failure; *n says how many compiled). Returns 0, UVCRAWL_EREGEX or UV_ENOMEM. */
int uvcrawl__filters_compile(const char *const *patterns, regex_t **out, size_t *n);
void uvcrawl__filters_free(regex_t *r, size_t n);
/* 1 when url matches one of the includes (or there are none) and none of the excludes. */
int uvcrawl__filters_pass(const regex_t *include, size_t ninclude, const regex_t *exclude,
                          size_t nexclude, const char *url);

#endif
