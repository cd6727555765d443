/* --engine threads: the classic design, kept for comparison. `threads` workers each take a URL
 * from a shared frontier (mutex + condition variable), fetch it with a blocking
 * curl_easy_perform on a per-thread easy handle, then hash, parse and write its record in
 * that same thread. No event loop.
 *
 * Not in the library's ABI: the CLI and bench/ build it against the internal library
 * (uvcrawl_internal), sharing the loop engine's request options, body buffers, jobs and
 * record building. */
#ifndef UVCRAWL_CLI_ENGINE_THREADS_H
#define UVCRAWL_CLI_ENGINE_THREADS_H

#include <stddef.h>

#include "uvcrawl.h"

/* Blocks the calling thread until the crawl ends. opts (NULL: defaults) and seeds are
 * borrowed for the call. on_result may be NULL; it runs on worker threads, one at a time,
 * with crawler NULL and arg. stats (may be NULL) gets the totals. Returns 0 or a negative
 * error code: a bad seed gives UVCRAWL_EURL/ESCHEME, an option only the loop engine has
 * UV_ENOTSUP. */
int cli_threads_run(const uvcrawl_options_t *opts, const char *const *seeds, size_t nseeds,
                    unsigned threads, uvcrawl_result_cb on_result, void *arg,
                    uvcrawl_stats_t *stats);

#endif
