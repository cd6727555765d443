/* Test hooks of the internal library (not exported from the shared library). */
#ifndef UVCRAWL_TESTHOOKS_H
#define UVCRAWL_TESTHOOKS_H

/* Every mirror write sleeps ms first (a slow disk), in the whole process. The CLI sets it from
 * UVCRAWL_TEST_WRITE_DELAY_MS for tests/test_mirror.py; the library reads no environment. */
void uvcrawl__test_write_delay(unsigned ms);

#endif
