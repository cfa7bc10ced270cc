/* The fallback's hedged requests (hedge {after, max}): closed forms for
 * exponential targets (the mean of a minimum, the share of attempts that
 * outlive `after`), exact attempt accounting (load_amplification = 1 +
 * retries + failovers + hedges), failures that wait for the hedges still in
 * flight, hedges cut by the per-attempt timeout, and bad inputs. Tolerances
 * are five standard errors from the known variances. */
#include "tests/harness.h"

/* Requests counted in a window of w seconds. */
static double counted(const gs_metrics *m, double w)
{
    return harness_metric(m, "system", "offered_rate") * w;
}

/* after = 0: both targets asked at once, the first answer wins. For
 * independent exponentials of means m1 and m2 the latency is exponential
 * with mean 1 / (1/m1 + 1/m2) (so its sd equals its mean), and the
 * alternate wins with probability m1 / (m1 + m2). */
static void min_of_two(void)
{
    const char *yaml =
        "simulation: {duration: 55s, warmup: 5s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: poisson, rate: 200/s}, entry: fb}]\n"
        "components:\n"
        "  fb: {type: fallback, primary: p, alternates: [alt], hedge: {after: 0s, max: 1}}\n"
        "  p: {type: external, latency: {dist: exponential, mean: 10ms}}\n"
        "  alt: {type: external, latency: {dist: exponential, mean: 20ms}}\n";
    const double m1 = 0.010, m2 = 0.020, mean = 1 / (1 / m1 + 1 / m2), w = m1 / (m1 + m2);
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    double n = counted(&m, 50);
    CHECK(n > 5000);
    CHECK_NEAR(harness_metric(&m, "system", "latency_mean"), mean, 5 * mean / sqrt(n));
    CHECK_NEAR(harness_metric(&m, "system", "load_amplification"), 2, 1e-12);
    CHECK_NEAR(harness_metric(&m, "fb", "hedges_per_request"), 1, 1e-12);
    CHECK_NEAR(harness_metric(&m, "fb", "retries_per_request"), 0, 1e-12);
    CHECK_NEAR(harness_metric(&m, "system", "availability"), 1, 1e-12);
    CHECK_NEAR(harness_metric(&m, "system", "fallback_ratio"), w, 5 * sqrt(w * (1 - w) / n));
    gs_metrics_release(&m);
}

/* An `after` no attempt reaches: the plain primary. */
static void never_triggers(void)
{
    const char *yaml =
        "simulation: {duration: 55s, warmup: 5s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: poisson, rate: 200/s}, entry: fb}]\n"
        "components:\n"
        "  fb: {type: fallback, primary: p, alternates: [alt], hedge: {after: 100s, max: 3}}\n"
        "  p: {type: external, latency: {dist: exponential, mean: 10ms}}\n"
        "  alt: {type: external, latency: 1ms}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    double n = counted(&m, 50);
    CHECK_NEAR(harness_metric(&m, "system", "latency_mean"), 0.010, 5 * 0.010 / sqrt(n));
    CHECK_NEAR(harness_metric(&m, "fb", "hedges_per_request"), 0, 1e-12);
    CHECK_NEAR(harness_metric(&m, "system", "load_amplification"), 1, 1e-12);
    CHECK_NEAR(harness_metric(&m, "system", "ok_ratio"), 1, 1e-12);
    gs_metrics_release(&m);
}

/* after = a > 0 with no alternates: the duplicate goes to the primary
 * again. A hedge is sent when X > a: e^(-a/m) per request. The latency is
 * min(X, a + Y), Y an independent copy, of mean
 * m (1 - e^(-a/m)) + e^(-a/m) m/2 (memorylessness), below a + m/2 + m
 * so its sd is below 2 m. */
static void share_hedged(void)
{
    const char *yaml =
        "simulation: {duration: 55s, warmup: 5s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: poisson, rate: 200/s}, entry: fb}]\n"
        "components:\n"
        "  fb: {type: fallback, primary: p, hedge: {after: 15ms}}\n"
        "  p: {type: external, latency: {dist: exponential, mean: 10ms}}\n";
    const double mean = 0.010, a = 0.015, e = exp(-a / mean);
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    double n = counted(&m, 50);
    CHECK_NEAR(harness_metric(&m, "fb", "hedges_per_request"), e, 5 * sqrt(e * (1 - e) / n));
    CHECK_NEAR(harness_metric(&m, "system", "latency_mean"), mean * (1 - e) + e * mean / 2,
               5 * 2 * mean / sqrt(n));
    /* Hedges are the only extra attempts here. */
    CHECK_NEAR(harness_metric(&m, "system", "load_amplification"),
               1 + harness_metric(&m, "fb", "hedges_per_request"), 1e-12);
    CHECK_NEAR(harness_metric(&m, "system", "ok_ratio"), 1, 1e-12);
    gs_metrics_release(&m);
}

/* A primary that always fails after 10 ms, hedged twice at once and
 * retried once: a retry starts only when all three attempts have failed,
 * so each request makes 2 x 3 attempts and fails after 20 ms. */
static void failures_wait_for_hedges(void)
{
    const char *yaml =
        "simulation: {duration: 20s, warmup: 2s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: poisson, rate: 100/s}, entry: fb}]\n"
        "components:\n"
        "  fb: {type: fallback, primary: p, hedge: {after: 0s, max: 2},\n"
        "       retry: {max: 1, backoff: {base: 0s}}}\n"
        "  p: {type: external, latency: 10ms, error_rate: 1}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "system", "error_ratio"), 1, 1e-12);
    CHECK_NEAR(harness_metric(&m, "fb", "hedges_per_request"), 4, 1e-12);
    CHECK_NEAR(harness_metric(&m, "fb", "retries_per_request"), 1, 1e-12);
    CHECK_NEAR(harness_metric(&m, "system", "load_amplification"), 6, 1e-12);
    gs_metrics_release(&m);
}

/* One failed answer does not fail the request while a hedge is in flight:
 * the primary fails after 10 ms, the hedge sent at 5 ms to the alternate
 * answers at 25 ms, a fallback answer. */
static void hedge_rescues(void)
{
    const char *yaml =
        "simulation: {duration: 20s, warmup: 2s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: poisson, rate: 100/s}, entry: fb}]\n"
        "components:\n"
        "  fb: {type: fallback, primary: p, alternates: [alt], hedge: {after: 5ms}}\n"
        "  p: {type: external, latency: 10ms, error_rate: 1}\n"
        "  alt: {type: external, latency: 20ms}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "system", "fallback_ratio"), 1, 1e-12);
    CHECK_NEAR(harness_metric(&m, "system", "latency_mean"), 0.025, 1e-9);
    CHECK_NEAR(harness_metric(&m, "fb", "hedges_per_request"), 1, 1e-12);
    /* The alternate was asked by the hedge only, not again as a failover. */
    CHECK_NEAR(harness_metric(&m, "fb", "failovers_per_request"), 0, 1e-12);
    CHECK_NEAR(harness_metric(&m, "system", "load_amplification"), 2, 1e-12);
    gs_metrics_release(&m);
}

/* Every attempt, hedges included, is bounded by timeout: a 100 ms primary
 * with a 30 ms timeout and a hedge at 10 ms times out both, at 30 and
 * 40 ms; the request fails at 40 ms with outcome timeout. */
static void hedges_time_out(void)
{
    const char *yaml =
        "simulation: {duration: 20s, warmup: 2s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: poisson, rate: 100/s}, entry: fb}]\n"
        "components:\n"
        "  fb: {type: fallback, primary: p, timeout: 30ms, hedge: {after: 10ms}}\n"
        "  p: {type: external, latency: 100ms}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "system", "timeout_ratio"), 1, 1e-12);
    CHECK_NEAR(harness_metric(&m, "fb", "timeout_ratio"), 1, 1e-12);
    CHECK_NEAR(harness_metric(&m, "fb", "attempt_timeout_ratio"), 1, 1e-12);
    CHECK_NEAR(harness_metric(&m, "fb", "hedges_per_request"), 1, 1e-12);
    gs_metrics_release(&m);
}

/* Everything at once on queueing servers (losers keep their servers), with
 * a breaker, a bulkhead, retries and two alternates: the same seed gives
 * the same numbers, every request gets one outcome, and the attempts add
 * up: load_amplification = 1 + retries + failovers + hedges. */
static void mixed_deterministic(void)
{
    const char *yaml =
        "simulation: {duration: 10s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: poisson, rate: 300/s}, entry: fb}]\n"
        "components:\n"
        "  fb: {type: fallback, primary: p, timeout: 15ms, hedge: {after: 4ms, max: 3},\n"
        "       retry: {max: 2, backoff: {base: 1ms}, jitter: full},\n"
        "       circuit_breaker: {window: 20, min_calls: 10, open_for: 100ms},\n"
        "       bulkhead: {max_concurrent: 3, max_wait: 2ms},\n"
        "       alternates: [alt, alt2], degraded: {}}\n"
        "  p: {type: service, servers: 2, service: {dist: exponential, mean: 6ms}}\n"
        "  alt: {type: service, servers: 1, service: {dist: exponential, mean: 5ms}}\n"
        "  alt2: {type: external, latency: 5ms, error_rate: 0.3}\n";
    gs_metrics a, b;
    CHECK_EQ(harness_run(yaml, 7, &a), GS_OK);
    CHECK_EQ(harness_run(yaml, 7, &b), GS_OK);
    CHECK_EQ(a.n, b.n);
    for (size_t i = 0; i < a.n && i < b.n; i++)
        CHECK(memcmp(&a.v[i].value, &b.v[i].value, sizeof(double)) == 0);
    CHECK(harness_metric(&a, "fb", "hedges_per_request") > 0.1);
    CHECK_NEAR(harness_metric(&a, "system", "availability") +
                   harness_metric(&a, "system", "degraded_ratio"), 1, 1e-12);
    CHECK_NEAR(harness_metric(&a, "system", "load_amplification"),
               1 + harness_metric(&a, "fb", "retries_per_request") +
                   harness_metric(&a, "fb", "failovers_per_request") +
                   harness_metric(&a, "fb", "hedges_per_request"), 1e-9);
    gs_metrics_release(&a);
    gs_metrics_release(&b);
}

/* A client that gives up (deadline 12 ms) while its attempts are still in
 * flight: with exponential 30 ms attempts hedged at 5 ms and 10 ms, the
 * request is answered within 12 ms when min(X0, 5ms + X1, 10ms + X2) is,
 * with probability 1 - e^(-12/30) e^(-7/30) e^(-2/30); the others time
 * out, and no answer is sent for them after the client gave up. */
static void client_gives_up(void)
{
    const char *yaml =
        "simulation: {duration: 55s, warmup: 5s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: poisson, rate: 200/s}, entry: fb,\n"
        "            deadline: 12ms}]\n"
        "components:\n"
        "  fb: {type: fallback, primary: p, hedge: {after: 5ms, max: 2},\n"
        "       dead_letter: {replay_after: 1s}}\n"
        "  p: {type: external, latency: {dist: exponential, mean: 30ms}}\n";
    const double ok = 1 - exp(-(12.0 + 7.0 + 2.0) / 30);
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    double n = counted(&m, 50);
    CHECK_NEAR(harness_metric(&m, "system", "ok_ratio"), ok, 5 * sqrt(ok * (1 - ok) / n));
    CHECK_NEAR(harness_metric(&m, "system", "ok_ratio") +
                   harness_metric(&m, "system", "timeout_ratio"), 1, 1e-12);
    gs_metrics_release(&m);
}

static void bad_inputs(void)
{
    const char *head =
        "simulation: {duration: 1s}\n"
        "workload: [{name: a, arrivals: {process: poisson, rate: 1/s}, entry: fb}]\n"
        "components:\n"
        "  p: {type: service, service: 1ms}\n";
    static const struct { const char *fb, *pos, *phrase; } cases[] = {
        {"  fb: {type: fallback, primary: p, hedge: {after: -1ms}}\n", "t.yaml:5:51:",
         "after: must be >= 0"},
        {"  fb: {type: fallback, primary: p, hedge: {max: 2}}\n", "t.yaml:5:43:",
         "missing required key 'after'"},
        {"  fb: {type: fallback, primary: p, hedge: {after: 1ms, max: 17}}\n", "t.yaml:5:61:",
         "max: must be between 1 and 16"},
        {"  fb: {type: fallback, primary: p, hedge: {after: 1ms, max: 0}}\n", "t.yaml:5:61:",
         "max: must be between 1 and 16"},
        {"  fb: {type: fallback, primary: p, hedge: {aftr: 1ms}}\n", "t.yaml:5:44:",
         "did you mean 'after'"},
        {"  fb: {type: fallback, primary: p, hedge: 5ms}\n", "t.yaml:5:43:",
         "expected a mapping"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[1024];
        snprintf(yaml, sizeof yaml, "%s%s", head, cases[i].fb);
        harness_bad(yaml, cases[i].pos, cases[i].phrase);
    }
}

int main(void)
{
    min_of_two();
    never_triggers();
    share_hedged();
    failures_wait_for_hedges();
    hedge_rescues();
    hedges_time_out();
    mixed_deterministic();
    client_gives_up();
    bad_inputs();
    harness_done();
    return CHECK_DONE();
}
