/* The kernel backends by name, the shapes of a workspace's tensors, and the
 * work of a layer pass (kernels/kernels.h).
 *
 * The cost model counts what a pass cannot avoid: every multiply-add of the
 * matrix products and of attention (causal prefill does the lower triangle
 * only, as FlashAttention, Dao et al. 2022, skips masked tiles), and every
 * byte of weights, KV cache and activations crossing memory once. For MoE
 * the weights read are those of the experts some token was routed to; under
 * uniform routing of r tokens to top_k of E experts an expert is missed with
 * probability (1 - top_k/E)^r, which gives the expected count.
 *
 * This file also provides the "cuda" table. In a build with CUDA the backend
 * itself lives in a plugin, libgatesim_cuda.so, loaded with dlopen() the
 * first time the table is used: linking cuBLAS and cuRAND into every
 * binary made each start of gatesim (and of every test) 0.4 s slower, on
 * machines with or without a GPU. The table here forwards to the plugin's;
 * where the plugin cannot be loaded the backend is unavailable and says
 * why. In a build without CUDA the table is never available, so that
 * `backend: cuda` is an ordinary run-time error instead of a link error. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#ifdef GS_HAVE_CUDA
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#endif

#include "kernels/kernels.h"
#include "sim/error.h"

int gs_kernel_backend_find(const char *name, const gs_kernel_backend **out, gs_diag *d)
{
    if (strcmp(name, "cpu") == 0)
        *out = &gs_kernel_cpu;
    else if (strcmp(name, "cuda") == 0)
        *out = &gs_kernel_cuda;
    else if (strcmp(name, "auto") == 0)
        *out = gs_kernel_cuda.available() ? &gs_kernel_cuda : &gs_kernel_cpu;
    else
        return gs_error(d, GS_EINVAL, "backend: unknown backend '%s'; expected auto, cpu or "
                        "cuda", name);
    return GS_OK;
}

size_t gs_kernel_tensor_len(const gs_model_shape *m, uint32_t max_batch, uint32_t max_tokens,
                            gs_kernel_tensor t)
{
    size_t d = m->d_model, hd = m->head_dim, h = m->heads, kvh = m->kv_heads;
    size_t e = m->experts, fe = m->expert_ff, s = m->shared_experts, f = m->d_ff;
    size_t rows = (size_t)max_batch * max_tokens;
    switch (t) {
    case GS_KT_INPUT:
    case GS_KT_OUTPUT:
        return rows * d;
    case GS_KT_ATTN_NORM:
    case GS_KT_FFN_NORM:
    case GS_KT_FINAL_NORM:
        return d;
    case GS_KT_WQKV:
        return d * (h + 2 * kvh) * hd;
    case GS_KT_WO:
        return h * hd * d;
    case GS_KT_W13:
        return e ? 0 : d * 2 * f;
    case GS_KT_W2:
        return e ? 0 : f * d;
    case GS_KT_GATE:
        return d * e;
    case GS_KT_EXPERT_W13:
        return e * d * 2 * fe;
    case GS_KT_EXPERT_W2:
        return e * fe * d;
    case GS_KT_SHARED_W13:
        return e ? d * 2 * s * fe : 0;
    case GS_KT_SHARED_W2:
        return e ? s * fe * d : 0;
    case GS_KT_K_CACHE:
    case GS_KT_V_CACHE:
        return (size_t)max_batch * kvh * max_tokens * hd;
    case GS_KT_ROUTER:
        return rows * e;
    case GS_KT_VOCAB:
        return d * m->vocab;
    case GS_KT_LOGITS:
        return (size_t)max_batch * m->vocab;
    case GS_KT_COUNT:
        break;
    }
    return 0;
}

const char *gs_kernel_tensor_name(gs_kernel_tensor t)
{
    static const char *const names[GS_KT_COUNT] = {
        "input", "output", "attn_norm", "wqkv", "wo", "ffn_norm", "w13", "w2", "gate",
        "expert_w13", "expert_w2", "shared_w13", "shared_w2", "k_cache", "v_cache", "router",
        "final_norm", "vocab", "logits"};
    return (unsigned)t < GS_KT_COUNT ? names[t] : "?";
}

const char *gs_kernel_phase_name(gs_kernel_phase p)
{
    return p == GS_KERNEL_PREFILL ? "prefill" : "decode";
}

void gs_kernel_layer_cost(const gs_model_shape *m, gs_kernel_phase p, uint32_t batch,
                          uint32_t tokens, double elt_bytes, double *flops, double *bytes)
{
    double d = m->d_model, hd = m->head_dim, h = m->heads, kvh = m->kv_heads;
    double b = batch, t = tokens;
    double rows = p == GS_KERNEL_PREFILL ? b * t : b;
    double qkv = (h + 2 * kvh) * hd;
    double fl = 2 * rows * d * qkv + 2 * rows * h * hd * d;
    double w = d * qkv + h * hd * d + 2 * d;
    if (m->experts) {
        double e = m->experts, fe = m->expert_ff, s = m->shared_experts, k = m->top_k;
        fl += 2 * rows * d * e + 6 * rows * d * fe * (k + s);
        double hit = e * (1 - pow(1 - k / e, rows));
        w += d * e + 3 * d * fe * (s + hit);
    } else {
        fl += 6 * rows * d * m->d_ff;
        w += 3 * d * m->d_ff;
    }
    double kv;
    if (p == GS_KERNEL_PREFILL) {
        fl += b * h * 2 * t * (t + 1) * hd;
        kv = 2 * b * t * kvh * hd;
    } else {
        fl += b * h * 4 * t * hd;
        kv = 2 * b * t * kvh * hd;
    }
    *flops = fl;
    *bytes = (w + kv + 2 * rows * d) * elt_bytes;
}

void gs_kernel_head_cost(const gs_model_shape *m, uint32_t rows, double elt_bytes, double *flops,
                         double *bytes)
{
    double d = m->d_model, v = m->vocab, r = rows;
    *flops = 2 * r * d * v;
    *bytes = (d * v + d + r * d + r * v) * elt_bytes;
}

int gs_kernel_forward_seconds(const gs_kernel_backend *be, gs_kernel_layer *w,
                              const gs_model_shape *m, gs_kernel_phase p, uint32_t batch,
                              uint32_t tokens, double *seconds, gs_diag *d)
{
    double layer, head;
    int rc = p == GS_KERNEL_PREFILL ? be->run_prefill(w, batch, tokens, &layer, d)
                                    : be->run_decode(w, batch, tokens, &layer, d);
    if (rc)
        return rc;
    if ((rc = be->run_head(w, batch, &head, d)))
        return rc;
    *seconds = layer * m->layers + head;
    return GS_OK;
}

#ifdef GS_HAVE_CUDA
/* The plugin's table, loaded once (pthread_once, since live service times
 * may start workspaces from several replication threads). Where it is:
 * $GATESIM_CUDA_PLUGIN, else where the build put it (GS_CUDA_PLUGIN), else
 * the loader's search path. */
static const gs_kernel_backend *plugin;
static char plugin_error[512];
static pthread_once_t plugin_once = PTHREAD_ONCE_INIT;

static void plugin_load(void)
{
    const char *env = getenv("GATESIM_CUDA_PLUGIN");
    const char *paths[] = {env && *env ? env : NULL, GS_CUDA_PLUGIN, "libgatesim_cuda.so"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        if (!paths[i])
            continue;
        void *h = dlopen(paths[i], RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            if (!plugin_error[0])
                snprintf(plugin_error, sizeof plugin_error, "%s", dlerror());
            continue;
        }
        plugin = (const gs_kernel_backend *)dlsym(h, "gs_kernel_cuda_plugin");
        if (plugin)
            return;
        snprintf(plugin_error, sizeof plugin_error, "%s: no gs_kernel_cuda_plugin", paths[i]);
    }
}

static const gs_kernel_backend *cuda(void)
{
    pthread_once(&plugin_once, plugin_load);
    return plugin;
}

static int no_plugin(gs_diag *d)
{
    return gs_error(d, GS_EIO, "backend cuda: cannot load the CUDA plugin (%s)", plugin_error);
}

static int fwd_available(void)
{
    return cuda() && cuda()->available();
}

static void fwd_device_name(char *buf, size_t n)
{
    if (cuda())
        cuda()->device_name(buf, n);
    else
        snprintf(buf, n, "none");
}

static int fwd_write_meta(FILE *f)
{
    if (cuda())
        return cuda()->write_meta(f);
    return fprintf(f, "  gpu: none (CUDA plugin not loaded)\n") < 0 ? GS_EIO : GS_OK;
}

static int fwd_alloc(gs_kernel_layer **out, const gs_model_shape *m, uint32_t max_batch,
                     uint32_t max_tokens, uint64_t seed, gs_diag *d)
{
    *out = NULL;
    return cuda() ? cuda()->alloc(out, m, max_batch, max_tokens, seed, d) : no_plugin(d);
}

/* A workspace exists only if the plugin loaded, so the rest forwards. */
static void fwd_free(gs_kernel_layer *w)
{
    if (w)
        cuda()->free(w);
}

static int fwd_prefill(gs_kernel_layer *w, uint32_t b, uint32_t t, double *s, gs_diag *d)
{
    return cuda()->run_prefill(w, b, t, s, d);
}

static int fwd_decode(gs_kernel_layer *w, uint32_t b, uint32_t t, double *s, gs_diag *d)
{
    return cuda()->run_decode(w, b, t, s, d);
}

static int fwd_head(gs_kernel_layer *w, uint32_t rows, double *s, gs_diag *d)
{
    return cuda()->run_head(w, rows, s, d);
}

static int fwd_get(gs_kernel_layer *w, gs_kernel_tensor t, float *dst, size_t n, gs_diag *d)
{
    return cuda()->get(w, t, dst, n, d);
}

static int fwd_put(gs_kernel_layer *w, gs_kernel_tensor t, const float *src, size_t n,
                   gs_diag *d)
{
    return cuda()->put(w, t, src, n, d);
}

static int fwd_peak(double *flops, double *bytes, gs_diag *d)
{
    return cuda() ? cuda()->peak(flops, bytes, d) : no_plugin(d);
}

const gs_kernel_backend gs_kernel_cuda = {
    .name = "cuda",
    .available = fwd_available,
    .device_name = fwd_device_name,
    .write_meta = fwd_write_meta,
    .alloc = fwd_alloc,
    .free = fwd_free,
    .run_prefill = fwd_prefill,
    .run_decode = fwd_decode,
    .run_head = fwd_head,
    .get = fwd_get,
    .put = fwd_put,
    .peak = fwd_peak,
    .elt_bytes = 2,
};
#else
/* The "cuda" table of a build without CUDA. */
static int nocuda_available(void)
{
    return 0;
}

static void nocuda_device_name(char *buf, size_t n)
{
    snprintf(buf, n, "none");
}

static int nocuda_write_meta(FILE *f)
{
    return fprintf(f, "  gpu: none (built without CUDA)\n") < 0 ? GS_EIO : GS_OK;
}

static int nocuda_alloc(gs_kernel_layer **out, const gs_model_shape *m, uint32_t max_batch,
                        uint32_t max_tokens, uint64_t seed, gs_diag *d)
{
    (void)m, (void)max_batch, (void)max_tokens, (void)seed;
    *out = NULL;
    return gs_error(d, GS_EIO, "backend cuda: this gatesim was built without CUDA "
                    "(configure with -DGATESIM_CUDA=on where nvcc is installed)");
}

static void nocuda_free(gs_kernel_layer *w)
{
    (void)w;
}

static int nocuda_run(gs_kernel_layer *w, uint32_t a, uint32_t b, double *s, gs_diag *d)
{
    (void)w, (void)a, (void)b, (void)s;
    return gs_error(d, GS_EIO, "backend cuda: built without CUDA");
}

static int nocuda_head(gs_kernel_layer *w, uint32_t rows, double *s, gs_diag *d)
{
    (void)w, (void)rows, (void)s;
    return gs_error(d, GS_EIO, "backend cuda: built without CUDA");
}

static int nocuda_get(gs_kernel_layer *w, gs_kernel_tensor t, float *dst, size_t n, gs_diag *d)
{
    (void)w, (void)t, (void)dst, (void)n;
    return gs_error(d, GS_EIO, "backend cuda: built without CUDA");
}

static int nocuda_put(gs_kernel_layer *w, gs_kernel_tensor t, const float *src, size_t n,
                      gs_diag *d)
{
    (void)w, (void)t, (void)src, (void)n;
    return gs_error(d, GS_EIO, "backend cuda: built without CUDA");
}

const gs_kernel_backend gs_kernel_cuda = {
    .name = "cuda",
    .available = nocuda_available,
    .device_name = nocuda_device_name,
    .write_meta = nocuda_write_meta,
    .alloc = nocuda_alloc,
    .free = nocuda_free,
    .run_prefill = nocuda_run,
    .run_decode = nocuda_run,
    .run_head = nocuda_head,
    .get = nocuda_get,
    .put = nocuda_put,
    .peak = NULL,
    .elt_bytes = 2,
};
#endif
