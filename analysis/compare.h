/* Scenarios side by side (`gatesim compare`): each scenario's estimate of
 * every metric, and its paired difference against the first scenario.
 *
 * The scenarios run the same replication indices with the same seed, so
 * replication i of each draws from the same random streams wherever the
 * scenarios share a workload or a component id (common random numbers,
 * docs/random.md). The difference of a metric is then estimated from the
 * per-replication differences x_i(B) - x_i(A) with a Student-t interval,
 * which is narrower than the unpaired one whenever the two are positively
 * correlated — the point of common random numbers. A difference is
 * significant when its interval excludes 0. */
#ifndef GS_ANALYSIS_COMPARE_H
#define GS_ANALYSIS_COMPARE_H

#include <stddef.h>
#include <stdio.h>

#include "analysis/summary.h"
#include "sim/replicate.h"

typedef struct gs_compare_row {
    size_t      scenario;      /* index into the compared scenarios */
    const char *component;
    const char *metric;
    gs_estimate est;
    int         has_diff;      /* the first scenario has the metric too (never for itself) */
    gs_estimate diff;          /* paired: this scenario minus the first */
    int         significant;   /* diff's interval excludes 0 */
} gs_compare_row;

/* Rows for n scenarios' results (each with the same number of replications),
 * grouped by (component, metric) in order of first appearance across the
 * scenarios, and within a group by scenario. Estimates are clamped like the
 * summary's (gs_report_rows); differences are not. Caller frees *rows with
 * gs_free(). GS_OK or GS_ENOMEM. */
int gs_compare_rows(const gs_results *res, size_t n, double confidence, gs_compare_row **rows,
                    size_t *nrows, gs_diag *d);

/* compare.csv, tidy: the header
 *   scenario,component,metric,mean,ci_low,ci_high,stddev,replications,
 *   diff_mean,diff_ci_low,diff_ci_high,significant
 * (one line), one line per row; the diff fields are empty for the first
 * scenario and where it lacks the metric; significant is 1 or 0. GS_OK or
 * GS_EIO. */
int gs_compare_write_csv(FILE *f, const char *const *names, const gs_compare_row *rows,
                         size_t n);

/* The table for people: one line per scenario and metric, the difference
 * against the first scenario beside it, "*" marking significant ones. */
int gs_compare_print_table(FILE *f, const char *const *names, size_t nscenarios, long nreps,
                           double confidence, const gs_compare_row *rows, size_t n);

/* JSON: {"baseline": "...", "confidence": c, "replications": r, "rows": [
 *   {"scenario": ..., "component": ..., "metric": ..., "mean": ..., "ci_low": ...,
 *    "ci_high": ..., "stddev": ..., "replications": ..., "diff_mean": ... | null,
 *    "diff_ci_low": ..., "diff_ci_high": ..., "significant": true|false|null}, ...]} */
int gs_compare_print_json(FILE *f, const char *const *names, long nreps, double confidence,
                          const gs_compare_row *rows, size_t n);

#endif
