/* The plots of a run or a comparison (docs/plots.md), drawn from the
 * replications' metrics and traces with analysis/plot.h: the latency CDF of
 * every scenario, each scenario's time line (throughput, p99, availability;
 * the spans where a component was down in most replications shaded) and
 * per-component utilisation, and with two or more scenarios bar charts of
 * the key system metrics with their intervals. */
#ifndef GS_ANALYSIS_FIGURES_H
#define GS_ANALYSIS_FIGURES_H

#include <stddef.h>

#include "sim/replicate.h"
#include "sim/types.h"

/* Write the plots of n scenarios (res[i] traced, gs_replicate_traced) into
 * dir, created if missing. GS_OK; GS_PLOT_ENOGNUPLOT when gnuplot is not
 * installed (the data and scripts are written, the message says so); or
 * another error with a message. */
int gs_figures_write(const char *dir, gs_scenario *const *sc, const gs_results *res, size_t n,
                     gs_diag *d);

#endif
