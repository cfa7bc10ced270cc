/* The named models and inline shapes (kernels/model.h). The sources of the
 * named shapes are in docs/kernels.md; deepseek-mini is this project's own
 * scaled-down DeepSeekMoE layout, small enough to calibrate on a laptop. */
#include <stdio.h>
#include <string.h>

#include "kernels/model.h"
#include "sim/error.h"
#include "sim/node.h"
#include "sim/units.h"

/* Bounds that keep one layer's weights within a machine (about 10^10
 * parameters per layer). */
#define MAX_DIM 65536L
#define MAX_LAYERS 1024L
#define MAX_EXPERTS 4096L
#define MAX_VOCAB 4000000L

static const gs_model_shape models[] = {
    {.name = "deepseek-mini", .layers = 8, .d_model = 1024, .heads = 16, .kv_heads = 4,
     .head_dim = 64, .d_ff = 2816, .experts = 8, .top_k = 2, .shared_experts = 1,
     .expert_ff = 704, .vocab = 32000, .dtype = GS_DTYPE_BF16,
     .source = "gatesim's own scaled-down DeepSeekMoE layout (fine-grained experts with one "
               "shared expert, grouped-query attention)"},
    {.name = "llama2-7b", .layers = 32, .d_model = 4096, .heads = 32, .kv_heads = 32,
     .head_dim = 128, .d_ff = 11008, .vocab = 32000, .dtype = GS_DTYPE_BF16,
     .source = "Llama 2 7B (Touvron et al. 2023, arXiv:2307.09288, Table 1 and the released "
               "config.json)"},
    {.name = "mistral-7b", .layers = 32, .d_model = 4096, .heads = 32, .kv_heads = 8,
     .head_dim = 128, .d_ff = 14336, .vocab = 32000, .dtype = GS_DTYPE_BF16,
     .source = "Mistral 7B (Jiang et al. 2023, arXiv:2310.06825, Table 1)"},
    {.name = "deepseek-moe-16b", .layers = 28, .d_model = 2048, .heads = 16, .kv_heads = 16,
     .head_dim = 128, .d_ff = 10944, .experts = 64, .top_k = 6, .shared_experts = 2,
     .expert_ff = 1408, .vocab = 102400, .dtype = GS_DTYPE_BF16,
     .source = "DeepSeekMoE 16B (Dai et al. 2024, arXiv:2401.06066, and the released "
               "config.json; every layer taken as MoE)"},
};

const char *const gs_model_names[] = {"deepseek-mini", "llama2-7b", "mistral-7b",
                                      "deepseek-moe-16b", NULL};

static const char *const dtype_names[] = {"f32", "f16", "bf16", NULL};

static const char *const inline_keys[] = {"name", "layers", "d_model", "heads", "kv_heads",
                                          "head_dim", "d_ff", "experts", "top_k",
                                          "shared_experts", "expert_ff", "vocab", "dtype",
                                          NULL};

const gs_model_shape *gs_model_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
        if (strcmp(models[i].name, name) == 0)
            return &models[i];
    return NULL;
}

const char *gs_dtype_name(gs_dtype t)
{
    return dtype_names[t];
}

size_t gs_dtype_size(gs_dtype t)
{
    return t == GS_DTYPE_F32 ? 4 : 2;
}

static int read_inline(gs_model_shape *s, gs_doc *doc, gs_node *m, const char *what,
                       gs_diag *d)
{
    int rc = gs_map_check_keys(m, inline_keys, what, d);
    if (rc)
        return rc;
    memset(s, 0, sizeof *s);
    const char *name, *dtype;
    if ((rc = gs_cfg_str(doc, m, "name", "inline", &name, d)))
        return rc;
    if (strlen(name) >= GS_MODEL_NAME_MAX)
        return gs_error_at(d, gs_map_get(m, "name"), "name: at most %d characters",
                           GS_MODEL_NAME_MAX - 1);
    memcpy(s->name, name, strlen(name) + 1);
    if ((rc = gs_cfg_u32_range(doc, m, "layers", NULL, 1, MAX_LAYERS, &s->layers, d)) ||
        (rc = gs_cfg_u32_range(doc, m, "d_model", NULL, 1, MAX_DIM, &s->d_model, d)) ||
        (rc = gs_cfg_u32_range(doc, m, "heads", NULL, 1, MAX_DIM, &s->heads, d)))
        return rc;
    char dflt[32];
    snprintf(dflt, sizeof dflt, "%u", s->heads);
    if ((rc = gs_cfg_u32_range(doc, m, "kv_heads", dflt, 1, s->heads, &s->kv_heads, d)))
        return rc;
    if (s->heads % s->kv_heads != 0)
        return gs_error_at(d, gs_map_get(m, "kv_heads"), "kv_heads: must divide heads (%u), "
                           "got %u", s->heads, s->kv_heads);
    if (s->d_model % s->heads != 0 && !gs_map_get(m, "head_dim"))
        return gs_error_at(d, gs_map_get(m, "heads"), "heads: %u does not divide d_model "
                           "(%u); give head_dim", s->heads, s->d_model);
    snprintf(dflt, sizeof dflt, "%u", s->d_model / s->heads ? s->d_model / s->heads : 1);
    if ((rc = gs_cfg_u32_range(doc, m, "head_dim", dflt, 1, MAX_DIM, &s->head_dim, d)))
        return rc;
    if (s->head_dim % 2 != 0)
        return gs_error_at(d, gs_map_get(m, "head_dim"), "head_dim: must be even (rotary "
                           "embedding rotates pairs), got %u", s->head_dim);
    if ((rc = gs_cfg_u32_range(doc, m, "experts", "0", 0, MAX_EXPERTS, &s->experts, d)))
        return rc;
    if (s->experts == 0) {
        if ((rc = gs_cfg_u32_range(doc, m, "d_ff", NULL, 1, 4 * MAX_DIM, &s->d_ff, d)))
            return rc;
        for (const char *const *k = (const char *const[]){"top_k", "shared_experts",
                                                           "expert_ff", NULL}; *k; k++)
            if (gs_map_get(m, *k))
                return gs_error_at(d, gs_map_get(m, *k), "%s: only a model with experts > 0 "
                                   "uses it", *k);
    } else {
        if ((rc = gs_cfg_u32_range(doc, m, "top_k", NULL, 1, s->experts, &s->top_k, d)) ||
            (rc = gs_cfg_u32_range(doc, m, "shared_experts", "0", 0, MAX_EXPERTS,
                           &s->shared_experts, d)) ||
            (rc = gs_cfg_u32_range(doc, m, "expert_ff", NULL, 1, 4 * MAX_DIM, &s->expert_ff, d)))
            return rc;
        if (gs_map_get(m, "d_ff") && (rc = gs_cfg_u32_range(doc, m, "d_ff", NULL, 1, 4 * MAX_DIM,
                                                    &s->d_ff, d)))
            return rc;
    }
    if ((rc = gs_cfg_u32_range(doc, m, "vocab", NULL, 1, MAX_VOCAB, &s->vocab, d)) ||
        (rc = gs_cfg_str(doc, m, "dtype", "bf16", &dtype, d)))
        return rc;
    size_t i = 0;
    while (dtype_names[i] && strcmp(dtype_names[i], dtype) != 0)
        i++;
    if (!dtype_names[i])
        return gs_error_at(d, gs_map_get(m, "dtype"), "dtype: expected f32, f16 or bf16, got "
                           "'%s'", dtype);
    s->dtype = (gs_dtype)i;
    s->source = "given inline in the scenario";
    return GS_OK;
}

int gs_model_configure(gs_model_shape *out, gs_doc *doc, gs_node *n, const char *what,
                       gs_diag *d)
{
    if (n->kind == GS_NODE_MAP)
        return read_inline(out, doc, n, what, d);
    if (n->kind != GS_NODE_SCALAR)
        return gs_error_at(d, n, "%s: expected a model name (%s, %s, %s or %s) or a mapping of "
                           "shapes, found %s", what, gs_model_names[0], gs_model_names[1],
                           gs_model_names[2], gs_model_names[3], gs_node_kind_name(n->kind));
    const gs_model_shape *m = gs_model_lookup(n->value);
    if (!m) {
        const char *hint = gs_suggest(n->value, gs_model_names);
        return gs_error_at(d, n, "%s: unknown model '%s'%s%s%s; expected %s, %s, %s or %s, or "
                           "the shapes inline", what, n->value, hint ? " (did you mean '" : "",
                           hint ? hint : "", hint ? "'?)" : "", gs_model_names[0],
                           gs_model_names[1], gs_model_names[2], gs_model_names[3]);
    }
    *out = *m;
    return GS_OK;
}

double gs_model_layer_weight_bytes(const gs_model_shape *m)
{
    double d = m->d_model, hd = m->head_dim;
    double attn = d * hd * (m->heads + 2.0 * m->kv_heads) + hd * m->heads * d;
    double ffn = m->experts ? 3.0 * d * m->expert_ff * (m->experts + m->shared_experts) +
                              d * m->experts
                            : 3.0 * d * m->d_ff;
    return (attn + ffn + 2.0 * d) * (double)gs_dtype_size(m->dtype);
}
