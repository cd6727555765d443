#ifndef UVCRAWL_CLI_PRIORITY_H
#define UVCRAWL_CLI_PRIORITY_H

/* Ranks the process's threads for a crawl: the calling (loop) thread asks for a short
 * scheduler slice of loop_slice_us (0: leave it), and each of the pool_threads libuv pool
 * threads gets nice value pool_nice (<= 0: leave them). pool_threads must be the pool's real
 * size (UV_THREADPOOL_SIZE as libuv reads it), or this waits forever. Call before any other
 * pool work. Returns 0 or a negative errno; the crawl can go on either way. */
int cli_prioritize(unsigned pool_threads, int pool_nice, unsigned loop_slice_us);

#endif
