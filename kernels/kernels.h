/* Inference kernels (SPEC §5): one transformer decoder layer, run for real on
 * a backend ("cpu": C + OpenMP + OpenBLAS; "cuda": cuBLAS + own kernels), in
 * two phases.
 *
 *   prefill(B, T): B prompts of T tokens each, causal attention within each
 *     prompt; rows = B*T, row b*T + t is token t of sequence b, at position
 *     t; K and V of every token are written to the cache at positions 0..T-1.
 *   decode(B, T): one new token for each of B sequences whose context is T
 *     tokens long: the new token sits at position T-1, its K and V are written
 *     there, and it attends over cache positions 0..T-1 (the T-1 earlier ones
 *     already in the cache). rows = B, row b is sequence b.
 *
 * The layer (docs/kernels.md has the formulas):
 *   h = RMSNorm(x) * attn_norm;  [q k v] = h Wqkv;  RoPE(q, k);
 *   a = softmax(q k^T / sqrt(head_dim)) v   (grouped KV heads: query head i
 *       uses KV head i / (heads / kv_heads));
 *   x2 = x + a Wo;  h2 = RMSNorm(x2) * ffn_norm;
 *   dense:  y = x2 + (silu(h2 W1) * (h2 W3)) W2
 *   MoE:    p = softmax(h2 Wgate); y = x2 + shared(h2) + sum over the top_k
 *           experts e of p_e * expert_e(h2)   (weights not renormalised).
 * The head (final RMSNorm and projection to the vocabulary) is timed apart,
 * for `rows` rows: a whole model's pass is layer x layers + head.
 *
 * Weights are stored row-major as [in x out] so that y = x W. W1 and W3 are
 * fused column-wise into W13 = [W1 | W3] ([d x 2F]); the shared experts are
 * fused into one SwiGLU of width shared_experts * expert_ff, which is the same
 * function (a sum of SwiGLUs is a SwiGLU over the concatenated hidden units).
 * The KV cache is [max_batch][kv_heads][max_tokens][head_dim] for K and for V.
 *
 * Every backend is a const table (STYLE.md, pluggable parts). A workspace is
 * used by one thread at a time; runs on separate workspaces may overlap but
 * then time each other. */
#ifndef GS_KERNELS_KERNELS_H
#define GS_KERNELS_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "kernels/model.h"
#include "sim/types.h"

typedef struct gs_kernel_layer gs_kernel_layer;   /* a backend's workspace */

typedef enum gs_kernel_phase { GS_KERNEL_PREFILL, GS_KERNEL_DECODE } gs_kernel_phase;

/* The tensors of a workspace, for tests and `gatesim kernels check`: they are
 * read and written as fp32 whatever the backend stores (bf16 on CUDA). */
typedef enum gs_kernel_tensor {
    GS_KT_INPUT,        /* x: [max_batch*max_tokens x d_model] */
    GS_KT_OUTPUT,       /* y: same shape; valid rows after a run */
    GS_KT_ATTN_NORM,    /* [d_model] */
    GS_KT_WQKV,         /* [d_model x (heads + 2 kv_heads) head_dim]: q heads, k heads, v heads */
    GS_KT_WO,           /* [heads head_dim x d_model] */
    GS_KT_FFN_NORM,     /* [d_model] */
    GS_KT_W13,          /* dense only: [d_model x 2 d_ff] */
    GS_KT_W2,           /* dense only: [d_ff x d_model] */
    GS_KT_GATE,         /* MoE only: [d_model x experts] */
    GS_KT_EXPERT_W13,   /* MoE only: [experts][d_model x 2 expert_ff] */
    GS_KT_EXPERT_W2,    /* MoE only: [experts][expert_ff x d_model] */
    GS_KT_SHARED_W13,   /* MoE with shared experts: [d_model x 2 S expert_ff] */
    GS_KT_SHARED_W2,    /* MoE with shared experts: [S expert_ff x d_model] */
    GS_KT_K_CACHE,      /* [max_batch][kv_heads][max_tokens][head_dim] */
    GS_KT_V_CACHE,      /* same */
    GS_KT_ROUTER,       /* MoE only: router logits of the last run, [rows x experts] */
    GS_KT_FINAL_NORM,   /* [d_model] */
    GS_KT_VOCAB,        /* [d_model x vocab] */
    GS_KT_LOGITS,       /* [max_batch x vocab]: rows of the last head run */
    GS_KT_COUNT
} gs_kernel_tensor;

typedef struct gs_kernel_backend {
    const char *name;                 /* "cpu", "cuda" */
    /* 1 when the backend can run here (CUDA: a device is present), else 0. */
    int  (*available)(void);
    /* The device as one short line without commas, for the CSV's device
     * column ("AMD EPYC 7B13", "NVIDIA H100 80GB HBM3"). */
    void (*device_name)(char *buf, size_t n);
    /* Provenance as YAML lines, each indented by two spaces ("  cpu: ...",
     * "  blas: ...", or GPU name, driver and CUDA versions). GS_OK or GS_EIO. */
    int  (*write_meta)(FILE *f);
    /* A workspace for model m with weights, inputs and KV cache drawn from
     * seed: prefill up to max_batch x max_tokens tokens, decode up to
     * max_batch sequences of context max_tokens, head up to max_batch rows.
     * GS_ENOMEM (or GS_EIO for a device failure) with a
     * message. Caller frees with the table's free(). */
    int  (*alloc)(gs_kernel_layer **out, const gs_model_shape *m, uint32_t max_batch,
                  uint32_t max_tokens, uint64_t seed, gs_diag *d);
    void (*free)(gs_kernel_layer *w);
    /* One layer pass (see above) for 1 <= batch <= max_batch and 1 <= tokens
     * <= max_tokens; *seconds is its wall time (the device's, for CUDA).
     * GS_EINVAL out of range, GS_EIO for a device failure. */
    int  (*run_prefill)(gs_kernel_layer *w, uint32_t batch, uint32_t tokens, double *seconds,
                        gs_diag *d);
    int  (*run_decode)(gs_kernel_layer *w, uint32_t batch, uint32_t context, double *seconds,
                       gs_diag *d);
    /* Final RMSNorm and vocabulary projection of the first rows rows of
     * GS_KT_OUTPUT into GS_KT_LOGITS, 1 <= rows <= max_batch. */
    int  (*run_head)(gs_kernel_layer *w, uint32_t rows, double *seconds, gs_diag *d);
    /* Copy tensor t out to / in from n fp32 values; n must equal
     * gs_kernel_tensor_len() for the workspace's shape. GS_EINVAL otherwise
     * (and for a tensor the model does not have). */
    int  (*get)(gs_kernel_layer *w, gs_kernel_tensor t, float *dst, size_t n, gs_diag *d);
    int  (*put)(gs_kernel_layer *w, gs_kernel_tensor t, const float *src, size_t n,
                gs_diag *d);
    /* The device's nominal bounds for the benchmark: dense bf16 tensor-core
     * FLOP/s and memory bytes/s. NULL where there are none to read (the CPU
     * backend's bounds are measured by the benchmark instead). */
    int  (*peak)(double *flops_per_s, double *bytes_per_s, gs_diag *d);
    size_t elt_bytes;                 /* bytes per element of weights and activations */
} gs_kernel_backend;

extern const gs_kernel_backend gs_kernel_cpu;
/* Present in every build: without CUDA its available() is 0 and alloc()
 * fails with "built without CUDA". With CUDA it forwards to the plugin
 * libgatesim_cuda.so, loaded on first use ($GATESIM_CUDA_PLUGIN, else where
 * the build put it); where that fails, available() is 0 and alloc() says
 * why. */
extern const gs_kernel_backend gs_kernel_cuda;

/* Backends by name: "cpu", "cuda", or "auto" (cuda when available(), else
 * cpu). GS_EINVAL with "backend: unknown backend 'x'; expected auto, cpu or
 * cuda". The result may be unavailable (check available()). */
int gs_kernel_backend_find(const char *name, const gs_kernel_backend **out, gs_diag *d);

/* Elements of tensor t for model m and the workspace bounds; 0 when the
 * model has no such tensor (W13 of an MoE model, GATE of a dense one). */
size_t gs_kernel_tensor_len(const gs_model_shape *m, uint32_t max_batch, uint32_t max_tokens,
                            gs_kernel_tensor t);
const char *gs_kernel_tensor_name(gs_kernel_tensor t);
const char *gs_kernel_phase_name(gs_kernel_phase p);

/* Work of one layer pass, for the benchmark's bounds: floating-point
 * operations (a multiply-add is 2; matrix products and attention, with
 * causal prefill counting the lower triangle only) and the bytes that must
 * cross memory at least once (weights actually used, KV cache read and
 * written, activations in and out) with elt_bytes per element. MoE counts
 * the expected number of distinct experts hit by rows tokens under uniform
 * routing. */
void gs_kernel_layer_cost(const gs_model_shape *m, gs_kernel_phase p, uint32_t batch,
                          uint32_t tokens, double elt_bytes, double *flops, double *bytes);
/* The same for the head of rows rows. */
void gs_kernel_head_cost(const gs_model_shape *m, uint32_t rows, double elt_bytes, double *flops,
                         double *bytes);

/* One whole-model forward pass as SPEC §5 composes it: one layer pass
 * (phase, batch, tokens) timed x m->layers, plus one head pass of batch rows
 * (the last token of each sequence). For `live` service times. */
int gs_kernel_forward_seconds(const gs_kernel_backend *be, gs_kernel_layer *w,
                              const gs_model_shape *m, gs_kernel_phase p, uint32_t batch,
                              uint32_t tokens, double *seconds, gs_diag *d);

#endif
