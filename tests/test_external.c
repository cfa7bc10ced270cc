/* External provider: latency and error latency, error rate, rate limit,
 * cost per request and per 1k tokens into cost_per_1k_requests, and
 * outages failing calls in flight. */
#include "tests/harness.h"

/* Deterministic latencies and tokens make latency and cost exact. */
static void latency_and_cost(void)
{
    const char *yaml =
        "simulation: {duration: 10s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: deterministic, rate: 10/s}, entry: cloud,\n"
        "            prompt_tokens: 300, output_tokens: 200}]\n"
        "components:\n"
        "  cloud: {type: external, latency: 800ms,\n"
        "          cost: {per_request: 0.001, per_1k_tokens: 0.002}}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "system", "latency_mean"), 0.8, 1e-9);
    /* 0.001 + 0.002 * 500 / 1000 = 0.002 per request: 2 per 1000. */
    CHECK_NEAR(harness_metric(&m, "system", "cost_per_1k_requests"), 2.0, 1e-9);
    CHECK_NEAR(harness_metric(&m, "cloud", "cost_per_s"), 0.002 * 99 / 10, 1e-9);
    gs_metrics_release(&m);
}

/* Errors with probability 0.2 come after error_latency; the error share is
 * binomial: within five standard errors. */
static void errors(void)
{
    const char *yaml =
        "simulation: {duration: 100s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: poisson, rate: 200/s}, entry: cloud}]\n"
        "components:\n"
        "  cloud: {type: external, latency: 500ms, error_latency: 50ms, error_rate: 0.2}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    double n = harness_metric(&m, "system", "offered_rate") * 100;
    double e = harness_metric(&m, "system", "error_ratio");
    CHECK_NEAR(e, 0.2, 5 * sqrt(0.2 * 0.8 / n));
    /* The provider counts calls answered in the window, the system the
     * requests sent in it: the same share up to the edges. */
    CHECK_NEAR(harness_metric(&m, "cloud", "error_ratio"), e, 5 * sqrt(0.2 * 0.8 / n));
    /* Answered requests all took the full latency. */
    CHECK_NEAR(harness_metric(&m, "system", "latency_mean"), 0.5, 1e-9);
    gs_metrics_release(&m);
}

/* 100/s into a 50/s limit of burst 1: every other call is rejected. */
static void rate_limit(void)
{
    const char *yaml =
        "simulation: {duration: 10s, warmup: 1s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: deterministic, rate: 100/s}, entry: cloud}]\n"
        "components:\n"
        "  cloud: {type: external, latency: 10ms, rate_limit: {rate: 50/s}}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "cloud", "rejected_ratio"), 0.5, 1e-2);
    CHECK_NEAR(harness_metric(&m, "system", "rejected_ratio"), 0.5, 1e-2);
    gs_metrics_release(&m);
}

/* An outage over [2s, 4s): calls in flight at 2s fail then, calls made
 * during it fail at once; 10 calls/s of 500ms each. */
static void outage(void)
{
    const char *yaml =
        "simulation: {duration: 10s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: deterministic, rate: 10/s}, entry: cloud}]\n"
        "components:\n"
        "  cloud: {type: external, latency: 500ms, outages: [{at: 2s, for: 2s}]}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    /* Calls at 1.5 .. 1.9 are in flight at 2s (5: the one due at exactly 2s
     * loses to the outage, scheduled earlier), calls at 2.0 .. 3.9 are
     * refused (20): 25 of 99. */
    CHECK_NEAR(harness_metric(&m, "system", "error_ratio"), 25.0 / 99, 1e-9);
    CHECK_NEAR(harness_metric(&m, "cloud", "down_ratio"), 0.2, 1e-9);
    gs_metrics_release(&m);
}

static void bad(const char *comp, const char *pos, const char *phrase)
{
    char yaml[512];
    snprintf(yaml, sizeof yaml,
             "simulation: {duration: 1s}\n"
             "workload: [{name: a, arrivals: {process: poisson, rate: 1/s}, entry: cloud}]\n"
             "components:\n  cloud: %s\n", comp);
    harness_bad(yaml, pos, phrase);
}

int main(void)
{
    latency_and_cost();
    errors();
    rate_limit();
    outage();
    bad("{type: external}", "t.yaml:4:10:", "missing required key 'latency'");
    bad("{type: external, latency: 1s, error_rate: 1.5}", "t.yaml:4:52:", "probability");
    bad("{type: external, latency: 1s, cost: {per_reqest: 1}}", "t.yaml:4:47:",
        "did you mean 'per_request'");
    bad("{type: external, latency: 1s, cost: {per_1k_tokens: -1}}", "t.yaml:4:62:", ">= 0");
    bad("{type: external, latency: 1s, capacity: 3}", "t.yaml:4:40:", "unknown key");
    harness_done();
    return CHECK_DONE();
}
