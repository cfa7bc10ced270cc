/* A circuit breaker (SPEC §2 `fallback.circuit_breaker`), the state machine
 * of Nygard's "Release It!" as Resilience4j implements it with a
 * count-based window:
 *
 *   closed    --(>= min_calls judged in the window of the last `window`
 *               calls and failures >= failure_ratio of them)-->  open
 *   open      --(open_for has passed)--> half-open
 *   half-open --(half_open_calls trial calls done; failures among them
 *               >= failure_ratio)--> open, else --> closed (window emptied)
 *
 * A call slower than slow_call counts as a failure. While open, and while
 * half-open with every trial permit taken, calls are refused. Results of
 * calls admitted in an earlier state (a generation ago) are ignored. The
 * open -> half-open move is made lazily at the next acquire, but the open
 * period is exactly open_for long, so the time spent open is known the
 * moment it opens. */
#ifndef GS_MODELS_BREAKER_H
#define GS_MODELS_BREAKER_H

#include <stdint.h>
#include "sim/types.h"

typedef struct gs_breaker_conf {
    uint32_t window;           /* calls judged, >= 1 */
    uint32_t min_calls;        /* 1 .. window */
    double   failure_ratio;    /* (0, 1] */
    gs_time  slow_call;        /* GS_TIME_MAX: no slow-call rule */
    gs_time  open_for;         /* >= 1 ns */
    uint32_t half_open_calls;  /* >= 1 */
} gs_breaker_conf;

typedef enum gs_breaker_state {
    GS_BREAKER_CLOSED, GS_BREAKER_OPEN, GS_BREAKER_HALF_OPEN
} gs_breaker_state;

typedef struct gs_breaker {
    const gs_breaker_conf *conf;
    gs_breaker_state state;
    uint8_t *ring;             /* 1 = failure, for the last n calls */
    uint32_t pos, n, fails;
    uint32_t gen;              /* changes at every transition */
    gs_time  open_until;
    uint32_t trials_sent, trials_done, trial_fails;
    /* Accounting over the observation window [lo, hi). */
    gs_time  lo, hi;
    gs_time  open_time;        /* ns open within [lo, hi) */
    uint64_t opens;            /* transitions to open within [lo, hi) */
} gs_breaker;

/* A closed breaker measuring over [lo, hi). GS_OK or GS_ENOMEM. Release
 * with gs_breaker_release(). */
int  gs_breaker_init(gs_breaker *b, const gs_breaker_conf *conf, gs_time lo, gs_time hi);
void gs_breaker_release(gs_breaker *b);

/* May a call go through at now? A permit (>= 0) to hand to
 * gs_breaker_record() with the call's result, or -1 when refused. */
int64_t gs_breaker_acquire(gs_breaker *b, gs_time now);

/* The call of `permit` ended at now after `elapsed`; failed = 1 when it did
 * not answer. */
void gs_breaker_record(gs_breaker *b, gs_time now, int64_t permit, int failed,
                       gs_time elapsed);

/* The call of `permit` will not be made after all (it found no room
 * downstream): it is not judged, and a trial permit is given back. */
void gs_breaker_cancel(gs_breaker *b, int64_t permit);

/* Share of [lo, hi) spent open. */
double gs_breaker_open_ratio(const gs_breaker *b);

#endif
