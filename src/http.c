/* The crawl's HTTP identity (http.h): headers, credentials, netrc, proxy, the shared cookie
 * jar. Built once before the crawl and read-only afterwards, except the jar, which curl
 * guards with the lock callbacks below. */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "url.h"
#include "uvcrawl.h"

struct uvcrawl__http_s {
  struct curl_slist *headers; /* NULL: none */
  char *userpwd;
  char **origins; /* where userpwd may go */
  size_t norigins;
  int netrc;
  char *proxy;
  char *cookie_save;
  CURLSH *share;
  uv_mutex_t locks[CURL_LOCK_DATA_LAST]; /* one per kind: curl may hold two kinds at once */
  int nlocks;                            /* initialised so far */
};

static void share_lock(CURL *e, curl_lock_data data, curl_lock_access access, void *arg) {
  uvcrawl__http_t *h = arg;
  (void)e;
  (void)access; /* one writer or reader at a time: the jar is small, waits are short */
  if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST) uv_mutex_lock(&h->locks[data]);
}

static void share_unlock(CURL *e, curl_lock_data data, void *arg) {
  uvcrawl__http_t *h = arg;
  (void)e;
  if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST) uv_mutex_unlock(&h->locks[data]);
}

/* A header line curl can send as given: "Name: value", "Name:" or "Name;", no CR/LF. */
static char *dup_or_null(const char *s, int *oom) {
  char *d;
  if (s == NULL) return NULL;
  if ((d = strdup(s)) == NULL) *oom = 1;
  return d;
}

/* Reads path into the jar through a throwaway handle: loading it on every transfer instead
 * would put the file's cookies back over newer ones the server set. */
static int load_cookies(uvcrawl__http_t *h, const char *path) {
  CURL *e;
  if (access(path, R_OK) != 0) return -errno; /* curl would silently load nothing */
  if ((e = curl_easy_init()) == NULL) return UVCRAWL_ECURL;
  int err = curl_easy_setopt(e, CURLOPT_SHARE, h->share) != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_COOKIEFILE, path) != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_COOKIELIST, "RELOAD") != CURLE_OK
                ? UVCRAWL_ECURL
                : 0;
  curl_easy_cleanup(e);
  return err;
}

int uvcrawl__http_new(const uvcrawl_options_t *o, uvcrawl__http_t **out) {
  uvcrawl__http_t *h = calloc(1, sizeof(*h));
  int oom = 0, err = 0;
  *out = NULL;
  if (h == NULL) return UV_ENOMEM;
  for (size_t i = 0; o->headers != NULL && o->headers[i] != NULL; i++) {
    if (!uvcrawl__header_ok(o->headers[i])) {
      uvcrawl__http_free(h);
      return UV_EINVAL;
    }
    struct curl_slist *l = curl_slist_append(h->headers, o->headers[i]); /* copies */
    if (l == NULL) {
      uvcrawl__http_free(h);
      return UV_ENOMEM;
    }
    h->headers = l;
  }
  h->userpwd = dup_or_null(o->userpwd, &oom);
  h->proxy = dup_or_null(o->proxy, &oom);
  h->cookie_save = dup_or_null(o->cookie_save, &oom);
  h->netrc = o->netrc;
  if (oom) {
    uvcrawl__http_free(h);
    return UV_ENOMEM;
  }
  for (; h->nlocks < CURL_LOCK_DATA_LAST; h->nlocks++) {
    if (uv_mutex_init(&h->locks[h->nlocks]) != 0) {
      uvcrawl__http_free(h);
      return UV_ENOMEM;
    }
  }
  if ((h->share = curl_share_init()) == NULL ||
      curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
      curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
      curl_share_setopt(h->share, CURLSHOPT_USERDATA, h) != CURLSHE_OK ||
      curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE) != CURLSHE_OK) {
    uvcrawl__http_free(h);
    return UVCRAWL_ECURL;
  }
  if (o->cookie_load != NULL && (err = load_cookies(h, o->cookie_load)) != 0) {
    uvcrawl__http_free(h);
    return err;
  }
  *out = h;
  return 0;
}

int uvcrawl__http_add_origin(uvcrawl__http_t *h, const char *origin) {
  if (h == NULL || h->userpwd == NULL) return 0; /* nobody asks */
  for (size_t i = 0; i < h->norigins; i++)
    if (strcmp(h->origins[i], origin) == 0) return 0;
  char **v = realloc(h->origins, (h->norigins + 1) * sizeof(*v));
  if (v == NULL) return UV_ENOMEM;
  h->origins = v;
  if ((v[h->norigins] = strdup(origin)) == NULL) return UV_ENOMEM;
  h->norigins++;
  return 0;
}

/* Whether url's origin is a seed's. One URL parse, and only with credentials. */
static int is_seed_origin(const uvcrawl__http_t *h, const char *url) {
  char *origin;
  int found = 0;
  if (uvcrawl__url_origin(url, &origin) != 0) return 0;
  for (size_t i = 0; i < h->norigins && !found; i++) found = strcmp(h->origins[i], origin) == 0;
  free(origin);
  return found;
}

void uvcrawl__http_apply(const uvcrawl__http_t *h, CURL *e, const char *url) {
  if (h == NULL) return;
  /* The jar is the share's; "reading" the file "" turns the cookie engine on for this
   * handle. Read now (RELOAD) and the name dropped again (COOKIEFILE NULL, which also lets go
   * of the jar, so the share is attached once more): libcurl 7.88's curl_easy_reset loses a
   * name still listed, a leak per reused handle (ASan, tests/test-embed.c). */
  curl_easy_setopt(e, CURLOPT_SHARE, h->share);
  curl_easy_setopt(e, CURLOPT_COOKIEFILE, "");
  curl_easy_setopt(e, CURLOPT_COOKIELIST, "RELOAD");
  curl_easy_setopt(e, CURLOPT_COOKIEFILE, NULL);
  curl_easy_setopt(e, CURLOPT_SHARE, h->share);
  if (h->headers != NULL) curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
  if (h->proxy != NULL) curl_easy_setopt(e, CURLOPT_PROXY, h->proxy);
  /* No proxy at all (''): then curl need not read NO_PROXY from the environment either. */
  if (h->proxy != NULL && h->proxy[0] == '\0') curl_easy_setopt(e, CURLOPT_NOPROXY, "");
  if (h->netrc) curl_easy_setopt(e, CURLOPT_NETRC, (long)CURL_NETRC_OPTIONAL);
  if (h->userpwd != NULL && is_seed_origin(h, url)) {
    /* Basic, sent with the first request: a crawler has no reason to wait for a 401. */
    curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(e, CURLOPT_USERPWD, h->userpwd);
  }
}

int uvcrawl__http_save(uvcrawl__http_t *h) {
  struct curl_slist *list = NULL;
  CURL *e;
  int err = 0;
  if (h == NULL || h->cookie_save == NULL) return 0;
  if ((e = curl_easy_init()) == NULL) return UV_ENOMEM;
  if (curl_easy_setopt(e, CURLOPT_SHARE, h->share) != CURLE_OK ||
      curl_easy_getinfo(e, CURLINFO_COOKIELIST, &list) != CURLE_OK) {
    curl_easy_cleanup(e);
    return UV_EIO;
  }
  curl_easy_cleanup(e);
  size_t n = strlen(h->cookie_save) + sizeof(".tmp");
  char *tmp = malloc(n);
  if (tmp == NULL) {
    curl_slist_free_all(list);
    return UV_ENOMEM;
  }
  snprintf(tmp, n, "%s.tmp", h->cookie_save);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600); /* secrets inside */
  FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
  if (f == NULL) {
    err = -errno;
    if (fd >= 0) close(fd);
  } else {
    /* The first line is what curl and wget look for before trusting a file's format. */
    fputs("# Netscape HTTP Cookie File\n# Written by uvcrawl " UVCRAWL_VERSION_STRING "\n\n", f);
    for (struct curl_slist *l = list; l != NULL; l = l->next) {
      fputs(l->data, f);
      fputc('\n', f);
    }
    errno = 0;
    if (ferror(f) | fclose(f)) err = errno ? -errno : UV_EIO;
    if (err == 0 && rename(tmp, h->cookie_save) != 0) err = -errno;
    if (err != 0) unlink(tmp);
  }
  free(tmp);
  curl_slist_free_all(list);
  return err;
}

void uvcrawl__http_free(uvcrawl__http_t *h) {
  if (h == NULL) return;
  if (h->share != NULL) curl_share_cleanup(h->share);
  for (int i = 0; i < h->nlocks; i++) uv_mutex_destroy(&h->locks[i]);
  curl_slist_free_all(h->headers);
  for (size_t i = 0; i < h->norigins; i++) free(h->origins[i]);
  free(h->origins);
  if (h->userpwd != NULL) {
    /* A password should not linger in freed memory. */
    explicit_bzero(h->userpwd, strlen(h->userpwd));
    free(h->userpwd);
  }
  free(h->proxy);
  free(h->cookie_save);
  free(h);
}
