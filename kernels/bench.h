/* `gatesim kernels bench`: achieved FLOP/s and bytes/s of one decoder layer,
 * per named model and phase, against the machine's bounds. */
#ifndef GS_KERNELS_BENCH_H
#define GS_KERNELS_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include "kernels/kernels.h"
#include "sim/types.h"

typedef enum gs_bench_size { GS_BENCH_SMALL, GS_BENCH_LARGE } gs_bench_size;

/* The (batch, tokens) the bench uses for model m and phase p: "small" keeps
 * all four named models to about a minute on 2 CPU cores (7B-class layers:
 * decode 4 x 512, prefill 1 x 128; deepseek-mini: decode 16 x 1024, prefill
 * 1 x 1024), "large" is the GPU target (decode 32 x 2048, prefill 1
 * x 2048). */
void gs_bench_shape(const gs_model_shape *m, gs_kernel_phase p, gs_bench_size size,
                    uint32_t *batch, uint32_t *tokens);

/* Time one layer of model m on backend be at the bench shapes (2 warm-up
 * runs, median of 5) and print one line per phase to out: time, GFLOP/s,
 * GB/s, and the bounds: on the CPU, the same sequence of sgemm products
 * (same shapes) through OpenBLAS alone and a measured memory read rate; on
 * a GPU, the device's bf16 peak and memory bandwidth. GS_OK or the
 * backend's error. */
int gs_kernel_bench(FILE *out, const gs_kernel_backend *be, const gs_model_shape *m,
                    gs_bench_size size, uint64_t seed, gs_diag *d);

/* Print the header line of gs_kernel_bench's rows, and the machine's
 * measured bounds (CPU: memory read GB/s). */
int gs_kernel_bench_header(FILE *out, const gs_kernel_backend *be, gs_diag *d);

#endif
