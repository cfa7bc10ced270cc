/* Resource limits (docs/scenarios.md, "Limits"): what a scenario may ask for
 * is bounded with a message naming the key, and a large scenario -- 10^4
 * components with 10^6 requests in flight -- runs within the documented
 * memory per component and per request in flight.
 *
 * Memory is the growth of the process's resident set during the run over
 * its value just before, so it counts what the engine touches, not what it
 * reserves. Sanitizers add red zones and quarantine to every allocation,
 * so there the large case runs at a tenth of the size and its memory bound
 * is not checked (the test says so); the Release build checks it. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/alloc.h"
#include "sim/replicate.h"
#include "tests/harness.h"

#if defined(__SANITIZE_ADDRESS__) || defined(GS_POOL_MALLOC)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* The documented bounds (docs/scenarios.md): per request or attempt alive at
 * once, and per declared component, in one replication. */
#define BYTES_PER_COMPONENT 4096.0
#define BASE_BYTES (32.0 * 1024 * 1024)

/* The resident set now (Linux's /proc/self/statm), or -1. */
static double rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    long size = 0, resident = -1;
    int got = fscanf(f, "%ld %ld", &size, &resident);
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return got == 2 && resident >= 0 && page > 0 ? (double)resident * (double)page : -1;
}

/* The engine's progress tick (every 65536 events) samples the resident
 * set: pools and queues only grow during a run, so the last samples see
 * its peak. (The kernel's own high-water mark is not used: it can miss
 * memory that the allocator hands back before it is read.) */
static void sample_rss(void *arg, double fraction)
{
    (void)fraction;
    double *peak = arg, now = rss_bytes();
    if (now > *peak)
        *peak = now;
}

/* Run replication 0 of sc with the growth of the resident set over its
 * value just before; *grew < 0 when it cannot be measured. */
static int measured_run(const gs_scenario *sc, gs_metrics *m, gs_run_info *info, double *grew,
                        double *wall)
{
    double before = rss_bytes(), peak = before;
    gs_tick tick = {sample_rss, &peak};
    gs_diag d;
    gs_diag_init(&d);
    memset(m, 0, sizeof *m);
    double t0 = gs_wall_seconds();
    int rc = gs_run_replication(sc, 0, m, info, &tick, &d);
    *wall = gs_wall_seconds() - t0;
    if (rc)
        fprintf(stderr, "%s\n", d.msg);
    *grew = before >= 0 ? peak - before : -1;
    return rc;
}

/* Where the bound can be checked: not under sanitizers, and only where the
 * peak could be measured. */
static int bound_checked(double grew, const char *what)
{
    if (SANITIZED)
        fprintf(stderr, "%s: memory bound NOT checked in a sanitized build (red zones and "
                        "quarantine inflate every allocation); the Release build checks it\n",
                what);
    else if (grew < 0)
        fprintf(stderr, "%s: memory bound NOT checked: this system does not show the "
                        "resident set (/proc/self/statm)\n", what);
    return !SANITIZED && grew >= 0;
}

/* A growing text buffer for generated scenarios. */
typedef struct text {
    char  *s;
    size_t n, cap;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(t->s ? t->s + t->n : NULL, t->s ? t->cap - t->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0)
            abort();
        if (t->s && t->n + (size_t)k < t->cap) {
            t->n += (size_t)k;
            return;
        }
        size_t cap = t->cap ? 2 * t->cap : 4096;
        while (cap < t->n + (size_t)k + 1)
            cap *= 2;
        char *ns = realloc(t->s, cap);
        if (!ns)
            abort();
        t->s = ns;
        t->cap = cap;
    }
}

/* One load balancer spreading `rate` arrivals per second over ncomp - 1
 * single-server services whose service takes `service`. With a long
 * service, arrivals come far faster than the services answer for the whole
 * second, so nearly all are in flight at once (each as the client's request
 * and the balancer's attempt). */
static char *wide_scenario(long ncomp, double rate, const char *service)
{
    text t = {0};
    put(&t, "name: wide\nsimulation: {duration: 1s, replications: 1}\n"
            "workload: [{name: flood, arrivals: {process: poisson, rate: %.17g}, entry: lb}]\n"
            "components:\n  lb:\n    type: load_balancer\n    targets: [",
        rate);
    for (long i = 1; i < ncomp; i++)
        put(&t, "%ss%ld", i > 1 ? ", " : "", i);
    put(&t, "]\n");
    for (long i = 1; i < ncomp; i++)
        put(&t, "  s%ld: {type: service, servers: 1, service: %s}\n", i, service);
    return t.s;
}

/* An overloaded queue stops at max_in_flight with a message naming the key
 * where it was given, or the simulation section where it was defaulted. */
static void in_flight_limit(void)
{
    const char *yaml =
        "simulation:\n"
        "  duration: 10s\n"
        "  replications: 1\n"
        "  max_in_flight: 1000\n"
        "workload: [{name: c, arrivals: {process: poisson, rate: 1000/s}, entry: s}]\n"
        "components:\n"
        "  s: {type: service, servers: 1, service: 10ms}\n";
    gs_scenario *sc = harness_load(yaml);
    CHECK(sc != NULL);
    if (!sc)
        return;
    CHECK_EQ(sc->max_in_flight, 1000);
    gs_diag d;
    gs_diag_init(&d);
    gs_metrics m = {0};
    gs_run_info info = {0};
    CHECK_EQ(gs_run_replication(sc, 0, &m, &info, NULL, &d), GS_EINVAL);
    CHECK(strstr(d.msg, "t.yaml:4:18: max_in_flight: replication 0 reached 1000 requests") != NULL);
    CHECK(strstr(d.msg, "capacity") != NULL);
    CHECK_EQ(info.peak_in_flight, 1000);
    gs_metrics_release(&m);

    /* The same system with a bounded queue loses requests instead and
     * never comes near the limit. */
    const char *bounded =
        "simulation: {duration: 10s, replications: 1, max_in_flight: 1000}\n"
        "workload: [{name: c, arrivals: {process: poisson, rate: 1000/s}, entry: s}]\n"
        "components:\n"
        "  s: {type: service, servers: 1, capacity: 50, service: 10ms}\n";
    sc = harness_load(bounded);
    CHECK(sc != NULL);
    if (!sc)
        return;
    gs_diag_init(&d);
    memset(&info, 0, sizeof info);
    m = (gs_metrics){0};
    CHECK_EQ(gs_run_replication(sc, 0, &m, &info, NULL, &d), GS_OK);
    CHECK(info.peak_in_flight <= 52);
    /* Offered load 10 on one server: about 9 in 10 arrivals find it full. */
    CHECK(harness_metric(&m, "s", "blocked_ratio") > 0.85);
    gs_metrics_release(&m);

    /* Defaulted: 10^7. */
    const char *dflt =
        "simulation: {duration: 1s, replications: 1}\n"
        "workload: [{name: c, arrivals: {process: poisson, rate: 100/s}, entry: s}]\n"
        "components:\n"
        "  s: {type: service, servers: 1, service: 1ms}\n";
    sc = harness_load(dflt);
    CHECK(sc != NULL);
    if (sc)
        CHECK_EQ(sc->max_in_flight, 10000000);
}

static void bad_limits(void)
{
    const char *tail = "workload: [{name: c, arrivals: {process: poisson, rate: 1/s}, "
                       "entry: s}]\ncomponents:\n  s: {type: service, service: 1ms}\n";
    char yaml[1024];
    snprintf(yaml, sizeof yaml, "simulation: {duration: 1s, max_in_flight: 0}\n%s", tail);
    harness_bad(yaml, "1:43", "max_in_flight: must be between 1 and 1000000000, got 0");
    snprintf(yaml, sizeof yaml, "simulation: {duration: 1s, max_in_flight: 1.5}\n%s", tail);
    harness_bad(yaml, "1:43", "max_in_flight");

    /* More components than allowed: refused before any is configured. */
    text t = {0};
    put(&t, "simulation: {duration: 1s}\n"
            "workload: [{name: c, arrivals: {process: poisson, rate: 1/s}, entry: s0}]\n"
            "components:\n");
    for (long i = 0; i <= 100000; i++)
        put(&t, "  s%ld: {type: service, service: 1ms}\n", i);
    harness_bad(t.s, "4:3", "components: 100001 declared, more than the limit of 100000");
    free(t.s);
}

/* Memory that grows with duration / sample_interval is refused before the
 * run, naming sample_interval: the recovery windows of a replication with
 * scheduled faults, and the time series a traced run keeps of every
 * replication. */
static void sample_limits(void)
{
    const char *faults =
        "simulation: {duration: 1000h, sample_interval: 100us, replications: 1}\n"
        "workload: [{name: c, arrivals: {process: poisson, rate: 1/s}, entry: s}]\n"
        "components:\n"
        "  s: {type: service, service: 1ms, outages: [{at: 1s, for: 1s}]}\n";
    gs_scenario *sc = harness_load(faults);
    CHECK(sc != NULL);
    gs_diag d;
    gs_metrics m = {0};
    if (sc) {
        gs_diag_init(&d);
        CHECK_EQ(gs_run_replication(sc, 0, &m, NULL, NULL, &d), GS_EINVAL);
        CHECK(strstr(d.msg, "t.yaml:1:48: sample_interval: recovery_time follows") != NULL);
        CHECK(strstr(d.msg, "use a sample_interval of at least 0.36s") != NULL);
        gs_metrics_release(&m);
    }
    const char *series =
        "simulation: {duration: 10h, sample_interval: 1ms, replications: 10}\n"
        "workload: [{name: c, arrivals: {process: poisson, rate: 1/s}, entry: s}]\n"
        "components:\n"
        "  s: {type: service, service: 1ms}\n";
    sc = harness_load(series);
    CHECK(sc != NULL);
    if (sc) {
        gs_diag_init(&d);
        gs_results res;
        CHECK_EQ(gs_replicate_traced(sc, 0, 10, 1, NULL, NULL, &res, &d), GS_EINVAL);
        CHECK(strstr(d.msg, "t.yaml:1:46: sample_interval: the time series of 10 replications")
              != NULL);
        CHECK(strstr(d.msg, "raise sample_interval or run fewer replications") != NULL);
    }
}

/* 10^4 components, 10^6 client requests in flight (2 x 10^6 requests and
 * attempts): it runs, every request is answered, and the peak resident set
 * grows by no more than the documented bound. */
static void large(void)
{
    long ncomp = 10000;
    double rate = SANITIZED ? 1e5 : 1e6;
    char *yaml = wide_scenario(ncomp, rate, "100s");
    gs_scenario *sc = harness_load(yaml);
    free(yaml);
    CHECK(sc != NULL);
    if (!sc)
        return;
    CHECK_EQ(sc->ncomponents, ncomp);
    gs_metrics m;
    gs_run_info info = {0};
    double grew, wall;
    CHECK_EQ(measured_run(sc, &m, &info, &grew, &wall), GS_OK);
    /* Poisson arrivals in one second: the count is within 6 standard
     * deviations of the rate; each is held with its attempt. */
    CHECK((double)info.peak_in_flight >= 2 * (rate - 6 * sqrt(rate)));
    CHECK_NEAR(harness_metric(&m, "system", "ok_ratio"), 1.0, 1e-12);
    double bound = BASE_BYTES + (double)ncomp * BYTES_PER_COMPONENT +
                   (double)info.peak_in_flight * GS_BYTES_PER_REQUEST;
    fprintf(stderr,
            "large: %ld components, peak %zu requests and attempts in flight, %llu events, "
            "%.2f s; peak RSS grew %.1f MB = %.0f bytes per request in flight (all "
            "included); bound %.1f MB\n",
            ncomp, info.peak_in_flight, (unsigned long long)info.events, wall, grew / 1e6,
            grew / (double)info.peak_in_flight, bound / 1e6);
    if (bound_checked(grew, "large"))
        CHECK(grew <= bound);
    gs_metrics_release(&m);
}

/* Many components and little traffic: what a component itself costs. */
static void per_component(void)
{
    long ncomp = 10000;
    char *yaml = wide_scenario(ncomp, 1000, "1ms");
    gs_scenario *sc = harness_load(yaml);
    free(yaml);
    CHECK(sc != NULL);
    if (!sc)
        return;
    gs_metrics m;
    gs_run_info info = {0};
    double grew, wall;
    CHECK_EQ(measured_run(sc, &m, &info, &grew, &wall), GS_OK);
    fprintf(stderr, "per component: peak RSS grew %.0f bytes per component over %ld (%.2f s)\n",
            grew / (double)ncomp, ncomp, wall);
    if (bound_checked(grew, "per component"))
        CHECK(grew <= BASE_BYTES + (double)ncomp * BYTES_PER_COMPONENT);
    gs_metrics_release(&m);
}

int main(void)
{
    in_flight_limit();
    bad_limits();
    sample_limits();
    per_component();
    large();
    harness_done();
    return CHECK_DONE();
}
