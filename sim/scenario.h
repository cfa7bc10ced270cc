/* A configured scenario (SPEC §2): the loaded YAML tree with defaults filled
 * in, the simulation settings, the workloads, and every component's
 * read-only configuration. Built once and shared by all replications. */
#ifndef GS_SIM_SCENARIO_H
#define GS_SIM_SCENARIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "component.h"
#include "dist.h"
#include "types.h"

/* The most replications a scenario (simulation.replications) may ask for;
 * the command line's -r checks against it too. */
#define GS_SCENARIO_MAX_REPLICATIONS 100000L

/* The longest scenario name, component id or workload name: each becomes
 * part of file names (results/NAME/, plots/utilization-NAME.png, ...),
 * which a file system caps at 255 bytes with prefix and suffix. */
#define GS_NAME_MAX 128

typedef enum gs_process {
    GS_PROC_POISSON,        /* exponential gaps at `rate` */
    GS_PROC_DETERMINISTIC,  /* one arrival every 1/rate */
    GS_PROC_CLOSED,         /* `users` each waiting for the answer, then thinking */
    GS_PROC_MMPP,           /* Poisson at the rate of a cyclic Markov chain's state */
    GS_PROC_DIURNAL,        /* Poisson at rate * (1 + amplitude * sin(2 pi t / period)) */
    GS_PROC_TRACE           /* replay of a CSV file's arrival times */
} gs_process;

typedef struct gs_workload {
    const char *name;
    uint32_t    cls;          /* index into gs_scenario.classes */
    gs_process  process;
    double      rate;         /* per second (open processes; mmpp and diurnal: the
                                 long-run mean rate) */
    size_t      nstates;      /* mmpp: number of states (>= 2) */
    double     *state_rate;   /* mmpp: nstates arrival rates per second, >= 0 (owned) */
    double     *state_sojourn;/* mmpp: nstates mean sojourns in seconds, > 0 (owned) */
    double      amplitude;    /* diurnal: in [0, 1] */
    double      period;       /* diurnal: seconds, > 0 */
    size_t      ntrace;       /* trace: number of rows (>= 1) */
    gs_time    *trace_time;   /* trace: arrival times from the first row, non-decreasing
                                 (owned) */
    uint32_t   *trace_prompt; /* trace: prompt tokens per row, or NULL (owned) */
    uint32_t   *trace_output; /* trace: output tokens per row, or NULL (owned) */
    uint64_t   *trace_key;    /* trace: request key (>= 1) per row, or NULL (owned) */
    gs_dist     gap;          /* open processes: time between arrivals, seconds */
    long        users;        /* closed */
    gs_dist     think;        /* closed: seconds */
    gs_time     deadline;     /* GS_TIME_MAX when none */
    long        key_count;    /* keys 1..key_count; 0: requests carry no key */
    double      zipf;         /* popularity exponent: P(key k) proportional to k^-zipf */
    gsl_ran_discrete_t *keys; /* Walker alias table over the keys (read-only, shared) */
    int         has_prompt, has_output;
    gs_dist     prompt_tokens, output_tokens;
    uint32_t    entry;        /* component index */
} gs_workload;

struct gs_scenario {
    gs_doc      *doc;
    const char  *path;
    const char  *name;
    const char  *description;
    gs_time      duration, warmup, sample_interval;
    /* warmup: auto (sim/warmup.c): warmup is 0 until the first run sets it
     * to MSER-5's choice, then warmup_ready is 1 and warmup_note says how
     * the choice went; both are touched only inside gs_warmup_resolve(). */
    int          warmup_auto, warmup_ready, warmup_note;
    long         replications;
    uint64_t     seed;
    double       confidence;
    /* Requests alive at once in one replication (client requests and
     * attempts); past it the replication stops with an error naming
     * simulation.max_in_flight, instead of running the machine out of
     * memory. */
    long         max_in_flight;
    gs_dist      latency;          /* one network hop, seconds */
    gs_time      connect_timeout;
    size_t       nclasses;
    const char **classes;
    size_t       nworkloads;
    gs_workload *workloads;
    /* Declared components first (in file order), then one source per
     * workload: index i < ncomponents is a declared component. */
    size_t        ncomponents;
    size_t        nall;
    gs_comp_conf *comps;
};

/* Load and configure a scenario file, applying the "--set PATH=VALUE"
 * overrides in order first. Caller frees with gs_scenario_free(). Errors are
 * GS_EINVAL (bad scenario, message "FILE:LINE:COL: ..."), GS_EIO or
 * GS_ENOMEM. */
int gs_scenario_load(const char *path, const char *const *sets, size_t nsets,
                     gs_scenario **out, gs_diag *d);

/* The same for text in memory; src names it in messages. */
int gs_scenario_load_string(const char *text, const char *src, const char *const *sets,
                            size_t nsets, gs_scenario **out, gs_diag *d);

/* A value of a sweep's grid point (SPEC §6): value, a node of the sweep
 * file, goes at path (as --set addresses it); where (the grid key) places
 * errors in the path itself. */
typedef struct gs_override {
    const char    *path;
    const gs_node *value;
    const gs_node *where;
} gs_override;

/* gs_scenario_load_string() with the overrides ov applied after the sets
 * (gs_doc_apply_node()). */
int gs_scenario_load_grid(const char *text, const char *src, const char *const *sets,
                          size_t nsets, const gs_override *ov, size_t nov, gs_scenario **out,
                          gs_diag *d);

void gs_scenario_free(gs_scenario *sc);

/* The node of simulation.KEY (defaults are filled in, so every key of the
 * section has one), for messages about a limit that a run finds; NULL
 * only for a key the section does not have. */
const gs_node *gs_scenario_setting(const gs_scenario *sc, const char *key);

/* Print the resolved scenario (defaults filled in) as YAML. */
int gs_scenario_emit(const gs_scenario *sc, FILE *f);

/* The internal component type of workload sources (sim/source.c). */
extern const gs_component_type gs_source_type;

#endif
