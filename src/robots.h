/* robots.txt (RFC 9309): which paths a crawler may fetch, its Crawl-delay and its Sitemaps.
 *
 * Pure: bytes in, rules out. No I/O and no global state; a parsed object is never written
 * after uvcrawl__robots_parse() returns, so any number of threads may query it at once. */
#ifndef UVCRAWL_ROBOTS_H
#define UVCRAWL_ROBOTS_H

#include <stddef.h>

/* Bounds that keep a hostile file cheap. RFC 9309 2.5 asks crawlers to read at least 500 KiB. */
#define UVCRAWL__ROBOTS_MAX_BYTES (500u * 1024u)
#define UVCRAWL__ROBOTS_MAX_LINE 8192u      /* longer lines are skipped whole */
#define UVCRAWL__ROBOTS_MAX_RULES 10000u    /* allow/disallow rules kept; later ones ignored */
#define UVCRAWL__ROBOTS_MAX_SITEMAPS 1000u  /* Sitemap: URLs kept; later ones ignored */
#define UVCRAWL__ROBOTS_MAX_DELAY_MS 60000L /* Crawl-delay values above this are capped */

typedef struct uvcrawl__robots_s uvcrawl__robots_t;

/* Parses a robots.txt body and keeps what applies to user_agent.
 *
 * body is borrowed and need not be NUL-terminated (it may be NULL when len is 0); only its
 * first UVCRAWL__ROBOTS_MAX_BYTES are read, and a line the cap cuts in two is dropped.
 * user_agent may be a full User-Agent string ("uvcrawl/0.1.0 (+https://...)"): only its product
 * token (the text before the first '/' or whitespace) is compared, case-insensitively, with the
 * product token of each group's user-agent values. Every group naming the agent is merged; when
 * none does, every "*" group is; when there is none of those either, everything is allowed.
 * user_agent may be NULL (only "*" groups apply).
 *
 * On success *out is a new object owned by the caller: free it with uvcrawl__robots_free().
 * Returns 0 or UV_ENOMEM (then *out is NULL). */
int uvcrawl__robots_parse(const char *body, size_t len, const char *user_agent,
                          uvcrawl__robots_t **out);

/* A new object that allows every path (robots.txt answered 4xx). Owned by the caller, free
 * with uvcrawl__robots_free(). NULL when out of memory. */
uvcrawl__robots_t *uvcrawl__robots_allow_all(void);

/* A new object that disallows every path but /robots.txt itself (robots.txt answered 5xx or
 * was unreachable). Owned by the caller, free with uvcrawl__robots_free(). NULL when out of
 * memory. */
uvcrawl__robots_t *uvcrawl__robots_disallow_all(void);

/* Frees r and every string it owns (sitemap URLs included). NULL is a no-op. */
void uvcrawl__robots_free(uvcrawl__robots_t *r);

/* 1 when path may be fetched, 0 when not. path (borrowed, NUL-terminated, not kept) is the
 * URL's path plus "?" and query when there is one, percent-encoded as in the URL; "" or NULL
 * means "/"; a '#' ends it. The longest matching rule wins (octets of the pattern after
 * percent-encoding normalization, '*' and a final '$' counted); on a tie allow wins; no matching
 * rule means allowed; "/robots.txt" is always allowed. '*' matches any run of characters and a
 * final '$' anchors the pattern at the end of the path. Patterns and paths compare equal when
 * they differ only in percent-encoding: %XX of unreserved characters is decoded, other escapes
 * compare by octet (case-insensitive hex), and raw octets that a URI must escape (non-ASCII,
 * controls, space, "<>\"{}|\\^`") equal their %XX form. Reserved characters do not: "%2F" is not
 * "/". Runs in O(len(path) * len(pattern)) per rule at worst, without allocating. */
int uvcrawl__robots_allowed(const uvcrawl__robots_t *r, const char *path);

/* The Crawl-delay of the chosen group(s) in milliseconds (decimal seconds, fractions allowed:
 * "0.5" is 500; the largest when merged groups give several), or -1 when there is none. A value
 * above 60 s is returned as 60000 and *capped set to 1; otherwise *capped is set to 0. capped
 * may be NULL. */
long uvcrawl__robots_crawl_delay_ms(const uvcrawl__robots_t *r, int *capped);

/* Sitemap: lines are global (not per group): how many were kept, in file order. */
size_t uvcrawl__robots_sitemaps(const uvcrawl__robots_t *r);

/* The i-th Sitemap URL, owned by r and valid until uvcrawl__robots_free(r); NULL when i is out
 * of range. */
const char *uvcrawl__robots_sitemap(const uvcrawl__robots_t *r, size_t i);

#endif
