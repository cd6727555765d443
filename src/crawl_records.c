/* Records: the one place they leave the crawler (crawl_records.h). */
#include <stdlib.h>
#include <string.h>

#include "crawl_page.h"
#include "crawl_records.h"
#include "dynbuf.h"
#include "journal.h"
#include "record.h"

static int is_broken(const uvcrawl_t *c, long status, const char *error) {
  if (error != NULL) return 1;
  if (status >= 300 && status < 400) return 0; /* its target is checked instead */
  for (size_t i = 0; i < c->naccept; i++)
    if (status >= c->accept[i][0] && status <= c->accept[i][1]) return 0;
  return 1;
}

/* Emits the record of a page and frees it. */
void uvcrawl__records_page(page_t *p) {
  uvcrawl_t *c = p->c;
  uvcrawl_result_t r;
  const uvcrawl__xfer_t x = {.status = p->status, .http_version = p->http_version,
                             .content_type = p->content_type, .ms = p->ms, .code = (int)p->code,
                             .error = p->error, .error_name = p->error_name,
                             .redirect = p->redirect, .bytes = p->len};
  uvcrawl__record_fill(&r, &p->item, &x, &p->job);
  r.external = p->external;
  if (p->external) r.bytes = 0;
  if (p->decoded) r.bytes = p->decoded_len;
  r.warc_file = p->warc_file;
  r.warc_offset = p->warc_offset;
  r.warc_record_id = p->warc_file ? p->warc_id : NULL;
  if (c->rf) c->acking = &p->item;
  uvcrawl__records_emit(c, &r);
  c->acking = NULL;
  uvcrawl__page_free(p);
}

/* *r: the record of an item that was never fetched, failed with error (borrowed strings). */
void uvcrawl__records_item_error(uvcrawl_result_t *r, const uvcrawl__item_t *item,
                                 const char *error, const char *error_name) {
  memset(r, 0, sizeof(*r));
  r->url = item->url;
  r->referrer = item->referrer;
  r->depth = item->depth;
  r->error = error;
  r->error_name = error_name;
}

void uvcrawl__records_skipped(uvcrawl_t *c, const char *url, const char *referrer, int depth,
                              const char *why) {
  uvcrawl_result_t r;
  memset(&r, 0, sizeof(r));
  r.url = url;
  r.referrer = referrer;
  r.depth = depth;
  r.skipped = why;
  c->stats.skipped++;
  uvcrawl__records_emit(c, &r);
}

/* Copies one string of a record into the rec's tail. */
static const char *rec_str(char **at, const char *s) {
  if (s == NULL) return NULL;
  size_t n = strlen(s) + 1;
  char *d = memcpy(*at, s, n);
  *at += n;
  return d;
}

/* Queues a copy of r for the drain (on_result is never called from here: the caller is in the
 * middle of its bookkeeping). Out of memory, the caller does not see this record; it is
 * counted and written all the same. */
static void queue_record(uvcrawl_t *c, const uvcrawl_result_t *r) {
  const char *const strs[] = {r->url, r->referrer, r->content_type, r->md5, r->redirect,
                              r->error, r->skipped, r->note, r->http_version};
  size_t len = 0;
  for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
    if (strs[i] != NULL) len += strlen(strs[i]) + 1;
  rec_t *rec = malloc(sizeof(*rec) + len);
  if (rec == NULL) return;
  char *at = rec->strings;
  rec->next = NULL;
  rec->r = *r;
  rec->r.url = rec_str(&at, r->url);
  rec->r.referrer = rec_str(&at, r->referrer);
  rec->r.content_type = rec_str(&at, r->content_type);
  rec->r.md5 = rec_str(&at, r->md5);
  rec->r.redirect = rec_str(&at, r->redirect);
  rec->r.error = rec_str(&at, r->error);
  rec->r.skipped = rec_str(&at, r->skipped);
  rec->r.note = rec_str(&at, r->note);
  rec->r.http_version = rec_str(&at, r->http_version);
  if (c->rec_tail) c->rec_tail->next = rec;
  else c->rec_head = rec;
  c->rec_tail = rec;
  uvcrawl__crawl_kick_drain(c);
}

void uvcrawl__records_free_all(uvcrawl_t *c) {
  while (c->rec_head != NULL) {
    rec_t *r = c->rec_head;
    c->rec_head = r->next;
    free(r);
  }
  c->rec_tail = NULL;
}

void uvcrawl__records_emit(uvcrawl_t *c, uvcrawl_result_t *rp) {
  uvcrawl_result_t r = *rp;
  r.broken = r.skipped == NULL && is_broken(c, r.status, r.error);
  c->stats.pages++;
  c->stats.bytes += r.bytes;
  if (r.broken) c->stats.errors++;
  if (c->graph) {
    uint32_t *state;
    if (uvcrawl__frontier_lookup(c->frontier, r.url, NULL, &state))
      *state = (*state & ~(uint32_t)URL_VERDICT) | (r.broken ? URL_BROKEN : URL_GOOD);
    const char *interned;
    if (r.broken && uvcrawl__frontier_lookup(c->frontier, r.url, &interned, NULL))
      uvcrawl__linkgraph_broken(c->graph, interned, r.status, r.error, r.external);
  }
  if (c->output || c->journal || c->acking) {
    c->scratch_len = 0;
    if (uvcrawl__json_record(&r, &c->scratch, &c->scratch_len, &c->scratch_cap) == 0) {
      size_t line = c->scratch_len;
      if (c->acking) c->fops->completed(c->fq, c->acking, c->scratch, line);
      if (c->output) {
        uvcrawl__output_append(c->output, c->scratch, line);
        uvcrawl__output_append(c->output, "\n", 1);
      }
      /* The frame goes after the line in the same buffer, then only the frame is written;
       * room is made first so the line it copies cannot move under it. */
      if (c->journal &&
          uvcrawl__buf_reserve(&c->scratch, &c->scratch_len, &c->scratch_cap,
                               line + strlen(r.url) + 16) == 0 &&
          uvcrawl__journal_completed(&c->scratch, &c->scratch_len,
                                                   &c->scratch_cap, r.url, c->scratch,
                                                   line) == 0)
        uvcrawl__output_append(c->journal, c->scratch + line, c->scratch_len - line);
    }
  }
  if (c->convert != NULL && r.skipped == NULL && !r.external && r.error == NULL) {
    /* --convert-links: what went to the mirror (out of memory: that link stays as it is) */
    if (r.status >= 200 && r.status < 300)
      (void)uvcrawl__convert_saved(c->convert, r.url, r.content_type);
    else if (r.status >= 300 && r.status < 400 && r.redirect != NULL)
      (void)uvcrawl__convert_redirect(c->convert, r.url, r.redirect);
  }
  if (c->on_result && c->state != ST_CLOSING) queue_record(c, &r);
}

/* A user callback has returned: what it asked for happens now. */
static void after_callback(uvcrawl_t *c) {
  c->in_callback = 0;
  if (c->close_requested) {
    c->close_requested = c->stop_requested = 0;
    uvcrawl__crawl_do_close(c, c->close_requested_cb, c->close_requested_arg);
  } else if (c->stop_requested) {
    c->stop_requested = 0;
    uvcrawl__crawl_do_stop(c);
  }
}

/* The only place user callbacks run: queued records in order, then on_done once they are
 * all out. Runs from the drain, with no crawler state held on the stack, so a callback may
 * stop or close the crawler (both take effect in after_callback). */
void uvcrawl__records_deliver(uvcrawl_t *c) {
  for (unsigned n = 0; n < RECORDS_PER_TURN && c->rec_head != NULL && c->state != ST_CLOSING;
       n++) {
    rec_t *r = c->rec_head;
    c->rec_head = r->next;
    if (c->rec_head == NULL) c->rec_tail = NULL;
    c->in_callback = 1;
    c->on_result(c, &r->r, c->cb_arg);
    free(r);
    after_callback(c);
  }
  if (c->state == ST_CLOSING) {
    uvcrawl__records_free_all(c); /* closed: the caller wants no more */
    c->done_pending = 0;
  }
  if (c->done_pending && c->rec_head == NULL) {
    c->done_pending = 0;
    if (c->on_done) {
      c->in_callback = 1;
      c->on_done(c, c->done_status, c->cb_arg);
      after_callback(c);
    }
  }
}
