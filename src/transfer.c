/* The options every request gets, whichever engine runs it: both engines must fetch the same
 * way for their records to be comparable. */
#include <dirent.h>
#include <string.h>
#include <sys/resource.h>

#include "http.h"
#include "uvcrawl-int.h"

#define FD_RESERVE 16 /* the loop's own fds, output files, stdio */
/* curl fills its receive buffer with one recv, then polls to see whether more is pending: an
 * 8 KB buffer took two of each for an 8 KB page, twelve for a 95 KB one. The buffers of all
 * transfers together stay within this (2 MB: 64 KB each up to 32 in flight, 8 KB from 256),
 * each between 8 and 64 KB. */
#define RECV_BUDGET (2ul << 20)

/* Open fds now: /proc/self/fd where there is one, a guess elsewhere. */
static unsigned count_open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  unsigned n = 0;
  if (d == NULL) return FD_RESERVE;
  while (readdir(d) != NULL) n++;
  closedir(d);
  return n > 3 ? n - 3 : 0; /* ".", "..", and the dir's own fd */
}

unsigned uvcrawl__fd_room(unsigned wanted, unsigned fds_each) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return wanted;
  uint64_t used = count_open_fds() + FD_RESERVE;
  uint64_t room = rl.rlim_cur > used ? (rl.rlim_cur - used) / fds_each : 0;
  if (room < 1) room = 1;
  return wanted > room ? (unsigned)room : wanted;
}

void uvcrawl__easy_setup(CURL *e, const uvcrawl_options_t *o, const char *user_agent,
                         const char *url, curl_write_callback on_body, void *arg,
                         char *errbuf, const uvcrawl__http_t *http) {
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
  if (o->http_version == 1) curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  else if (o->http_version == 2)
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
  int h2 = o->http_version == 2 || (o->http_version == 0 && strncmp(url, "https:", 6) == 0);
  int share = h2;
#if LIBCURL_VERSION_NUM < 0x080000
  if (o->http_version == 2 && strncmp(url, "http:", 5) == 0) {
    /* Before 8.0, libcurl fails every request after the first on a prior-knowledge
     * connection (curl#10634): one connection per request, never shared. */
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    share = 0;
  }
#endif
  /* Where HTTP/2 may be spoken, a transfer waits for the connection being set up to its
   * origin to say whether it multiplexes, rather than opening one more: N requests then share
   * one connection as N streams. Not on HTTP/1.1, where waiting could only delay. */
  if (share) curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
  /* x thousands in flight: 16 KB each is a lot. But not with HTTP/2: libcurl 7.88 overruns a
   * buffer smaller than its default once an easy handle is reused on a multiplexed connection
   * (found by ASan in tests/test_h2.py). */
  if (!h2) {
    unsigned long size = RECV_BUDGET / (o->max_inflight ? o->max_inflight : 1);
    size = size < 8192 ? 8192 : size > 65536 ? 65536 : size;
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long)size);
  }
  if (o->cacert != NULL) curl_easy_setopt(e, CURLOPT_CAINFO, o->cacert);
  if (o->insecure) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (o->low_speed_secs > 0 && o->low_speed_bytes > 0) {
    /* A trickling server cannot hold a slot forever. */
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, o->low_speed_bytes);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, o->low_speed_secs);
  }
  uvcrawl__http_apply(http, e, url);
}

const char *uvcrawl__http_version(CURL *e) {
  long v = 0;
  if (curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &v) != CURLE_OK) return NULL;
  switch (v) {
  case CURL_HTTP_VERSION_1_0: return "1.0";
  case CURL_HTTP_VERSION_1_1: return "1.1";
  case CURL_HTTP_VERSION_2_0: return "2";
  case CURL_HTTP_VERSION_3: return "3";
  default: return NULL;
  }
}
