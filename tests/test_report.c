/* The warnings of analysis/report.c on hand-made summary rows: which
 * scenarios are called saturated (and which are not, because something
 * bounds their queues), and when a tail percentile rests on too few
 * requests. */
#include <string.h>

#include "analysis/report.h"
#include "sim/error.h"
#include "sim/scenario.h"
#include "tests/check.h"

#define MAXROWS 16

typedef struct rows {
    gs_summary_row r[MAXROWS];
    size_t         n;
} rows;

static void add(rows *t, const char *component, const char *metric, double mean)
{
    gs_summary_row *r = &t->r[t->n++];
    memset(r, 0, sizeof *r);
    r->component = component;
    r->metric = metric;
    r->est.mean = mean;
}

static gs_scenario *load(const char *text)
{
    gs_diag d;
    gs_diag_init(&d);
    gs_scenario *sc = NULL;
    if (gs_scenario_load_string(text, "t.yaml", NULL, 0, &sc, &d) != GS_OK)
        fprintf(stderr, "%s\n", d.msg);
    return sc;
}

static const char *open_yaml =
    "simulation: {duration: 100s, warmup: 10s, replications: 2}\n"
    "workload: [{name: w, arrivals: {process: poisson, rate: 1/s}, entry: q}]\n"
    "components: {q: {type: service, servers: 1, service: 0.5s}}\n";

static void saturation(void)
{
    gs_scenario *sc = load(open_yaml);
    CHECK(sc != NULL);
    if (!sc)
        return;
    char buf[640];
    rows t = {0};
    add(&t, "system", "throughput", 1);
    add(&t, "system", "rejected_ratio", 0);
    add(&t, "a", "utilization", 0.99);
    add(&t, "a", "blocked_ratio", 0);
    add(&t, "b", "utilization", 0.995);
    add(&t, "c", "utilization", 0.97);
    CHECK_EQ(gs_report_saturation(sc, t.r, t.n, buf, sizeof buf), 1);
    /* The most utilized of those at or above the threshold. */
    CHECK(strstr(buf, "component 'b' is saturated (utilization 0.995") == buf);

    /* Below the threshold everywhere: nothing. */
    t.r[2].est.mean = t.r[4].est.mean = 0.979;
    CHECK_EQ(gs_report_saturation(sc, t.r, t.n, buf, sizeof buf), 0);
    t.r[2].est.mean = 0.99;
    t.r[4].est.mean = 0.995;

    /* Something turns requests away: a full queue anywhere, or a rejection. */
    t.r[3].est.mean = 0.01;
    CHECK_EQ(gs_report_saturation(sc, t.r, t.n, buf, sizeof buf), 0);
    t.r[3].est.mean = 0;
    t.r[1].est.mean = 0.2;
    CHECK_EQ(gs_report_saturation(sc, t.r, t.n, buf, sizeof buf), 0);
    t.r[1].est.mean = 0;

    /* An autoscaled pool is skipped; the other saturated one still warns. */
    add(&t, "b", "scale_events", 3);
    CHECK_EQ(gs_report_saturation(sc, t.r, t.n, buf, sizeof buf), 1);
    CHECK(strstr(buf, "component 'a' is saturated") == buf);
    gs_scenario_free(sc);

    /* Closed users bound every queue. */
    sc = load("simulation: {duration: 100s, replications: 2}\n"
              "workload: [{name: w, arrivals: {process: closed, users: 3}, entry: q}]\n"
              "components: {q: {type: service, servers: 1, service: 0.5s}}\n");
    CHECK(sc != NULL);
    if (sc) {
        CHECK_EQ(gs_report_saturation(sc, t.r, t.n, buf, sizeof buf), 0);
        gs_scenario_free(sc);
    }
}

static void tail(void)
{
    gs_scenario *sc = load(open_yaml);
    CHECK(sc != NULL);
    if (!sc)
        return;
    char buf[640];
    rows t = {0};
    /* 90 s window: 100/s answers 9000 requests, 9 beyond p99.9. */
    add(&t, "system", "throughput", 100);
    CHECK_EQ(gs_report_tail(sc, t.r, t.n, buf, sizeof buf), 1);
    CHECK(strstr(buf, "latency_p999 rests on about 9 answered requests beyond it per "
                      "replication (9000 answered in the 90s window)") == buf);
    CHECK(strstr(buf, "latency_p99 on") == NULL);
    /* 10 beyond it: enough. */
    t.r[0].est.mean = 10000.0 / 90;
    CHECK_EQ(gs_report_tail(sc, t.r, t.n, buf, sizeof buf), 0);
    /* 900 answered: p99 rests on 9 too. */
    t.r[0].est.mean = 10;
    CHECK_EQ(gs_report_tail(sc, t.r, t.n, buf, sizeof buf), 1);
    CHECK(strstr(buf, ", latency_p99 on 9 (900 answered") != NULL);
    /* Nothing answered: no percentile to speak of. */
    t.r[0].est.mean = 0;
    CHECK_EQ(gs_report_tail(sc, t.r, t.n, buf, sizeof buf), 0);
    gs_scenario_free(sc);
}

int main(void)
{
    saturation();
    tail();
    return CHECK_DONE();
}
