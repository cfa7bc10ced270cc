/* Running a sweep's work items (SPEC §6): on this process's OpenMP threads,
 * and under MPI on every rank, with dynamic scheduling; each finished item
 * journaled durably by rank 0 so that --resume skips it.
 *
 * Dynamic scheduling: an idle thread takes the next item not yet done (a
 * shared counter on one process; under MPI, rank 0's main thread hands
 * items out on request and receives each result with the next request).
 * Results are kept by item index, so the files never depend on who ran what
 * or in which order (sweep.csv is byte-identical for any number of threads
 * and ranks, resumed or not). */
#ifndef GS_SIM_SWEEP_RUN_H
#define GS_SIM_SWEEP_RUN_H

#include <stddef.h>
#include "replicate.h"
#include "sweep.h"

typedef struct gs_sweep_run_opts {
    int            threads;       /* worker threads of this process, >= 1 */
    const char    *journal;       /* rank 0's journal path; NULL: none */
    int            resume;        /* skip the items the journal holds */
    gs_progress_fn progress;      /* rank 0: items finished of those to run */
    void          *progress_arg;
} gs_sweep_run_opts;

/* One base's results: the union of its points' metrics, in the order they
 * first appear in item order, and every item's values. */
typedef struct gs_sweep_data {
    size_t  nmetrics;
    char  **component;   /* [nmetrics] */
    char  **metric;      /* [nmetrics] */
    double *values;      /* [npoints][nrep][nmetrics]; NaN where absent */
} gs_sweep_data;

typedef struct gs_sweep_outcome {
    gs_sweep_data *base;      /* [nbases], on rank 0 only (NULL elsewhere) */
    long           resumed;   /* items read back from the journal */
    long           ran;       /* items run by this call, over all ranks */
    double         wall_s;    /* of running them */
    int            ranks, threads;
} gs_sweep_outcome;

/* Run every item of sw that is not done yet. Collective under MPI: every
 * rank calls it. On rank 0, out->base holds the results of all items. A
 * failing item stops the sweep: its error (lowest item first among those
 * seen) is returned on rank 0; the journal keeps what finished. Errors:
 * those of the journal (GS_EIO, GS_EINVAL for a journal of another sweep),
 * of a replication (GS_ENOMEM), GS_EINTERNAL for MPI failures. */
int gs_sweep_run(const gs_sweep *sw, const gs_sweep_run_opts *o, gs_sweep_outcome *out,
                 gs_diag *d);

void gs_sweep_outcome_release(const gs_sweep *sw, gs_sweep_outcome *out);

#endif
