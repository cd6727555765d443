/* Sitemaps (sitemaps.org protocol 0.9): the URLs a <urlset> lists, or the sitemaps a
 * <sitemapindex> lists.
 *
 * Pure: bytes in, URLs out. No I/O (no entity, DTD or network loads) and no global state of
 * its own; libxml2 is initialized once by uvcrawl__sitemap_global_init(), after which any
 * number of threads may parse at once (each parse has its own reader and error handler). */
#ifndef UVCRAWL_SITEMAP_H
#define UVCRAWL_SITEMAP_H

#include <stddef.h>

/* Bounds that keep a hostile file cheap. The protocol allows 50,000 URLs and 50 MiB
 * (uncompressed) per sitemap. */
#define UVCRAWL__SITEMAP_MAX_BYTES (50u * 1024u * 1024u) /* max_bytes 0 means this */
#define UVCRAWL__SITEMAP_MAX_URLS 50000u                 /* max_urls 0 means this */
#define UVCRAWL__SITEMAP_MAX_LOC 8192u /* longer <loc> values (trimmed) are skipped whole */

typedef struct {
  char **locs; /* trimmed <loc> texts in document order, each malloc'd; owned */
  size_t n;
  size_t cap;
  int index; /* 1: a <sitemapindex> (locs are sitemaps), 0: a <urlset> (locs are pages) */
} uvcrawl__sitemap_t;

/* Parses a sitemap: a <urlset> of <url><loc>, or a <sitemapindex> of <sitemap><loc>.
 *
 * body is borrowed and need not be NUL-terminated (it may be NULL when len is 0). When it
 * starts with the gzip magic (1f 8b) it is gunzipped first (concatenated members too), never
 * inflating past max_bytes: a larger (or bomb) stream fails with UV_E2BIG after at most
 * max_bytes + 1 bytes of output. Plain input longer than max_bytes fails the same way, as does
 * anything over INT_MAX bytes. A damaged gzip stream is UV_EINVAL; one cut short is parsed as
 * far as it inflated.
 *
 * Elements match by local name whatever their prefix. The root must be urlset or sitemapindex;
 * the entries (url in a urlset, sitemap in an index) must be its children, and the <loc> their
 * child, each in the root's namespace or in none: <image:loc> and other extensions are never
 * taken. Only the first <loc> of an entry counts. Its text (character data and CDATA; the
 * predefined entities and character references decoded; references to entities the document
 * declares contribute nothing: they are never expanded, and external ones are never loaded;
 * libxml2 2.9 takes a reference to an entity that nests others for an amplification attack and
 * stops there, see below) is trimmed of XML whitespace; empty values and values longer than UVCRAWL__SITEMAP_MAX_LOC are
 * skipped. The values are not checked as URLs: resolve them with uvcrawl__url_resolve().
 *
 * At most max_urls locs are kept: parsing stops at the max_urls-th.
 *
 * A document that is cut short or breaks off into something not well-formed still yields the
 * locs read before: 0 is returned with a prefix of its locs that holds at least those of every
 * entry whose end tag came before the break (a loc of the entry it interrupted may be in it);
 * the input is then read again up to the break (up to 4 passes in all; each pass's locs are a
 * prefix of the document's, the longest is kept). UV_EINVAL when the root start tag did not
 * end before the break, when there is no root (an empty or whitespace-only body included), or
 * when the root is neither urlset nor sitemapindex.
 *
 * *out is overwritten (not freed) first. On success it owns its strings: free them with
 * uvcrawl__sitemap_free(). On failure it is left empty.
 * Returns 0, UV_E2BIG, UV_EINVAL or UV_ENOMEM. */
int uvcrawl__sitemap_parse(const char *body, size_t len, size_t max_bytes, size_t max_urls,
                           uvcrawl__sitemap_t *out);

/* Frees every string s owns and empties it (s itself is the caller's). NULL is a no-op. */
void uvcrawl__sitemap_free(uvcrawl__sitemap_t *s);

/* Initializes libxml2 (xmlInitParser). Call once from the main thread before any parse;
 * calling it again is harmless. */
void uvcrawl__sitemap_global_init(void);

#endif
