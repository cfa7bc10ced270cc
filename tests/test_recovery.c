/* Recovery after scheduled faults (recovery_time, recovery_failed_ratio),
 * the system series load_amplification and goodput, and a station's
 * age_at_service_mean: a fault that changes nothing recovers at once, an
 * M/M/1 at rho 0.5 recovers within seconds of an outage and of a slowdown,
 * and the retry storm of scenarios/retry-storm.yaml does not recover while
 * its twin with a retry budget does (run from the repository root, as
 * ctest does). */
#include "sim/alloc.h"
#include "sim/stats.h"
#include "tests/harness.h"

/* Deterministic arrivals and service: every sample window holds the same
 * latencies, so a slowdown of factor 1 or an outage of a component nobody
 * uses leaves every window as healthy as the baseline, and recovery is
 * immediate (the fault ends on a window boundary). */
static void test_no_change(void)
{
    const char *yaml =
        "simulation: {duration: 60s, warmup: 5s, sample_interval: 1s}\n"
        "workload: [{name: a, arrivals: {process: deterministic, rate: 100/s}, entry: gw}]\n"
        "components:\n"
        "  gw: {type: gateway, servers: 1, service: 2ms,\n"
        "       slowdowns: [{at: 20s, for: 5s, factor: 1}]}\n"
        "  idle: {type: service, servers: 1, service: 1ms, outages: [{at: 30s, for: 3s}]}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "system", "recovery_time"), 0, 0);
    CHECK_NEAR(harness_metric(&m, "system", "recovery_failed_ratio"), 0, 0);
    /* Nothing waits and hops take no time: every age at service is 0. */
    CHECK_NEAR(harness_metric(&m, "gw", "age_at_service_mean"), 0, 0);
    gs_metrics_release(&m);
}

/* Without scheduled faults the metrics are absent (rows unchanged); with a
 * fault that cannot be assessed (it ends after the run) they are NaN. */
static void test_absent_and_unassessed(void)
{
    gs_metrics m;
    CHECK_EQ(harness_run("simulation: {duration: 10s, warmup: 1s}\n"
                         "workload: [{name: a, arrivals: {process: deterministic, rate: 10/s}, "
                         "entry: gw}]\n"
                         "components: {gw: {type: gateway, service: 1ms}}\n", 0, &m), GS_OK);
    for (size_t i = 0; i < m.n; i++)
        CHECK(strncmp(m.v[i].name, "recovery", 8) != 0);
    gs_metrics_release(&m);
    CHECK_EQ(harness_run("simulation: {duration: 10s, warmup: 1s}\n"
                         "workload: [{name: a, arrivals: {process: deterministic, rate: 10/s}, "
                         "entry: gw}]\n"
                         "components: {gw: {type: gateway, service: 1ms, "
                         "outages: [{at: 8s, for: 5s}]}}\n", 0, &m), GS_OK);
    CHECK(isnan(harness_metric(&m, "system", "recovery_time")));
    CHECK(isnan(harness_metric(&m, "system", "recovery_failed_ratio")));
    gs_metrics_release(&m);
}

/* M/M/1 with lambda = 2000/s, mu = 4000/s (rho 0.5): about 2000 answers per
 * one-second window, so a window's p99 has a relative standard error near
 * 5 %, within the 10 % (or 3 baseline standard deviations) a healthy window
 * is allowed. After an outage the
 * station is empty and recovers at once (within a couple of windows of
 * noise); after a 5 s slowdown by 3 (capacity 1333/s) about 3300 requests
 * wait, which take about 1.7 s to drain at 4000 - 2000 per second, so the
 * recovery takes at least one window and, allowing for noise, well under
 * ten. */
static void test_mm1(void)
{
    const char *outage =
        "simulation: {duration: 70s, warmup: 5s, sample_interval: 1s}\n"
        "workload: [{name: a, arrivals: {process: poisson, rate: 2000/s}, entry: s}]\n"
        "components:\n"
        "  s: {type: service, servers: 1, service: {dist: exponential, mean: 0.25ms},\n"
        "      outages: [{at: 35s, for: 2s}]}\n";
    const char *slow =
        "simulation: {duration: 70s, warmup: 5s, sample_interval: 1s}\n"
        "workload: [{name: a, arrivals: {process: poisson, rate: 2000/s}, entry: s}]\n"
        "components:\n"
        "  s: {type: service, servers: 1, service: {dist: exponential, mean: 0.25ms},\n"
        "      slowdowns: [{at: 35s, for: 5s, factor: 3}]}\n";
    for (uint64_t rep = 0; rep < 2; rep++) {
        gs_metrics m;
        CHECK_EQ(harness_run(outage, rep, &m), GS_OK);
        double t = harness_metric(&m, "system", "recovery_time");
        CHECK(t >= 0 && t <= 5);
        CHECK_NEAR(harness_metric(&m, "system", "recovery_failed_ratio"), 0, 0);
        /* Mean age at service of M/M/1 = its mean wait rho / (mu - lambda)
         * = 0.25 ms (no network delay). The wait's sd is 0.43 ms; over 1.3e5
         * requests, with successive waits correlated (a factor of about 6 on
         * the variance at rho 0.5), 5 standard errors are about 15 us; the
         * bound is widened for the outage, after which the queue starts
         * empty. */
        CHECK_NEAR(harness_metric(&m, "s", "age_at_service_mean"), 0.25e-3, 0.05e-3);
        gs_metrics_release(&m);
        CHECK_EQ(harness_run(slow, rep, &m), GS_OK);
        t = harness_metric(&m, "system", "recovery_time");
        CHECK(t >= 1 && t <= 10);
        CHECK_NEAR(harness_metric(&m, "system", "recovery_failed_ratio"), 0, 0);
        gs_metrics_release(&m);
    }
}

/* The shipped pair (docs/metastability.md): at rho 0.8, attempts timed out
 * at 100 ms and retried three times without a budget, a 10 s slowdown by 3
 * fills the queue past the timeout; from then on every attempt times out
 * and is retried while the abandoned ones keep their servers, so the
 * servers get four attempts' work per request (3200/s for 1000/s of
 * capacity) and never catch up. With a retry budget of 0.1 the load stays
 * at most 1.1 x 800 < 1000 and the backlog drains in about a minute. */
static gs_scenario *load_file(const char *path)
{
    /* Cut after the budget run has recovered (about 180 s), to save time. */
    static const char *const sets[] = {"simulation.duration=200s"};
    gs_diag d;
    gs_diag_init(&d);
    gs_scenario *sc = NULL;
    if (gs_scenario_load(path, sets, 1, &sc, &d) != GS_OK)
        fprintf(stderr, "%s\n", d.msg);
    return sc;
}

static void test_storm(void)
{
    gs_scenario *sc = load_file("scenarios/retry-storm.yaml");
    CHECK(sc != NULL);
    gs_metrics m;
    if (sc) {
        CHECK_EQ(harness_run_sc(sc, 0, &m), GS_OK);
        CHECK(isnan(harness_metric(&m, "system", "recovery_time")));
        CHECK_NEAR(harness_metric(&m, "system", "recovery_failed_ratio"), 1, 0);
        CHECK(harness_metric(&m, "system", "load_amplification") > 2);
        /* Servers take work whose clients gave up long ago (2 s deadline). */
        CHECK(harness_metric(&m, "svc", "age_at_service_mean") > 2);
        gs_metrics_release(&m);
        gs_scenario_free(sc);
    }
    sc = load_file("scenarios/retry-storm-budget.yaml");
    CHECK(sc != NULL);
    if (sc) {
        CHECK_EQ(harness_run_sc(sc, 0, &m), GS_OK);
        double t = harness_metric(&m, "system", "recovery_time");
        CHECK(t >= 10 && t < 120);
        CHECK_NEAR(harness_metric(&m, "system", "recovery_failed_ratio"), 0, 0);
        CHECK(harness_metric(&m, "system", "load_amplification") < 1.1 + 1e-9);
        gs_metrics_release(&m);
        gs_scenario_free(sc);
    }
}

/* The series columns, and their values on a case where they are exact:
 * deterministic arrivals, no retries (amplification 1), every answer well
 * inside its deadline (goodput = throughput). */
static void test_series(void)
{
    const char *yaml =
        "simulation: {duration: 10s, warmup: 1s, sample_interval: 500ms}\n"
        "workload: [{name: a, arrivals: {process: deterministic, rate: 100/s}, deadline: 1s, "
        "entry: gw}]\n"
        "components:\n"
        "  gw: {type: gateway, servers: 1, service: 2ms}\n";
    gs_scenario *sc = harness_load(yaml);
    CHECK(sc != NULL);
    if (!sc)
        return;
    size_t ns = gs_trace_samples(sc), nc = gs_trace_ncols(sc);
    CHECK_EQ(nc, 7 + 3);
    const char *comp, *name;
    CHECK_EQ(gs_trace_column(sc, 5, &comp, &name), GS_OK);
    CHECK(!strcmp(comp, "system") && !strcmp(name, "load_amplification"));
    CHECK_EQ(gs_trace_column(sc, 6, &comp, &name), GS_OK);
    CHECK(!strcmp(comp, "system") && !strcmp(name, "goodput"));
    gs_trace t = {.nsamples = ns, .ncols = nc};
    t.hist = gs_calloc(GS_HIST_BUCKETS, sizeof *t.hist);
    t.series = gs_calloc(ns * nc, sizeof *t.series);
    CHECK(t.hist && t.series);
    gs_metrics m;
    memset(&m, 0, sizeof m);
    gs_diag d;
    gs_diag_init(&d);
    CHECK_EQ(gs_run_replication_traced(sc, 0, &m, &t, NULL, NULL, &d), GS_OK);
    for (size_t k = 0; k < ns; k++) {
        const double *row = t.series + k * nc;
        CHECK_NEAR(row[5], 1, 0);
        CHECK_NEAR(row[6], row[0], 0);
    }
    gs_metrics_release(&m);
    gs_free(t.hist);
    gs_free(t.series);
}

/* Retries show in the series: a primary that always fails, retried twice,
 * gets three attempts per request in every window. */
static void test_series_retries(void)
{
    const char *yaml =
        "simulation: {duration: 10s, warmup: 1s, sample_interval: 1s}\n"
        "workload: [{name: a, arrivals: {process: deterministic, rate: 100/s}, entry: edge}]\n"
        "components:\n"
        "  edge: {type: fallback, primary: s, retry: {max: 2, backoff: {base: 1ns}}}\n"
        "  s: {type: service, service: 1ms, outages: [{at: 0s, for: 100s}]}\n";
    gs_scenario *sc = harness_load(yaml);
    CHECK(sc != NULL);
    if (!sc)
        return;
    size_t ns = gs_trace_samples(sc), nc = gs_trace_ncols(sc);
    gs_trace t = {.nsamples = ns, .ncols = nc};
    t.hist = gs_calloc(GS_HIST_BUCKETS, sizeof *t.hist);
    t.series = gs_calloc(ns * nc, sizeof *t.series);
    gs_metrics m;
    memset(&m, 0, sizeof m);
    gs_diag d;
    gs_diag_init(&d);
    CHECK_EQ(gs_run_replication_traced(sc, 0, &m, &t, NULL, NULL, &d), GS_OK);
    /* Retries 1ns after a refusal stay in the window of their request,
     * except at most one request's at a boundary. */
    for (size_t k = 0; k < ns; k++)
        CHECK_NEAR(t.series[k * nc + 5], 3, 2.0 / 100);
    CHECK_NEAR(harness_metric(&m, "system", "load_amplification"), 3, 1e-12);
    /* The outage never ends inside the run: nothing to assess. */
    CHECK(isnan(harness_metric(&m, "system", "recovery_failed_ratio")));
    gs_metrics_release(&m);
    gs_free(t.hist);
    gs_free(t.series);
}

/* Every allocation of a run that assesses a fault may fail: the run
 * reports GS_ENOMEM (never anything else) and leaks nothing. */
static void alloc_failures(void)
{
    const char *yaml =
        "simulation: {duration: 6s, warmup: 1s, sample_interval: 500ms}\n"
        "workload: [{name: a, arrivals: {process: poisson, rate: 20/s}, entry: gw}]\n"
        "components:\n"
        "  gw: {type: gateway, service: {dist: exponential, mean: 1ms},\n"
        "       outages: [{at: 3s, for: 1s}], slowdowns: [{at: 2s, for: 500ms, factor: 2}]}\n";
    gs_alloc_fail_nth(0);
    long before = gs_alloc_count();
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    CHECK(!isnan(harness_metric(&m, "system", "recovery_failed_ratio")));
    gs_metrics_release(&m);
    long total = gs_alloc_count() - before;
    int bad = 0;
    for (long n = 1; n <= total; n++) {
        gs_alloc_fail_nth(n);
        gs_diag d;
        gs_diag_init(&d);
        gs_scenario *sc;
        int rc = gs_scenario_load_string(yaml, "t.yaml", NULL, 0, &sc, &d);
        if (rc == GS_OK) {
            memset(&m, 0, sizeof m);
            rc = gs_run_replication(sc, 0, &m, NULL, NULL, &d);
            gs_metrics_release(&m);
            gs_scenario_free(sc);
        }
        bad += rc != GS_OK && rc != GS_ENOMEM;
    }
    gs_alloc_fail_nth(0);
    CHECK_EQ(bad, 0);
}

int main(void)
{
    test_no_change();
    test_absent_and_unassessed();
    test_mm1();
    test_storm();
    test_series();
    test_series_retries();
    alloc_failures();
    harness_done();
    return CHECK_DONE();
}
