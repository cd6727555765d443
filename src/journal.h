/* The journal (journal.c): what a crawl discovered and completed, framed and checksummed, for
 * --resume. Pure: it builds and replays bytes; the crawler writes them. */
#ifndef UVCRAWL_JOURNAL_H
#define UVCRAWL_JOURNAL_H

#include <stddef.h>

#define UVCRAWL__JOURNAL_MAGIC "uvcrawl journal 1\n"

/* Append one framed record to a growable buffer. Return 0, UV_E2BIG or UV_ENOMEM. */
int uvcrawl__journal_discovered(char **b, size_t *len, size_t *cap, char type, const char *url,
                                const char *referrer, int depth);
int uvcrawl__journal_completed(char **b, size_t *len, size_t *cap, const char *url,
                               const char *line, size_t line_len);
/* type 'D' (or 'S': a sitemap): url, ref (NULL for a seed), depth. type 'C': url, ref = the JSON line of line_len
 * bytes (not NUL-terminated). Strings are borrowed from the journal image. Nonzero stops. */
typedef int (*uvcrawl__journal_cb)(void *arg, int type, const char *url, const char *ref,
                                   size_t line_len, int depth);
/* Replays a journal image (magic included) record by record; stops at the first torn or
 * corrupt record. Returns the length of the valid prefix (0: not a journal). */
size_t uvcrawl__journal_replay(const char *data, size_t len, uvcrawl__journal_cb cb, void *arg);

#endif
