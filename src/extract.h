/* Link extraction (extract.c): the refs of an HTML document or a stylesheet, from the fast
 * scanner (htmlscan.c) or gumbo. Pure: bytes in, refs out. */
#ifndef UVCRAWL_EXTRACT_H
#define UVCRAWL_EXTRACT_H

#include <stddef.h>

/* What a link is for. A requisite is what a browser fetches to show the page that holds it:
 * img/source src and srcset, script src, iframe/embed src, audio/video/track src, video poster,
 * object data, input type=image src, link href when rel lists stylesheet, icon,
 * apple-touch-icon(-precomposed), manifest, preload or modulepreload, and every url() and
 * @import of CSS (style sheets, <style>, style=""). Everything else (a/area href, other
 * link rels, meta refresh) is a plain link. */
enum { UVCRAWL__REF_LINK = 0, UVCRAWL__REF_REQUISITE = 1 };

typedef struct {
  char **refs;  /* raw attribute values, whitespace-trimmed, in document order; owned */
  unsigned char *kinds; /* kinds[i]: UVCRAWL__REF_* of refs[i]; owned */
  size_t n;
  size_t cap;
  char *base;   /* value of the first <base href>, or NULL; owned */
} uvcrawl__links_t;

/* Collects the link references of an HTML document (bytes borrowed, need not be
 * NUL-terminated): a/area/link href, img/script/iframe/source/embed src, every img/source
 * srcset candidate URL, video poster, audio/video/track src, object data, input type=image
 * src, the URL of <meta http-equiv=refresh content="N; url=...">, the url()s and @imports of
 * <style> contents and of style attributes, and the first HTML <base href> (not in svg, math
 * or template). The new kinds (and <style>) are HTML elements only; style="" counts on every
 * element. At most
 * max_links refs are kept (0: no limit). Empty values are skipped. out must be zeroed (or
 * freshly freed) by the caller; on return it owns its strings: free with
 * uvcrawl__links_free(). Returns 0 or UV_ENOMEM.
 * uvcrawl__extract_links: the fast scanner, gumbo (whole body) where it bails out.
 * uvcrawl__extract_links_gumbo: gumbo alone, the reference (refs in tree order). */
int uvcrawl__extract_links(const char *html, size_t len, size_t max_links,
                           uvcrawl__links_t *out);
int uvcrawl__extract_links_gumbo(const char *html, size_t len, size_t max_links,
                                 uvcrawl__links_t *out);

typedef struct {
  int parser;          /* in: UVCRAWL_PARSER_FAST (gumbo where it bails out) or _GUMBO */
  size_t max_links;    /* in: 0 = no cap */
  size_t max_parse;    /* in: gumbo parses at most this many bytes (0 = all); the fast path
                          always scans everything (it needs O(1) memory) */
  int fast;            /* out: the fast path gave the links */
  int bailed;          /* out: the fast path bailed out, gumbo gave them */
  int reason;          /* out: why (htmlscan.h) */
  int capped;          /* out: gumbo saw only max_parse bytes */
} uvcrawl__extract_t;
/* Same contract as uvcrawl__extract_links, with the choices and outcome in x. */
int uvcrawl__extract(const char *html, size_t len, uvcrawl__extract_t *x, uvcrawl__links_t *out);
/* Appends ref (ownership passes, freed on failure) as a plain link, or with its kind.
 * Returns 0 or UV_ENOMEM. */
int uvcrawl__links_push(uvcrawl__links_t *out, char *ref);
int uvcrawl__links_push_kind(uvcrawl__links_t *out, char *ref, int kind);
/* The url()s and @imports of a stylesheet (css.h) appended to out as requisites, at most
 * max_links in all (0: no cap; *full set when one was left out). Returns 0 or UV_ENOMEM. */
int uvcrawl__links_add_css(uvcrawl__links_t *out, const char *css, size_t len, size_t max_links,
                           int *full);
void uvcrawl__links_free(uvcrawl__links_t *links);

#endif
