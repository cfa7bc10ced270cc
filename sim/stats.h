/* Accumulators for one replication: tallies (Welford), time-weighted
 * averages, and a mergeable log-bucketed histogram for percentiles.
 *
 * The histogram keeps values (e.g. latencies in nanoseconds) in buckets of
 * 2^GS_HIST_SUB_BITS = 64 sub-buckets per power of two. Values 0 .. 127 have
 * a bucket each (exact). A value v >= 128 with highest set bit e lies in a
 * bucket of width w = 2^(e-6) starting at lo >= 64 w. A quantile is read by
 * spreading the c values of its bucket evenly over the bucket's integers
 * lo .. lo + w - 1 (the j-th at lo + (w - 1)(j - 1/2)/c), so the reported m
 * and the true order statistic v lie in the same bucket and
 *     |m - v| <= w - 1 < w <= lo / 64 <= v / 64,
 * i.e. |m - v| / v < 1/64 = GS_HIST_REL_ERROR (< 1.6 %), strictly. The
 * smallest and largest values are kept exactly, and a reading never goes
 * beyond them (equal values give that value; the 1.0-quantile is the
 * maximum). The
 * even spread is what a smooth density looks like inside one bucket, so the
 * usual error is far smaller, and the estimate moves with the data rather
 * than in steps of a bucket. */
#ifndef GS_SIM_STATS_H
#define GS_SIM_STATS_H

#include <stdint.h>
#include <stddef.h>
#include "types.h"

/* Running mean and variance by sums of deviations from a shift (the first
 * value): as stable as Welford's update when the shift is of the order of
 * the mean, which the first value of a simulated quantity is, and with no
 * division per value (this runs several times per request). Values must be
 * finite. */
typedef struct gs_tally {
    uint64_t n;
    double   shift, s1, s2;        /* sums of (x - shift) and its square */
} gs_tally;

void   gs_tally_init(gs_tally *t);
void   gs_tally_add(gs_tally *t, double x);
double gs_tally_mean(const gs_tally *t);      /* NaN when empty */
double gs_tally_variance(const gs_tally *t);  /* sample variance; NaN when n < 2 */
/* Merge b into a (b's sums re-based onto a's shift). */
void   gs_tally_merge(gs_tally *a, const gs_tally *b);

/* Time-weighted average of a piecewise-constant level over [start, now]. */
typedef struct gs_timeavg {
    gs_time start;      /* start of the observation window */
    gs_time last;       /* time of the last change */
    double  level;      /* current level */
    double  area;       /* integral of level over [start, last] */
} gs_timeavg;

void   gs_timeavg_init(gs_timeavg *a, gs_time start, double level);
/* The level becomes level at time t (t >= last; an earlier t is a caller bug
 * and is treated as t = last). */
void   gs_timeavg_set(gs_timeavg *a, gs_time t, double level);
/* Restart the window at t keeping the current level (end of warm-up). */
void   gs_timeavg_restart(gs_timeavg *a, gs_time t);
/* Average over [start, t]; the level is current up to t. NaN for an empty
 * window (t <= start). */
double gs_timeavg_mean(const gs_timeavg *a, gs_time t);

#define GS_HIST_SUB_BITS 6                     /* 64 sub-buckets per octave */
#define GS_HIST_SUB (1 << GS_HIST_SUB_BITS)
/* Enough for every uint64_t; an int64_t value uses indices up to
 * gs_hist_index(INT64_MAX) = GS_HIST_BUCKETS - 65. */
#define GS_HIST_BUCKETS ((64 - GS_HIST_SUB_BITS + 1) * GS_HIST_SUB)
/* Strict bound on the relative error |reported - v| / v of a reported
 * quantile against any value v of its bucket (see the top of this file). */
#define GS_HIST_REL_ERROR (1.0 / GS_HIST_SUB)

typedef struct gs_hist {
    uint64_t count;
    uint64_t min, max;          /* of the values added; meaningless when count == 0 */
    uint64_t bucket[GS_HIST_BUCKETS];
} gs_hist;

void gs_hist_init(gs_hist *h);
/* Add one non-negative value (values < 0 are counted as 0). Constant time,
 * no loop, no floating point. */
void gs_hist_add(gs_hist *h, int64_t v);
void gs_hist_merge(gs_hist *a, const gs_hist *b);
/* The q-quantile (0 <= q <= 1): the ceil(q * count)-th smallest value (the
 * smallest for q = 0), placed inside its bucket as described at the top of
 * this file; q * count within a relative 1e-9 of an integer counts as that integer, so that the
 * 0.7-quantile of 10 values is the 7th. q outside [0, 1] is clamped. NaN when
 * empty or q is NaN. Values below 2^(GS_HIST_SUB_BITS + 1) are exact. */
double gs_hist_quantile(const gs_hist *h, double q);
/* Bucket index of v (< 0 counts as 0), and the bounds [lo, hi) of bucket i
 * (for tests and plots). Bounds saturate at INT64_MAX: the bucket of
 * INT64_MAX has hi = INT64_MAX yet holds INT64_MAX, and buckets past it (only
 * reachable by uint64_t values) have lo = hi = INT64_MAX. */
size_t gs_hist_index(int64_t v);
void   gs_hist_bounds(size_t i, int64_t *lo, int64_t *hi);

#endif
