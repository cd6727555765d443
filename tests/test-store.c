/* Mirror paths: layout like wget -r, and no URL can name a file outside the mirror root. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "task.h"
#include "store.h"
#include "uvcrawl.h"

static const struct {
  const char *url;
  const char *path;
} cases[] = {
    {"http://h/", "h/index.html"},
    {"http://h:8080/a/b.html", "h:8080/a/b.html"},
    {"http://h/a/", "h/a/index.html"},
    {"http://h/a/b", "h/a/b"},
    {"http://h/a?x=1&y=/z", "h/a?x=1&y=%2Fz"},
    {"http://h/?q=%2e%2e", "h/index.html?q=%252e%252e"},
    {"http://h/%2e%2e/x", "h/%2E%2E/x"},
    {"http://h/%2E%2e/%2e%2e/etc/passwd", "h/%2E%2E/%2E%2E/etc/passwd"},
    {"http://h/%2e/x", "h/%2E/x"},
    {"http://h/a%2fb", "h/a%2Fb"},
    {"http://h/a%2F..%2F..%2Fb", "h/a%2F..%2F..%2Fb"},
    {"http://h/a%5cb", "h/a%5Cb"},
    {"http://h/a%5C..%5C..%5Cb", "h/a%5C..%5C..%5Cb"},
    {"http://h/a%00b", "h/a%00b"},
    {"http://h/a%0ab", "h/a%0Ab"},
    {"http://h/a%25b", "h/a%25b"},
    {"http://h/caf%C3%A9.html", "h/caf\xc3\xa9.html"},
    {"http://h//a//b", "h/a/b"},
    {"http://h/../../etc/passwd", "h/etc/passwd"},
    {"http://[::1]:81/x", "[::1]:81/x"},
};

static void check_long_names(void) {
  char url[1024], *out;
  int n = snprintf(url, sizeof(url), "http://h/");
  for (int i = 0; i < 300; i++) url[n++] = 'a';
  memcpy(url + n, "/", 2);
  ASSERT_EQ(uvcrawl__store_path(url, &out), 0);
  /* "h/" + 200 bytes + "~" + 32 hex + "/index.html" */
  const char *seg = out + 2, *slash = strchr(seg, '/');
  ASSERT_NOT_NULL(slash);
  ASSERT_EQ(slash - seg, 233);
  ASSERT_EQ(seg[200], '~');
  ASSERT_STR_EQ(slash, "/index.html");
  char *other;
  url[20] = 'b'; /* a different long name must stay a different file */
  ASSERT_EQ(uvcrawl__store_path(url, &other), 0);
  ASSERT(strcmp(out, other) != 0);
  free(out);
  free(other);
}

static void check_writes(void) {
  char root[] = "/tmp/uvcrawl-store-XXXXXX", outside[] = "/tmp/uvcrawl-outside-XXXXXX";
  char path[256], buf[64];
  int fd;
  struct stat st;
  ASSERT_NOT_NULL(mkdtemp(root));
  ASSERT_NOT_NULL(mkdtemp(outside));
  ASSERT_EQ(uvcrawl__store_open_root(root, &fd), 0);

  ASSERT_EQ(uvcrawl__store_write(fd, "h/a/b.html", "hello", 5, 1), 0);
  snprintf(path, sizeof(path), "%s/h/a/b.html", root);
  int f = open(path, O_RDONLY);
  ASSERT_GE(f, 0);
  ASSERT_EQ(read(f, buf, sizeof(buf)), 5);
  close(f);
  ASSERT_EQ(memcmp(buf, "hello", 5), 0);
  /* Rewriting replaces the file whole. */
  ASSERT_EQ(uvcrawl__store_write(fd, "h/a/b.html", "hi", 2, 0), 0);
  ASSERT_EQ(stat(path, &st), 0);
  ASSERT_EQ(st.st_size, 2);

  /* A symlinked directory inside the mirror is refused, never followed. */
  snprintf(path, sizeof(path), "%s/h/evil", root);
  ASSERT_EQ(symlink(outside, path), 0);
  int err = uvcrawl__store_write(fd, "h/evil/x.html", "x", 1, 0);
  ASSERT(err == -ELOOP || err == -ENOTDIR);
  snprintf(path, sizeof(path), "%s/x.html", outside);
  ASSERT_NE(access(path, F_OK), 0);

  /* A symlink where the file goes is replaced by the file; its target is untouched. */
  snprintf(path, sizeof(path), "%s/target", outside);
  f = open(path, O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(f, 0);
  close(f);
  char link[256];
  snprintf(link, sizeof(link), "%s/h/link", root);
  ASSERT_EQ(symlink(path, link), 0);
  ASSERT_EQ(uvcrawl__store_write(fd, "h/link", "data", 4, 0), 0);
  ASSERT_EQ(lstat(link, &st), 0);
  ASSERT(S_ISREG(st.st_mode));
  ASSERT_EQ(stat(path, &st), 0);
  ASSERT_EQ(st.st_size, 0);

  /* A name that exists as a directory fails that URL, cleanly (no temp file left). */
  ASSERT_EQ(uvcrawl__store_write(fd, "h/a", "x", 1, 0), -EISDIR);
  snprintf(path, sizeof(path), "rm -rf %s %s", root, outside);
  close(fd);
  ASSERT_EQ(system(path), 0);
}

int main(void) {
  size_t n = sizeof(cases) / sizeof(cases[0]);
  for (size_t i = 0; i < n; i++) {
    char *out = NULL;
    int err = uvcrawl__store_path(cases[i].url, &out);
    if (err != 0) FAIL("%s: error %d", cases[i].url, err);
    ASSERT_STR_EQ(out, cases[i].path);
    /* Whatever the URL, no name in the path is "." or "..", and it is relative. */
    ASSERT(out[0] != '/');
    ASSERT_NULL(strstr(out, "/../"));
    ASSERT_NULL(strstr(out, "/./"));
    free(out);
  }
  check_long_names();
  check_writes();
  printf("store: %zu path cases, long names, symlinks: ok\n", n);
  return 0;
}
