/* The live status endpoint: GET /stats and GET / on the crawl's own loop (see status.h). */
#include "status.h"

#include <http_parser.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "statsjson.h"

#define container_of(ptr, type, member) \
  ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#define SAMPLE_MS 1000 /* the recent rates: one sample a second ... */
#define SAMPLES 11     /* ... over the last ten seconds */
#define SLOWEST 5
#define URL_MAX 512    /* a longer request target cannot be one of ours: 404 */
#define REFRESH_S 2    /* the HTML page reloads itself this often while the crawl runs */

typedef struct conn_s conn_t;

/* One moment of the loop: its clock and the loop thread's CPU time, in ns. */
typedef struct {
  uint64_t wall, cpu;
} mark_t;

struct cli_status_s {
  uv_tcp_t listener;
  uv_timer_t sampler;
  /* Before every poll: the last two moments the loop went to wait for I/O. A request answered
   * in a poll phase arrived after the earlier of the two (else that poll would have reported
   * it), so what the loop did since then is all it can have kept the request waiting. */
  uv_prepare_t marker;
  mark_t mark[2]; /* [0] the earlier */
  int marker_closed;
  uvcrawl_t *crawler; /* NULL once the crawl is over: then final is served */
  const report_t *report;
  uvcrawl_stats_t final;
  int closing;
  unsigned handles;    /* the listener, the sampler and the marker, while open */
  conn_t *head, *tail; /* oldest activity first, so the first idle one is evicted */
  unsigned nconns;      /* open connections (in the list) */
  unsigned allocated;   /* connections not freed yet: closing ones too */
  struct {
    uint64_t ms, pages, bytes;
  } ring[SAMPLES];
  unsigned nsamples, next;
};

struct conn_s {
  uv_tcp_t tcp;
  uv_timer_t timer; /* idle, slow request, or unread answer: closed when it fires */
  http_parser parser;
  cli_status_t *st;
  conn_t *prev, *next;
  uv_write_t wr;
  char head[400];
  char *body; /* the answer being written, from open_memstream */
  unsigned handles;
  int closed, writing, in_request, close_after;
  size_t inlen;     /* unparsed bytes in in[]: a pipelined request waiting for its turn */
  size_t req_bytes; /* bytes of the current request so far */
  char url[URL_MAX];
  size_t urllen;
  int url_long;
  char in[CLI_STATUS_REQUEST];
};

/* ---- addresses ---------------------------------------------------------------------- */

static int parse_port(const char *s, int *port) {
  size_t n = strlen(s);
  if (n == 0 || n > 5 || strspn(s, "0123456789") != n) return UV_EINVAL;
  long v = strtol(s, NULL, 10);
  if (v > 65535) return UV_EINVAL;
  *port = (int)v;
  return 0;
}

int cli_status_parse_addr(const char *spec, struct sockaddr_storage *out) {
  char host[64];
  const char *port_s = spec, *colon = strrchr(spec, ':');
  int port;
  memset(out, 0, sizeof(*out));
  if (colon == NULL) {
    if (parse_port(spec, &port) != 0) return UV_EINVAL;
    return uv_ip4_addr("127.0.0.1", port, (struct sockaddr_in *)out);
  }
  size_t hlen = (size_t)(colon - spec);
  port_s = colon + 1;
  if (parse_port(port_s, &port) != 0) return UV_EINVAL;
  if (hlen >= 2 && spec[0] == '[' && spec[hlen - 1] == ']') {
    if (hlen - 2 >= sizeof(host)) return UV_EINVAL;
    memcpy(host, spec + 1, hlen - 2);
    host[hlen - 2] = '\0';
    return uv_ip6_addr(host, port, (struct sockaddr_in6 *)out) != 0 ? UV_EINVAL : 0;
  }
  if (hlen == 0 || hlen >= sizeof(host)) return UV_EINVAL;
  memcpy(host, spec, hlen);
  host[hlen] = '\0';
  if (strcmp(host, "localhost") == 0) memcpy(host, "127.0.0.1", sizeof("127.0.0.1"));
  return uv_ip4_addr(host, port, (struct sockaddr_in *)out) != 0 ? UV_EINVAL : 0;
}

/* ---- what is served ---------------------------------------------------------------- */

static void current_stats(const cli_status_t *st, uvcrawl_stats_t *s) {
  if (st->crawler != NULL) uvcrawl_get_stats(st->crawler, s, sizeof(*s));
  else *s = st->final;
}

/* Pages/s and bytes/s over the sampled window (up to the last ten seconds). */
static void recent_rates(const cli_status_t *st, const uvcrawl_stats_t *s, double *pages_s,
                         double *bytes_s) {
  *pages_s = *bytes_s = 0;
  if (st->nsamples == 0) return;
  unsigned oldest = st->nsamples < SAMPLES ? 0 : st->next;
  double dt = s->wall_ms - (double)st->ring[oldest].ms;
  if (dt <= 0) return;
  *pages_s = (double)(s->pages - st->ring[oldest].pages) * 1000.0 / dt;
  *bytes_s = (double)(s->bytes - st->ring[oldest].bytes) * 1000.0 / dt;
}

static void on_sample(uv_timer_t *t) {
  cli_status_t *st = container_of(t, cli_status_t, sampler);
  uvcrawl_stats_t s;
  current_stats(st, &s);
  st->ring[st->next].ms = (uint64_t)s.wall_ms;
  st->ring[st->next].pages = s.pages;
  st->ring[st->next].bytes = s.bytes;
  st->next = (st->next + 1) % SAMPLES;
  if (st->nsamples < SAMPLES) st->nsamples++;
}

static void put_json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

static void put_html(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '&': fputs("&amp;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&#39;", f); break;
    default: fputc(*s, f);
    }
  }
}

static const char *const class_names[6] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};

/* The --stats-json members (one writer for both), then the live ones. */
static void write_stats(const cli_status_t *st, FILE *f) {
  uvcrawl_stats_t s;
  uint64_t classes[6];
  const char *urls[SLOWEST];
  double ms[SLOWEST], pages_s, bytes_s;
  current_stats(st, &s);
  recent_rates(st, &s, &pages_s, &bytes_s);
  report_classes(st->report, classes);
  size_t nslow = report_slowest(st->report, urls, ms, SLOWEST);
  fputc('{', f);
  cli_stats_json_fields(f, &s);
  fprintf(f,
          ",\"done\":%s,\"queued\":%" PRIu64 ",\"inflight\":%u,\"recent_pages_per_s\":%.1f"
          ",\"recent_bytes_per_s\":%.0f,\"status_classes\":{",
          st->crawler ? "false" : "true", s.queued, s.inflight, pages_s, bytes_s);
  for (int i = 0; i < 6; i++)
    fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", class_names[i], classes[i]);
  fputs("},\"slowest\":[", f);
  for (size_t i = 0; i < nslow; i++) {
    fprintf(f, "%s{\"ms\":%.1f,\"url\":", i ? "," : "", ms[i]);
    put_json_str(f, urls[i]);
    fputc('}', f);
  }
  fputs("]}\n", f);
}

static void write_page(const cli_status_t *st, FILE *f) {
  uvcrawl_stats_t s;
  uint64_t classes[6];
  const char *urls[SLOWEST];
  double ms[SLOWEST], pages_s, bytes_s;
  current_stats(st, &s);
  recent_rates(st, &s, &pages_s, &bytes_s);
  report_classes(st->report, classes);
  size_t nslow = report_slowest(st->report, urls, ms, SLOWEST);
  int done = st->crawler == NULL;
  uint64_t total = s.seen > s.pages ? s.seen : s.pages;
  double secs = s.wall_ms / 1000.0;

  fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n", f);
  if (!done) fprintf(f, "<meta http-equiv=\"refresh\" content=\"%d\">\n", REFRESH_S);
  fprintf(f, "<title>uvcrawl: %" PRIu64 " of %" PRIu64 "%s</title>\n", s.pages, total,
          done ? ", finished" : "");
  fputs("<style>body{font:14px sans-serif;margin:2em}table{border-collapse:collapse;"
        "margin-bottom:1em}th,td{padding:2px 12px;text-align:right;border-bottom:1px solid "
        "#ddd}td.u{text-align:left}progress{width:30em}</style></head><body>\n", f);
  fprintf(f, "<h1>uvcrawl: %s</h1>\n", done ? "finished" : "crawling");
  fprintf(f, "<p id=\"progress\"><progress max=\"%" PRIu64 "\" value=\"%" PRIu64 "\"></progress> "
             "%" PRIu64 " of %" PRIu64 " URLs seen done (%.0f%%), %" PRIu64 " queued, %u in "
             "flight</p>\n",
          total, s.pages, s.pages, total, total ? 100.0 * (double)s.pages / (double)total : 0.0,
          s.queued, s.inflight);
  fprintf(f, "<table id=\"rates\">\n"
             "<tr><th>pages/s, last %d s</th><td>%.1f</td></tr>\n"
             "<tr><th>pages/s, whole crawl</th><td>%.1f</td></tr>\n"
             "<tr><th>MB/s, last %d s</th><td>%.2f</td></tr>\n"
             "<tr><th>MB received</th><td>%.1f</td></tr>\n"
             "<tr><th>errors</th><td>%" PRIu64 "</td></tr>\n"
             "<tr><th>elapsed</th><td>%.1f s</td></tr>\n"
             "<tr><th>loop lag p50 / p99 / max</th><td>%.2f / %.2f / %.2f ms</td></tr>\n"
             "</table>\n",
          (SAMPLES - 1) * SAMPLE_MS / 1000, pages_s, secs > 0 ? (double)s.pages / secs : 0.0,
          (SAMPLES - 1) * SAMPLE_MS / 1000, bytes_s / 1e6, (double)s.bytes / 1e6, s.errors,
          secs, s.lag_p50_ms, s.lag_p99_ms, s.lag_max_ms);
  fputs("<h2>Status classes</h2>\n<table id=\"classes\"><tr><th>no response</th><th>1xx</th>"
        "<th>2xx</th><th>3xx</th><th>4xx</th><th>5xx</th></tr>\n<tr>", f);
  for (int i = 0; i < 6; i++) fprintf(f, "<td>%" PRIu64 "</td>", classes[i]);
  fputs("</tr></table>\n<h2>Slowest pages</h2>\n<table id=\"slowest\"><tr><th>ms</th>"
        "<th>URL</th></tr>\n", f);
  for (size_t i = 0; i < nslow; i++) {
    fprintf(f, "<tr><td>%.1f</td><td class=\"u\">", ms[i]);
    put_html(f, urls[i]);
    fputs("</td></tr>\n", f);
  }
  fputs("</table>\n<p><a href=\"/stats\">/stats</a>: the same as JSON.</p>\n</body></html>\n", f);
}

/* ---- how long a request can have waited on the loop ---------------------------------- */

static uint64_t thread_cpu_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_mark(uv_prepare_t *h) {
  cli_status_t *st = container_of(h, cli_status_t, marker);
  st->mark[0] = st->mark[1];
  st->mark[1].wall = uv_hrtime();
  st->mark[1].cpu = thread_cpu_ns();
}

/* ---- connections -------------------------------------------------------------------- */

static void on_status_closed(uv_handle_t *h);

/* The marker outlives the listener: the last answers, from the final figures, are timed too. */
static void maybe_close_marker(cli_status_t *st) {
  if (!st->closing || st->allocated != 0 || st->marker_closed) return;
  st->marker_closed = 1;
  uv_close((uv_handle_t *)&st->marker, on_status_closed);
}

static void maybe_free(cli_status_t *st) {
  maybe_close_marker(st);
  if (st->closing && st->handles == 0 && st->allocated == 0) free(st);
}

static void unlink_conn(conn_t *c) {
  cli_status_t *st = c->st;
  if (c->prev) c->prev->next = c->next;
  else st->head = c->next;
  if (c->next) c->next->prev = c->prev;
  else st->tail = c->prev;
  c->prev = c->next = NULL;
}

static void append_conn(conn_t *c) {
  cli_status_t *st = c->st;
  c->prev = st->tail;
  c->next = NULL;
  if (st->tail) st->tail->next = c;
  else st->head = c;
  st->tail = c;
}

static void on_conn_closed(uv_handle_t *h) {
  conn_t *c = h->data;
  if (--c->handles > 0) return;
  cli_status_t *st = c->st;
  free(c->body);
  free(c);
  st->allocated--;
  maybe_free(st);
}

static void conn_close(conn_t *c) {
  if (c->closed) return;
  c->closed = 1;
  unlink_conn(c);
  c->st->nconns--;
  /* A pending write is cancelled first (its callback runs before the close callbacks). */
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
  uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

static void on_idle(uv_timer_t *t) {
  conn_close(container_of(t, conn_t, timer));
}

static int on_message_begin(http_parser *p) {
  conn_t *c = p->data;
  c->in_request = 1;
  c->urllen = 0;
  c->url_long = 0;
  return 0;
}

static int on_url(http_parser *p, const char *at, size_t len) {
  conn_t *c = p->data;
  if (c->url_long || len >= sizeof(c->url) - c->urllen) {
    c->url_long = 1;
    return 0;
  }
  memcpy(c->url + c->urllen, at, len);
  c->urllen += len;
  return 0;
}

/* One request at a time: the parser stops here, and what follows waits for the answer. */
static int on_message_complete(http_parser *p) {
  http_parser_pause(p, 1);
  return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_message_complete = on_message_complete,
};

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  conn_t *c = h->data;
  (void)suggested;
  *buf = uv_buf_init(c->in + c->inlen, (unsigned)(sizeof(c->in) - c->inlen));
}

static void feed(conn_t *c);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void on_written(uv_write_t *w, int status) {
  conn_t *c = container_of(w, conn_t, wr);
  free(c->body);
  c->body = NULL;
  c->writing = 0;
  if (c->closed) return;
  if (status < 0 || c->close_after) {
    conn_close(c);
    return;
  }
  c->in_request = 0;
  c->req_bytes = 0;
  /* Most recently active last: the oldest idle connection is the one evicted at the cap. */
  unlink_conn(c);
  append_conn(c);
  uv_timer_start(&c->timer, on_idle, CLI_STATUS_IDLE_MS, 0);
  feed(c);
  if (!c->closed && !c->writing) uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read);
}

static const char *reason(int code) {
  switch (code) {
  case 200: return "OK";
  case 400: return "Bad Request";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  default: return "Internal Server Error";
  }
}

/* Answers the request the parser has just completed (or a garbled one, code 400). */
static void respond(conn_t *c, int code) {
  cli_status_t *st = c->st;
  enum { NONE, PAGE, STATS } what = NONE;
  int head_only = 0;
  if (code == 0) {
    struct http_parser_url u;
    http_parser_url_init(&u);
    code = 404;
    if (c->url_long) {
      code = 404; /* longer than either of our paths with any sane query */
    } else if (http_parser_parse_url(c->url, c->urllen, 0, &u) != 0 ||
               !(u.field_set & (1 << UF_PATH))) {
      code = 400;
    } else {
      const char *path = c->url + u.field_data[UF_PATH].off;
      size_t plen = u.field_data[UF_PATH].len;
      if (plen == 1 && path[0] == '/') what = PAGE;
      else if (plen == 6 && memcmp(path, "/stats", 6) == 0) what = STATS;
      if (what != NONE) {
        if (c->parser.method == HTTP_GET || c->parser.method == HTTP_HEAD) code = 200;
        else code = 405;
        head_only = c->parser.method == HTTP_HEAD;
      }
    }
    if (!http_should_keep_alive(&c->parser) || c->parser.upgrade) c->close_after = 1;
  }
  if (code == 400 || st->closing) c->close_after = 1;

  size_t blen = 0;
  FILE *f = open_memstream(&c->body, &blen);
  const char *type = "text/plain; charset=utf-8";
  if (f != NULL) {
    if (code == 200 && what == STATS) {
      write_stats(st, f);
      type = "application/json";
    } else if (code == 200) {
      write_page(st, f);
      type = "text/html; charset=utf-8";
    } else {
      fprintf(f, "%d %s\n", code, reason(code));
    }
    if (ferror(f)) code = 500;
    if (fclose(f) != 0) code = 500;
  }
  if (f == NULL || c->body == NULL) {
    code = 500;
    c->close_after = 1;
    free(c->body);
    c->body = NULL;
    blen = 0;
  }
  int keep10 = !c->close_after && c->parser.http_major == 1 && c->parser.http_minor == 0;
  /* Server-Timing: since the request can first have been seen (the earlier mark), the loop's
   * wall time and its thread's CPU time: the CPU is the loop's own doing (the crawl's work
   * served before this answer), the rest waiting for a CPU or for I/O. */
  const mark_t *m = &st->mark[0];
  double wall_ms = (double)(uv_hrtime() - m->wall) / 1e6;
  double cpu_ms = (double)(thread_cpu_ns() - m->cpu) / 1e6;
  int hlen = snprintf(c->head, sizeof(c->head),
                      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                      "Cache-Control: no-store\r\nServer-Timing: wall;dur=%.3f, cpu;dur=%.3f"
                      "\r\n%s%s%s\r\n",
                      code, reason(code), type, blen, wall_ms, cpu_ms,
                      code == 405 ? "Allow: GET, HEAD\r\n" : "",
                      c->close_after ? "Connection: close\r\n" : "",
                      keep10 ? "Connection: keep-alive\r\n" : "");
  if (hlen < 0 || (size_t)hlen >= sizeof(c->head)) { /* cannot happen: the head is < 330 */
    free(c->body);
    c->body = NULL;
    conn_close(c);
    return;
  }
  uv_buf_t bufs[2] = {uv_buf_init(c->head, (unsigned)hlen),
                      uv_buf_init(c->body ? c->body : c->head, (unsigned)blen)};
  unsigned nbufs = head_only || blen == 0 ? 1 : 2;
  uv_read_stop((uv_stream_t *)&c->tcp);
  if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, bufs, nbufs, on_written) != 0) {
    free(c->body);
    c->body = NULL;
    conn_close(c);
    return;
  }
  c->writing = 1;
}

/* Parses what has arrived; answers a complete request (one at a time). */
static void feed(conn_t *c) {
  while (!c->closed && !c->writing && c->inlen > 0) {
    size_t n = http_parser_execute(&c->parser, &settings, c->in, c->inlen);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (n > c->inlen) n = c->inlen;
    c->req_bytes += n;
    if (e == HPE_PAUSED) {
      memmove(c->in, c->in + n, c->inlen - n);
      c->inlen -= n;
      http_parser_pause(&c->parser, 0);
      if (c->req_bytes > CLI_STATUS_REQUEST) break;
      respond(c, 0);
    } else if (e != HPE_OK) {
      c->inlen = 0;
      respond(c, 400);
    } else {
      c->inlen = 0;
    }
  }
  /* Over the cap: no answer, the connection is closed (and the rest is never read). */
  if (!c->closed && !c->writing && c->req_bytes > CLI_STATUS_REQUEST) conn_close(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn_t *c = s->data;
  (void)buf;
  if (nread < 0) {
    /* EOF or an error. A request being answered still gets its answer if it can. */
    uv_read_stop(s);
    if (c->writing) c->close_after = 1;
    else conn_close(c);
    return;
  }
  c->inlen += (size_t)nread;
  feed(c);
}

static void on_rejected_closed(uv_handle_t *h) {
  free(h);
}

static void on_connection(uv_stream_t *server, int status) {
  cli_status_t *st = container_of((uv_tcp_t *)server, cli_status_t, listener);
  if (status < 0 || st->closing) return;
  if (st->nconns >= CLI_STATUS_CONNS) {
    conn_t *idle = st->head;
    while (idle && (idle->in_request || idle->writing)) idle = idle->next;
    if (idle) conn_close(idle);
  }
  if (st->nconns >= CLI_STATUS_CONNS) {
    /* Every connection is busy: this one is accepted (or it would stay in the backlog and
     * stop libuv from accepting) and closed at once. */
    uv_tcp_t *t = malloc(sizeof(*t));
    if (t == NULL || uv_tcp_init(server->loop, t) != 0) {
      free(t);
      return;
    }
    uv_accept(server, (uv_stream_t *)t);
    uv_close((uv_handle_t *)t, on_rejected_closed);
    return;
  }
  conn_t *c = calloc(1, sizeof(*c));
  if (c == NULL) return;
  c->st = st;
  st->allocated++;
  if (uv_tcp_init(server->loop, &c->tcp) != 0) {
    st->allocated--;
    free(c);
    return;
  }
  uv_timer_init(server->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->handles = 2;
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  append_conn(c);
  st->nconns++;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    conn_close(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1); /* answers are one write each: Nagle only delays them */
  uv_timer_start(&c->timer, on_idle, CLI_STATUS_IDLE_MS, 0);
  if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read) != 0) conn_close(c);
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static void on_status_closed(uv_handle_t *h) {
  cli_status_t *st = h->data;
  st->handles--;
  maybe_free(st);
}

int cli_status_start(uv_loop_t *loop, const struct sockaddr *addr, uvcrawl_t *crawler,
                     const report_t *report, cli_status_t **out, char *url, size_t n) {
  cli_status_t *st = calloc(1, sizeof(*st));
  if (st == NULL) return UV_ENOMEM;
  st->crawler = crawler;
  st->report = report;
  st->marker_closed = 1; /* until it is made, at the end */
  int err = uv_tcp_init(loop, &st->listener);
  if (err != 0) {
    free(st);
    return err;
  }
  st->listener.data = st;
  st->handles = 1;
  struct sockaddr_storage bound;
  int blen = sizeof(bound);
  char ip[64];
  if ((err = uv_tcp_bind(&st->listener, addr, 0)) != 0 ||
      (err = uv_listen((uv_stream_t *)&st->listener, 128, on_connection)) != 0 ||
      (err = uv_tcp_getsockname(&st->listener, (struct sockaddr *)&bound, &blen)) != 0) {
    st->closing = 1;
    uv_close((uv_handle_t *)&st->listener, on_status_closed);
    return err;
  }
  int port;
  if (bound.ss_family == AF_INET6) {
    uv_ip6_name((struct sockaddr_in6 *)&bound, ip, sizeof(ip));
    port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
    snprintf(url, n, "http://[%s]:%d/", ip, port);
  } else {
    uv_ip4_name((struct sockaddr_in *)&bound, ip, sizeof(ip));
    port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    snprintf(url, n, "http://%s:%d/", ip, port);
  }
  uv_timer_init(loop, &st->sampler);
  st->sampler.data = st;
  st->handles++;
  on_sample(&st->sampler);
  uv_timer_start(&st->sampler, on_sample, SAMPLE_MS, SAMPLE_MS);
  uv_prepare_init(loop, &st->marker);
  st->marker.data = st;
  st->marker_closed = 0;
  st->handles++;
  on_mark(&st->marker);
  on_mark(&st->marker);
  uv_prepare_start(&st->marker, on_mark);
  uv_unref((uv_handle_t *)&st->marker); /* the crawl keeps the loop alive, not this */
  *out = st;
  return 0;
}

void cli_status_close(cli_status_t *st, const uvcrawl_stats_t *final) {
  if (st == NULL || st->closing) return;
  st->final = *final;
  st->crawler = NULL;
  st->closing = 1;
  uv_close((uv_handle_t *)&st->listener, on_status_closed);
  uv_close((uv_handle_t *)&st->sampler, on_status_closed);
  maybe_close_marker(st);
  /* Open connections stay until they are answered once more (with Connection: close) or
   * their idle timer fires; the status is freed after the last of them. */
}
