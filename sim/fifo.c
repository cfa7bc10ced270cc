/* The out-of-line half of sim/fifo.h: growing and freeing the ring. The
 * ring is unrolled into the new one from its head, so after a growth the
 * oldest request is at index 0 and the order is unchanged. */
#include "fifo.h"

#include "alloc.h"
#include "error.h"

int gs_fifo_grow(gs_fifo *f)
{
    size_t cap = f->cap ? 2 * f->cap : 16;
    gs_request **ring = gs_malloc(cap * sizeof *ring);
    if (!ring)
        return GS_ENOMEM;
    for (size_t i = 0; i < f->len; i++)
        ring[i] = f->ring[(f->head + i) & (f->cap - 1)];
    gs_free(f->ring);
    f->ring = ring;
    f->cap = cap;
    f->head = 0;
    return GS_OK;
}

void gs_fifo_release(gs_fifo *f)
{
    gs_free(f->ring);
    f->ring = NULL;
    f->head = f->len = f->cap = 0;
}
