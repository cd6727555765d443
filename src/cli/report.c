/* The CLI's report: broken links in six formats, and the end-of-crawl summary. */
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define KINDS 32
#define SLOWEST 5
#define DUP_TRACK_MAX 1000000 /* pages whose md5 is kept for the duplicate report */

typedef struct {
  char *url;
  long status;
  char *error;
  int external;
  char **refs;
  size_t nrefs;
} broken_t;

typedef struct {
  char md5[33];
  char *url;
} dup_t;

typedef struct {
  char *from;
  char *to;
} redirect_t;

typedef struct {
  char *url;
  double ms;
} slow_t;

struct report_s {
  int verbose;
  uint64_t classes[6]; /* no response, 1xx .. 5xx */
  uint64_t other_status;
  struct {
    int code;
    char *sample;
    uint64_t n;
  } kinds[KINDS];
  size_t nkinds;
  slow_t slow[SLOWEST];
  dup_t *dups;
  size_t ndups, dups_cap;
  redirect_t *redirects;
  size_t nredirects, redirects_cap;
  broken_t *broken;
  size_t nbroken;
  uint64_t checked;
  int oom;
};

report_t *report_new(int verbose) {
  report_t *r = calloc(1, sizeof(*r));
  if (r) r->verbose = verbose;
  return r;
}

void report_free(report_t *r) {
  if (r == NULL) return;
  for (size_t i = 0; i < r->nkinds; i++) free(r->kinds[i].sample);
  for (size_t i = 0; i < SLOWEST; i++) free(r->slow[i].url);
  for (size_t i = 0; i < r->ndups; i++) free(r->dups[i].url);
  for (size_t i = 0; i < r->nredirects; i++) {
    free(r->redirects[i].from);
    free(r->redirects[i].to);
  }
  for (size_t i = 0; i < r->nbroken; i++) {
    broken_t *b = &r->broken[i];
    for (size_t j = 0; j < b->nrefs; j++) free(b->refs[j]);
    free(b->refs);
    free(b->url);
    free(b->error);
  }
  free(r->dups);
  free(r->redirects);
  free(r->broken);
  free(r);
}

int report_parse_format(const char *name, report_format_t *out) {
  static const struct {
    const char *name;
    report_format_t fmt;
  } names[] = {{"text", FMT_TEXT},   {"json", FMT_JSON},   {"jsonl", FMT_JSONL},
               {"csv", FMT_CSV},     {"junit", FMT_JUNIT}, {"markdown", FMT_MARKDOWN}};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    if (strcmp(name, names[i].name) == 0) {
      *out = names[i].fmt;
      return 0;
    }
  }
  return -1;
}

/* Grows *arr (of *cap elements of size sz) to hold one more; 0 or -1. */
static int grow(void **arr, size_t n, size_t *cap, size_t sz) {
  if (n < *cap) return 0;
  size_t c = *cap ? *cap * 2 : 64;
  void *p = realloc(*arr, c * sz);
  if (p == NULL) return -1;
  *arr = p;
  *cap = c;
  return 0;
}

void report_result(report_t *r, const uvcrawl_result_t *res) {
  r->checked++;
  if (res->status == 0) r->classes[0]++;
  else if (res->status >= 100 && res->status < 600) r->classes[res->status / 100]++;
  else r->other_status++;

  if (res->error != NULL) {
    size_t k = 0;
    while (k < r->nkinds && r->kinds[k].code != res->curl_code) k++;
    if (k == r->nkinds && r->nkinds < KINDS) {
      r->kinds[k].code = res->curl_code;
      r->kinds[k].sample = strdup(res->error);
      r->nkinds++;
    }
    if (k < r->nkinds) r->kinds[k].n++;
  }

  /* Keep the slowest few: an empty slot, else the fastest kept one if this is slower. */
  size_t min = 0;
  for (size_t i = 0; i < SLOWEST; i++) {
    if (r->slow[i].url == NULL) {
      min = i;
      break;
    }
    if (r->slow[i].ms < r->slow[min].ms) min = i;
  }
  if (r->slow[min].url == NULL || res->ms > r->slow[min].ms) {
    char *u = strdup(res->url);
    if (u) {
      free(r->slow[min].url);
      r->slow[min].url = u;
      r->slow[min].ms = res->ms;
    }
  }

  if (res->md5 != NULL && res->status >= 200 && res->status < 300 && r->ndups < DUP_TRACK_MAX &&
      grow((void **)&r->dups, r->ndups, &r->dups_cap, sizeof(*r->dups)) == 0) {
    dup_t *d = &r->dups[r->ndups];
    memcpy(d->md5, res->md5, 32);
    d->md5[32] = '\0';
    if ((d->url = strdup(res->url)) != NULL) r->ndups++;
  }

  if (r->verbose && res->redirect != NULL &&
      grow((void **)&r->redirects, r->nredirects, &r->redirects_cap, sizeof(*r->redirects)) == 0) {
    redirect_t *d = &r->redirects[r->nredirects];
    d->from = strdup(res->url);
    d->to = strdup(res->redirect);
    if (d->from && d->to) r->nredirects++;
    else {
      free(d->from);
      free(d->to);
    }
  }
}

static void collect_one(uvcrawl_t *c, const uvcrawl_broken_t *b, void *arg) {
  (void)c;
  report_t *r = arg;
  broken_t *dst = &r->broken[r->nbroken];
  memset(dst, 0, sizeof(*dst));
  dst->url = strdup(b->url);
  dst->status = b->status;
  dst->error = b->error ? strdup(b->error) : NULL;
  dst->external = b->external;
  dst->refs = b->nreferrers ? calloc(b->nreferrers, sizeof(char *)) : NULL;
  if (dst->url == NULL || (b->nreferrers && dst->refs == NULL)) {
    r->oom = 1;
    free(dst->url);
    free(dst->error);
    free(dst->refs);
    return;
  }
  for (size_t i = 0; i < b->nreferrers; i++)
    if ((dst->refs[dst->nrefs] = strdup(b->referrers[i])) != NULL) dst->nrefs++;
  r->nbroken++;
}

static void count_one(uvcrawl_t *c, const uvcrawl_broken_t *b, void *arg) {
  (void)c;
  (void)b;
  (*(size_t *)arg)++;
}

int report_collect_broken(report_t *r, uvcrawl_t *crawler) {
  size_t n = 0;
  int err = uvcrawl_foreach_broken(crawler, count_one, &n);
  if (err < 0) return err;
  r->broken = n ? calloc(n, sizeof(*r->broken)) : NULL;
  if (n && r->broken == NULL) return UV_ENOMEM;
  err = uvcrawl_foreach_broken(crawler, collect_one, r);
  return err < 0 ? err : (r->oom ? UV_ENOMEM : (int)r->nbroken);
}

size_t report_broken_count(const report_t *r) { return r->nbroken; }

typedef enum { ESC_JSON, ESC_XML, ESC_CSV, ESC_MD } esc_t;

/* Writes s escaped for the format (JSON adds its quotes; CSV quotes always). */
static void put(FILE *f, const char *s, esc_t how) {
  if (s == NULL) {
    fputs(how == ESC_JSON ? "null" : "", f);
    return;
  }
  if (how == ESC_JSON || how == ESC_CSV) fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (how) {
    case ESC_JSON:
      if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
      else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
      else fputc(*p, f);
      break;
    case ESC_XML:
      if (*p == '<') fputs("&lt;", f);
      else if (*p == '>') fputs("&gt;", f);
      else if (*p == '&') fputs("&amp;", f);
      else if (*p == '"') fputs("&quot;", f);
      else if (*p < 0x20 && *p != '\n' && *p != '\t') fputc('?', f); /* not allowed in XML */
      else fputc(*p, f);
      break;
    case ESC_CSV:
      if (*p == '"') fputs("\"\"", f);
      else fputc(*p, f);
      break;
    case ESC_MD:
      if (*p == '|' || *p == '\\' || *p == '`' || *p == '*' || *p == '_' || *p == '[' ||
          *p == ']' || *p == '<')
        fputc('\\', f);
      if (*p == '\n') fputc(' ', f);
      else fputc(*p, f);
      break;
    }
  }
  if (how == ESC_JSON || how == ESC_CSV) fputc('"', f);
}

/* "404", "200 mirror: ...", or the error text when there was no response. */
static void describe(FILE *f, const broken_t *b, esc_t how) {
  if (b->status == 0) {
    put(f, b->error ? b->error : "no response", how);
    return;
  }
  fprintf(f, "%ld", b->status);
  if (b->error) {
    fputc(' ', f);
    put(f, b->error, how);
  }
}

static void write_text(const report_t *r, FILE *f) {
  for (size_t i = 0; i < r->nbroken; i++) {
    const broken_t *b = &r->broken[i];
    fprintf(f, "BROKEN %s%s  ", b->url, b->external ? " (external)" : "");
    if (b->status) fprintf(f, "%ld%s%s\n", b->status, b->error ? " " : "", b->error ? b->error : "");
    else fprintf(f, "%s\n", b->error ? b->error : "no response");
    if (b->nrefs == 0) fputs("  (a seed URL)\n", f);
    for (size_t j = 0; j < b->nrefs; j++) fprintf(f, "  linked from %s\n", b->refs[j]);
  }
  for (size_t i = 0; i < r->nredirects; i++)
    fprintf(f, "REDIRECT %s -> %s\n", r->redirects[i].from, r->redirects[i].to);
  fprintf(f, "%zu broken link%s in %" PRIu64 " URLs checked\n", r->nbroken,
          r->nbroken == 1 ? "" : "s", r->checked);
}

static void write_json(const report_t *r, FILE *f) {
  fprintf(f, "{\"checked\":%" PRIu64 ",\"broken_count\":%zu,\"broken\":[", r->checked, r->nbroken);
  for (size_t i = 0; i < r->nbroken; i++) {
    const broken_t *b = &r->broken[i];
    fputs(i ? ",{\"url\":" : "{\"url\":", f);
    put(f, b->url, ESC_JSON);
    fprintf(f, ",\"status\":%ld,\"error\":", b->status);
    put(f, b->error, ESC_JSON);
    fprintf(f, ",\"external\":%s,\"referrers\":[", b->external ? "true" : "false");
    for (size_t j = 0; j < b->nrefs; j++) {
      if (j) fputc(',', f);
      put(f, b->refs[j], ESC_JSON);
    }
    fputs("]}", f);
  }
  fputs("],\"redirects\":[", f);
  for (size_t i = 0; i < r->nredirects; i++) {
    fputs(i ? ",{\"from\":" : "{\"from\":", f);
    put(f, r->redirects[i].from, ESC_JSON);
    fputs(",\"to\":", f);
    put(f, r->redirects[i].to, ESC_JSON);
    fputc('}', f);
  }
  fputs("]}\n", f);
}

static void write_csv(const report_t *r, FILE *f) {
  fputs("url,status,error,external,referrer\r\n", f);
  for (size_t i = 0; i < r->nbroken; i++) {
    const broken_t *b = &r->broken[i];
    size_t n = b->nrefs ? b->nrefs : 1;
    for (size_t j = 0; j < n; j++) {
      put(f, b->url, ESC_CSV);
      fprintf(f, ",%ld,", b->status);
      put(f, b->error ? b->error : "", ESC_CSV);
      fprintf(f, ",%s,", b->external ? "true" : "false");
      put(f, b->nrefs ? b->refs[j] : "", ESC_CSV);
      fputs("\r\n", f);
    }
  }
}

static void write_junit(const report_t *r, FILE *f) {
  uint64_t fine = r->checked > r->nbroken ? r->checked - r->nbroken : 0;
  size_t tests = r->nbroken + 1;
  fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
  fprintf(f, "<testsuites name=\"uvcrawl\" tests=\"%zu\" failures=\"%zu\">\n", tests, r->nbroken);
  fprintf(f, "  <testsuite name=\"links\" tests=\"%zu\" failures=\"%zu\" errors=\"0\">\n", tests,
          r->nbroken);
  for (size_t i = 0; i < r->nbroken; i++) {
    const broken_t *b = &r->broken[i];
    fputs("    <testcase classname=\"links\" name=\"", f);
    put(f, b->url, ESC_XML);
    fputs("\">\n      <failure type=\"broken\" message=\"", f);
    describe(f, b, ESC_XML);
    fputs("\">", f);
    for (size_t j = 0; j < b->nrefs; j++) {
      fputs("linked from ", f);
      put(f, b->refs[j], ESC_XML);
      fputc('\n', f);
    }
    fputs("</failure>\n    </testcase>\n", f);
  }
  fprintf(f, "    <testcase classname=\"links\" name=\"%" PRIu64 " other URLs\"/>\n", fine);
  fputs("  </testsuite>\n</testsuites>\n", f);
}

static void write_markdown(const report_t *r, FILE *f) {
  fprintf(f, "## Broken links: %zu of %" PRIu64 " URLs\n\n", r->nbroken, r->checked);
  if (r->nbroken == 0) return;
  fputs("| URL | Status | Linked from |\n| --- | --- | --- |\n", f);
  for (size_t i = 0; i < r->nbroken; i++) {
    const broken_t *b = &r->broken[i];
    fputs("| ", f);
    put(f, b->url, ESC_MD);
    fputs(" | ", f);
    describe(f, b, ESC_MD);
    fputs(" | ", f);
    for (size_t j = 0; j < b->nrefs; j++) {
      if (j) fputs("<br>", f);
      put(f, b->refs[j], ESC_MD);
    }
    fputs(" |\n", f);
  }
}

void report_write(const report_t *r, report_format_t fmt, FILE *out) {
  switch (fmt) {
  case FMT_TEXT: write_text(r, out); break;
  case FMT_JSON: write_json(r, out); break;
  case FMT_JSONL: break;
  case FMT_CSV: write_csv(r, out); break;
  case FMT_JUNIT: write_junit(r, out); break;
  case FMT_MARKDOWN: write_markdown(r, out); break;
  }
  fflush(out);
}

static int cmp_dup(const void *a, const void *b) {
  int c = strcmp(((const dup_t *)a)->md5, ((const dup_t *)b)->md5);
  return c ? c : strcmp(((const dup_t *)a)->url, ((const dup_t *)b)->url);
}

static int cmp_slow(const void *a, const void *b) {
  const slow_t *x = a, *y = b;
  if (x->url == NULL || y->url == NULL) return (x->url == NULL) - (y->url == NULL);
  return x->ms < y->ms ? 1 : x->ms > y->ms ? -1 : 0;
}

void report_classes(const report_t *r, uint64_t out[6]) {
  memcpy(out, r->classes, sizeof(r->classes));
}

size_t report_slowest(const report_t *r, const char **urls, double *ms, size_t n) {
  slow_t s[SLOWEST];
  memcpy(s, r->slow, sizeof(s)); /* sorted as a copy: the live report stays as it is */
  qsort(s, SLOWEST, sizeof(s[0]), cmp_slow);
  size_t k = 0;
  for (; k < n && k < SLOWEST && s[k].url; k++) {
    urls[k] = s[k].url;
    ms[k] = s[k].ms;
  }
  return k;
}

void report_summary(const report_t *rc, const uvcrawl_stats_t *s, FILE *f) {
  report_t *r = (report_t *)rc; /* sorting in place is not a visible change */
  double secs = s->wall_ms / 1000.0;
  fprintf(f, "pages: %" PRIu64 " in %.2f s (%.0f pages/s), %.1f MB", s->pages, secs,
          secs > 0 ? (double)s->pages / secs : 0.0, (double)s->bytes / 1e6);
  fprintf(f, "; by status: no response %" PRIu64 ", 2xx %" PRIu64 ", 3xx %" PRIu64
             ", 4xx %" PRIu64 ", 5xx %" PRIu64 "\n",
          r->classes[0], r->classes[2], r->classes[3], r->classes[4], r->classes[5]);
  for (size_t i = 0; i < r->nkinds; i++)
    fprintf(f, "errors: %" PRIu64 " x %s\n", r->kinds[i].n,
            r->kinds[i].sample ? r->kinds[i].sample : "?");
  qsort(r->slow, SLOWEST, sizeof(r->slow[0]), cmp_slow);
  for (size_t i = 0; i < SLOWEST && r->slow[i].url; i++)
    fprintf(f, "slowest: %.1f ms %s\n", r->slow[i].ms, r->slow[i].url);
  if (r->ndups > 1) qsort(r->dups, r->ndups, sizeof(*r->dups), cmp_dup);
  size_t groups = 0, shown = 0;
  for (size_t i = 0; i < r->ndups;) {
    size_t j = i + 1;
    while (j < r->ndups && strcmp(r->dups[j].md5, r->dups[i].md5) == 0) j++;
    if (j - i > 1) {
      groups++;
      if (shown++ < 5)
        fprintf(f, "duplicate content: %zu URLs with md5 %s, e.g. %s and %s\n", j - i,
                r->dups[i].md5, r->dups[i].url, r->dups[i + 1].url);
    }
    i = j;
  }
  if (groups > 5) fprintf(f, "duplicate content: %zu groups in all\n", groups);
  fprintf(f, "in flight: max %u of cap %u; sockets max %u; loop lag p50 %.2f ms, p99 %.2f ms, "
             "max %.2f ms\n",
          s->inflight_max, s->inflight_cap, s->fds_max, s->lag_p50_ms, s->lag_p99_ms,
          s->lag_max_ms);
  if (s->mirror_errors > 0)
    fprintf(f, "mirror: %" PRIu64 " bodies could not be saved\n", s->mirror_errors);
  if (s->parse_fast + s->parse_bailouts > 0)
    fprintf(f, "links: %" PRIu64 " HTML pages by the fast scanner, %" PRIu64
               " handed to gumbo (bail-outs)\n",
            s->parse_fast, s->parse_bailouts);
}
