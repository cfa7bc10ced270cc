/* results.h5 of a run or a comparison (docs/results.md): the scenarios'
 * resolved text, per-replication metrics, summaries, latency histograms and
 * time series, from traced results, through analysis/h5.h. */
#ifndef GS_ANALYSIS_ARCHIVE_H
#define GS_ANALYSIS_ARCHIVE_H

#include <stddef.h>

#include "sim/replicate.h"
#include "sim/types.h"

/* Write path (atomically) with one group per scenario; res[i] traced. GS_OK,
 * GS_EIO with a message naming the file, or GS_ENOMEM. */
int gs_archive_write(const char *path, gs_scenario *const *sc, const gs_results *res, size_t n,
                     gs_diag *d);

#endif
