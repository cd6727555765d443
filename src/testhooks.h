/* Test hooks of the internal library (not exported from the shared library). Pure. */
#ifndef UVCRAWL_TESTHOOKS_H
#define UVCRAWL_TESTHOOKS_H

/* Every mirror write sleeps ms first (a slow disk), in the whole process. The CLI sets it from
 * UVCRAWL_TEST_WRITE_DELAY_MS for tests/test_mirror.py; the library reads no environment. */
void uvcrawl__test_write_delay(unsigned ms);
/* A worker of a shared crawl SIGKILLs itself when it hands out a URL containing substr
 * (borrowed for good; NULL: never), for tests/test_cluster.py. From UVCRAWL_TEST_DIE_ON. */
void uvcrawl__test_die_on(const char *substr);

/* Test builds: the thread each hash, parse, write or conversion ran on, so a test can prove it
 * was never the loop's. Hook may be NULL; it is called from worker threads. */
typedef void (*uvcrawl__thread_probe_cb)(const char *what);
extern uvcrawl__thread_probe_cb uvcrawl__thread_probe; /* testhooks.c */

#endif
