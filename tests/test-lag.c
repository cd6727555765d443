/* The loop-lag histogram's quantiles. */
#include "task.h"
#include "lag.h"
#include "uvcrawl.h"

int main(void) {
  static uvcrawl__hist_t h;
  ASSERT_EQ(uvcrawl__hist_quantile_ms(&h, 0.5) * 1000, 0);
  for (int i = 0; i < 98; i++) uvcrawl__hist_add(&h, 100, 1); /* 0.1 ms */
  uvcrawl__hist_add(&h, 5000, 2);                            /* 5 ms */
  uvcrawl__hist_add(&h, 250000, 3);                          /* 250 ms */
  ASSERT_EQ(h.count, 100);
  double p50 = uvcrawl__hist_quantile_ms(&h, 0.5);
  ASSERT(p50 > 0.099 && p50 <= 0.111);
  double p99 = uvcrawl__hist_quantile_ms(&h, 0.99);
  ASSERT(p99 > 4.99 && p99 <= 5.011);
  double p100 = uvcrawl__hist_quantile_ms(&h, 1.0);
  ASSERT(p100 > 249.9 && p100 <= 250.0);
  uvcrawl__hist_add(&h, 5000000000ULL, 4); /* beyond the last bucket: max still exact */
  ASSERT(uvcrawl__hist_quantile_ms(&h, 1.0) == 5000000.0);
  /* The worst samples, worst first, with when they ended. */
  uint64_t at[UVCRAWL_LAG_WORST], us[UVCRAWL_LAG_WORST];
  ASSERT_EQ(uvcrawl__hist_worst(&h, at, us), UVCRAWL_LAG_WORST);
  ASSERT_EQ(us[0], 5000000000ULL);
  ASSERT_EQ(at[0], 4);
  ASSERT_EQ(us[1], 250000);
  ASSERT_EQ(at[1], 3);
  ASSERT_EQ(us[2], 5000);
  for (unsigned i = 3; i < UVCRAWL_LAG_WORST; i++) ASSERT_EQ(us[i], 100); /* 5 of the 98 */
  /* Many samples: exactly the 8 largest are kept, whatever the order they came in. */
  static uvcrawl__hist_t g;
  for (uint64_t i = 0; i < 1000; i++) uvcrawl__hist_add(&g, (i * 7919) % 1000, i);
  ASSERT_EQ(uvcrawl__hist_worst(&g, at, us), UVCRAWL_LAG_WORST);
  for (unsigned i = 0; i < UVCRAWL_LAG_WORST; i++) {
    ASSERT_EQ(us[i], 999 - i);
    ASSERT_EQ((at[i] * 7919) % 1000, us[i]);
  }
  printf("lag: ok\n");
  return 0;
}
