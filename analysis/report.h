/* From per-replication metric values to what users read: the summary rows
 * (mean, confidence interval, stddev per component and metric), the result
 * files of a run, and the progress bar. */
#ifndef GS_ANALYSIS_REPORT_H
#define GS_ANALYSIS_REPORT_H

#include <stddef.h>
#include <stdio.h>
#include "analysis/summary.h"
#include "sim/replicate.h"

typedef enum gs_format { GS_FORMAT_TABLE, GS_FORMAT_CSV, GS_FORMAT_JSON } gs_format;

/* What a metric is, by its name (docs/results.md, "Units"): a share, a
 * fraction in [0, 1] (SPEC §4: availability, utilization, every *_ratio),
 * or a rate per second (throughput, offered_rate, goodput, every *_per_s
 * such as tokens_per_s). Times are gs_summary_is_time_metric()'s. */
int gs_report_is_share(const char *metric);
int gs_report_is_rate(const char *metric);

/* One row per metric of res, in report order. Caller frees with gs_free(). */
int gs_report_rows(const gs_results *res, double confidence, gs_summary_row **rows,
                   gs_diag *d);

/* A component is saturated when its mean utilization is at least this and
 * it turned nothing away: with open arrivals its queue then grows for as
 * long as the run lasts (offered load >= 1; measured utilization stays a
 * little below 1 for mild overload, the queue having emptied early in some
 * replications) or settles only over a time far beyond usual durations
 * (an M/M/1 at 0.98 relaxes over some 10^4 service times). */
#define GS_REPORT_SATURATED 0.98

/* A warning, into buf, when sc has an open workload and rows show a
 * saturated component (the most utilized, when several are): its numbers
 * describe a queue still growing when the run ended, not a steady state.
 * Returns 1 when buf holds one, else 0. A closed workload's queues are
 * bounded by its users; when anything turns requests away (blocked_ratio
 * > 0 at any component, system rejected_ratio > 0) that may be what bounds
 * the queue; an autoscaled worker pool (scale_events > 0) is busy by
 * design: none of these warns. */
int gs_report_saturation(const gs_scenario *sc, const gs_summary_row *rows, size_t n,
                         char *buf, size_t size);

/* A tail percentile needs this many answered requests beyond it in each
 * replication before the average of the replications' percentiles is
 * close to the true one (docs/statistics.md, "Percentiles"). */
#define GS_REPORT_TAIL_MIN 10.0

/* A warning, into buf, when the system's latency_p999 (and latency_p99)
 * rest on fewer than GS_REPORT_TAIL_MIN answered requests beyond them per
 * replication: the answered requests per replication are its throughput
 * times the observation window. Returns 1 when buf holds one, else 0. */
int gs_report_tail(const gs_scenario *sc, const gs_summary_row *rows, size_t n, char *buf,
                   size_t size);

/* Write summary.csv and scenario.yaml (the resolved scenario) into dir,
 * creating it; each file appears complete or not at all. GS_EIO with a
 * message naming the file when something cannot be written. */
int gs_report_write(const char *dir, const gs_scenario *sc, const gs_summary_row *rows,
                    size_t n, gs_diag *d);

/* Write dir/name (creating dir) atomically: body writes the content to f
 * and returns GS_OK or an error. GS_EIO with a message naming the file when
 * it cannot be written. */
int gs_report_write_file(const char *dir, const char *name,
                         int (*body)(FILE *f, const void *arg), const void *arg, gs_diag *d);

/* Print rows to f in the given format. GS_OK or GS_EIO. */
int gs_report_print(FILE *f, gs_format fmt, const gs_scenario *sc,
                    const gs_summary_row *rows, size_t n);

/* A progress bar on stderr, drawn only when stderr is a terminal. */
typedef struct gs_progress {
    int         enabled;
    double      t0;
    const char *label;
    const char *unit;   /* what is counted; gs_progress_init sets "replications" */
    double      every;  /* > 0: a plain line at most every `every` seconds instead of a
                         * redrawn bar (logs, and mpirun, whose ranks' stderr is a pipe) */
    double      last;   /* elapsed seconds at the last line */
} gs_progress;

void gs_progress_init(gs_progress *p, const char *label, int quiet);
/* gs_progress_fn for gs_replicate(): arg is a gs_progress. */
void gs_progress_update(void *arg, long finished, long total, double share);
void gs_progress_end(gs_progress *p);

#endif
