/* Records from finished transfers, the same in both engines (record.h). */
#include <string.h>

#include "record.h"
#include "output.h"
#include "transfer.h"
#include "url.h"

void uvcrawl__record_read(CURL *easy, CURLcode code, uvcrawl__xfer_t *x) {
  curl_off_t us = 0;
  char *ct = NULL;
  memset(x, 0, sizeof(*x));
  x->code = (int)code;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &x->status);
  x->http_version = x->status ? uvcrawl__http_version(easy) : NULL;
  curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &us);
  x->ms = (double)us / 1000.0;
  if (curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK) x->content_type = ct;
}

int uvcrawl__record_redirect(CURL *easy, long status, const char *url, char **out) {
  char *loc = NULL;
  *out = NULL;
  /* Redirects are not followed inside curl: a 3xx is recorded with the target it names. */
  if (status < 300 || status >= 400 ||
      curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &loc) != CURLE_OK || loc == NULL)
    return 0;
  return uvcrawl__url_resolve(url, loc, out) == 0;
}

void uvcrawl__record_error(int too_big, CURLcode code, const char *errbuf, const char **error,
                           const char **error_name) {
  if (too_big) {
    *error = UVCRAWL__MSG_TOO_BIG;
    *error_name = uvcrawl_err_name(UVCRAWL_ETOOBIG);
  } else if (code != CURLE_OK) {
    *error = errbuf[0] ? errbuf : curl_easy_strerror(code);
    *error_name = uvcrawl__curl_code_name(code);
  }
}

void uvcrawl__record_fill(uvcrawl_result_t *r, const uvcrawl__item_t *item,
                          const uvcrawl__xfer_t *x, const uvcrawl__job_t *job) {
  memset(r, 0, sizeof(*r));
  r->attempts = item->attempts + 1u;
  r->note = uvcrawl__record_note(job);
  r->url = item->url;
  r->status = x->status;
  r->http_version = x->http_version;
  r->depth = item->depth;
  r->referrer = item->referrer;
  r->content_type = x->content_type;
  r->bytes = x->bytes;
  r->md5 = job->md5[0] ? job->md5 : NULL;
  r->redirect = x->redirect;
  r->error = x->error;
  r->error_name = x->error ? x->error_name : NULL;
  r->ms = x->ms;
  r->curl_code = x->code;
  r->links = (unsigned)job->ngiven;
}
