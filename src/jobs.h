/* Work for the libuv thread pool (jobs.c): hash, decode, parse, resolve and save a body off
 * the loop, in batches; and --convert-links on the pool. Not pure: the pool is libuv's. */
#ifndef UVCRAWL_JOBS_H
#define UVCRAWL_JOBS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "extract.h"
#include "robots.h"

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

#endif
