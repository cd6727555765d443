/* The crawler's WARC glue (crawl_warc.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crawl_warc.h"

/* Opens --warc, its warcinfo naming the crawl's settings. Setup, like the journal. */
int uvcrawl__crawl_warc_open(uvcrawl_t *c) {
  uvcrawl__warcout_conf_t conf;
  char info[2048];
  snprintf(info, sizeof(info),
           "software: uvcrawl/%s\r\nformat: WARC File Format 1.1\r\n"
           "conformsTo: http://iipc.github.io/warc-specifications/specifications/warc-format/"
           "warc-1.1/\r\nrobots: %s\r\nhttp-header-user-agent: %s\r\n"
           "max-depth: %d\r\nscope: %s\r\n",
           UVCRAWL_VERSION_STRING, c->opts.ignore_robots ? "ignore" : "obey", c->user_agent,
           c->opts.max_depth, c->opts.scope ? c->opts.scope : "host");
  memset(&conf, 0, sizeof(conf));
  conf.path = c->opts.warc_path;
  conf.max_size = c->opts.warc_max_size;
  conf.cdx_path = c->opts.warc_cdx;
  conf.dedup_path = c->opts.warc_dedup;
  conf.resume = c->opts.resume;
  conf.info = info;
  return uvcrawl__warcout_open(c->loop, c->pool, &conf, &c->warc);
}

/* The writer has put the page's records in the WARC (or failed to). */
void uvcrawl__crawl_warc_result(page_t *p, const uvcrawl__warcrec_result_t *res) {
  if (res->file == NULL) {
    p->c->stats.output_errors = 1;
    return;
  }
  p->warc_file = strdup(res->file);
  p->warc_offset = res->offset;
  snprintf(p->warc_id, sizeof(p->warc_id), "%s", res->record_id);
}

/* Takes what the transfer left in p->warc: kept when a response came, else dropped. */
void uvcrawl__crawl_warc_captured(page_t *p, CURL *easy, CURLcode code) {
  char *eff = NULL;
  const char *url = p->item.url, *trunc = NULL;
  if (p->robots_origin && curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK &&
      eff != NULL)
    url = eff; /* robots.txt redirects are followed by libcurl: the last one is archived */
  /* An external link's body is never kept; a robots.txt past RFC 9309's size is cut. */
  if (p->too_big || code == CURLE_FILESIZE_EXCEEDED || (p->external && p->len > 0) ||
      (p->robots_origin && p->len >= ROBOTS_MAX))
    trunc = "length";
  else if (code != CURLE_OK)
    trunc = "disconnect";
  if (uvcrawl__warcrec_done(p->warc, easy, url, trunc) != 1) {
    uvcrawl__warcrec_free(p->warc);
    p->warc = NULL;
  }
}

/* Hands p's capture and body to the WARC writer, which archives them on its own. */
void uvcrawl__crawl_warc_archive(uvcrawl_t *c, page_t *p) {
  if (p->warc == NULL) return;
  uvcrawl__warcout_archive(c->warc, p->warc, p->external ? NULL : p->body,
                           p->external ? 0 : p->len);
  if (!p->external) p->body = NULL;
  p->warc = NULL;
}
