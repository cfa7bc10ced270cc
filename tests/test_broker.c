/* Broker and workers: one partition and one worker with Poisson input and
 * exponential service is M/M/1, c workers behind several partitions M/M/c
 * (checked against analysis/theory.h within five standard errors of the
 * replication means); consumer groups each get every message; retention
 * refuses what exceeds it; the autoscaler stays within [min, max] at every
 * sample and reacts to a step in load only after its delay; bad inputs name
 * the key's position. */
#include <stdlib.h>

#include "analysis/theory.h"
#include "sim/alloc.h"
#include "sim/stats.h"
#include "tests/harness.h"

#define REPS 8

/* Mean and standard error of the per-replication values of a metric. */
typedef struct rep_stat {
    double v[REPS];
} rep_stat;

static double mean_of(const rep_stat *s)
{
    double sum = 0;
    for (int i = 0; i < REPS; i++)
        sum += s->v[i];
    return sum / REPS;
}

static double se_of(const rep_stat *s)
{
    double m = mean_of(s), ss = 0;
    for (int i = 0; i < REPS; i++)
        ss += (s->v[i] - m) * (s->v[i] - m);
    return sqrt(ss / (REPS - 1) / REPS);
}

/* Five standard errors of the replication means (a replication is long
 * enough that its mean is close to normal), with a floor against a
 * degenerate spread. */
#define CHECK_THEORY(stat, value) \
    CHECK_NEAR(mean_of(&(stat)), (value), 5 * se_of(&(stat)) + 1e-9)

/* lambda = 5/s, mu = 10/s: rho = 0.5. The broker holds a message from
 * publish to the worker's answer, so its lag is the number in system and
 * its wait the response time. */
static void mm1(void)
{
    const char *yaml =
        "simulation: {duration: 2000s, warmup: 100s, replications: 8, seed: 7}\n"
        "workload: [{name: a, arrivals: {process: poisson, rate: 5/s}, entry: topic}]\n"
        "components:\n"
        "  topic: {type: broker, groups: [w]}\n"
        "  w: {type: workers, service: {dist: exponential, mean: 100ms}}\n";
    gs_scenario *sc = harness_load(yaml);
    CHECK(sc != NULL);
    if (!sc)
        return;
    rep_stat wq, w, lq, util, lag, held_wait, thr;
    for (int i = 0; i < REPS; i++) {
        gs_metrics m;
        CHECK_EQ(harness_run_sc(sc, (uint64_t)i, &m), GS_OK);
        wq.v[i] = harness_metric(&m, "w", "wait_mean");
        w.v[i] = harness_metric(&m, "w", "response_mean");
        lq.v[i] = harness_metric(&m, "w", "lag_mean");
        util.v[i] = harness_metric(&m, "w", "utilization");
        lag.v[i] = harness_metric(&m, "topic", "lag_mean");
        held_wait.v[i] = harness_metric(&m, "topic", "wait_mean");
        thr.v[i] = harness_metric(&m, "topic", "throughput");
        CHECK_NEAR(harness_metric(&m, "w", "workers_mean"), 1, 0);
        CHECK_NEAR(harness_metric(&m, "w", "scale_events"), 0, 0);
        CHECK_NEAR(harness_metric(&m, "topic", "blocked_ratio"), 0, 0);
        gs_metrics_release(&m);
    }
    gs_queue_theory t;
    CHECK_EQ(gs_theory_mmc(5, 10, 1, &t), 0);
    CHECK_THEORY(wq, t.wait_mean);
    CHECK_THEORY(w, t.response_mean);
    CHECK_THEORY(lq, t.queue_mean);
    CHECK_THEORY(util, t.utilization);
    CHECK_THEORY(lag, t.in_system_mean);
    CHECK_THEORY(held_wait, t.response_mean);
    CHECK_THEORY(thr, 5);
}

/* Three workers, rho = 0.8, behind four partitions fed by keys: the group
 * shares one queue, so it is M/M/3 whatever the partitioning. */
static void mmc(void)
{
    const char *yaml =
        "simulation: {duration: 1000s, warmup: 50s, replications: 8, seed: 3}\n"
        "workload: [{name: a, arrivals: {process: poisson, rate: 24/s}, entry: topic,\n"
        "            keys: {count: 1000, zipf: 0.5}}]\n"
        "components:\n"
        "  topic: {type: broker, partitions: 4, groups: w}\n"
        "  w: {type: workers, consumers: 3, service: {dist: exponential, mean: 100ms}}\n";
    gs_scenario *sc = harness_load(yaml);
    CHECK(sc != NULL);
    if (!sc)
        return;
    rep_stat wq, w, lq, util;
    for (int i = 0; i < REPS; i++) {
        gs_metrics m;
        CHECK_EQ(harness_run_sc(sc, (uint64_t)i, &m), GS_OK);
        wq.v[i] = harness_metric(&m, "w", "wait_mean");
        w.v[i] = harness_metric(&m, "w", "response_mean");
        lq.v[i] = harness_metric(&m, "w", "queue_mean");
        util.v[i] = harness_metric(&m, "w", "utilization");
        gs_metrics_release(&m);
    }
    gs_queue_theory t;
    CHECK_EQ(gs_theory_mmc(24, 10, 3, &t), 0);
    CHECK_THEORY(wq, t.wait_mean);
    CHECK_THEORY(w, t.response_mean);
    CHECK_THEORY(lq, t.queue_mean);
    CHECK_THEORY(util, t.utilization);
}

/* Two groups each get every message; the request is answered when both
 * are done, so it takes the longer of the two chains. Deterministic times
 * make every figure exact. Retention 2 on one partition with a slow group:
 * of messages every 100ms held 250ms, at most 3 would be held, so every
 * third is refused. */
static void groups_and_retention(void)
{
    const char *yaml =
        "simulation: {duration: 10s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: deterministic, rate: 10/s}, entry: topic}]\n"
        "components:\n"
        "  topic: {type: broker, groups: [fast, slow]}\n"
        "  fast: {type: workers, service: 10ms, next: s}\n"
        "  slow: {type: workers, consumers: 2, service: 50ms}\n"
        "  s: {type: service, service: 5ms}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "fast", "throughput"), 9.9, 1e-9);
    CHECK_NEAR(harness_metric(&m, "slow", "throughput"), 9.9, 1e-9);
    CHECK_NEAR(harness_metric(&m, "s", "throughput"), 9.9, 1e-9);
    CHECK_NEAR(harness_metric(&m, "system", "latency_mean"), 0.05, 1e-9);
    CHECK_NEAR(harness_metric(&m, "topic", "wait_mean"), 0.05, 1e-9);
    CHECK_NEAR(harness_metric(&m, "system", "ok_ratio"), 1, 0);
    gs_metrics_release(&m);

    const char *full =
        "simulation: {duration: 30s, warmup: 1s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: deterministic, rate: 10/s}, entry: topic}]\n"
        "components:\n"
        "  topic: {type: broker, retention: 2, groups: [w]}\n"
        "  w: {type: workers, consumers: 5, service: 250ms}\n";
    CHECK_EQ(harness_run(full, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "topic", "blocked_ratio"), 1.0 / 3, 0.01);
    CHECK_NEAR(harness_metric(&m, "system", "error_ratio"), 1.0 / 3, 0.01);
    gs_metrics_release(&m);
}

/* The column of component.name in sc's time series, or -1. */
static long column(const gs_scenario *sc, const char *component, const char *name)
{
    const char *c, *n;
    for (size_t k = 0; gs_trace_column(sc, k, &c, &n) == GS_OK; k++)
        if (!strcmp(c, component) && !strcmp(n, name))
            return (long)k;
    return -1;
}

typedef struct run_trace {
    gs_trace t;
    gs_metrics m;
    long workers, lag;
} run_trace;

static int run_traced(const gs_scenario *sc, run_trace *rt)
{
    memset(rt, 0, sizeof *rt);
    rt->t.nsamples = gs_trace_samples(sc);
    rt->t.ncols = gs_trace_ncols(sc);
    rt->t.hist = gs_calloc(GS_HIST_BUCKETS, sizeof *rt->t.hist);
    rt->t.series = gs_calloc(rt->t.nsamples * rt->t.ncols, sizeof *rt->t.series);
    rt->workers = column(sc, "w", "workers");
    rt->lag = column(sc, "w", "lag");
    CHECK(rt->workers >= 0 && rt->lag >= 0 && column(sc, "topic", "held") >= 0);
    if (!rt->t.hist || !rt->t.series || rt->workers < 0 || rt->lag < 0)
        return GS_ENOMEM;
    gs_diag d;
    gs_diag_init(&d);
    int rc = gs_run_replication_traced(sc, 0, &rt->m, &rt->t, NULL, NULL, &d);
    if (rc)
        fprintf(stderr, "%s\n", d.msg);
    return rc;
}

static void run_trace_free(run_trace *rt)
{
    gs_free(rt->t.hist);
    gs_free(rt->t.series);
    gs_metrics_release(&rt->m);
}

/* A step in load: 40 users first send together at t0 = 5s (a closed
 * workload's first think time), into one worker of 1s per message. The
 * checks every 1s see up to 39 waiting, desire min(ceil(39 / 2), 4) = 4,
 * and the change lands 3s later: no sample before t0 + delay shows more
 * than the minimum, and the maximum is reached by t0 + interval + delay.
 * The users keep the queue long from then on, so the group stays at 4. */
static void step(void)
{
    const char *yaml =
        "simulation: {duration: 30s, replications: 1, sample_interval: 250ms}\n"
        "workload: [{name: a, arrivals: {process: closed, users: 40, think: 5s}, entry: topic}]\n"
        "components:\n"
        "  topic: {type: broker, groups: w}\n"
        "  w: {type: workers, service: 1s,\n"
        "      autoscale: {min: 1, max: 4, target_depth: 2, delay: 3s, interval: 1s}}\n";
    gs_scenario *sc = harness_load(yaml);
    CHECK(sc != NULL);
    if (!sc)
        return;
    run_trace rt;
    CHECK_EQ(run_traced(sc, &rt), GS_OK);
    if (rt.t.series) {
        double dt = 0.25, reached = -1;
        for (size_t k = 0; k < rt.t.nsamples; k++) {
            const double *row = rt.t.series + k * rt.t.ncols;
            double at = (double)(k + 1) * dt, n = row[rt.workers];
            CHECK(n >= 1 && n <= 4);
            if (at < 5 + 3)
                CHECK_NEAR(n, 1, 0);
            if (at > 5 && at < 8)
                CHECK(row[rt.lag] > 30);
            if (n == 4 && reached < 0)
                reached = at;
        }
        CHECK(reached >= 8 && reached <= 9 + dt);
    }
    CHECK_EQ(harness_metric(&rt.m, "w", "scale_ups"), 1);
    CHECK_EQ(harness_metric(&rt.m, "w", "scale_downs"), 0);
    CHECK_EQ(harness_metric(&rt.m, "w", "scale_events"), 1);
    double wm = harness_metric(&rt.m, "w", "workers_mean");
    CHECK(wm > 1 && wm < 4);
    run_trace_free(&rt);
}

/* Scaling down: four workers start busy on messages of 10s at 0.5s; the
 * empty queue wants one worker from the first check (1s), due at 4s, but
 * busy workers finish their message first, so four remain until 10.5s and
 * one afterwards (the users send again at 11s). */
static void drain(void)
{
    const char *yaml =
        "simulation: {duration: 11s, replications: 1, sample_interval: 250ms}\n"
        "workload: [{name: a, arrivals: {process: closed, users: 4, think: 500ms}, entry: topic}]\n"
        "components:\n"
        "  topic: {type: broker, groups: w}\n"
        "  w: {type: workers, consumers: 4, service: 10s,\n"
        "      autoscale: {min: 1, max: 4, target_depth: 1, delay: 3s, interval: 1s}}\n";
    gs_scenario *sc = harness_load(yaml);
    CHECK(sc != NULL);
    if (!sc)
        return;
    run_trace rt;
    CHECK_EQ(run_traced(sc, &rt), GS_OK);
    if (rt.t.series)
        for (size_t k = 0; k < rt.t.nsamples; k++) {
            double at = (double)(k + 1) * 0.25, n = rt.t.series[k * rt.t.ncols + (size_t)rt.workers];
            if (at < 10.5)
                CHECK_NEAR(n, 4, 0);
            else if (at > 10.5)
                CHECK_NEAR(n, 1, 0);
        }
    CHECK_EQ(harness_metric(&rt.m, "w", "scale_downs"), 1);
    CHECK_EQ(harness_metric(&rt.m, "w", "scale_ups"), 0);
    /* Busy 4 x [0.5s, 10.5s) of 4 x [0s, 10.5s) + 1 x [10.5s, 11s). */
    CHECK_NEAR(harness_metric(&rt.m, "w", "workers_mean"), 42.5 / 11, 1e-9);
    CHECK_NEAR(harness_metric(&rt.m, "w", "utilization"), 40 / 42.5, 1e-9);
    run_trace_free(&rt);
}

/* Poisson load that needs about four workers, bounded to [2, 6]: every
 * sample stays within the bounds, the group scales both ways, and the
 * queue stays bounded. */
static void bounds(void)
{
    const char *yaml =
        "simulation: {duration: 300s, warmup: 10s, replications: 1, seed: 11, "
        "sample_interval: 100ms}\n"
        "workload: [{name: a, arrivals: {process: poisson, rate: 20/s}, entry: topic}]\n"
        "components:\n"
        "  topic: {type: broker, partitions: 3, groups: w}\n"
        "  w: {type: workers, consumers: 3, service: {dist: exponential, mean: 200ms},\n"
        "      autoscale: {min: 2, max: 6, target_depth: 3, delay: 2s, interval: 500ms}}\n";
    gs_scenario *sc = harness_load(yaml);
    CHECK(sc != NULL);
    if (!sc)
        return;
    run_trace rt;
    CHECK_EQ(run_traced(sc, &rt), GS_OK);
    if (rt.t.series)
        for (size_t k = 0; k < rt.t.nsamples; k++) {
            double n = rt.t.series[k * rt.t.ncols + (size_t)rt.workers];
            CHECK(n >= 2 && n <= 6);
        }
    double wm = harness_metric(&rt.m, "w", "workers_mean");
    CHECK(wm >= 2 && wm <= 6);
    CHECK(harness_metric(&rt.m, "w", "scale_ups") > 0);
    CHECK(harness_metric(&rt.m, "w", "scale_downs") > 0);
    CHECK(harness_metric(&rt.m, "w", "utilization") <= 1);
    CHECK_NEAR(harness_metric(&rt.m, "system", "ok_ratio"), 1, 0);
    run_trace_free(&rt);
}

/* Every allocation of a load and of a run may fail: GS_ENOMEM (or success),
 * nothing leaked. The queue and the broker's records grow several times. */
static void alloc_failures(void)
{
    const char *yaml =
        "simulation: {duration: 3s, replications: 1, sample_interval: 500ms}\n"
        "workload: [{name: a, arrivals: {process: deterministic, rate: 100/s}, entry: topic,\n"
        "            keys: {count: 50}}]\n"
        "components:\n"
        "  topic: {type: broker, partitions: 3, retention: 1000, groups: [w, v]}\n"
        "  w: {type: workers, service: 50ms, next: v2,\n"
        "      autoscale: {min: 1, max: 3, target_depth: 10, delay: 1s, interval: 500ms}}\n"
        "  v: {type: workers, consumers: 2, service: 5ms}\n"
        "  v2: {type: workers, service: 1ms}\n";
    int ok = 0;
    for (long n = 1; n < 5000 && !ok; n++) {
        gs_diag d;
        gs_diag_init(&d);
        gs_scenario *sc = NULL;
        gs_alloc_fail_nth(n);
        int rc = gs_scenario_load_string(yaml, "t.yaml", NULL, 0, &sc, &d);
        gs_alloc_fail_nth(0);
        CHECK(rc == GS_OK || rc == GS_ENOMEM);
        ok = rc == GS_OK;
        gs_scenario_free(sc);
    }
    CHECK(ok);
    gs_scenario *sc = harness_load(yaml);
    CHECK(sc != NULL);
    if (!sc)
        return;
    ok = 0;
    for (long n = 1; n < 5000 && !ok; n++) {
        gs_metrics m;
        memset(&m, 0, sizeof m);
        gs_diag d;
        gs_diag_init(&d);
        gs_alloc_fail_nth(n);
        int rc = gs_run_replication(sc, 0, &m, NULL, NULL, &d);
        gs_alloc_fail_nth(0);
        CHECK(rc == GS_OK || rc == GS_ENOMEM);
        ok = rc == GS_OK;
        if (ok)
            CHECK(harness_metric(&m, "w", "scale_ups") > 0);
        gs_metrics_release(&m);
    }
    CHECK(ok);
}

static void bad(const char *comps, const char *pos, const char *phrase)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "simulation: {duration: 1s}\n"
             "workload: [{name: a, arrivals: {process: poisson, rate: 1/s}, entry: topic}]\n"
             "components:\n%s", comps);
    harness_bad(yaml, pos, phrase);
}

static void bad_inputs(void)
{
    const char *w = "  w: {type: workers, service: 1ms}\n";
    char buf[512];
    snprintf(buf, sizeof buf, "  topic: {type: broker, partitions: 0, groups: w}\n%s", w);
    bad(buf, "t.yaml:4:37:", "partitions: must be between 1 and");
    snprintf(buf, sizeof buf, "  topic: {type: broker, retention: 0, groups: w}\n%s", w);
    bad(buf, "t.yaml:4:36:", "retention: expected a number of messages");
    snprintf(buf, sizeof buf, "  topic: {type: broker, partitons: 2, groups: w}\n%s", w);
    bad(buf, "t.yaml:4:25:", "did you mean 'partitions'");
    snprintf(buf, sizeof buf, "  topic: {type: broker}\n%s", w);
    bad(buf, "t.yaml:4:10:", "missing required key 'groups'");
    bad("  topic: {type: broker, groups: [s]}\n  s: {type: service, service: 1ms}\n",
        "t.yaml:4:34:", "'s' is a service");
    snprintf(buf, sizeof buf, "  topic: {type: broker, groups: [w, w]}\n%s", w);
    bad(buf, "t.yaml:4:37:", "named twice");
    bad("  topic: {type: broker, groups: w}\n"
        "  w: {type: workers, service: 1ms, autoscale: {min: 5, max: 2, target_depth: 1}}\n",
        "t.yaml:5:53:", "autoscale: min (5) must be <= max (2)");
    bad("  topic: {type: broker, groups: w}\n"
        "  w: {type: workers, service: 1ms, autoscale: {min: 1, max: 2, target_depth: 1, "
        "dealy: 1s}}\n",
        "t.yaml:5:81:", "did you mean 'delay'");
    bad("  topic: {type: broker, groups: w}\n"
        "  w: {type: workers, service: 1ms, autoscale: {max: 2, target_depth: 0}}\n",
        "t.yaml:5:70:", "target_depth: must be > 0");
    bad("  topic: {type: broker, groups: w}\n"
        "  w: {type: workers, service: 1ms, consumers: 9, autoscale: {max: 4, "
        "target_depth: 1}}\n",
        "t.yaml:5:47:", "within autoscale min (1) and max (4)");
    bad("  topic: {type: broker, groups: w}\n  w: {type: workers, consumers: 0, service: 1ms}\n",
        "t.yaml:5:33:", "consumers: must be between 1 and");
    bad("  topic: {type: broker, groups: w}\n  w: {type: workers}\n", "t.yaml:5:6:",
        "missing required key 'service'");
    bad("  topic: {type: broker, groups: w}\n"
        "  w: {type: workers, service: 1ms, autoscale: {min: 1, target_depth: 1}}\n",
        "t.yaml:5:47:", "missing required key 'max'");
}

int main(void)
{
    mm1();
    mmc();
    groups_and_retention();
    step();
    drain();
    bounds();
    bad_inputs();
    alloc_failures();
    harness_done();
    return CHECK_DONE();
}
