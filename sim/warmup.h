/* The warm-up of a scenario: the fixed simulation.warmup, or with
 * `warmup: auto` the truncation point that MSER-5 finds in pilot runs
 * (docs/statistics.md, "Warm-up"). */
#ifndef GS_SIM_WARMUP_H
#define GS_SIM_WARMUP_H

#include <stddef.h>
#include <stdint.h>
#include "types.h"

/* MSER-5: observations are averaged in batches of this many. */
#define GS_WARMUP_BATCH 5
/* Pilot replications run (on streams of their own) to choose the warm-up. */
#define GS_WARMUP_PILOTS 5
/* The pilots' latencies are averaged over this many equal bins of arrival
 * time across [0, duration). */
#define GS_WARMUP_BINS 1000
/* Fewer batches with answers than this: too little data to choose from. */
#define GS_WARMUP_MIN_BATCHES 20
/* Pilot p runs as replication GS_WARMUP_PILOT_REP - p, far from any index a
 * run uses (at most 100000 replications), so its streams are its own. */
#define GS_WARMUP_PILOT_REP UINT64_MAX

/* How an automatic choice went (gs_scenario.warmup_note). */
enum {
    GS_WARMUP_FOUND,   /* MSER's minimum lies in the first half of the run */
    GS_WARMUP_SHORT,   /* it lies in the second half: the run is too short; the
                        * first half's minimum is used */
    GS_WARMUP_SPARSE   /* too few answers in the pilots: warm-up 0 */
};

/* MSER truncation of x[0 .. n): the values are averaged in consecutive
 * batches of `batch` (a last partial batch is dropped), and the result is
 * the number d of leading batches whose deletion minimises
 *     MSER(d) = sum_{j >= d} (z_j - mean_d)^2 / (m - d)^2
 * over the m batch means z (mean_d: the mean of z_d .. z_{m-1}), for d in
 * [0, m/2]. *second_half (may be NULL) is set to 1 when the minimum over
 * every d that leaves GS_WARMUP_BATCH batches lies past m/2 (the series has
 * not settled in its first half), else 0. The earliest d wins ties. 0 when
 * m < 2. */
size_t gs_mser(const double *x, size_t n, size_t batch, int *second_half);

/* Make sc->warmup final: with `warmup: auto`, on first use, run the
 * GS_WARMUP_PILOTS pilots (on up to `threads` threads, <= 0: all cores;
 * the choice does not depend on it) and store MSER-5's choice in sc, which
 * is then reused; otherwise nothing. Safe to call from several threads at
 * once. GS_OK, or the pilots' error (e.g. GS_ENOMEM, max_in_flight). */
int gs_warmup_resolve(const gs_scenario *sc, int threads, gs_diag *d);

/* A line describing the automatic choice of a resolved scenario ("warm-up
 * chosen by MSER-5: 43.2s ..."), with a warning when it is unreliable, into
 * buf; 0 (and buf empty) when sc has a fixed warm-up. */
int gs_warmup_note(const gs_scenario *sc, char *buf, size_t size);

#endif
