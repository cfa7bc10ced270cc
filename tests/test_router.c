/* Router and gateway routes/rate limit: each class reaches its own target,
 * others the default (or an error), and a token bucket rejects exactly what
 * exceeds its rate. */
#include "tests/harness.h"

/* Deterministic streams make every count exact: arrivals at k / rate for
 * k = 1, 2, ... before 10s, so 99, 199 and 49 of them. */
static void routes_by_class(void)
{
    const char *yaml =
        "simulation: {duration: 10s, replications: 1}\n"
        "workload:\n"
        "  - {name: a, class: auth, arrivals: {process: deterministic, rate: 10/s}, entry: mw}\n"
        "  - {name: b, class: chat, arrivals: {process: deterministic, rate: 20/s}, entry: mw}\n"
        "  - {name: c, class: misc, arrivals: {process: deterministic, rate: 5/s}, entry: mw}\n"
        "components:\n"
        "  mw: {type: router, routes: [{class: auth, to: ga}, {class: chat, to: gb}]}\n"
        "  ga: {type: gateway, service: 1ms}\n"
        "  gb: {type: gateway, service: 1ms, routes: [{class: chat, to: s}], next: ga}\n"
        "  s: {type: service, service: 1ms}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "ga", "throughput"), 9.9, 1e-9);
    CHECK_NEAR(harness_metric(&m, "gb", "throughput"), 19.9, 1e-9);
    CHECK_NEAR(harness_metric(&m, "s", "throughput"), 19.9, 1e-9);
    /* misc has no route and the router no default: refused. */
    CHECK_NEAR(harness_metric(&m, "mw", "unrouted_ratio"), 49.0 / 347, 1e-9);
    CHECK_NEAR(harness_metric(&m, "system", "error_ratio"), 49.0 / 347, 1e-9);
    gs_metrics_release(&m);
}

static void router_default(void)
{
    const char *yaml =
        "simulation: {duration: 10s, replications: 1}\n"
        "workload:\n"
        "  - {name: a, class: auth, arrivals: {process: deterministic, rate: 10/s}, entry: mw}\n"
        "  - {name: c, arrivals: {process: deterministic, rate: 5/s}, entry: mw}\n"
        "components:\n"
        "  mw: {type: router, routes: [{class: auth, to: ga}], default: gb}\n"
        "  ga: {type: gateway, service: 1ms}\n"
        "  gb: {type: gateway, service: 1ms}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "gb", "throughput"), 4.9, 1e-9);
    CHECK_NEAR(harness_metric(&m, "mw", "unrouted_ratio"), 0, 0);
    CHECK_NEAR(harness_metric(&m, "system", "ok_ratio"), 1, 0);
    gs_metrics_release(&m);
}

/* 100/s deterministic into a 50/s bucket of size 1: every other request
 * finds the bucket empty. */
static void rate_limit(void)
{
    const char *yaml =
        "simulation: {duration: 20s, warmup: 1s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: deterministic, rate: 100/s}, entry: gw}]\n"
        "components:\n"
        "  gw: {type: gateway, servers: 4, service: 1ms, rate_limit: {rate: 50/s}}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "gw", "rejected_ratio"), 0.5, 1e-3);
    CHECK_NEAR(harness_metric(&m, "system", "rejected_ratio"), 0.5, 1e-3);
    CHECK_NEAR(harness_metric(&m, "gw", "throughput"), 50, 0.1);
    gs_metrics_release(&m);
    /* Ten users send at once (t = 0.5s): a bucket of 10 takes the spike, a
     * bucket of 5 rejects half of it. */
    const char *spike =
        "simulation: {duration: 1s, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: closed, users: 10, think: 0.5s}, entry: gw}]\n"
        "components:\n"
        "  gw: {type: gateway, servers: 10, service: 1ms, rate_limit: {rate: 1/s, burst: %d}}\n";
    char buf[512];
    snprintf(buf, sizeof buf, spike, 10);
    CHECK_EQ(harness_run(buf, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "gw", "rejected_ratio"), 0, 0);
    gs_metrics_release(&m);
    snprintf(buf, sizeof buf, spike, 5);
    CHECK_EQ(harness_run(buf, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "gw", "rejected_ratio"), 0.5, 0);
    gs_metrics_release(&m);
}

static void bad_inputs(void)
{
    const char *head =
        "simulation: {duration: 1s}\n"
        "workload: [{name: a, class: auth, arrivals: {process: poisson, rate: 1/s}, entry: mw}]\n"
        "components:\n";
    char buf[1024];
    snprintf(buf, sizeof buf, "%s  mw: {type: router, routes: [{class: atuh, to: g}]}\n"
             "  g: {type: gateway, service: 1ms}\n", head);
    harness_bad(buf, "t.yaml:4:39:", "did you mean 'auth'");
    snprintf(buf, sizeof buf, "%s  mw: {type: router, routes: [{class: auth, to: g}, "
             "{class: auth, to: g}]}\n  g: {type: gateway, service: 1ms}\n", head);
    harness_bad(buf, "t.yaml:4:61:", "routed twice");
    snprintf(buf, sizeof buf, "%s  mw: {type: router, routes: [{class: auth, to: h}]}\n"
             "  g: {type: gateway, service: 1ms}\n", head);
    harness_bad(buf, "t.yaml:4:49:", "no component named 'h'");
    snprintf(buf, sizeof buf, "%s  mw: {type: router}\n  g: {type: gateway, service: 1ms}\n",
             head);
    harness_bad(buf, "t.yaml:4:7:", "missing required key 'routes'");
    snprintf(buf, sizeof buf, "%s  mw: {type: router, routes: {class: auth, to: g}}\n"
             "  g: {type: gateway, service: 1ms}\n", head);
    harness_bad(buf, "t.yaml:4:30:", "expected a list");
    snprintf(buf, sizeof buf, "%s  mw: {type: gateway, service: 1ms, rate_limit: {rate: 5/s, "
             "brust: 2}}\n", head);
    harness_bad(buf, "t.yaml:4:61:", "did you mean 'burst'");
    snprintf(buf, sizeof buf, "%s  mw: {type: gateway, service: 1ms, rate_limit: {rate: 5/s, "
             "burst: 0.5}}\n", head);
    harness_bad(buf, "t.yaml:4:68:", "burst: must be >= 1");
    snprintf(buf, sizeof buf, "%s  mw: {type: router, routes: [{class: auth, to: g}], "
             "default: mw}\n  g: {type: gateway, service: 1ms}\n", head);
    harness_bad(buf, "t.yaml:4:", "itself");
}

int main(void)
{
    routes_by_class();
    router_default();
    rate_limit();
    bad_inputs();
    harness_done();
    return CHECK_DONE();
}
