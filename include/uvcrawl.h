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
#include <uv.h>

#include "uvcrawl-version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define UVCRAWL_EXTERN __attribute__((visibility("default")))
#else
#define UVCRAWL_EXTERN
#endif

/* Codes with no errno of their own live in a reserved range, as libuv's UV__EAI_* do. */
#define UVCRAWL_ERRNO_MAP(XX)                                                    \
  XX(EURL, -30001, "malformed URL")                                              \
  XX(ESCHEME, -30002, "unsupported URL scheme (only http and https)")            \
  XX(ECURL, -30003, "libcurl failed to initialise")                              \
  XX(ESTATE, -30004, "operation not allowed in the crawler's current state")     \
  XX(ENOSEED, -30005, "no seed URL given")                                       \
  XX(ETOOBIG, -30006, "body exceeds the size cap")                               \
  XX(EACCEPT, -30007, "bad status list (want e.g. 200..299,403)")                \
  XX(ESTATEDIR, -30008, "the state directory holds a crawl: --resume it or remove it")  \
  XX(EREGEX, -30009, "bad regular expression in --include/--exclude")                  \
  XX(ESCOPE, -30010, "scope is host, domain, prefix or all")

typedef enum {
#define XX(code, val, msg) UVCRAWL_##code = val,
  UVCRAWL_ERRNO_MAP(XX)
#undef XX
} uvcrawl_errno_t;

/* Text for a UVCRAWL_E* or UV_E* code; never NULL, static storage. */
UVCRAWL_EXTERN const char *uvcrawl_strerror(int err);

typedef struct uvcrawl_s uvcrawl_t;

/* Options: fill with uvcrawl_options_init(), then change what you need. Strings are borrowed
 * until uvcrawl_create() returns (it copies them). */
typedef struct {
  unsigned max_inflight;     /* requests in flight at once (clamped to RLIMIT_NOFILE) */
  int max_depth;             /* -1: unlimited; seeds are depth 0 */
  uint64_t max_pages;        /* 0: unlimited; counts fetched URLs */
  uint64_t max_body;         /* bytes kept per body; larger transfers fail (UVCRAWL_ETOOBIG) */
  uint64_t max_buffer;       /* bytes of bodies waiting for the thread pool before admission stops */
  long timeout_ms;           /* whole request; 0: none */
  long connect_timeout_ms;   /* 0: libcurl's default */
  const char *user_agent;    /* NULL: "uvcrawl/VERSION" */
  const char *output_path;   /* JSON Lines records; "-" is stdout; NULL: none */
  const char *mirror_dir;    /* save 2xx bodies under DIR/host[:port]/path; NULL: no mirror */
  int fsync;                 /* fsync each mirrored file before renaming it into place */
  int check;                 /* link checking: also check each out-of-scope link once (HEAD,
                                GET when HEAD is refused), and remember every referrer of
                                every broken URL for uvcrawl_foreach_broken() */
  const char *state_dir;     /* keep a journal here so a killed crawl can resume; NULL: none */
  int resume;                /* continue the crawl journaled in state_dir */
  unsigned sync_interval_ms; /* fdatasync the journal at most this far apart (default 1000) */
  /* Politeness and robustness. */
  unsigned per_host;         /* requests in flight per host (0: only max_inflight caps) */
  unsigned delay_ms;         /* least gap between request starts on one host */
  int random_delay;          /* each gap is 0.5x..1.5x of delay_ms */
  int ignore_robots;         /* do not fetch or obey robots.txt */
  unsigned retries;          /* extra attempts for timeouts, connection failures, 5xx, 408, 429 */
  unsigned max_retry_after_ms; /* longest Retry-After obeyed (default 120000) */
  long low_speed_bytes;      /* abort a transfer slower than this many bytes/s ... */
  long low_speed_secs;       /* ... for this long (defaults 10 B/s over 30 s; 0: off) */
  unsigned max_url_len;      /* longer links are skipped (default 8192) */
  unsigned max_links;        /* links taken from one page (default 100000) */
  uint64_t max_parse;        /* HTML bytes parsed per page (default 2 MiB; gumbo needs ~700 bytes
                                of memory per element, so this bounds a hostile page's cost) */
  unsigned max_redirects;    /* length of a redirect chain followed (default 10) */
  const char *const *include; /* POSIX extended regexes: crawl only URLs matching one; NULL-ended */
  const char *const *exclude; /* ... and none of these */
  const char *scope;         /* "host" (default: scheme+host+port of a seed), "domain" (a seed's
                                host or its subdomains), "prefix" (under a seed's directory),
                                "all" */
  int sitemaps;              /* also fetch /sitemap.xml and robots.txt's Sitemap: lines (sitemap
                                indexes and gzip sitemaps too) and crawl the URLs they list */
  const char *accept;        /* statuses that are fine, e.g. "200..299,403"; NULL: 200..299.
                                3xx are always fine: their targets are checked instead */
  /* Protocol and TLS. Whatever the version, max_inflight and per_host count requests: on an
     HTTP/2 connection each stream is one, so multiplexing never raises the load on a host. */
  int http_version;          /* 0: libcurl's default (HTTP/2 over TLS when the server offers it
                                by ALPN, HTTP/1.1 on cleartext); 1: HTTP/1.1 only; 2: HTTP/2
                                on cleartext too, with prior knowledge (no Upgrade: an h2c
                                server; an HTTP/1-only cleartext server then fails), ALPN as
                                by default over TLS; other values: UV_EINVAL. Before libcurl
                                8.0, cleartext HTTP/2 takes one connection per request */
  const char *cacert;        /* PEM file of CA certificates to verify servers with; NULL: the
                                system's */
  int insecure;              /* do not verify the server's certificate or name (TLS) */
  /* HTTP extras (both engines). Every request carries the headers, robots.txt and --check
     HEADs included; the credentials go only to the seeds' origins (scheme+host+port), never
     to another host, decided per request since redirects are followed by the crawler, not
     by curl. Cookies are always kept across the crawl in one jar that every transfer
     shares. */
  const char *const *headers; /* "Name: value" lines (curl's "Name:" removes a header it
                                would send, "Name;" sends it empty); NULL-ended; a line
                                without ':' or ';', or with CR or LF, is UV_EINVAL */
  const char *userpwd;       /* "user:password" for HTTP basic auth to the seeds' origins */
  int netrc;                 /* take credentials from ~/.netrc for the hosts it lists */
  const char *cookie_load;   /* Netscape cookie file read into the jar before the crawl */
  const char *cookie_save;   /* the jar written here (Netscape format) when the crawl is done
                                (on_done); a failure counts in stats.output_errors */
  const char *proxy;         /* proxy URL for every request (http://, https://, socks5://...);
                                NULL: libcurl's environment variables (http_proxy,
                                HTTPS_PROXY, ALL_PROXY, NO_PROXY); "" : none at all */
  int parser;                /* link extraction: UVCRAWL_PARSER_FAST (default: a streaming
                                scanner, gumbo for the pages it cannot be sure of) or
                                UVCRAWL_PARSER_GUMBO (gumbo for every page, within max_parse) */
} uvcrawl_options_t;

#define UVCRAWL_PARSER_FAST 0
#define UVCRAWL_PARSER_GUMBO 1

UVCRAWL_EXTERN void uvcrawl_options_init(uvcrawl_options_t *opts);

/* One fetched URL. Every pointer is borrowed for the duration of the callback only. */
typedef struct {
  const char *url;
  long status;              /* HTTP status, 0 when no response */
  int depth;
  const char *referrer;     /* first page that linked it; NULL for seeds */
  const char *content_type; /* NULL when none */
  uint64_t bytes;           /* body bytes received */
  const char *md5;          /* lower-case hex of the body; NULL when no body */
  const char *redirect;     /* resolved Location of a 3xx, else NULL */
  const char *error;        /* NULL, or a short message */
  double ms;                /* fetch time */
  int curl_code;            /* CURLcode of the transfer */
  unsigned links;           /* links found in the body (HTML only) */
  int external;             /* an out-of-scope URL checked, not crawled (--check) */
  const char *skipped;      /* not fetched, and why (e.g. "robots.txt"); NULL when fetched */
  const char *note;         /* e.g. the link cap was reached on this page */
  unsigned attempts;        /* fetches it took (1 without retries) */
  int broken;               /* an error, or a status not accepted (see options.accept) */
  const char *http_version; /* of the response: "1.0", "1.1", "2" or "3"; NULL when none */
} uvcrawl_result_t;

#define UVCRAWL_LAG_WORST 8

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
  double lag_p50_ms;       /* loop lag: how late a 1 ms repeating timer fired */
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
                              gumbo's because options.parser asked for it) */
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
typedef void (*uvcrawl_broken_cb)(void *arg, const uvcrawl_broken_t *broken);

/* Callbacks and threads. The crawler lives on the loop's thread: call every function on it
 * from there (uvcrawl_run_threads() is the exception, see there). Its callbacks run on that
 * thread too, from inside uv_run(), and always from one place, a uv_idle_t of the crawler's,
 * after its own bookkeeping is done (as hiredis does it): never from inside another uvcrawl_
 * call, never in the middle of handling a transfer. So from on_result and on_done:
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
 * nothing may be called on it there or after; closing the loop's other handles is fine. */
typedef void (*uvcrawl_result_cb)(uvcrawl_t *crawler, const uvcrawl_result_t *result);
/* status: 0 when the frontier ran dry, UV_ECANCELED after uvcrawl_stop(). Runs once, after
 * every on_result. */
typedef void (*uvcrawl_done_cb)(uvcrawl_t *crawler, int status);
typedef void (*uvcrawl_close_cb)(uvcrawl_t *crawler);

/* Creates a crawler on a loop the caller owns. *out is owned by the library and freed by
 * uvcrawl_close(). */
UVCRAWL_EXTERN int uvcrawl_create(uv_loop_t *loop, const uvcrawl_options_t *opts,
                                  uvcrawl_t **out);
UVCRAWL_EXTERN void uvcrawl_set_data(uvcrawl_t *crawler, void *data);
UVCRAWL_EXTERN void *uvcrawl_get_data(const uvcrawl_t *crawler);

/* Adds a seed (copied). Its scheme+host+port joins the crawl's scope. When resuming, the
 * journal's seeds are already in; adding them again is harmless. */
UVCRAWL_EXTERN int uvcrawl_add_seed(uvcrawl_t *crawler, const char *url);

/* Starts fetching; on_result runs once per fetched URL, on_done once at the end. */
UVCRAWL_EXTERN int uvcrawl_start(uvcrawl_t *crawler, uvcrawl_result_cb on_result,
                                 uvcrawl_done_cb on_done);

/* Graceful stop: no new requests; transfers in flight are aborted; pending records are
 * written and delivered; then on_done(UV_ECANCELED) (or on_done(0) when the crawl was
 * already ending). From a callback it takes effect when that returns. Idempotent; returns 0,
 * or UVCRAWL_ESTATE before uvcrawl_start(). */
UVCRAWL_EXTERN int uvcrawl_stop(uvcrawl_t *crawler);

/* Releases every handle and the crawler itself; close_cb (may be NULL) runs when the last handle
 * is closed, always from the loop (never before uvcrawl_close() returns). Stops first if still
 * running (on_done is not called then, nor on_result again). From on_result or on_done it
 * takes effect when the callback returns. Idempotent: a second call changes nothing (its
 * close_cb is not used). */
UVCRAWL_EXTERN void uvcrawl_close(uvcrawl_t *crawler, uvcrawl_close_cb close_cb);

/* With options.check: after on_done and before uvcrawl_close(), calls cb for every broken URL
 * with all its referrers. Returns how many, or a negative error (UVCRAWL_ESTATE without check). */
UVCRAWL_EXTERN int uvcrawl_foreach_broken(uvcrawl_t *crawler, uvcrawl_broken_cb cb, void *arg);

UVCRAWL_EXTERN void uvcrawl_get_stats(const uvcrawl_t *crawler, uvcrawl_stats_t *stats);

/* The classic design, kept for comparison (`uvcrawl --engine threads`): `threads` workers each
 * take a URL from a shared frontier (mutex + condition variable), fetch it with a blocking
 * curl_easy_perform on a per-thread easy handle, then hash, parse and write its record in that
 * same thread. No event loop. Blocks the calling thread until the crawl ends. seeds are
 * borrowed. on_result may be NULL; it runs on the worker threads, not the caller's, one at a
 * time (under the lock that guards the output: it needs no locking of its own, but every
 * worker that finishes a URL waits while it runs), with crawler NULL, so there is nothing to
 * stop or close from it; the result's pointers are borrowed for the call. It must not call
 * back into uvcrawl_run_threads(). stats (may be NULL) gets the totals. Returns 0 or a negative error code (a bad seed gives UVCRAWL_EURL/ESCHEME). */
UVCRAWL_EXTERN int uvcrawl_run_threads(const uvcrawl_options_t *opts, const char *const *seeds,
                                       size_t nseeds, unsigned threads,
                                       uvcrawl_result_cb on_result, uvcrawl_stats_t *stats);

/* Library version, e.g. "0.1.0"; static storage. */
UVCRAWL_EXTERN const char *uvcrawl_version(void);

#ifdef __cplusplus
}
#endif
#endif /* UVCRAWL_H */
