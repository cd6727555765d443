/* The loop thread before the pool: when every core is busy parsing, a loop thread that waits
 * for a CPU is lag on every connection (bench/lag.py). The CLI owns its process, so it may
 * rank its threads; the library never does, since its pool and loop are the caller's. */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <uv.h>

#include "async_send.h"
#include "priority.h"

#ifdef SYS_sched_setattr
/* The kernel's struct sched_attr (glibc 2.36 has no wrapper). */
struct kernel_sched_attr {
  uint32_t size, sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime, sched_deadline, sched_period;
};
#endif

typedef struct {
  uv_work_t req;
  uv_barrier_t *barrier;
  int nice;
  int err;
} renice_t;

static void renice_work(uv_work_t *req) {
  renice_t *r = (renice_t *)req->data;
  /* Linux nice values are per thread: this one only. */
  if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), r->nice) != 0) r->err = -errno;
  /* Every job holds its thread until all have started, so each lands on a thread of its own. */
  uv_barrier_wait(r->barrier);
}

static void renice_done(uv_work_t *req, int status) { (void)req, (void)status; }

int cli_prioritize(unsigned pool_threads, int pool_nice, unsigned loop_slice_us) {
  int err = 0;
#ifdef SYS_sched_setattr
  if (loop_slice_us > 0) {
    /* Linux 6.12+ (EEVDF): a thread that asks for a short slice preempts a longer-sliced one
     * when it wakes, instead of waiting for that one's slice to end. Older kernels ignore it. */
    struct kernel_sched_attr a;
    memset(&a, 0, sizeof(a));
    a.size = sizeof(a);
    a.sched_policy = SCHED_OTHER;
    /* sched_setattr sets the nice value too: keep the one the thread has (`nice -n -10
     * uvcrawl` left the loop at 0, behind every build on the machine, bench/README.md; under
     * `nice -n 10` a 0 here needed root and failed with EPERM, slice and all, for others). */
    errno = 0;
    int nice_now = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
    a.sched_nice = errno == 0 ? nice_now : 0;
    a.sched_runtime = (uint64_t)loop_slice_us * 1000;
    (void)syscall(SYS_sched_setattr, 0, &a, 0);
  }
#endif
  if (pool_nice <= 0 || pool_threads == 0) return 0;
  uv_loop_t loop;
  uv_barrier_t barrier;
  renice_t *jobs = calloc(pool_threads, sizeof(*jobs));
  if (jobs == NULL) return UV_ENOMEM;
  if ((err = uv_loop_init(&loop)) != 0) goto out;
  if ((err = uv_barrier_init(&barrier, pool_threads)) != 0) goto close;
  for (unsigned i = 0; i < pool_threads; i++) {
    jobs[i].req.data = &jobs[i];
    jobs[i].barrier = &barrier;
    jobs[i].nice = pool_nice;
    uv_queue_work(&loop, &jobs[i].req, renice_work, renice_done);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_barrier_destroy(&barrier);
  for (unsigned i = 0; i < pool_threads; i++)
    if (jobs[i].err != 0) err = jobs[i].err;
close:
  cli_loop_close(&loop); /* its pool threads may still be sending to it */
out:
  free(jobs);
  return err;
}
