/* The "cuda" kernel backend: one transformer decoder layer on an NVIDIA GPU,
 * built as the plugin libgatesim_cuda.so whose table gs_kernel_cuda_plugin
 * the C table gs_kernel_cuda (kernels/kernels.c) loads and forwards to. The
 * plugin calls back into the program for gs_error, gs_malloc and the tensor
 * shapes, which the program exports (CMake's ENABLE_EXPORTS).
 *
 * Weights, activations and the KV cache are bf16; every matrix product is
 * cublasGemmEx with bf16 inputs and fp32 accumulation (tensor cores); the
 * router logits and the vocabulary logits come out in fp32. The rest is
 * this file's own kernels, with fp32 arithmetic inside:
 *  - RMSNorm (Zhang and Sennrich 2019): one block per row, a block-wide sum
 *    of squares;
 *  - rotary embedding, RoPE (Su et al. 2021), half-split layout, angles from
 *    a table computed on the host in double (the CPU backend's table), fused
 *    with the write of K and V into the cache;
 *  - attention: kernels/cuda/attention.cu (FlashAttention for prefill,
 *    Flash-Decoding for decode);
 *  - SwiGLU (Shazeer 2020) on the fused [W1 | W3] product, in place;
 *  - mixture of experts (DeepSeekMoE, Dai et al. 2024): a router kernel
 *    (softmax, top-k by repeated arg-max, ties to the lower index, weights
 *    not renormalised), a counting sort of (token, choice) pairs by expert
 *    (atomic counts, a scan, atomic slots), a gather of each expert's rows
 *    into one contiguous block, one GEMM pair per expert that has tokens,
 *    and a combine kernel that adds each token's weighted expert outputs
 *    (no atomics: each token sums its own top_k slots). The expert counts
 *    are copied to the host once per layer to size the GEMMs, which is one
 *    synchronisation inside the timed pass, as in real MoE serving code.
 *  - weights and inputs are drawn on the device: cuRAND Philox uniforms,
 *    scaled and converted by a kernel, one generator offset per tensor.
 *
 * Times are the device's, between two CUDA events on the workspace's own
 * stream. Invariant: a pass reads only its inputs and writes only its
 * outputs and its own cache positions, so repeated passes agree. */
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <curand.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

extern "C" {
#include "kernels/kernels.h"
#include "sim/alloc.h"
#include "sim/error.h"
}
#include "kernels/cuda/attention.cuh"

typedef __nv_bfloat16 bf16;

#define RMS_EPS 1e-5f
#define ROPE_BASE 10000.0
#define STAGE_ELEMS ((size_t)1 << 22)

struct gs_kernel_layer {
    gs_model_shape m;
    uint32_t max_batch, max_tokens;
    size_t   max_rows;
    void    *t[GS_KT_COUNT];
    bf16    *h, *qkv, *attn, *x2, *mid, *gin, *gout;
    float   *cosv, *sinv;
    float   *po, *pm, *pl;
    int     *topk, *cnt, *off, *cursor, *perm, *slot_of;
    float   *topw;
    int     *hoff;          /* host copy of off, experts + 1 */
    float   *stage;         /* device staging for get/put and cuRAND */
    cudaStream_t   st;
    cublasHandle_t blas;
    cudaEvent_t    ev0, ev1;
    int      sms;
    int      status;        /* first failure inside a pass (cuda or cublas), 0 if none */
    const char *failed;     /* what failed */
};

namespace {

bool is_f32(int t)
{
    return t == GS_KT_ATTN_NORM || t == GS_KT_FFN_NORM || t == GS_KT_FINAL_NORM ||
           t == GS_KT_ROUTER || t == GS_KT_LOGITS;
}

size_t qkv_cols(const gs_model_shape *m)
{
    return (size_t)(m->heads + 2 * m->kv_heads) * m->head_dim;
}

int cuda_fail(gs_diag *d, cudaError_t e, const char *what)
{
    return gs_error(d, e == cudaErrorMemoryAllocation ? GS_ENOMEM : GS_EIO,
                    "backend cuda: %s: %s", what, cudaGetErrorString(e));
}

/* Record the first failure of a pass; the pass goes on enqueueing (cheap)
 * and reports at the end. */
void note(gs_kernel_layer *w, cudaError_t e, const char *what)
{
    if (e != cudaSuccess && !w->status) {
        w->status = (int)e;
        w->failed = what;
    }
}

void note_blas(gs_kernel_layer *w, cublasStatus_t s, const char *what)
{
    if (s != CUBLAS_STATUS_SUCCESS && !w->status) {
        w->status = 100000 + (int)s;
        w->failed = what;
    }
}

/* ---- kernels ----------------------------------------------------------- */

__global__ void rmsnorm_kernel(const bf16 *__restrict__ x, const float *__restrict__ g,
                               bf16 *__restrict__ y, int d)
{
    __shared__ float part[32];
    const bf16 *xr = x + (size_t)blockIdx.x * d;
    bf16 *yr = y + (size_t)blockIdx.x * d;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < d; i += blockDim.x) {
        float v = __bfloat162float(xr[i]);
        ss += v * v;
    }
    for (int o = 16; o > 0; o >>= 1)
        ss += __shfl_xor_sync(0xffffffffu, ss, o);
    if (threadIdx.x % 32 == 0)
        part[threadIdx.x / 32] = ss;
    __syncthreads();
    if (threadIdx.x < 32) {
        ss = threadIdx.x < blockDim.x / 32 ? part[threadIdx.x] : 0.0f;
        for (int o = 16; o > 0; o >>= 1)
            ss += __shfl_xor_sync(0xffffffffu, ss, o);
        if (threadIdx.x == 0)
            part[0] = rsqrtf(ss / (float)d + RMS_EPS);
    }
    __syncthreads();
    float inv = part[0];
    for (int i = threadIdx.x; i < d; i += blockDim.x)
        yr[i] = __float2bfloat16(__bfloat162float(xr[i]) * inv * g[i]);
}

/* Row r is token pos0 + r % tps of sequence r / tps. */
__global__ void rope_cache_kernel(bf16 *__restrict__ qkv, int cols, int heads, int kvh, int hd,
                                  int tps, int pos0, const float *__restrict__ cosv,
                                  const float *__restrict__ sinv, bf16 *__restrict__ kc,
                                  bf16 *__restrict__ vc, int max_tokens)
{
    const int r = blockIdx.x, seq = r / tps, pos = pos0 + r % tps, half = hd / 2;
    bf16 *row = qkv + (size_t)r * cols;
    const float *c = cosv + (size_t)pos * half, *s = sinv + (size_t)pos * half;
    for (int i = threadIdx.x; i < (heads + kvh) * half; i += blockDim.x) {
        int head = i / half, j = i % half;
        bf16 *v = row + (size_t)head * hd;
        float a = __bfloat162float(v[j]), b = __bfloat162float(v[j + half]);
        bf16 ra = __float2bfloat16(a * c[j] - b * s[j]);
        bf16 rb = __float2bfloat16(a * s[j] + b * c[j]);
        v[j] = ra;
        v[j + half] = rb;
        if (head >= heads) {
            bf16 *k = kc + (((size_t)seq * kvh + (head - heads)) * max_tokens + pos) * hd;
            k[j] = ra;
            k[j + half] = rb;
        }
    }
    for (int i = threadIdx.x; i < kvh * hd; i += blockDim.x) {
        int g = i / hd, j = i % hd;
        vc[(((size_t)seq * kvh + g) * max_tokens + pos) * hd + j] =
            row[(size_t)(heads + kvh) * hd + i];
    }
}

/* In place: mid[r][j] = silu(mid[r][j]) * mid[r][f + j]. */
__global__ void swiglu_kernel(bf16 *__restrict__ mid, size_t rows, int f)
{
    size_t n = rows * (size_t)f;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        size_t r = i / f, j = i % f;
        bf16 *a = mid + r * 2 * f;
        float x = __bfloat162float(a[j]), u = __bfloat162float(a[f + j]);
        a[j] = __float2bfloat16(x / (1.0f + __expf(-x)) * u);
    }
}

__global__ void route_kernel(const float *__restrict__ logits, int rows, int e, int k,
                             int *__restrict__ topk, float *__restrict__ topw)
{
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows)
        return;
    const float *l = logits + (size_t)r * e;
    float mx = l[0];
    for (int i = 1; i < e; i++)
        mx = fmaxf(mx, l[i]);
    float sum = 0.0f;
    for (int i = 0; i < e; i++)
        sum += __expf(l[i] - mx);
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int i = 0; i < e; i++) {
            bool taken = false;
            for (int u = 0; u < j; u++)
                taken |= topk[(size_t)r * k + u] == i;
            if (!taken && (best < 0 || l[i] > l[best]))
                best = i;
        }
        topk[(size_t)r * k + j] = best;
        topw[(size_t)r * k + j] = __expf(l[best] - mx) / sum;
    }
}

__global__ void count_kernel(const int *__restrict__ topk, int n, int *__restrict__ cnt)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        atomicAdd(&cnt[topk[i]], 1);
}

/* Experts are few (at most thousands): one thread scans. */
__global__ void scan_kernel(const int *__restrict__ cnt, int e, int *__restrict__ off,
                            int *__restrict__ cursor)
{
    int acc = 0;
    for (int i = 0; i < e; i++) {
        off[i] = acc;
        cursor[i] = acc;
        acc += cnt[i];
    }
    off[e] = acc;
}

__global__ void assign_kernel(const int *__restrict__ topk, int n, int k,
                              int *__restrict__ cursor, int *__restrict__ perm,
                              int *__restrict__ slot_of)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    int slot = atomicAdd(&cursor[topk[i]], 1);
    perm[slot] = i / k;
    slot_of[i] = slot;
}

__global__ void gather_kernel(const bf16 *__restrict__ h, const int *__restrict__ perm,
                              size_t slots, int d, bf16 *__restrict__ gin)
{
    size_t n = slots * (size_t)d;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        size_t s = i / d, c = i % d;
        gin[i] = h[(size_t)perm[s] * d + c];
    }
}

__global__ void combine_kernel(bf16 *__restrict__ y, const bf16 *__restrict__ gout,
                               const int *__restrict__ slot_of, const float *__restrict__ topw,
                               int d, int k)
{
    const size_t r = blockIdx.x;
    for (int c = threadIdx.x; c < d; c += blockDim.x) {
        float acc = __bfloat162float(y[r * d + c]);
        for (int j = 0; j < k; j++)
            acc += topw[r * k + j] * __bfloat162float(gout[(size_t)slot_of[r * k + j] * d + c]);
        y[r * d + c] = __float2bfloat16(acc);
    }
}

/* dst[i] = lo + (hi - lo) * u[i], to bf16 or fp32. */
__global__ void scale_kernel(const float *__restrict__ u, size_t n, float lo, float hi,
                             void *__restrict__ dst, int f32)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float v = lo + (hi - lo) * u[i];
        if (f32)
            static_cast<float *>(dst)[i] = v;
        else
            static_cast<bf16 *>(dst)[i] = __float2bfloat16(v);
    }
}

__global__ void to_f32_kernel(const bf16 *__restrict__ src, size_t n, float *__restrict__ dst)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        dst[i] = __bfloat162float(src[i]);
}

__global__ void to_bf16_kernel(const float *__restrict__ src, size_t n, bf16 *__restrict__ dst)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        dst[i] = __float2bfloat16(src[i]);
}

unsigned blocks_for(size_t n, unsigned threads)
{
    size_t b = (n + threads - 1) / threads;
    return (unsigned)(b < 65535 ? (b ? b : 1) : 65535);
}

/* ---- the layer ----------------------------------------------------------- */

/* Row-major y[m x n] = a[m x k] b[k x n] + beta y: cuBLAS is column-major, so
 * this is y^T = b^T a^T with the operands swapped. */
void gemm(gs_kernel_layer *w, int m, int n, int k, const bf16 *a, int lda, const bf16 *b,
          int ldb, float beta, void *y, cudaDataType yt, int ldy, const char *what)
{
    if (m == 0)
        return;
    float alpha = 1.0f;
    note_blas(w, cublasGemmEx(w->blas, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &alpha, b, CUDA_R_16BF,
                              ldb, a, CUDA_R_16BF, lda, &beta, y, yt, ldy, CUBLAS_COMPUTE_32F,
                              CUBLAS_GEMM_DEFAULT),
              what);
}

void rmsnorm(gs_kernel_layer *w, const bf16 *x, const float *g, bf16 *y, size_t rows)
{
    rmsnorm_kernel<<<(unsigned)rows, 256, 0, w->st>>>(x, g, y, (int)w->m.d_model);
    note(w, cudaGetLastError(), "rmsnorm");
}

void swiglu(gs_kernel_layer *w, bf16 *mid, size_t rows, size_t f)
{
    swiglu_kernel<<<blocks_for(rows * f, 256), 256, 0, w->st>>>(mid, rows, (int)f);
    note(w, cudaGetLastError(), "swiglu");
}

/* y += SwiGLU(h) with w13 [d x 2f], w2 [f x d]. */
void ffn(gs_kernel_layer *w, const bf16 *h, size_t rows, const bf16 *w13, const bf16 *w2,
         size_t f, bf16 *y, float beta)
{
    int d = (int)w->m.d_model;
    gemm(w, (int)rows, (int)(2 * f), d, h, d, w13, (int)(2 * f), 0.0f, w->mid, CUDA_R_16BF,
         (int)(2 * f), "ffn up");
    swiglu(w, w->mid, rows, f);
    gemm(w, (int)rows, d, (int)f, w->mid, (int)(2 * f), w2, d, beta, y, CUDA_R_16BF, d,
         "ffn down");
}

void moe(gs_kernel_layer *w, size_t rows)
{
    const gs_model_shape *m = &w->m;
    int d = (int)m->d_model, e = (int)m->experts, k = (int)m->top_k;
    size_t fe = m->expert_ff, slots = rows * k;
    bf16 *y = static_cast<bf16 *>(w->t[GS_KT_OUTPUT]);
    float *router = static_cast<float *>(w->t[GS_KT_ROUTER]);
    gemm(w, (int)rows, e, d, w->h, d, static_cast<bf16 *>(w->t[GS_KT_GATE]), e, 0.0f, router,
         CUDA_R_32F, e, "router");
    route_kernel<<<blocks_for(rows, 128), 128, 0, w->st>>>(router, (int)rows, e, k, w->topk,
                                                           w->topw);
    note(w, cudaGetLastError(), "route");
    note(w, cudaMemsetAsync(w->cnt, 0, e * sizeof(int), w->st), "route");
    count_kernel<<<blocks_for(slots, 256), 256, 0, w->st>>>(w->topk, (int)slots, w->cnt);
    scan_kernel<<<1, 1, 0, w->st>>>(w->cnt, e, w->off, w->cursor);
    assign_kernel<<<blocks_for(slots, 256), 256, 0, w->st>>>(w->topk, (int)slots, k, w->cursor,
                                                             w->perm, w->slot_of);
    gather_kernel<<<blocks_for(slots * d, 256), 256, 0, w->st>>>(w->h, w->perm, slots, d,
                                                                  w->gin);
    note(w, cudaGetLastError(), "dispatch");
    note(w, cudaMemcpyAsync(w->hoff, w->off, (e + 1) * sizeof(int), cudaMemcpyDeviceToHost,
                            w->st),
         "expert counts");
    if (m->shared_experts)
        ffn(w, w->h, rows, static_cast<bf16 *>(w->t[GS_KT_SHARED_W13]),
            static_cast<bf16 *>(w->t[GS_KT_SHARED_W2]), (size_t)m->shared_experts * fe, y, 1.0f);
    note(w, cudaStreamSynchronize(w->st), "expert counts");
    if (w->status)
        return;
    const bf16 *w13 = static_cast<bf16 *>(w->t[GS_KT_EXPERT_W13]);
    const bf16 *w2 = static_cast<bf16 *>(w->t[GS_KT_EXPERT_W2]);
    for (int x = 0; x < e; x++) {
        int lo = w->hoff[x], n = w->hoff[x + 1] - lo;
        gemm(w, n, (int)(2 * fe), d, w->gin + (size_t)lo * d, d, w13 + (size_t)x * d * 2 * fe,
             (int)(2 * fe), 0.0f, w->mid + (size_t)lo * 2 * fe, CUDA_R_16BF, (int)(2 * fe),
             "expert up");
    }
    swiglu(w, w->mid, slots, fe);
    for (int x = 0; x < e; x++) {
        int lo = w->hoff[x], n = w->hoff[x + 1] - lo;
        gemm(w, n, d, (int)fe, w->mid + (size_t)lo * 2 * fe, (int)(2 * fe),
             w2 + (size_t)x * fe * d, d, 0.0f, w->gout + (size_t)lo * d, CUDA_R_16BF, d,
             "expert down");
    }
    combine_kernel<<<(unsigned)rows, 256, 0, w->st>>>(y, w->gout, w->slot_of, w->topw, d, k);
    note(w, cudaGetLastError(), "combine");
}

/* The pass for rows rows; row r is token pos0 + r % tps of sequence r / tps. */
void layer(gs_kernel_layer *w, size_t rows, int tps, int pos0, int prefill, uint32_t batch,
           uint32_t tokens)
{
    const gs_model_shape *m = &w->m;
    int d = (int)m->d_model, hd = (int)m->head_dim, H = (int)m->heads, G = (int)m->kv_heads;
    int cols = (int)qkv_cols(m);
    bf16 *x = static_cast<bf16 *>(w->t[GS_KT_INPUT]);
    bf16 *kc = static_cast<bf16 *>(w->t[GS_KT_K_CACHE]);
    bf16 *vc = static_cast<bf16 *>(w->t[GS_KT_V_CACHE]);
    rmsnorm(w, x, static_cast<float *>(w->t[GS_KT_ATTN_NORM]), w->h, rows);
    gemm(w, (int)rows, cols, d, w->h, d, static_cast<bf16 *>(w->t[GS_KT_WQKV]), cols, 0.0f,
         w->qkv, CUDA_R_16BF, cols, "qkv");
    rope_cache_kernel<<<(unsigned)rows, 128, 0, w->st>>>(w->qkv, cols, H, G, hd, tps, pos0,
                                                         w->cosv, w->sinv, kc, vc,
                                                         (int)w->max_tokens);
    note(w, cudaGetLastError(), "rope");
    if (prefill && gs__cuda_flash_supported(hd)) {
        note(w, gs__cuda_flash_prefill(w->st, w->qkv, cols, kc, vc, w->attn, (int)batch,
                                       (int)tokens, H, G, hd, (int)w->max_tokens),
             "flash attention");
    } else {
        int nsplit = 1, chunk = (int)tokens;
        if (!prefill) {
            int group = H / G, blocks = (int)rows * G * ((group + 7) / 8);
            int most = (int)((tokens + 63) / 64);
            nsplit = (2 * w->sms + blocks - 1) / blocks;
            nsplit = nsplit < 1 ? 1 : nsplit > GS_CUDA_MAX_SPLITS ? GS_CUDA_MAX_SPLITS : nsplit;
            nsplit = nsplit > most ? most : nsplit;
            chunk = (int)((tokens + nsplit - 1) / nsplit);
        }
        note(w, gs__cuda_attn_split(w->st, w->qkv, cols, kc, vc, (int)rows, tps, pos0, H, G, hd,
                                    (int)w->max_tokens, nsplit, chunk, w->po, w->pm, w->pl),
             "attention");
        note(w, gs__cuda_attn_reduce(w->st, w->po, w->pm, w->pl, w->attn, (int)rows, H, hd,
                                     nsplit),
             "attention reduce");
    }
    note(w, cudaMemcpyAsync(w->x2, x, rows * d * sizeof(bf16), cudaMemcpyDeviceToDevice, w->st),
         "residual");
    gemm(w, (int)rows, d, H * hd, w->attn, H * hd, static_cast<bf16 *>(w->t[GS_KT_WO]), d, 1.0f,
         w->x2, CUDA_R_16BF, d, "output projection");
    rmsnorm(w, w->x2, static_cast<float *>(w->t[GS_KT_FFN_NORM]), w->h, rows);
    bf16 *y = static_cast<bf16 *>(w->t[GS_KT_OUTPUT]);
    note(w, cudaMemcpyAsync(y, w->x2, rows * d * sizeof(bf16), cudaMemcpyDeviceToDevice, w->st),
         "residual");
    if (m->experts)
        moe(w, rows);
    else
        ffn(w, w->h, rows, static_cast<bf16 *>(w->t[GS_KT_W13]),
            static_cast<bf16 *>(w->t[GS_KT_W2]), m->d_ff, y, 1.0f);
}

int finish(gs_kernel_layer *w, double *seconds, gs_diag *d)
{
    note(w, cudaEventRecord(w->ev1, w->st), "event");
    note(w, cudaEventSynchronize(w->ev1), "synchronize");
    float ms = 0;
    if (!w->status)
        note(w, cudaEventElapsedTime(&ms, w->ev0, w->ev1), "event");
    if (w->status) {
        int st = w->status;
        w->status = 0;
        if (st >= 100000)
            return gs_error(d, GS_EIO, "backend cuda: %s: cuBLAS status %d", w->failed,
                            st - 100000);
        return cuda_fail(d, (cudaError_t)st, w->failed);
    }
    *seconds = ms * 1e-3;
    return GS_OK;
}

int check_dims(const gs_kernel_layer *w, const char *what, uint32_t batch, uint32_t tokens,
               gs_diag *d)
{
    if (batch < 1 || batch > w->max_batch || tokens < 1 || tokens > w->max_tokens)
        return gs_error(d, GS_EINVAL, "kernels cuda %s: batch %u, tokens %u outside the "
                        "workspace (batch 1..%u, tokens 1..%u)", what, batch, tokens,
                        w->max_batch, w->max_tokens);
    return GS_OK;
}

int cuda_prefill(gs_kernel_layer *w, uint32_t batch, uint32_t tokens, double *seconds,
                 gs_diag *d)
{
    int rc = check_dims(w, "prefill", batch, tokens, d);
    if (rc)
        return rc;
    note(w, cudaEventRecord(w->ev0, w->st), "event");
    layer(w, (size_t)batch * tokens, (int)tokens, 0, 1, batch, tokens);
    return finish(w, seconds, d);
}

int cuda_decode(gs_kernel_layer *w, uint32_t batch, uint32_t context, double *seconds,
                gs_diag *d)
{
    int rc = check_dims(w, "decode", batch, context, d);
    if (rc)
        return rc;
    note(w, cudaEventRecord(w->ev0, w->st), "event");
    layer(w, batch, 1, (int)context - 1, 0, batch, context);
    return finish(w, seconds, d);
}

int cuda_head(gs_kernel_layer *w, uint32_t rows, double *seconds, gs_diag *d)
{
    const gs_model_shape *m = &w->m;
    if (rows < 1 || rows > w->max_batch)
        return gs_error(d, GS_EINVAL, "kernels cuda head: %u rows outside 1..%u", rows,
                        w->max_batch);
    note(w, cudaEventRecord(w->ev0, w->st), "event");
    rmsnorm(w, static_cast<bf16 *>(w->t[GS_KT_OUTPUT]),
            static_cast<float *>(w->t[GS_KT_FINAL_NORM]), w->h, rows);
    gemm(w, (int)rows, (int)m->vocab, (int)m->d_model, w->h, (int)m->d_model,
         static_cast<bf16 *>(w->t[GS_KT_VOCAB]), (int)m->vocab, 0.0f, w->t[GS_KT_LOGITS],
         CUDA_R_32F, (int)m->vocab, "vocabulary projection");
    return finish(w, seconds, d);
}

/* ---- workspace ------------------------------------------------------------ */

size_t fan_in(const gs_model_shape *m, int t)
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

void cuda_free(gs_kernel_layer *w)
{
    if (!w)
        return;
    for (int i = 0; i < GS_KT_COUNT; i++)
        cudaFree(w->t[i]);
    void *bufs[] = {w->h,    w->qkv, w->attn, w->x2,    w->mid,  w->gin,     w->gout,
                    w->cosv, w->sinv, w->po,  w->pm,    w->pl,   w->topk,    w->cnt,
                    w->off,  w->cursor, w->perm, w->slot_of, w->topw, w->stage};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        cudaFree(bufs[i]);
    if (w->blas)
        cublasDestroy(w->blas);
    if (w->ev0)
        cudaEventDestroy(w->ev0);
    if (w->ev1)
        cudaEventDestroy(w->ev1);
    if (w->st)
        cudaStreamDestroy(w->st);
    gs_free(w->hoff);
    gs_free(w);
}

template <typename T>
cudaError_t dalloc(T **p, size_t n)
{
    return cudaMalloc(reinterpret_cast<void **>(p), (n ? n : 1) * sizeof(T));
}

/* Fill tensor t with uniforms on [lo, hi), drawn in chunks through stage. */
int draw(gs_kernel_layer *w, curandGenerator_t gen, int t, size_t n, float lo, float hi,
         gs_diag *d)
{
    if (curandSetGeneratorOffset(gen, (unsigned long long)t << 40) != CURAND_STATUS_SUCCESS)
        return gs_error(d, GS_EIO, "backend cuda: cuRAND offset failed");
    for (size_t at = 0; at < n; at += STAGE_ELEMS) {
        size_t len = n - at < STAGE_ELEMS ? n - at : STAGE_ELEMS;
        if (curandGenerateUniform(gen, w->stage, len) != CURAND_STATUS_SUCCESS)
            return gs_error(d, GS_EIO, "backend cuda: cuRAND generate failed");
        void *dst = is_f32(t) ? static_cast<void *>(static_cast<float *>(w->t[t]) + at)
                              : static_cast<void *>(static_cast<bf16 *>(w->t[t]) + at);
        scale_kernel<<<blocks_for(len, 256), 256, 0, w->st>>>(w->stage, len, lo, hi, dst,
                                                              is_f32(t));
        cudaError_t e = cudaGetLastError();
        if (e != cudaSuccess)
            return cuda_fail(d, e, "drawing weights");
    }
    return GS_OK;
}

int fill_all(gs_kernel_layer *w, uint64_t seed, gs_diag *d)
{
    const gs_model_shape *m = &w->m;
    curandGenerator_t gen;
    if (curandCreateGenerator(&gen, CURAND_RNG_PSEUDO_PHILOX4_32_10) != CURAND_STATUS_SUCCESS)
        return gs_error(d, GS_EIO, "backend cuda: cannot create a cuRAND generator");
    int rc = GS_OK;
    if (curandSetStream(gen, w->st) != CURAND_STATUS_SUCCESS ||
        curandSetPseudoRandomGeneratorSeed(gen, seed) != CURAND_STATUS_SUCCESS)
        rc = gs_error(d, GS_EIO, "backend cuda: cannot seed cuRAND");
    for (int i = 0; i < GS_KT_COUNT && rc == GS_OK; i++) {
        size_t n = gs_kernel_tensor_len(m, w->max_batch, w->max_tokens, (gs_kernel_tensor)i);
        size_t fi = fan_in(m, i);
        if (!n)
            continue;
        if (fi) {
            float a = (float)sqrt(3.0 / (double)fi);
            rc = draw(w, gen, i, n, -a, a, d);
        } else if (i == GS_KT_ATTN_NORM || i == GS_KT_FFN_NORM || i == GS_KT_FINAL_NORM) {
            rc = draw(w, gen, i, n, 0.8f, 1.2f, d);
        } else if (i == GS_KT_INPUT || i == GS_KT_K_CACHE || i == GS_KT_V_CACHE) {
            rc = draw(w, gen, i, n, -(float)sqrt(3.0), (float)sqrt(3.0), d);
        } else {
            cudaError_t e = cudaMemsetAsync(w->t[i], 0, n * (is_f32(i) ? 4 : 2), w->st);
            if (e != cudaSuccess)
                rc = cuda_fail(d, e, "clearing outputs");
        }
    }
    cudaError_t e = cudaStreamSynchronize(w->st);
    if (rc == GS_OK && e != cudaSuccess)
        rc = cuda_fail(d, e, "drawing weights");
    curandDestroyGenerator(gen);
    return rc;
}

int cuda_alloc(gs_kernel_layer **out, const gs_model_shape *m, uint32_t max_batch,
               uint32_t max_tokens, uint64_t seed, gs_diag *d)
{
    *out = NULL;
    if (max_batch < 1 || max_tokens < 1)
        return gs_error(d, GS_EINVAL, "kernels cuda: workspace needs batch and tokens >= 1");
    if (m->head_dim > GS_CUDA_MAX_HEAD_DIM || m->head_dim % 2)
        return gs_error(d, GS_EINVAL, "kernels cuda: head_dim %u not supported (even, at most "
                        "%d)", m->head_dim, GS_CUDA_MAX_HEAD_DIM);
    int ndev = 0;
    cudaError_t e = cudaGetDeviceCount(&ndev);
    if (e != cudaSuccess || ndev == 0)
        return gs_error(d, GS_EIO, "backend cuda: no CUDA device (%s)",
                        e != cudaSuccess ? cudaGetErrorString(e) : "none found");
    gs_kernel_layer *w = static_cast<gs_kernel_layer *>(gs_calloc(1, sizeof *w));
    if (!w)
        return gs_error(d, GS_ENOMEM, "kernels cuda: out of memory");
    w->m = *m;
    w->max_batch = max_batch;
    w->max_tokens = max_tokens;
    size_t rows = w->max_rows = (size_t)max_batch * max_tokens;
    size_t dm = m->d_model, hd = m->head_dim, H = m->heads, k = m->top_k, E = m->experts;
    size_t fe = m->expert_ff, sf = (size_t)m->shared_experts * fe;
    size_t ffmax = E ? (sf > fe * k ? sf : fe * k) : m->d_ff;   /* per row of mid */
    size_t part_rows = gs__cuda_flash_supported((int)hd) ? (size_t)max_batch * GS_CUDA_MAX_SPLITS
                                                         : rows;
    if (part_rows < (size_t)max_batch * GS_CUDA_MAX_SPLITS)
        part_rows = (size_t)max_batch * GS_CUDA_MAX_SPLITS;
    int rc = GS_OK;
    const char *what = "cudaMalloc";
    e = cudaSetDevice(0);
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&w->sms, cudaDevAttrMultiProcessorCount, 0);
    if (e == cudaSuccess)
        e = cudaStreamCreateWithFlags(&w->st, cudaStreamNonBlocking);
    if (e == cudaSuccess)
        e = cudaEventCreate(&w->ev0);
    if (e == cudaSuccess)
        e = cudaEventCreate(&w->ev1);
    if (e != cudaSuccess) {
        rc = cuda_fail(d, e, "stream setup");
        goto out_free;
    }
    if (cublasCreate(&w->blas) != CUBLAS_STATUS_SUCCESS ||
        cublasSetStream(w->blas, w->st) != CUBLAS_STATUS_SUCCESS) {
        rc = gs_error(d, GS_EIO, "backend cuda: cannot create a cuBLAS handle");
        goto out_free;
    }
    for (int i = 0; i < GS_KT_COUNT && e == cudaSuccess; i++) {
        size_t n = gs_kernel_tensor_len(m, max_batch, max_tokens, (gs_kernel_tensor)i);
        if (n)
            e = cudaMalloc(&w->t[i], n * (is_f32(i) ? sizeof(float) : sizeof(bf16)));
    }
    if (e == cudaSuccess)
        e = dalloc(&w->h, rows * dm);
    if (e == cudaSuccess)
        e = dalloc(&w->qkv, rows * qkv_cols(m));
    if (e == cudaSuccess)
        e = dalloc(&w->attn, rows * H * hd);
    if (e == cudaSuccess)
        e = dalloc(&w->x2, rows * dm);
    if (e == cudaSuccess)
        e = dalloc(&w->mid, rows * 2 * ffmax);
    if (e == cudaSuccess)
        e = dalloc(&w->cosv, (size_t)max_tokens * (hd / 2));
    if (e == cudaSuccess)
        e = dalloc(&w->sinv, (size_t)max_tokens * (hd / 2));
    if (e == cudaSuccess)
        e = dalloc(&w->po, part_rows * H * hd);
    if (e == cudaSuccess)
        e = dalloc(&w->pm, part_rows * H);
    if (e == cudaSuccess)
        e = dalloc(&w->pl, part_rows * H);
    if (e == cudaSuccess)
        e = dalloc(&w->stage, STAGE_ELEMS);
    if (E && e == cudaSuccess) {
        e = dalloc(&w->gin, rows * k * dm);
        if (e == cudaSuccess)
            e = dalloc(&w->gout, rows * k * dm);
        if (e == cudaSuccess)
            e = dalloc(&w->topk, rows * k);
        if (e == cudaSuccess)
            e = dalloc(&w->topw, rows * k);
        if (e == cudaSuccess)
            e = dalloc(&w->cnt, E);
        if (e == cudaSuccess)
            e = dalloc(&w->off, E + 1);
        if (e == cudaSuccess)
            e = dalloc(&w->cursor, E);
        if (e == cudaSuccess)
            e = dalloc(&w->perm, rows * k);
        if (e == cudaSuccess)
            e = dalloc(&w->slot_of, rows * k);
        if (e == cudaSuccess && !(w->hoff = static_cast<int *>(gs_malloc((E + 1) * sizeof(int)))))
            e = cudaErrorMemoryAllocation;
    }
    if (e != cudaSuccess) {
        rc = gs_error(d, e == cudaErrorMemoryAllocation ? GS_ENOMEM : GS_EIO,
                      "backend cuda: %s for a %s workspace of batch %u x %u tokens: %s", what,
                      m->name, max_batch, max_tokens, cudaGetErrorString(e));
        goto out_free;
    }
    {
        /* The RoPE table, computed as the CPU backend computes it. */
        size_t n = (size_t)max_tokens * (hd / 2);
        float *c = static_cast<float *>(gs_malloc(n * sizeof(float)));
        float *s = static_cast<float *>(gs_malloc(n * sizeof(float)));
        if (!c || !s) {
            gs_free(c);
            gs_free(s);
            rc = gs_error(d, GS_ENOMEM, "kernels cuda: out of memory");
            goto out_free;
        }
        for (size_t p = 0; p < max_tokens; p++)
            for (size_t i = 0; i < hd / 2; i++) {
                double ang = (double)p * pow(ROPE_BASE, -2.0 * (double)i / (double)hd);
                c[p * (hd / 2) + i] = (float)cos(ang);
                s[p * (hd / 2) + i] = (float)sin(ang);
            }
        e = cudaMemcpy(w->cosv, c, n * sizeof(float), cudaMemcpyHostToDevice);
        if (e == cudaSuccess)
            e = cudaMemcpy(w->sinv, s, n * sizeof(float), cudaMemcpyHostToDevice);
        gs_free(c);
        gs_free(s);
        if (e != cudaSuccess) {
            rc = cuda_fail(d, e, "copying the RoPE table");
            goto out_free;
        }
    }
    if ((rc = fill_all(w, seed, d)))
        goto out_free;
    *out = w;
    return GS_OK;
out_free:
    cuda_free(w);
    return rc;
}

int tensor_io(gs_kernel_layer *w, gs_kernel_tensor t, size_t n, gs_diag *d)
{
    size_t len = (unsigned)t < GS_KT_COUNT
                     ? gs_kernel_tensor_len(&w->m, w->max_batch, w->max_tokens, t)
                     : 0;
    if (len == 0)
        return gs_error(d, GS_EINVAL, "kernels cuda: model %s has no tensor %s", w->m.name,
                        gs_kernel_tensor_name(t));
    if (n != len)
        return gs_error(d, GS_EINVAL, "kernels cuda: tensor %s has %zu elements, not %zu",
                        gs_kernel_tensor_name(t), len, n);
    return GS_OK;
}

int cuda_get(gs_kernel_layer *w, gs_kernel_tensor t, float *dst, size_t n, gs_diag *d)
{
    int rc = tensor_io(w, t, n, d);
    if (rc)
        return rc;
    cudaError_t e = cudaSuccess;
    for (size_t at = 0; at < n && e == cudaSuccess; at += STAGE_ELEMS) {
        size_t len = n - at < STAGE_ELEMS ? n - at : STAGE_ELEMS;
        if (is_f32(t)) {
            e = cudaMemcpyAsync(w->stage, static_cast<float *>(w->t[t]) + at, len * sizeof(float),
                                cudaMemcpyDeviceToDevice, w->st);
        } else {
            to_f32_kernel<<<blocks_for(len, 256), 256, 0, w->st>>>(
                static_cast<bf16 *>(w->t[t]) + at, len, w->stage);
            e = cudaGetLastError();
        }
        if (e == cudaSuccess)
            e = cudaMemcpyAsync(dst + at, w->stage, len * sizeof(float), cudaMemcpyDeviceToHost,
                                w->st);
        if (e == cudaSuccess)
            e = cudaStreamSynchronize(w->st);
    }
    return e == cudaSuccess ? GS_OK : cuda_fail(d, e, "reading a tensor");
}

int cuda_put(gs_kernel_layer *w, gs_kernel_tensor t, const float *src, size_t n, gs_diag *d)
{
    int rc = tensor_io(w, t, n, d);
    if (rc)
        return rc;
    cudaError_t e = cudaSuccess;
    for (size_t at = 0; at < n && e == cudaSuccess; at += STAGE_ELEMS) {
        size_t len = n - at < STAGE_ELEMS ? n - at : STAGE_ELEMS;
        e = cudaMemcpyAsync(w->stage, src + at, len * sizeof(float), cudaMemcpyHostToDevice,
                            w->st);
        if (e != cudaSuccess)
            break;
        if (is_f32(t)) {
            e = cudaMemcpyAsync(static_cast<float *>(w->t[t]) + at, w->stage, len * sizeof(float),
                                cudaMemcpyDeviceToDevice, w->st);
        } else {
            to_bf16_kernel<<<blocks_for(len, 256), 256, 0, w->st>>>(
                w->stage, len, static_cast<bf16 *>(w->t[t]) + at);
            e = cudaGetLastError();
        }
        if (e == cudaSuccess)
            e = cudaStreamSynchronize(w->st);
    }
    return e == cudaSuccess ? GS_OK : cuda_fail(d, e, "writing a tensor");
}

int cuda_available(void)
{
    int n = 0;
    return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

void cuda_device_name(char *buf, size_t n)
{
    cudaDeviceProp p;
    if (!cuda_available() || cudaGetDeviceProperties(&p, 0) != cudaSuccess) {
        snprintf(buf, n, "none");
        return;
    }
    snprintf(buf, n, "%s", p.name);
    for (char *c = buf; *c; c++)
        if (*c == ',' || *c == '"')
            *c = ' ';
}

int cuda_write_meta(FILE *f)
{
    cudaDeviceProp p;
    if (!cuda_available() || cudaGetDeviceProperties(&p, 0) != cudaSuccess)
        return fprintf(f, "  gpu: none\n") < 0 ? GS_EIO : GS_OK;
    int drv = 0, rt = 0, blasv = 0, randv = 0;
    cudaDriverGetVersion(&drv);
    cudaRuntimeGetVersion(&rt);
    curandGetVersion(&randv);
    cublasHandle_t h;
    if (cublasCreate(&h) == CUBLAS_STATUS_SUCCESS) {
        cublasGetVersion(h, &blasv);
        cublasDestroy(h);
    }
    int rc = fprintf(f, "  gpu: \"%s\"\n  compute_capability: \"%d.%d\"\n  sms: %d\n"
                     "  memory_gib: %.1f\n  cuda_driver: \"%d.%d\"\n  cuda_runtime: \"%d.%d\"\n"
                     "  cublas: %d\n  curand: %d\n"
                     "  precision: bf16 weights, activations and KV cache; fp32 accumulation\n",
                     p.name, p.major, p.minor, p.multiProcessorCount,
                     (double)p.totalGlobalMem / (1024.0 * 1024 * 1024), drv / 1000,
                     drv % 1000 / 10, rt / 1000, rt % 1000 / 10, blasv, randv);
    return rc < 0 ? GS_EIO : GS_OK;
}

/* Dense bf16 tensor-core FLOP per clock per SM: 2048 on Ampere (A100:
 * 312 TFLOP/s at 1.41 GHz x 108 SMs), 4096 on Hopper (H100 SXM: 989 TFLOP/s
 * at 1.83 GHz x 132 SMs), taken as 4096 for anything newer. */
int cuda_peak(double *flops, double *bytes, gs_diag *d)
{
    int sms = 0, clk = 0, memclk = 0, bus = 0, major = 0;
    cudaError_t e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&clk, cudaDevAttrClockRate, 0);
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&memclk, cudaDevAttrMemoryClockRate, 0);
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&bus, cudaDevAttrGlobalMemoryBusWidth, 0);
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0);
    if (e != cudaSuccess)
        return cuda_fail(d, e, "reading device attributes");
    double per_clk = major >= 9 ? 4096 : major == 8 ? 2048 : 1024;
    *flops = (double)sms * clk * 1e3 * per_clk;
    *bytes = 2.0 * memclk * 1e3 * bus / 8;
    return GS_OK;
}

} // namespace

extern "C" const gs_kernel_backend gs_kernel_cuda_plugin = {
    "cuda",          cuda_available, cuda_device_name, cuda_write_meta, cuda_alloc,
    cuda_free,       cuda_prefill,   cuda_decode,      cuda_head,       cuda_get,
    cuda_put,        cuda_peak,      sizeof(bf16),
};
