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
 * A pool thread sends to its loop's wq_async while it holds the loop's wq_mutex (libuv's
 * worker and uv_cancel: lock, queue the finished job, send, unlock), and the loop's first
 * step on that wakeup is to take the same mutex. A loop that preempts the sender then blocks
 * on the mutex until the nice-10 thread gets a CPU again: 392 such waits in one busy crawl
 * beside four CPU hogs, 250 of them over 1 ms, up to 50 ms (perf sched_switch stacks,
 * bench/README.md). So a send to wq_async marks the handle at once but leaves its write for
 * the sender's next uv_mutex_unlock of that mutex, also defined here: the loop is woken only
 * once the lock it wants is free. Both of libuv 1.44's sends to wq_async are followed by that
 * unlock (objdump of libuv.so: the next call after each).
 *
 * These definitions in the executable take the place of libuv's for every caller in the
 * process, libuv's own pool threads included (they call them through the PLT). The library
 * never does this, since its process is its caller's. */
#include "async_send.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#if UV_VERSION_HEX < 0x012d00
/* Threads between their mark and the end of their write, in every loop of the process. */
static atomic_int senders;
static atomic_ulong sends, deferred_sends;

/* A write this thread owes a loop, made at its unlock of `after` (that loop's wq_mutex). */
static _Thread_local struct {
  uv_mutex_t *after;
  int fd, eventfd;
} owed;

/* libuv's uv__async_send: one byte down the pipe, or 1 added to the eventfd where there is
 * no pipe. EAGAIN: the counter is full, so the loop is woken already. */
static void wake(int fd, int eventfd) {
  static const uint64_t one = 1;
  ssize_t r;
  do
    r = eventfd ? write(fd, &one, sizeof(one)) : write(fd, "", 1);
  while (r == -1 && errno == EINTR);
}

int uv_async_send(uv_async_t *handle) {
  _Atomic int *pending = (_Atomic int *)&handle->pending;
  /* A cheap read first: already marked means the loop will run the callback anyway. */
  if (atomic_load_explicit(pending, memory_order_relaxed) != 0) return 0;
  uv_loop_t *loop = handle->loop; /* read before the mark: after it, the handle may be gone */
  atomic_fetch_add(&senders, 1);
  atomic_fetch_add_explicit(&sends, 1, memory_order_relaxed);
  int expected = 0;
  if (atomic_compare_exchange_strong(pending, &expected, 2)) {
    int eventfd = loop->async_wfd == -1;
    int fd = eventfd ? loop->async_io_watcher.fd : loop->async_wfd;
    if (handle == &loop->wq_async && owed.after == NULL) {
      /* Still counted in senders: cli_loop_close waits for the write. */
      owed.after = &loop->wq_mutex;
      owed.fd = fd;
      owed.eventfd = eventfd;
      atomic_fetch_add_explicit(&deferred_sends, 1, memory_order_relaxed);
      return 0;
    }
    wake(fd, eventfd);
  }
  atomic_fetch_sub(&senders, 1);
  return 0;
}

void uv_mutex_unlock(uv_mutex_t *mutex) {
  if (pthread_mutex_unlock(mutex)) abort(); /* as libuv's */
  if (owed.after == mutex) {
    owed.after = NULL;
    wake(owed.fd, owed.eventfd);
    atomic_fetch_sub(&senders, 1);
  }
}

int cli_async_send_replaced(void) { return 1; }

unsigned long cli_async_sends(void) { return atomic_load(&sends); }

unsigned long cli_async_sends_deferred(void) { return atomic_load(&deferred_sends); }

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

unsigned long cli_async_sends_deferred(void) { return 0; }

int cli_loop_close(uv_loop_t *loop) { return uv_loop_close(loop); }
#endif
