/* Engine: request accounting (every counted request gets exactly one
 * outcome), deadlines, loss systems, closed populations, replication
 * determinism, and allocation failure at every point of loading and
 * running a scenario. */
#include "sim/alloc.h"
#include "tests/harness.h"

static double outcome_sum(const gs_metrics *m)
{
    const char *r[] = {"ok_ratio", "fallback_ratio", "degraded_ratio", "error_ratio",
                       "timeout_ratio", "rejected_ratio"};
    double s = 0;
    for (size_t i = 0; i < 6; i++)
        s += harness_metric(m, "system", r[i]);
    return s;
}

/* An overloaded station with a short deadline and a bounded queue: all
 * three outcomes occur, and they account for every counted request. */
static void accounting(void)
{
    const char *yaml =
        "simulation: {duration: 20s, warmup: 2s, replications: 1}\n"
        "network: {latency: {dist: exponential, mean: 1ms}}\n"
        "workload: [{name: c, arrivals: {process: poisson, rate: 1500/s}, deadline: 20ms,\n"
        "            entry: gw}]\n"
        "components:\n"
        "  gw: {type: gateway, servers: 1, capacity: 15, service: {dist: exponential, mean: 1ms}}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    CHECK_NEAR(outcome_sum(&m), 1.0, 1e-12);
    CHECK(harness_metric(&m, "system", "error_ratio") > 0.01);
    CHECK(harness_metric(&m, "system", "timeout_ratio") > 0.01);
    CHECK(harness_metric(&m, "system", "ok_ratio") > 0.3);
    /* No answered request took longer than its deadline. */
    CHECK(harness_metric(&m, "system", "latency_p999") <= 0.020 * (1 + 1.0 / 128));
    /* The server stays busy: abandoned requests keep their place. */
    CHECK(harness_metric(&m, "gw", "utilization") > 0.97);
    gs_metrics_release(&m);
}

/* The same replication twice gives the same values; another differs. */
static void determinism(void)
{
    const char *yaml =
        "simulation: {duration: 10s, replications: 3}\n"
        "workload: [{name: c, arrivals: {process: poisson, rate: 500/s}, entry: gw}]\n"
        "components:\n"
        "  gw: {type: gateway, servers: 2, service: {dist: gamma, mean: 3ms, cv: 2}, next: s}\n"
        "  s: {type: service, instances: 3, balance: random, servers: 1,\n"
        "      service: {dist: exponential, mean: 4ms}}\n";
    gs_metrics a, b, c;
    CHECK_EQ(harness_run(yaml, 1, &a), GS_OK);
    CHECK_EQ(harness_run(yaml, 1, &b), GS_OK);
    CHECK_EQ(harness_run(yaml, 2, &c), GS_OK);
    CHECK_EQ(a.n, b.n);
    int same = a.n == b.n, differ = 0;
    for (size_t i = 0; same && i < a.n; i++) {
        if (memcmp(&a.v[i].value, &b.v[i].value, sizeof(double)))
            same = 0;
        if (a.v[i].value != c.v[i].value)
            differ = 1;
    }
    CHECK(same);
    CHECK(differ);
    gs_metrics_release(&a);
    gs_metrics_release(&b);
    gs_metrics_release(&c);
}

/* Closed population with one user and deterministic times: the cycle is
 * think + service exactly, so throughput and latency are known. */
static void closed_deterministic(void)
{
    const char *yaml =
        "simulation: {duration: 100s, warmup: 10s, replications: 1}\n"
        "workload: [{name: u, arrivals: {process: closed, users: 1, think: 90ms}, entry: gw}]\n"
        "components:\n  gw: {type: gateway, service: 10ms}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "system", "latency_mean"), 0.010, 1e-12);
    CHECK_NEAR(harness_metric(&m, "system", "throughput"), 10.0, 0.2);
    CHECK_NEAR(harness_metric(&m, "gw", "utilization"), 0.1, 0.002);
    gs_metrics_release(&m);
}

/* Constant network latency: each hop costs L both ways. */
static void network_hops(void)
{
    const char *yaml =
        "simulation: {duration: 10s, replications: 1}\n"
        "network: {latency: 1ms}\n"
        "workload: [{name: c, arrivals: {process: deterministic, rate: 10/s}, entry: a}]\n"
        "components:\n"
        "  a: {type: gateway, service: 2ms, next: b}\n"
        "  b: {type: service, service: 3ms}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    /* 2 hops there, 2 back, 5ms of service. */
    CHECK_NEAR(harness_metric(&m, "system", "latency_mean"), 0.009, 1e-12);
    CHECK_NEAR(harness_metric(&m, "system", "latency_p99"), 0.009, 0.009 / 128);
    gs_metrics_release(&m);
}

/* Loss system: capacity 0 blocks whenever every server is busy. */
static void loss_system(void)
{
    const char *yaml =
        "simulation: {duration: 10s, replications: 1}\n"
        "workload: [{name: c, arrivals: {process: deterministic, rate: 100/s}, entry: gw}]\n"
        "components:\n  gw: {type: gateway, servers: 1, capacity: 0, service: 15ms}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    /* Arrivals every 10ms, service 15ms: every other one is blocked. */
    CHECK_NEAR(harness_metric(&m, "gw", "blocked_ratio"), 0.5, 0.01);
    CHECK_NEAR(harness_metric(&m, "system", "error_ratio"), 0.5, 0.01);
    gs_metrics_release(&m);
}

/* A heavy tail (Pareto, shape 0.3: draws of centuries happen) saturates
 * the clock instead of wrapping it into the past; every figure stays >= 0. */
static void heavy_tail(void)
{
    const char *yaml =
        "simulation: {duration: 5s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: poisson, rate: 2000/s}, deadline: 1s,\n"
        "            entry: gw}]\n"
        "components:\n"
        "  gw: {type: service, instances: 4, servers: 50,\n"
        "       service: {dist: pareto, shape: 0.3, scale: 1ms}}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 3, &m), GS_OK);
    int negative = 0;
    for (size_t i = 0; i < m.n; i++)
        if (m.v[i].value < 0)
            negative++;
    CHECK_EQ(negative, 0);
    CHECK_NEAR(outcome_sum(&m), 1.0, 1e-12);
    CHECK(harness_metric(&m, "system", "timeout_ratio") > 0.1);
    gs_metrics_release(&m);
}

/* Deterministic arrivals fall at k / rate exactly, with no drift from
 * rounded gaps: 3e8/s gives 3e8 per second, not 1e9/3 ns -> 3.33e8. */
static void deterministic_rate(void)
{
    const char *yaml =
        "simulation: {duration: 1ms, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: deterministic, rate: 3e7/s}, entry: gw}]\n"
        "components:\n  gw: {type: gateway, servers: 100, service: 1ns}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "system", "offered_rate"), 3e7, 3e7 * 1e-4);
    gs_metrics_release(&m);
}

/* Every allocation made while loading and running may fail: the result is
 * an error, never a crash or a leak (ASan checks the latter). */
static void allocation_failures(void)
{
    const char *yaml =
        "simulation: {duration: 1s, replications: 1}\n"
        "workload: [{name: c, arrivals: {process: poisson, rate: 200/s}, deadline: 5ms,\n"
        "            entry: gw}]\n"
        "components:\n"
        "  gw: {type: gateway, servers: 1, capacity: 2, service: {dist: exponential, mean: 4ms},\n"
        "       next: s}\n"
        "  s: {type: service, instances: 2, service: {dist: hyperexponential, means: [1ms, 5ms],\n"
        "      probs: [0.5, 0.5]}}\n";
    gs_alloc_fail_nth(0);
    long before = gs_alloc_count();
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    gs_metrics_release(&m);
    long total = gs_alloc_count() - before;
    CHECK(total > 10);
    int bad = 0;
    for (long n = 1; n <= total; n++) {
        gs_alloc_fail_nth(n);
        gs_diag d;
        gs_diag_init(&d);
        gs_scenario *sc;
        int rc = gs_scenario_load_string(yaml, "test", NULL, 0, &sc, &d);
        if (rc == GS_OK) {
            memset(&m, 0, sizeof m);
            rc = gs_run_replication(sc, 0, &m, NULL, NULL, &d);
            gs_metrics_release(&m);
            gs_scenario_free(sc);
        }
        if (rc != GS_OK && rc != GS_ENOMEM)
            bad++;
    }
    gs_alloc_fail_nth(0);
    CHECK_EQ(bad, 0);
}

int main(void)
{
    accounting();
    determinism();
    closed_deterministic();
    network_hops();
    loss_system();
    heavy_tail();
    deterministic_rate();
    allocation_failures();
    harness_done();
    return CHECK_DONE();
}
