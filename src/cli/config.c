/* uvcrawl --config FILE (config.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

int cli_args_push(cli_args_t *a, const char *arg, int owned, const char *where) {
  if (a->n + 2 > a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 16;
    char **v = realloc(a->argv, cap * sizeof(*v));
    if (v == NULL) return -1;
    a->argv = v;
    char **w = realloc(a->where, cap * sizeof(*w));
    if (w == NULL) return -1;
    a->where = w;
    int *o = realloc(a->owned, cap * sizeof(*o));
    if (o == NULL) return -1;
    a->owned = o;
    a->cap = cap;
  }
  char *copy = owned ? strdup(arg) : (char *)arg;
  char *wcopy = where ? strdup(where) : NULL;
  if (copy == NULL || (where != NULL && wcopy == NULL)) {
    if (owned) free(copy);
    free(wcopy);
    return -1;
  }
  a->argv[a->n] = copy;
  a->where[a->n] = wcopy;
  a->owned[a->n] = owned;
  a->n++;
  a->argv[a->n] = NULL;
  return 0;
}

void cli_args_free(cli_args_t *a) {
  for (size_t i = 0; i < a->n; i++) {
    if (a->owned[i]) free(a->argv[i]);
    free(a->where[i]);
  }
  free(a->argv);
  free(a->where);
  free(a->owned);
  memset(a, 0, sizeof(*a));
}

static int is_blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

/* Unquotes "..." (with escapes) or '...' at v[0..n) into out (n + 1 bytes). Returns 0, or -1
 * when the quote is not closed or text follows it. */
static int unquote(const char *v, size_t n, char *out) {
  char q = v[0];
  size_t o = 0, i = 1;
  for (; i < n && v[i] != q; i++) {
    if (q == '"' && v[i] == '\\' && i + 1 < n) {
      char e = v[++i];
      out[o++] = e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : e;
    } else {
      out[o++] = v[i];
    }
  }
  if (i >= n) return -1;
  for (i++; i < n; i++)
    if (!is_blank(v[i])) return -1;
  out[o] = '\0';
  return 0;
}

/* One line: 0 (nothing, or an argument pushed), or -1 with err filled in. */
static int parse_line(char *line, const struct option *longopts, cli_args_t *a,
                      const char *where, char *err, size_t errlen) {
  char *p = line, *end = line + strlen(line);
  while (p < end && is_blank(*p)) p++;
  while (end > p && is_blank(end[-1])) end--;
  if (p == end || *p == '#') return 0;
  if (end - p >= 2 && p[0] == '-' && p[1] == '-') p += 2;
  const char *name = p;
  while (p < end && (*p == '-' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9')))
    p++;
  size_t nlen = (size_t)(p - name);
  if (nlen == 0 || (p < end && !is_blank(*p) && *p != '=' && *p != ':')) {
    /* The word only, not its value: a mistyped "redis_url = redis://:PASSWORD@..." must not
     * show the password. */
    const char *w = name;
    while (w < end && !is_blank(*w) && *w != '=' && *w != ':') w++;
    if (w == name)
      while (w < end && !is_blank(*w)) w++;
    snprintf(err, errlen, "%s: not an option: '%.*s'", where, (int)(w - name), name);
    return -1;
  }
  while (p < end && is_blank(*p)) p++;
  if (p < end && (*p == '=' || *p == ':')) {
    p++;
    while (p < end && is_blank(*p)) p++;
  }
  const struct option *o = longopts;
  while (o->name != NULL && (strlen(o->name) != nlen || strncmp(o->name, name, nlen) != 0)) o++;
  if (o->name == NULL) {
    snprintf(err, errlen, "%s: unknown option '%.*s'", where, (int)nlen, name);
    return -1;
  }
  if (strcmp(o->name, "config") == 0) {
    snprintf(err, errlen, "%s: a config file cannot read another (config)", where);
    return -1;
  }
  size_t vlen = (size_t)(end - p);
  if (o->has_arg == no_argument && vlen > 0) {
    snprintf(err, errlen, "%s: '%s' takes no value", where, o->name);
    return -1;
  }
  if (o->has_arg == required_argument && vlen == 0) {
    snprintf(err, errlen, "%s: '%s' needs a value", where, o->name);
    return -1;
  }
  size_t size = 2 + strlen(o->name) + 1 + vlen + 1;
  char *arg = malloc(size), *val = malloc(vlen + 1);
  int rc = 0;
  if (arg == NULL || val == NULL) {
    snprintf(err, errlen, "%s: out of memory", where);
    rc = -1;
  } else if (vlen > 0 && (*p == '"' || *p == '\'') && unquote(p, vlen, val) != 0) {
    snprintf(err, errlen, "%s: the quoted value of '%s' is not closed, or text follows it",
             where, o->name);
    rc = -1;
  } else {
    if (vlen > 0 && *p != '"' && *p != '\'') {
      memcpy(val, p, vlen);
      val[vlen] = '\0';
    }
    if (vlen > 0) snprintf(arg, size, "--%s=%s", o->name, val);
    else snprintf(arg, size, "--%s", o->name);
    if (cli_args_push(a, arg, 1, where) != 0) {
      snprintf(err, errlen, "%s: out of memory", where);
      rc = -1;
    }
  }
  free(arg);
  free(val);
  return rc;
}

int cli_config_read(const char *path, const struct option *longopts, cli_args_t *a, char *err,
                    size_t errlen) {
  FILE *f = fopen(path, "r");
  char *line = NULL, *where;
  size_t cap = 0;
  unsigned lineno = 0;
  int rc = 0;
  if (f == NULL) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  size_t wsize = strlen(path) + 16;
  if ((where = malloc(wsize)) == NULL) {
    fclose(f);
    snprintf(err, errlen, "%s: out of memory", path);
    return -1;
  }
  errno = 0;
  ssize_t len;
  while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
    snprintf(where, wsize, "%s:%u", path, ++lineno);
    if ((size_t)len != strlen(line)) {
      snprintf(err, errlen, "%s: a NUL byte in the line", where);
      rc = -1;
      break;
    }
    rc = parse_line(line, longopts, a, where, err, errlen);
  }
  if (rc == 0 && ferror(f)) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno ? errno : EIO));
    rc = -1;
  }
  free(line);
  free(where);
  fclose(f);
  return rc;
}
