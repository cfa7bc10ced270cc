/* Requests a component holds on a timer (in service, or waiting for a
 * provider's answer), kept only by components that can fail, so that going
 * down can cancel each timer and fail each request at once. Slots keep their
 * index while in use (the timer event carries it); free slots are stacked.
 * The tables grow by doubling, so a run allocates only when the number held
 * reaches a new peak. Used by the files of models/ only. */
#ifndef GS_MODELS_HELD_H
#define GS_MODELS_HELD_H

#include <stddef.h>
#include <stdint.h>
#include "sim/calendar.h"

typedef struct gs_held_entry {
    gs_request *r;          /* NULL: the slot is free */
    gs_timer    t;
} gs_held_entry;

typedef struct gs_held {
    gs_held_entry *e;
    uint32_t      *free;
    size_t         n, nfree, cap;   /* slots in use or stacked; stacked; allocated */
} gs_held;

/* A free slot in *slot; GS_OK or GS_ENOMEM. */
int gs__held_take(gs_held *h, size_t *slot);

static inline void gs__held_set(gs_held *h, size_t slot, gs_request *r, gs_timer t)
{
    h->e[slot] = (gs_held_entry){r, t};
}

/* The timer of slot has run: the slot is free again. */
static inline void gs__held_put(gs_held *h, size_t slot)
{
    h->e[slot].r = NULL;
    h->free[h->nfree++] = (uint32_t)slot;
}

/* Going down: cancel every held timer and answer each request with an
 * error from c; the table is empty afterwards. */
void gs__held_fail_all(gs_held *h, gs_ctx *ctx, gs_component *c);

void gs__held_release(gs_held *h);

#endif
