/* The table of held requests (see held.h). Invariant: every slot below n
 * is either in use (e[slot].r != NULL) or on the free stack, never both. */
#include "held.h"

#include "sim/alloc.h"
#include "sim/engine.h"
#include "sim/error.h"

int gs__held_take(gs_held *h, size_t *slot)
{
    if (h->nfree) {
        *slot = h->free[--h->nfree];
        return GS_OK;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 16;
        gs_held_entry *e = gs_realloc(h->e, cap * sizeof *e);
        if (!e)
            return GS_ENOMEM;
        h->e = e;
        uint32_t *fr = gs_realloc(h->free, cap * sizeof *fr);
        if (!fr)
            return GS_ENOMEM;
        h->free = fr;
        h->cap = cap;
    }
    *slot = h->n++;
    return GS_OK;
}

void gs__held_fail_all(gs_held *h, gs_ctx *ctx, gs_component *c)
{
    /* The table is emptied first: an answer reaches only a client or a
     * caller, but nothing should see a slot that is about to be reset. */
    size_t n = h->n;
    h->n = h->nfree = 0;
    for (size_t i = 0; i < n; i++) {
        gs_request *r = h->e[i].r;
        if (!r)
            continue;
        gs_cancel(ctx, h->e[i].t);
        h->e[i].r = NULL;
        gs_answer(ctx, c, r, GS_OUT_ERROR);
    }
}

void gs__held_release(gs_held *h)
{
    gs_free(h->e);
    gs_free(h->free);
    h->e = NULL;
    h->free = NULL;
    h->n = h->nfree = h->cap = 0;
}
