/* Transformer shapes for the inference kernels (SPEC §5): the named models
 * and shapes given inline in a scenario.
 *
 * One decoder layer is what the kernels run; a whole model's forward pass is
 * one layer's time x layers, plus the final projection to the vocabulary
 * (docs/kernels.md). A model with experts > 0 replaces the dense SwiGLU
 * feed-forward by a mixture of experts: top_k routed experts of width
 * expert_ff per token, plus shared_experts always-active experts of the same
 * width (DeepSeekMoE's layout). */
#ifndef GS_KERNELS_MODEL_H
#define GS_KERNELS_MODEL_H

#include <stdint.h>
#include "sim/types.h"

typedef enum gs_dtype { GS_DTYPE_F32, GS_DTYPE_F16, GS_DTYPE_BF16 } gs_dtype;

#define GS_MODEL_NAME_MAX 64

typedef struct gs_model_shape {
    char     name[GS_MODEL_NAME_MAX];
    uint32_t layers;
    uint32_t d_model;
    uint32_t heads;          /* query heads */
    uint32_t kv_heads;       /* key/value heads (grouped-query attention); divides heads */
    uint32_t head_dim;       /* d_model / heads unless given */
    uint32_t d_ff;           /* dense SwiGLU width (experts == 0) */
    uint32_t experts;        /* routed experts; 0: dense */
    uint32_t top_k;          /* routed experts per token */
    uint32_t shared_experts; /* always-active experts */
    uint32_t expert_ff;      /* width of one expert */
    uint32_t vocab;
    gs_dtype dtype;          /* storage type of weights and KV cache on the GPU */
    const char *source;      /* where the shape comes from (named models) */
} gs_model_shape;

/* The named models, NULL-terminated, in documentation order. */
extern const char *const gs_model_names[];

/* The named model, or NULL. */
const gs_model_shape *gs_model_lookup(const char *name);

/* "f32", "f16", "bf16"; bytes per element. */
const char *gs_dtype_name(gs_dtype t);
size_t gs_dtype_size(gs_dtype t);

/* Read a model from scenario node n: a scalar names a model of
 * gs_model_names; a mapping gives the shape inline (keys name, layers,
 * d_model, heads, kv_heads, head_dim, d_ff, experts, top_k, shared_experts,
 * expert_ff, vocab, dtype). Errors name the node's file:line:col and what was
 * expected ("model: unknown model 'deepseek-mni' (did you mean
 * 'deepseek-mini'?)"). what is the key's name for messages. */
int gs_model_configure(gs_model_shape *out, gs_doc *doc, gs_node *n, const char *what,
                       gs_diag *d);

/* Weight bytes of one layer in dtype (attention + feed-forward, norms
 * included), and multiply-add counts, for the bandwidth and FLOP bounds. */
double gs_model_layer_weight_bytes(const gs_model_shape *m);

#endif
