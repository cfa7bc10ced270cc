/* The fallback middleware and its parts: the circuit breaker's state
 * machine, backoff and jitter sequences, the retry budget, and whole
 * scenarios whose outcome shares are known in closed form (binomial
 * tolerances of five standard errors), plus the rejected, degraded,
 * bulkhead and dead-letter paths and bad inputs. */
#include <gsl/gsl_rng.h>

#include "models/breaker.h"
#include "models/retry.h"
#include "sim/rng.h"
#include "tests/harness.h"

#define MS 1000000LL
#define S 1000000000LL

static const gs_breaker_conf bconf = {.window = 10, .min_calls = 4, .failure_ratio = 0.5,
                                      .slow_call = 100 * MS, .open_for = 1 * S,
                                      .half_open_calls = 2};

static void breaker_states(void)
{
    gs_breaker b;
    CHECK_EQ(gs_breaker_init(&b, &bconf, 0, 10 * S), GS_OK);
    /* Three failures are fewer than min_calls: still closed. */
    for (int i = 0; i < 3; i++)
        gs_breaker_record(&b, i, gs_breaker_acquire(&b, i), 1, 0);
    CHECK_EQ(b.state, GS_BREAKER_CLOSED);
    /* The fourth call is judged: 3 of 4 failed >= 0.5. */
    gs_breaker_record(&b, 3, gs_breaker_acquire(&b, 3), 0, 0);
    CHECK_EQ(b.state, GS_BREAKER_OPEN);
    CHECK_EQ(b.opens, 1);
    /* Open: refused until open_for has passed. */
    CHECK(gs_breaker_acquire(&b, 3 + S - 1) < 0);
    /* Half-open: exactly half_open_calls trial permits. */
    int64_t p1 = gs_breaker_acquire(&b, 3 + S);
    int64_t p2 = gs_breaker_acquire(&b, 3 + S);
    CHECK(p1 >= 0 && p2 >= 0);
    CHECK_EQ(b.state, GS_BREAKER_HALF_OPEN);
    CHECK(gs_breaker_acquire(&b, 3 + S) < 0);
    /* A trial given back frees its permit. */
    gs_breaker_cancel(&b, p2);
    p2 = gs_breaker_acquire(&b, 3 + S);
    CHECK(p2 >= 0);
    /* One slow trial of two: 1/2 >= 0.5, so it opens again. */
    gs_breaker_record(&b, 4 + S, p1, 0, 0);
    CHECK_EQ(b.state, GS_BREAKER_HALF_OPEN);
    gs_breaker_record(&b, 4 + S, p2, 0, 200 * MS);
    CHECK_EQ(b.state, GS_BREAKER_OPEN);
    CHECK_EQ(b.opens, 2);
    /* Two good trials close it with an empty window. */
    gs_time t = 4 + 2 * S;
    p1 = gs_breaker_acquire(&b, t);
    p2 = gs_breaker_acquire(&b, t);
    gs_breaker_record(&b, t, p1, 0, 0);
    gs_breaker_record(&b, t, p2, 0, 0);
    CHECK_EQ(b.state, GS_BREAKER_CLOSED);
    CHECK_EQ(b.n, 0);
    /* Open for 1 s twice within [0, 10 s). */
    CHECK_NEAR(gs_breaker_open_ratio(&b), 0.2, 1e-12);
    gs_breaker_release(&b);
}

/* Results of calls let through before a transition do not count after it,
 * and the window forgets old results. */
static void breaker_generations(void)
{
    gs_breaker b;
    CHECK_EQ(gs_breaker_init(&b, &bconf, 0, 10 * S), GS_OK);
    int64_t early = gs_breaker_acquire(&b, 0);
    for (int i = 0; i < 4; i++)
        gs_breaker_record(&b, 1, gs_breaker_acquire(&b, 1), 1, 0);
    CHECK_EQ(b.state, GS_BREAKER_OPEN);
    int64_t t1 = gs_breaker_acquire(&b, 2 * S);
    gs_breaker_record(&b, 2 * S, early, 1, 0);   /* from the closed state: ignored */
    CHECK_EQ(b.trials_done, 0);
    gs_breaker_record(&b, 2 * S, t1, 0, 0);
    gs_breaker_record(&b, 2 * S, gs_breaker_acquire(&b, 2 * S), 0, 0);
    CHECK_EQ(b.state, GS_BREAKER_CLOSED);
    /* 10 good calls, then 4 failures among the last 10: 0.4 < 0.5. */
    for (int i = 0; i < 10; i++)
        gs_breaker_record(&b, 3 * S, gs_breaker_acquire(&b, 3 * S), 0, 0);
    for (int i = 0; i < 4; i++)
        gs_breaker_record(&b, 3 * S, gs_breaker_acquire(&b, 3 * S), 1, 0);
    CHECK_EQ(b.state, GS_BREAKER_CLOSED);
    CHECK_EQ(b.fails, 4);
    gs_breaker_record(&b, 3 * S, gs_breaker_acquire(&b, 3 * S), 1, 0);
    CHECK_EQ(b.state, GS_BREAKER_OPEN);
    /* The open period runs past the window's end: clipped at 10 s. */
    gs_breaker_release(&b);
    gs_breaker c;
    CHECK_EQ(gs_breaker_init(&c, &bconf, 0, 10 * S), GS_OK);
    for (int i = 0; i < 4; i++)
        gs_breaker_record(&c, 9800 * MS, gs_breaker_acquire(&c, 9800 * MS), 1, 0);
    CHECK_NEAR(gs_breaker_open_ratio(&c), 0.02, 1e-12);
    gs_breaker_release(&c);
}

static void backoff_sequences(void)
{
    gsl_rng *r = gs_rng_new(1, 0, "backoff");
    gs_backoff b = {100 * MS, 2, 1 * S, GS_JITTER_NONE};
    static const gs_time want[] = {100 * MS, 200 * MS, 400 * MS, 800 * MS, 1 * S, 1 * S};
    for (uint32_t k = 1; k <= 6; k++)
        CHECK_EQ(gs_backoff_delay(&b, k, r), want[k - 1]);
    /* A factor that overflows is still capped. */
    gs_backoff big = {1 * S, 1e6, GS_TIME_MAX, GS_JITTER_NONE};
    CHECK(gs_backoff_delay(&big, 500, r) > 0);
    /* Full jitter: uniform on [0, d]; equal jitter: uniform on [d/2, d].
     * Means within five standard errors (sd of U(0, d) is d/sqrt(12)). */
    const int n = 20000;
    for (int j = GS_JITTER_FULL; j <= GS_JITTER_EQUAL; j++) {
        b.jitter = (gs_jitter)j;
        double sum = 0, lo = 1e30, hi = 0, d = 0.4;
        for (int i = 0; i < n; i++) {
            double x = gs_time_to_s(gs_backoff_delay(&b, 3, r));
            sum += x;
            lo = x < lo ? x : lo;
            hi = x > hi ? x : hi;
        }
        double width = j == GS_JITTER_FULL ? d : d / 2;
        double mean = j == GS_JITTER_FULL ? d / 2 : 0.75 * d;
        CHECK_NEAR(sum / n, mean, 5 * width / sqrt(12.0 * n));
        CHECK(lo >= d - width - 1e-9 && hi <= d + 1e-9);
    }
    gsl_rng_free(r);
}

static void budget_window(void)
{
    gs_retry_budget b;
    CHECK_EQ(gs_retry_budget_init(&b, 0.2, 10 * S, 100), GS_OK);
    /* 100 calls in the first second allow 20 retries, not 21. */
    for (int i = 0; i < 100; i++)
        gs_retry_budget_call(&b, i * 10 * MS);
    int got = 0;
    for (int i = 0; i < 30; i++)
        got += gs_retry_budget_take(&b, 1 * S);
    CHECK_EQ(got, 20);
    /* Ten seconds later those calls have left the window. */
    CHECK_EQ(gs_retry_budget_take(&b, 12 * S), 0);
    gs_retry_budget_call(&b, 12 * S);
    for (int i = 0; i < 4; i++)
        gs_retry_budget_call(&b, 12 * S);
    CHECK_EQ(gs_retry_budget_take(&b, 12 * S), 1);
    CHECK_EQ(gs_retry_budget_take(&b, 12 * S), 0);
    gs_retry_budget_release(&b);
}

/* k retries on a primary failing with probability p, then an alternate
 * failing with probability q: availability 1 - p^(k+1) q, fallback share
 * p^(k+1) (1 - q), retries + failovers per request sum_{j=1..k} p^j +
 * p^(k+1). */
static void retries_closed_form(void)
{
    const char *yaml =
        "simulation: {duration: 100s, warmup: 5s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: poisson, rate: 200/s}, entry: fb}]\n"
        "components:\n"
        "  fb: {type: fallback, primary: p, retry: {max: 2, backoff: {base: 1ms}},\n"
        "       alternates: [alt]}\n"
        "  p: {type: external, latency: 10ms, error_rate: 0.4}\n"
        "  alt: {type: external, latency: 20ms, error_rate: 0.25}\n";
    double p = 0.4, q = 0.25, p3 = p * p * p;
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    double n = harness_metric(&m, "system", "offered_rate") * 95;
    double a = 1 - p3 * q, f = p3 * (1 - q);
    CHECK_NEAR(harness_metric(&m, "system", "availability"), a, 5 * sqrt(a * (1 - a) / n));
    CHECK_NEAR(harness_metric(&m, "system", "fallback_ratio"), f, 5 * sqrt(f * (1 - f) / n));
    CHECK_NEAR(harness_metric(&m, "fb", "fallback_ratio"),
               harness_metric(&m, "system", "fallback_ratio"), 1e-12);
    /* Retries per request: a sum of three dependent indicators, variance
     * below 9/4 per request. */
    CHECK_NEAR(harness_metric(&m, "system", "retries_per_request"), p + p * p + p3,
               5 * 1.5 / sqrt(n));
    CHECK_NEAR(harness_metric(&m, "fb", "retries_per_request"), p + p * p, 5 * 1.5 / sqrt(n));
    CHECK_NEAR(harness_metric(&m, "system", "load_amplification"), 1 + p + p * p + p3,
               5 * 1.5 / sqrt(n));
    gs_metrics_release(&m);
}

/* A per-attempt timeout T cuts an exponential primary of mean m: fallback
 * share e^(-T/m), mean latency m (1 - e^(-T/m)) + e^(-T/m) * alternate. */
static void timeout_closed_form(void)
{
    const char *yaml =
        "simulation: {duration: 50s, warmup: 5s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: poisson, rate: 200/s}, entry: fb}]\n"
        "components:\n"
        "  fb: {type: fallback, primary: p, timeout: 15ms, alternates: [alt]}\n"
        "  p: {type: external, latency: {dist: exponential, mean: 10ms}}\n"
        "  alt: {type: external, latency: 4ms}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    double n = harness_metric(&m, "system", "offered_rate") * 45;
    double e = exp(-1.5), mean = 0.010 * (1 - e) + e * 0.004;
    CHECK_NEAR(harness_metric(&m, "system", "fallback_ratio"), e, 5 * sqrt(e * (1 - e) / n));
    CHECK_NEAR(harness_metric(&m, "system", "availability"), 1, 1e-12);
    /* The latency is at most 19 ms, so its sd is below 10 ms. */
    CHECK_NEAR(harness_metric(&m, "system", "latency_mean"), mean, 5 * 0.010 / sqrt(n));
    CHECK_NEAR(harness_metric(&m, "fb", "attempt_timeout_ratio"), e / (1 + e),
               5 * sqrt(0.25 / n));
    gs_metrics_release(&m);
}

/* Nothing to fall back on: an open breaker rejects; with a degraded
 * answer the same requests are degraded after its latency. */
static void rejected_and_degraded(void)
{
    const char *base =
        "simulation: {duration: 20s, warmup: 2s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: deterministic, rate: 100/s}, entry: fb}]\n"
        "components:\n"
        "  p: {type: external, latency: 1ms, error_rate: 1}\n"
        "  fb: {type: fallback, primary: p,\n"
        "       circuit_breaker: {window: 10, min_calls: 10, open_for: 100s}%s}\n";
    char yaml[1024];
    snprintf(yaml, sizeof yaml, base, "");
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    /* The breaker opened after the 10th call, long before the window. */
    CHECK_NEAR(harness_metric(&m, "system", "rejected_ratio"), 1, 1e-12);
    CHECK_NEAR(harness_metric(&m, "fb", "open_ratio"), 1, 1e-12);
    CHECK_NEAR(harness_metric(&m, "fb", "breaker_refused_ratio"), 1, 1e-12);
    gs_metrics_release(&m);
    snprintf(yaml, sizeof yaml, base, ",\n       degraded: {latency: 3ms}");
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "system", "degraded_ratio"), 1, 1e-12);
    CHECK_NEAR(harness_metric(&m, "system", "availability"), 0, 1e-12);
    CHECK_NEAR(harness_metric(&m, "system", "throughput"), 100, 0.5);
    CHECK_NEAR(harness_metric(&m, "system", "latency_mean"), 0.003, 1e-9);
    gs_metrics_release(&m);
}

/* A bulkhead of one permit over a primary that takes 30 ms, fed every
 * 10 ms: one call in three gets through, the others go to the stale cache,
 * at once with no max_wait, after waiting in vain with one. */
static void bulkhead(void)
{
    const char *base =
        "simulation: {duration: 30s, warmup: 3s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: deterministic, rate: 100/s}, entry: fb}]\n"
        "components:\n"
        "  p: {type: external, latency: 30ms}\n"
        "  fb: {type: fallback, primary: p, bulkhead: {max_concurrent: 1, max_wait: %s},\n"
        "       cache: {hit_ratio: 1}}\n";
    char yaml[1024];
    snprintf(yaml, sizeof yaml, base, "0s");
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "system", "fallback_ratio"), 2.0 / 3, 0.01);
    CHECK_NEAR(harness_metric(&m, "fb", "bulkhead_refused_ratio"), 2.0 / 3, 0.01);
    CHECK_NEAR(harness_metric(&m, "system", "ok_ratio"), 1.0 / 3, 0.01);
    gs_metrics_release(&m);
    /* Waiting 25 ms: the call 10 ms behind gets the permit after 20 ms;
     * the one 20 ms behind waits 25 ms in vain. */
    snprintf(yaml, sizeof yaml, base, "25ms");
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    double ok = harness_metric(&m, "system", "ok_ratio");
    CHECK_NEAR(ok, 1.0 / 3, 0.01);
    CHECK_NEAR(ok + harness_metric(&m, "system", "fallback_ratio"), 1, 1e-12);
    /* Served calls waited 20 ms for 30 ms of work, the others 25 ms. */
    CHECK_NEAR(harness_metric(&m, "system", "latency_mean"), (0.050 + 2 * 0.025) / 3, 0.001);
    gs_metrics_release(&m);
}

/* A primary that is down for the first 40 s of 60: the failures go to the
 * dead-letter queue and their replays 30 s later all succeed; the run
 * waits for the last replays, which come after the window. */
static void dead_letters(void)
{
    const char *yaml =
        "simulation: {duration: 60s, warmup: 10s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: deterministic, rate: 10/s}, entry: fb}]\n"
        "components:\n"
        "  p: {type: service, service: 1ms, outages: [{at: 0s, for: 40s}]}\n"
        "  fb: {type: fallback, primary: p, dead_letter: {replay_after: 30s}}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "system", "error_ratio"), 30.0 / 50, 0.01);
    CHECK_NEAR(harness_metric(&m, "fb", "dead_letter_ratio"), 30.0 / 50, 0.01);
    CHECK_NEAR(harness_metric(&m, "fb", "replay_ok_ratio"), 1, 1e-12);
    gs_metrics_release(&m);
}

/* A primary that always fails, retried up to 3 times within a budget of
 * 0.2: retries stay at a fifth of the requests instead of 3 per request. */
static void budget_caps_retries(void)
{
    const char *yaml =
        "simulation: {duration: 60s, warmup: 10s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: poisson, rate: 100/s}, entry: fb}]\n"
        "components:\n"
        "  p: {type: external, latency: 1ms, error_rate: 1}\n"
        "  fb: {type: fallback, primary: p, retry: {max: 3, backoff: {base: 0s}, budget: 0.2}}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    double r = harness_metric(&m, "fb", "retries_per_request");
    CHECK(r <= 0.2 + 0.01);
    CHECK(r >= 0.2 - 0.02);
    gs_metrics_release(&m);
}

/* A stale answer from a cache component: keys it holds answer as
 * fallbacks, others fail; its hit ratio is not touched by the lookups. */
static void stale_cache_component(void)
{
    const char *yaml =
        "simulation: {duration: 40s, warmup: 20s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: poisson, rate: 200/s}, entry: fb,\n"
        "            keys: {count: 10, zipf: 0}}]\n"
        "components:\n"
        "  fb: {type: fallback, primary: front, cache: front}\n"
        "  front: {type: cache, capacity: 100, ttl: 1s, next: llm}\n"
        "  llm: {type: service, service: 1ms, outages: [{at: 25s, for: 10s}]}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    /* During the outage the expired entries still answer. */
    CHECK(harness_metric(&m, "system", "fallback_ratio") > 0.05);
    CHECK_NEAR(harness_metric(&m, "front", "stale_hit_ratio"), 1, 1e-12);
    CHECK_NEAR(harness_metric(&m, "system", "availability"), 1, 1e-12);
    gs_metrics_release(&m);
}

/* Same seed, same numbers; the replications differ. */
static void deterministic(void)
{
    const char *yaml =
        "simulation: {duration: 10s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: poisson, rate: 300/s}, entry: fb}]\n"
        "components:\n"
        "  fb: {type: fallback, primary: p, timeout: 12ms,\n"
        "       retry: {max: 2, backoff: {base: 2ms}, jitter: full},\n"
        "       circuit_breaker: {window: 20, min_calls: 10, open_for: 100ms},\n"
        "       alternates: [alt], degraded: {}}\n"
        "  p: {type: service, servers: 2, service: {dist: exponential, mean: 6ms}}\n"
        "  alt: {type: external, latency: 5ms, error_rate: 0.1}\n";
    gs_metrics a, b;
    CHECK_EQ(harness_run(yaml, 3, &a), GS_OK);
    CHECK_EQ(harness_run(yaml, 3, &b), GS_OK);
    CHECK_EQ(a.n, b.n);
    for (size_t i = 0; i < a.n && i < b.n; i++)
        CHECK(memcmp(&a.v[i].value, &b.v[i].value, sizeof(double)) == 0);
    CHECK(harness_metric(&a, "fb", "open_ratio") > 0);
    CHECK_NEAR(harness_metric(&a, "system", "availability") +
                   harness_metric(&a, "system", "degraded_ratio"), 1, 1e-12);
    gs_metrics_release(&a);
    gs_metrics_release(&b);
}

static void bad_inputs(void)
{
    const char *head =
        "simulation: {duration: 1s}\n"
        "workload: [{name: a, arrivals: {process: poisson, rate: 1/s}, entry: fb}]\n"
        "components:\n"
        "  p: {type: service, service: 1ms}\n";
    static const struct { const char *fb, *pos, *phrase; } cases[] = {
        {"  fb: {type: fallback, primary: fb}\n", "t.yaml:5:33:", "sends requests to itself"},
        {"  fb: {type: fallback}\n", "t.yaml:5:7:", "missing required key 'primary'"},
        {"  fb: {type: fallback, primary: p, circuit_breaker: {failure_ratio: 1.5}}\n",
         "t.yaml:5:69:", "a ratio must be > 0 and <= 1"},
        {"  fb: {type: fallback, primary: p, circuit_breaker: {failure_ratio: 0}}\n",
         "t.yaml:5:69:", "a ratio must be > 0"},
        {"  fb: {type: fallback, primary: p, circuit_breaker: {window: 5, min_calls: 6}}\n",
         "t.yaml:5:76:", "make min_calls <= window"},
        {"  fb: {type: fallback, primary: p, retry: {jitter: ful}}\n", "t.yaml:5:52:",
         "did you mean 'full'"},
        {"  fb: {type: fallback, primary: p, retry: {backoff: {factor: 0.5}}}\n",
         "t.yaml:5:62:", "factor between 1"},
        {"  fb: {type: fallback, primary: p, retry: {backoff: {base: 2s, max: 1s}}}\n",
         "t.yaml:5:69:", "at least base"},
        {"  fb: {type: fallback, primary: p, cache: p}\n", "t.yaml:5:43:",
         "'p' is a service"},
        {"  fb: {type: fallback, primary: p, cache: {hit_ratio: 2}}\n", "t.yaml:5:55:",
         "hit_ratio: a ratio"},
        {"  fb: {type: fallback, primary: p, alternates: backup}\n", "t.yaml:5:48:",
         "expected a list"},
        {"  fb: {type: fallback, primary: p, alternates: [nope]}\n", "t.yaml:5:49:",
         "no component named 'nope'"},
        {"  fb: {type: fallback, primary: p, bulkhead: {max_wait: 1s}}\n", "t.yaml:5:46:",
         "missing required key 'max_concurrent'"},
        {"  fb: {type: fallback, primary: p, timeout: 0s}\n", "t.yaml:5:45:",
         "at least 1ns"},
        {"  fb: {type: fallback, primary: p, retry: {budget: -1}}\n", "t.yaml:5:52:",
         "budget: retries as a share"},
        {"  fb: {type: fallback, primary: p, dead_letter: 5s}\n", "t.yaml:5:49:",
         "expected a mapping"},
        {"  fb: {type: fallback, primary: p, circuit_breaker: {windw: 5}}\n", "t.yaml:5:54:",
         "did you mean 'window'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[1024];
        snprintf(yaml, sizeof yaml, "%s%s", head, cases[i].fb);
        harness_bad(yaml, cases[i].pos, cases[i].phrase);
    }
}

int main(void)
{
    breaker_states();
    breaker_generations();
    backoff_sequences();
    budget_window();
    retries_closed_form();
    timeout_closed_form();
    rejected_and_degraded();
    bulkhead();
    dead_letters();
    budget_caps_retries();
    stale_cache_component();
    deterministic();
    bad_inputs();
    harness_done();
    return CHECK_DONE();
}
