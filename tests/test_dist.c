/* Distributions: reading from YAML (units, shorthand, every error with its
 * position), closed-form means and variances against values worked out by
 * hand, and sample moments against the closed forms.
 *
 * Tolerances of the sampling checks come from the sampling distribution, for
 * n independent draws of a distribution with variance var and fourth central
 * moment mu4:
 *   sample mean:      standard error sqrt(var / n);
 *   sample variance:  standard error sqrt((mu4 - var^2) / n) (its exact
 *                     variance is (mu4 - (n-3)/(n-1) var^2) / n).
 * Each check allows 5 standard errors. mu4 is computed exactly from the raw
 * moments E[X^k], k <= 4, whose closed forms are written out below
 * independently of sim/dist.c. Every distribution sampled here has finite
 * moments up to order 8, so the sample variance is itself asymptotically
 * normal and 5 standard errors fail a correct sampler with probability about
 * 6e-7 per check. Seeds are fixed, so the test is deterministic. */
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sf_gamma.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/alloc.h"
#include "sim/dist.h"
#include "sim/error.h"
#include "sim/node.h"
#include "sim/rng.h"
#include "tests/check.h"
#include "tests/scratch.h"

#define N_SAMPLES 200000
#define SRC "t.yaml"

/* Load text and configure the distribution under its key "d". On success the
 * caller owns *doc and must release dist. */
static int build(const char *text, gs_dist_unit unit, gs_dist *dist, gs_doc **doc, gs_diag *d)
{
    gs_diag_init(d);
    *doc = NULL;
    int rc = gs_doc_load_string(text, strlen(text), SRC, doc, d);
    CHECK_EQ(rc, GS_OK);
    if (rc) {
        fprintf(stderr, "  cannot load '%s': %s\n", text, d->msg);
        return rc;
    }
    gs_node *node = gs_map_get(gs_doc_root(*doc), "d");
    CHECK(node != NULL);
    rc = gs_dist_configure(dist, *doc, node, unit, d);
    if (rc) {
        gs_doc_free(*doc);
        *doc = NULL;
    }
    return rc;
}

/* Build text that must be valid; NULL doc on failure (already counted). */
static gs_doc *good(const char *text, gs_dist_unit unit, gs_dist *dist)
{
    gs_doc *doc;
    gs_diag d;
    int rc = build(text, unit, dist, &doc, &d);
    CHECK_EQ(rc, GS_OK);
    if (rc)
        fprintf(stderr, "  '%s' rejected: %s\n", text, d.msg);
    return doc;
}

/* ---- closed forms, written out independently of sim/dist.c ------------ */

typedef struct {
    double r[5]; /* r[k] = E[X^k] */
} raw_moments;

static raw_moments exponential_raw(double m)
{
    raw_moments x = {{1, m, 2 * m * m, 6 * m * m * m, 24 * m * m * m * m}};
    return x;
}

static raw_moments uniform_raw(double a, double b)
{
    raw_moments x;
    for (int k = 0; k <= 4; k++)
        x.r[k] = (pow(b, k + 1) - pow(a, k + 1)) / ((k + 1) * (b - a));
    return x;
}

/* N(m, s^2) truncated to [0, inf): integration by parts gives
 * E[X] = m + s phi(alpha) / (1 - Phi(alpha)), alpha = -m/s, and for k >= 2
 * E[X^k] = (k-1) s^2 E[X^(k-2)] + m E[X^(k-1)] (the boundary term vanishes
 * at 0). */
static raw_moments truncated_normal_raw(double m, double s)
{
    raw_moments x;
    x.r[0] = 1;
    x.r[1] = m + s * gsl_ran_ugaussian_pdf(-m / s) / gsl_cdf_ugaussian_Q(-m / s);
    for (int k = 2; k <= 4; k++)
        x.r[k] = (k - 1) * s * s * x.r[k - 2] + m * x.r[k - 1];
    return x;
}

static raw_moments lognormal_raw(double mu, double sigma)
{
    raw_moments x;
    for (int k = 0; k <= 4; k++)
        x.r[k] = exp(k * mu + 0.5 * k * k * sigma * sigma);
    return x;
}

/* Gamma(shape a, scale t): E[X^k] = t^k a (a+1) ... (a+k-1). */
static raw_moments gamma_raw(double a, double t)
{
    raw_moments x;
    x.r[0] = 1;
    for (int k = 1; k <= 4; k++)
        x.r[k] = x.r[k - 1] * t * (a + k - 1);
    return x;
}

static raw_moments weibull_raw(double shape, double scale)
{
    raw_moments x;
    for (int k = 0; k <= 4; k++)
        x.r[k] = pow(scale, k) * gsl_sf_gamma(1 + k / shape);
    return x;
}

/* Finite for k < shape. */
static raw_moments pareto_raw(double shape, double scale)
{
    raw_moments x;
    for (int k = 0; k <= 4; k++)
        x.r[k] = shape * pow(scale, k) / (shape - k);
    return x;
}

/* Mixture of exponentials: E[X^k] = sum p_i k! m_i^k. */
static raw_moments hyperexponential_raw(const double *m, const double *p, int n)
{
    raw_moments x = {{0, 0, 0, 0, 0}};
    for (int i = 0; i < n; i++) {
        raw_moments e = exponential_raw(m[i]);
        for (int k = 0; k <= 4; k++)
            x.r[k] += p[i] * e.r[k];
    }
    return x;
}

static double raw_var(const raw_moments *x) { return x->r[2] - x->r[1] * x->r[1]; }

static double raw_mu4(const raw_moments *x)
{
    double m = x->r[1];
    return x->r[4] - 4 * x->r[3] * m + 6 * x->r[2] * m * m - 3 * m * m * m * m;
}

/* ---- sampling --------------------------------------------------------- */

/* Configure text, compare the closed forms of sim/dist.c with x, then draw
 * N_SAMPLES and compare the sample mean and (when check_var) variance. */
static void sample_check(const char *text, gs_dist_unit unit, raw_moments x, int check_var)
{
    int before = check_failures;
    gs_dist dist;
    gs_doc *doc = good(text, unit, &dist);
    if (!doc)
        return;
    double mean = x.r[1], var = raw_var(&x);
    CHECK_NEAR(gs_dist_mean(&dist), mean, 1e-9 * mean);
    CHECK_NEAR(gs_dist_variance(&dist), var, 1e-9 * var);
    CHECK(!gs_dist_is_constant(&dist));

    gsl_rng *r = gs_rng_new(1, 0, "test");
    CHECK(r != NULL);
    double *s = malloc(N_SAMPLES * sizeof *s);
    CHECK(s != NULL);
    if (r && s) {
        double sum = 0;
        int valid = 1;
        for (int i = 0; i < N_SAMPLES; i++) {
            s[i] = gs_dist_sample(&dist, r);
            valid &= isfinite(s[i]) && s[i] >= 0;
            sum += s[i];
        }
        CHECK(valid);
        /* Two passes: the sum of squared deviations loses nothing to
         * cancellation. */
        double sm = sum / N_SAMPLES, ss = 0;
        for (int i = 0; i < N_SAMPLES; i++)
            ss += (s[i] - sm) * (s[i] - sm);
        double sv = ss / (N_SAMPLES - 1);
        CHECK_NEAR(sm, mean, 5 * sqrt(var / N_SAMPLES));
        if (check_var)
            CHECK_NEAR(sv, var, 5 * sqrt((raw_mu4(&x) - var * var) / N_SAMPLES));
    }
    free(s);
    gsl_rng_free(r);
    gs_dist_release(&dist);
    gs_doc_free(doc);
    if (check_failures != before)
        fprintf(stderr, "  (in '%s')\n", text);
}

static void sample_moments(void)
{
    const gs_dist_unit T = GS_DIST_TIME, C = GS_DIST_COUNT;
    sample_check("d: {dist: exponential, mean: 2ms}", T, exponential_raw(0.002), 1);
    sample_check("d: {dist: exponential, mean: 256}", C, exponential_raw(256), 1);
    sample_check("d: {dist: uniform, min: 1ms, max: 3ms}", T, uniform_raw(0.001, 0.003), 1);
    /* Light, half and moderate truncation of the normal. */
    sample_check("d: {dist: normal, mean: 2ms, sd: 0.5ms}", T,
                 truncated_normal_raw(0.002, 0.0005), 1);
    sample_check("d: {dist: normal, mean: 0ms, sd: 1ms}", T, truncated_normal_raw(0, 0.001), 1);
    sample_check("d: {dist: normal, mean: 1ms, sd: 1ms}", T,
                 truncated_normal_raw(0.001, 0.001), 1);
    double s2 = log(1.25); /* cv 0.5 */
    sample_check("d: {dist: lognormal, mean: 2ms, cv: 0.5}", T,
                 lognormal_raw(log(0.002) - s2 / 2, sqrt(s2)), 1);
    sample_check("d: {dist: lognormal, mu: -6.5, sigma: 0.8}", T, lognormal_raw(-6.5, 0.8), 1);
    sample_check("d: {dist: lognormal, mean: 512, cv: 1.0}", C,
                 lognormal_raw(log(512) - log(2) / 2, sqrt(log(2))), 1);
    sample_check("d: {dist: gamma, mean: 2ms, cv: 0.5}", T, gamma_raw(4, 0.0005), 1);
    /* Shape 1/4 < 1 takes GSL's other branch. */
    sample_check("d: {dist: gamma, mean: 2ms, cv: 2}", T, gamma_raw(0.25, 0.008), 1);
    sample_check("d: {dist: erlang, k: 3, mean: 3ms}", T, gamma_raw(3, 0.001), 1);
    sample_check("d: {dist: weibull, shape: 1.5, scale: 2ms}", T, weibull_raw(1.5, 0.002), 1);
    sample_check("d: {dist: weibull, shape: 0.8, scale: 1ms}", T, weibull_raw(0.8, 0.001), 1);
    sample_check("d: {dist: pareto, shape: 10, scale: 1ms}", T, pareto_raw(10, 0.001), 1);
    /* Shape 3: finite variance, so the mean's standard error holds, but an
     * infinite fourth moment, so the sample variance is not checked. */
    sample_check("d: {dist: pareto, shape: 3, scale: 1ms}", T, pareto_raw(3, 0.001), 0);
    const double hm[] = {0.001, 0.010}, hp[] = {0.9, 0.1};
    sample_check("d: {dist: hyperexponential, means: [1ms, 10ms], probs: [0.9, 0.1]}", T,
                 hyperexponential_raw(hm, hp, 2), 1);
    const double hm3[] = {1, 5, 50}, hp3[] = {0.5, 0.3, 0.2};
    sample_check("d: {dist: hyperexponential, means: [1, 5, 50], probs: [0.5, 0.3, 0.2]}", C,
                 hyperexponential_raw(hm3, hp3, 3), 1);
}

/* ---- closed forms against hand-computed values ------------------------ */

static void closed_form(const char *text, gs_dist_unit unit, double mean, double var)
{
    int before = check_failures;
    gs_dist dist;
    gs_doc *doc = good(text, unit, &dist);
    if (!doc)
        return;
    double m = gs_dist_mean(&dist), v = gs_dist_variance(&dist);
    if (isinf(mean))
        CHECK(isinf(m) && m > 0);
    else
        CHECK_NEAR(m, mean, 1e-9 * fabs(mean));
    if (isinf(var))
        CHECK(isinf(v) && v > 0);
    else
        CHECK_NEAR(v, var, 1e-9 * fabs(var));
    gs_dist_release(&dist);
    gs_doc_free(doc);
    if (check_failures != before)
        fprintf(stderr, "  (in '%s')\n", text);
}

static void hand_computed(void)
{
    const gs_dist_unit T = GS_DIST_TIME, C = GS_DIST_COUNT;
    closed_form("d: {dist: exponential, mean: 2ms}", T, 0.002, 4e-6);
    closed_form("d: {dist: deterministic, value: 3ms}", T, 0.003, 0);
    closed_form("d: {dist: uniform, min: 1ms, max: 3ms}", T, 0.002, 4e-6 / 12);
    /* Half-normal: sd sqrt(2/pi) and sd^2 (1 - 2/pi). */
    closed_form("d: {dist: normal, mean: 0s, sd: 1ms}", T, 1e-3 * sqrt(2 / M_PI),
                1e-6 * (1 - 2 / M_PI));
    /* Truncation 4 sd away: mean shifts by sd phi(4) / Phi(4). */
    closed_form("d: {dist: normal, mean: 2ms, sd: 0.5ms}", T,
                0.002 + 0.0005 * exp(-8) / sqrt(2 * M_PI) / gsl_cdf_ugaussian_P(4), 0.25e-6 *
                (1 - 4 * exp(-8) / sqrt(2 * M_PI) / gsl_cdf_ugaussian_P(4) -
                 pow(exp(-8) / sqrt(2 * M_PI) / gsl_cdf_ugaussian_P(4), 2)));
    closed_form("d: {dist: normal, mean: 2ms, sd: 0s}", T, 0.002, 0);
    /* The lognormal and gamma of (mean, cv) keep mean and sd = cv * mean. */
    closed_form("d: {dist: lognormal, mean: 2ms, cv: 0.5}", T, 0.002, 1e-6);
    closed_form("d: {dist: gamma, mean: 2ms, cv: 0.5}", T, 0.002, 1e-6);
    closed_form("d: {dist: lognormal, mu: 0, sigma: 0.5}", C, exp(0.125),
                (exp(0.25) - 1) * exp(0.25));
    closed_form("d: {dist: erlang, k: 3, mean: 3ms}", T, 0.003, 3e-6);
    /* Weibull shape 1 is the exponential; shape 2 is the Rayleigh. */
    closed_form("d: {dist: weibull, shape: 1, scale: 2ms}", T, 0.002, 4e-6);
    closed_form("d: {dist: weibull, shape: 2, scale: 1ms}", T, 1e-3 * sqrt(M_PI) / 2,
                1e-6 * (1 - M_PI / 4));
    closed_form("d: {dist: pareto, shape: 3, scale: 1ms}", T, 1.5e-3, 0.75e-6);
    closed_form("d: {dist: pareto, shape: 2, scale: 1ms}", T, 2e-3, INFINITY);
    closed_form("d: {dist: pareto, shape: 1, scale: 1ms}", T, INFINITY, INFINITY);
    closed_form("d: {dist: pareto, shape: 0.5, scale: 1ms}", T, INFINITY, INFINITY);
    /* 0.9 * 1ms + 0.1 * 10ms; E[X^2] = 2 (0.9e-6 + 0.1e-4). */
    closed_form("d: {dist: hyperexponential, means: [1ms, 10ms], probs: [0.9, 0.1]}", T, 1.9e-3,
                21.8e-6 - 1.9e-3 * 1.9e-3);
    /* A rounding error in the probabilities is accepted and normalised. */
    closed_form("d: {dist: hyperexponential, means: [1ms, 10ms], "
                "probs: [0.3333333333333, 0.6666666666667]}", T, 7e-3, 2 * (1e-6 / 3 +
                2e-4 / 3) - 49e-6);
}

/* ---- units and shorthand ---------------------------------------------- */

static void units_and_shorthand(void)
{
    const gs_dist_unit T = GS_DIST_TIME, C = GS_DIST_COUNT;
    closed_form("d: {dist: exponential, mean: 250us}", T, 250e-6, 250e-6 * 250e-6);
    closed_form("d: {dist: uniform, min: 1s, max: 1m}", T, 30.5, 59.0 * 59.0 / 12);
    closed_form("d: {dist: deterministic, value: 2}", T, 2, 0);
    closed_form("d: {dist: hyperexponential, means: [1, 3], probs: [0.5, 0.5]}", C, 2,
                2 * (0.5 + 4.5) - 4);

    /* A bare time is a deterministic value that draws nothing from the
     * stream. */
    gs_dist dist;
    gs_doc *doc = good("d: 5ms", T, &dist);
    if (doc) {
        CHECK(gs_dist_is_constant(&dist));
        CHECK(gs_dist_mean(&dist) == 0.005);
        CHECK(gs_dist_variance(&dist) == 0);
        gsl_rng *r = gs_rng_new(1, 0, "test"), *ref = gs_rng_new(1, 0, "test");
        CHECK(r && ref);
        for (int i = 0; i < 10; i++)
            CHECK(gs_dist_sample(&dist, r) == 0.005);
        CHECK(gsl_rng_get(r) == gsl_rng_get(ref));
        gsl_rng_free(r);
        gsl_rng_free(ref);
        gs_dist_release(&dist);
        gs_doc_free(doc);
    }
    if ((doc = good("d: 0.25", T, &dist))) {
        CHECK(gs_dist_mean(&dist) == 0.25);
        gs_dist_release(&dist);
        gs_doc_free(doc);
    }
    if ((doc = good("d: 0s", T, &dist))) {
        CHECK(gs_dist_mean(&dist) == 0);
        gs_dist_release(&dist);
        gs_doc_free(doc);
    }
    if ((doc = good("d: 7", C, &dist))) {
        CHECK(gs_dist_is_constant(&dist));
        CHECK(gs_dist_mean(&dist) == 7);
        gs_dist_release(&dist);
        gs_doc_free(doc);
    }
    if ((doc = good("d: {dist: uniform, min: 2ms, max: 2ms}", T, &dist))) {
        CHECK(gs_dist_is_constant(&dist));
        gs_dist_release(&dist);
        gs_doc_free(doc);
    }
}

/* ---- known answer ----------------------------------------------------- */

static void known_answer(void)
{
    gs_dist dist;
    gs_doc *doc = good("d: {dist: exponential, mean: 1}", GS_DIST_COUNT, &dist);
    gsl_rng *r = gs_rng_new(1, 0, "test");
    CHECK(r != NULL);
    if (doc && r) {
        /* Recorded once: the first exponential(1) of stream (1, 0, "test").
         * A change means the stream, its derivation or the sampler moved,
         * and published results would no longer reproduce. The tolerance
         * only allows for the last bit of libm's log. */
        const double first = 1.2298116414102962;
        CHECK_NEAR(gs_dist_sample(&dist, r), first, 1e-14);
        /* After constants (which draw nothing) the stream is where it was. */
        gs_dist c;
        gs_dist_constant(&c, 4.0);
        gs_rng_reset(r, 1, 0, "test");
        CHECK(gs_dist_sample(&c, r) == 4.0);
        CHECK_NEAR(gs_dist_sample(&dist, r), first, 1e-14);
        gs_dist_release(&c);
    }
    gsl_rng_free(r);
    if (doc) {
        gs_dist_release(&dist);
        gs_doc_free(doc);
    }
}

/* ---- bad input -------------------------------------------------------- */

/* text must be rejected with GS_EINVAL, a message positioned at the first
 * occurrence of at (as SRC:LINE:COL, 1-based) and containing phrase. */
static void bad(const char *text, gs_dist_unit unit, const char *at, const char *phrase)
{
    gs_dist dist;
    gs_doc *doc;
    gs_diag d;
    gs_diag_init(&d);
    int rc = gs_doc_load_string(text, strlen(text), SRC, &doc, &d);
    CHECK_EQ(rc, GS_OK);
    if (rc) {
        fprintf(stderr, "  cannot load '%s': %s\n", text, d.msg);
        return;
    }
    rc = gs_dist_configure(&dist, doc, gs_map_get(gs_doc_root(doc), "d"), unit, &d);
    CHECK_EQ(rc, GS_EINVAL);
    CHECK_EQ(d.code, GS_EINVAL);
    const char *p = strstr(text, at);
    CHECK(p != NULL);
    int line = 1, col = 1;
    for (const char *c = text; p && c < p; c++) {
        if (*c == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    char pos[64];
    snprintf(pos, sizeof pos, SRC ":%d:%d:", line, col);
    int ok_pos = strncmp(d.msg, pos, strlen(pos)) == 0, ok_phrase = strstr(d.msg, phrase) != NULL;
    CHECK(ok_pos);
    CHECK(ok_phrase);
    if (rc != GS_EINVAL || !ok_pos || !ok_phrase)
        fprintf(stderr, "  '%s': wanted %s ... '%s', got: %s\n", text, pos, phrase, d.msg);
    /* On failure dist needs no release, but releasing must be harmless. */
    gs_dist_release(&dist);
    gs_doc_free(doc);
}

static void bad_inputs(void)
{
    const gs_dist_unit T = GS_DIST_TIME, C = GS_DIST_COUNT;
    bad("d: {dist: expo, mean: 1ms}", T, "expo", "unknown distribution 'expo' (did you mean "
        "'exponential'?); expected one of: exponential, deterministic, uniform");
    bad("d: {dist: lognormel, mean: 1ms, cv: 1}", T, "lognormel", "did you mean 'lognormal'");
    bad("d: {dist: constant, value: 1ms}", T, "constant", "did you mean 'deterministic'");
    bad("d: {dist: zipf, mean: 1ms}", T, "zipf", "unknown distribution 'zipf'; expected one of");
    bad("d: {dist: empirical, file: x.csv}", T, "x.csv", "cannot open 'x.csv'");
    bad("d: {mean: 1ms}", T, "{", "missing required key 'dist'");
    bad("d: {dist: exponential}", T, "{", "missing required key 'mean'");
    bad("d: {dist: exponential, mean: 0ms}", T, "0ms", "mean: must be > 0, got 0ms");
    bad("d: {dist: exponential, mean: -1ms}", T, "-1ms", "mean: must be > 0, got -1ms");
    bad("d: {dist: exponential, mean: .nan}", T, ".nan", "mean");
    bad("d: {dist: exponential, mean: fast}", T, "fast", "fast");
    bad("d: {dist: exponential, mean: 1ms, sd: 2ms}", T, "sd",
        "unknown key 'sd' in distribution 'exponential'");
    bad("d: {dist: deterministic, value: -1ms}", T, "-1ms", "value: must be >= 0, got -1ms");
    bad("d: {dist: uniform, min: 3ms, max: 1ms}", T, "1ms}", "max: must be >= min (3ms), got 1ms");
    bad("d: {dist: uniform, min: -1ms, max: 1ms}", T, "-1ms", "min: must be >= 0");
    bad("d: {dist: uniform, min: 1ms}", T, "{", "missing required key 'max'");
    bad("d: {dist: normal, mean: 1ms, sd: -1ms}", T, "-1ms", "sd: must be >= 0, got -1ms");
    bad("d: {dist: normal, mean: -1ms, sd: 1ms}", T, "-1ms", "mean: must be >= 0");
    bad("d: {dist: lognormal, mean: 1ms, cv: 0}", T, "0}", "cv: must be > 0, got 0 (a lognormal "
        "with cv 0 is a constant: use {dist: deterministic, value: 1ms}");
    bad("d: {dist: lognormal, mean: 1ms, cv: -0.5}", T, "-0.5", "cv: must be > 0, got -0.5");
    bad("d: {dist: lognormal, mean: 0s, cv: 1}", T, "0s", "mean: must be > 0");
    bad("d: {dist: lognormal, mean: 1ms, cv: 0.5, sigma: 1}", T, "sigma",
        "takes either {mean, cv} or {mu, sigma}");
    bad("d: {dist: lognormal, mu: 1, cv: 0.5}", T, "mu", "either {mean, cv} or {mu, sigma}");
    bad("d: {dist: lognormal}", T, "{", "needs {mean, cv} or {mu, sigma}");
    bad("d: {dist: lognormal, mean: 1ms}", T, "{", "missing required key 'cv'");
    bad("d: {dist: lognormal, mu: 0, sigma: 0}", T, "0}", "sigma: must be > 0, got 0");
    bad("d: {dist: gamma, mean: 1ms, cv: 0}", T, "0}", "deterministic");
    bad("d: {dist: gamma, mean: 1ms, cv: -1}", T, "-1", "cv: must be > 0, got -1");
    bad("d: {dist: erlang, k: 2.5, mean: 1ms}", T, "2.5", "k: must be an integer >= 1, got 2.5");
    bad("d: {dist: erlang, k: 0, mean: 1ms}", T, "0,", "k: must be an integer >= 1, got 0");
    bad("d: {dist: erlang, k: 2, mean: 0ms}", T, "0ms", "mean: must be > 0");
    bad("d: {dist: weibull, shape: 0, scale: 1ms}", T, "0,", "shape: must be > 0, got 0");
    bad("d: {dist: weibull, shape: 2, scale: -1ms}", T, "-1ms", "scale: must be > 0");
    bad("d: {dist: pareto, shape: -2, scale: 1ms}", T, "-2", "shape: must be > 0");
    bad("d: {dist: pareto, shape: 2, scale: 0s}", T, "0s", "scale: must be > 0, got 0s");
    bad("d: {dist: hyperexponential, means: [1ms, 2ms], probs: [0.5, 0.4]}", T, "[0.5",
        "probs: must sum to 1, got a sum of 0.9");
    bad("d: {dist: hyperexponential, means: [1ms, 2ms], probs: [1]}", T, "[1]",
        "one entry per phase (2, as many as means), got 1");
    bad("d: {dist: hyperexponential, means: [1ms, 0ms], probs: [0.5, 0.5]}", T, "0ms",
        "means: each mean must be > 0, got 0ms");
    bad("d: {dist: hyperexponential, means: [1ms, 2ms], probs: [1.5, -0.5]}", T, "-0.5",
        "probs: each probability must be >= 0, got -0.5");
    bad("d: {dist: hyperexponential, means: 1ms, probs: [1]}", T, "1ms",
        "means: expected a sequence");
    bad("d: {dist: hyperexponential, means: [], probs: []}", T, "[]", "at least one phase");
    bad("d: {dist: hyperexponential, probs: [1]}", T, "{", "missing required key 'means'");
    /* A bare value is named by the key it was written under. */
    bad("d: -5ms", T, "-5ms", "d: must be >= 0, got -5ms");
    bad("d: 5ms", C, "5ms", "d: expected a number, got '5ms'");
    bad("d: 1e10s", T, "1e10s", "d: at most 9223372036s (292 years), got 1e10s");
    /* Parameters whose mean the clock cannot hold, and which one to change. */
    bad("d: {dist: lognormal, mu: 1000, sigma: 1}", T, "1000", "mu: too large to represent");
    bad("d: {dist: lognormal, mu: 0, sigma: 1e10}", T, "1e10", "sigma: too large to "
        "represent: the lognormal's mean exp(mu + sigma^2/2) exceeds the clock's 9223372036s "
        "(292 years), got 1e10; lower sigma");
    bad("d: {dist: lognormal, mu: 800, sigma: 1}", C, "800", "mu: too large to represent");
    bad("d: {dist: weibull, shape: 1e-300, scale: 1ms}", T, "1e-300", "shape: too large to "
        "represent");
    bad("d: {dist: weibull, shape: 0.01, scale: 1ms}", T, "0.01", "raise shape");
    bad("d: {dist: exponential, mean: 1e10s}", T, "1e10s", "mean: at most 9223372036s");
    bad("d: soon", T, "soon", "soon");
    bad("d: [1ms, 2ms]", T, "[", "expected a distribution");
    bad("d: {dist: exponential, mean: 5ms}", C, "5ms", "5ms");
    bad("d: -1", C, "-1", "must be >= 0");
    bad("d: {dist: [exponential], mean: 1ms}", T, "[exponential", "dist");
}

/* ---- memory and registry ---------------------------------------------- */

/* Every allocation of a configure may fail: the error is GS_ENOMEM and
 * nothing leaks (AddressSanitizer checks the latter). */
static void allocation_failures(void)
{
    const char *text = "d: {dist: hyperexponential, means: [1ms, 10ms], probs: [0.9, 0.1]}";
    gs_diag d;
    gs_diag_init(&d);
    gs_doc *doc;
    int rc = gs_doc_load_string(text, strlen(text), SRC, &doc, &d);
    CHECK_EQ(rc, GS_OK);
    if (rc)
        return;
    gs_node *node = gs_map_get(gs_doc_root(doc), "d");
    int ok = 0;
    for (long n = 1; n < 100 && !ok; n++) {
        gs_dist dist;
        gs_diag_init(&d);
        gs_alloc_fail_nth(n);
        rc = gs_dist_configure(&dist, doc, node, GS_DIST_TIME, &d);
        gs_alloc_fail_nth(0);
        if (rc == GS_OK) {
            ok = 1;
            CHECK_NEAR(gs_dist_mean(&dist), 1.9e-3, 1e-15);
        } else {
            CHECK_EQ(rc, GS_ENOMEM);
            CHECK_EQ(d.code, GS_ENOMEM);
        }
        gs_dist_release(&dist);
    }
    CHECK(ok);
    gs_doc_free(doc);
}

static void registry(void)
{
    int n = 0;
    for (const char *const *name = gs_dist_names; *name; name++, n++) {
        const gs_dist_type *t = gs_dist_lookup(*name);
        CHECK(t != NULL);
        if (!t)
            continue;
        CHECK(strcmp(t->name, *name) == 0);
        CHECK(t->configure && t->sample && t->mean && t->variance && t->keys);
        for (const char *const *k = t->keys; *k; k++)
            CHECK(strcmp(*k, "dist") != 0);
    }
    CHECK_EQ(n, 11);
    CHECK(gs_dist_lookup("expo") == NULL);
    CHECK(gs_dist_lookup("") == NULL);

    /* Release is safe on a zeroed struct, on a constant, and twice. */
    gs_dist z;
    memset(&z, 0, sizeof z);
    gs_dist_release(&z);
    gs_dist_constant(&z, 1.5);
    CHECK(gs_dist_is_constant(&z));
    CHECK(gs_dist_mean(&z) == 1.5);
    CHECK(gs_dist_variance(&z) == 0);
    gs_dist_release(&z);
    gs_dist_release(&z);

    gs_dist h;
    gs_doc *doc = good("d: {dist: hyperexponential, means: [1, 2], probs: [0.5, 0.5]}",
                       GS_DIST_COUNT, &h);
    if (doc) {
        CHECK(h.n == 2 && h.v != NULL && h.table != NULL);
        gs_dist_release(&h);
        gs_dist_release(&h);
        gs_doc_free(doc);
    }
}

/* gs_dist_max: the largest value of a bounded support, else INFINITY; a
 * Pareto's infinite mean stays allowed (it is the heavy tail asked for). */
static void largest_values(void)
{
    gs_dist x;
    gs_doc *doc = good("d: {dist: uniform, min: 1, max: 7}", GS_DIST_COUNT, &x);
    if (doc) {
        CHECK(gs_dist_max(&x) == 7);
        gs_dist_release(&x);
        gs_doc_free(doc);
    }
    if ((doc = good("d: 42", GS_DIST_COUNT, &x))) {
        CHECK(gs_dist_max(&x) == 42);
        gs_doc_free(doc);
    }
    if ((doc = good("d: {dist: exponential, mean: 3}", GS_DIST_COUNT, &x))) {
        CHECK(isinf(gs_dist_max(&x)));
        gs_doc_free(doc);
    }
    if ((doc = good("d: {dist: pareto, shape: 0.5, scale: 1ms}", GS_DIST_TIME, &x))) {
        CHECK(isinf(gs_dist_mean(&x)));
        gs_doc_free(doc);
    }
    if ((doc = good("d: 9223372036s", GS_DIST_TIME, &x))) {
        CHECK(gs_dist_mean(&x) == 9223372036.0);
        gs_doc_free(doc);
    }
}

/* Write n lines "K\n" (K = 1..n) to path; -1 on failure. */
static int write_values(const char *path, long n)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (long k = 1; k <= n; k++)
        fprintf(f, "%ld\n", k % 1000);
    return fclose(f) ? -1 : 0;
}

/* An empirical file holds at most 10^7 values: exactly 10^7 is read (its
 * largest value is seen), one more is refused. The array grows by doubling,
 * so a limit checked only when it grows let 10,000,001 through. */
static void empirical_limit(void)
{
    if (scratch_make("gs-dist") != 0) {
        CHECK(0);
        return;
    }
    char path[sizeof scratch + 64], text[sizeof path + 64];
    snprintf(path, sizeof path, "%s", in_scratch("v.txt"));
    snprintf(text, sizeof text, "d: {dist: empirical, file: '%s'}", path);
    gs_dist x;
    gs_doc *doc;
    gs_diag d;
    CHECK_EQ(write_values(path, 10000000L), 0);
    if (build(text, GS_DIST_COUNT, &x, &doc, &d) == GS_OK) {
        CHECK(x.n == 10000000u);
        CHECK(gs_dist_max(&x) == 999);
        gs_dist_release(&x);
        gs_doc_free(doc);
    } else {
        CHECK(0);
        fprintf(stderr, "  10^7 values refused: %s\n", d.msg);
    }
    CHECK_EQ(write_values(path, 10000001L), 0);
    CHECK_EQ(build(text, GS_DIST_COUNT, &x, &doc, &d), GS_EINVAL);
    CHECK(strstr(d.msg, "more than 10000000 values") != NULL);
    remove(path);
    remove(scratch);
}

int main(void)
{
    registry();
    hand_computed();
    units_and_shorthand();
    known_answer();
    sample_moments();
    bad_inputs();
    allocation_failures();
    largest_values();
    empirical_limit();
    return CHECK_DONE();
}
