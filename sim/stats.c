/* Accumulators for one replication: tallies, time-weighted averages and a
 * log-bucketed latency histogram.
 *
 * Tallies keep sums of deviations from a shift, the first value (the
 * "shifted data" algorithm of Chan, Golub and LeVeque, "Algorithms for
 * computing the sample variance", Am. Stat. 37(3), 1983): with the shift of
 * the order of the mean it is as accurate as Welford's update, and it needs
 * no division per value. Invariant: s1 and s2 are the sums of (x - shift)
 * and (x - shift)^2 over the n values seen.
 *
 * The histogram is the log-linear layout of HdrHistogram (G. Tene): the
 * position of the highest set bit picks the octave and the next
 * GS_HIST_SUB_BITS bits the sub-bucket, so indexing is one count-leading-zeros,
 * one shift and one add. Invariant: count is the sum of bucket[]. The error
 * bound is derived in stats.h. */
#include "stats.h"

#include <assert.h>
#include <math.h>

void gs_tally_init(gs_tally *t)
{
    t->n = 0;
    t->shift = t->s1 = t->s2 = 0.0;
}

void gs_tally_add(gs_tally *t, double x)
{
    if (t->n == 0)
        t->shift = x;
    t->n++;
    double d = x - t->shift;
    t->s1 += d;
    t->s2 += d * d;
}

double gs_tally_mean(const gs_tally *t)
{
    return t->n ? t->shift + t->s1 / (double)t->n : NAN;
}

double gs_tally_variance(const gs_tally *t)
{
    if (t->n < 2)
        return NAN;
    double n = (double)t->n;
    double v = (t->s2 - t->s1 * t->s1 / n) / (n - 1);
    return v > 0 ? v : 0.0;
}

void gs_tally_merge(gs_tally *a, const gs_tally *b)
{
    if (b->n == 0)
        return;
    if (a->n == 0) {
        *a = *b;
        return;
    }
    double nb = (double)b->n, d0 = b->shift - a->shift;
    a->s2 += b->s2 + 2 * d0 * b->s1 + nb * d0 * d0;
    a->s1 += b->s1 + nb * d0;
    a->n += b->n;
}

void gs_timeavg_init(gs_timeavg *a, gs_time start, double level)
{
    a->start = start;
    a->last = start;
    a->level = level;
    a->area = 0.0;
}

void gs_timeavg_set(gs_timeavg *a, gs_time t, double level)
{
    assert(t >= a->last);
    if (t > a->last) {
        a->area += a->level * (double)(t - a->last);
        a->last = t;
    }
    a->level = level;
}

void gs_timeavg_restart(gs_timeavg *a, gs_time t)
{
    a->start = t;
    a->last = t;
    a->area = 0.0;
}

double gs_timeavg_mean(const gs_timeavg *a, gs_time t)
{
    if (t <= a->start)
        return NAN;
    double area = a->area;
    if (t > a->last)
        area += a->level * (double)(t - a->last);
    return area / (double)(t - a->start);
}

void gs_hist_init(gs_hist *h)
{
    h->count = 0;
    h->min = h->max = 0;
    for (size_t i = 0; i < GS_HIST_BUCKETS; i++)
        h->bucket[i] = 0;
}

/* OR-ing in GS_HIST_SUB puts the highest set bit at >= GS_HIST_SUB_BITS, so
 * shift is 0 for every u < 2^(GS_HIST_SUB_BITS + 1) and the index is u itself;
 * otherwise u >> shift lies in [GS_HIST_SUB, 2 GS_HIST_SUB) and
 * shift * GS_HIST_SUB + (u >> shift) enumerates the octaves one after the
 * other. Branch-free, so the hot path costs the same for every value. */
static inline size_t index_of(uint64_t u)
{
    unsigned top = 63u - (unsigned)__builtin_clzll(u | (uint64_t)GS_HIST_SUB);
    unsigned shift = top - GS_HIST_SUB_BITS;
    return ((size_t)shift << GS_HIST_SUB_BITS) + (size_t)(u >> shift);
}

static inline uint64_t clamp_value(int64_t v)
{
    return v < 0 ? 0 : (uint64_t)v;
}

void gs_hist_add(gs_hist *h, int64_t v)
{
    uint64_t u = clamp_value(v);
    h->bucket[index_of(u)]++;
    /* Decided by count, not by sentinel values, so that a histogram zeroed
     * with memset is as empty as one from gs_hist_init(). */
    if (h->count++ == 0) {
        h->min = h->max = u;
    } else {
        h->min = u < h->min ? u : h->min;
        h->max = u > h->max ? u : h->max;
    }
}

void gs_hist_merge(gs_hist *a, const gs_hist *b)
{
    for (size_t i = 0; i < GS_HIST_BUCKETS; i++)
        a->bucket[i] += b->bucket[i];
    if (b->count) {
        a->min = a->count == 0 || b->min < a->min ? b->min : a->min;
        a->max = a->count == 0 || b->max > a->max ? b->max : a->max;
    }
    a->count += b->count;
}

size_t gs_hist_index(int64_t v)
{
    return index_of(clamp_value(v));
}

/* Bucket i as an unsigned range [lo, lo + width): the inverse of index_of. */
static void bucket_range(size_t i, uint64_t *lo, uint64_t *width)
{
    if (i < 2 * GS_HIST_SUB) {
        *lo = i;
        *width = 1;
        return;
    }
    unsigned shift = (unsigned)(i >> GS_HIST_SUB_BITS) - 1u;
    uint64_t mant = (uint64_t)(i & (GS_HIST_SUB - 1)) + GS_HIST_SUB;
    *lo = mant << shift;
    *width = (uint64_t)1 << shift;
}

void gs_hist_bounds(size_t i, int64_t *lo, int64_t *hi)
{
    assert(i < GS_HIST_BUCKETS);
    uint64_t ulo, w;
    bucket_range(i, &ulo, &w);
    /* Only the last buckets reach 2^63; their sums wrap in uint64_t only
     * when lo itself is >= 2^63, which the first test catches. */
    *lo = ulo > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)ulo;
    uint64_t uhi = ulo + w;
    *hi = (ulo > (uint64_t)INT64_MAX || uhi > (uint64_t)INT64_MAX) ? INT64_MAX
                                                                    : (int64_t)uhi;
}

double gs_hist_quantile(const gs_hist *h, double q)
{
    if (h->count == 0 || isnan(q))
        return NAN;
    if (q < 0.0)
        q = 0.0;
    if (q > 1.0)
        q = 1.0;
    /* A q written in decimal, like 0.7, is not exact in binary, and
     * 0.7 * 10 = 7.000000000000001 would otherwise pick the 8th value. */
    double r = q * (double)h->count;
    double k = nearbyint(r);
    if (fabs(r - k) <= 1e-9 * r)
        r = k;
    uint64_t rank = (uint64_t)ceil(r);
    if (rank < 1)
        rank = 1;
    if (rank > h->count)
        rank = h->count;
    uint64_t seen = 0;
    size_t i = 0;
    for (; i < GS_HIST_BUCKETS; i++) {
        if (seen + h->bucket[i] >= rank)
            break;
        seen += h->bucket[i];
    }
    assert(i < GS_HIST_BUCKETS);
    uint64_t lo, w;
    bucket_range(i, &lo, &w);
    /* The bucket's c values are taken as spread evenly over its integers,
     * the j-th at the centre of the j-th of c equal parts. Reporting the
     * bucket's midpoint instead made a percentile a step function of the
     * data: replications whose p50 fell in one bucket all reported the same
     * number, and their confidence interval had zero width. */
    double j = (double)(rank - seen), c = (double)h->bucket[i];
    double x = (double)lo + (double)(w - 1) * (j - 0.5) / c;
    /* The extreme values are known exactly: no reading may pass them (all
     * latencies equal must give that latency, not a point inside its
     * bucket), and the smallest and largest order statistics are them. */
    if (rank == 1 || x < (double)h->min)
        x = (double)h->min;
    if (rank == h->count || x > (double)h->max)
        x = (double)h->max;
    return x;
}
