/* A FIFO of requests for the queues of components (a station's waiting
 * line, a worker pool's backlog). It is a ring whose capacity is a power of
 * two, so that wrapping is a mask rather than a division on every queued
 * request, and it grows by doubling only when full: a queue that has reached
 * its high-water mark allocates nothing more. */
#ifndef GS_SIM_FIFO_H
#define GS_SIM_FIFO_H

#include <stddef.h>

#include "error.h"
#include "request.h"

typedef struct gs_fifo {
    gs_request **ring;
    size_t       head, len, cap;
} gs_fifo;

/* Double f's capacity (16 when empty), keeping its order. GS_OK or
 * GS_ENOMEM, f unchanged then. */
int gs_fifo_grow(gs_fifo *f);

/* Free the ring; f is then empty and may be used again. */
void gs_fifo_release(gs_fifo *f);

/* Append r. GS_OK or GS_ENOMEM (r not queued). */
static inline int gs_fifo_push(gs_fifo *f, gs_request *r)
{
    if (f->len == f->cap) {
        int rc = gs_fifo_grow(f);
        if (rc)
            return rc;
    }
    f->ring[(f->head + f->len++) & (f->cap - 1)] = r;
    return GS_OK;
}

/* Remove and return the oldest request; f must not be empty. */
static inline gs_request *gs_fifo_pop(gs_fifo *f)
{
    gs_request *r = f->ring[f->head];
    f->head = (f->head + 1) & (f->cap - 1);
    f->len--;
    return r;
}

#endif
