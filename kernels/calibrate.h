/* `gatesim kernels calibrate`: time a model's forward pass over a grid of
 * batch sizes and token counts on one kernel backend, and write the profile
 * CSV of SPEC §5 with a provenance file beside it. */
#ifndef GS_KERNELS_CALIBRATE_H
#define GS_KERNELS_CALIBRATE_H

#include <stddef.h>
#include <stdint.h>
#include "kernels/kernels.h"
#include "sim/types.h"

/* The exact first line of a profile (SPEC §5). */
#define GS_PROFILE_HEADER "backend,device,model,phase,batch,tokens,seconds"

#define GS_CALIB_MAX_AXIS 16

/* One phase's grid: every batch with every token count (a full rectangle,
 * as the profile reader expects). Values ascending. */
typedef struct gs_calib_axis {
    uint32_t batch[GS_CALIB_MAX_AXIS];
    size_t   nbatch;
    uint32_t tokens[GS_CALIB_MAX_AXIS];
    size_t   ntokens;
} gs_calib_axis;

typedef struct gs_calib_opts {
    const gs_model_shape    *model;
    const gs_kernel_backend *backend;
    gs_calib_axis grid[2];        /* by gs_kernel_phase */
    const char   *grid_name;      /* "quick", "full", or a description */
    int           warmup;         /* untimed runs before each point, >= 0 */
    int           repeats;        /* timed runs per point, at most; median taken */
    int           min_repeats;    /* timed runs per point, at least (1 <= min <= repeats) */
    double        point_budget;   /* seconds: stop repeating a point past this, once
                                   * min_repeats are done */
    uint64_t      seed;           /* weights and inputs */
    const char   *command;        /* the command line, for the provenance file */
    int           quiet;          /* no progress bar */
} gs_calib_opts;

/* Defaults: warmup 1, repeats 7, min_repeats 3, point_budget 1 s, seed 1,
 * grid "quick", quiet 0; model and backend NULL. */
void gs_calib_defaults(gs_calib_opts *o);

/* The named grids: "quick" (prefill and decode: batch 1..32 by powers of
 * two x tokens 128..2048; about 3 minutes for deepseek-mini on 2 CPU cores)
 * and "full" (prefill batch 1..32 x tokens 128..4096; decode batch 1..128 x
 * context 128..8192; for GPUs). GS_EINVAL for another name. */
int gs_calib_grid_named(const char *name, gs_calib_axis grid[2], gs_diag *d);

/* Provenance path of a profile: path + ".meta". Caller frees with
 * gs_free(); NULL when out of memory. */
char *gs_calib_meta_path(const char *path);

/* Time every grid point, then write path (the CSV) and its ".meta" file
 * (YAML: device, CPU model and BLAS or GPU, driver and CUDA versions,
 * gatesim version, model shape, grid, repeats, date, command line, total
 * time), each atomically, creating the directory. A point's seconds is
 * median(layer pass) x layers + median(head pass of batch rows). GS_EINVAL
 * for a bad grid, GS_EIO/GS_ENOMEM from the backend or the files. */
int gs_calibrate(const gs_calib_opts *o, const char *path, gs_diag *d);

#endif
