/* A sweep (SPEC §6): one or more base scenarios, a grid of parameter values,
 * and the work items (base, point, replication) that running it means.
 *
 * The sweep file:
 *
 *   name: arrival-rate              # default: the file's stem
 *   base: [a.yaml, b.yaml]          # or one path; one curve per base
 *   grid:                           # cartesian product, first key outermost
 *     workload.chat.arrivals.rate: [200/s, 400/s, 800/s]
 *     components.gw.servers: [4, 8]
 *   zip:                            # parameters that vary together: one axis
 *     components.gw.capacity: [10, 20]
 *     components.svc.capacity: [5, 10]
 *   replications: 10                # default: each base's own
 *   seed: 7                         # default: the first base's, for all
 *   plots: [latency_p99, availability, gw/utilization]
 *
 * A grid or zip value that is not a list is one point (`servers: 4` is
 * `servers: [4]`). Each grid value is put into every base at its path as
 * --set would (an item of a sequence by its name or index), but keeping its
 * position in the sweep file, so a value a scenario refuses is reported at
 * the sweep file's line and column. Two paths that reach one value of a
 * base (by index and by name, or one inside the other), and the paths
 * `name` and `simulation.replications`, are refused. Every base at every
 * point is loaded once up front, so a bad point, or a plot that no base
 * reports at any point, fails before anything runs.
 *
 * Work item i is (base b, point p, replication r) in that nesting order,
 * base outermost; replication r of every point and base uses the same seed
 * and replication index (common random numbers across the grid, as
 * `gatesim compare` does across scenarios). */
#ifndef GS_SIM_SWEEP_H
#define GS_SIM_SWEEP_H

#include <stddef.h>
#include <stdint.h>
#include "engine.h"
#include "node.h"
#include "types.h"

typedef struct gs_sweep_base {
    char          *path;     /* as found (relative to the sweep file or the working dir) */
    char          *text;     /* the file's content, read once */
    const gs_node *where;    /* its entry in the sweep file */
    char          *name;     /* the scenario's name */
    char          *yaml;     /* resolved text at the first point */
    long           nrep;     /* replications of each point */
    double         confidence;
    long           first;    /* its first work item */
} gs_sweep_base;

typedef struct gs_sweep {
    gs_doc        *doc;           /* the sweep file */
    char          *text;          /* the sweep file as read */
    const char    *path;
    const char    *name;
    size_t         nbases;
    gs_sweep_base *bases;
    size_t         nparams;
    const char   **param;         /* [nparams] paths */
    const gs_node **param_key;    /* [nparams] their keys (positions) */
    const char   **param_unit;    /* [nparams] "s", "1/s" or "" */
    size_t         npoints;
    const gs_node **value;        /* [npoints * nparams] */
    char         **text_of;       /* [npoints * nparams] values as text */
    double        *num;           /* [npoints * nparams] as numbers, NaN for text */
    size_t         nplot;
    const char   **plot;          /* metrics to plot: "METRIC" or "COMPONENT/METRIC" */
    const char *const *sets;      /* --set overrides for every base (borrowed) */
    size_t         nsets;
    char         **owned_sets;    /* simulation.replications / seed overrides */
    size_t         nowned;
    long           nitems;
    uint64_t       fingerprint;   /* of everything that decides the results */
} gs_sweep;

/* Load and check a sweep file: parse it, find and read the bases, and load
 * every base at every point (on `threads` threads, <= 0: all) to check it
 * and compute the fingerprint. sets (borrowed; they must outlive the sweep)
 * apply to every base before the grid values; replications > 0 and
 * seed >= 0 override the file's. Errors: GS_EINVAL with "FILE:LINE:COL:
 * ..." naming the sweep file or the base, GS_EIO, GS_ENOMEM. Caller frees
 * with gs_sweep_free(). */
int gs_sweep_load(const char *path, const char *const *sets, size_t nsets, long replications,
                  long seed, int threads, gs_sweep **out, gs_diag *d);

/* gs_sweep_load() for text in memory (len bytes; copied), named src in
 * messages; bases are looked for beside src (its directory, which need
 * not hold a file of that name) and then from the working directory. */
int gs_sweep_load_string(const char *text, size_t len, const char *src,
                         const char *const *sets, size_t nsets, long replications, long seed,
                         int threads, gs_sweep **out, gs_diag *d);

void gs_sweep_free(gs_sweep *sw);

/* The base, point and replication of work item i (0 <= i < nitems). */
void gs_sweep_item(const gs_sweep *sw, long i, size_t *base, size_t *point, long *rep);

/* Load base b at point p. Warnings are not repeated (they were printed by
 * gs_sweep_load). Caller frees with gs_scenario_free(). */
int gs_sweep_scenario(const gs_sweep *sw, size_t b, size_t p, gs_scenario **out, gs_diag *d);

#endif
