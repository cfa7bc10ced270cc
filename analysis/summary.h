/* Statistics across replications, and the three forms of a run's summary:
 * summary.csv, a human table and JSON.
 *
 * Each replication yields one value per (component, metric); the estimate of
 * a metric is the mean of those values with a Student-t confidence interval,
 * which is exact for normal values and, by the central limit theorem, close
 * for the replication means that a simulation produces. */
#ifndef GS_ANALYSIS_SUMMARY_H
#define GS_ANALYSIS_SUMMARY_H

#include <stddef.h>
#include <stdio.h>

typedef struct gs_estimate {
    double mean, ci_low, ci_high, stddev;
    long   n;                   /* finite values used */
} gs_estimate;

/* Estimate from x[0 .. n): non-finite values (NaN, a metric a replication
 * could not measure; infinities) are skipped and out->n counts the finite
 * ones. mean, sample standard deviation, and the interval
 * mean -/+ t_{(1+confidence)/2, n-1} s / sqrt(n). With one value the stddev
 * and the interval are NaN; with none everything is NaN. Values all equal
 * give stddev 0 and an interval of exactly [mean, mean]. A confidence outside
 * (0, 1) gives a NaN interval. */
void gs_estimate_compute(const double *x, size_t n, double confidence, gs_estimate *out);

/* One line of a summary. The strings are borrowed; NULL reads as "". */
typedef struct gs_summary_row {
    const char *component;
    const char *metric;
    gs_estimate est;
} gs_summary_row;

/* summary.csv: the header line
 *   scenario,component,metric,mean,ci_low,ci_high,stddev,replications
 * then one line per row; numbers as "%.10g" with NaN as "nan" and infinities
 * as "inf"/"-inf", replications = est.n; text fields quoted only when they
 * need it (analysis/csv.h). Lines end in "\n". Flushes f; GS_OK, or GS_EIO
 * when the stream reports an error. */
int gs_summary_write_csv(FILE *f, const char *scenario, const gs_summary_row *rows,
                         size_t n);

/* A table for people, grouped by component (in order of first appearance,
 * the name printed once per group), with columns
 *   component  metric  mean  C% CI  +/-half-width  n
 * where C is 100 * confidence. Time metrics (gs_summary_is_time_metric();
 * values in seconds) are shown in
 * ns, us, ms or s, the unit picked from the mean and shared by the row; all
 * numbers have 4 significant digits. An undefined value (NaN) shows as "-".
 * Numbers are right-aligned with the unit in a 2-character field beside
 * them, so digits line up whether or not a row has a unit; fixed point from
 * 1e-4 to 1e6 (trailing zeros kept), scientific outside; +/- is the
 * half-width of the interval. Looks like:
 *
 *   scenario: baseline
 *
 *   component  metric          mean     95% CI                   +/-      n
 *   ---------  ------------  ---------  -----------------  ------------  --
 *   system     latency_mean   12.35 ms  [12.10, 12.60] ms     0.2500 ms  20
 *              throughput     998.1     [995.3, 1001]          2.810     20
 *              latency_p99    45.67 ms  [44.01, 47.33] ms      1.660 ms  20
 *   gw         utilization   0.7995     [0.7990, 0.8000]   0.0005100     20
 *              wait_mean      834.0 us  [812.0, 856.0] us      22.00 us  20
 *
 * Flushes f; GS_OK, GS_ENOMEM, or GS_EIO when the stream reports an error. */
int gs_summary_print_table(FILE *f, const char *scenario, double confidence,
                           const gs_summary_row *rows, size_t n);

/* 1 when a metric, by its name, is a time in seconds: names beginning
 * latency_, wait_, response_, ttft_, tpot_ or age_, or ending _time. */
int gs_summary_is_time_metric(const char *name);

/* v as the table shows it: 4 significant digits; for a time metric (by
 * name, as above) scaled to the unit that suits ref (e.g. the mean of its
 * row) and followed by " ms" etc. "-" for NaN. */
void gs_summary_format_value(char *buf, size_t size, const char *metric, double v, double ref);

/* Pieces of the formats above, for other tables of results: a number as
 * summary.csv writes it ("nan", "inf", "%.10g"); a JSON string (NULL is
 * null) and the shortest JSON number that reads back exactly (null for
 * NaN and infinities). */
void gs_summary_csv_number(FILE *f, double v);
void gs_summary_json_string(FILE *f, const char *s);
void gs_summary_json_number(FILE *f, double v);

/* JSON:
 *   {"scenario": "...", "confidence": 0.95, "rows": [
 *     {"component": "...", "metric": "...", "mean": 1.5, "ci_low": 1.2,
 *      "ci_high": 1.8, "stddev": 0.4, "replications": 20}, ...]}
 * (spread over lines, one row per line). Numbers are the shortest form that
 * reads back to the same double; NaN and infinities are null; strings are
 * escaped as RFC 8259 requires. Flushes f; GS_OK, or GS_EIO when the stream
 * reports an error. */
int gs_summary_print_json(FILE *f, const char *scenario, double confidence,
                          const gs_summary_row *rows, size_t n);

#endif
