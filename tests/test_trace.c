/* The trace of a replication (results.h5's time series and histogram):
 * column names, a gateway's up/down state and queue through an outage,
 * the system's throughput per interval, and the latency histogram against
 * the replication's own counts. */
#include "sim/alloc.h"
#include "sim/stats.h"
#include "tests/harness.h"

int main(void)
{
    const char *yaml =
        "simulation: {duration: 10s, warmup: 1s, sample_interval: 500ms}\n"
        "workload: [{name: a, arrivals: {process: deterministic, rate: 100/s}, entry: gw}]\n"
        "components:\n"
        "  gw: {type: gateway, servers: 1, service: 2ms, outages: [{at: 4s, for: 2s}]}\n";
    gs_scenario *sc = harness_load(yaml);
    CHECK_EQ(gs_trace_samples(sc), 20);
    CHECK_EQ(gs_trace_ncols(sc), 7 + 3);
    const char *comp, *name;
    CHECK_EQ(gs_trace_column(sc, 0, &comp, &name), GS_OK);
    CHECK(!strcmp(comp, "system") && !strcmp(name, "throughput"));
    CHECK_EQ(gs_trace_column(sc, 9, &comp, &name), GS_OK);
    CHECK(!strcmp(comp, "gw") && !strcmp(name, "up"));
    CHECK_EQ(gs_trace_column(sc, 10, &comp, &name), GS_EINVAL);

    gs_trace t = {.nsamples = 20, .ncols = 10};
    t.hist = gs_calloc(GS_HIST_BUCKETS, sizeof *t.hist);
    t.series = gs_calloc(20 * 10, sizeof *t.series);
    gs_metrics m;
    memset(&m, 0, sizeof m);
    gs_diag d;
    gs_diag_init(&d);
    CHECK_EQ(gs_run_replication_traced(sc, 0, &m, &t, NULL, NULL, &d), GS_OK);
    for (size_t k = 0; k < 20; k++) {
        const double *row = t.series + k * 10;
        int down = k >= 8 && k < 12;   /* [4 s, 6 s) */
        /* States are sampled at the interval's end. */
        CHECK_NEAR(row[9], k >= 7 && k < 11 ? 0 : 1, 0);
        /* 50 arrivals per half second; all answered 2 ms later unless down. */
        CHECK_NEAR(row[1], 100, 2.0);
        if (down) {
            CHECK_NEAR(row[0], 0, 2.0);
            CHECK_NEAR(row[4], 0, 0.03);
        } else if (k != 12) {
            CHECK_NEAR(row[0], 100, 2.0);
            CHECK_NEAR(row[4], 1, 1e-12);
            CHECK_NEAR(row[2], 0.002, 0.002 / 64);
        }
        CHECK_NEAR(row[7], 0, 0);   /* never a queue: 2 ms work every 10 ms */
    }
    /* The histogram holds every answered counted request. */
    uint64_t total = 0;
    for (size_t i = 0; i < GS_HIST_BUCKETS; i++)
        total += t.hist[i];
    double answered = harness_metric(&m, "system", "throughput") * 9;
    CHECK_NEAR((double)total, answered, 0.5);
    gs_metrics_release(&m);
    gs_free(t.hist);
    gs_free(t.series);
    harness_done();
    return CHECK_DONE();
}
