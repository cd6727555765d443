/* uvcrawl — the command line. It uses only the public header, like any other embedder. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "uvcrawl.h"

enum {
  EXIT_OK = 0,
  EXIT_BROKEN = 1, /* reserved for link checking */
  EXIT_USAGE = 2,
  EXIT_RUNTIME = 3,
  EXIT_INTERRUPTED = 130
};

typedef struct {
  uv_loop_t loop;
  uv_signal_t sigint;
  uv_signal_t sigterm;
  uvcrawl_t *crawler;
  int quiet;
  int exit_code;
  unsigned seeds;
  unsigned seeds_failed;
  int interrupted;
  uvcrawl_stats_t stats;
} cli_t;

static const char usage_text[] =
    "Usage: uvcrawl [options] URL...\n"
    "Crawl every page reachable from the seed URLs on their own hosts.\n"
    "\n"
    "  -o, --output FILE        JSON Lines record of every fetched URL ('-' = stdout)\n"
    "      --max-inflight N     requests in flight at once (default 64; clamped to the fd limit)\n"
    "      --max-depth N        link hops from a seed (default: unlimited)\n"
    "      --max-pages N        stop after N fetched URLs (default: unlimited)\n"
    "      --max-body BYTES     largest body kept (default 33554432)\n"
    "      --max-buffer MB      bodies waiting for the thread pool (default 256)\n"
    "      --timeout MS         whole request (default 60000; 0 = none)\n"
    "      --connect-timeout MS (default 10000)\n"
    "      --user-agent STRING  (default uvcrawl/VERSION)\n"
    "      --mirror DIR         save every 2xx body under DIR/host[:port]/path (like wget -r)\n"
    "      --fsync              fsync each mirrored file before renaming it into place\n"
    "      --stats-json FILE    write the final statistics (pages, loop lag, ...) as JSON\n"
    "      --engine loop|threads  the event loop (default), or blocking worker threads\n"
    "      --threads N          workers for --engine threads (default 64)\n"
    "  -q, --quiet              no summary on stderr\n"
    "  -h, --help               this text\n"
    "  -V, --version            print the version\n"
    "\n"
    "Exit status: 0 the crawl finished; 2 bad usage; 3 runtime failure (no seed could be\n"
    "fetched, a body could not be saved to the mirror, output could not be written, the\n"
    "crawler could not start);\n"
    "130 interrupted (SIGINT/SIGTERM; the records so far are written).\n";

static int usage_error(const char *fmt, const char *arg) {
  fputs("uvcrawl: ", stderr);
  fprintf(stderr, fmt, arg);
  fputs("\nTry 'uvcrawl --help'.\n", stderr);
  return EXIT_USAGE;
}

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

static void on_result(uvcrawl_t *crawler, const uvcrawl_result_t *r) {
  cli_t *cli = uvcrawl_get_data(crawler);
  if (r->depth == 0 && r->status == 0 && r->error != NULL) {
    fprintf(stderr, "uvcrawl: %s: %s\n", r->url, r->error);
    if (++cli->seeds_failed == cli->seeds) cli->exit_code = EXIT_RUNTIME;
  }
}

static void on_close(uvcrawl_t *crawler) { (void)crawler; }

static void on_done(uvcrawl_t *crawler, int status) {
  cli_t *cli = uvcrawl_get_data(crawler);
  (void)status;
  uvcrawl_get_stats(crawler, &cli->stats);
  uv_close((uv_handle_t *)&cli->sigint, NULL);
  uv_close((uv_handle_t *)&cli->sigterm, NULL);
  uvcrawl_close(crawler, on_close);
}

static void on_signal(uv_signal_t *h, int signum) {
  cli_t *cli = h->data;
  (void)signum;
  if (cli->interrupted++) {
    fputs("uvcrawl: interrupted twice, exiting now\n", stderr);
    exit(EXIT_INTERRUPTED);
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
  fprintf(f,
          "{\"pages\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"bytes\":%" PRIu64
          ",\"seen\":%" PRIu64 ",\"wall_ms\":%.1f,\"pages_per_s\":%.1f"
          ",\"inflight_cap\":%u,\"inflight_max\":%u,\"fds_max\":%u"
          ",\"mirror_errors\":%" PRIu64 ",\"buffered_max\":%" PRIu64
          ",\"lag_p50_ms\":%.3f,\"lag_p99_ms\":%.3f,\"lag_max_ms\":%.3f}\n",
          s->pages, s->errors, s->bytes, s->seen, s->wall_ms,
          s->wall_ms > 0 ? (double)s->pages * 1000.0 / s->wall_ms : 0.0, s->inflight_cap,
          s->inflight_max, s->fds_max, s->mirror_errors, s->buffered_max, s->lag_p50_ms,
          s->lag_p99_ms, s->lag_max_ms);
  return f == stdout ? fflush(f) : fclose(f);
}

static void print_summary(const cli_t *cli) {
  const uvcrawl_stats_t *s = &cli->stats;
  double secs = s->wall_ms / 1000.0;
  fprintf(stderr,
          "uvcrawl: %" PRIu64 " pages, %" PRIu64 " errors, %" PRIu64 " bytes in %.2f s "
          "(%.0f pages/s); in flight max %u of cap %u; sockets max %u\n",
          s->pages, s->errors, s->bytes, secs, secs > 0 ? (double)s->pages / secs : 0.0,
          s->inflight_max, s->inflight_cap, s->fds_max);
  if (s->lag_max_ms > 0)
    fprintf(stderr, "uvcrawl: loop lag p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", s->lag_p50_ms,
            s->lag_p99_ms, s->lag_max_ms);
  if (s->mirror_errors > 0)
    fprintf(stderr, "uvcrawl: %" PRIu64 " bodies could not be saved to the mirror\n",
            s->mirror_errors);
}

/* --engine threads: the same crawl on blocking worker threads, for comparison. */
static int run_threads(const uvcrawl_options_t *opts, char **seeds, size_t n, unsigned threads,
                       int quiet) {
  cli_t cli;
  memset(&cli, 0, sizeof(cli));
  int err = uvcrawl_run_threads(opts, (const char *const *)seeds, n, threads, NULL, &cli.stats);
  if (err == UVCRAWL_EURL || err == UVCRAWL_ESCHEME) {
    fprintf(stderr, "uvcrawl: bad URL: %s\nTry 'uvcrawl --help'.\n", uvcrawl_strerror(err));
    return EXIT_USAGE;
  }
  if (err != 0) {
    fprintf(stderr, "uvcrawl: %s\n", uvcrawl_strerror(err));
    return EXIT_RUNTIME;
  }
  if (!quiet) print_summary(&cli);
  return EXIT_OK;
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"output", required_argument, NULL, 'o'},
      {"max-inflight", required_argument, NULL, 1},
      {"max-depth", required_argument, NULL, 2},
      {"max-pages", required_argument, NULL, 3},
      {"max-body", required_argument, NULL, 4},
      {"max-buffer", required_argument, NULL, 5},
      {"timeout", required_argument, NULL, 6},
      {"connect-timeout", required_argument, NULL, 7},
      {"user-agent", required_argument, NULL, 8},
      {"engine", required_argument, NULL, 9},
      {"mirror", required_argument, NULL, 11},
      {"fsync", no_argument, NULL, 12},
      {"stats-json", required_argument, NULL, 13},
      {"threads", required_argument, NULL, 10},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0},
  };
  uvcrawl_options_t opts;
  cli_t cli;
  uint64_t v;
  int ch, err;
  int use_threads = 0;
  unsigned nthreads = 64;
  const char *stats_path = NULL;

  memset(&cli, 0, sizeof(cli));
  uvcrawl_options_init(&opts);
  opterr = 0;
  while ((ch = getopt_long(argc, argv, ":o:qhV", longopts, NULL)) != -1) {
    switch (ch) {
    case 'o': opts.output_path = optarg; break;
    case 'q': cli.quiet = 1; break;
    case 'h': fputs(usage_text, stdout); return EXIT_OK;
    case 'V': printf("uvcrawl %s\n", uvcrawl_version()); return EXIT_OK;
    case 1:
      if (parse_u64(optarg, 1000000, &v) || v == 0)
        return usage_error("--max-inflight needs a number from 1 to 1000000, not '%s'", optarg);
      opts.max_inflight = (unsigned)v;
      break;
    case 2:
      if (parse_u64(optarg, 1000000, &v))
        return usage_error("--max-depth needs a number from 0, not '%s'", optarg);
      opts.max_depth = (int)v;
      break;
    case 3:
      if (parse_u64(optarg, UINT64_MAX, &v))
        return usage_error("--max-pages needs a number, not '%s'", optarg);
      opts.max_pages = v;
      break;
    case 4:
      if (parse_u64(optarg, UINT64_MAX, &v) || v == 0)
        return usage_error("--max-body needs a number of bytes above 0, not '%s'", optarg);
      opts.max_body = v;
      break;
    case 5:
      if (parse_u64(optarg, 1u << 20, &v) || v == 0)
        return usage_error("--max-buffer needs a number of MB above 0, not '%s'", optarg);
      opts.max_buffer = v << 20;
      break;
    case 6:
      if (parse_u64(optarg, 86400000, &v))
        return usage_error("--timeout needs milliseconds, not '%s'", optarg);
      opts.timeout_ms = (long)v;
      break;
    case 7:
      if (parse_u64(optarg, 86400000, &v))
        return usage_error("--connect-timeout needs milliseconds, not '%s'", optarg);
      opts.connect_timeout_ms = (long)v;
      break;
    case 8: opts.user_agent = optarg; break;
    case 9:
      if (strcmp(optarg, "loop") != 0 && strcmp(optarg, "threads") != 0)
        return usage_error("--engine is 'loop' or 'threads', not '%s'", optarg);
      use_threads = strcmp(optarg, "threads") == 0;
      break;
    case 11: opts.mirror_dir = optarg; break;
    case 12: opts.fsync = 1; break;
    case 13: stats_path = optarg; break;
    case 10:
      if (parse_u64(optarg, 100000, &v) || v == 0)
        return usage_error("--threads needs a number from 1 to 100000, not '%s'", optarg);
      nthreads = (unsigned)v;
      break;
    case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
    default: return usage_error("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind >= argc) {
    fputs(usage_text, stderr);
    return EXIT_USAGE;
  }

  raise_fd_limit();
  signal(SIGPIPE, SIG_IGN);
  /* One pool thread per core for hashing, parsing and writing, unless the user chose. */
  if (getenv("UV_THREADPOOL_SIZE") == NULL) {
    char n[16];
    snprintf(n, sizeof(n), "%u", uv_available_parallelism() < 4 ? 4 : uv_available_parallelism());
    setenv("UV_THREADPOOL_SIZE", n, 1);
  }
  if (use_threads) return run_threads(&opts, argv + optind, (size_t)(argc - optind), nthreads,
                                      cli.quiet);
  if ((err = uv_loop_init(&cli.loop)) != 0) {
    fprintf(stderr, "uvcrawl: %s\n", uv_strerror(err));
    return EXIT_RUNTIME;
  }
  if ((err = uvcrawl_create(&cli.loop, &opts, &cli.crawler)) != 0) {
    fprintf(stderr, "uvcrawl: cannot start: %s%s%s\n", uvcrawl_strerror(err),
            opts.output_path ? " (output " : "", opts.output_path ? opts.output_path : "");
    if (opts.output_path) fputs(")\n", stderr);
    uv_loop_close(&cli.loop);
    return EXIT_RUNTIME;
  }
  uvcrawl_set_data(cli.crawler, &cli);
  for (int i = optind; i < argc; i++) {
    if ((err = uvcrawl_add_seed(cli.crawler, argv[i])) != 0) {
      fprintf(stderr, "uvcrawl: bad URL '%s': %s\nTry 'uvcrawl --help'.\n", argv[i],
              uvcrawl_strerror(err));
      uvcrawl_close(cli.crawler, NULL);
      uv_run(&cli.loop, UV_RUN_DEFAULT);
      uv_loop_close(&cli.loop);
      return EXIT_USAGE;
    }
  }
  uvcrawl_get_stats(cli.crawler, &cli.stats);
  cli.seeds = (unsigned)cli.stats.queued;
  if (cli.stats.inflight_cap < opts.max_inflight)
    fprintf(stderr,
            "uvcrawl: warning: --max-inflight %u lowered to %u to stay within the open-file "
            "limit (ulimit -n)\n",
            opts.max_inflight, cli.stats.inflight_cap);

  uv_signal_init(&cli.loop, &cli.sigint);
  uv_signal_init(&cli.loop, &cli.sigterm);
  cli.sigint.data = cli.sigterm.data = &cli;
  uv_signal_start(&cli.sigint, on_signal, SIGINT);
  uv_signal_start(&cli.sigterm, on_signal, SIGTERM);

  if ((err = uvcrawl_start(cli.crawler, on_result, on_done)) != 0) {
    fprintf(stderr, "uvcrawl: cannot start: %s\n", uvcrawl_strerror(err));
    return EXIT_RUNTIME;
  }
  uv_run(&cli.loop, UV_RUN_DEFAULT);
  err = uv_loop_close(&cli.loop);
  if (!cli.quiet) print_summary(&cli);
  if (stats_path != NULL && write_stats_json(stats_path, &cli.stats) != 0) {
    fprintf(stderr, "uvcrawl: cannot write %s: %s\n", stats_path, strerror(errno));
    return EXIT_RUNTIME;
  }
  if (cli.stats.mirror_errors > 0 && cli.exit_code == 0) cli.exit_code = EXIT_RUNTIME;
  if (cli.interrupted) return EXIT_INTERRUPTED;
  return err == 0 ? cli.exit_code : EXIT_RUNTIME;
}
