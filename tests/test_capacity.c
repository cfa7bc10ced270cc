/* Tests of analysis/capacity.c: SLO parsing, and the search on an M/M/1
 * whose capacity at an SLO on mean latency is known in closed form. */
#include <math.h>
#include <string.h>

#include "analysis/capacity.h"
#include "sim/alloc.h"
#include "sim/error.h"
#include "tests/check.h"

static void slo_good(void)
{
    gs_diag d;
    gs_diag_init(&d);
    gs_slo s;
    CHECK_EQ(gs_slo_parse("latency_p99<2s, availability >= 0.999,gw/throughput>800/m", &s, &d),
             GS_OK);
    CHECK_EQ(s.n, 3);
    if (s.n == 3) {
        CHECK(strcmp(s.terms[0].component, "system") == 0);
        CHECK(strcmp(s.terms[0].metric, "latency_p99") == 0);
        CHECK_EQ(s.terms[0].op, GS_SLO_LT);
        CHECK_NEAR(s.terms[0].bound, 2.0, 1e-12);
        CHECK_EQ(s.terms[1].op, GS_SLO_GE);
        CHECK_NEAR(s.terms[1].bound, 0.999, 1e-12);
        CHECK(strcmp(s.terms[1].text, "availability >= 0.999") == 0);
        CHECK(strcmp(s.terms[2].component, "gw") == 0);
        CHECK(strcmp(s.terms[2].metric, "throughput") == 0);
        CHECK_EQ(s.terms[2].op, GS_SLO_GT);
        CHECK_NEAR(s.terms[2].bound, 800.0 / 60, 1e-12);
    }
    gs_slo_release(&s);
    CHECK_EQ(gs_slo_parse("latency_mean<=250ms", &s, &d), GS_OK);
    CHECK_EQ(s.n, 1);
    CHECK_EQ(s.terms[0].op, GS_SLO_LE);
    CHECK_NEAR(s.terms[0].bound, 0.25, 1e-15);
    gs_slo_release(&s);
    /* A bare number for a time metric is seconds, as in scenarios. */
    CHECK_EQ(gs_slo_parse("latency_p50<0.5", &s, &d), GS_OK);
    CHECK_NEAR(s.terms[0].bound, 0.5, 1e-15);
    gs_slo_release(&s);
}

/* Each bad SLO is GS_EINVAL with a message naming the bad term. */
static void slo_bad(void)
{
    static const struct {
        const char *slo, *named;
    } bad[] = {
        {"latency_p99<2s,availability", "'availability'"},
        {"latency_p99<fast", "'latency_p99<fast'"},
        {"availability>2s", "'availability>2s'"},
        {"<2s", "'<2s'"},
        {"latency_p99<2s,,availability>0.9", "empty term"},
        {"", "empty term"},
        {"latency p99<2s", "'latency p99<2s'"},
        {"latency_p99<<2s", "'latency_p99<<2s'"},
        {"throughput>8x/s", "'throughput>8x/s'"},
        {"latency_p99=2s", "'latency_p99=2s'"},
        {"/latency_p99<2s", "'/latency_p99<2s'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gs_diag d;
        gs_diag_init(&d);
        gs_slo s;
        int rc = gs_slo_parse(bad[i].slo, &s, &d);
        CHECK_EQ(rc, GS_EINVAL);
        if (!strstr(d.msg, bad[i].named) || strncmp(d.msg, "--slo: ", 7) != 0) {
            fprintf(stderr, "slo '%s': message '%s' does not name %s\n", bad[i].slo, d.msg,
                    bad[i].named);
            CHECK(0);
        }
        gs_slo_release(&s);
    }
}

/* M/M/1, mu = 1000/s: the mean time in system 1/(mu - lambda) is 5 ms at
 * lambda* = 800/s. Each point's mean latency rests on 8 replications of 8 s
 * (about 6400 customers each); at lambda = 760/s (5 % below) the mean is
 * 4.17 ms, 17 % under the bound, and at 840/s 6.25 ms, 25 % over, while
 * the replications' half-width there is a few per cent (the relaxation time
 * is ~0.1 s, far below the window), so both sides of +/-5 % are decided
 * with confidence and the interval must lie inside [760, 840]. */
static const char *mm1 =
    "name: mm1\n"
    "simulation: {duration: 20s, warmup: 2s, replications: 10, seed: 7, confidence: 0.95}\n"
    "workload: [{name: c, arrivals: {process: poisson, rate: 500/s}, entry: gw}]\n"
    "components:\n  gw: {type: gateway, servers: 1, capacity: 100000,\n"
    "                    service: {dist: exponential, mean: 1ms}}\n";

static int npoints_seen;

static void count_point(void *arg, const gs_capacity_result *r, const gs_capacity_point *p)
{
    (void)arg;
    (void)r;
    (void)p;
    npoints_seen++;
}

static void mm1_capacity(void)
{
    gs_diag d;
    gs_diag_init(&d);
    gs_slo slo;
    CHECK_EQ(gs_slo_parse("latency_mean<5ms", &slo, &d), GS_OK);
    gs_capacity_opts o = {.path = "mm1.yaml", .text = mm1, .slo = &slo, .threads = 2,
                          .on_point = count_point};
    gs_capacity_result r;
    int rc = gs_capacity_search(&o, &r, &d);
    CHECK_EQ(rc, GS_OK);
    if (rc)
        fprintf(stderr, "search: %s\n", d.msg);
    gs_capacity_print_table(stderr, &r, &slo);
    CHECK(strcmp(r.param, "workload.c.arrivals.rate") == 0);
    CHECK_EQ(r.integer, 0);
    CHECK_EQ(r.larger_harder, 1);
    CHECK_EQ(r.status, GS_CAP_FOUND);
    CHECK_EQ(npoints_seen, (long)r.npoints);
    CHECK(r.npoints >= 3 && r.npoints <= 30);
    CHECK(r.lo <= 800 && 800 <= r.hi);
    CHECK(r.lo >= 760 && r.hi <= 840);
    CHECK(r.lo <= r.capacity && r.capacity < r.hi);
    /* Points are sorted, the ends of the interval were decided. */
    for (size_t i = 0; i + 1 < r.npoints; i++)
        CHECK(r.points[i].x < r.points[i + 1].x);
    for (size_t i = 0; i < r.npoints; i++) {
        const gs_capacity_point *p = &r.points[i];
        if (p->x == r.lo)
            CHECK_EQ(p->verdict, GS_CAP_MEETS);
        if (p->x == r.hi)
            CHECK_EQ(p->verdict, GS_CAP_FAILS);
        /* Below the interval everything met, above it everything failed. */
        if (p->x < r.lo)
            CHECK_EQ(p->verdict, GS_CAP_MEETS);
        if (p->x > r.hi)
            CHECK_EQ(p->verdict, GS_CAP_FAILS);
    }
    gs_capacity_result_release(&r, &slo);
    gs_slo_release(&slo);
}

/* An integer parameter where larger is easier: servers of an M/M/c at
 * 3000/s with 1 ms service. Three servers are saturated (rho = 1), so the
 * latency grows without bound; with four, Erlang C gives P(wait) = 0.509 and
 * a mean time in system of 1 ms + 0.509 / (4000 - 3000)/s = 1.51 ms, 25 %
 * under a bound of 2 ms. The smallest count meeting it is 4, bracketed by
 * the adjacent integers 3 and 4. The direction is read off 8 and 16
 * servers: on common random numbers 16 servers never wait longer. */
static const char *mmc =
    "name: mmc\n"
    "simulation: {duration: 4s, warmup: 0.5s, replications: 4, seed: 3, confidence: 0.95}\n"
    "workload: [{name: c, arrivals: {process: poisson, rate: 3000/s}, entry: svc}]\n"
    "components:\n  svc: {type: service, servers: 8, capacity: 100000,\n"
    "                     service: {dist: exponential, mean: 1ms}}\n";

static void servers_capacity(void)
{
    gs_diag d;
    gs_diag_init(&d);
    gs_slo slo;
    CHECK_EQ(gs_slo_parse("latency_mean<2ms", &slo, &d), GS_OK);
    gs_capacity_opts o = {.path = "mmc.yaml", .text = mmc, .slo = &slo, .threads = 2,
                          .param = "components.svc.servers"};
    gs_capacity_result r;
    int rc = gs_capacity_search(&o, &r, &d);
    CHECK_EQ(rc, GS_OK);
    if (rc)
        fprintf(stderr, "search: %s\n", d.msg);
    gs_capacity_print_table(stderr, &r, &slo);
    CHECK_EQ(r.integer, 1);
    CHECK_EQ(r.larger_harder, 0);
    CHECK_EQ(r.status, GS_CAP_FOUND);
    CHECK_NEAR(r.capacity, 4, 0);
    CHECK_NEAR(r.lo, 3, 0);
    CHECK_NEAR(r.hi, 4, 0);
    gs_capacity_result_release(&r, &slo);
    gs_slo_release(&slo);
}

static void bad_param(void)
{
    gs_diag d;
    gs_diag_init(&d);
    gs_slo slo;
    CHECK_EQ(gs_slo_parse("latency_mean<5ms", &slo, &d), GS_OK);
    gs_capacity_opts o = {.path = "mm1.yaml", .text = mm1, .slo = &slo, .threads = 1,
                          .param = "components.gw.nosuch"};
    gs_capacity_result r;
    CHECK_EQ(gs_capacity_search(&o, &r, &d), GS_EINVAL);
    CHECK(strstr(d.msg, "components.gw.nosuch") != NULL);
    gs_capacity_result_release(&r, &slo);
    o.param = "components.gw.service";
    gs_diag_init(&d);
    CHECK_EQ(gs_capacity_search(&o, &r, &d), GS_EINVAL);
    CHECK(strstr(d.msg, "expected a number") != NULL);
    gs_capacity_result_release(&r, &slo);
    gs_slo_release(&slo);
    /* A metric the scenario does not report is named. */
    CHECK_EQ(gs_slo_parse("latency_mean<5ms,gw/nosuch_ratio<0.1", &slo, &d), GS_OK);
    o.param = NULL;
    o.max_evals = 2;
    gs_diag_init(&d);
    CHECK_EQ(gs_capacity_search(&o, &r, &d), GS_EINVAL);
    CHECK(strstr(d.msg, "gw/nosuch_ratio<0.1") != NULL);
    gs_capacity_result_release(&r, &slo);
    gs_slo_release(&slo);
}

int main(void)
{
    slo_good();
    slo_bad();
    bad_param();
    mm1_capacity();
    servers_capacity();
    return CHECK_DONE();
}
