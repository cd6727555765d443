/* The CLI's report: what a person or a CI job reads at the end of a crawl. */
#ifndef UVCRAWL_CLI_REPORT_H
#define UVCRAWL_CLI_REPORT_H

#include <stdio.h>

#include "uvcrawl.h"

typedef enum { FMT_TEXT, FMT_JSON, FMT_JSONL, FMT_CSV, FMT_JUNIT, FMT_MARKDOWN } report_format_t;

typedef struct report_s report_t;

/* Returns a new report or NULL when out of memory; free with report_free(). */
report_t *report_new(int verbose);
void report_free(report_t *r);
/* Parses a --format name; returns 0 or -1. */
int report_parse_format(const char *name, report_format_t *out);
/* Accounts one record (status classes, error kinds, slowest, duplicates, redirects). */
void report_result(report_t *r, const uvcrawl_result_t *res);
/* Copies every broken URL and its referrers out of the crawler (call from on_done). Returns
 * how many, or a negative error. */
int report_collect_broken(report_t *r, uvcrawl_t *crawler);
size_t report_broken_count(const report_t *r);
/* Writes the broken-link report in fmt (FMT_JSONL writes nothing: the records are it). */
void report_write(const report_t *r, report_format_t fmt, FILE *out);
/* Records counted so far by status class: out[0] no response, out[1..5] 1xx..5xx. */
void report_classes(const report_t *r, uint64_t out[6]);
/* The slowest records so far, slowest first: up to n URLs (borrowed until the next
 * report_result() or report_summary()) and their ms. Returns how many. */
size_t report_slowest(const report_t *r, const char **urls, double *ms, size_t n);
/* The end-of-crawl summary for a person. */
void report_summary(const report_t *r, const uvcrawl_stats_t *s, FILE *out);

#endif
