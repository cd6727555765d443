/* uvcrawl --config FILE: long options kept in a file, one per line, as curl -K reads them.
 *
 *   # a comment (a line whose first non-blank is '#')
 *   timeout = 5s            option = value
 *   user-agent my bot 1.0   option value (the rest of the line, blanks trimmed)
 *   header "X-A: b"         quotes are optional; "..." takes \" \\ \t \n escapes, '...' none
 *   check                   a bare option (one that takes no value)
 *   --max-depth 3           a leading "--" is allowed
 *
 * Each line becomes one argument, "--name" or "--name=value", put before the command line's
 * so that the command line overrides the file. */
#ifndef UVCRAWL_CLI_CONFIG_H
#define UVCRAWL_CLI_CONFIG_H

#include <getopt.h>
#include <stddef.h>

/* A growing argv, and where each argument came from ("FILE:LINE", NULL: the command line). */
typedef struct {
  char **argv;  /* NULL-ended; the strings from a file are owned, the others borrowed */
  char **where; /* owned, parallel to argv */
  int *owned;   /* argv[i] is ours to free */
  size_t n, cap;
} cli_args_t;

/* Appends arg: a copy when owned, else borrowed; where (copied, may be NULL). 0 or -1 (out of
 * memory). */
int cli_args_push(cli_args_t *a, const char *arg, int owned, const char *where);

/* Appends path's options to a. Names are checked against longopts (an unknown one, a value
 * given to an option that takes none, a missing value, or "config" itself are errors). On
 * error writes "FILE:LINE: what" (or "FILE: why" when it cannot be read) to err (errlen bytes)
 * and returns -1; 0 on success. */
int cli_config_read(const char *path, const struct option *longopts, cli_args_t *a, char *err,
                    size_t errlen);

void cli_args_free(cli_args_t *a);

#endif
