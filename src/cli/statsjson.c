/* The statistics as JSON members, for --stats-json and GET /stats. */
#include "statsjson.h"

#include <inttypes.h>

int cli_stats_json_fields(FILE *f, const uvcrawl_stats_t *s) {
  fprintf(f,
          "\"pages\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"bytes\":%" PRIu64
          ",\"seen\":%" PRIu64 ",\"wall_ms\":%.1f,\"pages_per_s\":%.1f"
          ",\"inflight_cap\":%u,\"inflight_max\":%u,\"fds_max\":%u"
          ",\"mirror_errors\":%" PRIu64 ",\"buffered_max\":%" PRIu64
          ",\"lag_p50_ms\":%.3f,\"lag_p99_ms\":%.3f,\"lag_max_ms\":%.3f"
          ",\"pool_jobs\":%" PRIu64 ",\"pool_batches\":%" PRIu64
          ",\"parse_fast\":%" PRIu64 ",\"parse_bailouts\":%" PRIu64
          ",\"resumed\":%" PRIu64 ",\"skipped\":%" PRIu64 ",\"retries\":%" PRIu64
          ",\"fd_backoffs\":%" PRIu64 ",\"output_errors\":%" PRIu64
          ",\"convert_total\":%" PRIu64 ",\"converted\":%" PRIu64
          ",\"convert_errors\":%" PRIu64 ",\"lag_worst\":[",
          s->pages, s->errors, s->bytes, s->seen, s->wall_ms,
          s->wall_ms > 0 ? (double)s->pages * 1000.0 / s->wall_ms : 0.0, s->inflight_cap,
          s->inflight_max, s->fds_max, s->mirror_errors, s->buffered_max, s->lag_p50_ms,
          s->lag_p99_ms, s->lag_max_ms, s->pool_jobs, s->pool_batches, s->parse_fast,
          s->parse_bailouts, s->resumed, s->skipped, s->retries, s->fd_backoffs,
          s->output_errors, s->convert_total, s->converted, s->convert_errors);
  for (unsigned i = 0; i < UVCRAWL_LAG_WORST && s->lag_worst[i].ms > 0; i++)
    fprintf(f, "%s{\"at_ns\":%" PRIu64 ",\"ms\":%.3f}", i ? "," : "", s->lag_worst[i].at_ns,
            s->lag_worst[i].ms);
  return fputs("]", f);
}
