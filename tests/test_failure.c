/* Failures (models/failure.c and their use by the queueing station):
 * parsing with exact error positions, outage merging and slowdown
 * segments, and deterministic scenarios whose outcomes can be counted by
 * hand: requests held when the station goes down fail at once, requests
 * sent while it is down fail after connect_timeout, down_ratio is the down
 * share of the window, slowdowns stretch service times. A random process
 * with non-exponential times is checked against the renewal-reward
 * theorem with a tolerance of 5 standard errors from its asymptotic
 * variance. Allocation may fail at every point. */
#include <gsl/gsl_sf_gamma.h>
#include <math.h>
#include <string.h>

#include "models/failure.h"
#include "sim/alloc.h"
#include "sim/engine.h"
#include "sim/error.h"
#include "sim/node.h"
#include "sim/scenario.h"
#include "tests/harness.h"

/* ---- parsing ---- */

/* Configure the failure keys of mapping "c" of yaml into fc. */
static int parse(const char *yaml, gs_failure_conf *fc, gs_diag *d)
{
    gs_diag_init(d);
    memset(fc, 0, sizeof *fc);
    gs_doc *doc;
    int rc = gs_doc_load_string(yaml, strlen(yaml), "test", &doc, d);
    if (rc)
        return rc;
    rc = gs_failure_configure(fc, doc, gs_map_get(gs_doc_root(doc), "c"), d);
    gs_doc_free(doc);
    return rc;
}

/* yaml must be refused with phrase, at the position of the first
 * occurrence of marker in yaml. */
static void refused(const char *yaml, const char *marker, const char *phrase)
{
    gs_failure_conf fc;
    gs_diag d;
    int rc = parse(yaml, &fc, &d);
    CHECK_EQ(rc, GS_EINVAL);
    const char *at = strstr(yaml, marker);
    CHECK(at != NULL);
    if (!at)
        return;
    int line = 1, col = 1;
    for (const char *p = yaml; p < at; p++) {
        if (*p == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    char pos[64];
    snprintf(pos, sizeof pos, "test:%d:%d: ", line, col);
    int ok = strncmp(d.msg, pos, strlen(pos)) == 0 && strstr(d.msg, phrase) != NULL;
    if (!ok)
        fprintf(stderr, "expected '%s...%s', got '%s'\n", pos, phrase, d.msg);
    CHECK(ok);
    /* A refused configuration holds nothing. */
    CHECK(!gs_failure_configured(&fc));
    gs_failure_conf_release(&fc);
}

static void parse_good(void)
{
    gs_failure_conf fc;
    gs_diag d;
    /* Bare times are the means of exponentials. */
    CHECK_EQ(parse("c: {failures: {mtbf: 1h, mttr: 2m}}\n", &fc, &d), GS_OK);
    CHECK(fc.has_random && gs_failure_configured(&fc));
    CHECK(strcmp(fc.up.type->name, "exponential") == 0);
    CHECK(strcmp(fc.down.type->name, "exponential") == 0);
    CHECK_NEAR(gs_dist_mean(&fc.up), 3600, 1e-9);
    CHECK_NEAR(gs_dist_mean(&fc.down), 120, 1e-12);
    CHECK_EQ(fc.noutages, 0);
    CHECK_EQ(fc.nslow, 0);
    gs_failure_conf_release(&fc);

    /* Distributions are taken as given. */
    CHECK_EQ(parse("c: {failures: {mtbf: {dist: weibull, shape: 1.5, scale: 1h},\n"
                   "                mttr: {dist: deterministic, value: 30s}}}\n", &fc, &d),
             GS_OK);
    CHECK(strcmp(fc.up.type->name, "weibull") == 0);
    CHECK_NEAR(gs_dist_mean(&fc.up), 3600 * gsl_sf_gamma(1 + 1 / 1.5), 1e-6);
    CHECK(gs_dist_is_constant(&fc.down));
    CHECK_NEAR(gs_dist_mean(&fc.down), 30, 1e-12);
    gs_failure_conf_release(&fc);

    /* Outages are sorted; overlapping and touching ones merge. */
    CHECK_EQ(parse("c: {outages: [{at: 300s, for: 10s}, {at: 100s, for: 50s},\n"
                   "              {at: 120s, for: 40s}, {at: 160s, for: 5s}]}\n", &fc, &d),
             GS_OK);
    CHECK(!fc.has_random && gs_failure_configured(&fc));
    CHECK_EQ(fc.noutages, 2);
    if (fc.noutages == 2) {
        CHECK_EQ(fc.outages[0].at, 100000000000LL);
        CHECK_EQ(fc.outages[0].end, 165000000000LL);
        CHECK_EQ(fc.outages[1].at, 300000000000LL);
        CHECK_EQ(fc.outages[1].end, 310000000000LL);
    }
    gs_failure_conf_release(&fc);

    /* Overlapping slowdowns multiply; factor 1 changes nothing. */
    CHECK_EQ(parse("c: {slowdowns: [{at: 5s, for: 10s, factor: 1.5},\n"
                   "                {at: 0s, for: 10s, factor: 2},\n"
                   "                {at: 20s, for: 1s, factor: 1}]}\n", &fc, &d), GS_OK);
    CHECK_EQ(fc.nslow, 3);
    if (fc.nslow == 3) {
        const double f[] = {2, 3, 1.5};
        for (int i = 0; i < 3; i++) {
            CHECK_EQ(fc.slow[i].at, i * 5000000000LL);
            CHECK_EQ(fc.slow[i].end, (i + 1) * 5000000000LL);
            CHECK_NEAR(fc.slow[i].factor, f[i], 1e-15);
        }
        gs_failure f1 = {.conf = &fc};
        CHECK_NEAR(gs_failure_factor(&f1, 0), 2, 0);
        CHECK_NEAR(gs_failure_factor(&f1, 4999999999LL), 2, 0);
        CHECK_NEAR(gs_failure_factor(&f1, 5000000000LL), 3, 0);
        CHECK_NEAR(gs_failure_factor(&f1, 14999999999LL), 1.5, 0);
        CHECK_NEAR(gs_failure_factor(&f1, 15000000000LL), 1, 0);
        CHECK_NEAR(gs_failure_factor(&f1, 20500000000LL), 1, 0);
    }
    gs_failure_conf_release(&fc);

    /* Empty lists and no keys at all: nothing to do. */
    CHECK_EQ(parse("c: {outages: [], slowdowns: []}\n", &fc, &d), GS_OK);
    CHECK(!gs_failure_configured(&fc));
    gs_failure_conf_release(&fc);
    CHECK_EQ(parse("c: {servers: 2}\n", &fc, &d), GS_OK);
    CHECK(!gs_failure_configured(&fc));
    gs_failure_conf_release(&fc);
}

static void parse_bad(void)
{
    refused("c: {failures: {mtbf: 0s, mttr: 2m}}\n", "0s", "mtbf: must be > 0");
    refused("c: {failures: {mtbf: 1h, mttr: -1m}}\n", "-1m", "mttr: must be > 0");
    refused("c: {failures: {mtbf: 0.1ns, mttr: 1m}}\n", "0.1ns", "at least 1ns");
    refused("c: {failures: {mtbf: soon, mttr: 1m}}\n", "soon", "mtbf: expected a time");
    refused("c: {failures: {mtbf: 1h}}\n", "{mtbf", "missing required key 'mttr'");
    refused("c: {failures: {mttr: 1m}}\n", "{mttr", "missing required key 'mtbf'");
    refused("c: {failures: {mtbf: 1h, mtr: 2m}}\n", "mtr:", "did you mean 'mttr'");
    refused("c: {failures: yes}\n", "yes", "expected a mapping for failures");
    refused("c: {failures: [1h, 2m]}\n", "[1h", "expected a mapping for failures");
    refused("c: {failures: {mtbf: {dist: deterministic, value: 0s}, mttr: 1m}}\n",
            "{dist", "mean must be at least 1ns");
    refused("c: {failures: {mtbf: 1h, mttr: {dist: exponentail, mean: 1m}}}\n",
            "exponentail", "did you mean 'exponential'");
    refused("c: {outages: {at: 1s, for: 2s}}\n", "{at", "outages: expected a list");
    refused("c: {outages: 5s}\n", "5s", "outages: expected a list");
    refused("c: {outages: [{at: 1s, for: 2s}, 5s]}\n", "5s]", "expected a mapping for an outage");
    refused("c: {outages: [{at: 1s, fro: 2s}]}\n", "fro", "did you mean 'for'");
    refused("c: {outages: [{at: 1s, for: 0s}]}\n", "0s", "for: must be > 0");
    refused("c: {outages: [{at: 1s, for: -2s}]}\n", "-2s", "for: must be >= 0");
    refused("c: {outages: [{at: -1s, for: 2s}]}\n", "-1s", "at: must be >= 0");
    refused("c: {outages: [{at: 1s}]}\n", "{at", "missing required key 'for'");
    refused("c: {outages: [{for: 1s}]}\n", "{for", "missing required key 'at'");
    refused("c: {outages: [{at: 1s, for: 2s, factor: 2}]}\n", "factor", "unknown key 'factor'");
    refused("c: {slowdowns: [{at: 1s, for: 2s, factor: 0}]}\n", "0}", "factor: must be > 0");
    refused("c: {slowdowns: [{at: 1s, for: 2s, factor: -2}]}\n", "-2", "factor: must be > 0");
    refused("c: {slowdowns: [{at: 1s, for: 2s, factor: fast}]}\n", "fast", "factor:");
    refused("c: {slowdowns: [{at: 1s, for: 2s}]}\n", "{at", "missing required key 'factor'");
    refused("c: {slowdowns: [{at: 1s, for: 2s, facter: 2}]}\n", "facter",
            "did you mean 'factor'");
    refused("c: {slowdowns: 2}\n", "2}", "slowdowns: expected a list");
    /* The first bad key is reported even after good ones. */
    refused("c: {failures: {mtbf: 1h, mttr: 1m},\n    outages: [{at: 1s, for: 0s}]}\n", "0s",
            "for: must be > 0");
}

/* ---- scenarios ---- */

/* Deterministic arrivals every 100ms (k/10 s, k = 1 .. 199), two servers
 * of 150ms, an outage over [10s, 15s). The request sent at 9.9s is in
 * service at 10s and fails; the 50 sent in [10s, 15s) fail (the outage
 * begins before the arrival at 10s and ends before the one at 15s, as
 * both boundaries were scheduled first). The servers are busy 98 x 150ms
 * before, 100ms for the cut request, 49 x 150ms after, and 100ms for the
 * request still in service when the window closes at 20s. */
static void outage_counts(void)
{
    const char *yaml =
        "simulation: {duration: 20s, replications: 1}\n"
        "workload: [{name: c, arrivals: {process: deterministic, rate: 10/s}, entry: gw}]\n"
        "components:\n"
        "  gw: {type: gateway, servers: 2, service: 150ms, outages: [{at: 10s, for: 5s}]}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "system", "error_ratio"), 51.0 / 199, 1e-12);
    CHECK_NEAR(harness_metric(&m, "system", "ok_ratio"), 148.0 / 199, 1e-12);
    CHECK_NEAR(harness_metric(&m, "system", "availability"), 148.0 / 199, 1e-12);
    CHECK_NEAR(harness_metric(&m, "gw", "down_ratio"), 0.25, 0);
    CHECK_NEAR(harness_metric(&m, "gw", "utilization"), 22.25 / 40, 1e-12);
    CHECK_NEAR(harness_metric(&m, "gw", "blocked_ratio"), 0, 0);
    /* 147 completions inside the window (the last ends at 20.05s). */
    CHECK_NEAR(harness_metric(&m, "gw", "throughput"), 147.0 / 20, 1e-12);
    CHECK_NEAR(harness_metric(&m, "gw", "response_mean"), 0.150, 1e-12);
    CHECK_NEAR(harness_metric(&m, "system", "latency_mean"), 0.150, 1e-12);
    gs_metrics_release(&m);

    /* Without the outage nothing fails and down_ratio is 0. */
    const char *plain =
        "simulation: {duration: 20s, replications: 1}\n"
        "workload: [{name: c, arrivals: {process: deterministic, rate: 10/s}, entry: gw}]\n"
        "components:\n  gw: {type: gateway, servers: 2, service: 150ms}\n";
    CHECK_EQ(harness_run(plain, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "system", "error_ratio"), 0, 0);
    CHECK_NEAR(harness_metric(&m, "gw", "down_ratio"), 0, 0);
    gs_metrics_release(&m);

    /* The window is [warmup, duration): 5s down out of 15s, and two
     * outages that overlap count once. */
    const char *warm =
        "simulation: {duration: 20s, warmup: 5s, replications: 1}\n"
        "workload: [{name: c, arrivals: {process: deterministic, rate: 10/s}, entry: gw}]\n"
        "components:\n"
        "  gw: {type: gateway, servers: 2, service: 150ms,\n"
        "       outages: [{at: 12s, for: 3s}, {at: 10s, for: 4s}, {at: 1s, for: 1s}]}\n";
    CHECK_EQ(harness_run(warm, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "gw", "down_ratio"), 5.0 / 15, 1e-15);
    /* Counted: k = 50 .. 199 (150); failed: 9.9s and [10s, 15s). */
    CHECK_NEAR(harness_metric(&m, "system", "error_ratio"), 51.0 / 150, 1e-12);
    gs_metrics_release(&m);
}

/* One server of 1s, arrivals every 100ms: a queue builds up. At 2s the
 * request in service (sent at 0.2s, served from 1.1s) and the 17 waiting
 * fail at once, the 10 sent in [2s, 3s) fail, and the servers are free when
 * the gateway is back: the request sent at 3s is served at once. */
static void queue_fails(void)
{
    const char *yaml =
        "simulation: {duration: 4s, replications: 1}\n"
        "workload: [{name: c, arrivals: {process: deterministic, rate: 10/s}, entry: gw}]\n"
        "components:\n"
        "  gw: {type: gateway, servers: 1, service: 1s, outages: [{at: 2s, for: 1s}]}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "system", "error_ratio"), 28.0 / 39, 1e-12);
    CHECK_NEAR(harness_metric(&m, "system", "ok_ratio"), 11.0 / 39, 1e-12);
    /* Sent at 1s and 3s: 1s each; sent at 3 + 0.1j (j = 1 .. 9): served
     * in [3 + j, 4 + j), latency 1 + 0.9 j. */
    CHECK_NEAR(harness_metric(&m, "system", "latency_mean"), 51.5 / 11, 1e-9);
    gs_metrics_release(&m);
}

/* The error of a request held at the outage start reaches its client one
 * hop after the outage start; a request sent while down fails at once, or
 * after connect_timeout. The deadline falls 1ns either side of the
 * expected instant and decides between error and timeout. Requests are
 * sent at 1, 2, 3, 4s; each ok answer takes 502ms (two 1ms hops and 500ms
 * of service), longer than every deadline used. */
static void failure_timing(void)
{
    const char *fmt =
        "simulation: {duration: 5s, replications: 1}\n"
        "network: {latency: 1ms, connect_timeout: %s}\n"
        "workload: [{name: c, arrivals: {process: deterministic, rate: 1/s},%s entry: gw}]\n"
        "components:\n"
        "  gw: {type: gateway, service: 500ms, outages: [{at: 2.2s, for: 1s}]}\n";
    struct {
        const char *timeout, *deadline;
        double error, timeout_ratio;
    } cases[] = {
        /* Held: sent at 2s, arrives 2.001s, fails at 2.2s, client 2.201s. */
        {"0s", "", 0.5, 0},
        {"0s", " deadline: 200999999ns,", 0.25, 0.75},
        {"0s", " deadline: 201000001ns,", 0.5, 0.5},
        /* Sent while down at 3s: refused at 3.001s, client 3.002s, or with
         * a 50ms connect timeout at 3.051s, client 3.052s. */
        {"0s", " deadline: 1999999ns,", 0, 1},
        {"0s", " deadline: 2000001ns,", 0.25, 0.75},
        {"50ms", "", 0.5, 0},
        {"50ms", " deadline: 51999999ns,", 0, 1},
        {"50ms", " deadline: 52000001ns,", 0.25, 0.75},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[1024];
        snprintf(yaml, sizeof yaml, fmt, cases[i].timeout, cases[i].deadline);
        gs_metrics m;
        CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
        CHECK_NEAR(harness_metric(&m, "system", "error_ratio"), cases[i].error, 1e-12);
        CHECK_NEAR(harness_metric(&m, "system", "timeout_ratio"), cases[i].timeout_ratio, 1e-12);
        if (!cases[i].deadline[0])
            CHECK_NEAR(harness_metric(&m, "system", "latency_mean"), 0.502, 1e-12);
        gs_metrics_release(&m);
    }
}

/* Slowdowns multiply each service time drawn at a service start. */
static void slowdowns(void)
{
    gs_metrics m;
    const char *all =
        "simulation: {duration: 10s, replications: 1}\n"
        "workload: [{name: c, arrivals: {process: deterministic, rate: 10/s}, entry: gw}]\n"
        "components:\n"
        "  gw: {type: gateway, service: 10ms, slowdowns: [{at: 0s, for: 100s, factor: 2}]}\n";
    CHECK_EQ(harness_run(all, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "gw", "response_mean"), 0.020, 1e-12);
    CHECK_NEAR(harness_metric(&m, "gw", "down_ratio"), 0, 0);
    CHECK_NEAR(harness_metric(&m, "system", "availability"), 1, 0);
    gs_metrics_release(&m);

    /* Factor 2 on [0, 10s), 1.5 on [5s, 15s): 2 before 5s, 3 after. */
    const char *part =
        "simulation: {duration: 10s, replications: 1}\n"
        "workload: [{name: c, arrivals: {process: deterministic, rate: 10/s}, entry: gw}]\n"
        "components:\n"
        "  gw: {type: gateway, service: 10ms,\n"
        "       slowdowns: [{at: 0s, for: 10s, factor: 2}, {at: 5s, for: 10s, factor: 1.5}]}\n";
    CHECK_EQ(harness_run(part, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "gw", "response_mean"), (49 * 0.020 + 50 * 0.030) / 99, 1e-12);
    gs_metrics_release(&m);

    /* Random service times: the slowdown draws nothing, so the same draws
     * come out twice as long (to the rounding of each to 1ns). */
    const char *expo =
        "simulation: {duration: 100s, replications: 1}\n"
        "workload: [{name: c, arrivals: {process: deterministic, rate: 10/s}, entry: gw}]\n"
        "components:\n"
        "  gw: {type: gateway, service: {dist: exponential, mean: 1ms}%s}\n";
    char yaml[1024];
    snprintf(yaml, sizeof yaml, expo, "");
    gs_metrics plain, slow;
    CHECK_EQ(harness_run(yaml, 4, &plain), GS_OK);
    snprintf(yaml, sizeof yaml, expo, ",\n       slowdowns: [{at: 0s, for: 1h, factor: 2}]");
    CHECK_EQ(harness_run(yaml, 4, &slow), GS_OK);
    CHECK_NEAR(harness_metric(&slow, "gw", "response_mean"), 2 * harness_metric(&plain, "gw", "response_mean"),
               1e-9);
    /* 999 requests, no queueing (gaps of 100ms): 5 standard errors of a
     * mean of exponentials of mean 2ms. */
    CHECK_NEAR(harness_metric(&slow, "gw", "response_mean"), 0.002, 5 * 0.002 / sqrt(999));
    gs_metrics_release(&plain);
    gs_metrics_release(&slow);
}

/* Failures draw from a stream of their own: a failure process that does
 * not fail within the run leaves every figure bit-identical. */
static void own_stream(void)
{
    const char *fmt =
        "simulation: {duration: 20s, warmup: 2s, replications: 2}\n"
        "network: {latency: {dist: exponential, mean: 1ms}}\n"
        "workload: [{name: c, arrivals: {process: poisson, rate: 300/s}, entry: gw}]\n"
        "components:\n"
        "  gw: {type: gateway, servers: 1, service: {dist: exponential, mean: 2ms}%s}\n";
    char yaml[1024];
    gs_metrics a, b;
    snprintf(yaml, sizeof yaml, fmt, "");
    CHECK_EQ(harness_run(yaml, 1, &a), GS_OK);
    snprintf(yaml, sizeof yaml, fmt, ", failures: {mtbf: 100000h, mttr: 1s}");
    CHECK_EQ(harness_run(yaml, 1, &b), GS_OK);
    CHECK_EQ(a.n, b.n);
    int same = a.n == b.n;
    for (size_t i = 0; same && i < a.n; i++)
        if (memcmp(&a.v[i].value, &b.v[i].value, sizeof(double)))
            same = 0;
    CHECK(same);
    gs_metrics_release(&a);
    gs_metrics_release(&b);
}

/* Weibull up times (shape 1.5, scale 1s) and uniform down times (0.1 ..
 * 0.3s): the down share is p = E[D] / (E[U] + E[D]) (renewal-reward). Its
 * time average over T has variance Var(D - p (U + D)) / (E[U + D] T)
 * asymptotically (the central limit theorem for renewal-reward processes).
 * Poisson arrivals see it (PASTA): the error share of n requests lies
 * within binomial noise of the observed down share (1us of service makes
 * the held requests' share about 1e-6). */
static void random_failures(void)
{
    const char *yaml =
        "simulation: {duration: 20000s, replications: 1}\n"
        "workload: [{name: c, arrivals: {process: poisson, rate: 10/s}, entry: gw}]\n"
        "components:\n"
        "  gw: {type: gateway, servers: 1, service: 1us,\n"
        "       failures: {mtbf: {dist: weibull, shape: 1.5, scale: 1s},\n"
        "                  mttr: {dist: uniform, min: 0.1s, max: 0.3s}}}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 7, &m), GS_OK);
    double eu = gsl_sf_gamma(1 + 1 / 1.5);
    double vu = gsl_sf_gamma(1 + 2 / 1.5) - eu * eu;
    double ed = 0.2, vd = 0.04 / 12;
    double p = ed / (eu + ed);
    double var = ((1 - p) * (1 - p) * vd + p * p * vu) / ((eu + ed) * 20000);
    double down = harness_metric(&m, "gw", "down_ratio");
    CHECK_NEAR(down, p, 5 * sqrt(var));
    double n = 10 * 20000;
    CHECK_NEAR(harness_metric(&m, "system", "error_ratio"), down, 5 * sqrt(p * (1 - p) / n) + 1e-5);
    gs_metrics_release(&m);

    /* An outage over a random failure: down until both are over, so the
     * share is at least the outage's. */
    const char *both =
        "simulation: {duration: 100s, replications: 1}\n"
        "workload: [{name: c, arrivals: {process: poisson, rate: 10/s}, entry: gw}]\n"
        "components:\n"
        "  gw: {type: gateway, service: 1ms, failures: {mtbf: 5s, mttr: 5s},\n"
        "       outages: [{at: 0s, for: 50s}]}\n";
    CHECK_EQ(harness_run(both, 2, &m), GS_OK);
    CHECK(harness_metric(&m, "gw", "down_ratio") > 0.5);
    CHECK(harness_metric(&m, "gw", "down_ratio") < 1);
    gs_metrics_release(&m);
}

/* Every allocation made while loading and running may fail: the result is
 * an error, never a crash or a leak (ASan checks the latter). */
static void allocation_failures(void)
{
    const char *yaml =
        "simulation: {duration: 1s, replications: 1}\n"
        "workload: [{name: c, arrivals: {process: poisson, rate: 400/s}, deadline: 50ms,\n"
        "            entry: gw}]\n"
        "network: {connect_timeout: 1ms}\n"
        "components:\n"
        "  gw: {type: gateway, servers: 2, service: {dist: exponential, mean: 4ms},\n"
        "       failures: {mtbf: 100ms, mttr: 20ms}, outages: [{at: 0.5s, for: 0.1s}],\n"
        "       slowdowns: [{at: 0.2s, for: 0.2s, factor: 3}], next: s}\n"
        "  s: {type: service, instances: 2, servers: 2, service: 2ms,\n"
        "      failures: {mtbf: {dist: gamma, mean: 50ms, cv: 0.5}, mttr: 5ms}}\n";
    gs_alloc_fail_nth(0);
    long before = gs_alloc_count();
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    CHECK(harness_metric(&m, "gw", "down_ratio") > 0);
    CHECK(harness_metric(&m, "s", "down_ratio") > 0);
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
    parse_good();
    parse_bad();
    outage_counts();
    queue_fails();
    failure_timing();
    slowdowns();
    own_stream();
    random_failures();
    allocation_failures();
    harness_done();
    return CHECK_DONE();
}
