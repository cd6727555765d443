/* Internal interfaces between uvcrawl's modules (uvcrawl__ names: not exported). */
#ifndef UVCRAWL_INT_H
#define UVCRAWL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "options.h"
#include "uvcrawl.h"

#define UVCRAWL_CONTAINER_OF(ptr, type, field) \
  ((type *)((char *)(ptr) - offsetof(type, field)))

/* ---- url.c: pure, libcurl's URL API only ---------------------------------------------- */

/* Resolves ref against base (base may be NULL when ref is absolute) and normalizes the result:
 * surrounding whitespace and embedded tab/CR/LF stripped from ref (as browsers do), fragment
 * dropped, scheme and host lower-cased, default port removed, dot segments removed, empty path
 * made "/", unsafe characters percent-encoded. Only http and https are accepted.
 * On success *out is a malloc'd string the caller frees. Returns 0, UVCRAWL_EURL,
 * UVCRAWL_ESCHEME or UV_ENOMEM. */
int uvcrawl__url_resolve(const char *base, const char *ref, char **out);

/* A base URL parsed once, for many uvcrawl__url_resolve(base, ref) calls: curl copies the
 * parsed handle for each ref instead of parsing base again. uvcrawl__url_base_new returns 0,
 * or what uvcrawl__url_resolve would fail with for any ref (UVCRAWL_EURL, UVCRAWL_ESCHEME,
 * UV_ENOMEM); *out is the caller's, freed with uvcrawl__url_base_free (NULL is fine).
 * uvcrawl__url_resolve_base(b, ref, out) is uvcrawl__url_resolve(base, ref, out). */
typedef struct uvcrawl__urlbase_s uvcrawl__urlbase_t;
int uvcrawl__url_base_new(const char *base, uvcrawl__urlbase_t **out);
int uvcrawl__url_resolve_base(const uvcrawl__urlbase_t *b, const char *ref, char **out);
void uvcrawl__url_base_free(uvcrawl__urlbase_t *b);

/* 1 when a normalized URL looks like a spider trap: a path segment that repeats more than 3
 * times, or more than 64 segments. Pure. */
int uvcrawl__url_is_trap(const char *url);

/* The scope key of a normalized URL: "scheme://host:port" with the port always spelled out
 * (e.g. "http://example.com:80"). *out is malloc'd, the caller frees it. Returns 0 or an error
 * as above. */
int uvcrawl__url_origin(const char *url, char **out);

/* 1 when url, a normalized URL (uvcrawl__url_resolve's output), has one of the origin keys
 * origins[0..n) (n == 0: every URL). Reads the string, since normalized means curl already
 * wrote it in one spelling; falls back to uvcrawl__url_origin() for userinfo, IP literals and
 * escapes in the authority. Same answer as uvcrawl__in_scope() for such URLs. */
int uvcrawl__url_has_origin(const char *url, const char *const *origins, size_t n);

/* Pre-filters for a page's raw refs, so curl sees fewer of them. Both are exact, never a
 * guess: 1 from uvcrawl__url_surely_skipped() means uvcrawl__url_resolve() fails for ref with
 * any base (a javascript:, mailto:, data: or tel: reference); 1 from uvcrawl__url_is_self()
 * means ref is empty or a fragment only, so it resolves to the base itself and its result
 * depends only on the base and on whether ref contains '%'. */
int uvcrawl__url_surely_skipped(const char *ref);
int uvcrawl__url_is_self(const char *ref);

/* ---- extract.c: pure, gumbo only -------------------------------------------------------- */

/* What a link is for. A requisite is what a browser fetches to show the page that holds it:
 * img/source src and srcset, script src, iframe/embed src, audio/video/track src, video poster,
 * object data, input type=image src, link href when rel lists stylesheet, icon,
 * apple-touch-icon(-precomposed), manifest, preload or modulepreload, and every url() and
 * @import of CSS (style sheets, <style>, style=""). Everything else (a/area href, other
 * link rels, meta refresh) is a plain link. */
enum { UVCRAWL__REF_LINK = 0, UVCRAWL__REF_REQUISITE = 1 };

typedef struct {
  char **refs;  /* raw attribute values, whitespace-trimmed, in document order; owned */
  unsigned char *kinds; /* kinds[i]: UVCRAWL__REF_* of refs[i]; owned */
  size_t n;
  size_t cap;
  char *base;   /* value of the first <base href>, or NULL; owned */
} uvcrawl__links_t;

/* Collects the link references of an HTML document (bytes borrowed, need not be
 * NUL-terminated): a/area/link href, img/script/iframe/source/embed src, every img/source
 * srcset candidate URL, video poster, audio/video/track src, object data, input type=image
 * src, the URL of <meta http-equiv=refresh content="N; url=...">, the url()s and @imports of
 * <style> contents and of style attributes, and the first HTML <base href> (not in svg, math
 * or template). The new kinds (and <style>) are HTML elements only; style="" counts on every
 * element. At most
 * max_links refs are kept (0: no limit). Empty values are skipped. out must be zeroed (or
 * freshly freed) by the caller; on return it owns its strings: free with
 * uvcrawl__links_free(). Returns 0 or UV_ENOMEM.
 * uvcrawl__extract_links: the fast scanner, gumbo (whole body) where it bails out.
 * uvcrawl__extract_links_gumbo: gumbo alone, the reference (refs in tree order). */
int uvcrawl__extract_links(const char *html, size_t len, size_t max_links,
                           uvcrawl__links_t *out);
int uvcrawl__extract_links_gumbo(const char *html, size_t len, size_t max_links,
                                 uvcrawl__links_t *out);

typedef struct {
  int parser;          /* in: UVCRAWL_PARSER_FAST (gumbo where it bails out) or _GUMBO */
  size_t max_links;    /* in: 0 = no cap */
  size_t max_parse;    /* in: gumbo parses at most this many bytes (0 = all); the fast path
                          always scans everything (it needs O(1) memory) */
  int fast;            /* out: the fast path gave the links */
  int bailed;          /* out: the fast path bailed out, gumbo gave them */
  int reason;          /* out: why (htmlscan.h) */
  int capped;          /* out: gumbo saw only max_parse bytes */
} uvcrawl__extract_t;
/* Same contract as uvcrawl__extract_links, with the choices and outcome in x. */
int uvcrawl__extract(const char *html, size_t len, uvcrawl__extract_t *x, uvcrawl__links_t *out);
/* Appends ref (ownership passes, freed on failure) as a plain link, or with its kind.
 * Returns 0 or UV_ENOMEM. */
int uvcrawl__links_push(uvcrawl__links_t *out, char *ref);
int uvcrawl__links_push_kind(uvcrawl__links_t *out, char *ref, int kind);
/* The url()s and @imports of a stylesheet (css.h) appended to out as requisites, at most
 * max_links in all (0: no cap; *full set when one was left out). Returns 0 or UV_ENOMEM. */
int uvcrawl__links_add_css(uvcrawl__links_t *out, const char *css, size_t len, size_t max_links,
                           int *full);
void uvcrawl__links_free(uvcrawl__links_t *links);

/* ---- frontier.c: pure, no I/O --------------------------------------------------------- */

typedef struct uvcrawl__frontier_s uvcrawl__frontier_t;

#include "robots.h"
#include "sitemap.h"

/* Strings in an item are interned: owned by the frontier, valid until uvcrawl__frontier_free(). */
typedef struct {
  const char *url;
  const char *referrer; /* NULL for seeds */
  int depth;
  uint32_t host;        /* the frontier's index of the URL's host */
  uint32_t token;       /* shared frontier (frontier.h): the lease's fencing token, 0: none */
  uint16_t attempts;    /* fetches before this one (retries) */
  uint8_t disallowed;   /* set by uvcrawl__frontier_next: robots.txt forbids it */
  uint8_t lease_gen;    /* shared frontier: which of the worker's identities holds the lease */
} uvcrawl__item_t;

/* Returns a new, empty frontier or NULL when out of memory. */
uvcrawl__frontier_t *uvcrawl__frontier_new(void);
void uvcrawl__frontier_free(uvcrawl__frontier_t *f);

/* Politeness: at most per_host requests at once per host (0: no cap), request starts on one
 * host at least delay_ms apart (random_delay: 0.5x to 1.5x of it), and with robots each host
 * waits until uvcrawl__frontier_set_robots() was called for it. Call before adding URLs. */
void uvcrawl__frontier_set_policy(uvcrawl__frontier_t *f, unsigned per_host, uint32_t delay_ms,
                                  int random_delay, int robots);

/* Marks url seen and queues it on its host (FIFO) if it was not seen before. url and referrer
 * are copied (interned once). Returns 1 when queued, 0 when already seen, UVCRAWL_EURL or
 * UV_ENOMEM. */
int uvcrawl__frontier_add(uvcrawl__frontier_t *f, const char *url, const char *referrer,
                          int depth);
/* Interns url and marks it seen without queueing it. *interned (may be NULL) gets the
 * frontier's copy. Returns 1 when new, 0 when seen before, UV_ENOMEM. */
int uvcrawl__frontier_mark(uvcrawl__frontier_t *f, const char *url, const char **interned);
/* Finds a seen URL: *interned gets the frontier's copy, *state a word the owner may use for
 * it (0 until set). Both outputs may be NULL. Returns 1 when seen, 0 when not. */
int uvcrawl__frontier_lookup(uvcrawl__frontier_t *f, const char *url, const char **interned,
                             uint32_t **state);
/* Pops the next queued URL of any host, round-robin, ignoring politeness (the threads engine).
 * Returns 1, or 0 when empty. */
int uvcrawl__frontier_pop(uvcrawl__frontier_t *f, uvcrawl__item_t *item);
/* Polite pop: the next URL of a host that may start a request at now_ns (round-robin over
 * hosts, so one slow host never starves the others). The host's slot is taken until
 * uvcrawl__frontier_done(), unless item->disallowed (robots.txt forbids the URL: report it, no
 * slot taken). Returns 1; or 0 with *wake_ns the earliest time a host becomes ready (0: none
 * waits on time). */
int uvcrawl__frontier_next(uvcrawl__frontier_t *f, uint64_t now_ns, uvcrawl__item_t *item,
                           uint64_t *wake_ns);
/* The request for item ended: frees its host slot. throttle_ms > 0 (a 429/503, or Retry-After)
 * pushes the host's next start out and raises its delay; 0 lets a raised delay decay. */
void uvcrawl__frontier_done(uvcrawl__frontier_t *f, const uvcrawl__item_t *item, uint64_t now_ns,
                            uint32_t throttle_ms);
/* Queues item again at the head of its host, not to start before not_before_ns. 0 or
 * UV_ENOMEM. */
int uvcrawl__frontier_retry(uvcrawl__frontier_t *f, const uvcrawl__item_t *item,
                            uint64_t not_before_ns);
/* An origin whose robots.txt must be fetched before its URLs (marked as being fetched), or
 * NULL. The string is the frontier's. */
const char *uvcrawl__frontier_robots_needed(uvcrawl__frontier_t *f);
/* The robots.txt fetch for origin could not start (no fd): hand it out again later. */
void uvcrawl__frontier_robots_again(uvcrawl__frontier_t *f, const char *origin);
/* Hands the origin's robots rules to the frontier (ownership passes; NULL: no rules) and
 * releases its URLs; the rules' Crawl-delay raises the host's delay. */
void uvcrawl__frontier_set_robots(uvcrawl__frontier_t *f, const char *origin,
                                  uvcrawl__robots_t *robots);
size_t uvcrawl__frontier_queued(const uvcrawl__frontier_t *f);
size_t uvcrawl__frontier_seen(const uvcrawl__frontier_t *f);
/* Bytes the frontier holds (arena, table, queue), for memory reports. */
size_t uvcrawl__frontier_memory(const uvcrawl__frontier_t *f);

/* ---- transfer.c: the options every request gets, in both engines --------------------- */

#include <curl/curl.h>

struct uvcrawl__http_s; /* http.h */

/* Sets url, the body callback (with arg), errbuf (CURL_ERROR_SIZE bytes, borrowed until the
 * transfer ends), timeouts, caps and protocol limits from o, and http's headers,
 * credentials, proxy and cookie jar (http may be NULL). */
void uvcrawl__easy_setup(CURL *e, const uvcrawl_options_t *o, const char *user_agent,
                         const char *url, curl_write_callback on_body, void *arg,
                         char *errbuf, const struct uvcrawl__http_s *http);

/* The name of a CURLcode as curl's header spells it ("CURLE_OPERATION_TIMEDOUT"), for
 * records' error_name; "CURLE_UNKNOWN" for a code this build does not know. Static. */
const char *uvcrawl__curl_code_name(int code);

/* The HTTP version of e's last response, as records spell it ("1.0", "1.1", "2", "3"), or
 * NULL when there was none. Static storage. */
const char *uvcrawl__http_version(CURL *e);

/* How many of `wanted` transfers (each holding fds_each fds) fit in RLIMIT_NOFILE beside the
 * fds open now and a reserve, at least 1: neither engine can then run out of fds. */
unsigned uvcrawl__fd_room(unsigned wanted, unsigned fds_each);

/* ---- engine_loop.c: libcurl's multi socket API driven by uv_poll_t + uv_timer_t -------- */


typedef struct uvcrawl__engine_s uvcrawl__engine_t;

/* Runs on the loop when a transfer ends; the easy handle has already been removed from the
 * multi and belongs to the caller again. */
typedef void (*uvcrawl__engine_done_cb)(void *arg, CURL *easy, CURLcode code);
typedef void (*uvcrawl__engine_close_cb)(void *arg);
/* Runs on the loop when transfers may be added again after uvcrawl__engine_may_add said no. */
typedef void (*uvcrawl__engine_admit_cb)(void *arg);

/* Creates an engine on a borrowed loop. max_connections bounds the sockets libcurl keeps open,
 * idle cache included; admit_cb may be NULL. *out is owned by the engine; release it with
 * uvcrawl__engine_close(). Returns 0, UVCRAWL_ECURL or UV_ENOMEM. */
int uvcrawl__engine_new(uv_loop_t *loop, unsigned max_connections, uvcrawl__engine_done_cb cb,
                        uvcrawl__engine_admit_cb admit_cb, void *arg, uvcrawl__engine_t **out);
/* Whether to add a transfer now: a few per round of curl's timer, since curl starts all new
 * ones at once there. After a no, admit_cb runs when more may be added. */
int uvcrawl__engine_may_add(uvcrawl__engine_t *e);
/* Starts a transfer; the easy handle stays the caller's but must not be touched until the done
 * callback. Returns 0 or UVCRAWL_ECURL. */
int uvcrawl__engine_add(uvcrawl__engine_t *e, CURL *easy);
/* Aborts a transfer started with uvcrawl__engine_add(); no done callback for it. */
void uvcrawl__engine_remove(uvcrawl__engine_t *e, CURL *easy);
/* Sockets libcurl holds now, and the most it ever held. */
unsigned uvcrawl__engine_sockets(const uvcrawl__engine_t *e, unsigned *max);
/* uv_poll_t set up so far: one per socket, kept across the transfers of a connection. */
uint64_t uvcrawl__engine_polls(const uvcrawl__engine_t *e);
/* Tears the multi handle down (every transfer must have been removed), closes every uv handle
 * and frees e; cb(arg) runs once the last handle is closed. Never from inside a done callback. */
void uvcrawl__engine_close(uvcrawl__engine_t *e, uvcrawl__engine_close_cb cb, void *arg);

/* ---- jobs.c: work for the libuv thread pool (hash, parse, resolve) --------------------- */

typedef struct uvcrawl__job_s uvcrawl__job_t;
/* Resolved refs kept across pages, by (base directory, ref): for one thread at a time. */
typedef struct uvcrawl__urlcache_s uvcrawl__urlcache_t;
/* NULL when out of memory; free with uvcrawl__urlcache_free() (NULL is fine). */
uvcrawl__urlcache_t *uvcrawl__urlcache_new(void);
void uvcrawl__urlcache_free(uvcrawl__urlcache_t *cache);
/* Lookups answered from the cache, and those that went to curl. */
void uvcrawl__urlcache_counts(const uvcrawl__urlcache_t *cache, uint64_t *hits, uint64_t *misses);
typedef void (*uvcrawl__job_cb)(uvcrawl__job_t *job);
typedef struct uvcrawl__pool_s uvcrawl__pool_t;

/* Embed in the owner's struct (recover it with UVCRAWL_CONTAINER_OF); the worker touches only
 * this struct. */
struct uvcrawl__job_s {
  uvcrawl__job_t *next; /* the pool's: its queue and batches */
  const char *body;     /* in, borrowed until cb */
  size_t len;
  const char *url;      /* in, borrowed: the page URL links resolve against */
  int parse;            /* in: extract links (the body is HTML) */
  int css;              /* in: the body is a stylesheet: its url()s and @imports are the links */
  int keep_requisites;  /* in: out-of-scope requisites go to foreign[] too (--page-requisites) */
  const char *content_type; /* in, borrowed, may be NULL: with adjust_ext, names the file */
  int adjust_ext;       /* in: save text/html as .html and text/css as .css (store.c) */
  size_t max_links;     /* in: 0 = no cap */
  size_t max_parse;     /* in: gumbo parses at most this many bytes (0 = all) */
  int parse_capped;     /* out: gumbo parsed and the body was longer than max_parse */
  int parser;           /* in: UVCRAWL_PARSER_FAST or _GUMBO */
  int parse_fast;       /* out: the fast scanner gave the links */
  int parse_bailed;     /* out: it bailed out and gumbo gave them */
  const char *const *origins; /* in, borrowed: keep only links whose origin is listed */
  size_t norigins;            /* 0: keep every link */
  int keep_foreign;           /* in: out-of-scope links go to foreign[] instead of away */
  const char *robots_agent;   /* in: the body is a robots.txt: parse it for this agent */
  int sitemap;                /* in: the body is a sitemap: its <loc>s are the links */
  int sitemap_index;          /* out: it was a sitemap index (its links are sitemaps) */
  uvcrawl__robots_t *robots;  /* out: its rules (owned by whoever takes them) */
  int mirror_fd;        /* in: mirror root directory fd, or -1: do not save */
  int do_fsync;         /* in: fsync each mirrored file */
  char md5[33];         /* out: lower-case hex, "" when len == 0 */
  int mirror_err;       /* out: 0, or a negative errno from saving the body */
  char **links;         /* out: resolved, normalized http(s) URLs; owned, uvcrawl__job_cleanup() */
  size_t nlinks;
  char **foreign;       /* out: out-of-scope links when keep_foreign; owned likewise */
  size_t nforeign;
  unsigned char *link_kinds, *foreign_kinds; /* out: UVCRAWL__REF_* of each (a requisite when
                                              * any ref to the URL is one); owned likewise */
  uvcrawl__urlcache_t *url_cache; /* in, borrowed, may be NULL: the pool sets its slot's */
  size_t ngiven;        /* out: links kept in links[] or foreign[], each repeat of a ref counted
                         * (those arrays hold each link once): the record's "links" */
  int status;           /* out: 0, UV_ECANCELED or UV_ENOMEM */
  struct uvcrawl__warcrec_s *warc; /* in, borrowed, may be NULL: the WARC capture of the
                         * transfer (warcout.h): its records are built first, then the body,
                         * kept in its content coding, is decoded for everything else */
  size_t max_decoded;   /* in: a decoded body may not pass this (0: no cap) */
  char *decoded;        /* out: the decoded body (owned; body and len then point at it) */
  int decode_err;       /* out: 0, or why the body could not be decoded (decode.h) */
  void (*work)(uvcrawl__job_t *job); /* in, may be NULL: run this instead of the page work
                         * (the WARC writer's jobs) */
  uvcrawl__job_cb cb;
};

/* The crawler's way into the libuv thread pool: jobs run in batches, one batch per pool thread
 * at most (threads: the pool's size, what UV_THREADPOOL_SIZE set; 1..1024). *out is owned by
 * the caller: uvcrawl__pool_free() once no job is queued or running (it holds no handle).
 * Returns 0 or UV_ENOMEM. */
int uvcrawl__pool_new(uv_loop_t *loop, unsigned threads, uvcrawl__pool_t **out);
void uvcrawl__pool_free(uvcrawl__pool_t *pool);
/* Jobs submitted and batches run so far. */
void uvcrawl__pool_counts(const uvcrawl__pool_t *pool, uint64_t *jobs, uint64_t *batches);
/* Queues the job (borrowed until cb); cb runs on the loop thread when it is done, with
 * job->status UV_ECANCELED if the pool never ran it. Never calls cb from inside this call. */
void uvcrawl__job_submit(uvcrawl__pool_t *pool, uvcrawl__job_t *job, uvcrawl__job_cb cb);
/* Frees the job's outputs (not the job itself). */
void uvcrawl__job_cleanup(uvcrawl__job_t *job);
/* Hashes, extracts and resolves synchronously on the calling thread; what the worker runs. */
void uvcrawl__job_run(uvcrawl__job_t *job);
/* Resolves found's refs against job->url (or found's <base href>) into job->links/foreign and
 * job->ngiven, filtered by job->origins, what uvcrawl__job_run() does after extraction.
 * fast = 1 (what the crawl uses): each distinct ref once, in document order of first
 * occurrence, pre-filters before curl, scope read from the normalized string, results kept in
 * job->url_cache across pages when it is set. fast = 0: every
 * ref through uvcrawl__url_resolve() and uvcrawl__in_scope(), the reference the tests and
 * bench/urlbench compare against (same links, each once, same ngiven). The job's outputs must
 * be empty; uvcrawl__job_cleanup() frees them. Returns 0 or UV_ENOMEM. */
int uvcrawl__job_resolve_links(uvcrawl__job_t *job, const uvcrawl__links_t *found, int fast);

/* --convert-links on the pool: files [0, nfiles) of a frozen map (convert.h), a few
 * uv_work_t at a time; *done and *errors (the caller's, e.g. its stats) count files as they
 * finish, on the loop; cb(arg) runs on the loop after the last. *out is the caller's to
 * free with uvcrawl__converter_free() after cb. Returns 0, or UV_EOF when there is nothing
 * to convert (cb never runs) or UV_ENOMEM. */
struct uvcrawl__convert_s;
typedef struct uvcrawl__converter_s uvcrawl__converter_t;
typedef void (*uvcrawl__convert_done_cb)(void *arg);
int uvcrawl__convert_start(uv_loop_t *loop, const struct uvcrawl__convert_s *cv, size_t nfiles,
                           int root_fd, int do_fsync, uint64_t *done, uint64_t *errors,
                           uvcrawl__convert_done_cb cb, void *arg, uvcrawl__converter_t **out);
void uvcrawl__converter_free(uvcrawl__converter_t *k);

/* Lower-case hex md5 of data into hex (33 bytes). Returns 0 or UV_ENOMEM. */
int uvcrawl__md5_hex(const char *data, size_t len, char hex[33]);

/* Crawl policy shared by both engines (pure). */
/* 1 when url's origin is one of origins[0..n) (n == 0: every URL is in scope). */
int uvcrawl__in_scope(const char *url, const char *const *origins, size_t n);
/* 1 when a response's body should be parsed for links. */
int uvcrawl__should_parse(long status, const char *content_type, int depth, int max_depth);
/* 1 when content_type (may be NULL) is text/css, or text/html / application/xhtml+xml. */
int uvcrawl__is_css(const char *content_type);
int uvcrawl__is_html(const char *content_type);

/* Test builds: the thread each hash/parse ran on, so a test can prove it was never the loop's.
 * Hook may be NULL; it is called from worker threads. */
typedef void (*uvcrawl__thread_probe_cb)(const char *what);
extern uvcrawl__thread_probe_cb uvcrawl__thread_probe;

/* ---- store.c: the mirror on disk ---------------------------------------------------- */

/* The path under the mirror root for url: "host[:port]/seg/.../name", each name decoded then
 * made safe ('/', '\\', '%', controls encoded; "." and ".." encoded; > 255 bytes shortened
 * with a digest), "index.html" for a URL ending in "/", "?query" kept in the name.
 * *out is malloc'd, the caller frees. Returns 0, UVCRAWL_EURL or UV_ENOMEM. Pure. */
int uvcrawl__store_path(const char *url, char **out);
/* The file a URL is saved as: uvcrawl__store_path(), and with adjust (--adjust-extension)
 * ".html" appended for an HTML content type whose name does not end in .html or .htm
 * (ASCII case-insensitively), ".css" for text/css not ending in .css. Same ownership. */
int uvcrawl__store_path_ext(const char *url, const char *content_type, int adjust, char **out);
/* Writes body to relpath under root_fd: directories by mkdirat/openat(O_NOFOLLOW), the file
 * to a temporary name then renamed into place. Blocking: thread pool only. Returns 0 or a
 * negative errno. */
int uvcrawl__store_write(int root_fd, const char *relpath, const char *body, size_t len,
                         int do_fsync);
/* mkdir -p dir and open it; *fd is the caller's to close. Returns 0 or a negative errno. */
int uvcrawl__store_open_root(const char *dir, int *fd);
/* write(2) until all n bytes are out (EINTR retried). Blocking: thread pool or CLI only.
 * Returns 0 or a negative errno. */
int uvcrawl__write_all(int fd, const char *p, size_t n);
#include "testhooks.h" /* uvcrawl__test_write_delay(): a slow disk */

/* ---- links.c: who links each broken URL (pure) ----------------------------------------- */

typedef struct uvcrawl__linkgraph_s uvcrawl__linkgraph_t;
/* 1 when url (interned) is known to be good: its edges can be forgotten. */
typedef int (*uvcrawl__is_good_cb)(void *arg, const char *url);

uvcrawl__linkgraph_t *uvcrawl__linkgraph_new(uvcrawl__is_good_cb is_good, void *arg);
void uvcrawl__linkgraph_free(uvcrawl__linkgraph_t *g);
/* Notes that page from links to; both must stay valid (the frontier's interned strings). */
int uvcrawl__linkgraph_add(uvcrawl__linkgraph_t *g, const char *from, const char *to);
/* Remembers a broken URL (interned); error is copied. */
int uvcrawl__linkgraph_broken(uvcrawl__linkgraph_t *g, const char *url, long status,
                              const char *error, int external);
/* Calls cb for each broken URL, sorted, with its distinct referrers sorted. Returns how many
 * or UV_ENOMEM. */
typedef void (*uvcrawl__broken_cb)(void *arg, const uvcrawl_broken_t *broken);
int uvcrawl__linkgraph_foreach(uvcrawl__linkgraph_t *g, uvcrawl__broken_cb cb, void *arg);

/* ---- journal.c: what was discovered and completed, for --resume (pure) ----------------- */

#define UVCRAWL__JOURNAL_MAGIC "uvcrawl journal 1\n"

/* Append one framed record to a growable buffer. Return 0, UV_E2BIG or UV_ENOMEM. */
int uvcrawl__journal_discovered(char **b, size_t *len, size_t *cap, char type, const char *url,
                                const char *referrer, int depth);
int uvcrawl__journal_completed(char **b, size_t *len, size_t *cap, const char *url,
                               const char *line, size_t line_len);
/* type 'D' (or 'S': a sitemap): url, ref (NULL for a seed), depth. type 'C': url, ref = the JSON line of line_len
 * bytes (not NUL-terminated). Strings are borrowed from the journal image. Nonzero stops. */
typedef int (*uvcrawl__journal_cb)(void *arg, int type, const char *url, const char *ref,
                                   size_t line_len, int depth);
/* Replays a journal image (magic included) record by record; stops at the first torn or
 * corrupt record. Returns the length of the valid prefix (0: not a journal). */
size_t uvcrawl__journal_replay(const char *data, size_t len, uvcrawl__journal_cb cb, void *arg);

/* ---- lag.c: a histogram of loop lag (pure) -------------------------------------------- */

#define UVCRAWL__HIST_BUCKETS 2000
typedef struct {
  uint32_t buckets[UVCRAWL__HIST_BUCKETS]; /* 10 us wide below 10 ms, 1 ms wide above */
  uint64_t count;
  uint64_t max_us;
  struct {
    uint64_t at_ns, us;
  } worst[UVCRAWL_LAG_WORST]; /* the largest samples, in no order */
} uvcrawl__hist_t;

/* Records a sample of us microseconds that ended at at_ns (uv_hrtime()). */
void uvcrawl__hist_add(uvcrawl__hist_t *h, uint64_t us, uint64_t at_ns);
/* Records n samples of 0 us (ticks an idle loop would have answered on time). */
void uvcrawl__hist_add_idle(uvcrawl__hist_t *h, uint64_t n);
/* Copies the worst samples into out, worst first; returns how many there are. */
unsigned uvcrawl__hist_worst(const uvcrawl__hist_t *h, uint64_t at_ns[UVCRAWL_LAG_WORST],
                             uint64_t us[UVCRAWL_LAG_WORST]);
/* The q-quantile (0..1) in ms, bucket upper bound; 0 when empty. */
double uvcrawl__hist_quantile_ms(const uvcrawl__hist_t *h, double q);

/* ---- output.c: ordered append-only files through libuv fs requests --------------------- */

typedef struct uvcrawl__output_s uvcrawl__output_t;
typedef void (*uvcrawl__output_cb)(void *arg, int status);

/* Opens path ("-" = stdout), truncating it or appending to it, with an fdatasync at most
 * sync_ms apart while writing (0: never). Called before the crawl starts (the open itself is
 * synchronous). *out is owned; release it with uvcrawl__output_close(). */
int uvcrawl__output_open(uv_loop_t *loop, const char *path, int append, unsigned sync_ms,
                         uvcrawl__output_t **out);
/* Queues bytes (copied); full buffers are written in the background, in order. Returns 0 or
 * UV_ENOMEM; a write error is kept and reported by flush. */
int uvcrawl__output_append(uvcrawl__output_t *o, const void *data, size_t len);
/* cb(arg, status) runs once everything recorded so far is written (status: first write error). */
void uvcrawl__output_flush(uvcrawl__output_t *o, uvcrawl__output_cb cb, void *arg);
/* Closes the file and frees o at once, nothing written: the failure path of a setup. */
void uvcrawl__output_discard(uvcrawl__output_t *o);
/* Flushes, closes the file and frees o; cb may be NULL. */
void uvcrawl__output_close(uvcrawl__output_t *o, uvcrawl__output_cb cb, void *arg);
/* A growable byte buffer (*data, *len, *cap): reserve room for more, or append n bytes.
 * Return 0 or UV_ENOMEM. */
int uvcrawl__buf_reserve(char **data, size_t *len, size_t *cap, size_t more);
int uvcrawl__buf_add(char **data, size_t *len, size_t *cap, const void *s, size_t n);
/* Appends n bytes to a response body that may not grow past max bytes (doubling from 16 KiB).
 * *grown gets how much the capacity grew, for memory accounting. Returns 0, UVCRAWL_ETOOBIG
 * (nothing appended) or UV_ENOMEM. */
int uvcrawl__body_append(char **buf, size_t *len, size_t *cap, const char *p, size_t n,
                         uint64_t max, size_t *grown);
/* A record's messages, the same from both engines (no command-line flag in them). */
#define UVCRAWL__MSG_TOO_BIG "body exceeds the size cap (max_body)"
/* The note of a page whose links were cut short by max_links or max_parse, or NULL. */
const char *uvcrawl__record_note(const uvcrawl__job_t *job);
/* Appends r as a JSON object (no newline) to a malloc'd buffer (*buf, *len, *cap).
 * Pure; returns 0 or UV_ENOMEM. */
int uvcrawl__json_record(const uvcrawl_result_t *r, char **buf, size_t *len, size_t *cap);

#endif
