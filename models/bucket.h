/* Token buckets (rate limits of gateways and external providers): up to
 * `burst` tokens, refilled at `rate` per second, starting full; a request
 * takes one token or is turned away. Used by the files of models/ only. */
#ifndef GS_MODELS_BUCKET_H
#define GS_MODELS_BUCKET_H

#include "sim/component.h"

typedef struct gs_bucket_conf {
    int    on;
    double rate, burst;
} gs_bucket_conf;

typedef struct gs_bucket {
    double  tokens;
    gs_time last;
} gs_bucket;

/* Read `rate_limit {rate, burst}` of map (absent: off). burst defaults to 1
 * and must be >= 1. */
int gs__bucket_configure(gs_bucket_conf *bc, gs_build *b, gs_node *map, gs_diag *d);

static inline void gs__bucket_start(gs_bucket *k, const gs_bucket_conf *bc)
{
    k->tokens = bc->burst;
    k->last = 0;
}

/* 1 if a token was taken at time now, 0 if the bucket had less than one. */
static inline int gs__bucket_take(gs_bucket *k, const gs_bucket_conf *bc, gs_time now)
{
    k->tokens += bc->rate * gs_time_to_s(now - k->last);
    if (k->tokens > bc->burst)
        k->tokens = bc->burst;
    k->last = now;
    if (k->tokens < 1)
        return 0;
    k->tokens -= 1;
    return 1;
}

#endif
