/* CSS link extraction after CSS Syntax Level 3, section 4 (tokenization): every token that can
 * hide a "url(" is consumed whole, and only url tokens, url("...") functions and the string
 * after @import are decoded and reported. Preprocessing is folded in: CR, FF and CR LF count
 * as one newline and a NUL byte reads as U+FFFD. */
#include "css.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dynbuf.h"

typedef struct {
  const unsigned char *p, *end;
  char *buf; /* scratch for the value being decoded */
  size_t len, cap;
  uvcrawl__css_url_cb cb;
  uvcrawl__css_span_cb span_cb; /* instead of cb: with the value's source span */
  void *arg;
  const unsigned char *start;   /* the input's first byte */
  const unsigned char *vstart, *vend; /* the value's source bytes */
  int err;   /* -ENOMEM, or what cb returned */
} scan_t;

static int is_newline(int c) { return c == '\n' || c == '\r' || c == '\f'; }
static int is_ws(int c) { return c == ' ' || c == '\t' || is_newline(c); }
static int is_hex(int c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static int hex_val(int c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
/* A NUL byte is U+FFFD after preprocessing: non-ASCII, so a name code point. */
static int is_name_start(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80 || c == 0;
}
static int is_name(int c) { return is_name_start(c) || is_digit(c) || c == '-'; }

/* The byte at p + i, or -1 past the end. */
static int at(const scan_t *s, size_t i) {
  return (size_t)(s->end - s->p) > i ? s->p[i] : -1;
}

/* "Two code points are a valid escape" (4.3.8) at p + i. */
static int valid_escape(const scan_t *s, size_t i) {
  return at(s, i) == '\\' && !is_newline(at(s, i + 1));
}

/* "Three code points would start an ident sequence" (4.3.9) at p. */
static int starts_ident(const scan_t *s) {
  int c = at(s, 0);
  if (c == '-') return is_name_start(at(s, 1)) || at(s, 1) == '-' || valid_escape(s, 1);
  if (c == '\\') return valid_escape(s, 0);
  return c >= 0 && is_name_start(c);
}

/* "Three code points would start a number" (4.3.10) at p. */
static int starts_number(const scan_t *s) {
  int c = at(s, 0);
  if (c == '+' || c == '-') {
    if (is_digit(at(s, 1))) return 1;
    return at(s, 1) == '.' && is_digit(at(s, 2));
  }
  if (c == '.') return is_digit(at(s, 1));
  return is_digit(c);
}

/* Makes room for n more bytes of value. 0 or -1 (s->err set). */
static int reserve(scan_t *s, size_t n) {
  if (uvcrawl__buf_reserve(&s->buf, &s->len, &s->cap, n) == 0) return 0;
  s->err = -ENOMEM;
  return -1;
}

/* Appends code point cp as UTF-8 (callers pass valid scalar values). */
static int put_cp(scan_t *s, uint32_t cp) {
  if (reserve(s, 4) != 0) return -1;
  char *o = s->buf + s->len;
  if (cp < 0x80) {
    o[0] = (char)cp;
    s->len += 1;
  } else if (cp < 0x800) {
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    s->len += 2;
  } else if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    s->len += 3;
  } else {
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    s->len += 4;
  }
  return 0;
}

/* Appends the byte at p (NUL read as U+FFFD) and steps past it. */
static int put_byte(scan_t *s) {
  int c = *s->p++;
  if (c == 0) return put_cp(s, 0xFFFD);
  if (reserve(s, 1) != 0) return -1;
  s->buf[s->len++] = (char)c;
  return 0;
}

/* Skips one newline (CR LF is one). */
static void skip_newline(scan_t *s) {
  if (at(s, 0) == '\r' && at(s, 1) == '\n') s->p++;
  s->p++;
}

/* "Consume an escaped code point" (4.3.7), p just past the backslash. The code point goes to
 * the value when keep, else it is only skipped. A non-hex byte is kept as it is: the bytes of
 * a UTF-8 sequence after it then follow as ordinary bytes. */
static int escape(scan_t *s, int keep) {
  if (s->p == s->end) return keep ? put_cp(s, 0xFFFD) : 0;
  if (!is_hex(*s->p)) return keep ? put_byte(s) : (s->p++, 0);
  uint32_t cp = 0;
  for (int i = 0; i < 6 && s->p < s->end && is_hex(*s->p); i++) cp = cp * 16 + hex_val(*s->p++);
  if (s->p < s->end && is_ws(*s->p)) skip_newline(s); /* one whitespace (CR LF as one) */
  if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) cp = 0xFFFD;
  return keep ? put_cp(s, cp) : 0;
}

/* Reports the value built so far, if any. */
static int report(scan_t *s) {
  if (s->len == 0) return 0;
  if (reserve(s, 1) != 0) return -1;
  s->buf[s->len] = '\0';
  int r = s->span_cb != NULL
              ? s->span_cb(s->arg, s->buf, s->len, (size_t)(s->vstart - s->start),
                           (size_t)(s->vend - s->start))
              : s->cb(s->arg, s->buf, s->len);
  if (r != 0) {
    s->err = r;
    return -1;
  }
  return 0;
}

/* "Consume an ident sequence" (4.3.12). Returns 1 when it spells "url" (ASCII
 * case-insensitively, escapes decoded), else 0. */
static int name_is_url(scan_t *s) {
  static const char url[] = "url";
  size_t n = 0;
  int match = 1;
  for (;;) {
    int c = at(s, 0);
    uint32_t cp;
    if (c >= 0 && is_name(c)) {
      cp = (uint32_t)c;
      s->p++;
    } else if (valid_escape(s, 0)) {
      size_t before = s->len;
      s->p++;
      if (escape(s, 1) != 0) return 0;
      /* One byte decoded: that is the only case that can match a letter of "url". */
      cp = s->len - before == 1 ? (unsigned char)s->buf[before] : 0x80;
      s->len = before;
    } else {
      break;
    }
    if (n < 3 && ((cp | 0x20) != (uint32_t)url[n])) match = 0;
    n++;
  }
  return match && n == 3;
}

/* "Consume a string token" (4.3.5), p past the opening quote. The value is built in s->buf.
 * Returns 1 for a string, 0 for a bad string (a raw newline), -1 on error. */
static int string_token(scan_t *s, int quote) {
  s->len = 0;
  s->vstart = s->p;
  while (s->p < s->end) {
    int c = *s->p;
    if (c == quote) {
      s->vend = s->p;
      s->p++;
      return 1;
    }
    if (is_newline(c)) return 0; /* the newline is not consumed */
    if (c == '\\') {
      s->p++;
      if (s->p == s->end) break;
      if (is_newline(*s->p)) skip_newline(s); /* a line continuation */
      else if (escape(s, 1) != 0) return -1;
      continue;
    }
    if (put_byte(s) != 0) return -1;
  }
  s->vend = s->p;
  return 1; /* EOF: a parse error, but still a string */
}

/* "Consume the remnants of a bad url" (4.3.14). */
static void bad_url(scan_t *s) {
  while (s->p < s->end) {
    if (*s->p == ')') {
      s->p++;
      return;
    }
    if (valid_escape(s, 0)) {
      s->p++;
      (void)escape(s, 0);
    } else {
      s->p++;
    }
  }
}

/* "Consume a url token" (4.3.6), p past "url(" and its whitespace. Reports it unless bad. */
static int url_token(scan_t *s) {
  s->len = 0;
  s->vstart = s->p;
  while (s->p < s->end) {
    int c = *s->p;
    if (c == ')') {
      s->vend = s->p;
      s->p++;
      return report(s);
    }
    if (is_ws(c)) {
      s->vend = s->p;
      while (s->p < s->end && is_ws(*s->p)) s->p++;
      if (s->p == s->end) break;
      if (*s->p == ')') {
        s->p++;
        return report(s);
      }
      bad_url(s);
      return 0;
    }
    if (c == '"' || c == '\'' || c == '(' || (c >= 1 && c <= 8) || c == 0x0B ||
        (c >= 0x0E && c <= 0x1F) || c == 0x7F) {
      bad_url(s);
      return 0;
    }
    if (c == '\\') {
      if (!valid_escape(s, 0)) {
        bad_url(s);
        return 0;
      }
      s->p++;
      if (escape(s, 1) != 0) return -1;
      continue;
    }
    if (put_byte(s) != 0) return -1;
  }
  s->vend = s->p;
  return report(s); /* EOF: a parse error, but still a url token */
}

/* "Consume an ident-like token" (4.3.4). url( followed by a quote is a function whose string
 * argument is the URL; url( followed by anything else is a url token. */
static int ident_like(scan_t *s) {
  if (!name_is_url(s) || at(s, 0) != '(') return 0;
  s->p++;
  while (s->p < s->end && is_ws(*s->p)) s->p++;
  int c = at(s, 0);
  if (c == '"' || c == '\'') {
    s->p++;
    int r = string_token(s, c);
    if (r < 0) return -1;
    return r == 1 ? report(s) : 0;
  }
  return url_token(s);
}

/* Skips an ident sequence whose value does not matter (hash names, at-keywords, units). */
static void skip_name(scan_t *s) {
  for (;;) {
    int c = at(s, 0);
    if (c >= 0 && is_name(c)) {
      s->p++;
    } else if (valid_escape(s, 0)) {
      s->p++;
      (void)escape(s, 0);
    } else {
      return;
    }
  }
}

/* 1 when the at-keyword at p (past '@') is "import", consuming its name. */
static int at_import(scan_t *s) {
  static const char kw[] = "import";
  const unsigned char *start = s->p;
  skip_name(s);
  size_t n = (size_t)(s->p - start);
  if (n != 6) return 0; /* an escaped spelling of import is not worth a decoder here */
  for (size_t i = 0; i < n; i++)
    if ((start[i] | 0x20) != kw[i]) return 0;
  return 1;
}

/* "Consume a numeric token" (4.3.3): the number, then a unit or '%'. */
static void numeric(scan_t *s) {
  if (at(s, 0) == '+' || at(s, 0) == '-') s->p++;
  while (is_digit(at(s, 0))) s->p++;
  if (at(s, 0) == '.' && is_digit(at(s, 1))) {
    s->p++;
    while (is_digit(at(s, 0))) s->p++;
  }
  int c = at(s, 0);
  if ((c == 'e' || c == 'E') &&
      (is_digit(at(s, 1)) || ((at(s, 1) == '+' || at(s, 1) == '-') && is_digit(at(s, 2))))) {
    s->p += 2;
    while (is_digit(at(s, 0))) s->p++;
  }
  if (starts_ident(s)) skip_name(s);
  else if (at(s, 0) == '%') s->p++;
}

static int scan(const char *css, size_t len, uvcrawl__css_url_cb cb,
                uvcrawl__css_span_cb span_cb, void *arg) {
  /* NULL + 0 is undefined too (clang's UBSan says so): no end for a NULL buffer. */
  scan_t s = {.p = (const unsigned char *)css,
              .end = css == NULL ? NULL : (const unsigned char *)css + len,
              .cb = cb, .span_cb = span_cb, .arg = arg, .start = (const unsigned char *)css};
  int import = 0; /* the last token that was not whitespace or a comment was @import */

  while (s.err == 0 && s.p < s.end) {
    int c = *s.p;
    if (is_ws(c)) {
      s.p++;
      continue;
    }
    if (c == '/' && at(&s, 1) == '*') {
      const unsigned char *q = s.p + 2;
      for (;;) {
        q = memchr(q, '*', (size_t)(s.end - q));
        if (q == NULL || q + 1 >= s.end) {
          q = s.end;
          break;
        }
        if (q[1] == '/') {
          q += 2;
          break;
        }
        q++;
      }
      s.p = q;
      continue;
    }
    int was_import = import;
    import = 0;
    if (c == '"' || c == '\'') {
      s.p++;
      int r = string_token(&s, c);
      if (r == 1 && was_import) (void)report(&s);
    } else if (c == '@') {
      s.p++;
      if (starts_ident(&s)) import = at_import(&s);
    } else if (c == '#') {
      s.p++;
      if ((at(&s, 0) >= 0 && is_name(at(&s, 0))) || valid_escape(&s, 0)) skip_name(&s);
    } else if (starts_number(&s)) {
      numeric(&s);
    } else if (c == '-' && at(&s, 1) == '-' && at(&s, 2) == '>') {
      s.p += 3; /* CDC */
    } else if (c == '<' && at(&s, 1) == '!' && at(&s, 2) == '-' && at(&s, 3) == '-') {
      s.p += 4; /* CDO */
    } else if (starts_ident(&s)) {
      (void)ident_like(&s);
    } else {
      s.p++; /* a delimiter or punctuation: one code point token */
    }
  }
  free(s.buf);
  return s.err;
}

int uvcrawl__css_scan(const char *css, size_t len, uvcrawl__css_url_cb cb, void *arg) {
  return scan(css, len, cb, NULL, arg);
}

int uvcrawl__css_scan_spans(const char *css, size_t len, uvcrawl__css_span_cb cb, void *arg) {
  return scan(css, len, NULL, cb, arg);
}
