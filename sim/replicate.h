/* Runs the replications of a scenario, on OpenMP threads, and gathers their
 * metrics by replication index, so that what is produced never depends on
 * which thread ran which replication. */
#ifndef GS_SIM_REPLICATE_H
#define GS_SIM_REPLICATE_H

#include <stddef.h>
#include "engine.h"
#include "types.h"

/* Metric values of every replication: values[k * nreps + i] is metric k
 * (component[k], name[k]) of replication i. */
typedef struct gs_results {
    size_t       nmetrics;
    long         nreps;
    const char **component;
    const char **name;
    double      *values;
    gs_run_info  total;        /* sums over replications (calendar bytes: the maximum) */
    gs_trace    *traces;       /* [nreps] when traced (gs_replicate_traced), else NULL */
    double       wall_s;       /* wall-clock seconds of the whole run */
} gs_results;

/* Progress: `finished` of `total` replications are done, and `share` (in
 * [0, 1]) of the whole work, counting the simulated time of the running
 * ones. Called from one thread at a time, after each replication and about
 * five times a second while they run. */
typedef void (*gs_progress_fn)(void *arg, long finished, long total, double share);

/* The most bytes the time series of a traced run's replications may take
 * together (they are all kept for results.h5). */
#define GS_MAX_SERIES_BYTES 2e9
/* The most (replication, component) pairs a run may keep metrics for. */
#define GS_MAX_REPLICATION_CELLS 1e7

/* Run replications first .. first + nreps - 1 of sc on `threads` threads
 * (<= 0: all cores). Caller releases out with gs_results_release(). */
int gs_replicate(const gs_scenario *sc, long first, long nreps, int threads,
                 gs_progress_fn progress, void *progress_arg, gs_results *out, gs_diag *d);

/* The same, recording each replication's trace (sim/engine.h) in
 * out->traces. */
int gs_replicate_traced(const gs_scenario *sc, long first, long nreps, int threads,
                        gs_progress_fn progress, void *progress_arg, gs_results *out,
                        gs_diag *d);

void gs_results_release(gs_results *r);

/* Add the replications of more (the same scenario, later replication
 * indices, the same metrics) after those of r; more's traces move to r.
 * GS_OK, GS_ENOMEM, or
 * GS_EINTERNAL when the metrics differ. */
int gs_results_append(gs_results *r, gs_results *more, gs_diag *d);

/* Wall-clock seconds from a monotonic clock (for timing only; never
 * inside the model). */
double gs_wall_seconds(void);

#endif
