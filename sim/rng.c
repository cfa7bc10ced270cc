/* Stream generators: xoshiro256** behind GSL's generator interface, seeded
 * from a hash of (seed, replication, stream name).
 *
 * Why not a GSL generator: GSL seeds through gsl_rng_set(unsigned long), and
 * its generators keep at most 32 bits of that seed, so thousands of streams
 * would collide by the birthday bound. Filling the full 256-bit state from a
 * 64-bit key makes two streams' sequences overlap with negligible
 * probability (period 2^256 - 1).
 * Sources: D. Blackman, S. Vigna, "Scrambled linear pseudorandom number
 * generators", ACM TOMS 47(4), 2021; splitmix64 from Steele, Lea, Flood,
 * OOPSLA 2014; FNV-1a from Fowler, Noll, Vo. */
#include "rng.h"

#include <string.h>

typedef struct {
    uint64_t s[4];
} xoshiro_state;

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t next64(xoshiro_state *st)
{
    uint64_t *s = st->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t gs_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t mix(uint64_t x) { return gs_splitmix64(&x); }

static void seed_from_key(xoshiro_state *st, uint64_t key)
{
    uint64_t x = key;
    for (int i = 0; i < 4; i++)
        st->s[i] = gs_splitmix64(&x);
    /* The all-zero state is the one xoshiro cannot leave. */
    if (!(st->s[0] | st->s[1] | st->s[2] | st->s[3]))
        st->s[0] = 1;
}

static void xo_set(void *vstate, unsigned long seed)
{
    seed_from_key(vstate, mix((uint64_t)seed));
}

static unsigned long xo_get(void *vstate)
{
    return (unsigned long)(next64(vstate) >> 32);
}

static double xo_get_double(void *vstate)
{
    return (double)(next64(vstate) >> 11) * 0x1.0p-53;
}

static const gsl_rng_type xoshiro_type = {
    "xoshiro256**", 0xffffffffUL, 0, sizeof(xoshiro_state),
    xo_set, xo_get, xo_get_double,
};

const gsl_rng_type *gs_rng_xoshiro256ss = &xoshiro_type;

uint64_t gs_rng_stream_key(uint64_t seed, uint64_t replication, const char *name)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return mix(seed ^ mix(replication ^ mix(h)));
}

void gs_rng_reset(gsl_rng *r, uint64_t seed, uint64_t replication, const char *name)
{
    seed_from_key(r->state, gs_rng_stream_key(seed, replication, name));
}

gsl_rng *gs_rng_new(uint64_t seed, uint64_t replication, const char *name)
{
    /* gsl_rng_alloc calls the error handler on failure; main() turns that
     * handler off, so NULL comes back here. */
    gsl_rng *r = gsl_rng_alloc(gs_rng_xoshiro256ss);
    if (!r)
        return NULL;
    gs_rng_reset(r, seed, replication, name);
    return r;
}
