/* Table-driven tests for src/cli/units.c: every count, duration and size the CLI accepts or refuses. */
#include <uv.h>

#include "cli/units.h"
#include "task.h"

#define H 3600000u
#define MAXD (24u * H) /* --timeout's limit */
#define GiB ((uint64_t)1 << 30)

typedef struct {
  const char *in;
  uint64_t max;
  int err;
  uint64_t out;
} row_t;

static const row_t durations[] = {
  /* A bare number is seconds, and may be fractional. */
  {"5", MAXD, 0, 5000},
  {"0", MAXD, 0, 0},
  {"0.2", MAXD, 0, 200},
  {"0.3", MAXD, 0, 300}, /* exact: no binary floating point on the way */
  {"2.5", MAXD, 0, 2500},
  {".5", MAXD, 0, 500},
  {"5.", MAXD, 0, 5000},
  {"007", MAXD, 0, 7000},
  {"2.5s", MAXD, 0, 2500},
  {"150ms", MAXD, 0, 150},
  {"1.5ms", MAXD, 0, 2},     /* nearest millisecond */
  {"1.4ms", MAXD, 0, 1},
  {"0.0004", MAXD, 0, 1},    /* above zero never becomes 0 ("none") */
  {"0.000", MAXD, 0, 0},
  {"0ms", MAXD, 0, 0},
  {"1m", MAXD, 0, 60000},
  {"1.5m", MAXD, 0, 90000},
  {"2h", MAXD, 0, 2 * H},
  {"24h", MAXD, 0, MAXD},
  {"0.123456789", MAXD, 0, 123},
  /* Limits. */
  {"24.001h", MAXD, UV_ERANGE, 0},
  {"86401", MAXD, UV_ERANGE, 0},
  {"86400001ms", MAXD, UV_ERANGE, 0},
  {"99999999999999999999", MAXD, UV_ERANGE, 0},
  {"18446744073709551615h", MAXD, UV_ERANGE, 0},
  {"1h", 59 * 60000u, UV_ERANGE, 0},
  /* Not durations. */
  {"", MAXD, UV_EINVAL, 0},
  {".", MAXD, UV_EINVAL, 0},
  {"s", MAXD, UV_EINVAL, 0},
  {"-1", MAXD, UV_EINVAL, 0},
  {"+1", MAXD, UV_EINVAL, 0},
  {" 1", MAXD, UV_EINVAL, 0},
  {"1 ", MAXD, UV_EINVAL, 0},
  {"1 s", MAXD, UV_EINVAL, 0},
  {"1e3", MAXD, UV_EINVAL, 0},
  {"1,5", MAXD, UV_EINVAL, 0},
  {"1.2.3", MAXD, UV_EINVAL, 0},
  {"5sec", MAXD, UV_EINVAL, 0},
  {"5S", MAXD, UV_EINVAL, 0},
  {"5us", MAXD, UV_EINVAL, 0},
  {"5d", MAXD, UV_EINVAL, 0},
  {"5msx", MAXD, UV_EINVAL, 0},
  {"0x10", MAXD, UV_EINVAL, 0},
  {"0.1234567891", MAXD, UV_EINVAL, 0}, /* more than nanoseconds */
  {"inf", MAXD, UV_EINVAL, 0},
};

static const row_t sizes[] = {
  {"0", UINT64_MAX, 0, 0},
  {"1000", UINT64_MAX, 0, 1000},
  {"1k", UINT64_MAX, 0, 1024},
  {"1K", UINT64_MAX, 0, 1024},
  {"1M", UINT64_MAX, 0, 1u << 20},
  {"1m", UINT64_MAX, 0, 1u << 20},
  {"32M", UINT64_MAX, 0, 32u << 20},
  {"2G", UINT64_MAX, 0, 2 * GiB},
  {"1.5M", UINT64_MAX, 0, 3u << 19},
  {"0.5k", UINT64_MAX, 0, 512},
  {"1.0001k", UINT64_MAX, 0, 1024}, /* rounded down to whole bytes */
  {"18446744073709551615", UINT64_MAX, 0, UINT64_MAX},
  {"17179869183G", UINT64_MAX, 0, 17179869183u * GiB},
  /* Limits. */
  {"18446744073709551616", UINT64_MAX, UV_ERANGE, 0},
  {"17179869184G", UINT64_MAX, UV_ERANGE, 0},
  {"1025", 1024, UV_ERANGE, 0},
  {"1.001k", 1024, UV_ERANGE, 0},
  {"1k", 1024, 0, 1024},
  /* Not sizes. */
  {"", UINT64_MAX, UV_EINVAL, 0},
  {"k", UINT64_MAX, UV_EINVAL, 0},
  {"2.5", UINT64_MAX, UV_EINVAL, 0}, /* a fraction of a byte */
  {"-1", UINT64_MAX, UV_EINVAL, 0},
  {"1 M", UINT64_MAX, UV_EINVAL, 0},
  {"1MB", UINT64_MAX, UV_EINVAL, 0},
  {"1MiB", UINT64_MAX, UV_EINVAL, 0},
  {"1T", UINT64_MAX, UV_EINVAL, 0},
  {"1b", UINT64_MAX, UV_EINVAL, 0},
  {"1e6", UINT64_MAX, UV_EINVAL, 0},
};

static const row_t counts[] = {
  {"0", 100, 0, 0},
  {"100", 100, 0, 100},
  {"101", 100, UV_ERANGE, 0},
  {"18446744073709551615", UINT64_MAX, 0, UINT64_MAX},
  {"18446744073709551616", UINT64_MAX, UV_ERANGE, 0},
  {"007", 100, 0, 7},
  {"+5", 100, 0, 5}, /* as strtoull reads it, which the CLI always took */
  {" 5", 100, 0, 5},
  {"", 100, UV_EINVAL, 0},
  {"-0", 100, UV_EINVAL, 0},
  {"5x", 100, UV_EINVAL, 0},
  {"0x10", 100, UV_EINVAL, 0},
  {"1.5", 100, UV_EINVAL, 0},
};

static void test_table(const row_t *rows, size_t n,
                       int (*parse)(const char *, uint64_t, uint64_t *)) {
  for (size_t i = 0; i < n; i++) {
    uint64_t out = 424242;
    int err = parse(rows[i].in, rows[i].max, &out);
    if (err != rows[i].err)
      FAIL("'%s': error %d (%s), want %d", rows[i].in, err, err ? uv_err_name(err) : "none",
           rows[i].err);
    if (err == 0 && out != rows[i].out)
      FAIL("'%s': %" PRIu64 ", want %" PRIu64, rows[i].in, out, rows[i].out);
    if (err != 0) ASSERT_EQ(out, 424242); /* untouched on error */
  }
}

static void test_format(void) {
  static const struct {
    uint64_t ms;
    const char *text;
  } d[] = {{0, "0"}, {1, "1ms"}, {150, "150ms"}, {1500, "1500ms"}, {60000, "1m"},
           {30000, "30s"}, {90000, "90s"}, {3600000, "1h"}, {7200000, "2h"}, {5400000, "90m"}};
  static const struct {
    uint64_t bytes;
    const char *text;
  } s[] = {{0, "0"}, {10, "10"}, {1024, "1k"}, {1536, "1536"}, {2u << 20, "2M"},
           {32u << 20, "32M"}, {GiB, "1G"}, {3u << 19, "1536k"}};
  char buf[32];
  for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
    ASSERT_STR_EQ(cli_format_duration(d[i].ms, buf, sizeof(buf)), d[i].text);
    uint64_t back = 0;
    ASSERT_EQ(cli_parse_duration(buf, UINT64_MAX / 2, &back), 0); /* what it prints parses */
    ASSERT_EQ(back, d[i].ms);
  }
  for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
    ASSERT_STR_EQ(cli_format_size(s[i].bytes, buf, sizeof(buf)), s[i].text);
    uint64_t back = 1;
    ASSERT_EQ(cli_parse_size(buf, UINT64_MAX, &back), 0);
    ASSERT_EQ(back, s[i].bytes);
  }
}

int main(void) {
  uint64_t v = 7;
  test_table(durations, sizeof(durations) / sizeof(durations[0]), cli_parse_duration);
  test_table(sizes, sizeof(sizes) / sizeof(sizes[0]), cli_parse_size);
  ASSERT_EQ(cli_parse_duration(NULL, MAXD, &v), UV_EINVAL);
  ASSERT_EQ(cli_parse_size(NULL, MAXD, &v), UV_EINVAL);
  test_table(counts, sizeof(counts) / sizeof(counts[0]), cli_parse_count);
  ASSERT_EQ(cli_parse_count(NULL, MAXD, &v), UV_EINVAL);
  ASSERT_EQ(v, 7);
  test_format();
  puts("ok units");
  return 0;
}
