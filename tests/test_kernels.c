/* Tests of the CPU kernel backend (kernels/cpu/cpu.c) and of calibration
 * (kernels/calibrate.c).
 *
 * The layer is checked against a reference written here, separately, in the
 * most direct form: triple loops in double precision, one token at a time,
 * attention by its definition. Both run on the weights the backend drew
 * (read back with get()), on small shapes that still cover what can go
 * wrong: grouped KV heads (and one KV head), prefill longer than one query
 * tile with a partial last tile, decode over a cache, mixture of experts with
 * and without shared experts, and the head. fp32 against double gives
 * relative errors near 1e-6; the bound 1e-4 leaves room for sums of a few
 * hundred terms and still catches any wrong index, which moves outputs by
 * O(1).
 *
 * Calibration runs in-process on a tiny model and grid, into a scratch
 * directory made with mkdtemp (under $TMPDIR, else the working directory),
 * and its CSV is read back: the exact header, one row per grid point in
 * order, positive seconds, and the provenance file beside it. */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernels/calibrate.h"
#include "kernels/kernels.h"
#include "sim/alloc.h"
#include "sim/error.h"
#include "tests/check.h"

#define REL_TOL 1e-4

static const gs_kernel_backend *be = &gs_kernel_cpu;

static gs_model_shape shape(const char *name, uint32_t d, uint32_t heads, uint32_t kvh,
                            uint32_t hd, uint32_t dff, uint32_t experts, uint32_t top_k,
                            uint32_t shared, uint32_t eff, uint32_t vocab)
{
    gs_model_shape m;
    memset(&m, 0, sizeof m);
    snprintf(m.name, sizeof m.name, "%s", name);
    m.layers = 3;
    m.d_model = d;
    m.heads = heads;
    m.kv_heads = kvh;
    m.head_dim = hd;
    m.d_ff = dff;
    m.experts = experts;
    m.top_k = top_k;
    m.shared_experts = shared;
    m.expert_ff = eff;
    m.vocab = vocab;
    m.dtype = GS_DTYPE_F32;
    m.source = "test";
    return m;
}

/* ---- the reference ---------------------------------------------------- */

typedef struct ref {
    const gs_model_shape *m;
    uint32_t mb, mt;
    float *t[GS_KT_COUNT];     /* copies of the backend's tensors */
} ref;

static int ref_load(ref *r, gs_kernel_layer *w, const gs_model_shape *m, uint32_t mb,
                    uint32_t mt)
{
    gs_diag d;
    gs_diag_init(&d);
    memset(r, 0, sizeof *r);
    r->m = m;
    r->mb = mb;
    r->mt = mt;
    for (int i = 0; i < GS_KT_COUNT; i++) {
        size_t n = gs_kernel_tensor_len(m, mb, mt, (gs_kernel_tensor)i);
        if (!n)
            continue;
        r->t[i] = malloc(n * sizeof(float));
        if (!r->t[i] || be->get(w, (gs_kernel_tensor)i, r->t[i], n, &d))
            return -1;
    }
    return 0;
}

static void ref_free(ref *r)
{
    for (int i = 0; i < GS_KT_COUNT; i++)
        free(r->t[i]);
}

static void ref_rmsnorm(const float *x, const float *g, size_t d, double *y)
{
    double ss = 0;
    for (size_t i = 0; i < d; i++)
        ss += (double)x[i] * x[i];
    double inv = 1 / sqrt(ss / (double)d + 1e-5);
    for (size_t i = 0; i < d; i++)
        y[i] = x[i] * inv * g[i];
}

static void ref_rmsnorm_d(const double *x, const float *g, size_t d, double *y)
{
    double ss = 0;
    for (size_t i = 0; i < d; i++)
        ss += x[i] * x[i];
    double inv = 1 / sqrt(ss / (double)d + 1e-5);
    for (size_t i = 0; i < d; i++)
        y[i] = x[i] * inv * g[i];
}

static double silu(double x)
{
    return x / (1 + exp(-x));
}

/* out[d] += scale * SwiGLU(h) with w13 [d x 2f], w2 [f x d]. */
static void ref_swiglu(const double *h, const float *w13, const float *w2, size_t d, size_t f,
                       double scale, double *out)
{
    for (size_t j = 0; j < f; j++) {
        double a = 0, b = 0;
        for (size_t i = 0; i < d; i++) {
            a += h[i] * w13[i * 2 * f + j];
            b += h[i] * w13[i * 2 * f + f + j];
        }
        double u = silu(a) * b;
        for (size_t c = 0; c < d; c++)
            out[c] += scale * u * w2[j * d + c];
    }
}

static float *cache_at(ref *r, gs_kernel_tensor t, size_t b, size_t g, size_t pos)
{
    return r->t[t] + ((b * r->m->kv_heads + g) * r->mt + pos) * r->m->head_dim;
}

/* The layer for rows tokens; token i is sequence seq[i] at position pos[i]
 * and attends over positions 0..pos[i] of its sequence. Writes K and V of
 * every token into the reference's cache first (all rows), then attends. */
static void ref_layer(ref *r, size_t rows, const size_t *seq, const size_t *pos, double *y)
{
    const gs_model_shape *m = r->m;
    size_t d = m->d_model, hd = m->head_dim, H = m->heads, G = m->kv_heads;
    size_t cols = (H + 2 * G) * hd, half = hd / 2;
    double *q = calloc(rows * H * hd, sizeof *q);
    double *h = calloc(d, sizeof *h), *qkv = calloc(cols, sizeof *qkv);
    for (size_t i = 0; i < rows; i++) {
        ref_rmsnorm(r->t[GS_KT_INPUT] + i * d, r->t[GS_KT_ATTN_NORM], d, h);
        for (size_t c = 0; c < cols; c++) {
            qkv[c] = 0;
            for (size_t k = 0; k < d; k++)
                qkv[c] += h[k] * r->t[GS_KT_WQKV][k * cols + c];
        }
        for (size_t hh = 0; hh < H + G; hh++)
            for (size_t k = 0; k < half; k++) {
                double ang = (double)pos[i] * pow(10000.0, -2.0 * (double)k / (double)hd);
                double a = qkv[hh * hd + k], b = qkv[hh * hd + k + half];
                qkv[hh * hd + k] = a * cos(ang) - b * sin(ang);
                qkv[hh * hd + k + half] = a * sin(ang) + b * cos(ang);
            }
        memcpy(q + i * H * hd, qkv, H * hd * sizeof *q);
        for (size_t g = 0; g < G; g++)
            for (size_t k = 0; k < hd; k++) {
                cache_at(r, GS_KT_K_CACHE, seq[i], g, pos[i])[k] = (float)qkv[(H + g) * hd + k];
                cache_at(r, GS_KT_V_CACHE, seq[i], g, pos[i])[k] =
                    (float)qkv[(H + G + g) * hd + k];
            }
    }
    double *o = calloc(H * hd, sizeof *o), *x2 = calloc(d, sizeof *x2);
    double *p = calloc(r->mt, sizeof *p), *lg = calloc(m->experts + 1, sizeof *lg);
    for (size_t i = 0; i < rows; i++) {
        for (size_t hh = 0; hh < H; hh++) {
            size_t g = hh / (H / G), n = pos[i] + 1;
            double mx = -INFINITY, sum = 0;
            for (size_t u = 0; u < n; u++) {
                const float *k = cache_at(r, GS_KT_K_CACHE, seq[i], g, u);
                double s = 0;
                for (size_t c = 0; c < hd; c++)
                    s += q[i * H * hd + hh * hd + c] * k[c];
                p[u] = s / sqrt((double)hd);
                mx = fmax(mx, p[u]);
            }
            for (size_t u = 0; u < n; u++)
                sum += p[u] = exp(p[u] - mx);
            for (size_t c = 0; c < hd; c++) {
                double acc = 0;
                for (size_t u = 0; u < n; u++)
                    acc += p[u] / sum * cache_at(r, GS_KT_V_CACHE, seq[i], g, u)[c];
                o[hh * hd + c] = acc;
            }
        }
        for (size_t c = 0; c < d; c++) {
            x2[c] = r->t[GS_KT_INPUT][i * d + c];
            for (size_t k = 0; k < H * hd; k++)
                x2[c] += o[k] * r->t[GS_KT_WO][k * d + c];
        }
        ref_rmsnorm_d(x2, r->t[GS_KT_FFN_NORM], d, h);
        double *yr = y + i * d;
        memcpy(yr, x2, d * sizeof *yr);
        if (!m->experts) {
            ref_swiglu(h, r->t[GS_KT_W13], r->t[GS_KT_W2], d, m->d_ff, 1, yr);
            continue;
        }
        size_t e = m->experts, fe = m->expert_ff, sf = (size_t)m->shared_experts * fe;
        if (sf)
            ref_swiglu(h, r->t[GS_KT_SHARED_W13], r->t[GS_KT_SHARED_W2], d, sf, 1, yr);
        double mx = -INFINITY, sum = 0;
        for (size_t x = 0; x < e; x++) {
            lg[x] = 0;
            for (size_t k = 0; k < d; k++)
                lg[x] += h[k] * r->t[GS_KT_GATE][k * e + x];
            mx = fmax(mx, lg[x]);
        }
        for (size_t x = 0; x < e; x++)
            sum += exp(lg[x] - mx);
        /* The top_k experts: those with fewer than top_k larger logits. */
        for (size_t x = 0; x < e; x++) {
            size_t above = 0;
            for (size_t z = 0; z < e; z++)
                above += lg[z] > lg[x];
            if (above < m->top_k)
                ref_swiglu(h, r->t[GS_KT_EXPERT_W13] + x * d * 2 * fe,
                           r->t[GS_KT_EXPERT_W2] + x * fe * d, d, fe, exp(lg[x] - mx) / sum, yr);
        }
    }
    free(q), free(h), free(qkv), free(o), free(x2), free(p), free(lg);
}

static double rel_err(const float *a, const double *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num = fmax(num, fabs(a[i] - b[i]));
        den = fmax(den, fabs(b[i]));
    }
    return num / den;
}

static double rel_err_f(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num = fmax(num, fabs((double)a[i] - b[i]));
        den = fmax(den, fabs((double)b[i]));
    }
    return num / den;
}

/* Prefill pb x pt, then decode db sequences at context dt, then the head,
 * each against the reference. */
static void check_layer(const gs_model_shape *m, uint32_t mb, uint32_t mt, uint32_t pb,
                        uint32_t pt, uint32_t db, uint32_t dt)
{
    gs_diag d;
    gs_diag_init(&d);
    gs_kernel_layer *w;
    CHECK_EQ(be->alloc(&w, m, mb, mt, 42, &d), GS_OK);
    if (!w)
        return;
    ref r;
    CHECK_EQ(ref_load(&r, w, m, mb, mt), 0);
    size_t dm = m->d_model, nout = gs_kernel_tensor_len(m, mb, mt, GS_KT_OUTPUT);
    size_t ncache = gs_kernel_tensor_len(m, mb, mt, GS_KT_K_CACHE);
    float *got = malloc(nout * sizeof *got), *kc = malloc(ncache * sizeof *kc);
    double *want = calloc(nout, sizeof *want);
    size_t *seq = malloc((size_t)mb * mt * sizeof *seq);
    size_t *pos = malloc((size_t)mb * mt * sizeof *pos);
    double s;

    /* Prefill: token t of sequence b is row b*pt + t at position t. */
    CHECK_EQ(be->run_prefill(w, pb, pt, &s, &d), GS_OK);
    CHECK(s >= 0);
    for (size_t i = 0; i < (size_t)pb * pt; i++)
        seq[i] = i / pt, pos[i] = i % pt;
    ref_layer(&r, (size_t)pb * pt, seq, pos, want);
    CHECK_EQ(be->get(w, GS_KT_OUTPUT, got, nout, &d), GS_OK);
    double e = rel_err(got, want, (size_t)pb * pt * dm);
    CHECK(e < REL_TOL);
    CHECK_EQ(be->get(w, GS_KT_K_CACHE, kc, ncache, &d), GS_OK);
    CHECK(rel_err_f(kc, r.t[GS_KT_K_CACHE], ncache) < REL_TOL);
    CHECK_EQ(be->get(w, GS_KT_V_CACHE, kc, ncache, &d), GS_OK);
    CHECK(rel_err_f(kc, r.t[GS_KT_V_CACHE], ncache) < REL_TOL);
    fprintf(stderr, "%s prefill %ux%u: rel err %.2e\n", m->name, pb, pt, e);

    /* A second run of the same pass gives the same output (calibration
     * repeats runs on one workspace). */
    float *again = malloc(nout * sizeof *again);
    CHECK_EQ(be->run_prefill(w, pb, pt, &s, &d), GS_OK);
    CHECK_EQ(be->get(w, GS_KT_OUTPUT, again, nout, &d), GS_OK);
    CHECK(memcmp(got, again, (size_t)pb * pt * dm * sizeof *got) == 0);
    free(again);

    /* Decode over the cache as the prefill left it (the reference's copy
     * was updated the same way): the new token is at position dt - 1. The
     * reference reads its inputs from its INPUT copy, rows 0..db-1. */
    CHECK_EQ(be->get(w, GS_KT_K_CACHE, r.t[GS_KT_K_CACHE], ncache, &d), GS_OK);
    CHECK_EQ(be->get(w, GS_KT_V_CACHE, r.t[GS_KT_V_CACHE], ncache, &d), GS_OK);
    CHECK_EQ(be->run_decode(w, db, dt, &s, &d), GS_OK);
    for (size_t i = 0; i < db; i++)
        seq[i] = i, pos[i] = dt - 1;
    ref_layer(&r, db, seq, pos, want);
    CHECK_EQ(be->get(w, GS_KT_OUTPUT, got, nout, &d), GS_OK);
    e = rel_err(got, want, (size_t)db * dm);
    CHECK(e < REL_TOL);
    CHECK_EQ(be->get(w, GS_KT_K_CACHE, kc, ncache, &d), GS_OK);
    CHECK(rel_err_f(kc, r.t[GS_KT_K_CACHE], ncache) < REL_TOL);
    fprintf(stderr, "%s decode %ux%u: rel err %.2e\n", m->name, db, dt, e);

    /* Head: final norm and vocabulary projection of the first db rows. */
    size_t nl = gs_kernel_tensor_len(m, mb, mt, GS_KT_LOGITS);
    float *lg = malloc(nl * sizeof *lg);
    double *wl = calloc(nl, sizeof *wl), *hn = calloc(dm, sizeof *hn);
    CHECK_EQ(be->run_head(w, db, &s, &d), GS_OK);
    CHECK_EQ(be->get(w, GS_KT_LOGITS, lg, nl, &d), GS_OK);
    for (size_t i = 0; i < db; i++) {
        ref_rmsnorm(got + i * dm, r.t[GS_KT_FINAL_NORM], dm, hn);
        for (size_t v = 0; v < m->vocab; v++)
            for (size_t k = 0; k < dm; k++)
                wl[i * m->vocab + v] += hn[k] * r.t[GS_KT_VOCAB][k * m->vocab + v];
    }
    CHECK(rel_err(lg, wl, (size_t)db * m->vocab) < REL_TOL);

    free(lg), free(wl), free(hn);
    free(got), free(kc), free(want), free(seq), free(pos);
    ref_free(&r);
    be->free(w);
}

/* ---- the API around the layer ----------------------------------------- */

static void test_api(void)
{
    gs_diag d;
    gs_diag_init(&d);
    const gs_kernel_backend *b;
    CHECK_EQ(gs_kernel_backend_find("cpu", &b, &d), GS_OK);
    CHECK(b == &gs_kernel_cpu);
    CHECK_EQ(gs_kernel_backend_find("auto", &b, &d), GS_OK);
    CHECK(b == (gs_kernel_cuda.available() ? &gs_kernel_cuda : &gs_kernel_cpu));
    CHECK_EQ(gs_kernel_backend_find("tpu", &b, &d), GS_EINVAL);
    CHECK(strstr(d.msg, "unknown backend 'tpu'") != NULL);
    CHECK(gs_kernel_cpu.available());

    gs_model_shape dense = shape("dense", 16, 2, 1, 8, 24, 0, 0, 0, 0, 11);
    gs_model_shape moe = shape("moe", 16, 2, 2, 8, 0, 4, 2, 0, 8, 11);
    CHECK_EQ(gs_kernel_tensor_len(&dense, 2, 5, GS_KT_GATE), 0);
    CHECK_EQ(gs_kernel_tensor_len(&dense, 2, 5, GS_KT_W13), 16 * 48);
    CHECK_EQ(gs_kernel_tensor_len(&moe, 2, 5, GS_KT_W13), 0);
    CHECK_EQ(gs_kernel_tensor_len(&moe, 2, 5, GS_KT_SHARED_W13), 0);
    CHECK_EQ(gs_kernel_tensor_len(&moe, 2, 5, GS_KT_EXPERT_W2), 4 * 8 * 16);
    CHECK_EQ(gs_kernel_tensor_len(&moe, 2, 5, GS_KT_K_CACHE), 2 * 2 * 5 * 8);
    CHECK_EQ(gs_kernel_tensor_len(&moe, 2, 5, GS_KT_LOGITS), 2 * 11);

    gs_kernel_layer *w, *w2;
    CHECK_EQ(be->alloc(&w, &dense, 2, 5, 7, &d), GS_OK);
    CHECK_EQ(be->alloc(&w2, &dense, 2, 5, 7, &d), GS_OK);
    double s;
    gs_diag_init(&d);
    CHECK_EQ(be->run_prefill(w, 3, 5, &s, &d), GS_EINVAL);
    CHECK(strstr(d.msg, "batch 3") != NULL);
    gs_diag_init(&d);
    CHECK_EQ(be->run_decode(w, 1, 6, &s, &d), GS_EINVAL);
    gs_diag_init(&d);
    CHECK_EQ(be->run_decode(w, 0, 1, &s, &d), GS_EINVAL);
    gs_diag_init(&d);
    CHECK_EQ(be->run_head(w, 3, &s, &d), GS_EINVAL);
    float buf[400];
    gs_diag_init(&d);
    CHECK_EQ(be->get(w, GS_KT_GATE, buf, 0, &d), GS_EINVAL);
    CHECK(strstr(d.msg, "no tensor gate") != NULL);
    gs_diag_init(&d);
    CHECK_EQ(be->get(w, GS_KT_ATTN_NORM, buf, 15, &d), GS_EINVAL);

    /* The same seed draws the same weights; another seed others. */
    float a[16 * 48], c[16 * 48];
    CHECK_EQ(be->get(w, GS_KT_W13, a, 16 * 48, &d), GS_OK);
    CHECK_EQ(be->get(w2, GS_KT_W13, c, 16 * 48, &d), GS_OK);
    CHECK(memcmp(a, c, sizeof a) == 0);
    be->free(w2);
    CHECK_EQ(be->alloc(&w2, &dense, 2, 5, 8, &d), GS_OK);
    CHECK_EQ(be->get(w2, GS_KT_W13, c, 16 * 48, &d), GS_OK);
    CHECK(memcmp(a, c, sizeof a) != 0);
    /* Weights are scaled to the fan-in, |w| < sqrt(3/16). */
    double mx = 0;
    for (size_t i = 0; i < 16 * 48; i++)
        mx = fmax(mx, fabs(a[i]));
    CHECK(mx < sqrt(3.0 / 16) && mx > 0.5 * sqrt(3.0 / 16));
    /* put then get returns what was put. */
    for (size_t i = 0; i < 16 * 48; i++)
        a[i] = (float)i;
    CHECK_EQ(be->put(w2, GS_KT_W13, a, 16 * 48, &d), GS_OK);
    CHECK_EQ(be->get(w2, GS_KT_W13, c, 16 * 48, &d), GS_OK);
    CHECK(memcmp(a, c, sizeof a) == 0);
    be->free(w2);
    be->free(NULL);

    /* The whole-model composition: layer x layers + head. */
    CHECK_EQ(gs_kernel_forward_seconds(be, w, &dense, GS_KERNEL_DECODE, 2, 5, &s, &d), GS_OK);
    CHECK(s > 0);
    be->free(w);

    /* Every allocation failure is reported and leaks nothing (ASan). */
    int failures = 0;
    for (long n = 1; n < 200; n++) {
        gs_alloc_fail_nth(n);
        gs_diag_init(&d);
        int rc = be->alloc(&w, &moe, 2, 5, 7, &d);
        gs_alloc_fail_nth(0);
        if (rc == GS_OK) {
            be->free(w);
            break;
        }
        failures++;
        CHECK_EQ(rc, GS_ENOMEM);
        CHECK(w == NULL);
    }
    CHECK(failures > 10);

    /* Cost model: a dense decode pass of b rows does 2 flops per weight and
     * row plus 4 per cached key element and query head. */
    double fl, by;
    gs_kernel_layer_cost(&dense, GS_KERNEL_DECODE, 2, 5, 4, &fl, &by);
    double weights = 16.0 * (2 + 2) * 8 + 2 * 8 * 16 + 3 * 16 * 24;
    CHECK_NEAR(fl, 2 * 2 * weights + 2 * 2 * 4 * 5 * 8, 1e-9);
    gs_kernel_head_cost(&dense, 3, 2, &fl, &by);
    CHECK_NEAR(fl, 2.0 * 3 * 16 * 11, 1e-9);
}

/* Same result with one thread as with two (the products are split by
 * columns; the sums inside are the same, so the results agree closely). */
static void test_threads(void)
{
    gs_model_shape m = shape("threads", 64, 4, 2, 16, 96, 0, 0, 0, 0, 19);
    gs_diag d;
    gs_diag_init(&d);
    float *out[2];
    size_t n = gs_kernel_tensor_len(&m, 2, 80, GS_KT_OUTPUT);
    for (int k = 0; k < 2; k++) {
        omp_set_num_threads(k + 1);
        gs_kernel_layer *w;
        double s;
        out[k] = calloc(n, sizeof(float));
        CHECK_EQ(be->alloc(&w, &m, 2, 80, 3, &d), GS_OK);
        CHECK_EQ(be->run_prefill(w, 2, 80, &s, &d), GS_OK);
        CHECK_EQ(be->get(w, GS_KT_OUTPUT, out[k], n, &d), GS_OK);
        be->free(w);
    }
    CHECK(rel_err_f(out[0], out[1], n) < 1e-5);
    free(out[0]), free(out[1]);
    omp_set_num_threads(omp_get_num_procs());
}

/* ---- calibration -------------------------------------------------------- */

static void test_calibrate(void)
{
    char scratch[4096];
    const char *base = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/gs-kernels-XXXXXX", base && *base ? base : ".");
    if (!mkdtemp(scratch)) {
        fprintf(stderr, "mkdtemp %s: %s\n", scratch, strerror(errno));
        CHECK(0);
        return;
    }
    char path[4200], meta[4300];
    snprintf(path, sizeof path, "%s/sub/tiny.csv", scratch);
    snprintf(meta, sizeof meta, "%s.meta", path);

    gs_model_shape m = shape("tiny,model", 32, 4, 2, 8, 48, 0, 0, 0, 0, 50);
    gs_calib_opts o;
    gs_calib_defaults(&o);
    o.model = &m;
    o.backend = be;
    o.quiet = 1;
    o.warmup = 1;
    o.repeats = 3;
    o.min_repeats = 1;
    o.point_budget = 0;
    o.grid_name = "test";
    o.command = "test_kernels \"quoted\"";
    static const uint32_t pb[] = {1, 2}, pt[] = {8, 16}, db[] = {1, 3}, dt[] = {4, 8, 16};
    memcpy(o.grid[GS_KERNEL_PREFILL].batch, pb, sizeof pb);
    o.grid[GS_KERNEL_PREFILL].nbatch = 2;
    memcpy(o.grid[GS_KERNEL_PREFILL].tokens, pt, sizeof pt);
    o.grid[GS_KERNEL_PREFILL].ntokens = 2;
    memcpy(o.grid[GS_KERNEL_DECODE].batch, db, sizeof db);
    o.grid[GS_KERNEL_DECODE].nbatch = 2;
    memcpy(o.grid[GS_KERNEL_DECODE].tokens, dt, sizeof dt);
    o.grid[GS_KERNEL_DECODE].ntokens = 3;
    gs_diag d;
    gs_diag_init(&d);
    CHECK_EQ(gs_calibrate(&o, path, &d), GS_OK);

    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (f) {
        char line[512];
        CHECK(fgets(line, sizeof line, f) != NULL);
        CHECK(strcmp(line, GS_PROFILE_HEADER "\n") == 0);
        char dev[256];
        be->device_name(dev, sizeof dev);
        int rows = 0;
        for (int p = 0; p < 2; p++)
            for (size_t i = 0; i < o.grid[p].nbatch; i++)
                for (size_t j = 0; j < o.grid[p].ntokens; j++) {
                    CHECK(fgets(line, sizeof line, f) != NULL);
                    char want[512];
                    int n = snprintf(want, sizeof want, "cpu,%s,\"tiny,model\",%s,%u,%u,", dev,
                                     gs_kernel_phase_name((gs_kernel_phase)p),
                                     o.grid[p].batch[i], o.grid[p].tokens[j]);
                    CHECK(strncmp(line, want, (size_t)n) == 0);
                    char *end;
                    double sec = strtod(line + n, &end);
                    CHECK(sec > 0 && sec < 10 && *end == '\n');
                    rows++;
                }
        CHECK_EQ(rows, 2 * 2 + 2 * 3);
        CHECK(fgets(line, sizeof line, f) == NULL);
        fclose(f);
    }
    f = fopen(meta, "r");
    CHECK(f != NULL);
    if (f) {
        char buf[8192];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
        CHECK(strstr(buf, "gatesim_version: ") != NULL);
        CHECK(strstr(buf, "backend: cpu") != NULL);
        CHECK(strstr(buf, "blas: \"OpenBLAS") != NULL);
        CHECK(strstr(buf, "command: \"test_kernels \\\"quoted\\\"\"") != NULL);
        CHECK(strstr(buf, "name: \"tiny,model\"") != NULL);
        CHECK(strstr(buf, "    batch: [1, 3]\n    tokens: [4, 8, 16]") != NULL);
        CHECK(strstr(buf, "date_utc: 20") != NULL);
    }

    /* A bad grid is refused before anything is measured or written. */
    o.grid[GS_KERNEL_DECODE].tokens[1] = 4;
    gs_diag_init(&d);
    CHECK_EQ(gs_calibrate(&o, path, &d), GS_EINVAL);
    CHECK(strstr(d.msg, "ascending") != NULL);
    gs_calib_axis g[2];
    gs_diag_init(&d);
    CHECK_EQ(gs_calib_grid_named("huge", g, &d), GS_EINVAL);
    CHECK_EQ(gs_calib_grid_named("quick", g, &d), GS_OK);
    CHECK_EQ(g[GS_KERNEL_DECODE].nbatch, 6);
    CHECK_EQ(g[GS_KERNEL_DECODE].tokens[4], 2048);

    char sub[4200];
    snprintf(sub, sizeof sub, "%s/sub", scratch);
    CHECK(remove(meta) == 0);
    CHECK(remove(path) == 0);
    CHECK(rmdir(sub) == 0);
    CHECK(rmdir(scratch) == 0);
}

int main(void)
{
    test_api();
    /* Dense, grouped KV heads (3 query heads per KV head); prefill of 70
     * tokens is two query tiles, the second partial. */
    gs_model_shape dense = shape("dense-gqa", 48, 6, 2, 8, 40, 0, 0, 0, 0, 37);
    check_layer(&dense, 3, 70, 2, 70, 3, 45);
    /* Decode of a single token (context 1: it attends to itself only). */
    check_layer(&dense, 2, 4, 2, 3, 2, 1);
    /* MoE with shared experts and a single KV head. */
    gs_model_shape moe = shape("moe-shared", 32, 4, 1, 8, 0, 5, 2, 2, 12, 29);
    check_layer(&moe, 3, 70, 3, 20, 2, 70);
    /* MoE without shared experts, top-1 routing. */
    gs_model_shape moe1 = shape("moe-top1", 32, 4, 4, 8, 0, 3, 1, 0, 16, 23);
    check_layer(&moe1, 2, 30, 2, 30, 2, 17);
    test_threads();
    test_calibrate();
    return CHECK_DONE();
}
