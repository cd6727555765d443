/* Minimal assertions for uvcrawl's C tests: each prints both operands on failure. */
#ifndef UVCRAWL_TASK_H
#define UVCRAWL_TASK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...)                                                          \
  do {                                                                     \
    fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                        \
    fprintf(stderr, __VA_ARGS__);                                          \
    fputc('\n', stderr);                                                   \
    abort();                                                               \
  } while (0)

#define ASSERT(expr)                                                       \
  do {                                                                     \
    if (!(expr)) FAIL("assertion failed: %s", #expr);                      \
  } while (0)

#define ASSERT_INT_OP(a, op, b)                                            \
  do {                                                                     \
    int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                          \
    if (!(a_ op b_))                                                       \
      FAIL("%s %s %s: %" PRId64 " vs %" PRId64, #a, #op, #b, a_, b_);      \
  } while (0)

#define ASSERT_EQ(a, b) ASSERT_INT_OP(a, ==, b)
#define ASSERT_NE(a, b) ASSERT_INT_OP(a, !=, b)
#define ASSERT_LE(a, b) ASSERT_INT_OP(a, <=, b)
#define ASSERT_GE(a, b) ASSERT_INT_OP(a, >=, b)
#define ASSERT_GT(a, b) ASSERT_INT_OP(a, >, b)
#define ASSERT_LT(a, b) ASSERT_INT_OP(a, <, b)

#define ASSERT_STR_EQ(a, b)                                                \
  do {                                                                     \
    const char *a_ = (a), *b_ = (b);                                       \
    if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)                   \
      FAIL("%s == %s: \"%s\" vs \"%s\"", #a, #b, a_ ? a_ : "(null)",       \
           b_ ? b_ : "(null)");                                            \
  } while (0)

#define ASSERT_NULL(a) ASSERT((a) == NULL)
#define ASSERT_NOT_NULL(a) ASSERT((a) != NULL)

#endif
