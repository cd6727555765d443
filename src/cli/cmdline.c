/* The command line (cmdline.h): --help, the options in getopt's table, each group's parser,
 * the checks of their combinations. Every message and exit status here is part of the CLI's
 * interface (tests/test_cli.py); each option's number is apart from the others' ranges. */
#include "cmdline.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "status.h"
#include "units.h"
#include "version.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* A group's parser on an option of another group. */
#define NOT_MINE (-2)

/* getopt code of --status-listen: apart from the list below, clear of its values. */
enum { OPT_STATUS_LISTEN = 1000 };
/* The shared crawl's options: a range of their own, for the same reason. */
enum { OPT_REDIS = 1100, OPT_CRAWL, OPT_CLUSTER_STATUS, OPT_EXPORT, OPT_LEASE, OPT_MAX_TRIES };
enum { OPT_CONVERT_LINKS = 1200 }; /* away from the list's end too: fewer merge conflicts */

enum {
  OPT_INFLIGHT = 256, OPT_DEPTH, OPT_PAGES, OPT_BODY, OPT_BUFFER, OPT_POOL_NICE, OPT_TIMEOUT,
  OPT_CONNECT, OPT_UA, OPT_ENGINE, OPT_THREADS, OPT_MIRROR, OPT_FSYNC, OPT_STATS, OPT_CHECK,
  OPT_ACCEPT, OPT_FORMAT, OPT_VERBOSE, OPT_PROGRESS, OPT_STATE, OPT_RESUME, OPT_SYNC, OPT_PER_HOST,
  OPT_DELAY, OPT_RANDOM_DELAY, OPT_IGNORE_ROBOTS, OPT_RETRIES, OPT_MAX_RA, OPT_LOW_SPEED,
  OPT_LOW_SPEED_TIME, OPT_MAX_URL, OPT_MAX_LINKS, OPT_MAX_REDIRECTS, OPT_INCLUDE, OPT_EXCLUDE,
  OPT_SCOPE, OPT_EXCLUDE_SCHEME, OPT_MAX_PARSE, OPT_SITEMAPS, OPT_HTTP_VERSION, OPT_CACERT,
  OPT_HEADER, OPT_USER, OPT_NETRC, OPT_LOAD_COOKIES, OPT_SAVE_COOKIES, OPT_PROXY, OPT_REPORT,
  OPT_CONFIG, OPT_PARSER, OPT_WARC, OPT_WARC_MAX, OPT_WARC_CDX, OPT_WARC_DEDUP
};

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
    "                           writes -o records of what it fetched; all exit 0 at the end;\n"
    "                           redis://[[USER]:PASSWORD@]HOST... sends AUTH (%XX escapes;\n"
    "                           --config keeps the password off the command line)\n"
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
  return CLI_EXIT_USAGE;
}

/* The crawl's options being filled: the SET_ macros' target. */
static uvcrawl_options_t *o;

void cli_set_or_die(int err) {
  if (err == 0) return;
  fprintf(stderr, "uvcrawl: cannot set an option: %s\n", uvcrawl_strerror(err));
  exit(CLI_EXIT_RUNTIME);
}
#define SET_INT(name, v) \
  cli_set_or_die(uvcrawl_options_set_int(o, UVCRAWL_OPT_##name, (int64_t)(v)))
#define SET_STR(name, v) cli_set_or_die(uvcrawl_options_set_str(o, UVCRAWL_OPT_##name, v))
#define SET_STRV(name, v) cli_set_or_die(uvcrawl_options_set_strv(o, UVCRAWL_OPT_##name, v))

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

/* Static: they live as long as the process, whichever way main returns (the options hold
 * copies of the lists; the seeds and where the arguments came from are these). */
static patterns_t includes, excludes, headers;
static cli_args_t all_args;

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
  if (cli_args_push(all, argv[0], 0, NULL) != 0) return CLI_EXIT_RUNTIME;
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
    const char *path = NULL;
    if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) path = argv[++i];
    else if (strncmp(argv[i], "--config=", 9) == 0) path = argv[i] + 9;
    if (path == NULL) continue;
    if (cli_config_read(path, longopts, all, err, sizeof(err)) != 0) {
      fprintf(stderr, "uvcrawl: --config %s\nTry 'uvcrawl --help'.\n", err);
      return CLI_EXIT_USAGE;
    }
    (*nread)++;
  }
  for (int i = 1; i < argc; i++)
    if (cli_args_push(all, argv[i], 0, NULL) != 0) return CLI_EXIT_RUNTIME;
  return 0;
}

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

/* -o, -q, -h, -V, the report, the statistics and the status endpoint. */
static int opt_general(cli_cmdline_t *c, int ch, const char *arg) {
  switch (ch) {
  case 'q': c->quiet = 1; break;
  case 'h': usage(stdout); return CLI_EXIT_OK;
  case 'V': cli_print_version(stdout); return CLI_EXIT_OK;
  case OPT_STATS: c->stats_path = arg; break;
  case OPT_STATUS_LISTEN:
    if (cli_status_parse_addr(arg, &c->status_addr) != 0)
      return usage_error("--status-listen needs [ADDR:]PORT (e.g. 8080, 127.0.0.1:0, "
                         "[::1]:8080), not '%s'", arg);
    c->status_spec = arg;
    break;
  case OPT_CHECK: c->check = 1; break;
  case OPT_ACCEPT: {
    int err = uvcrawl_options_set_str(o, UVCRAWL_OPT_ACCEPT, arg);
    if (err != 0) return usage_error("--accept %s", uvcrawl_strerror(err));
    break;
  }
  case OPT_FORMAT:
    if (report_parse_format(arg, &c->format) != 0)
      return usage_error("--format is text, json, jsonl, csv, junit or markdown, not '%s'", arg);
    c->have_format = 1;
    break;
  case OPT_VERBOSE: c->verbose = 1; break;
  case OPT_PROGRESS: c->force_progress = 1; break;
  case OPT_REPORT: c->report_path = arg; break;
  case OPT_CONFIG: c->configs_named++; break; /* read by gather_args, before the rest */
  default: return NOT_MINE;
  }
  return CLI_GO_ON;
}

/* What the crawl keeps: records, mirror, WARC, journal. */
static int opt_saving(cli_cmdline_t *c, int ch, const char *arg) {
  switch (ch) {
  case 'o': c->output_path = arg; break;
  case OPT_MIRROR: c->mirror_dir = arg; break;
  case OPT_FSYNC: SET_INT(FSYNC, 1); break;
  case 'p': c->page_requisites = 1; break;
  case OPT_CONVERT_LINKS: c->convert_links = 1; break;
  case 'E': c->adjust_extension = 1; break;
  case OPT_WARC: c->warc_path = arg; break;
  case OPT_WARC_CDX: c->warc_cdx = arg; break;
  case OPT_WARC_DEDUP: c->warc_dedup = arg; break;
  case OPT_WARC_MAX:
    if (cli_parse_size(arg, INT64_MAX, &c->warc_max_size) != 0 || c->warc_max_size == 0)
      return usage_error("--warc-max-size needs a size above 0 (e.g. 1G), not '%s'", arg);
    break;
  case OPT_STATE: c->state_dir = arg; break;
  case OPT_RESUME: c->resume = 1; break;
  default: return NOT_MINE;
  }
  return CLI_GO_ON;
}

/* The engine and the counts with messages of their own. */
static int opt_engine(cli_cmdline_t *c, int ch, const char *arg) {
  uint64_t v;
  switch (ch) {
  case OPT_INFLIGHT:
    if (cli_parse_count(arg, 1000000, &v) || v == 0)
      return usage_error("--max-inflight needs a number from 1 to 1000000, not '%s'", arg);
    c->max_inflight = (unsigned)v;
    break;
  case OPT_DEPTH:
    if (cli_parse_count(arg, 1000000, &v))
      return usage_error("--max-depth needs a number from 0, not '%s'", arg);
    SET_INT(MAX_DEPTH, v);
    break;
  case OPT_PAGES:
    if (cli_parse_count(arg, UINT64_MAX, &v))
      return usage_error("--max-pages needs a number, not '%s'", arg);
    SET_INT(MAX_PAGES, v);
    break;
  case OPT_POOL_NICE:
    if (cli_parse_count(arg, 19, &v))
      return usage_error("--pool-nice needs a number from 0 to 19, not '%s'", arg);
    c->pool_nice = (int)v;
    break;
  case OPT_PARSER:
    if (strcmp(arg, "fast") != 0 && strcmp(arg, "gumbo") != 0)
      return usage_error("--parser is 'fast' or 'gumbo', not '%s'", arg);
    SET_INT(PARSER, strcmp(arg, "gumbo") == 0 ? UVCRAWL_PARSER_GUMBO : UVCRAWL_PARSER_FAST);
    break;
  case OPT_ENGINE:
    if (strcmp(arg, "loop") != 0 && strcmp(arg, "threads") != 0)
      return usage_error("--engine is 'loop' or 'threads', not '%s'", arg);
    c->use_threads = strcmp(arg, "threads") == 0;
    break;
  case OPT_THREADS:
    if (cli_parse_count(arg, 100000, &v) || v == 0)
      return usage_error("--threads needs a number from 1 to 100000, not '%s'", arg);
    c->nthreads = (unsigned)v;
    break;
  default: return NOT_MINE;
  }
  return CLI_GO_ON;
}

/* Sizes: one parser (units.c) and one message. */
static int opt_size(cli_cmdline_t *c, int ch, const char *arg) {
  static const struct {
    int opt;
    const char *name;
    uint64_t min, max;
  } lim[] = {{OPT_BODY, "--max-body", 1, UINT64_MAX},
             {OPT_BUFFER, "--max-buffer", 1, (uint64_t)1 << 40},
             {OPT_MAX_PARSE, "--max-parse", 0, UINT64_MAX},
             {OPT_LOW_SPEED, "--low-speed", 0, 1u << 30}};
  size_t k = 0;
  uint64_t v;
  (void)c;
  while (k < COUNT_OF(lim) && lim[k].opt != ch) k++;
  if (k == COUNT_OF(lim)) return NOT_MINE;
  if (cli_parse_size(arg, lim[k].max, &v) != 0) return bad_size(lim[k].name, lim[k].max, arg);
  if (v < lim[k].min) return usage_error("%s needs a size above 0", lim[k].name);
  if (ch == OPT_BODY) SET_INT(MAX_BODY, v);
  else if (ch == OPT_BUFFER) SET_INT(MAX_BUFFER, v);
  else if (ch == OPT_MAX_PARSE) SET_INT(MAX_PARSE, v);
  else SET_INT(LOW_SPEED_BYTES, v);
  return CLI_GO_ON;
}

/* Durations: one parser (units.c) and one message. */
static int opt_duration(cli_cmdline_t *c, int ch, const char *arg) {
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
  uint64_t v;
  (void)c;
  while (k < COUNT_OF(lim) && lim[k].opt != ch) k++;
  if (k == COUNT_OF(lim)) return NOT_MINE;
  if (cli_parse_duration(arg, lim[k].max_ms, &v) != 0)
    return bad_duration(lim[k].name, lim[k].max_ms, arg);
  if (v < lim[k].min_ms) return usage_error("%s needs a duration above 0", lim[k].name);
  switch (ch) {
  case OPT_TIMEOUT: SET_INT(TIMEOUT_MS, v); break;
  case OPT_CONNECT: SET_INT(CONNECT_TIMEOUT_MS, v); break;
  case OPT_DELAY: SET_INT(DELAY_MS, v); break;
  case OPT_MAX_RA: SET_INT(MAX_RETRY_AFTER_MS, v); break;
  case OPT_SYNC: SET_INT(SYNC_INTERVAL_MS, v); break;
  default: SET_INT(LOW_SPEED_SECS, (v + 999) / 1000); break; /* curl counts seconds */
  }
  return CLI_GO_ON;
}

/* Plain counts: one parser and one message. */
static int opt_count(cli_cmdline_t *c, int ch, const char *arg) {
  static const struct {
    int opt;
    const char *name;
    uint64_t max;
  } lim[] = {{OPT_PER_HOST, "--per-host", 100000},     {OPT_RETRIES, "--retries", 100},
             {OPT_MAX_URL, "--max-url-len", 1u << 20},
             {OPT_MAX_LINKS, "--max-links", 100000000},
             {OPT_MAX_REDIRECTS, "--max-redirects", 1000}};
  size_t k = 0;
  uint64_t v;
  (void)c;
  while (k < COUNT_OF(lim) && lim[k].opt != ch) k++;
  if (k == COUNT_OF(lim)) return NOT_MINE;
  if (cli_parse_count(arg, lim[k].max, &v)) {
    char why[128];
    snprintf(why, sizeof(why), "%s needs a number from 0 to %" PRIu64 ", not '%%s'",
             lim[k].name, lim[k].max);
    return usage_error(why, arg);
  }
  switch (ch) {
  case OPT_PER_HOST: SET_INT(PER_HOST, v); break;
  case OPT_RETRIES: SET_INT(RETRIES, v); break;
  case OPT_MAX_URL: SET_INT(MAX_URL_LEN, v); break;
  case OPT_MAX_LINKS: SET_INT(MAX_LINKS, v); break;
  default: SET_INT(MAX_REDIRECTS, v); break;
  }
  return CLI_GO_ON;
}

/* Which URLs the crawl takes, and robots.txt and sitemaps. */
static int opt_scope(cli_cmdline_t *c, int ch, const char *arg) {
  int err;
  (void)c;
  switch (ch) {
  case OPT_RANDOM_DELAY: SET_INT(RANDOM_DELAY, 1); break;
  case OPT_IGNORE_ROBOTS: SET_INT(IGNORE_ROBOTS, 1); break;
  case OPT_SITEMAPS: SET_INT(SITEMAPS, 1); break;
  case OPT_INCLUDE:
  case OPT_EXCLUDE:
    if (add_pattern(ch == OPT_INCLUDE ? &includes : &excludes, arg) != 0) {
      fputs("uvcrawl: out of memory\n", stderr);
      return CLI_EXIT_RUNTIME;
    }
    break;
  case OPT_EXCLUDE_SCHEME:
    if (strcmp(arg, "http") != 0 && strcmp(arg, "https") != 0)
      return usage_error("--exclude-scheme is http or https, not '%s'", arg);
    if (add_pattern(&excludes, strcmp(arg, "http") == 0 ? "^http:" : "^https:") != 0)
      return CLI_EXIT_RUNTIME;
    break;
  case OPT_SCOPE:
    if ((err = uvcrawl_options_set_str(o, UVCRAWL_OPT_SCOPE, arg)) != 0)
      return usage_error("--scope: %s", uvcrawl_strerror(err));
    break;
  default: return NOT_MINE;
  }
  return CLI_GO_ON;
}

/* --header: 'Name: value', or 'Name:' (also curl's 'Name;') to drop one. */
static int opt_header(const char *arg) {
  size_t name = strcspn(arg, ":;");
  int ok = name > 0 && arg[name] != '\0' && strpbrk(arg, "\r\n") == NULL &&
           strcspn(arg, " \t") >= name && (arg[name] == ':' || arg[name + 1] == '\0');
  if (!ok)
    return usage_error("--header needs 'Name: value' (or 'Name:' to drop one), not '%s'", arg);
  if (add_pattern(&headers, arg) != 0) {
    fputs("uvcrawl: out of memory\n", stderr);
    return CLI_EXIT_RUNTIME;
  }
  return CLI_GO_ON;
}

/* HTTP, authentication, cookies, proxy and TLS. */
static int opt_http(cli_cmdline_t *c, int ch, const char *arg) {
  switch (ch) {
  case OPT_UA:
    if (uvcrawl_options_set_str(o, UVCRAWL_OPT_USER_AGENT, arg) != 0)
      return usage_error("--user-agent cannot hold a line break: '%s'", arg);
    break;
  case OPT_HTTP_VERSION:
    if (strcmp(arg, "1.1") == 0) SET_INT(HTTP_VERSION, 1);
    else if (strcmp(arg, "2") == 0) SET_INT(HTTP_VERSION, 2);
    else return usage_error("--http-version is 1.1 or 2, not '%s'", arg);
    break;
  case OPT_CACERT:
  case OPT_LOAD_COOKIES:
    /* Said once here rather than as an error on every URL (or, for cookies, not at all:
     * libcurl reads a missing file as an empty one). */
    if (access(arg, R_OK) != 0) {
      char why[1024];
      snprintf(why, sizeof(why), "%s cannot read '%s': %s",
               ch == OPT_CACERT ? "--cacert" : "--load-cookies", arg, strerror(errno));
      return usage_error("%s", why);
    }
    if (ch == OPT_CACERT) SET_STR(CACERT, arg);
    else SET_STR(COOKIE_LOAD, arg);
    break;
  case OPT_SAVE_COOKIES: SET_STR(COOKIE_SAVE, arg); break;
  case 'k': SET_INT(INSECURE, 1); break;
  case OPT_HEADER: return opt_header(arg);
  case OPT_USER:
    if (strchr(arg, ':') == NULL)
      return usage_error("%s", "--user needs USER:PASSWORD (uvcrawl does not prompt)");
    SET_STR(USERPWD, arg);
    break;
  case OPT_NETRC: SET_INT(NETRC, 1); break;
  case OPT_PROXY:
    SET_STR(PROXY, arg);
    c->proxy_given = 1;
    break;
  default: return NOT_MINE;
  }
  return CLI_GO_ON;
}

/* A crawl shared through Redis. */
static int opt_cluster(cli_cmdline_t *c, int ch, const char *arg) {
  uint64_t v;
  switch (ch) {
  case OPT_REDIS:
    if (strncmp(arg, "redis://", 8) != 0 || arg[8] == '\0')
      return usage_error("%s", "--redis needs redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]");
    c->redis_url = arg;
    break;
  case OPT_CRAWL:
    if (*arg == '\0' || strlen(arg) > 200 || strpbrk(arg, "{}\r\n \t") != NULL)
      return usage_error("--crawl needs a name (at most 200 bytes, no spaces or braces), "
                         "not '%s'", arg);
    c->crawl_name = arg;
    break;
  case OPT_CLUSTER_STATUS: c->cluster_status = 1; break;
  case OPT_EXPORT: c->cluster_export = 1; break;
  case OPT_LEASE:
    if (cli_parse_duration(arg, 86400000, &v) != 0 || v < 100)
      return usage_error("--lease needs a duration from 100ms to 1 day, not '%s'", arg);
    c->lease_ms = (unsigned)v;
    break;
  case OPT_MAX_TRIES:
    if (cli_parse_count(arg, 1000, &v) || v == 0)
      return usage_error("--max-tries needs a number from 1 to 1000, not '%s'", arg);
    c->max_tries = (unsigned)v;
    break;
  default: return NOT_MINE;
  }
  return CLI_GO_ON;
}

/* One option getopt returned: its group's parser takes it. */
static int parse_option(cli_cmdline_t *c, int ch, const char *arg, char **argv) {
  static int (*const groups[])(cli_cmdline_t *, int, const char *) = {
      opt_general, opt_saving, opt_engine, opt_size,   opt_duration,
      opt_count,   opt_scope,  opt_http,   opt_cluster};
  for (size_t i = 0; i < COUNT_OF(groups); i++) {
    int code = groups[i](c, ch, arg);
    if (code != NOT_MINE) return code;
  }
  if (ch == ':') return usage_error("option '%s' needs a value", argv[optind - 1]);
  return usage_error("unknown option '%s'", argv[optind - 1]);
}

/* Where the option getopt has just read came from, for usage_error(). */
static void note_where(int argc) {
  /* optind - 1 is the option's own argument, or its value's (both on the command line). */
  static char where_buf[1100];
  const char *where = optind >= 1 && optind <= argc ? all_args.where[optind - 1] : NULL;
  snprintf(where_buf, sizeof(where_buf), "%s%s", where ? where : "", where ? ": " : "");
  arg_where = where_buf;
}

/* The lists, and the combinations every run checks. */
static int check_common(const cli_cmdline_t *c) {
  int err;
  SET_STRV(HEADERS, headers.v);
  if ((err = uvcrawl_options_set_strv(o, UVCRAWL_OPT_INCLUDE, includes.v)) != 0 ||
      (err = uvcrawl_options_set_strv(o, UVCRAWL_OPT_EXCLUDE, excludes.v)) != 0)
    return usage_error("--include/--exclude: %s", uvcrawl_strerror(err));
  if (c->resume && c->state_dir == NULL) return usage_error("%s", "--resume needs --state DIR");
  if ((c->redis_url != NULL) != (c->crawl_name != NULL))
    return usage_error("%s", "--redis and --crawl go together");
  if ((c->cluster_status || c->cluster_export) && c->redis_url == NULL)
    return usage_error("%s", "--status and --export need --redis URL --crawl NAME");
  if (c->cluster_status && c->cluster_export)
    return usage_error("%s", "--status or --export, not both");
  return CLI_GO_ON;
}

int cli_cmdline_parse(int argc, char **argv, uvcrawl_options_t *opts, cli_cmdline_t *cmd) {
  int ch, code;
  o = opts;
  *cmd = (cli_cmdline_t){.max_inflight = 64, .pool_nice = 10, .nthreads = 64,
                         .format = FMT_TEXT, .lease_ms = 30000, .max_tries = 5};
  if ((code = gather_args(argc, argv, longopts, &all_args, &cmd->configs_read)) != 0)
    return code;
  argc = (int)all_args.n;
  argv = all_args.argv;
  opterr = 0;
  while ((ch = getopt_long(argc, argv, ":o:qhkVpE", longopts, NULL)) != -1) {
    note_where(argc);
    if ((code = parse_option(cmd, ch, optarg, argv)) != CLI_GO_ON) return code;
  }
  arg_where = "";
  cmd->seeds = argv + optind;
  cmd->n_seeds = (size_t)(argc - optind);
  return check_common(cmd);
}

/* The combinations a crawl checks; --format also picks the records' file and --check. */
static int check_crawl(cli_cmdline_t *c) {
  /* (--sitemaps and --max-pages: uvcrawl_join_cluster() refuses them, exit 2 as well.) */
  if (c->redis_url != NULL && (c->use_threads || c->check || c->state_dir))
    return usage_error("%s", "--redis does not go with --engine threads, --check, --state, "
                             "--sitemaps or --max-pages");
  if (c->n_seeds == 0 && !c->resume && c->redis_url == NULL) {
    usage(stderr);
    return CLI_EXIT_USAGE;
  }
  if (c->configs_named != c->configs_read)
    return usage_error("%s", "--config must be spelled out in full (it is read first)");
  if (c->format == FMT_JSONL && c->report_path != NULL) {
    /* The jsonl report is the records: --report names their file. */
    if (c->output_path != NULL && strcmp(c->output_path, c->report_path) != 0)
      return usage_error("%s", "--format jsonl: the report is the records; give -o FILE or "
                               "--report FILE, not both");
    c->output_path = c->report_path;
  }
  if (c->format == FMT_JSONL && c->output_path == NULL) c->output_path = "-";
  if (c->have_format && c->format != FMT_JSONL && c->format != FMT_TEXT) c->check = 1;
  if (c->check && c->use_threads)
    return usage_error("%s", "--check works with --engine loop only");
  if (c->warc_path != NULL && c->use_threads)
    return usage_error("%s", "--warc works with --engine loop only");
  if (c->warc_path == NULL && (c->warc_cdx || c->warc_dedup || c->warc_max_size))
    return usage_error("%s", "--warc-cdx, --warc-dedup and --warc-max-size need --warc FILE");
  if (c->status_spec != NULL && c->use_threads)
    return usage_error("%s", "--status-listen works with --engine loop only");
  if ((c->page_requisites || c->convert_links || c->adjust_extension) && c->use_threads)
    return usage_error("%s", "--page-requisites, --convert-links and --adjust-extension work "
                             "with --engine loop only");
  if ((c->convert_links || c->adjust_extension) && c->mirror_dir == NULL)
    return usage_error("%s", "--convert-links and --adjust-extension need --mirror DIR");
  return CLI_GO_ON;
}

int cli_cmdline_check(cli_cmdline_t *cmd, uvcrawl_options_t *opts) {
  int code;
  o = opts;
  if ((code = check_crawl(cmd)) != CLI_GO_ON) return code;
  SET_STR(OUTPUT_PATH, cmd->output_path);
  SET_STR(MIRROR_DIR, cmd->mirror_dir);
  SET_STR(STATE_DIR, cmd->state_dir);
  SET_INT(MAX_INFLIGHT, cmd->max_inflight);
  SET_INT(CHECK, cmd->check);
  SET_INT(RESUME, cmd->resume);
  SET_INT(PAGE_REQUISITES, cmd->page_requisites);
  SET_INT(CONVERT_LINKS, cmd->convert_links);
  SET_INT(ADJUST_EXTENSION, cmd->adjust_extension);
  SET_STR(WARC_PATH, cmd->warc_path);
  SET_STR(WARC_CDX, cmd->warc_cdx);
  SET_STR(WARC_DEDUP, cmd->warc_dedup);
  SET_INT(WARC_MAX_SIZE, cmd->warc_max_size);
  return CLI_GO_ON;
}
