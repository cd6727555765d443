#ifndef UVCRAWL_CLI_ASYNC_SEND_H
#define UVCRAWL_CLI_ASYNC_SEND_H

#include <uv.h>

/* On libuv < 1.45 this executable defines uv_async_send and uv_mutex_unlock itself
 * (async_send.c): a loop thread then never waits for a pool thread that was preempted in the
 * middle of a send, nor for the lock that thread held while it sent. Returns 1
 * where this build has the replacement, 0 where libuv needs none. */
int cli_async_send_replaced(void);

/* Sends that went through the replacement so far, from any thread (0 without it). */
unsigned long cli_async_sends(void);

/* Of those, the sends to a loop's wq_async whose write waited for the sender's unlock of that
 * loop's wq_mutex (uv_mutex_unlock is the CLI's too, with the replacement). */
unsigned long cli_async_sends_deferred(void);

/* uv_loop_close, once no thread is still inside a send to any loop (the replacement's last
 * step, a write to the loop's eventfd, may come after the loop saw the send). Same return. */
int cli_loop_close(uv_loop_t *loop);

#endif
