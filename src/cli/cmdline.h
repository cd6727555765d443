/* The command line: the --help text, the options (the long ones from --config files too) and
 * their checks. The crawl's own options go straight into a uvcrawl_options_t; what the CLI
 * itself acts on comes back in a cli_cmdline_t. Public header only (meson builds it so). */
#ifndef UVCRAWL_CLI_CMDLINE_H
#define UVCRAWL_CLI_CMDLINE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "report.h"
#include "uvcrawl.h"

/* The exit statuses, as the --help text's end and uvcrawl(1) list them. */
enum {
  CLI_EXIT_OK = 0,
  CLI_EXIT_BROKEN = 1,
  CLI_EXIT_USAGE = 2,
  CLI_EXIT_RUNTIME = 3,
  CLI_EXIT_REFUSED = 4, /* --redis: the crawl there has other options or seeds */
  CLI_EXIT_INTERRUPTED = 130
};

/* What a step returns when the run goes on; any other value is the exit status. */
#define CLI_GO_ON (-1)

/* What the CLI acts on itself. Every string is borrowed from argv or from the --config
 * files' lines, which live as long as the process. */
typedef struct {
  const char *output_path, *mirror_dir, *state_dir;
  unsigned max_inflight;
  int check, resume;
  int page_requisites, convert_links, adjust_extension;
  const char *warc_path, *warc_cdx, *warc_dedup;
  uint64_t warc_max_size;
  int quiet, verbose, force_progress, use_threads, have_format, proxy_given;
  int pool_nice;
  unsigned nthreads;
  const char *stats_path, *report_path;
  const char *status_spec; /* --status-listen as given, NULL without; parsed: status_addr */
  struct sockaddr_storage status_addr;
  report_format_t format;
  const char *redis_url, *crawl_name;
  int cluster_status, cluster_export;
  unsigned lease_ms, max_tries;
  char **seeds; /* the operands, n_seeds of them */
  size_t n_seeds;
  unsigned configs_read, configs_named; /* --config files read first, and as parsed */
} cli_cmdline_t;

/* Reads argv, after the --config files it names, into *cmd and opts (borrowed), with the
 * checks every run needs; the crawl's are cli_cmdline_check()'s, for a --status or --export
 * run stops before them. Prints --help and --version. Returns CLI_GO_ON, or the exit status
 * when the run ends here (a usage error is said on stderr). */
int cli_cmdline_parse(int argc, char **argv, uvcrawl_options_t *opts, cli_cmdline_t *cmd);

/* The checks of a crawl's command line; then sets in opts what follows from *cmd (which
 * they may change: --format jsonl names the records' file). Returns CLI_GO_ON or the exit
 * status. */
int cli_cmdline_check(cli_cmdline_t *cmd, uvcrawl_options_t *opts);

/* For an option set on values the CLI has checked, where a failure is out of memory: says
 * so and exits CLI_EXIT_RUNTIME when err is not 0. */
void cli_set_or_die(int err);

#endif
