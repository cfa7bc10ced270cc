/* Probability distributions of SPEC §2, sampled through GSL's randist from a
 * component's own stream.
 *
 * A distribution is written in a scenario either as a bare value (a time
 * such as "2ms" for time distributions, a number for counts), meaning
 * deterministic, or as a mapping with a "dist" key:
 *   {dist: exponential, mean}         {dist: deterministic, value}
 *   {dist: uniform, min, max}         {dist: normal, mean, sd}   (truncated at 0)
 *   {dist: lognormal, mean, cv}  or   {dist: lognormal, mu, sigma}
 *   {dist: gamma, mean, cv}           {dist: erlang, k, mean}
 *   {dist: weibull, shape, scale}     {dist: pareto, shape, scale}
 *   {dist: hyperexponential, means: [..], probs: [..]}
 *   {dist: empirical, file}           (each value of the file, equally likely)
 * Values of time distributions carry time units (mean: 2ms) and are sampled
 * in seconds; count distributions take plain numbers. mu/sigma of a
 * lognormal are of the log of the value in seconds (time) or plain (count).
 *
 * The normal is truncated at 0 by drawing again when a draw is negative, so
 * its mean is mean + sd phi(mean/sd) / Phi(mean/sd), larger than `mean`
 * unless sd is much smaller than mean (by 0.0044 sd at mean = 3 sd, 0.29 sd
 * at mean = sd, 0.80 sd at mean = 0); gs_dist_mean() and gs_dist_variance()
 * return the moments of the truncated distribution. The lognormal and gamma of
 * (mean, cv) have exactly that mean and standard deviation cv * mean. */
#ifndef GS_SIM_DIST_H
#define GS_SIM_DIST_H

#include <stddef.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>
#include "types.h"

typedef struct gs_doc gs_doc;

typedef enum gs_dist_unit {
    GS_DIST_TIME,   /* values are times; samples are seconds */
    GS_DIST_COUNT   /* values are plain non-negative numbers */
} gs_dist_unit;

typedef struct gs_dist gs_dist;

typedef struct gs_dist_type {
    const char *name;                 /* the "dist:" value */
    const char *const *keys;          /* allowed keys besides "dist" (NULL-terminated) */
    int    (*configure)(gs_dist *dist, gs_doc *doc, gs_node *map, gs_dist_unit unit,
                        gs_diag *d);
    double (*sample)(const gs_dist *dist, gsl_rng *r);
    double (*mean)(const gs_dist *dist);
    double (*variance)(const gs_dist *dist);
} gs_dist_type;

struct gs_dist {
    const gs_dist_type *type;
    double  p[4];              /* type-specific parameters, in sampling units */
    size_t  n;                 /* hyperexponential: number of phases; empirical: of values */
    double *v;                 /* hyperexponential: n means then n probs; empirical: the n
                                  values (owned) */
    gsl_ran_discrete_t *table; /* hyperexponential: phase chooser (owned) */
};

/* Read a distribution from node (scalar or mapping) into dist. Unknown
 * distributions and keys, missing parameters, non-positive means, cv <= 0,
 * min > max, a non-integer k, probabilities that do not sum to 1 (within
 * 1e-9), etc. fail with GS_EINVAL and a message at the offending node that
 * says what was expected and what was found. On failure dist needs no
 * release (it is left as the constant 0). On success release with
 * gs_dist_release(). */
int gs_dist_configure(gs_dist *dist, gs_doc *doc, gs_node *node, gs_dist_unit unit,
                      gs_diag *d);

/* A deterministic distribution of value v (for defaults set in code). Needs
 * no release, but releasing it is harmless. */
void gs_dist_constant(gs_dist *dist, double v);

/* An exponential distribution of the given mean (> 0), e.g. the gaps of a
 * Poisson process; needs no release. */
void gs_dist_exponential(gs_dist *dist, double mean);

/* Draw one value (>= 0; +inf is possible only for extreme heavy tails).
 * A deterministic distribution draws nothing from r. */
static inline double gs_dist_sample(const gs_dist *dist, gsl_rng *r)
{
    return dist->type->sample(dist, r);
}

/* Closed-form mean and variance, in sampling units (seconds for time).
 * INFINITY where the moment does not exist (pareto: mean for shape <= 1,
 * variance for shape <= 2). */
double gs_dist_mean(const gs_dist *dist);
double gs_dist_variance(const gs_dist *dist);

/* 1 when the distribution always returns the same value (deterministic, a
 * uniform with min == max, a normal with sd 0); that value is
 * gs_dist_mean(). */
int gs_dist_is_constant(const gs_dist *dist);

/* The largest value a draw can take: the value of a constant, max of a
 * uniform, the largest value of an empirical file; INFINITY for the
 * distributions with unbounded support. */
double gs_dist_max(const gs_dist *dist);

/* The most tokens a request may carry in prompt_tokens or output_tokens
 * (10^7, above any model's context): a larger count would cost as many
 * decode iterations as it has tokens and never finish. */
#define GS_TOKENS_MAX 10000000.0

/* Free what dist owns. Safe on a zeroed struct, on a constant, and twice. */
void gs_dist_release(gs_dist *dist);

/* The path of a data file named path in the scenario of doc: an absolute
 * path as is, a relative one from the directory of the scenario file
 * (gs_doc_src(); a scenario without a directory in its name: the current
 * directory). GS_EINVAL when it does not fit in size. Shared by the
 * empirical distribution and trace arrivals. */
int gs__data_path(const gs_doc *doc, const char *path, char *out, size_t size);

/* The most bytes read from one data file that a scenario names (a trace,
 * an empirical distribution's values, a gpu_pool profile): 1 GiB, above
 * the 10 million rows a trace or an empirical file may hold. */
#define GS_DATA_MAX_BYTES (1LL << 30)

/* Check data file path before it is opened: GS_EINVAL, reported at node at
 * as "KEY: ...", when it is not a regular file (a device such as
 * /dev/zero, a FIFO or a directory would be read without end or block) or
 * is larger than GS_DATA_MAX_BYTES. A path that does not exist passes: the
 * caller's open reports it. The trace and empirical readers also count the
 * bytes they read, since a file may grow after the check. */
int gs__data_check(const char *path, const gs_node *at, const char *key, gs_diag *d);

/* After a data file named by map's key was read from opened: make the
 * scenario's value that file's absolute path, so that the resolved scenario
 * (scenario.yaml of the results, `gatesim check`) reads the same file from
 * wherever it is run. The node keeps the position of the value it
 * replaces. GS_OK (also when the path cannot be resolved, or its absolute
 * form is not UTF-8, which YAML cannot hold: the value is then left as
 * written), GS_ENOMEM. */
int gs__data_record(gs_doc *doc, gs_node *map, const char *key, const char *opened);

/* The type named name, or NULL. */
const gs_dist_type *gs_dist_lookup(const char *name);

/* NULL-terminated list of type names (for "did you mean"). */
extern const char *const gs_dist_names[];

#endif
