/* Retry pacing for the fallback (SPEC §2 `fallback.retry`): exponential
 * backoff with jitter, and a retry budget.
 *
 * Backoff: retry k (k = 1, 2, ...) waits d_k = min(max, base * factor^(k-1)),
 * then jitter as in M. Brooker, "Exponential Backoff And Jitter" (AWS
 * Architecture Blog, 2015): none waits d_k; full waits U(0, d_k); equal
 * waits d_k/2 + U(0, d_k/2).
 *
 * Budget: retries may be at most `ratio` of the first calls made over the
 * last `window` of time (Finagle's RetryBudget and Envoy's retry budget cap
 * retries as a share of traffic the same way), so that a failing target
 * sees at most (1 + ratio) times the offered load instead of (1 + max). The
 * window is counted in `buckets` equal slices that expire whole. */
#ifndef GS_MODELS_RETRY_H
#define GS_MODELS_RETRY_H

#include <stdint.h>
#include <gsl/gsl_rng.h>
#include "sim/types.h"

typedef enum gs_jitter { GS_JITTER_NONE, GS_JITTER_FULL, GS_JITTER_EQUAL } gs_jitter;

typedef struct gs_backoff {
    gs_time   base;      /* >= 0 */
    double    factor;    /* >= 1 */
    gs_time   max;       /* >= base; GS_TIME_MAX: no cap */
    gs_jitter jitter;
} gs_backoff;

/* The wait before retry k >= 1; draws from rng only with jitter. */
gs_time gs_backoff_delay(const gs_backoff *b, uint32_t k, gsl_rng *rng);

typedef struct gs_retry_budget {
    double    ratio;
    gs_time   slice;     /* window / buckets */
    uint32_t  buckets;
    uint64_t *calls, *retries;   /* per slice, ring */
    uint64_t  sum_calls, sum_retries;
    uint32_t  cur;       /* slice of `start` */
    gs_time   start;     /* start of the current slice */
} gs_retry_budget;

/* ratio >= 0, window >= buckets ns, buckets >= 1. GS_OK or GS_ENOMEM;
 * release with gs_retry_budget_release(). */
int  gs_retry_budget_init(gs_retry_budget *b, double ratio, gs_time window, uint32_t buckets);
void gs_retry_budget_release(gs_retry_budget *b);
/* A first call was made at now. */
void gs_retry_budget_call(gs_retry_budget *b, gs_time now);
/* 1 (and the retry is counted) when one more retry at now stays within the
 * budget, else 0. */
int  gs_retry_budget_take(gs_retry_budget *b, gs_time now);

#endif
