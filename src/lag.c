/* Loop-lag histogram: fixed buckets, so recording a sample on the loop costs a division. */
#include "lag.h"

static unsigned bucket_of(uint64_t us) {
  if (us < 10000) return (unsigned)(us / 10);
  if (us < 1000000) return 1000 + (unsigned)((us - 10000) / 1000);
  return UVCRAWL__HIST_BUCKETS - 1;
}

static double bucket_top_ms(unsigned b) {
  if (b < 1000) return (b + 1) * 0.01;
  return 10.0 + (b - 1000 + 1);
}

void uvcrawl__hist_add(uvcrawl__hist_t *h, uint64_t us, uint64_t at_ns) {
  h->buckets[bucket_of(us)]++;
  h->count++;
  if (us > h->max_us) h->max_us = us;
  /* The sample takes the place of the smallest kept one, if it is above it. */
  unsigned min = 0;
  for (unsigned i = 1; i < UVCRAWL_LAG_WORST; i++)
    if (h->worst[i].us < h->worst[min].us) min = i;
  if (us > h->worst[min].us) {
    h->worst[min].at_ns = at_ns;
    h->worst[min].us = us;
  }
}

void uvcrawl__hist_add_idle(uvcrawl__hist_t *h, uint64_t n) {
  if (n > UINT32_MAX - h->buckets[0]) n = UINT32_MAX - h->buckets[0];
  h->buckets[0] += (uint32_t)n;
  h->count += n;
}

unsigned uvcrawl__hist_worst(const uvcrawl__hist_t *h, uint64_t at_ns[UVCRAWL_LAG_WORST],
                             uint64_t us[UVCRAWL_LAG_WORST]) {
  unsigned n = 0;
  for (unsigned i = 0; i < UVCRAWL_LAG_WORST; i++) {
    if (h->worst[i].us == 0) continue;
    unsigned j = n++; /* insertion, worst first */
    for (; j > 0 && us[j - 1] < h->worst[i].us; j--) {
      us[j] = us[j - 1];
      at_ns[j] = at_ns[j - 1];
    }
    us[j] = h->worst[i].us;
    at_ns[j] = h->worst[i].at_ns;
  }
  return n;
}

double uvcrawl__hist_quantile_ms(const uvcrawl__hist_t *h, double q) {
  if (h->count == 0) return 0;
  uint64_t want = (uint64_t)(q * (double)h->count + 0.5), seen = 0;
  if (want < 1) want = 1;
  for (unsigned b = 0; b < UVCRAWL__HIST_BUCKETS; b++) {
    seen += h->buckets[b];
    if (seen >= want) {
      if (b == UVCRAWL__HIST_BUCKETS - 1) break; /* the overflow bucket: max is exact */
      double top = bucket_top_ms(b), max = (double)h->max_us / 1000.0;
      return top < max ? top : max;
    }
  }
  return (double)h->max_us / 1000.0;
}
