/* The journal, for --resume (crawl_resume.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crawl_resume.h"
#include "journal.h"
#include "store.h"

/* Appends a 'D' record (type 'S' for a sitemap): url was queued. The journal's order is the
 * frontier's order. */
void uvcrawl__resume_discovered(uvcrawl_t *c, char type, const char *url, const char *referrer,
                                int depth) {
  c->scratch_len = 0;
  if (c->journal && uvcrawl__journal_discovered(&c->scratch, &c->scratch_len, &c->scratch_cap,
                                                type, url, referrer, depth) == 0)
    uvcrawl__output_append(c->journal, c->scratch, c->scratch_len);
}

/* Rebuilds the frontier from the journal: 'D' queues (seeds also restore the scope), 'C' marks
 * completed and restores the record to the output. */
static int on_replay(void *arg, int type, const char *url, const char *ref, size_t len,
                     int depth) {
  uvcrawl_t *c = arg;
  uint32_t *state;
  if (type == 'D' || type == 'S' || type == 'R') {
    if (ref == NULL && depth == 0 && uvcrawl__crawl_add_origin(c, url) != 0) return -1;
    if (uvcrawl__frontier_add(c->frontier, url, ref, depth) < 0) return -1;
    if (type != 'D' && uvcrawl__frontier_lookup(c->frontier, url, NULL, &state))
      *state |= type == 'S' ? URL_SITEMAP : URL_REQUISITE;
    return 0;
  }
  /* The files saved before the crash are converted at the end like the new ones. */
  if (c->convert != NULL && uvcrawl__convert_record(c->convert, ref, len) != 0) return -1;
  if (!uvcrawl__frontier_lookup(c->frontier, url, NULL, &state)) {
    /* A skip record (never queued, so no 'D' came before): the URL stays seen and skipped
     * when a page links it again, and its record stays in the output. */
    if (uvcrawl__frontier_mark(c->frontier, url, NULL) < 0 ||
        !uvcrawl__frontier_lookup(c->frontier, url, NULL, &state))
      return -1;
    *state |= URL_DONE | URL_SKIPPED;
    c->stats.skipped++;
  } else if (*state & URL_DONE) {
    return 0; /* completed twice (in flight at a kill, then redone): the first record stands */
  } else {
    *state |= URL_DONE;
    c->stats.resumed++;
    c->started++;
  }
  if (c->output && (uvcrawl__output_append(c->output, ref, len) != 0 ||
                    uvcrawl__output_append(c->output, "\n", 1) != 0))
    return -1;
  return 0;
}

/* Opens (and with resume, replays) DIR/journal. Runs before the loop does: setup, like
 * opening the output. */
int uvcrawl__resume_open(uvcrawl_t *c, const char *dir) {
  char path[4096];
  int fd, err;
  struct stat st;
  if ((err = uvcrawl__store_open_root(dir, &fd)) != 0) return err;
  close(fd);
  if (snprintf(path, sizeof(path), "%s/journal", dir) >= (int)sizeof(path)) return UV_ENAMETOOLONG;
  fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return -errno;
  if (fstat(fd, &st) != 0) err = -errno;
  else if (st.st_size > 0 && !c->opts.resume) err = UVCRAWL_ESTATEDIR;
  size_t valid = 0;
  if (err == 0 && st.st_size > 0) {
    char *image = malloc((size_t)st.st_size);
    if (image == NULL) err = UV_ENOMEM;
    else if (pread(fd, image, (size_t)st.st_size, 0) != st.st_size) err = UV_EIO;
    else valid = uvcrawl__journal_replay(image, (size_t)st.st_size, on_replay, c);
    free(image);
    /* A torn tail is cut off, so new records follow the last good one. */
    if (err == 0 && valid < (size_t)st.st_size && ftruncate(fd, (off_t)valid) != 0) err = -errno;
  }
  if (err == 0 && valid == 0) {
    if (ftruncate(fd, 0) != 0 ||
        pwrite(fd, UVCRAWL__JOURNAL_MAGIC, sizeof(UVCRAWL__JOURNAL_MAGIC) - 1, 0) < 0)
      err = -errno;
  }
  close(fd);
  if (err) return err;
  return uvcrawl__output_open(c->loop, path, 1,
                              c->opts.sync_interval_ms ? c->opts.sync_interval_ms : 1000,
                              &c->journal);
}

