/* --convert-links: rewrites the links of a saved HTML or CSS file so the mirror browses
 * offline, as wget -k does. A link to a URL that was saved becomes a relative path to its
 * file; a relative link to a URL that was not becomes that URL, absolute. Nothing else in
 * the file changes: only the bytes of the rewritten attribute values and url()/@import
 * strings differ (spans from htmlscan.c's span mode and css.c's span scan).
 *
 * The map (URL -> file) is built on the loop while the crawl runs, or from the journal's
 * records on --resume, then frozen (sorted) and only read while pool threads convert files,
 * so any number of them may share it. Pure but for uvcrawl__convert_file(), which reads and
 * writes one file (blocking: thread pool only). */
#include "convert.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "css.h"
#include "dynbuf.h"
#include "htmlscan.h"
#include "mime.h"
#include "store.h"
#include "url.h"

#define REDIRECT_HOPS 10
#define CONVERT_MAX_FILE (256u << 20) /* a saved file larger than this is left alone */

enum { T_OTHER, T_HTML, T_CSS };

typedef struct {
  char *url;  /* owned */
  char *rel;  /* owned: the file under the mirror root */
  int type;
} entry_t;

typedef struct {
  char *url, *target; /* owned */
} redirect_t;

struct uvcrawl__convert_s {
  int adjust;
  entry_t *e;
  size_t n, cap;
  redirect_t *r;
  size_t nr, rcap;
  entry_t **by_rel; /* frozen: entries sorted by rel */
  size_t *files;    /* frozen: the entries to convert (HTML, CSS) */
  size_t nfiles;
  size_t nsaved;    /* entries that are saved files (aliases of redirects follow them) */
};

uvcrawl__convert_t *uvcrawl__convert_new(int adjust_ext) {
  uvcrawl__convert_t *cv = calloc(1, sizeof(*cv));
  if (cv != NULL) cv->adjust = adjust_ext;
  return cv;
}

void uvcrawl__convert_free(uvcrawl__convert_t *cv) {
  if (cv == NULL) return;
  for (size_t i = 0; i < cv->n; i++) {
    free(cv->e[i].url);
    free(cv->e[i].rel);
  }
  for (size_t i = 0; i < cv->nr; i++) {
    free(cv->r[i].url);
    free(cv->r[i].target);
  }
  free(cv->e);
  free(cv->r);
  free(cv->by_rel);
  free(cv->files);
  free(cv);
}

static int push_entry(uvcrawl__convert_t *cv, char *url, char *rel, int type) {
  if (uvcrawl__array_grow((void **)&cv->e, &cv->cap, cv->n + 1, sizeof(*cv->e), 256) != 0)
    return -ENOMEM;
  cv->e[cv->n].url = url;
  cv->e[cv->n].rel = rel;
  cv->e[cv->n].type = type;
  cv->n++;
  return 0;
}

int uvcrawl__convert_saved(uvcrawl__convert_t *cv, const char *url, const char *content_type) {
  char *rel, *u;
  int err = uvcrawl__store_path_ext(url, content_type, cv->adjust, &rel);
  if (err != 0) return err == -ENOMEM ? err : 0;
  u = strdup(url);
  if (u == NULL) {
    free(rel);
    return -ENOMEM;
  }
  err = push_entry(cv, u, rel,
                   uvcrawl__is_html(content_type) ? T_HTML
                   : uvcrawl__is_css(content_type) ? T_CSS
                                                   : T_OTHER);
  if (err != 0) {
    free(u);
    free(rel);
  }
  return err;
}

int uvcrawl__convert_redirect(uvcrawl__convert_t *cv, const char *url, const char *target) {
  if (uvcrawl__array_grow((void **)&cv->r, &cv->rcap, cv->nr + 1, sizeof(*cv->r), 64) != 0)
    return -ENOMEM;
  cv->r[cv->nr].url = strdup(url);
  cv->r[cv->nr].target = strdup(target);
  if (cv->r[cv->nr].url == NULL || cv->r[cv->nr].target == NULL) {
    free(cv->r[cv->nr].url);
    free(cv->r[cv->nr].target);
    return -ENOMEM;
  }
  cv->nr++;
  return 0;
}

/* ---- a record's JSON line (output.c writes it: one flat object) ------------------------ */

static int hexv(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes the JSON string at *p (at its '"') into a malloc'd *out, moving *p past it.
 * Returns 0, -1 (malformed) or -ENOMEM. */
static int json_string(const char **p, const char *end, char **out) {
  const char *q = *p + 1;
  char *o = malloc((size_t)(end - q) * 2 + 1); /* \uXXXX gives at most 3 bytes for 6 */
  char *w = o;
  if (o == NULL) return -ENOMEM;
  while (q < end && *q != '"') {
    if (*q != '\\') {
      *w++ = *q++;
      continue;
    }
    if (++q >= end) break;
    char c = *q++;
    switch (c) {
      case 'n': *w++ = '\n'; break;
      case 't': *w++ = '\t'; break;
      case 'r': *w++ = '\r'; break;
      case 'b': *w++ = '\b'; break;
      case 'f': *w++ = '\f'; break;
      case 'u': {
        unsigned cp = 0;
        for (int i = 0; i < 4; i++) {
          int h = q < end ? hexv(*q) : -1;
          if (h < 0) {
            free(o);
            return -1;
          }
          cp = cp * 16 + (unsigned)h;
          q++;
        }
        /* output.c escapes only controls and quotes this way: one byte each */
        if (cp < 0x80) *w++ = (char)cp;
        else if (cp < 0x800) {
          *w++ = (char)(0xC0 | (cp >> 6));
          *w++ = (char)(0x80 | (cp & 0x3F));
        } else {
          *w++ = (char)(0xE0 | (cp >> 12));
          *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
          *w++ = (char)(0x80 | (cp & 0x3F));
        }
        break;
      }
      default: *w++ = c; break;
    }
  }
  if (q >= end) {
    free(o);
    return -1;
  }
  *w = '\0';
  *p = q + 1;
  *out = o;
  return 0;
}

int uvcrawl__convert_record(uvcrawl__convert_t *cv, const char *line, size_t len) {
  const char *p = line, *end = line + len;
  char *url = NULL, *ct = NULL, *redirect = NULL;
  long status = 0;
  int clean = 1, err = 0; /* clean: no error, not external, not skipped */

  if (p < end && *p == '{') p++;
  while (p < end && err == 0) {
    char *key = NULL;
    while (p < end && (*p == ',' || *p == ' ')) p++;
    if (p >= end || *p != '"') break;
    if ((err = json_string(&p, end, &key)) != 0) break;
    if (p >= end || *p != ':') {
      free(key);
      err = -1;
      break;
    }
    p++;
    if (p < end && *p == '"') {
      char *v = NULL;
      if ((err = json_string(&p, end, &v)) != 0) {
        free(key);
        break;
      }
      if (strcmp(key, "url") == 0 && url == NULL) url = v;
      else if (strcmp(key, "content_type") == 0 && ct == NULL) ct = v;
      else if (strcmp(key, "redirect") == 0 && redirect == NULL) redirect = v;
      else {
        if (strcmp(key, "error") == 0 || strcmp(key, "skipped") == 0) clean = 0;
        free(v);
      }
    } else {
      const char *v = p;
      while (p < end && *p != ',' && *p != '}') p++;
      if (strcmp(key, "status") == 0) status = strtol(v, NULL, 10);
      else if (strcmp(key, "external") == 0 && p - v == 4 && memcmp(v, "true", 4) == 0)
        clean = 0;
    }
    free(key);
  }
  if (err == 0 && url != NULL && clean) {
    if (status >= 200 && status < 300) err = uvcrawl__convert_saved(cv, url, ct);
    else if (status >= 300 && status < 400 && redirect != NULL)
      err = uvcrawl__convert_redirect(cv, url, redirect);
  }
  free(url);
  free(ct);
  free(redirect);
  return err == -ENOMEM ? err : 0;
}

/* ---- freezing ---------------------------------------------------------------------------- */

static int cmp_url(const void *a, const void *b) {
  return strcmp(((const entry_t *)a)->url, ((const entry_t *)b)->url);
}

static int cmp_rel(const void *a, const void *b) {
  return strcmp((*(entry_t *const *)a)->rel, (*(entry_t *const *)b)->rel);
}

static entry_t *find_url(const uvcrawl__convert_t *cv, const char *url, size_t n) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(cv->e[mid].url, url);
    if (c == 0) return &cv->e[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

static const redirect_t *find_redirect(const uvcrawl__convert_t *cv, const char *url) {
  for (size_t i = 0; i < cv->nr; i++) /* few: sorted lookups are not worth it */
    if (strcmp(cv->r[i].url, url) == 0) return &cv->r[i];
  return NULL;
}

int uvcrawl__convert_freeze(uvcrawl__convert_t *cv, size_t *nfiles) {
  size_t k = 0, saved;
  if (cv->n > 1) qsort(cv->e, cv->n, sizeof(*cv->e), cmp_url);
  for (size_t i = 0; i < cv->n; i++) { /* one entry per URL: the first record stands */
    if (k > 0 && strcmp(cv->e[k - 1].url, cv->e[i].url) == 0) {
      free(cv->e[i].url);
      free(cv->e[i].rel);
      continue;
    }
    cv->e[k++] = cv->e[i];
  }
  cv->n = saved = cv->nsaved = k;
  /* A redirect's source maps to where its chain ends, when that was saved. */
  for (size_t i = 0; i < cv->nr; i++) {
    const char *t = cv->r[i].target;
    entry_t *hit = NULL;
    for (int hop = 0; hop < REDIRECT_HOPS && hit == NULL && t != NULL; hop++) {
      const redirect_t *next;
      hit = find_url(cv, t, saved);
      if (hit == NULL) t = (next = find_redirect(cv, t)) != NULL ? next->target : NULL;
    }
    if (hit == NULL || find_url(cv, cv->r[i].url, saved) != NULL) continue;
    char *u = strdup(cv->r[i].url), *rel = strdup(hit->rel);
    if (u == NULL || rel == NULL || push_entry(cv, u, rel, T_OTHER) != 0) {
      free(u);
      free(rel);
      return -ENOMEM;
    }
  }
  if (cv->n > 1) qsort(cv->e, cv->n, sizeof(*cv->e), cmp_url);
  cv->by_rel = malloc((cv->n + 1) * sizeof(*cv->by_rel));
  cv->files = malloc((cv->n + 1) * sizeof(*cv->files));
  if (cv->by_rel == NULL || cv->files == NULL) return -ENOMEM;
  cv->nfiles = 0;
  for (size_t i = 0; i < cv->n; i++) {
    cv->by_rel[i] = &cv->e[i];
    if (cv->e[i].type != T_OTHER) cv->files[cv->nfiles++] = i;
  }
  if (cv->n > 1) qsort(cv->by_rel, cv->n, sizeof(*cv->by_rel), cmp_rel);
  *nfiles = cv->nfiles;
  return 0;
}

static int rel_exists(const uvcrawl__convert_t *cv, const char *rel) {
  size_t lo = 0, hi = cv->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(cv->by_rel[mid]->rel, rel);
    if (c == 0) return 1;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return 0;
}

/* ---- strings ------------------------------------------------------------------------------ */

/* A dynbuf whose first error sticks, so that a run of appends is checked once, at the end.
 * Zeroed is empty. */
typedef struct {
  uvcrawl__dynbuf_t d;
  int err;
} sb_t;

static void sb_add(sb_t *b, const char *s, size_t n) {
  if (b->err) return;
  int err = uvcrawl__dynbuf_add(&b->d, s, n);
  if (err != 0) b->err = -ENOMEM; /* -E2BIG only past SIZE_MAX / 2 bytes */
}

static void sb_str(sb_t *b, const char *s) { sb_add(b, s, strlen(s)); }

/* Bytes a file name keeps in a relative reference; the rest is percent-encoded (so '?', '#'
 * and '%' of a saved name, and anything HTML or CSS would need quoted, never appear raw). */
static int path_safe(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~' || c == '!' || c == '$' || c == '*' ||
         c == '+' || c == ',' || c == ';' || c == '=' || c == ':' || c == '@';
}

static void sb_enc(sb_t *b, const char *s, size_t n) {
  static const char hex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (path_safe(c)) {
      sb_add(b, (const char *)&c, 1);
    } else {
      char e[3] = {'%', hex[c >> 4], hex[c & 15]};
      sb_add(b, e, 3);
    }
  }
}

/* The relative reference from the file at `from` to the file at `to` (both relative to the
 * mirror root, '/'-separated). */
static void relative(sb_t *b, const char *from, const char *to) {
  size_t common = 0; /* bytes up to and with the last '/' both share */
  for (size_t i = 0; from[i] != '\0' && from[i] == to[i]; i++)
    if (from[i] == '/') common = i + 1;
  int first = 1;
  for (const char *p = from + common; (p = strchr(p, '/')) != NULL; p++) {
    sb_str(b, "../");
    first = 0;
  }
  const char *rest = to + common;
  /* "a:b" would read as a scheme: "./a:b". */
  const char *seg_end = strchr(rest, '/');
  size_t seg = seg_end != NULL ? (size_t)(seg_end - rest) : strlen(rest);
  if (first && memchr(rest, ':', seg) != NULL) sb_str(b, "./");
  for (;;) {
    const char *slash = strchr(rest, '/');
    size_t n = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
    sb_enc(b, rest, n);
    if (slash == NULL) break;
    sb_str(b, "/");
    rest = slash + 1;
  }
}

/* 1 when ref, a relative path, names a saved file from the file at from: a link converted
 * before (a resumed crawl converts again), kept as it is. */
static int names_saved_file(const uvcrawl__convert_t *cv, const char *from, const char *ref) {
  sb_t b = {0};
  const char *slash = strrchr(from, '/');
  int found = 0;
  if (ref[0] == '/' || strchr(ref, '?') != NULL) return 0;
  if (slash != NULL) sb_add(&b, from, (size_t)(slash - from) + 1);
  for (const char *p = ref; *p != '\0' && *p != '#'; p++) {
    if (*p == '%' && hexv(p[1]) >= 0 && hexv(p[2]) >= 0) {
      char c = (char)(hexv(p[1]) * 16 + hexv(p[2]));
      sb_add(&b, &c, 1);
      p += 2;
    } else {
      sb_add(&b, p, 1);
    }
  }
  if (b.err) {
    free(b.d.p);
    return 0;
  }
  /* Dot segments out. */
  char *s = b.d.p, *w = s;
  for (char *r = s; r != NULL && *r != '\0';) {
    char *next = strchr(r, '/');
    size_t n = next != NULL ? (size_t)(next - r) : strlen(r);
    if (n == 1 && r[0] == '.') {
    } else if (n == 2 && r[0] == '.' && r[1] == '.') {
      if (w > s) {
        w--;
        while (w > s && w[-1] != '/') w--;
      }
    } else {
      memmove(w, r, n);
      w += n;
      if (next != NULL) *w++ = '/';
    }
    r = next != NULL ? next + 1 : NULL;
  }
  if (s != NULL) {
    *w = '\0';
    found = rel_exists(cv, s);
  }
  free(s);
  return found;
}

static int has_scheme(const char *ref) {
  const char *p = ref;
  if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) return 0;
  while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
         *p == '+' || *p == '-' || *p == '.')
    p++;
  return *p == ':';
}

/* Resolutions of one document's refs: a page repeats its links (navigation, an index's
 * "page.html#x" entries), and curl parses each one. Keyed as jobs.c's resolve_fast() keys
 * them: the ref up to and with its '#', and whether a '%' follows. */
#define MEMO_BUCKETS 1024
typedef struct memo_s {
  struct memo_s *next;
  char *abs; /* NULL: not a link */
  size_t len;
  int flag;
  char key[];
} memo_t;

typedef struct {
  const uvcrawl__convert_t *cv;
  const char *from;    /* the document's file */
  const char *against; /* its base URL */
  memo_t **memo;       /* MEMO_BUCKETS chains */
} doc_t;

static void memo_free(memo_t **memo) {
  if (memo == NULL) return;
  for (size_t i = 0; i < MEMO_BUCKETS; i++) {
    for (memo_t *m = memo[i], *next; m != NULL; m = next) {
      next = m->next;
      free(m->abs);
      free(m);
    }
  }
  free(memo);
}

/* uvcrawl__url_resolve(d->against, ref) through the memo: *abs is the memo's (borrowed) or
 * NULL when ref is not a link. Returns 0 or -ENOMEM. */
static int resolve(doc_t *d, const char *ref, const char **abs) {
  const char *hash = strchr(ref, '#');
  size_t len = hash != NULL ? (size_t)(hash - ref) + 1 : strlen(ref);
  int flag = hash != NULL && strchr(hash, '%') != NULL;
  uint32_t h = 2166136261u ^ (uint32_t)flag;
  for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)ref[i]) * 16777619u;
  memo_t **chain = &d->memo[h % MEMO_BUCKETS];
  for (memo_t *m = *chain; m != NULL; m = m->next) {
    if (m->len == len && m->flag == flag && memcmp(m->key, ref, len) == 0) {
      *abs = m->abs;
      return 0;
    }
  }
  char *r = NULL;
  int err = uvcrawl__url_resolve(d->against, ref, &r);
  if (err == -ENOMEM) return err;
  memo_t *m = malloc(sizeof(*m) + len);
  if (m == NULL) {
    free(r);
    return -ENOMEM;
  }
  m->abs = r;
  m->len = len;
  m->flag = flag;
  memcpy(m->key, ref, len);
  m->next = *chain;
  *chain = m;
  *abs = r;
  return 0;
}

/* The converted form of ref (decoded and trimmed) on the document d: into b (empty on
 * entry), or nothing when ref stays. */
static int convert_ref(doc_t *d, const char *ref, sb_t *b) {
  const uvcrawl__convert_t *cv = d->cv;
  const char *from = d->from, *abs, *frag;
  entry_t *e;
  if (ref[0] == '\0' || ref[0] == '#') return 0; /* the page itself */
  int err = resolve(d, ref, &abs);
  if (err != 0 || abs == NULL) return err;
  frag = strchr(ref, '#');
  e = find_url(cv, abs, cv->n);
  if (e != NULL) {
    relative(b, from, e->rel);
    if (frag != NULL) sb_str(b, frag);
  } else if (!has_scheme(ref) && !names_saved_file(cv, from, ref)) {
    sb_str(b, abs);
    if (frag != NULL) sb_str(b, frag);
  }
  return b->err;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }

/* Escapes s for an HTML attribute value quoted with quote (0: unquoted). */
static void sb_attr(sb_t *b, const char *s, size_t n, char quote) {
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '&') sb_str(b, "&amp;");
    else if (c == '"' && quote != '\'') sb_str(b, "&quot;");
    else if (c == '\'' && quote != '"') sb_str(b, "&#39;");
    else if (quote == 0 && (is_space(c) || c == '<' || c == '>' || c == '=' || c == '`')) {
      char ref[8];
      int n = snprintf(ref, sizeof(ref), "&#%d;", c);
      sb_add(b, ref, (size_t)n);
    }
    else sb_add(b, &c, 1);
  }
}

/* A URL made safe inside CSS: a url( ) token and either quote, and inside <style>. */
static void sb_css_url(sb_t *b, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (; *s != '\0'; s++) {
    unsigned char c = (unsigned char)*s;
    if (c <= 0x20 || c == 0x7F || c == '(' || c == ')' || c == '\'' || c == '"' || c == '\\' ||
        c == '<' || c == '>') {
      char e[3] = {'%', hex[c >> 4], hex[c & 15]};
      sb_add(b, e, 3);
    } else {
      sb_add(b, (const char *)&c, 1);
    }
  }
}

/* ---- CSS --------------------------------------------------------------------------------- */

typedef struct {
  doc_t *d;
  const char *css;
  sb_t out;
  size_t copied; /* css bytes before this are in out */
  int changed;
  int err;
} css_conv_t;

static int css_span(void *arg, const char *url, size_t len, size_t start, size_t end) {
  css_conv_t *c = arg;
  sb_t ref = {0};
  (void)len;
  c->err = convert_ref(c->d, url, &ref);
  sb_t esc = {0};
  if (c->err == 0 && ref.d.len > 0) sb_css_url(&esc, ref.d.p);
  if (c->err == 0 && esc.d.len > 0 && start >= c->copied &&
      (esc.d.len != end - start || memcmp(esc.d.p, c->css + start, esc.d.len) != 0)) {
    sb_add(&c->out, c->css + c->copied, start - c->copied);
    sb_add(&c->out, esc.d.p, esc.d.len);
    c->copied = end;
    c->changed = 1;
  }
  if (esc.err) c->err = esc.err;
  free(esc.d.p);
  free(ref.d.p);
  if (c->out.err) c->err = c->out.err;
  return c->err;
}

/* css converted into *out (changed set when it differs). */
static int convert_css(doc_t *d, const char *css, size_t len, sb_t *out, int *changed) {
  css_conv_t c = {d, css, {{0}, 0}, 0, 0, 0};
  int err = uvcrawl__css_scan_spans(css, len, css_span, &c);
  if (err == 0) err = c.err;
  sb_add(&c.out, css + c.copied, len - c.copied);
  if (err == 0) err = c.out.err;
  if (err != 0) {
    free(c.out.d.p);
    return err == -ENOMEM ? -ENOMEM : err;
  }
  *out = c.out;
  *changed = c.changed;
  return 0;
}

/* ---- HTML -------------------------------------------------------------------------------- */

typedef struct {
  uvcrawl__htmlspan_t *v;
  size_t n, cap;
} spans_t;

static int collect(void *arg, const uvcrawl__htmlspan_t *span) {
  spans_t *s = arg;
  if (uvcrawl__array_grow((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v), 64) != 0)
    return -ENOMEM;
  s->v[s->n++] = *span;
  return 0;
}

static int cmp_span(const void *a, const void *b) {
  const uvcrawl__htmlspan_t *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

/* A decoded value without its surrounding whitespace, in place. */
static char *trim(char *s) {
  size_t n = strlen(s);
  while (n > 0 && is_space(s[n - 1])) s[--n] = '\0';
  while (is_space(*s)) s++;
  return s;
}

/* The new text of one span, into b (nothing: it stays). */
static int convert_span(doc_t *d, const char *html, const uvcrawl__htmlspan_t *sp, sb_t *b) {
  const char *raw = html + sp->start;
  char *dec = NULL;
  size_t dlen;
  int err = 0, changed = 0;
  sb_t v = {0};

  if (sp->what == UVCRAWL__SPAN_STYLE) { /* raw text: CSS as it is */
    err = convert_css(d, raw, sp->len, &v, &changed);
    if (err == 0 && changed) sb_add(b, v.d.p, v.d.len);
    free(v.d.p);
    return err != 0 ? err : b->err;
  }
  if ((err = uvcrawl__html_decode(raw, sp->len, &dec, &dlen)) != 0) return err;
  switch (sp->what) {
    case UVCRAWL__SPAN_URL:
      err = convert_ref(d, trim(dec), &v);
      changed = v.d.len > 0;
      break;
    case UVCRAWL__SPAN_SRCSET: {
      size_t pos = 0, ulen, copied = 0;
      const char *url;
      while (err == 0 && uvcrawl__srcset_next(dec, dlen, &pos, &url, &ulen)) {
        sb_t ref = {0};
        char *u = strndup(url, ulen);
        if (u == NULL) {
          err = -ENOMEM;
          break;
        }
        err = convert_ref(d, u, &ref);
        if (err == 0 && ref.d.len > 0) {
          sb_add(&v, dec + copied, (size_t)(url - dec) - copied);
          sb_add(&v, ref.d.p, ref.d.len);
          copied = (size_t)(url - dec) + ulen;
          changed = 1;
        }
        free(u);
        free(ref.d.p);
      }
      if (changed) sb_add(&v, dec + copied, dlen - copied);
      break;
    }
    case UVCRAWL__SPAN_STYLE_ATTR:
      err = convert_css(d, dec, dlen, &v, &changed);
      break;
    case UVCRAWL__SPAN_REFRESH: {
      size_t start, len;
      if (uvcrawl__refresh_url(dec, dlen, &start, &len)) {
        sb_t ref = {0};
        char *u = strndup(dec + start, len);
        if (u == NULL) {
          err = -ENOMEM;
          break;
        }
        err = convert_ref(d, u, &ref);
        if (err == 0 && ref.d.len > 0) {
          sb_add(&v, dec, start);
          sb_add(&v, ref.d.p, ref.d.len);
          sb_add(&v, dec + start + len, dlen - start - len);
          changed = 1;
        }
        free(u);
        free(ref.d.p);
      }
      break;
    }
    default:
      break;
  }
  if (err == 0 && v.err) err = v.err;
  if (err == 0 && changed) sb_attr(b, v.d.p, v.d.len, sp->quote);
  free(v.d.p);
  free(dec);
  return err != 0 ? err : b->err;
}

int uvcrawl__convert_doc(const uvcrawl__convert_t *cv, const char *url, const char *rel, int css,
                         const char *body, size_t len, char **out, size_t *outlen,
                         size_t *nconverted) {
  sb_t o = {0};
  char *base = NULL;
  int err, changed = 0;
  doc_t d = {cv, rel, url, calloc(MEMO_BUCKETS, sizeof(memo_t *))};
  *out = NULL;
  *outlen = 0;
  *nconverted = 0;
  if (d.memo == NULL) return -ENOMEM;
  if (css) {
    err = convert_css(&d, body, len, &o, &changed);
    if (err == 0 && changed) {
      *out = o.d.p;
      *outlen = o.d.len;
      *nconverted = 1;
    } else {
      free(o.d.p);
    }
    memo_free(d.memo);
    return err;
  }
  spans_t sp = {0};
  err = uvcrawl__htmlscan_spans(body, len, collect, &sp);
  if (err != 0) {
    free(sp.v);
    memo_free(d.memo);
    return err;
  }
  if (sp.n > 1) qsort(sp.v, sp.n, sizeof(*sp.v), cmp_span);
  /* The first <base href> decides how the others resolve; it then becomes the file itself,
   * since every converted link is relative to the file. */
  for (size_t i = 0; i < sp.n && err == 0; i++) {
    if (sp.v[i].what != UVCRAWL__SPAN_BASE) continue;
    char *dec;
    size_t dlen;
    if ((err = uvcrawl__html_decode(body + sp.v[i].start, sp.v[i].len, &dec, &dlen)) != 0) break;
    if (uvcrawl__url_resolve(url, trim(dec), &base) == 0) d.against = base;
    free(dec);
    break;
  }
  size_t copied = 0;
  for (size_t i = 0; i < sp.n && err == 0; i++) {
    const uvcrawl__htmlspan_t *s = &sp.v[i];
    sb_t r = {0};
    if (s->start < copied) continue; /* overlapping: never from one tokenizer, but be safe */
    if (s->what == UVCRAWL__SPAN_BASE) {
      const char *name = strrchr(rel, '/');
      sb_t tmp = {0};
      sb_enc(&tmp, name != NULL ? name + 1 : rel, strlen(name != NULL ? name + 1 : rel));
      if (tmp.err == 0) sb_attr(&r, tmp.d.p, tmp.d.len, s->quote);
      free(tmp.d.p);
    } else {
      err = convert_span(&d, body, s, &r);
    }
    if (err == 0 && r.d.len > 0 && (r.d.len != s->len || memcmp(r.d.p, body + s->start, r.d.len) != 0)) {
      sb_add(&o, body + copied, s->start - copied);
      sb_add(&o, r.d.p, r.d.len);
      copied = s->start + s->len;
      (*nconverted)++;
    }
    if (err == 0 && r.err) err = r.err;
    free(r.d.p);
  }
  free(sp.v);
  memo_free(d.memo); /* before base: the memo's results were resolved against it */
  free(base);
  if (err == 0 && *nconverted > 0) {
    sb_add(&o, body + copied, len - copied);
    err = o.err;
  }
  if (err != 0 || *nconverted == 0) {
    free(o.d.p);
    return err;
  }
  *out = o.d.p;
  *outlen = o.d.len;
  return 0;
}

/* ---- one file (thread pool) ---------------------------------------------------------- */

const char *uvcrawl__convert_file_rel(const uvcrawl__convert_t *cv, size_t i) {
  return cv->e[cv->files[i]].rel;
}

int uvcrawl__convert_file(const uvcrawl__convert_t *cv, size_t i, int root_fd, int do_fsync) {
  const entry_t *e = &cv->e[cv->files[i]];
  struct stat st;
  char *body, *out;
  size_t outlen, n;
  int err = 0;
  int fd = openat(root_fd, e->rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -errno;
  if (fstat(fd, &st) != 0) {
    err = -errno;
    close(fd);
    return err;
  }
  if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > CONVERT_MAX_FILE) {
    close(fd);
    return 0;
  }
  body = malloc((size_t)st.st_size + 1);
  if (body == NULL) {
    close(fd);
    return -ENOMEM;
  }
  for (n = 0; n < (size_t)st.st_size;) {
    ssize_t r = read(fd, body + n, (size_t)st.st_size - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      err = r < 0 ? -errno : -EIO;
      break;
    }
    n += (size_t)r;
  }
  close(fd);
  if (err == 0) err = uvcrawl__convert_doc(cv, e->url, e->rel, e->type == T_CSS, body, n, &out,
                                           &outlen, &n);
  if (err == 0 && out != NULL) {
    err = uvcrawl__store_write(root_fd, e->rel, out, outlen, do_fsync);
    free(out);
  }
  free(body);
  return err;
}
