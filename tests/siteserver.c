/* uvcrawl-siteserver: a single-threaded libuv HTTP/1.1 keep-alive server for a deterministic
 * synthetic web site, used by the tests, the demo and the benchmarks.
 *
 *   uvcrawl-siteserver [--port P] [--host 127.0.0.1] [--pages N] [--fanout F] [--broken PCT]
 *                      [--redirect PCT] [--size BYTES] [--delay MS] [--list]
 *
 * Page 0 is "/", page i > 0 is "/p/i.html"; page i links to its children i*F+1 .. i*F+F (< N)
 * in varying spellings, to its parent and to "/", sometimes through a 301 redirect "/r/c",
 * sometimes to a broken "/missing/i.html", and every tenth page embeds a non-HTML "/img/i.bin"
 * whose bytes look like a link (a crawler must not parse it). One link generator drives both
 * the renderer and the breadth-first search that produces the expected URL list
 * (GET /__expected, or --list), so the two cannot disagree. GET /__stats and /__reset expose
 * counters. On start the server prints "port NNNN" and serves until SIGTERM/SIGINT. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif

#include <uv.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#define container_of(ptr, type, member) \
  ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

#define MAX_HEADER (64 * 1024)    /* request header block cap, terminator included */
#define MIN_READ 4096             /* grow the input buffer when less room than this is left */
#define HIGH_WATER (1024 * 1024)  /* stop reading a pipelining client that does not read */
#define LOW_WATER (256 * 1024)
#define LINGER_MS 2000            /* after our FIN, wait this long for the client's */
#define HOST_MAX 64
#define ORIGIN_MAX (HOST_MAX + 32)
#define HREF_MAX (ORIGIN_MAX + 64)
#define MAX_PAGES 100000000u      /* keeps every page number and i*7+3 within 32 bits */
#define MAX_FANOUT 1000u

/* ---- configuration and counters ------------------------------------------------------- */

static struct {
  char host[HOST_MAX];
  uint32_t port, pages, fanout, broken, redirect, size, delay;
  int list;
  char origin[ORIGIN_MAX];       /* http://HOST:PORT */
  char origin_upper[ORIGIN_MAX]; /* the same upper-cased, for one link spelling */
} cfg = {"127.0.0.1", 0, 100, 5, 10, 10, 2048, 0, 0, "", ""};

static struct {
  uint64_t requests, max_concurrent, open, connections;
} stats;

static char *expected; /* lazily built /__expected body, lives until exit */
static size_t expected_len;

/* ---- small growable string buffer ------------------------------------------------------ */

struct sbuf {
  char *p;
  size_t len, cap;
  int oom; /* sticky: callers check once at the end */
};

static int sb_reserve(struct sbuf *b, size_t extra) {
  if (b->oom) return -1;
  if (b->cap - b->len > extra) return 0; /* keeps room for a NUL */
  size_t ncap = b->cap ? b->cap : 256;
  while (ncap - b->len <= extra) {
    if (ncap > SIZE_MAX / 2) {
      b->oom = 1;
      return -1;
    }
    ncap *= 2;
  }
  char *np = realloc(b->p, ncap);
  if (np == NULL) {
    b->oom = 1;
    return -1;
  }
  b->p = np;
  b->cap = ncap;
  return 0;
}

static void sb_add(struct sbuf *b, const char *s, size_t n) {
  if (sb_reserve(b, n) != 0) return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static PRINTF_LIKE(2, 3) void sb_printf(struct sbuf *b, const char *fmt, ...) {
  va_list ap;
  if (sb_reserve(b, 64) != 0) return;
  for (;;) {
    size_t room = b->cap - b->len;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
      b->oom = 1;
      return;
    }
    if ((size_t)n < room) {
      b->len += (size_t)n;
      return;
    }
    if (sb_reserve(b, (size_t)n) != 0) return;
  }
}

/* snprintf into a fixed buffer whose size is known to suffice (hrefs, paths). */
static PRINTF_LIKE(3, 4) void fmt_fixed(char *dst, size_t n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = vsnprintf(dst, n, fmt, ap);
  va_end(ap);
  if (r < 0 && n > 0) dst[0] = '\0';
}

/* ---- the site: one link generator shared by the renderer and the BFS -------------------- */

/* A fixed 32-bit mixer (murmur3's finalizer), so "random" choices are stable across runs. */
static uint32_t mix32(uint32_t h) {
  h += 0x9e3779b9u; /* so that 0 does not map to 0 */
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

static int chance(uint32_t key, uint32_t pct) { return mix32(key) % 100u < pct; }

enum node_type { NODE_NONE, NODE_PAGE, NODE_REDIRECT, NODE_MISSING, NODE_IMG };

enum link_kind {
  LINK_CHILD,
  LINK_REDIRECT,
  LINK_PARENT,
  LINK_HOME,
  LINK_MISSING,
  LINK_IMG,
  LINK_MAILTO,
  LINK_JS,
  LINK_EXTERNAL
};

struct link {
  enum link_kind kind;
  enum node_type type; /* what a crawler reaches by following it; NODE_NONE: nothing */
  uint32_t num;
  char href[HREF_MAX]; /* the spelling that appears in the HTML */
};

typedef void (*link_fn)(void *ctx, const struct link *l);

static void child_href(struct link *l, uint32_t page, uint32_t c) {
  /* Six spellings of the same URL exercise a crawler's resolution and normalization. */
  switch (c % 6) {
  case 0:
    fmt_fixed(l->href, sizeof l->href, "/p/%" PRIu32 ".html", c);
    break;
  case 1:
    fmt_fixed(l->href, sizeof l->href, "%s/p/%" PRIu32 ".html", cfg.origin, c);
    break;
  case 2:
    fmt_fixed(l->href, sizeof l->href, page ? "%" PRIu32 ".html" : "p/%" PRIu32 ".html", c);
    break;
  case 3:
    fmt_fixed(l->href, sizeof l->href, page ? "./%" PRIu32 ".html" : "./p/%" PRIu32 ".html",
              c);
    break;
  case 4:
    fmt_fixed(l->href, sizeof l->href, page ? "../p/%" PRIu32 ".html" : "/p/./%" PRIu32 ".html",
              c);
    break;
  default:
    fmt_fixed(l->href, sizeof l->href, "%s/p/%" PRIu32 ".html#top", cfg.origin_upper, c);
    break;
  }
}

/* Calls fn for every link of page i, in document order. */
static void page_links(uint32_t i, link_fn fn, void *ctx) {
  struct link l;
  uint64_t first = (uint64_t)i * cfg.fanout + 1;
  int redirect_first = chance(i, cfg.redirect);

  for (uint64_t k = 0; k < cfg.fanout && first + k < cfg.pages; k++) {
    uint32_t c = (uint32_t)(first + k);
    l.num = c;
    if (k == 0 && redirect_first) {
      l.kind = LINK_REDIRECT;
      l.type = NODE_REDIRECT;
      fmt_fixed(l.href, sizeof l.href, "/r/%" PRIu32, c);
    } else {
      l.kind = LINK_CHILD;
      l.type = NODE_PAGE;
      child_href(&l, i, c);
    }
    fn(ctx, &l);
  }

  if (i > 0) {
    uint32_t parent = (i - 1) / cfg.fanout;
    l.kind = LINK_PARENT;
    l.type = NODE_PAGE;
    l.num = parent;
    if (parent == 0)
      fmt_fixed(l.href, sizeof l.href, "/");
    else
      fmt_fixed(l.href, sizeof l.href, "/p/%" PRIu32 ".html", parent);
    fn(ctx, &l);
  }

  l.kind = LINK_HOME;
  l.type = NODE_PAGE;
  l.num = 0;
  fmt_fixed(l.href, sizeof l.href, "/");
  fn(ctx, &l);

  if (chance(i * 7u + 3u, cfg.broken)) {
    l.kind = LINK_MISSING;
    l.type = NODE_MISSING;
    l.num = i;
    fmt_fixed(l.href, sizeof l.href, "/missing/%" PRIu32 ".html", i);
    fn(ctx, &l);
  }

  if (i % 10 == 3) {
    l.kind = LINK_IMG;
    l.type = NODE_IMG;
    l.num = i;
    fmt_fixed(l.href, sizeof l.href, "/img/%" PRIu32 ".bin", i);
    fn(ctx, &l);
  }

  if (i == 0) {
    /* Links a crawler must skip: other schemes and another origin. */
    static const struct {
      enum link_kind kind;
      const char *href;
    } extra[] = {{LINK_MAILTO, "mailto:x@example.com"},
                 {LINK_JS, "javascript:void(0)"},
                 {LINK_EXTERNAL, "http://127.0.0.2:9/ext.html"}};
    for (size_t k = 0; k < sizeof extra / sizeof extra[0]; k++) {
      l.kind = extra[k].kind;
      l.type = NODE_NONE;
      l.num = 0;
      fmt_fixed(l.href, sizeof l.href, "%s", extra[k].href);
      fn(ctx, &l);
    }
  }
}

static void node_path(enum node_type t, uint32_t num, char *buf, size_t n) {
  switch (t) {
  case NODE_PAGE:
    if (num == 0)
      fmt_fixed(buf, n, "/");
    else
      fmt_fixed(buf, n, "/p/%" PRIu32 ".html", num);
    break;
  case NODE_REDIRECT:
    fmt_fixed(buf, n, "/r/%" PRIu32, num);
    break;
  case NODE_MISSING:
    fmt_fixed(buf, n, "/missing/%" PRIu32 ".html", num);
    break;
  case NODE_IMG:
    fmt_fixed(buf, n, "/img/%" PRIu32 ".bin", num);
    break;
  default:
    fmt_fixed(buf, n, "?");
    break;
  }
}

static int node_status(enum node_type t) {
  switch (t) {
  case NODE_REDIRECT: return 301;
  case NODE_MISSING: return 404;
  default: return 200;
  }
}

static const char *link_label(enum link_kind k) {
  switch (k) {
  case LINK_CHILD: return "Child";
  case LINK_REDIRECT: return "Moved child";
  case LINK_PARENT: return "Up";
  case LINK_HOME: return "Home";
  case LINK_MISSING: return "Broken link";
  case LINK_IMG: return "Image";
  case LINK_MAILTO: return "Mail";
  case LINK_JS: return "Script";
  default: return "Elsewhere";
  }
}

static void render_link(void *ctx, const struct link *l) {
  struct sbuf *b = ctx;
  if (l->kind == LINK_IMG)
    sb_printf(b, "<li><img src=\"%s\" alt=\"image %" PRIu32 "\"></li>\n", l->href, l->num);
  else
    sb_printf(b, "<li><a href=\"%s\">%s %" PRIu32 "</a></li>\n", l->href, link_label(l->kind),
              l->num);
}

static void render_page(uint32_t i, struct sbuf *b) {
  static const char tail[] = "</body></html>\n";
  static const char filler[] =
      "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
      "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
      "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.";
  sb_reserve(b, (size_t)cfg.size + 1024 + (size_t)cfg.fanout * 96);
  sb_printf(b,
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Page %" PRIu32
            "</title></head>\n<body>\n<h1>Page %" PRIu32 "</h1>\n<ul>\n",
            i, i);
  page_links(i, render_link, b);
  sb_add(b, "</ul>\n", 6);
  for (uint32_t k = 0; !b->oom && b->len + sizeof tail - 1 < cfg.size; k++)
    sb_printf(b, "<p>Paragraph %" PRIu32 ".%" PRIu32 ": %s</p>\n", i, k, filler);
  sb_add(b, tail, sizeof tail - 1);
}

/* ---- the expected crawl: BFS over the same links --------------------------------------- */

struct qent {
  uint32_t num, depth;
  enum node_type type;
};

struct bfs {
  struct qent *q;
  size_t len, cap;
  uint8_t *seen; /* per number, one bit per node type */
  uint32_t depth; /* depth of the node whose links are being visited */
  struct sbuf *out;
  int oom;
};

static void bfs_visit(struct bfs *b, enum node_type t, uint32_t num, uint32_t depth) {
  uint8_t bit = (uint8_t)(1u << t);
  char path[64];
  if (b->oom || (b->seen[num] & bit)) return;
  b->seen[num] |= bit;
  if (b->len == b->cap) {
    size_t ncap = b->cap ? b->cap * 2 : 1024;
    struct qent *nq = realloc(b->q, ncap * sizeof *nq);
    if (nq == NULL) {
      b->oom = 1;
      return;
    }
    b->q = nq;
    b->cap = ncap;
  }
  b->q[b->len].num = num;
  b->q[b->len].depth = depth;
  b->q[b->len].type = t;
  b->len++;
  node_path(t, num, path, sizeof path);
  sb_printf(b->out, "%s%s %d %" PRIu32 "\n", cfg.origin, path, node_status(t), depth);
}

static void bfs_on_link(void *ctx, const struct link *l) {
  struct bfs *b = ctx;
  if (l->type != NODE_NONE) bfs_visit(b, l->type, l->num, b->depth + 1);
}

/* Fills out with "URL STATUS DEPTH\n" lines in BFS discovery order. Returns 0 or -1 (OOM). */
static int build_expected(struct sbuf *out) {
  struct bfs b = {NULL, 0, 0, NULL, 0, out, 0};
  b.seen = calloc(cfg.pages, 1);
  if (b.seen == NULL) return -1;
  bfs_visit(&b, NODE_PAGE, 0, 0);
  for (size_t h = 0; h < b.len && !b.oom; h++) {
    struct qent e = b.q[h]; /* copied: visiting may move the queue */
    b.depth = e.depth;
    if (e.type == NODE_PAGE)
      page_links(e.num, bfs_on_link, &b);
    else if (e.type == NODE_REDIRECT) /* a redirect's only out-edge is its target */
      bfs_visit(&b, NODE_PAGE, e.num, e.depth + 1);
  }
  free(b.q);
  free(b.seen);
  return b.oom || out->oom ? -1 : 0;
}

static int ensure_expected(void) {
  if (expected != NULL) return 0;
  struct sbuf b = {NULL, 0, 0, 0};
  if (build_expected(&b) != 0) {
    free(b.p);
    return -1;
  }
  expected = b.p;
  expected_len = b.len;
  return 0;
}

/* ---- connections ------------------------------------------------------------------------ */

struct wreq {
  uv_write_t req;
  const char *body; /* NULL for HEAD and bodiless responses */
  size_t body_len;
  char *to_free;    /* owned body memory, or NULL for static/shared bodies */
  int close;        /* last response on this connection */
  size_t hdr_len;
  char hdr[512];
};

struct conn {
  uv_tcp_t tcp;
  uv_timer_t timer; /* --delay, and the lingering close */
  uv_shutdown_t shutdown_req;
  struct conn *prev, *next; /* all open connections, for shutdown on a signal */
  char *in;
  size_t in_len, in_cap;
  struct wreq *pending; /* response waiting for the delay timer */
  unsigned writes;      /* uv_write calls not yet called back */
  int handles;          /* handles not yet closed; free when it reaches 0 */
  unsigned reading : 1, closing : 1, eof : 1, want_close : 1, lingering : 1, throttled : 1;
};

struct resp {
  int status;
  const char *ctype;
  const char *body;
  size_t len;
  char *to_free;
  char extra[128]; /* additional header lines, each ending in CRLF */
};

static uv_loop_t *loop;
static uv_tcp_t server;
static uv_signal_t sig_term, sig_int;
static uv_tcp_t reject_tcp; /* accepts and drops a connection we cannot allocate for */
static int reject_busy;
static struct conn *conns;
static int stopping;

static void process_input(struct conn *c);
static void on_timer(uv_timer_t *t);

static void wreq_free(struct wreq *w) {
  free(w->to_free);
  free(w);
}

static void conn_release(struct conn *c) {
  if (--c->handles > 0) return;
  if (c->pending != NULL) wreq_free(c->pending);
  free(c->in);
  free(c);
}

static void on_tcp_close(uv_handle_t *h) { conn_release(container_of(h, struct conn, tcp)); }

static void on_timer_close(uv_handle_t *h) {
  conn_release(container_of(h, struct conn, timer));
}

static void conn_close(struct conn *c) {
  if (c->closing) return;
  c->closing = 1;
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    conns = c->next;
  if (c->next != NULL) c->next->prev = c->prev;
  stats.open--;
  /* Pending writes and the shutdown are cancelled and called back before the close callbacks,
   * so the struct stays valid for them. */
  uv_close((uv_handle_t *)&c->timer, on_timer_close);
  uv_close((uv_handle_t *)&c->tcp, on_tcp_close);
}

