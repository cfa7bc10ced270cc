/* The kernel benchmark (kernels/bench.h): how close one decoder layer comes
 * to what the machine allows.
 *
 * Work and traffic come from gs_kernel_layer_cost() (kernels/kernels.c).
 * The CPU has no datasheet number worth trusting on a shared virtual
 * machine, so its bounds are measured in the same run: the same sequence of
 * matrix products the layer issues (same shapes, same order, weights walked
 * through an arena as large as the layer's, so memory traffic is the same)
 * through OpenBLAS alone, which is what the layer would take if RMSNorm,
 * rotary, softmax, SwiGLU and routing cost nothing; OpenBLAS's rate on a
 * large square product (the compute bound); and a parallel read of 256 MiB
 * (the memory bound). A GPU's bounds are its nominal dense bf16 tensor rate
 * and memory bandwidth (the backend's peak()). Benches print; they never
 * assert. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/bench.h"
#include "kernels/cpu/blas.h"
#include "sim/alloc.h"
#include "sim/error.h"
#include "sim/replicate.h"

#define WARMUP 2
#define REPEATS 5

void gs_bench_shape(const gs_model_shape *m, gs_kernel_phase p, gs_bench_size size,
                    uint32_t *batch, uint32_t *tokens)
{
    if (size == GS_BENCH_LARGE) {
        *batch = p == GS_KERNEL_DECODE ? 32 : 1;
        *tokens = 2048;
        return;
    }
    /* Small: about a minute for all four named models on 2 cores, most of
     * it spent drawing the 7B-class weights. */
    int big = (double)m->d_model * m->d_model > 4e6;
    if (p == GS_KERNEL_DECODE) {
        *batch = big ? 4 : 16;
        *tokens = big ? 512 : 1024;
    } else {
        *batch = 1;
        *tokens = big ? 128 : 1024;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Memory read rate: the best of three parallel sums over 256 MiB (simd, so
 * that the adds keep up with memory). */
static double read_rate(void)
{
    size_t n = (size_t)64 << 20;
    float *a = gs_malloc(n * sizeof *a);
    if (!a)
        return NAN;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++)
        a[i] = (float)(i & 7);
    double best = 0, sink = 0;
    for (int r = 0; r < 3; r++) {
        double t0 = gs_wall_seconds();
        float s = 0;
#pragma omp parallel for simd schedule(static) reduction(+ : s)
        for (size_t i = 0; i < n; i++)
            s += a[i];
        double t = gs_wall_seconds() - t0;
        sink += s;
        best = fmax(best, (double)(n * sizeof *a) / t);
    }
    gs_free(a);
    /* sink keeps the sums from being optimised away. */
    return sink >= 0 ? best : NAN;
}

/* OpenBLAS's sgemm rate on a 2048-cube, its own threads (the compute bound). */
static double sgemm_rate(void)
{
    int n = 2048;
    size_t nn = (size_t)n * n;
    float *a = gs_malloc(3 * nn * sizeof *a);
    if (!a)
        return NAN;
    for (size_t i = 0; i < 3 * nn; i++)
        a[i] = (float)((i % 13) - 6) / 8.0f;
    double best = 0;
    for (int r = 0; r < 3; r++) {
        double t0 = gs_wall_seconds();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, a + nn, n,
                    0.0f, a + 2 * nn, n);
        best = fmax(best, 2.0 * n * (double)nn / (gs_wall_seconds() - t0));
    }
    gs_free(a);
    return best;
}

/* The products of one layer pass, in order, through OpenBLAS alone, in one
 * of two ways: way 0 calls sgemm with OpenBLAS's own threads, one product
 * after another; way 1 splits each weight product over the OpenMP threads
 * (gs_cpu_sgemm) and runs the attention products of different heads on
 * different threads, as the layer does. */
typedef struct seq {
    float *act, *out, *arena;
    size_t arena_len, at;
    int    way;
} seq;

static const float *weights(seq *s, size_t n)
{
    if (s->at + n > s->arena_len)
        s->at = 0;
    const float *w = s->arena + s->at;
    s->at += n;
    return w;
}

static void prod(seq *s, size_t m, size_t n, size_t k, const float *b)
{
    if (s->way)
        gs_cpu_sgemm((int)m, (int)n, (int)k, 1.0f, s->act, (int)k, b, (int)n, 0.0f, s->out,
                     (int)n);
    else
        gs_cpu_sgemm1(0, (int)m, (int)n, (int)k, 1.0f, s->act, (int)k, b, (int)n, 0.0f, s->out,
                      (int)n);
}

/* Attention's products: scores (q k^T) then output (p v) for each of items
 * pieces of nq x nk (one query tile of one head, or one KV group's heads
 * in decode); on way 1 the pieces run on different threads, each writing
 * its own part of out. */
static void attn_products(seq *s, size_t items, size_t tiles, size_t t, size_t nq_max,
                          size_t hd, int decode)
{
#pragma omp parallel for schedule(dynamic, 1) if (s->way)
    for (size_t i = 0; i < items; i++) {
        size_t t0 = decode ? 0 : i % tiles * 64;
        size_t nq = decode ? nq_max : (t - t0 < 64 ? t - t0 : 64);
        size_t nk = decode ? t : t0 + nq;
        float *o = s->out + (s->way ? (size_t)omp_get_thread_num() * nq_max * (t + hd) : 0);
        gs_cpu_sgemm1(1, (int)nq, (int)nk, (int)hd, 1.0f, s->act, (int)hd, s->arena, (int)hd,
                      0.0f, o, (int)nk);
        gs_cpu_sgemm1(0, (int)nq, (int)hd, (int)nk, 1.0f, o, (int)nk, s->arena, (int)hd, 0.0f,
                      o + nq * nk, (int)hd);
    }
}

static void layer_products(seq *s, const gs_model_shape *m, gs_kernel_phase p, size_t b,
                           size_t t)
{
    size_t d = m->d_model, hd = m->head_dim, h = m->heads, kvh = m->kv_heads;
    size_t rows = p == GS_KERNEL_PREFILL ? b * t : b, qkv = (h + 2 * kvh) * hd;
    s->at = 0;
    prod(s, rows, qkv, d, weights(s, d * qkv));
    if (p == GS_KERNEL_PREFILL) {
        size_t tiles = (t + 63) / 64;
        attn_products(s, b * h * tiles, tiles, t, 64, hd, 0);
    } else {
        attn_products(s, b * kvh, 1, t, h / kvh, hd, 1);
    }
    prod(s, rows, d, h * hd, weights(s, h * hd * d));
    if (!m->experts) {
        prod(s, rows, 2 * (size_t)m->d_ff, d, weights(s, 2 * d * m->d_ff));
        prod(s, rows, d, m->d_ff, weights(s, d * m->d_ff));
        return;
    }
    size_t e = m->experts, fe = m->expert_ff, sf = (size_t)m->shared_experts * fe;
    prod(s, rows, e, d, weights(s, d * e));
    if (sf) {
        prod(s, rows, 2 * sf, d, weights(s, 2 * d * sf));
        prod(s, rows, d, sf, weights(s, sf * d));
    }
    double hit = (double)e * (1 - pow(1 - (double)m->top_k / (double)e, (double)rows));
    size_t nhit = (size_t)fmax(1, floor(hit + 0.5));
    size_t per = (rows * m->top_k + nhit - 1) / nhit;
    for (size_t x = 0; x < nhit; x++) {
        prod(s, per, 2 * fe, d, weights(s, 2 * d * fe));
        prod(s, per, d, fe, weights(s, fe * d));
    }
}

/* The faster of the two ways, each the median of REPEATS after a warm-up. */
static double seq_seconds(seq *s, const gs_model_shape *m, gs_kernel_phase p, uint32_t b,
                          uint32_t t)
{
    double best = INFINITY;
    int blas = openblas_get_num_threads();
    for (s->way = 0; s->way < 2; s->way++) {
        double v[REPEATS];
        openblas_set_num_threads(s->way ? 1 : blas);
        layer_products(s, m, p, b, t);
        for (int r = 0; r < REPEATS; r++) {
            double t0 = gs_wall_seconds();
            layer_products(s, m, p, b, t);
            v[r] = gs_wall_seconds() - t0;
        }
        qsort(v, REPEATS, sizeof *v, cmp_double);
        best = fmin(best, v[REPEATS / 2]);
    }
    openblas_set_num_threads(blas);
    return best;
}

/* Scratch for the product sequence: activations and outputs as wide as the
 * widest operand, and a weight arena of the layer's size. */
static int seq_alloc(seq *s, const gs_model_shape *m, size_t rows, size_t t, gs_diag *d)
{
    size_t d_ = m->d_model, hd = m->head_dim, qkv = (m->heads + 2 * (size_t)m->kv_heads) * hd;
    size_t ff = m->experts ? 2 * (size_t)m->expert_ff * (m->shared_experts + 1)
                           : 2 * (size_t)m->d_ff;
    size_t wide = d_ > qkv ? d_ : qkv;
    wide = wide > ff ? wide : ff;
    wide = wide > m->experts ? wide : m->experts;
    wide = wide > t ? wide : t;
    size_t arena = (size_t)(gs_model_layer_weight_bytes(m) / (double)gs_dtype_size(m->dtype));
    size_t attn = t * hd;
    arena = arena > attn ? arena : attn;
    memset(s, 0, sizeof *s);
    /* Attention's pieces: up to 64 (or heads/kv_heads) query rows against
     * up to t keys, scores then output, one piece per thread on way 1. */
    size_t piece = (64 > m->heads ? 64 : m->heads) * (t + hd) * 2;
    size_t outlen = rows * wide;
    outlen = outlen > piece * (size_t)omp_get_max_threads() ? outlen
                                                            : piece * (size_t)omp_get_max_threads();
    rows = rows > m->heads ? rows : m->heads;
    s->act = gs_malloc(rows * wide * sizeof(float));
    s->out = gs_malloc(outlen * sizeof(float));
    s->arena = gs_malloc(arena * sizeof(float));
    s->arena_len = arena;
    if (!s->act || !s->out || !s->arena) {
        gs_free(s->act);
        gs_free(s->out);
        gs_free(s->arena);
        return gs_error(d, GS_ENOMEM, "bench: out of memory");
    }
    for (size_t i = 0; i < rows * wide; i++)
        s->act[i] = (float)((i % 11) - 5) / 16.0f;
    for (size_t i = 0; i < arena; i++)
        s->arena[i] = (float)((i % 7) - 3) / 16.0f;
    return GS_OK;
}

int gs_kernel_bench_header(FILE *out, const gs_kernel_backend *be, gs_diag *d)
{
    char dev[256];
    be->device_name(dev, sizeof dev);
    fprintf(out, "# backend %s, device %s\n", be->name, dev);
    if (be->peak) {
        double pf, pb;
        int rc = be->peak(&pf, &pb, d);
        if (rc)
            return rc;
        fprintf(out, "# bounds: dense bf16 peak %.0f GFLOP/s, memory %.0f GB/s (nominal)\n",
                pf / 1e9, pb / 1e9);
    } else {
        fprintf(out, "# bounds measured now: OpenBLAS sgemm (2048^3) %.1f GFLOP/s, memory "
                "read %.1f GB/s\n", sgemm_rate() / 1e9, read_rate() / 1e9);
    }
    fprintf(out, "%-17s %-7s %5s %6s %10s %9s %8s %10s %7s %7s %7s\n", "model", "phase", "batch",
            "tokens", "ms", "GFLOP/s", "GB/s", "sgemm_ms", "vs_gemm", "of_peak", "of_bw");
    return GS_OK;
}

int gs_kernel_bench(FILE *out, const gs_kernel_backend *be, const gs_model_shape *m,
                    gs_bench_size size, uint64_t seed, gs_diag *d)
{
    uint32_t b[2], t[2];
    for (int p = 0; p < 2; p++)
        gs_bench_shape(m, (gs_kernel_phase)p, size, &b[p], &t[p]);
    uint32_t mb = b[0] > b[1] ? b[0] : b[1], mt = t[0] > t[1] ? t[0] : t[1];
    double peak_f = NAN, peak_b = NAN;
    int rc;
    if (be->peak) {
        if ((rc = be->peak(&peak_f, &peak_b, d)))
            return rc;
    } else {
        peak_f = sgemm_rate();
        peak_b = read_rate();
    }
    gs_kernel_layer *w;
    if ((rc = be->alloc(&w, m, mb, mt, seed, d)))
        return rc;
    seq s = {0};
    int have_seq = 0;
    if (!be->peak) {
        size_t rows = (size_t)b[0] * t[0] > b[1] ? (size_t)b[0] * t[0] : b[1];
        if ((rc = seq_alloc(&s, m, rows, mt, d)))
            goto out_free;
        have_seq = 1;
    }
    for (int p = 0; p < 2 && rc == GS_OK; p++) {
        double v[REPEATS], sec, fl, by;
        for (int r = 0; r < WARMUP + REPEATS; r++) {
            rc = p == GS_KERNEL_PREFILL ? be->run_prefill(w, b[p], t[p], &sec, d)
                                        : be->run_decode(w, b[p], t[p], &sec, d);
            if (rc)
                break;
            if (r >= WARMUP)
                v[r - WARMUP] = sec;
        }
        if (rc)
            break;
        qsort(v, REPEATS, sizeof *v, cmp_double);
        sec = v[REPEATS / 2];
        gs_kernel_layer_cost(m, (gs_kernel_phase)p, b[p], t[p], (double)be->elt_bytes, &fl, &by);
        double ref = have_seq ? seq_seconds(&s, m, (gs_kernel_phase)p, b[p], t[p]) : NAN;
        char refs[32] = "-", vs[32] = "-";
        if (have_seq) {
            snprintf(refs, sizeof refs, "%.3f", ref * 1e3);
            snprintf(vs, sizeof vs, "%.2f", ref / sec);
        }
        fprintf(out, "%-17s %-7s %5u %6u %10.3f %9.1f %8.1f %10s %7s %7.2f %7.2f\n", m->name,
                gs_kernel_phase_name((gs_kernel_phase)p), b[p], t[p], sec * 1e3, fl / sec / 1e9,
                by / sec / 1e9, refs, vs, fl / sec / peak_f, by / sec / peak_b);
        fflush(out);
    }
    if (have_seq) {
        gs_free(s.act);
        gs_free(s.out);
        gs_free(s.arena);
    }
out_free:
    be->free(w);
    return rc;
}
