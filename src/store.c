/* The mirror: where a URL's body goes on disk, and the write itself (thread pool only).
 *
 * Paths are built from libcurl's parse of the URL, one segment at a time, and written
 * relative to an open directory fd with openat/mkdirat and O_NOFOLLOW, so no URL can name a
 * file outside the mirror root and no symlink inside it is followed. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "dynbuf.h"
#include "md5.h"
#include "mime.h"
#include "testhooks.h"
#include "uvcrawl.h"

#define NAME_MAX_BYTES 255
#define NAME_KEEP 200 /* bytes kept of a too-long name, before "~" and a digest */

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Appends one file name made from src[0..n): percent-decoded, then every byte that could
 * escape the directory or confuse a shell-free reader ('/', '\\', NUL, controls, '%') encoded
 * again; "." and ".." become "%2E" and "%2E%2E"; a name over 255 bytes is cut and given a
 * digest so distinct long names stay distinct. */
static int add_name(uvcrawl__dynbuf_t *out, const char *src, size_t n, int decode) {
  uvcrawl__dynbuf_t name;
  uvcrawl__dynbuf_init(&name, 0);
  int err = 0;
  for (size_t i = 0; i < n && !err; i++) {
    unsigned char c = (unsigned char)src[i];
    if (decode && c == '%' && i + 2 < n && hexval(src[i + 1]) >= 0 &&
        hexval(src[i + 2]) >= 0) {
      c = (unsigned char)(hexval(src[i + 1]) * 16 + hexval(src[i + 2]));
      i += 2;
    }
    if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == '%') {
      char enc[4];
      snprintf(enc, sizeof(enc), "%%%02X", c);
      err = uvcrawl__dynbuf_add(&name, enc, 3);
    } else {
      char ch = (char)c;
      err = uvcrawl__dynbuf_add(&name, &ch, 1);
    }
  }
  if (!err && name.len == 1 && name.p[0] == '.') {
    uvcrawl__dynbuf_reset(&name);
    err = uvcrawl__dynbuf_add(&name, "%2E", 3);
  } else if (!err && name.len == 2 && memcmp(name.p, "..", 2) == 0) {
    uvcrawl__dynbuf_reset(&name);
    err = uvcrawl__dynbuf_add(&name, "%2E%2E", 6);
  }
  if (!err && name.len > NAME_MAX_BYTES) {
    char hex[33];
    if ((err = uvcrawl__md5_hex(name.p, name.len, hex)) == 0) {
      name.len = NAME_KEEP;
      err = uvcrawl__dynbuf_add(&name, "~", 1);
      if (!err) err = uvcrawl__dynbuf_add(&name, hex, 32);
    }
  }
  if (!err) err = uvcrawl__dynbuf_add(out, name.p ? name.p : "", name.len);
  free(name.p);
  return err;
}

int uvcrawl__store_path(const char *url, char **out) {
  CURLU *u = curl_url();
  char *host = NULL, *port = NULL, *path = NULL, *query = NULL;
  uvcrawl__dynbuf_t b;
  uvcrawl__dynbuf_init(&b, 0);
  int err = UVCRAWL_EURL;
  if (u == NULL) return UV_ENOMEM;
  if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
    goto done;
  curl_url_get(u, CURLUPART_PORT, &port, 0); /* absent: the default port */
  curl_url_get(u, CURLUPART_QUERY, &query, 0);

  /* host[:port] is one name: encoded like any other so it cannot be "..". */
  uvcrawl__dynbuf_t hp;
  uvcrawl__dynbuf_init(&hp, 0);
  err = uvcrawl__dynbuf_add(&hp, host, strlen(host));
  if (!err && port) err = uvcrawl__dynbuf_add(&hp, ":", 1);
  if (!err && port) err = uvcrawl__dynbuf_add(&hp, port, strlen(port));
  if (!err) err = add_name(&b, hp.p, hp.len, 0);
  free(hp.p);

  const char *p = path;
  while (!err && *p) {
    while (*p == '/') p++;
    const char *end = strchr(p, '/');
    if (end == NULL) break; /* p is the last segment (maybe empty) */
    if (end > p) {
      err = uvcrawl__dynbuf_add(&b, "/", 1);
      if (!err) err = add_name(&b, p, (size_t)(end - p), 1);
    }
    p = end;
  }
  if (!err) {
    /* The file name: last segment (index.html for a directory URL) plus "?query". */
    uvcrawl__dynbuf_t last;
  uvcrawl__dynbuf_init(&last, 0);
    if (*p == '\0') err = uvcrawl__dynbuf_add(&last, "index.html", 10);
    else err = uvcrawl__dynbuf_add(&last, p, strlen(p));
    if (!err && query) err = uvcrawl__dynbuf_add(&last, "?", 1);
    if (!err && query) err = uvcrawl__dynbuf_add(&last, query, strlen(query));
    if (!err) err = uvcrawl__dynbuf_add(&b, "/", 1);
    /* The query keeps its percent-encoding: only the path part of the name is decoded. */
    if (!err) err = add_name(&b, last.p, last.len, query == NULL);
    free(last.p);
  }

done:
  curl_free(host);
  curl_free(port);
  curl_free(path);
  curl_free(query);
  curl_url_cleanup(u);
  if (err) {
    free(b.p);
    return err;
  }
  *out = b.p;
  return 0;
}

/* 1 when s ends with suffix, ASCII case-insensitively. */
static int ends_with(const char *s, size_t n, const char *suffix) {
  size_t m = strlen(suffix);
  if (n < m) return 0;
  for (size_t i = 0; i < m; i++) {
    char c = s[n - m + i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != suffix[i]) return 0;
  }
  return 1;
}

int uvcrawl__store_path_ext(const char *url, const char *content_type, int adjust, char **out) {
  const char *suffix = NULL;
  char *path, *grown;
  int err = uvcrawl__store_path(url, &path);
  if (err != 0 || !adjust) {
    *out = err == 0 ? path : NULL;
    return err;
  }
  size_t n = strlen(path);
  if (uvcrawl__is_html(content_type) && !ends_with(path, n, ".html") &&
      !ends_with(path, n, ".htm"))
    suffix = ".html";
  else if (uvcrawl__is_css(content_type) && !ends_with(path, n, ".css"))
    suffix = ".css";
  if (suffix == NULL) {
    *out = path;
    return 0;
  }
  size_t sl = strlen(suffix);
  const char *slash = strrchr(path, '/');
  size_t name_len = n - (size_t)(slash != NULL ? slash + 1 - path : 0);
  if (name_len + sl > NAME_MAX_BYTES) {
    /* Too long with the suffix: cut the name and keep it distinct with a digest, as
     * add_name() does. */
    char hex[33];
    size_t keep = n - name_len + NAME_KEEP;
    if ((err = uvcrawl__md5_hex(path, n, hex)) != 0) {
      free(path);
      return err;
    }
    grown = malloc(keep + 1 + 32 + sl + 1);
    if (grown == NULL) {
      free(path);
      return UV_ENOMEM;
    }
    memcpy(grown, path, keep);
    grown[keep] = '~';
    memcpy(grown + keep + 1, hex, 32);
    memcpy(grown + keep + 33, suffix, sl + 1);
    free(path);
    *out = grown;
    return 0;
  }
  grown = realloc(path, n + sl + 1);
  if (grown == NULL) {
    free(path);
    return UV_ENOMEM;
  }
  memcpy(grown + n, suffix, sl + 1);
  *out = grown;
  return 0;
}

int uvcrawl__write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static unsigned store_delay_ms; /* test hook: a deliberately slow disk */

void uvcrawl__test_write_delay(unsigned ms) { store_delay_ms = ms; }

/* Running out of fds is a reason to wait, not to fail a page: a few short sleeps (this runs on
 * a pool thread, never the loop) until another transfer or write gives one back. */
static int fd_starved(int err, unsigned *tries) {
  if ((err != -EMFILE && err != -ENFILE) || ++*tries > 200) return 0;
  usleep(10000);
  return 1;
}

static int write_once(int root_fd, const char *relpath, const char *body, size_t len,
                      int do_fsync) {
  static atomic_uint counter;
  char *copy = strdup(relpath);
  char tmp[64];
  int dirfd, err = 0;
  if (copy == NULL) return UV_ENOMEM;
  dirfd = dup(root_fd);
  if (dirfd < 0) {
    free(copy);
    return -errno;
  }
  char *seg = copy, *slash;
  while ((slash = strchr(seg, '/')) != NULL) {
    *slash = '\0';
    if (mkdirat(dirfd, seg, 0755) != 0 && errno != EEXIST) {
      err = -errno;
      break;
    }
    /* O_NOFOLLOW: a symlink planted inside the mirror is refused, never followed. */
    int next = openat(dirfd, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) {
      err = -errno;
      break;
    }
    close(dirfd);
    dirfd = next;
    seg = slash + 1;
  }
  if (err == 0) {
    snprintf(tmp, sizeof(tmp), ".uvcrawl-tmp-%ld-%u", (long)getpid(),
             atomic_fetch_add(&counter, 1));
    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
      err = -errno;
    } else {
      err = uvcrawl__write_all(fd, body, len);
      if (err == 0 && do_fsync && fsync(fd) != 0) err = -errno;
      if (close(fd) != 0 && err == 0) err = -errno;
      /* Rename into place: a reader never sees half a file, and a crash leaves only a tmp. */
      if (err == 0 && renameat(dirfd, tmp, dirfd, seg) != 0) err = -errno;
      if (err != 0) unlinkat(dirfd, tmp, 0);
    }
  }
  close(dirfd);
  free(copy);
  return err;
}

int uvcrawl__store_write(int root_fd, const char *relpath, const char *body, size_t len,
                         int do_fsync) {
  unsigned tries = 0;
  int err;
  if (uvcrawl__thread_probe) uvcrawl__thread_probe("write");
  if (store_delay_ms) usleep(store_delay_ms * 1000u);
  do err = write_once(root_fd, relpath, body, len, do_fsync);
  while (fd_starved(err, &tries));
  return err;
}

int uvcrawl__store_open_root(const char *dir, int *fd_out) {
  /* mkdir -p: each prefix of dir. */
  char *copy = strdup(dir);
  if (copy == NULL) return UV_ENOMEM;
  for (char *p = copy + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
      int err = -errno;
      free(copy);
      return err;
    }
    *p = '/';
  }
  free(copy);
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) return -errno;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  *fd_out = fd;
  return 0;
}
