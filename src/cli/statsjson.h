/* The crawl's statistics as JSON: one writer for --stats-json and the live /stats endpoint
 * (status.c), so the two cannot disagree on a field's name, unit or format. */
#ifndef UVCRAWL_CLI_STATSJSON_H
#define UVCRAWL_CLI_STATSJSON_H

#include <stdio.h>

#include "uvcrawl.h"

/* Writes the members of the statistics object, without its braces ("pages":N,...,
 * "lag_worst":[...]), to f; the caller adds the braces and any members of its own after
 * these. Returns what fprintf/fputs last returned (negative on an error of f). */
int cli_stats_json_fields(FILE *f, const uvcrawl_stats_t *s);

#endif
