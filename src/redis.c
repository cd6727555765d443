/* hiredis on a libuv loop: one uv_poll_t per connection, a timer for connect and reply
 * timeouts, a timer for reconnecting with backoff.
 *
 * hiredis must never be freed from inside its own connect or disconnect callback (0.14 goes on
 * using the context after both), so every free this module asks for happens from one of its
 * timers, which never run inside hiredis. */
#include "redis.h"

#include <hiredis/async.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"

#define UVCRAWL_CONTAINER_OF(ptr, type, field) \
  ((type *)((char *)(ptr) - offsetof(type, field)))

typedef struct cmd_s {
  struct cmd_s *prev, *next; /* in send order: replies come back in this order */
  uvcrawl__redis_t *r;
  uvcrawl__redis_reply_cb cb;
  void *arg;
  uint64_t deadline_ms;
} cmd_t;

typedef struct {
  uv_poll_t poll;
  int events;
  redisAsyncContext *ac; /* NULL once hiredis has cleaned up */
  uvcrawl__redis_t *r;
  int reported;          /* its loss was told to the owner */
} conn_t;

struct uvcrawl__redis_s {
  uv_loop_t *loop;
  uvcrawl__redis_opts_t o;
  char *host, *user, *password;
  uvcrawl__redis_state_cb state_cb;
  void *arg;
  conn_t *conn;          /* the connection being made or in use, or NULL */
  int up;
  int connecting;        /* connect, AUTH or SELECT not answered yet */
  uint64_t connect_deadline_ms;
  const char *fail_why;  /* why this module dropped the connection */
  unsigned backoff_ms;
  cmd_t cmds;            /* sentinel of the pending commands */
  uv_timer_t tick;       /* timeouts; and the deferred free when closing */
  uv_timer_t retry;      /* the next connect */
  int closing;
  unsigned open_handles;
  void (*close_cb)(void *);
  void *close_arg;
};

static void connect_now(uvcrawl__redis_t *r);
static void on_retry(uv_timer_t *t) { connect_now(t->data); }

static uint64_t now_ms(const uvcrawl__redis_t *r) { return uv_now(r->loop); }

static void tick_start(uvcrawl__redis_t *r);

/* The connection is gone (or never came): tell the owner, try again later. */
static void went_down(uvcrawl__redis_t *r, const char *why) {
  r->up = 0;
  r->connecting = 0;
  if (r->closing) return;
  r->state_cb(r->arg, 0, why != NULL ? why : "connection lost");
  if (r->closing) return; /* the owner closed us from its callback */
  uv_timer_start(&r->retry, on_retry, r->backoff_ms, 0);
  r->backoff_ms = r->backoff_ms * 2 > r->o.backoff_max_ms ? r->o.backoff_max_ms
                                                          : r->backoff_ms * 2;
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata) {
  cmd_t *cmd = privdata;
  (void)ac;
  cmd->prev->next = cmd->next;
  cmd->next->prev = cmd->prev;
  cmd->cb(cmd->arg, reply);
  free(cmd);
}

/* Queues a command on the live connection; internal ones (SELECT) go through here too. */
static int send_cmd(uvcrawl__redis_t *r, uvcrawl__redis_reply_cb cb, void *arg, int argc,
                    const char **argv, const size_t *lens) {
  cmd_t *cmd = malloc(sizeof(*cmd));
  if (cmd == NULL) return UV_ENOMEM;
  cmd->r = r;
  cmd->cb = cb;
  cmd->arg = arg;
  cmd->deadline_ms = now_ms(r) + r->o.reply_timeout_ms;
  if (redisAsyncCommandArgv(r->conn->ac, on_reply, cmd, argc, argv, lens) != REDIS_OK) {
    free(cmd);
    return UV_ENOMEM;
  }
  cmd->next = &r->cmds;
  cmd->prev = r->cmds.prev;
  r->cmds.prev->next = cmd;
  r->cmds.prev = cmd;
  tick_start(r);
  return 0;
}

static void mark_up(uvcrawl__redis_t *r) {
  r->connecting = 0;
  r->up = 1;
  r->backoff_ms = r->o.backoff_min_ms;
  r->state_cb(r->arg, 1, NULL);
}

/* A refusal while connecting: the next tick drops the connection, and it is tried again. */
static void refused(uvcrawl__redis_t *r, const char *why) {
  r->fail_why = why;
  r->connect_deadline_ms = 0;
  tick_start(r);
}

static void on_select(void *arg, redisReply *reply) {
  uvcrawl__redis_t *r = arg;
  if (reply == NULL || r->closing) return; /* the connection's loss is reported elsewhere */
  if (reply->type == REDIS_REPLY_ERROR) {
    refused(r, "SELECT refused");
    return;
  }
  mark_up(r);
}

/* After AUTH (or without one): SELECT, or ready. */
static void select_db(uvcrawl__redis_t *r) {
  if (r->o.db == 0) {
    mark_up(r);
    return;
  }
  char db[16];
  int n = snprintf(db, sizeof(db), "%d", r->o.db);
  const char *argv[2] = {"SELECT", db};
  size_t lens[2] = {6, (size_t)n};
  if (send_cmd(r, on_select, r, 2, argv, lens) != 0) refused(r, "out of memory");
}

static void on_auth(void *arg, redisReply *reply) {
  uvcrawl__redis_t *r = arg;
  if (reply == NULL || r->closing) return;
  if (reply->type == REDIS_REPLY_ERROR) {
    refused(r, "AUTH refused (wrong user name or password)");
    return;
  }
  select_db(r);
}

static void on_connect(const redisAsyncContext *ac, int status) {
  conn_t *conn = ac->ev.data;
  uvcrawl__redis_t *r = conn->r;
  if (status != REDIS_OK) {
    /* hiredis frees the context right after this returns. */
    conn->reported = 1;
    went_down(r, ac->errstr);
    return;
  }
  if (r->closing) return;
  if (r->password == NULL) {
    select_db(r);
    return;
  }
  /* AUTH [USER] PASSWORD */
  int named = r->user != NULL;
  const char *argv[3] = {"AUTH", named ? r->user : r->password, r->password};
  size_t lens[3] = {4, strlen(argv[1]), strlen(r->password)};
  if (send_cmd(r, on_auth, r, named ? 3 : 2, argv, lens) != 0) refused(r, "out of memory");
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
  conn_t *conn = ac->ev.data;
  if (conn->reported) return;
  conn->reported = 1;
  uvcrawl__redis_t *r = conn->r;
  const char *why = r->fail_why != NULL ? r->fail_why
                    : status == REDIS_OK ? "disconnected" : ac->errstr;
  went_down(r, why);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  conn_t *conn = UVCRAWL_CONTAINER_OF(h, conn_t, poll);
  if (conn->ac == NULL) return;
  if (status < 0) {
    /* A socket error (a refused connect): hiredis finds it when it next touches the socket.
     * libuv stopped the handle, so arm it again if hiredis still waits. */
    if (!(conn->ac->c.flags & REDIS_CONNECTED)) redisAsyncHandleWrite(conn->ac);
    else redisAsyncHandleRead(conn->ac);
    if (conn->ac != NULL && conn->events) uv_poll_start(&conn->poll, conn->events, on_poll);
    return;
  }
  if (events & UV_READABLE) redisAsyncHandleRead(conn->ac);
  if (conn->ac != NULL && (events & UV_WRITABLE)) redisAsyncHandleWrite(conn->ac);
}

static void set_events(conn_t *conn, int events) {
  conn->events = events;
  if (events) uv_poll_start(&conn->poll, events, on_poll);
  else uv_poll_stop(&conn->poll);
}
static void add_read(void *p) { set_events(p, ((conn_t *)p)->events | UV_READABLE); }
static void del_read(void *p) { set_events(p, ((conn_t *)p)->events & ~UV_READABLE); }
static void add_write(void *p) { set_events(p, ((conn_t *)p)->events | UV_WRITABLE); }
static void del_write(void *p) { set_events(p, ((conn_t *)p)->events & ~UV_WRITABLE); }

static void maybe_done(uvcrawl__redis_t *r) {
  if (!r->closing || r->open_handles > 0) return;
  void (*cb)(void *) = r->close_cb;
  void *arg = r->close_arg;
  free(r->host);
  free(r->user);
  free(r->password);
  free(r);
  if (cb != NULL) cb(arg);
}

static void on_conn_closed(uv_handle_t *h) {
  conn_t *conn = UVCRAWL_CONTAINER_OF((uv_poll_t *)h, conn_t, poll);
  uvcrawl__redis_t *r = conn->r;
  free(conn);
  r->open_handles--;
  maybe_done(r);
}

/* hiredis is freeing the context: the poll handle goes with it. */
static void cleanup(void *p) {
  conn_t *conn = p;
  conn->ac = NULL;
  if (conn->r->conn == conn) conn->r->conn = NULL;
  uv_poll_stop(&conn->poll);
  uv_close((uv_handle_t *)&conn->poll, on_conn_closed);
}

/* Drops the live connection from a timer (never inside hiredis): pending commands get NULL. */
static void drop(uvcrawl__redis_t *r, const char *why) {
  conn_t *conn = r->conn;
  if (conn == NULL || conn->ac == NULL) return;
  r->fail_why = why;
  redisAsyncFree(conn->ac); /* callbacks with NULL, cleanup, then on_disconnect if connected */
  if (!conn->reported) {
    conn->reported = 1;
    went_down(r, why);
  }
  r->fail_why = NULL;
}

static void on_timer_closed(uv_handle_t *h);

static void on_tick(uv_timer_t *t) {
  uvcrawl__redis_t *r = UVCRAWL_CONTAINER_OF(t, uvcrawl__redis_t, tick);
  if (r->closing) {
    if (r->conn != NULL && r->conn->ac != NULL) redisAsyncFree(r->conn->ac);
    /* Commands sent on no connection cannot be pending, so the list is empty now. */
    uv_close((uv_handle_t *)&r->tick, on_timer_closed);
    return;
  }
  uint64_t now = now_ms(r);
  if (r->connecting && now >= r->connect_deadline_ms) {
    drop(r, r->fail_why != NULL ? r->fail_why : "connect timed out");
  } else if (r->cmds.next != &r->cmds && now >= r->cmds.next->deadline_ms) {
    drop(r, "reply timed out");
  }
  if (!r->closing && !r->connecting && r->cmds.next == &r->cmds) uv_timer_stop(&r->tick);
}

static void tick_start(uvcrawl__redis_t *r) {
  if (r->closing || uv_is_active((uv_handle_t *)&r->tick)) return;
  unsigned t = r->o.reply_timeout_ms < r->o.connect_timeout_ms ? r->o.reply_timeout_ms
                                                               : r->o.connect_timeout_ms;
  t /= 8;
  if (t < 5) t = 5;
  uv_timer_start(&r->tick, on_tick, t, t);
}

static void connect_now(uvcrawl__redis_t *r) {
  if (r->closing || r->conn != NULL) return;
  redisAsyncContext *ac = redisAsyncConnect(r->host, r->o.port);
  if (ac == NULL || ac->err) {
    char why[128];
    snprintf(why, sizeof(why), "%s", ac != NULL ? ac->errstr : "out of memory");
    if (ac != NULL) redisAsyncFree(ac);
    went_down(r, why);
    return;
  }
  conn_t *conn = calloc(1, sizeof(*conn));
  if (conn == NULL || uv_poll_init(r->loop, &conn->poll, ac->c.fd) != 0) {
    free(conn);
    redisAsyncFree(ac);
    went_down(r, "cannot poll the socket");
    return;
  }
  r->open_handles++;
  conn->ac = ac;
  conn->r = r;
  r->conn = conn;
  ac->ev.data = conn;
  ac->ev.addRead = add_read;
  ac->ev.delRead = del_read;
  ac->ev.addWrite = add_write;
  ac->ev.delWrite = del_write;
  ac->ev.cleanup = cleanup;
  r->connecting = 1;
  r->connect_deadline_ms = now_ms(r) + r->o.connect_timeout_ms;
  redisAsyncSetDisconnectCallback(ac, on_disconnect);
  redisAsyncSetConnectCallback(ac, on_connect); /* this arms the first write event */
  tick_start(r);
}

static void on_timer_closed(uv_handle_t *h) {
  uvcrawl__redis_t *r = h->data;
  r->open_handles--;
  maybe_done(r);
}

int uvcrawl__redis_new(uv_loop_t *loop, const uvcrawl__redis_opts_t *opts,
                       uvcrawl__redis_state_cb state_cb, void *arg, uvcrawl__redis_t **out) {
  if (opts == NULL || opts->host == NULL || opts->port <= 0 || opts->port > 65535 ||
      opts->db < 0 || state_cb == NULL)
    return UV_EINVAL;
  uvcrawl__redis_t *r = calloc(1, sizeof(*r));
  if (r == NULL) return UV_ENOMEM;
  r->host = strdup(opts->host);
  r->user = opts->user ? strdup(opts->user) : NULL;
  r->password = opts->password ? strdup(opts->password) : NULL;
  if (r->host == NULL || (opts->user && r->user == NULL) ||
      (opts->password && r->password == NULL)) {
    free(r->host);
    free(r->user);
    free(r->password);
    free(r);
    return UV_ENOMEM;
  }
  r->loop = loop;
  r->o = *opts;
  r->o.host = r->host;
  r->o.user = r->user;
  r->o.password = r->password;
  if (r->o.connect_timeout_ms == 0) r->o.connect_timeout_ms = 2000;
  if (r->o.reply_timeout_ms == 0) r->o.reply_timeout_ms = 5000;
  if (r->o.backoff_min_ms == 0) r->o.backoff_min_ms = 100;
  if (r->o.backoff_max_ms < r->o.backoff_min_ms) r->o.backoff_max_ms = 5000;
  if (r->o.backoff_max_ms < r->o.backoff_min_ms) r->o.backoff_max_ms = r->o.backoff_min_ms;
  r->backoff_ms = r->o.backoff_min_ms;
  r->state_cb = state_cb;
  r->arg = arg;
  r->cmds.next = r->cmds.prev = &r->cmds;
  uv_timer_init(loop, &r->tick);
  uv_timer_init(loop, &r->retry);
  r->tick.data = r->retry.data = r;
  r->open_handles = 2;
  /* The first connect runs from the loop, so state_cb never runs inside this call. */
  uv_timer_start(&r->retry, on_retry, 0, 0);
  *out = r;
  return 0;
}

int uvcrawl__redis_is_up(const uvcrawl__redis_t *r) { return r->up && !r->closing; }

int uvcrawl__redis_command(uvcrawl__redis_t *r, uvcrawl__redis_reply_cb cb, void *arg,
                           int argc, const char **argv, const size_t *lens) {
  if (!uvcrawl__redis_is_up(r) || r->conn == NULL || r->conn->ac == NULL) return UV_ENOTCONN;
  return send_cmd(r, cb, arg, argc, argv, lens);
}

void uvcrawl__redis_close(uvcrawl__redis_t *r, void (*close_cb)(void *arg), void *arg) {
  if (r->closing) return;
  r->closing = 1;
  r->up = 0;
  r->close_cb = close_cb;
  r->close_arg = arg;
  uv_timer_stop(&r->retry);
  uv_close((uv_handle_t *)&r->retry, on_timer_closed);
  /* The free of hiredis waits for the tick, which never runs inside hiredis. */
  uv_timer_start(&r->tick, on_tick, 0, 0);
}
