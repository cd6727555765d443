/* The crawl's WARC output: capture on the loop, records on the pool, one ordered writer. */
#include "warcout.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "cdxj.h"
#include "container.h"
#include "decode.h"
#include "dynbuf.h"
#include "jobs.h"
#include "store.h"
#include "testhooks.h"
#include "warc.h"

#define HEAD_MAX (256u << 10) /* a request or response head kept; a longer one is cut */
#define SCAN_HEAD (64u << 10) /* bytes of each record the resume scan reads for its headers */
#define PROFILE_IPD "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"

struct uvcrawl__warcrec_s {
  uvcrawl__warcout_t *w;
  uvcrawl__warcrec_t *next; /* the writer's queue */
  uvcrawl__dynbuf_t req;    /* the request as sent: head (raw, from the debug callback), body */
  uvcrawl__dynbuf_t resp;   /* the response head as received (raw, from the header callback) */
  int resp_started;         /* a status line came: a new request starts a new exchange */
  uint64_t date_ns;         /* when the request went out */
  char *url;
  char ip[64];
  const char *truncated;    /* static */
  /* prepare()'s results */
  int prepared;
  uvcrawl__dynbuf_t records; /* the request record, then the response record */
  size_t req_len;            /* bytes of the request record in records */
  uvcrawl__dynbuf_t head;    /* the response's HTTP head as stored, for a revisit */
  const char *protocol;      /* "h2", "h3" or NULL; static */
  long status;
  char *mime;
  char id[UVCRAWL__WARC_ID_SIZE], req_id[UVCRAWL__WARC_ID_SIZE];
  char date[UVCRAWL__WARC_DATE_SIZE];
  char digest[UVCRAWL__WARC_DIGEST_SIZE];
  size_t payload_len;
  /* the writer's */
  const char *body;
  size_t len;
  char *own_body;
  uvcrawl__warcout_cb cb;
  void *arg;
  uvcrawl__warcrec_result_t res;
  char *res_file; /* res.file: the file may be rolled over before the callback runs */
};

/* A payload archived: the first response with its digest, for revisits. */
typedef struct {
  char *digest, *uri, *date;
  char id[UVCRAWL__WARC_ID_SIZE]; /* "" when from --warc-dedup (the CDXJ has no ID) */
} seen_t;

enum { TASK_WRITE, TASK_FLUSH, TASK_CLOSE };

struct uvcrawl__warcout_s {
  uv_loop_t *loop;
  uvcrawl__pool_t *pool;
  char *base, *ext;   /* path = base [-NNNNN] ext */
  int gz;
  int numbered;
  uint64_t max_size;
  char *cdx_path;
  char *info;         /* warcinfo fields */
  /* the file being written (the writer's while busy) */
  int fd;
  unsigned fileno;
  char *path;         /* its name */
  uint64_t size;
  int need_info;      /* the file is open but its warcinfo record is still to be written */
  int error;          /* first write error */
  uvcrawl__dynbuf_t cdx; /* index lines, sorted when written */
  seen_t **seen;
  size_t nseen, seen_cap;
  uint64_t responses, revisits;
  /* the loop's */
  uvcrawl__warcrec_t *head, *tail; /* queued */
  uvcrawl__warcrec_t *batch;       /* being written */
  int busy, task;
  uvcrawl__job_t job;
  void (*flush_cb)(void *, int);
  void *flush_arg;
  int flush_wanted, close_wanted;
  void (*close_cb)(void *, int);
  void *close_arg;
};

/* ---- capture (loop thread, from libcurl's callbacks) ---------------------------------- */

uvcrawl__warcrec_t *uvcrawl__warcrec_new(uvcrawl__warcout_t *w) {
  uvcrawl__warcrec_t *r = calloc(1, sizeof(*r));
  if (r == NULL) return NULL;
  r->w = w;
  uvcrawl__dynbuf_init(&r->req, HEAD_MAX);
  uvcrawl__dynbuf_init(&r->resp, HEAD_MAX);
  uvcrawl__dynbuf_init(&r->records, 0);
  uvcrawl__dynbuf_init(&r->head, 0);
  return r;
}

void uvcrawl__warcrec_free(uvcrawl__warcrec_t *r) {
  if (r == NULL) return;
  uvcrawl__dynbuf_free(&r->req);
  uvcrawl__dynbuf_free(&r->resp);
  uvcrawl__dynbuf_free(&r->records);
  uvcrawl__dynbuf_free(&r->head);
  free(r->url);
  free(r->mime);
  free(r->own_body);
  free(r->res_file);
  free(r);
}

static uint64_t wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int on_debug(CURL *e, curl_infotype type, char *data, size_t size, void *arg) {
  uvcrawl__warcrec_t *r = arg;
  (void)e;
  if (type != CURLINFO_HEADER_OUT && type != CURLINFO_DATA_OUT) return 0;
  if (type == CURLINFO_HEADER_OUT && (r->resp_started || r->req.len == 0)) {
    /* A new request (a redirect followed by libcurl): only the last exchange is kept. */
    uvcrawl__dynbuf_reset(&r->req);
    uvcrawl__dynbuf_reset(&r->resp);
    r->resp_started = 0;
    r->date_ns = wall_ns();
  }
  (void)uvcrawl__dynbuf_add(&r->req, data, size); /* past the cap: the head is cut */
  return 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg) {
  uvcrawl__warcrec_t *r = arg;
  size_t len = size * n;
  if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
    /* A status line: 1xx, a proxy's CONNECT answer or a redirect came before; this one is
     * the response to archive. */
    uvcrawl__dynbuf_reset(&r->resp);
    r->resp_started = 1;
  }
  (void)uvcrawl__dynbuf_add(&r->resp, p, len);
  return len;
}

void uvcrawl__warcrec_setup(uvcrawl__warcrec_t *r, CURL *e) {
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, on_debug);
  curl_easy_setopt(e, CURLOPT_DEBUGDATA, r);
  curl_easy_setopt(e, CURLOPT_VERBOSE, 1L); /* the debug callback runs only then */
  /* The body as the server coded it: the WARC keeps the coding; the pool decodes. */
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, uvcrawl__decode_accept());
  curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
}

int uvcrawl__warcrec_done(uvcrawl__warcrec_t *r, CURL *e, const char *url, const char *truncated) {
  char *ip = NULL;
  if (!r->resp_started || r->req.len == 0) return 0;
  free(r->url);
  if ((r->url = strdup(url)) == NULL) return UV_ENOMEM;
  if (curl_easy_getinfo(e, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip != NULL)
    snprintf(r->ip, sizeof(r->ip), "%s", ip);
  r->truncated = truncated;
  return 1;
}

/* The value of header name (lower-case, with its ':') in a raw head, or NULL. */
static const char *find_header(const char *head, size_t len, const char *name, size_t *n) {
  size_t nl = strlen(name), pos = 0;
  while (pos < len) {
    const char *line = head + pos;
    const char *end = memchr(line, '\n', len - pos);
    size_t ll = end ? (size_t)(end - line) : len - pos;
    pos += ll + 1;
    if (ll > nl && strncasecmp(line, name, nl) == 0) {
      const char *v = line + nl;
      while (ll > nl && (line[ll - 1] == '\r' || line[ll - 1] == ' ')) ll--;
      while (v < line + ll && (*v == ' ' || *v == '\t')) v++;
      *n = (size_t)(line + ll - v);
      return v;
    }
  }
  return NULL;
}

const char *uvcrawl__warcrec_coding(const uvcrawl__warcrec_t *r, size_t *n) {
  if (r->resp.p == NULL) return NULL;
  const char *v = find_header(r->resp.p, r->resp.len, "content-encoding:", n);
  return v != NULL && !uvcrawl__decode_is_identity(v, *n) ? v : NULL;
}

/* ---- records (any thread) -------------------------------------------------------------- */

static long head_status(const char *head, size_t len) {
  const char *sp = memchr(head, ' ', len);
  long s = 0;
  for (const char *p = sp ? sp + 1 : head + len; p < head + len && *p >= '0' && *p <= '9'; p++)
    s = s * 10 + (*p - '0');
  return s;
}

int uvcrawl__warcrec_prepare(uvcrawl__warcrec_t *r, const char *body, size_t len) {
  uvcrawl__dynbuf_t rq;
  const char *rproto;
  size_t n;
  int err;
  if (r->prepared) return 0;
  if (uvcrawl__thread_probe) uvcrawl__thread_probe("warc-build");
  uvcrawl__dynbuf_reset(&r->records);
  uvcrawl__dynbuf_reset(&r->head);
  if ((err = uvcrawl__warc_id(r->id)) != 0 || (err = uvcrawl__warc_id(r->req_id)) != 0)
    return UV_EIO;
  uvcrawl__warc_date(r->date_ns ? r->date_ns : wall_ns(), r->date);
  if (uvcrawl__warc_http_head(&r->head, r->resp.p, r->resp.len, &r->protocol) != 0)
    return UV_ENOMEM;
  r->status = head_status(r->head.p, r->head.len);
  const char *ct = find_header(r->head.p, r->head.len, "content-type:", &n);
  free(r->mime);
  r->mime = ct ? strndup(ct, n) : NULL;
  if (ct != NULL && r->mime == NULL) return UV_ENOMEM;
  uvcrawl__warc_chunk_t payload = {body, len};
  if (uvcrawl__warc_sha1(&payload, 1, r->digest) != 0) return UV_ENOMEM;
  r->payload_len = len;

  /* The request: as sent, its line in HTTP/1.1 form when it went over HTTP/2. */
  uvcrawl__dynbuf_init(&rq, 0);
  const char *rq_end = r->req.p ? strstr(r->req.p, "\r\n\r\n") : NULL;
  size_t rq_head = rq_end ? (size_t)(rq_end - r->req.p) + 4 : r->req.len;
  err = uvcrawl__warc_http_head(&rq, r->req.p, rq_head, &rproto);
  if (err == 0 && rq_head < r->req.len)
    err = uvcrawl__dynbuf_add(&rq, r->req.p + rq_head, r->req.len - rq_head);
  if (err == 0) {
    uvcrawl__warc_chunk_t block = {rq.p, rq.len};
    uvcrawl__warc_field_t f[] = {{"WARC-Target-URI", r->url},
                                 {"WARC-Concurrent-To", r->id},
                                 {"WARC-IP-Address", r->ip[0] ? r->ip : NULL},
                                 {"WARC-Protocol", rproto}};
    err = uvcrawl__warc_record(&r->records, "request", r->req_id, r->date,
                               "application/http; msgtype=request", f, 4, &block, 1,
                               r->w->gz);
  }
  uvcrawl__dynbuf_free(&rq);
  r->req_len = r->records.len;
  if (err == 0) {
    uvcrawl__warc_chunk_t block[2] = {{r->head.p, r->head.len}, {body, len}};
    uvcrawl__warc_field_t f[] = {{"WARC-Target-URI", r->url},
                                 {"WARC-IP-Address", r->ip[0] ? r->ip : NULL},
                                 {"WARC-Protocol", r->protocol},
                                 {"WARC-Payload-Digest", r->digest},
                                 {"WARC-Truncated", r->truncated}};
    /* A content-coded payload is compressed already: stored, not deflated again. */
    size_t n_ce;
    int gz = r->w->gz && uvcrawl__warcrec_coding(r, &n_ce) != NULL ? UVCRAWL__WARC_GZIP_STORE_LAST
                                                                 : r->w->gz;
    err = uvcrawl__warc_record(&r->records, "response", r->id, r->date,
                               "application/http; msgtype=response", f, 5, block, 2, gz);
  }
  if (err != 0) return UV_ENOMEM;
  r->prepared = 1;
  return 0;
}

/* ---- payloads seen (the writer's) ------------------------------------------------------ */

static uint32_t hash_str(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

static seen_t *seen_find(uvcrawl__warcout_t *w, const char *digest) {
  if (w->seen_cap == 0) return NULL;
  for (size_t i = hash_str(digest) & (w->seen_cap - 1); w->seen[i] != NULL;
       i = (i + 1) & (w->seen_cap - 1))
    if (strcmp(w->seen[i]->digest, digest) == 0) return w->seen[i];
  return NULL;
}

static void seen_free(seen_t *s) {
  if (s == NULL) return;
  free(s->digest);
  free(s->uri);
  free(s->date);
  free(s);
}

/* Remembers the first record of a payload (later ones keep the first). 0 or UV_ENOMEM. */
static int seen_add(uvcrawl__warcout_t *w, const char *digest, const char *uri,
                    const char *date, const char *id) {
  if (seen_find(w, digest) != NULL) return 0;
  if (2 * (w->nseen + 1) > w->seen_cap) {
    size_t cap = w->seen_cap ? 2 * w->seen_cap : 1024;
    seen_t **t = calloc(cap, sizeof(*t));
    if (t == NULL) return UV_ENOMEM;
    for (size_t i = 0; i < w->seen_cap; i++) {
      if (w->seen[i] == NULL) continue;
      size_t j = hash_str(w->seen[i]->digest) & (cap - 1);
      while (t[j] != NULL) j = (j + 1) & (cap - 1);
      t[j] = w->seen[i];
    }
    free(w->seen);
    w->seen = t;
    w->seen_cap = cap;
  }
  seen_t *s = calloc(1, sizeof(*s));
  if (s == NULL) return UV_ENOMEM;
  s->digest = strdup(digest);
  s->uri = strdup(uri);
  s->date = strdup(date);
  if (id != NULL) snprintf(s->id, sizeof(s->id), "%s", id);
  if (s->digest == NULL || s->uri == NULL || s->date == NULL) {
    seen_free(s);
    return UV_ENOMEM;
  }
  size_t j = hash_str(digest) & (w->seen_cap - 1);
  while (w->seen[j] != NULL) j = (j + 1) & (w->seen_cap - 1);
  w->seen[j] = s;
  w->nseen++;
  return 0;
}

/* Revisits are for 2xx payloads that are not empty: an empty body or an error page says
 * nothing worth pointing back at. */
static int dedupable(long status, size_t payload_len) {
  return status >= 200 && status < 300 && payload_len > 0;
}

/* ---- files (the writer's, or setup) ---------------------------------------------------- */

static char *file_name(const uvcrawl__warcout_t *w, unsigned n) {
  uvcrawl__dynbuf_t b;
  uvcrawl__dynbuf_init(&b, 0);
  int err = w->numbered ? uvcrawl__dynbuf_addf(&b, "%s-%05u%s", w->base, n, w->ext)
                        : uvcrawl__dynbuf_addf(&b, "%s%s", w->base, w->ext);
  if (err != 0) {
    uvcrawl__dynbuf_free(&b);
    return NULL;
  }
  size_t len;
  return uvcrawl__dynbuf_take(&b, &len);
}

static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

/* Writes bytes at the end of the current file. */
static int put(uvcrawl__warcout_t *w, const char *p, size_t n) {
  if (uvcrawl__thread_probe) uvcrawl__thread_probe("warc-write");
  int err = uvcrawl__write_all(w->fd, p, n);
  if (err == 0) w->size += n;
  else if (w->error == 0) w->error = err;
  return err;
}

/* A response and its request in one writev: after a kill -9 between two writes the resume
 * scan kept the whole response with no request (seen by test_warc's --pairs check). A kill
 * inside the writev leaves a torn record, which the scan cuts. One probe call per record. */
static int put_pair(uvcrawl__warcout_t *w, const char *a, size_t an, const char *b, size_t bn) {
  if (uvcrawl__thread_probe) {
    uvcrawl__thread_probe("warc-write");
    uvcrawl__thread_probe("warc-write");
  }
  struct iovec iov[2] = {{(void *)a, an}, {(void *)b, bn}};
  struct iovec *v = iov;
  int cnt = 2, err = 0;
  while (cnt > 0 && err == 0) {
    ssize_t k = writev(w->fd, v, cnt);
    if (k < 0) {
      if (errno != EINTR) err = -errno;
      continue;
    }
    w->size += (uint64_t)k;
    for (; cnt > 0 && (size_t)k >= v->iov_len; v++, cnt--) k -= (ssize_t)v->iov_len;
    if (cnt > 0) {
      v->iov_base = (char *)v->iov_base + k;
      v->iov_len -= (size_t)k;
    }
  }
  if (err != 0 && w->error == 0) w->error = err;
  return err;
}

static int write_info(uvcrawl__warcout_t *w);

/* fd and path (owned from now on) become the file being written, number n, size bytes long. */
static void use_file(uvcrawl__warcout_t *w, int fd, char *path, unsigned n, uint64_t size) {
  if (w->fd >= 0) close(w->fd);
  free(w->path);
  w->fd = fd;
  w->path = path;
  w->fileno = n;
  w->size = size;
}

/* Opens file number n afresh; its warcinfo record is written now, or with info = 0 (setup, on
 * the loop thread) by the writer before the first record. */
static int start_file(uvcrawl__warcout_t *w, unsigned n, int info) {
  char *path = file_name(w, n);
  if (path == NULL) return UV_ENOMEM;
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    int err = -errno;
    free(path);
    return err;
  }
  use_file(w, fd, path, n, 0);
  w->need_info = 1;
  return info ? write_info(w) : 0;
}

static int write_info(uvcrawl__warcout_t *w) {
  char id[UVCRAWL__WARC_ID_SIZE], date[UVCRAWL__WARC_DATE_SIZE];
  const char *path = w->path;
  w->need_info = 0;
  uvcrawl__dynbuf_t rec;
  uvcrawl__dynbuf_init(&rec, 0);
  int err = uvcrawl__warc_id(id);
  uvcrawl__warc_date(wall_ns(), date);
  uvcrawl__warc_chunk_t block = {w->info, strlen(w->info)};
  uvcrawl__warc_field_t f[] = {{"WARC-Filename", base_name(path)}};
  if (err == 0)
    err = uvcrawl__warc_record(&rec, "warcinfo", id, date, "application/warc-fields", f, 1,
                               &block, 1, w->gz);
  if (err == 0) err = put(w, rec.p, rec.len);
  uvcrawl__dynbuf_free(&rec);
  return err;
}

/* Writes one capture: its response record, or a revisit when its payload was archived
 * before, then its request record. */
static void write_rec(uvcrawl__warcout_t *w, uvcrawl__warcrec_t *r) {
  r->res.file = NULL;
  if (w->fd < 0 && w->error == 0) {
    int err = start_file(w, w->numbered ? w->fileno : 0, 1);
    if (err != 0 && w->error == 0) w->error = err;
  }
  if (w->fd < 0) return;
  if (w->need_info && write_info(w) != 0) return;
  if (!r->prepared && uvcrawl__warcrec_prepare(r, r->body, r->len) != 0) return;
  const char *rec = r->records.p + r->req_len;
  size_t rec_len = r->records.len - r->req_len;
  uvcrawl__dynbuf_t rv;
  uvcrawl__dynbuf_init(&rv, 0);
  seen_t *orig = dedupable(r->status, r->payload_len) ? seen_find(w, r->digest) : NULL;
  if (orig != NULL) {
    uvcrawl__warc_chunk_t block = {r->head.p, r->head.len};
    uvcrawl__warc_field_t f[] = {{"WARC-Target-URI", r->url},
                                 {"WARC-IP-Address", r->ip[0] ? r->ip : NULL},
                                 {"WARC-Protocol", r->protocol},
                                 {"WARC-Profile", PROFILE_IPD},
                                 {"WARC-Refers-To", orig->id[0] ? orig->id : NULL},
                                 {"WARC-Refers-To-Target-URI", orig->uri},
                                 {"WARC-Refers-To-Date", orig->date},
                                 {"WARC-Payload-Digest", r->digest}};
    if (uvcrawl__warc_record(&rv, "revisit", r->id, r->date,
                             "application/http; msgtype=response", f, 8, &block, 1,
                             w->gz) != 0) {
      uvcrawl__dynbuf_free(&rv);
      return;
    }
    rec = rv.p;
    rec_len = rv.len;
  }
  /* The response first, then its request: replay tools' indexers (pywb, warcio) pair a
   * response with the request record right after it. */
  uint64_t offset = w->size;
  if (put_pair(w, rec, rec_len, r->records.p, r->req_len) == 0) {
    {
      free(r->res_file);
      r->res.file = r->res_file = strdup(w->path); /* NULL (no memory): reported unwritten */
      r->res.offset = offset;
      r->res.record_id = r->id;
      r->res.revisit = orig != NULL;
      if (orig != NULL) w->revisits++;
      else w->responses++;
      if (orig == NULL && dedupable(r->status, r->payload_len))
        (void)seen_add(w, r->digest, r->url, r->date, r->id); /* no memory: no revisits */
      if (w->cdx_path != NULL) {
        uvcrawl__cdxj_entry_t e = {r->url, r->date, r->mime, r->status, r->digest,
                                   orig != NULL, rec_len, offset, base_name(w->path)};
        (void)uvcrawl__cdxj_line(&w->cdx, &e);
      }
    }
  }
  uvcrawl__dynbuf_free(&rv);
  if (w->max_size > 0 && w->size >= w->max_size) {
    /* Rollover: the next record opens the next file. */
    close(w->fd);
    w->fd = -1;
    w->fileno++;
  }
}

static int write_cdx(uvcrawl__warcout_t *w) {
  if (w->cdx_path == NULL) return 0;
  if (w->cdx.len > 0 && uvcrawl__cdxj_sort(w->cdx.p, w->cdx.len) != 0) return UV_ENOMEM;
  uvcrawl__dynbuf_t tmp;
  uvcrawl__dynbuf_init(&tmp, 0);
  if (uvcrawl__dynbuf_addf(&tmp, "%s.tmp", w->cdx_path) != 0) return UV_ENOMEM;
  int err = 0, fd = open(tmp.p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) err = -errno;
  if (err == 0) err = uvcrawl__write_all(fd, w->cdx.p ? w->cdx.p : "", w->cdx.len);
  if (fd >= 0 && close(fd) != 0 && err == 0) err = -errno;
  if (err == 0 && rename(tmp.p, w->cdx_path) != 0) err = -errno;
  uvcrawl__dynbuf_free(&tmp);
  return err;
}

/* ---- the writer job ---------------------------------------------------------------------- */

static void writer_work(uvcrawl__job_t *job) {
  uvcrawl__warcout_t *w = UVCRAWL_CONTAINER_OF(job, uvcrawl__warcout_t, job);
  for (uvcrawl__warcrec_t *r = w->batch; r != NULL; r = r->next) write_rec(w, r);
  if (w->task == TASK_FLUSH) {
    if (w->fd >= 0 && w->need_info) (void)write_info(w); /* a crawl that archived nothing */
    if (w->fd >= 0 && fdatasync(w->fd) != 0 && w->error == 0) w->error = -errno;
    int err = write_cdx(w);
    if (err != 0 && w->error == 0) w->error = err;
  } else if (w->task == TASK_CLOSE && w->fd >= 0) {
    close(w->fd);
    w->fd = -1;
  }
}

static void kick(uvcrawl__warcout_t *w);

void uvcrawl__warcout_discard(uvcrawl__warcout_t *w) {
  for (size_t i = 0; i < w->seen_cap; i++) seen_free(w->seen[i]);
  free(w->seen);
  uvcrawl__dynbuf_free(&w->cdx);
  if (w->fd >= 0) close(w->fd);
  free(w->base);
  free(w->ext);
  free(w->cdx_path);
  free(w->info);
  free(w->path);
  free(w);
}

static void writer_done(uvcrawl__job_t *job) {
  uvcrawl__warcout_t *w = UVCRAWL_CONTAINER_OF(job, uvcrawl__warcout_t, job);
  uvcrawl__warcrec_t *r = w->batch, *next;
  int task = w->task;
  w->batch = NULL;
  w->busy = 0;
  if (job->status == UV_ECANCELED) {
    /* The pool never ran it (the loop is going away): do it here rather than lose it. */
    w->batch = r;
    writer_work(job);
    w->batch = NULL;
  }
  for (; r != NULL; r = next) {
    next = r->next;
    if (r->cb != NULL) r->cb(r->arg, &r->res);
    uvcrawl__warcrec_free(r);
  }
  if (task == TASK_FLUSH) {
    void (*cb)(void *, int) = w->flush_cb;
    w->flush_cb = NULL;
    if (cb) cb(w->flush_arg, w->error);
  } else if (task == TASK_CLOSE) {
    void (*cb)(void *, int) = w->close_cb;
    void *arg = w->close_arg;
    int err = w->error;
    uvcrawl__warcout_discard(w);
    if (cb) cb(arg, err);
    return;
  }
  kick(w);
}

/* Starts the writer on what waits: queued records first, then a flush, then the close. */
static void kick(uvcrawl__warcout_t *w) {
  if (w->busy) return;
  w->task = TASK_WRITE;
  if (w->flush_wanted && w->head == NULL) w->task = TASK_FLUSH, w->flush_wanted = 0;
  else if (w->close_wanted && w->head == NULL) w->task = TASK_CLOSE;
  else if (w->head == NULL) return;
  w->batch = w->head;
  w->head = w->tail = NULL;
  w->busy = 1;
  memset(&w->job, 0, sizeof(w->job));
  w->job.work = writer_work;
  w->job.mirror_fd = -1;
  uvcrawl__job_submit(w->pool, &w->job, writer_done);
}

static void enqueue(uvcrawl__warcout_t *w, uvcrawl__warcrec_t *r) {
  r->next = NULL;
  if (w->tail) w->tail->next = r;
  else w->head = r;
  w->tail = r;
  kick(w);
}

void uvcrawl__warcout_write(uvcrawl__warcout_t *w, uvcrawl__warcrec_t *r, const char *body,
                            size_t len, uvcrawl__warcout_cb cb, void *arg) {
  r->body = body;
  r->len = len;
  r->cb = cb;
  r->arg = arg;
  enqueue(w, r);
}

void uvcrawl__warcout_archive(uvcrawl__warcout_t *w, uvcrawl__warcrec_t *r, char *body,
                              size_t len) {
  free(r->own_body);
  r->own_body = body;
  r->body = body;
  r->len = body ? len : 0;
  r->cb = NULL;
  enqueue(w, r);
}

void uvcrawl__warcout_flush(uvcrawl__warcout_t *w, void (*cb)(void *, int), void *arg) {
  w->flush_cb = cb;
  w->flush_arg = arg;
  w->flush_wanted = 1;
  kick(w);
}

void uvcrawl__warcout_close(uvcrawl__warcout_t *w, void (*cb)(void *, int), void *arg) {
  w->close_cb = cb;
  w->close_arg = arg;
  w->close_wanted = 1;
  kick(w);
}

/* ---- resume: the records already written ------------------------------------------------ */

/* A WARC header's value in a record's head (name with ':'), copied; NULL when missing. */
static char *warc_field(const char *head, size_t len, const char *name) {
  size_t n;
  const char *v = find_header(head, len, name, &n);
  return v ? strndup(v, n) : NULL;
}

/* One complete record found by the scan: index it and remember its payload. head holds the
 * first bytes of the uncompressed record. */
static int scan_found(uvcrawl__warcout_t *w, const char *path, const char *head, size_t hlen,
                      uint64_t offset, uint64_t length) {
  const char *end = memmem(head, hlen, "\r\n\r\n", 4);
  if (end == NULL) return 0;
  size_t wl = (size_t)(end - head) + 2;
  char *type = warc_field(head, wl, "warc-type:");
  int is_resp = type && strcmp(type, "response") == 0, is_rev = type && !strcmp(type, "revisit");
  free(type);
  if (!is_resp && !is_rev) return 0;
  char *uri = warc_field(head, wl, "warc-target-uri:");
  char *date = warc_field(head, wl, "warc-date:");
  char *id = warc_field(head, wl, "warc-record-id:");
  char *digest = warc_field(head, wl, "warc-payload-digest:");
  const char *http = end + 4;
  size_t httplen = hlen - (size_t)(http - head), n;
  const char *hend = memmem(http, httplen, "\r\n\r\n", 4);
  if (hend != NULL) httplen = (size_t)(hend - http) + 2;
  long status = head_status(http, httplen);
  const char *ct = find_header(http, httplen, "content-type:", &n);
  char *mime = ct ? strndup(ct, n) : NULL;
  /* The payload is what the block holds after its HTTP head. */
  char *cls = warc_field(head, wl, "content-length:");
  uint64_t block = cls ? strtoull(cls, NULL, 10) : 0;
  free(cls);
  uint64_t http_head = hend ? (uint64_t)(hend + 4 - http) : block;
  size_t payload_len = block > http_head ? (size_t)(block - http_head) : 0;
  int err = 0;
  if (uri != NULL && date != NULL) {
    if (w->cdx_path != NULL) {
      uvcrawl__cdxj_entry_t e = {uri, date, mime, status, digest, is_rev, length, offset,
                                 base_name(path)};
      err = uvcrawl__cdxj_line(&w->cdx, &e);
    }
    if (err == 0 && is_resp && digest != NULL && dedupable(status, payload_len))
      err = seen_add(w, digest, uri, date, id);
    if (is_resp) w->responses++;
    else w->revisits++;
  }
  free(uri);
  free(date);
  free(id);
  free(digest);
  free(mime);
  return err != 0 ? UV_ENOMEM : 0;
}

/* The length of the record whose uncompressed bytes start at rec (avail bytes known), or 0
 * when it is incomplete or no record. */
static uint64_t record_len(const char *rec, uint64_t avail) {
  size_t look = avail < SCAN_HEAD ? (size_t)avail : SCAN_HEAD, n;
  if (look < 9 || memcmp(rec, "WARC/1.", 7) != 0) return 0;
  const char *end = memmem(rec, look, "\r\n\r\n", 4);
  if (end == NULL) return 0;
  const char *cl = find_header(rec, (size_t)(end - rec) + 2, "content-length:", &n);
  if (cl == NULL) return 0;
  uint64_t len = 0;
  for (size_t i = 0; i < n; i++) {
    if (cl[i] < '0' || cl[i] > '9' || len > UINT64_MAX / 20) return 0;
    len = len * 10 + (uint64_t)(cl[i] - '0');
  }
  uint64_t total = (uint64_t)(end - rec) + 4 + len + 4;
  if (total > avail || memcmp(rec + total - 4, "\r\n\r\n", 4) != 0) return 0;
  return total;
}

/* Scans a WARC file record by record; returns the length of its valid prefix in *valid. */
static int scan_file(uvcrawl__warcout_t *w, const char *path, int fd, uint64_t size,
                     uint64_t *valid) {
  *valid = 0;
  if (size == 0) return 0;
  char *map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) return -errno;
  uint64_t pos = 0;
  int err = 0;
  if (!w->gz) {
    uint64_t n;
    while (pos < size && (n = record_len(map + pos, size - pos)) > 0) {
      if ((err = scan_found(w, path, map + pos, n < SCAN_HEAD ? (size_t)n : SCAN_HEAD, pos,
                            n)) != 0)
        break;
      pos += n;
    }
  } else {
    /* Member by member: inflate each alone, keep its first bytes for the headers, count the
     * rest, and check the record inside is whole. */
    char *head = malloc(SCAN_HEAD);
    unsigned char sink[65536];
    if (head == NULL) err = UV_ENOMEM;
    while (err == 0 && pos < size) {
      z_stream z;
      memset(&z, 0, sizeof(z));
      if (inflateInit2(&z, 15 + 16) != Z_OK) {
        err = UV_ENOMEM;
        break;
      }
      z.next_in = (Bytef *)(map + pos);
      uint64_t left = size - pos, out = 0;
      size_t hlen = 0;
      char tail[4] = {0, 0, 0, 0};
      int r = Z_OK;
      while (r == Z_OK) {
        if (z.avail_in == 0) {
          if (left == 0) break;
          z.avail_in = left > (1u << 30) ? (1u << 30) : (uInt)left;
          left -= z.avail_in;
        }
        z.next_out = sink;
        z.avail_out = sizeof(sink);
        r = inflate(&z, Z_NO_FLUSH);
        size_t got = sizeof(sink) - z.avail_out;
        if (hlen < SCAN_HEAD) {
          size_t k = got < SCAN_HEAD - hlen ? got : SCAN_HEAD - hlen;
          memcpy(head + hlen, sink, k);
          hlen += k;
        }
        for (size_t i = got >= 4 ? got - 4 : 0; i < got; i++) {
          memmove(tail, tail + 1, 3);
          tail[3] = (char)sink[i];
        }
        out += got;
      }
      uint64_t member = (uint64_t)(z.next_in - (Bytef *)(map + pos));
      inflateEnd(&z);
      if (r != Z_STREAM_END) break; /* torn or corrupt: the valid prefix ends here */
      const char *end = memmem(head, hlen, "\r\n\r\n", 4);
      size_t n;
      const char *cl = end ? find_header(head, (size_t)(end - head) + 2, "content-length:", &n)
                           : NULL;
      if (cl == NULL || hlen < 9 || memcmp(head, "WARC/1.", 7) != 0) break;
      uint64_t len = strtoull(cl, NULL, 10);
      if ((uint64_t)(end - head) + 4 + len + 4 != out || memcmp(tail, "\r\n\r\n", 4) != 0) break;
      if ((err = scan_found(w, path, head, hlen, pos, member)) != 0) break;
      pos += member;
    }
    free(head);
  }
  munmap(map, (size_t)size);
  *valid = pos;
  return err;
}

/* Scans the files to continue and opens the last one for appending after its last complete
 * record (a torn tail is cut). No file yet: a fresh start. */
static int resume_files(uvcrawl__warcout_t *w) {
  for (unsigned n = 0;; n++) {
    char *path = file_name(w, n);
    if (path == NULL) return UV_ENOMEM;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      int err = errno == ENOENT ? 0 : -errno;
      free(path);
      /* None at all: start at 0; else the last one found is open already. */
      return err;
    }
    struct stat st;
    uint64_t valid = 0;
    int err = fstat(fd, &st) != 0 ? -errno : 0;
    if (err == 0) err = scan_file(w, path, fd, (uint64_t)st.st_size, &valid);
    if (err == 0 && valid == 0 && st.st_size > 0) err = UV_EINVAL; /* not a WARC of ours */
    if (err == 0 && valid < (uint64_t)st.st_size && ftruncate(fd, (off_t)valid) != 0)
      err = -errno;
    if (err == 0 && lseek(fd, 0, SEEK_END) < 0) err = -errno;
    if (err != 0) {
      close(fd);
      free(path);
      return err;
    }
    use_file(w, fd, path, n, valid);
    if (valid == 0) { /* an empty file: start it properly */
      close(w->fd);
      w->fd = -1;
    }
    if (!w->numbered) return 0;
  }
}

/* ---- --warc-dedup: a previous crawl's CDXJ ---------------------------------------------- */

/* The JSON string value of "key" in obj (one CDXJ line's object), unescaped, or NULL. */
static char *json_get(const char *obj, size_t len, const char *key) {
  char pat[32];
  int pn = snprintf(pat, sizeof(pat), "\"%s\":\"", key);
  const char *p = memmem(obj, len, pat, (size_t)pn);
  if (p == NULL) return NULL;
  p += pn;
  uvcrawl__dynbuf_t b;
  uvcrawl__dynbuf_init(&b, 0);
  const char *end = obj + len;
  int err = 0;
  while (err == 0 && p < end && *p != '"') {
    char c = *p++;
    if (c == '\\' && p < end) {
      c = *p++;
      if (c == 'n') c = '\n';
      else if (c == 't') c = '\t';
      else if (c == 'r') c = '\r';
      else if (c == 'u' && end - p >= 4) {
        unsigned v = 0;
        for (int i = 0; i < 4; i++) {
          char h = *p++;
          v = v * 16 + (unsigned)(h >= '0' && h <= '9' ? h - '0' : (h | 32) - 'a' + 10);
        }
        c = v < 0x80 ? (char)v : '?';
      }
    }
    err = uvcrawl__dynbuf_add(&b, &c, 1);
  }
  if (err != 0 || p >= end) {
    uvcrawl__dynbuf_free(&b);
    return NULL;
  }
  size_t n;
  char *s = uvcrawl__dynbuf_take(&b, &n);
  return s != NULL ? s : strdup("");
}

static int load_dedup(uvcrawl__warcout_t *w, const char *path) {
  FILE *f = fopen(path, "re");
  if (f == NULL) return -errno;
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int err = 0, any = 0;
  while (err == 0 && (n = getline(&line, &cap, f)) >= 0) {
    const char *sp = memchr(line, ' ', (size_t)n);
    const char *obj = sp ? memchr(sp + 1, ' ', (size_t)(line + n - sp - 1)) : NULL;
    if (obj == NULL || obj[1] != '{' || sp[1 + 14] != ' ') {
      if (n > 1) err = UV_EINVAL;
      continue;
    }
    any = 1;
    obj++;
    size_t olen = (size_t)(line + n - obj);
    char *url = json_get(obj, olen, "url"), *digest = json_get(obj, olen, "digest");
    char *mime = json_get(obj, olen, "mime"), *status = json_get(obj, olen, "status");
    long st = status ? strtol(status, NULL, 10) : 0;
    if (url && digest && st >= 200 && st < 300 && !(mime && !strcmp(mime, "warc/revisit"))) {
      /* 20261201200956 -> 2026-12-01T20:09:56Z: the index keeps seconds only. */
      const char *t = sp + 1;
      char date[32], full[64];
      snprintf(date, sizeof(date), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", t, t + 4, t + 6, t + 8,
               t + 10, t + 12);
      snprintf(full, sizeof(full), "%s%s", strncmp(digest, "sha1:", 5) ? "sha1:" : "", digest);
      err = seen_add(w, full, url, date, NULL);
    }
    free(url);
    free(digest);
    free(mime);
    free(status);
  }
  free(line);
  fclose(f);
  (void)any;
  return err;
}

/* ---- setup ------------------------------------------------------------------------------ */

int uvcrawl__warcout_open(uv_loop_t *loop, uvcrawl__pool_t *pool,
                          const uvcrawl__warcout_conf_t *conf, uvcrawl__warcout_t **out) {
  uvcrawl__warcout_t *w = calloc(1, sizeof(*w));
  if (w == NULL) return UV_ENOMEM;
  w->loop = loop;
  w->pool = pool;
  w->fd = -1;
  w->max_size = conf->max_size;
  w->numbered = conf->max_size > 0;
  uvcrawl__dynbuf_init(&w->cdx, 0);
  const char *path = conf->path;
  size_t n = strlen(path);
  static const char *const exts[] = {".warc.gz", ".gz", ".warc"};
  size_t el = 0;
  for (int i = 0; i < 3 && el == 0; i++) {
    size_t k = strlen(exts[i]);
    if (n > k && strcmp(path + n - k, exts[i]) == 0) el = k;
  }
  w->gz = n > 3 && strcmp(path + n - 3, ".gz") == 0;
  w->base = strndup(path, n - el);
  w->ext = strdup(path + n - el);
  w->cdx_path = conf->cdx_path ? strdup(conf->cdx_path) : NULL;
  w->info = strdup(conf->info ? conf->info : "");
  int err = UV_ENOMEM;
  if (w->base == NULL || w->ext == NULL || w->info == NULL ||
      (conf->cdx_path && w->cdx_path == NULL))
    goto fail;
  if (conf->dedup_path != NULL && (err = load_dedup(w, conf->dedup_path)) != 0) goto fail;
  if (conf->resume && (err = resume_files(w)) != 0) goto fail;
  if (w->fd < 0) {
    /* Open (and create) the first file now, so a bad path fails before the crawl. */
    if ((err = start_file(w, w->fileno, 0)) != 0) goto fail;
  }
  *out = w;
  return 0;
fail:
  uvcrawl__warcout_discard(w);
  return err;
}
