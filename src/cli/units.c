/* Durations and sizes with units (units.h). Integer arithmetic only: "0.3" must be exactly
 * 300 ms, which a double would only get by luck. */
#include "units.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define MAX_FRAC_DIGITS 9 /* nanosecond precision of a second: more digits are refused */

typedef struct {
  uint64_t whole;   /* digits before the point */
  uint64_t frac;    /* digits after it, as an integer ... */
  uint64_t frac_den; /* ... over this power of ten (1: no fraction) */
  const char *rest; /* the unit, or "" */
} number_t;

/* Reads "123", "1.5", ".5" or "5." at the start of s. Returns 0 or UV_EINVAL/UV_ERANGE. */
static int read_number(const char *s, number_t *n) {
  const char *p = s;
  int digits = 0, frac_digits = 0;
  n->whole = 0;
  n->frac = 0;
  n->frac_den = 1;
  for (; *p >= '0' && *p <= '9'; p++, digits++) {
    uint64_t d = (uint64_t)(*p - '0');
    if (n->whole > (UINT64_MAX - d) / 10) return UV_ERANGE;
    n->whole = n->whole * 10 + d;
  }
  if (*p == '.') {
    for (p++; *p >= '0' && *p <= '9'; p++, frac_digits++) {
      if (frac_digits == MAX_FRAC_DIGITS) return UV_EINVAL;
      n->frac = n->frac * 10 + (uint64_t)(*p - '0');
      n->frac_den *= 10;
    }
  }
  if (digits + frac_digits == 0) return UV_EINVAL;
  n->rest = p;
  return 0;
}

/* whole * unit + frac * unit / den, rounded to the nearest; UV_ERANGE past max. */
static int scale(const number_t *n, uint64_t unit, uint64_t max, int round_nearest,
                 uint64_t *out) {
  if (unit != 0 && n->whole > max / unit) return UV_ERANGE;
  uint64_t v = n->whole * unit;
  /* frac < den <= 1e9 and unit <= 3.6e6 (an hour in ms) or 2^30: the product fits. */
  uint64_t part = n->frac * unit;
  uint64_t q = part / n->frac_den, r = part % n->frac_den;
  if (round_nearest && r * 2 >= n->frac_den) q++;
  if (v > max - q) return UV_ERANGE;
  v += q;
  if (v == 0 && (n->whole != 0 || n->frac != 0) && round_nearest) v = 1; /* never "none" */
  if (v > max) return UV_ERANGE;
  *out = v;
  return 0;
}

int cli_parse_duration(const char *s, uint64_t max_ms, uint64_t *ms) {
  static const struct {
    const char *name;
    uint64_t ms;
  } units[] = {{"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
  number_t n;
  int err;
  if (s == NULL) return UV_EINVAL;
  if ((err = read_number(s, &n)) != 0) return err;
  for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
    if (strcmp(n.rest, units[i].name) == 0) return scale(&n, units[i].ms, max_ms, 1, ms);
  return UV_EINVAL;
}

int cli_parse_size(const char *s, uint64_t max, uint64_t *bytes) {
  number_t n;
  uint64_t unit;
  int err;
  if (s == NULL) return UV_EINVAL;
  if ((err = read_number(s, &n)) != 0) return err;
  switch (n.rest[0]) {
  case '\0': unit = 1; break;
  case 'k': case 'K': unit = 1u << 10; break;
  case 'm': case 'M': unit = 1u << 20; break;
  case 'g': case 'G': unit = 1u << 30; break;
  default: return UV_EINVAL;
  }
  if (n.rest[0] != '\0' && n.rest[1] != '\0') return UV_EINVAL;
  if (unit == 1 && n.frac_den != 1) return UV_EINVAL; /* "2.5" bytes */
  return scale(&n, unit, max, 0, bytes);
}

int cli_parse_count(const char *s, uint64_t max, uint64_t *n) {
  char *end;
  if (s == NULL || *s == '\0' || *s == '-') return UV_EINVAL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno == ERANGE) return UV_ERANGE;
  if (errno != 0 || *end != '\0') return UV_EINVAL;
  if (v > max) return UV_ERANGE;
  *n = v;
  return 0;
}

const char *cli_format_duration(uint64_t ms, char *buf, unsigned n) {
  if (ms != 0 && ms % 3600000 == 0) snprintf(buf, n, "%" PRIu64 "h", ms / 3600000);
  else if (ms != 0 && ms % 60000 == 0) snprintf(buf, n, "%" PRIu64 "m", ms / 60000);
  else if (ms % 1000 == 0) snprintf(buf, n, "%" PRIu64 "%s", ms / 1000, ms ? "s" : "");
  else snprintf(buf, n, "%" PRIu64 "ms", ms);
  return buf;
}

const char *cli_format_size(uint64_t bytes, char *buf, unsigned n) {
  if (bytes != 0 && bytes % (1u << 30) == 0) snprintf(buf, n, "%" PRIu64 "G", bytes >> 30);
  else if (bytes != 0 && bytes % (1u << 20) == 0) snprintf(buf, n, "%" PRIu64 "M", bytes >> 20);
  else if (bytes != 0 && bytes % (1u << 10) == 0) snprintf(buf, n, "%" PRIu64 "k", bytes >> 10);
  else snprintf(buf, n, "%" PRIu64, bytes);
  return buf;
}
