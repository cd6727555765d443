/* Transfers, from admission to the end of the transfer (crawl_fetch.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "crawl_fetch.h"
#include "crawl_intake.h"
#include "crawl_page.h"
#include "crawl_records.h"
#include "crawl_robots.h"
#include "crawl_warc.h"
#include "dynbuf.h"
#include "mime.h"
#include "record.h"
#include "retry.h"
#include "transfer.h"

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
  page_t *p = userdata;
  size_t n = size * nmemb;
  const size_t total = n;
  if (p->robots_origin && p->len + n > ROBOTS_MAX) {
    n = p->len < ROBOTS_MAX ? ROBOTS_MAX - p->len : 0; /* the rest is ignored, as RFC 9309 allows */
    if (n == 0) return total;
  }
  if (p->external) {
    /* Only the status matters: read a little, then hang up. */
    p->len += n;
    if (p->len < EXTERNAL_GET_MAX) return n;
    p->hung_up = 1;
    return 0;
  }
  size_t grown;
  curl_off_t cl;
  if (p->cap == 0 && curl_easy_getinfo(p->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) ==
                         CURLE_OK && cl > 0 && (uint64_t)cl <= p->c->opts.max_body) {
    /* Size the buffer once from Content-Length: with thousands in flight, doubling from a
     * guess wastes tens of MB. */
    char *b = malloc((size_t)cl);
    if (b != NULL) {
      p->body = b;
      p->cap = (size_t)cl;
    }
  }
  int err = uvcrawl__body_append(&p->body, &p->len, &p->cap, ptr, n, p->c->opts.max_body, &grown);
  if (err == UVCRAWL_ETOOBIG) p->too_big = 1;
  if (err) return 0; /* curl aborts the transfer: CURLE_WRITE_ERROR */
  return total;
}

void uvcrawl__fetch_release_easy(uvcrawl_t *c, CURL *easy) {
  if (c->nidle < c->stats.inflight_cap) c->idle[c->nidle++] = easy;
  else curl_easy_cleanup(easy);
}

static CURL *acquire_easy(uvcrawl_t *c) {
  if (c->nidle > 0) {
    CURL *e = c->idle[--c->nidle];
    curl_easy_reset(e);
    return e;
  }
  return curl_easy_init();
}

/* The transfer is over: p lets go of its handle (kept for reuse). */
static void drop_easy(uvcrawl_t *c, page_t *p, CURL *easy) {
  p->easy = NULL;
  uvcrawl__fetch_release_easy(c, easy);
}

/* Our own socket(): it tells running out of fds apart from a failed connection. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose,
                                 struct curl_sockaddr *addr) {
  page_t *p = clientp;
  (void)purpose;
  curl_socket_t fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
  if (fd == CURL_SOCKET_BAD && (errno == EMFILE || errno == ENFILE)) p->fd_starved = 1;
  return fd;
}

/* socket() found no free fd: not the URL's fault. Pause admission briefly and fetch it (or the
 * host's robots.txt) again, same attempt. */
static void fd_backoff(uvcrawl_t *c, page_t *p, CURL *easy) {
  uint64_t now = uv_hrtime();
  c->fd_pause_until = now + FD_PAUSE_MS * 1000000u;
  c->stats.fd_backoffs++;
  if (p->robots_origin) {
    c->fops->robots_again(c->fq, p->robots_origin);
  } else {
    c->fops->done(c->fq, &p->item, now, 0);
    c->fops->retry(c->fq, &p->item, c->fd_pause_until);
    c->started--;
  }
  drop_easy(c, p, easy);
  uvcrawl__page_free(p);
  c->pump(c);
}

static int retryable(CURLcode code, long status) {
  return uvcrawl__retryable((int)code, status); /* retry.c */
}

/* Frees the host's slot (throttling it on 429/503) and, when the failure is worth another try
 * and tries are left, queues the URL again after Retry-After or an exponential backoff with
 * jitter. Returns 1 when the page was requeued (and freed). */
static int retry_later(uvcrawl_t *c, page_t *p, CURL *easy, CURLcode code) {
  uint64_t now = uv_hrtime();
  curl_off_t ra = -1;
  uint64_t ra_ms = 0;
  if (curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0) {
    ra_ms = (uint64_t)ra * 1000u;
    if (ra_ms > c->opts.max_retry_after_ms) ra_ms = c->opts.max_retry_after_ms;
  }
  uint32_t throttle = 0;
  if (code == CURLE_OK && (p->status == 429 || p->status == 503))
    throttle = ra_ms ? (uint32_t)ra_ms : 1000;
  c->fops->done(c->fq, &p->item, now, throttle);
  if (!retryable(code, p->status) || p->too_big || p->item.attempts >= c->opts.retries ||
      c->state != ST_RUNNING)
    return 0;
  uint64_t wait_ms = ra_ms ? ra_ms : uvcrawl__backoff_ms(p->item.attempts, &c->rng);
  uvcrawl__item_t again = p->item;
  again.attempts++;
  if (c->fops->retry(c->fq, &again, now + wait_ms * 1000000u) != 0) return 0;
  c->stats.retries++;
  c->started--; /* a retry does not use up --max-pages */
  uvcrawl__crawl_warc_archive(c, p); /* every fetch is archived, the failed ones too */
  drop_easy(c, p, easy);
  uvcrawl__page_free(p);
  c->pump(c);
  return 1;
}

/* What the finished transfer says, into its page (the handle may serve another URL before
 * the page's record goes out: the content type is copied). */
static page_t *finished_page(uvcrawl_t *c, CURL *easy, CURLcode code) {
  char *s = NULL;
  uvcrawl__xfer_t x;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, &s);
  page_t *p = (page_t *)(void *)s;
  c->inflight--;
  uvcrawl__record_read(easy, code, &x);
  p->code = code;
  p->status = x.status;
  p->http_version = x.http_version;
  p->ms = x.ms;
  if (x.content_type != NULL) p->content_type = strdup(x.content_type);
  if (p->warc) uvcrawl__crawl_warc_captured(p, easy, code);
  return p;
}

/* A redirect target in scope (or any, link checking) is queued, one hop further. */
static void follow_redirect(uvcrawl_t *c, page_t *p, CURL *easy) {
  if (!uvcrawl__record_redirect(easy, p->status, p->item.url, &p->redirect) ||
      !(c->opts.check || in_scope(c, p->redirect)))
    return;
  uint32_t *state;
  unsigned hops = 1;
  if (uvcrawl__frontier_lookup(c->frontier, p->item.url, NULL, &state))
    hops += (*state >> HOPS_SHIFT) & 255;
  uvcrawl__intake_link(c, p->redirect, p, hops, is_requisite(c, p->item.url));
}

/* An external link's HEAD that the server refused (or that got no answer at all, which a
 * connection failure or an unknown host is not). */
static int head_refused(const uvcrawl_t *c, const page_t *p, CURLcode code) {
  return p->external && !p->get_fallback && c->state == ST_RUNNING &&
         (p->status == 405 || p->status == 501 ||
          (code != CURLE_OK && p->status == 0 && code != CURLE_COULDNT_CONNECT &&
           code != CURLE_COULDNT_RESOLVE_HOST));
}

/* Asks again with GET, on the same slot. Returns 1 when the GET is under way; 0 when it could
 * not start (p's error says so). */
static int retry_as_get(uvcrawl_t *c, page_t *p, CURL *easy) {
  free(p->content_type);
  p->content_type = NULL;
  p->error = NULL;
  p->errbuf[0] = '\0';
  p->len = 0;
  p->get_fallback = 1;
  curl_easy_setopt(easy, CURLOPT_NOBODY, 0L);
  curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  if (c->warc) { /* the HEAD's exchange is archived, the GET gets its own */
    uvcrawl__crawl_warc_archive(c, p);
    if ((p->warc = uvcrawl__warcrec_new(c->warc)) != NULL)
      uvcrawl__warcrec_setup(p->warc, easy);
  }
  if (uvcrawl__engine_add(c->engine, easy) == 0) {
    c->inflight++;
    return 1;
  }
  p->error = "could not start the transfer";
  p->error_name = uvcrawl_err_name(UVCRAWL_ECURL);
  return 0;
}

/* The writer archived a page that had no body to work on: its record goes out. */
static void on_bare_written(void *arg, const uvcrawl__warcrec_result_t *res) {
  page_t *p = arg;
  uvcrawl_t *c = p->c;
  uvcrawl__crawl_warc_result(p, res);
  c->jobs--;
  uvcrawl__records_page(p);
  c->pump(c);
}

/* Nothing to hash or parse: the record goes out now, or once the writer (which builds the
 * WARC records itself) has archived the page. */
static void record_bare(uvcrawl_t *c, page_t *p) {
  if (p->warc && c->state != ST_CLOSING) {
    uvcrawl__warcrec_t *r = p->warc;
    p->warc = NULL;
    c->jobs++;
    uvcrawl__warcout_write(c->warc, r, p->body, p->external ? 0 : p->len, on_bare_written, p);
    return;
  }
  uvcrawl__records_page(p);
  c->pump(c);
}

/* Hands p's body to the pool (hash, decode, parse, mirror, WARC; crawl_intake.c takes it
 * back); mirror: a 2xx to save. */
static void submit_job(uvcrawl_t *c, page_t *p, CURLcode code, int mirror) {
  p->job.body = p->body;
  p->job.len = p->len;
  p->job.url = p->item.url;
  /* --page-requisites: a page at --max-depth is read for its requisites (deeper links are
   * dropped at enqueue), and a style sheet for what it imports whatever its depth. */
  int req = c->opts.page_requisites;
  p->job.css = uvcrawl__is_css(p->content_type);
  p->job.parse = code == CURLE_OK &&
                 uvcrawl__should_parse(p->status, p->content_type, p->item.depth,
                                       req && (p->job.css || c->opts.max_depth < 0) ? -1
                                       : req ? c->opts.max_depth + 1
                                             : c->opts.max_depth);
  p->job.keep_requisites = req;
  p->job.content_type = p->content_type;
  p->job.adjust_ext = c->opts.adjust_extension;
  p->job.origins = (const char *const *)c->origins;
  /* Other scopes are filtered on the loop. */
  p->job.norigins = c->scope == UVCRAWL__SCOPE_HOST ? c->norigins : 0;
  p->job.max_links = c->opts.max_links;
  p->job.max_parse = c->opts.max_parse;
  p->job.parser = c->opts.parser;
  p->job.keep_foreign = c->opts.check;
  uint32_t *state;
  p->job.sitemap = code == CURLE_OK && p->status >= 200 && p->status < 300 &&
                   uvcrawl__frontier_lookup(c->frontier, p->item.url, NULL, &state) &&
                   (*state & URL_SITEMAP);
  if (p->job.sitemap) p->job.parse = 0;
  p->job.mirror_fd = mirror ? c->mirror_fd : -1;
  p->job.do_fsync = c->opts.fsync;
  p->job.warc = p->warc;
  p->job.max_decoded = c->opts.max_body;
  /* From here the body waits for the pool: that is what --max-buffer bounds (bodies still
   * arriving are bounded by the in-flight cap times --max-body). */
  p->counted = 1;
  c->buffered += p->cap;
  if (c->buffered > c->stats.buffered_max) c->stats.buffered_max = c->buffered;
  uvcrawl__job_submit(c->pool, &p->job, uvcrawl__intake_job_done);
  c->jobs++;
}

/* By outcome: out of fds (again later), a robots.txt, a retry, a refused HEAD (again as a
 * GET); the rest is recorded, through the pool when there is a body to work on. */
void uvcrawl__fetch_done(void *arg, CURL *easy, CURLcode code) {
  uvcrawl_t *c = arg;
  page_t *p = finished_page(c, easy, code);
  if (p->fd_starved && c->state == ST_RUNNING) {
    fd_backoff(c, p, easy);
    return;
  }
  if (p->robots_origin) {
    drop_easy(c, p, easy);
    uvcrawl__crawl_robots_fetched(c, p, code);
    return;
  }
  if (retry_later(c, p, easy, code)) return;
  follow_redirect(c, p, easy);
  if (p->hung_up && code == CURLE_WRITE_ERROR) code = p->code = CURLE_OK;
  uvcrawl__record_error(p->too_big, code, p->errbuf, &p->error, &p->error_name);
  if (head_refused(c, p, code) && retry_as_get(c, p, easy)) return;
  drop_easy(c, p, easy);
  int mirror = c->mirror_fd >= 0 && !p->external && code == CURLE_OK && p->status >= 200 &&
               p->status < 300;
  if ((p->len == 0 && !mirror) || p->external || c->state == ST_CLOSING) record_bare(c, p);
  else submit_job(c, p, code, mirror);
}

/* Every way a transfer fails to start ends here: gives back what admission took (the host's
 * slot in the frontier, or the origin's robots.txt turn; the in-flight slot is only taken once
 * the transfer is in the engine) and records the URL with why as its error. p may be NULL (it
 * could not be allocated): item and robots_origin say what it was for. */
static void fetch_failed(uvcrawl_t *c, page_t *p, const uvcrawl__item_t *item,
                         const char *robots_origin, const char *why, int err) {
  if (p != NULL && p->easy != NULL) {
    uvcrawl__fetch_release_easy(c, p->easy);
    p->easy = NULL;
  }
  if (robots_origin != NULL) {
    uvcrawl__crawl_robots_failed(c, robots_origin, why, err);
    if (p != NULL) uvcrawl__page_free(p);
    return;
  }
  c->fops->done(c->fq, item, uv_hrtime(), 0);
  if (p != NULL) {
    p->error = why;
    p->error_name = uvcrawl_err_name(err);
    uvcrawl__records_page(p);
    return;
  }
  uvcrawl_result_t r;
  uvcrawl__records_item_error(&r, item, why, uvcrawl_err_name(err));
  r.attempts = item->attempts + 1u;
  c->started++;
  uvcrawl__records_emit(c, &r);
}

/* Starts a transfer for item, or for origin's robots.txt when robots_origin is set. */
void uvcrawl__fetch(uvcrawl_t *c, const uvcrawl__item_t *item, const char *robots_origin) {
  page_t *p = uvcrawl__page_new(c, item);
  CURL *e;
  if (p == NULL) {
    fetch_failed(c, NULL, item, robots_origin, "out of memory", UV_ENOMEM);
    return;
  }
  if (robots_origin) {
    size_t n = strlen(robots_origin) + sizeof("/robots.txt");
    p->robots_origin = robots_origin;
    if ((p->own_url = malloc(n)) == NULL) {
      fetch_failed(c, p, item, robots_origin, "robots.txt not fetched: out of memory",
                   UV_ENOMEM);
      return;
    }
    snprintf(p->own_url, n, "%s/robots.txt", robots_origin);
    p->item.url = p->own_url;
  }
  /* A robots.txt is always read in full, whichever host it is for: never a HEAD. */
  p->external = c->opts.check && !robots_origin && !in_scope(c, p->item.url) &&
                !is_requisite(c, p->item.url);
  if (!robots_origin) c->started++;
  e = acquire_easy(c);
  if (e == NULL) {
    fetch_failed(c, p, &p->item, robots_origin, "out of memory", UV_ENOMEM);
    return;
  }
  p->easy = e;
  uvcrawl__easy_setup(e, &c->opts, c->user_agent, p->item.url, on_body, p, p->errbuf, c->http);
  curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)p);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, p);
  if (p->external) curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  if (c->warc != NULL && (p->warc = uvcrawl__warcrec_new(c->warc)) != NULL)
    uvcrawl__warcrec_setup(p->warc, e); /* no memory: that fetch goes unarchived */
  if (p->robots_origin) {
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L); /* RFC 9309: follow up to five */
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)0);
  }
  if (uvcrawl__engine_add(c->engine, e) != 0) {
    fetch_failed(c, p, &p->item, robots_origin, "could not start the transfer",
                 UVCRAWL_ECURL);
    return;
  }
  c->inflight++;
  if (c->inflight > c->stats.inflight_max) c->stats.inflight_max = c->inflight;
}
