/* The options object: defaults, typed setters and their validators, deep copies — all
 * generated from UVCRAWL_OPTION_MAP (include/uvcrawl.h), so an option is one line there and
 * a field in options.h. Pure: no handle, no I/O. */
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "uvcrawl.h"

/* ---- validators ------------------------------------------------------------------------ */

int uvcrawl__accept_parse(const char *spec, long ranges[UVCRAWL__MAX_ACCEPT][2], size_t *n) {
  const char *p = spec;
  *n = 0;
  while (*p) {
    char *end;
    long lo = strtol(p, &end, 10), hi = lo;
    if (end == p || lo < 0 || lo > 999) return UVCRAWL_EACCEPT;
    p = end;
    if (strncmp(p, "..", 2) == 0) {
      hi = strtol(p + 2, &end, 10);
      if (end == p + 2 || hi < lo || hi > 999) return UVCRAWL_EACCEPT;
      p = end;
    }
    if (*n == UVCRAWL__MAX_ACCEPT) return UVCRAWL_EACCEPT;
    ranges[*n][0] = lo;
    ranges[*n][1] = hi;
    (*n)++;
    if (*p == ',') p++;
    else if (*p != '\0') return UVCRAWL_EACCEPT;
  }
  return *n ? 0 : UVCRAWL_EACCEPT;
}

int uvcrawl__scope_parse(const char *name) {
  static const char *const names[] = {"host", "domain", "prefix", "all"};
  if (name == NULL) return 0;
  for (int i = 0; i < 4; i++)
    if (strcmp(name, names[i]) == 0) return i;
  return UVCRAWL_ESCOPE;
}

int uvcrawl__header_ok(const char *line) {
  size_t name = strcspn(line, ":;");
  if (name == 0 || line[name] == '\0') return 0;
  if (strpbrk(line, "\r\n") != NULL) return 0;
  for (size_t i = 0; i < name; i++)
    if (line[i] == ' ' || line[i] == '\t') return 0;
  return line[name] == ':' || line[name + 1] == '\0';
}

/* String checks: 0 or an error code. NULL (the default) always passes. */
static inline int check_str_ANY(const char *s) {
  (void)s;
  return 0;
}
static inline int check_str_LINE(const char *s) {
  return s != NULL && strpbrk(s, "\r\n") != NULL ? -EINVAL : 0;
}
static inline int check_str_SCOPE(const char *s) {
  int i = uvcrawl__scope_parse(s);
  return i < 0 ? i : 0;
}
static inline int check_str_ACCEPT(const char *s) {
  long r[UVCRAWL__MAX_ACCEPT][2];
  size_t n;
  return s == NULL ? 0 : uvcrawl__accept_parse(s, r, &n);
}
/* List checks, one entry at a time. */
static inline int check_strv_ANY(const char *s) {
  (void)s;
  return 0;
}
static inline int check_strv_REGEX(const char *s) {
  regex_t re;
  if (regcomp(&re, s, REG_EXTENDED | REG_NOSUB) != 0) return UVCRAWL_EREGEX;
  regfree(&re);
  return 0;
}
static inline int check_strv_HEADER(const char *s) { return uvcrawl__header_ok(s) ? 0 : -EINVAL; }

/* ---- copies -------------------------------------------------------------------------- */

static void free_strv(const char *const *v) {
  for (size_t i = 0; v != NULL && v[i] != NULL; i++) free((void *)v[i]);
  free((void *)v);
}

/* A deep copy of a NULL-ended list; NULL for NULL or empty. 0 or -ENOMEM. */
static int dup_strv(const char *const *v, const char *const **out) {
  size_t n = 0;
  *out = NULL;
  while (v != NULL && v[n] != NULL) n++;
  if (n == 0) return 0;
  char **c = calloc(n + 1, sizeof(*c));
  if (c == NULL) return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    if ((c[i] = strdup(v[i])) == NULL) {
      free_strv((const char *const *)c);
      return -ENOMEM;
    }
  }
  *out = (const char *const *)c;
  return 0;
}

/* 0 or -ENOMEM; *out is NULL for NULL. */
static int dup_str(const char *s, const char **out) {
  *out = s ? strdup(s) : NULL;
  return s != NULL && *out == NULL ? -ENOMEM : 0;
}

void uvcrawl__options_defaults(uvcrawl_options_t *o) {
  memset(o, 0, sizeof(*o));
#define DEF_INT(field, def) o->field = def;
#define DEF_BOOL(field, def) o->field = def;
#define DEF_STR(field, def)
#define DEF_STRV(field, def)
#define XX(name, num, type, field, def, check) DEF_##type(field, def)
  UVCRAWL_OPTION_MAP(XX)
#undef XX
}

void uvcrawl__options_clear(uvcrawl_options_t *o) {
#define CLEAR_INT(field)
#define CLEAR_BOOL(field)
#define CLEAR_STR(field) free((void *)o->field);
#define CLEAR_STRV(field) free_strv(o->field);
#define XX(name, num, type, field, def, check) CLEAR_##type(field)
  UVCRAWL_OPTION_MAP(XX)
#undef XX
  uvcrawl__options_defaults(o);
}

int uvcrawl__options_copy(uvcrawl_options_t *dst, const uvcrawl_options_t *src) {
  int err = 0;
  *dst = *src;
  /* First every pointer to NULL, so that a failure half-way frees only copies. */
#define NULL_INT(field)
#define NULL_BOOL(field)
#define NULL_STR(field) dst->field = NULL;
#define NULL_STRV(field) dst->field = NULL;
#define XX(name, num, type, field, def, check) NULL_##type(field)
  UVCRAWL_OPTION_MAP(XX)
#undef XX
#define COPY_INT(field)
#define COPY_BOOL(field)
#define COPY_STR(field) if (err == 0) err = dup_str(src->field, &dst->field);
#define COPY_STRV(field) if (err == 0) err = dup_strv(src->field, &dst->field);
#define XX(name, num, type, field, def, check) COPY_##type(field)
  UVCRAWL_OPTION_MAP(XX)
#undef XX
  if (err) uvcrawl__options_clear(dst);
  return err;
}

/* ---- the public object ---------------------------------------------------------------- */

int uvcrawl_options_new(uvcrawl_options_t **out) {
  uvcrawl_options_t *o = malloc(sizeof(*o));
  if (o == NULL) return -ENOMEM;
  uvcrawl__options_defaults(o);
  *out = o;
  return 0;
}

void uvcrawl_options_free(uvcrawl_options_t *o) {
  if (o == NULL) return;
  uvcrawl__options_clear(o);
  free(o);
}

enum { TYPE_INT = 1, TYPE_BOOL, TYPE_STR, TYPE_STRV };

/* An option's type, 0 when unknown. One case per option: two options with one number do not
 * compile. */
static int option_type(uvcrawl_option_t opt) {
  switch (opt) {
#define XX(name, num, type, field, def, check) \
  case UVCRAWL_OPT_##name:                     \
    return TYPE_##type;
    UVCRAWL_OPTION_MAP(XX)
#undef XX
  default: return 0;
  }
}

/* RANGE(lo, hi) in the table becomes IN_RANGE(lo, hi) here. */
#define IN_RANGE(lo, hi) (v >= (int64_t)(lo) && v <= (int64_t)(hi))

int uvcrawl_options_set_int(uvcrawl_options_t *o, uvcrawl_option_t opt, int64_t v) {
  int type = option_type(opt);
  if (o == NULL || (type != TYPE_INT && type != TYPE_BOOL)) return -EINVAL;
  switch (opt) {
#define SETI_INT(name, field, check)           \
  case UVCRAWL_OPT_##name:                     \
    if (!(IN_##check)) return -EINVAL;       \
    o->field = v;                              \
    return 0;
#define SETI_BOOL(name, field, check)          \
  case UVCRAWL_OPT_##name:                     \
    if (v != 0 && v != 1) return -EINVAL;    \
    o->field = (int)v;                         \
    return 0;
#define SETI_STR(name, field, check)
#define SETI_STRV(name, field, check)
#define XX(name, num, type, field, def, check) SETI_##type(name, field, check)
    UVCRAWL_OPTION_MAP(XX)
#undef XX
  default: return -EINVAL; /* unknown, or not an integer option */
  }
}

int uvcrawl_options_set_str(uvcrawl_options_t *o, uvcrawl_option_t opt, const char *v) {
  const char *copy;
  int err;
  if (o == NULL || option_type(opt) != TYPE_STR) return -EINVAL;
  switch (opt) {
#define SETS_INT(name, field, check)
#define SETS_BOOL(name, field, check)
#define SETS_STR(name, field, check)                                                  \
  case UVCRAWL_OPT_##name:                                                            \
    if ((err = check_str_##check(v)) != 0 || (err = dup_str(v, &copy)) != 0) return err; \
    free((void *)o->field);                                                           \
    o->field = copy;                                                                  \
    return 0;
#define SETS_STRV(name, field, check)
#define XX(name, num, type, field, def, check) SETS_##type(name, field, check)
    UVCRAWL_OPTION_MAP(XX)
#undef XX
  default: return -EINVAL;
  }
}

int uvcrawl_options_set_strv(uvcrawl_options_t *o, uvcrawl_option_t opt,
                             const char *const *v) {
  const char *const *copy;
  int err = 0;
  if (o == NULL || option_type(opt) != TYPE_STRV) return -EINVAL;
  switch (opt) {
#define SETV_INT(name, field, check)
#define SETV_BOOL(name, field, check)
#define SETV_STR(name, field, check)
#define SETV_STRV(name, field, check)                                          \
  case UVCRAWL_OPT_##name:                                                     \
    for (size_t i = 0; v != NULL && v[i] != NULL && err == 0; i++)             \
      err = check_strv_##check(v[i]);                                          \
    if (err != 0 || (err = dup_strv(v, &copy)) != 0) return err;               \
    free_strv(o->field);                                                       \
    o->field = copy;                                                           \
    return 0;
#define XX(name, num, type, field, def, check) SETV_##type(name, field, check)
    UVCRAWL_OPTION_MAP(XX)
#undef XX
  default: return -EINVAL;
  }
}
