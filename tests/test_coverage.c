/* Coverage of the confidence intervals (docs/statistics.md, "Warm-up"):
 * many independent small experiments of M/M/1 (rho = 0.8, mu = 1000/s),
 * each REPS replications with its own seed, and the share of the 95 %
 * intervals of system latency_mean that hold the exact 1/(mu - lambda),
 * judged by a two-sided binomial test of p = 0.95 at level ALPHA. So a
 * correct method fails here with probability ALPHA, and a method whose true
 * coverage is 0.80 passes with a probability below 1e-5.
 *
 *  (a) a short run (250 service times) started empty, no warm-up: the
 *      empty-start bias makes the test reject 0.95;
 *  (b) the documented rule: 5000 service times, warm-up 10 %: consistent;
 *  (c) warmup: auto (MSER-5 on pilot runs), 5000 service times: consistent.
 *
 * Then MSER itself on synthetic sequences, and the reproducibility of the
 * automatic choice (the same warm-up whatever the threads and whether a run
 * or a single replication resolves it). */
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analysis/summary.h"
#include "sim/alloc.h"
#include "sim/replicate.h"
#include "sim/rng.h"
#include "sim/units.h"
#include "sim/warmup.h"
#include "tests/harness.h"

#define MU 1000.0
#define RHO 0.8
#define REPS 10
#define EXPERIMENTS 100
#define ALPHA 0.001

/* Two-sided binomial p-value of k successes in n trials under p: twice the
 * smaller tail, at most 1. */
static double binomial_p(unsigned k, unsigned n, double p)
{
    double lo = gsl_cdf_binomial_P(k, p, n);
    double hi = k > 0 ? gsl_cdf_binomial_Q(k - 1, p, n) : 1;
    double v = 2 * fmin(lo, hi);
    return v < 1 ? v : 1;
}

typedef struct coverage {
    unsigned covered, n;
    double   p_value, cp_low, cp_high;   /* Clopper-Pearson 95 % of the share */
    double   warmup_mean;                /* seconds, over the experiments */
} coverage;

static int metric_index(const gs_results *r, const char *component, const char *name)
{
    for (size_t k = 0; k < r->nmetrics; k++)
        if (!strcmp(r->component[k], component) && !strcmp(r->name[k], name))
            return (int)k;
    return -1;
}

/* EXPERIMENTS experiments of REPS replications of duration T with warm-up
 * warm (YAML text: "25s" or "auto"), seeds seed0, seed0 + 1, ... */
static int experiment(const char *T, const char *warm, unsigned seed0, coverage *out)
{
    double lambda = RHO * MU, truth = 1 / (MU - lambda);
    memset(out, 0, sizeof *out);
    for (unsigned e = 0; e < EXPERIMENTS; e++) {
        char yaml[512];
        snprintf(yaml, sizeof yaml,
                 "name: cov\n"
                 "simulation: {duration: %s, warmup: %s, replications: %d, seed: %u}\n"
                 "workload: [{name: c, arrivals: {process: poisson, rate: %g/s}, entry: gw}]\n"
                 "components:\n"
                 "  gw: {type: gateway, servers: 1, service: {dist: exponential, mean: 1ms}}\n",
                 T, warm, REPS, seed0 + e, lambda);
        gs_diag d;
        gs_diag_init(&d);
        gs_scenario *sc;
        if (gs_scenario_load_string(yaml, "cov.yaml", NULL, 0, &sc, &d)) {
            fprintf(stderr, "%s\n", d.msg);
            return -1;
        }
        gs_results res;
        int rc = gs_replicate(sc, 0, REPS, 1, NULL, NULL, &res, &d);
        if (rc) {
            fprintf(stderr, "%s\n", d.msg);
            gs_scenario_free(sc);
            return -1;
        }
        int k = metric_index(&res, "system", "latency_mean");
        if (k >= 0) {
            gs_estimate est;
            gs_estimate_compute(res.values + (size_t)k * REPS, REPS, 0.95, &est);
            out->covered += est.ci_low <= truth && truth <= est.ci_high;
            out->n++;
        }
        out->warmup_mean += gs_time_to_s(sc->warmup) / EXPERIMENTS;
        gs_results_release(&res);
        gs_scenario_free(sc);
    }
    unsigned k = out->covered, n = out->n;
    out->p_value = binomial_p(k, n, 0.95);
    out->cp_low = k > 0 ? gsl_cdf_beta_Pinv(0.025, k, n - k + 1) : 0;
    out->cp_high = k < n ? gsl_cdf_beta_Pinv(0.975, k + 1, n - k) : 1;
    return 0;
}

static void print(const char *what, const coverage *c)
{
    fprintf(stderr, "%-44s covered %u/%u = %.3f [%.3f, %.3f], binomial p = %.2g, "
            "warm-up %.3gs\n", what, c->covered, c->n, (double)c->covered / c->n,
            c->cp_low, c->cp_high, c->p_value, c->warmup_mean);
}

static void test_coverage(void)
{
    coverage a, b, c;
    /* The same seeds for all three, so that they differ only in method. */
    CHECK_EQ(experiment("0.25s", "0s", 1000, &a), 0);
    print("(a) 250 service times, no warm-up:", &a);
    CHECK_EQ(a.n, EXPERIMENTS);
    CHECK(a.p_value < ALPHA);
    CHECK(a.covered < 0.95 * EXPERIMENTS);
    CHECK_EQ(experiment("5s", "0.5s", 1000, &b), 0);
    print("(b) 5000 service times, warm-up 10 %:", &b);
    CHECK_EQ(b.n, EXPERIMENTS);
    CHECK(b.p_value >= ALPHA);
    CHECK_EQ(experiment("5s", "auto", 1000, &c), 0);
    print("(c) 5000 service times, warmup: auto:", &c);
    CHECK_EQ(c.n, EXPERIMENTS);
    CHECK(c.p_value >= ALPHA);
    /* MSER-5 truncates something from an empty start, and less than half. */
    CHECK(c.warmup_mean > 0 && c.warmup_mean < 2.5);
}

/* Standard normal noise from a stream of its own. */
static void noise(double *x, size_t n, uint64_t seed)
{
    gsl_rng *r = gs_rng_new(seed, 0, "mser-test");
    CHECK(r != NULL);
    for (size_t i = 0; r && i < n; i++)
        x[i] = gsl_ran_gaussian(r, 1.0);
    gsl_rng_free(r);
}

static void test_mser(void)
{
    enum { N = 2000, STEP = 200, SEEDS = 20 };
    static double x[N];
    int late;
    /* A level 5 standard deviations off for the first STEP values: the
     * truncation lands at the end of the step. Past it, deleting batches of
     * the settled part changes the statistic only by noise, so MSER may go
     * some batches further (20 seeds: 0 to 8 here), but it never stops
     * inside the step, where one batch mean 5 sd off weighs more than the
     * whole remaining variance. */
    for (uint64_t s = 1; s <= SEEDS; s++) {
        noise(x, N, s);
        for (size_t i = 0; i < STEP; i++)
            x[i] += 5;
        size_t d = gs_mser(x, N, GS_WARMUP_BATCH, &late);
        CHECK(d * GS_WARMUP_BATCH >= STEP);
        CHECK(d * GS_WARMUP_BATCH <= STEP + 20 * GS_WARMUP_BATCH);
        CHECK_EQ(late, 0);
    }
    /* A transient that decays, 4 exp(-i / 100): it is within the noise of a
     * batch mean (1 / sqrt 5) after about 100 ln(4 sqrt 5) = 220 values. */
    for (uint64_t s = 1; s <= SEEDS; s++) {
        noise(x, N, 100 + s);
        for (size_t i = 0; i < N; i++)
            x[i] += 4 * exp(-(double)i / 100);
        size_t d = gs_mser(x, N, GS_WARMUP_BATCH, &late);
        CHECK(d * GS_WARMUP_BATCH >= 50);
        CHECK(d * GS_WARMUP_BATCH <= 600);
    }
    /* Stationary noise: on average a few batches at most. The chosen d
     * jitters with the noise, so the bound is on the mean over the seeds. */
    double mean_d = 0;
    int lates = 0;
    for (uint64_t s = 1; s <= SEEDS; s++) {
        noise(x, N, 200 + s);
        mean_d += (double)gs_mser(x, N, GS_WARMUP_BATCH, &late) / SEEDS;
        lates += late;
    }
    fprintf(stderr, "stationary: mean truncation %.1f of %d batches, %d late\n", mean_d,
            N / GS_WARMUP_BATCH, lates);
    CHECK(mean_d < 0.05 * N / GS_WARMUP_BATCH);
    CHECK(lates <= 2);
    /* Edge cases: too short to batch; a constant series (every d ties, the
     * earliest wins); a partial last batch is dropped. */
    CHECK_EQ(gs_mser(x, 7, 5, &late), 0);
    CHECK_EQ(late, 0);
    for (size_t i = 0; i < 100; i++)
        x[i] = 3;
    CHECK_EQ(gs_mser(x, 100, 5, &late), 0);
    CHECK_EQ(late, 0);
    x[100] = 1e9;
    CHECK_EQ(gs_mser(x, 101, 5, &late), 0);
}

/* The choice depends on the scenario only: resolved by a run on one thread
 * or two, or by a single replication (a sweep item), it is the same; and
 * the scenario reloads from its resolved form with auto kept. */
static void test_reproducible(void)
{
    const char *yaml =
        "name: auto\n"
        "simulation: {duration: 2s, warmup: auto, replications: 3, seed: 42}\n"
        "workload: [{name: c, arrivals: {process: poisson, rate: 800/s}, entry: gw}]\n"
        "components:\n"
        "  gw: {type: gateway, servers: 1, service: {dist: exponential, mean: 1ms}}\n";
    gs_scenario *sc[3] = {harness_load(yaml), harness_load(yaml), harness_load(yaml)};
    if (!sc[0] || !sc[1] || !sc[2]) {
        CHECK(0);
        return;
    }
    gs_diag d;
    gs_diag_init(&d);
    char note[320];
    CHECK_EQ(gs_warmup_note(sc[0], note, sizeof note), 0);   /* not chosen yet */
    CHECK_EQ(sc[0]->warmup, 0);
    gs_results r1, r2;
    CHECK_EQ(gs_replicate(sc[0], 0, 3, 1, NULL, NULL, &r1, &d), GS_OK);
    CHECK_EQ(gs_replicate(sc[1], 0, 3, 2, NULL, NULL, &r2, &d), GS_OK);
    gs_metrics m;
    CHECK_EQ(harness_run_sc(sc[2], 1, &m), GS_OK);
    CHECK_EQ(sc[0]->warmup, sc[1]->warmup);
    CHECK_EQ(sc[0]->warmup, sc[2]->warmup);
    /* The same warm-up, the same replication: the same numbers. */
    int k = metric_index(&r1, "system", "latency_mean");
    CHECK(k >= 0);
    if (k >= 0) {
        CHECK(r1.values[k * 3 + 1] == r2.values[k * 3 + 1]);
        CHECK(r1.values[k * 3 + 1] == harness_metric(&m, "system", "latency_mean"));
    }
    CHECK_EQ(gs_warmup_note(sc[0], note, sizeof note), 1);
    CHECK(strstr(note, "MSER-5") != NULL);
    fprintf(stderr, "%s\n", note);
    gs_metrics_release(&m);
    gs_results_release(&r1);
    gs_results_release(&r2);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK(f != NULL);
    if (f) {
        CHECK_EQ(gs_scenario_emit(sc[0], f), GS_OK);
        fclose(f);
        CHECK(strstr(text, "warmup: auto") != NULL);
        gs_scenario *again = harness_load(text);
        CHECK(again && again->warmup_auto);
        free(text);
    }
    /* A fixed warm-up is left alone. */
    gs_scenario *fixed = harness_load(
        "name: fixed\n"
        "simulation: {duration: 2s, warmup: 0.2s}\n"
        "workload: [{name: c, arrivals: {process: poisson, rate: 800/s}, entry: gw}]\n"
        "components:\n  gw: {type: gateway, servers: 1, service: {dist: exponential, mean: 1ms}}\n");
    CHECK(fixed && !fixed->warmup_auto);
    if (fixed) {
        CHECK_EQ(gs_warmup_resolve(fixed, 1, &d), GS_OK);
        CHECK_EQ(fixed->warmup, gs_time_from_s(0.2));
        CHECK_EQ(gs_warmup_note(fixed, note, sizeof note), 0);
    }
}

int main(void)
{
    test_mser();
    test_reproducible();
    test_coverage();
    harness_done();
    return CHECK_DONE();
}
