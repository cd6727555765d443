/* Placeholder: the threaded engine is being written. */
#include "uvcrawl-int.h"

int uvcrawl_run_threads(const uvcrawl_options_t *opts, const char *const *seeds, size_t nseeds,
                        unsigned threads, uvcrawl_result_cb on_result, uvcrawl_stats_t *stats) {
  (void)opts; (void)seeds; (void)nseeds; (void)threads; (void)on_result; (void)stats;
  return UV_ENOSYS;
}
