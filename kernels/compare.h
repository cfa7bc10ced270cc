/* Two kernel backends run on the same weights and inputs, and the distance
 * between their outputs: `gatesim kernels check` (CUDA against CPU) and the
 * CUDA test. */
#ifndef GS_KERNELS_COMPARE_H
#define GS_KERNELS_COMPARE_H

#include <stddef.h>
#include <stdint.h>
#include "kernels/kernels.h"
#include "sim/types.h"

/* Shapes of the comparison: prefill 2 x 150 (three query tiles, the last
 * partial), decode 4 sequences of context 130, head of 4 rows. */
#define GS_COMPARE_BATCH 4
#define GS_COMPARE_TOKENS 160

typedef struct gs_compare_result {
    /* max |a - b| / max |b| over the rows compared, b the reference */
    double prefill_err, decode_err, head_err, router_err;
    /* MoE tokens whose top-k choice is too close to call at the observed
     * router error (left out of the output error), and rows compared */
    long   prefill_ambiguous, decode_ambiguous;
    long   prefill_rows, decode_rows;
    double tolerance;
    int    pass;
} gs_compare_result;

/* Tolerance for bf16 against fp32: see docs/kernels.md. */
#define GS_COMPARE_TOL_BF16 0.05

/* Draw a workspace of model m on backend a from seed, copy every weight,
 * the input and the KV cache into a workspace on reference backend ref, run
 * prefill, decode and head on both (the cache and the head's input are
 * copied again from a before decode and head, so that each phase is
 * compared on its own), and measure. out->pass is 1 when every error is
 * within tol. GS_OK when the comparison ran (whatever its verdict), else
 * the backends' error. */
int gs_kernel_compare(const gs_model_shape *m, const gs_kernel_backend *a,
                      const gs_kernel_backend *ref, uint64_t seed, double tol,
                      gs_compare_result *out, gs_diag *d);

#endif
