/* Load balancer: each policy splits traffic as it should (exactly, or
 * within sampling error of theory), least_connections < round_robin <
 * random in latency, health checks detect an outage after `fall` failed
 * checks and never sooner, retries hide a dead target, and bad keys are
 * errors at their position. */
#include "analysis/theory.h"
#include "tests/harness.h"

/* Run replication rep of sc into m (released by the caller). */
static int run(const gs_scenario *sc, uint64_t rep, gs_metrics *m)
{
    int rc = harness_run_sc(sc, rep, m);
    CHECK_EQ(rc, GS_OK);
    return rc;
}

/* Mean and standard error over reps replications of one metric. */
static void over_reps(const char *yaml, size_t reps, const char *component, const char *name,
                      double *mean, double *se)
{
    gs_scenario *sc = harness_load(yaml);
    double s = 0, s2 = 0;
    for (size_t k = 0; sc && k < reps; k++) {
        gs_metrics m;
        if (run(sc, k, &m) == GS_OK) {
            double v = harness_metric(&m, component, name);
            s += v;
            s2 += v * v;
        }
        gs_metrics_release(&m);
    }
    *mean = s / (double)reps;
    *se = sqrt((s2 - s * s / (double)reps) / (double)(reps - 1) / (double)reps);
}

/* Deterministic arrivals at k/100s, k = 1 .. 999: the odd ones go to a,
 * the even ones to b. */
static void round_robin_exact(void)
{
    gs_scenario *sc = harness_load(
        "simulation: {duration: 10s, replications: 1}\n"
        "workload: [{name: w, arrivals: {process: deterministic, rate: 100/s}, entry: lb}]\n"
        "components:\n"
        "  lb: {type: load_balancer, targets: [a, b]}\n"
        "  a: {type: service, service: 1ms}\n"
        "  b: {type: service, service: 1ms}\n");
    gs_metrics m;
    if (sc && run(sc, 0, &m) == GS_OK) {
        CHECK_NEAR(harness_metric(&m, "a", "throughput"), 50.0, 1e-9);
        CHECK_NEAR(harness_metric(&m, "b", "throughput"), 49.9, 1e-9);
        CHECK_NEAR(harness_metric(&m, "lb", "throughput"), 99.9, 1e-9);
        CHECK_NEAR(harness_metric(&m, "lb", "retry_ratio"), 0, 0);
    }
    gs_metrics_release(&m);
}

/* Weights {3, 1}: each request goes to a with probability 3/4
 * independently, so a's share of n requests has standard error
 * sqrt(p(1-p)/n). */
static void weighted_split(void)
{
    gs_scenario *sc = harness_load(
        "simulation: {duration: 20s, replications: 1, seed: 7}\n"
        "workload: [{name: w, arrivals: {process: poisson, rate: 1000/s}, entry: lb}]\n"
        "components:\n"
        "  lb: {type: load_balancer, targets: [a, b], policy: weighted, weights: [3, 1]}\n"
        "  a: {type: service, servers: 100, service: 1us}\n"
        "  b: {type: service, servers: 100, service: 1us}\n");
    gs_metrics m;
    if (sc && run(sc, 0, &m) == GS_OK) {
        double na = harness_metric(&m, "a", "throughput") * 20, nb = harness_metric(&m, "b", "throughput") * 20;
        double n = na + nb, p = 0.75;
        CHECK(n > 19000);
        CHECK_NEAR(na / n, p, 5 * sqrt(p * (1 - p) / n));
    }
    gs_metrics_release(&m);
}

/* One key only: hashing sends every request to the same target. */
static void hash_sticky(void)
{
    gs_scenario *sc = harness_load(
        "simulation: {duration: 10s, replications: 1}\n"
        "workload: [{name: w, arrivals: {process: poisson, rate: 100/s}, keys: {count: 1},\n"
        "            entry: lb}]\n"
        "components:\n"
        "  lb: {type: load_balancer, targets: [a, b, c], policy: hash}\n"
        "  a: {type: service, servers: 10, service: 1us}\n"
        "  b: {type: service, servers: 10, service: 1us}\n"
        "  c: {type: service, servers: 10, service: 1us}\n");
    gs_metrics m;
    if (sc && run(sc, 0, &m) == GS_OK) {
        double t[3] = {harness_metric(&m, "a", "throughput"), harness_metric(&m, "b", "throughput"),
                       harness_metric(&m, "c", "throughput")};
        int busy = (t[0] > 0) + (t[1] > 0) + (t[2] > 0);
        CHECK_EQ(busy, 1);
        CHECK_NEAR(t[0] + t[1] + t[2], harness_metric(&m, "lb", "throughput"), 1e-9);
    }
    gs_metrics_release(&m);
}

/* Random splitting of Poisson(1000/s) in two halves makes each server an
 * M/M/1 with lambda 500/s, mu 1000/s: response mean 2ms. */
static void random_mm1(void)
{
    const char *yaml =
        "simulation: {duration: 40s, warmup: 5s, replications: 10, seed: 3}\n"
        "workload: [{name: w, arrivals: {process: poisson, rate: 1000/s}, entry: lb}]\n"
        "components:\n"
        "  lb: {type: load_balancer, targets: [a, b], policy: random}\n"
        "  a: {type: service, service: {dist: exponential, mean: 1ms}}\n"
        "  b: {type: service, service: {dist: exponential, mean: 1ms}}\n";
    gs_queue_theory q;
    CHECK_EQ(gs_theory_mmc(500, 1000, 1, &q), 0);
    double mean, se;
    over_reps(yaml, 10, "a", "response_mean", &mean, &se);
    CHECK_NEAR(mean, q.response_mean, 5 * se);
    over_reps(yaml, 10, "b", "utilization", &mean, &se);
    CHECK_NEAR(mean, q.utilization, 5 * se);
}

/* Four exponential servers at rho 0.8: random gives four M/M/1 (5ms),
 * round robin four E4/M/1, least connections nearly join-the-shortest-
 * queue; the gaps are many standard errors wide. */
static void policy_ordering(void)
{
    const char *fmt =
        "simulation: {duration: 15s, warmup: 2s, replications: 4, seed: 11}\n"
        "workload: [{name: w, arrivals: {process: poisson, rate: 3200/s}, entry: lb}]\n"
        "components:\n"
        "  lb: {type: load_balancer, targets: [a, b, c, d], policy: %s}\n"
        "  a: {type: service, service: {dist: exponential, mean: 1ms}}\n"
        "  b: {type: service, service: {dist: exponential, mean: 1ms}}\n"
        "  c: {type: service, service: {dist: exponential, mean: 1ms}}\n"
        "  d: {type: service, service: {dist: exponential, mean: 1ms}}\n";
    const char *pol[] = {"least_connections", "power_of_two", "round_robin", "random"};
    double mean[4], se[4];
    char buf[1024];
    for (int i = 0; i < 4; i++) {
        snprintf(buf, sizeof buf, fmt, pol[i]);
        over_reps(buf, 4, "system", "latency_mean", &mean[i], &se[i]);
    }
    /* least_connections < round_robin < random, and power_of_two < random. */
    CHECK(mean[0] + 5 * hypot(se[0], se[2]) < mean[2]);
    CHECK(mean[2] + 5 * hypot(se[2], se[3]) < mean[3]);
    CHECK(mean[1] + 5 * hypot(se[1], se[3]) < mean[3]);
    /* random: each server is an M/M/1 at 800/s. */
    gs_queue_theory q;
    CHECK_EQ(gs_theory_mmc(800, 1000, 1, &q), 0);
    CHECK_NEAR(mean[3], q.response_mean, 5 * se[3] + 1e-4);
}

/* b is down over [10s, 30s). Checks every 1s at a random phase, fall 3:
 * the third failed check is made 2s to 3s after the failure (uniformly),
 * and registered `lag` later (0 when b refuses at once; the probe timeout,
 * 100ms, when connect_timeout 200ms makes the probe time out); the
 * requests sent to b until then, 50 a second, fail, and none after. */
static void health_detection(void)
{
    const char *fmt =
        "simulation: {duration: 40s, replications: 1, seed: 5}\n"
        "network: {connect_timeout: %s}\n"
        "workload: [{name: w, arrivals: {process: deterministic, rate: 100/s}, entry: lb}]\n"
        "components:\n"
        "  lb: {type: load_balancer, targets: [a, b],\n"
        "       health_check: {interval: 1s, timeout: 100ms, fall: 3, rise: 2}}\n"
        "  a: {type: service, service: 1ms}\n"
        "  b: {type: service, service: 1ms, outages: [{at: 10s, for: 20s}]}\n";
    const char *ct[] = {"0s", "200ms"};
    const double lag[] = {0, 0.1};
    for (int v = 0; v < 2; v++) {
        char buf[1024];
        snprintf(buf, sizeof buf, fmt, ct[v]);
        gs_scenario *sc = harness_load(buf);
        const size_t reps = 8;
        double sum = 0;
        for (size_t k = 0; sc && k < reps; k++) {
            gs_metrics m;
            if (run(sc, k, &m) != GS_OK) {
                gs_metrics_release(&m);
                break;
            }
            double errors = harness_metric(&m, "lb", "error_ratio") * 3999;
            double delay = errors / 50 - lag[v];   /* seconds of traffic to b lost */
            /* Never sooner than fall checks, never later: 2 < D <= 3,
             * give or take one request at each end. */
            CHECK(delay > 2 - 0.021 && delay <= 3 + 0.021);
            CHECK_NEAR(harness_metric(&m, "lb", "marked_down"), 1, 0);
            sum += delay;
            gs_metrics_release(&m);
        }
        /* D - 2 is uniform on (0, 1]: standard deviation 1/sqrt(12). */
        CHECK_NEAR(sum / (double)reps, 2.5, 5 / sqrt(12.0 * (double)reps) + 0.02);
    }
}

/* b is down the whole run, no health checks, one retry: every request
 * that first went to b (the even ones, 499 of 999) is retried on a, so
 * every request succeeds. */
static void retry_on_error(void)
{
    gs_scenario *sc = harness_load(
        "simulation: {duration: 10s, replications: 1}\n"
        "workload: [{name: w, arrivals: {process: deterministic, rate: 100/s}, entry: lb}]\n"
        "components:\n"
        "  lb: {type: load_balancer, targets: [a, b], retry_on_error: 1}\n"
        "  a: {type: service, service: 1ms}\n"
        "  b: {type: service, service: 1ms, outages: [{at: 0s, for: 1h}]}\n");
    gs_metrics m;
    if (sc && run(sc, 0, &m) == GS_OK) {
        CHECK_NEAR(harness_metric(&m, "system", "ok_ratio"), 1, 0);
        double rpr = harness_metric(&m, "system", "retries_per_request");
        CHECK_NEAR(rpr, 499.0 / 999, 1e-12);
        CHECK_NEAR(harness_metric(&m, "system", "load_amplification"), 1 + rpr, 1e-12);
        CHECK_NEAR(harness_metric(&m, "lb", "retry_ratio"), 499.0 / 999, 1e-12);
        CHECK_NEAR(harness_metric(&m, "lb", "error_ratio"), 0, 0);
    }
    gs_metrics_release(&m);
    /* Without the retry half of them fail. */
    sc = harness_load(
        "simulation: {duration: 10s, replications: 1}\n"
        "workload: [{name: w, arrivals: {process: deterministic, rate: 100/s}, entry: lb}]\n"
        "components:\n"
        "  lb: {type: load_balancer, targets: [a, b], retry_on_error: false}\n"
        "  a: {type: service, service: 1ms}\n"
        "  b: {type: service, service: 1ms, outages: [{at: 0s, for: 1h}]}\n");
    if (sc && run(sc, 0, &m) == GS_OK)
        CHECK_NEAR(harness_metric(&m, "system", "error_ratio"), 499.0 / 999, 1e-12);
    gs_metrics_release(&m);
}

static void bad_inputs(void)
{
    const char *head =
        "simulation: {duration: 1s}\n"
        "workload: [{name: w, arrivals: {process: poisson, rate: 1/s}, entry: lb}]\n"
        "components:\n"
        "  a: {type: service, service: 1ms}\n";
    struct {
        const char *line, *pos, *phrase;
    } cases[] = {
        {"  lb: {type: load_balancer, targets: [a], policy: round_robbin}\n", "t.yaml:5:51:",
         "did you mean 'round_robin'"},
        {"  lb: {type: load_balancer, targets: [a], policy: weighted, weights: [1, 2]}\n",
         "t.yaml:5:70:", "2 weights for 1 targets"},
        {"  lb: {type: load_balancer, targets: [a], weights: [1]}\n", "t.yaml:5:52:",
         "only policy 'weighted'"},
        {"  lb: {type: load_balancer, targets: [a], policy: weighted}\n", "t.yaml:5:7:",
         "needs 'weights'"},
        {"  lb: {type: load_balancer, targets: [a], policy: weighted, weights: [0]}\n",
         "t.yaml:5:71:", "must be > 0"},
        {"  lb: {type: load_balancer, targets: [a], health_check: {fall: 0}}\n",
         "t.yaml:5:64:", "fall: must be between 1"},
        {"  lb: {type: load_balancer, targets: [a], health_check: {rise: 0}}\n",
         "t.yaml:5:64:", "rise: must be between 1"},
        {"  lb: {type: load_balancer, targets: [a], health_check: {timeout: 3s}}\n",
         "t.yaml:5:67:", "at most the interval"},
        {"  lb: {type: load_balancer, targets: [a], health_check: {intreval: 1s}}\n",
         "t.yaml:5:58:", "did you mean 'interval'"},
        {"  lb: {type: load_balancer, targets: []}\n", "t.yaml:5:38:", "at least one target"},
        {"  lb: {type: load_balancer, targets: a}\n", "t.yaml:5:38:", "expected a list"},
        {"  lb: {type: load_balancer}\n", "t.yaml:5:7:", "missing required key 'targets'"},
        {"  lb: {type: load_balancer, targets: [a, lb]}\n", "t.yaml:5:", "itself"},
        {"  lb: {type: load_balancer, targets: [a, x]}\n", "t.yaml:5:42:",
         "no component named 'x'"},
        {"  lb: {type: load_balancer, targets: [a], retry_on_error: -1}\n", "t.yaml:5:59:",
         "retry_on_error: expected a number"},
        {"  lb: {type: load_balancer, targets: [a], retry_on_error: maybe}\n", "t.yaml:5:59:",
         "retry_on_error: expected a number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s%s", head, cases[i].line);
        harness_bad(buf, cases[i].pos, cases[i].phrase);
    }
}

int main(void)
{
    round_robin_exact();
    weighted_split();
    hash_sticky();
    random_mm1();
    policy_ordering();
    health_detection();
    retry_on_error();
    bad_inputs();
    harness_done();
    return CHECK_DONE();
}
