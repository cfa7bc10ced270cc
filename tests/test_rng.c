/* Random streams: the generator behind GSL's interface (published
 * xoshiro256** and splitmix64 outputs), the documented stream derivation,
 * reproducibility and separation of streams, reset and save/restore, and
 * statistical sanity (uniformity, independence of two streams).
 *
 * The statistical checks use fixed seeds and tolerances from the sampling
 * distribution under the null hypothesis, never from one observed run: a
 * correlation of n independent pairs of uniforms has standard deviation
 * 1/sqrt(n), so 5/sqrt(n) fails a correct generator with probability about
 * 6e-7; the chi-square test fails a correct generator with probability 1e-4. */
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "sim/rng.h"
#include "tests/check.h"

/* The derivation of rng.h, written out again from its comment so that a
 * change of code that disagrees with the documentation is caught. */
static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t splitmix_once(uint64_t x) { return gs_splitmix64(&x); }

static uint64_t documented_key(uint64_t seed, uint64_t rep, const char *name)
{
    return splitmix_once(seed ^ splitmix_once(rep ^ splitmix_once(fnv1a64(name))));
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* Reference xoshiro256** step (Blackman and Vigna), for comparison. */
static uint64_t ref_next(uint64_t s[4])
{
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

static void splitmix_known_answers(void)
{
    /* splitmix64 started at 0: first output as published with the
     * algorithm (Steele, Lea, Flood 2014; Vigna's reference code). */
    uint64_t x = 0;
    CHECK(gs_splitmix64(&x) == 0xe220a8397b1dcdafULL);
    CHECK(x == 0x9e3779b97f4a7c15ULL);
}

static void generator_type(void)
{
    gsl_rng *r = gs_rng_new(1, 0, "gw");
    CHECK(r != NULL);
    CHECK(r->type == gs_rng_xoshiro256ss);
    CHECK(strcmp(gsl_rng_name(r), "xoshiro256**") == 0);
    CHECK(gsl_rng_min(r) == 0);
    CHECK(gsl_rng_max(r) == 0xffffffffUL);
    CHECK(gsl_rng_size(r) == 4 * sizeof(uint64_t));

    /* The published first outputs of xoshiro256** from state {1, 2, 3, 4}:
     * 11520, 0, 1509978240, 1215971899390074240. get() returns the high 32
     * bits, get_double() the high 53 bits times 2^-53. The state layout (four
     * uint64_t) is the generator's; the test sets it directly to compare
     * with the published sequence. */
    const uint64_t published[4] = {11520ULL, 0ULL, 1509978240ULL, 1215971899390074240ULL};
    uint64_t s[4] = {1, 2, 3, 4};
    memcpy(r->state, s, sizeof s);
    for (int i = 0; i < 4; i++)
        CHECK(gsl_rng_get(r) == (unsigned long)(published[i] >> 32));
    memcpy(r->state, s, sizeof s);
    for (int i = 0; i < 4; i++)
        CHECK(gsl_rng_uniform(r) == (double)(published[i] >> 11) * 0x1.0p-53);

    /* The stream's state is the next four splitmix64 outputs after its key. */
    gs_rng_reset(r, 1, 0, "gw");
    uint64_t k = gs_rng_stream_key(1, 0, "gw"), ref[4];
    for (int i = 0; i < 4; i++)
        ref[i] = gs_splitmix64(&k);
    for (int i = 0; i < 1000; i++)
        CHECK_EQ(gsl_rng_get(r), ref_next(ref) >> 32);

    /* Uniforms lie in [0, 1) on a 2^-53 grid; uniform_pos in (0, 1). */
    int in_range = 1, on_grid = 1;
    for (int i = 0; i < 100000; i++) {
        double u = gsl_rng_uniform(r);
        in_range &= u >= 0.0 && u < 1.0;
        on_grid &= ldexp(u, 53) == floor(ldexp(u, 53));
        in_range &= gsl_rng_uniform_pos(r) > 0.0;
    }
    CHECK(in_range);
    CHECK(on_grid);
    gsl_rng_free(r);
}

static void stream_key_known_answer(void)
{
    uint64_t k = gs_rng_stream_key(1, 0, "gw");
    /* Recorded once from the documented derivation; a change here changes
     * every published result. */
    CHECK(k == 0x146d8cf65aa74d49ULL);
    CHECK(k == documented_key(1, 0, "gw"));
    CHECK(gs_rng_stream_key(2, 0, "gw") == documented_key(2, 0, "gw"));
    CHECK(gs_rng_stream_key(1, 7, "inf1") == documented_key(1, 7, "inf1"));
    CHECK(gs_rng_stream_key(0, 0, "") == documented_key(0, 0, ""));

    /* And the first output of the stream. */
    gsl_rng *r = gs_rng_new(1, 0, "gw");
    CHECK(r != NULL);
    CHECK_EQ(gsl_rng_get(r), 0x2feef01aUL);
    gsl_rng_free(r);
}

/* Number of positions where the two generators give the same 32-bit value
 * over n draws: about n / 2^32 for unrelated streams. */
static int equal_draws(gsl_rng *a, gsl_rng *b, int n)
{
    int same = 0;
    for (int i = 0; i < n; i++)
        same += gsl_rng_get(a) == gsl_rng_get(b);
    return same;
}

static void reproducible_and_distinct(void)
{
    gsl_rng *a = gs_rng_new(42, 3, "gw");
    gsl_rng *b = gs_rng_new(42, 3, "gw");
    CHECK(a && b);
    CHECK_EQ(equal_draws(a, b, 10000), 10000);
    gsl_rng_free(b);

    struct {
        uint64_t seed, rep;
        const char *name;
    } other[] = {
        {42, 3, "gw2"}, {42, 3, "wg"}, {42, 3, ""}, {42, 4, "gw"},
        {42, 2, "gw"},  {43, 3, "gw"}, {0, 3, "gw"},
    };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        gs_rng_reset(a, 42, 3, "gw");
        b = gs_rng_new(other[i].seed, other[i].rep, other[i].name);
        CHECK(b != NULL);
        CHECK(gs_rng_stream_key(42, 3, "gw") !=
              gs_rng_stream_key(other[i].seed, other[i].rep, other[i].name));
        /* 10000 draws: an expected 2.3e-6 coincidences between unrelated
         * streams, so even 2 would be a defect. */
        CHECK(equal_draws(a, b, 10000) <= 1);
        gsl_rng_free(b);
    }
    gsl_rng_free(a);
}

static void reset_and_restore(void)
{
    gsl_rng *a = gs_rng_new(1, 0, "a");
    CHECK(a != NULL);
    for (int i = 0; i < 123; i++)
        gsl_rng_get(a);
    gs_rng_reset(a, 9, 5, "lb");
    gsl_rng *b = gs_rng_new(9, 5, "lb");
    CHECK(b != NULL);
    CHECK_EQ(equal_draws(a, b, 1000), 1000);

    /* Save/restore through GSL: a copy continues the same sequence. */
    gsl_rng *saved = gsl_rng_clone(a);
    CHECK(saved != NULL);
    double first[100];
    for (int i = 0; i < 100; i++)
        first[i] = gsl_rng_uniform(a);
    gsl_rng_memcpy(a, saved);
    int same = 1;
    for (int i = 0; i < 100; i++)
        same &= gsl_rng_uniform(a) == first[i];
    CHECK(same);

    /* gsl_rng_set seeds deterministically too (GSL's own seeding path). */
    gsl_rng_set(a, 5);
    gsl_rng_set(b, 5);
    CHECK_EQ(equal_draws(a, b, 1000), 1000);
    gsl_rng_set(b, 6);
    gsl_rng_set(a, 5);
    CHECK(equal_draws(a, b, 1000) <= 1);

    gsl_rng_free(saved);
    gsl_rng_free(b);
    gsl_rng_free(a);
}

static void independence(void)
{
    const int n = 1000000;
    /* Neighbouring streams (same seed and replication, names one letter
     * apart; same name, adjacent replications) are where a weak derivation
     * would show correlation. */
    const char *pairs[][2] = {{"a", "b"}, {"gw", "gx"}};
    for (int p = 0; p < 3; p++) {
        gsl_rng *a = gs_rng_new(1, 0, p < 2 ? pairs[p][0] : "gw");
        gsl_rng *b = gs_rng_new(1, p < 2 ? 0 : 1, p < 2 ? pairs[p][1] : "gw");
        CHECK(a && b);
        double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
        for (int i = 0; i < n; i++) {
            double x = gsl_rng_uniform(a), y = gsl_rng_uniform(b);
            sa += x;
            sb += y;
            saa += x * x;
            sbb += y * y;
            sab += x * y;
        }
        double ma = sa / n, mb = sb / n;
        double cov = sab / n - ma * mb;
        double rho = cov / sqrt((saa / n - ma * ma) * (sbb / n - mb * mb));
        CHECK_NEAR(rho, 0.0, 5.0 / sqrt((double)n));
        gsl_rng_free(a);
        gsl_rng_free(b);
    }

    /* Lag-1 serial correlation within one stream: same null distribution. */
    gsl_rng *r = gs_rng_new(1, 0, "serial");
    CHECK(r != NULL);
    double prev = gsl_rng_uniform(r), s = prev, ss = prev * prev, sl = 0;
    for (int i = 1; i < n; i++) {
        double x = gsl_rng_uniform(r);
        sl += prev * x;
        s += x;
        ss += x * x;
        prev = x;
    }
    double m = s / n, var = ss / n - m * m;
    CHECK_NEAR((sl / (n - 1) - m * m) / var, 0.0, 5.0 / sqrt((double)n));
    gsl_rng_free(r);
}

static void uniformity(void)
{
    enum { BINS = 100 };
    const int n = 1000000;
    const char *names[] = {"gw", "test", "inf1"};
    for (int s = 0; s < 3; s++) {
        long count[BINS] = {0};
        gsl_rng *r = gs_rng_new(7, (uint64_t)s, names[s]);
        CHECK(r != NULL);
        for (int i = 0; i < n; i++)
            count[(int)(gsl_rng_uniform(r) * BINS)]++;
        double expect = (double)n / BINS, chi2 = 0;
        for (int b = 0; b < BINS; b++) {
            double dev = (double)count[b] - expect;
            chi2 += dev * dev / expect;
        }
        double p = gsl_cdf_chisq_Q(chi2, BINS - 1);
        CHECK(p > 1e-4);
        gsl_rng_free(r);
    }
}

int main(void)
{
    splitmix_known_answers();
    generator_type();
    stream_key_known_answer();
    reproducible_and_distinct();
    reset_and_restore();
    independence();
    uniformity();
    return CHECK_DONE();
}
