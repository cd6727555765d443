/* The streaming HTML5 link scanner (see htmlscan.h). gumbo 0.10.1 is the reference: where it
 * deviates from today's standard in a way that changes links, this file follows gumbo, and
 * tests/fuzz/fuzz-diff.c holds the two to the same links. */
#include "htmlscan.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "entities.h"

#define FOREIGN_MAX_DEPTH 64
#define FOREIGN_NAME_MAX 24
#define TOKENS_MAX_ATTRS 256

/* Tags whose handling differs; everything else is TAG_OTHER. */
enum {
  TAG_OTHER,
  TAG_A, TAG_AREA, TAG_LINK, TAG_BASE,                                   /* href */
  TAG_IMG, TAG_IMAGE, TAG_SOURCE, TAG_SCRIPT, TAG_IFRAME, TAG_EMBED,     /* src */
  TAG_TITLE, TAG_TEXTAREA, TAG_STYLE, TAG_XMP, TAG_NOEMBED, TAG_NOFRAMES, TAG_PLAINTEXT,
  TAG_SVG, TAG_MATH, TAG_SELECT, TAG_FRAMESET, TAG_TEMPLATE, TAG_TABLE, TAG_FONT,
  TAG_CAPTION, TAG_COLGROUP, TAG_COL, TAG_TBODY, TAG_TFOOT, TAG_THEAD, TAG_TR, TAG_TD, TAG_TH,
  TAG_FOREIGNOBJECT, TAG_DESC, TAG_MI, TAG_MO, TAG_MN, TAG_MS, TAG_MTEXT,
  TAG_ANNOTATION_XML, TAG_MGLYPH, TAG_MALIGNMARK, TAG_INPUT, TAG_KEYGEN,
  TAG_VIDEO, TAG_AUDIO, TAG_TRACK, TAG_OBJECT, TAG_OPTION, TAG_OPTGROUP, TAG_HTML, TAG_FORM,
  TAG_FRAME, TAG_ISINDEX,
  TAG_META, TAG_BODY, TAG_HEAD, /* breakout tags with a handling of their own */
  TAG_BREAKOUT /* the other tags that end foreign content (gumbo's list) */
};

/* What one start tag's attributes must give. */
enum {
  WANT_HREF = 1,
  WANT_XLINK_HREF = 2, /* foreign content: xlink:href is renamed href by tree building */
  WANT_SRC = 4,
  WANT_SRCSET = 8,
  WANT_FONT = 16,      /* color/face/size make <font> a breakout tag in foreign content */
  WANT_ENCODING = 32,  /* annotation-xml can be an integration point */
  WANT_STYLE = 64,     /* every element: style="" is CSS */
  WANT_POSTER = 128,
  WANT_DATA = 256,
  WANT_TYPE = 512,
  WANT_REL = 1024,
  WANT_META = 2048     /* http-equiv and content */
};

enum { NS_SVG = 1, NS_MATH = 2 };
enum { KIND_PLAIN, KIND_HTML_IP, KIND_MATH_TEXT_IP, KIND_ANNOTATION };

typedef struct {
  unsigned char ns, kind, len;
  char name[FOREIGN_NAME_MAX]; /* lower-cased source bytes, for end tag matching */
} fnode_t;

typedef struct {
  const char *v;
  size_t n;
  int set;
  char quote; /* the value's quote, or 0 when unquoted */
} span_t;

typedef struct {
  const char *name; /* source bytes of the tag name */
  size_t name_len;
  const char *gt;   /* the '>' that ended the tag */
  int id;
  int self_closing;
  int font_attr, encoding_attr;
  int unsure; /* attribute names where gumbo's tokenizer is quirky (see scan_tag) */
  span_t href, src, srcset; /* first occurrences (later duplicates are dropped, as in HTML) */
  span_t style, poster, data, type, rel, equiv, content;
  /* tokens mode only */
  size_t nattrs;
  span_t an[TOKENS_MAX_ATTRS], av[TOKENS_MAX_ATTRS];
} tag_t;

typedef struct {
  const char *end;
  uvcrawl__links_t *out;
  size_t max_links;
  int base_seen;
  int table_seen;
  size_t template_depth;
  int in_select; /* the "in select" insertion mode: most start tags are dropped */
  size_t table_open; /* <table>s open: table parts outside one are dropped */
  int table_nested;  /* a <table> while one was open: it may have closed that one instead */
  int form_open;     /* a <form> inside a form is dropped */
  int html_style, body_style; /* later <html>/<body> tags only add attributes not there yet */
  uvcrawl__htmlspan_cb span_cb; /* span mode (conversion): report where values are */
  void *span_arg;
  const char *doc;   /* the document's first byte, for span offsets */
  size_t depth;
  int reason;
  uvcrawl__htmlscan_tag_cb tag_cb;
  void *arg;
  int cb_ret;
  fnode_t fstack[FOREIGN_MAX_DEPTH];
} scan_t;

/* Results of the inner steps besides 0 and -ENOMEM. */
#define R_BAIL UVCRAWL__HTMLSCAN_BAIL
#define R_STOP 2 /* PLAINTEXT or the test callback: nothing after this matters */

static const char *const reason_texts[] = {
#define XX(name, text) text,
    UVCRAWL__HTMLSCAN_REASONS(XX)
#undef XX
};

const char *uvcrawl__htmlscan_reason_text(int reason) {
  if (reason < 0 || reason >= UVCRAWL__HTMLSCAN_REASON_COUNT) return "?";
  return reason_texts[reason];
}

/* In span mode nothing bails: the tokenizer's view is what conversion needs, and a value in a
 * tag the tree would drop does no harm converted. */
static int bail(scan_t *s, int reason) {
  if (s->span_cb != NULL) return 0;
  s->reason = reason;
  return R_BAIL;
}

/* Byte classes, so the inner loops test one table entry per byte. */
enum { C_WS = 1, C_SLASH = 2, C_GT = 4, C_EQ = 8, C_DEC = 16 };
#define CLS_WS(c) ((c) == ' ' || (c) == '\n' || (c) == '\t' || (c) == '\f' || (c) == '\r')
/* C_DEC: a value byte that needs more than a copy: '&', the controls (NUL, CR and those gumbo
 * replaces, not tab, LF or FF) and everything from DEL up (checked as UTF-8). */
#define CLS_DEC(c) ((c) == '&' || (c) >= 0x7F || ((c) < 0x20 && (c) != '\t' && (c) != '\n' && (c) != '\f'))
#define CLS(c)                                                                     \
  ((CLS_WS(c) ? C_WS : 0) | ((c) == '/' ? C_SLASH : 0) | ((c) == '>' ? C_GT : 0) | \
   ((c) == '=' ? C_EQ : 0) | (CLS_DEC(c) ? C_DEC : 0))
#define CLS4(c) CLS(c), CLS(c + 1), CLS(c + 2), CLS(c + 3)
#define CLS16(c) CLS4(c), CLS4(c + 4), CLS4(c + 8), CLS4(c + 12)
#define CLS64(c) CLS16(c), CLS16(c + 16), CLS16(c + 32), CLS16(c + 48)
static const unsigned char cls[256] = {CLS64(0), CLS64(64), CLS64(128), CLS64(192)};

/* The tokenizer's whitespace after preprocessing (CR becomes LF). */
static int is_ws(unsigned char c) {
  return cls[c] & C_WS;
}

static int is_alpha(unsigned char c) {
  return (unsigned char)((c | 0x20) - 'a') < 26;
}

static int is_alnum(unsigned char c) {
  return is_alpha(c) || (unsigned char)(c - '0') < 10;
}

static unsigned char lower(unsigned char c) {
  return (unsigned char)(c - 'A') < 26 ? (unsigned char)(c | 0x20) : c;
}

/* 1 when the n source bytes at a equal the lower-case literal lit, ASCII case-insensitively. */
static int ieq(const char *a, size_t n, const char *lit, size_t litn) {
  size_t i;
  if (n != litn) return 0;
  for (i = 0; i < n; i++)
    if (lower((unsigned char)a[i]) != (unsigned char)lit[i]) return 0;
  return 1;
}

static int ieq2(const char *a, size_t n, const char *b, size_t m) {
  size_t i;
  if (n != m) return 0;
  for (i = 0; i < n; i++)
    if (lower((unsigned char)a[i]) != lower((unsigned char)b[i])) return 0;
  return 1;
}

#define IEQ(a, n, lit) ieq((a), (n), lit, sizeof(lit) - 1)

/* The tag's identity from its source name: a switch on length and first letter. */
static int tag_id(const char *name, size_t n) {
  char c, lc[14];
  size_t i;
  if (n == 0 || n > 14) return TAG_OTHER;
  for (i = 0; i < n; i++) lc[i] = (char)lower((unsigned char)name[i]);
  c = lc[0];
  /* Each case below holds only literals of its length. */
#define T(lit, id) \
  if (memcmp(lc, lit, sizeof(lit) - 1) == 0) return id
  switch (n) {
    case 1:
      switch (c) {
        case 'a': return TAG_A;
        case 'b': case 'i': case 'p': case 's': case 'u': return TAG_BREAKOUT;
        default: return TAG_OTHER;
      }
    case 2:
      switch (c) {
        case 't': T("tr", TAG_TR); T("td", TAG_TD); T("th", TAG_TH); T("tt", TAG_BREAKOUT); break;
        case 'm': T("mi", TAG_MI); T("mo", TAG_MO); T("mn", TAG_MN); T("ms", TAG_MS); break;
        case 'h':
          if (lc[1] >= '1' && lc[1] <= '6') return TAG_BREAKOUT;
          T("hr", TAG_BREAKOUT);
          break;
        case 'b': T("br", TAG_BREAKOUT); break;
        case 'd': T("dd", TAG_BREAKOUT); T("dl", TAG_BREAKOUT); T("dt", TAG_BREAKOUT); break;
        case 'e': T("em", TAG_BREAKOUT); break;
        case 'l': T("li", TAG_BREAKOUT); break;
        case 'o': T("ol", TAG_BREAKOUT); break;
        case 'u': T("ul", TAG_BREAKOUT); break;
      }
      break;
    case 3:
      switch (c) {
        case 'i': T("img", TAG_IMG); break;
        case 'x': T("xmp", TAG_XMP); break;
        case 's': T("svg", TAG_SVG); T("sub", TAG_BREAKOUT); T("sup", TAG_BREAKOUT); break;
        case 'c': T("col", TAG_COL); break;
        case 'b': T("big", TAG_BREAKOUT); break;
        case 'd': T("div", TAG_BREAKOUT); break;
        case 'p': T("pre", TAG_BREAKOUT); break;
        case 'v': T("var", TAG_BREAKOUT); break;
      }
      break;
    case 4:
      switch (c) {
        case 'a': T("area", TAG_AREA); break;
        case 'l': T("link", TAG_LINK); break;
        case 'b': T("base", TAG_BASE); T("body", TAG_BODY); break;
        case 'm': T("math", TAG_MATH); T("menu", TAG_BREAKOUT); T("meta", TAG_META); break;
        case 'f': T("font", TAG_FONT); T("form", TAG_FORM); break;
        case 'd': T("desc", TAG_DESC); break;
        case 'c': T("code", TAG_BREAKOUT); break;
        case 'h': T("head", TAG_HEAD); T("html", TAG_HTML); break;
        case 'n': T("nobr", TAG_BREAKOUT); break;
        case 'r': T("ruby", TAG_BREAKOUT); break;
        case 's': T("span", TAG_BREAKOUT); break;
      }
      break;
    case 5:
      switch (c) {
        case 'i': T("image", TAG_IMAGE); T("input", TAG_INPUT); break;
        case 'e': T("embed", TAG_EMBED); break;
        case 't':
          T("title", TAG_TITLE); T("table", TAG_TABLE); T("tbody", TAG_TBODY);
          T("tfoot", TAG_TFOOT); T("thead", TAG_THEAD); T("track", TAG_TRACK);
          break;
        case 'v': T("video", TAG_VIDEO); break;
        case 'a': T("audio", TAG_AUDIO); break;
        case 'f': T("frame", TAG_FRAME); break;
        case 's': T("style", TAG_STYLE); T("small", TAG_BREAKOUT); break;
        case 'm': T("mtext", TAG_MTEXT); break;
      }
      break;
    case 6:
      switch (c) {
        case 's':
          T("source", TAG_SOURCE); T("script", TAG_SCRIPT); T("select", TAG_SELECT);
          T("strong", TAG_BREAKOUT); T("strike", TAG_BREAKOUT);
          break;
        case 'i': T("iframe", TAG_IFRAME); break;
        case 'k': T("keygen", TAG_KEYGEN); break;
        case 'm': T("mglyph", TAG_MGLYPH); break;
        case 'c': T("center", TAG_BREAKOUT); break;
        case 'o': T("object", TAG_OBJECT); T("option", TAG_OPTION); break;
      }
      break;
    case 7:
      switch (c) {
        case 'n': T("noembed", TAG_NOEMBED); break;
        case 'i': T("isindex", TAG_ISINDEX); break;
        case 'c': T("caption", TAG_CAPTION); break;
        case 'l': T("listing", TAG_BREAKOUT); break;
      }
      break;
    case 8:
      switch (c) {
        case 't': T("textarea", TAG_TEXTAREA); T("template", TAG_TEMPLATE); break;
        case 'n': T("noframes", TAG_NOFRAMES); break;
        case 'f': T("frameset", TAG_FRAMESET); break;
        case 'c': T("colgroup", TAG_COLGROUP); break;
        case 'o': T("optgroup", TAG_OPTGROUP); break;
      }
      break;
    case 9:
      if (c == 'p') T("plaintext", TAG_PLAINTEXT);
      break;
    case 10:
      if (c == 'm') T("malignmark", TAG_MALIGNMARK);
      if (c == 'b') T("blockquote", TAG_BREAKOUT);
      break;
    case 13:
      if (c == 'f') T("foreignobject", TAG_FOREIGNOBJECT);
      break;
    case 14:
      if (c == 'a') T("annotation-xml", TAG_ANNOTATION_XML);
      break;
  }
#undef T
  return TAG_OTHER;
}

/* ---- decoding attribute values ---------------------------------------------------------- */

/* gumbo's input stream replaces these code points with U+FFFD (utf8.c). */
static int is_replaced_code_point(uint32_t c) {
  return (c >= 0x1 && c <= 0x8) || c == 0xB || (c >= 0xE && c <= 0x1F) ||
         (c >= 0x7F && c <= 0x9F) || (c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFF) == 0xFFFE ||
         (c & 0xFFFF) == 0xFFFF;
}

static char *put_cp(char *o, uint32_t c) {
  if (c < 0x80) {
    *o++ = (char)c;
  } else if (c < 0x800) {
    *o++ = (char)(0xC0 | (c >> 6));
    *o++ = (char)(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    *o++ = (char)(0xE0 | (c >> 12));
    *o++ = (char)(0x80 | ((c >> 6) & 0x3F));
    *o++ = (char)(0x80 | (c & 0x3F));
  } else {
    *o++ = (char)(0xF0 | (c >> 18));
    *o++ = (char)(0x80 | ((c >> 12) & 0x3F));
    *o++ = (char)(0x80 | ((c >> 6) & 0x3F));
    *o++ = (char)(0x80 | (c & 0x3F));
  }
  return o;
}

/* One UTF-8 sequence at s (n > 0 bytes): its length and code point, or U+FFFD for an ill-formed
 * one, consuming the bytes before the first that does not fit (at least one), like gumbo's
 * decoder. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp) {
  unsigned char c = s[0], lo = 0x80, hi = 0xBF;
  size_t need, i;
  uint32_t v;

  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  if (c < 0xC2 || c > 0xF4) {
    *cp = 0xFFFD;
    return 1;
  }
  if (c < 0xE0) {
    need = 1;
    v = c & 0x1F;
  } else if (c < 0xF0) {
    need = 2;
    v = c & 0x0F;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F; /* no surrogates */
  } else {
    need = 3;
    v = c & 0x07;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  }
  for (i = 1; i <= need; i++) {
    if (i >= n || s[i] < lo || s[i] > hi) {
      *cp = 0xFFFD;
      return i;
    }
    lo = 0x80;
    hi = 0xBF;
    v = (v << 6) | (s[i] & 0x3F);
  }
  *cp = v;
  return need + 1;
}

static int needs_decoding(unsigned char c) {
  return cls[c] & C_DEC;
}

static int entity_cmp(const char *key, size_t n, const uvcrawl__entity_t *e) {
  size_t m = n < e->len ? n : e->len;
  int r = memcmp(key, e->name, m);
  if (r != 0) return r;
  return n < e->len ? -1 : n > e->len ? 1 : 0;
}

static const uvcrawl__entity_t *entity_find(const char *key, size_t n) {
  size_t lo = 0, hi = UVCRAWL__ENTITY_COUNT;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int r = entity_cmp(key, n, &uvcrawl__entities[mid]);
    if (r == 0) return &uvcrawl__entities[mid];
    if (r < 0) hi = mid;
    else lo = mid + 1;
  }
  return NULL;
}

/* A character reference in an attribute value at v[i] == '&': writes its expansion at *o and
 * returns the bytes consumed, or 0 when it is none (the '&' is literal). */
static size_t char_ref(const char *v, size_t n, size_t i, char **o) {
  size_t j = i + 1, run;
  if (j >= n) return 0;
  if (v[j] == '#') {
    int hex = 0;
    uint32_t cp = 0;
    j++;
    if (j < n && (v[j] == 'x' || v[j] == 'X')) {
      hex = 1;
      j++;
    }
    if (j >= n) return 0;
    for (run = j; j < n; j++) {
      unsigned char c = (unsigned char)v[j];
      uint32_t d;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f') d = (uint32_t)((c | 0x20) - 'a' + 10);
      else break;
      /* Past U+10FFFF it is U+FFFD however long it goes on (gumbo, which wraps, is given it
       * so: extract.c). */
      if (cp <= 0x10FFFF) cp = cp * (hex ? 16 : 10) + d;
    }
    if (j == run) return 0;
    if (j < n && v[j] == ';') j++;
    if (cp == 0) cp = 0xFFFD;
    else if (cp >= 0x80 && cp <= 0x9F) {
      static const uint16_t c1[32] = {
          0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
          0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
          0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};
      cp = c1[cp - 0x80];
    } else if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      cp = 0xFFFD;
    }
    *o = put_cp(*o, cp);
    return j - i;
  }
  for (run = 0; j + run < n && is_alnum((unsigned char)v[j + run]); run++) {
  }
  if (run == 0) return 0;
  if (j + run < n && v[j + run] == ';' && run <= UVCRAWL__ENTITY_MAX_LEN) {
    const uvcrawl__entity_t *e = entity_find(v + j, run);
    if (e != NULL) {
      *o = put_cp(*o, e->cp1);
      if (e->cp2) *o = put_cp(*o, e->cp2);
      return run + 2;
    }
  }
  /* Without ';' only a legacy name decodes in an attribute, and only when no alphanumeric or
   * '=' follows it: a shorter legacy prefix of the run is followed by an alphanumeric. */
  if (run <= UVCRAWL__ENTITY_LEGACY_MAX_LEN && !(j + run < n && v[j + run] == '=')) {
    const uvcrawl__entity_t *e = entity_find(v + j, run);
    if (e != NULL && e->legacy) {
      *o = put_cp(*o, e->cp1);
      if (e->cp2) *o = put_cp(*o, e->cp2);
      return run + 1;
    }
  }
  return 0;
}

/* Decodes the source bytes of a value (refs only when refs is set) as gumbo would deliver them,
 * into a malloc'd NUL-terminated string *out of *outlen bytes (the caller frees).
 * Returns 0 or -ENOMEM. */
static int decode(const char *v, size_t n, int refs, int lowercase, char **out, size_t *outlen) {
  char *buf, *o;
  size_t i = 0;

  /* Each source byte gives at most 3 bytes (U+FFFD); a reference gives no more than it took
   * plus a little: "&nGt;" (5 bytes) gives 6, "&#1;" style ones fewer. */
  if (n > (SIZE_MAX - 8) / 3) return -ENOMEM;
  buf = o = malloc(n * 3 + 8);
  if (buf == NULL) return -ENOMEM;
  while (i < n) {
    unsigned char c = (unsigned char)v[i];
    if (!needs_decoding(c)) {
      *o++ = (char)(lowercase ? lower(c) : c);
      i++;
    } else if (c == '&') {
      size_t used = refs ? char_ref(v, n, i, &o) : 0;
      if (used == 0) {
        *o++ = '&';
        used = 1;
      }
      i += used;
    } else if (c == '\r') {
      *o++ = '\n';
      i++;
      if (i < n && v[i] == '\n') i++;
    } else if (c == 0) {
      o = put_cp(o, 0xFFFD);
      i++;
    } else {
      uint32_t cp;
      size_t used = utf8_next((const unsigned char *)v + i, n - i, &cp);
      if (is_replaced_code_point(cp)) cp = 0xFFFD;
      if (cp == 0xFFFD) o = put_cp(o, 0xFFFD);
      else {
        memcpy(o, v + i, used);
        o += used;
      }
      i += used;
    }
  }
  *o = '\0';
  *out = buf;
  *outlen = (size_t)(o - buf);
  return 0;
}

static int is_html_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* A value as the gumbo path keeps it: decoded, then trimmed; *out NULL when nothing is left. */
static int value_trimmed(const span_t *sp, char **out) {
  const char *v = sp->v;
  size_t n = sp->n, i, start = 0, end;
  char *str;
  int err;

  *out = NULL;
  for (i = 0; i < n; i++)
    if (needs_decoding((unsigned char)v[i])) break;
  if (i < n) {
    err = decode(v, n, 1, 0, &str, &n);
    if (err != 0) return err;
    end = n;
    while (start < end && is_html_space(str[start])) start++;
    while (end > start && is_html_space(str[end - 1])) end--;
    if (start == end) {
      free(str);
      return 0;
    }
    if (start > 0) memmove(str, str + start, end - start);
    str[end - start] = '\0';
    *out = str;
    return 0;
  }
  end = n;
  while (start < end && is_html_space(v[start])) start++;
  while (end > start && is_html_space(v[end - 1])) end--;
  if (start == end) return 0;
  str = malloc(end - start + 1);
  if (str == NULL) return -ENOMEM;
  memcpy(str, v + start, end - start);
  str[end - start] = '\0';
  *out = str;
  return 0;
}

/* Takes ref (owned) into the output, or bails when the cap is reached. */
static int push(scan_t *s, char *ref) {
  if (s->max_links != 0 && s->out->n >= s->max_links) {
    free(ref);
    return bail(s, UVCRAWL__HTMLSCAN_CAP);
  }
  return uvcrawl__links_push_kind(s->out, ref, UVCRAWL__REF_REQUISITE); /* srcset's */
}

int uvcrawl__srcset_next(const char *s, size_t len, size_t *pos, const char **url,
                         size_t *url_len) {
  size_t p = *pos, start, end;

  while (p < len && (is_html_space(s[p]) || s[p] == ',')) p++;
  if (p >= len) {
    *pos = p;
    return 0;
  }
  start = p;
  while (p < len && !is_html_space(s[p])) p++;
  end = p;
  if (s[end - 1] == ',') {
    while (end > start && s[end - 1] == ',') end--;
  } else {
    /* The descriptors: up to a comma outside parentheses. */
    int parens = 0;
    for (; p < len; p++) {
      if (parens) {
        if (s[p] == ')') parens = 0;
      } else if (s[p] == '(') {
        parens = 1;
      } else if (s[p] == ',') {
        p++;
        break;
      }
    }
  }
  *pos = p;
  *url = s + start;
  *url_len = end - start;
  return 1;
}

static int push_srcset(scan_t *s, const span_t *sp) {
  char *v;
  const char *url;
  size_t n, pos = 0, ulen;
  int err = 0;

  if (!sp->set) return 0;
  err = decode(sp->v, sp->n, 1, 0, &v, &n);
  if (err != 0) return err;
  while (err == 0 && uvcrawl__srcset_next(v, n, &pos, &url, &ulen)) {
    char *ref = malloc(ulen + 1);
    if (ref == NULL) {
      err = -ENOMEM;
      break;
    }
    memcpy(ref, url, ulen);
    ref[ulen] = '\0';
    err = push(s, ref);
  }
  free(v);
  return err;
}

/* ---- tokenizing -------------------------------------------------------------------------- */

static int want_for(int id, int foreign);

/* Scans a tag from its name (p: the first letter after "<" or "</") to its '>', noting the
 * attributes want asks for. Returns the position after the '>', or NULL when the input ends
 * first (the tag is then dropped, as HTML does). */
static const char *scan_tag(scan_t *s, const char *p, int want, tag_t *t) {
  const char *end = s->end;
  int all = s->tag_cb != NULL;
  /* For tags whose attributes matter: the names so far. gumbo 0.10.1 keeps a duplicate name
   * that has no value in its buffer, so the next attribute's name gets it as a prefix; such
   * tags (and names it would compare differently: non-ASCII, NUL) are left to gumbo. */
  span_t seen[32];
  size_t nseen;
  int dup_pending, quirk = 0, valueless = 0;

  t->name = p;
  while (p < end && !(cls[(unsigned char)*p] & (C_WS | C_SLASH | C_GT))) p++;
  t->name_len = (size_t)(p - t->name);
  if (want < 0) { /* a start tag: its identity and what it needs */
    t->id = tag_id(t->name, t->name_len);
    want = s->tag_cb ? 0 : want_for(t->id, s->depth > 0);
  }
  t->self_closing = 0;
  t->nattrs = 0;
  t->font_attr = t->encoding_attr = t->unsure = 0;
  t->href.set = t->src.set = t->srcset.set = 0;
  t->style.set = t->poster.set = t->data.set = t->type.set = t->rel.set = 0;
  t->equiv.set = t->content.set = 0;
  nseen = 0;
  dup_pending = 0;

  for (;;) {
    const char *an, *av = NULL;
    size_t anl, avl = 0;
    int has_eq;
    char quote = 0;

    while (p < end && is_ws((unsigned char)*p)) p++;
    if (p >= end) return NULL;
    if (*p == '>') {
      t->gt = p;
      /* A tag that only wants style="" is unsure only when it has one. */
      t->unsure = quirk && ((want & ~WANT_STYLE) != 0 || t->style.set);
      return p + 1;
    }
    if (*p == '/') {
      p++;
      if (p < end && *p == '>') {
        t->self_closing = 1;
        t->gt = p;
        t->unsure = quirk && ((want & ~WANT_STYLE) != 0 || t->style.set);
        return p + 1;
      }
      continue;
    }
    /* Attribute name: the first character may be '=' (a parse error, part of the name). gumbo
     * drops a NUL there (it goes to its temporary buffer, not the name). */
    if (*p == '\0') {
      an = ++p;
    } else {
      an = p++;
    }
    while (p < end && !(cls[(unsigned char)*p] & (C_WS | C_SLASH | C_GT | C_EQ))) p++;
    anl = (size_t)(p - an);
    while (p < end && is_ws((unsigned char)*p)) p++;
    has_eq = 0;
    if (p < end && *p == '=') {
      has_eq = 1;
      p++;
      while (p < end && is_ws((unsigned char)*p)) p++;
      if (p >= end) return NULL;
      if (*p == '"' || *p == '\'') {
        const char *q = memchr(p + 1, *p, (size_t)(end - p - 1));
        if (q == NULL) return NULL;
        quote = *p;
        av = p + 1;
        avl = (size_t)(q - av);
        p = q + 1;
      } else if (*p != '>') {
        av = p;
        while (p < end && !(cls[(unsigned char)*p] & (C_WS | C_GT))) p++;
        avl = (size_t)(p - av);
      }
    }
    if (want == WANT_STYLE) {
      /* Most tags: only style="" matters, and only gumbo's duplicate-name quirk can rename
       * it, which needs a valueless attribute before it. */
      if (anl == 5 && !t->style.set && IEQ(an, anl, "style")) {
        if (valueless) quirk = 1;
        t->style.v = av != NULL ? av : "";
        t->style.n = avl;
        t->style.set = 1;
        t->style.quote = quote;
      }
      if (av == NULL && !has_eq) valueless = 1;
    } else if (want) {
      span_t *sp = NULL;
      size_t k;
      if (dup_pending || nseen == 32) quirk = 1;
      for (k = 0; k < anl; k++)
        if ((unsigned char)an[k] >= 0x80 || an[k] == '\0') quirk = 1;
      for (k = 0; k < nseen; k++)
        if (ieq2(an, anl, seen[k].v, seen[k].n)) break;
      if (k < nseen) {
        if (av == NULL && !has_eq) dup_pending = 1;
      } else if (nseen < 32) {
        seen[nseen].v = an;
        seen[nseen++].n = anl;
      }
      if (anl == 4 && (want & WANT_HREF) && IEQ(an, anl, "href")) sp = &t->href;
      else if (anl == 10 && (want & WANT_XLINK_HREF) && IEQ(an, anl, "xlink:href")) sp = &t->href;
      else if (anl == 3 && (want & WANT_SRC) && IEQ(an, anl, "src")) sp = &t->src;
      else if (anl == 6 && (want & WANT_SRCSET) && IEQ(an, anl, "srcset")) sp = &t->srcset;
      else if ((want & WANT_FONT) &&
               (IEQ(an, anl, "color") || IEQ(an, anl, "face") || IEQ(an, anl, "size")))
        t->font_attr = 1;
      else if ((want & WANT_ENCODING) && IEQ(an, anl, "encoding"))
        t->encoding_attr = 1;
      else if (anl == 5 && (want & WANT_STYLE) && IEQ(an, anl, "style")) sp = &t->style;
      else if (anl == 6 && (want & WANT_POSTER) && IEQ(an, anl, "poster")) sp = &t->poster;
      else if (anl == 4 && (want & WANT_DATA) && IEQ(an, anl, "data")) sp = &t->data;
      else if (anl == 4 && (want & WANT_TYPE) && IEQ(an, anl, "type")) sp = &t->type;
      else if (anl == 3 && (want & WANT_REL) && IEQ(an, anl, "rel")) sp = &t->rel;
      else if (anl == 10 && (want & WANT_META) && IEQ(an, anl, "http-equiv")) sp = &t->equiv;
      else if (anl == 7 && (want & WANT_META) && IEQ(an, anl, "content")) sp = &t->content;
      if (sp != NULL && !sp->set) {
        sp->v = av != NULL ? av : "";
        sp->n = avl;
        sp->set = 1;
        sp->quote = quote;
      }
    }
    if (all && t->nattrs < TOKENS_MAX_ATTRS) {
      t->an[t->nattrs].v = an;
      t->an[t->nattrs].n = anl;
      t->av[t->nattrs].v = av != NULL ? av : "";
      t->av[t->nattrs].n = avl;
      t->nattrs++;
    }
  }
}

/* After "<!--" at p: the position after the comment's end, or NULL at EOF. */
static const char *skip_comment(scan_t *s, const char *p) {
  const char *end = s->end;
  if (p < end && *p == '>') return p + 1;                          /* <!--> */
  if (end - p >= 2 && p[0] == '-' && p[1] == '>') return p + 2;   /* <!---> */
  for (;;) {
    const char *d = memchr(p, '-', (size_t)(end - p)), *e;
    if (d == NULL || d + 1 >= end) return NULL;
    if (d[1] != '-') {
      p = d + 1;
      continue;
    }
    e = d + 2;
    while (e < end && *e == '-') e++;
    if (e >= end) return NULL;
    if (*e == '>') return e + 1;
    if (*e == '!' && e + 1 < end && e[1] == '>') return e + 2;
    p = e;
  }
}

/* After "<!": a comment, CDATA (foreign content only), DOCTYPE or bogus comment. */
static const char *skip_markup_decl(scan_t *s, const char *p) {
  const char *end = s->end, *q;
  if (end - p >= 2 && p[0] == '-' && p[1] == '-') return skip_comment(s, p + 2);
  if (s->depth > 0 && end - p >= 7 && memcmp(p, "[CDATA[", 7) == 0) {
    q = memmem(p + 7, (size_t)(end - p - 7), "]]>", 3);
    return q != NULL ? q + 3 : NULL;
  }
  /* DOCTYPE and bogus comments both end at the first '>', quotes or not. */
  q = memchr(p, '>', (size_t)(end - p));
  return q != NULL ? q + 1 : NULL;
}

/* The end tag of a raw-text element, from its name: its attributes still need tokenizing
 * (a quoted value may hold '>'). Returns the position after it or NULL at EOF. */
static const char *skip_end_tag(scan_t *s, const char *p) {
  tag_t t;
  uvcrawl__htmlscan_tag_cb cb = s->tag_cb;
  const char *q;
  s->tag_cb = NULL; /* not in tokens mode: never records attributes into t */
  q = scan_tag(s, p, 0, &t);
  s->tag_cb = cb;
  return q;
}

/* At p just after "</": is this the end tag of the raw-text element name? */
static int is_end_of(const scan_t *s, const char *p, const char *name, size_t n) {
  if ((size_t)(s->end - p) <= n) return 0;
  if (!ieq(p, n, name, n)) return 0;
  return is_ws((unsigned char)p[n]) || p[n] == '/' || p[n] == '>';
}

/* RCDATA and RAWTEXT: up to the end tag of name. Returns the position after it or NULL.
 * *text_end (may be NULL) gets where the text ends: the end tag's '<', or the input's end. */
static const char *skip_raw_text(scan_t *s, const char *p, const char *name, size_t n,
                                 const char **text_end) {
  const char *end = s->end;
  for (;;) {
    const char *q = memchr(p, '<', (size_t)(end - p));
    if (q == NULL) {
      if (text_end != NULL) *text_end = end;
      return NULL;
    }
    p = q + 1;
    if (p < end && *p == '/' && is_end_of(s, p + 1, name, n)) {
      if (text_end != NULL) *text_end = q;
      return skip_end_tag(s, p + 1);
    }
  }
}

static const char *skip_raw(scan_t *s, const char *p, const char *name, size_t n) {
  return skip_raw_text(s, p, name, n, NULL);
}

/* Script data with its escaped ("<!--") and double-escaped ("<!--<script>") states, up to the
 * end tag. Returns the position after the end tag, or NULL at EOF. */
static const char *skip_script(scan_t *s, const char *p) {
  enum { DATA, ESC, ESC_DASH, ESC_DASH_DASH, DBL, DBL_DASH, DBL_DASH_DASH } st = DATA;
  const char *end = s->end;

  while (p < end) {
    unsigned char c;
    if (st == DATA) {
      const char *q = memchr(p, '<', (size_t)(end - p));
      if (q == NULL) return NULL;
      p = q + 1;
      if (p >= end) return NULL;
      if (*p == '/') {
        if (is_end_of(s, p + 1, "script", 6)) return skip_end_tag(s, p + 1);
      } else if (end - p >= 3 && p[0] == '!' && p[1] == '-' && p[2] == '-') {
        p += 3;
        st = ESC_DASH_DASH;
      }
      continue;
    }
    c = (unsigned char)*p;
    if (st == ESC || st == ESC_DASH || st == ESC_DASH_DASH) {
      if (c == '-') {
        st = st == ESC ? ESC_DASH : ESC_DASH_DASH;
        p++;
      } else if (c == '<') {
        p++;
        if (p >= end) return NULL;
        if (*p == '/') {
          if (is_end_of(s, p + 1, "script", 6)) return skip_end_tag(s, p + 1);
          st = ESC;
        } else if (is_alpha((unsigned char)*p)) {
          /* Double escape start: a letter run; "script" then a delimiter goes double-escaped. */
          const char *w = p;
          while (p < end && is_alpha((unsigned char)*p)) p++;
          if (p >= end) return NULL;
          if (is_ws((unsigned char)*p) || *p == '/' || *p == '>') {
            st = IEQ(w, (size_t)(p - w), "script") ? DBL : ESC;
            p++;
          } else {
            st = ESC;
          }
        } else {
          st = ESC;
        }
      } else if (c == '>' && st == ESC_DASH_DASH) {
        st = DATA;
        p++;
      } else {
        st = ESC;
        p++;
      }
    } else { /* double escaped */
      if (c == '-') {
        st = st == DBL ? DBL_DASH : DBL_DASH_DASH;
        p++;
      } else if (c == '<') {
        p++;
        if (p < end && *p == '/') {
          /* Double escape end: "</script" then a delimiter goes back to escaped. */
          const char *w = ++p;
          while (p < end && is_alpha((unsigned char)*p)) p++;
          if (p >= end) return NULL;
          if (is_ws((unsigned char)*p) || *p == '/' || *p == '>') {
            st = IEQ(w, (size_t)(p - w), "script") ? ESC : DBL;
            p++;
          } else {
            st = DBL;
          }
        } else {
          st = DBL;
        }
      } else if (c == '>' && st == DBL_DASH_DASH) {
        st = DATA;
        p++;
      } else {
        st = DBL;
        p++;
      }
    }
  }
  return NULL;
}

/* ---- the tree-builder simulation --------------------------------------------------------- */

static int want_for(int id, int foreign) {
  switch (id) {
    case TAG_A: case TAG_AREA:
      return WANT_STYLE | WANT_HREF | (foreign ? WANT_XLINK_HREF : 0);
    case TAG_LINK:
      return WANT_STYLE | WANT_HREF | WANT_REL | (foreign ? WANT_XLINK_HREF : 0);
    case TAG_BASE: return WANT_STYLE | (foreign ? 0 : WANT_HREF);
    case TAG_IMG: case TAG_IMAGE: case TAG_SOURCE: return WANT_STYLE | WANT_SRC | WANT_SRCSET;
    case TAG_SCRIPT: case TAG_IFRAME: case TAG_EMBED: return WANT_STYLE | WANT_SRC;
    case TAG_FONT: return WANT_STYLE | (foreign ? WANT_FONT : 0);
    case TAG_ANNOTATION_XML: return WANT_STYLE | (foreign ? WANT_ENCODING : 0);
    case TAG_VIDEO: return WANT_STYLE | (foreign ? 0 : WANT_SRC | WANT_POSTER);
    case TAG_AUDIO: case TAG_TRACK: return WANT_STYLE | (foreign ? 0 : WANT_SRC);
    case TAG_OBJECT: return WANT_STYLE | (foreign ? 0 : WANT_DATA);
    case TAG_INPUT: return WANT_STYLE | (foreign ? 0 : WANT_SRC | WANT_TYPE);
    case TAG_META: return WANT_STYLE | WANT_META; /* a breakout tag: HTML wherever it is */
    default: return WANT_STYLE;
  }
}

static int push_foreign(scan_t *s, const tag_t *t, int ns) {
  fnode_t *f;
  size_t i;
  if (s->depth >= FOREIGN_MAX_DEPTH) return bail(s, UVCRAWL__HTMLSCAN_FOREIGN_DEPTH);
  if (t->name_len >= FOREIGN_NAME_MAX) return bail(s, UVCRAWL__HTMLSCAN_FOREIGN_NAME);
  f = &s->fstack[s->depth];
  for (i = 0; i < t->name_len; i++) {
    /* gumbo matches end tags on the source name cut at isspace(): \v would cut it short. */
    if (t->name[i] == '\v') return bail(s, UVCRAWL__HTMLSCAN_FOREIGN_NAME);
    f->name[i] = (char)lower((unsigned char)t->name[i]);
  }
  f->len = (unsigned char)t->name_len;
  f->ns = (unsigned char)ns;
  f->kind = KIND_PLAIN;
  if (ns == NS_SVG && (t->id == TAG_FOREIGNOBJECT || t->id == TAG_DESC || t->id == TAG_TITLE))
    f->kind = KIND_HTML_IP;
  if (ns == NS_MATH && (t->id == TAG_MI || t->id == TAG_MO || t->id == TAG_MN ||
                        t->id == TAG_MS || t->id == TAG_MTEXT))
    f->kind = KIND_MATH_TEXT_IP;
  if (ns == NS_MATH && t->id == TAG_ANNOTATION_XML) {
    if (t->encoding_attr) return bail(s, UVCRAWL__HTMLSCAN_ANNOTATION);
    f->kind = KIND_ANNOTATION;
  }
  s->depth++;
  return 0;
}

/* Span mode: where a value is, for the converter. */
static int report_span(scan_t *s, int what, const span_t *sp) {
  uvcrawl__htmlspan_t out;
  if (!sp->set || sp->v == NULL || sp->n == 0) return 0;
  out.what = what;
  out.start = (size_t)(sp->v - s->doc);
  out.len = sp->n;
  out.quote = sp->quote;
  return s->span_cb(s->span_arg, &out);
}

/* A decoded attribute value for a test against a keyword (type, rel, http-equiv). *out is
 * NULL when the value could not be had (a bail-out value); the caller frees it. */
static int decoded(const span_t *sp, char **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (!sp->set) return 0;
  return decode(sp->v, sp->n, 1, 0, out, n);
}

/* CSS (a decoded value or <style> text) as requisites. */
static int push_css(scan_t *s, const char *css, size_t n) {
  int full = 0, err = uvcrawl__links_add_css(s->out, css, n, s->max_links, &full);
  if (err != 0) return err;
  return full ? bail(s, UVCRAWL__HTMLSCAN_CAP) : 0;
}

/* The CSS of a style attribute. */
static int take_style_attr(scan_t *s, const tag_t *t) {
  char *v;
  size_t n;
  int err;
  if (!t->style.set) return 0;
  if (s->span_cb != NULL) return report_span(s, UVCRAWL__SPAN_STYLE_ATTR, &t->style);
  err = decoded(&t->style, &v, &n);
  if (err != 0 || v == NULL) return err;
  err = push_css(s, v, n);
  free(v);
  return err;
}

/* style="" of an element tree building keeps. A few tags are dropped or only add attributes
 * to an element that exists; where that needs the tree, gumbo decides. */
static int take_style(scan_t *s, const tag_t *t, int foreign) {
  if (!t->style.set) return 0;
  if (s->span_cb == NULL && !foreign) { /* in svg/math every tag is an element */
    switch (t->id) {
      case TAG_HTML: case TAG_BODY: {
        int *seen = t->id == TAG_HTML ? &s->html_style : &s->body_style;
        if (s->template_depth > 0) return bail(s, UVCRAWL__HTMLSCAN_STYLE);
        if (*seen) return 0; /* the element has its style already */
        *seen = 1;
        break;
      }
      case TAG_HEAD: case TAG_ISINDEX: return bail(s, UVCRAWL__HTMLSCAN_STYLE);
      case TAG_FRAME: return 0;
      case TAG_CAPTION: case TAG_COLGROUP: case TAG_COL: case TAG_TBODY: case TAG_TFOOT:
      case TAG_THEAD: case TAG_TR: case TAG_TD: case TAG_TH:
        if (s->table_nested) return bail(s, UVCRAWL__HTMLSCAN_STYLE);
        if (s->table_open == 0) return 0; /* dropped outside a table */
        break;
      case TAG_FORM:
        /* gumbo's form element pointer: a form in a form is dropped; templates change it */
        if (s->template_depth > 0) return bail(s, UVCRAWL__HTMLSCAN_STYLE);
        if (s->form_open) return 0;
        break;
      default: break;
    }
  }
  return take_style_attr(s, t);
}

/* A start tag's plain value of this kind. */
static int take_value(scan_t *s, const span_t *sp, int kind) {
  char *v;
  int err;
  if (!sp->set) return 0;
  if (s->span_cb != NULL) return report_span(s, UVCRAWL__SPAN_URL, sp);
  err = value_trimmed(sp, &v);
  if (err != 0 || v == NULL) return err;
  if (s->max_links != 0 && s->out->n >= s->max_links) {
    free(v);
    return bail(s, UVCRAWL__HTMLSCAN_CAP);
  }
  return uvcrawl__links_push_kind(s->out, v, kind);
}

static int take_srcset(scan_t *s, const span_t *sp) {
  if (s->span_cb != NULL) return report_span(s, UVCRAWL__SPAN_SRCSET, sp);
  return push_srcset(s, sp);
}

/* The HTML-only kinds: input type=image and meta refresh need another attribute's value. */
static int take_keyed(scan_t *s, const tag_t *t) {
  char *v;
  size_t n;
  int err, yes;
  if (t->id == TAG_INPUT) {
    if (!t->src.set || !t->type.set) return 0;
    err = decoded(&t->type, &v, &n);
    if (err != 0 || v == NULL) return err;
    yes = uvcrawl__html_is_image_type(v, n);
    free(v);
    return yes ? take_value(s, &t->src, UVCRAWL__REF_REQUISITE) : 0;
  }
  /* <meta http-equiv=refresh content="N; url=..."> */
  if (!t->content.set || !t->equiv.set) return 0;
  err = decoded(&t->equiv, &v, &n);
  if (err != 0 || v == NULL) return err;
  yes = uvcrawl__html_is_refresh(v, n);
  free(v);
  if (!yes) return 0;
  if (s->span_cb != NULL) return report_span(s, UVCRAWL__SPAN_REFRESH, &t->content);
  err = decoded(&t->content, &v, &n);
  if (err != 0 || v == NULL) return err;
  {
    size_t start, len;
    char *ref;
    if (!uvcrawl__refresh_url(v, n, &start, &len)) {
      free(v);
      return 0;
    }
    if (s->max_links != 0 && s->out->n >= s->max_links) {
      free(v);
      return bail(s, UVCRAWL__HTMLSCAN_CAP);
    }
    ref = malloc(len + 1);
    if (ref == NULL) {
      free(v);
      return -ENOMEM;
    }
    memcpy(ref, v + start, len);
    ref[len] = '\0';
    free(v);
    return uvcrawl__links_push_kind(s->out, ref, UVCRAWL__REF_LINK);
  }
}

/* The links a start tag gives where it lands. */
static int take_links(scan_t *s, const tag_t *t, int foreign) {
  int err, kind;
  switch (t->id) {
    case TAG_A: case TAG_AREA:
      return take_value(s, &t->href, UVCRAWL__REF_LINK);
    case TAG_LINK:
      kind = UVCRAWL__REF_LINK;
      if (t->rel.set && t->href.set && s->span_cb == NULL) {
        char *v;
        size_t n;
        err = decoded(&t->rel, &v, &n);
        if (err != 0) return err;
        if (v != NULL && uvcrawl__html_rel_is_requisite(v, n)) kind = UVCRAWL__REF_REQUISITE;
        free(v);
      }
      return take_value(s, &t->href, kind);
    case TAG_BASE:
      /* The first HTML <base href> outside <template> is the document's base. */
      if (foreign || s->base_seen || s->template_depth > 0 || !t->href.set) return 0;
      if (s->table_seen && s->span_cb == NULL) return bail(s, UVCRAWL__HTMLSCAN_BASE_TABLE);
      s->base_seen = 1;
      if (s->span_cb != NULL) return report_span(s, UVCRAWL__SPAN_BASE, &t->href);
      return value_trimmed(&t->href, &s->out->base);
    case TAG_IMG: case TAG_IMAGE: case TAG_SOURCE:
      if (t->id == TAG_IMAGE && foreign) return 0;
      err = take_value(s, &t->src, UVCRAWL__REF_REQUISITE);
      return err != 0 ? err : take_srcset(s, &t->srcset);
    case TAG_SCRIPT: case TAG_IFRAME: case TAG_EMBED:
      return take_value(s, &t->src, UVCRAWL__REF_REQUISITE);
    default:
      break;
  }
  if (foreign) return 0;
  switch (t->id) {
    case TAG_VIDEO:
      err = take_value(s, &t->src, UVCRAWL__REF_REQUISITE);
      return err != 0 ? err : take_value(s, &t->poster, UVCRAWL__REF_REQUISITE);
    case TAG_AUDIO: case TAG_TRACK:
      return take_value(s, &t->src, UVCRAWL__REF_REQUISITE);
    case TAG_OBJECT:
      return take_value(s, &t->data, UVCRAWL__REF_REQUISITE);
    case TAG_INPUT: case TAG_META:
      return take_keyed(s, t);
    default:
      return 0;
  }
}

/* The text of a <style> element from p (after its start tag): its CSS. *p moves past it. */
static int take_style_text(scan_t *s, const char **p) {
  const char *text = *p, *text_end;
  *p = skip_raw_text(s, *p, "style", 5, &text_end);
  if (text_end > text) {
    if (s->span_cb != NULL) {
      span_t sp = {text, (size_t)(text_end - text), 1, 0};
      int err = report_span(s, UVCRAWL__SPAN_STYLE, &sp);
      if (err != 0) return err;
    } else {
      char *v;
      size_t n;
      /* gumbo's input stream: NUL, CR and bad UTF-8 as in attribute values, no references. */
      int err = decode(text, (size_t)(text_end - text), 0, 0, &v, &n);
      if (err != 0) return err;
      err = push_css(s, v, n);
      free(v);
      if (err != 0) return err;
    }
  }
  return *p == NULL ? R_STOP : 0;
}

/* A start tag in HTML content; *p is after its '>' and moves past raw text it opens. */
static int is_table_part(int id) {
  switch (id) {
    case TAG_CAPTION: case TAG_TABLE: case TAG_TBODY: case TAG_TFOOT: case TAG_THEAD:
    case TAG_TR: case TAG_TD: case TAG_TH:
      return 1;
    default:
      return 0;
  }
}

static int html_start_tag(scan_t *s, const tag_t *t, const char **p) {
  int err;
  if (s->in_select) {
    /* Tree building drops every start tag in a select but these (gumbo's "in select"). */
    switch (t->id) {
      case TAG_SELECT: s->in_select = 0; return 0; /* acts as </select> */
      case TAG_INPUT: case TAG_KEYGEN: case TAG_TEXTAREA: s->in_select = 0; break;
      case TAG_SCRIPT: break;
      case TAG_OPTION: case TAG_OPTGROUP:
      case TAG_HTML: /* in-body rules: its attributes go to the html element */
        return take_style(s, t, 0);
      case TAG_TEMPLATE: return bail(s, UVCRAWL__HTMLSCAN_SELECT);
      default:
        /* "in select in table" closes the select at a table part: which mode is on needs the
         * tree. */
        if (s->table_seen && is_table_part(t->id)) return bail(s, UVCRAWL__HTMLSCAN_SELECT);
        return 0;
    }
  }
  if (t->id != TAG_FRAMESET && (err = take_style(s, t, 0)) != 0) return err;
  switch (t->id) {
    case TAG_SELECT:
      if (s->template_depth > 0) return bail(s, UVCRAWL__HTMLSCAN_SELECT);
      s->in_select = s->span_cb == NULL; /* span mode: what the tree drops is converted too */
      return 0;
    case TAG_FRAMESET: return bail(s, UVCRAWL__HTMLSCAN_FRAMESET);
    case TAG_CAPTION: case TAG_COLGROUP: case TAG_COL: case TAG_TBODY: case TAG_TFOOT:
    case TAG_THEAD: case TAG_TR: case TAG_TD: case TAG_TH:
      if (s->template_depth > 0) return bail(s, UVCRAWL__HTMLSCAN_TEMPLATE_TABLE);
      return 0;
    case TAG_TABLE:
      s->table_seen = 1;
      if (s->table_open++ > 0) s->table_nested = 1;
      return 0;
    case TAG_FORM:
      if (s->template_depth == 0) s->form_open = 1;
      return 0;
    case TAG_TEMPLATE: s->template_depth++; return 0;
    case TAG_SVG: return t->self_closing ? 0 : push_foreign(s, t, NS_SVG);
    case TAG_MATH: return t->self_closing ? 0 : push_foreign(s, t, NS_MATH);
    default: break;
  }
  err = take_links(s, t, 0);
  if (err != 0) return err;
  switch (t->id) {
    case TAG_TITLE: *p = skip_raw(s, *p, "title", 5); break;
    case TAG_TEXTAREA: *p = skip_raw(s, *p, "textarea", 8); break;
    case TAG_STYLE: return take_style_text(s, p);
    case TAG_XMP: *p = skip_raw(s, *p, "xmp", 3); break;
    case TAG_IFRAME: *p = skip_raw(s, *p, "iframe", 6); break;
    case TAG_NOEMBED: *p = skip_raw(s, *p, "noembed", 7); break;
    case TAG_NOFRAMES: *p = skip_raw(s, *p, "noframes", 8); break;
    case TAG_SCRIPT: *p = skip_script(s, *p); break;
    case TAG_PLAINTEXT: return R_STOP;
    default: return 0;
  }
  return *p == NULL ? R_STOP : 0;
}

static int is_breakout(const tag_t *t) {
  switch (t->id) {
    case TAG_BREAKOUT: case TAG_IMG: case TAG_EMBED: case TAG_TABLE: case TAG_META:
    case TAG_BODY: case TAG_HEAD:
      return 1;
    case TAG_FONT: return t->font_attr;
    default: return 0;
  }
}

static int start_tag(scan_t *s, const tag_t *t, const char **p) {
  const fnode_t *top;
  if (s->depth == 0) return html_start_tag(s, t, p);
  top = &s->fstack[s->depth - 1];
  /* Where tree building treats a start tag as HTML inside foreign content, HTML elements
   * nest in svg/math: that needs the whole tree. */
  if (top->kind == KIND_HTML_IP ||
      (top->kind == KIND_MATH_TEXT_IP && t->id != TAG_MGLYPH && t->id != TAG_MALIGNMARK)) {
    if (s->span_cb != NULL) return html_start_tag(s, t, p); /* HTML there, near enough */
    return bail(s, UVCRAWL__HTMLSCAN_INTEGRATION);
  }
  if (top->kind == KIND_ANNOTATION && t->id == TAG_SVG) {
    int err = take_style(s, t, 1);
    if (err != 0) return err;
    return t->self_closing ? 0 : push_foreign(s, t, NS_SVG);
  }
  if (is_breakout(t)) {
    /* Pops foreign elements up to HTML content or an integration point, then reprocesses. */
    do {
      s->depth--;
    } while (s->depth > 0 && s->fstack[s->depth - 1].kind != KIND_HTML_IP &&
             s->fstack[s->depth - 1].kind != KIND_MATH_TEXT_IP);
    if (s->depth > 0 && s->span_cb == NULL) return bail(s, UVCRAWL__HTMLSCAN_INTEGRATION);
    return html_start_tag(s, t, p);
  }
  {
    int err = take_links(s, t, 1);
    if (err == 0) err = take_style(s, t, 1);
    if (err != 0) return err;
  }
  return t->self_closing ? 0 : push_foreign(s, t, top->ns);
}

static int end_tag(scan_t *s, const tag_t *t) {
  size_t i;
  if (s->depth == 0) {
    if (s->in_select) {
      if (t->id == TAG_SELECT) s->in_select = 0;
      else if (t->id == TAG_TEMPLATE || (s->table_seen && is_table_part(t->id)))
        return bail(s, UVCRAWL__HTMLSCAN_SELECT);
      return 0;
    }
    if (t->id == TAG_TEMPLATE && s->template_depth > 0) s->template_depth--;
    if (t->id == TAG_TABLE && s->table_open > 0) s->table_open--;
    if (t->id == TAG_FORM && s->template_depth == 0) s->form_open = 0;
    return 0;
  }
  /* gumbo compares the whole source text between "</" and ">" with the open elements' names,
   * up to the nearest HTML element; anything else is an HTML end tag inside foreign content. */
  if ((size_t)(t->gt - t->name) == t->name_len) {
    for (i = s->depth; i-- > 0;) {
      const fnode_t *f = &s->fstack[i];
      if (ieq(t->name, t->name_len, f->name, f->len)) {
        s->depth = i;
        return 0;
      }
    }
  }
  if (s->span_cb != NULL) { /* out of foreign content, near enough */
    s->depth = 0;
    return 0;
  }
  return bail(s, UVCRAWL__HTMLSCAN_FOREIGN_END);
}

/* Tokens mode: decode the tag and its attributes for the callback. */
static int report_tag(scan_t *s, const tag_t *t) {
  uvcrawl__htmlscan_attr_t attrs[TOKENS_MAX_ATTRS];
  char *name = NULL;
  size_t n, i, j, kept = 0;
  int err = decode(t->name, t->name_len, 0, 1, &name, &n);

  for (i = 0; err == 0 && i < t->nattrs; i++) {
    char *an, *av;
    err = decode(t->an[i].v, t->an[i].n, 0, 1, &an, &n);
    if (err != 0) break;
    for (j = 0; j < kept; j++)
      if (strcmp(attrs[j].name, an) == 0) break;
    if (j < kept) { /* a duplicate: the first one stays */
      free(an);
      continue;
    }
    err = decode(t->av[i].v, t->av[i].n, 1, 0, &av, &n);
    if (err != 0) {
      free(an);
      break;
    }
    attrs[kept].name = an;
    attrs[kept].value = av;
    kept++;
  }
  if (err == 0) err = s->tag_cb(s->arg, name, t->self_closing, attrs, kept);
  for (j = 0; j < kept; j++) {
    free((char *)attrs[j].name);
    free((char *)attrs[j].value);
  }
  free(name);
  return err;
}

static int run(scan_t *s, const char *p) {
  const char *end = s->end;
  tag_t *t = malloc(sizeof(*t)); /* one per scan: it is large in tokens mode */
  int err = 0;

  if (t == NULL) return -ENOMEM;
  while (err == 0 && p < end) {
    const char *lt = memchr(p, '<', (size_t)(end - p));
    unsigned char c;
    if (lt == NULL) break;
    p = lt + 1;
    if (p >= end) break;
    c = (unsigned char)*p;
    if (is_alpha(c)) {
      p = scan_tag(s, p, -1, t);
      if (p == NULL) break;
      if (t->unsure && !s->tag_cb && !s->span_cb) {
        err = bail(s, UVCRAWL__HTMLSCAN_ATTRS);
      } else if (s->tag_cb) {
        err = report_tag(s, t);
        if (err != 0) s->cb_ret = err;
      } else {
        err = start_tag(s, t, &p);
      }
    } else if (c == '/') {
      p++;
      if (p >= end) break;
      if (is_alpha((unsigned char)*p)) {
        p = scan_tag(s, p, 0, t);
        if (p == NULL) break;
        t->id = tag_id(t->name, t->name_len);
        if (!s->tag_cb) err = end_tag(s, t);
      } else if (*p == '>') {
        p++;
      } else {
        p = memchr(p, '>', (size_t)(end - p)); /* bogus comment */
        if (p == NULL) break;
        p++;
      }
    } else if (c == '!') {
      p = skip_markup_decl(s, p + 1);
      if (p == NULL) break;
    } else if (c == '?') {
      p = memchr(p, '>', (size_t)(end - p));
      if (p == NULL) break;
      p++;
    }
  }
  free(t);
  return err == R_STOP ? 0 : err;
}

int uvcrawl__htmlscan(const char *html, size_t len, size_t max_links, uvcrawl__links_t *out,
                      int *reason) {
  scan_t *s = malloc(sizeof(*s));
  int err;

  if (reason != NULL) *reason = UVCRAWL__HTMLSCAN_NONE;
  if (s == NULL) return -ENOMEM;
  memset(s, 0, offsetof(scan_t, fstack));
  s->end = (html != NULL ? html : "") + (html != NULL ? len : 0);
  s->out = out;
  s->max_links = max_links;
  err = run(s, html != NULL ? html : "");
  if (reason != NULL) *reason = err == R_BAIL ? s->reason : UVCRAWL__HTMLSCAN_NONE;
  free(s);
  if (err != 0) uvcrawl__links_free(out);
  return err;
}

int uvcrawl__htmlscan_tokens(const char *html, size_t len, uvcrawl__htmlscan_tag_cb cb,
                             void *arg) {
  scan_t *s = malloc(sizeof(*s));
  int err;

  if (s == NULL) return -ENOMEM;
  memset(s, 0, offsetof(scan_t, fstack));
  s->end = (html != NULL ? html : "") + (html != NULL ? len : 0);
  s->tag_cb = cb;
  s->arg = arg;
  err = run(s, html != NULL ? html : "");
  if (s->cb_ret != 0) err = s->cb_ret;
  free(s);
  return err;
}

int uvcrawl__htmlscan_spans(const char *html, size_t len, uvcrawl__htmlspan_cb cb, void *arg) {
  scan_t *s = malloc(sizeof(*s));
  uvcrawl__links_t none;
  int err;

  if (s == NULL) return -ENOMEM;
  memset(s, 0, offsetof(scan_t, fstack));
  memset(&none, 0, sizeof(none));
  s->doc = html != NULL ? html : "";
  s->end = s->doc + (html != NULL ? len : 0);
  s->out = &none;
  s->span_cb = cb;
  s->span_arg = arg;
  err = run(s, s->doc);
  uvcrawl__links_free(&none);
  free(s);
  return err == R_BAIL ? 0 : err;
}

int uvcrawl__html_decode(const char *v, size_t n, char **out, size_t *outlen) {
  return decode(v, n, 1, 0, out, outlen);
}

static int ascii_ieq(const char *a, size_t n, const char *lit) {
  size_t m = strlen(lit);
  return n == m && ieq(a, n, lit, m);
}

int uvcrawl__html_is_image_type(const char *v, size_t n) { return ascii_ieq(v, n, "image"); }

int uvcrawl__html_is_refresh(const char *v, size_t n) { return ascii_ieq(v, n, "refresh"); }

int uvcrawl__html_rel_is_requisite(const char *v, size_t n) {
  static const char *const kinds[] = {"stylesheet", "icon", "apple-touch-icon",
                                      "apple-touch-icon-precomposed", "manifest", "preload",
                                      "modulepreload"};
  size_t i = 0;
  while (i < n) {
    size_t j;
    while (i < n && is_html_space(v[i])) i++;
    j = i;
    while (j < n && !is_html_space(v[j])) j++;
    for (size_t k = 0; j > i && k < sizeof(kinds) / sizeof(kinds[0]); k++)
      if (ascii_ieq(v + i, j - i, kinds[k])) return 1;
    i = j;
  }
  return 0;
}

/* HTML's "shared declarative refresh steps", reduced to finding the URL. */
int uvcrawl__refresh_url(const char *v, size_t n, size_t *start, size_t *len) {
  size_t i = 0, e;
  char quote = 0;
  while (i < n && is_html_space(v[i])) i++;
  if (i == n || !((v[i] >= '0' && v[i] <= '9') || v[i] == '.')) return 0;
  while (i < n && ((v[i] >= '0' && v[i] <= '9') || v[i] == '.')) i++;
  if (i < n && !is_html_space(v[i]) && v[i] != ';' && v[i] != ',') return 0;
  while (i < n && is_html_space(v[i])) i++;
  if (i < n && (v[i] == ';' || v[i] == ',')) i++;
  while (i < n && is_html_space(v[i])) i++;
  if (i == n) return 0;
  if (n - i >= 3 && ieq(v + i, 3, "url", 3)) {
    size_t j = i + 3;
    while (j < n && is_html_space(v[j])) j++;
    if (j < n && v[j] == '=') {
      j++;
      while (j < n && is_html_space(v[j])) j++;
      i = j;
    }
  }
  if (i < n && (v[i] == '"' || v[i] == '\'')) quote = v[i++];
  e = i;
  while (e < n && v[e] != quote) e++;
  if (quote == 0)
    while (e > i && is_html_space(v[e - 1])) e--;
  if (e == i) return 0;
  *start = i;
  *len = e - i;
  return 1;
}
