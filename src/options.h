/* The crawl's options inside the library: the struct behind the public, opaque
 * uvcrawl_options_t, filled by the typed setters (options.c) from include/uvcrawl.h's
 * UVCRAWL_OPTION_MAP. Library code reads the fields directly.
 *
 * Adding an option: a line in UVCRAWL_OPTION_MAP (name, a new number: a reused one does not
 * compile; type, field, default, check) and its field here. INT options take any integer type
 * the range fits, BOOL an int, STR a const char *, STRV a const char *const *. Checks:
 * RANGE(lo, hi) for INT; ANY, LINE (no CR or LF), SCOPE, ACCEPT for STR; ANY, REGEX, HEADER
 * for STRV (options.c; a new check is a check_str_NAME or check_strv_NAME function there).
 * Pure: no libuv handle, no curl. */
#ifndef UVCRAWL_OPTIONS_H
#define UVCRAWL_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "uvcrawl.h"

/* Strings and lists are owned by the struct (uvcrawl__options_copy/_clear). */
struct uvcrawl_options_s {
  unsigned max_inflight;     /* requests in flight at once (clamped to RLIMIT_NOFILE) */
  int max_depth;             /* -1: unlimited; seeds are depth 0 */
  uint64_t max_pages;        /* 0: unlimited; counts fetched URLs */
  uint64_t max_body;         /* bytes kept per body; larger transfers fail (UVCRAWL_ETOOBIG) */
  uint64_t max_buffer;       /* bytes of bodies waiting for the pool before admission stops */
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
  unsigned sync_interval_ms; /* fdatasync the journal at most this far apart */
  /* Politeness and robustness. */
  unsigned per_host;         /* requests in flight per host (0: only max_inflight caps) */
  unsigned delay_ms;         /* least gap between request starts on one host */
  int random_delay;          /* each gap is 0.5x..1.5x of delay_ms */
  int ignore_robots;         /* do not fetch or obey robots.txt */
  unsigned retries;          /* extra attempts for timeouts, connection failures, 5xx, 408, 429 */
  unsigned max_retry_after_ms; /* longest Retry-After obeyed */
  long low_speed_bytes;      /* abort a transfer slower than this many bytes/s ... */
  long low_speed_secs;       /* ... for this long (0: off) */
  unsigned max_url_len;      /* longer links are skipped */
  unsigned max_links;        /* links taken from one page */
  uint64_t max_parse;        /* HTML bytes gumbo parses per page (it needs ~700 bytes of
                                memory per element, so this bounds a hostile page's cost) */
  unsigned max_redirects;    /* length of a redirect chain followed */
  const char *const *include; /* POSIX extended regexes: crawl only URLs matching one */
  const char *const *exclude; /* ... and none of these */
  const char *scope;         /* "host" (NULL), "domain", "prefix", "all" */
  int sitemaps;              /* also fetch /sitemap.xml and robots.txt's Sitemap: lines */
  const char *accept;        /* statuses that are fine; NULL: 200..299 */
  int http_version;          /* 0: libcurl's default; 1: HTTP/1.1 only; 2: HTTP/2 always */
  const char *cacert;        /* PEM file of CA certificates; NULL: the system's */
  int insecure;              /* do not verify the server's certificate or name (TLS) */
  const char *const *headers; /* "Name: value" lines (curl's "Name:" and "Name;" too) */
  const char *userpwd;       /* "user:password" for HTTP basic auth to the seeds' origins */
  int netrc;                 /* take credentials from ~/.netrc for the hosts it lists */
  const char *cookie_load;   /* Netscape cookie file read into the jar before the crawl */
  const char *cookie_save;   /* the jar written here when the crawl is done */
  const char *proxy;         /* NULL: libcurl's environment variables; "": none at all */
  int parser;                /* UVCRAWL_PARSER_FAST or UVCRAWL_PARSER_GUMBO */
  unsigned pool_threads;     /* threads in the libuv pool (what UV_THREADPOOL_SIZE set):
                                the crawler hands it at most this many batches at once */
};

/* Every option at its default (o's previous contents are not freed). */
void uvcrawl__options_defaults(uvcrawl_options_t *o);
/* A deep copy of src into dst (dst's previous contents are not freed). On failure dst holds
 * defaults. Returns 0 or UV_ENOMEM. */
int uvcrawl__options_copy(uvcrawl_options_t *dst, const uvcrawl_options_t *src);
/* Frees o's strings and lists and puts every option back to its default. */
void uvcrawl__options_clear(uvcrawl_options_t *o);

/* Validators, shared with the code that uses the values. */
#define UVCRAWL__MAX_ACCEPT 32
/* Parses "200..299,403" into ranges[0..*n). Returns 0 or UVCRAWL_EACCEPT. */
int uvcrawl__accept_parse(const char *spec, long ranges[UVCRAWL__MAX_ACCEPT][2], size_t *n);
/* The index of a scope name in "host", "domain", "prefix", "all" (NULL: "host"), or
 * UVCRAWL_ESCOPE. */
int uvcrawl__scope_parse(const char *name);
/* 1 when line is a header line curl takes ("Name: value", "Name:", "Name;"), no CR or LF. */
int uvcrawl__header_ok(const char *line);

#endif
