/* The CLI's answer to libuv 1.44's uv__async_spin (src/cli/priority.c): a loop thread that
 * finds a low-priority thread preempted inside uv_async_send must give it the CPU at once, not
 * yield to it hundreds of times. The two threads share one CPU, as the loop thread and a pool
 * thread often do when every core is busy.
 *
 * What is measured does not depend on how fast or how loaded the machine is: the run lasts
 * until the loop has seen SENDS sends (however long that takes), and what is asserted is the
 * loop thread's own CPU time per send, which a spinning loop burns (milliseconds per send
 * it catches mid-way) and a sleeping one does not; other processes on the CPU stretch the
 * wall time, not this thread's CPU time. Late ticks are printed, not asserted (they measure
 * the machine's load). UVCRAWL_YIELD_COMPARE=1 also runs libc's sched_yield for comparison
 * (seconds of spinning, so not by default). */
#include <sched.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

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
  ASSERT_EQ(uv_loop_close(&r->loop), 0);
  return cpu;
}

int main(void) {
  rig_t r;
  pin_to_cpu0();
  /* The CLI's own setup of its loop thread: a short slice, and yields that sleep. */
  ASSERT_EQ(cli_prioritize(0, 0, 100), 0);
  if (!cli_yield_sleeps(1)) {
    printf("SKIP: libuv %s has no uv__async_spin, nothing to test\n", uv_version_string());
    return 77;
  }
  uint64_t cpu = run(&r);
  printf("yield: sleeping yields: loop CPU %.1f ms for %" PRIu64 " sends in %" PRIu64
         " ticks, late max %.2f ms, %" PRIu64 " ticks over 2 ms late\n",
         cpu / 1e6, r.sends_seen, r.ticks, r.late_ns_max / 1e6, r.late_over_2ms);
  uint64_t sends = r.sends_seen;
  if (getenv("UVCRAWL_YIELD_COMPARE") != NULL) {
    /* For comparison only (the kernel decides how bad it is): libc's sched_yield. */
    (void)cli_yield_sleeps(0);
    uint64_t cpu_real = run(&r);
    printf("yield: real sched_yield: loop CPU %.1f ms for %" PRIu64 " sends in %" PRIu64
           " ticks, late max %.2f ms, %" PRIu64 " ticks over 2 ms late\n",
           cpu_real / 1e6, r.sends_seen, r.ticks, r.late_ns_max / 1e6, r.late_over_2ms);
  }
  /* The sender shared the CPU and got through its sends, and the loop spent little CPU on
   * them: under 1 ms per send, where each spin the loop falls into costs it 10-18 ms
   * (bench/README.md; libc's: ~6 s of CPU in a second of ticks). */
  ASSERT_INT_OP(sends, >=, SENDS);
  ASSERT_INT_OP(cpu, <, (uint64_t)SENDS * 1000000u);
  return 0;
}
