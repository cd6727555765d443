/* Ordered append-only files (the JSON Lines records, the journal). Bytes gather in a buffer on
 * the loop; full buffers go to the file through libuv fs requests (the thread pool), one write
 * at a time so everything stays in order; fdatasync at a bounded interval when asked. */
#include "output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "dynbuf.h"
#include "jobs.h"
#include "uvcrawl.h"

#define FLUSH_AT (64 * 1024)

struct uvcrawl__output_s {
  uv_loop_t *loop;
  uv_file fd;
  int own_fd;
  uv_fs_t req;
  uvcrawl__dynbuf_t pending; /* zeroed: empty (dynbuf.h) */
  uvcrawl__dynbuf_t writing;
  size_t written;  /* of writing */
  size_t unsynced; /* bytes written since the last fdatasync */
  int busy;
  int error;
  int closing;
  uvcrawl__output_cb flush_cb;
  void *flush_arg;
  uvcrawl__output_cb close_cb;
  void *close_arg;
  uint64_t sync_every_ns; /* 0: never fdatasync */
  uint64_t synced_ns;
  int syncing;
};

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when it is not valid. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  size_t need;
  unsigned cp;
  if (s[0] < 0xc2) return 0;
  if (s[0] < 0xe0) need = 2, cp = s[0] & 0x1f;
  else if (s[0] < 0xf0) need = 3, cp = s[0] & 0x0f;
  else if (s[0] < 0xf5) need = 4, cp = s[0] & 0x07;
  else return 0;
  if (n < need) return 0;
  for (size_t i = 1; i < need; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
      (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
    return 0;
  return need;
}

/* Appends s as a JSON string (or null); invalid UTF-8 becomes U+FFFD so the line stays JSON. */
static int json_str(const char *s, char **b, size_t *len, size_t *cap) {
  if (s == NULL) return uvcrawl__buf_add(b, len, cap, "null", 4);
  size_t n = strlen(s);
  if (uvcrawl__buf_reserve(b, len, cap, n * 6 + 2)) return UV_ENOMEM;
  char *o = *b + *len;
  *o++ = '"';
  for (size_t i = 0; i < n;) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      *o++ = '\\';
      *o++ = (char)c;
      i++;
    } else if (c < 0x20 || c == 0x7f) {
      o += snprintf(o, 7, "\\u%04x", c);
      i++;
    } else if (c < 0x80) {
      *o++ = (char)c;
      i++;
    } else {
      size_t k = utf8_len((const unsigned char *)s + i, n - i);
      if (k == 0) {
        memcpy(o, "\\ufffd", 6);
        o += 6;
        i++;
      } else {
        memcpy(o, s + i, k);
        o += k;
        i += k;
      }
    }
  }
  *o++ = '"';
  *len = (size_t)(o - *b);
  return 0;
}

/* Decimal digits of v at o; returns the end. */
static char *put_u64(char *o, uint64_t v) {
  char t[20];
  int n = 0;
  do t[n++] = (char)('0' + v % 10); while ((v /= 10) != 0);
  while (n > 0) *o++ = t[--n];
  return o;
}

static char *put_i64(char *o, int64_t v) {
  if (v < 0) {
    *o++ = '-';
    return put_u64(o, 0 - (uint64_t)v);
  }
  return put_u64(o, (uint64_t)v);
}

/* ms as "%.3f" writes it. Transfer times are whole microseconds (curl's), which print exactly
 * as us / 1000 "." us % 1000; anything else goes through snprintf. At most MS_ROOM bytes. */
#define MS_ROOM 320 /* "%.3f" of DBL_MAX is 313 */
static char *put_ms(char *o, double ms) {
  double us = ms * 1000.0;
  if (us >= 0 && us < 1e15) {
    uint64_t u = (uint64_t)(us + 0.5);
    double d = us - (double)u;
    if (d > -1e-6 && d < 1e-6) {
      o = put_u64(o, u / 1000);
      *o++ = '.';
      *o++ = (char)('0' + u / 100 % 10);
      *o++ = (char)('0' + u / 10 % 10);
      *o++ = (char)('0' + u % 10);
      return o;
    }
  }
  int n = snprintf(o, MS_ROOM, "%.3f", ms);
  return o + (n > 0 && n < MS_ROOM ? n : 0);
}

/* Room for the longest run of literals and numbers between two strings. */
#define NUM_ROOM (MS_ROOM + 128)

int uvcrawl__json_record(const uvcrawl_result_t *r, char **b, size_t *len, size_t *cap) {
  int err = 0;
  char *o = NULL;
#define LIT(s) (err = err ? err : uvcrawl__buf_add(b, len, cap, s, sizeof(s) - 1))
#define STR(s) (err = err ? err : json_str(s, b, len, cap))
/* snprintf cost more than the rest of a record together: numbers are written by hand. */
#define NUM_BEGIN()                                                 \
  if (!err) err = uvcrawl__buf_reserve(b, len, cap, NUM_ROOM);      \
  if (!err) {                                                       \
    o = *b + *len;
#define NUM_END()                                                   \
  *len = (size_t)(o - *b);                                          \
  }
#define PUT(s) (memcpy(o, s, sizeof(s) - 1), o += sizeof(s) - 1)
  LIT("{\"url\":");
  STR(r->url);
  NUM_BEGIN();
  PUT(",\"status\":");
  o = put_i64(o, r->status);
  PUT(",\"http_version\":");
  NUM_END();
  STR(r->http_version);
  NUM_BEGIN();
  PUT(",\"depth\":");
  o = put_i64(o, r->depth);
  PUT(",\"referrer\":");
  NUM_END();
  STR(r->referrer);
  LIT(",\"content_type\":");
  STR(r->content_type);
  NUM_BEGIN();
  PUT(",\"bytes\":");
  o = put_u64(o, (uint64_t)r->bytes);
  PUT(",\"md5\":");
  NUM_END();
  STR(r->md5);
  LIT(",\"redirect\":");
  STR(r->redirect);
  LIT(",\"error\":");
  STR(r->error);
  NUM_BEGIN();
  PUT(",\"curl_code\":");
  o = put_i64(o, r->curl_code);
  PUT(",\"error_name\":");
  NUM_END();
  STR(r->error_name);
  NUM_BEGIN();
  PUT(",\"ms\":");
  o = put_ms(o, r->ms);
  PUT(",\"links\":");
  o = put_u64(o, r->links);
  PUT(",\"attempts\":");
  o = put_u64(o, r->attempts);
  if (r->external) PUT(",\"external\":true");
  else PUT(",\"external\":false");
  if (r->broken) PUT(",\"broken\":true,\"skipped\":");
  else PUT(",\"broken\":false,\"skipped\":");
  NUM_END();
  STR(r->skipped);
  LIT(",\"note\":");
  STR(r->note);
  if (r->warc_file != NULL) {
    LIT(",\"warc_file\":");
    STR(r->warc_file);
    NUM_BEGIN();
    PUT(",\"warc_offset\":");
    o = put_u64(o, r->warc_offset);
    PUT(",\"warc_record_id\":");
    NUM_END();
    STR(r->warc_record_id);
  }
  LIT("}");
#undef LIT
#undef STR
#undef NUM_BEGIN
#undef NUM_END
#undef PUT
  return err;
}

static void start_write(uvcrawl__output_t *o);

static void finish_close(uvcrawl__output_t *o);

static void on_write(uv_fs_t *req) {
  uvcrawl__output_t *o = UVCRAWL_CONTAINER_OF(req, uvcrawl__output_t, req);
  ssize_t r = req->result;
  uv_fs_req_cleanup(req);
  o->busy = 0;
  if (o->syncing) { /* an fdatasync, not a write */
    o->syncing = 0;
    if (r < 0 && o->error == 0) o->error = (int)r;
  } else if (r < 0) {
    if (o->error == 0) o->error = (int)r;
    uvcrawl__dynbuf_reset(&o->writing); /* a failed sink drops data rather than spinning on it */
  } else {
    o->written += (size_t)r;
    o->unsynced += (size_t)r;
    if (o->written >= o->writing.len) uvcrawl__dynbuf_reset(&o->writing);
  }
  start_write(o);
}

/* Keeps one write in flight while there is anything to write, syncs at the set interval, and
 * reports a finished flush. */
static void start_write(uvcrawl__output_t *o) {
  int draining = o->flush_cb != NULL || o->closing;
  if (o->busy) return;
  if (o->writing.len == 0 && o->pending.len > 0 && (o->pending.len >= FLUSH_AT || draining)) {
    uvcrawl__dynbuf_t t = o->writing;
    o->writing = o->pending;
    o->pending = t;
    uvcrawl__dynbuf_reset(&o->pending);
    o->written = 0;
  }
  if (o->writing.len > 0) {
    uv_buf_t b = uv_buf_init(o->writing.p + o->written,
                             (unsigned)(o->writing.len - o->written));
    if (uv_fs_write(o->loop, &o->req, o->fd, &b, 1, -1, on_write) == 0) {
      o->busy = 1;
      return;
    }
    if (o->error == 0) o->error = UV_EIO;
    uvcrawl__dynbuf_reset(&o->writing);
    uvcrawl__dynbuf_reset(&o->pending);
  }
  /* A bounded interval between syncs bounds what a power loss can take. */
  if (o->sync_every_ns && o->unsynced > 0 &&
      (draining || uv_hrtime() - o->synced_ns >= o->sync_every_ns)) {
    o->synced_ns = uv_hrtime();
    o->unsynced = 0;
    if (uv_fs_fdatasync(o->loop, &o->req, o->fd, on_write) == 0) {
      o->busy = o->syncing = 1;
      return;
    }
  }
  if (o->pending.len > 0 && draining) {
    start_write(o);
    return;
  }
  if (o->pending.len == 0 && o->flush_cb != NULL) {
    uvcrawl__output_cb cb = o->flush_cb;
    o->flush_cb = NULL;
    cb(o->flush_arg, o->error);
  }
}

int uvcrawl__output_open(uv_loop_t *loop, const char *path, int append, unsigned sync_ms,
                         uvcrawl__output_t **out) {
  uvcrawl__output_t *o = calloc(1, sizeof(*o));
  if (o == NULL) return UV_ENOMEM;
  o->loop = loop;
  o->sync_every_ns = (uint64_t)sync_ms * 1000000u;
  o->synced_ns = uv_hrtime();
  if (strcmp(path, "-") == 0) {
    o->fd = 1;
  } else {
    uv_fs_t req;
    int fd = uv_fs_open(NULL, &req, path,
                        UV_FS_O_WRONLY | UV_FS_O_CREAT | (append ? UV_FS_O_APPEND : UV_FS_O_TRUNC),
                        0644, NULL);
    uv_fs_req_cleanup(&req);
    if (fd < 0) {
      free(o);
      return fd;
    }
    o->fd = fd;
    o->own_fd = 1;
  }
  *out = o;
  return 0;
}

int uvcrawl__output_append(uvcrawl__output_t *o, const void *data, size_t len) {
  int err = uvcrawl__dynbuf_add(&o->pending, data, len);
  if (err == 0 && o->pending.len >= FLUSH_AT) start_write(o);
  return err;
}

void uvcrawl__output_flush(uvcrawl__output_t *o, uvcrawl__output_cb cb, void *arg) {
  o->flush_cb = cb;
  o->flush_arg = arg;
  start_write(o);
}

static void on_closed_fd(uv_fs_t *req) {
  uvcrawl__output_t *o = UVCRAWL_CONTAINER_OF(req, uvcrawl__output_t, req);
  if (req->result < 0 && o->error == 0) o->error = (int)req->result;
  uv_fs_req_cleanup(req);
  finish_close(o);
}

static void on_close_flushed(void *arg, int status) {
  uvcrawl__output_t *o = arg;
  (void)status;
  if (o->own_fd && uv_fs_close(o->loop, &o->req, o->fd, on_closed_fd) == 0) return;
  finish_close(o);
}

static void finish_close(uvcrawl__output_t *o) {
  uvcrawl__output_cb cb = o->close_cb;
  void *arg = o->close_arg;
  int error = o->error;
  free(o->pending.p);
  free(o->writing.p);
  free(o);
  if (cb) cb(arg, error);
}

void uvcrawl__output_discard(uvcrawl__output_t *o) {
  if (o->own_fd) {
    uv_fs_t req;
    uv_fs_close(NULL, &req, o->fd, NULL); /* synchronous: nothing was queued on the loop */
    uv_fs_req_cleanup(&req);
  }
  free(o->pending.p);
  free(o->writing.p);
  free(o);
}

const char *uvcrawl__record_note(const uvcrawl__job_t *job) {
  if (job->max_links && job->ngiven >= job->max_links)
    return "link cap reached (max_links): later links on this page were not followed";
  if (job->parse_capped)
    return "page longer than the parse cap (max_parse): links after that point were not "
           "followed";
  return NULL;
}

void uvcrawl__output_close(uvcrawl__output_t *o, uvcrawl__output_cb cb, void *arg) {
  o->closing = 1;
  o->close_cb = cb;
  o->close_arg = arg;
  uvcrawl__output_flush(o, on_close_flushed, o);
}
