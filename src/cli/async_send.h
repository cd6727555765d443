#ifndef UVCRAWL_CLI_ASYNC_SEND_H
#define UVCRAWL_CLI_ASYNC_SEND_H

#include <uv.h>

/* On libuv < 1.45 this executable defines uv_async_send itself (async_send.c): a loop thread
 * then never waits for a pool thread that was preempted in the middle of a send. Returns 1
 * where this build has the replacement, 0 where libuv needs none. */
int cli_async_send_replaced(void);

/* Sends that went through the replacement so far, from any thread (0 without it). */
unsigned long cli_async_sends(void);

/* uv_loop_close, once no thread is still inside a send to any loop (the replacement's last
 * step, a write to the loop's eventfd, may come after the loop saw the send). Same return. */
int cli_loop_close(uv_loop_t *loop);

#endif
