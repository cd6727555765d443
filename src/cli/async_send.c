/* libuv before 1.45 (Debian 12 has 1.44) marks an async handle "busy" (pending 1) while a
 * thread sends to it, and the loop thread spins until the sender marks it done (pending 2):
 * 997 pauses, then sched_yield, again and again (uv__async_spin; gone in 1.45, libuv#3879).
 * The sender's eventfd write is what wakes the loop, so a loop thread that preempts on wakeup
 * (a short scheduler slice, a real-time class) preempts the very pool thread it then waits
 * for, and waits until the scheduler gives that thread, at nice 10, a CPU again: 10-94 ms on
 * a busy machine (bench/README.md). Every pool thread sends after every finished job.
 *
 * The replacement never leaves a handle busy: it marks it done, then writes the eventfd. The
 * loop's side is unchanged and still correct: it takes a done mark (2 -> 0) and runs the
 * callback, which reads what the sender published before its send; a write that comes after
 * the loop took the mark is one spurious wakeup. What "busy" also gave, a loop that is not
 * closed under a sender's write, cli_loop_close gives: it waits for senders to finish.
 *
 * This definition in the executable takes the place of libuv's for every caller in the
 * process, libuv's own pool threads included (they call it through the PLT). The library
 * never does this, since its process is its caller's. */
#include "async_send.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#if UV_VERSION_HEX < 0x012d00
/* Threads between their mark and the end of their write, in every loop of the process. */
static atomic_int senders;
static atomic_ulong sends;

int uv_async_send(uv_async_t *handle) {
  _Atomic int *pending = (_Atomic int *)&handle->pending;
  /* A cheap read first: already marked means the loop will run the callback anyway. */
  if (atomic_load_explicit(pending, memory_order_relaxed) != 0) return 0;
  uv_loop_t *loop = handle->loop; /* read before the mark: after it, the handle may be gone */
  atomic_fetch_add(&senders, 1);
  atomic_fetch_add_explicit(&sends, 1, memory_order_relaxed);
  int expected = 0;
  if (atomic_compare_exchange_strong(pending, &expected, 2)) {
    /* libuv's uv__async_send: the write end of the pipe, or the eventfd where there is none */
    static const uint64_t one = 1;
    const void *buf = "";
    size_t len = 1;
    int fd = loop->async_wfd;
    if (fd == -1) {
      buf = &one;
      len = sizeof(one);
      fd = loop->async_io_watcher.fd;
    }
    ssize_t r;
    do
      r = write(fd, buf, len);
    while (r == -1 && errno == EINTR);
    /* EAGAIN: the counter is full, so the loop is woken already. */
  }
  atomic_fetch_sub(&senders, 1);
  return 0;
}

int cli_async_send_replaced(void) { return 1; }

unsigned long cli_async_sends(void) { return atomic_load(&sends); }

int cli_loop_close(uv_loop_t *loop) {
  /* A sender is here for a write's time, unless it is preempted: sleep until it is gone (a
   * sleep, not a yield, which would give no CPU to a lower class than the caller's). */
  while (atomic_load(&senders) != 0) {
    struct timespec ts = {0, 50000};
    (void)nanosleep(&ts, NULL);
  }
  return uv_loop_close(loop);
}
#else
int cli_async_send_replaced(void) { return 0; }

unsigned long cli_async_sends(void) { return 0; }

int cli_loop_close(uv_loop_t *loop) { return uv_loop_close(loop); }
#endif
