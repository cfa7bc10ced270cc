/* Binary-heap pending-event set with FIFO tie-breaking and cancellation.
 *
 * Invariant: heap[i]->pos == i for every pending event, and no event is
 * earlier than its parent in (time, seq) order. Sifting moves a hole instead
 * of swapping, as in Knuth's TAOCP vol. 3 §5.2.3, so each level costs one
 * store. The sequence number makes the order total, so the run is the same
 * for any heap shape. */
#include "calendar.h"

#include "alloc.h"

static inline int earlier(const gs_event *a, const gs_event *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

void gs_cal_init(gs_calendar *c)
{
    c->heap = NULL;
    c->n = c->cap = 0;
    c->seq = 0;
    gs_pool_init(&c->pool, sizeof(gs_event), 1024);
}

void gs_cal_release(gs_calendar *c)
{
    gs_free(c->heap);
    c->heap = NULL;
    c->n = c->cap = 0;
    gs_pool_release(&c->pool);
}

static void sift_up(gs_event **h, size_t i, gs_event *e)
{
    while (i > 0) {
        size_t parent = (i - 1) >> 1;
        gs_event *p = h[parent];
        if (!earlier(e, p))
            break;
        h[i] = p;
        p->pos = (uint32_t)i;
        i = parent;
    }
    h[i] = e;
    e->pos = (uint32_t)i;
}

static void sift_down(gs_event **h, size_t n, size_t i, gs_event *e)
{
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && earlier(h[child + 1], h[child]))
            child++;
        gs_event *ch = h[child];
        if (!earlier(ch, e))
            break;
        h[i] = ch;
        ch->pos = (uint32_t)i;
        i = child;
    }
    h[i] = e;
    e->pos = (uint32_t)i;
}

gs_event *gs_cal_push(gs_calendar *c, gs_time t, uint32_t target, uint32_t kind,
                      gs_request *req, uint64_t arg)
{
    if (c->n == c->cap) {
        /* Growth by 1.5 keeps the slack of the heap array at most a third
         * of its size, which bounds the bytes per pending event. */
        size_t cap = c->cap ? c->cap + c->cap / 2 : 256;
        if (cap >= GS_EV_NOT_PENDING)
            return NULL;
        gs_event **h = gs_realloc(c->heap, cap * sizeof *h);
        if (!h)
            return NULL;
        c->heap = h;
        c->cap = cap;
    }
    gs_event *e = gs_pool_get(&c->pool);
    if (!e)
        return NULL;
    e->time = t;
    e->seq = c->seq++;
    e->req = req;
    e->arg = arg;
    e->target = target;
    e->kind = kind;
    sift_up(c->heap, c->n++, e);
    return e;
}

gs_event *gs_cal_pop(gs_calendar *c)
{
    if (!c->n)
        return NULL;
    gs_event *top = c->heap[0];
    gs_event *last = c->heap[--c->n];
    if (c->n)
        sift_down(c->heap, c->n, 0, last);
    top->pos = GS_EV_NOT_PENDING;
    return top;
}

void gs_cal_recycle(gs_calendar *c, gs_event *e)
{
    e->gen++;
    e->pos = GS_EV_NOT_PENDING;
    gs_pool_put(&c->pool, e);
}

int gs_cal_cancel(gs_calendar *c, gs_timer t)
{
    gs_event *e = t.ev;
    if (!e || e->gen != t.gen || e->pos == GS_EV_NOT_PENDING)
        return 0;
    size_t i = e->pos;
    gs_event *last = c->heap[--c->n];
    if (i < c->n) {
        /* The moved event may belong above or below the hole. */
        if (i > 0 && earlier(last, c->heap[(i - 1) >> 1]))
            sift_up(c->heap, i, last);
        else
            sift_down(c->heap, c->n, i, last);
    }
    gs_cal_recycle(c, e);
    return 1;
}

size_t gs_cal_bytes(const gs_calendar *c)
{
    return c->pool.bytes + c->cap * sizeof *c->heap;
}
