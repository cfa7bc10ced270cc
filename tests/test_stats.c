/* Tests of sim/stats.c: tallies against two-pass formulas, merging, the
 * time-weighted average, and the histogram's error bound and quantiles. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "sim/alloc.h"
#include "sim/rng.h"
#include "sim/stats.h"
#include "tests/check.h"

static void two_pass(const double *x, size_t n, double *mean, double *var)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    double m = s / (double)n;
    double ss = 0.0, c = 0.0;
    for (size_t i = 0; i < n; i++) {
        ss += (x[i] - m) * (x[i] - m);
        c += x[i] - m;
    }
    *mean = m;
    /* Corrected two-pass (Chan, Golub, LeVeque 1983). */
    *var = (ss - c * c / (double)n) / (double)(n - 1);
}

static void test_tally_known(void)
{
    gs_tally t;
    gs_tally_init(&t);
    CHECK(isnan(gs_tally_mean(&t)));
    CHECK(isnan(gs_tally_variance(&t)));
    gs_tally_add(&t, 3.0);
    CHECK_NEAR(gs_tally_mean(&t), 3.0, 0);
    CHECK(isnan(gs_tally_variance(&t)));

    static const double x[] = {2, 4, 4, 4, 5, 5, 7, 9};
    gs_tally_init(&t);
    for (size_t i = 0; i < 8; i++)
        gs_tally_add(&t, x[i]);
    CHECK_EQ(t.n, 8);
    CHECK_NEAR(gs_tally_mean(&t), 5.0, 1e-15);
    CHECK_NEAR(gs_tally_variance(&t), 32.0 / 7.0, 1e-14);

    /* A large offset is where a one-pass sum of squares loses every digit. */
    gsl_rng *r = gs_rng_new(1, 0, "tally");
    CHECK(r != NULL);
    enum { N = 10000 };
    double *y = gs_malloc(N * sizeof *y);
    CHECK(y != NULL);
    gs_tally_init(&t);
    for (size_t i = 0; i < N; i++) {
        y[i] = 1e9 + gsl_ran_gaussian(r, 2.0);
        gs_tally_add(&t, y[i]);
    }
    double m, v;
    two_pass(y, N, &m, &v);
    CHECK_NEAR(gs_tally_mean(&t), m, 1e-15 * 1e9 * 4);
    CHECK_NEAR(gs_tally_variance(&t), v, 1e-6 * v);
    gs_free(y);
    gsl_rng_free(r);
}

static void test_tally_merge(void)
{
    gsl_rng *r = gs_rng_new(2, 0, "merge");
    CHECK(r != NULL);
    enum { N = 5000 };
    double x[N];
    for (size_t i = 0; i < N; i++)
        x[i] = gsl_ran_exponential(r, 3.0) + 100.0;
    gs_tally all;
    gs_tally_init(&all);
    for (size_t i = 0; i < N; i++)
        gs_tally_add(&all, x[i]);
    static const size_t cut[] = {0, 1, 2, 17, 2500, N - 1, N};
    for (size_t c = 0; c < sizeof cut / sizeof cut[0]; c++) {
        gs_tally a, b;
        gs_tally_init(&a);
        gs_tally_init(&b);
        for (size_t i = 0; i < cut[c]; i++)
            gs_tally_add(&a, x[i]);
        for (size_t i = cut[c]; i < N; i++)
            gs_tally_add(&b, x[i]);
        gs_tally_merge(&a, &b);
        CHECK_EQ(a.n, all.n);
        CHECK_NEAR(gs_tally_mean(&a), gs_tally_mean(&all), 1e-12 * gs_tally_mean(&all));
        CHECK_NEAR(gs_tally_variance(&a), gs_tally_variance(&all),
                   1e-10 * gs_tally_variance(&all));
    }
    /* Merging an empty tally changes nothing, in either direction. */
    gs_tally e, c = all;
    gs_tally_init(&e);
    gs_tally_merge(&c, &e);
    CHECK(c.n == all.n && gs_tally_mean(&c) == gs_tally_mean(&all) &&
          gs_tally_variance(&c) == gs_tally_variance(&all));
    gs_tally_merge(&e, &all);
    CHECK(e.n == all.n && gs_tally_mean(&e) == gs_tally_mean(&all) &&
          gs_tally_variance(&e) == gs_tally_variance(&all));
    gsl_rng_free(r);
}

static void test_timeavg(void)
{
    gs_timeavg a;
    gs_timeavg_init(&a, 0, 2.0);
    CHECK(isnan(gs_timeavg_mean(&a, 0)));
    CHECK_NEAR(gs_timeavg_mean(&a, 5), 2.0, 1e-15);
    gs_timeavg_set(&a, 10, 4.0);
    gs_timeavg_set(&a, 30, 0.0);
    gs_timeavg_set(&a, 30, 1.0); /* two changes at one instant: the last wins */
    gs_timeavg_set(&a, 30, 0.0);
    /* (2*10 + 4*20 + 0*10) / 40 */
    CHECK_NEAR(gs_timeavg_mean(&a, 40), 2.5, 1e-15);
    CHECK_NEAR(gs_timeavg_mean(&a, 30), 100.0 / 30.0, 1e-15);

    gs_timeavg_restart(&a, 40);
    CHECK(isnan(gs_timeavg_mean(&a, 40)));
    gs_timeavg_set(&a, 50, 3.0);
    /* (0*10 + 3*10) / 20: the level before the restart carries over. */
    CHECK_NEAR(gs_timeavg_mean(&a, 60), 1.5, 1e-15);

    gs_timeavg_init(&a, 1000, 1.0);
    gs_timeavg_set(&a, 2000, 5.0);
    gs_timeavg_restart(&a, 1500);
    CHECK_NEAR(gs_timeavg_mean(&a, 2500), 5.0, 1e-15);
}

/* The reported value of bucket i, as gs_hist_quantile() gives it. */
static double reported(size_t i)
{
    static gs_hist h;
    int64_t lo, hi;
    gs_hist_bounds(i, &lo, &hi);
    gs_hist_init(&h);
    gs_hist_add(&h, lo);
    return gs_hist_quantile(&h, 0.5);
}

static int within(double got, double v)
{
    return fabs(got - v) <= GS_HIST_REL_ERROR * fabs(v);
}

static void test_hist_buckets(void)
{
    /* The buckets tile [0, INT64_MAX] in order. */
    size_t top = gs_hist_index(INT64_MAX);
    CHECK_EQ(top, GS_HIST_BUCKETS - GS_HIST_SUB - 1);
    int64_t prev_hi = 0;
    int tiled = 1, inverse = 1, exact = 1, bounded = 1;
    for (size_t i = 0; i <= top; i++) {
        int64_t lo, hi;
        gs_hist_bounds(i, &lo, &hi);
        tiled &= lo == prev_hi && hi > lo;
        prev_hi = hi;
        inverse &= gs_hist_index(lo) == i && gs_hist_index(hi - 1) == i;
        double m = reported(i);
        if (i < 2 * GS_HIST_SUB)
            exact &= m == (double)lo && hi == lo + 1;
        /* |m - v| / v is largest at the ends of the bucket. */
        bounded &= within(m, (double)lo) && within(m, (double)(hi - 1));
    }
    CHECK(tiled);
    CHECK(inverse);
    CHECK(exact);
    CHECK(bounded);
    CHECK_EQ(prev_hi, INT64_MAX);
    CHECK_EQ(gs_hist_index(-5), 0);
    int64_t lo, hi;
    gs_hist_bounds(GS_HIST_BUCKETS - 1, &lo, &hi);
    CHECK(lo == INT64_MAX && hi == INT64_MAX);

    /* Values spread log-uniformly over 1 ns .. 1e15 ns, and their
     * neighbours, lie in their bucket and are reported within the bound. */
    int ok = 1;
    for (double x = 1.0; x <= 1e15; x *= 1.0137) {
        for (int64_t dv = -1; dv <= 1; dv++) {
            int64_t v = (int64_t)x + dv;
            if (v < 1)
                continue;
            size_t i = gs_hist_index(v);
            gs_hist_bounds(i, &lo, &hi);
            ok &= lo <= v && v < hi;
            ok &= within(reported(i), (double)v);
            ok &= within(reported(i), (double)lo) && within(reported(i), (double)(hi - 1));
        }
    }
    CHECK(ok);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void test_hist_quantiles(void)
{
    enum { N = 1000000 };
    gsl_rng *r = gs_rng_new(3, 0, "hist");
    CHECK(r != NULL);
    int64_t *v = gs_malloc(N * sizeof *v);
    gs_hist *h = gs_malloc(sizeof *h);
    gs_hist *ha = gs_malloc(sizeof *ha);
    gs_hist *hb = gs_malloc(sizeof *hb);
    CHECK(v && h && ha && hb);
    gs_hist_init(h);
    gs_hist_init(ha);
    gs_hist_init(hb);
    CHECK(isnan(gs_hist_quantile(h, 0.5)));
    for (size_t i = 0; i < N; i++) {
        v[i] = (int64_t)llround(gsl_ran_exponential(r, 1e6));
        gs_hist_add(h, v[i]);
        gs_hist_add(i % 3 ? ha : hb, v[i]);
    }
    CHECK_EQ(h->count, N);
    qsort(v, N, sizeof *v, cmp_i64);
    static const double qs[] = {0, 0.5, 0.9, 0.99, 0.999, 1};
    for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
        double rk = ceil(qs[k] * N);
        size_t rank = rk < 1 ? 1 : (size_t)rk;
        double exact = (double)v[rank - 1];
        double got = gs_hist_quantile(h, qs[k]);
        CHECK_NEAR(got, exact, GS_HIST_REL_ERROR * exact);
    }
    CHECK_NEAR(gs_hist_quantile(h, -1.0), gs_hist_quantile(h, 0.0), 0);
    CHECK_NEAR(gs_hist_quantile(h, 2.0), gs_hist_quantile(h, 1.0), 0);
    CHECK(isnan(gs_hist_quantile(h, NAN)));

    /* The merge of two parts is the histogram of the union. */
    gs_hist_merge(ha, hb);
    CHECK_EQ(ha->count, h->count);
    int same = 1;
    for (size_t i = 0; i < GS_HIST_BUCKETS; i++)
        same &= ha->bucket[i] == h->bucket[i];
    CHECK(same);

    /* Small exact values and the decimal-q rounding rule: the 0.7-quantile
     * of 1..10 is the 7th value. */
    gs_hist_init(h);
    for (int64_t x = 1; x <= 10; x++)
        gs_hist_add(h, x);
    CHECK_NEAR(gs_hist_quantile(h, 0.7), 7.0, 0);
    CHECK_NEAR(gs_hist_quantile(h, 0.71), 8.0, 0);
    CHECK_NEAR(gs_hist_quantile(h, 0.0), 1.0, 0);
    CHECK_NEAR(gs_hist_quantile(h, 0.1), 1.0, 0);
    CHECK_NEAR(gs_hist_quantile(h, 1.0), 10.0, 0);
    gs_hist_add(h, -3);
    CHECK_NEAR(gs_hist_quantile(h, 0.0), 0.0, 0);

    /* The extremes are exact, and equal values give that value at every
     * quantile, not a point inside their bucket (D/D/1's latencies). */
    CHECK_NEAR(gs_hist_quantile(ha, 0.0), (double)v[0], 0);
    CHECK_NEAR(gs_hist_quantile(h, 1.0), 10.0, 0);
    gs_hist_merge(ha, hb);
    CHECK_NEAR(gs_hist_quantile(ha, 0.0), (double)v[0], 0);
    CHECK_NEAR(gs_hist_quantile(ha, 1.0), (double)v[N - 1], 0);
    gs_hist_init(h);
    for (int i = 0; i < 1000; i++)
        gs_hist_add(h, 1000003);
    CHECK_NEAR(gs_hist_quantile(h, 0.5), 1000003.0, 0);
    CHECK_NEAR(gs_hist_quantile(h, 0.999), 1000003.0, 0);
    /* A histogram zeroed with memset (the engine's per-interval one) is
     * empty too: its first value sets the extremes. */
    memset(h, 0, sizeof *h);
    gs_hist_add(h, 5000000);
    CHECK_NEAR(gs_hist_quantile(h, 0.5), 5000000.0, 0);

    /* Read inside the bucket, a quantile moves with the data: one more
     * value in the median's bucket moves the median. */
    gs_hist_init(h);
    for (int i = 0; i < 100; i++)
        gs_hist_add(h, 1000000 + 37 * i);
    double m0 = gs_hist_quantile(h, 0.5);
    gs_hist_add(h, 1000001);
    gs_hist_add(h, 1000002);
    CHECK(gs_hist_quantile(h, 0.5) != m0);

    gs_free(hb);
    gs_free(ha);
    gs_free(h);
    gs_free(v);
    gsl_rng_free(r);
}

int main(void)
{
    test_tally_known();
    test_tally_merge();
    test_timeavg();
    test_hist_buckets();
    test_hist_quantiles();
    return CHECK_DONE();
}
