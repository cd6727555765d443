/* The options every request gets, whichever engine runs it: both engines must fetch the same
 * way for their records to be comparable. */
#include "transfer.h"

#include <dirent.h>
#include <string.h>
#include <sys/resource.h>

#include "http.h"
#include "options.h"

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

const char *uvcrawl__curl_code_name(int code) {
  /* curl has curl_easy_strerror() for people but no name for programs: the header's own
   * spelling, stable across curl versions (values never change meaning). */
#define N(x) [x] = #x,
  static const char *const names[] = {
      N(CURLE_OK)
      N(CURLE_UNSUPPORTED_PROTOCOL)
      N(CURLE_FAILED_INIT)
      N(CURLE_URL_MALFORMAT)
      N(CURLE_NOT_BUILT_IN)
      N(CURLE_COULDNT_RESOLVE_PROXY)
      N(CURLE_COULDNT_RESOLVE_HOST)
      N(CURLE_COULDNT_CONNECT)
      N(CURLE_WEIRD_SERVER_REPLY)
      N(CURLE_REMOTE_ACCESS_DENIED)
      N(CURLE_FTP_ACCEPT_FAILED)
      N(CURLE_FTP_WEIRD_PASS_REPLY)
      N(CURLE_FTP_ACCEPT_TIMEOUT)
      N(CURLE_FTP_WEIRD_PASV_REPLY)
      N(CURLE_FTP_WEIRD_227_FORMAT)
      N(CURLE_FTP_CANT_GET_HOST)
      N(CURLE_HTTP2)
      N(CURLE_FTP_COULDNT_SET_TYPE)
      N(CURLE_PARTIAL_FILE)
      N(CURLE_FTP_COULDNT_RETR_FILE)
      N(CURLE_QUOTE_ERROR)
      N(CURLE_HTTP_RETURNED_ERROR)
      N(CURLE_WRITE_ERROR)
      N(CURLE_UPLOAD_FAILED)
      N(CURLE_READ_ERROR)
      N(CURLE_OUT_OF_MEMORY)
      N(CURLE_OPERATION_TIMEDOUT)
      N(CURLE_FTP_PORT_FAILED)
      N(CURLE_FTP_COULDNT_USE_REST)
      N(CURLE_RANGE_ERROR)
      N(CURLE_HTTP_POST_ERROR)
      N(CURLE_SSL_CONNECT_ERROR)
      N(CURLE_BAD_DOWNLOAD_RESUME)
      N(CURLE_FILE_COULDNT_READ_FILE)
      N(CURLE_LDAP_CANNOT_BIND)
      N(CURLE_LDAP_SEARCH_FAILED)
      N(CURLE_FUNCTION_NOT_FOUND)
      N(CURLE_ABORTED_BY_CALLBACK)
      N(CURLE_BAD_FUNCTION_ARGUMENT)
      N(CURLE_INTERFACE_FAILED)
      N(CURLE_TOO_MANY_REDIRECTS)
      N(CURLE_UNKNOWN_OPTION)
      N(CURLE_SETOPT_OPTION_SYNTAX)
      N(CURLE_GOT_NOTHING)
      N(CURLE_SSL_ENGINE_NOTFOUND)
      N(CURLE_SSL_ENGINE_SETFAILED)
      N(CURLE_SEND_ERROR)
      N(CURLE_RECV_ERROR)
      N(CURLE_SSL_CERTPROBLEM)
      N(CURLE_SSL_CIPHER)
      N(CURLE_PEER_FAILED_VERIFICATION)
      N(CURLE_BAD_CONTENT_ENCODING)
      N(CURLE_FILESIZE_EXCEEDED)
      N(CURLE_USE_SSL_FAILED)
      N(CURLE_SEND_FAIL_REWIND)
      N(CURLE_SSL_ENGINE_INITFAILED)
      N(CURLE_LOGIN_DENIED)
      N(CURLE_TFTP_NOTFOUND)
      N(CURLE_TFTP_PERM)
      N(CURLE_REMOTE_DISK_FULL)
      N(CURLE_TFTP_ILLEGAL)
      N(CURLE_TFTP_UNKNOWNID)
      N(CURLE_REMOTE_FILE_EXISTS)
      N(CURLE_TFTP_NOSUCHUSER)
      N(CURLE_SSL_CACERT_BADFILE)
      N(CURLE_REMOTE_FILE_NOT_FOUND)
      N(CURLE_SSH)
      N(CURLE_SSL_SHUTDOWN_FAILED)
      N(CURLE_AGAIN)
      N(CURLE_SSL_CRL_BADFILE)
      N(CURLE_SSL_ISSUER_ERROR)
      N(CURLE_FTP_PRET_FAILED)
      N(CURLE_RTSP_CSEQ_ERROR)
      N(CURLE_RTSP_SESSION_ERROR)
      N(CURLE_FTP_BAD_FILE_LIST)
      N(CURLE_CHUNK_FAILED)
      N(CURLE_NO_CONNECTION_AVAILABLE)
      N(CURLE_SSL_PINNEDPUBKEYNOTMATCH)
      N(CURLE_SSL_INVALIDCERTSTATUS)
      N(CURLE_HTTP2_STREAM)
      N(CURLE_RECURSIVE_API_CALL)
      N(CURLE_AUTH_ERROR)
      N(CURLE_HTTP3)
      N(CURLE_QUIC_CONNECT_ERROR)
      N(CURLE_PROXY)
      N(CURLE_SSL_CLIENTCERT)
      N(CURLE_UNRECOVERABLE_POLL)
  };
#undef N
  if (code < 0 || (size_t)code >= sizeof(names) / sizeof(names[0]) || names[code] == NULL)
    return "CURLE_UNKNOWN";
  return names[code];
}
