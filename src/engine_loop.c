/* The curl <-> libuv glue: libcurl's multi socket API fed by one uv_poll_t per socket and one
 * uv_timer_t. Nothing here blocks: curl_multi_socket_action only moves bytes that are ready.
 *
 * Every uv_poll_start costs two epoll_ctl calls in libuv (it stops first, and stopping removes
 * the fd from epoll), uv_poll_init three more syscalls, and curl removes a keep-alive socket
 * after every transfer and adds it back for the next. So a poll is started only when the
 * events curl wants change, and a TCP socket keeps its uv_poll_t (stopped) from curl's
 * REMOVE until curl closes it (CURLOPT_CLOSESOCKETFUNCTION): the next transfer on that
 * connection reuses the handle (no uv_poll_init, no close). */
#include "engine_loop.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "container.h"
#include "uvcrawl.h"

/* Loop time spent serving ready sockets per iteration. libcurl reads a ready socket until it
 * is drained (a 100 KB body is ~13 recv+poll pairs), so serving the 64 sockets of a busy crawl
 * in one go held the loop 5-13 ms (bench/lag.py --trace). Past this budget the rest wait for
 * the next iteration, with timers and finished pages served in between. */
#define SERVE_NS 1000000
/* Transfers added between two of curl's timeouts. curl starts every new transfer in its next
 * timeout, all at once, and from a quick server reads the whole response there too: 64 added
 * at once held the loop 8-16 ms (bench/README.md). */
#define ADDS_PER_ROUND 8

typedef struct sock_ctx_s sock_ctx_t;

struct uvcrawl__engine_s {
  uv_loop_t *loop;
  CURLM *multi;
  uv_timer_t timer;
  uv_check_t serve; /* right after each poll phase: serves the ready sockets */
  uv_idle_t again;  /* while some wait, the next poll does not block */
  /* Transfers whose socket could not be watched (out of memory in on_curl_socket): failed
   * from on_doom, outside curl's callback. Telling curl -1 instead would end every transfer
   * of the multi for good (libcurl >= 7.88 marks it dead), and the crawl with it. At most one
   * entry per transfer in the multi, so max_connections entries, allocated up front. */
  uv_idle_t doom;
  CURL **doomed;
  unsigned ndoomed, doomed_cap;
  sock_ctx_t *ready_head, *ready_tail;
  uvcrawl__engine_done_cb done_cb;
  uvcrawl__engine_admit_cb admit_cb;
  void *arg;
  unsigned adds; /* since curl's last timeout */
  int starved;   /* uvcrawl__engine_may_add said no since then */
  sock_ctx_t *socks; /* every live poll context, to close them all at teardown */
  sock_ctx_t **byfd; /* the live contexts by fd, parked ones included */
  size_t nbyfd;
  unsigned nsocks;
  unsigned nsocks_max;
  uint64_t polls_made; /* sock_new calls that succeeded */
  unsigned serve_acts; /* ready sockets the current (or last) serve phase acted on */
  unsigned pending_closes; /* uv_close calls whose callback has not run yet */
  int closing;
  uvcrawl__engine_close_cb close_cb;
  void *close_arg;
};

struct sock_ctx_s {
  uv_poll_t poll;
  curl_socket_t fd;
  int events; /* UV_READABLE/UV_WRITABLE the poll was started with; 0: stopped */
  int tcp;    /* a connection socket: curl closes it through on_close_socket, so it may park */
  int parked; /* curl removed it but the connection may be open: not watched */
  int released; /* closing: curl may still name it (its REMOVE can come after the close) */
  int flags; /* CURL_CSELECT_* seen since it was last served; nonzero: on the ready list */
  uvcrawl__engine_t *engine;
  sock_ctx_t *prev, *next;
  sock_ctx_t *ready_prev, *ready_next;
};

static void ready_remove(uvcrawl__engine_t *e, sock_ctx_t *s) {
  if (s->ready_prev) s->ready_prev->ready_next = s->ready_next;
  else e->ready_head = s->ready_next;
  if (s->ready_next) s->ready_next->ready_prev = s->ready_prev;
  else e->ready_tail = s->ready_prev;
  s->ready_prev = s->ready_next = NULL;
  s->flags = 0;
}

static void engine_maybe_free(uvcrawl__engine_t *e) {
  if (!e->closing || e->pending_closes != 0) return;
  uvcrawl__engine_close_cb cb = e->close_cb;
  void *arg = e->close_arg;
  free(e->doomed);
  free(e->byfd);
  free(e);
  if (cb) cb(arg);
}

static void on_sock_closed(uv_handle_t *h) {
  sock_ctx_t *s = UVCRAWL_CONTAINER_OF(h, sock_ctx_t, poll);
  uvcrawl__engine_t *e = s->engine;
  free(s);
  e->pending_closes--;
  engine_maybe_free(e);
}

static void sock_release(sock_ctx_t *s) {
  uvcrawl__engine_t *e = s->engine;
  s->released = 1;
  if ((size_t)s->fd < e->nbyfd && e->byfd[s->fd] == s) e->byfd[s->fd] = NULL;
  if (s->prev) s->prev->next = s->next;
  else e->socks = s->next;
  if (s->next) s->next->prev = s->prev;
  e->nsocks--;
  if (s->flags) ready_remove(e, s);
  uv_poll_stop(&s->poll);
  e->pending_closes++;
  uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

/* The owner was told to wait for curl to start the transfers it added: curl has now. */
static void admit_more(uvcrawl__engine_t *e) {
  if (!e->starved || e->multi == NULL) return;
  e->starved = 0;
  if (e->admit_cb) e->admit_cb(e->arg);
}

/* easy left the multi: it is no longer waiting to be failed. */
static void doom_forget(uvcrawl__engine_t *e, CURL *easy) {
  for (unsigned i = 0; i < e->ndoomed; i++) {
    if (e->doomed[i] != easy) continue;
    e->doomed[i] = e->doomed[--e->ndoomed];
    break;
  }
  if (e->ndoomed == 0 && e->doomed_cap > 0) uv_idle_stop(&e->doom);
}

/* Fails the transfers whose socket could not be watched, one by one (done_cb may add more). */
static void on_doom(uv_idle_t *h) {
  uvcrawl__engine_t *e = UVCRAWL_CONTAINER_OF(h, uvcrawl__engine_t, doom);
  while (e->multi != NULL && e->ndoomed > 0) {
    CURL *easy = e->doomed[e->ndoomed - 1];
    doom_forget(e, easy);
    curl_multi_remove_handle(e->multi, easy);
    e->done_cb(e->arg, easy, CURLE_OUT_OF_MEMORY);
  }
  uv_idle_stop(h);
}

/* Returns 0 when easy will be failed from on_doom, -1 when even that cannot be done. */
static int doom(uvcrawl__engine_t *e, CURL *easy) {
  for (unsigned i = 0; i < e->ndoomed; i++)
    if (e->doomed[i] == easy) return 0;
  if (e->ndoomed == e->doomed_cap) return -1;
  e->doomed[e->ndoomed++] = easy;
  uv_idle_start(&e->doom, on_doom);
  return 0;
}

/* Hands every finished transfer back to the owner. */
static void check_done(uvcrawl__engine_t *e) {
  CURLMsg *msg;
  int left;
  while (e->multi != NULL && (msg = curl_multi_info_read(e->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL *easy = msg->easy_handle;
    CURLcode code = msg->data.result;
    curl_multi_remove_handle(e->multi, easy);
    doom_forget(e, easy); /* the handle may be reused at once */
    e->done_cb(e->arg, easy, code);
  }
}

/* One curl_multi_socket_action, and the transfers it finished go back to the owner. */
static void act(uvcrawl__engine_t *e, curl_socket_t fd, int flags) {
  int running;
  curl_multi_socket_action(e->multi, fd, flags, &running);
  /* Every call runs curl's expired timers, and a new transfer's has expired: all started. */
  e->adds = 0;
  check_done(e);
}

/* Only notes what is ready: on_serve moves the bytes, in order, within its budget. A socket
 * left for the next iteration stays ready, and is reported again there. */
static void on_poll(uv_poll_t *p, int status, int events) {
  sock_ctx_t *s = UVCRAWL_CONTAINER_OF(p, sock_ctx_t, poll);
  uvcrawl__engine_t *e = s->engine;
  int flags = 0;
  if (status < 0) {
    flags = CURL_CSELECT_ERR;
    s->events = 0; /* libuv stopped the poll: the next wish starts it again */
  }
  if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  if (flags == 0) return;
  if (s->flags == 0) {
    s->ready_prev = e->ready_tail;
    s->ready_next = NULL;
    if (e->ready_tail) e->ready_tail->ready_next = s;
    else e->ready_head = s;
    e->ready_tail = s;
  }
  s->flags |= flags;
}

static void on_again(uv_idle_t *h) { (void)h; }

static void on_serve(uv_check_t *h) {
  uvcrawl__engine_t *e = UVCRAWL_CONTAINER_OF(h, uvcrawl__engine_t, serve);
  uint64_t start = uv_hrtime();
  e->serve_acts = 0;
  /* At least one socket per iteration, whatever the clock says. */
  while (e->multi != NULL && e->ready_head != NULL) {
    sock_ctx_t *s = e->ready_head;
    int flags = s->flags;
    ready_remove(e, s);
    e->serve_acts++;
    /* May release any socket, s included: the list stays right (sock_release). */
    act(e, s->fd, flags);
    if (uv_hrtime() - start > SERVE_NS) break;
  }
  admit_more(e);
  if (e->ready_head != NULL) uv_idle_start(&e->again, on_again);
  else uv_idle_stop(&e->again);
}

static void on_timer(uv_timer_t *t) {
  uvcrawl__engine_t *e = UVCRAWL_CONTAINER_OF(t, uvcrawl__engine_t, timer);
  act(e, CURL_SOCKET_TIMEOUT, 0);
  admit_more(e);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp) {
  uvcrawl__engine_t *e = userp;
  (void)multi;
  if (timeout_ms < 0) {
    uv_timer_stop(&e->timer);
    return 0;
  }
  /* 0 ms becomes 1 ms so curl is never re-entered from inside its own callback. */
  uv_timer_start(&e->timer, on_timer, timeout_ms == 0 ? 1 : (uint64_t)timeout_ms, 0);
  return 0;
}

/* Remembers s as fd's context; 0, or -1 when out of memory (then s does not park). */
static int byfd_set(uvcrawl__engine_t *e, curl_socket_t fd, sock_ctx_t *s) {
  if ((size_t)fd >= e->nbyfd) {
    size_t n = e->nbyfd ? e->nbyfd : 64;
    while (n <= (size_t)fd) n *= 2;
    sock_ctx_t **t = realloc(e->byfd, n * sizeof(*t));
    if (t == NULL) return -1;
    for (size_t i = e->nbyfd; i < n; i++) t[i] = NULL;
    e->byfd = t;
    e->nbyfd = n;
  }
  e->byfd[fd] = s;
  return 0;
}

/* Whether fd is a TCP/UDP connection socket (curl closes those through on_close_socket) and
 * not, say, the threaded resolver's socketpair, which curl closes itself. */
static int is_inet(curl_socket_t fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return 0;
  return ss.ss_family == AF_INET || ss.ss_family == AF_INET6;
}

static sock_ctx_t *sock_new(uvcrawl__engine_t *e, curl_socket_t fd) {
  sock_ctx_t *s = malloc(sizeof(*s));
  if (s == NULL) return NULL;
  if (uv_poll_init_socket(e->loop, &s->poll, fd) != 0) {
    free(s);
    return NULL;
  }
  s->fd = fd;
  s->events = 0;
  s->parked = 0;
  s->released = 0;
  s->flags = 0;
  s->ready_prev = s->ready_next = NULL;
  s->engine = e;
  s->prev = NULL;
  s->next = e->socks;
  if (e->socks) e->socks->prev = s;
  e->socks = s;
  if (++e->nsocks > e->nsocks_max) e->nsocks_max = e->nsocks;
  s->tcp = is_inet(fd) && byfd_set(e, fd, s) == 0;
  e->polls_made++;
  return s;
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
  uvcrawl__engine_t *e = userp;
  sock_ctx_t *s = socketp;
  (void)easy;
  if (s != NULL && s->released) {
    /* curl closed this socket through on_close_socket before telling its REMOVE, and may have
     * a new socket of the same number already: the old context is only waiting for its
     * close callback. */
    if (what == CURL_POLL_REMOVE) {
      curl_multi_assign(e->multi, fd, NULL);
      return 0;
    }
    s = NULL;
  }
  if (what == CURL_POLL_REMOVE) {
    if (s != NULL) {
      curl_multi_assign(e->multi, fd, NULL);
      if (s->tcp) {
        /* The connection goes back to curl's cache: keep its handle until curl closes it,
         * but not watching. curl does not always close through on_close_socket (a socket
         * removed while it was still connecting is closed without a word, seen with 7.88),
         * and an fd closed under a live poll makes libuv abort. */
        s->parked = 1;
        uv_poll_stop(&s->poll);
        s->events = 0;
        if (s->flags) ready_remove(e, s);
      } else {
        sock_release(s);
      }
    }
    return 0;
  }
  if (s == NULL) {
    s = (size_t)fd < e->nbyfd ? e->byfd[fd] : NULL;
    if (s != NULL && !s->parked) {
      sock_release(s); /* cannot happen while curl keeps its word; stay safe if it does not */
      s = NULL;
    }
    if (s != NULL) {
      s->parked = 0;
    } else if ((s = sock_new(e, fd)) == NULL) {
      /* Without a poll handle the socket is never watched: the transfer is failed from
       * on_doom (curl's state stays as it was: nothing assigned to fd). */
      return doom(e, easy);
    }
    curl_multi_assign(e->multi, fd, s);
  }
  int events = 0;
  if (what & CURL_POLL_IN) events |= UV_READABLE;
  if (what & CURL_POLL_OUT) events |= UV_WRITABLE;
  if (events != s->events) {
    uv_poll_start(&s->poll, events, on_poll);
    s->events = events;
  }
  return 0;
}

/* curl closes a connection socket (after its REMOVE, if it was watched): the context goes
 * first, so that a new socket with the same number starts afresh. */
static int on_close_socket(void *clientp, curl_socket_t fd) {
  uvcrawl__engine_t *e = clientp;
  sock_ctx_t *s = (size_t)fd < e->nbyfd ? e->byfd[fd] : NULL;
  /* curl has dropped its own entry for fd by now (its REMOVE came first). */
  if (s != NULL) sock_release(s);
  return close(fd) == 0 ? 0 : 1;
}

int uvcrawl__engine_new(uv_loop_t *loop, unsigned max_connections, uvcrawl__engine_done_cb cb,
                        uvcrawl__engine_admit_cb admit_cb, void *arg, uvcrawl__engine_t **out) {
  uvcrawl__engine_t *e = calloc(1, sizeof(*e));
  if (e == NULL) return UV_ENOMEM;
  e->loop = loop;
  e->done_cb = cb;
  e->admit_cb = admit_cb;
  e->arg = arg;
  e->doomed_cap = max_connections + 1; /* + an external GET re-added on its slot */
  e->doomed = calloc(e->doomed_cap, sizeof(*e->doomed));
  if (e->doomed == NULL) {
    free(e);
    return UV_ENOMEM;
  }
  e->multi = curl_multi_init();
  if (e->multi == NULL) {
    free(e->doomed);
    free(e);
    return UVCRAWL_ECURL;
  }
  uv_timer_init(loop, &e->timer);
  uv_check_init(loop, &e->serve);
  uv_idle_init(loop, &e->again);
  uv_idle_init(loop, &e->doom);
  uv_check_start(&e->serve, on_serve);
  /* Neither keeps the caller's loop alive: the sockets and the timer do, while there is work. */
  uv_unref((uv_handle_t *)&e->serve);
  uv_unref((uv_handle_t *)&e->again);
  curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
  curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
  curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
  curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
  /* Both caps: total sockets (busy + idle cache) never exceed what the fd budget allows. */
  curl_multi_setopt(e->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)max_connections);
  curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long)max_connections);
  *out = e;
  return 0;
}

int uvcrawl__engine_may_add(uvcrawl__engine_t *e) {
  if (e->adds < ADDS_PER_ROUND) return 1;
  e->starved = 1;
  return 0;
}

int uvcrawl__engine_add(uvcrawl__engine_t *e, CURL *easy) {
  e->adds++;
  /* A connection keeps the callback of the transfer that opened it. */
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, e);
  return curl_multi_add_handle(e->multi, easy) == CURLM_OK ? 0 : UVCRAWL_ECURL;
}

void uvcrawl__engine_remove(uvcrawl__engine_t *e, CURL *easy) {
  curl_multi_remove_handle(e->multi, easy);
  doom_forget(e, easy);
}

unsigned uvcrawl__engine_sockets(const uvcrawl__engine_t *e, unsigned *max) {
  if (max) *max = e->nsocks_max;
  return e->nsocks;
}

uint64_t uvcrawl__engine_polls(const uvcrawl__engine_t *e) { return e->polls_made; }
unsigned uvcrawl__engine_serve_acts(const uvcrawl__engine_t *e) { return e->serve_acts; }

/* The timer, serve, again and doom handles: one callback, since each is the engine's own. */
static void on_own_closed(uv_handle_t *h) {
  uvcrawl__engine_t *e = h->data;
  e->pending_closes--;
  engine_maybe_free(e);
}

void uvcrawl__engine_close(uvcrawl__engine_t *e, uvcrawl__engine_close_cb cb, void *arg) {
  e->close_cb = cb;
  e->close_arg = arg;
  /* Stop polling before curl closes its sockets: never close an fd while it is polled. */
  for (sock_ctx_t *s = e->socks; s != NULL; s = s->next) uv_poll_stop(&s->poll);
  e->closing = 1;
  e->pending_closes += 4; /* the timer, serve, again and doom */
  e->ndoomed = 0;
  CURLM *multi = e->multi;
  curl_multi_cleanup(multi); /* may call on_curl_socket(REMOVE) for cached connections */
  e->multi = NULL;
  while (e->socks != NULL) sock_release(e->socks);
  e->timer.data = e->serve.data = e->again.data = e->doom.data = e;
  uv_close((uv_handle_t *)&e->timer, on_own_closed);
  uv_close((uv_handle_t *)&e->serve, on_own_closed);
  uv_close((uv_handle_t *)&e->again, on_own_closed);
  uv_close((uv_handle_t *)&e->doom, on_own_closed);
}
