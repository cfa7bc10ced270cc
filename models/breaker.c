/* The circuit breaker of models/breaker.h. The window is a ring of the last
 * n <= window results with a running failure count, so judging a call is
 * O(1). Invariant: fails == the number of 1s among the n newest ring
 * entries; in the open state open_until is when it may admit trials. */
#include <string.h>

#include "models/breaker.h"
#include "sim/alloc.h"
#include "sim/error.h"

#define TRIAL 1

int gs_breaker_init(gs_breaker *b, const gs_breaker_conf *conf, gs_time lo, gs_time hi)
{
    memset(b, 0, sizeof *b);
    b->conf = conf;
    b->ring = gs_calloc(conf->window, 1);
    if (!b->ring)
        return GS_ENOMEM;
    b->lo = lo;
    b->hi = hi;
    return GS_OK;
}

void gs_breaker_release(gs_breaker *b)
{
    gs_free(b->ring);
    b->ring = NULL;
}

static void trip(gs_breaker *b, gs_time now)
{
    b->state = GS_BREAKER_OPEN;
    b->gen++;
    b->open_until = gs_time_add(now, b->conf->open_for);
    gs_time s = now > b->lo ? now : b->lo;
    gs_time e = b->open_until < b->hi ? b->open_until : b->hi;
    if (e > s)
        b->open_time += e - s;
    if (now >= b->lo && now < b->hi)
        b->opens++;
}

static void reset(gs_breaker *b)
{
    b->state = GS_BREAKER_CLOSED;
    b->gen++;
    b->pos = b->n = b->fails = 0;
}

int64_t gs_breaker_acquire(gs_breaker *b, gs_time now)
{
    if (b->state == GS_BREAKER_OPEN) {
        if (now < b->open_until)
            return -1;
        b->state = GS_BREAKER_HALF_OPEN;
        b->gen++;
        b->trials_sent = b->trials_done = b->trial_fails = 0;
    }
    if (b->state == GS_BREAKER_HALF_OPEN) {
        if (b->trials_sent >= b->conf->half_open_calls)
            return -1;
        b->trials_sent++;
        return (int64_t)b->gen << 1 | TRIAL;
    }
    return (int64_t)b->gen << 1;
}

void gs_breaker_record(gs_breaker *b, gs_time now, int64_t permit, int failed,
                       gs_time elapsed)
{
    if (permit < 0 || (uint32_t)(permit >> 1) != b->gen)
        return;
    const gs_breaker_conf *c = b->conf;
    failed = failed || elapsed > c->slow_call;
    if (permit & TRIAL) {
        b->trials_done++;
        b->trial_fails += (uint32_t)failed;
        if (b->trials_done < c->half_open_calls)
            return;
        if ((double)b->trial_fails >= c->failure_ratio * (double)c->half_open_calls)
            trip(b, now);
        else
            reset(b);
        return;
    }
    if (b->n == c->window)
        b->fails -= b->ring[b->pos];
    else
        b->n++;
    b->ring[b->pos] = (uint8_t)failed;
    b->fails += (uint32_t)failed;
    b->pos = b->pos + 1 == c->window ? 0 : b->pos + 1;
    if (b->n >= c->min_calls && (double)b->fails >= c->failure_ratio * (double)b->n)
        trip(b, now);
}

void gs_breaker_cancel(gs_breaker *b, int64_t permit)
{
    if (permit >= 0 && (permit & TRIAL) && (uint32_t)(permit >> 1) == b->gen)
        b->trials_sent--;
}

double gs_breaker_open_ratio(const gs_breaker *b)
{
    return b->hi > b->lo ? (double)b->open_time / (double)(b->hi - b->lo) : 0;
}
