/* robots.txt in the crawl (crawl_robots.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "crawl_intake.h"
#include "crawl_page.h"
#include "crawl_records.h"
#include "crawl_robots.h"
#include "crawl_warc.h"
#include "transfer.h"
#include "url.h"

static void on_robots_job_done(uvcrawl__job_t *job) {
  page_t *p = UVCRAWL_CONTAINER_OF(job, page_t, job);
  uvcrawl_t *c = p->c;
  c->jobs--;
  uvcrawl__robots_t *r = job->robots;
  job->robots = NULL;
  if (r == NULL) r = uvcrawl__robots_allow_all(); /* out of memory parsing: be lenient */
  for (size_t i = 0; c->opts.sitemaps && i < uvcrawl__robots_sitemaps(r); i++) {
    char *url;
    if (uvcrawl__url_resolve(p->own_url, uvcrawl__robots_sitemap(r, i), &url) == 0) {
      uvcrawl__intake_sitemap(c, url, NULL);
      free(url);
    }
  }
  c->fops->set_robots(c->fq, p->robots_origin, r);
  job->warc = NULL;
  uvcrawl__crawl_warc_archive(c, p);
  uvcrawl__page_free(p);
  c->pump(c);
}

/* Remembers why a host's URLs will not be fetched. */
static void block_host(uvcrawl_t *c, const char *origin, const char *why, CURLcode code,
                       int is_error) {
  struct blocked_s *b = realloc(c->blocked, (c->nblocked + 1) * sizeof(*b));
  if (b == NULL) return;
  c->blocked = b;
  b[c->nblocked].origin = strdup(origin);
  b[c->nblocked].why = strdup(why);
  b[c->nblocked].name = is_error ? uvcrawl__curl_code_name(code) : NULL;
  b[c->nblocked].code = (int)code;
  b[c->nblocked].is_error = is_error;
  if (b[c->nblocked].origin && b[c->nblocked].why) c->nblocked++;
  else {
    free(b[c->nblocked].origin);
    free(b[c->nblocked].why);
  }
}

/* RFC 9309 2.3.1: 2xx → parse (on the pool); 4xx → no rules; 5xx or 429 → the host is not
 * crawled; no answer at all (status 0, err says why) → its URLs fail with that error. The
 * same whether this process fetched it or another worker of a shared crawl did. */
void uvcrawl__crawl_robots_apply(uvcrawl_t *c, page_t *p, long status, CURLcode code,
                                 const char *err) {
  char why[CURL_ERROR_SIZE + 64];
  if (status >= 200 && status < 300 && c->state == ST_RUNNING) {
    p->job.body = p->body ? p->body : "";
    p->job.len = p->len;
    p->job.url = p->own_url;
    p->job.mirror_fd = -1;
    p->job.robots_agent = c->user_agent;
    p->job.warc = p->warc;
    p->job.max_decoded = c->opts.max_body;
    uvcrawl__job_submit(c->pool, &p->job, on_robots_job_done);
    c->jobs++;
    return;
  }
  if (status >= 400 && status < 500 && status != 429) {
    c->fops->set_robots(c->fq, p->robots_origin, uvcrawl__robots_allow_all());
  } else {
    if (status != 0) {
      snprintf(why, sizeof(why), "robots.txt answered %ld: the host is not crawled (RFC 9309)",
               status);
      block_host(c, p->robots_origin, why, code, 0);
    } else {
      snprintf(why, sizeof(why), "robots.txt unreachable: %s", err);
      block_host(c, p->robots_origin, why, code, 1);
    }
    c->fops->set_robots(c->fq, p->robots_origin, uvcrawl__robots_disallow_all());
  }
  uvcrawl__crawl_warc_archive(c, p);
  uvcrawl__page_free(p);
  c->pump(c);
}

void uvcrawl__crawl_robots_fetched(uvcrawl_t *c, page_t *p, CURLcode code) {
  const char *err = p->errbuf[0] ? p->errbuf : curl_easy_strerror(code);
  long status = code == CURLE_OK ? p->status : 0;
  if (c->fops->robots_fetched && c->state == ST_RUNNING) /* shared with the other workers */
    c->fops->robots_fetched(c->fq, p->robots_origin, status, (int)code,
                            status ? (p->body ? p->body : "") : err,
                            status ? p->len : strlen(err));
  uvcrawl__crawl_robots_apply(c, p, status, code, err);
}

/* A robots.txt fetch that could not start: the host is not crawled (its URLs get why as their
 * error), so its URLs never wait for rules that will not come. */
void uvcrawl__crawl_robots_failed(uvcrawl_t *c, const char *origin, const char *why, int err) {
  block_host(c, origin, why, err == UV_ENOMEM ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT, 1);
  uvcrawl__frontier_set_robots(c->frontier, origin, uvcrawl__robots_disallow_all());
}

/* A URL robots.txt keeps us from: a skip record, or an error when robots.txt was unreachable. */
static void report_disallowed_record(uvcrawl_t *c, const uvcrawl__item_t *item) {
  for (size_t i = 0; i < c->nblocked; i++) {
    if (!uvcrawl__in_scope(item->url, (const char *const *)&c->blocked[i].origin, 1)) continue;
    if (!c->blocked[i].is_error) {
      uvcrawl__records_skipped(c, item->url, item->referrer, item->depth, c->blocked[i].why);
      return;
    }
    uvcrawl_result_t r;
    uvcrawl__records_item_error(&r, item, c->blocked[i].why, c->blocked[i].name);
    r.curl_code = c->blocked[i].code; /* of the robots.txt fetch that failed */
    uvcrawl__records_emit(c, &r);
    return;
  }
  uvcrawl__records_skipped(c, item->url, item->referrer, item->depth, "disallowed by robots.txt");
}

void uvcrawl__crawl_robots_disallowed(uvcrawl_t *c, const uvcrawl__item_t *item) {
  if (c->rf) c->acking = item;
  report_disallowed_record(c, item);
  c->acking = NULL;
}

