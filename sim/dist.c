/* Probability distributions of service times, delays and token counts, read
 * from a scenario and sampled through GSL's randist from a component's own
 * stream.
 *
 * Each distribution is a const gs_dist_type (its name, its keys, how to read
 * and check its parameters, how to draw, and its closed-form mean and
 * variance); a gs_dist points to one and holds the parameters already
 * converted to what the sampler needs. Invariant: after a successful
 * gs_dist_configure() every parameter is finite and inside the range that
 * makes the sampler terminate and return values >= 0, so sampling never
 * checks anything; v is non-NULL only for the hyperexponential and the
 * empirical distribution (n > 0 values, all finite and >= 0), table only
 * for the hyperexponential. The empirical distribution is the file's
 * values, each drawn with probability 1/n by one uniform index (its mean
 * and variance are those of the values, variance with divisor n).
 *
 * Sources: the samplers are GSL's (M. Galassi et al., GNU Scientific Library
 * Reference Manual, ch. "Random Number Distributions"); the gamma sampler
 * there is Marsaglia and Tsang (ACM TOMS 26(3), 2000) and the discrete phase
 * chooser is Walker's alias method (Knuth, TAOCP vol. 2, 3.4.1). The moments
 * are the textbook closed forms (N. L. Johnson, S. Kotz, N. Balakrishnan,
 * "Continuous Univariate Distributions", vol. 1, 2nd ed., 1994): the normal
 * truncated at 0 uses their formulas for the singly truncated normal (ch. 13,
 * sec. 10.1), and the lognormal given by (mean, cv) is matched by moments:
 * sigma^2 = ln(1 + cv^2), mu = ln(mean) - sigma^2 / 2. */
/* realpath() is an XSI extension of POSIX 2008 (the resolved scenario
 * records the data files it read by absolute path). */
#undef _POSIX_C_SOURCE
#define _XOPEN_SOURCE 700
#include "dist.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sf_gamma.h>

#include "alloc.h"
#include "error.h"
#include "node.h"
#include "units.h"

/* Probabilities of a hyperexponential are typed by people and rounded; a sum
 * this close to 1 is a rounding error, anything further a mistake. */
#define PROB_SUM_TOL 1e-9

/* What one parameter reader needs; kept together so that each type's
 * configure reads like its list of parameters. */
typedef struct {
    gs_doc      *doc;
    gs_node     *map;
    gs_dist_unit unit;
    gs_diag     *d;
} reader;

/* A parameter that carries the distribution's unit (a time for time
 * distributions) or a dimensionless one (cv, shape, k, ...). */
enum { DIMLESS = 0, UNITFUL = 1 };

/* The range a parameter must lie in; ANY leaves the check to the caller. */
typedef enum { ANY, NONNEG, POSITIVE } range;

/* Text of the value the user wrote for key, for "got ..." in messages. */
static const char *written(const gs_node *map, const char *key)
{
    const gs_node *n = gs_map_get(map, key);
    return n && n->value ? n->value : "?";
}

/* Report "KEY: must be EXPECT, got VALUE" at the value of key. */
static int bad_param(const reader *rd, const char *key, const char *expect)
{
    return gs_error_at(rd->d, gs_map_get(rd->map, key), "%s: must be %s, got %s", key, expect,
                       written(rd->map, key));
}

/* 1 when n is a time outside the range. gs_node_seconds() refuses every
 * negative time with "must be >= 0", which would send the user who writes
 * mean: -1ms to 0 and a second error; checking first names the real bound. */
static int time_out_of_range(const gs_node *n, range want)
{
    double s;
    if (want != POSITIVE || !n || n->kind != GS_NODE_SCALAR || !n->value ||
        gs_parse_time(n->value, &s))
        return 0;
    return !(s > 0);
}

/* Read a required parameter and check its range. */
static int read_param(const reader *rd, const char *key, int unitful, range want, double *out)
{
    int rc;
    if (unitful && rd->unit == GS_DIST_TIME) {
        if (time_out_of_range(gs_map_get(rd->map, key), want))
            return bad_param(rd, key, "> 0");
        rc = gs_cfg_seconds(rd->doc, rd->map, key, NULL, out, rd->d);
    } else {
        rc = gs_cfg_double(rd->doc, rd->map, key, NULL, out, rd->d);
    }
    if (rc)
        return rc;
    if (want == NONNEG && !(*out >= 0))
        return bad_param(rd, key, ">= 0");
    if (want == POSITIVE && !(*out > 0))
        return bad_param(rd, key, "> 0");
    return GS_OK;
}

/* What a constant written in place of a distribution looks like, for hints. */
static const char *constant_example(gs_dist_unit unit)
{
    return unit == GS_DIST_TIME ? "a bare time such as 5ms" : "a bare number";
}

/* ---- deterministic ---------------------------------------------------- */

static const char *const deterministic_keys[] = {"value", NULL};

static int deterministic_configure(gs_dist *dist, gs_doc *doc, gs_node *map,
                                   gs_dist_unit unit, gs_diag *d)
{
    reader rd = {doc, map, unit, d};
    return read_param(&rd, "value", UNITFUL, NONNEG, &dist->p[0]);
}

/* Draws nothing: a constant must not move the stream, so that replacing a
 * constant by another constant leaves every other draw where it was. */
static double deterministic_sample(const gs_dist *dist, gsl_rng *r)
{
    (void)r;
    return dist->p[0];
}

static double deterministic_mean(const gs_dist *dist) { return dist->p[0]; }

static double zero_variance(const gs_dist *dist)
{
    (void)dist;
    return 0.0;
}

static const gs_dist_type deterministic_type = {
    "deterministic", deterministic_keys, deterministic_configure,
    deterministic_sample, deterministic_mean, zero_variance,
};

/* ---- exponential ------------------------------------------------------ */

static const char *const exponential_keys[] = {"mean", NULL};

static int exponential_configure(gs_dist *dist, gs_doc *doc, gs_node *map,
                                 gs_dist_unit unit, gs_diag *d)
{
    reader rd = {doc, map, unit, d};
    return read_param(&rd, "mean", UNITFUL, POSITIVE, &dist->p[0]);
}

/* The engine's hot path (Poisson-like service and think times): one call,
 * no branches. */
/* The engine's hottest draw. GSL's gsl_ran_exponential computes
 * -mean * log1p(-u), and glibc's log1p costs about twice its log; inverting
 * with log of a uniform on (0, 1) from gsl_rng_uniform_pos() is the same
 * inversion method (1 - U and U have the same law) at half the cost. */
static double exponential_sample(const gs_dist *dist, gsl_rng *r)
{
    return -dist->p[0] * log(gsl_rng_uniform_pos(r));
}

static double exponential_mean(const gs_dist *dist) { return dist->p[0]; }

static double exponential_variance(const gs_dist *dist) { return dist->p[0] * dist->p[0]; }

static const gs_dist_type exponential_type = {
    "exponential", exponential_keys, exponential_configure,
    exponential_sample, exponential_mean, exponential_variance,
};

/* ---- uniform ---------------------------------------------------------- */

static const char *const uniform_keys[] = {"min", "max", NULL};

static int uniform_configure(gs_dist *dist, gs_doc *doc, gs_node *map, gs_dist_unit unit,
                             gs_diag *d)
{
    reader rd = {doc, map, unit, d};
    int rc;
    if ((rc = read_param(&rd, "min", UNITFUL, NONNEG, &dist->p[0])) ||
        (rc = read_param(&rd, "max", UNITFUL, NONNEG, &dist->p[1])))
        return rc;
    if (!(dist->p[1] >= dist->p[0]))
        return gs_error_at(d, gs_map_get(map, "max"), "max: must be >= min (%s), got %s",
                           written(map, "min"), written(map, "max"));
    return GS_OK;
}

static double uniform_sample(const gs_dist *dist, gsl_rng *r)
{
    return gsl_ran_flat(r, dist->p[0], dist->p[1]);
}

static double uniform_mean(const gs_dist *dist) { return 0.5 * (dist->p[0] + dist->p[1]); }

static double uniform_variance(const gs_dist *dist)
{
    double w = dist->p[1] - dist->p[0];
    return w * w / 12.0;
}

static const gs_dist_type uniform_type = {
    "uniform", uniform_keys, uniform_configure,
    uniform_sample, uniform_mean, uniform_variance,
};

/* ---- normal, truncated at 0 ------------------------------------------- */

static const char *const normal_keys[] = {"mean", "sd", NULL};

static int normal_configure(gs_dist *dist, gs_doc *doc, gs_node *map, gs_dist_unit unit,
                            gs_diag *d)
{
    reader rd = {doc, map, unit, d};
    int rc;
    if ((rc = read_param(&rd, "mean", UNITFUL, NONNEG, &dist->p[0])))
        return rc;
    return read_param(&rd, "sd", UNITFUL, NONNEG, &dist->p[1]);
}

/* Rejection: a negative draw is drawn again. With mean >= 0 at least half of
 * the draws are accepted, so this takes fewer than two draws on average. */
static double normal_sample(const gs_dist *dist, gsl_rng *r)
{
    double x;
    do
        x = dist->p[0] + gsl_ran_gaussian(r, dist->p[1]);
    while (x < 0);
    return x;
}

/* With alpha = -mean/sd and lambda = phi(alpha) / (1 - Phi(alpha)), the
 * normal truncated below at 0 has mean  mean + sd * lambda  and variance
 * sd^2 (1 + alpha lambda - lambda^2). 1 - Phi(alpha) is computed as
 * Phi(mean/sd), which keeps its precision when it is close to 1. */
static void normal_moments(const gs_dist *dist, double *mean, double *var)
{
    double m = dist->p[0], sd = dist->p[1];
    if (sd == 0) {
        *mean = m;
        *var = 0;
        return;
    }
    double alpha = -m / sd;
    double lambda = gsl_ran_ugaussian_pdf(alpha) / gsl_cdf_ugaussian_P(m / sd);
    *mean = m + sd * lambda;
    *var = sd * sd * (1 + alpha * lambda - lambda * lambda);
}

static double normal_mean(const gs_dist *dist)
{
    double mean, var;
    normal_moments(dist, &mean, &var);
    return mean;
}

static double normal_variance(const gs_dist *dist)
{
    double mean, var;
    normal_moments(dist, &mean, &var);
    return var;
}

static const gs_dist_type normal_type = {
    "normal", normal_keys, normal_configure,
    normal_sample, normal_mean, normal_variance,
};

/* ---- lognormal ---------------------------------------------------------- */

static const char *const lognormal_keys[] = {"mean", "cv", "mu", "sigma", NULL};

/* A cv of 0 is a constant; the user most likely meant one, so say how. */
static int cv_positive(const reader *rd, double cv, const char *name)
{
    if (cv > 0)
        return GS_OK;
    if (cv == 0)
        return gs_error_at(rd->d, gs_map_get(rd->map, "cv"),
                           "cv: must be > 0, got %s (a %s with cv 0 is a constant: use "
                           "{dist: deterministic, value: %s} or %s)",
                           written(rd->map, "cv"), name, written(rd->map, "mean"),
                           constant_example(rd->unit));
    return bad_param(rd, "cv", "> 0");
}

static int lognormal_configure(gs_dist *dist, gs_doc *doc, gs_node *map, gs_dist_unit unit,
                               gs_diag *d)
{
    reader rd = {doc, map, unit, d};
    int by_moments = gs_map_get(map, "mean") || gs_map_get(map, "cv");
    const char *log_key = gs_map_get(map, "mu") ? "mu" : gs_map_get(map, "sigma") ? "sigma" : NULL;
    int rc;
    if (by_moments && log_key)
        return gs_error_at(d, gs_map_key(map, log_key),
                           "distribution 'lognormal' takes either {mean, cv} or {mu, sigma}, "
                           "got '%s' together with '%s'",
                           log_key, gs_map_get(map, "mean") ? "mean" : "cv");
    if (!by_moments && !log_key)
        return gs_error_at(d, map, "distribution 'lognormal' needs {mean, cv} or {mu, sigma}, "
                           "got neither");
    if (log_key) {
        if ((rc = read_param(&rd, "mu", DIMLESS, ANY, &dist->p[0])))
            return rc;
        return read_param(&rd, "sigma", DIMLESS, POSITIVE, &dist->p[1]);
    }
    double mean, cv;
    if ((rc = read_param(&rd, "mean", UNITFUL, POSITIVE, &mean)) ||
        (rc = read_param(&rd, "cv", DIMLESS, ANY, &cv)) ||
        (rc = cv_positive(&rd, cv, "lognormal")))
        return rc;
    /* log1p keeps sigma^2 accurate for small cv, where 1 + cv^2 rounds. */
    double s2 = log1p(cv * cv);
    dist->p[0] = log(mean) - 0.5 * s2;
    dist->p[1] = sqrt(s2);
    if (!isfinite(dist->p[0]) || !isfinite(dist->p[1]))
        return gs_error_at(d, gs_map_get(map, "cv"),
                           "cv: too large to represent the lognormal, got %s",
                           written(map, "cv"));
    return GS_OK;
}

static double lognormal_sample(const gs_dist *dist, gsl_rng *r)
{
    return gsl_ran_lognormal(r, dist->p[0], dist->p[1]);
}

static double lognormal_mean(const gs_dist *dist)
{
    return exp(dist->p[0] + 0.5 * dist->p[1] * dist->p[1]);
}

/* (e^{s^2} - 1) e^{2 mu + s^2}; expm1 keeps small sigmas exact. */
static double lognormal_variance(const gs_dist *dist)
{
    double s2 = dist->p[1] * dist->p[1];
    return expm1(s2) * exp(2 * dist->p[0] + s2);
}

static const gs_dist_type lognormal_type = {
    "lognormal", lognormal_keys, lognormal_configure,
    lognormal_sample, lognormal_mean, lognormal_variance,
};

/* ---- gamma and erlang --------------------------------------------------- */

/* Both keep p[0] = shape and p[1] = scale and share the sampler. */

static const char *const gamma_keys[] = {"mean", "cv", NULL};

static int gamma_configure(gs_dist *dist, gs_doc *doc, gs_node *map, gs_dist_unit unit,
                           gs_diag *d)
{
    reader rd = {doc, map, unit, d};
    double mean, cv;
    int rc;
    if ((rc = read_param(&rd, "mean", UNITFUL, POSITIVE, &mean)) ||
        (rc = read_param(&rd, "cv", DIMLESS, ANY, &cv)) ||
        (rc = cv_positive(&rd, cv, "gamma")))
        return rc;
    dist->p[0] = 1.0 / (cv * cv);
    dist->p[1] = mean * cv * cv;
    if (!isfinite(dist->p[0]) || !(dist->p[0] > 0) || !isfinite(dist->p[1]) ||
        !(dist->p[1] > 0))
        return gs_error_at(d, gs_map_get(map, "cv"),
                           "cv: out of the range that a gamma can represent with mean %s, got %s",
                           written(map, "mean"), written(map, "cv"));
    return GS_OK;
}

static const char *const erlang_keys[] = {"k", "mean", NULL};

static int erlang_configure(gs_dist *dist, gs_doc *doc, gs_node *map, gs_dist_unit unit,
                            gs_diag *d)
{
    reader rd = {doc, map, unit, d};
    double k, mean;
    int rc;
    if ((rc = read_param(&rd, "k", DIMLESS, ANY, &k)))
        return rc;
    if (!(k >= 1) || k != floor(k))
        return bad_param(&rd, "k", "an integer >= 1");
    if ((rc = read_param(&rd, "mean", UNITFUL, POSITIVE, &mean)))
        return rc;
    dist->p[0] = k;
    dist->p[1] = mean / k;
    return GS_OK;
}

static double gamma_sample(const gs_dist *dist, gsl_rng *r)
{
    return gsl_ran_gamma(r, dist->p[0], dist->p[1]);
}

static double gamma_mean(const gs_dist *dist) { return dist->p[0] * dist->p[1]; }

static double gamma_variance(const gs_dist *dist)
{
    return dist->p[0] * dist->p[1] * dist->p[1];
}

static const gs_dist_type gamma_type = {
    "gamma", gamma_keys, gamma_configure,
    gamma_sample, gamma_mean, gamma_variance,
};

/* GSL's gsl_ran_erlang is only a density; an Erlang-k is a gamma of integer
 * shape k, which gsl_ran_gamma samples. */
static const gs_dist_type erlang_type = {
    "erlang", erlang_keys, erlang_configure,
    gamma_sample, gamma_mean, gamma_variance,
};

/* ---- weibull ---------------------------------------------------------- */

static const char *const weibull_keys[] = {"shape", "scale", NULL};

static int shape_scale(const reader *rd, gs_dist *dist)
{
    int rc = read_param(rd, "shape", DIMLESS, POSITIVE, &dist->p[0]);
    return rc ? rc : read_param(rd, "scale", UNITFUL, POSITIVE, &dist->p[1]);
}

static int weibull_configure(gs_dist *dist, gs_doc *doc, gs_node *map, gs_dist_unit unit,
                             gs_diag *d)
{
    reader rd = {doc, map, unit, d};
    return shape_scale(&rd, dist);
}

/* GSL's order is gsl_ran_weibull(r, a = scale, b = shape). */
static double weibull_sample(const gs_dist *dist, gsl_rng *r)
{
    return gsl_ran_weibull(r, dist->p[1], dist->p[0]);
}

/* Gamma(x) for the moments; beyond GSL_SF_GAMMA_XMAX it overflows, and GSL
 * would call its error handler (abort by default) instead of returning inf.
 * That happens only for shapes below about 0.012. */
static double gamma_fn(double x)
{
    return x < GSL_SF_GAMMA_XMAX ? gsl_sf_gamma(x) : INFINITY;
}

static double weibull_mean(const gs_dist *dist)
{
    return dist->p[1] * gamma_fn(1 + 1 / dist->p[0]);
}

static double weibull_variance(const gs_dist *dist)
{
    double g1 = gamma_fn(1 + 1 / dist->p[0]);
    double g2 = gamma_fn(1 + 2 / dist->p[0]);
    if (!isfinite(g2))
        return INFINITY;
    return dist->p[1] * dist->p[1] * (g2 - g1 * g1);
}

static const gs_dist_type weibull_type = {
    "weibull", weibull_keys, weibull_configure,
    weibull_sample, weibull_mean, weibull_variance,
};

/* ---- pareto ----------------------------------------------------------- */

static const char *const pareto_keys[] = {"shape", "scale", NULL};

static int pareto_configure(gs_dist *dist, gs_doc *doc, gs_node *map, gs_dist_unit unit,
                            gs_diag *d)
{
    reader rd = {doc, map, unit, d};
    return shape_scale(&rd, dist);
}

/* GSL's order is gsl_ran_pareto(r, a = shape, b = scale); values are >= scale. */
static double pareto_sample(const gs_dist *dist, gsl_rng *r)
{
    return gsl_ran_pareto(r, dist->p[0], dist->p[1]);
}

/* Heavy tails are the point of a Pareto: the mean is infinite for
 * shape <= 1 and the variance for shape <= 2, and callers must see that. */
static double pareto_mean(const gs_dist *dist)
{
    double a = dist->p[0];
    return a <= 1 ? INFINITY : a * dist->p[1] / (a - 1);
}

static double pareto_variance(const gs_dist *dist)
{
    double a = dist->p[0], b = dist->p[1];
    return a <= 2 ? INFINITY : b * b * a / ((a - 1) * (a - 1) * (a - 2));
}

static const gs_dist_type pareto_type = {
    "pareto", pareto_keys, pareto_configure,
    pareto_sample, pareto_mean, pareto_variance,
};

/* ---- hyperexponential ------------------------------------------------- */

/* v holds the n phase means, then the n phase probabilities normalised to
 * sum exactly to 1 (the same weights that the alias table uses). */

static const char *const hyperexponential_keys[] = {"means", "probs", NULL};

static int read_seq(const reader *rd, const char *key, gs_node **out)
{
    gs_node *s = gs_map_get(rd->map, key);
    if (!s)
        return gs_error_at(rd->d, rd->map,
                           "missing required key '%s' in distribution 'hyperexponential' "
                           "(e.g. {dist: hyperexponential, means: [1ms, 10ms], probs: [0.9, 0.1]})",
                           key);
    if (s->kind != GS_NODE_SEQ)
        return gs_error_at(rd->d, s, "%s: expected a sequence such as [%s], got %s", key,
                           strcmp(key, "probs") == 0 ? "0.9, 0.1"
                           : rd->unit == GS_DIST_TIME ? "1ms, 10ms" : "1, 10",
                           gs_node_kind_name(s->kind));
    if (s->len == 0)
        return gs_error_at(rd->d, s, "%s: expected at least one phase, got an empty sequence",
                           key);
    *out = s;
    return GS_OK;
}

static int hyperexponential_configure(gs_dist *dist, gs_doc *doc, gs_node *map,
                                      gs_dist_unit unit, gs_diag *d)
{
    reader rd = {doc, map, unit, d};
    gs_node *means, *probs;
    int rc;
    if ((rc = read_seq(&rd, "means", &means)) || (rc = read_seq(&rd, "probs", &probs)))
        return rc;
    if (means->len != probs->len)
        return gs_error_at(d, probs, "probs: must have one entry per phase (%zu, as many as "
                           "means), got %zu", means->len, probs->len);
    size_t n = means->len;
    double *v = gs_malloc(2 * n * sizeof *v);
    if (!v)
        return gs_error(d, GS_ENOMEM, "out of memory");
    double *p = v + n, sum = 0;
    for (size_t i = 0; i < n; i++) {
        gs_node *m = means->items[i], *q = probs->items[i];
        /* A time <= 0 goes to the phase's own message just below. */
        if (unit == GS_DIST_TIME && time_out_of_range(m, POSITIVE))
            v[i] = 0;
        else if ((rc = unit == GS_DIST_TIME ? gs_node_seconds(m, "means", &v[i], d)
                                            : gs_node_double(m, "means", &v[i], d)))
            goto out_free_v;
        if (!(v[i] > 0)) {
            rc = gs_error_at(d, m, "means: each mean must be > 0, got %s", m->value);
            goto out_free_v;
        }
        if ((rc = gs_node_double(q, "probs", &p[i], d)))
            goto out_free_v;
        if (!(p[i] >= 0)) {
            rc = gs_error_at(d, q, "probs: each probability must be >= 0, got %s", q->value);
            goto out_free_v;
        }
        sum += p[i];
    }
    if (!(fabs(sum - 1) <= PROB_SUM_TOL)) {
        rc = gs_error_at(d, probs, "probs: must sum to 1, got a sum of %.12g", sum);
        goto out_free_v;
    }
    for (size_t i = 0; i < n; i++)
        p[i] /= sum;
    /* GSL allocates the table with its own malloc; it cannot fail for valid
     * weights except for memory. */
    dist->table = gsl_ran_discrete_preproc(n, p);
    if (!dist->table) {
        rc = gs_error(d, GS_ENOMEM, "out of memory");
        goto out_free_v;
    }
    dist->n = n;
    dist->v = v;
    return GS_OK;
out_free_v:
    gs_free(v);
    return rc;
}

static double hyperexponential_sample(const gs_dist *dist, gsl_rng *r)
{
    size_t phase = gsl_ran_discrete(r, dist->table);
    return gsl_ran_exponential(r, dist->v[phase]);
}

static double hyperexponential_mean(const gs_dist *dist)
{
    const double *m = dist->v, *p = dist->v + dist->n;
    double mean = 0;
    for (size_t i = 0; i < dist->n; i++)
        mean += p[i] * m[i];
    return mean;
}

/* E[X^2] of a phase with mean m is 2 m^2. */
static double hyperexponential_variance(const gs_dist *dist)
{
    const double *m = dist->v, *p = dist->v + dist->n;
    double mean = hyperexponential_mean(dist), second = 0;
    for (size_t i = 0; i < dist->n; i++)
        second += 2 * p[i] * m[i] * m[i];
    return second - mean * mean;
}

static const gs_dist_type hyperexponential_type = {
    "hyperexponential", hyperexponential_keys, hyperexponential_configure,
    hyperexponential_sample, hyperexponential_mean, hyperexponential_variance,
};

/* ---- empirical -------------------------------------------------------- */

/* One file's values cost 8 bytes each and are shared by all replications. */
#define EMPIRICAL_MAX_VALUES 10000000L

static const char *const empirical_keys[] = {"file", NULL};

int gs__data_path(const gs_doc *doc, const char *path, char *out, size_t size)
{
    const char *scen = gs_doc_src(doc);
    const char *slash = scen ? strrchr(scen, '/') : NULL;
    int n;
    if (path[0] == '/' || !slash)
        n = snprintf(out, size, "%s", path);
    else
        n = snprintf(out, size, "%.*s/%s", (int)(slash - scen), scen, path);
    return n < 0 || (size_t)n >= size ? GS_EINVAL : GS_OK;
}

/* Well-formed UTF-8 (no overlong forms, surrogates or values past
 * U+10FFFF), which is all the YAML emitter accepts. */
static int is_utf8(const unsigned char *p)
{
    while (*p) {
        unsigned c = *p++;
        int more;
        unsigned min, v;
        if (c < 0x80)
            continue;
        if ((c & 0xe0) == 0xc0)
            more = 1, min = 0x80, v = c & 0x1f;
        else if ((c & 0xf0) == 0xe0)
            more = 2, min = 0x800, v = c & 0x0f;
        else if ((c & 0xf8) == 0xf0)
            more = 3, min = 0x10000, v = c & 0x07;
        else
            return 0;
        for (; more > 0; more--, p++) {
            if ((*p & 0xc0) != 0x80)
                return 0;
            v = v << 6 | (*p & 0x3fu);
        }
        if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
            return 0;
    }
    return 1;
}

int gs__data_record(gs_doc *doc, gs_node *map, const char *key, const char *opened)
{
    char *abs = realpath(opened, NULL);
    /* A path the emitter could not write stays as the user wrote it. */
    if (abs && !is_utf8((const unsigned char *)abs)) {
        free(abs);
        abs = NULL;
    }
    if (!abs)
        return GS_OK;
    gs_node *old = gs_map_get(map, key);
    gs_node *n = gs_node_new_scalar(doc, abs, old);
    free(abs);
    if (!n || !gs_map_set(doc, map, key, n))
        return GS_ENOMEM;
    return GS_OK;
}

int gs__data_check(const char *path, const gs_node *at, const char *key, gs_diag *d)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return GS_OK;
    if (!S_ISREG(st.st_mode))
        return gs_error_at(d, at, "%s: '%s' is not a regular file (a %s); expected a data "
                           "file", key, path, S_ISDIR(st.st_mode) ? "directory" :
                           S_ISFIFO(st.st_mode) ? "FIFO" : S_ISSOCK(st.st_mode) ? "socket" :
                           "device");
    if ((long long)st.st_size > GS_DATA_MAX_BYTES)
        return gs_error_at(d, at, "%s: '%s' is larger than %lld bytes, the limit for one data "
                           "file", key, path, GS_DATA_MAX_BYTES);
    return GS_OK;
}

/* Strip leading and trailing blanks (and a CR of a DOS line end) in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t len = strlen(s);
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
                   s[len - 1] == '\n'))
        s[--len] = '\0';
    return s;
}

/* One value of the file in sampling units, or -1 when it is not one. */
static int parse_value(const char *text, gs_dist_unit unit, double *out)
{
    if (unit == GS_DIST_TIME)
        return gs_parse_time(text, out) == 0 && isfinite(*out) ? 0 : -1;
    char *end;
    *out = strtod(text, &end);
    return end != text && !*end && isfinite(*out) ? 0 : -1;
}

/* Read the file's values into a new array (*out, *n); the caller frees it.
 * fn is the YAML node of the file name, where every error is reported. */
static int read_values(const char *path, gs_dist_unit unit, const gs_node *fn, double **out,
                       size_t *n, gs_diag *d)
{
    int rc = gs__data_check(path, fn, "file", d);
    if (rc)
        return rc;
    FILE *f = fopen(path, "r");
    if (!f)
        return gs_error_at(d, fn, "file: cannot open '%s' (relative paths are read from the "
                           "scenario file's directory)", path);
    /* A fixed line buffer rather than getline(), whose buffer would not come
     * from gs_malloc; no value needs more. */
    char line[256];
    size_t len = 0, alloc = 0;
    double *v = NULL;
    long lineno = 0;
    long long bytes = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        bytes += (long long)strlen(line);
        if (bytes > GS_DATA_MAX_BYTES) {
            rc = gs_error_at(d, fn, "file: %s: larger than %lld bytes, the limit for one data "
                             "file", path, GS_DATA_MAX_BYTES);
            goto out;
        }
        if (!strchr(line, '\n') && !feof(f)) {
            rc = gs_error_at(d, fn, "file: %s:%ld: line longer than %zu characters; expected "
                             "one value per line", path, lineno, sizeof line - 2);
            goto out;
        }
        char *t = trim(line);
        if (!*t || *t == '#')
            continue;
        double x;
        if (parse_value(t, unit, &x)) {
            /* A first line that is not a value is a column header. */
            if (len == 0 && lineno == 1)
                continue;
            rc = gs_error_at(d, fn, "file: %s:%ld: expected one %s per line, got '%.40s'", path,
                             lineno, unit == GS_DIST_TIME ? "time (bare seconds or with a "
                             "unit such as 2ms)" : "number", t);
            goto out;
        }
        if (!(x >= 0)) {
            rc = gs_error_at(d, fn, "file: %s:%ld: values must be >= 0, got '%.40s'", path,
                             lineno, t);
            goto out;
        }
        if (unit == GS_DIST_TIME && x > GS_SECONDS_MAX) {
            rc = gs_error_at(d, fn, "file: %s:%ld: at most %.0fs (292 years), got '%.40s'",
                             path, lineno, GS_SECONDS_MAX, t);
            goto out;
        }
        /* Checked for every value, not only when the array grows: its
         * capacity (doubling from 1024) is not the limit. */
        if (len >= (size_t)EMPIRICAL_MAX_VALUES) {
            rc = gs_error_at(d, fn, "file: %s: more than %ld values", path,
                             EMPIRICAL_MAX_VALUES);
            goto out;
        }
        if (len == alloc) {
            size_t grow = alloc ? 2 * alloc : 1024;
            double *nv = gs_realloc(v, grow * sizeof *v);
            if (!nv) {
                rc = gs_error(d, GS_ENOMEM, "out of memory");
                goto out;
            }
            v = nv;
            alloc = grow;
        }
        v[len++] = x;
    }
    if (ferror(f))
        rc = gs_error_at(d, fn, "file: cannot read '%s'", path);
    else if (len == 0)
        rc = gs_error_at(d, fn, "file: %s holds no values (expected one per line, after an "
                         "optional header line)", path);
out:
    fclose(f);
    if (rc) {
        gs_free(v);
        return rc;
    }
    *out = v;
    *n = len;
    return GS_OK;
}

static int empirical_configure(gs_dist *dist, gs_doc *doc, gs_node *map, gs_dist_unit unit,
                               gs_diag *d)
{
    const char *file;
    int rc = gs_cfg_str(doc, map, "file", NULL, &file, d);
    if (rc)
        return rc;
    gs_node *fn = gs_map_get(map, "file");
    if (!file[0])
        return gs_error_at(d, fn, "file: expected the path of a file of values, one per line");
    char path[4096];
    if (gs__data_path(doc, file, path, sizeof path))
        return gs_error_at(d, fn, "file: path too long");
    double *v = NULL;
    size_t n = 0;
    if ((rc = read_values(path, unit, fn, &v, &n, d)))
        return rc;
    /* Two passes: the variance of values far from 0 keeps its digits. */
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    double mean = sum / (double)n, ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (v[i] - mean) * (v[i] - mean);
    double hi = 0;
    for (size_t i = 0; i < n; i++)
        hi = v[i] > hi ? v[i] : hi;
    if ((rc = gs__data_record(doc, map, "file", path))) {
        gs_free(v);
        return gs_error(d, rc, "out of memory");
    }
    dist->p[0] = mean;
    dist->p[1] = ss / (double)n;
    dist->p[2] = hi;
    dist->v = v;
    dist->n = n;
    return GS_OK;
}

/* Each of the file's values with probability 1/n (repeated values count
 * as often as they occur). */
static double empirical_sample(const gs_dist *dist, gsl_rng *r)
{
    return dist->v[gsl_rng_uniform_int(r, (unsigned long)dist->n)];
}

static double empirical_mean(const gs_dist *dist) { return dist->p[0]; }

static double empirical_variance(const gs_dist *dist) { return dist->p[1]; }

static const gs_dist_type empirical_type = {
    "empirical", empirical_keys, empirical_configure,
    empirical_sample, empirical_mean, empirical_variance,
};

/* ---- registry --------------------------------------------------------- */

static const gs_dist_type *const dist_types[] = {
    &exponential_type, &deterministic_type, &uniform_type, &normal_type, &lognormal_type,
    &gamma_type, &erlang_type, &weibull_type, &pareto_type, &hyperexponential_type,
    &empirical_type,
};

#define N_TYPES (sizeof dist_types / sizeof dist_types[0])

/* Same order as dist_types; test_dist checks that the two agree. */
const char *const gs_dist_names[] = {
    "exponential", "deterministic", "uniform", "normal", "lognormal",
    "gamma", "erlang", "weibull", "pareto", "hyperexponential", "empirical", NULL,
};

/* Names people write for a distribution that gs_suggest() cannot guess
 * (they are not misspellings). */
static const struct {
    const char *alias, *name;
} aliases[] = {
    {"constant", "deterministic"}, {"fixed", "deterministic"}, {"gaussian", "normal"},
};

const gs_dist_type *gs_dist_lookup(const char *name)
{
    for (size_t i = 0; i < N_TYPES; i++)
        if (strcmp(dist_types[i]->name, name) == 0)
            return dist_types[i];
    return NULL;
}

/* The name the user probably meant: a near miss, a known alias, or the one
 * name that starts with what was written ("expo", "hyper"). */
static const char *guess(const char *word)
{
    const char *hint = gs_suggest(word, gs_dist_names);
    if (hint)
        return hint;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(word, aliases[i].alias) == 0)
            return aliases[i].name;
    size_t len = strlen(word);
    if (len < 3)
        return NULL;
    for (size_t i = 0; gs_dist_names[i]; i++) {
        if (strncmp(word, gs_dist_names[i], len) != 0)
            continue;
        if (hint)
            return NULL; /* more than one: no guess */
        hint = gs_dist_names[i];
    }
    return hint;
}

static void name_list(char *buf, size_t size)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; gs_dist_names[i] && off < size; i++) {
        int w = snprintf(buf + off, size - off, "%s%s", i ? ", " : "", gs_dist_names[i]);
        if (w < 0)
            break;
        off += (size_t)w;
    }
}

static int unknown_dist(const gs_node *at, const char *name, gs_diag *d)
{
    char names[256];
    name_list(names, sizeof names);
    const char *hint = guess(name);
    return gs_error_at(d, at, "unknown distribution '%s'%s%s%s; expected one of: %s", name,
                       hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "",
                       names);
}

/* ---- representable means ---------------------------------------------- */

/* The largest mean a distribution may have: the clock's range for times
 * (every draw of a larger mean would end up clamped at its end, so the
 * scenario would silently simulate something else), any finite number for
 * counts (their own bound is the caller's: token counts, GS_TOKENS_MAX). */
static double mean_limit(gs_dist_unit unit)
{
    return unit == GS_DIST_TIME ? GS_SECONDS_MAX : DBL_MAX;
}

/* fix: what to do with key ("lower", "raise"). */
static int too_large(const gs_node *map, const char *key, const char *fix, const char *why,
                     gs_dist_unit unit, gs_diag *d)
{
    const gs_node *n = gs_map_get(map, key);
    return gs_error_at(d, n ? n : map, "%s: too large to represent: %s %s, got %s; %s %s",
                       key, why,
                       unit == GS_DIST_TIME ? "exceeds the clock's 9223372036s (292 years)"
                                            : "is not a finite number",
                       n && n->value ? n->value : "?", fix, key);
}

/* The {mean, cv} forms are checked where they are read (the mean is given);
 * the parametric forms are checked here, from the log of their mean so that
 * the check itself cannot overflow. A Pareto's infinite mean (shape <= 1) is
 * the heavy tail it was chosen for and stays allowed: its scale is a time
 * already bounded by the reader. */
static int check_representable(const gs_dist *dist, const gs_node *map, gs_dist_unit unit,
                               gs_diag *d)
{
    double log_limit = log(mean_limit(unit));
    if (dist->type == &lognormal_type && gs_map_get(map, "mu")) {
        static const char why[] = "the lognormal's mean exp(mu + sigma^2/2)";
        double mu = dist->p[0], s = dist->p[1];
        if (!(mu + 0.5 * s * s <= log_limit))
            return too_large(map, mu > log_limit ? "mu" : "sigma", "lower", why, unit, d);
    }
    if (dist->type == &weibull_type) {
        static const char why[] = "the weibull's mean scale * Gamma(1 + 1/shape)";
        /* Past 1/shape = 1e300 lngamma itself nears overflow (GSL would call
         * its error handler); the mean is astronomically large long before. */
        double inv = 1 / dist->p[0];
        if (!(inv <= 1e300) || !(log(dist->p[1]) + gsl_sf_lngamma(1 + inv) <= log_limit))
            return too_large(map, "shape", "raise", why, unit, d);
    }
    if (dist->type != &pareto_type && !(gs_dist_mean(dist) <= mean_limit(unit)))
        return gs_error_at(d, map, "too large to represent: the distribution's mean %s",
                           unit == GS_DIST_TIME ? "exceeds the clock's 9223372036s (292 years)"
                                                : "is not a finite number");
    return GS_OK;
}

/* ---- public ----------------------------------------------------------- */

static void clear(gs_dist *dist)
{
    memset(dist, 0, sizeof *dist);
    dist->type = &deterministic_type;
}

void gs_dist_constant(gs_dist *dist, double v)
{
    clear(dist);
    dist->p[0] = v;
}

void gs_dist_exponential(gs_dist *dist, double mean)
{
    clear(dist);
    dist->type = &exponential_type;
    dist->p[0] = mean;
}

/* A bare value has no key of its own: messages name the key it was written
 * under (latency: -1ms), found in the document since callers hand over only
 * the value. The search walks the whole document, so it is made only for a
 * value that fails: a scenario of many components stays linear to load. */
static int configure_constant(gs_dist *dist, const gs_doc *doc, const gs_node *node,
                              gs_dist_unit unit, gs_diag *d)
{
    gs_diag quiet;
    gs_diag_init(&quiet);
    double v;
    int rc = unit == GS_DIST_TIME ? gs_node_seconds(node, "value", &v, &quiet)
                                  : gs_node_double(node, "value", &v, &quiet);
    if (rc == GS_OK && v >= 0) {
        gs_dist_constant(dist, v);
        return GS_OK;
    }
    const char *key = gs_doc_key_of(doc, node);
    if (!key)
        key = "value";
    if (rc != GS_ENOMEM && rc != GS_OK)
        rc = unit == GS_DIST_TIME ? gs_node_seconds(node, key, &v, d)
                                  : gs_node_double(node, key, &v, d);
    else if (rc == GS_ENOMEM)
        return gs_error(d, GS_ENOMEM, "out of memory");
    if (rc)
        return rc;
    return gs_error_at(d, node, "%s: must be >= 0, got %s", key, node->value);
}

int gs_dist_configure(gs_dist *dist, gs_doc *doc, gs_node *node, gs_dist_unit unit,
                      gs_diag *d)
{
    /* Whatever happens below, dist is safe to release and to use as a
     * constant 0, so a caller that ignores the failure cannot crash. */
    clear(dist);
    if (node->kind == GS_NODE_SCALAR)
        return configure_constant(dist, doc, node, unit, d);
    if (node->kind != GS_NODE_MAP)
        return gs_error_at(d, node, "expected a distribution: %s or a mapping such as "
                           "{dist: exponential, mean: %s}, got %s", constant_example(unit),
                           unit == GS_DIST_TIME ? "5ms" : "5", gs_node_kind_name(node->kind));
    const char *name;
    int rc = gs_cfg_str(doc, node, "dist", NULL, &name, d);
    if (rc)
        return rc;
    const gs_dist_type *type = gs_dist_lookup(name);
    if (!type)
        return unknown_dist(gs_map_get(node, "dist"), name, d);

    const char *allowed[8];
    size_t k = 0;
    allowed[k++] = "dist";
    for (const char *const *key = type->keys; *key && k + 1 < sizeof allowed / sizeof *allowed;
         key++)
        allowed[k++] = *key;
    allowed[k] = NULL;
    char what[64];
    snprintf(what, sizeof what, "distribution '%s'", type->name);
    if ((rc = gs_map_check_keys(node, allowed, what, d)))
        return rc;

    dist->type = type;
    if ((rc = type->configure(dist, doc, node, unit, d)) ||
        (rc = check_representable(dist, node, unit, d))) {
        gs_dist_release(dist);
        clear(dist);
        return rc;
    }
    return GS_OK;
}

double gs_dist_mean(const gs_dist *dist) { return dist->type->mean(dist); }

double gs_dist_variance(const gs_dist *dist) { return dist->type->variance(dist); }

int gs_dist_is_constant(const gs_dist *dist)
{
    if (dist->type == &deterministic_type)
        return 1;
    if (dist->type == &uniform_type)
        return dist->p[0] == dist->p[1];
    if (dist->type == &normal_type)
        return dist->p[1] == 0;
    return 0;
}

double gs_dist_max(const gs_dist *dist)
{
    if (gs_dist_is_constant(dist))
        return gs_dist_mean(dist);
    if (dist->type == &uniform_type)
        return dist->p[1];
    if (dist->type == &empirical_type)
        return dist->p[2];
    return INFINITY;
}

void gs_dist_release(gs_dist *dist)
{
    gs_free(dist->v);
    if (dist->table)
        gsl_ran_discrete_free(dist->table);
    dist->v = NULL;
    dist->table = NULL;
    dist->n = 0;
}
