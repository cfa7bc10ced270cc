/* results.h5: a run's results in HDF5, for analysis outside gatesim.
 *
 * The writer takes plain arrays in memory and knows nothing of the engine,
 * so that any producer (a run, a comparison, a test) can fill it. The file's
 * layout, with every dataset's shape, type and unit, is documented in
 * docs/results.md; FORMAT_VERSION below changes whenever that layout changes
 * in a way a reader could notice. */
#ifndef GS_ANALYSIS_H5_H
#define GS_ANALYSIS_H5_H

#include <stddef.h>
#include <stdint.h>

#include "sim/types.h"

/* The root attribute "format_version" of files this writer produces. */
#define GS_H5_FORMAT_VERSION "2"

/* One scenario's results. Everything is borrowed for the duration of
 * gs_h5_write(); arrays may be NULL only where their length is 0. Strings
 * may be NULL, which is written as "". */
typedef struct gs_h5_scenario {
    const char *name;                /* the group /scenarios/<name>: non-empty,
                                        no '/', not "." */
    const char *yaml;                /* the resolved scenario text */
    double      confidence;          /* of the summary's intervals, e.g. 0.95 */
    /* The observation window [warmup_s, duration_s) and how its start was
     * chosen: "fixed" (simulation.warmup) or "mser-5" (warmup: auto), whose
     * choice the resolved YAML cannot say. */
    double      warmup_s, duration_s;
    const char *warmup_method;

    /* Per-replication metrics: values[r * nmetrics + m] is metric m
     * (component[m], metric[m]) of replication r; NaN where a replication
     * could not measure it. */
    size_t              nrep;
    size_t              nmetrics;
    const char *const  *component;   /* [nmetrics] */
    const char *const  *metric;      /* [nmetrics] */
    const double       *values;      /* [nrep][nmetrics] */
    /* The summary over replications, one entry per metric in the same order
     * (what summary.csv holds). */
    const double *mean, *ci_low, *ci_high, *stddev;   /* [nmetrics] */
    const long   *n;                                  /* [nmetrics] */

    /* Histogram of the client-seen latency of answered requests, per
     * replication: hist[r * nbuckets + b] requests had a latency in
     * [bucket_lo_s[b], bucket_hi_s[b]) seconds. */
    size_t          nbuckets;
    const double   *bucket_lo_s;     /* [nbuckets] */
    const double   *bucket_hi_s;     /* [nbuckets] */
    const uint64_t *hist;            /* [nrep][nbuckets] */

    /* Time series, one row per interval_s of simulated time, the same
     * number of rows for every replication: series[(r * nsamples + k) *
     * ncols + c] is column c over [k, k + 1) * interval_s of replication r.
     * Columns are named "COMPONENT/NAME", e.g. "system/throughput",
     * "gw/queue", "gw/up". */
    double             interval_s;
    size_t             nsamples;
    size_t             ncols;
    const char *const *columns;      /* [ncols] */
    const double      *series;       /* [nrep][nsamples][ncols] */
} gs_h5_scenario;

/* Write n scenarios to path as one HDF5 file, atomically: the data goes to a
 * temporary file beside path (analysis/atomic.h) that is renamed over path
 * once complete, so path holds the old file or the whole new one, never a
 * part, and no temporary file is left behind on failure. The file is built
 * in memory first (peak: about twice the size of the compressed file). The
 * output is the same bytes for the same input (no object timestamps).
 * HDF5's own error printing is suppressed during the call and restored
 * after it. Call it from one thread while no other uses HDF5 (the serial
 * library is not thread-safe) or creates files (analysis/atomic.h).
 * GS_OK; GS_EINVAL for a scenario that breaks the rules above (a bad or
 * repeated name, a NULL array of non-zero length); GS_EIO with a message
 * naming path and the reason (e.g. "out/results.h5: cannot create: No such
 * file or directory"); GS_ENOMEM. */
int gs_h5_write(const char *path, const gs_h5_scenario *sc, size_t n, gs_diag *d);

/* One base scenario (architecture) of a sweep: its values at every grid
 * point. Borrowed like gs_h5_scenario's fields. */
typedef struct gs_h5_sweep_base {
    const char        *name;         /* the group /bases/<name>: non-empty, no '/',
                                        not "." */
    const char        *yaml;         /* its resolved scenario text (first point) */
    size_t             nrep;         /* replications of each point */
    size_t             nmetrics;
    const char *const *component;    /* [nmetrics] */
    const char *const *metric;       /* [nmetrics] */
    /* values[(p * nrep + r) * nmetrics + m]: metric m of replication r at
     * grid point p; NaN where it was not measured. */
    const double      *values;       /* [npoints][nrep][nmetrics] */
    /* The summary of each point, [p * nmetrics + m]. */
    const double *mean, *ci_low, *ci_high, *stddev;   /* [npoints][nmetrics] */
    const long   *n;                                  /* [npoints][nmetrics] */
} gs_h5_sweep_base;

/* A whole sweep (sweep.h5). Strings may be NULL, written as "". */
typedef struct gs_h5_sweep {
    const char        *name;         /* the sweep's name */
    const char        *sweep_yaml;   /* the sweep file as read */
    double             confidence;   /* of the intervals */
    size_t             nparams;
    const char *const *param;        /* [nparams] paths, e.g. "components.gw.servers" */
    const char *const *param_unit;   /* [nparams] "s", "1/s" or "" */
    size_t             npoints;
    const char *const *text;         /* [npoints][nparams] values as written */
    const double      *value;        /* [npoints][nparams] in SI units, NaN for text */
    size_t             nbases;
    const gs_h5_sweep_base *base;    /* [nbases] */
} gs_h5_sweep;

/* Write the sweep s to path (docs/results.md, "sweep.h5"): root attributes
 * gatesim_version, format_version, kind = "sweep", name and confidence;
 * /sweep_yaml; /parameters/{path, unit, text, value}; one group
 * /bases/<name> per base with scenario_yaml, component, metric, values and
 * the summary mean, ci_low, ci_high, stddev, n. Written as gs_h5_write()
 * writes (in memory, then atomically; the same bytes for the same input;
 * HDF5's error printing suppressed; one thread). GS_OK; GS_EINVAL for a bad
 * or repeated base name or a NULL array of non-zero length; GS_EIO with a
 * message naming path; GS_ENOMEM. */
int gs_h5_write_sweep(const char *path, const gs_h5_sweep *s, gs_diag *d);

#endif
