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

/* gs_slo_check: each bad SLO is GS_EINVAL with a message naming the term
 * (and the nearest metric for a misspelt one), in the order names, units
 * and bounds, combinations. */
static void slo_check(void)
{
    static const char *const comp[] = {"system", "system", "system", "system", "gw", "gw"};
    static const char *const name[] = {"latency_p99", "availability", "throughput",
                                       "error_ratio", "utilization", "wait_mean"};
    static const struct {
        const char *slo, *named, *phrase;
    } bad[] = {
        {"latncy_p99<2s", "'latncy_p99<2s'", "did you mean 'latency_p99'?"},
        {"LATENCY_P99<2s", "'LATENCY_P99<2s'", "did you mean 'latency_p99'?"},
        {"latency_p99<2s,gww/utilization<0.5", "'gww/utilization<0.5'", "did you mean 'gw'?"},
        {"gw/utilisation<0.5", "'gw/utilisation<0.5'", "did you mean 'gw/utilization'?"},
        {"availability>1.5", "'availability>1.5'", "can never be met"},
        {"availability<1.5", "'availability<1.5'", "always met"},
        {"error_ratio<-0.1", "'error_ratio<-0.1'", "can never be met"},
        {"availability>1", "'availability>1'", "can never be met"},
        {"latency_p99<-1s", "'latency_p99<-1s'", "must be > 0"},
        {"latency_p99<0s", "'latency_p99<0s'", "must be > 0"},
        {"latency_p99<0", "'latency_p99<0'", "must be > 0"},
        {"gw/utilization<0.5/s", "'gw/utilization<0.5/s'", "not a rate"},
        {"latency_p99<5/s", "'latency_p99<5/s'", "not a rate"},
        {"availability>2s", "'availability>2s'", "not a time"},
        {"throughput<-1", "'throughput<-1'", "never negative"},
        {"availability>0.999,availability<0.5", "'availability>0.999' and 'availability<0.5'",
         "cannot both"},
        {"availability>=0.9,latency_p99<1s,availability<0.9", "'availability>=0.9' and "
         "'availability<0.9'", "cannot both"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gs_diag d;
        gs_diag_init(&d);
        gs_slo s;
        CHECK_EQ(gs_slo_parse(bad[i].slo, &s, &d), GS_OK);
        int rc = gs_slo_check(&s, comp, name, 6, &d);
        CHECK_EQ(rc, GS_EINVAL);
        if (!strstr(d.msg, bad[i].named) || !strstr(d.msg, bad[i].phrase) ||
            strncmp(d.msg, "--slo: ", 7) != 0) {
            fprintf(stderr, "slo '%s': message '%s' lacks %s or '%s'\n", bad[i].slo, d.msg,
                    bad[i].named, bad[i].phrase);
            CHECK(0);
        }
        gs_slo_release(&s);
    }
    static const char *const good[] = {
        "latency_p99<2s,availability>=0.999", "availability>=0.9,availability<=0.9",
        "throughput>800/m,gw/utilization<0.8", "gw/wait_mean<=0.002,error_ratio<0.01",
        "availability<=1"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        gs_diag d;
        gs_diag_init(&d);
        gs_slo s;
        CHECK_EQ(gs_slo_parse(good[i], &s, &d), GS_OK);
        CHECK_EQ(gs_slo_check(&s, comp, name, 6, &d), GS_OK);
        if (d.msg[0])
            fprintf(stderr, "slo '%s': %s\n", good[i], d.msg);
        gs_slo_release(&s);
    }
    /* Without the names, units and bounds are still checked. */
    gs_diag d;
    gs_diag_init(&d);
    gs_slo s;
    CHECK_EQ(gs_slo_parse("nosuch_ratio>2", &s, &d), GS_OK);
    CHECK_EQ(gs_slo_check(&s, NULL, NULL, 0, &d), GS_EINVAL);
    gs_slo_release(&s);
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

/* Servers of an M/M/c at 100/s (rho = 0.0125 with 8 servers): the SLO
 * holds from 8 servers down to 1, and 8 and 16 servers give the same
 * latencies. Servers are named as larger-is-easier, so the search goes down,
 * not up towards 512 as a tie read as "larger is harder" once made it. */
static const char *idle =
    "name: idle\n"
    "simulation: {duration: 2s, warmup: 0.2s, replications: 2, seed: 3}\n"
    "workload: [{name: c, arrivals: {process: poisson, rate: 100/s}, entry: svc}]\n"
    "components:\n  svc: {type: service, servers: 8, capacity: 1000,\n"
    "                     service: {dist: exponential, mean: 1ms}}\n";

static void direction(void)
{
    gs_diag d;
    gs_diag_init(&d);
    gs_slo slo;
    CHECK_EQ(gs_slo_parse("latency_mean<10ms", &slo, &d), GS_OK);
    gs_capacity_opts o = {.path = "idle.yaml", .text = idle, .slo = &slo, .threads = 2,
                          .param = "components.svc.servers"};
    gs_capacity_result r;
    CHECK_EQ(gs_capacity_search(&o, &r, &d), GS_OK);
    gs_capacity_print_table(stderr, &r, &slo);
    CHECK_EQ(r.larger_harder, 0);
    CHECK_EQ(r.direction, GS_CAP_DIR_NAME);
    CHECK_EQ(r.status, GS_CAP_ALL_MEET);
    CHECK_NEAR(r.capacity, 1, 0);
    for (size_t i = 0; i < r.npoints; i++)
        CHECK(r.points[i].x <= 8);
    gs_capacity_result_release(&r, &slo);
    /* A parameter whose name says nothing and that does not move the
     * latency (a queue bound never reached): probed both ways, then
     * reported as not limiting the SLO, with no direction. */
    o.param = "components.svc.capacity";
    gs_diag_init(&d);
    CHECK_EQ(gs_capacity_search(&o, &r, &d), GS_OK);
    gs_capacity_print_table(stderr, &r, &slo);
    CHECK_EQ(r.direction, GS_CAP_DIR_NONE);
    CHECK_EQ(r.status, GS_CAP_ALL_MEET);
    CHECK(r.npoints >= 3);
    CHECK(r.points[0].x < 1000 && r.points[r.npoints - 1].x > 1000);
    gs_capacity_result_release(&r, &slo);
    gs_slo_release(&slo);
}

/* gs_capacity_warning: an answer where most requests are turned away,
 * from an SLO on latency alone, is flagged; with an availability term it
 * is not. */
static void low_availability(void)
{
    gs_diag d;
    gs_diag_init(&d);
    gs_slo slo;
    CHECK_EQ(gs_slo_parse("latency_p99<2s", &slo, &d), GS_OK);
    double m[3] = {0.5, 0.4, 0.6};
    gs_capacity_point p = {.step = 1, .x = 4000, .nreps = 2, .verdict = GS_CAP_MEETS,
                           .means_meet = 1, .availability = 0.3, .mean = m, .lo = m + 1,
                           .hi = m + 2};
    char param[] = "workload.c.arrivals.rate";
    gs_capacity_result r = {.param = param, .larger_harder = 1, .status = GS_CAP_ALL_MEET,
                            .capacity = 4000, .lo = 4000, .hi = NAN, .npoints = 1,
                            .points = &p};
    char buf[1024];
    CHECK_EQ(gs_capacity_warning(&r, &slo, buf, sizeof buf), 1);
    CHECK(strstr(buf, "availability") != NULL && strstr(buf, "0.3") != NULL);
    p.availability = 0.995;
    CHECK_EQ(gs_capacity_warning(&r, &slo, buf, sizeof buf), 0);
    p.availability = 0.3;
    r.status = GS_CAP_NONE_MEET;
    CHECK_EQ(gs_capacity_warning(&r, &slo, buf, sizeof buf), 0);
    r.status = GS_CAP_FOUND;
    gs_slo_release(&slo);
    CHECK_EQ(gs_slo_parse("latency_p99<2s,availability>0.2", &slo, &d), GS_OK);
    CHECK_EQ(gs_capacity_warning(&r, &slo, buf, sizeof buf), 0);
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
    /* A misspelt metric is named, with the nearest one, before any point
     * is simulated. */
    CHECK_EQ(gs_slo_parse("latncy_mean<5ms", &slo, &d), GS_OK);
    o.on_point = count_point;
    o.max_evals = 0;
    npoints_seen = 0;
    gs_diag_init(&d);
    CHECK_EQ(gs_capacity_search(&o, &r, &d), GS_EINVAL);
    CHECK(strstr(d.msg, "did you mean 'latency_mean'?") != NULL);
    CHECK_EQ(npoints_seen, 0);
    CHECK_EQ(r.npoints, 0);
    gs_capacity_result_release(&r, &slo);
    gs_slo_release(&slo);
    npoints_seen = 0;
}

int main(void)
{
    slo_good();
    slo_bad();
    slo_check();
    bad_param();
    direction();
    low_availability();
    mm1_capacity();
    servers_capacity();
    return CHECK_DONE();
}
