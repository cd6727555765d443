/* Link extraction speed: MB/s per core of the default path (the fast scanner, gumbo where it
 * bails out), of the scanner alone and of gumbo alone, over sets of HTML files and a few
 * generated hostile pages. CPU time of this thread is measured (CLOCK_THREAD_CPUTIME_ID), so
 * the figures are per core whatever else the machine runs; each set is repeated until it has
 * taken at least --seconds of CPU.
 *
 *   uvcrawl-bench-extract [--seconds S] [--hostile] [DIR|FILE]...
 *
 * A directory is one set (every *.html file below it); --hostile adds three generated pages:
 * 100,000 nested elements, 1,000,000 links, and a 10 MB attribute. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "htmlscan.h"
#include "extract.h"
#include "uvcrawl.h"

typedef struct {
  char **data;
  size_t *len;
  size_t n, cap, bytes;
} set_t;

static void set_add(set_t *s, char *data, size_t len) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 64;
    s->data = realloc(s->data, s->cap * sizeof(*s->data));
    s->len = realloc(s->len, s->cap * sizeof(*s->len));
    if (s->data == NULL || s->len == NULL) exit(1);
  }
  s->data[s->n] = data;
  s->len[s->n++] = len;
  s->bytes += len;
}

static void add_file(set_t *s, const char *path) {
  FILE *f = fopen(path, "rb");
  struct stat st;
  char *buf;
  if (f == NULL || fstat(fileno(f), &st) != 0) {
    perror(path);
    exit(1);
  }
  buf = malloc((size_t)st.st_size + 1);
  if (buf == NULL || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) exit(1);
  fclose(f);
  set_add(s, buf, (size_t)st.st_size);
}

static void add_tree(set_t *s, const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  if (d == NULL) {
    add_file(s, dir);
    return;
  }
  while ((e = readdir(d)) != NULL) {
    char path[4096];
    size_t n = strlen(e->d_name);
    struct stat st;
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    if (stat(path, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) add_tree(s, path);
    else if (n > 5 && strcmp(e->d_name + n - 5, ".html") == 0) add_file(s, path);
  }
  closedir(d);
}

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum { MODE_DEFAULT, MODE_SCAN, MODE_GUMBO };

/* MB/s of one mode over the set; *links and *bailed from the last pass. */
static double measure(const set_t *s, int mode, double seconds, size_t *links, size_t *bailed) {
  double t0 = cpu_now(), t;
  size_t passes = 0, i;
  do {
    *links = *bailed = 0;
    for (i = 0; i < s->n; i++) {
      uvcrawl__links_t out;
      int r;
      memset(&out, 0, sizeof(out));
      if (mode == MODE_GUMBO) {
        r = uvcrawl__extract_links_gumbo(s->data[i], s->len[i], 0, &out);
      } else if (mode == MODE_SCAN) {
        r = uvcrawl__htmlscan(s->data[i], s->len[i], 0, &out, NULL);
        if (r == UVCRAWL__HTMLSCAN_BAIL) {
          (*bailed)++;
          r = 0;
        }
      } else {
        uvcrawl__extract_t x;
        memset(&x, 0, sizeof(x));
        r = uvcrawl__extract(s->data[i], s->len[i], &x, &out);
        *bailed += (size_t)x.bailed;
      }
      if (r != 0) {
        fprintf(stderr, "extraction failed: %d\n", r);
        exit(1);
      }
      *links += out.n;
      uvcrawl__links_free(&out);
    }
    passes++;
    t = cpu_now() - t0;
  } while (t < seconds);
  return (double)s->bytes * (double)passes / 1e6 / t;
}

static void report(const char *name, const set_t *s, double seconds, int gumbo) {
  size_t l1, b1, l2, b2, l3 = 0, b3;
  double fast = measure(s, MODE_DEFAULT, seconds, &l1, &b1);
  double scan = measure(s, MODE_SCAN, seconds, &l2, &b2);
  double ref = gumbo ? measure(s, MODE_GUMBO, seconds, &l3, &b3) : 0.0;
  printf("| %s | %zu | %.1f | %.0f | %.0f | ", name, s->n, (double)s->bytes / 1e6, fast, scan);
  if (gumbo) printf("%.1f | %.1fx", ref, fast / ref);
  else printf("- | -");
  printf(" | %zu | %zu |\n", b1, l1);
  fflush(stdout);
}

/* The generated hostile pages, each a set of one. */
static void hostile(double seconds) {
  const size_t depth = 100000, nlinks = 1000000, huge = 10u << 20;
  set_t s;
  size_t i, n, cap;
  char *p;

  /* 100,000 nested <span>s around a link. */
  cap = depth * 16 + 64;
  p = malloc(cap);
  n = 0;
  for (i = 0; i < depth; i++) n += (size_t)snprintf(p + n, cap - n, "<span>");
  n += (size_t)snprintf(p + n, cap - n, "<a href=deep.html>x</a>");
  for (i = 0; i < depth; i++) n += (size_t)snprintf(p + n, cap - n, "</span>");
  memset(&s, 0, sizeof(s));
  set_add(&s, p, n);
  report("hostile: 100k nesting", &s, seconds, 1);
  free(p);

  /* 1,000,000 links. */
  cap = nlinks * 32 + 64;
  p = malloc(cap);
  n = 0;
  for (i = 0; i < nlinks; i++) n += (size_t)snprintf(p + n, cap - n, "<a href=\"/p/%zu\">l</a>\n", i);
  memset(&s, 0, sizeof(s));
  set_add(&s, p, n);
  report("hostile: 1M links", &s, seconds, 1);
  free(p);

  /* One 10 MB href, and a 10 MB attribute that is no link. */
  p = malloc(2 * huge + 64);
  n = (size_t)snprintf(p, 64, "<a href=\"");
  memset(p + n, 'x', huge);
  n += huge;
  n += (size_t)snprintf(p + n, 64, "\" title=\"");
  memset(p + n, 'y', huge);
  n += huge;
  n += (size_t)snprintf(p + n, 64, "\">x</a>");
  memset(&s, 0, sizeof(s));
  set_add(&s, p, n);
  report("hostile: 2 x 10 MB attributes", &s, seconds, 1);
  free(p);
}

int main(int argc, char **argv) {
  double seconds = 1.0;
  int i, with_hostile = 0, gumbo = 1;

  printf("| set | pages | MB | default MB/s | scanner MB/s | gumbo MB/s | default/gumbo | "
         "bail-outs | links |\n|---|---|---|---|---|---|---|---|---|\n");
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      seconds = strtod(argv[++i], NULL);
    } else if (strcmp(argv[i], "--hostile") == 0) {
      with_hostile = 1;
    } else if (strcmp(argv[i], "--no-gumbo") == 0) {
      gumbo = 0;
    } else {
      set_t s;
      memset(&s, 0, sizeof(s));
      add_tree(&s, argv[i]);
      if (s.n == 0) {
        fprintf(stderr, "%s: no .html files\n", argv[i]);
        return 1;
      }
      report(argv[i], &s, seconds, gumbo);
    }
  }
  if (with_hostile) hostile(seconds);
  return 0;
}
