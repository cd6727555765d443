/* The loop-lag histogram's quantiles. */
#include "task.h"
#include "uvcrawl-int.h"

int main(void) {
  static uvcrawl__hist_t h;
  ASSERT_EQ(uvcrawl__hist_quantile_ms(&h, 0.5) * 1000, 0);
  for (int i = 0; i < 98; i++) uvcrawl__hist_add(&h, 100);   /* 0.1 ms */
  uvcrawl__hist_add(&h, 5000);                               /* 5 ms */
  uvcrawl__hist_add(&h, 250000);                             /* 250 ms */
  ASSERT_EQ(h.count, 100);
  double p50 = uvcrawl__hist_quantile_ms(&h, 0.5);
  ASSERT(p50 > 0.099 && p50 <= 0.111);
  double p99 = uvcrawl__hist_quantile_ms(&h, 0.99);
  ASSERT(p99 > 4.99 && p99 <= 5.011);
  double p100 = uvcrawl__hist_quantile_ms(&h, 1.0);
  ASSERT(p100 > 249.9 && p100 <= 250.0);
  uvcrawl__hist_add(&h, 5000000000ULL); /* beyond the last bucket: max still exact */
  ASSERT(uvcrawl__hist_quantile_ms(&h, 1.0) == 5000000.0);
  printf("lag: ok\n");
  return 0;
}
