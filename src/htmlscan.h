/* A streaming HTML5 link scanner: the fast path of link extraction (src/extract.c keeps gumbo
 * as its reference and fallback).
 *
 * It follows the WHATWG tokenizer states that decide where tags are (data, tag open/name,
 * attributes in every quoting form, comments incl. the abrupt and "--!>" forms, bogus
 * comments, DOCTYPE, RCDATA, RAWTEXT, script data with its escaped and double-escaped states,
 * PLAINTEXT, CDATA in foreign content) and simulates the few tree-builder decisions that change
 * tokenization or which elements exist: raw-text elements, svg/math with breakout tags and
 * integration points, <template>, <select> (whose start tags tree building drops), noscript
 * with scripting off (as gumbo). Where it cannot be sure to agree with gumbo's tree it bails
 * out and the caller parses with gumbo instead.
 *
 * Pure: no I/O, no globals, nothing allocated per token (only the strings it outputs), O(1)
 * memory beyond the output, so it needs no parse cap. */
#ifndef UVCRAWL_HTMLSCAN_H
#define UVCRAWL_HTMLSCAN_H

#include <stddef.h>

#include "extract.h" /* uvcrawl__links_t, UVCRAWL__REF_* */

/* Returned (positive: not an error) when gumbo must decide for this document. */
#define UVCRAWL__HTMLSCAN_BAIL 1

/* Why the scanner bailed out (for tests, fuzzing and debugging). */
#define UVCRAWL__HTMLSCAN_REASONS(XX)                                          \
  XX(NONE, "none")                                                             \
  XX(SELECT, "<select> in a table or template, or <template> in a <select>")   \
  XX(FRAMESET, "<frameset> (it can drop the body)")                            \
  XX(TEMPLATE_TABLE, "table-ish tag inside <template>")                        \
  XX(BASE_TABLE, "first <base> after a <table> (foster parenting may move it)") \
  XX(FOREIGN_END, "HTML end tag inside svg/math")                              \
  XX(INTEGRATION, "start tag in an svg/math integration point")                \
  XX(FOREIGN_DEPTH, "svg/math nested too deep")                                \
  XX(FOREIGN_NAME, "unusual svg/math element name")                            \
  XX(ANNOTATION, "annotation-xml with an encoding")                            \
  XX(CAP, "more links than max_links")                                         \
  XX(ATTRS, "duplicate attribute without a value, or a non-ASCII attribute name") \
  XX(STYLE, "style attribute on <head>, <isindex>, <html>/<body>/<form> in a template, or a table part after nested tables")

typedef enum {
#define XX(name, text) UVCRAWL__HTMLSCAN_##name,
  UVCRAWL__HTMLSCAN_REASONS(XX)
#undef XX
  UVCRAWL__HTMLSCAN_REASON_COUNT
} uvcrawl__htmlscan_reason_t;

/* Scans html (len bytes, borrowed, no NUL needed) for the same refs as the gumbo path:
 * everything uvcrawl__extract_links() lists (extract.h), with the same kinds. out must be zeroed; on 0
 * it owns its strings (uvcrawl__links_free()); on any other return it is freed here.
 * max_links: 0 = no limit; past it the scanner bails (gumbo's tree order decides which refs are
 * the first ones). *reason (may be NULL) says why it bailed.
 * Returns 0, UVCRAWL__HTMLSCAN_BAIL or UV_ENOMEM. */
int uvcrawl__htmlscan(const char *html, size_t len, size_t max_links, uvcrawl__links_t *out,
                      int *reason);

const char *uvcrawl__htmlscan_reason_text(int reason);

/* Test hook: the tokenizer alone, from the data state, without the tree simulation (no
 * raw-text switches, no CDATA): cb gets every start tag with its lower-cased name and its
 * attributes after duplicate removal, names and values decoded as gumbo does (character
 * references, NUL and invalid UTF-8 to U+FFFD). All strings are borrowed for the call.
 * A non-zero return from cb stops the scan and is returned. Returns 0, cb's value or
 * UV_ENOMEM. */
typedef struct {
  const char *name;
  const char *value;
} uvcrawl__htmlscan_attr_t;
typedef int (*uvcrawl__htmlscan_tag_cb)(void *arg, const char *name, int self_closing,
                                        const uvcrawl__htmlscan_attr_t *attrs, size_t nattrs);
int uvcrawl__htmlscan_tokens(const char *html, size_t len, uvcrawl__htmlscan_tag_cb cb,
                             void *arg);

/* The URLs of a srcset value (already decoded), per the HTML "parse a srcset attribute"
 * splitting: candidates separated by commas outside the descriptors' parentheses, trailing
 * commas stripped from a URL. Descriptors only delimit (every candidate URL is a link, also one
 * a browser would skip for a bad descriptor). Finds the next URL from *pos: returns 1 and sets
 * [*url, *url + *url_len), or 0 at the end. Pure. */
int uvcrawl__srcset_next(const char *s, size_t len, size_t *pos, const char **url,
                         size_t *url_len);

/* Span mode, for --convert-links: where each link value is in the document's bytes, in
 * document order within the tokenizer's view of it. Never bails: where the link scan would
 * ask gumbo, the tokenizer's state is kept and the tree's decision approximated (a value in
 * a tag the tree drops is reported too). */
enum {
  UVCRAWL__SPAN_URL,        /* an attribute holding one URL (href, src, poster, data) */
  UVCRAWL__SPAN_BASE,       /* the first <base href> */
  UVCRAWL__SPAN_SRCSET,     /* a srcset attribute */
  UVCRAWL__SPAN_STYLE_ATTR, /* a style attribute: CSS, HTML-encoded */
  UVCRAWL__SPAN_STYLE,      /* the text of a <style> element: CSS, raw */
  UVCRAWL__SPAN_REFRESH     /* the content of a meta refresh */
};
typedef struct {
  int what;
  size_t start, len; /* the attribute value's source bytes (inside quotes) or the text */
  char quote;        /* '"', '\'' or 0 (unquoted) */
} uvcrawl__htmlspan_t;
/* Nonzero from cb stops the scan and is returned. Returns 0, cb's value or UV_ENOMEM. */
typedef int (*uvcrawl__htmlspan_cb)(void *arg, const uvcrawl__htmlspan_t *span);
int uvcrawl__htmlscan_spans(const char *html, size_t len, uvcrawl__htmlspan_cb cb, void *arg);

/* An attribute value decoded as the scanner decodes values (character references, NUL, CR,
 * bad UTF-8). *out is malloc'd and NUL-terminated, the caller frees. Returns 0 or UV_ENOMEM. */
int uvcrawl__html_decode(const char *v, size_t n, char **out, size_t *outlen);

/* Keyword tests on decoded values, shared by both parsers: type=image (ASCII
 * case-insensitive), http-equiv=refresh, and a rel list naming a requisite kind (see
 * UVCRAWL__REF_REQUISITE). Pure. */
int uvcrawl__html_is_image_type(const char *v, size_t n);
int uvcrawl__html_is_refresh(const char *v, size_t n);
int uvcrawl__html_rel_is_requisite(const char *v, size_t n);
/* The URL of a refresh content value ("5; url=x.html", "0;'x'", "3, x"): returns 1 and sets
 * [start, start + len) within v, or 0 when there is none. Pure. */
int uvcrawl__refresh_url(const char *v, size_t n, size_t *start, size_t *len);

#endif
