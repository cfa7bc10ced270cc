/* Random streams. Every (seed, replication, stream name) gets its own
 * generator whose whole state is derived from a hash of the three, so a
 * replication's draws never depend on thread count, MPI rank or the order in
 * which components are declared. The generator is exposed to GSL as a
 * gsl_rng_type, so all variates come from GSL's randist.
 *
 * Derivation (documented in docs/random.md):
 *   k = splitmix64(seed ^ splitmix64(replication ^ splitmix64(fnv1a64(name))))
 * then the four 64-bit words of xoshiro256** state are the next four outputs
 * of a splitmix64 sequence started at k. */
#ifndef GS_SIM_RNG_H
#define GS_SIM_RNG_H

#include <stdint.h>
#include <gsl/gsl_rng.h>

/* xoshiro256** (Blackman and Vigna, 2018) as a GSL generator type. get()
 * returns 32-bit values; get_double() uses 53 bits. */
extern const gsl_rng_type *gs_rng_xoshiro256ss;

/* The documented 64-bit key of a stream. */
uint64_t gs_rng_stream_key(uint64_t seed, uint64_t replication, const char *name);

/* A new generator for the stream, or NULL when out of memory.
 * Caller frees with gsl_rng_free(). */
gsl_rng *gs_rng_new(uint64_t seed, uint64_t replication, const char *name);

/* Re-seed an existing gs_rng_xoshiro256ss generator to the stream. */
void gs_rng_reset(gsl_rng *r, uint64_t seed, uint64_t replication, const char *name);

/* splitmix64 step: advances *x and returns the next output. */
uint64_t gs_splitmix64(uint64_t *x);

#endif
