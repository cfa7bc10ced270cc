/* Engine benchmarks. The M/M/1 case (lambda = 0.8, mu = 1, as
 * ../shared/peers/mm1_heap.c simulates) goes through the whole product path:
 * scenario, workload source, gateway station, statistics; it measures the
 * cost per event a user pays. The hold model (Jones, CACM 29(4), 1986)
 * keeps `pending` events in the calendar and replaces the earliest with a
 * new one at an exponential distance; it measures the calendar alone and
 * the memory each pending event takes. Results are printed, never asserted. */
#include "bench.h"

#include <gsl/gsl_randist.h>
#include <string.h>
#include <stdio.h>

#include "calendar.h"
#include "engine.h"
#include "error.h"
#include "replicate.h"
#include "rng.h"
#include "scenario.h"

static int bench_mm1(FILE *out, long customers, gs_diag *d)
{
    char yaml[512];
    snprintf(yaml, sizeof yaml,
             "name: bench-mm1\n"
             "simulation: {duration: %.17gs, replications: 1, seed: 1}\n"
             "workload: [{name: c, arrivals: {process: poisson, rate: 0.8/s}, entry: q}]\n"
             "components:\n  q: {type: gateway, servers: 1, service: {dist: exponential, mean: 1s}}\n",
             (double)customers / 0.8);
    gs_scenario *sc;
    int rc = gs_scenario_load_string(yaml, "bench-mm1", NULL, 0, &sc, d);
    if (rc)
        return rc;
    gs_metrics m = {0};
    gs_run_info info;
    double t0 = gs_wall_seconds();
    rc = gs_run_replication(sc, 0, &m, &info, NULL, d);
    double wall = gs_wall_seconds() - t0;
    if (rc == GS_OK) {
        double sojourn = 0;
        for (size_t i = 0; i < m.n; i++)
            if (m.v[i].name[0] == 'l' && !strcmp(m.v[i].component, "system") &&
                !strcmp(m.v[i].name, "latency_mean"))
                sojourn = m.v[i].value;
        fprintf(out, "mm1_customers=%llu\nmm1_mean_sojourn=%.6f\nmm1_wall_s=%.6f\n"
                "mm1_events=%llu\nmm1_events_per_s=%.6g\nmm1_customers_per_s=%.6g\n",
                (unsigned long long)info.requests, sojourn, wall,
                (unsigned long long)info.events, (double)info.events / wall,
                (double)info.requests / wall);
    }
    gs_metrics_release(&m);
    gs_scenario_free(sc);
    return rc;
}

static int bench_hold(FILE *out, long pending, gs_diag *d)
{
    gs_calendar cal;
    gs_cal_init(&cal);
    gsl_rng *r = gs_rng_new(1, 0, "bench/hold");
    int rc = GS_OK;
    if (!r) {
        rc = gs_error(d, GS_ENOMEM, "out of memory");
        goto out;
    }
    for (long i = 0; i < pending; i++)
        if (!gs_cal_push(&cal, gs_time_from_s(gsl_ran_exponential(r, 1.0)), 0, 0, NULL, 0)) {
            rc = gs_error(d, GS_ENOMEM, "out of memory");
            goto out;
        }
    long ops = pending < 1000000 ? 2000000 : 2 * pending;
    double t0 = gs_wall_seconds();
    for (long i = 0; i < ops; i++) {
        gs_event *e = gs_cal_pop(&cal);
        gs_time t = e->time + gs_time_from_s(gsl_ran_exponential(r, 1.0));
        gs_cal_recycle(&cal, e);
        gs_cal_push(&cal, t, 0, 0, NULL, 0);
    }
    double wall = gs_wall_seconds() - t0;
    fprintf(out, "hold_pending=%ld\nhold_ops=%ld\nhold_ops_per_s=%.6g\n"
            "hold_bytes_per_pending_event=%.2f\nevent_record_bytes=%zu\n", pending, ops,
            (double)ops / wall, (double)gs_cal_bytes(&cal) / (double)pending,
            sizeof(gs_event) + sizeof(gs_event *));
out:
    if (r)
        gsl_rng_free(r);
    gs_cal_release(&cal);
    return rc;
}

int gs_bench(FILE *out, long customers, long pending, gs_diag *d)
{
    fprintf(out, "tool=gatesim version=%s threads=1\n", GATESIM_VERSION);
    int rc = bench_mm1(out, customers, d);
    if (rc == GS_OK)
        rc = bench_hold(out, pending, d);
    return rc;
}
