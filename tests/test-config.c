/* Table-driven tests for src/cli/config.c: each config line becomes one argument, or an error
 * that names the file and line. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/config.h"
#include "task.h"

static const struct option opts[] = {
    {"timeout", required_argument, NULL, 1}, {"check", no_argument, NULL, 2},
    {"header", required_argument, NULL, 3},  {"user-agent", required_argument, NULL, 4},
    {"config", required_argument, NULL, 5},  {"proxy", required_argument, NULL, 6},
    {NULL, 0, NULL, 0}};

typedef struct {
  const char *text; /* the file */
  const char *args; /* expected arguments joined by '|', or NULL when it is an error */
  const char *err;  /* ... whose message ends with this */
} row_t;

static const row_t rows[] = {
    {"", "", NULL},
    {"# only a comment\n\n   \n\t# indented comment\n", "", NULL},
    {"timeout = 5s\n", "--timeout=5s", NULL},
    {"timeout=5s", "--timeout=5s", NULL}, /* no newline at the end */
    {"timeout 5s\n", "--timeout=5s", NULL},
    {"timeout: 5s\n", "--timeout=5s", NULL},
    {"  --timeout   =   5s  \r\n", "--timeout=5s", NULL},
    {"check\n", "--check", NULL},
    {"--check\n", "--check", NULL},
    {"user-agent my bot 1.0  \n", "--user-agent=my bot 1.0", NULL},
    {"header \"X-A: b # not a comment\"\n", "--header=X-A: b # not a comment", NULL},
    {"header 'X-A: \"q\" \\n'\n", "--header=X-A: \"q\" \\n", NULL}, /* '...' takes no escapes */
    {"header \"a\\\"b\\\\c\\td\"\n", "--header=a\"b\\c\td", NULL},
    {"proxy \"\"\n", "--proxy=", NULL},
    {"header X: a=b\n", "--header=X: a=b", NULL},
    {"check\ntimeout 1\ncheck\n", "--check|--timeout=1|--check", NULL},
    /* Errors name the line. */
    {"check\nbogus 1\n", NULL, "f.conf:2: unknown option 'bogus'"},
    {"time 5\n", NULL, "f.conf:1: unknown option 'time'"}, /* no abbreviations */
    {"check yes\n", NULL, "f.conf:1: 'check' takes no value"},
    {"timeout\n", NULL, "f.conf:1: 'timeout' needs a value"},
    {"timeout =\n", NULL, "f.conf:1: 'timeout' needs a value"},
    {"config other.conf\n", NULL, "f.conf:1: a config file cannot read another (config)"},
    {"header \"X: y\n", NULL, "f.conf:1: the quoted value of 'header' is not closed, or text follows it"},
    {"header \"X: y\" z\n", NULL, "f.conf:1: the quoted value of 'header' is not closed, or text follows it"},
    {"=5\n", NULL, "f.conf:1: not an option: '=5'"},
    {"timeout/5\n", NULL, "f.conf:1: not an option: 'timeout/5'"},
    /* The word, never its value (a password in a mistyped line). */
    {"redis_url = redis://:pw@h\n", NULL, "f.conf:1: not an option: 'redis_url'"},
    {"redis_url=redis://:pw@h\n", NULL, "f.conf:1: not an option: 'redis_url'"},
};

static void run_row(const row_t *r) {
  FILE *f = fopen("f.conf", "w");
  ASSERT_NOT_NULL(f);
  fputs(r->text, f);
  ASSERT_EQ(fclose(f), 0);
  cli_args_t a = {0};
  char err[512] = "";
  int rc = cli_config_read("f.conf", opts, &a, err, sizeof(err));
  if (r->args == NULL) {
    size_t n = strlen(err), m = strlen(r->err);
    if (rc != -1 || n < m || strcmp(err + n - m, r->err) != 0)
      FAIL("%s: rc %d, error \"%s\", want \"%s\"", r->text, rc, err, r->err);
  } else {
    char joined[512] = "";
    size_t o = 0;
    if (rc != 0) FAIL("%s: rc %d: %s", r->text, rc, err);
    for (size_t i = 0; i < a.n; i++) {
      int w = snprintf(joined + o, sizeof(joined) - o, "%s%s", i ? "|" : "", a.argv[i]);
      ASSERT(w > 0 && (size_t)w < sizeof(joined) - o);
      o += (size_t)w;
      ASSERT_NOT_NULL(a.where[i]); /* "f.conf:N" for error messages of the values */
      ASSERT(strncmp(a.where[i], "f.conf:", 7) == 0);
    }
    ASSERT_STR_EQ(joined, r->args);
    ASSERT(a.n == 0 || a.argv[a.n] == NULL);
  }
  cli_args_free(&a);
}

int main(void) {
  char dir[] = "/tmp/uvcrawl-config-XXXXXX";
  ASSERT_NOT_NULL(mkdtemp(dir));
  ASSERT_EQ(chdir(dir), 0);
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) run_row(&rows[i]);
  /* A missing file says why. */
  cli_args_t a = {0};
  char err[512];
  ASSERT_EQ(cli_config_read("missing.conf", opts, &a, err, sizeof(err)), -1);
  ASSERT_STR_EQ(err, "missing.conf: No such file or directory");
  /* Borrowed arguments stay borrowed, with no origin. */
  char arg[] = "--check";
  ASSERT_EQ(cli_args_push(&a, arg, 0, NULL), 0);
  ASSERT(a.argv[0] == arg && a.where[0] == NULL);
  cli_args_free(&a);
  unlink("f.conf");
  ASSERT_EQ(chdir("/"), 0);
  rmdir(dir);
  puts("ok config");
  return 0;
}
