/* The options every request gets, whichever engine runs it: both engines must fetch the same
 * way for their records to be comparable. */
#include "uvcrawl-int.h"

void uvcrawl__easy_setup(CURL *e, const uvcrawl_options_t *o, const char *user_agent,
                         const char *url, curl_write_callback on_body, void *arg,
                         char *errbuf) {
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, arg);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, user_agent);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""); /* whatever libcurl can decode */
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect is a record and a link */
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_body);
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 8192L); /* x thousands in flight: 16 KB each is a lot */
  if (o->low_speed_secs > 0 && o->low_speed_bytes > 0) {
    /* A trickling server cannot hold a slot forever. */
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, o->low_speed_bytes);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, o->low_speed_secs);
  }
}
