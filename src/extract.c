/* Link extraction from HTML: the fast scanner (htmlscan.c) first, gumbo where it bails out or
 * when asked for; gumbo is the reference both are held to (tests/fuzz/fuzz-diff.c).
 *
 * Pure and thread-safe: bytes in, attribute values out, no I/O and no shared state (gumbo
 * keeps its state in the parse output), so thread-pool workers may call it concurrently. */
#include "extract.h"

#include <errno.h>
#include <gumbo.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "css.h"
#include "dynbuf.h"
#include "htmlscan.h"
#include "uvcrawl.h"

#define REFS_INITIAL_CAP 16
#define STACK_INITIAL_CAP 64

/* gumbo 0.10.1 parses iteratively but gumbo_destroy_output() recurses once per tree level:
 * ~400,000 nested elements overflow an 8 MiB stack (the size of libuv's pool threads). So every
 * block gumbo allocates is threaded on a list through this header and the whole list is freed
 * in one loop instead; the union keeps the payload aligned like malloc's. */
typedef union block_u {
  struct {
    union block_u *prev, *next;
  } link;
  max_align_t align;
} block_t;

/* One level of the explicit walk: the children of an element and the next one to visit. */
typedef struct {
  const GumboVector *children;
  unsigned int next;
  int in_template; /* template contents are not in the document: their <base> does not count */
} frame_t;

typedef struct {
  uvcrawl__links_t *out;
  size_t max_links;
  int base_seen; /* the first <base> with an href decides, even when its value is empty */
} walk_t;

/* One parse's arena: the list of every live block, and where to go when malloc fails. */
typedef struct {
  block_t head;
  jmp_buf oom;
} heap_t;

/* gumbo's allocator: malloc plus a link on the parse's own list (userdata), so no state is
 * shared between threads. gumbo does not check for NULL (it would crash): a failed malloc
 * jumps out of gumbo back to uvcrawl__extract_links_gumbo(), which frees the whole arena.
 * gumbo keeps no state outside the blocks it allocated and its own stack frames. */
static void *heap_alloc(void *userdata, size_t size) {
  heap_t *heap = userdata;
  block_t *head = &heap->head, *b;
  if (size > SIZE_MAX - sizeof(*b)) longjmp(heap->oom, 1);
  b = malloc(sizeof(*b) + size);
  if (b == NULL) longjmp(heap->oom, 1);
  b->link.prev = head;
  b->link.next = head->link.next;
  head->link.next->link.prev = b;
  head->link.next = b;
  return b + 1;
}

/* gumbo frees temporaries while parsing; unlink them so the list only holds live blocks. */
static void heap_free(void *userdata, void *ptr) {
  block_t *b;
  (void)userdata;
  if (ptr == NULL) return;
  b = (block_t *)ptr - 1;
  b->link.prev->link.next = b->link.next;
  b->link.next->link.prev = b->link.prev;
  free(b);
}

/* Frees everything gumbo still holds (the whole parse output), iteratively. */
static void heap_free_all(block_t *head) {
  block_t *b = head->link.next;
  while (b != head) {
    block_t *next = b->link.next;
    free(b);
    b = next;
  }
  head->link.prev = head->link.next = head;
}

/* HTML's "ASCII whitespace": what browsers strip around a URL attribute. */
static int is_html_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* Copies value without its surrounding ASCII whitespace. value is borrowed (gumbo memory).
 * On success *out is a malloc'd string the caller owns, or NULL when nothing is left.
 * Returns 0 or -ENOMEM. */
static int dup_trimmed(const char *value, char **out) {
  size_t start = 0, end = strlen(value);
  char *s;

  *out = NULL;
  while (start < end && is_html_space(value[start])) start++;
  while (end > start && is_html_space(value[end - 1])) end--;
  if (start == end) return 0;
  s = malloc(end - start + 1);
  if (s == NULL) return -ENOMEM;
  memcpy(s, value + start, end - start);
  s[end - start] = '\0';
  *out = s;
  return 0;
}

/* Appends ref to out->refs (and its kind to out->kinds), doubling the arrays as needed.
 * Ownership of ref passes to out on success; on failure ref is freed here. Returns 0 or
 * -ENOMEM. */
int uvcrawl__links_push_kind(uvcrawl__links_t *out, char *ref, int kind) {
  if (out->n == out->cap) {
    size_t rcap = out->cap, kcap = out->cap; /* one cap for both: set once both grew */
    if (uvcrawl__array_grow((void **)&out->refs, &rcap, out->n + 1, sizeof(*out->refs),
                            REFS_INITIAL_CAP) != 0 ||
        uvcrawl__array_grow((void **)&out->kinds, &kcap, out->n + 1, sizeof(*out->kinds),
                            REFS_INITIAL_CAP) != 0) {
      free(ref);
      return -ENOMEM;
    }
    out->cap = rcap;
  }
  out->kinds[out->n] = (unsigned char)kind;
  out->refs[out->n++] = ref;
  return 0;
}

int uvcrawl__links_push(uvcrawl__links_t *out, char *ref) {
  return uvcrawl__links_push_kind(out, ref, UVCRAWL__REF_LINK);
}

typedef struct {
  uvcrawl__links_t *out;
  size_t max_links;
  int full;
} css_add_t;

static int css_add_cb(void *arg, const char *url, size_t len) {
  css_add_t *a = arg;
  char *ref;
  if (a->max_links != 0 && a->out->n >= a->max_links) {
    a->full = 1;
    return 1;
  }
  ref = malloc(len + 1);
  if (ref == NULL) return -ENOMEM;
  memcpy(ref, url, len + 1);
  return uvcrawl__links_push_kind(a->out, ref, UVCRAWL__REF_REQUISITE);
}

int uvcrawl__links_add_css(uvcrawl__links_t *out, const char *css, size_t len, size_t max_links,
                           int *full) {
  css_add_t a = {out, max_links, 0};
  int err = uvcrawl__css_scan(css, len, css_add_cb, &a);
  if (full != NULL) *full = a.full;
  if (err == 1) err = 0; /* the cap stopped it */
  return err == -ENOMEM || err == -ENOMEM ? -ENOMEM : err;
}

/* Which attribute of this element holds a link, or NULL when it holds none. */
static const char *link_attr(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_A:
    case GUMBO_TAG_AREA:
    case GUMBO_TAG_LINK:
    case GUMBO_TAG_BASE:
      return "href";
    case GUMBO_TAG_IMG:
    case GUMBO_TAG_SCRIPT:
    case GUMBO_TAG_IFRAME:
    case GUMBO_TAG_SOURCE:
    case GUMBO_TAG_EMBED:
      return "src";
    default:
      return NULL;
  }
}

static int refs_full(const walk_t *w) {
  return w->max_links != 0 && w->out->n >= w->max_links;
}

/* Every candidate URL of an img/source srcset (the same splitting as the fast path's). */
static int visit_srcset(walk_t *w, const GumboElement *el) {
  const GumboAttribute *attr = gumbo_get_attribute(&el->attributes, "srcset");
  const char *url;
  size_t pos = 0, len, n;
  int err = 0;

  if (attr == NULL) return 0;
  n = strlen(attr->value);
  while (err == 0 && !refs_full(w) && uvcrawl__srcset_next(attr->value, n, &pos, &url, &len)) {
    char *ref = malloc(len + 1);
    if (ref == NULL) return -ENOMEM;
    memcpy(ref, url, len);
    ref[len] = '\0';
    err = uvcrawl__links_push_kind(w->out, ref, UVCRAWL__REF_REQUISITE);
  }
  return err;
}

/* The trimmed value of attribute name as a ref of this kind, if the element has one. */
static int visit_attr(walk_t *w, const GumboElement *el, const char *name, int kind) {
  const GumboAttribute *attr = gumbo_get_attribute(&el->attributes, name);
  char *value;
  int err;
  if (attr == NULL || refs_full(w)) return 0;
  err = dup_trimmed(attr->value, &value);
  if (err != 0 || value == NULL) return err;
  return uvcrawl__links_push_kind(w->out, value, kind);
}

/* CSS text as requisites, within the cap. */
static int visit_css(walk_t *w, const char *css, size_t len) {
  if (refs_full(w)) return 0;
  return uvcrawl__links_add_css(w->out, css, len, w->max_links, NULL);
}

/* The text of a <style> element: its text children, concatenated. */
static int visit_style(walk_t *w, const GumboElement *el) {
  size_t total = 0, i;
  char *css, *o;
  int err;
  for (i = 0; i < el->children.length; i++) {
    const GumboNode *c = el->children.data[i];
    if (c->type == GUMBO_NODE_TEXT || c->type == GUMBO_NODE_WHITESPACE ||
        c->type == GUMBO_NODE_CDATA)
      total += strlen(c->v.text.text);
  }
  if (total == 0) return 0;
  o = css = malloc(total);
  if (css == NULL) return -ENOMEM;
  for (i = 0; i < el->children.length; i++) {
    const GumboNode *c = el->children.data[i];
    if (c->type == GUMBO_NODE_TEXT || c->type == GUMBO_NODE_WHITESPACE ||
        c->type == GUMBO_NODE_CDATA) {
      size_t n = strlen(c->v.text.text);
      memcpy(o, c->v.text.text, n);
      o += n;
    }
  }
  err = visit_css(w, css, total);
  free(css);
  return err;
}

/* The refs of the HTML-only kinds: media, object, input type=image, meta refresh, <style>. */
static int visit_html(walk_t *w, const GumboElement *el) {
  const GumboAttribute *a;
  int err;
  switch (el->tag) {
    case GUMBO_TAG_VIDEO:
      err = visit_attr(w, el, "src", UVCRAWL__REF_REQUISITE);
      return err != 0 ? err : visit_attr(w, el, "poster", UVCRAWL__REF_REQUISITE);
    case GUMBO_TAG_AUDIO:
    case GUMBO_TAG_TRACK:
      return visit_attr(w, el, "src", UVCRAWL__REF_REQUISITE);
    case GUMBO_TAG_OBJECT:
      return visit_attr(w, el, "data", UVCRAWL__REF_REQUISITE);
    case GUMBO_TAG_INPUT:
      a = gumbo_get_attribute(&el->attributes, "type");
      if (a == NULL || !uvcrawl__html_is_image_type(a->value, strlen(a->value))) return 0;
      return visit_attr(w, el, "src", UVCRAWL__REF_REQUISITE);
    case GUMBO_TAG_META: {
      size_t start, len;
      char *ref;
      a = gumbo_get_attribute(&el->attributes, "http-equiv");
      if (a == NULL || !uvcrawl__html_is_refresh(a->value, strlen(a->value))) return 0;
      a = gumbo_get_attribute(&el->attributes, "content");
      if (a == NULL || refs_full(w) ||
          !uvcrawl__refresh_url(a->value, strlen(a->value), &start, &len))
        return 0;
      ref = malloc(len + 1);
      if (ref == NULL) return -ENOMEM;
      memcpy(ref, a->value + start, len);
      ref[len] = '\0';
      return uvcrawl__links_push_kind(w->out, ref, UVCRAWL__REF_LINK);
    }
    case GUMBO_TAG_STYLE:
      return visit_style(w, el);
    default:
      return 0;
  }
}

/* Records the links an element carries, if any. node is borrowed. Returns 0 or -ENOMEM. */
static int visit(walk_t *w, const GumboNode *node, int in_template) {
  const GumboElement *el = &node->v.element;
  const char *name = link_attr(el->tag);
  const GumboAttribute *attr;
  char *value = NULL;
  int err, kind = UVCRAWL__REF_REQUISITE;

  if (el->tag == GUMBO_TAG_BASE) {
    /* The document's base: the first HTML <base href> in the tree, not in template contents
     * (nor an svg/math element that happens to be called base). */
    if (w->base_seen || in_template || el->tag_namespace != GUMBO_NAMESPACE_HTML) goto style;
    attr = gumbo_get_attribute(&el->attributes, "href");
    if (attr == NULL) goto style;
    err = dup_trimmed(attr->value, &value);
    if (err != 0) return err;
    w->base_seen = 1;
    w->out->base = value; /* NULL when empty: the document's own URL stays the base */
    goto style;
  }
  if (refs_full(w)) return 0;
  if (name != NULL) {
    if (el->tag == GUMBO_TAG_A || el->tag == GUMBO_TAG_AREA) {
      kind = UVCRAWL__REF_LINK;
    } else if (el->tag == GUMBO_TAG_LINK) {
      const GumboAttribute *rel = gumbo_get_attribute(&el->attributes, "rel");
      kind = rel != NULL && uvcrawl__html_rel_is_requisite(rel->value, strlen(rel->value))
                 ? UVCRAWL__REF_REQUISITE
                 : UVCRAWL__REF_LINK;
    }
    err = visit_attr(w, el, name, kind);
    if (err == 0 && (el->tag == GUMBO_TAG_IMG || el->tag == GUMBO_TAG_SOURCE))
      err = visit_srcset(w, el);
    if (err != 0) return err;
  } else if (el->tag_namespace == GUMBO_NAMESPACE_HTML) {
    err = visit_html(w, el);
    if (err != 0) return err;
  }
style:
  attr = gumbo_get_attribute(&el->attributes, "style");
  if (attr != NULL) return visit_css(w, attr->value, strlen(attr->value));
  return 0;
}

/* Walks the tree in document order with an explicit stack: a hostile page can nest elements
 * deeper than any thread-pool stack would survive recursing. Nodes are borrowed from gumbo.
 * Returns 0 or -ENOMEM (out keeps what was collected; the caller frees it). */
static int walk(walk_t *w, const GumboNode *root) {
  frame_t *stack;
  size_t sp = 0, cap = STACK_INITIAL_CAP;
  int err = 0;

  if (root->type != GUMBO_NODE_DOCUMENT) return 0;
  stack = malloc(cap * sizeof(*stack));
  if (stack == NULL) return -ENOMEM;
  stack[sp].children = &root->v.document.children;
  stack[sp].next = 0;
  stack[sp].in_template = 0;
  sp++;

  while (sp > 0) {
    frame_t *f = &stack[sp - 1];
    const GumboNode *node;

    if (f->next >= f->children->length) {
      sp--;
      continue;
    }
    node = f->children->data[f->next++];
    /* Text, comments and whitespace carry no links; <template> contents are elements too. */
    if (node->type != GUMBO_NODE_ELEMENT && node->type != GUMBO_NODE_TEMPLATE) continue;

    err = visit(w, node, f->in_template);
    if (err != 0) break;
    /* Past the cap only a not-yet-seen <base> still matters. */
    if (refs_full(w) && w->base_seen) break;
    if (node->v.element.children.length == 0) continue;

    err = uvcrawl__array_grow((void **)&stack, &cap, sp + 1, sizeof(*stack), STACK_INITIAL_CAP);
    if (err != 0) break;
    stack[sp].in_template = stack[sp - 1].in_template || node->type == GUMBO_NODE_TEMPLATE;
    stack[sp].children = &node->v.element.children;
    stack[sp].next = 0;
    sp++;
  }
  free(stack);
  return err;
}

/* gumbo's parse, or NULL when an allocation failed in it (heap_alloc jumped back here). On
 * its own so that no local of the caller lives across the setjmp. */
static GumboOutput *parse_guarded(const GumboOptions *options, heap_t *heap, const char *html,
                                  size_t len) {
  if (setjmp(heap->oom) != 0) return NULL;
  return gumbo_parse_with_options(options, html, len);
}

static int is_digit_of(int c, int hex) {
  return (c >= '0' && c <= '9') ||
         (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
}

/* gumbo 0.10 adds up a numeric character reference in a wrapping int: one that wraps to -1
 * (&#xffffffff) reads as the end of the input, and gumbo stops there; others above U+10FFFF
 * may wrap to a real character. HTML5 reads every one above U+10FFFF as U+FFFD, so gumbo
 * gets a copy with each such reference's digits written as FFFD (65533); copy stays empty
 * when there is none. The copy is the caller's to free. 0, or -ENOMEM. */
static int fix_big_refs(const char *html, size_t len, uvcrawl__dynbuf_t *copy) {
  size_t done = 0, i = 0;
  while (i < len) {
    const char *amp = memchr(html + i, '&', len - i);
    if (amp == NULL) break;
    i = (size_t)(amp - html) + 1;
    if (i >= len || html[i] != '#') continue;
    size_t d = i + 1;
    int hex = d < len && (html[d] == 'x' || html[d] == 'X');
    d += (size_t)hex;
    size_t e = d;
    uint32_t v = 0;
    int big = 0;
    for (; e < len && is_digit_of((unsigned char)html[e], hex); e++) {
      int c = (unsigned char)html[e];
      uint32_t digit = c <= '9' ? (uint32_t)(c - '0') : (uint32_t)((c | 0x20) - 'a' + 10);
      if (!big) v = v * (hex ? 16u : 10u) + digit;
      big |= v > 0x10FFFF;
    }
    if (!big) continue;
    const char *fffd = hex ? "FFFD" : "65533";
    if (uvcrawl__dynbuf_add(copy, html + done, d - done) != 0 ||
        uvcrawl__dynbuf_addstr(copy, fffd) != 0)
      return -ENOMEM;
    done = i = e;
  }
  if (done > 0 && uvcrawl__dynbuf_add(copy, html + done, len - done) != 0) return -ENOMEM;
  return 0;
}

/* html is borrowed (len bytes, no NUL needed); out must be zeroed by the caller and owns
 * every string on return, also after a partial walk (freed here on -ENOMEM). */
int uvcrawl__extract_links_gumbo(const char *html, size_t len, size_t max_links,
                                 uvcrawl__links_t *out) {
  GumboOptions options = kGumboDefaultOptions;
  GumboOutput *output;
  heap_t heap;
  walk_t w;
  int err = -ENOMEM;

  heap.head.link.prev = heap.head.link.next = &heap.head;
  options.allocator = heap_alloc;
  options.deallocator = heap_free;
  options.userdata = &heap;
  /* Parse errors are never read: not recording them saves memory on hostile markup. */
  options.max_errors = 0;
  if (html == NULL) html = "", len = 0;
  uvcrawl__dynbuf_t fixed;
  uvcrawl__dynbuf_init(&fixed, 0);
  if (fix_big_refs(html, len, &fixed) != 0) {
    uvcrawl__dynbuf_free(&fixed);
    return -ENOMEM;
  }
  if (fixed.len > 0) html = fixed.p, len = fixed.len;
  output = parse_guarded(&options, &heap, html, len);
  if (output != NULL) {
    w.out = out;
    w.max_links = max_links;
    w.base_seen = 0;
    err = walk(&w, output->document);
  }
  /* Instead of the recursive gumbo_destroy_output(). */
  heap_free_all(&heap.head);
  uvcrawl__dynbuf_free(&fixed);
  if (err != 0) uvcrawl__links_free(out);
  return err;
}

/* The fast path, and gumbo (on at most max_parse bytes) where it bails out or when asked. */
int uvcrawl__extract(const char *html, size_t len, uvcrawl__extract_t *x, uvcrawl__links_t *out) {
  size_t n;
  int err;

  x->fast = x->bailed = x->capped = 0;
  x->reason = 0;
  if (x->parser != UVCRAWL_PARSER_GUMBO) {
    err = uvcrawl__htmlscan(html, len, x->max_links, out, &x->reason);
    if (err != UVCRAWL__HTMLSCAN_BAIL) {
      x->fast = err == 0;
      return err;
    }
    x->bailed = 1;
  }
  /* gumbo needs ~700 bytes per element: only the first max_parse bytes are parsed, so one
   * hostile page cannot take gigabytes. */
  n = x->max_parse && len > x->max_parse ? x->max_parse : len;
  x->capped = n < len;
  return uvcrawl__extract_links_gumbo(html, n, x->max_links, out);
}

int uvcrawl__extract_links(const char *html, size_t len, size_t max_links,
                           uvcrawl__links_t *out) {
  uvcrawl__extract_t x;
  memset(&x, 0, sizeof(x));
  x.max_links = max_links;
  return uvcrawl__extract(html, len, &x, out);
}

/* Frees every string and the array, and zeroes the struct so it can be reused. */
void uvcrawl__links_free(uvcrawl__links_t *links) {
  size_t i;
  if (links == NULL) return;
  for (i = 0; i < links->n; i++) free(links->refs[i]);
  free(links->refs);
  free(links->kinds);
  free(links->base);
  memset(links, 0, sizeof(*links));
}
