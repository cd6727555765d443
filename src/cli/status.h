/* The live status endpoint (--status-listen): a small HTTP/1.1 server on the crawl's own loop
 * that answers GET /stats (the statistics as JSON, the --stats-json members and a few live
 * ones) and GET / (a self-refreshing HTML page), and nothing else. It uses the public header
 * only, as any program embedding the crawler would, and http-parser for the requests.
 *
 * Bounded by construction, so that clients cannot stall the crawl: at most CLI_STATUS_CONNS
 * connections (the oldest idle one makes room for a new one; when none is idle the new one is
 * closed), CLI_STATUS_REQUEST bytes per request (more: the connection is closed), one request
 * answered at a time per connection (pipelined ones wait, unread, in the kernel), and every
 * connection closed after CLI_STATUS_IDLE_MS without a complete request or a written answer.
 * Loop thread only. */
#ifndef UVCRAWL_CLI_STATUS_H
#define UVCRAWL_CLI_STATUS_H

#include <stddef.h>
#include <sys/socket.h>

#include "report.h"
#include "uvcrawl.h"

#define CLI_STATUS_CONNS 64
#define CLI_STATUS_REQUEST 8192
#define CLI_STATUS_IDLE_MS 5000

typedef struct cli_status_s cli_status_t;

/* Parses "[ADDR:]PORT" into *out: ADDR is a numeric IPv4 address, "localhost" or a bracketed
 * IPv6 address ("[::1]"), 127.0.0.1 when left out; PORT is 0..65535, 0 for one the kernel
 * picks. Returns 0 or UV_EINVAL. */
int cli_status_parse_addr(const char *spec, struct sockaddr_storage *out);

/* Listens on addr and serves crawler's statistics and report's status classes and slowest
 * pages. crawler is borrowed until cli_status_close(); report until the loop has closed the
 * status's last handle (uv_run has returned). On success *out is the status, released only
 * by cli_status_close(), and url (n bytes; 80 are enough) names where it listens, e.g.
 * "http://127.0.0.1:8080/". Returns 0 or a negative libuv error; on error the half-made
 * status frees itself once the loop runs. */
int cli_status_start(uv_loop_t *loop, const struct sockaddr *addr, uvcrawl_t *crawler,
                     const report_t *report, cli_status_t **out, char *url, size_t n);

/* The crawl is over (call from on_done, before uvcrawl_close()): final (copied) is what is
 * served from now on. Stops listening at once; each open connection gets the answer to its
 * next request from final, with "Connection: close", or is closed when idle as usual, so a
 * client polling /stats on a kept-alive connection sees the final figures. The status frees
 * itself in its last close callback. st may be NULL. */
void cli_status_close(cli_status_t *st, const uvcrawl_stats_t *final);

#endif
