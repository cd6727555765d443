/* --convert-links: the map of saved URLs and the rewriting of one saved HTML or CSS file
 * (see convert.c). Build the map on one thread (the loop), freeze it, then convert files
 * from any number of threads. */
#ifndef UVCRAWL_CONVERT_H
#define UVCRAWL_CONVERT_H

#include <stddef.h>

typedef struct uvcrawl__convert_s uvcrawl__convert_t;

/* NULL when out of memory. adjust_ext: files were saved with --adjust-extension. */
uvcrawl__convert_t *uvcrawl__convert_new(int adjust_ext);
void uvcrawl__convert_free(uvcrawl__convert_t *cv);
/* url (normalized, copied) was saved with this content type (may be NULL). 0 or UV_ENOMEM. */
int uvcrawl__convert_saved(uvcrawl__convert_t *cv, const char *url, const char *content_type);
/* url answered with a redirect to target (both copied): links to it go where target went. */
int uvcrawl__convert_redirect(uvcrawl__convert_t *cv, const char *url, const char *target);
/* A record's JSON line (the journal's, on --resume): a saved 2xx or a redirect is noted as
 * above; anything else is ignored. 0 or UV_ENOMEM. */
int uvcrawl__convert_record(uvcrawl__convert_t *cv, const char *line, size_t len);
/* Ends the building: *nfiles gets the number of saved HTML and CSS files. 0 or UV_ENOMEM. */
int uvcrawl__convert_freeze(uvcrawl__convert_t *cv, size_t *nfiles);
/* File i (< nfiles) of a frozen map: its path under the mirror root (the map's). */
const char *uvcrawl__convert_file_rel(const uvcrawl__convert_t *cv, size_t i);
/* Reads file i under root_fd, converts it and writes it back (atomically) when a link
 * changed. Blocking: thread pool only. Returns 0 or a negative errno / UV_ENOMEM. */
int uvcrawl__convert_file(const uvcrawl__convert_t *cv, size_t i, int root_fd, int do_fsync);
/* Pure: the converted body of the document at url saved as rel (css: a stylesheet, else
 * HTML), against a frozen map. *out is malloc'd (the caller frees) or NULL when nothing
 * changed; *nconverted counts the rewritten values. Returns 0 or UV_ENOMEM. */
int uvcrawl__convert_doc(const uvcrawl__convert_t *cv, const char *url, const char *rel, int css,
                         const char *body, size_t len, char **out, size_t *outlen,
                         size_t *nconverted);

#endif
