/* Scope and filters: which URLs a crawl takes (scope.h). Pure. */
#include "scope.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"
#include "uvcrawl.h"

/* The host part of "scheme://host:port". */
static size_t origin_host(const char *origin, const char **host) {
  const char *h = strstr(origin, "://");
  h = h ? h + 3 : origin;
  const char *colon = strrchr(h, ':');
  *host = h;
  return colon ? (size_t)(colon - h) : strlen(h);
}

int uvcrawl__scope_match(int scope, const char *url, const char *const *origins, size_t norigins,
                         const char *const *prefixes, size_t nprefixes) {
  switch (scope) {
  case UVCRAWL__SCOPE_ALL: return 1;
  case UVCRAWL__SCOPE_HOST: return uvcrawl__in_scope(url, origins, norigins);
  case UVCRAWL__SCOPE_PREFIX:
    for (size_t i = 0; i < nprefixes; i++)
      if (strncmp(url, prefixes[i], strlen(prefixes[i])) == 0) return 1;
    return 0;
  case UVCRAWL__SCOPE_DOMAIN: {
    char *origin;
    const char *h, *sh;
    int found = 0;
    if (uvcrawl__url_origin(url, &origin) != 0) return 0;
    size_t hl = origin_host(origin, &h);
    for (size_t i = 0; i < norigins && !found; i++) {
      size_t sl = origin_host(origins[i], &sh);
      /* the seed's host itself, or a name ending in "." + it */
      found = (hl == sl && memcmp(h, sh, hl) == 0) ||
              (hl > sl && h[hl - sl - 1] == '.' && memcmp(h + hl - sl, sh, sl) == 0);
    }
    free(origin);
    return found;
  }
  }
  return 0;
}

void uvcrawl__scope_prefix(char *url) {
  const char *auth = strstr(url, "://");
  char *slash = auth ? strchr(auth + 3, '/') : NULL, *q = slash ? strchr(slash, '?') : NULL;
  if (q) *q = '\0';
  char *last = strrchr(url, '/');
  if (last && last >= slash) last[1] = '\0';
}

int uvcrawl__filters_compile(const char *const *pats, regex_t **out, size_t *n) {
  size_t k = 0;
  while (pats && pats[k]) k++;
  *n = 0;
  *out = NULL;
  if (k == 0) return 0;
  *out = calloc(k, sizeof(regex_t));
  if (*out == NULL) return -ENOMEM;
  for (size_t i = 0; i < k; i++) {
    if (regcomp(&(*out)[i], pats[i], REG_EXTENDED | REG_NOSUB) != 0) return UVCRAWL_EREGEX;
    (*n)++;
  }
  return 0;
}

void uvcrawl__filters_free(regex_t *r, size_t n) {
  for (size_t i = 0; i < n; i++) regfree(&r[i]);
  free(r);
}

int uvcrawl__filters_pass(const regex_t *include, size_t ninclude, const regex_t *exclude,
                          size_t nexclude, const char *url) {
  int ok = ninclude == 0;
  for (size_t i = 0; i < ninclude && !ok; i++) ok = regexec(&include[i], url, 0, NULL, 0) == 0;
  for (size_t i = 0; i < nexclude && ok; i++) ok = regexec(&exclude[i], url, 0, NULL, 0) != 0;
  return ok;
}

int uvcrawl__in_scope(const char *url, const char *const *origins, size_t n) {
  char *origin;
  int found = 0;
  if (n == 0) return 1;
  if (uvcrawl__url_origin(url, &origin) != 0) return 0;
  for (size_t i = 0; i < n && !found; i++) found = strcmp(origin, origins[i]) == 0;
  free(origin);
  return found;
}
