/* robots.txt per RFC 9309: parsed once, keeping only the group(s) that apply to our agent, then
 * queried by longest match.
 *
 * Patterns and paths are compared as sequences of symbols: a character that stands for itself
 * (unreserved or reserved in RFC 3986 terms) or an octet that belongs percent-encoded. Every
 * spelling RFC 9309 2.2.2 calls equivalent yields the same symbols, so a lookup needs neither a
 * normalized copy of the path nor an allocation. */
#include "robots.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dynbuf.h"


enum { MODE_RULES, MODE_ALLOW_ALL, MODE_DISALLOW_ALL };

#define SYM_ESC 256u  /* SYM_ESC + b: octet b, written (or to be written) as %HH */
#define SYM_WILD 512u /* '*' in a pattern */

typedef struct {
  uint16_t *sym;
  size_t n;
  size_t prio; /* octets of the normalized pattern, '*' and '$' included (as Google counts) */
  unsigned char allow;
  unsigned char anchored; /* the pattern ended in '$' */
} rule_t;

/* The rules and delay gathered for one audience (our agent, or "*"). */
typedef struct {
  rule_t *v;
  size_t n;
  size_t cap;
  long delay_ms; /* -1: none */
  int delay_capped;
} ruleset_t;

struct uvcrawl__robots_s {
  int mode;
  rule_t *rules; /* sorted: priority descending, allow first, so the first match decides */
  size_t nrules;
  long delay_ms;
  int delay_capped;
  char **sitemaps;
  size_t nsitemaps;
};

typedef struct {
  const char *agent; /* our product token, borrowed */
  size_t agent_len;
  int in_agents; /* the last record that counts for grouping was a user-agent line */
  int cur_spec;  /* the current group names our agent */
  int cur_glob;  /* the current group names "*" */
  int seen_spec; /* some group named our agent: "*" groups no longer matter */
  ruleset_t spec;
  ruleset_t glob;
  char **sitemaps;
  size_t nsitemaps;
  size_t sitemap_cap;
} parser_t;

enum { KEY_OTHER, KEY_AGENT, KEY_ALLOW, KEY_DISALLOW, KEY_DELAY, KEY_SITEMAP };

/* ---- characters ------------------------------------------------------------------------- */

static unsigned lower(unsigned c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int is_digit(unsigned c) { return c >= '0' && c <= '9'; }

static int is_space(unsigned c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f'; }

static int is_unreserved(unsigned c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

static int is_reserved(unsigned c) {
  return c != 0 && memchr(":/?#[]@!$&'()*+,;=", (int)c, 18) != NULL;
}

static int hex_val(unsigned c) {
  if (is_digit(c)) return (int)(c - '0');
  c = lower(c);
  if (c >= 'a' && c <= 'f') return (int)(c - 'a' + 10);
  return -1;
}

static int eq_ci(const char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (lower((unsigned char)a[i]) != lower((unsigned char)b[i])) return 0;
  return 1;
}

/* The symbol starting at s[i] (i < n); returns how many bytes it spans. A '%' that does not
 * start a valid escape is an octet to encode, exactly as "%25" is. */
static size_t sym_at(const char *s, size_t i, size_t n, unsigned *sym) {
  unsigned c = (unsigned char)s[i];
  if (c == '%' && n - i >= 3) {
    int h = hex_val((unsigned char)s[i + 1]), l = hex_val((unsigned char)s[i + 2]);
    if (h >= 0 && l >= 0) {
      unsigned b = (unsigned)(h * 16 + l);
      *sym = is_unreserved(b) ? b : SYM_ESC + b;
      return 3;
    }
  }
  *sym = is_unreserved(c) || is_reserved(c) ? c : SYM_ESC + c;
  return 1;
}

static void trim(const char **s, size_t *n) {
  while (*n > 0 && is_space((unsigned char)**s)) (*s)++, (*n)--;
  while (*n > 0 && is_space((unsigned char)(*s)[*n - 1])) (*n)--;
}

/* The product token of a user-agent value: what precedes the first '/' or whitespace. */
static size_t product_token(const char *s, size_t n, const char **tok) {
  trim(&s, &n);
  size_t i = 0;
  while (i < n && s[i] != '/' && !is_space((unsigned char)s[i])) i++;
  *tok = s;
  return i;
}

/* ---- matching --------------------------------------------------------------------------- */

/* Greedy matching that backtracks only to the most recent '*': a later '*' can absorb whatever
 * an earlier one would have, so older choices never need revisiting. Each backtrack moves the
 * restart point one symbol further, so the work is O(len(path) * len(pattern)) at worst. An
 * unanchored pattern matches as soon as it is used up (a prefix of the path matched). */
static int rule_matches(const rule_t *r, const char *path, size_t n) {
  size_t pi = 0, si = 0, star = SIZE_MAX, mark = 0;
  unsigned sym;
  for (;;) {
    if (pi == r->n && !r->anchored) return 1;
    if (si == n) break;
    if (pi < r->n) {
      if (r->sym[pi] == SYM_WILD) {
        star = pi++;
        mark = si;
        continue;
      }
      size_t len = sym_at(path, si, n, &sym);
      if (sym == r->sym[pi]) {
        pi++;
        si += len;
        continue;
      }
    }
    if (star == SIZE_MAX) return 0;
    pi = star + 1;
    mark += sym_at(path, mark, n, &sym);
    si = mark;
  }
  while (pi < r->n && r->sym[pi] == SYM_WILD) pi++;
  return pi == r->n;
}

/* RFC 9309 2.2.2: the robots.txt URI is implicitly allowed (in any equivalent spelling). */
static int is_robots_txt(const char *path, size_t n) {
  static const char want[] = "/robots.txt";
  size_t i = 0, k = 0;
  unsigned sym;
  while (i < n) {
    if (k == sizeof(want) - 1) return 0;
    i += sym_at(path, i, n, &sym);
    if (sym != (unsigned char)want[k++]) return 0;
  }
  return k == sizeof(want) - 1;
}

int uvcrawl__robots_allowed(const uvcrawl__robots_t *r, const char *path) {
  if (path == NULL || path[0] == '\0') path = "/";
  const char *hash = strchr(path, '#'); /* a fragment is never part of what is fetched */
  size_t n = hash != NULL ? (size_t)(hash - path) : strlen(path);
  if (n == 0) path = "/", n = 1;
  if (is_robots_txt(path, n)) return 1;
  if (r->mode == MODE_ALLOW_ALL) return 1;
  if (r->mode == MODE_DISALLOW_ALL) return 0;
  for (size_t i = 0; i < r->nrules; i++)
    if (rule_matches(&r->rules[i], path, n)) return r->rules[i].allow;
  return 1;
}

/* ---- parsing ---------------------------------------------------------------------------- */

static void ruleset_free(ruleset_t *rs) {
  for (size_t i = 0; i < rs->n; i++) free(rs->v[i].sym);
  free(rs->v);
  rs->v = NULL;
  rs->n = rs->cap = 0;
}

static int ruleset_add(ruleset_t *rs, const char *v, size_t n, int allow) {
  if (rs->n >= UVCRAWL__ROBOTS_MAX_RULES) return 0;
  if (uvcrawl__array_grow((void **)&rs->v, &rs->cap, rs->n + 1, sizeof(*rs->v), 16) != 0)
    return -ENOMEM;
  rule_t *r = &rs->v[rs->n];
  r->allow = (unsigned char)(allow != 0);
  r->anchored = (unsigned char)(v[n - 1] == '$');
  if (r->anchored) n--;
  r->prio = r->anchored;
  r->n = 0;
  r->sym = malloc((n ? n : 1) * sizeof(*r->sym)); /* never more symbols than bytes */
  if (r->sym == NULL) return -ENOMEM;
  for (size_t i = 0; i < n;) {
    unsigned sym;
    if (v[i] == '*') {
      i++;
      r->prio++;
      if (r->n > 0 && r->sym[r->n - 1] == SYM_WILD) continue; /* "**" is "*" */
      sym = SYM_WILD;
    } else {
      i += sym_at(v, i, n, &sym);
      r->prio += sym >= SYM_ESC ? 3 : 1;
    }
    r->sym[r->n++] = (uint16_t)sym;
  }
  rs->n++;
  return 0;
}

/* Decimal seconds ("10", "0.5", ".5", "2.") to milliseconds, without strtod (whose decimal
 * point follows the locale). Returns 0 when v is not such a number. */
static int parse_delay(const char *v, size_t n, long *ms, int *capped) {
  size_t i = 0, int_digits = 0, frac_digits = 0;
  uint64_t secs = 0, frac = 0;
  int more = 0; /* nonzero digits below a millisecond */
  for (; i < n && is_digit((unsigned char)v[i]); i++, int_digits++)
    if (secs < 1000000) secs = secs * 10 + (uint64_t)(v[i] - '0'); /* past 1e6 it is capped */
  if (i < n && v[i] == '.') {
    for (i++; i < n && is_digit((unsigned char)v[i]); i++, frac_digits++) {
      if (frac_digits < 3) frac = frac * 10 + (uint64_t)(v[i] - '0');
      else if (v[i] != '0') more = 1;
    }
  }
  if (i != n || int_digits + frac_digits == 0) return 0;
  for (size_t k = frac_digits; k < 3; k++) frac *= 10;
  uint64_t total = secs * 1000 + frac;
  *capped = total > (uint64_t)UVCRAWL__ROBOTS_MAX_DELAY_MS ||
            (total == (uint64_t)UVCRAWL__ROBOTS_MAX_DELAY_MS && more);
  *ms = *capped ? UVCRAWL__ROBOTS_MAX_DELAY_MS : (long)total;
  return 1;
}

/* Merged groups may each give a delay: the most polite one is kept. */
static void ruleset_delay(ruleset_t *rs, long ms, int capped) {
  if (ms > rs->delay_ms || (ms == rs->delay_ms && capped)) {
    rs->delay_ms = ms;
    rs->delay_capped = capped;
  }
}

static int add_sitemap(parser_t *p, const char *v, size_t n) {
  if (n == 0 || p->nsitemaps >= UVCRAWL__ROBOTS_MAX_SITEMAPS) return 0;
  for (size_t i = 0; i < n; i++) /* not a URL anyone could fetch; a NUL would also cut it */
    if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) return 0;
  if (uvcrawl__array_grow((void **)&p->sitemaps, &p->sitemap_cap, p->nsitemaps + 1,
                          sizeof(*p->sitemaps), 4) != 0)
    return -ENOMEM;
  char *s = malloc(n + 1);
  if (s == NULL) return -ENOMEM;
  memcpy(s, v, n);
  s[n] = '\0';
  p->sitemaps[p->nsitemaps++] = s;
  return 0;
}

static int key_kind(const char *k, size_t n) {
  /* Google's parser accepts these misspellings too; site owners write them. */
  static const struct {
    const char *name;
    int kind;
  } keys[] = {
      {"user-agent", KEY_AGENT},   {"useragent", KEY_AGENT},     {"user agent", KEY_AGENT},
      {"allow", KEY_ALLOW},        {"disallow", KEY_DISALLOW},   {"dissallow", KEY_DISALLOW},
      {"dissalow", KEY_DISALLOW},  {"disalow", KEY_DISALLOW},    {"crawl-delay", KEY_DELAY},
      {"crawldelay", KEY_DELAY},   {"sitemap", KEY_SITEMAP},     {"site-map", KEY_SITEMAP},
  };
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
    if (strlen(keys[i].name) == n && eq_ci(k, keys[i].name, n)) return keys[i].kind;
  return KEY_OTHER;
}

static int handle_line(parser_t *p, const char *s, size_t n) {
  const char *hash = memchr(s, '#', n);
  if (hash != NULL) n = (size_t)(hash - s);
  const char *colon = memchr(s, ':', n);
  if (colon == NULL) return 0;
  const char *k = s, *v = colon + 1;
  size_t kn = (size_t)(colon - s), vn = n - kn - 1;
  trim(&k, &kn);
  trim(&v, &vn);

  int kind = key_kind(k, kn);
  switch (kind) {
    case KEY_AGENT: {
      if (!p->in_agents) { /* a user-agent line after group rules starts a new group */
        p->in_agents = 1;
        p->cur_spec = p->cur_glob = 0;
      }
      const char *tok;
      size_t tn = product_token(v, vn, &tok);
      if (tn == 1 && tok[0] == '*') {
        p->cur_glob = 1;
      } else if (tn > 0 && tn == p->agent_len && eq_ci(tok, p->agent, tn)) {
        p->cur_spec = 1;
        p->seen_spec = 1;
      }
      return 0;
    }
    case KEY_ALLOW:
    case KEY_DISALLOW: {
      p->in_agents = 0;
      if (vn == 0) return 0; /* "Disallow:" with no path restricts nothing */
      int err = 0;
      if (p->cur_spec) err = ruleset_add(&p->spec, v, vn, kind == KEY_ALLOW);
      if (err == 0 && p->cur_glob && !p->seen_spec)
        err = ruleset_add(&p->glob, v, vn, kind == KEY_ALLOW);
      return err;
    }
    case KEY_DELAY: {
      /* A group record like the rules, so it ends the group's user-agent list: files often
       * put "Crawl-delay" under "User-agent: *" right before the next group's agent line. */
      p->in_agents = 0;
      long ms;
      int capped;
      if (!parse_delay(v, vn, &ms, &capped)) return 0;
      if (p->cur_spec) ruleset_delay(&p->spec, ms, capped);
      if (p->cur_glob) ruleset_delay(&p->glob, ms, capped);
      return 0;
    }
    case KEY_SITEMAP:
      /* Not a group record (RFC 9309 2.2.4): it must not change which group lines belong to. */
      return add_sitemap(p, v, vn);
    default:
      return 0;
  }
}

static int cmp_rules(const void *a, const void *b) {
  const rule_t *x = a, *y = b;
  if (x->prio != y->prio) return x->prio > y->prio ? -1 : 1;
  return (int)y->allow - (int)x->allow; /* on equal length allow wins (RFC 9309 2.2.2) */
}

static uvcrawl__robots_t *robots_new(int mode) {
  uvcrawl__robots_t *r = calloc(1, sizeof(*r));
  if (r == NULL) return NULL;
  r->mode = mode;
  r->delay_ms = -1;
  return r;
}

int uvcrawl__robots_parse(const char *body, size_t len, const char *user_agent,
                          uvcrawl__robots_t **out) {
  parser_t p;
  memset(&p, 0, sizeof(p));
  p.spec.delay_ms = p.glob.delay_ms = -1;
  *out = NULL;
  if (user_agent != NULL) {
    p.agent_len = product_token(user_agent, strlen(user_agent), &p.agent);
    if (p.agent_len == 1 && p.agent[0] == '*') p.agent_len = 0; /* "*" is not an agent */
  }

  size_t end = len < UVCRAWL__ROBOTS_MAX_BYTES ? len : UVCRAWL__ROBOTS_MAX_BYTES;
  size_t i = 0;
  int err = 0;
  if (end >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0) i = 3;
  while (i < end) {
    size_t start = i;
    while (i < end && body[i] != '\n' && body[i] != '\r') i++;
    size_t stop = i;
    /* A line the cap cut in two could read as a shorter, broader rule than it is: drop it. */
    if (i == end && end < len && body[end] != '\n' && body[end] != '\r') break;
    if (i < end) i += (body[i] == '\r' && i + 1 < end && body[i + 1] == '\n') ? 2 : 1;
    if (stop - start > UVCRAWL__ROBOTS_MAX_LINE) continue;
    err = handle_line(&p, body + start, stop - start);
    if (err != 0) goto fail;
  }

  uvcrawl__robots_t *r = robots_new(MODE_RULES);
  if (r == NULL) {
    err = -ENOMEM;
    goto fail;
  }
  ruleset_t *chosen = p.seen_spec ? &p.spec : &p.glob;
  if (chosen->n > 1) qsort(chosen->v, chosen->n, sizeof(*chosen->v), cmp_rules);
  r->rules = chosen->v;
  r->nrules = chosen->n;
  r->delay_ms = chosen->delay_ms;
  r->delay_capped = chosen->delay_capped;
  r->sitemaps = p.sitemaps;
  r->nsitemaps = p.nsitemaps;
  chosen->v = NULL; /* now r's */
  chosen->n = 0;
  ruleset_free(&p.spec);
  ruleset_free(&p.glob);
  *out = r;
  return 0;

fail:
  ruleset_free(&p.spec);
  ruleset_free(&p.glob);
  for (size_t k = 0; k < p.nsitemaps; k++) free(p.sitemaps[k]);
  free(p.sitemaps);
  return err;
}

uvcrawl__robots_t *uvcrawl__robots_allow_all(void) { return robots_new(MODE_ALLOW_ALL); }

uvcrawl__robots_t *uvcrawl__robots_disallow_all(void) { return robots_new(MODE_DISALLOW_ALL); }

void uvcrawl__robots_free(uvcrawl__robots_t *r) {
  if (r == NULL) return;
  for (size_t i = 0; i < r->nrules; i++) free(r->rules[i].sym);
  free(r->rules);
  for (size_t i = 0; i < r->nsitemaps; i++) free(r->sitemaps[i]);
  free(r->sitemaps);
  free(r);
}

long uvcrawl__robots_crawl_delay_ms(const uvcrawl__robots_t *r, int *capped) {
  if (capped != NULL) *capped = r->delay_capped;
  return r->delay_ms;
}

size_t uvcrawl__robots_sitemaps(const uvcrawl__robots_t *r) { return r->nsitemaps; }

const char *uvcrawl__robots_sitemap(const uvcrawl__robots_t *r, size_t i) {
  return i < r->nsitemaps ? r->sitemaps[i] : NULL;
}
