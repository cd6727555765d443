/* A Redis connection on a borrowed libuv loop, for the loop thread only: hiredis's async API
 * driven by one uv_poll_t, with what hiredis 0.14's own libuv adapter lacks — a poll error
 * (a refused connect) reaches hiredis instead of being dropped, connects and replies time
 * out, a lost connection is made again with exponential backoff, and the owner hears when
 * Redis goes away and comes back (to pause admission meanwhile).
 *
 * Like the adapter in hiredis, it never runs or closes the loop; uvcrawl__redis_close()
 * closes its handles and frees it in the last close callback. */
#ifndef UVCRAWL_REDIS_H
#define UVCRAWL_REDIS_H

#include <hiredis/hiredis.h>
#include <uv.h>

typedef struct uvcrawl__redis_s uvcrawl__redis_t;

typedef struct {
  const char *host;            /* copied; an IP address (hiredis resolves names blocking) */
  int port;
  int db;                      /* SELECTed on every connect when not 0 */
  const char *user;            /* copied; AUTH's user name, or NULL (the default user) */
  const char *password;        /* copied; AUTH on every connect when not NULL */
  unsigned connect_timeout_ms; /* 0: 2000 */
  unsigned reply_timeout_ms;   /* the oldest reply may wait this long; 0: 5000 */
  unsigned backoff_min_ms;     /* first wait before connecting again; 0: 100 */
  unsigned backoff_max_ms;     /* the wait doubles up to this; 0: 5000 */
} uvcrawl__redis_opts_t;

/* up: 1 when a connection is ready for commands (connected, AUTH and SELECT done), 0 when it went or
 * could not be made (why: hiredis's or the timeout's message, borrowed for the call). Runs on
 * the loop; never from inside uvcrawl__redis_new(). */
typedef void (*uvcrawl__redis_state_cb)(void *arg, int up, const char *why);
/* reply is hiredis's, borrowed for the call; NULL when the command failed (timeout, connection
 * lost, closed). Every command's callback runs exactly once. */
typedef void (*uvcrawl__redis_reply_cb)(void *arg, redisReply *reply);

/* Starts connecting. *out is owned by the caller: release it with uvcrawl__redis_close().
 * Returns 0, UV_EINVAL or UV_ENOMEM. */
int uvcrawl__redis_new(uv_loop_t *loop, const uvcrawl__redis_opts_t *opts,
                       uvcrawl__redis_state_cb state_cb, void *arg, uvcrawl__redis_t **out);
/* 1 while commands can be sent. */
int uvcrawl__redis_is_up(const uvcrawl__redis_t *r);
/* Sends a command (argv/lens borrowed for the call: hiredis copies them). Returns 0 (cb will
 * run), UV_ENOTCONN while down, or UV_ENOMEM; on an error cb does not run. */
int uvcrawl__redis_command(uvcrawl__redis_t *r, uvcrawl__redis_reply_cb cb, void *arg,
                           int argc, const char **argv, const size_t *lens);
/* Fails every pending command (cb with NULL), closes the connection and the handles, and frees
 * r; close_cb(arg) runs after the last handle is closed. Safe from inside any of r's callbacks
 * (the free then waits until the callback returns). */
void uvcrawl__redis_close(uvcrawl__redis_t *r, void (*close_cb)(void *arg), void *arg);

#endif /* UVCRAWL_REDIS_H */
