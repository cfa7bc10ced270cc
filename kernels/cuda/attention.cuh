/* Attention kernels of the CUDA backend (kernels/cuda/attention.cu), shared
 * with kernels/cuda/layer.cu. Layouts as in kernels/kernels.h: q in the
 * fused qkv rows (head i at column i * hd), K and V caches as
 * [seq][kv_head][max_tokens][hd], output rows of heads * hd. */
#ifndef GS_KERNELS_CUDA_ATTENTION_CUH
#define GS_KERNELS_CUDA_ATTENTION_CUH

#include <cuda_bf16.h>
#include <cuda_runtime.h>

/* Longest head the kernels take (registers of the split kernel). */
#define GS_CUDA_MAX_HEAD_DIM 256
/* Most context splits of one decode query. */
#define GS_CUDA_MAX_SPLITS 32

/* 1 when the tensor-core prefill kernel handles head_dim hd (64 or 128). */
int gs__cuda_flash_supported(int hd);

/* Causal prefill attention of batch sequences of T tokens each (rows b*T +
 * t), tiled with online softmax on tensor cores. Only for supported hd. */
cudaError_t gs__cuda_flash_prefill(cudaStream_t st, const __nv_bfloat16 *qkv, int qkv_cols,
                                   const __nv_bfloat16 *kc, const __nv_bfloat16 *vc,
                                   __nv_bfloat16 *out, int batch, int T, int heads,
                                   int kv_heads, int hd, int max_tokens);

/* Split-context attention (Flash-Decoding): query row r belongs to sequence
 * r / tps at position pos0 + r % tps and attends over positions 0..pos of
 * its sequence, cut into nsplit chunks of chunk keys, each chunk's partial
 * (max, sum, unnormalised output) written to po/pm/pl; the reduce kernel
 * combines the partials into out. Decode: tps = 1, pos0 = T - 1. */
cudaError_t gs__cuda_attn_split(cudaStream_t st, const __nv_bfloat16 *qkv, int qkv_cols,
                                const __nv_bfloat16 *kc, const __nv_bfloat16 *vc, int rows,
                                int tps, int pos0, int heads, int kv_heads, int hd,
                                int max_tokens, int nsplit, int chunk, float *po, float *pm,
                                float *pl);
cudaError_t gs__cuda_attn_reduce(cudaStream_t st, const float *po, const float *pm,
                                 const float *pl, __nv_bfloat16 *out, int rows, int heads,
                                 int hd, int nsplit);

#endif
