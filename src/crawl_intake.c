/* The link intake and a page's return from the pool (crawl_intake.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "crawl_intake.h"
#include "crawl_records.h"
#include "crawl_resume.h"
#include "crawl_warc.h"
#include "url.h"

/* Why a newly found URL will not be fetched (a record says so), or NULL. */
static const char *skip_reason(const uvcrawl_t *c, const char *url, unsigned hops) {
  if (strlen(url) > c->opts.max_url_len) return "URL longer than the URL length cap (max_url_len)";
  if (hops > c->opts.max_redirects) return "redirect chain longer than the cap (max_redirects)";
  if (uvcrawl__url_is_trap(url)) return "looks like a spider trap (a path segment repeats)";
  return NULL;
}

/* A link (or a redirect target, hops > 0) found on page from; requisite: the page needs it
 * to display (--page-requisites fetches it past --max-depth and off scope). */
void uvcrawl__intake_link(uvcrawl_t *c, const char *url, const page_t *from, unsigned hops,
                          int requisite) {
  const char *to;
  uint32_t *state;
  int depth = from->item.depth + 1, journaled = 0;
  requisite = requisite && c->opts.page_requisites;
  if (c->opts.max_depth >= 0 && depth > c->opts.max_depth && !requisite) return;
  if (!passes_filters(c, url)) return;
  const char *why = skip_reason(c, url, hops);
  if (why != NULL) {
    if (uvcrawl__frontier_mark(c->frontier, url, &to) == 1) {
      const char *ref;
      if (uvcrawl__frontier_lookup(c->frontier, url, NULL, &state)) *state |= URL_SKIPPED;
      uvcrawl__frontier_lookup(c->frontier, from->item.url, &ref, NULL);
      uvcrawl__records_skipped(c, to, ref, depth, why);
    }
  } else if (c->fops->add(c->fq, url, from->item.url, depth) == 1) {
    uvcrawl__resume_discovered(c, requisite ? 'R' : 'D', url, from->item.url, depth);
    journaled = requisite;
    if (hops && uvcrawl__frontier_lookup(c->frontier, url, NULL, &state))
      *state |= (uint32_t)(hops > 255 ? 255 : hops) << HOPS_SHIFT;
  }
  /* Seen first as a plain link and still queued: a requisite all the same (fetched whole),
   * and the journal says so, or a resumed crawl would only check it (HEAD) or drop its
   * redirect past --max-depth (a second 'R' for a known URL only sets the flag). Not one that
   * was skipped: replayed, an 'R' would queue it. */
  if (requisite && uvcrawl__frontier_lookup(c->frontier, url, NULL, &state) &&
      !(*state & (URL_REQUISITE | URL_SKIPPED))) {
    *state |= URL_REQUISITE;
    if (!journaled)
      uvcrawl__resume_discovered(c, 'R', url, from->item.url, depth);
  }
  /* Link checking: remember who links a URL until it is known good. */
  if (c->graph && uvcrawl__frontier_lookup(c->frontier, url, &to, &state) &&
      (*state & URL_VERDICT) != URL_GOOD)
    uvcrawl__linkgraph_add(c->graph, from->item.url, to);
}

static void enqueue(uvcrawl_t *c, const char *url, const page_t *from, int requisite) {
  uvcrawl__intake_link(c, url, from, 0, requisite);
}

/* Queues url as a sitemap (depth 0: sitemaps are entry points like seeds). */
void uvcrawl__intake_sitemap(uvcrawl_t *c, const char *url, const char *referrer) {
  uint32_t *state;
  if (!in_scope(c, url)) return;
  if (c->fops->add(c->fq, url, referrer, 0) != 1) return;
  uvcrawl__resume_discovered(c, 'S', url, referrer, 0);
  if (uvcrawl__frontier_lookup(c->frontier, url, NULL, &state)) *state |= URL_SITEMAP;
}

/* Queues up to *budget more of p's links; returns 1 once all of them are. */
static int queue_links(uvcrawl_t *c, page_t *p, size_t *budget) {
  uvcrawl__job_t *job = &p->job;
  size_t total = job->nlinks + job->nforeign;
  for (; p->next_link < total && *budget > 0; p->next_link++, (*budget)--) {
    size_t i = p->next_link;
    if (i >= job->nlinks) {
      enqueue(c, job->foreign[i - job->nlinks], p, job->foreign_kinds[i - job->nlinks]);
    } else if (job->sitemap_index) {
      uvcrawl__intake_sitemap(c, job->links[i], p->item.url);
    } else if (c->scope == UVCRAWL__SCOPE_HOST || c->opts.check || in_scope(c, job->links[i]) ||
               (c->opts.page_requisites && job->link_kinds[i] == UVCRAWL__REF_REQUISITE)) {
      enqueue(c, job->links[i], p, job->link_kinds[i]);
    }
  }
  return p->next_link == total;
}

/* The page's links are all queued: only now may its record (and journal C) go out. */
static void page_links_queued(page_t *p) {
  uvcrawl_t *c = p->c;
  c->jobs--;
  uvcrawl__records_page(p);
}

/* The writer has appended the records the pool built: the page's job is finished. */
static void on_warc_written(void *arg, const uvcrawl__warcrec_result_t *res) {
  page_t *p = arg;
  uvcrawl__crawl_warc_result(p, res);
  uvcrawl__intake_job_finished(p);
}

void uvcrawl__intake_job_done(uvcrawl__job_t *job) {
  page_t *p = UVCRAWL_CONTAINER_OF(job, page_t, job);
  uvcrawl_t *c = p->c;
  if (job->status == UV_ENOMEM && p->error == NULL) {
    p->error = "out of memory while parsing";
    p->error_name = "ENOMEM";
  }
  if (job->decode_err != 0 && p->error == NULL) {
    int e = job->decode_err == UV_E2BIG ? UVCRAWL_ETOOBIG : job->decode_err;
    snprintf(p->errbuf, sizeof(p->errbuf), "content decoding failed: %s",
             e == UVCRAWL_ETOOBIG  ? "the decoded body exceeds the body size cap"
             : e == UV_ENOTSUP ? "unknown Content-Encoding"
                               : uv_strerror(e));
    p->error = p->errbuf;
    p->error_name = uvcrawl_err_name(e);
  }
  if (job->decoded != NULL) {
    p->decoded = 1;
    p->decoded_len = job->len;
    free(job->decoded);
    job->decoded = NULL;
    job->body = NULL;
  }
  if (p->warc != NULL && c->state != ST_CLOSING) {
    /* The records were built on the pool; the writer appends them in order. The body (as
     * received) is freed once they are written. */
    uvcrawl__warcrec_t *r = p->warc;
    p->warc = NULL;
    job->warc = NULL;
    uvcrawl__warcout_write(c->warc, r, p->body, p->len, on_warc_written, p);
    return;
  }
  uvcrawl__intake_job_finished(p);
}

void uvcrawl__intake_job_finished(page_t *p) {
  uvcrawl_t *c = p->c;
  uvcrawl__job_t *job = &p->job;
  c->stats.parse_fast += (uint64_t)job->parse_fast;
  c->stats.parse_bailouts += (uint64_t)job->parse_bailed;
  if (job->mirror_err != 0) {
    c->stats.mirror_errors++;
    if (p->error == NULL) {
      snprintf(p->errbuf, sizeof(p->errbuf), "mirror: %s", uv_strerror(job->mirror_err));
      p->error = p->errbuf;
      p->error_name = uvcrawl_err_name(job->mirror_err);
    }
  }
  /* The body has been hashed, parsed and written: its memory goes back to the budget now. */
  if (p->counted) c->buffered -= p->cap;
  p->counted = 0;
  free(p->body);
  p->body = NULL;
  /* Links are queued (and journaled) whatever the state, from on_drain: a page's completion
   * record must never reach the journal without the links it gave, or a resume would lose them. */
  p->drain_next = NULL;
  if (c->drain_tail) c->drain_tail->drain_next = p;
  else c->drain_head = p;
  c->drain_tail = p;
  uvcrawl__crawl_kick_drain(c);
}

void uvcrawl__intake_drain(uvcrawl_t *c) {
  size_t budget = LINKS_PER_TURN;
  /* Pages are drained in every state, closing too: teardown waits for them (c->jobs). */
  for (unsigned n = 0; n < PAGES_PER_TURN && c->drain_head != NULL &&
                       queue_links(c, c->drain_head, &budget); n++) {
    page_t *p = c->drain_head;
    c->drain_head = p->drain_next;
    if (c->drain_head == NULL) c->drain_tail = NULL;
    page_links_queued(p);
  }
}
