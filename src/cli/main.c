/* uvcrawl — the command line's run: the crawl on the caller's loop (or --engine threads), its
 * status line, signals and status endpoint, then the report and the exit status. The command
 * line itself is cmdline.c. Like any other embedder it uses the public header, but for
 * --engine threads and the test hooks, which are the internal library's. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "async_send.h"
#include "cmdline.h"
#include "engine_threads.h"
#include "priority.h"
#include "report.h"
#include "statsjson.h"
#include "status.h"
#include "testhooks.h"
#include "units.h"
#include "uvcrawl.h"

/* The loop thread's scheduler slice: short, so it preempts busy pool threads on wakeup. */
#define LOOP_SLICE_US 100

#define PROGRESS_MS 250

typedef struct {
  uv_loop_t loop;
  uv_signal_t sigint;
  uv_signal_t sigterm;
  uv_timer_t progress;
  uvcrawl_t *crawler;
  report_t *report;
  cli_status_t *status; /* --status-listen, NULL without */
  FILE *report_out;     /* stdout or the --report file */
  int want_report;      /* the report is written at the end */
  int show_progress;
  int exit_code;
  int interrupted;
  unsigned seeds;
  unsigned seeds_failed;
  uvcrawl_stats_t stats;
} cli_t;

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
    if (++cli->seeds_failed == cli->seeds) cli->exit_code = CLI_EXIT_RUNTIME;
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
    cli->exit_code = CLI_EXIT_RUNTIME;
  }
  if (cli->show_progress) draw_progress(cli, 1);
  uvcrawl_get_stats(crawler, &cli->stats, sizeof(cli->stats));
  cli_status_close(cli->status, &cli->stats); /* serves these final figures from now on */
  int n = report_collect_broken(cli->report, crawler);
  if (n == UV_ENOMEM) {
    fputs("uvcrawl: out of memory collecting the report\n", stderr);
    cli->exit_code = CLI_EXIT_RUNTIME;
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
    _exit(CLI_EXIT_INTERRUPTED);
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

/* --engine threads: the same crawl on blocking worker threads, for comparison. Returns an exit
 * status when the run could not happen, or CLI_GO_ON when it ran (the caller finishes as
 * usual). */
static int run_threads(cli_t *cli, const uvcrawl_options_t *opts, const cli_cmdline_t *c) {
  unsigned threads = c->nthreads;
  cli->seeds = (unsigned)c->n_seeds;
  int err = cli_threads_run(opts, (const char *const *)c->seeds, c->n_seeds, threads, on_result,
                            cli, &cli->stats);
  if (err == UVCRAWL_EURL || err == UVCRAWL_ESCHEME) {
    fprintf(stderr, "uvcrawl: bad URL: %s\nTry 'uvcrawl --help'.\n", uvcrawl_strerror(err));
    return CLI_EXIT_USAGE;
  }
  if (err == UV_ENOTSUP) {
    fputs("uvcrawl: --engine threads does only the plain crawl (no --check, --state, --retries,\n"
          "         politeness, filters, scopes, sitemaps or --accept): drop those options or\n"
          "         use --engine loop\nTry 'uvcrawl --help'.\n", stderr);
    return CLI_EXIT_USAGE;
  }
  if (err != 0) {
    fprintf(stderr, "uvcrawl: %s\n", uvcrawl_strerror(err));
    return CLI_EXIT_RUNTIME;
  }
  if (cli->stats.inflight_cap < threads)
    fprintf(stderr, "uvcrawl: warning: --threads %u lowered to %u to stay within the open-file "
                    "limit (ulimit -n)\n", threads, cli->stats.inflight_cap);
  return CLI_GO_ON;
}

/* --status or --export: a question to the shared crawl, answered without crawling. */
static int query_cluster(const cli_cmdline_t *c) {
  char why[512];
  int err;
  if (c->cluster_status) {
    char *json = NULL;
    err = uvcrawl_cluster_status(c->redis_url, c->crawl_name, &json, why, sizeof(why));
    if (err == 0) printf("%s\n", json);
    free(json);
  } else {
    uint64_t n = 0;
    const char *path = c->output_path ? c->output_path : "-";
    err = uvcrawl_cluster_export(c->redis_url, c->crawl_name, path, &n, why, sizeof(why));
    if (err == 0 && !c->quiet && strcmp(path, "-") != 0)
      fprintf(stderr, "uvcrawl: %" PRIu64 " records written to %s\n", n, path);
  }
  if (err != 0) fprintf(stderr, "uvcrawl: %s\n", why[0] ? why : uvcrawl_strerror(err));
  return err == 0 ? CLI_EXIT_OK : CLI_EXIT_RUNTIME;
}

/* The report's file, opened before the crawl: one that cannot be written is better known at
 * once. Then the report itself, and whether there is a status line. */
static int open_report(cli_t *cli, const cli_cmdline_t *c) {
  cli->report_out = stdout;
  if (c->report_path != NULL && c->format != FMT_JSONL && strcmp(c->report_path, "-") != 0 &&
      (cli->report_out = fopen(c->report_path, "w")) == NULL) {
    fprintf(stderr, "uvcrawl: cannot write the report to %s: %s\n", c->report_path,
            strerror(errno));
    return CLI_EXIT_RUNTIME;
  }
  cli->want_report = c->check || (c->have_format && c->format != FMT_JSONL) ||
                     (c->report_path != NULL && c->format != FMT_JSONL);
  cli->show_progress = c->force_progress || (!c->quiet && isatty(2));
  if ((cli->report = report_new(c->verbose)) == NULL) {
    fputs("uvcrawl: out of memory\n", stderr);
    return CLI_EXIT_RUNTIME;
  }
  return CLI_GO_ON;
}

/* One pool thread per core for hashing, parsing and writing, unless the user chose: more
 * (libuv's default is 4) only crowds the loop thread off the CPU (bench/lag.py: p99 loop
 * lag 8.6 ms with 4 threads on 2 cores, 4.5 ms with 2, at the same pages/s). The loop
 * engine's pool is then reniced below the loop thread. */
static void size_thread_pool(const cli_cmdline_t *c, uvcrawl_options_t *opts) {
  if (getenv("UV_THREADPOOL_SIZE") == NULL) {
    char n[16];
    unsigned cores = uv_available_parallelism();
    snprintf(n, sizeof(n), "%u", cores);
    setenv("UV_THREADPOOL_SIZE", n, 1);
  }
  if (c->use_threads) return;
  /* Read as libuv reads it, or the renice jobs would wait for threads that do not exist. */
  unsigned long pool = strtoul(getenv("UV_THREADPOOL_SIZE"), NULL, 10);
  pool = pool < 1 ? 1 : pool > 1024 ? 1024 : pool;
  /* The library reads no environment: it is told. */
  cli_set_or_die(uvcrawl_options_set_int(opts, UVCRAWL_OPT_POOL_THREADS, (int64_t)pool));
  int perr = cli_prioritize((unsigned)pool, c->pool_nice, LOOP_SLICE_US);
  if (perr != 0 && !c->quiet)
    fprintf(stderr, "uvcrawl: warning: could not renice the thread pool: %s\n",
            uv_strerror(perr));
}

/* The process around the crawl: open files, SIGPIPE, the pool, the proxy, the test hooks. */
static void prepare_process(const cli_cmdline_t *c, uvcrawl_options_t *opts) {
  uint64_t v;
  raise_fd_limit();
  signal(SIGPIPE, SIG_IGN);
  size_thread_pool(c, opts);
  /* No proxy anywhere: say so, or libcurl reads five environment variables per transfer
   * (the ones it would take a proxy from; an empty one means none, as in curl). */
  if (!c->proxy_given) {
    static const char *const names[] = {"http_proxy", "https_proxy", "HTTPS_PROXY",
                                        "all_proxy", "ALL_PROXY"};
    int env = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
      env |= getenv(names[i]) != NULL && getenv(names[i])[0] != '\0';
    if (!env) cli_set_or_die(uvcrawl_options_set_str(opts, UVCRAWL_OPT_PROXY, ""));
  }
  /* Test hook (tests/test_mirror.py): a slow disk under every mirror write. */
  uvcrawl__test_die_on(getenv("UVCRAWL_TEST_DIE_ON"));
  const char *delay = getenv("UVCRAWL_TEST_WRITE_DELAY_MS");
  if (delay != NULL && cli_parse_count(delay, 60000, &v) == 0)
    uvcrawl__test_write_delay((unsigned)v);
}

/* A crawl that could not start: the crawler closes on the loop, then the loop closes.
 * Returns code. */
static int abandon_crawl(cli_t *cli, int code) {
  uvcrawl_close(cli->crawler, NULL, NULL);
  uv_run(&cli->loop, UV_RUN_DEFAULT);
  cli_loop_close(&cli->loop);
  report_free(cli->report);
  return code;
}

/* The loop and the crawler on it. Returns CLI_GO_ON or the exit status. */
static int create_crawler(cli_t *cli, const cli_cmdline_t *c, const uvcrawl_options_t *opts) {
  int err;
  if ((err = uv_loop_init(&cli->loop)) != 0) {
    fprintf(stderr, "uvcrawl: %s\n", uv_strerror(err));
    return CLI_EXIT_RUNTIME;
  }
  if ((err = uvcrawl_create(&cli->loop, opts, &cli->crawler)) == 0) {
    uvcrawl_set_data(cli->crawler, cli);
    return CLI_GO_ON;
  }
  int usage = err == UVCRAWL_ESTATEDIR;
  if (usage)
    fprintf(stderr, "uvcrawl: --state %s: %s (--resume continues it)\n", c->state_dir,
            uvcrawl_strerror(err));
  else
    fprintf(stderr, "uvcrawl: cannot start: %s%s%s\n", uvcrawl_strerror(err),
            c->output_path ? ", output " : "", c->output_path ? c->output_path : "");
  if (c->mirror_dir && !usage) fprintf(stderr, "uvcrawl: (mirror %s)\n", c->mirror_dir);
  if (c->warc_path && !usage)
    fprintf(stderr, "uvcrawl: (WARC %s%s%s)\n", c->warc_path,
            c->warc_dedup ? ", dedup index " : "", c->warc_dedup ? c->warc_dedup : "");
  cli_loop_close(&cli->loop); /* a failed create leaves no handle (include/uvcrawl.h) */
  report_free(cli->report);
  return usage ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
}

/* The seeds, then the shared crawl's (--redis). Returns CLI_GO_ON or the exit status. */
static int add_seeds(cli_t *cli, const cli_cmdline_t *c) {
  int err;
  for (size_t i = 0; i < c->n_seeds; i++) {
    if ((err = uvcrawl_add_seed(cli->crawler, c->seeds[i])) != 0) {
      fprintf(stderr, "uvcrawl: bad URL '%s': %s\nTry 'uvcrawl --help'.\n", c->seeds[i],
              uvcrawl_strerror(err));
      return abandon_crawl(cli, CLI_EXIT_USAGE);
    }
  }
  if (c->redis_url == NULL) return CLI_GO_ON;
  char why[1024];
  err = uvcrawl_join_cluster(cli->crawler, c->redis_url, c->crawl_name, c->lease_ms,
                             c->max_tries, why, sizeof(why));
  if (err == 0) return CLI_GO_ON;
  /* Not the URL, which may hold a password: why names it where it matters, with "***". */
  fprintf(stderr, "uvcrawl: --crawl %s: %s\n", c->crawl_name,
          why[0] ? why : uvcrawl_strerror(err));
  return abandon_crawl(cli, err == UVCRAWL_ECLUSTER ? CLI_EXIT_REFUSED
                            : err == UVCRAWL_ENOSEED || err == UV_ENOTSUP ? CLI_EXIT_USAGE
                                                                          : CLI_EXIT_RUNTIME);
}

/* --status-listen, on the crawl's loop. Returns CLI_GO_ON or the exit status. */
static int start_status(cli_t *cli, const cli_cmdline_t *c) {
  char url[80];
  if (c->status_spec == NULL) return CLI_GO_ON;
  int err = cli_status_start(&cli->loop, (const struct sockaddr *)&c->status_addr,
                             cli->crawler, cli->report, &cli->status, url, sizeof(url));
  if (err != 0) {
    fprintf(stderr, "uvcrawl: --status-listen %s: %s\n", c->status_spec, uv_strerror(err));
    return abandon_crawl(cli, CLI_EXIT_RUNTIME);
  }
  fprintf(stderr, "status: listening on %s\n", url); /* even with -q: tools read it */
  return CLI_GO_ON;
}

/* The crawl on the loop engine, to its end. *loop_err is what closing the loop returned.
 * Returns CLI_GO_ON (the caller reports) or the exit status of a crawl that did not run. */
static int run_loop(cli_t *cli, const cli_cmdline_t *c, const uvcrawl_options_t *opts,
                    int *loop_err) {
  int code, err;
  if ((code = create_crawler(cli, c, opts)) != CLI_GO_ON) return code;
  if ((code = add_seeds(cli, c)) != CLI_GO_ON) return code;
  cli->seeds = (unsigned)c->n_seeds;
  uvcrawl_get_stats(cli->crawler, &cli->stats, sizeof(cli->stats));
  if (cli->stats.inflight_cap < c->max_inflight)
    fprintf(stderr,
            "uvcrawl: warning: --max-inflight %u lowered to %u to stay within the open-file "
            "limit (ulimit -n)\n",
            c->max_inflight, cli->stats.inflight_cap);
  if ((code = start_status(cli, c)) != CLI_GO_ON) return code;
  uv_signal_init(&cli->loop, &cli->sigint);
  uv_signal_init(&cli->loop, &cli->sigterm);
  uv_timer_init(&cli->loop, &cli->progress);
  cli->sigint.data = cli->sigterm.data = cli->progress.data = cli;
  uv_signal_start(&cli->sigint, on_signal, SIGINT);
  uv_signal_start(&cli->sigterm, on_signal, SIGTERM);
  if (cli->show_progress) uv_timer_start(&cli->progress, on_progress, PROGRESS_MS, PROGRESS_MS);
  if ((err = uvcrawl_start(cli->crawler, on_result, on_done, cli)) != 0) {
    fprintf(stderr, "uvcrawl: cannot start: %s\n", uvcrawl_strerror(err));
    return CLI_EXIT_RUNTIME;
  }
  uv_run(&cli->loop, UV_RUN_DEFAULT);
  *loop_err = cli_loop_close(&cli->loop);
  return CLI_GO_ON;
}

/* After either engine's crawl: the report, the summary, --stats-json, and the exit status
 * they and the crawl's statistics make. loop_err: closing the loop failed. */
static int finish(cli_t *cli, const cli_cmdline_t *c, int loop_err) {
  if (cli->want_report) {
    report_write(cli->report, c->format, cli->report_out);
    errno = 0;
    int bad = cli->report_out == stdout ? fflush(stdout) != 0 || ferror(stdout)
                                        : ferror(cli->report_out) | fclose(cli->report_out);
    if (bad) {
      fprintf(stderr, "uvcrawl: cannot write the report to %s: %s\n",
              c->report_path ? c->report_path : "stdout", strerror(errno ? errno : EIO));
      cli->exit_code = CLI_EXIT_RUNTIME;
    }
  }
  if (!c->quiet) report_summary(cli->report, &cli->stats, stderr);
  if (c->stats_path != NULL && write_stats_json(c->stats_path, &cli->stats) != 0) {
    fprintf(stderr, "uvcrawl: cannot write %s: %s\n", c->stats_path, strerror(errno));
    cli->exit_code = CLI_EXIT_RUNTIME;
  }
  const uvcrawl_stats_t *s = &cli->stats;
  if (s->mirror_errors > 0 || s->output_errors > 0 || s->convert_errors > 0)
    cli->exit_code = CLI_EXIT_RUNTIME;
  if (s->output_errors > 0)
    fputs("uvcrawl: the records, the journal or the --save-cookies file could not all be "
          "written\n", stderr);
  if (loop_err != 0) cli->exit_code = CLI_EXIT_RUNTIME;
  if (cli->exit_code == CLI_EXIT_OK && c->check && report_broken_count(cli->report) > 0)
    cli->exit_code = CLI_EXIT_BROKEN;
  report_free(cli->report);
  return cli->interrupted ? CLI_EXIT_INTERRUPTED : cli->exit_code;
}

int main(int argc, char **argv) {
  /* Static: the options live as long as the process, whichever way main returns. */
  static uvcrawl_options_t *opts;
  cli_cmdline_t cmd;
  cli_t cli;
  int code, loop_err = 0;

  memset(&cli, 0, sizeof(cli));
  if (uvcrawl_options_new(&opts) != 0) {
    fputs("uvcrawl: out of memory\n", stderr);
    return CLI_EXIT_RUNTIME;
  }
  if ((code = cli_cmdline_parse(argc, argv, opts, &cmd)) != CLI_GO_ON) return code;
  if (cmd.cluster_status || cmd.cluster_export) return query_cluster(&cmd);
  if ((code = cli_cmdline_check(&cmd, opts)) != CLI_GO_ON) return code;
  if ((code = open_report(&cli, &cmd)) != CLI_GO_ON) return code;
  prepare_process(&cmd, opts);
  if (cmd.use_threads) {
    if ((code = run_threads(&cli, opts, &cmd)) != CLI_GO_ON) {
      report_free(cli.report);
      return code;
    }
  } else if ((code = run_loop(&cli, &cmd, opts, &loop_err)) != CLI_GO_ON) {
    return code;
  }
  return finish(&cli, &cmd, loop_err);
}
