/* The loop engine (engine_loop.c): libcurl's multi socket API driven by uv_poll_t and
 * uv_timer_t on the caller's loop. Not pure. */
#ifndef UVCRAWL_ENGINE_LOOP_H
#define UVCRAWL_ENGINE_LOOP_H

#include <stdint.h>
#include <curl/curl.h>
#include <uv.h>

typedef struct uvcrawl__engine_s uvcrawl__engine_t;

/* Runs on the loop when a transfer ends; the easy handle has already been removed from the
 * multi and belongs to the caller again. */
typedef void (*uvcrawl__engine_done_cb)(void *arg, CURL *easy, CURLcode code);
typedef void (*uvcrawl__engine_close_cb)(void *arg);
/* Runs on the loop when transfers may be added again after uvcrawl__engine_may_add said no. */
typedef void (*uvcrawl__engine_admit_cb)(void *arg);

/* Creates an engine on a borrowed loop. max_connections bounds the sockets libcurl keeps open,
 * idle cache included; admit_cb may be NULL. *out is owned by the engine; release it with
 * uvcrawl__engine_close(). Returns 0, UVCRAWL_ECURL or UV_ENOMEM. */
int uvcrawl__engine_new(uv_loop_t *loop, unsigned max_connections, uvcrawl__engine_done_cb cb,
                        uvcrawl__engine_admit_cb admit_cb, void *arg, uvcrawl__engine_t **out);
/* Whether to add a transfer now: a few per round of curl's timer, since curl starts all new
 * ones at once there. After a no, admit_cb runs when more may be added. */
int uvcrawl__engine_may_add(uvcrawl__engine_t *e);
/* Starts a transfer; the easy handle stays the caller's but must not be touched until the done
 * callback. Returns 0 or UVCRAWL_ECURL. */
int uvcrawl__engine_add(uvcrawl__engine_t *e, CURL *easy);
/* Aborts a transfer started with uvcrawl__engine_add(); no done callback for it. */
void uvcrawl__engine_remove(uvcrawl__engine_t *e, CURL *easy);
/* Sockets libcurl holds now, and the most it ever held. */
unsigned uvcrawl__engine_sockets(const uvcrawl__engine_t *e, unsigned *max);
/* uv_poll_t set up so far: one per socket, kept across the transfers of a connection. */
uint64_t uvcrawl__engine_polls(const uvcrawl__engine_t *e);
/* Ready sockets the serve phase running now (or the last one) has acted on so far: 1 while
 * it acts on its first. For tests of the budget. */
unsigned uvcrawl__engine_serve_acts(const uvcrawl__engine_t *e);
/* Tears the multi handle down (every transfer must have been removed), closes every uv handle
 * and frees e; cb(arg) runs once the last handle is closed. Never from inside a done callback. */
void uvcrawl__engine_close(uvcrawl__engine_t *e, uvcrawl__engine_close_cb cb, void *arg);

#endif
