/* Service-time profiles (SPEC §5): the CSV that `gatesim kernels calibrate`
 * writes, read back and interpolated for a gpu_pool with
 * `service_time.source: profile`.
 *
 * A profile describes one model on one device: every row has the same
 * backend, device and model. For each phase (prefill, decode) its rows form
 * a full rectangular grid: every batch size listed is measured at every
 * token count listed for that phase (the two phases may use different
 * grids). `seconds` is the median time of one forward pass of the whole
 * batch through the whole model. A loaded profile is read-only and may be
 * shared by any number of threads. */
#ifndef GS_KERNELS_PROFILE_H
#define GS_KERNELS_PROFILE_H

#include <stdint.h>
#include "sim/types.h"

/* The header line, exactly (without the line end). */
#define GS_PROFILE_HEADER "backend,device,model,phase,batch,tokens,seconds"

typedef enum gs_phase { GS_PHASE_PREFILL, GS_PHASE_DECODE } gs_phase;

typedef struct gs_profile gs_profile;

/* Load the profile at path. Caller frees with gs_profile_free(). Errors:
 * GS_EIO when the file cannot be read ("PATH: cannot open: REASON"),
 * GS_ENOMEM, and GS_EINVAL for content, as "PATH:ROW:COL: ..." with the
 * 1-based line and field number: a header that is not exactly
 * GS_PROFILE_HEADER, a row without 7 fields, a phase other than prefill or
 * decode, a batch or tokens value that is not a whole number between 1 and
 * 10^8, seconds that is not a finite number > 0 ("x.csv:14:7: seconds:
 * expected a number > 0, got 'abc'"), a backend, device or model that
 * differs from the first row's, a duplicated (phase, batch, tokens), a
 * phase with no rows, a grid with a missing (batch, tokens) pair, or more
 * than 10^6 rows. A UTF-8 byte-order mark, blank lines and CRLF line ends
 * are accepted. */
int gs_profile_load(const char *path, gs_profile **out, gs_diag *d);

void gs_profile_free(gs_profile *p);

/* The columns shared by every row, and the path it was loaded from. */
const char *gs_profile_backend(const gs_profile *p);
const char *gs_profile_device(const gs_profile *p);
const char *gs_profile_model(const gs_profile *p);
const char *gs_profile_path(const gs_profile *p);

/* The grid of a phase: smallest and largest batch and token count. */
void gs_profile_bounds(const gs_profile *p, gs_phase ph, double *batch_min, double *batch_max,
                       double *tokens_min, double *tokens_max);

/* Seconds of one forward pass of phase ph for `batch` sequences of `tokens`
 * tokens (prefill: prompt length; decode: context length), by bilinear
 * interpolation over the grid (GSL's gsl_interp2d; a grid with a single
 * batch size or token count is linear along the other axis and constant
 * along that one). Exact at grid points; between them monotone whenever the
 * four surrounding measurements are. A point outside the grid is clamped to
 * its edge, and then *clamped is set to 1 (it is left alone otherwise; it
 * may be NULL). */
double gs_profile_time(const gs_profile *p, gs_phase ph, double batch, double tokens,
                       int *clamped);

/* The sum of gs_profile_time(p, ph, batch, t) over the whole numbers t =
 * from .. to (0 when from > to), in O(grid size) instead of O(to - from):
 * along t the interpolant is linear between grid points, so each segment is
 * an arithmetic series. *clamped as for gs_profile_time() (set when batch or
 * any t is outside the grid). */
double gs_profile_sum(const gs_profile *p, gs_phase ph, double batch, uint64_t from,
                      uint64_t to, int *clamped);

#endif
