/* Attention on the GPU, in two forms.
 *
 * Prefill: FlashAttention (Dao et al. 2022, arXiv:2205.14135). A block of 4
 * warps takes 64 queries of one head; it walks the key tiles of 64 up to
 * the causal bound, computes scores S = Q K^T on tensor cores (WMMA, bf16
 * in, fp32 out), keeps per query row a running maximum m and sum l of the
 * exponentials (the online softmax of Milakov and Gimelshein 2018), rescales
 * the output accumulated so far by exp(m_old - m_new), and adds P V on
 * tensor cores. The T x T score matrix never exists; each K and V tile is
 * read once per query tile. Each warp owns 16 query rows; two lanes share a
 * row for the softmax. Keys past a query (the causal mask) and past the
 * sequence get probability 0. Since query tiles and key tiles are both 64
 * long and aligned, every row meets at least one unmasked key in every tile
 * it visits, so the running maximum is finite after the first tile.
 *
 * Decode: Flash-Decoding (Dao, Haziza, Massa and Sizov 2023). One query per
 * sequence has too little parallelism for a whole GPU, so the context is
 * cut into chunks, one block per (sequence, KV head, chunk): each warp
 * streams keys (lanes over head dimensions, coalesced), keeps an online
 * softmax per query head of the group (grouped KV heads read K and V once
 * for all query heads that share them), the warps merge, and the block
 * writes its chunk's (max, sum, output). A second kernel merges the chunks
 * with the same rescaling. The same pair of kernels serves prefill for head
 * sizes the tensor-core kernel does not take (one chunk per query).
 *
 * Invariant: outputs are written only for rows that exist (t < T). */
#include <math.h>
#include <mma.h>

#include "kernels/cuda/attention.cuh"

using namespace nvcuda;
typedef __nv_bfloat16 bf16;

namespace {

constexpr int BR = 64;          /* queries per block */
constexpr int BC = 64;          /* keys per tile */
constexpr int NWARPS = 4;       /* warps per block; 16 query rows each */
constexpr int DEC_WARPS = 4;
constexpr int MAXG = 8;         /* query heads per block in the split kernel */
constexpr int MAXPAIRS = GS_CUDA_MAX_HEAD_DIM / 64;

template <int HD>
constexpr size_t flash_smem()
{
    return (size_t)(BR + 2 * BC) * HD * sizeof(bf16) + (size_t)NWARPS * 16 * BC * sizeof(float) +
           (size_t)NWARPS * 16 * HD * sizeof(float) + (size_t)NWARPS * 16 * BC * sizeof(bf16);
}

template <int HD>
__global__ void __launch_bounds__(NWARPS * 32)
    flash_prefill(const bf16 *__restrict__ qkv, int qkv_cols, const bf16 *__restrict__ kc,
                  const bf16 *__restrict__ vc, bf16 *__restrict__ out, int T, int heads,
                  int kv_heads, int max_tokens, float scale)
{
    extern __shared__ __align__(128) unsigned char smem[];
    bf16 *qs = reinterpret_cast<bf16 *>(smem);
    bf16 *ks = qs + BR * HD;
    bf16 *vs = ks + BC * HD;
    float *s_all = reinterpret_cast<float *>(vs + BC * HD);
    float *o_all = s_all + NWARPS * 16 * BC;
    bf16 *p_all = reinterpret_cast<bf16 *>(o_all + NWARPS * 16 * HD);

    const int q0 = blockIdx.x * BR, h = blockIdx.y, b = blockIdx.z;
    const int g = h / (heads / kv_heads);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int out_cols = heads * HD;
    const size_t kvoff = ((size_t)b * kv_heads + g) * max_tokens * HD;
    const bf16 *kb = kc + kvoff, *vb = vc + kvoff;
    constexpr int VEC = 8;      /* bf16 per 16-byte load */

    for (int i = threadIdx.x; i < BR * HD / VEC; i += blockDim.x) {
        int r = i / (HD / VEC), c = (i % (HD / VEC)) * VEC;
        uint4 v = make_uint4(0, 0, 0, 0);
        if (q0 + r < T)
            v = *reinterpret_cast<const uint4 *>(qkv + ((size_t)b * T + q0 + r) * qkv_cols +
                                                 (size_t)h * HD + c);
        *reinterpret_cast<uint4 *>(qs + r * HD + c) = v;
    }
    float *sw = s_all + warp * 16 * BC;
    float *ow = o_all + warp * 16 * HD;
    bf16 *pw = p_all + warp * 16 * BC;
    for (int i = lane; i < 16 * HD; i += 32)
        ow[i] = 0.0f;

    const int row = lane >> 1, half = lane & 1;
    const int qi = q0 + warp * 16 + row;
    float m = -INFINITY, l = 0.0f;
    const int kend = min(q0 + BR, T);
    __syncthreads();

    for (int k0 = 0; k0 < kend; k0 += BC) {
        for (int i = threadIdx.x; i < BC * HD / VEC; i += blockDim.x) {
            int r = i / (HD / VEC), c = (i % (HD / VEC)) * VEC;
            uint4 kv = make_uint4(0, 0, 0, 0), vv = kv;
            if (k0 + r < T) {
                kv = *reinterpret_cast<const uint4 *>(kb + (size_t)(k0 + r) * HD + c);
                vv = *reinterpret_cast<const uint4 *>(vb + (size_t)(k0 + r) * HD + c);
            }
            *reinterpret_cast<uint4 *>(ks + r * HD + c) = kv;
            *reinterpret_cast<uint4 *>(vs + r * HD + c) = vv;
        }
        __syncthreads();

        /* S (16 x 64) = Q_w (16 x HD) K^T (HD x 64); K^T is K read column-major. */
        for (int n = 0; n < BC / 16; n++) {
            wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
            wmma::fill_fragment(acc, 0.0f);
            for (int k = 0; k < HD / 16; k++) {
                wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> fa;
                wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> fb;
                wmma::load_matrix_sync(fa, qs + warp * 16 * HD + k * 16, HD);
                wmma::load_matrix_sync(fb, ks + n * 16 * HD + k * 16, HD);
                wmma::mma_sync(acc, fa, fb, acc);
            }
            wmma::store_matrix_sync(sw + n * 16, acc, BC, wmma::mem_row_major);
        }
        __syncwarp();

        /* Online softmax of this lane's half row. */
        float *sr = sw + row * BC + half * 32;
        float mx = -INFINITY;
        for (int j = 0; j < 32; j++) {
            int key = k0 + half * 32 + j;
            float s = key > qi || key >= T ? -INFINITY : sr[j] * scale;
            sr[j] = s;
            mx = fmaxf(mx, s);
        }
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        float mnew = fmaxf(m, mx);
        float msafe = mnew == -INFINITY ? 0.0f : mnew;
        float alpha = __expf(m - msafe);
        float sum = 0.0f;
        bf16 *pr = pw + row * BC + half * 32;
        for (int j = 0; j < 32; j++) {
            float p = __expf(sr[j] - msafe);
            sum += p;
            pr[j] = __float2bfloat16(p);
        }
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        l = l * alpha + sum;
        m = mnew;
        float *orow = ow + row * HD + half * (HD / 2);
        for (int j = 0; j < HD / 2; j++)
            orow[j] *= alpha;
        __syncwarp();

        /* O (16 x HD) += P (16 x 64) V (64 x HD). */
        for (int n = 0; n < HD / 16; n++) {
            wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
            wmma::load_matrix_sync(acc, ow + n * 16, HD, wmma::mem_row_major);
            for (int k = 0; k < BC / 16; k++) {
                wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> fa;
                wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> fb;
                wmma::load_matrix_sync(fa, pw + k * 16, BC);
                wmma::load_matrix_sync(fb, vs + k * 16 * HD + n * 16, HD);
                wmma::mma_sync(acc, fa, fb, acc);
            }
            wmma::store_matrix_sync(ow + n * 16, acc, HD, wmma::mem_row_major);
        }
        /* The next tile overwrites ks and vs. */
        __syncthreads();
    }

    if (qi < T) {
        float inv = 1.0f / l;
        const float *orow = ow + row * HD + half * (HD / 2);
        bf16 *dst = out + ((size_t)b * T + qi) * out_cols + (size_t)h * HD + half * (HD / 2);
        for (int j = 0; j < HD / 2; j += 2)
            *reinterpret_cast<__nv_bfloat162 *>(dst + j) =
                __floats2bfloat162_rn(orow[j] * inv, orow[j + 1] * inv);
    }
}

__device__ __forceinline__ float warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* Grid: x = query row, y = (KV head, head chunk of MAXG), z = chunk (x
 * because rows can exceed the 65535 limit of y and z). */
__global__ void __launch_bounds__(DEC_WARPS * 32)
    attn_split(const bf16 *__restrict__ qkv, int qkv_cols, const bf16 *__restrict__ kc,
               const bf16 *__restrict__ vc, int tps, int pos0, int heads, int kv_heads, int hd,
               int max_tokens, int nsplit, int chunk, float scale, float *__restrict__ po,
               float *__restrict__ pm, float *__restrict__ pl)
{
    extern __shared__ __align__(16) float dsm[];
    const int group = heads / kv_heads, hchunks = (group + MAXG - 1) / MAXG;
    const int s = blockIdx.z, g = blockIdx.y / hchunks, hc = blockIdx.y % hchunks;
    const int r = blockIdx.x, seq = r / tps, pos = pos0 + r % tps, ctx = pos + 1;
    const int h0 = g * group + hc * MAXG, ng = min(MAXG, group - hc * MAXG);
    const int kbeg = s * chunk, kend = min(ctx, kbeg + chunk);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    float *qs = dsm;                          /* [MAXG][hd], pre-scaled */
    float *wm = qs + MAXG * hd;               /* [DEC_WARPS][MAXG] */
    float *wl = wm + DEC_WARPS * MAXG;        /* [DEC_WARPS][MAXG] */
    float *wo = wl + DEC_WARPS * MAXG;        /* [DEC_WARPS][MAXG][hd] */

    for (int i = threadIdx.x; i < ng * hd; i += blockDim.x)
        qs[i] = __bfloat162float(qkv[(size_t)r * qkv_cols + (size_t)(h0 + i / hd) * hd + i % hd]) *
                scale;
    __syncthreads();

    float m[MAXG], l[MAXG], o[MAXG][MAXPAIRS][2];
    for (int i = 0; i < MAXG; i++) {
        m[i] = -INFINITY;
        l[i] = 0.0f;
        for (int j = 0; j < MAXPAIRS; j++)
            o[i][j][0] = o[i][j][1] = 0.0f;
    }
    const size_t kvoff = ((size_t)seq * kv_heads + g) * max_tokens * hd;
    for (int k = kbeg + warp; k < kend; k += DEC_WARPS) {
        const bf16 *kr = kc + kvoff + (size_t)k * hd, *vr = vc + kvoff + (size_t)k * hd;
        float2 kv[MAXPAIRS], vv[MAXPAIRS];
#pragma unroll
        for (int j = 0; j < MAXPAIRS; j++) {
            int dd = lane * 2 + 64 * j;
            if (dd < hd) {
                kv[j] = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162 *>(kr + dd));
                vv[j] = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162 *>(vr + dd));
            } else {
                kv[j] = vv[j] = make_float2(0.0f, 0.0f);
            }
        }
#pragma unroll
        for (int i = 0; i < MAXG; i++) {
            if (i >= ng)
                break;
            float dot = 0.0f;
#pragma unroll
            for (int j = 0; j < MAXPAIRS; j++) {
                int dd = lane * 2 + 64 * j;
                if (dd < hd)
                    dot += qs[i * hd + dd] * kv[j].x + qs[i * hd + dd + 1] * kv[j].y;
            }
            dot = warp_sum(dot);
            float mnew = fmaxf(m[i], dot);
            float a = __expf(m[i] - mnew), p = __expf(dot - mnew);
            l[i] = l[i] * a + p;
#pragma unroll
            for (int j = 0; j < MAXPAIRS; j++) {
                o[i][j][0] = o[i][j][0] * a + p * vv[j].x;
                o[i][j][1] = o[i][j][1] * a + p * vv[j].y;
            }
            m[i] = mnew;
        }
    }
    for (int i = 0; i < ng; i++) {
        if (lane == 0) {
            wm[warp * MAXG + i] = m[i];
            wl[warp * MAXG + i] = l[i];
        }
        for (int j = 0; j < MAXPAIRS; j++) {
            int dd = lane * 2 + 64 * j;
            if (dd < hd) {
                wo[(warp * MAXG + i) * hd + dd] = o[i][j][0];
                wo[(warp * MAXG + i) * hd + dd + 1] = o[i][j][1];
            }
        }
    }
    __syncthreads();
    /* Merge the warps; a chunk with no keys (or a warp with none) has m =
     * -inf and contributes nothing. */
    for (int i = threadIdx.x; i < ng * hd; i += blockDim.x) {
        int hh = i / hd, dd = i % hd;
        float mx = -INFINITY;
        for (int w = 0; w < DEC_WARPS; w++)
            mx = fmaxf(mx, wm[w * MAXG + hh]);
        float sum = 0.0f, acc = 0.0f;
        if (mx != -INFINITY)
            for (int w = 0; w < DEC_WARPS; w++) {
                float f = __expf(wm[w * MAXG + hh] - mx);
                sum += wl[w * MAXG + hh] * f;
                acc += wo[(w * MAXG + hh) * hd + dd] * f;
            }
        size_t at = ((size_t)r * heads + h0 + hh) * nsplit + s;
        po[at * hd + dd] = acc;
        if (dd == 0) {
            pm[at] = mx;
            pl[at] = sum;
        }
    }
}

/* Grid: x = query row, y = head; threads over head dimensions. */
__global__ void attn_reduce(const float *__restrict__ po, const float *__restrict__ pm,
                            const float *__restrict__ pl, bf16 *__restrict__ out, int heads,
                            int hd, int nsplit)
{
    const int h = blockIdx.y, r = blockIdx.x;
    const size_t base = ((size_t)r * heads + h) * nsplit;
    float mx = -INFINITY;
    for (int s = 0; s < nsplit; s++)
        mx = fmaxf(mx, pm[base + s]);
    float sum = 0.0f;
    for (int s = 0; s < nsplit; s++)
        if (pm[base + s] != -INFINITY)
            sum += pl[base + s] * __expf(pm[base + s] - mx);
    for (int dd = threadIdx.x; dd < hd; dd += blockDim.x) {
        float acc = 0.0f;
        for (int s = 0; s < nsplit; s++)
            if (pm[base + s] != -INFINITY)
                acc += po[(base + s) * hd + dd] * __expf(pm[base + s] - mx);
        out[(size_t)r * heads * hd + (size_t)h * hd + dd] = __float2bfloat16(acc / sum);
    }
}

template <int HD>
cudaError_t launch_flash(cudaStream_t st, const bf16 *qkv, int qkv_cols, const bf16 *kc,
                         const bf16 *vc, bf16 *out, int batch, int T, int heads, int kv_heads,
                         int max_tokens)
{
    constexpr size_t smem = flash_smem<HD>();
    cudaError_t e = cudaFuncSetAttribute(flash_prefill<HD>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (e != cudaSuccess)
        return e;
    dim3 grid((T + BR - 1) / BR, heads, batch);
    flash_prefill<HD><<<grid, NWARPS * 32, smem, st>>>(qkv, qkv_cols, kc, vc, out, T, heads,
                                                       kv_heads, max_tokens,
                                                       1.0f / sqrtf((float)HD));
    return cudaGetLastError();
}

} // namespace

int gs__cuda_flash_supported(int hd)
{
    return hd == 64 || hd == 128;
}

cudaError_t gs__cuda_flash_prefill(cudaStream_t st, const bf16 *qkv, int qkv_cols,
                                   const bf16 *kc, const bf16 *vc, bf16 *out, int batch, int T,
                                   int heads, int kv_heads, int hd, int max_tokens)
{
    if (hd == 64)
        return launch_flash<64>(st, qkv, qkv_cols, kc, vc, out, batch, T, heads, kv_heads,
                                max_tokens);
    if (hd == 128)
        return launch_flash<128>(st, qkv, qkv_cols, kc, vc, out, batch, T, heads, kv_heads,
                                 max_tokens);
    return cudaErrorInvalidValue;
}

cudaError_t gs__cuda_attn_split(cudaStream_t st, const bf16 *qkv, int qkv_cols, const bf16 *kc,
                                const bf16 *vc, int rows, int tps, int pos0, int heads,
                                int kv_heads, int hd, int max_tokens, int nsplit, int chunk,
                                float *po, float *pm, float *pl)
{
    int group = heads / kv_heads, hchunks = (group + MAXG - 1) / MAXG;
    size_t smem = ((size_t)MAXG * hd + 2 * DEC_WARPS * MAXG + (size_t)DEC_WARPS * MAXG * hd) *
                  sizeof(float);
    if (smem > 48 * 1024) {
        cudaError_t e = cudaFuncSetAttribute(attn_split,
                                             cudaFuncAttributeMaxDynamicSharedMemorySize,
                                             (int)smem);
        if (e != cudaSuccess)
            return e;
    }
    dim3 grid(rows, kv_heads * hchunks, nsplit);
    attn_split<<<grid, DEC_WARPS * 32, smem, st>>>(qkv, qkv_cols, kc, vc, tps, pos0, heads,
                                                   kv_heads, hd, max_tokens, nsplit, chunk,
                                                   1.0f / sqrtf((float)hd), po, pm, pl);
    return cudaGetLastError();
}

cudaError_t gs__cuda_attn_reduce(cudaStream_t st, const float *po, const float *pm,
                                 const float *pl, bf16 *out, int rows, int heads, int hd,
                                 int nsplit)
{
    dim3 grid(rows, heads);
    attn_reduce<<<grid, hd < 128 ? 64 : 128, 0, st>>>(po, pm, pl, out, heads, hd, nsplit);
    return cudaGetLastError();
}
