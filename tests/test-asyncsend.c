/* The CLI's answer to libuv 1.44's uv__async_spin (src/cli/async_send.c): a loop thread that
 * wakes on a send from a low-priority thread, and preempts it, must not then wait for that
 * thread to finish the send. The two threads share one CPU, as the loop thread and a pool
 * thread often do when every core is busy; the loop thread runs SCHED_FIFO where this process
 * may (root), the strongest case (it preempts the sender on every wakeup, and a spinning
 * real-time thread leaves the sender nothing), or else with the CLI's short slice.
 *
 * What is measured does not depend on how fast or how loaded the machine is: the run lasts
 * until the loop has seen SENDS sends (however long that takes), and what is asserted is the
 * loop thread's own CPU time per send, which a waiting loop burns (milliseconds per send it
 * catches mid-way: libuv's own uv_async_send) and one that never waits does not; other
 * processes on the CPU stretch the wall time, not this thread's CPU time. Late ticks are
 * printed, not asserted (they measure the machine's load). */
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "cli/async_send.h"
#include "cli/priority.h"
#include "task.h"

#define SENDS 300       /* the run lasts until the loop has seen this many */
#define MAX_TICKS 60000 /* ... or a minute of 1 ms ticks: a bound for a hung sender only */
#define SENDER_WORK_NS 300000 /* a pool thread's job between two sends */

typedef struct {
  uv_loop_t loop;
  uv_async_t async;
  uv_timer_t timer;
  atomic_int stop;
  uint64_t prev, ticks, late_ns_max, late_over_2ms, sends_seen;
} rig_t;

static void pin_to_cpu0(void) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  ASSERT_EQ(sched_setaffinity(0, sizeof(set), &set), 0);
}

static uint64_t thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sender_main(void *arg) {
  rig_t *r = arg;
  pin_to_cpu0();
  /* Not the loop's real-time class, which a new thread inherits. */
  struct sched_param other = {.sched_priority = 0};
  ASSERT_EQ(sched_setscheduler(0, SCHED_OTHER, &other), 0);
  (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10); /* as --pool-nice 10 */
  while (!atomic_load(&r->stop)) {
    uv_async_send(&r->async);
    uint64_t t = uv_hrtime();
    while (uv_hrtime() - t < SENDER_WORK_NS) {
    }
  }
}

static void on_async(uv_async_t *a) { ((rig_t *)a->data)->sends_seen++; }

static void on_tick(uv_timer_t *t) {
  rig_t *r = t->data;
  uint64_t now = uv_hrtime(), late = now - r->prev > 1000000 ? now - r->prev - 1000000 : 0;
  r->prev = now;
  if (late > r->late_ns_max) r->late_ns_max = late;
  if (late > 2000000) r->late_over_2ms++;
  if (++r->ticks == MAX_TICKS || r->sends_seen >= SENDS) {
    atomic_store(&r->stop, 1);
    uv_close((uv_handle_t *)&r->async, NULL);
    uv_close((uv_handle_t *)t, NULL);
  }
}

/* A 1 ms timer on the loop while the sender sends, until SENDS were seen; returns the loop
 * thread's CPU time, which the spin burns and a sleep does not. */
static uint64_t run(rig_t *r) {
  uv_thread_t sender;
  memset(r, 0, sizeof(*r));
  ASSERT_EQ(uv_loop_init(&r->loop), 0);
  ASSERT_EQ(uv_async_init(&r->loop, &r->async, on_async), 0);
  ASSERT_EQ(uv_timer_init(&r->loop, &r->timer), 0);
  r->async.data = r->timer.data = r;
  r->prev = uv_hrtime();
  ASSERT_EQ(uv_timer_start(&r->timer, on_tick, 1, 1), 0);
  uint64_t cpu0 = thread_cpu_ns();
  ASSERT_EQ(uv_thread_create(&sender, sender_main, r), 0);
  ASSERT_EQ(uv_run(&r->loop, UV_RUN_DEFAULT), 0);
  uint64_t cpu = thread_cpu_ns() - cpu0;
  ASSERT_EQ(uv_thread_join(&sender), 0);
  ASSERT_EQ(cli_loop_close(&r->loop), 0);
  return cpu;
}

static void pool_work(uv_work_t *req) { (void)req; }
static void pool_done(uv_work_t *req, int status) { (void)req, (void)status; }

/* libuv's own pool threads call uv_async_send through the PLT: they get the replacement. */
static void pool_threads_use_it(void) {
  uv_loop_t loop;
  uv_work_t reqs[8];
  unsigned long before = cli_async_sends(), deferred = cli_async_sends_deferred();
  ASSERT_EQ(uv_loop_init(&loop), 0);
  for (int i = 0; i < 8; i++) ASSERT_EQ(uv_queue_work(&loop, &reqs[i], pool_work, pool_done), 0);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(cli_loop_close(&loop), 0);
  ASSERT_INT_OP(cli_async_sends() - before, >=, 1);
  ASSERT_INT_OP(cli_async_sends_deferred() - deferred, >=, 1);
}

static int readable(int fd) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* A send to a loop's wq_async from a thread holding its wq_mutex, as libuv's worker sends:
 * the handle is marked at once, but the loop is woken (its eventfd or pipe made readable)
 * only when the sender lets go of the mutex, so a loop that wakes never finds it held. */
static void wq_send_wakes_after_the_unlock(void) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  int fd = loop.async_io_watcher.fd; /* the eventfd, or the pipe's read end */
  ASSERT_EQ(readable(fd), 0);
  uv_mutex_lock(&loop.wq_mutex);
  ASSERT_EQ(uv_async_send(&loop.wq_async), 0);
  ASSERT_EQ(loop.wq_async.pending, 2);
  ASSERT_EQ(readable(fd), 0);
  uv_mutex_unlock(&loop.wq_mutex);
  ASSERT_EQ(readable(fd), 1);
  /* Any other handle's send writes at once, lock or none. */
  uv_async_t other;
  ASSERT_EQ(uv_async_init(&loop, &other, NULL), 0);
  ASSERT_EQ(uv_run(&loop, UV_RUN_NOWAIT), 1); /* takes the wakeup; `other` keeps it alive */
  ASSERT_EQ(readable(fd), 0);
  uv_mutex_lock(&loop.wq_mutex);
  ASSERT_EQ(uv_async_send(&other), 0);
  ASSERT_EQ(readable(fd), 1);
  uv_mutex_unlock(&loop.wq_mutex);
  uv_close((uv_handle_t *)&other, NULL);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(cli_loop_close(&loop), 0);
}

int main(void) {
  rig_t r;
  pin_to_cpu0();
  if (!cli_async_send_replaced()) {
    printf("SKIP: libuv %s has no uv__async_spin, nothing to test\n", uv_version_string());
    return 77;
  }
  pool_threads_use_it();
  wq_send_wakes_after_the_unlock();
  /* The CLI's own setup of its loop thread, a short slice; real-time where allowed. */
  ASSERT_EQ(cli_prioritize(0, 0, 100), 0);
  struct sched_param fifo = {.sched_priority = 1};
  int rt = sched_setscheduler(0, SCHED_FIFO, &fifo) == 0;
  uint64_t cpu = run(&r);
  printf("asyncsend: loop %s: loop CPU %.1f ms for %" PRIu64 " sends in %" PRIu64
         " ticks, late max %.2f ms, %" PRIu64 " ticks over 2 ms late\n",
         rt ? "SCHED_FIFO" : "short slice", cpu / 1e6, r.sends_seen, r.ticks,
         r.late_ns_max / 1e6, r.late_over_2ms);
  /* The sender shared the CPU and got through its sends, and the loop spent little CPU on
   * them: under 1 ms per send, where each wait the loop falls into costs it 10-94 ms
   * (bench/README.md). */
  ASSERT_INT_OP(r.sends_seen, >=, SENDS);
  ASSERT_INT_OP(cpu, <, (uint64_t)SENDS * 1000000u);
  return 0;
}
