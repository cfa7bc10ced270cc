/* The LRU cache component: hits, misses and fills with deterministic
 * traffic, ttl expiry, hit_latency, keyless requests, errors that are not
 * cached, LRU with uniform keys (hit ratio capacity / count exactly), and
 * bad input reported at FILE:LINE:COL. */
#include <math.h>
#include <string.h>

#include "sim/engine.h"
#include "sim/error.h"
#include "sim/scenario.h"
#include "tests/check.h"

static gs_scenario *scenarios[16];
static size_t nscenarios;

static int run(const char *yaml, gs_metrics *m, gs_diag *d)
{
    gs_diag_init(d);
    gs_scenario *sc;
    int rc = gs_scenario_load_string(yaml, "t.yaml", NULL, 0, &sc, d);
    if (rc) {
        fprintf(stderr, "%s\n", d->msg);
        return rc;
    }
    scenarios[nscenarios++] = sc;
    memset(m, 0, sizeof *m);
    return gs_run_replication(sc, 0, m, NULL, NULL, d);
}

static double metric(const gs_metrics *m, const char *component, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->v[i].component, component) && !strcmp(m->v[i].name, name))
            return m->v[i].value;
    fprintf(stderr, "no metric %s.%s\n", component, name);
    return NAN;
}

/* One key, a request every 100ms (0.1s .. 9.9s: 99), a 50ms path behind
 * the cache: the first request misses and fills the cache before the
 * second arrives; the 98 others hit, after hit_latency. */
static void single_key(const char *hit_latency, double hit_s)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "simulation: {duration: 10s, replications: 1}\n"
             "workload: [{name: a, arrivals: {process: deterministic, rate: 10/s},\n"
             "            keys: {count: 1}, entry: kc}]\n"
             "components:\n"
             "  kc: {type: cache, capacity: 4, hit_latency: %s, next: svc}\n"
             "  svc: {type: service, servers: 4, service: 50ms}\n",
             hit_latency);
    gs_metrics m;
    gs_diag d;
    CHECK_EQ(run(yaml, &m, &d), GS_OK);
    CHECK_NEAR(metric(&m, "kc", "hit_ratio"), 98.0 / 99, 1e-12);
    CHECK_NEAR(metric(&m, "system", "latency_mean"), (0.05 + 98 * hit_s) / 99, 1e-9);
    CHECK_NEAR(metric(&m, "system", "ok_ratio"), 1.0, 1e-12);
    CHECK_NEAR(metric(&m, "kc", "throughput"), 9.9, 1e-9);
    CHECK_NEAR(metric(&m, "svc", "throughput"), 0.1, 1e-9);
    CHECK_NEAR(metric(&m, "kc", "evictions_per_s"), 0.0, 1e-12);
    gs_metrics_release(&m);
}

/* ttl 200ms: the miss at 0.1s fills at 0.15s and is fresh until 0.35s, so
 * 0.2s and 0.3s hit and 0.4s misses again (hits do not refresh): miss,
 * hit, hit, ... over 99 requests, 33 misses. */
static void ttl_expiry(void)
{
    const char *yaml =
        "simulation: {duration: 10s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: deterministic, rate: 10/s},\n"
        "            keys: {count: 1}, entry: kc}]\n"
        "components:\n"
        "  kc: {type: cache, capacity: 1, ttl: 200ms, next: svc}\n"
        "  svc: {type: service, servers: 4, service: 50ms}\n";
    gs_metrics m;
    gs_diag d;
    CHECK_EQ(run(yaml, &m, &d), GS_OK);
    CHECK_NEAR(metric(&m, "kc", "hit_ratio"), 66.0 / 99, 1e-12);
    CHECK_NEAR(metric(&m, "system", "latency_mean"), 33 * 0.05 / 99, 1e-9);
    /* Refreshing a held key is not an eviction. */
    CHECK_NEAR(metric(&m, "kc", "evictions_per_s"), 0.0, 1e-12);
    gs_metrics_release(&m);
}

/* Requests without a key are never cached: every one goes on. */
static void keyless(void)
{
    const char *yaml =
        "simulation: {duration: 10s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: deterministic, rate: 10/s}, entry: kc}]\n"
        "components:\n"
        "  kc: {type: cache, capacity: 10, next: svc}\n"
        "  svc: {type: service, servers: 4, service: 50ms}\n";
    gs_metrics m;
    gs_diag d;
    CHECK_EQ(run(yaml, &m, &d), GS_OK);
    CHECK(isnan(metric(&m, "kc", "hit_ratio")));
    CHECK_NEAR(metric(&m, "system", "latency_mean"), 0.05, 1e-9);
    CHECK_NEAR(metric(&m, "svc", "throughput"), 9.9, 1e-9);
    gs_metrics_release(&m);
}

/* A path that always fails: errors go back to the client and never fill
 * the cache, so the one key misses every time. */
static void errors_not_cached(void)
{
    const char *yaml =
        "simulation: {duration: 10s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: deterministic, rate: 10/s},\n"
        "            keys: {count: 1}, entry: kc}]\n"
        "components:\n"
        "  kc: {type: cache, capacity: 10, next: cloud}\n"
        "  cloud: {type: external, latency: 20ms, error_rate: 1}\n";
    gs_metrics m;
    gs_diag d;
    CHECK_EQ(run(yaml, &m, &d), GS_OK);
    CHECK_NEAR(metric(&m, "kc", "hit_ratio"), 0.0, 1e-12);
    CHECK_NEAR(metric(&m, "system", "error_ratio"), 1.0, 1e-12);
    CHECK_NEAR(metric(&m, "kc", "throughput"), 0.0, 1e-12);
    gs_metrics_release(&m);
}

/* Uniform keys (zipf 0) over `count`, LRU of `capacity`, one request every
 * 10ms and a 1ms path, so each fill lands before the next request: once
 * full, the cache holds `capacity` distinct keys and the next key is
 * independent of them, so every request hits with probability
 * capacity / count, independently of the others. The share over n
 * requests is binomial: within five standard errors. Every miss of a full
 * cache evicts one entry. */
static void uniform(long count, long capacity)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "simulation: {duration: 200s, warmup: 2s, replications: 1}\n"
             "workload: [{name: a, arrivals: {process: deterministic, rate: 100/s},\n"
             "            keys: {count: %ld}, entry: kc}]\n"
             "components:\n"
             "  kc: {type: cache, capacity: %ld, next: svc}\n"
             "  svc: {type: service, servers: 4, service: 1ms}\n",
             count, capacity);
    gs_metrics m;
    gs_diag d;
    CHECK_EQ(run(yaml, &m, &d), GS_OK);
    double p = (double)capacity / (double)count, n = 198 * 100;
    double h = metric(&m, "kc", "hit_ratio");
    CHECK_NEAR(h, p, 5 * sqrt(p * (1 - p) / n));
    /* Misses counted at arrival, evictions when the fill comes back: the
     * window's edges differ by at most one. */
    CHECK_NEAR(metric(&m, "kc", "evictions_per_s") * 198, (1 - h) * n, 1.5);
    gs_metrics_release(&m);
}

static void bad(const char *comp, const char *pos, const char *phrase)
{
    char yaml[512];
    snprintf(yaml, sizeof yaml,
             "simulation: {duration: 1s}\n"
             "workload: [{name: a, arrivals: {process: poisson, rate: 1/s}, entry: kc}]\n"
             "components:\n  svc: {type: service, service: 1ms}\n  kc: %s\n", comp);
    gs_diag d;
    gs_diag_init(&d);
    gs_scenario *sc = NULL;
    CHECK_EQ(gs_scenario_load_string(yaml, "t.yaml", NULL, 0, &sc, &d), GS_EINVAL);
    if (!strstr(d.msg, pos) || !strstr(d.msg, phrase)) {
        fprintf(stderr, "message lacks '%s' / '%s': %s\n", pos, phrase, d.msg);
        CHECK(0);
    }
    gs_scenario_free(sc);
}

int main(void)
{
    single_key("0s", 0);
    single_key("2ms", 0.002);
    ttl_expiry();
    keyless();
    errors_not_cached();
    uniform(2, 1);
    uniform(10, 3);
    bad("{type: cache, capacity: 0, next: svc}", "t.yaml:5:31:", "between 1 and 10000000");
    bad("{type: cache, capacity: 10000001, next: svc}", "t.yaml:5:31:", "between 1 and");
    bad("{type: cache, next: svc}", "t.yaml:5:7:", "missing required key 'capacity'");
    bad("{type: cache, capacity: 5}", "t.yaml:5:7:", "missing required key 'next'");
    bad("{type: cache, capasity: 5, next: svc}", "t.yaml:5:21:", "did you mean 'capacity'");
    bad("{type: cache, capacity: 5, ttl: 0s, next: svc}", "t.yaml:5:39:", "at least 1ns");
    bad("{type: cache, capacity: 5, ttl: -1s, next: svc}", "t.yaml:5:39:", ">= 0");
    bad("{type: cache, capacity: 5, next: svd}", "t.yaml:5:40:", "did you mean 'svc'");
    bad("{type: cache, capacity: 5, next: kc}", "t.yaml:5:40:", "sends requests to itself");
    bad("{type: cache, capacity: 5, hit_latency: fast, next: svc}", "t.yaml:5:47:", "got 'fast'");
    for (size_t i = 0; i < nscenarios; i++)
        gs_scenario_free(scenarios[i]);
    return CHECK_DONE();
}
