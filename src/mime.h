/* What a response's content type makes of it (mime.c): HTML and CSS are parsed for links,
 * and saved with their extension. Crawl policy shared by both engines. Pure. */
#ifndef UVCRAWL_MIME_H
#define UVCRAWL_MIME_H

/* 1 when a response's body should be parsed for links. */
int uvcrawl__should_parse(long status, const char *content_type, int depth, int max_depth);
/* 1 when content_type (may be NULL) is text/css, or text/html / application/xhtml+xml. */
int uvcrawl__is_css(const char *content_type);
int uvcrawl__is_html(const char *content_type);

#endif
