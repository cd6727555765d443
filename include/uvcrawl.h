/* uvcrawl — a web crawler that lives inside the caller's libuv loop.
 *
 * The library never runs, owns or closes the loop: the caller creates a crawler on its own
 * uv_loop_t, starts it, keeps running the loop, and closes the crawler when done. After the
 * close callback has run the crawler holds no handle, so uv_loop_close() returns 0.
 *
 * All functions return 0 or a negative error code (libuv's UV_E* codes, or UVCRAWL_E* below);
 * uvcrawl_strerror() turns either into text.
 */
#ifndef UVCRAWL_H
#define UVCRAWL_H

#include <stddef.h>
#include <stdint.h>
#ifndef UVCRAWL__NO_UV_H
#include <uv.h>
#else
/* The library's own loop-free modules build without libuv's headers (meson.build): they
 * see the loop type only by name. Not for programs. */
typedef struct uv_loop_s uv_loop_t;
#endif

#include "uvcrawl-version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define UVCRAWL_EXTERN __attribute__((visibility("default")))
#else
#define UVCRAWL_EXTERN
#endif

/* Codes with no errno of their own live in a reserved range, as libuv's UV__EAI_* do. The
 * messages name no command-line flag: a program adds its own hints. */
#define UVCRAWL_ERRNO_MAP(XX)                                                    \
  XX(EURL, -30001, "malformed URL")                                              \
  XX(ESCHEME, -30002, "unsupported URL scheme (only http and https)")            \
  XX(ECURL, -30003, "libcurl failed to initialise")                              \
  XX(ESTATE, -30004, "operation not allowed in the crawler's current state")     \
  XX(ENOSEED, -30005, "no seed URL given")                                       \
  XX(ETOOBIG, -30006, "body exceeds the size cap")                               \
  XX(EACCEPT, -30007, "bad status list (want e.g. 200..299,403)")                \
  XX(ESTATEDIR, -30008, "the state directory holds a crawl: resume it or remove it") \
  XX(EREGEX, -30009, "bad regular expression (POSIX extended)")                  \
  XX(ESCOPE, -30010, "scope is host, domain, prefix or all")                     \
  XX(ECLUSTER, -30050, "the crawl in Redis was started with other options or seeds") \
  XX(EREDIS, -30051, "Redis is unreachable or refused the crawl's commands")

typedef enum {
#define XX(code, val, msg) UVCRAWL_##code = val,
  UVCRAWL_ERRNO_MAP(XX)
#undef XX
} uvcrawl_errno_t;

/* Text for a UVCRAWL_E* or UV_E* code; never NULL, static storage. */
UVCRAWL_EXTERN const char *uvcrawl_strerror(int err);
/* The code's name, as uv_err_name() spells libuv's: "ETOOBIG" for UVCRAWL_ETOOBIG, "ENOSPC"
 * for UV_ENOSPC, "UNKNOWN" for a code neither knows. Never NULL, static storage. */
UVCRAWL_EXTERN const char *uvcrawl_err_name(int err);

typedef struct uvcrawl_s uvcrawl_t;

/* ---- Options ------------------------------------------------------------------------------
 * An opaque object: uvcrawl_options_new(), then one typed setter call per option to change,
 * then uvcrawl_create() (which copies it: free it, or reuse it for another crawler).
 * Each setter checks the option's type and value: UV_EINVAL for an option of another type,
 * an unknown option or a value out of range; a few values have codes of their own
 * (UVCRAWL_ESCOPE, UVCRAWL_EACCEPT, UVCRAWL_EREGEX). Strings and lists are copied; NULL puts
 * the option back to its default. Options are numbered for good: a number is never reused.
 *
 * The table: XX(NAME, number, TYPE, field, default, check). TYPE says the setter: INT and BOOL
 * (0 or 1) take uvcrawl_options_set_int(), STR uvcrawl_options_set_str(), STRV (a NULL-ended
 * list) uvcrawl_options_set_strv(). The last three columns are the library's own (its field,
 * default and validator); doc/api.md says what each option does. Adding an option is one line
 * here and a field in src/options.h. */
#define UVCRAWL_OPTION_MAP(XX)                                                              \
  /* Crawling */                                                                            \
  XX(MAX_INFLIGHT, 1, INT, max_inflight, 64, RANGE(1, 1000000))                             \
  XX(MAX_DEPTH, 2, INT, max_depth, -1, RANGE(-1, INT_MAX)) /* -1: unlimited */              \
  XX(MAX_PAGES, 3, INT, max_pages, 0, RANGE(0, INT64_MAX)) /* 0: unlimited */               \
  XX(MAX_BODY, 4, INT, max_body, 32u << 20, RANGE(1, INT64_MAX))                            \
  XX(MAX_BUFFER, 5, INT, max_buffer, 32u << 20, RANGE(1, INT64_MAX))                        \
  XX(TIMEOUT_MS, 6, INT, timeout_ms, 60000, RANGE(0, LONG_MAX)) /* 0: none */               \
  XX(CONNECT_TIMEOUT_MS, 7, INT, connect_timeout_ms, 10000, RANGE(0, LONG_MAX))             \
  XX(USER_AGENT, 8, STR, user_agent, NULL, LINE) /* NULL: "uvcrawl/VERSION" */              \
  XX(OUTPUT_PATH, 9, STR, output_path, NULL, ANY) /* JSON Lines; "-": stdout */             \
  XX(MIRROR_DIR, 10, STR, mirror_dir, NULL, ANY)                                            \
  XX(FSYNC, 11, BOOL, fsync, 0, ANY)                                                        \
  XX(CHECK, 12, BOOL, check, 0, ANY) /* link checking */                                    \
  XX(STATE_DIR, 13, STR, state_dir, NULL, ANY) /* the journal, for resuming */              \
  XX(RESUME, 14, BOOL, resume, 0, ANY)                                                      \
  XX(SYNC_INTERVAL_MS, 15, INT, sync_interval_ms, 1000, RANGE(1, UINT_MAX))                 \
  /* Politeness and robustness */                                                           \
  XX(PER_HOST, 16, INT, per_host, 0, RANGE(0, UINT_MAX)) /* 0: no cap */                    \
  XX(DELAY_MS, 17, INT, delay_ms, 0, RANGE(0, UINT32_MAX))                                  \
  XX(RANDOM_DELAY, 18, BOOL, random_delay, 0, ANY)                                          \
  XX(IGNORE_ROBOTS, 19, BOOL, ignore_robots, 0, ANY)                                        \
  XX(RETRIES, 20, INT, retries, 0, RANGE(0, 10000))                                         \
  XX(MAX_RETRY_AFTER_MS, 21, INT, max_retry_after_ms, 120000, RANGE(0, UINT_MAX))           \
  XX(LOW_SPEED_BYTES, 22, INT, low_speed_bytes, 10, RANGE(0, LONG_MAX))                     \
  XX(LOW_SPEED_SECS, 23, INT, low_speed_secs, 30, RANGE(0, LONG_MAX)) /* 0: off */          \
  XX(MAX_URL_LEN, 24, INT, max_url_len, 8192, RANGE(0, UINT_MAX))                           \
  XX(MAX_LINKS, 25, INT, max_links, 100000, RANGE(0, UINT_MAX))                             \
  XX(MAX_PARSE, 26, INT, max_parse, 2u << 20, RANGE(0, INT64_MAX))                          \
  XX(MAX_REDIRECTS, 27, INT, max_redirects, 10, RANGE(0, UINT_MAX))                         \
  /* Scope and filters */                                                                   \
  XX(INCLUDE, 28, STRV, include, NULL, REGEX) /* POSIX EREs */                              \
  XX(EXCLUDE, 29, STRV, exclude, NULL, REGEX)                                               \
  XX(SCOPE, 30, STR, scope, NULL, SCOPE) /* host (NULL), domain, prefix, all */             \
  XX(SITEMAPS, 31, BOOL, sitemaps, 0, ANY)                                                  \
  XX(ACCEPT, 32, STR, accept, NULL, ACCEPT) /* e.g. "200..299,403"; NULL: 200..299 */       \
  /* Protocol, TLS, HTTP extras */                                                          \
  XX(HTTP_VERSION, 33, INT, http_version, 0, RANGE(0, 2)) /* 0: curl's; 1: 1.1; 2: h2 */    \
  XX(CACERT, 34, STR, cacert, NULL, ANY)                                                    \
  XX(INSECURE, 35, BOOL, insecure, 0, ANY)                                                  \
  XX(HEADERS, 36, STRV, headers, NULL, HEADER) /* "Name: value" lines */                    \
  XX(USERPWD, 37, STR, userpwd, NULL, ANY) /* "user:password", seeds' origins only */       \
  XX(NETRC, 38, BOOL, netrc, 0, ANY)                                                        \
  XX(COOKIE_LOAD, 39, STR, cookie_load, NULL, ANY)                                          \
  XX(COOKIE_SAVE, 40, STR, cookie_save, NULL, ANY)                                          \
  XX(PROXY, 41, STR, proxy, NULL, ANY) /* NULL: curl's environment variables; "": none */   \
  XX(PARSER, 42, INT, parser, UVCRAWL_PARSER_FAST, RANGE(0, 1))                             \
  /* Engine */                                                                              \
  XX(POOL_THREADS, 43, INT, pool_threads, 4, RANGE(1, 1024)) /* the uv pool's size */      \
  /* Mirrors to browse offline (wget's -p, -k, -E) */                                        \
  XX(PAGE_REQUISITES, 44, BOOL, page_requisites, 0, ANY) /* off-host, past max_depth */     \
  XX(CONVERT_LINKS, 45, BOOL, convert_links, 0, ANY) /* with mirror_dir, after the crawl */ \
  XX(ADJUST_EXTENSION, 46, BOOL, adjust_extension, 0, ANY) /* .html, .css names */     \
  /* WARC 1.1 output (see README): every fetch as a response and a request record, content  \
     coding kept; revisits for payloads archived before (in this crawl or WARC_DEDUP) */      \
  XX(WARC_PATH, 47, STR, warc_path, NULL, ANY) /* FILE.warc.gz or FILE.warc; NULL: none */  \
  XX(WARC_MAX_SIZE, 48, INT, warc_max_size, 0, RANGE(0, INT64_MAX)) /* 0: one file */       \
  XX(WARC_CDX, 49, STR, warc_cdx, NULL, ANY) /* sorted CDXJ index, written at the end */    \
  XX(WARC_DEDUP, 50, STR, warc_dedup, NULL, ANY) /* a previous crawl's CDXJ */

#define UVCRAWL_PARSER_FAST 0  /* a streaming scanner, gumbo for the pages it cannot be sure of */
#define UVCRAWL_PARSER_GUMBO 1 /* gumbo for every page (within MAX_PARSE) */

typedef enum {
#define UVCRAWL_OPT_XX(name, num, type, field, def, check) UVCRAWL_OPT_##name = num,
  UVCRAWL_OPTION_MAP(UVCRAWL_OPT_XX)
#undef UVCRAWL_OPT_XX
} uvcrawl_option_t;

typedef struct uvcrawl_options_s uvcrawl_options_t;

/* *out gets options holding every default; the caller owns it: uvcrawl_options_free().
 * Returns 0 or UV_ENOMEM. */
UVCRAWL_EXTERN int uvcrawl_options_new(uvcrawl_options_t **out);
/* Frees the options and every string they copied; NULL is fine. */
UVCRAWL_EXTERN void uvcrawl_options_free(uvcrawl_options_t *opts);
/* For INT and BOOL options. Returns 0, UV_EINVAL. */
UVCRAWL_EXTERN int uvcrawl_options_set_int(uvcrawl_options_t *opts, uvcrawl_option_t opt,
                                           int64_t value);
/* For STR options; value is copied (NULL: the default). Returns 0, UV_EINVAL, UV_ENOMEM or the
 * option's own code (UVCRAWL_ESCOPE, UVCRAWL_EACCEPT). */
UVCRAWL_EXTERN int uvcrawl_options_set_str(uvcrawl_options_t *opts, uvcrawl_option_t opt,
                                           const char *value);
/* For STRV options: a NULL-ended list, copied (NULL or empty: the default, no entries).
 * Returns 0, UV_EINVAL, UV_ENOMEM or UVCRAWL_EREGEX. On error the option is unchanged. */
UVCRAWL_EXTERN int uvcrawl_options_set_strv(uvcrawl_options_t *opts, uvcrawl_option_t opt,
                                            const char *const *values);

/* One fetched URL. Every pointer is borrowed for the duration of the callback only. The
 * library allocates it: fields are only ever added at the end. */
typedef struct {
  const char *url;
  long status;              /* HTTP status, 0 when no response */
  int depth;
  const char *referrer;     /* first page that linked it; NULL for seeds */
  const char *content_type; /* NULL when none */
  uint64_t bytes;           /* body bytes received */
  const char *md5;          /* lower-case hex of the body; NULL when no body */
  const char *redirect;     /* resolved Location of a 3xx, else NULL */
  const char *error;        /* NULL, or a short message for people */
  double ms;                /* fetch time */
  int curl_code;            /* CURLcode of the transfer */
  unsigned links;           /* links found in the body (HTML only) */
  int external;             /* an out-of-scope URL checked, not crawled (CHECK) */
  const char *skipped;      /* not fetched, and why (e.g. "robots.txt"); NULL when fetched */
  const char *note;         /* e.g. the link cap was reached on this page */
  unsigned attempts;        /* fetches it took (1 without retries) */
  int broken;               /* an error, or a status not accepted (see ACCEPT) */
  const char *http_version; /* of the response: "1.0", "1.1", "2" or "3"; NULL when none */
  const char *error_name;   /* with error: a stable name for programs, curl's ("CURLE_...")
                               when the message is curl's, else uvcrawl_err_name()'s
                               ("ETOOBIG", "ENOSPC", ...); NULL without error */
  const char *warc_file;    /* with WARC_PATH: the WARC file holding its response (or revisit)
                               record; NULL when none was written */
  uint64_t warc_offset;     /* where that record starts in warc_file */
  const char *warc_record_id; /* its WARC-Record-ID, "<urn:uuid:...>" */
} uvcrawl_result_t;

#define UVCRAWL_LAG_WORST 8

/* Read with uvcrawl_get_stats(c, &s, sizeof s): fields are only ever added at the end, and
 * the library writes only the size the caller was compiled with. */
typedef struct {
  uint64_t pages;          /* records emitted */
  uint64_t errors;         /* records with an error or status >= 400 */
  uint64_t bytes;          /* body bytes */
  uint64_t queued;         /* URLs waiting in the frontier */
  uint64_t seen;           /* distinct URLs seen */
  unsigned inflight;       /* transfers now */
  unsigned inflight_max;   /* high-water mark */
  unsigned inflight_cap;   /* the cap after clamping to RLIMIT_NOFILE */
  unsigned fds_max;        /* high-water mark of sockets curl held open */
  uint64_t resumed;        /* URLs completed before, replayed from the journal */
  uint64_t skipped;        /* URLs not fetched: robots.txt, traps, caps */
  uint64_t retries;        /* attempts beyond the first */
  uint64_t fd_backoffs;    /* transfers put back because the process ran out of fds */
  uint64_t output_errors;  /* 1 when the records or the journal could not all be written */
  uint64_t mirror_errors;  /* bodies that could not be saved (the URL's record says why) */
  uint64_t buffered_max;   /* high-water mark of body bytes held in memory */
  double lag_p50_ms;       /* loop lag: how late a 1 ms repeating timer fired (it pauses
                            * while the loop sleeps; those ticks count as on time) */
  double lag_p99_ms;
  double lag_max_ms;
  double wall_ms;          /* since uvcrawl_start() */
  uint64_t pool_jobs;      /* bodies and robots.txt files handed to the thread pool */
  uint64_t pool_batches;   /* uv_work_t requests they took (several jobs each when busy) */
  /* The worst loop lags, worst first (ms 0 in unused places): when each ended, on
   * uv_hrtime()'s clock (CLOCK_MONOTONIC on Linux, as perf -k CLOCK_MONOTONIC), so a trace
   * of the machine can tell what held the loop then (bench/lag.py --trace). */
  struct {
    uint64_t at_ns;
    double ms;
  } lag_worst[UVCRAWL_LAG_WORST];
  uint64_t parse_fast;     /* HTML pages whose links the fast scanner gave */
  uint64_t parse_bailouts; /* HTML pages it handed to gumbo (the rest of the parsed ones were
                              gumbo's because PARSER asked for it) */
  uint64_t convert_total;  /* convert_links: saved HTML and CSS files to convert */
  uint64_t converted;      /* ... converted so far (files rewritten or already right) */
  uint64_t convert_errors; /* ... that could not be read or written back */
} uvcrawl_stats_t;

/* A broken URL and every page that links it (pointers borrowed for the callback). */
typedef struct {
  const char *url;
  long status;
  const char *error;
  int external;
  const char *const *referrers; /* sorted, distinct; empty for a seed */
  size_t nreferrers;
} uvcrawl_broken_t;

/* Callbacks and threads. The crawler lives on the loop's thread: call every function on it
 * from there. Its callbacks run on that thread too, from inside uv_run(), and always from one
 * place, a uv_idle_t of the crawler's, after its own bookkeeping is done (as hiredis does it):
 * never from inside another uvcrawl_ call, never in the middle of handling a transfer. So
 * from on_result and on_done:
 *   - uvcrawl_stop() and uvcrawl_close() are allowed; they take effect when the callback has
 *     returned (a close never frees the crawler under its caller: close_cb runs later, from
 *     the loop). After a close from on_result no more on_result and no on_done come; after a
 *     stop the records already made still arrive, then on_done(UV_ECANCELED).
 *   - uvcrawl_get_stats(), uvcrawl_get_data()/set_data() are allowed; from on_done also
 *     uvcrawl_foreach_broken().
 *   - uvcrawl_add_seed() and uvcrawl_start() return UVCRAWL_ESTATE; running the loop again
 *     (uv_run) from a callback is not allowed.
 * on_result therefore runs a little after the URL was finished (the same or the next loop
 * iteration), in the order the records were made. In close_cb the crawler is being freed:
 * nothing may be called on it there or after; closing the loop's other handles is fine.
 *
 * Every callback gets the crawler first and, last, the arg given with it (hiredis's
 * privdata), so a program needs no global to find its own state. */
typedef void (*uvcrawl_result_cb)(uvcrawl_t *crawler, const uvcrawl_result_t *result,
                                  void *arg);
/* status: 0 when the frontier ran dry, UV_ECANCELED after uvcrawl_stop(). Runs once, after
 * every on_result. */
typedef void (*uvcrawl_done_cb)(uvcrawl_t *crawler, int status, void *arg);
/* crawler is being freed: compare it, do not call the library with it. */
typedef void (*uvcrawl_close_cb)(uvcrawl_t *crawler, void *arg);
typedef void (*uvcrawl_broken_cb)(uvcrawl_t *crawler, const uvcrawl_broken_t *broken,
                                  void *arg);

/* Creates a crawler on a loop the caller owns, with opts (copied; NULL: every default).
 * *out is owned by the library and freed by uvcrawl_close(). On failure nothing is left
 * behind: no handle was opened, *out is untouched, and uv_loop_close() may be called at once
 * without running the loop. */
UVCRAWL_EXTERN int uvcrawl_create(uv_loop_t *loop, const uvcrawl_options_t *opts,
                                  uvcrawl_t **out);
UVCRAWL_EXTERN void uvcrawl_set_data(uvcrawl_t *crawler, void *data);
UVCRAWL_EXTERN void *uvcrawl_get_data(const uvcrawl_t *crawler);

/* Adds a seed (copied). Its scheme+host+port joins the crawl's scope. When resuming, the
 * journal's seeds are already in; adding them again is harmless. Before uvcrawl_start() and
 * uvcrawl_join_cluster() (which hands the seeds to Redis); after either, and from callbacks,
 * UVCRAWL_ESTATE. */
UVCRAWL_EXTERN int uvcrawl_add_seed(uvcrawl_t *crawler, const char *url);

/* Starts fetching; on_result runs once per fetched URL, on_done once at the end, each with
 * arg. Either may be NULL. */
UVCRAWL_EXTERN int uvcrawl_start(uvcrawl_t *crawler, uvcrawl_result_cb on_result,
                                 uvcrawl_done_cb on_done, void *arg);

/* Graceful stop: no new requests; transfers in flight are aborted; pending records are
 * written and delivered; then on_done(UV_ECANCELED) (or on_done(0) when the crawl was
 * already ending). From a callback it takes effect when that returns. Idempotent; returns 0,
 * or UVCRAWL_ESTATE before uvcrawl_start(). */
UVCRAWL_EXTERN int uvcrawl_stop(uvcrawl_t *crawler);

/* Releases every handle and the crawler itself; close_cb (may be NULL) runs with arg when the
 * last handle is closed, always from the loop (never before uvcrawl_close() returns). Stops
 * first if still running (on_done is not called then, nor on_result again). From on_result or
 * on_done it takes effect when the callback returns. Idempotent: a second call changes
 * nothing (its close_cb is not used). */
UVCRAWL_EXTERN void uvcrawl_close(uvcrawl_t *crawler, uvcrawl_close_cb close_cb, void *arg);

/* With the CHECK option: after on_done and before uvcrawl_close(), calls cb for every broken
 * URL with all its referrers. Returns how many, or a negative error (UVCRAWL_ESTATE without
 * CHECK). */
UVCRAWL_EXTERN int uvcrawl_foreach_broken(uvcrawl_t *crawler, uvcrawl_broken_cb cb, void *arg);

/* Copies the statistics into stats, at most size bytes of them (pass sizeof *stats): a
 * program built against an older, shorter uvcrawl_stats_t gets the fields it knows. Returns
 * 0, or UV_EINVAL when stats is NULL. */
UVCRAWL_EXTERN int uvcrawl_get_stats(const uvcrawl_t *crawler, uvcrawl_stats_t *stats,
                                     size_t size);

/* A crawl shared by many processes (on many machines) through one Redis 7 server.
 *
 * uvcrawl_join_cluster() makes the crawler a worker of the crawl `name` at redis_url
 * ("redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]", %XX escapes in USER and PASSWORD; AUTH
 * on every connection when a password is given; why never shows it). Call it after
 * uvcrawl_add_seed() (seeds optional: a worker without seeds joins the crawl and takes its
 * seeds' scope) and before uvcrawl_start(). It
 * blocks for a few round trips (connect, FUNCTION LOAD of the crawl's function library when it
 * is missing or another version, join): call it before running the loop. The first worker's
 * seeds and options (scope, filters, depth, politeness, retries, user agent: everything that
 * decides what is fetched and how often) define the crawl; a worker with other options or
 * other seeds gets UVCRAWL_ECLUSTER. Leases of a worker that stops beating come back after
 * lease_ms (0: 30 s); a URL that was leased by max_tries (0: 5) workers that died fails.
 * on_done runs when the crawl is finished for the whole cluster (status 0), or with
 * UVCRAWL_EREDIS when Redis refused the crawl's commands. Returns 0, UVCRAWL_ECLUSTER,
 * UVCRAWL_EREDIS, UVCRAWL_ENOSEED (no such crawl and no seeds), UV_ENOTSUP (built without
 * hiredis; or options.check, state_dir, sitemaps or max_pages, which a shared crawl does not
 * take) or UV_ENOMEM; why (whylen bytes) gets a message for the user. */
UVCRAWL_EXTERN int uvcrawl_join_cluster(uvcrawl_t *crawler, const char *redis_url,
                                        const char *name, unsigned lease_ms, unsigned max_tries,
                                        char *why, size_t whylen);
/* Why on_done had UVCRAWL_EREDIS (the crawler's string, valid until uvcrawl_close()), or
 * NULL. Loop thread; from on_done and on_result too. */
UVCRAWL_EXTERN const char *uvcrawl_cluster_error(const uvcrawl_t *crawler);
/* Blocking, no loop. The crawl's progress as one JSON object (*json malloc'd: free() it). */
UVCRAWL_EXTERN int uvcrawl_cluster_status(const char *redis_url, const char *name, char **json,
                                          char *why, size_t whylen);
/* Blocking, no loop. Every record of the crawl, each URL once, as JSON lines to path ("-":
 * stdout); *n gets how many. */
UVCRAWL_EXTERN int uvcrawl_cluster_export(const char *redis_url, const char *name,
                                          const char *path, uint64_t *n, char *why,
                                          size_t whylen);

/* Library version, e.g. "0.1.0"; static storage. */
UVCRAWL_EXTERN const char *uvcrawl_version(void);

#ifdef __cplusplus
}
#endif
#endif /* UVCRAWL_H */
