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
#define MAX_PAGES 10000000u       /* keeps numbers in 32 bits and /__expected under 4 GiB */
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

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

/* Reads only while a request could be answered right away: a delayed or throttled connection
 * leaves further bytes in the kernel, which bounds memory and keeps responses in order. */
static void update_reading(struct conn *c) {
  if (c->closing) return;
  int want = !c->eof && c->pending == NULL && !c->throttled;
  if (want && !c->reading) {
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
      conn_close(c);
      return;
    }
    c->reading = 1;
  } else if (!want && c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
  }
}

/* After the client's EOF, close once everything it asked for has been written. */
static void maybe_finish(struct conn *c) {
  if (!c->closing && c->eof && !c->want_close && c->pending == NULL && c->writes == 0)
    conn_close(c);
}

static void on_write(uv_write_t *req, int status) {
  struct wreq *w = container_of(req, struct wreq, req);
  struct conn *c = container_of(req->handle, struct conn, tcp);
  wreq_free(w);
  c->writes--;
  if (c->closing) return;
  if (status < 0) {
    conn_close(c);
    return;
  }
  if (c->throttled && uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) <= LOW_WATER) {
    c->throttled = 0;
    process_input(c);
    return;
  }
  maybe_finish(c);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  struct conn *c = container_of(req, struct conn, shutdown_req);
  if (c->closing) return;
  if (status < 0 || c->eof) {
    conn_close(c);
    return;
  }
  /* Closing with unread input would send a RST that can destroy the response still in flight;
   * wait (bounded) for the client's FIN instead, dropping whatever it sends meanwhile. */
  c->lingering = 1;
  c->throttled = 0;
  if (uv_timer_start(&c->timer, on_timer, LINGER_MS, 0) != 0) {
    conn_close(c);
    return;
  }
  update_reading(c);
}

static void send_response(struct conn *c, struct wreq *w) {
  uv_buf_t bufs[2];
  unsigned n = 0;
  int last = w->close;
  bufs[n++] = uv_buf_init(w->hdr, (unsigned)w->hdr_len);
  if (w->body != NULL && w->body_len > 0)
    bufs[n++] = uv_buf_init((char *)w->body, (unsigned)w->body_len);
  if (uv_write(&w->req, (uv_stream_t *)&c->tcp, bufs, n, on_write) != 0) {
    wreq_free(w); /* not queued, so no callback will free it */
    conn_close(c);
    return;
  }
  c->writes++;
  if (last) {
    /* The shutdown is queued behind the write, so the FIN follows the response. */
    c->want_close = 1;
    if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) conn_close(c);
  } else if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > HIGH_WATER) {
    c->throttled = 1;
  }
}

static void on_timer(uv_timer_t *t) {
  struct conn *c = container_of(t, struct conn, timer);
  if (c->closing) return;
  if (c->lingering) {
    conn_close(c);
    return;
  }
  struct wreq *w = c->pending;
  if (w == NULL) return;
  c->pending = NULL;
  send_response(c, w);
  process_input(c); /* the next pipelined request, if any */
}

static const char *reason(int status) {
  switch (status) {
  case 200: return "OK";
  case 301: return "Moved Permanently";
  case 400: return "Bad Request";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 505: return "HTTP Version Not Supported";
  default: return "Unknown";
  }
}

/* Takes ownership of r->to_free in every case. */
static void respond(struct conn *c, const struct resp *r, int keep_alive, int head,
                    int delayed) {
  struct wreq *w = malloc(sizeof *w);
  if (w == NULL) {
    free(r->to_free);
    conn_close(c);
    return;
  }
  int n = snprintf(w->hdr, sizeof w->hdr,
                   "HTTP/1.1 %d %s\r\nServer: uvcrawl-siteserver\r\nContent-Type: %s\r\n"
                   "Content-Length: %zu\r\nConnection: %s\r\n%s\r\n",
                   r->status, reason(r->status), r->ctype, r->len,
                   keep_alive ? "keep-alive" : "close", r->extra);
  if (n < 0 || (size_t)n >= sizeof w->hdr) {
    free(r->to_free);
    free(w);
    conn_close(c);
    return;
  }
  w->hdr_len = (size_t)n;
  w->body = head ? NULL : r->body; /* HEAD: same headers, Content-Length included */
  w->body_len = head ? 0 : r->len;
  w->to_free = r->to_free;
  w->close = !keep_alive;
  if (delayed && uv_timer_start(&c->timer, on_timer, cfg.delay, 0) == 0) {
    c->pending = w;
    return;
  }
  send_response(c, w);
}

/* ---- routing ------------------------------------------------------------------------------ */

#define ERROR_PAGE(code, text)                                                             \
  "<!DOCTYPE html>\n<html><head><title>" #code " " text "</title></head><body><h1>" text \
  "</h1></body></html>\n"

static void resp_set(struct resp *r, int status, const char *ctype, const char *body,
                     size_t len, char *to_free) {
  r->status = status;
  r->ctype = ctype;
  r->body = body;
  r->len = len;
  r->to_free = to_free;
  r->extra[0] = '\0';
}

static void resp_error(struct resp *r, int status) {
  const char *body;
  switch (status) {
  case 400: body = ERROR_PAGE(400, "Bad Request"); break;
  case 404: body = ERROR_PAGE(404, "Not Found"); break;
  case 405: body = ERROR_PAGE(405, "Method Not Allowed"); break;
  case 431: body = ERROR_PAGE(431, "Request Header Fields Too Large"); break;
  case 505: body = ERROR_PAGE(505, "HTTP Version Not Supported"); break;
  default:
    status = 500;
    body = ERROR_PAGE(500, "Internal Server Error");
    break;
  }
  resp_set(r, status, "text/html; charset=utf-8", body, strlen(body), NULL);
}

/* Canonical decimal only (no sign, no leading zeros), so each resource has exactly one URL. */
static int parse_num(const char *s, size_t n, uint32_t *out) {
  uint64_t v = 0;
  if (n == 0 || n > 10 || (n > 1 && s[0] == '0')) return -1;
  for (size_t k = 0; k < n; k++) {
    if (s[k] < '0' || s[k] > '9') return -1;
    v = v * 10 + (uint64_t)(s[k] - '0');
  }
  if (v > UINT32_MAX) return -1;
  *out = (uint32_t)v;
  return 0;
}

/* Does path (not NUL-terminated) read prefix NUMBER suffix? */
static int match_num(const char *path, size_t len, const char *prefix, const char *suffix,
                     uint32_t *num) {
  size_t pl = strlen(prefix), sl = strlen(suffix);
  if (len < pl + sl + 1 || memcmp(path, prefix, pl) != 0 ||
      memcmp(path + len - sl, suffix, sl) != 0)
    return 0;
  return parse_num(path + pl, len - pl - sl, num) == 0;
}

static int path_is(const char *path, size_t len, const char *lit) {
  return len == strlen(lit) && memcmp(path, lit, len) == 0;
}

static void resp_page(struct resp *r, uint32_t i) {
  struct sbuf b = {NULL, 0, 0, 0};
  render_page(i, &b);
  if (b.oom) {
    free(b.p);
    resp_error(r, 500);
    return;
  }
  resp_set(r, 200, "text/html; charset=utf-8", b.p, b.len, b.p);
}

static void resp_img(struct resp *r, uint32_t i) {
  /* Binary bytes that also contain markup: a crawler that parses non-HTML would find
   * /secret.html, which is deliberately absent from the expected list. */
  static const char head[] = "\x89UVCBIN\r\n\x1a\n";
  static const char bait[] = "<html><body><a href=\"/secret.html\">secret</a></body></html>";
  size_t len = (sizeof head - 1) + 1 + (sizeof bait - 1) + 64;
  char *p = malloc(len);
  if (p == NULL) {
    resp_error(r, 500);
    return;
  }
  size_t o = 0;
  memcpy(p + o, head, sizeof head - 1);
  o += sizeof head - 1;
  p[o++] = '\0';
  memcpy(p + o, bait, sizeof bait - 1);
  o += sizeof bait - 1;
  for (uint32_t k = 0; o < len; k++) p[o++] = (char)(mix32(i * 64u + k) & 0xff);
  resp_set(r, 200, "application/octet-stream", p, len, p);
}

static void resp_stats(struct resp *r) {
  struct sbuf b = {NULL, 0, 0, 0};
  sb_printf(&b,
            "{\"requests\":%" PRIu64 ",\"max_concurrent\":%" PRIu64 ",\"open\":%" PRIu64
            ",\"connections\":%" PRIu64 "}",
            stats.requests, stats.max_concurrent, stats.open, stats.connections);
  if (b.oom) {
    free(b.p);
    resp_error(r, 500);
    return;
  }
  resp_set(r, 200, "application/json", b.p, b.len, b.p);
}

static void route(const char *path, size_t len, struct resp *r) {
  static const char moved[] = ERROR_PAGE(301, "Moved Permanently");
  static const char secret[] =
      "<!DOCTYPE html>\n<html><head><title>Secret</title></head><body><p>Only linked from "
      "non-HTML content.</p><a href=\"/\">Home</a></body></html>\n";
  uint32_t n;
  if (path_is(path, len, "/")) {
    resp_page(r, 0);
  } else if (match_num(path, len, "/p/", ".html", &n) && n >= 1 && n < cfg.pages) {
    resp_page(r, n);
  } else if (match_num(path, len, "/r/", "", &n) && n >= 1 && n < cfg.pages) {
    resp_set(r, 301, "text/html; charset=utf-8", moved, sizeof moved - 1, NULL);
    /* Relative on purpose: the crawler must resolve it against the request URL. */
    fmt_fixed(r->extra, sizeof r->extra, "Location: /p/%" PRIu32 ".html\r\n", n);
  } else if (match_num(path, len, "/img/", ".bin", &n) && n < cfg.pages && n % 10 == 3) {
    resp_img(r, n);
  } else if (path_is(path, len, "/secret.html")) {
    resp_set(r, 200, "text/html; charset=utf-8", secret, sizeof secret - 1, NULL);
  } else if (path_is(path, len, "/__expected")) {
    if (ensure_expected() != 0)
      resp_error(r, 500);
    else /* shared, never freed while serving */
      resp_set(r, 200, "text/plain; charset=utf-8", expected, expected_len, NULL);
  } else if (path_is(path, len, "/__stats")) {
    resp_stats(r);
  } else if (path_is(path, len, "/__reset")) {
    stats.requests = 0;
    stats.connections = 0;
    stats.max_concurrent = stats.open;
    resp_set(r, 200, "text/plain; charset=utf-8", "ok", 2, NULL);
  } else {
    resp_error(r, 404);
  }
}

/* ---- HTTP request parsing ---------------------------------------------------------------- */

static int token_is(const char *s, size_t n, const char *lit) {
  return n == strlen(lit) && strncasecmp(s, lit, n) == 0;
}

static void trim(const char **s, size_t *n) {
  while (*n > 0 && (**s == ' ' || **s == '\t')) {
    (*s)++;
    (*n)--;
  }
  while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t')) (*n)--;
}

static void reply_bad(struct conn *c, int status) {
  struct resp r;
  stats.requests++;
  resp_error(&r, status);
  respond(c, &r, 0, 0, 0);
}

/* p[0..len) is one complete header block ending in CRLF CRLF. */
static void handle_request(struct conn *c, const char *p, size_t len) {
  const char *end = p + len;
  const char *eol = memmem(p, len, "\r\n", 2);
  const char *sp1 = memchr(p, ' ', (size_t)(eol - p));
  const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
  int http10 = 0, close_tok = 0, keep_tok = 0, has_body = 0;

  if (sp1 == NULL || sp2 == NULL || sp1 == p || sp2 == sp1 + 1) {
    reply_bad(c, 400);
    return;
  }
  const char *ver = sp2 + 1;
  size_t vlen = (size_t)(eol - ver);
  if (vlen != 8 || memcmp(ver, "HTTP/1.", 7) != 0 || ver[7] < '0' || ver[7] > '9') {
    reply_bad(c, vlen >= 5 && memcmp(ver, "HTTP/", 5) == 0 ? 505 : 400);
    return;
  }
  http10 = ver[7] == '0';

  for (const char *line = eol + 2; line < end;) {
    const char *le = memmem(line, (size_t)(end - line), "\r\n", 2);
    if (le == NULL || le == line) break; /* the blank line that ends the block */
    const char *colon = memchr(line, ':', (size_t)(le - line));
    if (colon == NULL || colon == line) {
      if (*line != ' ' && *line != '\t') { /* obsolete line folding is ignored */
        reply_bad(c, 400);
        return;
      }
    } else {
      const char *name = line, *val = colon + 1;
      size_t nlen = (size_t)(colon - line), vl = (size_t)(le - val);
      trim(&val, &vl);
      if (token_is(name, nlen, "connection")) {
        while (vl > 0) {
          const char *comma = memchr(val, ',', vl);
          size_t tl = comma ? (size_t)(comma - val) : vl;
          const char *tok = val;
          size_t tn = tl;
          trim(&tok, &tn);
          if (token_is(tok, tn, "close")) close_tok = 1;
          if (token_is(tok, tn, "keep-alive")) keep_tok = 1;
          if (comma == NULL) break;
          val = comma + 1;
          vl -= tl + 1;
        }
      } else if (token_is(name, nlen, "content-length")) {
        if (vl == 0) {
          reply_bad(c, 400);
          return;
        }
        for (size_t k = 0; k < vl; k++) {
          if (val[k] < '0' || val[k] > '9') {
            reply_bad(c, 400);
            return;
          }
          if (val[k] != '0') has_body = 1;
        }
      } else if (token_is(name, nlen, "transfer-encoding")) {
        has_body = 1;
      }
    }
    line = le + 2;
  }

  int keep_alive = http10 ? keep_tok && !close_tok : !close_tok;
  if (has_body) keep_alive = 0; /* bodies are unsupported: answer, then close, never parse it */

  /* Origin-form, or absolute-form as a proxy would send it; the query is ignored. */
  const char *target = sp1 + 1;
  size_t tlen = (size_t)(sp2 - target);
  const char *path = target;
  size_t plen = tlen;
  size_t skip = 0;
  if (tlen >= 7 && strncasecmp(target, "http://", 7) == 0) skip = 7;
  if (tlen >= 8 && strncasecmp(target, "https://", 8) == 0) skip = 8;
  if (skip > 0) {
    const char *slash = memchr(target + skip, '/', tlen - skip);
    path = slash ? slash : "/";
    plen = slash ? (size_t)(sp2 - slash) : 1;
  }
  for (size_t k = 0; k < plen; k++) {
    if (path[k] == '?' || path[k] == '#') {
      plen = k;
      break;
    }
  }
  int internal = plen >= 3 && memcmp(path, "/__", 3) == 0;
  if (!internal) stats.requests++;

  struct resp r;
  size_t mlen = (size_t)(sp1 - p);
  int head = 0;
  if (mlen == 3 && memcmp(p, "GET", 3) == 0) { /* methods are case-sensitive */
    head = 0;
  } else if (mlen == 4 && memcmp(p, "HEAD", 4) == 0) {
    head = 1;
  } else {
    resp_error(&r, 405);
    fmt_fixed(r.extra, sizeof r.extra, "Allow: GET, HEAD\r\n");
    respond(c, &r, keep_alive, 0, !internal && cfg.delay > 0);
    return;
  }
  if (plen == 0 || path[0] != '/') {
    resp_error(&r, 400);
    respond(c, &r, 0, head, 0);
    return;
  }
  route(path, plen, &r);
  respond(c, &r, keep_alive, head, !internal && cfg.delay > 0);
}

static void process_input(struct conn *c) {
  size_t off = 0;
  while (!c->closing && !c->want_close && c->pending == NULL && !c->throttled) {
    const char *p = c->in + off;
    size_t avail = c->in_len - off;
    /* RFC 9112 2.2: empty lines before a request line are ignored. */
    while (avail >= 2 && p[0] == '\r' && p[1] == '\n') {
      p += 2;
      avail -= 2;
      off += 2;
    }
    if (avail == 0) break;
    size_t lim = avail < MAX_HEADER ? avail : MAX_HEADER;
    const char *e = memmem(p, lim, "\r\n\r\n", 4);
    if (e == NULL) {
      if (avail >= MAX_HEADER) reply_bad(c, 431);
      break;
    }
    size_t hlen = (size_t)(e - p) + 4;
    off += hlen;
    handle_request(c, p, hlen);
  }
  if (c->want_close || c->closing) {
    c->in_len = 0; /* nothing after the last response is ever answered */
  } else if (off > 0) {
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
  }
  update_reading(c);
  maybe_finish(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  struct conn *c = container_of(h, struct conn, tcp);
  (void)suggested;
  /* Reads land directly in the request buffer; it stays below ~2*MAX_HEADER because a longer
   * incomplete header block is answered with 431. */
  if (c->in_cap - c->in_len < MIN_READ) {
    size_t ncap = c->in_cap ? c->in_cap * 2 : 2 * MIN_READ;
    char *np = realloc(c->in, ncap);
    if (np == NULL) {
      *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS to on_read */
      return;
    }
    c->in = np;
    c->in_cap = ncap;
  }
  *buf = uv_buf_init(c->in + c->in_len, (unsigned)(c->in_cap - c->in_len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  struct conn *c = container_of(s, struct conn, tcp);
  (void)buf;
  if (n == 0 || c->closing) return;
  if (n < 0) {
    if (n != UV_EOF || c->lingering) {
      conn_close(c);
      return;
    }
    c->eof = 1;
    update_reading(c);
    maybe_finish(c); /* with want_close set, the shutdown callback closes instead */
    return;
  }
  if (c->want_close) return; /* after the last response, input is dropped */
  c->in_len += (size_t)n;
  process_input(c);
}

static void on_reject_close(uv_handle_t *h) {
  (void)h;
  reject_busy = 0;
}

static void on_connection(uv_stream_t *srv, int status) {
  if (status < 0) {
    fprintf(stderr, "uvcrawl-siteserver: accept: %s\n", uv_strerror(status));
    return;
  }
  struct conn *c = calloc(1, sizeof *c);
  if (c == NULL || uv_tcp_init(loop, &c->tcp) != 0) {
    free(c); /* no handle was initialized, so there is no close callback to wait for */
    /* Accept and drop: a connection left unaccepted would stall the listener. */
    if (!reject_busy && uv_tcp_init(loop, &reject_tcp) == 0) {
      reject_busy = 1;
      (void)uv_accept(srv, (uv_stream_t *)&reject_tcp);
      uv_close((uv_handle_t *)&reject_tcp, on_reject_close);
    }
    return;
  }
  uv_timer_init(loop, &c->timer);
  c->handles = 2;
  c->next = conns;
  if (conns != NULL) conns->prev = c;
  conns = c;
  stats.open++;
  stats.connections++;
  if (stats.open > stats.max_concurrent) stats.max_concurrent = stats.open;
  if (uv_accept(srv, (uv_stream_t *)&c->tcp) != 0) {
    conn_close(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1); /* responses are single writes; Nagle only adds latency */
  update_reading(c);
}

static void on_signal(uv_signal_t *s, int signum) {
  (void)s;
  (void)signum;
  if (stopping) return;
  stopping = 1;
  /* Closing every handle lets uv_run return, so memory is freed by the close callbacks. */
  uv_close((uv_handle_t *)&server, NULL);
  while (conns != NULL) conn_close(conns);
  uv_close((uv_handle_t *)&sig_term, NULL);
  uv_close((uv_handle_t *)&sig_int, NULL);
}

/* ---- command line and main --------------------------------------------------------------- */

static void usage(FILE *f) {
  fprintf(f,
          "usage: uvcrawl-siteserver [--port P] [--host 127.0.0.1] [--pages N] [--fanout F]\n"
          "                          [--broken PCT] [--redirect PCT] [--size BYTES]\n"
          "                          [--delay MS] [--list]\n"
          "Serves a deterministic synthetic site; prints \"port NNNN\" once listening.\n"
          "--list (with --port) prints the expected crawl \"URL STATUS DEPTH\" and exits.\n");
}

static int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out) {
  char *endp;
  if (s == NULL || *s < '0' || *s > '9') return -1; /* strtoul would accept "-1" and spaces */
  errno = 0;
  unsigned long v = strtoul(s, &endp, 10);
  if (errno != 0 || *endp != '\0' || v < min || v > max) return -1;
  *out = (uint32_t)v;
  return 0;
}

union addr {
  struct sockaddr sa;
  struct sockaddr_in in4;
  struct sockaddr_in6 in6;
  struct sockaddr_storage ss;
};

static int resolve_host(const char *host, uint32_t port, union addr *a, int *v6) {
  memset(a, 0, sizeof *a);
  *v6 = 0;
  if (uv_ip4_addr(host, (int)port, &a->in4) == 0) return 0;
  *v6 = 1;
  return uv_ip6_addr(host, (int)port, &a->in6);
}

static void make_origin(int v6) {
  fmt_fixed(cfg.origin, sizeof cfg.origin, v6 ? "http://[%s]:%" PRIu32 : "http://%s:%" PRIu32,
            cfg.host, cfg.port);
  size_t k;
  for (k = 0; cfg.origin[k] != '\0' && k + 1 < sizeof cfg.origin_upper; k++) {
    char ch = cfg.origin[k];
    cfg.origin_upper[k] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 'a' + 'A') : ch;
  }
  cfg.origin_upper[k] = '\0';
}

static void parse_args(int argc, char **argv) {
  static const struct {
    const char *name;
    uint32_t *dst;
    uint32_t min, max;
  } nums[] = {{"--port", &cfg.port, 0, 65535},
              {"--pages", &cfg.pages, 1, MAX_PAGES},
              {"--fanout", &cfg.fanout, 1, MAX_FANOUT},
              {"--broken", &cfg.broken, 0, 100},
              {"--redirect", &cfg.redirect, 0, 100},
              {"--size", &cfg.size, 0, 64u * 1024 * 1024},
              {"--delay", &cfg.delay, 0, 3600u * 1000}};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--list") == 0) {
      cfg.list = 1;
      continue;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      exit(0);
    }
    /* Both "--opt value" and "--opt=value". */
    const char *eq = strchr(a, '=');
    size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
    const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
    int found = 0;
    if (nlen == 6 && memcmp(a, "--host", 6) == 0) {
      found = 1;
      if (val == NULL || strlen(val) >= sizeof cfg.host) {
        fprintf(stderr, "uvcrawl-siteserver: --host needs an IP address\n");
        exit(2);
      }
      memcpy(cfg.host, val, strlen(val) + 1);
    }
    for (size_t k = 0; !found && k < sizeof nums / sizeof nums[0]; k++) {
      if (nlen != strlen(nums[k].name) || memcmp(a, nums[k].name, nlen) != 0) continue;
      found = 1;
      if (parse_u32(val, nums[k].min, nums[k].max, nums[k].dst) != 0) {
        fprintf(stderr, "uvcrawl-siteserver: %s needs an integer in %" PRIu32 "..%" PRIu32 "\n",
                nums[k].name, nums[k].min, nums[k].max);
        exit(2);
      }
    }
    if (!found) {
      fprintf(stderr, "uvcrawl-siteserver: unknown option '%s'\n", a);
      usage(stderr);
      exit(2);
    }
    if (eq == NULL) i++; /* consumed the value */
  }
}

int main(int argc, char **argv) {
  union addr addr;
  int v6, r;

  parse_args(argc, argv);
  if (resolve_host(cfg.host, cfg.port, &addr, &v6) != 0) {
    fprintf(stderr, "uvcrawl-siteserver: --host '%s' is not an IP address\n", cfg.host);
    return 2;
  }

  if (cfg.list) {
    if (cfg.port == 0) {
      fprintf(stderr, "uvcrawl-siteserver: --list needs --port\n");
      return 2;
    }
    make_origin(v6);
    if (ensure_expected() != 0) {
      fprintf(stderr, "uvcrawl-siteserver: out of memory\n");
      return 1;
    }
    if (fwrite(expected, 1, expected_len, stdout) != expected_len || fflush(stdout) != 0) {
      free(expected);
      return 1;
    }
    free(expected);
    return 0;
  }

  /* A peer closing mid-write must surface as EPIPE, not kill the server. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGPIPE, &sa, NULL);

  /* Thousands of concurrent connections need more descriptors than the usual soft limit. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl); /* best effort */
  }

  loop = uv_default_loop();
  if ((r = uv_tcp_init(loop, &server)) != 0 || (r = uv_tcp_bind(&server, &addr.sa, 0)) != 0 ||
      (r = uv_listen((uv_stream_t *)&server, 4096, on_connection)) != 0) {
    fprintf(stderr, "uvcrawl-siteserver: listen on %s:%" PRIu32 ": %s\n", cfg.host, cfg.port,
            uv_strerror(r));
    return 1;
  }
  int alen = (int)sizeof addr;
  if ((r = uv_tcp_getsockname(&server, &addr.sa, &alen)) != 0) {
    fprintf(stderr, "uvcrawl-siteserver: getsockname: %s\n", uv_strerror(r));
    return 1;
  }
  cfg.port = ntohs(v6 ? addr.in6.sin6_port : addr.in4.sin_port);
  make_origin(v6);

  if (uv_signal_init(loop, &sig_term) != 0 || uv_signal_init(loop, &sig_int) != 0 ||
      uv_signal_start(&sig_term, on_signal, SIGTERM) != 0 ||
      uv_signal_start(&sig_int, on_signal, SIGINT) != 0) {
    fprintf(stderr, "uvcrawl-siteserver: cannot install signal handlers\n");
    return 1;
  }

  printf("port %" PRIu32 "\n", cfg.port);
  fflush(stdout);

  uv_run(loop, UV_RUN_DEFAULT);
  r = uv_loop_close(loop);
  if (r != 0) fprintf(stderr, "uvcrawl-siteserver: loop close: %s\n", uv_strerror(r));
  free(expected);
  return 0;
}
