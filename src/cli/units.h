/* Counts, durations and sizes as a person types them on the command line: one parser for every time
 * option and one for every byte size, so "--timeout 5" and "--delay 0.2" mean what they mean
 * to wget and curl (seconds), and "--max-body 1M" what it means to curl (MiB). Pure: no I/O. */
#ifndef UVCRAWL_CLI_UNITS_H
#define UVCRAWL_CLI_UNITS_H

#include <stdint.h>

/* Parses a duration: a decimal number (a fraction allowed, no sign, no exponent) with an
 * optional unit "ms", "s", "m" or "h"; a bare number is seconds ("0.2", "2.5s", "150ms",
 * "1.5m"). *ms gets milliseconds, rounded to the nearest, except that a duration above zero
 * never rounds down to 0 (which the options read as "none"): "0.0001" is 1 ms. Returns 0,
 * UV_EINVAL for text that is not a duration, or UV_ERANGE above max_ms; *ms is unchanged on
 * error. */
int cli_parse_duration(const char *s, uint64_t max_ms, uint64_t *ms);

/* Parses a size in bytes: a decimal number with an optional suffix k, M or G (either case;
 * 1024-based, as curl's --max-filesize), bare = bytes. A fraction needs a suffix ("1.5M");
 * the result is rounded down to whole bytes. Returns 0, UV_EINVAL or UV_ERANGE above max;
 * *bytes is unchanged on error. */
int cli_parse_size(const char *s, uint64_t max, uint64_t *bytes);

/* Parses a count: a whole non-negative decimal number no larger than max (as strtoull reads
 * it: leading blanks and a '+' pass, a '-' does not). Returns 0, UV_EINVAL or UV_ERANGE; *n
 * is unchanged on error. */
int cli_parse_count(const char *s, uint64_t max, uint64_t *n);

/* Writes ms as the shortest exact duration in this syntax ("60s", "150ms", "2m", "1h",
 * "0") into buf of n bytes (at least 24). Returns buf. */
const char *cli_format_duration(uint64_t ms, char *buf, unsigned n);

/* Writes bytes as the shortest exact size ("32M", "512k", "1000") into buf of n bytes (at
 * least 24). Returns buf. */
const char *cli_format_size(uint64_t bytes, char *buf, unsigned n);

#endif
