/* The journal: records round-trip; a torn or corrupt record ends the replay there. */
#include "task.h"
#include "dynbuf.h"
#include "journal.h"
#include "uvcrawl.h"

typedef struct {
  int n;
  char seen[16][128];
} log_t;

static int collect(void *arg, int type, const char *url, const char *ref, size_t len, int depth) {
  log_t *l = arg;
  if (type == 'D' || type == 'S')
    snprintf(l->seen[l->n++], 128, "%c %d %s %s", type, depth, url, ref ? ref : "-");
  else
    snprintf(l->seen[l->n++], 128, "C %s %.*s", url, (int)len, ref);
  return 0;
}

int main(void) {
  char *b = NULL;
  size_t len = 0, cap = 0;
  log_t l;
  ASSERT_EQ(uvcrawl__buf_add(&b, &len, &cap, UVCRAWL__JOURNAL_MAGIC,
                             sizeof(UVCRAWL__JOURNAL_MAGIC) - 1), 0);
  ASSERT_EQ(uvcrawl__journal_discovered(&b, &len, &cap, 'D', "http://h/", NULL, 0), 0);
  ASSERT_EQ(uvcrawl__journal_discovered(&b, &len, &cap, 'D', "http://h/a", "http://h/", 1), 0);
  ASSERT_EQ(uvcrawl__journal_discovered(&b, &len, &cap, 'S', "http://h/sitemap.xml", NULL, 0),
            0);
  ASSERT_EQ(uvcrawl__journal_completed(&b, &len, &cap, "http://h/", "{\"x\":1}", 7), 0);
  size_t three = len;
  ASSERT_EQ(uvcrawl__journal_completed(&b, &len, &cap, "http://h/a", "{}", 2), 0);

  memset(&l, 0, sizeof(l));
  ASSERT_EQ(uvcrawl__journal_replay(b, len, collect, &l), len);
  ASSERT_EQ(l.n, 5);
  ASSERT_STR_EQ(l.seen[0], "D 0 http://h/ -");
  ASSERT_STR_EQ(l.seen[1], "D 1 http://h/a http://h/");
  ASSERT_STR_EQ(l.seen[2], "S 0 http://h/sitemap.xml -");
  ASSERT_STR_EQ(l.seen[3], "C http://h/ {\"x\":1}");
  ASSERT_STR_EQ(l.seen[4], "C http://h/a {}");

  /* Every torn length (power loss mid-write) keeps exactly the whole records before it. */
  for (size_t cut = three; cut < len; cut++) {
    memset(&l, 0, sizeof(l));
    ASSERT_EQ(uvcrawl__journal_replay(b, cut, collect, &l), three);
    ASSERT_EQ(l.n, 4);
  }
  /* A flipped bit anywhere in the last record: its checksum fails, the rest stands. */
  for (size_t i = three; i < len; i++) {
    b[i] ^= 0x10;
    memset(&l, 0, sizeof(l));
    ASSERT_EQ(uvcrawl__journal_replay(b, len, collect, &l), three);
    b[i] ^= 0x10;
  }
  /* Not a journal at all. */
  ASSERT_EQ(uvcrawl__journal_replay("garbage", 7, collect, &l), 0);
  free(b);
  printf("journal: ok\n");
  return 0;
}
