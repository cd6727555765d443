/* uvcrawl — the command line. It uses only the public header, like any other embedder. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "async_send.h"
#include "config.h"
#include "engine_threads.h"
#include "priority.h"
#include "report.h"
#include "statsjson.h"
#include "status.h"
#include "units.h"
#include "testhooks.h"
#include "uvcrawl.h"
#include "version.h"

/* The loop thread's scheduler slice: short, so it preempts busy pool threads on wakeup. */
#define LOOP_SLICE_US 100

enum {
  EXIT_OK = 0,
  EXIT_BROKEN = 1,
  EXIT_USAGE = 2,
  EXIT_RUNTIME = 3,
  EXIT_REFUSED = 4, /* --redis: the crawl there has other options or seeds */
  EXIT_INTERRUPTED = 130
};

#define PROGRESS_MS 250

/* getopt code of --status-listen: apart from main()'s list, clear of its values. */
enum { OPT_STATUS_LISTEN = 1000 };
/* The shared crawl's options: a range of their own, for the same reason. */
enum { OPT_REDIS = 1100, OPT_CRAWL, OPT_CLUSTER_STATUS, OPT_EXPORT, OPT_LEASE, OPT_MAX_TRIES };
enum { OPT_CONVERT_LINKS = 1200 }; /* away from the list's end too: fewer merge conflicts */

typedef struct {
  uv_loop_t loop;
  uv_signal_t sigint;
  uv_signal_t sigterm;
  uv_timer_t progress;
  uvcrawl_t *crawler;
  report_t *report;
  cli_status_t *status; /* --status-listen, NULL without */
  int show_progress;
  int exit_code;
  int interrupted;
  unsigned seeds;
  unsigned seeds_failed;
  uvcrawl_stats_t stats;
} cli_t;

/* Three parts: ISO C promises string literals of 4095 bytes only. */
static const char usage_text[] =
    "Usage: uvcrawl [options] URL...\n"
    "Crawl every page reachable from the seed URLs on their own hosts.\n"
    "\n"
    "A DURATION is seconds, fractions too, or has a unit: 5, 0.2, 2.5s, 150ms, 1m, 1h.\n"
    "A SIZE is bytes, or has a suffix (1024-based): 1000, 512k, 1M, 2G.\n"
    "\n"
    "Crawling:\n"
    "  -o, --output FILE        the records: one JSON line per fetched URL ('-' = stdout)\n"
    "      --max-depth N        link hops from a seed (default: unlimited)\n"
    "      --max-pages N        stop after N fetched URLs (default: unlimited)\n"
    "      --mirror DIR         save every 2xx body under DIR/host[:port]/path (like wget -r)\n"
    "      --fsync              fsync each mirrored file before renaming it into place\n"
    "  -p, --page-requisites    also fetch what crawled pages need to display (images, CSS\n"
    "                           and its imports, scripts, media, icons), on other hosts and\n"
    "                           past --max-depth too, without crawling those hosts\n"
    "      --convert-links      after the crawl, point every link in the saved HTML and CSS\n"
    "                           files at the saved copy (relative), else at the absolute URL\n"
    "  -E, --adjust-extension   save text/html as NAME.html and text/css as NAME.css\n"
    "Archiving (WARC 1.1, --engine loop):\n"
    "      --warc FILE          every request and response, robots.txt and --check HEADs\n"
    "                           too, as WARC records; FILE.warc.gz: a gzip member per record,\n"
    "                           FILE.warc: plain. Responses keep their content coding\n"
    "      --warc-max-size SIZE write FILE-00000.warc.gz, FILE-00001... of about SIZE each\n"
    "      --warc-cdx FILE      a sorted CDXJ index of the WARC (pywb's format) at the end\n"
    "      --warc-dedup FILE    a previous crawl's CDXJ: payloads it holds become revisits\n"
    "Scope and filters:\n"
    "      --scope SCOPE        host (default), domain (and subdomains), prefix (under the\n"
    "                           seed's directory), all\n"
    "      --include REGEX      crawl only URLs matching one of these (POSIX ERE; repeatable)\n"
    "      --exclude REGEX      skip URLs matching any of these (repeatable)\n"
    "      --exclude-scheme S   skip http or https URLs\n"
    "      --sitemaps           also crawl what /sitemap.xml and robots.txt Sitemap: list\n"
    "      --ignore-robots      do not fetch or obey robots.txt (obeyed by default)\n"
    "HTTP, authentication and TLS (cookies are always kept across the crawl):\n"
    "      --user-agent STRING  (default uvcrawl/VERSION)\n"
    "      --header 'NAME: VALUE'  send this header with every request, robots.txt too\n"
    "                           (repeatable; 'NAME:' drops a header that would be sent)\n"
    "      --user USER:PASSWORD basic auth, sent only to the seeds' scheme+host+port, never\n"
    "                           to other hosts nor after a redirect to one\n"
    "      --netrc              credentials from ~/.netrc for the hosts it lists\n"
    "      --load-cookies FILE  start with the cookies in FILE (Netscape format, as wget/curl)\n"
    "      --save-cookies FILE  write every cookie, session ones too, to FILE at the end\n"
    "      --proxy URL          send every request through this proxy (http://, socks5://...;\n"
    "                           default: the http_proxy, https_proxy, ALL_PROXY and NO_PROXY\n"
    "                           environment variables, as curl; '' = no proxy at all)\n"
    "      --http-version V     1.1 (HTTP/1.1 only) or 2 (HTTP/2, on cleartext too, by prior\n"
    "                           knowledge); default: HTTP/2 over TLS when the server offers it\n"
    "      --cacert FILE        verify servers against the CA certificates in FILE (PEM)\n"
    "  -k, --insecure           do not verify the server's certificate and name\n";
static const char usage_text2[] =
    "Timeouts and caps:\n"
    "      --timeout DURATION   whole request (default 60s; 0 = none)\n"
    "      --connect-timeout DURATION  (default 10s; 0 = libcurl's 300s)\n"
    "      --low-speed SIZE     abort transfers slower than SIZE bytes/s ... (default 10)\n"
    "      --low-speed-time DURATION  ... for this long (default 30s, whole seconds; 0 = off)\n"
    "      --max-body SIZE      largest body kept (default 32M)\n"
    "      --max-parse SIZE     HTML gumbo parses per page (default 2M; 0 = all)\n"
    "      --max-url-len N      skip longer URLs (default 8192)\n"
    "      --max-links N        links taken from one page (default 100000)\n"
    "      --parser fast|gumbo  link extraction: the streaming scanner, gumbo where it is\n"
    "                           unsure (default), or gumbo for every page\n"
    "      --max-redirects N    longest redirect chain followed (default 10)\n"
    "Politeness and retries:\n"
    "      --per-host N         requests in flight per host (default: no cap but --max-inflight)\n"
    "      --delay DURATION     least gap between request starts on one host (default 0)\n"
    "      --random-delay       each gap is 0.5x to 1.5x of --delay\n"
    "      --retries N          retry timeouts, connection failures, 5xx, 408, 429 (default 0)\n"
    "      --max-retry-after DURATION  longest Retry-After obeyed (default 2m)\n"
    "Engine and memory:\n"
    "      --max-inflight N     requests in flight at once (default 64; clamped to the fd limit)\n"
    "      --max-buffer SIZE    bodies waiting for the thread pool (default 32M)\n"
    "      --pool-nice N        nice value of the thread pool's threads, so the loop thread\n"
    "                           gets a CPU first (default 10; 0 = leave them)\n"
    "      --engine loop|threads  the event loop (default), or blocking worker threads\n"
    "      --threads N          workers for --engine threads (default 64)\n"
    "Resuming:\n"
    "      --state DIR          journal the crawl in DIR so that it can be resumed\n"
    "      --resume             continue the crawl journaled in --state DIR (seeds optional)\n"
    "      --sync-interval DURATION  fdatasync the journal at most this far apart (default 1s)\n";
static const char usage_text3[] =
    "Link checking and reports:\n"
    "      --check              also check every out-of-scope link once (HEAD, GET if refused)\n"
    "                           and exit 1 when a link is broken\n"
    "      --accept LIST        statuses that are fine (default 200..299; e.g. 200..299,403)\n"
    "      --format FMT         the report: text, json, jsonl (the records), csv, junit,\n"
    "                           markdown (default: text with --check, else none)\n"
    "      --report FILE        write the report to FILE instead of stdout ('-' = stdout);\n"
    "                           -o FILE is the records of every URL, not the report\n"
    "      --verbose            also report redirects\n"
    "Output and configuration:\n"
    "      --stats-json FILE    write the final statistics (pages, loop lag, ...) as JSON\n"
    "      --status-listen [ADDR:]PORT  serve GET /stats (the statistics as JSON, live) and\n"
    "                           GET / (a status page) on ADDR (default 127.0.0.1); PORT 0:\n"
    "                           any free port; the address is said on stderr\n"
    "      --progress           a live status line on stderr even when it is not a terminal\n"
    "  -q, --quiet              no status line, no summary on stderr\n"
    "      --config FILE        read long options from FILE, one per line ('timeout = 5s',\n"
    "                           'check', '# comment'); the command line overrides them\n"
    "  -h, --help               this text\n"
    "A crawl shared by many processes and machines (through Redis 7):\n"
    "      --redis redis://HOST[:PORT][/DB] --crawl NAME  be a worker of the crawl NAME: the\n"
    "                           first worker's seeds and options define it; others give the\n"
    "                           same options (seeds optional) or are refused (exit 4); each\n"
    "                           writes -o records of what it fetched; all exit 0 at the end\n"
    "      --status             print the crawl's progress as one JSON object, then exit\n"
    "      --export             write every record of the crawl, each URL once, to -o FILE\n"
    "      --lease DURATION     a dead worker's URLs go back after this (default 30s)\n"
    "      --max-tries N        a URL whose worker died N times fails (default 5)\n"
    "  -V, --version            print the versions of uvcrawl and of the libraries it uses\n"
    "\n"
    "Exit status: 0 the crawl finished (with --check: and no link is broken); 1 broken links\n"
    "found (--check); 2 bad usage; 3 runtime failure (no seed could be fetched, a body could\n"
    "not be saved to the mirror, output could not be written, the crawler could not start,\n"
    "Redis unreachable); 4 --redis: the crawl has other options or seeds; 130 interrupted\n"
    "(SIGINT/SIGTERM; the records and report so far are written).\n";

static void usage(FILE *f) {
  fputs(usage_text, f);
  fputs(usage_text2, f);
  fputs(usage_text3, f);
}

/* "FILE:LINE: " when the option being parsed came from a --config file, else "". */
static const char *arg_where = "";

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "uvcrawl: %s", arg_where);
  fprintf(stderr, fmt, arg);
  fputs("\nTry 'uvcrawl --help'.\n", stderr);
  return EXIT_USAGE;
}

/* The crawl's options. Static: they live as long as the process, whichever way main returns. */
static uvcrawl_options_t *o;

/* The CLI checked every value it sets this way: a failure is out of memory. */
static void set_or_die(int err) {
  if (err == 0) return;
  fprintf(stderr, "uvcrawl: cannot set an option: %s\n", uvcrawl_strerror(err));
  exit(EXIT_RUNTIME);
}
#define SET_INT(name, v) set_or_die(uvcrawl_options_set_int(o, UVCRAWL_OPT_##name, (int64_t)(v)))
#define SET_STR(name, v) set_or_die(uvcrawl_options_set_str(o, UVCRAWL_OPT_##name, v))
#define SET_STRV(name, v) set_or_die(uvcrawl_options_set_strv(o, UVCRAWL_OPT_##name, v))

/* Parses a whole non-negative decimal number no larger than max. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out) {
  char *end;
  if (s == NULL || *s == '\0' || *s == '-') return -1;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v > max) return -1;
  *out = v;
  return 0;
}

/* The status line: \r and erase-to-end keep it on one line without flicker. */
static void draw_progress(cli_t *cli, int final) {
  uvcrawl_stats_t s;
  uvcrawl_get_stats(cli->crawler, &s, sizeof(s));
  double secs = s.wall_ms / 1000.0;
  fprintf(stderr,
          "\r\033[K%" PRIu64 " done, %" PRIu64 " queued, %u in flight, %" PRIu64
          " errors, %.0f pages/s, %.1f MB",
          s.pages, s.queued, s.inflight, s.errors, secs > 0 ? (double)s.pages / secs : 0.0,
          (double)s.bytes / 1e6);
  if (s.convert_total > 0) /* --convert-links, after the crawl */
    fprintf(stderr, ", links converted in %" PRIu64 "/%" PRIu64 " files", s.converted,
            s.convert_total);
  fputs(final ? "\n" : "", stderr);
}

static void on_progress(uv_timer_t *t) {
  draw_progress(t->data, 0);
}

/* Every record, from either engine: the report counts it; a seed that got no answer is said
 * at once, and when no seed answered the exit status says so. */
static void note_result(cli_t *cli, const uvcrawl_result_t *r) {
  report_result(cli->report, r);
  if (r->depth == 0 && r->status == 0 && r->error != NULL) {
    if (cli->show_progress) fputs("\r\033[K", stderr);
    fprintf(stderr, "uvcrawl: %s: %s\n", r->url, r->error);
    if (++cli->seeds_failed == cli->seeds) cli->exit_code = EXIT_RUNTIME;
  }
}

/* From either engine: the threads engine calls it one thread at a time, crawler NULL. */
static void on_result(uvcrawl_t *crawler, const uvcrawl_result_t *r, void *arg) {
  (void)crawler;
  note_result(arg, r);
}

static void on_done(uvcrawl_t *crawler, int status, void *arg) {
  cli_t *cli = arg;
  if (status == UVCRAWL_EREDIS) {
    const char *why = uvcrawl_cluster_error(crawler);
    fprintf(stderr, "uvcrawl: %s\n", why ? why : uvcrawl_strerror(status));
    cli->exit_code = EXIT_RUNTIME;
  }
  if (cli->show_progress) draw_progress(cli, 1);
  uvcrawl_get_stats(crawler, &cli->stats, sizeof(cli->stats));
  cli_status_close(cli->status, &cli->stats); /* serves these final figures from now on */
  int n = report_collect_broken(cli->report, crawler);
  if (n == UV_ENOMEM) {
    fputs("uvcrawl: out of memory collecting the report\n", stderr);
    cli->exit_code = EXIT_RUNTIME;
  }
  uv_close((uv_handle_t *)&cli->sigint, NULL);
  uv_close((uv_handle_t *)&cli->sigterm, NULL);
  uv_close((uv_handle_t *)&cli->progress, NULL);
  uvcrawl_close(crawler, NULL, NULL);
}

static void on_signal(uv_signal_t *h, int signum) {
  cli_t *cli = h->data;
  (void)signum;
  if (cli->interrupted++) {
    fputs("uvcrawl: interrupted twice, exiting now\n", stderr);
    _exit(EXIT_INTERRUPTED);
  }
  uvcrawl_stop(cli->crawler);
}

/* More fds means a higher in-flight cap: take the hard limit, as servers do. */
static void raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

/* The final statistics as one JSON object, for scripts and benchmarks. */
static int write_stats_json(const char *path, const uvcrawl_stats_t *s) {
  FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
  if (f == NULL) return -1;
  /* The same members as GET /stats (statsjson.c), so the two cannot disagree. */
  fputc('{', f);
  cli_stats_json_fields(f, s);
  fputs("}\n", f);
  return f == stdout ? fflush(f) : fclose(f);
}

typedef struct {
  const char **v;
  size_t n;
} patterns_t;

/* Appends a pattern (borrowed from argv) to a NULL-ended list. */
static int add_pattern(patterns_t *p, const char *pat) {
  const char **v = realloc(p->v, (p->n + 2) * sizeof(*v));
  if (v == NULL) return -1;
  v[p->n++] = pat;
  v[p->n] = NULL;
  p->v = v;
  return 0;
}

/* --engine threads: the same crawl on blocking worker threads, for comparison. Returns an exit
 * status when the run could not happen, or -1 when it ran (the caller finishes as usual). */
static int run_threads(cli_t *cli, const uvcrawl_options_t *opts, char **seeds, size_t n,
                       unsigned threads) {
  cli->seeds = (unsigned)n;
  int err = cli_threads_run(opts, (const char *const *)seeds, n, threads, on_result, cli,
                            &cli->stats);
  if (err == UVCRAWL_EURL || err == UVCRAWL_ESCHEME) {
    fprintf(stderr, "uvcrawl: bad URL: %s\nTry 'uvcrawl --help'.\n", uvcrawl_strerror(err));
    return EXIT_USAGE;
  }
  if (err == UV_ENOTSUP) {
    fputs("uvcrawl: --engine threads does only the plain crawl (no --check, --state, --retries,\n"
          "         politeness, filters, scopes, sitemaps or --accept): drop those options or\n"
          "         use --engine loop\nTry 'uvcrawl --help'.\n", stderr);
    return EXIT_USAGE;
  }
  if (err != 0) {
    fprintf(stderr, "uvcrawl: %s\n", uvcrawl_strerror(err));
    return EXIT_RUNTIME;
  }
  if (cli->stats.inflight_cap < threads)
    fprintf(stderr, "uvcrawl: warning: --threads %u lowered to %u to stay within the open-file "
                    "limit (ulimit -n)\n", threads, cli->stats.inflight_cap);
  return -1;
}

/* Durations and sizes: one parser each (units.c) and one message each. */
static int bad_duration(const char *name, uint64_t max_ms, const char *arg) {
  char max[32], why[256];
  snprintf(why, sizeof(why), "%s needs a duration (seconds, or with a unit: 150ms, 2.5s, 1m, "
           "1h) of at most %s, not '%%s'", name, cli_format_duration(max_ms, max, sizeof(max)));
  return usage_error(why, arg);
}

static int bad_size(const char *name, uint64_t max, const char *arg) {
  char lim[48] = "", why[256];
  if (max != UINT64_MAX) {
    char n[32];
    snprintf(lim, sizeof(lim), " of at most %s", cli_format_size(max, n, sizeof(n)));
  }
  snprintf(why, sizeof(why), "%s needs a size (bytes, or with a suffix: 512k, 1M, 2G)%s, "
           "not '%%s'", name, lim);
  return usage_error(why, arg);
}

/* The --config files named on the command line, read before it so that it overrides them:
 * *all becomes argv[0], the files' options, then the rest of argv. Returns 0 or an exit
 * status. */
static int gather_args(int argc, char **argv, const struct option *longopts, cli_args_t *all,
                       unsigned *nread) {
  char err[1024];
  if (cli_args_push(all, argv[0], 0, NULL) != 0) return EXIT_RUNTIME;
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
    const char *path = NULL;
    if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) path = argv[++i];
    else if (strncmp(argv[i], "--config=", 9) == 0) path = argv[i] + 9;
    if (path == NULL) continue;
    if (cli_config_read(path, longopts, all, err, sizeof(err)) != 0) {
      fprintf(stderr, "uvcrawl: --config %s\nTry 'uvcrawl --help'.\n", err);
      return EXIT_USAGE;
    }
    (*nread)++;
  }
  for (int i = 1; i < argc; i++)
    if (cli_args_push(all, argv[i], 0, NULL) != 0) return EXIT_RUNTIME;
  return 0;
}

int main(int argc, char **argv) {
  enum {
    OPT_INFLIGHT = 256, OPT_DEPTH, OPT_PAGES, OPT_BODY, OPT_BUFFER, OPT_POOL_NICE, OPT_TIMEOUT, OPT_CONNECT,
    OPT_UA, OPT_ENGINE, OPT_THREADS, OPT_MIRROR, OPT_FSYNC, OPT_STATS, OPT_CHECK, OPT_ACCEPT,
    OPT_FORMAT, OPT_VERBOSE, OPT_PROGRESS, OPT_STATE, OPT_RESUME, OPT_SYNC, OPT_PER_HOST,
    OPT_DELAY, OPT_RANDOM_DELAY, OPT_IGNORE_ROBOTS, OPT_RETRIES, OPT_MAX_RA, OPT_LOW_SPEED,
    OPT_LOW_SPEED_TIME, OPT_MAX_URL, OPT_MAX_LINKS, OPT_MAX_REDIRECTS, OPT_INCLUDE, OPT_EXCLUDE,
    OPT_SCOPE, OPT_EXCLUDE_SCHEME, OPT_MAX_PARSE, OPT_SITEMAPS, OPT_HTTP_VERSION, OPT_CACERT,
    OPT_HEADER, OPT_USER, OPT_NETRC, OPT_LOAD_COOKIES, OPT_SAVE_COOKIES, OPT_PROXY, OPT_REPORT,
    OPT_CONFIG, OPT_PARSER, OPT_WARC, OPT_WARC_MAX, OPT_WARC_CDX, OPT_WARC_DEDUP
  };
  static const struct option longopts[] = {
      {"output", required_argument, NULL, 'o'},
      {"max-inflight", required_argument, NULL, OPT_INFLIGHT},
      {"max-depth", required_argument, NULL, OPT_DEPTH},
      {"max-pages", required_argument, NULL, OPT_PAGES},
      {"max-body", required_argument, NULL, OPT_BODY},
      {"max-buffer", required_argument, NULL, OPT_BUFFER},
      {"pool-nice", required_argument, NULL, OPT_POOL_NICE},
      {"timeout", required_argument, NULL, OPT_TIMEOUT},
      {"connect-timeout", required_argument, NULL, OPT_CONNECT},
      {"user-agent", required_argument, NULL, OPT_UA},
      {"engine", required_argument, NULL, OPT_ENGINE},
      {"threads", required_argument, NULL, OPT_THREADS},
      {"mirror", required_argument, NULL, OPT_MIRROR},
      {"fsync", no_argument, NULL, OPT_FSYNC},
      {"page-requisites", no_argument, NULL, 'p'},
      {"convert-links", no_argument, NULL, OPT_CONVERT_LINKS},
      {"adjust-extension", no_argument, NULL, 'E'},
      {"warc", required_argument, NULL, OPT_WARC},
      {"warc-max-size", required_argument, NULL, OPT_WARC_MAX},
      {"warc-cdx", required_argument, NULL, OPT_WARC_CDX},
      {"warc-dedup", required_argument, NULL, OPT_WARC_DEDUP},
      {"stats-json", required_argument, NULL, OPT_STATS},
      {"status-listen", required_argument, NULL, OPT_STATUS_LISTEN},
      {"redis", required_argument, NULL, OPT_REDIS},
      {"crawl", required_argument, NULL, OPT_CRAWL},
      {"status", no_argument, NULL, OPT_CLUSTER_STATUS},
      {"export", no_argument, NULL, OPT_EXPORT},
      {"lease", required_argument, NULL, OPT_LEASE},
      {"max-tries", required_argument, NULL, OPT_MAX_TRIES},
      {"check", no_argument, NULL, OPT_CHECK},
      {"accept", required_argument, NULL, OPT_ACCEPT},
      {"format", required_argument, NULL, OPT_FORMAT},
      {"verbose", no_argument, NULL, OPT_VERBOSE},
      {"progress", no_argument, NULL, OPT_PROGRESS},
      {"state", required_argument, NULL, OPT_STATE},
      {"resume", no_argument, NULL, OPT_RESUME},
      {"sync-interval", required_argument, NULL, OPT_SYNC},
      {"per-host", required_argument, NULL, OPT_PER_HOST},
      {"delay", required_argument, NULL, OPT_DELAY},
      {"random-delay", no_argument, NULL, OPT_RANDOM_DELAY},
      {"ignore-robots", no_argument, NULL, OPT_IGNORE_ROBOTS},
      {"retries", required_argument, NULL, OPT_RETRIES},
      {"max-retry-after", required_argument, NULL, OPT_MAX_RA},
      {"low-speed", required_argument, NULL, OPT_LOW_SPEED},
      {"low-speed-time", required_argument, NULL, OPT_LOW_SPEED_TIME},
      {"max-url-len", required_argument, NULL, OPT_MAX_URL},
      {"max-links", required_argument, NULL, OPT_MAX_LINKS},
      {"max-parse", required_argument, NULL, OPT_MAX_PARSE},
      {"parser", required_argument, NULL, OPT_PARSER},
      {"max-redirects", required_argument, NULL, OPT_MAX_REDIRECTS},
      {"include", required_argument, NULL, OPT_INCLUDE},
      {"exclude", required_argument, NULL, OPT_EXCLUDE},
      {"scope", required_argument, NULL, OPT_SCOPE},
      {"sitemaps", no_argument, NULL, OPT_SITEMAPS},
      {"exclude-scheme", required_argument, NULL, OPT_EXCLUDE_SCHEME},
      {"http-version", required_argument, NULL, OPT_HTTP_VERSION},
      {"cacert", required_argument, NULL, OPT_CACERT},
      {"insecure", no_argument, NULL, 'k'},
      {"header", required_argument, NULL, OPT_HEADER},
      {"user", required_argument, NULL, OPT_USER},
      {"netrc", no_argument, NULL, OPT_NETRC},
      {"load-cookies", required_argument, NULL, OPT_LOAD_COOKIES},
      {"save-cookies", required_argument, NULL, OPT_SAVE_COOKIES},
      {"proxy", required_argument, NULL, OPT_PROXY},
      {"report", required_argument, NULL, OPT_REPORT},
      {"config", required_argument, NULL, OPT_CONFIG},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0},
  };
  /* The options the CLI reads again after parsing; the rest go straight into o. */
  struct {
    const char *output_path, *mirror_dir, *state_dir;
    unsigned max_inflight;
    int check, resume;
    int page_requisites, convert_links, adjust_extension;
    const char *warc_path, *warc_cdx, *warc_dedup;
    uint64_t warc_max_size;
  } opts = {NULL, NULL, NULL, 64, 0, 0, 0, 0, 0, NULL, NULL, NULL, 0};
  cli_t cli;
  uint64_t v;
  int ch, err, quiet = 0, verbose = 0, force_progress = 0, use_threads = 0, have_format = 0;
  int pool_nice = 10;
  unsigned nthreads = 64;
  const char *stats_path = NULL, *report_path = NULL, *status_spec = NULL;
  int proxy_given = 0;
  const char *redis_url = NULL, *crawl_name = NULL;
  int cluster_status = 0, cluster_export = 0;
  unsigned lease_ms = 30000, max_tries = 5;
  struct sockaddr_storage status_addr;
  FILE *report_out = stdout;
  report_format_t format = FMT_TEXT;
  /* Static: they live as long as the process, whichever way main returns. */
  static patterns_t includes, excludes, headers;
  static cli_args_t all;
  unsigned configs_read = 0, configs_named = 0;

  memset(&cli, 0, sizeof(cli));
  if (uvcrawl_options_new(&o) != 0) {
    fputs("uvcrawl: out of memory\n", stderr);
    return EXIT_RUNTIME;
  }
  if ((err = gather_args(argc, argv, longopts, &all, &configs_read)) != 0) return err;
  argc = (int)all.n;
  argv = all.argv;
  opterr = 0;
  while ((ch = getopt_long(argc, argv, ":o:qhkVpE", longopts, NULL)) != -1) {
    /* optind - 1 is the option's own argument, or its value's (both on the command line). */
    const char *where = optind >= 1 && optind <= argc ? all.where[optind - 1] : NULL;
    static char where_buf[1100];
    snprintf(where_buf, sizeof(where_buf), "%s%s", where ? where : "", where ? ": " : "");
    arg_where = where_buf;
    switch (ch) {
    case 'o': opts.output_path = optarg; break;
    case 'q': quiet = 1; break;
    case 'h': usage(stdout); return EXIT_OK;
    case 'V': cli_print_version(stdout); return EXIT_OK;
    case OPT_INFLIGHT:
      if (parse_u64(optarg, 1000000, &v) || v == 0)
        return usage_error("--max-inflight needs a number from 1 to 1000000, not '%s'", optarg);
      opts.max_inflight = (unsigned)v;
      break;
    case OPT_DEPTH:
      if (parse_u64(optarg, 1000000, &v))
        return usage_error("--max-depth needs a number from 0, not '%s'", optarg);
      SET_INT(MAX_DEPTH, v);
      break;
    case OPT_PAGES:
      if (parse_u64(optarg, UINT64_MAX, &v))
        return usage_error("--max-pages needs a number, not '%s'", optarg);
      SET_INT(MAX_PAGES, v);
      break;
    case OPT_BODY:
    case OPT_BUFFER:
    case OPT_MAX_PARSE:
    case OPT_LOW_SPEED: {
      static const struct {
        int opt;
        const char *name;
        uint64_t min, max;
      } lim[] = {{OPT_BODY, "--max-body", 1, UINT64_MAX},
                 {OPT_BUFFER, "--max-buffer", 1, (uint64_t)1 << 40},
                 {OPT_MAX_PARSE, "--max-parse", 0, UINT64_MAX},
                 {OPT_LOW_SPEED, "--low-speed", 0, 1u << 30}};
      size_t k = 0;
      while (lim[k].opt != ch) k++;
      if (cli_parse_size(optarg, lim[k].max, &v) != 0)
        return bad_size(lim[k].name, lim[k].max, optarg);
      if (v < lim[k].min) return usage_error("%s needs a size above 0", lim[k].name);
      if (ch == OPT_BODY) SET_INT(MAX_BODY, v);
      else if (ch == OPT_BUFFER) SET_INT(MAX_BUFFER, v);
      else if (ch == OPT_MAX_PARSE) SET_INT(MAX_PARSE, v);
      else SET_INT(LOW_SPEED_BYTES, v);
      break;
    }
    case OPT_TIMEOUT:
    case OPT_CONNECT:
    case OPT_DELAY:
    case OPT_MAX_RA:
    case OPT_SYNC:
    case OPT_LOW_SPEED_TIME: {
      static const struct {
        int opt;
        const char *name;
        uint64_t min_ms, max_ms;
      } lim[] = {{OPT_TIMEOUT, "--timeout", 0, 86400000},
                 {OPT_CONNECT, "--connect-timeout", 0, 86400000},
                 {OPT_DELAY, "--delay", 0, 3600000},
                 {OPT_MAX_RA, "--max-retry-after", 0, 86400000},
                 {OPT_SYNC, "--sync-interval", 1, 3600000},
                 {OPT_LOW_SPEED_TIME, "--low-speed-time", 0, 86400000}};
      size_t k = 0;
      while (lim[k].opt != ch) k++;
      if (cli_parse_duration(optarg, lim[k].max_ms, &v) != 0)
        return bad_duration(lim[k].name, lim[k].max_ms, optarg);
      if (v < lim[k].min_ms) return usage_error("%s needs a duration above 0", lim[k].name);
      switch (ch) {
      case OPT_TIMEOUT: SET_INT(TIMEOUT_MS, v); break;
      case OPT_CONNECT: SET_INT(CONNECT_TIMEOUT_MS, v); break;
      case OPT_DELAY: SET_INT(DELAY_MS, v); break;
      case OPT_MAX_RA: SET_INT(MAX_RETRY_AFTER_MS, v); break;
      case OPT_SYNC: SET_INT(SYNC_INTERVAL_MS, v); break;
      default: SET_INT(LOW_SPEED_SECS, (v + 999) / 1000); break; /* curl counts seconds */
      }
      break;
    }
    case OPT_POOL_NICE:
      if (parse_u64(optarg, 19, &v))
        return usage_error("--pool-nice needs a number from 0 to 19, not '%s'", optarg);
      pool_nice = (int)v;
      break;
    case OPT_UA:
      if (uvcrawl_options_set_str(o, UVCRAWL_OPT_USER_AGENT, optarg) != 0)
        return usage_error("--user-agent cannot hold a line break: '%s'", optarg);
      break;
    case OPT_PARSER:
      if (strcmp(optarg, "fast") != 0 && strcmp(optarg, "gumbo") != 0)
        return usage_error("--parser is 'fast' or 'gumbo', not '%s'", optarg);
      SET_INT(PARSER, strcmp(optarg, "gumbo") == 0 ? UVCRAWL_PARSER_GUMBO : UVCRAWL_PARSER_FAST);
      break;
    case OPT_ENGINE:
      if (strcmp(optarg, "loop") != 0 && strcmp(optarg, "threads") != 0)
        return usage_error("--engine is 'loop' or 'threads', not '%s'", optarg);
      use_threads = strcmp(optarg, "threads") == 0;
      break;
    case OPT_THREADS:
      if (parse_u64(optarg, 100000, &v) || v == 0)
        return usage_error("--threads needs a number from 1 to 100000, not '%s'", optarg);
      nthreads = (unsigned)v;
      break;
    case OPT_MIRROR: opts.mirror_dir = optarg; break;
    case OPT_FSYNC: SET_INT(FSYNC, 1); break;
    case 'p': opts.page_requisites = 1; break;
    case OPT_CONVERT_LINKS: opts.convert_links = 1; break;
    case 'E': opts.adjust_extension = 1; break;
    case OPT_WARC: opts.warc_path = optarg; break;
    case OPT_WARC_CDX: opts.warc_cdx = optarg; break;
    case OPT_WARC_DEDUP: opts.warc_dedup = optarg; break;
    case OPT_WARC_MAX:
      if (cli_parse_size(optarg, INT64_MAX, &opts.warc_max_size) != 0 || opts.warc_max_size == 0)
        return usage_error("--warc-max-size needs a size above 0 (e.g. 1G), not '%s'", optarg);
      break;
    case OPT_STATS: stats_path = optarg; break;
    case OPT_STATUS_LISTEN:
      if (cli_status_parse_addr(optarg, &status_addr) != 0)
        return usage_error("--status-listen needs [ADDR:]PORT (e.g. 8080, 127.0.0.1:0, "
                           "[::1]:8080), not '%s'", optarg);
      status_spec = optarg;
      break;
    case OPT_CHECK: opts.check = 1; break;
    case OPT_ACCEPT:
      if ((err = uvcrawl_options_set_str(o, UVCRAWL_OPT_ACCEPT, optarg)) != 0)
        return usage_error("--accept %s", uvcrawl_strerror(err));
      break;
    case OPT_FORMAT:
      if (report_parse_format(optarg, &format) != 0)
        return usage_error("--format is text, json, jsonl, csv, junit or markdown, not '%s'",
                           optarg);
      have_format = 1;
      break;
    case OPT_VERBOSE: verbose = 1; break;
    case OPT_PROGRESS: force_progress = 1; break;
    case OPT_STATE: opts.state_dir = optarg; break;
    case OPT_RESUME: opts.resume = 1; break;
    case OPT_PER_HOST:
    case OPT_RETRIES:
    case OPT_MAX_URL:
    case OPT_MAX_LINKS:
    case OPT_MAX_REDIRECTS: {
      /* Plain counts share one parser and one message. */
      static const struct {
        int opt;
        const char *name;
        uint64_t max;
      } lim[] = {{OPT_PER_HOST, "--per-host", 100000},     {OPT_RETRIES, "--retries", 100},
                 {OPT_MAX_URL, "--max-url-len", 1u << 20},
                 {OPT_MAX_LINKS, "--max-links", 100000000},
                 {OPT_MAX_REDIRECTS, "--max-redirects", 1000}};
      size_t k = 0;
      while (lim[k].opt != ch) k++;
      if (parse_u64(optarg, lim[k].max, &v)) {
        char why[128];
        snprintf(why, sizeof(why), "%s needs a number from 0 to %" PRIu64 ", not '%%s'",
                 lim[k].name, lim[k].max);
        return usage_error(why, optarg);
      }
      switch (ch) {
      case OPT_PER_HOST: SET_INT(PER_HOST, v); break;
      case OPT_RETRIES: SET_INT(RETRIES, v); break;
      case OPT_MAX_URL: SET_INT(MAX_URL_LEN, v); break;
      case OPT_MAX_LINKS: SET_INT(MAX_LINKS, v); break;
      default: SET_INT(MAX_REDIRECTS, v); break;
      }
      break;
    }
    case OPT_RANDOM_DELAY: SET_INT(RANDOM_DELAY, 1); break;
    case OPT_IGNORE_ROBOTS: SET_INT(IGNORE_ROBOTS, 1); break;
    case OPT_INCLUDE:
    case OPT_EXCLUDE:
      if (add_pattern(ch == OPT_INCLUDE ? &includes : &excludes, optarg) != 0) {
        fputs("uvcrawl: out of memory\n", stderr);
        return EXIT_RUNTIME;
      }
      break;
    case OPT_EXCLUDE_SCHEME:
      if (strcmp(optarg, "http") != 0 && strcmp(optarg, "https") != 0)
        return usage_error("--exclude-scheme is http or https, not '%s'", optarg);
      if (add_pattern(&excludes, strcmp(optarg, "http") == 0 ? "^http:" : "^https:") != 0)
        return EXIT_RUNTIME;
      break;
    case OPT_SCOPE:
      if ((err = uvcrawl_options_set_str(o, UVCRAWL_OPT_SCOPE, optarg)) != 0)
        return usage_error("--scope: %s", uvcrawl_strerror(err));
      break;
    case OPT_HTTP_VERSION:
      if (strcmp(optarg, "1.1") == 0) SET_INT(HTTP_VERSION, 1);
      else if (strcmp(optarg, "2") == 0) SET_INT(HTTP_VERSION, 2);
      else return usage_error("--http-version is 1.1 or 2, not '%s'", optarg);
      break;
    case OPT_CACERT:
    case OPT_LOAD_COOKIES:
      /* Said once here rather than as an error on every URL (or, for cookies, not at all:
       * libcurl reads a missing file as an empty one). */
      if (access(optarg, R_OK) != 0) {
        char why[1024];
        snprintf(why, sizeof(why), "%s cannot read '%s': %s",
                 ch == OPT_CACERT ? "--cacert" : "--load-cookies", optarg, strerror(errno));
        return usage_error("%s", why);
      }
      if (ch == OPT_CACERT) SET_STR(CACERT, optarg);
      else SET_STR(COOKIE_LOAD, optarg);
      break;
    case OPT_SAVE_COOKIES: SET_STR(COOKIE_SAVE, optarg); break;
    case 'k': SET_INT(INSECURE, 1); break;
    case OPT_SITEMAPS: SET_INT(SITEMAPS, 1); break;
    case OPT_HEADER: {
      size_t name = strcspn(optarg, ":;");
      int ok = name > 0 && optarg[name] != '\0' && strpbrk(optarg, "\r\n") == NULL &&
               strcspn(optarg, " \t") >= name &&
               (optarg[name] == ':' || optarg[name + 1] == '\0');
      if (!ok)
        return usage_error("--header needs 'Name: value' (or 'Name:' to drop one), not '%s'",
                           optarg);
      if (add_pattern(&headers, optarg) != 0) {
        fputs("uvcrawl: out of memory\n", stderr);
        return EXIT_RUNTIME;
      }
      break;
    }
    case OPT_USER:
      if (strchr(optarg, ':') == NULL)
        return usage_error("%s", "--user needs USER:PASSWORD (uvcrawl does not prompt)");
      SET_STR(USERPWD, optarg);
      break;
    case OPT_NETRC: SET_INT(NETRC, 1); break;
    case OPT_PROXY:
      SET_STR(PROXY, optarg);
      proxy_given = 1;
      break;
    case OPT_REPORT: report_path = optarg; break;
    case OPT_CONFIG: configs_named++; break; /* read by gather_args, before the rest */
    case OPT_REDIS:
      if (strncmp(optarg, "redis://", 8) != 0 || optarg[8] == '\0')
        return usage_error("--redis needs redis://HOST[:PORT][/DB], not '%s'", optarg);
      redis_url = optarg;
      break;
    case OPT_CRAWL:
      if (*optarg == '\0' || strlen(optarg) > 200 || strpbrk(optarg, "{}\r\n \t") != NULL)
        return usage_error("--crawl needs a name (at most 200 bytes, no spaces or braces), "
                           "not '%s'", optarg);
      crawl_name = optarg;
      break;
    case OPT_CLUSTER_STATUS: cluster_status = 1; break;
    case OPT_EXPORT: cluster_export = 1; break;
    case OPT_LEASE:
      if (cli_parse_duration(optarg, 86400000, &v) != 0 || v < 100)
        return usage_error("--lease needs a duration from 100ms to 1 day, not '%s'", optarg);
      lease_ms = (unsigned)v;
      break;
    case OPT_MAX_TRIES:
      if (parse_u64(optarg, 1000, &v) || v == 0)
        return usage_error("--max-tries needs a number from 1 to 1000, not '%s'", optarg);
      max_tries = (unsigned)v;
      break;
    case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
    default: return usage_error("unknown option '%s'", argv[optind - 1]);
    }
  }
  arg_where = "";
  SET_STRV(HEADERS, headers.v);
  if ((err = uvcrawl_options_set_strv(o, UVCRAWL_OPT_INCLUDE, includes.v)) != 0 ||
      (err = uvcrawl_options_set_strv(o, UVCRAWL_OPT_EXCLUDE, excludes.v)) != 0)
    return usage_error("--include/--exclude: %s", uvcrawl_strerror(err));
  if (opts.resume && opts.state_dir == NULL)
    return usage_error("%s", "--resume needs --state DIR");
  if ((redis_url != NULL) != (crawl_name != NULL))
    return usage_error("%s", "--redis and --crawl go together");
  if ((cluster_status || cluster_export) && redis_url == NULL)
    return usage_error("%s", "--status and --export need --redis URL --crawl NAME");
  if (cluster_status && cluster_export)
    return usage_error("%s", "--status or --export, not both");
  if (cluster_status || cluster_export) {
    char why[512];
    if (cluster_status) {
      char *json = NULL;
      err = uvcrawl_cluster_status(redis_url, crawl_name, &json, why, sizeof(why));
      if (err == 0) printf("%s\n", json);
      free(json);
    } else {
      uint64_t n = 0;
      const char *path = opts.output_path ? opts.output_path : "-";
      err = uvcrawl_cluster_export(redis_url, crawl_name, path, &n, why, sizeof(why));
      if (err == 0 && !quiet && strcmp(path, "-") != 0)
        fprintf(stderr, "uvcrawl: %" PRIu64 " records written to %s\n", n, path);
    }
    if (err != 0)
      fprintf(stderr, "uvcrawl: %s\n", why[0] ? why : uvcrawl_strerror(err));
    return err == 0 ? EXIT_OK : EXIT_RUNTIME;
  }
  /* (--sitemaps and --max-pages: uvcrawl_join_cluster() refuses them, exit 2 as well.) */
  if (redis_url != NULL && (use_threads || opts.check || opts.state_dir))
    return usage_error("%s", "--redis does not go with --engine threads, --check, --state, "
                             "--sitemaps or --max-pages");
  if (optind >= argc && !opts.resume && redis_url == NULL) {
    usage(stderr);
    return EXIT_USAGE;
  }
  if (configs_named != configs_read)
    return usage_error("%s", "--config must be spelled out in full (it is read first)");
  if (format == FMT_JSONL && report_path != NULL) {
    /* The jsonl report is the records: --report names their file. */
    if (opts.output_path != NULL && strcmp(opts.output_path, report_path) != 0)
      return usage_error("%s", "--format jsonl: the report is the records; give -o FILE or "
                               "--report FILE, not both");
    opts.output_path = report_path;
  }
  if (format == FMT_JSONL && opts.output_path == NULL) opts.output_path = "-";
  if (have_format && format != FMT_JSONL && format != FMT_TEXT) opts.check = 1;
  if (opts.check && use_threads)
    return usage_error("%s", "--check works with --engine loop only");
  if (opts.warc_path != NULL && use_threads)
    return usage_error("%s", "--warc works with --engine loop only");
  if (opts.warc_path == NULL && (opts.warc_cdx || opts.warc_dedup || opts.warc_max_size))
    return usage_error("%s", "--warc-cdx, --warc-dedup and --warc-max-size need --warc FILE");
  if (status_spec != NULL && use_threads)
    return usage_error("%s", "--status-listen works with --engine loop only");
  if ((opts.page_requisites || opts.convert_links || opts.adjust_extension) && use_threads)
    return usage_error("%s", "--page-requisites, --convert-links and --adjust-extension work "
                             "with --engine loop only");
  if ((opts.convert_links || opts.adjust_extension) && opts.mirror_dir == NULL)
    return usage_error("%s", "--convert-links and --adjust-extension need --mirror DIR");
  SET_STR(OUTPUT_PATH, opts.output_path);
  SET_STR(MIRROR_DIR, opts.mirror_dir);
  SET_STR(STATE_DIR, opts.state_dir);
  SET_INT(MAX_INFLIGHT, opts.max_inflight);
  SET_INT(CHECK, opts.check);
  SET_INT(RESUME, opts.resume);
  SET_INT(PAGE_REQUISITES, opts.page_requisites);
  SET_INT(CONVERT_LINKS, opts.convert_links);
  SET_INT(ADJUST_EXTENSION, opts.adjust_extension);
  SET_STR(WARC_PATH, opts.warc_path);
  SET_STR(WARC_CDX, opts.warc_cdx);
  SET_STR(WARC_DEDUP, opts.warc_dedup);
  SET_INT(WARC_MAX_SIZE, opts.warc_max_size);
  /* Opened before the crawl: a report that cannot be written is better known at once. */
  if (report_path != NULL && format != FMT_JSONL && strcmp(report_path, "-") != 0 &&
      (report_out = fopen(report_path, "w")) == NULL) {
    fprintf(stderr, "uvcrawl: cannot write the report to %s: %s\n", report_path, strerror(errno));
    return EXIT_RUNTIME;
  }
  int want_report = opts.check || (have_format && format != FMT_JSONL) ||
                    (report_path != NULL && format != FMT_JSONL);
  cli.show_progress = force_progress || (!quiet && isatty(2));
  if ((cli.report = report_new(verbose)) == NULL) {
    fputs("uvcrawl: out of memory\n", stderr);
    return EXIT_RUNTIME;
  }

  raise_fd_limit();
  signal(SIGPIPE, SIG_IGN);
  /* One pool thread per core for hashing, parsing and writing, unless the user chose: more
   * (libuv's default is 4) only crowds the loop thread off the CPU (bench/lag.py: p99 loop
   * lag 8.6 ms with 4 threads on 2 cores, 4.5 ms with 2, at the same pages/s). */
  if (getenv("UV_THREADPOOL_SIZE") == NULL) {
    char n[16];
    unsigned cores = uv_available_parallelism();
    snprintf(n, sizeof(n), "%u", cores);
    setenv("UV_THREADPOOL_SIZE", n, 1);
  }
  if (!use_threads) {
    /* Read as libuv reads it, or the renice jobs would wait for threads that do not exist. */
    unsigned long pool = strtoul(getenv("UV_THREADPOOL_SIZE"), NULL, 10);
    pool = pool < 1 ? 1 : pool > 1024 ? 1024 : pool;
    SET_INT(POOL_THREADS, pool); /* the library reads no environment: it is told */
    int perr = cli_prioritize((unsigned)pool, pool_nice, LOOP_SLICE_US);
    if (perr != 0 && !quiet)
      fprintf(stderr, "uvcrawl: warning: could not renice the thread pool: %s\n",
              uv_strerror(perr));
  }
  /* No proxy anywhere: say so, or libcurl reads five environment variables per transfer
   * (the ones it would take a proxy from; an empty one means none, as in curl). */
  if (!proxy_given) {
    static const char *const names[] = {"http_proxy", "https_proxy", "HTTPS_PROXY",
                                        "all_proxy", "ALL_PROXY"};
    int env = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
      env |= getenv(names[i]) != NULL && getenv(names[i])[0] != '\0';
    if (!env) SET_STR(PROXY, "");
  }
  /* Test hook (tests/test_mirror.py): a slow disk under every mirror write. */
  uvcrawl__test_die_on(getenv("UVCRAWL_TEST_DIE_ON"));
  const char *delay = getenv("UVCRAWL_TEST_WRITE_DELAY_MS");
  if (delay != NULL && parse_u64(delay, 60000, &v) == 0) uvcrawl__test_write_delay((unsigned)v);
  if (use_threads) {
    int code = run_threads(&cli, o, argv + optind, (size_t)(argc - optind), nthreads);
    if (code >= 0) {
      report_free(cli.report);
      return code;
    }
    err = 0;
    goto finish;
  }

  if ((err = uv_loop_init(&cli.loop)) != 0) {
    fprintf(stderr, "uvcrawl: %s\n", uv_strerror(err));
    return EXIT_RUNTIME;
  }
  if ((err = uvcrawl_create(&cli.loop, o, &cli.crawler)) != 0) {
    int usage = err == UVCRAWL_ESTATEDIR;
    if (usage)
      fprintf(stderr, "uvcrawl: --state %s: %s (--resume continues it)\n", opts.state_dir,
              uvcrawl_strerror(err));
    else
      fprintf(stderr, "uvcrawl: cannot start: %s%s%s\n", uvcrawl_strerror(err),
              opts.output_path ? ", output " : "", opts.output_path ? opts.output_path : "");
    if (opts.mirror_dir && !usage) fprintf(stderr, "uvcrawl: (mirror %s)\n", opts.mirror_dir);
    if (opts.warc_path && !usage)
      fprintf(stderr, "uvcrawl: (WARC %s%s%s)\n", opts.warc_path,
              opts.warc_dedup ? ", dedup index " : "", opts.warc_dedup ? opts.warc_dedup : "");
    cli_loop_close(&cli.loop); /* a failed create leaves no handle (include/uvcrawl.h) */
    report_free(cli.report);
    return usage ? EXIT_USAGE : EXIT_RUNTIME;
  }
  uvcrawl_set_data(cli.crawler, &cli);
  for (int i = optind; i < argc; i++) {
    if ((err = uvcrawl_add_seed(cli.crawler, argv[i])) != 0) {
      fprintf(stderr, "uvcrawl: bad URL '%s': %s\nTry 'uvcrawl --help'.\n", argv[i],
              uvcrawl_strerror(err));
      uvcrawl_close(cli.crawler, NULL, NULL);
      uv_run(&cli.loop, UV_RUN_DEFAULT);
      cli_loop_close(&cli.loop);
      report_free(cli.report);
      return EXIT_USAGE;
    }
  }
  if (redis_url != NULL) {
    char why[1024];
    err = uvcrawl_join_cluster(cli.crawler, redis_url, crawl_name, lease_ms, max_tries, why,
                               sizeof(why));
    if (err != 0) {
      fprintf(stderr, "uvcrawl: --redis %s --crawl %s: %s\n", redis_url, crawl_name,
              why[0] ? why : uvcrawl_strerror(err));
      uvcrawl_close(cli.crawler, NULL, NULL);
      uv_run(&cli.loop, UV_RUN_DEFAULT);
      cli_loop_close(&cli.loop);
      report_free(cli.report);
      return err == UVCRAWL_ECLUSTER ? EXIT_REFUSED
             : err == UVCRAWL_ENOSEED || err == UV_ENOTSUP ? EXIT_USAGE : EXIT_RUNTIME;
    }
  }
  uvcrawl_get_stats(cli.crawler, &cli.stats, sizeof(cli.stats));
  cli.seeds = (unsigned)(argc - optind);
  if (cli.stats.inflight_cap < opts.max_inflight)
    fprintf(stderr,
            "uvcrawl: warning: --max-inflight %u lowered to %u to stay within the open-file "
            "limit (ulimit -n)\n",
            opts.max_inflight, cli.stats.inflight_cap);

  if (status_spec != NULL) {
    char url[80];
    err = cli_status_start(&cli.loop, (const struct sockaddr *)&status_addr, cli.crawler,
                           cli.report, &cli.status, url, sizeof(url));
    if (err != 0) {
      fprintf(stderr, "uvcrawl: --status-listen %s: %s\n", status_spec, uv_strerror(err));
      uvcrawl_close(cli.crawler, NULL, NULL);
      uv_run(&cli.loop, UV_RUN_DEFAULT);
      cli_loop_close(&cli.loop);
      report_free(cli.report);
      return EXIT_RUNTIME;
    }
    fprintf(stderr, "status: listening on %s\n", url); /* even with -q: tools read it */
  }
  uv_signal_init(&cli.loop, &cli.sigint);
  uv_signal_init(&cli.loop, &cli.sigterm);
  uv_timer_init(&cli.loop, &cli.progress);
  cli.sigint.data = cli.sigterm.data = cli.progress.data = &cli;
  uv_signal_start(&cli.sigint, on_signal, SIGINT);
  uv_signal_start(&cli.sigterm, on_signal, SIGTERM);
  if (cli.show_progress) uv_timer_start(&cli.progress, on_progress, PROGRESS_MS, PROGRESS_MS);

  if ((err = uvcrawl_start(cli.crawler, on_result, on_done, &cli)) != 0) {
    fprintf(stderr, "uvcrawl: cannot start: %s\n", uvcrawl_strerror(err));
    return EXIT_RUNTIME;
  }
  uv_run(&cli.loop, UV_RUN_DEFAULT);
  err = cli_loop_close(&cli.loop);

finish:
  if (want_report) {
    report_write(cli.report, format, report_out);
    errno = 0;
    int bad = report_out == stdout ? fflush(stdout) != 0 || ferror(stdout)
                                   : ferror(report_out) | fclose(report_out);
    if (bad) {
      fprintf(stderr, "uvcrawl: cannot write the report to %s: %s\n",
              report_path ? report_path : "stdout", strerror(errno ? errno : EIO));
      cli.exit_code = EXIT_RUNTIME;
    }
  }
  if (!quiet) report_summary(cli.report, &cli.stats, stderr);
  if (stats_path != NULL && write_stats_json(stats_path, &cli.stats) != 0) {
    fprintf(stderr, "uvcrawl: cannot write %s: %s\n", stats_path, strerror(errno));
    cli.exit_code = EXIT_RUNTIME;
  }
  if (cli.stats.mirror_errors > 0 || cli.stats.output_errors > 0 || cli.stats.convert_errors > 0)
    cli.exit_code = EXIT_RUNTIME;
  if (cli.stats.output_errors > 0)
    fputs("uvcrawl: the records, the journal or the --save-cookies file could not all be "
          "written\n", stderr);
  if (err != 0) cli.exit_code = EXIT_RUNTIME;
  if (cli.exit_code == EXIT_OK && opts.check && report_broken_count(cli.report) > 0)
    cli.exit_code = EXIT_BROKEN;
  report_free(cli.report);
  return cli.interrupted ? EXIT_INTERRUPTED : cli.exit_code;
}
