/* Arrival processes mmpp and diurnal: the counts of arrivals that whole
 * replications produce, against the processes' closed forms, and the
 * errors of bad arrival keys.
 *
 * The counts are read back as offered_rate * (duration - warmup): the
 * arrivals in [warmup, duration). Every workload sends to a gateway of
 * zero service time, which does not touch the source's stream.
 *
 * Tolerances come from the sampling error. R replications give R
 * independent counts N_1..N_R (the source's stream differs per
 * replication):
 *   - the mean count has standard error sqrt(s^2 / R), s^2 the sample
 *     variance, where no closed form for Var N is used;
 *   - the sample variance has standard error sqrt((m4 - s^4) / R), m4 the
 *     sample fourth central moment;
 *   - a Poisson total over R replications has standard error sqrt(mean).
 * Each check allows 5 standard errors (a correct process fails one with
 * probability about 6e-7 under the normal approximation, which is good
 * here: each count is a sum of hundreds of arrivals). Seeds are fixed, so
 * the test is deterministic.
 *
 * The index of dispersion of counts of a stationary 2-state MMPP (rates r1,
 * r2; switching rates q1 = 1/s1 out of state 1, q2 = 1/s2 out of state 2;
 * q = q1 + q2; p1 = q2/q, p2 = q1/q; mean rate lambda = r1 p1 + r2 p2): the
 * rate process has covariance (r1 - r2)^2 p1 p2 exp(-q |tau|), so
 *   Var N(T) = lambda T + 2 (r1 - r2)^2 p1 p2 (T/q - (1 - exp(-q T))/q^2)
 * and IDC(T) = Var N(T) / (lambda T)
 *            = 1 + 2 (r1 - r2)^2 q1 q2 / (q^2 (r1 q2 + r2 q1))
 *                  * (1 - (1 - exp(-q T)) / (q T)),
 * which tends to the IDC(inf) of the literature as T grows (Heffes and
 * Lucantoni, IEEE JSAC 4(6), 1986). The test uses the finite-T form. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>

#include "sim/dist.h"
#include "sim/engine.h"
#include "sim/error.h"
#include "sim/node.h"
#include "sim/rng.h"
#include "sim/scenario.h"
#include "tests/check.h"
#include "tests/harness.h"

#define NSE 5.0

typedef struct {
    double mean, var, var_se;
} counts;

/* Run replications 0..reps-1 of yaml and summarise the counts. */
static int run_counts(const char *yaml, int reps, counts *out)
{
    gs_diag d;
    gs_diag_init(&d);
    gs_scenario *sc;
    if (gs_scenario_load_string(yaml, "t.yaml", NULL, 0, &sc, &d) != GS_OK) {
        fprintf(stderr, "%s\n", d.msg);
        return -1;
    }
    double window = gs_time_to_s(sc->duration - sc->warmup);
    double *n = malloc((size_t)reps * sizeof *n);
    int rc = n ? 0 : -1;
    for (int i = 0; rc == 0 && i < reps; i++) {
        gs_metrics m;
        if (harness_run_sc(sc, (uint64_t)i, &m) != GS_OK) {
            rc = -1;
            gs_metrics_release(&m);
            break;
        }
        n[i] = floor(harness_metric(&m, "system", "offered_rate") * window + 0.5);
        gs_metrics_release(&m);
    }
    if (rc == 0) {
        double sum = 0;
        for (int i = 0; i < reps; i++)
            sum += n[i];
        double mean = sum / reps, m2 = 0, m4 = 0;
        for (int i = 0; i < reps; i++) {
            double e = n[i] - mean;
            m2 += e * e;
            m4 += e * e * e * e;
        }
        out->mean = mean;
        out->var = m2 / (reps - 1);
        m2 /= reps;
        m4 /= reps;
        out->var_se = sqrt((m4 - m2 * m2) / reps);
    }
    free(n);
    gs_scenario_free(sc);
    return rc;
}

static void check_within(const char *what, double got, double want, double se)
{
    if (!(fabs(got - want) <= NSE * se)) {
        fprintf(stderr, "%s: got %.6g, want %.6g +- %.3g (5 se)\n", what, got, want, NSE * se);
        CHECK(0);
    } else {
        CHECK(1);
        if (getenv("GS_TEST_VERBOSE"))
            printf("%s: %.6g (want %.6g +- %.3g)\n", what, got, want, NSE * se);
    }
}

static void test_mmpp_two_states(void)
{
    const double r1 = 50, r2 = 5, s1 = 0.5, s2 = 0.5, T = 20;
    const int reps = 2000;
    const char *yaml =
        "simulation: {duration: 20s, replications: 1, seed: 11}\n"
        "workload:\n"
        "  - name: c\n"
        "    arrivals: {process: mmpp, states: [{rate: 50/s, mean_sojourn: 500ms},\n"
        "                                        {rate: 5/s, mean_sojourn: 500ms}]}\n"
        "    entry: gw\n"
        "components:\n"
        "  gw: {type: gateway, servers: 1000, capacity: 100000, service: 0s}\n";
    counts c;
    CHECK_EQ(run_counts(yaml, reps, &c), 0);
    double q1 = 1 / s1, q2 = 1 / s2, q = q1 + q2;
    double lambda = (r1 * q2 + r2 * q1) / q;
    double idc = 1 + 2 * (r1 - r2) * (r1 - r2) * q1 * q2 / (q * q * (r1 * q2 + r2 * q1)) *
                         (1 - (1 - exp(-q * T)) / (q * T));
    check_within("mmpp mean count", c.mean, lambda * T, sqrt(c.var / reps));
    check_within("mmpp IDC", c.var / c.mean, idc, c.var_se / c.mean);
    /* Not Poisson: the IDC is far from 1. */
    CHECK(c.var / c.mean > 3);
}

/* A window much shorter than the sojourns, right at t = 0: a chain that
 * always started in its first state would send about 100/s * 0.2s = 20, one
 * that always started in its second about 2; the stationary start (state 1
 * with probability 2/10) sends the long-run rate 28/s times the window. */
static void test_mmpp_stationary_start(void)
{
    const int reps = 2000;
    const char *yaml =
        "simulation: {duration: 200ms, replications: 1, seed: 21}\n"
        "workload:\n"
        "  - name: c\n"
        "    arrivals: {process: mmpp, states: [{rate: 100/s, mean_sojourn: 2s},\n"
        "                                        {rate: 10/s, mean_sojourn: 8s}]}\n"
        "    entry: gw\n"
        "components:\n"
        "  gw: {type: gateway, servers: 1000, capacity: 100000, service: 0s}\n";
    counts c;
    CHECK_EQ(run_counts(yaml, reps, &c), 0);
    double lambda = (100 * 2.0 + 10 * 8.0) / 10.0;
    check_within("mmpp start mean count", c.mean, lambda * 0.2, sqrt(c.var / reps));
}

/* Three states of unequal sojourns and one silent state: the cyclic chain's
 * stationary law is proportional to the sojourns whatever the order. */
static void test_mmpp_three_states(void)
{
    const int reps = 300;
    const char *yaml =
        "simulation: {duration: 30s, warmup: 2s, replications: 1, seed: 5}\n"
        "workload:\n"
        "  - name: c\n"
        "    arrivals:\n"
        "      process: mmpp\n"
        "      states:\n"
        "        - {rate: 100/s, mean_sojourn: 200ms}\n"
        "        - {rate: 0/s, mean_sojourn: 1s}\n"
        "        - {rate: 20/s, mean_sojourn: 300ms}\n"
        "    entry: gw\n"
        "components:\n"
        "  gw: {type: gateway, servers: 1000, capacity: 100000, service: 0s}\n";
    counts c;
    CHECK_EQ(run_counts(yaml, reps, &c), 0);
    double lambda = (100 * 0.2 + 0 * 1.0 + 20 * 0.3) / (0.2 + 1.0 + 0.3);
    check_within("mmpp3 mean count", c.mean, lambda * 28, sqrt(c.var / reps));
    gs_scenario *sc = harness_load(yaml);
    CHECK(sc != NULL);
    if (sc)
        CHECK_NEAR(sc->workloads[0].rate, lambda, 1e-12);
}

/* Expected diurnal arrivals in [a, b): the integral of
 * rate (1 + A sin(2 pi t / P)). */
static double diurnal_integral(double rate, double A, double P, double a, double b)
{
    const double two_pi = 6.283185307179586;
    return rate * ((b - a) + A * P / two_pi * (cos(two_pi * a / P) - cos(two_pi * b / P)));
}

/* Counts per quarter of the second period, each over many replications
 * (warmup and duration cut the window). The total of R Poisson counts is
 * Poisson of mean R * integral. */
static void test_diurnal_quarters(void)
{
    const double rate = 100, A = 0.8, P = 8;
    const int reps = 300;
    for (int k = 0; k < 4; k++) {
        double a = P + k * P / 4, b = a + P / 4;
        char yaml[1024];
        snprintf(yaml, sizeof yaml,
                 "simulation: {duration: %gs, warmup: %gs, replications: 1, seed: 3}\n"
                 "workload:\n"
                 "  - name: c\n"
                 "    arrivals: {process: diurnal, rate: 100/s, amplitude: 0.8, period: 8s}\n"
                 "    entry: gw\n"
                 "components:\n"
                 "  gw: {type: gateway, servers: 1000, capacity: 100000, service: 0s}\n",
                 b, a);
        counts c;
        CHECK_EQ(run_counts(yaml, reps, &c), 0);
        double want = reps * diurnal_integral(rate, A, P, a, b);
        char what[64];
        snprintf(what, sizeof what, "diurnal quarter %d total", k + 1);
        check_within(what, c.mean * reps, want, sqrt(want));
    }
    /* Amplitude 0 is a plain Poisson process: the IDC is 1. */
    counts c;
    const int preps = 400;
    CHECK_EQ(run_counts("simulation: {duration: 10s, replications: 1, seed: 9}\n"
                        "workload:\n"
                        "  - name: c\n"
                        "    arrivals: {process: diurnal, rate: 60/s, amplitude: 0, "
                        "period: 1s}\n"
                        "    entry: gw\n"
                        "components:\n"
                        "  gw: {type: gateway, servers: 1000, capacity: 100000, "
                        "service: 0s}\n",
                        preps, &c),
             0);
    check_within("diurnal A=0 total", c.mean * preps, 600.0 * preps, sqrt(600.0 * preps));
    /* For a Poisson count of mean mu, Var(s^2) ~ (mu + 2 mu^2) / R. */
    check_within("diurnal A=0 variance", c.var, 600, sqrt((600 + 2 * 600.0 * 600) / preps));
}


/* ---- empirical -------------------------------------------------------- */

/* The scratch directory of this run (relative to the working directory),
 * made by mkdtemp and removed with its files at the end. */
static char scratch[] = "test-arrivals-XXXXXX";
static const char *scratch_files[32];
static size_t nscratch;

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", scratch, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
    if (nscratch < sizeof scratch_files / sizeof scratch_files[0])
        scratch_files[nscratch++] = name;
}

static void remove_scratch(void)
{
    char path[256];
    for (size_t i = 0; i < nscratch; i++) {
        snprintf(path, sizeof path, "%s/%s", scratch, scratch_files[i]);
        remove(path);
    }
    rmdir(scratch);
}

/* Configure "d: TEXT" of a document named SCRATCH/t.yaml, so relative files
 * are read from the scratch directory. */
static int emp_build(const char *text, gs_dist_unit unit, gs_dist *dist, gs_diag *d)
{
    char src[256];
    snprintf(src, sizeof src, "%s/t.yaml", scratch);
    gs_diag_init(d);
    gs_doc *doc;
    int rc = gs_doc_load_string(text, strlen(text), src, &doc, d);
    if (rc)
        return rc;
    rc = gs_dist_configure(dist, doc, gs_map_get(gs_doc_root(doc), "d"), unit, d);
    gs_doc_free(doc);
    return rc;
}

static void emp_bad(const char *text, const char *phrase)
{
    gs_dist dist;
    gs_diag d;
    int rc = emp_build(text, GS_DIST_TIME, &dist, &d);
    CHECK_EQ(rc, GS_EINVAL);
    if (rc == GS_OK)
        gs_dist_release(&dist);
    if (!strstr(d.msg, "t.yaml:1:") || !strstr(d.msg, phrase)) {
        fprintf(stderr, "message lacks 't.yaml:1:' / '%s': %s\n", phrase, d.msg);
        CHECK(0);
    }
}

/* A file of 2000 skewed values (and a header, a unit, a blank line):
 * the distribution's moments are the file's, and 200000 draws have the
 * file's mean within 5 standard errors sqrt(var / n). */
static void test_empirical(void)
{
    if (!mkdtemp(scratch)) {
        CHECK(0);
        return;
    }
    enum { NV = 2000, ND = 200000 };
    static char text[NV * 24 + 64];
    size_t off = (size_t)snprintf(text, sizeof text, "latency_s\n5ms\n\n");
    double sum = 0.005, vals[NV + 1];
    vals[0] = 0.005;
    for (int i = 1; i <= NV; i++) {
        /* Spread over four decades, deterministic. */
        double x = 1e-4 * pow(10.0, 4.0 * (double)((i * 7919) % NV) / NV);
        off += (size_t)snprintf(text + off, sizeof text - off, "%.17g\n", x);
        vals[i] = x;
        sum += x;
    }
    write_file("lat.txt", text);
    double mean = sum / (NV + 1), var = 0;
    for (int i = 0; i <= NV; i++)
        var += (vals[i] - mean) * (vals[i] - mean);
    var /= NV + 1;

    gs_dist dist;
    gs_diag d;
    int rc = emp_build("d: {dist: empirical, file: lat.txt}", GS_DIST_TIME, &dist, &d);
    CHECK_EQ(rc, GS_OK);
    if (rc) {
        fprintf(stderr, "%s\n", d.msg);
        return;
    }
    CHECK_NEAR(gs_dist_mean(&dist), mean, 1e-12 * mean);
    CHECK_NEAR(gs_dist_variance(&dist), var, 1e-9 * var);
    gsl_rng *r = gs_rng_new(7, 0, "empirical");
    double s = 0, lo = INFINITY, hi = 0;
    for (int i = 0; i < ND; i++) {
        double x = gs_dist_sample(&dist, r);
        s += x;
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
    }
    gsl_rng_free(r);
    check_within("empirical sample mean", s / ND, mean, sqrt(var / ND));
    CHECK(lo >= 1e-4 && hi <= 1.0);
    gs_dist_release(&dist);

    /* Counts take plain numbers; a unit is not a number. */
    write_file("tok.csv", "tokens\n10\n20\n30\n60\n");
    rc = emp_build("d: {dist: empirical, file: tok.csv}", GS_DIST_COUNT, &dist, &d);
    CHECK_EQ(rc, GS_OK);
    if (rc == GS_OK) {
        CHECK_NEAR(gs_dist_mean(&dist), 30, 1e-12);
        CHECK_NEAR(gs_dist_variance(&dist), (400 + 100 + 0 + 900) / 4.0, 1e-9);
        gs_dist_release(&dist);
    }

    write_file("bad.txt", "v\n1ms\nfast\n");
    write_file("neg.txt", "1ms\n-2ms\n");
    write_file("empty.txt", "value\n\n");
    write_file("two.csv", "a,b\n1,2\n");
    emp_bad("d: {dist: empirical, file: nope.txt}", "cannot open");
    emp_bad("d: {dist: empirical, file: bad.txt}", "bad.txt:3: expected one time");
    emp_bad("d: {dist: empirical, file: neg.txt}", "neg.txt:2: values must be >= 0");
    emp_bad("d: {dist: empirical, file: empty.txt}", "holds no values");
    emp_bad("d: {dist: empirical, file: two.csv}", "two.csv:2:");
    emp_bad("d: {dist: empirical}", "missing required key 'file'");
    emp_bad("d: {dist: empirical, file: lat.txt, mean: 1s}", "unknown key 'mean'");

    /* In a whole scenario: a gateway's service time from the file. */
    write_file("s.yaml", "simulation: {duration: 20s, seed: 2}\n"
                         "workload: [{name: c, arrivals: {process: poisson, rate: 50/s}, "
                         "entry: gw}]\n"
                         "components:\n"
                         "  gw: {type: gateway, servers: 100, service: {dist: empirical, "
                         "file: lat.txt}}\n");
    char path[256];
    snprintf(path, sizeof path, "%s/s.yaml", scratch);
    gs_scenario *sc;
    gs_diag_init(&d);
    rc = gs_scenario_load(path, NULL, 0, &sc, &d);
    CHECK_EQ(rc, GS_OK);
    if (rc == GS_OK) {
        gs_metrics m;
        CHECK_EQ(harness_run_sc(sc, 0, &m), GS_OK);
        double lat = harness_metric(&m, "system", "latency_mean");
        CHECK(lat > mean * 0.5 && lat < mean * 2 + 0.01);
        gs_metrics_release(&m);
        gs_scenario_free(sc);
    } else {
        fprintf(stderr, "%s\n", d.msg);
    }
}

/* ---- trace ------------------------------------------------------------ */

/* Arrivals of one replication of a trace scenario in [warmup, duration). */
static long trace_count(const char *file, const char *extra, gs_time warmup, gs_time duration)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "simulation: {duration: %lldns, warmup: %lldns, seed: 4}\n"
             "workload:\n"
             "  - name: c\n"
             "    arrivals: {process: trace, file: '%s'%s}\n"
             "    entry: gw\n"
             "components:\n"
             "  gw: {type: gateway, servers: 1000, capacity: 100000, service: 0s}\n",
             (long long)duration, (long long)warmup, file, extra);
    gs_diag d;
    gs_diag_init(&d);
    gs_scenario *sc;
    if (gs_scenario_load_string(yaml, "t.yaml", NULL, 0, &sc, &d) != GS_OK) {
        fprintf(stderr, "%s\n", d.msg);
        return -1;
    }
    gs_metrics m;
    long n = -1;
    if (harness_run_sc(sc, 1, &m) == GS_OK)
        n = lround(harness_metric(&m, "system", "offered_rate") *
                   gs_time_to_s(duration - warmup));
    gs_metrics_release(&m);
    gs_scenario_free(sc);
    return n;
}

/* Times that cross a leap day, a month, a year and midnight, with a tie and
 * 100 ns steps: arrival k is at exactly its time, since the arrivals before
 * t_k are those of earlier times and those before t_k + 1ns add the rows
 * at t_k. */
static void test_trace_times(void)
{
    static const char *const stamp[] = {
        "2024-02-28 23:59:59.9999999", "2024-02-29 00:00:00.0000001",
        "2024-02-29 00:00:00.0000001", "2024-03-01 00:00:00",
        "2024-12-31 23:59:59.5", "2025-01-01T00:00:00.25Z"};
    /* ns after the first row, by hand: 200 ns; the same; 1 day + 100 ns;
     * 306 days (March 1 to December 31) + 23:59:59.5 + 100 ns; + 0.75 s. */
    const gs_time day = 86400LL * 1000000000LL;
    const gs_time want[] = {0, 200, 200, day + 100, 306 * day + 86399500000100LL,
                            306 * day + 86400250000100LL};
    enum { NR = 6 };
    char text[512];
    size_t off = (size_t)snprintf(text, sizeof text, "TIMESTAMP,ContextTokens\n");
    for (int i = 0; i < NR; i++)
        off += (size_t)snprintf(text + off, sizeof text - off, "%s,%d\n", stamp[i], 10 + i);
    write_file("times.csv", text);
    char file[256];
    snprintf(file, sizeof file, "%s/times.csv", scratch);
    /* Through the loader: times and the token column. */
    char yaml[512];
    snprintf(yaml, sizeof yaml, "simulation: {duration: 10000h}\n"
             "workload: [{name: c, arrivals: {process: trace, file: '%s'}, entry: gw}]\n"
             "components: {gw: {type: gateway, servers: 1, service: 0s}}\n", file);
    gs_scenario *sc = harness_load(yaml);
    CHECK(sc != NULL);
    if (sc) {
        const gs_workload *w = &sc->workloads[0];
        CHECK_EQ(w->ntrace, NR);
        for (int i = 0; i < NR && i < (int)w->ntrace; i++) {
            CHECK_EQ(w->trace_time[i], want[i]);
            CHECK(w->trace_prompt && w->trace_prompt[i] == (uint32_t)(10 + i));
        }
        CHECK(w->trace_output == NULL && w->trace_key == NULL);
    }
    /* Through the engine: the arrivals fall at exactly those times. Times
     * in the scenario are parsed as doubles, exact in ns only below 2^53 ns
     * (104 days), so the rows after new year are checked by the loader
     * above only. */
    for (int k = 1; k < NR && want[k] < (1LL << 53); k++) {
        long before = 0, upto = 0;
        for (int i = 0; i < NR; i++) {
            before += want[i] < want[k];
            upto += want[i] <= want[k];
        }
        CHECK_EQ(trace_count(file, "", 0, want[k]), before);
        CHECK_EQ(trace_count(file, "", 0, want[k] + 1), upto);
    }
}

/* The shipped synthetic trace: every row is one arrival, and a window
 * holds the rows the file puts there (read here with sscanf). */
static void test_trace_file(void)
{
    const char *file = "scenarios/traces/synthetic-azure.csv";
    FILE *f = fopen(file, "r");
    CHECK(f != NULL);
    if (!f)
        return;
    char line[256];
    long rows = 0, in_window = 0;
    double first = -1;
    while (fgets(line, sizeof line, f)) {
        int h, mi;
        double se;
        if (sscanf(line, "2023-11-16 %d:%d:%lf,", &h, &mi, &se) != 3)
            continue;
        double t = h * 3600.0 + mi * 60.0 + se;
        if (first < 0)
            first = t;
        rows++;
        in_window += t - first >= 5 && t - first < 12;
    }
    fclose(f);
    CHECK_EQ(rows, 2000);
    CHECK_EQ(trace_count(file, "", 0, 3600LL * 1000000000LL), rows);
    CHECK_EQ(trace_count(file, "", 5000000000LL, 12000000000LL), in_window);
}

static void trace_bad(const char *name, const char *csv, const char *extra, const char *phrase)
{
    write_file(name, csv);
    char yaml[512];
    snprintf(yaml, sizeof yaml, "simulation: {duration: 10s}\n"
             "workload: [{name: c, arrivals: {process: trace, file: '%s/%s'%s}, entry: gw}]\n"
             "components: {gw: {type: gateway, servers: 1, service: 0s}}\n", scratch, name,
             extra);
    harness_bad(yaml, "t.yaml:2:", phrase);
}

static void test_trace_seconds_and_bad(void)
{
    write_file("secs.csv", "id,arrival_s,in,out,user\n"
                           "a,100.5,5,7,3\n"
                           "b,100.75,6,0,1\n"
                           "c,101.5,7,9,2\n");
    char yaml[512];
    snprintf(yaml, sizeof yaml, "simulation: {duration: 10s}\n"
             "workload: [{name: c, arrivals: {process: trace, file: '%s/secs.csv', "
             "time_column: arrival_s, format: seconds, prompt_column: in, output_column: out, "
             "key_column: user}, entry: gw}]\n"
             "components: {gw: {type: gateway, servers: 1, service: 0s}}\n", scratch);
    gs_scenario *sc = harness_load(yaml);
    CHECK(sc != NULL);
    if (sc) {
        const gs_workload *w = &sc->workloads[0];
        CHECK_EQ(w->ntrace, 3);
        CHECK_EQ(w->trace_time[1], 250000000);
        CHECK_EQ(w->trace_time[2], 1000000000);
        CHECK(w->trace_prompt && w->trace_prompt[2] == 7);
        CHECK(w->trace_output && w->trace_output[1] == 0);
        CHECK(w->trace_key && w->trace_key[0] == 3);
    }

    trace_bad("nocol.csv", "Time,ContextTokens\n2023-11-16 18:15:46.6805900,3\n", "",
              "nocol.csv:1:1: the header has no column 'TIMESTAMP' (time_column)");
    trace_bad("nocol2.csv", "TIMESTAMP\n2023-11-16 18:15:46.6805900\n", ", key_column: k",
              "nocol2.csv:1:1: the header has no column 'k' (key_column)");
    trace_bad("unsorted.csv", "TIMESTAMP,GeneratedTokens\n2023-11-16 18:15:46.6805900,3\n"
              "2023-11-16 18:15:47,3\n2023-11-16 18:15:46.9,3\n", "",
              "unsorted.csv:4:1: times must not decrease");
    trace_bad("nonnum.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n"
              "2023-11-16 18:15:46.6805900,3,4\n2023-11-16 18:15:47,3,many\n", "",
              "nonnum.csv:3:3: expected a token count");
    trace_bad("badtime.csv", "TIMESTAMP\n2023-11-16 18:15:46\n2023-02-30 18:15:47\n", "",
              "badtime.csv:3:1: expected a timestamp");
    trace_bad("badsec.csv", "t\n1.5\n2.5s\n", ", time_column: t, format: seconds",
              "badsec.csv:3:1: expected a time in seconds");
    trace_bad("empty.csv", "", "", "empty.csv:1:1: no rows");
    trace_bad("header.csv", "TIMESTAMP,ContextTokens\n", "", "header.csv:1:1: no rows");
    trace_bad("short.csv", "x,TIMESTAMP,ContextTokens\n1,2023-11-16 18:15:46,5\n"
              "2,2023-11-16 18:15:47\n", "", "short.csv:3:3: the row ends before column "
              "ContextTokens");
    trace_bad("blank.csv", "TIMESTAMP,ContextTokens\n2023-11-16 18:15:46, \n", "",
              "blank.csv:2:2: empty cell");
    trace_bad("quote.csv", "TIMESTAMP\n\"2023-11-16 18:15:46\n", "", "quote.csv:2:1: malformed CSV");
    trace_bad("none.csv", "TIMESTAMP\n", ", format: iso", "format: expected timestamp");
    harness_bad("simulation: {duration: 10s}\n"
                "workload: [{name: c, arrivals: {process: trace, file: no-such.csv}, "
                "entry: gw}]\n"
                "components: {gw: {type: gateway, servers: 1, service: 0s}}\n",
                "t.yaml:2:55:", "cannot open 'no-such.csv'");
    harness_bad("simulation: {duration: 10s}\n"
                "workload: [{name: c, arrivals: {process: trace, rate: 5/s}, entry: gw}]\n"
                "components: {gw: {type: gateway, servers: 1, service: 0s}}\n",
                "t.yaml:2:49:", "unknown key 'rate'");
}

#define HEAD "simulation: {duration: 10s}\nworkload:\n  - name: c\n    entry: gw\n"
#define TAIL "components:\n  gw: {type: gateway, servers: 1, service: 1ms}\n"

static void test_bad(void)
{
    harness_bad(HEAD "    arrivals: {process: mmpp, rate: 5/s}\n" TAIL, "t.yaml:5:31:",
                "unknown key 'rate'");
    harness_bad(HEAD "    arrivals: {process: mmpp}\n" TAIL, "t.yaml:5:15:",
                "missing required key 'states'");
    harness_bad(HEAD "    arrivals: {process: mmpp, states: [{rate: 5/s, mean_sojourn: 1s}]}\n"
                TAIL, "t.yaml:5:39:", "expected 2 to 64 states, found 1");
    harness_bad(HEAD "    arrivals: {process: mmpp, states: {rate: 5/s}}\n" TAIL,
                "t.yaml:5:39:", "expected a sequence");
    harness_bad(HEAD "    arrivals: {process: mmpp, states: [{rate: 5/s, mean_sojourn: 1s}, 3]}\n"
                TAIL, "t.yaml:5:71:", "each state is a mapping");
    harness_bad(HEAD "    arrivals: {process: mmpp, states: [{rate: 5/s, mean_sojourn: 1s},\n"
                "                                       {rate: 5/s, mean_sojurn: 1s}]}\n" TAIL,
                "t.yaml:6:52:", "did you mean 'mean_sojourn'");
    harness_bad(HEAD "    arrivals: {process: mmpp, states: [{rate: 5/s, mean_sojourn: 1s},\n"
                "                                       {rate: 5/s}]}\n" TAIL,
                "t.yaml:6:40:", "missing required key 'mean_sojourn'");
    harness_bad(HEAD "    arrivals: {process: mmpp, states: [{rate: 0/s, mean_sojourn: 1s},\n"
                "                                       {rate: 0, mean_sojourn: 2s}]}\n" TAIL,
                "t.yaml:5:39:", "at least one state must have a rate > 0");
    harness_bad(HEAD "    arrivals: {process: mmpp, states: [{rate: -1/s, mean_sojourn: 1s},\n"
                "                                       {rate: 5/s, mean_sojourn: 0s}]}\n" TAIL,
                "t.yaml:5:47:", "rate");
    harness_bad(HEAD "    arrivals: {process: mmpp, states: [{rate: 1/s, mean_sojourn: 1s},\n"
                "                                       {rate: 5/s, mean_sojourn: 0s}]}\n" TAIL,
                "t.yaml:6:66:", "mean_sojourn: must be");
    harness_bad(HEAD "    arrivals: {process: mmpp, states: [{rate: 2e9/s, mean_sojourn: 1s},\n"
                "                                       {rate: 5/s, mean_sojourn: 1s}]}\n" TAIL,
                "t.yaml:5:47:", "at most 1e9/s");
    harness_bad(HEAD "    arrivals: {process: diurnal, rate: 5/s, period: 1h}\n" TAIL,
                "t.yaml:5:15:", "missing required key 'amplitude'");
    harness_bad(HEAD "    arrivals: {process: diurnal, rate: 5/s, amplitude: 1.5, period: 1h}\n"
                TAIL, "t.yaml:5:56:", "amplitude: must be between 0 and 1");
    harness_bad(HEAD "    arrivals: {process: diurnal, rate: 5/s, amplitude: 0.5}\n" TAIL,
                "t.yaml:5:15:", "missing required key 'period'");
    harness_bad(HEAD "    arrivals: {process: diurnal, rate: 5/s, amplitude: 0.5, period: 0s}\n"
                TAIL, "t.yaml:5:69:", "period: must be > 0");
    harness_bad(HEAD "    arrivals: {process: diurnal, rate: 9e8/s, amplitude: 0.5, "
                "period: 1s}\n" TAIL, "t.yaml:5:40:", "peak rate");
    harness_bad(HEAD "    arrivals: {process: diurnal, rate: 5/s, amplitude: 0.5, period: 1h,\n"
                "               states: []}\n" TAIL, "t.yaml:6:16:", "unknown key 'states'");
    harness_bad(HEAD "    arrivals: {process: mmp}\n" TAIL, "t.yaml:5:25:", "did you mean 'mmpp'");
}

int main(void)
{
    test_bad();
    test_mmpp_two_states();
    test_mmpp_stationary_start();
    test_mmpp_three_states();
    test_diurnal_quarters();
    test_empirical();
    test_trace_times();
    test_trace_file();
    test_trace_seconds_and_bad();
    remove_scratch();
    harness_done();
    return CHECK_DONE();
}
