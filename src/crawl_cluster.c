/* A crawl shared through Redis (frontier.h, redis_frontier.c): joining it, the shared
 * frontier's callbacks into the crawler, and the cluster's status and export. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crawl.h"
#include "crawl_robots.h"
#include "dynbuf.h"
#include "url.h"

static void rf_wake(void *arg) { uvcrawl__crawl_schedule_tick(arg); }

static void rf_fatal(void *arg, const char *why) {
  uvcrawl_t *c = arg;
  free(c->fatal_why);
  c->fatal_why = strdup(why);
  c->fatal = UVCRAWL_EREDIS;
  uvcrawl_stop(c);
}

/* Another worker fetched origin's robots.txt: the same decisions as after our own fetch. */
static void rf_robots_shared(void *arg, const char *origin, long status, int code,
                             const char *body, size_t len) {
  uvcrawl_t *c = arg;
  page_t *p = calloc(1, sizeof(*p));
  size_t n = strlen(origin) + sizeof("/robots.txt");
  char *err = malloc(len + 1);
  if (p == NULL || err == NULL || (p->own_url = malloc(n)) == NULL ||
      (len > 0 && (p->body = malloc(len)) == NULL)) {
    if (p) free(p->own_url);
    free(p);
    free(err);
    c->fops->set_robots(c->fq, origin, uvcrawl__robots_allow_all()); /* lenient, as on ENOMEM */
    return;
  }
  memcpy(err, body, len);
  err[len] = '\0';
  if (len > 0) memcpy(p->body, body, len);
  p->len = p->cap = len;
  snprintf(p->own_url, n, "%s/robots.txt", origin);
  p->c = c;
  p->robots_origin = origin; /* the shared frontier's string, valid until it is closed */
  p->status = status;
  p->next = c->pages;
  if (c->pages) c->pages->prev = p;
  c->pages = p;
  uvcrawl__crawl_robots_apply(c, p, status, (CURLcode)code, err);
  free(err);
}

/* A seed the crawl was started with: its origin is in scope (nothing is queued here). */
static int adopt_seed(uvcrawl_t *c, const char *url) {
  char *norm;
  int err = uvcrawl__url_resolve(NULL, url, &norm);
  if (err == 0) err = uvcrawl__crawl_add_origin(c, norm);
  char **sd = err ? NULL : realloc(c->seeds, (c->nseeds + 1) * sizeof(*sd));
  if (err == 0 && sd == NULL) err = UV_ENOMEM;
  if (err) {
    free(norm);
    return err;
  }
  c->seeds = sd;
  const char *auth = strstr(norm, "://");
  char *slash = auth ? strchr(auth + 3, '/') : NULL, *q = slash ? strchr(slash, '?') : NULL;
  if (q) *q = '\0';
  char *last = strrchr(norm, '/');
  if (last && last >= slash) last[1] = '\0';
  c->seeds[c->nseeds++] = norm;
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int uvcrawl_join_cluster(uvcrawl_t *c, const char *redis_url, const char *name,
                         unsigned lease_ms, unsigned max_tries, char *why, size_t whylen) {
  uvcrawl__item_t item;
  const char **mine = NULL;
  size_t n = 0;
  char *stored = NULL;
  uvcrawl__dynbuf_t seeds; /* this worker's, sorted, one a line */
  int err = 0;
  if (whylen) why[0] = '\0';
  if (c->state != ST_IDLE || c->rf != NULL) return UVCRAWL_ESTATE;
  if (c->opts.check || c->journal || c->opts.sitemaps || c->opts.max_pages) {
    snprintf(why, whylen, "a shared crawl does not take the CHECK, STATE_DIR, SITEMAPS or "
                          "MAX_PAGES options");
    return UV_ENOTSUP;
  }
  uvcrawl__dynbuf_init(&seeds, 0);
  /* The seeds wait in the local queue: they go to Redis instead. */
  while (uvcrawl__frontier_pop(c->frontier, &item)) {
    const char **m = realloc(mine, (n + 1) * sizeof(*m));
    if (m == NULL) {
      free(mine);
      return UV_ENOMEM;
    }
    mine = m;
    mine[n++] = item.url;
  }
  if (n > 0) qsort(mine, n, sizeof(*mine), cmp_str);
  for (size_t i = 0; i < n && err == 0; i++)
    if (uvcrawl__dynbuf_addstr(&seeds, mine[i]) != 0 ||
        uvcrawl__dynbuf_add(&seeds, "\n", i + 1 < n ? 1 : 0) != 0)
      err = UV_ENOMEM;
  /* "" for none: never a NULL string. */
  if (err == 0 && uvcrawl__dynbuf_add(&seeds, "", 0) != 0) err = UV_ENOMEM;
  uvcrawl__rf_opts_t o;
  memset(&o, 0, sizeof(o));
  o.redis_url = redis_url;
  o.name = name;
  o.identity = c->identity;
  o.seeds = seeds.p;
  o.per_host = c->opts.per_host;
  o.delay_ms = c->opts.delay_ms;
  o.lease_ms = lease_ms ? lease_ms : 30000;
  o.max_tries = max_tries ? max_tries : 5;
  o.ignore_robots = c->opts.ignore_robots;
  o.max_held = c->stats.inflight_cap;
  uvcrawl__rf_cbs_t cbs = {rf_wake, rf_robots_shared, rf_fatal};
  uvcrawl__rf_t *rf = NULL;
  if (err == 0)
    err = uvcrawl__rf_new(c->loop, c->frontier, &o, &cbs, c, &stored, why, whylen, &rf);
  if (err == 0) {
    c->rf = rf; /* from here the crawler's close closes it */
    c->fops = &uvcrawl__rf_fops;
    c->fq = rf;
    if (n > 0 && strcmp(stored, seeds.p) != 0) {
      snprintf(why, whylen, "the crawl was started with other seeds:\n%s", stored);
      err = UVCRAWL_ECLUSTER;
    }
  }
  for (size_t i = 0; err == 0 && i < n; i++)
    if (uvcrawl__rf_push(rf, mine[i], NULL, 0) < 0) err = UV_ENOMEM;
  /* A worker started without seeds takes the crawl's, for its scope. */
  for (char *s = stored, *e; err == 0 && n == 0 && s && *s; s = e + (*e != '\0')) {
    e = s + strcspn(s, "\n");
    char save = *e;
    *e = '\0';
    err = adopt_seed(c, s);
    *e = save;
    if (save == '\0') break;
  }
  free(stored);
  uvcrawl__dynbuf_free(&seeds);
  free(mine);
  return err;
}

int uvcrawl_cluster_status(const char *redis_url, const char *name, char **json, char *why,
                           size_t whylen) {
  return uvcrawl__rf_status(redis_url, name, json, why, whylen);
}

int uvcrawl_cluster_export(const char *redis_url, const char *name, const char *path,
                           uint64_t *n, char *why, size_t whylen) {
  int fd = strcmp(path, "-") == 0 ? 1 : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    snprintf(why, whylen, "cannot write %s: %s", path, strerror(errno));
    return -errno;
  }
  int err = uvcrawl__rf_export(redis_url, name, fd, n, why, whylen);
  if (fd != 1 && close(fd) != 0 && err == 0) {
    snprintf(why, whylen, "cannot write %s: %s", path, strerror(errno));
    err = UV_EIO;
  }
  return err;
}

const char *uvcrawl_cluster_error(const uvcrawl_t *c) { return c->fatal_why; }
