/* Built without hiredis: no shared frontier, every entry point says so. */
#include "redis_frontier.h"

#include "frontier.h"
#include "testhooks.h"

void uvcrawl__test_die_on(const char *substr) { (void)substr; }

const uvcrawl__fops_t uvcrawl__rf_fops;

int uvcrawl__rf_new(uv_loop_t *loop, uvcrawl__frontier_t *local, const uvcrawl__rf_opts_t *o,
                    const uvcrawl__rf_cbs_t *cbs, void *arg, char **stored_seeds, char *why,
                    size_t whylen, uvcrawl__rf_t **out) {
  (void)loop, (void)local, (void)o, (void)cbs, (void)arg, (void)out;
  *stored_seeds = NULL;
  if (whylen) why[0] = '\0';
  return UV_ENOTSUP;
}

int uvcrawl__rf_push(uvcrawl__rf_t *q, const char *url, const char *referrer, int depth) {
  (void)q, (void)url, (void)referrer, (void)depth;
  return UV_ENOTSUP;
}

void uvcrawl__rf_close(uvcrawl__rf_t *q, void (*cb)(void *arg), void *arg) {
  (void)q;
  if (cb) cb(arg);
}

int uvcrawl__rf_status(const char *redis_url, const char *name, char **json, char *why,
                       size_t whylen) {
  (void)redis_url, (void)name;
  *json = NULL;
  if (whylen) why[0] = '\0';
  return UV_ENOTSUP;
}

int uvcrawl__rf_export(const char *redis_url, const char *name, int fd, uint64_t *n, char *why,
                       size_t whylen) {
  (void)redis_url, (void)name, (void)fd;
  *n = 0;
  if (whylen) why[0] = '\0';
  return UV_ENOTSUP;
}
