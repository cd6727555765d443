/* uvcrawl-siteserver: a single-threaded libuv HTTP/1.1 keep-alive server for a deterministic
 * synthetic web site, used by the tests, the demo and the benchmarks.
 *
 *   uvcrawl-siteserver [--port P] [--host 127.0.0.1] [--pages N] [--fanout F] [--broken PCT]
 *                      [--redirect PCT] [--size BYTES] [--delay MS] [--list]
 *                      [--external ORIGIN] [--no-head] [--hostile] [--robots FILE]
 *                      [--robots-status N] [--robots-redirect] [--sitemap N] [--hold]
 *
 * Page 0 is "/", page i > 0 is "/p/i.html"; page i links to its children i*F+1 .. i*F+F (< N)
 * in varying spellings, to its parent and to "/", sometimes through a 301 redirect "/r/c",
 * sometimes to a broken "/missing/i.html", and every tenth page embeds a non-HTML "/img/i.bin"
 * whose bytes look like a link (a crawler must not parse it). One link generator drives both
 * the renderer and the breadth-first search that produces the expected URL list
 * (GET /__expected, or --list), so the two cannot disagree; the same search lists every link
 * of every expected page (GET /__links). GET /__stats, /__log and /__reset expose counters
 * and a request log. Paths under "/h/" misbehave on purpose (broken framing, resets, endless
 * bodies, gzip bombs, redirect loops, 429/503 before success, slow responses); they are only
 * linked with --hostile and never expected. With --sitemap N the site also has N orphan pages
 * that no page links, listed only by sitemaps (/sitemap.xml, an index of a plain and a gzipped
 * sitemap, and one that a generated robots.txt names); GET /__sitemap lists what a crawler that
 * reads sitemaps fetches beyond /__expected. With --hold the /p/ pages wait until GET /__release,
 * so a test can order events on the server instead of timing them. On start the server prints "port NNNN" and serves
 * until SIGTERM/SIGINT. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem, memrchr, gmtime_r */
#endif
#define ZLIB_CONST /* lets deflate read from const buffers */

#include <uv.h>
#include <zlib.h>

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
#include <time.h>

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
#define EXT_ORIGIN_MAX 200        /* --external, normalized */
#define HREF_MAX (EXT_ORIGIN_MAX + 64)
#define URL_MAX (ORIGIN_MAX + HREF_MAX) /* an href made absolute */
#define MAX_PAGES 10000000u       /* keeps numbers in 32 bits and /__expected under 4 GiB */
#define MAX_FANOUT 1000u
#define MAX_ROBOTS (64u * 1024 * 1024)
#define MAX_ORPHANS 99996u /* a.xml (the even orphans and two pages) stays within 50,000 URLs */

/* The hostile paths ("/h/..."). */
#define SLOW_MS 500                          /* /h/slowhost, whatever --delay says */
#define RESET_MS 50                          /* /h/reset: pause between partial body and RST */
#define ENDLESS_MS 100                       /* /h/endless: one chunk per period */
#define TRICKLE_MS 200                       /* /h/trickle: one byte per period */
#define TEXT_LEN 1000                        /* the page of /h/trickle, /h/cl-*, /h/reset */
#define RESET_CLEN 100000                    /* /h/reset announces this much, sends TEXT_LEN */
#define SHORT_SENT 10                        /* /h/cl-short sends this much of TEXT_LEN */
#define LONG_CLEN 10                         /* /h/cl-long announces this much of TEXT_LEN */
#define HUGE_LEN ((uint64_t)100 * 1024 * 1024) /* /h/huge */
#define JUNK_LEN (64 * 1024)                 /* /h/junk, and the chunk /h/huge repeats */
#define BOMB_SEG (1024 * 1024)               /* /h/gzipbomb: zeros per full-flush segment */
#define BOMB_SEGS 1024                       /* ... times this many: 1 GiB */
#define DEEP_LEVELS 100000                   /* /h/deep */
#define MANY_LINKS 1000000                   /* /h/manylinks */
#define SOME_LINKS 150000                    /* /h/somelinks: past a 2 MiB parse cap, ~3.5 MB */
#define BIG_HEADER (1024 * 1024)             /* /h/bigheader: one header line this long */
#define LOG_MAX 1000000                      /* /__log entries */
#define LOG_PATH_MAX 2048                    /* longer logged paths are cut */

/* ---- configuration and counters ------------------------------------------------------- */

static struct {
  char host[HOST_MAX];
  uint32_t port, pages, fanout, broken, redirect, size, delay;
  int list;
  char origin[ORIGIN_MAX];       /* http://HOST:PORT */
  char origin_upper[ORIGIN_MAX]; /* the same upper-cased, for one link spelling */
} cfg = {"127.0.0.1", 0, 100, 5, 10, 10, 2048, 0, 0, "", ""};

/* Options added after cfg; kept apart so cfg's positional initializer stays complete. */
static struct {
  char external[EXT_ORIGIN_MAX]; /* normalized --external origin, "" when not given */
  int no_head, hostile, robots_redirect;
  uint32_t robots_status; /* 0: not given */
  char *robots;           /* --robots content, NULL when not given */
  size_t robots_len;
  int sitemap;            /* --sitemap given */
  uint32_t orphans;       /* its N */
  int hold;               /* --hold: /p/ pages wait for GET /__release */
  int released;           /* /__release seen: nothing is held any more */
} opt;

static struct {
  uint64_t requests, max_concurrent, open, connections;
  uint64_t active, max_active; /* requests answered after --delay, waiting for it now / most */
} stats;

static uint64_t start_ns; /* uv_hrtime() at start, the origin of /__log times */

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

/* A body built once on first use and shared by every response until exit: the site is
 * deterministic, and the big ones (/h/manylinks, /h/gzipbomb) are costly to make. */
struct cached {
  char *p;
  size_t len;
};

static int cached_get(struct cached *c, int (*build)(struct sbuf *)) {
  if (c->p != NULL) return 0;
  struct sbuf b = {NULL, 0, 0, 0};
  if (sb_reserve(&b, 1) != 0 || build(&b) != 0 || b.oom) { /* p is non-NULL once built */
    free(b.p);
    return -1;
  }
  c->p = b.p;
  c->len = b.len;
  return 0;
}

static void cached_free(struct cached *c) {
  free(c->p);
  c->p = NULL;
  c->len = 0;
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
  LINK_EXTERNAL,
  LINK_HOSTILE
};

struct link {
  enum link_kind kind;
  enum node_type type; /* what a crawler reaches by following it; NODE_NONE: nothing */
  uint32_t num;
  char href[HREF_MAX]; /* the spelling that appears in the HTML */
};

typedef void (*link_fn)(void *ctx, const struct link *l);

/* Linked from "/" with --hostile, once each, in this order. */
static const char *const hostile_paths[] = {
    "/h/reset",    "/h/badstatus", "/h/badchunk", "/h/bigheader", "/h/endless",
    "/h/trickle",  "/h/gzipbomb",  "/h/cl-short", "/h/cl-long",   "/h/loop/0",
    "/h/loopback", "/h/junk",      "/h/deep",     "/h/manylinks", "/h/huge",
    "/h/429",      "/h/429date",   "/h/503",      "/h/slowhost"};

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

  /* Links into a second site (--external), for link checking across origins: one to a page it
   * has (if it is big enough), one to a path it never has. Appended last, so the existing links
   * keep their order; NODE_NONE keeps them out of the expected crawl. */
  if (opt.external[0] != '\0') {
    l.kind = LINK_EXTERNAL;
    l.type = NODE_NONE;
    l.num = i;
    if (i % 7 == 1) {
      fmt_fixed(l.href, sizeof l.href, "%s/p/%" PRIu32 ".html", opt.external, i);
      fn(ctx, &l);
    }
    if (i % 11 == 2) {
      fmt_fixed(l.href, sizeof l.href, "%s/gone/%" PRIu32 ".html", opt.external, i);
      fn(ctx, &l);
    }
  }

  if (i == 0 && opt.hostile) {
    for (size_t k = 0; k < sizeof hostile_paths / sizeof hostile_paths[0]; k++) {
      l.kind = LINK_HOSTILE;
      l.type = NODE_NONE; /* never in /__expected: what a crawler gets there is undefined */
      l.num = (uint32_t)k;
      fmt_fixed(l.href, sizeof l.href, "%s", hostile_paths[k]);
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
  case LINK_HOSTILE: return "Hostile";
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
  struct sbuf *out; /* the /__expected listing, or NULL when only the queue is wanted */
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
  if (b->out == NULL) return;
  node_path(t, num, path, sizeof path);
  sb_printf(b->out, "%s%s %d %" PRIu32 "\n", cfg.origin, path, node_status(t), depth);
}

static void bfs_on_link(void *ctx, const struct link *l) {
  struct bfs *b = ctx;
  if (l->type != NODE_NONE) bfs_visit(b, l->type, l->num, b->depth + 1);
}

/* Leaves every node of the expected crawl in b->q, in BFS discovery order (the caller frees
 * b->q). Returns 0 or -1 (OOM). */
static int bfs_run(struct bfs *b) {
  b->seen = calloc(cfg.pages, 1);
  if (b->seen == NULL) return -1;
  bfs_visit(b, NODE_PAGE, 0, 0);
  for (size_t h = 0; h < b->len && !b->oom; h++) {
    struct qent e = b->q[h]; /* copied: visiting may move the queue */
    b->depth = e.depth;
    if (e.type == NODE_PAGE)
      page_links(e.num, bfs_on_link, b);
    else if (e.type == NODE_REDIRECT) /* a redirect's only out-edge is its target */
      bfs_visit(b, NODE_PAGE, e.num, e.depth + 1);
  }
  free(b->seen);
  b->seen = NULL;
  return b->oom ? -1 : 0;
}

/* Fills out with "URL STATUS DEPTH\n" lines in BFS discovery order. Returns 0 or -1 (OOM). */
static int build_expected(struct sbuf *out) {
  struct bfs b = {NULL, 0, 0, NULL, 0, out, 0};
  int r = bfs_run(&b);
  free(b.q);
  return r != 0 || out->oom ? -1 : 0;
}

static struct cached expected; /* /__expected, and --list */

/* ---- /__links: every link of every expected page, made absolute -------------------------- */

struct links_ctx {
  struct sbuf *out;
  size_t page_start; /* out->len where the current page's lines begin */
  char from[URL_MAX];
};

/* The absolute URL a crawler makes of l, fragment dropped; -1 for links that lead nowhere
 * fetchable (mailto:, javascript:). Node links use node_path, so every spelling of a URL comes
 * out exactly as /__expected writes it. */
static int link_target(const struct link *l, char *buf, size_t n) {
  char path[64];
  if (l->kind == LINK_MAILTO || l->kind == LINK_JS) return -1;
  if (l->type != NODE_NONE) {
    node_path(l->type, l->num, path, sizeof path);
    fmt_fixed(buf, n, "%s%s", cfg.origin, path);
  } else if (l->href[0] == '/') { /* same-origin, absolute path (the hostile links) */
    fmt_fixed(buf, n, "%s%s", cfg.origin, l->href);
  } else { /* already absolute and normalized (the external ones) */
    fmt_fixed(buf, n, "%s", l->href);
  }
  char *hash = strchr(buf, '#');
  if (hash != NULL) *hash = '\0';
  return 0;
}

static void links_on_link(void *ctx, const struct link *l) {
  struct links_ctx *x = ctx;
  char to[URL_MAX], line[2 * URL_MAX + 2];
  if (link_target(l, to, sizeof to) != 0) return;
  fmt_fixed(line, sizeof line, "%s %s\n", x->from, to);
  size_t len = strlen(line);
  /* One line per distinct pair. Children are distinct by construction (numbers above the
   * page's own, one each), so only the few other links ("/" as parent and as home) are looked
   * up among the page's lines so far; URLs hold no spaces, so a match is a whole line. */
  if (l->kind != LINK_CHILD && l->kind != LINK_REDIRECT && x->out->len > x->page_start &&
      memmem(x->out->p + x->page_start, x->out->len - x->page_start, line, len) != NULL)
    return;
  sb_add(x->out, line, len);
}

/* Fills out with "FROM TO\n" lines: the expected pages in BFS order, each page's links in
 * document order. Returns 0 or -1 (OOM). */
static int build_links(struct sbuf *out) {
  struct bfs b = {NULL, 0, 0, NULL, 0, NULL, 0};
  struct links_ctx x;
  char path[64];
  int r = bfs_run(&b);
  x.out = out;
  for (size_t h = 0; r == 0 && h < b.len && !out->oom; h++) {
    if (b.q[h].type != NODE_PAGE) continue; /* only pages have links */
    node_path(NODE_PAGE, b.q[h].num, path, sizeof path);
    fmt_fixed(x.from, sizeof x.from, "%s%s", cfg.origin, path);
    x.page_start = out->len;
    page_links(b.q[h].num, links_on_link, &x);
  }
  free(b.q);
  return r != 0 || out->oom ? -1 : 0;
}

static struct cached links;

/* ---- hostile bodies, built once ---------------------------------------------------------- */

static struct cached text_body, junk_body, deep_body, many_body, some_body, bomb_body,
    bigheader_body;

/* A complete HTML page of exactly TEXT_LEN bytes: /h/trickle sends it byte by byte, /h/reset
 * and /h/cl-* send parts of it. */
static int build_text(struct sbuf *b) {
  static const char head[] = "<!DOCTYPE html>\n<html><head><title>Text</title></head><body><p>";
  static const char tail[] = "</p></body></html>\n";
  sb_add(b, head, sizeof head - 1);
  for (size_t k = 0; b->len + sizeof tail - 1 < TEXT_LEN && !b->oom; k++)
    sb_add(b, &"abcdefg "[k % 8], 1);
  sb_add(b, tail, sizeof tail - 1);
  return b->len == TEXT_LEN ? 0 : -1;
}

/* Deterministic noise with guaranteed NULs, served as text/html: a crawler must cope with (and
 * not crash on) binary garbage claiming to be HTML. */
static int build_junk(struct sbuf *b) {
  if (sb_reserve(b, JUNK_LEN) != 0) return -1;
  for (uint32_t k = 0; k < JUNK_LEN; k++)
    b->p[k] = k % 1024 == 7 ? '\0' : (char)(mix32(0x6a756e6bu ^ k) & 0xff);
  b->len = JUNK_LEN;
  b->p[b->len] = '\0';
  return 0;
}

/* A link nested DEEP_LEVELS elements deep: recursive tree builders overflow their stack. */
static int build_deep(struct sbuf *b) {
  static const char head[] = "<!DOCTYPE html>\n<html><head><title>Deep</title></head><body>\n";
  static const char link[] = "<a href=\"/p/1.html\">x</a>";
  static const char tail[] = "\n</body></html>\n";
  sb_add(b, head, sizeof head - 1);
  for (uint32_t k = 0; k < DEEP_LEVELS; k++) sb_add(b, "<span>", 6);
  sb_add(b, link, sizeof link - 1);
  for (uint32_t k = 0; k < DEEP_LEVELS; k++) sb_add(b, "</span>", 7);
  sb_add(b, tail, sizeof tail - 1);
  return 0;
}

/* n distinct (404) links in one page: a crawler must cap what it keeps per page. */
static int build_link_page(struct sbuf *b, uint32_t n) {
  static const char head[] = "<!DOCTYPE html>\n<html><head><title>Links</title></head><body>\n";
  static const char tail[] = "</body></html>\n";
  sb_add(b, head, sizeof head - 1);
  for (uint32_t k = 0; k < n && !b->oom; k++)
    sb_printf(b, "<a href=/m/%" PRIu32 ">x</a>\n", k);
  sb_add(b, tail, sizeof tail - 1);
  return 0;
}

static int build_many(struct sbuf *b) { return build_link_page(b, MANY_LINKS); }

/* The same page cut to what a crawler's default parse cap reads, and a little more: the same
 * links parsed, a seventh of the bytes to send (tests that time nothing but wait for it). */
static int build_some(struct sbuf *b) { return build_link_page(b, SOME_LINKS); }

/* A complete response, status line included, whose header block has one BIG_HEADER-byte
 * line: a client must bound the header size it accepts. */
static int build_bigheader(struct sbuf *b) {
  static const char body[] = "<!DOCTYPE html>\n<html><body><p>Big header.</p></body></html>\n";
  static const char name[] = "X-Big: ";
  sb_printf(b,
            "HTTP/1.1 200 OK\r\nServer: uvcrawl-siteserver\r\nContent-Type: text/html; "
            "charset=utf-8\r\nContent-Length: %zu\r\nConnection: close\r\n%s",
            sizeof body - 1, name);
  size_t fill = BIG_HEADER - (sizeof name - 1) - 2; /* the line is BIG_HEADER with its CRLF */
  if (sb_reserve(b, fill) != 0) return -1;
  memset(b->p + b->len, 'a', fill);
  b->len += fill;
  b->p[b->len] = '\0';
  sb_add(b, "\r\n\r\n", 4);
  sb_add(b, body, sizeof body - 1);
  return 0;
}

/* Runs deflate until it has consumed its input and flushed as flush asks. */
static int deflate_into(z_stream *z, struct sbuf *out, int flush) {
  for (;;) {
    if (sb_reserve(out, 64 * 1024) != 0) return -1;
    size_t room = out->cap - out->len - 1; /* the sbuf keeps a byte for its NUL */
    z->next_out = (Bytef *)out->p + out->len;
    z->avail_out = (uInt)room;
    int r = deflate(z, flush);
    out->len += room - z->avail_out;
    out->p[out->len] = '\0';
    if (r == Z_STREAM_ERROR) return -1;
    if (flush == Z_FINISH ? r == Z_STREAM_END : z->avail_out != 0) return 0;
  }
}

/* gzip (deflate level 9) of 1 GiB of zeros, about 1 MB. Deflating a whole GiB takes seconds
 * and would stall every other connection, so the input goes in BOMB_SEG segments, each ended
 * by a full flush: that resets the compressor, so once two segments come out identical every
 * later one would too and is copied instead of computed (if they never match, all of them
 * are computed: slower, same result). The gzip trailer, whose CRC and length zlib only knows
 * for the computed part, is then written from the real totals. */
static int build_bomb(struct sbuf *out) {
  static const Bytef zeros[64 * 1024];
  z_stream z;
  size_t prev_start = 0, prev_len = 0;
  int same = 0;

  memset(&z, 0, sizeof z);
  if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16 /* gzip wrapper */, 9, Z_DEFAULT_STRATEGY) !=
      Z_OK)
    return -1;
  for (uint32_t seg = 0; seg < BOMB_SEGS; seg++) {
    size_t start = out->len;
    if (same) {
      if (sb_reserve(out, prev_len) != 0) break;
      memcpy(out->p + out->len, out->p + prev_start, prev_len); /* reserved first: p stays */
      out->len += prev_len;
      out->p[out->len] = '\0';
    } else {
      for (size_t fed = 0; fed < BOMB_SEG; fed += sizeof zeros) {
        z.next_in = zeros;
        z.avail_in = sizeof zeros;
        if (deflate_into(&z, out, fed + sizeof zeros < BOMB_SEG ? Z_NO_FLUSH : Z_FULL_FLUSH))
          goto fail;
      }
      /* Segment 0 carries the gzip header, so comparisons start with segments 1 and 2. */
      same = seg >= 2 && out->len - start == prev_len &&
             memcmp(out->p + start, out->p + prev_start, prev_len) == 0;
    }
    prev_start = start;
    prev_len = out->len - start;
  }
  if (out->oom || deflate_into(&z, out, Z_FINISH) != 0 || out->len < 8) goto fail;
  deflateEnd(&z);

  /* CRC-32 of 1 GiB of zeros by doubling, instead of reading a GiB. */
  uLong crc = crc32(0L, zeros, sizeof zeros);
  uint64_t done = sizeof zeros;
  while (done < (uint64_t)BOMB_SEG * BOMB_SEGS) {
    crc = crc32_combine(crc, crc, (z_off_t)done);
    done *= 2;
  }
  uint32_t isize = (uint32_t)done; /* ISIZE is the length mod 2^32 */
  unsigned char *t = (unsigned char *)out->p + out->len - 8;
  for (int k = 0; k < 4; k++) {
    t[k] = (unsigned char)(crc >> (8 * k));
    t[4 + k] = (unsigned char)(isize >> (8 * k));
  }
  return 0;

fail:
  deflateEnd(&z);
  return -1;
}

/* ---- sitemaps (--sitemap N), built once at startup ------------------------------------ */

static struct cached sitemap_index, sitemap_a, sitemap_b, sitemap_c, sitemap_robots,
    sitemap_list;

static const char urlset_head[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                  "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n";
static const char urlset_tail[] = "</urlset>\n";

/* /robots.txt names c.xml: --sitemap without --robots or --robots-status. */
static int robots_names_sitemap(void) {
  return opt.sitemap && opt.robots == NULL && opt.robots_status == 0;
}

static void sitemap_url(struct sbuf *b, const char *path) {
  sb_printf(b, "<url><loc>%s%s</loc></url>\n", cfg.origin, path);
}

/* The orphans i < N with i % 2 == parity. */
static void sitemap_orphans(struct sbuf *b, uint32_t parity) {
  for (uint32_t i = parity; i < opt.orphans && !b->oom; i += 2)
    sb_printf(b, "<url><loc>%s/orphan/%" PRIu32 ".html</loc></url>\n", cfg.origin, i);
}

/* /sitemap.xml: an index of a.xml and b.xml.gz. */
static int build_sitemap_index(struct sbuf *b) {
  sb_printf(b,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n"
            "<sitemap><loc>%s/sitemaps/a.xml</loc></sitemap>\n"
            "<sitemap><loc>%s/sitemaps/b.xml.gz</loc></sitemap>\n"
            "</sitemapindex>\n",
            cfg.origin, cfg.origin);
  return 0;
}

/* a.xml: two pages a crawler finds anyway (duplicates it must not fetch twice) and the even
 * orphans. */
static int build_sitemap_a(struct sbuf *b) {
  sb_add(b, urlset_head, sizeof urlset_head - 1);
  sitemap_url(b, "/");
  sitemap_url(b, "/p/1.html");
  sitemap_orphans(b, 0);
  sb_add(b, urlset_tail, sizeof urlset_tail - 1);
  return 0;
}

/* b.xml.gz: the odd orphans, gzip-compressed (served as application/gzip, no
 * Content-Encoding: the crawler must gunzip the body itself). */
static int build_sitemap_b(struct sbuf *out) {
  struct sbuf x = {NULL, 0, 0, 0};
  z_stream z;
  sb_add(&x, urlset_head, sizeof urlset_head - 1);
  sitemap_orphans(&x, 1);
  sb_add(&x, urlset_tail, sizeof urlset_tail - 1);
  memset(&z, 0, sizeof z);
  if (x.oom ||
      deflateInit2(&z, 9, Z_DEFLATED, 15 + 16 /* gzip wrapper */, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
    free(x.p);
    return -1;
  }
  z.next_in = (const Bytef *)x.p;
  z.avail_in = (uInt)x.len;
  int r = deflate_into(&z, out, Z_FINISH);
  deflateEnd(&z);
  free(x.p);
  return r;
}

/* c.xml: named only by the generated robots.txt. */
static int build_sitemap_c(struct sbuf *b) {
  sb_add(b, urlset_head, sizeof urlset_head - 1);
  sitemap_url(b, "/orphan/extra.html");
  sb_add(b, urlset_tail, sizeof urlset_tail - 1);
  return 0;
}

static int build_sitemap_robots(struct sbuf *b) {
  sb_printf(b, "User-agent: *\nAllow: /\nSitemap: %s/sitemaps/c.xml\n", cfg.origin);
  return 0;
}

/* /__sitemap: "URL STATUS" of what a crawler that reads sitemaps fetches beyond /__expected. */
static int build_sitemap_list(struct sbuf *b) {
  const char *o = cfg.origin;
  sb_printf(b, "%s/sitemap.xml 200\n%s/sitemaps/a.xml 200\n%s/sitemaps/b.xml.gz 200\n", o, o, o);
  if (robots_names_sitemap()) sb_printf(b, "%s/sitemaps/c.xml 200\n", o);
  if (cfg.pages < 2) sb_printf(b, "%s/p/1.html 404\n", o); /* a.xml lists it regardless */
  for (uint32_t i = 0; i < opt.orphans && !b->oom; i++)
    sb_printf(b, "%s/orphan/%" PRIu32 ".html 200\n", o, i);
  if (robots_names_sitemap()) sb_printf(b, "%s/orphan/extra.html 200\n", o);
  return 0;
}

static int build_sitemaps(void) {
  return cached_get(&sitemap_index, build_sitemap_index) != 0 ||
                 cached_get(&sitemap_a, build_sitemap_a) != 0 ||
                 cached_get(&sitemap_b, build_sitemap_b) != 0 ||
                 cached_get(&sitemap_c, build_sitemap_c) != 0 ||
                 cached_get(&sitemap_robots, build_sitemap_robots) != 0 ||
                 cached_get(&sitemap_list, build_sitemap_list) != 0
             ? -1
             : 0;
}

/* ---- connections ------------------------------------------------------------------------ */

/* A response body produced after the header, over time, while the connection reads nothing. */
enum stream_kind {
  ST_NONE,
  ST_ENDLESS, /* /h/endless: a chunk per ENDLESS_MS until the client goes away */
  ST_TRICKLE, /* /h/trickle: a byte per TRICKLE_MS */
  ST_HUGE,    /* /h/huge: HUGE_LEN bytes as fast as the client reads them */
  ST_RESET    /* /h/reset: once the partial body is out, a RST instead of the rest */
};

struct wreq {
  uv_write_t req;
  const char *body; /* NULL for HEAD and bodiless responses */
  size_t body_len;
  char *to_free;    /* owned body memory, or NULL for static/shared bodies */
  int close;        /* last response on this connection */
  enum stream_kind stream; /* started once this is queued */
  size_t hdr_len;   /* 0: no generated header (raw responses, stream pieces) */
  char hdr[512];
};

struct conn {
  uv_tcp_t tcp;
  uv_timer_t timer; /* --delay, stream pacing, and the lingering close */
  uv_shutdown_t shutdown_req;
  struct conn *prev, *next; /* all open connections, for shutdown on a signal */
  char *in;
  size_t in_len, in_cap;
  struct wreq *pending; /* response waiting for the delay timer */
  unsigned writes;      /* uv_write calls not yet called back */
  int handles;          /* handles not yet closed; free when it reaches 0 */
  enum stream_kind stream; /* ST_NONE unless a streamed response is in progress */
  uint64_t stream_left;    /* body bytes still to queue (trickle, huge) */
  size_t stream_pos;       /* next byte of the trickled page */
  unsigned reading : 1, closing : 1, eof : 1, want_close : 1, lingering : 1, throttled : 1;
  unsigned stream_close : 1; /* close once the stream ends */
  unsigned held : 1;         /* pending waits for /__release, not for its timer */
};

struct resp {
  int status;
  const char *ctype;
  const char *body;
  size_t len;
  char *to_free;
  size_t clen;             /* Content-Length sent; only the /h/ lies make it differ from len */
  enum stream_kind stream; /* body that follows the header over time (len is then 0) */
  unsigned raw : 1;        /* body is the whole response, status line and headers included */
  unsigned chunked : 1;    /* Transfer-Encoding: chunked instead of Content-Length */
  unsigned close : 1;      /* close after it whatever the client asked */
  char extra[128];         /* additional header lines, each ending in CRLF */
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
  if (c->pending != NULL) {
    wreq_free(c->pending);
    stats.active--;
  }
  free(c->in);
  free(c);
}

static void on_tcp_close(uv_handle_t *h) { conn_release(container_of(h, struct conn, tcp)); }

static void on_timer_close(uv_handle_t *h) {
  conn_release(container_of(h, struct conn, timer));
}

/* rst: abort with a RST (SO_LINGER 0) instead of the usual FIN. */
static void conn_close_how(struct conn *c, int rst) {
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
  if (!rst || uv_tcp_close_reset(&c->tcp, on_tcp_close) != 0) /* it closes only on success */
    uv_close((uv_handle_t *)&c->tcp, on_tcp_close);
}

static void conn_close(struct conn *c) { conn_close_how(c, 0); }

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

/* Reads only while a request could be answered right away: a delayed, streaming or throttled
 * connection leaves further bytes in the kernel, which bounds memory and keeps responses in
 * order. */
static void update_reading(struct conn *c) {
  if (c->closing) return;
  int want = !c->eof && c->pending == NULL && c->stream == ST_NONE && !c->throttled;
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
  if (!c->closing && c->eof && !c->want_close && c->pending == NULL && c->stream == ST_NONE &&
      c->writes == 0)
    conn_close(c);
}

static void on_shutdown(uv_shutdown_t *req, int status);
static void stream_pump(struct conn *c);
static void stream_end(struct conn *c);

static void on_write(uv_write_t *req, int status) {
  struct wreq *w = container_of(req, struct wreq, req);
  struct conn *c = container_of(req->handle, struct conn, tcp);
  wreq_free(w);
  c->writes--;
  if (c->closing) return;
  if (status < 0) {
    conn_close(c); /* also how a streamed response learns that the client went away */
    return;
  }
  if (c->stream == ST_HUGE) {
    /* Ended here, not where the last piece is queued, which may be inside process_input. */
    if (c->stream_left > 0)
      stream_pump(c);
    else
      stream_end(c);
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

/* Queues w's header and body; takes ownership of w. Returns -1 when the connection closed. */
static int queue_write(struct conn *c, struct wreq *w) {
  uv_buf_t bufs[2];
  unsigned n = 0;
  if (w->hdr_len > 0) bufs[n++] = uv_buf_init(w->hdr, (unsigned)w->hdr_len);
  if (w->body != NULL && w->body_len > 0)
    bufs[n++] = uv_buf_init((char *)w->body, (unsigned)w->body_len);
  if (n == 0) { /* nothing to send */
    wreq_free(w);
    return 0;
  }
  if (uv_write(&w->req, (uv_stream_t *)&c->tcp, bufs, n, on_write) != 0) {
    wreq_free(w); /* not queued, so no callback will free it */
    conn_close(c);
    return -1;
  }
  c->writes++;
  return 0;
}

static void close_after_writes(struct conn *c) {
  /* The shutdown is queued behind the writes, so the FIN follows the response. */
  c->want_close = 1;
  if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) conn_close(c);
}

/* One piece of a streamed body, from memory that outlives the connection. */
static int stream_write(struct conn *c, const char *p, size_t n) {
  struct wreq *w = malloc(sizeof *w);
  if (w == NULL) {
    conn_close(c);
    return -1;
  }
  w->body = p;
  w->body_len = n;
  w->to_free = NULL;
  w->close = 0;
  w->stream = ST_NONE;
  w->hdr_len = 0;
  return queue_write(c, w);
}

/* Queues /h/huge pieces while the write queue is short, so a slow reader holds at most about
 * HIGH_WATER of it in memory; on_write calls again as the queue drains. */
static void stream_pump(struct conn *c) {
  while (!c->closing && c->stream_left > 0 &&
         uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) < HIGH_WATER) {
    size_t n = c->stream_left < junk_body.len ? (size_t)c->stream_left : junk_body.len;
    if (stream_write(c, junk_body.p, n) != 0) return;
    c->stream_left -= n;
  }
}

static void stream_start(struct conn *c, enum stream_kind st, int close) {
  uint64_t period;
  c->stream = st;
  c->stream_close = close ? 1 : 0;
  c->stream_pos = 0;
  switch (st) {
  case ST_HUGE:
    c->stream_left = HUGE_LEN;
    stream_pump(c);
    return;
  case ST_TRICKLE:
    c->stream_left = TEXT_LEN;
    period = TRICKLE_MS;
    break;
  case ST_ENDLESS:
    period = ENDLESS_MS;
    break;
  default: /* ST_RESET */
    period = RESET_MS;
    break;
  }
  if (uv_timer_start(&c->timer, on_timer, period, period) != 0) conn_close(c);
}

/* Back to ordinary keep-alive service: the next request, or the close the client asked for. */
static void stream_end(struct conn *c) {
  uv_timer_stop(&c->timer);
  c->stream = ST_NONE;
  if (c->stream_close)
    close_after_writes(c);
  else
    process_input(c);
}

/* A stream's timer fired (never for ST_HUGE, which write callbacks drive). */
static void stream_tick(struct conn *c) {
  static const char chunk[] = "a\r\n<p>endless\r\n"; /* 10 bytes of data, chunk-framed */
  switch (c->stream) {
  case ST_RESET:
    /* Only once the partial body has reached the kernel: cancelling it would make this an
     * empty-response test. Until then the timer just fires again. */
    if (c->writes == 0) conn_close_how(c, 1);
    break;
  case ST_ENDLESS:
    (void)stream_write(c, chunk, sizeof chunk - 1); /* a failed write ends it in on_write */
    break;
  case ST_TRICKLE:
    if (stream_write(c, text_body.p + c->stream_pos, 1) != 0) break;
    c->stream_pos++;
    if (--c->stream_left == 0) stream_end(c);
    break;
  default:
    break;
  }
}

static void send_response(struct conn *c, struct wreq *w) {
  int last = w->close;
  enum stream_kind st = w->stream;
  if (queue_write(c, w) != 0) return;
  if (st != ST_NONE) { /* the stream decides when the body ends and the connection closes */
    stream_start(c, st, last);
  } else if (last) {
    close_after_writes(c);
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
  if (c->stream != ST_NONE) {
    stream_tick(c);
    return;
  }
  struct wreq *w = c->pending;
  if (w == NULL) return;
  c->pending = NULL;
  stats.active--;
  send_response(c, w);
  process_input(c); /* the next pipelined request, if any; a no-op while a stream runs */
}

static const char *reason(int status) {
  switch (status) {
  case 200: return "OK";
  case 204: return "No Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 304: return "Not Modified";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 410: return "Gone";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  default: return "Unknown";
  }
}

#define HOLD UINT32_MAX /* a respond() delay: until GET /__release */

/* Takes ownership of r->to_free in every case. delay: milliseconds before it is sent, or HOLD. */
static void respond(struct conn *c, const struct resp *r, int keep_alive, int head,
                    uint32_t delay) {
  struct wreq *w = malloc(sizeof *w);
  if (w == NULL) {
    free(r->to_free);
    conn_close(c);
    return;
  }
  int n = 0;
  if (!r->raw) {
    char framing[48];
    if (r->chunked)
      fmt_fixed(framing, sizeof framing, "Transfer-Encoding: chunked");
    else
      fmt_fixed(framing, sizeof framing, "Content-Length: %zu", r->clen);
    n = snprintf(w->hdr, sizeof w->hdr,
                 "HTTP/1.1 %d %s\r\nServer: uvcrawl-siteserver\r\nContent-Type: %s\r\n"
                 "%s\r\nConnection: %s\r\n%s\r\n",
                 r->status, reason(r->status), r->ctype, framing,
                 keep_alive ? "keep-alive" : "close", r->extra);
    if (n < 0 || (size_t)n >= sizeof w->hdr) {
      free(r->to_free);
      free(w);
      conn_close(c);
      return;
    }
  }
  w->hdr_len = (size_t)n;
  /* HEAD: same headers, Content-Length included, and no body or stream; a raw response is
   * sent as is, and /h/reset still ends in a RST. */
  int nobody = head && !r->raw;
  w->body = nobody ? NULL : r->body;
  w->body_len = nobody ? 0 : r->len;
  w->to_free = r->to_free;
  w->close = !keep_alive || r->close;
  w->stream = nobody && r->stream != ST_RESET ? ST_NONE : r->stream;
  if (delay == HOLD) {
    c->pending = w;
    c->held = 1;
    update_reading(c);
    if (++stats.active > stats.max_active) stats.max_active = stats.active;
    return;
  }
  if (delay > 0 && uv_timer_start(&c->timer, on_timer, delay, 0) == 0) {
    c->pending = w;
    if (++stats.active > stats.max_active) stats.max_active = stats.active;
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
  r->clen = len;
  r->stream = ST_NONE;
  r->raw = 0;
  r->chunked = 0;
  r->close = 0;
  r->extra[0] = '\0';
}

/* bytes are the whole response; the connection closes after them. */
static void resp_raw(struct resp *r, const char *bytes, size_t len) {
  resp_set(r, 0, "", bytes, len, NULL);
  r->raw = 1;
  r->close = 1;
}

static void resp_error(struct resp *r, int status) {
  const char *body;
  switch (status) {
  case 400: body = ERROR_PAGE(400, "Bad Request"); break;
  case 404: body = ERROR_PAGE(404, "Not Found"); break;
  case 405: body = ERROR_PAGE(405, "Method Not Allowed"); break;
  case 429: body = ERROR_PAGE(429, "Too Many Requests"); break;
  case 431: body = ERROR_PAGE(431, "Request Header Fields Too Large"); break;
  case 503: body = ERROR_PAGE(503, "Service Unavailable"); break;
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

/* path is prefix itself or something below it ("/h/429", "/h/429/x", not "/h/429date"). */
static int path_under(const char *path, size_t len, const char *prefix) {
  size_t pl = strlen(prefix);
  return len >= pl && memcmp(path, prefix, pl) == 0 && (len == pl || path[pl] == '/');
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
  unsigned held = 0;
  for (const struct conn *c = conns; c != NULL; c = c->next) held += c->held;
  struct sbuf b = {NULL, 0, 0, 0};
  sb_printf(&b,
            "{\"requests\":%" PRIu64 ",\"max_concurrent\":%" PRIu64 ",\"open\":%" PRIu64
            ",\"connections\":%" PRIu64 ",\"max_active\":%" PRIu64 ",\"held\":%u}",
            stats.requests, stats.max_concurrent, stats.open, stats.connections,
            stats.max_active, held);
  if (b.oom) {
    free(b.p);
    resp_error(r, 500);
    return;
  }
  resp_set(r, 200, "application/json", b.p, b.len, b.p);
}

/* ---- per-URL request counters (/h/429, /h/429date, /h/503) ----------------------------- */

struct hit {
  char *key; /* path and query; NULL: free slot */
  size_t len;
  uint32_t count;
};

static struct {
  struct hit *t;
  size_t cap, used; /* cap is 0 or a power of two */
} hits;

static uint64_t fnv1a(const char *s, size_t n) {
  uint64_t h = 1469598103934665603u;
  for (size_t k = 0; k < n; k++) {
    h ^= (unsigned char)s[k];
    h *= 1099511628211u;
  }
  return h;
}

static struct hit *hits_slot(struct hit *t, size_t cap, const char *key, size_t len) {
  size_t k = (size_t)fnv1a(key, len) & (cap - 1);
  while (t[k].key != NULL && (t[k].len != len || memcmp(t[k].key, key, len) != 0))
    k = (k + 1) & (cap - 1); /* linear probing; the table is never full */
  return &t[k];
}

/* Counts one more request for key and returns the count, this one included. On OOM it
 * returns UINT32_MAX, which every caller reads as "long past the failures". */
static uint32_t hits_bump(const char *key, size_t len) {
  if ((hits.used + 1) * 4 > hits.cap * 3) { /* keep the load under 3/4 */
    size_t ncap = hits.cap ? hits.cap * 2 : 64;
    struct hit *nt = calloc(ncap, sizeof *nt);
    if (nt == NULL) return UINT32_MAX;
    for (size_t k = 0; k < hits.cap; k++)
      if (hits.t[k].key != NULL) *hits_slot(nt, ncap, hits.t[k].key, hits.t[k].len) = hits.t[k];
    free(hits.t);
    hits.t = nt;
    hits.cap = ncap;
  }
  struct hit *h = hits_slot(hits.t, hits.cap, key, len);
  if (h->key == NULL) {
    h->key = malloc(len + 1);
    if (h->key == NULL) return UINT32_MAX;
    memcpy(h->key, key, len);
    h->len = len;
    h->count = 0;
    hits.used++;
  }
  if (h->count < UINT32_MAX) h->count++;
  return h->count;
}

static void hits_clear(void) {
  for (size_t k = 0; k < hits.cap; k++) free(hits.t[k].key);
  free(hits.t);
  hits.t = NULL;
  hits.cap = hits.used = 0;
}

/* ---- the request log (/__log) ------------------------------------------------------------ */

static struct sbuf reqlog;
static uint32_t reqlog_entries;

/* Appends s as one log field: bytes that would break the line format become '?'. */
static void log_field(const char *s, size_t n, size_t max) {
  char buf[256];
  size_t k = 0, fill = 0;
  if (n > max) n = max;
  for (; k < n; k++) {
    unsigned char ch = (unsigned char)s[k];
    buf[fill++] = ch <= ' ' || ch == 0x7f ? '?' : (char)ch;
    if (fill == sizeof buf) {
      sb_add(&reqlog, buf, fill);
      fill = 0;
    }
  }
  sb_add(&reqlog, buf, fill);
}

/* "MS METHOD PATH": milliseconds since start with a tenth, taken when the request is parsed;
 * for a client that waits for each response that is when it arrived. */
static void log_request(const char *method, size_t mlen, const char *path, size_t plen) {
  if (reqlog_entries >= LOG_MAX) return;
  uint64_t tenths = (uv_hrtime() - start_ns) / 100000u;
  sb_printf(&reqlog, "%" PRIu64 ".%u ", tenths / 10, (unsigned)(tenths % 10));
  log_field(method, mlen, 32);
  sb_add(&reqlog, " ", 1);
  log_field(path, plen, LOG_PATH_MAX);
  sb_add(&reqlog, "\n", 1);
  reqlog_entries++;
}

static void log_clear(void) {
  free(reqlog.p);
  memset(&reqlog, 0, sizeof reqlog);
  reqlog_entries = 0;
}

/* A copy: later requests append to (and may move) the log while this is being written. */
static void resp_log(struct resp *r) {
  if (reqlog.oom) {
    resp_error(r, 500);
    return;
  }
  if (reqlog.len == 0) {
    resp_set(r, 200, "text/plain; charset=utf-8", "", 0, NULL);
    return;
  }
  char *p = malloc(reqlog.len);
  if (p == NULL) {
    resp_error(r, 500);
    return;
  }
  memcpy(p, reqlog.p, reqlog.len);
  resp_set(r, 200, "text/plain; charset=utf-8", p, reqlog.len, p);
}

/* ---- robots.txt and the hostile paths ---------------------------------------------------- */

static void resp_robots(struct resp *r) {
  static const char small[] = "# robots.txt of uvcrawl-siteserver\n";
  static const char ctype[] = "text/plain; charset=utf-8";
  if (opt.robots_status != 0) {
    /* A FILE body comes along, so a test can check that a 4xx or 5xx body is not obeyed. */
    int st = (int)opt.robots_status;
    if (st == 204 || st == 304) /* these never have a body */
      resp_set(r, st, ctype, "", 0, NULL);
    else if (opt.robots != NULL)
      resp_set(r, st, ctype, opt.robots, opt.robots_len, NULL);
    else
      resp_set(r, st, ctype, small, sizeof small - 1, NULL);
  } else if (opt.robots != NULL) {
    resp_set(r, 200, ctype, opt.robots, opt.robots_len, NULL);
  } else if (opt.sitemap) {
    resp_set(r, 200, ctype, sitemap_robots.p, sitemap_robots.len, NULL);
  } else {
    resp_error(r, 404);
  }
}

/* An orphan page: no links at all, only sitemaps lead here. */
static void resp_orphan(struct resp *r, const char *name) {
  struct sbuf b = {NULL, 0, 0, 0};
  sb_printf(&b,
            "<!DOCTYPE html>\n<html><head><title>Orphan %s</title></head><body><p>Only a "
            "sitemap lists this page.</p></body></html>\n",
            name);
  if (b.oom) {
    free(b.p);
    resp_error(r, 500);
    return;
  }
  resp_set(r, 200, "text/html; charset=utf-8", b.p, b.len, b.p);
}

/* The --sitemap paths; 0 when path is none of them. */
static int route_sitemap(const char *path, size_t len, struct resp *r) {
  static const char xml[] = "application/xml";
  uint32_t n;
  char name[16];
  if (!opt.sitemap) return 0;
  if (path_is(path, len, "/sitemap.xml")) {
    resp_set(r, 200, xml, sitemap_index.p, sitemap_index.len, NULL);
  } else if (path_is(path, len, "/sitemaps/a.xml")) {
    resp_set(r, 200, xml, sitemap_a.p, sitemap_a.len, NULL);
  } else if (path_is(path, len, "/sitemaps/b.xml.gz")) {
    resp_set(r, 200, "application/gzip", sitemap_b.p, sitemap_b.len, NULL);
  } else if (path_is(path, len, "/sitemaps/c.xml")) {
    resp_set(r, 200, xml, sitemap_c.p, sitemap_c.len, NULL);
  } else if (path_is(path, len, "/orphan/extra.html")) {
    resp_orphan(r, "extra");
  } else if (match_num(path, len, "/orphan/", ".html", &n) && n < opt.orphans) {
    fmt_fixed(name, sizeof name, "%" PRIu32, n);
    resp_orphan(r, name);
  } else if (path_is(path, len, "/__sitemap")) {
    resp_set(r, 200, "text/plain; charset=utf-8", sitemap_list.p, sitemap_list.len, NULL);
  } else {
    return 0;
  }
  return 1;
}

/* An HTTP-date (RFC 9110 5.6.7) t seconds from now; strftime's names are English because the
 * program never calls setlocale. */
static void http_date_in(time_t t, char *buf, size_t n) {
  time_t when = time(NULL) + t;
  struct tm tm;
  if (gmtime_r(&when, &tm) == NULL || strftime(buf, n, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
    fmt_fixed(buf, n, "Thu, 01 Jan 1970 00:00:00 GMT");
}

/* path[0..len) starts with "/h/"; path[0..qlen) adds the query, which keys the counters. */
static void route_hostile(const char *path, size_t len, size_t qlen, struct resp *r) {
  static const char html[] = "text/html; charset=utf-8";
  static const char badstatus[] = "HTTP/1.1 abc garbage\r\n\r\n";
  static const char badchunk[] =
      "HTTP/1.1 200 OK\r\nServer: uvcrawl-siteserver\r\nContent-Type: text/html; "
      "charset=utf-8\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\nzz\r\n";
  static const char ok[] = "<!DOCTYPE html>\n<html><head><title>OK</title></head><body><p>"
                           "Finally.</p><a href=\"/\">Home</a></body></html>\n";
  static const char moved[] = ERROR_PAGE(301, "Moved Permanently");
  static const char found[] = ERROR_PAGE(302, "Found");
  uint32_t n;

  if (path_is(path, len, "/h/reset") || path_is(path, len, "/h/cl-short") ||
      path_is(path, len, "/h/cl-long") || path_is(path, len, "/h/trickle")) {
    if (cached_get(&text_body, build_text) != 0) {
      resp_error(r, 500);
      return;
    }
    resp_set(r, 200, html, text_body.p, text_body.len, NULL);
    if (path_is(path, len, "/h/reset")) { /* promise much, send some, then RST */
      r->clen = RESET_CLEN;
      r->stream = ST_RESET;
    } else if (path_is(path, len, "/h/trickle")) { /* the header now, the body byte by byte */
      r->body = NULL;
      r->len = 0;
      r->stream = ST_TRICKLE;
    } else if (path_is(path, len, "/h/cl-short")) { /* a premature close */
      r->len = SHORT_SENT;
      r->close = 1;
    } else { /* cl-long: the surplus lands where the next response should start */
      r->clen = LONG_CLEN;
    }
  } else if (path_is(path, len, "/h/badstatus")) {
    resp_raw(r, badstatus, sizeof badstatus - 1);
  } else if (path_is(path, len, "/h/badchunk")) {
    resp_raw(r, badchunk, sizeof badchunk - 1);
  } else if (path_is(path, len, "/h/bigheader")) {
    if (cached_get(&bigheader_body, build_bigheader) != 0)
      resp_error(r, 500);
    else
      resp_raw(r, bigheader_body.p, bigheader_body.len);
  } else if (path_is(path, len, "/h/endless")) {
    resp_set(r, 200, html, NULL, 0, NULL);
    r->chunked = 1;
    r->stream = ST_ENDLESS;
  } else if (path_is(path, len, "/h/gzipbomb")) {
    if (cached_get(&bomb_body, build_bomb) != 0) {
      resp_error(r, 500);
      return;
    }
    resp_set(r, 200, html, bomb_body.p, bomb_body.len, NULL);
    fmt_fixed(r->extra, sizeof r->extra, "Content-Encoding: gzip\r\n");
  } else if (match_num(path, len, "/h/loop/", "", &n)) {
    resp_set(r, 302, html, found, sizeof found - 1, NULL);
    /* Wraps from UINT32_MAX to 0, so the chain really never ends. */
    fmt_fixed(r->extra, sizeof r->extra, "Location: /h/loop/%" PRIu32 "\r\n",
              (uint32_t)(n + 1u));
  } else if (path_is(path, len, "/h/loopback")) {
    resp_set(r, 301, html, moved, sizeof moved - 1, NULL);
    fmt_fixed(r->extra, sizeof r->extra, "Location: /h/loopback\r\n");
  } else if (path_is(path, len, "/h/junk") || path_is(path, len, "/h/huge")) {
    if (cached_get(&junk_body, build_junk) != 0) {
      resp_error(r, 500);
      return;
    }
    if (path_is(path, len, "/h/junk")) {
      resp_set(r, 200, html, junk_body.p, junk_body.len, NULL);
    } else { /* huge repeats the junk, streamed */
      resp_set(r, 200, "application/octet-stream", NULL, 0, NULL);
      r->clen = (size_t)HUGE_LEN;
      r->stream = ST_HUGE;
    }
  } else if (path_is(path, len, "/h/deep")) {
    if (cached_get(&deep_body, build_deep) != 0)
      resp_error(r, 500);
    else
      resp_set(r, 200, html, deep_body.p, deep_body.len, NULL);
  } else if (path_is(path, len, "/h/manylinks")) {
    if (cached_get(&many_body, build_many) != 0)
      resp_error(r, 500);
    else
      resp_set(r, 200, html, many_body.p, many_body.len, NULL);
  } else if (path_is(path, len, "/h/somelinks")) {
    if (cached_get(&some_body, build_some) != 0)
      resp_error(r, 500);
    else
      resp_set(r, 200, html, some_body.p, some_body.len, NULL);
  } else if (path_under(path, len, "/h/429") || path_under(path, len, "/h/429date")) {
    if (hits_bump(path, qlen) > 2) {
      resp_set(r, 200, html, ok, sizeof ok - 1, NULL);
      return;
    }
    resp_error(r, 429);
    if (path_under(path, len, "/h/429")) {
      fmt_fixed(r->extra, sizeof r->extra, "Retry-After: 1\r\n");
    } else {
      char date[64];
      http_date_in(2, date, sizeof date);
      fmt_fixed(r->extra, sizeof r->extra, "Retry-After: %s\r\n", date);
    }
  } else if (path_under(path, len, "/h/503")) {
    if (hits_bump(path, qlen) > 3)
      resp_set(r, 200, html, ok, sizeof ok - 1, NULL);
    else
      resp_error(r, 503); /* no Retry-After: the client picks its own backoff */
  } else if (path_under(path, len, "/h/slowhost")) {
    resp_set(r, 200, html, ok, sizeof ok - 1, NULL); /* handle_request adds the delay */
  } else {
    resp_error(r, 404);
  }
}

/* ---- the HTTP-identity area ("/x/", tests/test_http.py) ---------------------------------
 * Headers, basic auth, a login cookie, a proxy's view, a big body:
 *   /x/              links /x/token/, /x/auth/, /x/login (and, with --external E, E/x/auth/
 *                    and /x/away, a 302 to E/x/auth/away.html)
 *   /x/token/...     403 unless the request has "X-Token: secret"
 *   /x/auth/...      401 unless it has basic auth user:pass
 *   /x/login         sets the cookie session=s3cret (Path=/x/) and links /x/members/
 *   /x/members/...   403 without that cookie; links /x/members/leaf.html and /x/both.html
 *   /x/both.html     needs the header, the credentials and the cookie
 *   /x/echo          the request's header block as text/plain
 *   /x/big           3 MiB of application/octet-stream
 * GET /__http counts the requests (internal ones aside) that came in absolute form (through
 * a proxy: this server then answers for the origin itself), and those that carried
 * Authorization, X-Token or Cookie headers. /__reset zeroes them. */

#define X_BIG_LEN (3u << 20)
#define X_AUTH "Basic dXNlcjpwYXNz" /* user:pass */

static struct {
  const char *head; /* the request's header block, borrowed while it is handled */
  size_t head_len;
  int auth_ok, token_ok, cookie_ok, has_auth, has_token, has_cookie;
} xreq;

static struct {
  uint64_t requests, proxied, with_auth, with_token, with_cookie;
} xstats;

static struct cached x_big;

static void xreq_begin(const char *p, size_t len) {
  memset(&xreq, 0, sizeof xreq);
  xreq.head = p;
  xreq.head_len = len;
}

static void xreq_header(const char *name, size_t nlen, const char *val, size_t vl) {
  if (nlen == 13 && strncasecmp(name, "authorization", 13) == 0) {
    xreq.has_auth = 1;
    xreq.auth_ok = vl == strlen(X_AUTH) && memcmp(val, X_AUTH, vl) == 0;
  } else if (nlen == 7 && strncasecmp(name, "x-token", 7) == 0) {
    xreq.has_token = 1;
    xreq.token_ok = vl == 6 && memcmp(val, "secret", 6) == 0;
  } else if (nlen == 6 && strncasecmp(name, "cookie", 6) == 0) {
    xreq.has_cookie = 1;
    if (memmem(val, vl, "session=s3cret", 14) != NULL) xreq.cookie_ok = 1;
  }
}

static void xreq_count(int proxied) {
  xstats.requests++;
  xstats.proxied += proxied != 0;
  xstats.with_auth += xreq.has_auth != 0;
  xstats.with_token += xreq.has_token != 0;
  xstats.with_cookie += xreq.has_cookie != 0;
}

static int build_x_big(struct sbuf *b) {
  if (sb_reserve(b, X_BIG_LEN) != 0) return -1;
  memset(b->p, 'x', X_BIG_LEN);
  b->len = X_BIG_LEN;
  return 0;
}

static void x_page(struct resp *r, const char *title, const char *const *hrefs, size_t n) {
  struct sbuf b = {NULL, 0, 0, 0};
  sb_printf(&b, "<!DOCTYPE html>\n<html><head><title>%s</title></head><body>\n", title);
  for (size_t k = 0; k < n; k++)
    if (hrefs[k] != NULL) sb_printf(&b, "<a href=\"%s\">%s</a>\n", hrefs[k], hrefs[k]);
  sb_add(&b, "</body></html>\n", 15);
  if (b.oom) {
    free(b.p);
    resp_error(r, 500);
    return;
  }
  resp_set(r, 200, "text/html; charset=utf-8", b.p, b.len, b.p);
}

static void x_refuse(struct resp *r, int status) {
  static const char no[] = ERROR_PAGE(403, "Forbidden");
  static const char unauth[] = ERROR_PAGE(401, "Unauthorized");
  if (status == 401) {
    resp_set(r, 401, "text/html; charset=utf-8", unauth, sizeof unauth - 1, NULL);
    fmt_fixed(r->extra, sizeof r->extra, "WWW-Authenticate: Basic realm=\"x\"\r\n");
  } else {
    resp_set(r, 403, "text/html; charset=utf-8", no, sizeof no - 1, NULL);
  }
}

static void resp_xstats(struct resp *r) {
  struct sbuf b = {NULL, 0, 0, 0};
  sb_printf(&b,
            "{\"requests\":%" PRIu64 ",\"proxied\":%" PRIu64 ",\"with_auth\":%" PRIu64
            ",\"with_token\":%" PRIu64 ",\"with_cookie\":%" PRIu64 "}",
            xstats.requests, xstats.proxied, xstats.with_auth, xstats.with_token,
            xstats.with_cookie);
  if (b.oom) {
    free(b.p);
    resp_error(r, 500);
    return;
  }
  resp_set(r, 200, "application/json", b.p, b.len, b.p);
}

/* Returns 1 when path is one of the above (r is set), else 0. */
static int route_x(const char *path, size_t len, struct resp *r) {
  char ext_auth[HREF_MAX];
  if (path_is(path, len, "/__http")) {
    resp_xstats(r);
    return 1;
  }
  if (len < 3 || memcmp(path, "/x/", 3) != 0) return 0;
  fmt_fixed(ext_auth, sizeof ext_auth, "%s/x/auth/", opt.external);
  if (path_is(path, len, "/x/")) {
    const char *const l[] = {"/x/token/", "/x/auth/", "/x/login",
                             opt.external[0] ? ext_auth : NULL,
                             opt.external[0] ? "/x/away" : NULL};
    x_page(r, "x", l, 5);
  } else if (path_is(path, len, "/x/echo")) {
    char *copy = malloc(xreq.head_len + 1); /* the input buffer moves on */
    if (copy == NULL) {
      resp_error(r, 500);
      return 1;
    }
    memcpy(copy, xreq.head, xreq.head_len);
    resp_set(r, 200, "text/plain; charset=utf-8", copy, xreq.head_len, copy);
  } else if (path_is(path, len, "/x/big")) {
    if (cached_get(&x_big, build_x_big) != 0) resp_error(r, 500);
    else resp_set(r, 200, "application/octet-stream", x_big.p, x_big.len, NULL);
  } else if (path_is(path, len, "/x/away") && opt.external[0]) {
    static const char found[] = ERROR_PAGE(302, "Found");
    resp_set(r, 302, "text/html; charset=utf-8", found, sizeof found - 1, NULL);
    fmt_fixed(r->extra, sizeof r->extra, "Location: %s/x/auth/away.html\r\n", opt.external);
  } else if (path_under(path, len, "/x/token")) {
    const char *const l[] = {"/x/token/leaf.html"};
    if (!xreq.token_ok) x_refuse(r, 403);
    else x_page(r, "token", l, path_is(path, len, "/x/token/") ? 1 : 0);
  } else if (path_under(path, len, "/x/auth")) {
    const char *const l[] = {"/x/auth/leaf.html"};
    if (!xreq.auth_ok) x_refuse(r, 401);
    else x_page(r, "auth", l, path_is(path, len, "/x/auth/") ? 1 : 0);
  } else if (path_is(path, len, "/x/login")) {
    const char *const l[] = {"/x/members/"};
    x_page(r, "login", l, 1);
    fmt_fixed(r->extra, sizeof r->extra, "Set-Cookie: session=s3cret; Path=/x/; HttpOnly\r\n");
  } else if (path_under(path, len, "/x/members")) {
    const char *const l[] = {"/x/members/leaf.html", "/x/both.html"};
    if (!xreq.cookie_ok) x_refuse(r, 403);
    else x_page(r, "members", l, path_is(path, len, "/x/members/") ? 2 : 0);
  } else if (path_is(path, len, "/x/both.html")) {
    if (!xreq.cookie_ok || !xreq.token_ok) x_refuse(r, 403);
    else if (!xreq.auth_ok) x_refuse(r, 401);
    else x_page(r, "both", NULL, 0);
  } else {
    resp_error(r, 404);
  }
  return 1;
}

/* "/k/": one of every kind of record a crawler gives, for tests that act at each record
 * (tests/test-reentry.c; robots.txt there disallows /k/private/):
 *   /k/               links everything below
 *   /k/ok.html        200, links back to /k/
 *   /k/missing.html   404
 *   /k/moved          301 to /k/target.html (200)
 *   /k/toprivate      301 to /k/private/x.html (robots-disallowed)
 *   /k/loop/N         302 to /k/loop/N+1, forever
 *   /k/long/AAAA...   an overlong link (never served: skipped by the crawler)
 *   /k/slow.html      200 after K_SLOW_MS
 *   /k/data.bin       200, application/octet-stream
 *   /k/error          500
 *   /h/reset          a connection reset mid-body (the hostile path)
 *   --external E: E/k/ok.html, E/k/missing.html and /k/away (302 to E/k/target.html) */
#define K_SLOW_MS 100
#define K_LONG 300 /* characters of the overlong link's last segment */
static int route_k(const char *path, size_t len, struct resp *r) {
  static const char html[] = "text/html; charset=utf-8";
  static const char moved[] = ERROR_PAGE(301, "Moved Permanently");
  static const char found[] = ERROR_PAGE(302, "Found");
  uint32_t n;
  if (!path_under(path, len, "/k")) return 0;
  if (path_is(path, len, "/k/")) {
    char ext_ok[HREF_MAX], ext_missing[HREF_MAX], longref[K_LONG + 16];
    fmt_fixed(ext_ok, sizeof ext_ok, "%s/k/ok.html", opt.external);
    fmt_fixed(ext_missing, sizeof ext_missing, "%s/k/missing.html", opt.external);
    memcpy(longref, "/k/long/", 8);
    memset(longref + 8, 'A', K_LONG);
    longref[8 + K_LONG] = '\0';
    const char *const l[] = {"/k/ok.html", "/k/missing.html", "/k/moved", "/k/toprivate",
                             "/k/loop/0", longref, "/k/slow.html", "/k/data.bin", "/k/error",
                             "/h/reset", opt.external[0] ? ext_ok : NULL,
                             opt.external[0] ? ext_missing : NULL,
                             opt.external[0] ? "/k/away" : NULL};
    x_page(r, "k", l, sizeof l / sizeof l[0]);
  } else if (path_is(path, len, "/k/ok.html") || path_is(path, len, "/k/target.html") ||
             path_is(path, len, "/k/slow.html") || path_under(path, len, "/k/private")) {
    const char *const l[] = {"/k/"};
    x_page(r, "k leaf", l, 1);
  } else if (path_is(path, len, "/k/moved")) {
    resp_set(r, 301, html, moved, sizeof moved - 1, NULL);
    fmt_fixed(r->extra, sizeof r->extra, "Location: /k/target.html\r\n");
  } else if (path_is(path, len, "/k/toprivate")) {
    resp_set(r, 301, html, moved, sizeof moved - 1, NULL);
    fmt_fixed(r->extra, sizeof r->extra, "Location: /k/private/x.html\r\n");
  } else if (match_num(path, len, "/k/loop/", "", &n)) {
    resp_set(r, 302, html, found, sizeof found - 1, NULL);
    fmt_fixed(r->extra, sizeof r->extra, "Location: /k/loop/%" PRIu32 "\r\n", (uint32_t)(n + 1u));
  } else if (path_is(path, len, "/k/away") && opt.external[0]) {
    resp_set(r, 302, html, found, sizeof found - 1, NULL);
    fmt_fixed(r->extra, sizeof r->extra, "Location: %s/k/target.html\r\n", opt.external);
  } else if (path_is(path, len, "/k/data.bin")) {
    static const char bin[] = "\x89UVCBIN\r\n\x1a\n\0<a href=\"/k/never.html\">x</a>";
    resp_set(r, 200, "application/octet-stream", bin, sizeof bin - 1, NULL);
  } else if (path_is(path, len, "/k/error")) {
    resp_error(r, 500);
  } else {
    resp_error(r, 404);
  }
  return 1;
}

/* path[0..len) is the path; path[0..qlen) adds the query. */
static void route(const char *path, size_t len, size_t qlen, struct resp *r) {
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
  } else if (path_is(path, len, "/robots.txt") && opt.robots_redirect) {
    resp_set(r, 301, "text/html; charset=utf-8", moved, sizeof moved - 1, NULL);
    fmt_fixed(r->extra, sizeof r->extra, "Location: /robots-real.txt\r\n");
  } else if (path_is(path, len, opt.robots_redirect ? "/robots-real.txt" : "/robots.txt")) {
    resp_robots(r);
  } else if (len >= 3 && memcmp(path, "/h/", 3) == 0) {
    route_hostile(path, len, qlen, r);
  } else if (route_sitemap(path, len, r)) {
    /* answered */
  } else if (route_k(path, len, r)) {
    /* answered */
  } else if (path_is(path, len, "/__expected")) {
    if (cached_get(&expected, build_expected) != 0)
      resp_error(r, 500);
    else /* shared, never freed while serving */
      resp_set(r, 200, "text/plain; charset=utf-8", expected.p, expected.len, NULL);
  } else if (path_is(path, len, "/__links")) {
    if (cached_get(&links, build_links) != 0)
      resp_error(r, 500);
    else
      resp_set(r, 200, "text/plain; charset=utf-8", links.p, links.len, NULL);
  } else if (path_is(path, len, "/__log")) {
    resp_log(r);
  } else if (path_is(path, len, "/__stats")) {
    resp_stats(r);
  } else if (path_is(path, len, "/__release")) {
    /* Held pages go out now (from their timers, after this answer); later ones are not held. */
    opt.released = 1;
    for (struct conn *c = conns; c != NULL; c = c->next)
      if (c->held) {
        c->held = 0;
        uv_timer_start(&c->timer, on_timer, 0, 0);
      }
    resp_set(r, 200, "text/plain; charset=utf-8", "ok", 2, NULL);
  } else if (path_is(path, len, "/__reset")) {
    stats.requests = 0;
    stats.connections = 0;
    stats.max_concurrent = stats.open;
    stats.max_active = stats.active;
    hits_clear();
    log_clear();
    memset(&xstats, 0, sizeof xstats);
    resp_set(r, 200, "text/plain; charset=utf-8", "ok", 2, NULL);
  } else if (route_x(path, len, r)) {
    /* answered */
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
  xreq_begin(p, len);

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
      xreq_header(name, nlen, val, vl);
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
  const char *hash = memchr(path, '#', plen);
  size_t qlen = hash ? (size_t)(hash - path) : plen; /* path and query */
  const char *q = memchr(path, '?', qlen);
  plen = q ? (size_t)(q - path) : qlen; /* path only */
  int internal = plen >= 3 && memcmp(path, "/__", 3) == 0;
  size_t mlen = (size_t)(sp1 - p);
  if (!internal) {
    stats.requests++;
    log_request(p, mlen, path, qlen);
    xreq_count(skip > 0);
  }
  uint32_t delay = internal                                  ? 0
                   : opt.hold && !opt.released && path_under(path, plen, "/p") ? HOLD
                   : path_under(path, plen, "/h/slowhost")    ? SLOW_MS
                   : path_is(path, plen, "/k/slow.html")      ? K_SLOW_MS
                                                              : cfg.delay;

  struct resp r;
  int head = 0;
  if (mlen == 3 && memcmp(p, "GET", 3) == 0) { /* methods are case-sensitive */
    head = 0;
  } else if (mlen == 4 && memcmp(p, "HEAD", 4) == 0 && !opt.no_head) {
    head = 1;
  } else {
    resp_error(&r, 405);
    fmt_fixed(r.extra, sizeof r.extra, opt.no_head ? "Allow: GET\r\n" : "Allow: GET, HEAD\r\n");
    /* Still a HEAD request under --no-head, so the 405 has no body either. */
    respond(c, &r, keep_alive, mlen == 4 && memcmp(p, "HEAD", 4) == 0, delay);
    return;
  }
  if (plen == 0 || path[0] != '/') {
    resp_error(&r, 400);
    respond(c, &r, 0, head, 0);
    return;
  }
  route(path, plen, qlen, &r);
  respond(c, &r, keep_alive, head, delay);
}

static void process_input(struct conn *c) {
  size_t off = 0;
  while (!c->closing && !c->want_close && c->pending == NULL && c->stream == ST_NONE &&
         !c->throttled) {
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
          "                          [--delay MS] [--list] [--external ORIGIN] [--no-head]\n"
          "                          [--hostile] [--robots FILE] [--robots-status N]\n"
          "                          [--robots-redirect] [--sitemap N] [--hold]\n"
          "Serves a deterministic synthetic site; prints \"port NNNN\" once listening.\n"
          "--list (with --port) prints the expected crawl \"URL STATUS DEPTH\" and exits.\n"
          "--external ORIGIN  pages i%%7==1 also link ORIGIN/p/i.html, pages i%%11==2\n"
          "                   ORIGIN/gone/i.html (ORIGIN: http[s]://host[:port]);\n"
          "                   not expected\n"
          "--no-head          HEAD is answered 405 with \"Allow: GET\"\n"
          "--hold             /p/ pages are answered only after GET /__release (then at\n"
          "                   once); /__stats \"held\" counts those waiting\n"
          "--hostile          \"/\" links each /h/ path below once; never expected\n"
          "--robots FILE      /robots.txt serves FILE (200 text/plain); with no --robots*\n"
          "                   (nor --sitemap) option at all it is a 404\n"
          "--robots-status N  /robots.txt answers N (200..599) with FILE or a small body\n"
          "--robots-redirect  /robots.txt is a 301 to /robots-real.txt, which answers as\n"
          "                   /robots.txt would have\n"
          "--sitemap N        N (0..%u) orphan pages /orphan/I.html (200, no links)\n"
          "                   that no page links; /sitemap.xml is an index of\n"
          "                   /sitemaps/a.xml (application/xml: \"/\", /p/1.html and the\n"
          "                   even orphans) and /sitemaps/b.xml.gz (application/gzip: the\n"
          "                   odd orphans). With no --robots or --robots-status,\n"
          "                   /robots.txt is \"User-agent: *\", \"Allow: /\" and \"Sitemap:\n"
          "                   ORIGIN/sitemaps/c.xml\", and c.xml lists /orphan/extra.html.\n"
          "                   Without --sitemap all of these are 404\n"
          "Endpoints (not counted, logged or delayed):\n"
          "  /__expected  \"URL STATUS DEPTH\" per URL of the expected crawl, BFS order\n"
          "  /__links     \"FROM TO\" per distinct link of each expected page: absolute,\n"
          "               no fragment, external and /h/ targets included,\n"
          "               mailto/javascript not\n"
          "  /__log       \"MS METHOD PATH\" per request since start or /__reset\n"
          "               (MS since start, one decimal; PATH with query; at most %d)\n"
          "  /__stats     JSON counters (max_active: most --delay responses pending at once);\n"
          "               /__reset zeroes them, the log and the /h/ counters\n"
          "  /__release   (--hold) sends the held pages and holds no more\n"
          "  /__http      JSON counters of proxied requests and of Authorization, X-Token\n"
          "               and Cookie headers seen (the /x/ area: headers, auth, cookies)\n"
          "  /__sitemap   (--sitemap) \"URL STATUS\" per URL a crawler that reads sitemaps\n"
          "               fetches beyond /__expected: /sitemap.xml, sitemaps a and b (and c\n"
          "               if robots.txt names it), /p/1.html when it is a 404 (--pages 1),\n"
          "               each orphan (and /orphan/extra.html with c)\n",
          MAX_ORPHANS, LOG_MAX);
  fprintf(f, /* two strings: one would be past the 4095 bytes C99 compilers must take */
          "Hostile paths (always served; --delay applies unless said otherwise):\n"
          "  /h/reset       Content-Length %d, %d bytes, then a RST\n"
          "  /h/badstatus   \"HTTP/1.1 abc garbage\" then close\n"
          "  /h/badchunk    chunked with chunk size \"zz\" then close\n"
          "  /h/bigheader   one 1 MiB header line, then close\n"
          "  /h/endless     chunked, a 10-byte chunk every %d ms, forever\n"
          "  /h/trickle     Content-Length %d, one byte every %d ms\n"
          "  /h/gzipbomb    Content-Encoding: gzip of 1 GiB of zeros (~1 MB)\n"
          "  /h/cl-short    Content-Length %d, %d bytes, close\n"
          "  /h/cl-long     Content-Length %d, %d bytes, keep-alive\n"
          "  /h/loop/N      302 to /h/loop/N+1;  /h/loopback: 301 to itself\n"
          "  /h/junk        64 KiB of binary noise with NULs as text/html\n"
          "  /h/deep        a link inside %d nested <span>\n"
          "  /h/manylinks   %d links <a href=/m/N>\n"
          "  /h/somelinks   the first %d of them (not linked from \"/\")\n"
          "  /h/huge        100 MiB application/octet-stream, streamed\n"
          "  /h/429[/..]    per path+query: 429 with Retry-After: 1 twice, then 200\n"
          "  /h/429date[/..] the same with Retry-After as an HTTP-date 2 s ahead\n"
          "  /h/503[/..]    per path+query: 503 (no Retry-After) three times, then 200\n"
          "  /h/slowhost[/..] 200 after %d ms, instead of --delay\n"
          "Record kinds (/k/: 200, 404, 301s, a redirect loop, an overlong link, a slow page,\n"
          "binary, 500, a reset, and with --external links and a redirect to E/k/...)\n",
          RESET_CLEN, TEXT_LEN, ENDLESS_MS, TEXT_LEN, TRICKLE_MS, TEXT_LEN, SHORT_SENT,
          LONG_CLEN, TEXT_LEN, DEEP_LEVELS, MANY_LINKS, SOME_LINKS, SLOW_MS);
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

static char ascii_lower(char ch) {
  return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* Normalizes "http[s]://host[:port][/]" the way the crawler does (scheme and host lower case,
 * default port dropped) into opt.external, so /__links can compare it. Returns 0 or -1. */
static int set_external(const char *s) {
  const char *scheme;
  size_t skip;
  uint32_t dflt, port = 0;
  if (strncasecmp(s, "http://", 7) == 0) {
    scheme = "http", skip = 7, dflt = 80;
  } else if (strncasecmp(s, "https://", 8) == 0) {
    scheme = "https", skip = 8, dflt = 443;
  } else {
    return -1;
  }
  const char *auth = s + skip;
  size_t alen = strcspn(auth, "/?#");
  if (alen == 0 || (auth[alen] != '\0' && strcmp(auth + alen, "/") != 0)) return -1;
  for (size_t k = 0; k < alen; k++) /* no userinfo, nothing that would need escaping */
    if ((unsigned char)auth[k] <= ' ' || auth[k] == 0x7f || auth[k] == '@' || auth[k] == '\\')
      return -1;
  size_t hlen = alen;
  const char *colon = memrchr(auth, ':', alen), *bracket = memrchr(auth, ']', alen);
  if (colon != NULL && (bracket == NULL || colon > bracket)) { /* a port, not IPv6 colons */
    char digits[8];
    size_t plen = alen - (size_t)(colon + 1 - auth);
    hlen = (size_t)(colon - auth);
    if (plen >= sizeof digits) return -1;
    memcpy(digits, colon + 1, plen);
    digits[plen] = '\0';
    if (plen > 0 && parse_u32(digits, 1, 65535, &port) != 0) return -1; /* "host:" is fine */
  }
  char host[EXT_ORIGIN_MAX];
  if (hlen == 0 || hlen >= sizeof host) return -1;
  for (size_t k = 0; k < hlen; k++) host[k] = ascii_lower(auth[k]);
  host[hlen] = '\0';
  int n = port == 0 || port == dflt
              ? snprintf(opt.external, sizeof opt.external, "%s://%s", scheme, host)
              : snprintf(opt.external, sizeof opt.external, "%s://%s:%" PRIu32, scheme, host,
                         port);
  return n > 0 && (size_t)n < sizeof opt.external ? 0 : -1;
}

/* Reads a whole file (at most MAX_ROBOTS bytes) into opt.robots. Returns 0 or -1. */
static int load_robots(const char *path) {
  struct sbuf b = {NULL, 0, 0, 0};
  char chunk[16 * 1024];
  size_t n;
  FILE *f = fopen(path, "rb");
  if (f == NULL) return -1;
  sb_reserve(&b, 1); /* an empty file still yields a non-NULL body */
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= MAX_ROBOTS)
    sb_add(&b, chunk, n);
  int bad = ferror(f) || b.oom || b.len > MAX_ROBOTS;
  fclose(f);
  if (bad) {
    free(b.p);
    return -1;
  }
  free(opt.robots); /* the option given twice: the last one wins */
  opt.robots = b.p;
  opt.robots_len = b.len;
  return 0;
}

static void parse_args(int argc, char **argv) {
  static const struct {
    const char *name;
    int *dst;
  } flags[] = {{"--list", &cfg.list},
               {"--no-head", &opt.no_head},
               {"--hostile", &opt.hostile},
               {"--robots-redirect", &opt.robots_redirect},
               {"--hold", &opt.hold}};
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
              {"--delay", &cfg.delay, 0, 3600u * 1000},
              {"--robots-status", &opt.robots_status, 200, 599},
              {"--sitemap", &opt.orphans, 0, MAX_ORPHANS}};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int flag = 0;
    for (size_t k = 0; k < sizeof flags / sizeof flags[0] && !flag; k++) {
      if (strcmp(a, flags[k].name) == 0) {
        *flags[k].dst = 1;
        flag = 1;
      }
    }
    if (flag) continue;
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
    } else if (nlen == 10 && memcmp(a, "--external", 10) == 0) {
      found = 1;
      if (val == NULL || set_external(val) != 0) {
        fprintf(stderr, "uvcrawl-siteserver: --external needs http[s]://host[:port]\n");
        exit(2);
      }
    } else if (nlen == 8 && memcmp(a, "--robots", 8) == 0) {
      found = 1;
      if (val == NULL || load_robots(val) != 0) {
        fprintf(stderr, "uvcrawl-siteserver: --robots: cannot read '%s' (at most %u bytes)\n",
                val ? val : "", MAX_ROBOTS);
        exit(2);
      }
    }
    for (size_t k = 0; !found && k < sizeof nums / sizeof nums[0]; k++) {
      if (nlen != strlen(nums[k].name) || memcmp(a, nums[k].name, nlen) != 0) continue;
      found = 1;
      if (parse_u32(val, nums[k].min, nums[k].max, nums[k].dst) != 0) {
        fprintf(stderr, "uvcrawl-siteserver: %s needs an integer in %" PRIu32 "..%" PRIu32 "\n",
                nums[k].name, nums[k].min, nums[k].max);
        exit(2);
      }
      if (nums[k].dst == &opt.orphans) opt.sitemap = 1;
    }
    if (!found) {
      fprintf(stderr, "uvcrawl-siteserver: unknown option '%s'\n", a);
      usage(stderr);
      exit(2);
    }
    if (eq == NULL) i++; /* consumed the value */
  }
}

/* Everything still allocated at exit, so leak checkers see a clean run. */
static void free_all(void) {
  cached_free(&x_big);
  cached_free(&expected);
  cached_free(&links);
  cached_free(&text_body);
  cached_free(&junk_body);
  cached_free(&deep_body);
  cached_free(&many_body);
  cached_free(&bomb_body);
  cached_free(&bigheader_body);
  cached_free(&sitemap_index);
  cached_free(&sitemap_a);
  cached_free(&sitemap_b);
  cached_free(&sitemap_c);
  cached_free(&sitemap_robots);
  cached_free(&sitemap_list);
  hits_clear();
  log_clear();
  free(opt.robots);
  opt.robots = NULL;
}

int main(int argc, char **argv) {
  union addr addr;
  int v6, r;

  start_ns = uv_hrtime();
  parse_args(argc, argv);
  if (resolve_host(cfg.host, cfg.port, &addr, &v6) != 0) {
    fprintf(stderr, "uvcrawl-siteserver: --host '%s' is not an IP address\n", cfg.host);
    free_all();
    return 2;
  }

  if (cfg.list) {
    if (cfg.port == 0) {
      fprintf(stderr, "uvcrawl-siteserver: --list needs --port\n");
      free_all();
      return 2;
    }
    make_origin(v6);
    if (cached_get(&expected, build_expected) != 0) {
      fprintf(stderr, "uvcrawl-siteserver: out of memory\n");
      free_all();
      return 1;
    }
    r = fwrite(expected.p, 1, expected.len, stdout) != expected.len || fflush(stdout) != 0;
    free_all();
    return r;
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
    free_all();
    return 1;
  }
  int alen = (int)sizeof addr;
  if ((r = uv_tcp_getsockname(&server, &addr.sa, &alen)) != 0) {
    fprintf(stderr, "uvcrawl-siteserver: getsockname: %s\n", uv_strerror(r));
    free_all();
    return 1;
  }
  cfg.port = ntohs(v6 ? addr.in6.sin6_port : addr.in4.sin_port);
  make_origin(v6);
  if (opt.sitemap && build_sitemaps() != 0) {
    fprintf(stderr, "uvcrawl-siteserver: out of memory\n");
    free_all();
    return 1;
  }

  if (uv_signal_init(loop, &sig_term) != 0 || uv_signal_init(loop, &sig_int) != 0 ||
      uv_signal_start(&sig_term, on_signal, SIGTERM) != 0 ||
      uv_signal_start(&sig_int, on_signal, SIGINT) != 0) {
    fprintf(stderr, "uvcrawl-siteserver: cannot install signal handlers\n");
    free_all();
    return 1;
  }

  printf("port %" PRIu32 "\n", cfg.port);
  fflush(stdout);

  uv_run(loop, UV_RUN_DEFAULT);
  r = uv_loop_close(loop);
  if (r != 0) fprintf(stderr, "uvcrawl-siteserver: loop close: %s\n", uv_strerror(r));
  free_all();
  return 0;
}
