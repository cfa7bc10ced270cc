/* Paired comparison on common random numbers: differences against the
 * first scenario, exactly zero for a scenario compared with itself, and a
 * paired interval narrower than the unpaired one when the scenarios share
 * their workload. */
#include "analysis/compare.h"
#include "sim/alloc.h"
#include "tests/harness.h"

static const char *one =
    "name: one\n"
    "simulation: {duration: 20s, warmup: 2s, replications: 10}\n"
    "workload: [{name: chat, arrivals: {process: poisson, rate: 700/s}, entry: gw}]\n"
    "components:\n"
    "  gw: {type: gateway, servers: 1, service: {dist: exponential, mean: 1ms}}\n";
static const char *two =
    "name: two\n"
    "simulation: {duration: 20s, warmup: 2s, replications: 10}\n"
    "workload: [{name: chat, arrivals: {process: poisson, rate: 700/s}, entry: gw}]\n"
    "components:\n"
    "  gw: {type: gateway, servers: 1, service: {dist: exponential, mean: 0.9ms}}\n";

static const gs_compare_row *row(const gs_compare_row *r, size_t n, size_t s,
                                 const char *comp, const char *metric)
{
    for (size_t i = 0; i < n; i++)
        if (r[i].scenario == s && !strcmp(r[i].component, comp) && !strcmp(r[i].metric, metric))
            return &r[i];
    CHECK(0);
    return &r[0];
}

int main(void)
{
    gs_scenario *sc[3] = {harness_load(one), harness_load(two), harness_load(one)};
    gs_results res[3];
    gs_diag d;
    gs_diag_init(&d);
    for (int s = 0; s < 3; s++)
        CHECK_EQ(gs_replicate(sc[s], 0, 10, 2, NULL, NULL, &res[s], &d), GS_OK);
    gs_compare_row *rows;
    size_t n;
    CHECK_EQ(gs_compare_rows(res, 3, 0.95, &rows, &n, &d), GS_OK);
    CHECK_EQ(n, 3 * res[0].nmetrics);
    /* Grouped by metric, scenarios in order. */
    CHECK_EQ(rows[0].scenario, 0);
    CHECK_EQ(rows[1].scenario, 1);
    CHECK_EQ(rows[2].scenario, 2);
    CHECK(!rows[0].has_diff);
    for (size_t i = 0; i < n; i++)
        if (rows[i].scenario == 2 && isfinite(rows[i].diff.mean)) {
            CHECK(rows[i].diff.mean == 0 && rows[i].diff.ci_low == 0 &&
                  rows[i].diff.ci_high == 0);
            CHECK(!rows[i].significant);
        }
    /* Same arrivals, and service times from the same uniforms scaled by
     * 0.9: the two latencies move together, so the paired interval is far
     * narrower than the unpaired one, sqrt(s1^2 + s2^2)/sqrt(n) wide. */
    const gs_compare_row *a = row(rows, n, 0, "system", "latency_mean");
    const gs_compare_row *b = row(rows, n, 1, "system", "latency_mean");
    double paired = b->diff.ci_high - b->diff.ci_low;
    double t = (a->est.ci_high - a->est.ci_low) / (2 * a->est.stddev / sqrt(10.0));
    double unpaired = 2 * t * sqrt((a->est.stddev * a->est.stddev +
                                    b->est.stddev * b->est.stddev) / 10.0);
    CHECK(paired < 0.5 * unpaired);
    CHECK(b->significant && b->diff.mean < 0);
    CHECK_NEAR(b->diff.mean, b->est.mean - a->est.mean, 1e-12);
    gs_free(rows);
    for (int s = 0; s < 3; s++)
        gs_results_release(&res[s]);
    harness_done();
    return CHECK_DONE();
}
