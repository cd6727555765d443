/* CDXJ lines and their SURT keys. */
#include "cdxj.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dynbuf.h"

typedef struct {
  const char *p;
  size_t n;
} span_t;

static int span_cmp(const void *a, const void *b) {
  const span_t *x = a, *y = b;
  size_t n = x->n < y->n ? x->n : y->n;
  int c = memcmp(x->p, y->p, n);
  return c != 0 ? c : (x->n > y->n) - (x->n < y->n);
}

/* Appends s[0..n) lower-cased. */
static int add_lower(uvcrawl__dynbuf_t *out, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char c = (char)tolower((unsigned char)s[i]);
    int err = uvcrawl__dynbuf_add(out, &c, 1);
    if (err != 0) return err;
  }
  return 0;
}

int uvcrawl__cdxj_surt(uvcrawl__dynbuf_t *out, const char *url) {
  size_t start = out->len;
  const char *p;
  int err = 0;

  if (strncasecmp(url, "http://", 7) == 0) p = url + 7;
  else if (strncasecmp(url, "https://", 8) == 0) p = url + 8;
  else return uvcrawl__dynbuf_addstr(out, url);

  /* www\d*. goes, as pywb's keys have it. */
  if (strncasecmp(p, "www", 3) == 0) {
    const char *q = p + 3;
    while (*q >= '0' && *q <= '9') q++;
    if (*q == '.') p = q + 1;
  }
  size_t hostport = strcspn(p, "/?#");
  const char *path = p + hostport;
  /* userinfo is not part of the key */
  const char *at = memchr(p, '@', hostport);
  if (at != NULL) {
    hostport -= (size_t)(at + 1 - p);
    p = at + 1;
  }
  size_t hostlen = hostport;
  if (p[0] == '[') { /* an IPv6 literal: its colons are not the port's */
    const char *rb = memchr(p, ']', hostport);
    if (rb != NULL) hostlen = (size_t)(rb + 1 - p);
  } else {
    const char *c = memchr(p, ':', hostport);
    if (c != NULL) hostlen = (size_t)(c - p);
  }

  /* Host labels, last first. */
  size_t end = hostlen;
  while (err == 0) {
    size_t dot = end;
    while (dot > 0 && p[dot - 1] != '.') dot--;
    err = add_lower(out, p + dot, end - dot);
    if (dot == 0) break;
    if (err == 0) err = uvcrawl__dynbuf_add(out, ",", 1);
    end = dot - 1;
  }
  if (err == 0 && hostport - hostlen > 1) err = add_lower(out, p + hostlen, hostport - hostlen);
  if (err == 0) err = uvcrawl__dynbuf_add(out, ")", 1);

  size_t plen = strcspn(path, "?#");
  if (err == 0) err = plen ? add_lower(out, path, plen) : uvcrawl__dynbuf_add(out, "/", 1);
  if (err == 0 && path[plen] == '?') {
    const char *q = path + plen + 1;
    size_t qlen = strcspn(q, "#"), nargs = 1;
    for (size_t i = 0; i < qlen; i++) nargs += q[i] == '&';
    span_t *args = qlen ? malloc(nargs * sizeof(*args)) : NULL;
    if (qlen && args == NULL) err = -ENOMEM;
    if (args != NULL) {
      /* Lower-cased first, then sorted, as the key is made from the lower-cased URL. */
      size_t qstart = out->len + 1;
      err = uvcrawl__dynbuf_add(out, "?", 1);
      if (err == 0) err = add_lower(out, q, qlen);
      if (err == 0) {
        char *lq = malloc(qlen);
        if (lq == NULL) err = -ENOMEM;
        else {
          memcpy(lq, out->p + qstart, qlen);
          size_t k = 0, from = 0;
          for (size_t i = 0; i <= qlen; i++)
            if (i == qlen || lq[i] == '&') {
              args[k].p = lq + from;
              args[k++].n = i - from;
              from = i + 1;
            }
          qsort(args, k, sizeof(*args), span_cmp);
          char *o = out->p + qstart;
          for (size_t i = 0; i < k; i++) {
            if (i > 0) *o++ = '&';
            memcpy(o, args[i].p, args[i].n);
            o += args[i].n;
          }
          free(lq);
        }
      }
      free(args);
    }
  }
  if (err != 0) {
    out->len = start;
    if (out->p != NULL) out->p[start] = '\0';
  }
  return err;
}

/* Appends s as a JSON string, escaped as JSON.stringify does (so lines match warcio's). */
static int add_json(uvcrawl__dynbuf_t *out, const char *s, size_t n) {
  int err = uvcrawl__dynbuf_add(out, "\"", 1);
  for (size_t i = 0; err == 0 && i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') err = uvcrawl__dynbuf_addf(out, "\\%c", c);
    else if (c == '\n') err = uvcrawl__dynbuf_add(out, "\\n", 2);
    else if (c == '\r') err = uvcrawl__dynbuf_add(out, "\\r", 2);
    else if (c == '\t') err = uvcrawl__dynbuf_add(out, "\\t", 2);
    else if (c == '\b') err = uvcrawl__dynbuf_add(out, "\\b", 2);
    else if (c == '\f') err = uvcrawl__dynbuf_add(out, "\\f", 2);
    else if (c < 0x20) err = uvcrawl__dynbuf_addf(out, "\\u%04x", c);
    else err = uvcrawl__dynbuf_add(out, &s[i], 1);
  }
  if (err == 0) err = uvcrawl__dynbuf_add(out, "\"", 1);
  return err;
}

int uvcrawl__cdxj_line(uvcrawl__dynbuf_t *out, const uvcrawl__cdxj_entry_t *e) {
  size_t start = out->len;
  char ts[15];
  size_t k = 0;
  /* 2026-12-01T20:09:56.123456Z -> 20261201200956 */
  for (const char *d = e->warc_date; *d != '\0' && k < 14; d++)
    if (*d >= '0' && *d <= '9') ts[k++] = *d;
  ts[k] = '\0';

  int err = uvcrawl__cdxj_surt(out, e->url);
  if (err == 0) err = uvcrawl__dynbuf_addf(out, " %s {\"url\":", ts);
  if (err == 0) err = add_json(out, e->url, strlen(e->url));
  const char *mime = e->revisit ? "warc/revisit" : e->mime;
  if (err == 0 && mime != NULL) {
    size_t n = strcspn(mime, ";");
    while (n > 0 && (mime[n - 1] == ' ' || mime[n - 1] == '\t')) n--;
    while (n > 0 && (*mime == ' ' || *mime == '\t')) mime++, n--;
    err = uvcrawl__dynbuf_add(out, ",\"mime\":", 8);
    if (err == 0) err = add_json(out, mime, n);
  }
  if (err == 0 && e->status > 0) err = uvcrawl__dynbuf_addf(out, ",\"status\":\"%ld\"", e->status);
  if (err == 0 && e->digest != NULL) {
    const char *d = strchr(e->digest, ':');
    d = d != NULL ? d + 1 : e->digest;
    err = uvcrawl__dynbuf_add(out, ",\"digest\":", 10);
    if (err == 0) err = add_json(out, d, strlen(d));
  }
  if (err == 0)
    err = uvcrawl__dynbuf_addf(out, ",\"length\":\"%llu\",\"offset\":\"%llu\",\"filename\":",
                               (unsigned long long)e->length, (unsigned long long)e->offset);
  if (err == 0) err = add_json(out, e->filename, strlen(e->filename));
  if (err == 0) err = uvcrawl__dynbuf_add(out, "}\n", 2);
  if (err != 0) {
    out->len = start;
    if (out->p != NULL) out->p[start] = '\0';
  }
  return err;
}

int uvcrawl__cdxj_sort(char *buf, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) n += buf[i] == '\n';
  if (len > 0 && buf[len - 1] != '\n') n++;
  if (n < 2) return 0;
  span_t *lines = malloc(n * sizeof(*lines));
  char *copy = malloc(len);
  if (lines == NULL || copy == NULL) {
    free(lines);
    free(copy);
    return -ENOMEM;
  }
  memcpy(copy, buf, len);
  size_t k = 0, from = 0;
  for (size_t i = 0; i < len; i++)
    if (copy[i] == '\n') {
      lines[k].p = copy + from;
      lines[k++].n = i - from;
      from = i + 1;
    }
  if (from < len) {
    lines[k].p = copy + from;
    lines[k++].n = len - from;
  }
  qsort(lines, k, sizeof(*lines), span_cmp);
  char *o = buf;
  for (size_t i = 0; i < k; i++) {
    memcpy(o, lines[i].p, lines[i].n);
    o += lines[i].n;
    if ((size_t)(o - buf) < len) *o++ = '\n';
  }
  free(lines);
  free(copy);
  return 0;
}
