/* Tests of the CUDA kernel backend (kernels/cuda/) against the CPU backend:
 * weights drawn on the GPU with cuRAND are copied to the CPU, both run
 * prefill, decode and the head, and the bf16 results must agree with the
 * fp32 ones within GS_COMPARE_TOL_BF16 (kernels/compare.h) for a dense
 * grouped-query model, an MoE model with shared experts, a head size the
 * tensor-core prefill kernel does not take (so the split kernel runs
 * prefill), and the named deepseek-mini.
 *
 * Where there is no GPU (or the build has no CUDA) it prints "SKIPPED: no
 * CUDA device" and returns 77, which ctest reports as skipped, never as
 * passed. */
#include <stdio.h>
#include <string.h>

#include "kernels/compare.h"
#include "kernels/kernels.h"
#include "sim/error.h"
#include "tests/check.h"

static gs_model_shape shape(const char *name, uint32_t d, uint32_t heads, uint32_t kvh,
                            uint32_t hd, uint32_t dff, uint32_t experts, uint32_t top_k,
                            uint32_t shared, uint32_t eff, uint32_t vocab)
{
    gs_model_shape m;
    memset(&m, 0, sizeof m);
    snprintf(m.name, sizeof m.name, "%s", name);
    m.layers = 2;
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
    m.dtype = GS_DTYPE_BF16;
    m.source = "test";
    return m;
}

static void compare(const gs_model_shape *m)
{
    gs_diag d;
    gs_diag_init(&d);
    gs_compare_result r;
    int rc = gs_kernel_compare(m, &gs_kernel_cuda, &gs_kernel_cpu, 5, GS_COMPARE_TOL_BF16, &r,
                               &d);
    CHECK_EQ(rc, GS_OK);
    if (rc) {
        fprintf(stderr, "%s: %s\n", m->name, d.msg);
        return;
    }
    fprintf(stderr, "%s: prefill %.2e decode %.2e head %.2e router %.2e ambiguous %ld+%ld\n",
            m->name, r.prefill_err, r.decode_err, r.head_err, r.router_err, r.prefill_ambiguous,
            r.decode_ambiguous);
    CHECK(r.pass);
    /* Near-ties are rare: a handful of tokens at most. */
    CHECK(r.prefill_ambiguous <= r.prefill_rows / 20);
}

int main(void)
{
    if (!gs_kernel_cuda.available()) {
        printf("SKIPPED: no CUDA device\n");
        return 77;
    }
    gs_model_shape dense = shape("dense-gqa", 512, 8, 2, 64, 1024, 0, 0, 0, 0, 1000);
    gs_model_shape dense128 = shape("dense-hd128", 512, 4, 4, 128, 768, 0, 0, 0, 0, 500);
    gs_model_shape moe = shape("moe-shared", 256, 4, 1, 64, 0, 8, 2, 2, 128, 700);
    gs_model_shape odd = shape("hd48", 192, 4, 2, 48, 256, 0, 0, 0, 0, 300);
    compare(&dense);
    compare(&dense128);
    compare(&moe);
    compare(&odd);
    compare(gs_model_lookup("deepseek-mini"));
    return CHECK_DONE();
}
