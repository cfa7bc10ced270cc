/* Backoff and retry budget (models/retry.h). The budget keeps one counter
 * pair per slice of the window in a ring and their running sums; moving to
 * a later slice zeroes the slices it skips (at most `buckets` of them, so a
 * long quiet spell costs O(buckets) once). Invariant: sum_calls and
 * sum_retries are the sums over the ring, which covers
 * [start - (buckets-1) * slice, start + slice). */
#include <math.h>
#include <string.h>

#include "models/retry.h"
#include "sim/alloc.h"
#include "sim/error.h"

gs_time gs_backoff_delay(const gs_backoff *b, uint32_t k, gsl_rng *rng)
{
    /* In seconds, where factor^(k-1) may overflow to inf before the cap. */
    double d = gs_time_to_s(b->base) * pow(b->factor, (double)(k > 0 ? k - 1 : 0));
    if (b->max != GS_TIME_MAX && !(d <= gs_time_to_s(b->max)))
        d = gs_time_to_s(b->max);
    if (!(d < 9.2e9))
        d = 9.2e9;   /* about 290 years: below GS_TIME_MAX in ns */
    switch (b->jitter) {
    case GS_JITTER_FULL:
        d *= gsl_rng_uniform(rng);
        break;
    case GS_JITTER_EQUAL:
        d = d / 2 + d / 2 * gsl_rng_uniform(rng);
        break;
    case GS_JITTER_NONE:
    default:
        break;
    }
    return gs_time_from_s(d);
}

int gs_retry_budget_init(gs_retry_budget *b, double ratio, gs_time window, uint32_t buckets)
{
    memset(b, 0, sizeof *b);
    b->ratio = ratio;
    b->buckets = buckets;
    b->slice = window / buckets;
    b->calls = gs_calloc(buckets, sizeof *b->calls);
    b->retries = gs_calloc(buckets, sizeof *b->retries);
    if (!b->calls || !b->retries) {
        gs_retry_budget_release(b);
        return GS_ENOMEM;
    }
    return GS_OK;
}

void gs_retry_budget_release(gs_retry_budget *b)
{
    gs_free(b->calls);
    gs_free(b->retries);
    b->calls = b->retries = NULL;
}

static void advance(gs_retry_budget *b, gs_time now)
{
    if (now < b->start + b->slice)
        return;
    gs_time steps = (now - b->start) / b->slice;
    uint32_t n = steps < (gs_time)b->buckets ? (uint32_t)steps : b->buckets;
    for (uint32_t i = 0; i < n; i++) {
        b->cur = b->cur + 1 == b->buckets ? 0 : b->cur + 1;
        b->sum_calls -= b->calls[b->cur];
        b->sum_retries -= b->retries[b->cur];
        b->calls[b->cur] = b->retries[b->cur] = 0;
    }
    b->start += steps * b->slice;
}

void gs_retry_budget_call(gs_retry_budget *b, gs_time now)
{
    advance(b, now);
    b->calls[b->cur]++;
    b->sum_calls++;
}

int gs_retry_budget_take(gs_retry_budget *b, gs_time now)
{
    advance(b, now);
    if ((double)(b->sum_retries + 1) > b->ratio * (double)b->sum_calls)
        return 0;
    b->retries[b->cur]++;
    b->sum_retries++;
    return 1;
}
