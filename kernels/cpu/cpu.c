/* The "cpu" kernel backend: one transformer decoder layer in fp32, with every
 * matrix product through OpenBLAS's cblas_sgemm and the rest (RMSNorm,
 * rotary embedding, softmax, SwiGLU, routing) in C with OpenMP.
 *
 * Algorithms and their sources:
 *  - RMSNorm (Zhang and Sennrich 2019): x / sqrt(mean(x^2) + eps) * g.
 *  - Rotary position embedding, RoPE (Su et al. 2021, arXiv:2104.09864), in
 *    the half-split layout of GPT-NeoX and Llama: element i of a head is
 *    rotated with element i + head_dim/2 by the angle pos * 10000^(-2i/hd).
 *  - Attention with grouped KV heads, GQA (Ainslie et al. 2023): query head
 *    i reads KV head i / (heads / kv_heads). Prefill works on tiles of
 *    QTILE queries: the scores of a tile against the keys up to its last
 *    query (the causal bound) are one sgemm, then a row softmax, then one
 *    sgemm with V. The tile bounds the scratch to QTILE x T scores per
 *    thread instead of T x T. Decode stacks the query heads that share a KV
 *    head into one [group x head_dim] operand, so each (sequence, KV head)
 *    is two sgemms over the context.
 *  - SwiGLU feed-forward (Shazeer 2020, arXiv:2002.05202): (silu(x W1) *
 *    (x W3)) W2, with W1 and W3 fused into one product.
 *  - Mixture of experts as in DeepSeekMoE (Dai et al. 2024,
 *    arXiv:2401.06066): softmax over the router logits, the top_k experts per
 *    token keep their probabilities as weights (not renormalised, as in
 *    DeepSeekMoE 16B), shared experts always run. Tokens are grouped by
 *    expert (a counting sort), so each expert is two sgemms over just its
 *    tokens, and the results are added back with their weights.
 *
 * Threads: everything runs on OpenMP's threads (OMP_NUM_THREADS, default
 * all cores). During a run OpenBLAS is set to one thread and the products
 * are split over the OpenMP threads by hand (kernels/cpu/blas.c explains
 * why); the caller's OpenBLAS thread count is restored after the run.
 *
 * Invariant: a run reads only GS_KT_INPUT, the weights and the cache
 * positions it does not write, and writes GS_KT_OUTPUT and its own cache
 * positions, so repeating a run gives the same result (calibration repeats
 * runs on one workspace). */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "kernels/cpu/blas.h"
#include "kernels/kernels.h"
#include "sim/alloc.h"
#include "sim/error.h"
#include "sim/replicate.h"
#include "sim/rng.h"

#define RMS_EPS 1e-5f
#define ROPE_BASE 10000.0
#define QTILE 64

struct gs_kernel_layer {
    gs_model_shape m;
    uint32_t max_batch, max_tokens;
    size_t   max_rows;
    int      threads;
    float   *t[GS_KT_COUNT];
    float   *h;         /* normed activations [rows x d] */
    float   *qkv;       /* [rows x qkv_cols] */
    float   *attn;      /* [rows x heads head_dim] */
    float   *x2;        /* residual after attention [rows x d] */
    float   *mid;       /* feed-forward hidden [rows x 2 ff_max] */
    float   *gin;       /* one expert's gathered input [rows x d] */
    float   *gout;      /* one expert's output [rows x d] */
    float   *cosv;      /* RoPE tables [max_tokens x head_dim/2] */
    float   *sinv;
    float   *scores;    /* attention scratch [threads x score_rows x max_tokens] */
    size_t   score_rows;
    int     *topk;      /* [rows x top_k] expert of each choice */
    float   *topw;      /* [rows x top_k] its weight */
    int     *count;     /* [experts + 1] tokens per expert, then offsets */
    int     *perm;      /* [rows x top_k] token of each (expert, slot) */
    float   *permw;     /* its weight */
};

static double now(void)
{
    return gs_wall_seconds();
}

static size_t qkv_cols(const gs_model_shape *m)
{
    return (size_t)(m->heads + 2 * m->kv_heads) * m->head_dim;
}

static void gemm(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                 int ldb, float beta, float *c, int ldc)
{
    gs_cpu_sgemm(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static void rmsnorm(const float *x, const float *g, float *y, size_t rows, size_t d)
{
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * d;
        float *yr = y + r * d;
        double ss = 0;
        for (size_t i = 0; i < d; i++)
            ss += (double)xr[i] * xr[i];
        float inv = 1.0f / sqrtf((float)(ss / (double)d) + RMS_EPS);
        for (size_t i = 0; i < d; i++)
            yr[i] = xr[i] * inv * g[i];
    }
}

static void rope_head(float *v, const float *c, const float *s, size_t half)
{
    for (size_t i = 0; i < half; i++) {
        float a = v[i], b = v[i + half];
        v[i] = a * c[i] - b * s[i];
        v[i + half] = a * s[i] + b * c[i];
    }
}

/* Rotate the q and k heads of one row (a token at position pos of sequence
 * seq), and store its k and v in the cache of that sequence. */
static void rope_and_cache(gs_kernel_layer *w, size_t row, uint32_t seq, uint32_t pos)
{
    const gs_model_shape *m = &w->m;
    size_t hd = m->head_dim, half = hd / 2, cols = qkv_cols(m);
    float *q = w->qkv + row * cols;
    const float *c = w->cosv + (size_t)pos * half, *s = w->sinv + (size_t)pos * half;
    for (uint32_t h = 0; h < m->heads + m->kv_heads; h++)
        rope_head(q + (size_t)h * hd, c, s, half);
    for (uint32_t g = 0; g < m->kv_heads; g++) {
        size_t at = (((size_t)seq * m->kv_heads + g) * w->max_tokens + pos) * hd;
        memcpy(w->t[GS_KT_K_CACHE] + at, q + (size_t)(m->heads + g) * hd, hd * sizeof(float));
        memcpy(w->t[GS_KT_V_CACHE] + at, q + (size_t)(m->heads + m->kv_heads + g) * hd,
               hd * sizeof(float));
    }
}

/* Softmax of each of rows rows of s (row stride ld), row i over its first
 * len(i) entries; entries past len(i) become 0 (the causal mask). */
static void softmax_rows(float *s, size_t rows, size_t ld, size_t len0, size_t step,
                         size_t ncols)
{
    for (size_t i = 0; i < rows; i++) {
        float *r = s + i * ld;
        size_t len = len0 + i * step;
        if (len > ncols)
            len = ncols;
        float mx = r[0];
        for (size_t j = 1; j < len; j++)
            mx = r[j] > mx ? r[j] : mx;
        float sum = 0;
        for (size_t j = 0; j < len; j++) {
            r[j] = expf(r[j] - mx);
            sum += r[j];
        }
        float inv = 1.0f / sum;
        for (size_t j = 0; j < len; j++)
            r[j] *= inv;
        for (size_t j = len; j < ncols; j++)
            r[j] = 0;
    }
}

static void attention_prefill(gs_kernel_layer *w, uint32_t batch, uint32_t tokens)
{
    const gs_model_shape *m = &w->m;
    size_t hd = m->head_dim, cols = qkv_cols(m), group = m->heads / m->kv_heads;
    size_t ocols = (size_t)m->heads * hd;
    size_t tiles = (tokens + QTILE - 1) / QTILE;
    long items = (long)((size_t)batch * m->heads * tiles);
    float scale = 1.0f / sqrtf((float)hd);
#pragma omp parallel for schedule(dynamic, 1) num_threads(w->threads)
    for (long it = 0; it < items; it++) {
        size_t tile = (size_t)it % tiles, h = (size_t)it / tiles % m->heads;
        size_t b = (size_t)it / tiles / m->heads, g = h / group;
        size_t t0 = tile * QTILE, nq = tokens - t0 < QTILE ? tokens - t0 : QTILE;
        size_t nk = t0 + nq;     /* keys 0 .. last query of the tile */
        float *s = w->scores + (size_t)omp_get_thread_num() * w->score_rows * w->max_tokens;
        size_t kv = ((b * m->kv_heads + g) * w->max_tokens) * hd;
        const float *q = w->qkv + (b * tokens + t0) * cols + h * hd;
        gs_cpu_sgemm1(1, (int)nq, (int)nk, (int)hd, scale, q, (int)cols,
                      w->t[GS_KT_K_CACHE] + kv, (int)hd, 0.0f, s, (int)nk);
        softmax_rows(s, nq, nk, t0 + 1, 1, nk);
        gs_cpu_sgemm1(0, (int)nq, (int)hd, (int)nk, 1.0f, s, (int)nk,
                      w->t[GS_KT_V_CACHE] + kv, (int)hd, 0.0f,
                      w->attn + (b * tokens + t0) * ocols + h * hd, (int)ocols);
    }
}

static void attention_decode(gs_kernel_layer *w, uint32_t batch, uint32_t context)
{
    const gs_model_shape *m = &w->m;
    size_t hd = m->head_dim, cols = qkv_cols(m), group = m->heads / m->kv_heads;
    size_t ocols = (size_t)m->heads * hd;
    long items = (long)((size_t)batch * m->kv_heads);
    float scale = 1.0f / sqrtf((float)hd);
#pragma omp parallel for schedule(dynamic, 1) num_threads(w->threads)
    for (long it = 0; it < items; it++) {
        size_t g = (size_t)it % m->kv_heads, b = (size_t)it / m->kv_heads;
        float *s = w->scores + (size_t)omp_get_thread_num() * w->score_rows * w->max_tokens;
        size_t kv = ((b * m->kv_heads + g) * w->max_tokens) * hd;
        const float *q = w->qkv + b * cols + g * group * hd;
        gs_cpu_sgemm1(1, (int)group, (int)context, (int)hd, scale, q, (int)hd,
                      w->t[GS_KT_K_CACHE] + kv, (int)hd, 0.0f, s, (int)context);
        softmax_rows(s, group, context, context, 0, context);
        gs_cpu_sgemm1(0, (int)group, (int)hd, (int)context, 1.0f, s, (int)context,
                      w->t[GS_KT_V_CACHE] + kv, (int)hd, 0.0f,
                      w->attn + b * ocols + g * group * hd, (int)hd);
    }
}

/* In place on rows of mid (stride ld): mid[:, i] = silu(mid[:, i]) * mid[:, f + i]. */
static void swiglu(float *mid, size_t rows, size_t f, size_t ld)
{
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < rows; r++) {
        float *a = mid + r * ld;
        for (size_t i = 0; i < f; i++) {
            float x = a[i];
            a[i] = x / (1.0f + expf(-x)) * a[f + i];
        }
    }
}

/* y += SwiGLU(h) with fused w13 [d x 2f] and w2 [f x d]. */
static void ffn(gs_kernel_layer *w, const float *h, size_t rows, const float *w13,
                const float *w2, size_t f, float *y, float beta)
{
    size_t d = w->m.d_model;
    gemm((int)rows, (int)(2 * f), (int)d, 1.0f, h, (int)d, w13, (int)(2 * f), 0.0f, w->mid,
         (int)(2 * f));
    swiglu(w->mid, rows, f, 2 * f);
    gemm((int)rows, (int)d, (int)f, 1.0f, w->mid, (int)(2 * f), w2, (int)d, beta, y, (int)d);
}

/* Router softmax and top-k of each row, then tokens grouped by expert. */
static void route(gs_kernel_layer *w, size_t rows)
{
    const gs_model_shape *m = &w->m;
    size_t e = m->experts, k = m->top_k;
    float *logits = w->t[GS_KT_ROUTER];
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < rows; r++) {
        const float *l = logits + r * e;
        float mx = l[0];
        for (size_t i = 1; i < e; i++)
            mx = l[i] > mx ? l[i] : mx;
        double sum = 0;
        for (size_t i = 0; i < e; i++)
            sum += exp((double)(l[i] - mx));
        /* Repeated arg-max: k is small, and ties go to the lower index. */
        for (size_t j = 0; j < k; j++) {
            size_t best = e;
            for (size_t i = 0; i < e; i++) {
                int taken = 0;
                for (size_t u = 0; u < j; u++)
                    taken |= w->topk[r * k + u] == (int)i;
                if (!taken && (best == e || l[i] > l[best]))
                    best = i;
            }
            w->topk[r * k + j] = (int)best;
            w->topw[r * k + j] = (float)(exp((double)(l[best] - mx)) / sum);
        }
    }
    memset(w->count, 0, (e + 1) * sizeof *w->count);
    for (size_t i = 0; i < rows * k; i++)
        w->count[w->topk[i] + 1]++;
    for (size_t i = 0; i < e; i++)
        w->count[i + 1] += w->count[i];
    /* count[x] is now the first slot of expert x; fill in token order, using
     * count[x] as a cursor, then shift back. */
    for (size_t i = 0; i < rows * k; i++) {
        int x = w->topk[i];
        w->perm[w->count[x]] = (int)(i / k);
        w->permw[w->count[x]] = w->topw[i];
        w->count[x]++;
    }
    for (size_t i = e; i > 0; i--)
        w->count[i] = w->count[i - 1];
    w->count[0] = 0;
}

static void moe(gs_kernel_layer *w, const float *h, size_t rows, float *y)
{
    const gs_model_shape *m = &w->m;
    size_t d = m->d_model, e = m->experts, fe = m->expert_ff;
    gemm((int)rows, (int)e, (int)d, 1.0f, h, (int)d, w->t[GS_KT_GATE], (int)e, 0.0f,
         w->t[GS_KT_ROUTER], (int)e);
    route(w, rows);
    if (m->shared_experts)
        ffn(w, h, rows, w->t[GS_KT_SHARED_W13], w->t[GS_KT_SHARED_W2],
            (size_t)m->shared_experts * fe, y, 1.0f);
    for (size_t x = 0; x < e; x++) {
        size_t lo = (size_t)w->count[x], n = (size_t)w->count[x + 1] - lo;
        if (n == 0)
            continue;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++)
            memcpy(w->gin + i * d, h + (size_t)w->perm[lo + i] * d, d * sizeof(float));
        ffn(w, w->gin, n, w->t[GS_KT_EXPERT_W13] + x * d * 2 * fe,
            w->t[GS_KT_EXPERT_W2] + x * fe * d, fe, w->gout, 0.0f);
        /* One expert holds each token at most once, so the rows added to
         * here are distinct and the loop needs no atomics. */
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            float *yr = y + (size_t)w->perm[lo + i] * d, wt = w->permw[lo + i];
            const float *o = w->gout + i * d;
            for (size_t j = 0; j < d; j++)
                yr[j] += wt * o[j];
        }
    }
}

/* Everything after attention: output projection, residual, feed-forward. */
static void finish_layer(gs_kernel_layer *w, size_t rows)
{
    const gs_model_shape *m = &w->m;
    size_t d = m->d_model, ocols = (size_t)m->heads * m->head_dim;
    memcpy(w->x2, w->t[GS_KT_INPUT], rows * d * sizeof(float));
    gemm((int)rows, (int)d, (int)ocols, 1.0f, w->attn, (int)ocols, w->t[GS_KT_WO], (int)d, 1.0f,
         w->x2, (int)d);
    rmsnorm(w->x2, w->t[GS_KT_FFN_NORM], w->h, rows, d);
    float *y = w->t[GS_KT_OUTPUT];
    memcpy(y, w->x2, rows * d * sizeof(float));
    if (m->experts)
        moe(w, w->h, rows, y);
    else
        ffn(w, w->h, rows, w->t[GS_KT_W13], w->t[GS_KT_W2], m->d_ff, y, 1.0f);
}

static void qkv_project(gs_kernel_layer *w, size_t rows)
{
    const gs_model_shape *m = &w->m;
    size_t d = m->d_model, cols = qkv_cols(m);
    rmsnorm(w->t[GS_KT_INPUT], w->t[GS_KT_ATTN_NORM], w->h, rows, d);
    gemm((int)rows, (int)cols, (int)d, 1.0f, w->h, (int)d, w->t[GS_KT_WQKV], (int)cols, 0.0f,
         w->qkv, (int)cols);
}

static int check_dims(const gs_kernel_layer *w, const char *what, uint32_t batch,
                      uint32_t tokens, gs_diag *d)
{
    if (batch < 1 || batch > w->max_batch || tokens < 1 || tokens > w->max_tokens)
        return gs_error(d, GS_EINVAL, "kernels cpu %s: batch %u, tokens %u outside the "
                        "workspace (batch 1..%u, tokens 1..%u)", what, batch, tokens,
                        w->max_batch, w->max_tokens);
    return GS_OK;
}

static int cpu_prefill(gs_kernel_layer *w, uint32_t batch, uint32_t tokens, double *seconds,
                       gs_diag *d)
{
    int rc = check_dims(w, "prefill", batch, tokens, d);
    if (rc)
        return rc;
    int blas = openblas_get_num_threads();
    openblas_set_num_threads(1);
    double t0 = now();
    size_t rows = (size_t)batch * tokens;
    qkv_project(w, rows);
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < rows; r++)
        rope_and_cache(w, r, (uint32_t)(r / tokens), (uint32_t)(r % tokens));
    attention_prefill(w, batch, tokens);
    finish_layer(w, rows);
    *seconds = now() - t0;
    openblas_set_num_threads(blas);
    return GS_OK;
}

static int cpu_decode(gs_kernel_layer *w, uint32_t batch, uint32_t context, double *seconds,
                      gs_diag *d)
{
    int rc = check_dims(w, "decode", batch, context, d);
    if (rc)
        return rc;
    int blas = openblas_get_num_threads();
    openblas_set_num_threads(1);
    double t0 = now();
    qkv_project(w, batch);
    for (uint32_t b = 0; b < batch; b++)
        rope_and_cache(w, b, b, context - 1);
    attention_decode(w, batch, context);
    finish_layer(w, batch);
    *seconds = now() - t0;
    openblas_set_num_threads(blas);
    return GS_OK;
}

static int cpu_head(gs_kernel_layer *w, uint32_t rows, double *seconds, gs_diag *d)
{
    const gs_model_shape *m = &w->m;
    if (rows < 1 || rows > w->max_batch)
        return gs_error(d, GS_EINVAL, "kernels cpu head: %u rows outside 1..%u", rows,
                        w->max_batch);
    int blas = openblas_get_num_threads();
    openblas_set_num_threads(1);
    double t0 = now();
    rmsnorm(w->t[GS_KT_OUTPUT], w->t[GS_KT_FINAL_NORM], w->h, rows, m->d_model);
    gemm((int)rows, (int)m->vocab, (int)m->d_model, 1.0f, w->h, (int)m->d_model,
         w->t[GS_KT_VOCAB], (int)m->vocab, 0.0f, w->t[GS_KT_LOGITS], (int)m->vocab);
    *seconds = now() - t0;
    openblas_set_num_threads(blas);
    return GS_OK;
}

/* Values uniform on (-a, a), from the stream named after the tensor. */
static void fill(float *x, size_t n, uint64_t seed, const char *name, double lo, double hi)
{
    char stream[64];
    snprintf(stream, sizeof stream, "kernels.%s", name);
    gsl_rng *r = gs_rng_new(seed, 0, stream);
    if (!r) {
        /* The generator is a few words; fall back to a fixed pattern rather
         * than failing a workspace of gigabytes over it. */
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(lo + (hi - lo) * (double)(i % 97) / 97.0);
        return;
    }
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(lo + (hi - lo) * gsl_rng_uniform(r));
    gsl_rng_free(r);
}

/* Fan-in of a weight tensor (rows of its [in x out] layout), for the scale
 * that keeps activations at unit variance; 0 for non-weights. */
static size_t fan_in(const gs_model_shape *m, gs_kernel_tensor t)
{
    switch (t) {
    case GS_KT_WQKV:
    case GS_KT_W13:
    case GS_KT_GATE:
    case GS_KT_EXPERT_W13:
    case GS_KT_SHARED_W13:
    case GS_KT_VOCAB:
        return m->d_model;
    case GS_KT_WO:
        return (size_t)m->heads * m->head_dim;
    case GS_KT_W2:
        return m->d_ff;
    case GS_KT_EXPERT_W2:
        return m->expert_ff;
    case GS_KT_SHARED_W2:
        return (size_t)m->shared_experts * m->expert_ff;
    default:
        return 0;
    }
}

static void cpu_free(gs_kernel_layer *w)
{
    if (!w)
        return;
    for (int i = 0; i < GS_KT_COUNT; i++)
        gs_free(w->t[i]);
    gs_free(w->h);
    gs_free(w->qkv);
    gs_free(w->attn);
    gs_free(w->x2);
    gs_free(w->mid);
    gs_free(w->gin);
    gs_free(w->gout);
    gs_free(w->cosv);
    gs_free(w->sinv);
    gs_free(w->scores);
    gs_free(w->topk);
    gs_free(w->topw);
    gs_free(w->count);
    gs_free(w->perm);
    gs_free(w->permw);
    gs_free(w);
}

static int cpu_alloc(gs_kernel_layer **out, const gs_model_shape *m, uint32_t max_batch,
                     uint32_t max_tokens, uint64_t seed, gs_diag *d)
{
    *out = NULL;
    if (max_batch < 1 || max_tokens < 1)
        return gs_error(d, GS_EINVAL, "kernels cpu: workspace needs batch and tokens >= 1");
    gs_kernel_layer *w = gs_calloc(1, sizeof *w);
    if (!w)
        return gs_error(d, GS_ENOMEM, "kernels cpu: out of memory");
    w->m = *m;
    w->max_batch = max_batch;
    w->max_tokens = max_tokens;
    size_t rows = w->max_rows = (size_t)max_batch * max_tokens;
    w->threads = omp_get_max_threads();
    size_t dm = m->d_model, hd = m->head_dim, k = m->top_k;
    size_t ffmax = m->experts ? (size_t)m->expert_ff *
                                    (m->shared_experts > 1 ? m->shared_experts : 1)
                              : m->d_ff;
    w->score_rows = QTILE > m->heads / m->kv_heads ? QTILE : m->heads / m->kv_heads;
    for (int i = 0; i < GS_KT_COUNT; i++) {
        size_t n = gs_kernel_tensor_len(m, max_batch, max_tokens, (gs_kernel_tensor)i);
        if (n && !(w->t[i] = gs_malloc(n * sizeof(float))))
            goto out_nomem;
    }
    if (!(w->h = gs_malloc(rows * dm * sizeof(float))) ||
        !(w->qkv = gs_malloc(rows * qkv_cols(m) * sizeof(float))) ||
        !(w->attn = gs_malloc(rows * m->heads * hd * sizeof(float))) ||
        !(w->x2 = gs_malloc(rows * dm * sizeof(float))) ||
        !(w->mid = gs_malloc(rows * 2 * ffmax * sizeof(float))) ||
        !(w->cosv = gs_malloc(max_tokens * (hd / 2) * sizeof(float))) ||
        !(w->sinv = gs_malloc(max_tokens * (hd / 2) * sizeof(float))) ||
        !(w->scores = gs_malloc((size_t)w->threads * w->score_rows * max_tokens *
                                sizeof(float))))
        goto out_nomem;
    if (m->experts &&
        (!(w->gin = gs_malloc(rows * dm * sizeof(float))) ||
         !(w->gout = gs_malloc(rows * dm * sizeof(float))) ||
         !(w->topk = gs_malloc(rows * k * sizeof(int))) ||
         !(w->topw = gs_malloc(rows * k * sizeof(float))) ||
         !(w->count = gs_malloc((m->experts + 1) * sizeof(int))) ||
         !(w->perm = gs_malloc(rows * k * sizeof(int))) ||
         !(w->permw = gs_malloc(rows * k * sizeof(float)))))
        goto out_nomem;
    for (size_t p = 0; p < max_tokens; p++)
        for (size_t i = 0; i < hd / 2; i++) {
            double ang = (double)p * pow(ROPE_BASE, -2.0 * (double)i / (double)hd);
            w->cosv[p * (hd / 2) + i] = (float)cos(ang);
            w->sinv[p * (hd / 2) + i] = (float)sin(ang);
        }
    for (int i = 0; i < GS_KT_COUNT; i++) {
        size_t n = gs_kernel_tensor_len(m, max_batch, max_tokens, (gs_kernel_tensor)i);
        const char *name = gs_kernel_tensor_name((gs_kernel_tensor)i);
        size_t fi = fan_in(m, (gs_kernel_tensor)i);
        if (!n)
            continue;
        if (fi) {
            double a = sqrt(3.0 / (double)fi);
            fill(w->t[i], n, seed, name, -a, a);
        } else if (i == GS_KT_ATTN_NORM || i == GS_KT_FFN_NORM || i == GS_KT_FINAL_NORM) {
            fill(w->t[i], n, seed, name, 0.8, 1.2);
        } else if (i == GS_KT_INPUT || i == GS_KT_K_CACHE || i == GS_KT_V_CACHE) {
            fill(w->t[i], n, seed, name, -sqrt(3.0), sqrt(3.0));
        } else {
            memset(w->t[i], 0, n * sizeof(float));
        }
    }
    *out = w;
    return GS_OK;
out_nomem:
    cpu_free(w);
    return gs_error(d, GS_ENOMEM, "kernels cpu: out of memory for a %s workspace of batch %u "
                    "x %u tokens", m->name, max_batch, max_tokens);
}

static int tensor_io(gs_kernel_layer *w, gs_kernel_tensor t, size_t n, gs_diag *d)
{
    size_t len = (unsigned)t < GS_KT_COUNT
                     ? gs_kernel_tensor_len(&w->m, w->max_batch, w->max_tokens, t)
                     : 0;
    if (len == 0)
        return gs_error(d, GS_EINVAL, "kernels cpu: model %s has no tensor %s", w->m.name,
                        gs_kernel_tensor_name(t));
    if (n != len)
        return gs_error(d, GS_EINVAL, "kernels cpu: tensor %s has %zu elements, not %zu",
                        gs_kernel_tensor_name(t), len, n);
    return GS_OK;
}

static int cpu_get(gs_kernel_layer *w, gs_kernel_tensor t, float *dst, size_t n, gs_diag *d)
{
    int rc = tensor_io(w, t, n, d);
    if (rc == GS_OK)
        memcpy(dst, w->t[t], n * sizeof(float));
    return rc;
}

static int cpu_put(gs_kernel_layer *w, gs_kernel_tensor t, const float *src, size_t n,
                   gs_diag *d)
{
    int rc = tensor_io(w, t, n, d);
    if (rc == GS_OK)
        memcpy(w->t[t], src, n * sizeof(float));
    return rc;
}

static int cpu_available(void)
{
    return 1;
}

/* The "model name" line of /proc/cpuinfo, or "cpu" where there is none. */
static void cpu_model(char *buf, size_t n)
{
    snprintf(buf, n, "cpu");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0)
            continue;
        char *v = strchr(line, ':');
        if (!v)
            break;
        v++;
        while (*v == ' ' || *v == '\t')
            v++;
        v[strcspn(v, "\n")] = '\0';
        snprintf(buf, n, "%s", v);
        break;
    }
    fclose(f);
    /* The device column of a CSV must not need quoting. */
    for (char *p = buf; *p; p++)
        if (*p == ',' || *p == '"')
            *p = ' ';
}

static void cpu_device_name(char *buf, size_t n)
{
    cpu_model(buf, n);
}

static int cpu_write_meta(FILE *f)
{
    char model[256];
    cpu_model(model, sizeof model);
    int rc = fprintf(f, "  cpu: \"%s\"\n  cores: %d\n  openmp_threads: %d\n"
                     "  openblas_threads: %d\n  blas: \"OpenBLAS %s\"\n  precision: fp32\n",
                     model, omp_get_num_procs(), omp_get_max_threads(),
                     openblas_get_num_threads(), openblas_get_config());
    return rc < 0 ? GS_EIO : GS_OK;
}

const gs_kernel_backend gs_kernel_cpu = {
    .name = "cpu",
    .available = cpu_available,
    .device_name = cpu_device_name,
    .write_meta = cpu_write_meta,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .run_prefill = cpu_prefill,
    .run_decode = cpu_decode,
    .run_head = cpu_head,
    .get = cpu_get,
    .put = cpu_put,
    .peak = NULL,
    .elt_bytes = sizeof(float),
};
