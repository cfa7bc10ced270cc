/* The gpu_pool component and the profiles it reads.
 *
 * Profiles: exact at grid points, monotone between them, clamped outside
 * with the flag set; the closed-form sums against brute force; bad files
 * (header, non-numeric cells, ragged grids, ...) reported at FILE:ROW:COL;
 * every allocation failure handled.
 * The pool: policy none with a constant profile is M/D/c (1 GPU against
 * Pollaczek-Khinchine; 3 GPUs against utilisation and throughput, and
 * waiting below M/M/c's), with tolerances from the spread over
 * replications; exact timelines of static and continuous batching (the
 * mixed iteration priced as prefill + decode); continuous batching under
 * KV pressure keeps its self-checks (KV bound every iteration, token
 * conservation) and conserves tokens end to end; static and dynamic batches
 * never exceed max_batch; outages; determinism; bad scenarios at
 * FILE:LINE:COL. Scratch files live in a directory made with mkdtemp under
 * $TMPDIR (else the working directory), removed at the end. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/theory.h"
#include "kernels/kernels.h"
#include "kernels/profile.h"
#include "sim/alloc.h"
#include "sim/replicate.h"
#include "sim/stats.h"
#include "tests/harness.h"

static char scratch[400];
static char files[48][600];
static size_t nfiles;

/* Write text to scratch/name; the path goes to files[] for removal. */
static const char *put(const char *name, const char *text)
{
    char *path = files[nfiles++];
    snprintf(path, sizeof files[0], "%s/%s", scratch, name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

/* A profile of model m where every pass takes c seconds. */
static const char *constant_profile(const char *name, const char *m, double c)
{
    char text[2048];
    size_t off = (size_t)snprintf(text, sizeof text, "%s\n", GS_PROFILE_HEADER);
    static const char *const ph[] = {"prefill", "decode"};
    for (int p = 0; p < 2; p++)
        for (int b = 1; b <= 64; b *= 64)
            for (long t = 1; t <= 100000; t *= 100000)
                off += (size_t)snprintf(text + off, sizeof text - off, "cpu,test,%s,%s,%d,%ld,%g\n",
                                        m, ph[p], b, t, c);
    return put(name, text);
}

/* ---- profiles ---- */

/* prefill: batch {1, 4, 16} x tokens {100, 200, 400}; decode: batch {1, 8}
 * x context {10, 1000}; times increase along both axes. */
static double f_pre(double b, double t) { return 1e-3 * (1 + 0.5 * b) * (1 + t / 100); }
static double f_dec(double b, double t) { return 1e-4 * (2 + b) + 1e-7 * b * t; }

static const char *grid_profile(void)
{
    char text[4096];
    size_t off = (size_t)snprintf(text, sizeof text, "%s\r\n", GS_PROFILE_HEADER);
    static const int pb[] = {16, 1, 4}, pt[] = {400, 100, 200};  /* any row order */
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            off += (size_t)snprintf(text + off, sizeof text - off,
                                    "cpu,\"Test CPU, 2 cores\",deepseek-mini,prefill,%d,%d,%.17g\r\n",
                                    pb[i], pt[j], f_pre(pb[i], pt[j]));
    static const int db[] = {1, 8}, dt[] = {10, 1000};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            off += (size_t)snprintf(text + off, sizeof text - off,
                                    "\ncpu,\"Test CPU, 2 cores\",deepseek-mini,decode,%d,%d,%.17g",
                                    db[i], dt[j], f_dec(db[i], dt[j]));
    return put("grid.csv", text);
}

static void profile_grid(void)
{
    gs_diag d;
    gs_diag_init(&d);
    gs_profile *p = NULL;
    const char *path = grid_profile();
    CHECK_EQ(gs_profile_load(path, &p, &d), GS_OK);
    if (!p) {
        fprintf(stderr, "%s\n", d.msg);
        return;
    }
    CHECK(strcmp(gs_profile_model(p), "deepseek-mini") == 0);
    CHECK(strcmp(gs_profile_backend(p), "cpu") == 0);
    CHECK(strcmp(gs_profile_device(p), "Test CPU, 2 cores") == 0);
    double b0, b1, t0, t1;
    gs_profile_bounds(p, GS_PHASE_PREFILL, &b0, &b1, &t0, &t1);
    CHECK(b0 == 1 && b1 == 16 && t0 == 100 && t1 == 400);
    gs_profile_bounds(p, GS_PHASE_DECODE, &b0, &b1, &t0, &t1);
    CHECK(b0 == 1 && b1 == 8 && t0 == 10 && t1 == 1000);
    /* Exact at every grid point, and no clamping there. */
    static const int pb[] = {1, 4, 16}, pt[] = {100, 200, 400};
    int clamped = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            CHECK(gs_profile_time(p, GS_PHASE_PREFILL, pb[i], pt[j], &clamped) ==
                  f_pre(pb[i], pt[j]));
    CHECK(gs_profile_time(p, GS_PHASE_DECODE, 8, 1000, &clamped) == f_dec(8, 1000));
    CHECK(gs_profile_time(p, GS_PHASE_DECODE, 1, 10, &clamped) == f_dec(1, 10));
    CHECK_EQ(clamped, 0);
    /* Monotone between grid points along each axis (the data increase
     * along both), and bilinear: the middle of a cell is the mean of its
     * corners. */
    for (int ph = 0; ph < 2; ph++) {
        gs_profile_bounds(p, (gs_phase)ph, &b0, &b1, &t0, &t1);
        for (int k = 0; k <= 40; k++) {
            double prev_t = 0, prev_b = 0;
            for (int j = 0; j <= 200; j++) {
                double x = gs_profile_time(p, (gs_phase)ph, b0 + (b1 - b0) * k / 40.0,
                                           t0 + (t1 - t0) * j / 200.0, &clamped);
                double y = gs_profile_time(p, (gs_phase)ph, b0 + (b1 - b0) * j / 200.0,
                                           t0 + (t1 - t0) * k / 40.0, &clamped);
                CHECK(x >= prev_t && y >= prev_b);
                prev_t = x;
                prev_b = y;
            }
        }
    }
    CHECK_NEAR(gs_profile_time(p, GS_PHASE_PREFILL, 2.5, 150, NULL),
               (f_pre(1, 100) + f_pre(4, 100) + f_pre(1, 200) + f_pre(4, 200)) / 4, 1e-15);
    CHECK_EQ(clamped, 0);
    /* Outside: clamped to the edge, and flagged. */
    CHECK(gs_profile_time(p, GS_PHASE_PREFILL, 64, 400, &clamped) == f_pre(16, 400));
    CHECK_EQ(clamped, 1);
    clamped = 0;
    CHECK(gs_profile_time(p, GS_PHASE_DECODE, 8, 5, &clamped) == f_dec(8, 10));
    CHECK_EQ(clamped, 1);
    clamped = 0;
    CHECK(gs_profile_time(p, GS_PHASE_DECODE, 0.5, 2000, &clamped) == f_dec(1, 1000));
    CHECK_EQ(clamped, 1);
    /* Sums in closed form against one term at a time, inside and across
     * the edges of the grid. */
    static const uint64_t ranges[][2] = {{10, 1000}, {1, 9}, {1, 2000}, {17, 523},
                                         {999, 1003}, {1500, 1600}, {400, 400}};
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++)
        for (double b = 1; b <= 12; b += 2.75) {
            double brute = 0;
            int c1 = 0, c2 = 0;
            for (uint64_t t = ranges[r][0]; t <= ranges[r][1]; t++)
                brute += gs_profile_time(p, GS_PHASE_DECODE, b, (double)t, &c1);
            double sum = gs_profile_sum(p, GS_PHASE_DECODE, b, ranges[r][0], ranges[r][1], &c2);
            CHECK_NEAR(sum, brute, 1e-12 * brute);
            CHECK_EQ(c1, c2);
        }
    CHECK(gs_profile_sum(p, GS_PHASE_DECODE, 1, 5, 4, NULL) == 0);
    gs_profile_free(p);
}

/* One axis with a single value: linear along the other, constant along it. */
static void profile_one_axis(void)
{
    const char *path = put("axis.csv",
                           "\xEF\xBB\xBF" GS_PROFILE_HEADER "\n"
                           "cpu,x,m,prefill,1,100,1\n"
                           "cpu,x,m,prefill,1,300,3\n"
                           "cpu,x,m,decode,2,50,0.5\n"
                           "cpu,x,m,decode,4,50,1.5\n\n");
    gs_diag d;
    gs_diag_init(&d);
    gs_profile *p = NULL;
    CHECK_EQ(gs_profile_load(path, &p, &d), GS_OK);
    if (!p)
        return;
    int clamped = 0;
    CHECK_NEAR(gs_profile_time(p, GS_PHASE_PREFILL, 1, 200, &clamped), 2, 1e-15);
    CHECK_EQ(clamped, 0);
    CHECK_NEAR(gs_profile_time(p, GS_PHASE_PREFILL, 8, 250, &clamped), 2.5, 1e-15);
    CHECK_EQ(clamped, 1);
    clamped = 0;
    CHECK_NEAR(gs_profile_time(p, GS_PHASE_DECODE, 3, 50, &clamped), 1, 1e-15);
    CHECK_NEAR(gs_profile_sum(p, GS_PHASE_DECODE, 3, 50, 50, &clamped), 1, 1e-15);
    CHECK_EQ(clamped, 0);
    CHECK_NEAR(gs_profile_sum(p, GS_PHASE_DECODE, 3, 40, 59, &clamped), 20, 1e-12);
    CHECK_EQ(clamped, 1);
    gs_profile_free(p);
}

static void bad_profile(const char *name, const char *text, const char *where, const char *phrase)
{
    const char *path = put(name, text);
    gs_diag d;
    gs_diag_init(&d);
    gs_profile *p = NULL;
    CHECK_EQ(gs_profile_load(path, &p, &d), GS_EINVAL);
    CHECK(p == NULL);
    char want[700];
    snprintf(want, sizeof want, "%s%s", path, where);
    if (!strstr(d.msg, want) || !strstr(d.msg, phrase)) {
        fprintf(stderr, "message lacks '%s' / '%s': %s\n", want, phrase, d.msg);
        CHECK(0);
    }
    gs_profile_free(p);
}

#define HDR GS_PROFILE_HEADER "\n"
#define OK4 "cpu,x,m,prefill,1,1,1\ncpu,x,m,decode,1,1,1\n"

static void profile_errors(void)
{
    bad_profile("b1.csv", "backend,device,model,phase,batch,seconds\n" OK4, ":1:6:",
                "expected 'tokens' in column 6, got 'seconds'");
    bad_profile("b2.csv", "backend,device,model,phase,batch,tokens\n" OK4, ":1:7:",
                "expected 7 columns, got 6");
    bad_profile("b3.csv", HDR "cpu,x,m,prefill,1,1,1\ncpu,x,m,decode,1,1,abc\n", ":3:7:",
                "seconds: expected a number > 0, got 'abc'");
    bad_profile("b4.csv", HDR "cpu,x,m,prefill,1,1,0\n", ":2:7:", "expected a number > 0");
    bad_profile("b5.csv", HDR "cpu,x,m,prefill,1.5,1,1\n", ":2:5:", "batch: expected a whole");
    bad_profile("b6.csv", HDR "cpu,x,m,prefill,1,,1\n", ":2:6:", "tokens: expected a whole");
    bad_profile("b7.csv", HDR "cpu,x,m,prefill,1,1\n", ":2:7:", "expected 7 fields");
    bad_profile("b8.csv", HDR "cpu,x,m,prefil,1,1,1\n", ":2:4:", "phase: expected prefill or");
    bad_profile("b9.csv", HDR OK4 "cpu,x,other,decode,2,1,1\n", ":4:3:",
                "every row must have the same model");
    bad_profile("b10.csv", HDR "cpu,x,m,prefill,1,1,1\n", ": no decode rows", "both");
    /* Ragged: batch 2 lacks tokens 20. */
    bad_profile("b11.csv", HDR "cpu,x,m,prefill,1,10,1\ncpu,x,m,prefill,1,20,1\n"
                "cpu,x,m,prefill,2,10,1\ncpu,x,m,decode,1,1,1\n", ": the prefill grid is not "
                "rectangular", "no row for batch 2 and tokens 20");
    bad_profile("b12.csv", HDR OK4 "cpu,x,m,decode,1,1,2\n", ":4:5:", "duplicate row");
    bad_profile("b13.csv", "", ":1:1:", "empty profile");
    bad_profile("b14.csv", HDR "cpu,x,m,prefill,1,1,\"1\n", ":2:7:", "malformed CSV");
    bad_profile("b15.csv", HDR "cpu,x,m,prefill,1,1,nan\n", ":2:7:", "got 'nan'");
    gs_diag d;
    gs_diag_init(&d);
    gs_profile *p = NULL;
    char missing[600];
    snprintf(missing, sizeof missing, "%s/none.csv", scratch);
    CHECK_EQ(gs_profile_load(missing, &p, &d), GS_EIO);
    CHECK(strstr(d.msg, "none.csv: cannot open") != NULL);
}

/* Every allocation of a load may fail: GS_ENOMEM, nothing leaked. */
static void profile_alloc_failures(void)
{
    const char *path = grid_profile();
    int ok = 0;
    for (long n = 1; n < 1000 && !ok; n++) {
        gs_diag d;
        gs_diag_init(&d);
        gs_profile *p = NULL;
        gs_alloc_fail_nth(n);
        int rc = gs_profile_load(path, &p, &d);
        gs_alloc_fail_nth(0);
        CHECK(rc == GS_OK || rc == GS_ENOMEM);
        ok = rc == GS_OK;
        CHECK(ok == (p != NULL));
        gs_profile_free(p);
    }
    CHECK(ok);
}

/* ---- the pool ---- */

typedef struct summary {
    double s1, s2, mean, sd;
    int    n;
} summary;

static void add(summary *s, double x)
{
    s->s1 += x;
    s->s2 += x * x;
    s->n++;
    s->mean = s->s1 / s->n;
    double v = s->n > 1 ? (s->s2 - s->s1 * s->s1 / s->n) / (s->n - 1) : 0;
    s->sd = v > 0 ? sqrt(v) : 0;
}

/* Over replications 0..n-1: the mean and standard deviation of metric
 * names[k] ("component.metric") into out[k]. */
static void over_reps(const gs_scenario *sc, int n, const char *const *names, summary *out)
{
    size_t k = 0;
    for (; names[k]; k++)
        memset(&out[k], 0, sizeof out[k]);
    for (int i = 0; i < n; i++) {
        gs_metrics m;
        CHECK_EQ(harness_run_sc(sc, (uint64_t)i, &m), GS_OK);
        for (size_t j = 0; j < k; j++) {
            char comp[64];
            const char *dot = strchr(names[j], '.');
            snprintf(comp, sizeof comp, "%.*s", (int)(dot - names[j]), names[j]);
            add(&out[j], harness_metric(&m, comp, dot + 1));
        }
        gs_metrics_release(&m);
    }
}

/* |mean - want| within five standard errors of the replication means. */
static void check_ci(summary s, double want, const char *what)
{
    double tol = 5 * s.sd / sqrt(s.n);
    if (!(fabs(s.mean - want) <= tol)) {
        fprintf(stderr, "%s: %.9g over %d replications (sd %.3g), theory %.9g\n", what, s.mean,
                s.n, s.sd, want);
        CHECK(0);
    } else {
        CHECK(1);
    }
}

static const char *constant;   /* 1ms per pass, deepseek-mini */

/* Policy none on 1 GPU with every pass 1ms and 4 output tokens: service is
 * exactly D = 4ms, so the pool is M/D/1. */
static void md1(void)
{
    char yaml[2048];
    double lambda = 150, D = 0.004;
    snprintf(yaml, sizeof yaml,
             "simulation: {duration: 200s, warmup: 20s, replications: 8}\n"
             "network: {latency: 0s}\n"
             "workload: [{name: a, arrivals: {process: poisson, rate: %g/s}, prompt_tokens: 16,\n"
             "            output_tokens: 4, entry: p}]\n"
             "components:\n"
             "  p:\n"
             "    type: gpu_pool\n"
             "    model: deepseek-mini\n"
             "    batching: {policy: none}\n"
             "    service_time:\n"
             "      profile: %s\n", lambda, constant);
    gs_scenario *sc = harness_load(yaml);
    CHECK(sc != NULL);
    if (!sc)
        return;
    gs_queue_theory q;
    CHECK_EQ(gs_theory_mg1(lambda, D, 0, &q), 0);
    static const char *const names[] = {"p.response_mean", "p.wait_mean", "p.gpu_busy_ratio",
                                        "p.queue_mean", "p.throughput", "system.ttft_mean",
                                        NULL};
    summary s[6];
    over_reps(sc, 8, names, s);
    check_ci(s[0], q.response_mean, "M/D/1 response");
    check_ci(s[1], q.wait_mean, "M/D/1 wait");
    check_ci(s[2], lambda * D, "M/D/1 busy");
    check_ci(s[3], q.queue_mean, "M/D/1 queue");
    check_ci(s[4], lambda, "M/D/1 throughput");
    /* The first token comes 1ms into service; every later one 1ms apart. */
    check_ci(s[5], q.wait_mean + 0.001, "M/D/1 ttft");
    gs_metrics m;
    CHECK_EQ(harness_run_sc(sc, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "system", "tpot_mean"), 0.001, 1e-12);
    CHECK_NEAR(harness_metric(&m, "system", "tpot_p99"), 0.001, 0.001 * GS_HIST_REL_ERROR);
    CHECK_NEAR(harness_metric(&m, "p", "batch_mean"), 1, 0);
    CHECK_NEAR(harness_metric(&m, "p", "batch_max"), 1, 0);
    CHECK_NEAR(harness_metric(&m, "p", "utilization"), harness_metric(&m, "p", "gpu_busy_ratio"),
               1e-12);
    CHECK(isnan(harness_metric(&m, "p", "kv_used_ratio")));
    CHECK_NEAR(harness_metric(&m, "p", "invariant_violations"), 0, 0);
    /* Every generated token is counted: 4 per request. */
    CHECK_NEAR(harness_metric(&m, "p", "tokens_per_s"), 4 * harness_metric(&m, "p", "throughput"),
               1e-9);
    gs_metrics_release(&m);
}

/* Three GPUs: utilisation lambda D / c and throughput lambda; a
 * deterministic service waits less than an exponential one of the same
 * mean (M/M/c). */
static void mdc(void)
{
    char yaml[2048];
    double lambda = 525, D = 0.004;
    snprintf(yaml, sizeof yaml,
             "simulation: {duration: 60s, warmup: 5s, replications: 8}\n"
             "network: {latency: 0s}\n"
             "workload: [{name: a, arrivals: {process: poisson, rate: %g/s}, prompt_tokens: 100,\n"
             "            output_tokens: 4, entry: p}]\n"
             "components:\n"
             "  p: {type: gpu_pool, gpus: 3, model: deepseek-mini, batching: {policy: none},\n"
             "      service_time: {profile: %s}}\n", lambda, constant);
    gs_scenario *sc = harness_load(yaml);
    CHECK(sc != NULL);
    if (!sc)
        return;
    static const char *const names[] = {"p.gpu_busy_ratio", "p.throughput", "p.wait_mean",
                                        NULL};
    summary s[3];
    over_reps(sc, 8, names, s);
    check_ci(s[0], lambda * D / 3, "M/D/3 busy");
    check_ci(s[1], lambda, "M/D/3 throughput");
    gs_queue_theory q;
    CHECK_EQ(gs_theory_mmc(lambda, 1 / D, 3, &q), 0);
    CHECK(s[2].mean > 0.3 * q.wait_mean && s[2].mean < 0.7 * q.wait_mean);
}

/* Static batching, arrivals every 1ms, max_batch 4: a batch starts when
 * its 4th request arrives and takes 4ms (every pass 1ms, 4 tokens), just
 * as long as the next batch takes to form. Requests wait 3, 2, 1, 0 ms. */
static void static_exact(void)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "simulation: {duration: 10s, warmup: 1s, replications: 1}\n"
             "network: {latency: 0s}\n"
             "workload: [{name: a, arrivals: {process: deterministic, rate: 1000/s},\n"
             "            prompt_tokens: 16, output_tokens: 4, entry: p}]\n"
             "components:\n"
             "  p: {type: gpu_pool, model: deepseek-mini,\n"
             "      batching: {policy: static, max_batch: 4, max_wait: 100ms},\n"
             "      service_time: {profile: %s}}\n", constant);
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "p", "response_mean"), 0.0055, 1e-12);
    CHECK_NEAR(harness_metric(&m, "p", "wait_mean"), 0.0015, 1e-12);
    CHECK_NEAR(harness_metric(&m, "p", "batch_mean"), 4, 0);
    CHECK_NEAR(harness_metric(&m, "p", "batch_max"), 4, 0);
    CHECK_NEAR(harness_metric(&m, "p", "gpu_busy_ratio"), 1, 1e-9);
    CHECK_NEAR(harness_metric(&m, "p", "tokens_per_s"), 4000, 1e-6);
    gs_metrics_release(&m);
    /* Arrivals every 100ms: each request waits max_wait (10ms) alone. */
    snprintf(yaml, sizeof yaml,
             "simulation: {duration: 10s, warmup: 1s, replications: 1}\n"
             "network: {latency: 0s}\n"
             "workload: [{name: a, arrivals: {process: deterministic, rate: 10/s},\n"
             "            prompt_tokens: 16, output_tokens: 4, entry: p}]\n"
             "components:\n"
             "  p: {type: gpu_pool, model: deepseek-mini,\n"
             "      batching: {policy: static, max_batch: 4, max_wait: 10ms},\n"
             "      service_time: {profile: %s}}\n", constant);
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "p", "response_mean"), 0.014, 1e-12);
    CHECK_NEAR(harness_metric(&m, "system", "ttft_mean"), 0.011, 1e-12);
    CHECK_NEAR(harness_metric(&m, "p", "batch_mean"), 1, 0);
    gs_metrics_release(&m);
}

/* Continuous batching of two requests sent at the same instant (two
 * workloads), every pass 1ms, 4 tokens each. A: prefill [0, 1]; then A's
 * decode with B's prefill, priced 1 + 1 = 2ms: [1, 3]; then both decode:
 * [3, 4], [4, 5] (A done: 5ms), B alone [5, 6] (6ms). TTFT: A 1ms, B 3ms. */
static void continuous_exact(void)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "simulation: {duration: 10s, warmup: 1s, replications: 1}\n"
             "network: {latency: 0s}\n"
             "workload:\n"
             "  - {name: a, arrivals: {process: deterministic, rate: 1/s}, prompt_tokens: 16,\n"
             "     output_tokens: 4, entry: p}\n"
             "  - {name: b, arrivals: {process: deterministic, rate: 1/s}, prompt_tokens: 16,\n"
             "     output_tokens: 4, entry: p}\n"
             "components:\n"
             "  p: {type: gpu_pool, model: deepseek-mini, batching: {policy: continuous},\n"
             "      service_time: {profile: %s}}\n", constant);
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "p", "response_mean"), 0.0055, 1e-12);
    CHECK_NEAR(harness_metric(&m, "system", "ttft_mean"), 0.002, 1e-12);
    /* A: (5 - 1) / 3; B: (6 - 3) / 3. */
    CHECK_NEAR(harness_metric(&m, "system", "tpot_mean"), (4.0 / 3 + 1) / 2 * 1e-3, 1e-12);
    /* Iterations per pair: 1, 2, 2, 2, 1 sequences. */
    CHECK_NEAR(harness_metric(&m, "p", "batch_mean"), 8.0 / 5, 1e-12);
    CHECK_NEAR(harness_metric(&m, "p", "batch_max"), 2, 0);
    CHECK_NEAR(harness_metric(&m, "p", "wait_mean"), 0.0005, 1e-12);
    gs_metrics_release(&m);
}

/* Continuous batching under KV pressure: 2 GPUs with 1500 KV tokens each,
 * prompts up to 200 and outputs up to 128 tokens (uniform, rounded: mean
 * 64.5 output tokens), 100 requests/s. Sequences are preempted, yet the
 * KV bound and token conservation hold in every iteration
 * (invariant_violations), and tokens leave at the rate they are asked for. */
static void continuous_kv(void)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "simulation: {duration: 60s, warmup: 5s, replications: 6}\n"
             "network: {latency: 0s}\n"
             "workload: [{name: a, arrivals: {process: poisson, rate: 100/s},\n"
             "            prompt_tokens: {dist: uniform, min: 1, max: 200},\n"
             "            output_tokens: {dist: uniform, min: 1, max: 128}, entry: p}]\n"
             "components:\n"
             "  p: {type: gpu_pool, gpus: 2, model: deepseek-mini, kv_cache_tokens: 1500,\n"
             "      batching: {policy: continuous, max_batch: 16, max_tokens: 256},\n"
             "      service_time: {profile: %s}}\n", constant);
    gs_scenario *sc = harness_load(yaml);
    CHECK(sc != NULL);
    if (!sc)
        return;
    /* tokens/s = arrivals/s x 64.5 in the long run: the difference has
     * mean 0. */
    summary diff = {0};
    for (int i = 0; i < 6; i++) {
        gs_metrics m;
        CHECK_EQ(harness_run_sc(sc, (uint64_t)i, &m), GS_OK);
        CHECK_NEAR(harness_metric(&m, "p", "invariant_violations"), 0, 0);
        CHECK(harness_metric(&m, "p", "kv_peak_ratio") <= 1);
        CHECK(harness_metric(&m, "p", "kv_used_ratio") > 0);
        CHECK(harness_metric(&m, "p", "preempted_ratio") > 0);
        CHECK(harness_metric(&m, "p", "batch_max") <= 16);
        CHECK_NEAR(harness_metric(&m, "system", "availability"), 1, 0);
        add(&diff, harness_metric(&m, "p", "tokens_per_s") -
                       64.5 * harness_metric(&m, "system", "offered_rate"));
        gs_metrics_release(&m);
    }
    check_ci(diff, 0, "tokens per second - 64.5 x arrivals per second");
}

/* The pool's time series stays within what the pool can hold: busy GPUs
 * <= gpus, sequences <= gpus x max_batch, KV tokens <= gpus x
 * kv_cache_tokens; and it is not empty under load. */
static void series_bounds(void)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "simulation: {duration: 30s, warmup: 2s, replications: 2, sample_interval: 1s}\n"
             "network: {latency: 0s}\n"
             "workload: [{name: a, arrivals: {process: poisson, rate: 100/s},\n"
             "            prompt_tokens: {dist: uniform, min: 1, max: 200},\n"
             "            output_tokens: {dist: uniform, min: 1, max: 128}, entry: p}]\n"
             "components:\n"
             "  p: {type: gpu_pool, gpus: 2, model: deepseek-mini, kv_cache_tokens: 1500,\n"
             "      batching: {policy: continuous, max_batch: 16, max_tokens: 256},\n"
             "      service_time: {profile: %s}}\n", constant);
    gs_scenario *sc = harness_load(yaml);
    CHECK(sc != NULL);
    if (!sc)
        return;
    const char *want[] = {"queue", "busy", "sequences", "kv_tokens", "up"};
    const double most[] = {INFINITY, 2, 32, 3000, 1};
    size_t col[5], nc = gs_trace_ncols(sc), ns = gs_trace_samples(sc);
    for (size_t w = 0; w < 5; w++) {
        col[w] = nc;
        for (size_t k = 0; k < nc; k++) {
            const char *comp, *name;
            if (gs_trace_column(sc, k, &comp, &name) == GS_OK && strcmp(comp, "p") == 0 &&
                strcmp(name, want[w]) == 0)
                col[w] = k;
        }
        CHECK(col[w] < nc);
    }
    gs_results res;
    gs_diag d;
    gs_diag_init(&d);
    CHECK_EQ(gs_replicate_traced(sc, 0, 2, 2, NULL, NULL, &res, &d), GS_OK);
    double peak[5] = {0};
    for (size_t r = 0; r < 2; r++)
        for (size_t k = 0; k < ns; k++)
            for (size_t w = 0; w < 5 && col[w] < nc; w++) {
                double v = res.traces[r].series[k * nc + col[w]];
                CHECK(v >= 0 && v <= most[w]);
                peak[w] = v > peak[w] ? v : peak[w];
            }
    for (size_t w = 1; w < 5; w++)
        CHECK(peak[w] > 0);
    gs_results_release(&res);
}

/* A request that can never fit the KV cache is refused at once. */
static void kv_refused(void)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "simulation: {duration: 10s, replications: 1}\n"
             "workload: [{name: a, arrivals: {process: poisson, rate: 10/s}, prompt_tokens: 60,\n"
             "            output_tokens: 50, entry: p}]\n"
             "components:\n"
             "  p: {type: gpu_pool, model: deepseek-mini, kv_cache_tokens: 100,\n"
             "      service_time: {profile: %s}}\n", constant);
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "system", "error_ratio"), 1, 0);
    CHECK_NEAR(harness_metric(&m, "p", "blocked_ratio"), 1, 0);
    gs_metrics_release(&m);
}

/* Static and dynamic batching under overload never exceed max_batch, and
 * reach it; a finite queue blocks the excess. */
static void batch_bounds(void)
{
    static const char *const pol[] = {"static, max_wait: 2ms", "dynamic"};
    for (int i = 0; i < 2; i++) {
        char yaml[2048];
        snprintf(yaml, sizeof yaml,
                 "simulation: {duration: 20s, warmup: 2s, replications: 1}\n"
                 "workload: [{name: a, arrivals: {process: poisson, rate: 3000/s},\n"
                 "            prompt_tokens: {dist: exponential, mean: 50},\n"
                 "            output_tokens: {dist: exponential, mean: 8}, entry: p}]\n"
                 "components:\n"
                 "  p: {type: gpu_pool, gpus: 2, model: deepseek-mini, capacity: 200,\n"
                 "      batching: {policy: %s, max_batch: 6}, service_time: {profile: %s}}\n",
                 pol[i], constant);
        gs_metrics m;
        CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
        CHECK_NEAR(harness_metric(&m, "p", "batch_max"), 6, 0);
        CHECK(harness_metric(&m, "p", "batch_mean") <= 6);
        CHECK(harness_metric(&m, "p", "batch_mean") > 5);
        CHECK(harness_metric(&m, "p", "blocked_ratio") > 0);
        CHECK(harness_metric(&m, "p", "queue_mean") <= 200);
        CHECK(harness_metric(&m, "p", "utilization") <= 1);
        CHECK_NEAR(harness_metric(&m, "p", "invariant_violations"), 0, 0);
        gs_metrics_release(&m);
    }
}

/* An outage of 1s in a 9s window: down_ratio 1/9, what the pool holds
 * fails, and the self-checks hold across the failure. */
static void outage(void)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "simulation: {duration: 10s, warmup: 1s, replications: 1}\n"
             "workload: [{name: a, arrivals: {process: poisson, rate: 100/s},\n"
             "            prompt_tokens: 20, output_tokens: {dist: exponential, mean: 20},\n"
             "            entry: p}]\n"
             "components:\n"
             "  p: {type: gpu_pool, model: deepseek-mini, kv_cache_tokens: 600,\n"
             "      batching: {policy: continuous, max_batch: 8},\n"
             "      service_time: {profile: %s}, outages: [{at: 5s, for: 1s}],\n"
             "      slowdowns: [{at: 7s, for: 1s, factor: 2}]}\n", constant);
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "p", "down_ratio"), 1.0 / 9, 1e-12);
    double err = harness_metric(&m, "system", "error_ratio");
    CHECK(err > 0.09 && err < 0.2);
    CHECK_NEAR(harness_metric(&m, "p", "invariant_violations"), 0, 0);
    gs_metrics_release(&m);
}

/* Same seed and replication, same bytes; another replication differs. */
static void determinism(void)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "simulation: {duration: 20s, warmup: 2s, replications: 2}\n"
             "workload: [{name: a, arrivals: {process: poisson, rate: 200/s},\n"
             "            prompt_tokens: {dist: lognormal, mean: 100, cv: 1},\n"
             "            output_tokens: {dist: lognormal, mean: 30, cv: 1}, entry: p}]\n"
             "components:\n"
             "  p: {type: gpu_pool, gpus: 2, model: deepseek-mini, kv_cache_tokens: 4000,\n"
             "      batching: {policy: continuous, max_batch: 8}, service_time: {profile: %s}}\n",
             constant);
    gs_scenario *sc = harness_load(yaml);
    CHECK(sc != NULL);
    if (!sc)
        return;
    gs_metrics a, b, c;
    CHECK_EQ(harness_run_sc(sc, 1, &a), GS_OK);
    CHECK_EQ(harness_run_sc(sc, 1, &b), GS_OK);
    CHECK_EQ(harness_run_sc(sc, 0, &c), GS_OK);
    CHECK_EQ(a.n, b.n);
    int same = a.n == b.n, differ = 0;
    for (size_t i = 0; same && i < a.n; i++)
        same = memcmp(&a.v[i].value, &b.v[i].value, sizeof(double)) == 0;
    for (size_t i = 0; i < a.n && i < c.n; i++)
        differ |= memcmp(&a.v[i].value, &c.v[i].value, sizeof(double)) != 0;
    CHECK(same);
    CHECK(differ);
    gs_metrics_release(&a);
    gs_metrics_release(&b);
    gs_metrics_release(&c);
}

/* A run may lose any allocation: GS_ENOMEM or GS_OK, nothing leaked. */
static void run_alloc_failures(void)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "simulation: {duration: 300ms, replications: 1}\n"
             "workload: [{name: a, arrivals: {process: poisson, rate: 1000/s}, prompt_tokens: 9,\n"
             "            output_tokens: 5, entry: p}]\n"
             "components:\n"
             "  p: {type: gpu_pool, gpus: 2, model: deepseek-mini, kv_cache_tokens: 60,\n"
             "      batching: {policy: continuous, max_batch: 4}, service_time: {profile: %s},\n"
             "      outages: [{at: 100ms, for: 10ms}]}\n", constant);
    gs_scenario *sc = harness_load(yaml);
    CHECK(sc != NULL);
    if (!sc)
        return;
    int ok = 0;
    for (long n = 1; n < 5000 && !ok; n++) {
        gs_metrics m;
        memset(&m, 0, sizeof m);
        gs_diag d;
        gs_diag_init(&d);
        gs_alloc_fail_nth(n);
        int rc = gs_run_replication(sc, 0, &m, NULL, NULL, &d);
        gs_alloc_fail_nth(0);
        CHECK(rc == GS_OK || rc == GS_ENOMEM);
        ok = rc == GS_OK;
        gs_metrics_release(&m);
    }
    CHECK(ok);
}

/* A tiny inline model run live on the CPU kernels, where they can run. */
static void live(void)
{
    if (!gs_kernel_cpu.available()) {
        fprintf(stderr, "live: skipped, the CPU kernels cannot run here\n");
        return;
    }
    const char *yaml =
        "simulation: {duration: 500ms, replications: 1}\n"
        "workload: [{name: a, arrivals: {process: deterministic, rate: 10/s}, prompt_tokens: 8,\n"
        "            output_tokens: 3, entry: p}]\n"
        "components:\n"
        "  p: {type: gpu_pool, model: {name: tiny, layers: 2, d_model: 64, heads: 4, d_ff: 128,\n"
        "      vocab: 256}, batching: {policy: continuous, max_batch: 2},\n"
        "      service_time: {source: live, backend: cpu}}\n";
    gs_metrics m;
    CHECK_EQ(harness_run(yaml, 0, &m), GS_OK);
    /* Measured times are whatever this machine takes (the first passes
     * may be slow while caches fill), so only the client's view, which
     * waits for every answer, is certain. */
    CHECK_NEAR(harness_metric(&m, "system", "ok_ratio"), 1, 0);
    CHECK(harness_metric(&m, "system", "ttft_mean") > 0);
    CHECK(harness_metric(&m, "system", "tpot_mean") > 0);
    CHECK(harness_metric(&m, "system", "latency_mean") >= harness_metric(&m, "system",
                                                                          "ttft_mean"));
    gs_metrics_release(&m);
}

/* A profile is found relative to the scenario's directory and those above
 * it; without `profile` the pool takes kernels/profiles/BACKEND-MODEL.csv
 * and writes the choice into the scenario. A profile of another backend
 * than the one asked for is only a warning. */
static void lookup(void)
{
    static const char *const dirs[] = {"sub", "sub/deeper", "kernels", "kernels/profiles", NULL};
    char path[700];
    for (size_t i = 0; dirs[i]; i++) {
        snprintf(path, sizeof path, "%s/%s", scratch, dirs[i]);
        CHECK_EQ(mkdir(path, 0777), 0);
    }
    constant_profile("up.csv", "deepseek-mini", 0.002);
    constant_profile("kernels/profiles/cpu-gs-test-model.csv", "gs-test-model", 0.003);
    const char *yaml = put("sub/deeper/s.yaml",
        "simulation: {duration: 10s, replications: 1}\n"
        "network: {latency: 0s}\n"
        "workload: [{name: a, arrivals: {process: deterministic, rate: 1/s}, output_tokens: 2,\n"
        "            entry: p}]\n"
        "components:\n"
        "  p: {type: gpu_pool, model: deepseek-mini, batching: {policy: none},\n"
        "      service_time: {profile: up.csv, backend: cuda}, next: q}\n"
        "  q: {type: gpu_pool, batching: {policy: none},\n"
        "      model: {name: gs-test-model, layers: 1, d_model: 64, heads: 4, d_ff: 64, vocab: 8}}\n");
    gs_diag d;
    gs_diag_init(&d);
    gs_scenario *sc = NULL;
    CHECK_EQ(gs_scenario_load(yaml, NULL, 0, &sc, &d), GS_OK);
    if (!sc) {
        fprintf(stderr, "%s\n", d.msg);
        return;
    }
    /* Two passes in p (2ms each), then two in q (3ms each). */
    gs_metrics m;
    CHECK_EQ(harness_run_sc(sc, 0, &m), GS_OK);
    CHECK_NEAR(harness_metric(&m, "system", "latency_mean"), 0.01, 1e-12);
    gs_metrics_release(&m);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK(f != NULL);
    if (f) {
        CHECK_EQ(gs_scenario_emit(sc, f), GS_OK);
        fclose(f);
        /* The file found, as an absolute path: the resolved scenario reads
         * it from anywhere. */
        const char *base = strrchr(scratch, '/');
        char want[800];
        snprintf(want, sizeof want, "%s/kernels/profiles/cpu-gs-test-model.csv\n",
                 base ? base : scratch);
        const char *at = strstr(text, want), *line = at;
        while (line && line > text && line[-1] != '\n')
            line--;
        CHECK(at && strncmp(line, "      profile: /", 16) == 0);
        if (!at)
            fprintf(stderr, "  no '%s' in:\n%s\n", want, text);
        free(text);
    }
    gs_scenario_free(sc);
    for (int i = 3; i >= 0; i--)
        snprintf(files[nfiles++], sizeof files[0], "%s/%s", scratch, dirs[i]);
}

static void bad_scenarios(void)
{
    const char *other = constant_profile("llama.csv", "llama2-7b", 0.001);
    const char *ragged = put("ragged.csv", HDR "cpu,x,deepseek-mini,prefill,1,10,1\n"
                             "cpu,x,deepseek-mini,prefill,2,20,1\n"
                             "cpu,x,deepseek-mini,decode,1,1,1\n");
    const char *nonnum = put("nonnum.csv", HDR "cpu,x,deepseek-mini,prefill,1,10,1\n"
                             "cpu,x,deepseek-mini,decode,1,1,fast\n");
    struct { const char *model, *extra, *profile, *pos, *phrase; } cases[] = {
        {"deepseek-mni", "", constant, "t.yaml:8:12:", "did you mean 'deepseek-mini'"},
        {"deepseek-mini", "", other, "t.yaml:11:16:", "measured for model 'llama2-7b'"},
        {"deepseek-mini", "", ragged, "t.yaml:11:16:", "grid is not rectangular"},
        {"deepseek-mini", "", nonnum, "t.yaml:11:16:", "nonnum.csv:3:7: seconds: expected"},
        {"deepseek-mini", "", "no-such.csv", "t.yaml:11:16:", "cannot open 'no-such.csv'"},
        {"deepseek-mini", "batching: {policy: contiuous}", constant, "t.yaml:9:24:",
         "did you mean 'continuous'"},
        {"deepseek-mini", "batching: {policy: none, max_batch: 4}", constant, "t.yaml:9:30:",
         "policy none serves one request"},
        {"deepseek-mini", "batching: {policy: dynamic, max_wait: 1ms}", constant,
         "t.yaml:9:33:", "never waits"},
        {"deepseek-mini", "batching: {policy: static, max_tokens: 10}", constant,
         "t.yaml:9:32:", "remove max_tokens"},
        {"deepseek-mini", "batching: {max_batch: 0}", constant, "t.yaml:9:27:",
         "between 1 and 65536"},
        {"deepseek-mini", "kv_cache_tokens: 1", constant, "t.yaml:9:22:",
         "between 2 and"},
        {"deepseek-mini", "gpus: 0", constant, "t.yaml:9:11:", "gpus: must be between 1"},
        {"deepseek-mini", "capacity: -1", constant, "t.yaml:9:15:", "capacity"},
        {"deepseek-mini", "batchin: {}", constant, "t.yaml:9:5:", "did you mean 'batching'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[2048];
        snprintf(yaml, sizeof yaml,
                 "simulation: {duration: 1s}\n"
                 "workload: [{name: a, arrivals: {process: poisson, rate: 1/s}, entry: p}]\n"
                 "components:\n"
                 "  q: {type: service, service: 1ms}\n"
                 "  p:\n"
                 "    type: gpu_pool\n"
                 "    next: q\n"
                 "    model: %s\n"
                 "    %s\n"
                 "    service_time:\n"
                 "      profile: %s\n", cases[i].model, cases[i].extra[0] ? cases[i].extra :
                 "gpus: 1", cases[i].profile);
        harness_bad(yaml, cases[i].pos, cases[i].phrase);
    }
    harness_bad("simulation: {duration: 1s}\n"
                "workload: [{name: a, arrivals: {process: poisson, rate: 1/s}, entry: p}]\n"
                "components:\n"
                "  p: {type: gpu_pool, gpus: 2}\n", "t.yaml:4:6:", "missing required key 'model'");
    harness_bad("simulation: {duration: 1s}\n"
                "workload: [{name: a, arrivals: {process: poisson, rate: 1/s}, entry: p}]\n"
                "components:\n"
                "  p: {type: gpu_pool, model: deepseek-mini,\n"
                "      service_time: {source: live, profile: x.csv}}\n",
                "t.yaml:5:36:", "only source: profile reads a profile");
    harness_bad("simulation: {duration: 1s}\n"
                "workload: [{name: a, arrivals: {process: poisson, rate: 1/s}, entry: p}]\n"
                "components:\n"
                "  p: {type: gpu_pool, model: deepseek-mini,\n"
                "      service_time: {source: live, backend: gpu}}\n",
                "t.yaml:5:45:", "backend: unknown value 'gpu'");
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = ".";
    snprintf(scratch, sizeof scratch, "%s/gs_test_gpu_pool_XXXXXX", base);
    if (!mkdtemp(scratch)) {
        fprintf(stderr, "mkdtemp %s: %s\n", scratch, strerror(errno));
        return 1;
    }
    constant = constant_profile("constant.csv", "deepseek-mini", 0.001);
    profile_grid();
    profile_one_axis();
    profile_errors();
    profile_alloc_failures();
    md1();
    mdc();
    static_exact();
    continuous_exact();
    continuous_kv();
    series_bounds();
    kv_refused();
    batch_bounds();
    outage();
    determinism();
    run_alloc_failures();
    live();
    lookup();
    bad_scenarios();
    harness_done();
    /* Files first, then the directories, deepest first (as listed). */
    for (size_t i = 0; i < nfiles; i++)
        if (unlink(files[i]) != 0)
            rmdir(files[i]);
    rmdir(scratch);
    return CHECK_DONE();
}
