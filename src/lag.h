/* A histogram of loop lag (lag.c). Pure: the crawler times its own timer. */
#ifndef UVCRAWL_LAG_H
#define UVCRAWL_LAG_H

#include <stdint.h>

#include "uvcrawl.h" /* UVCRAWL_LAG_WORST */

#define UVCRAWL__HIST_BUCKETS 2000
typedef struct {
  uint32_t buckets[UVCRAWL__HIST_BUCKETS]; /* 10 us wide below 10 ms, 1 ms wide above */
  uint64_t count;
  uint64_t max_us;
  struct {
    uint64_t at_ns, us;
  } worst[UVCRAWL_LAG_WORST]; /* the largest samples, in no order */
} uvcrawl__hist_t;

/* Records a sample of us microseconds that ended at at_ns (uv_hrtime()). */
void uvcrawl__hist_add(uvcrawl__hist_t *h, uint64_t us, uint64_t at_ns);
/* Records n samples of 0 us (ticks an idle loop would have answered on time). */
void uvcrawl__hist_add_idle(uvcrawl__hist_t *h, uint64_t n);
/* Copies the worst samples into out, worst first; returns how many there are. */
unsigned uvcrawl__hist_worst(const uvcrawl__hist_t *h, uint64_t at_ns[UVCRAWL_LAG_WORST],
                             uint64_t us[UVCRAWL_LAG_WORST]);
/* The q-quantile (0..1) in ms, bucket upper bound; 0 when empty. */
double uvcrawl__hist_quantile_ms(const uvcrawl__hist_t *h, double q);

#endif
