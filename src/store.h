/* The mirror on disk (store.c): the file each URL is saved as, and the blocking writes
 * (thread pool only). store.c uses libcurl's URL API; this header names no curl type. */
#ifndef UVCRAWL_STORE_H
#define UVCRAWL_STORE_H

#include <stddef.h>

/* The path under the mirror root for url: "host[:port]/seg/.../name", each name decoded then
 * made safe ('/', '\\', '%', controls encoded; "." and ".." encoded; > 255 bytes shortened
 * with a digest), "index.html" for a URL ending in "/", "?query" kept in the name.
 * *out is malloc'd, the caller frees. Returns 0, UVCRAWL_EURL or UV_ENOMEM. Pure. */
int uvcrawl__store_path(const char *url, char **out);
/* The file a URL is saved as: uvcrawl__store_path(), and with adjust (--adjust-extension)
 * ".html" appended for an HTML content type whose name does not end in .html or .htm
 * (ASCII case-insensitively), ".css" for text/css not ending in .css. Same ownership. */
int uvcrawl__store_path_ext(const char *url, const char *content_type, int adjust, char **out);
/* Writes body to relpath under root_fd: directories by mkdirat/openat(O_NOFOLLOW), the file
 * to a temporary name then renamed into place. Blocking: thread pool only. Returns 0 or a
 * negative errno. */
int uvcrawl__store_write(int root_fd, const char *relpath, const char *body, size_t len,
                         int do_fsync);
/* mkdir -p dir and open it; *fd is the caller's to close. Returns 0 or a negative errno. */
int uvcrawl__store_open_root(const char *dir, int *fd);
/* write(2) until all n bytes are out (EINTR retried). Blocking: thread pool or CLI only.
 * Returns 0 or a negative errno. */
int uvcrawl__write_all(int fd, const char *p, size_t n);

#endif
