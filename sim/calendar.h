/* The event calendar: a binary min-heap of event records ordered by
 * (time, sequence number), so that events at equal times run in the order
 * they were scheduled, whatever the heap layout. Push and pop are
 * O(log n); any pending event can be cancelled in O(log n) through a timer
 * handle. Records come from a pool: nothing is allocated per event once the
 * pool and the heap array have grown to the run's peak. */
#ifndef GS_SIM_CALENDAR_H
#define GS_SIM_CALENDAR_H

#include <stddef.h>
#include <stdint.h>
#include "pool.h"
#include "types.h"

#define GS_EV_NOT_PENDING UINT32_MAX

/* 48 bytes: with the heap slot, 56 bytes per pending event. */
struct gs_event {
    gs_time     time;
    uint64_t    seq;     /* scheduling order: ties at equal times */
    gs_request *req;     /* request the event concerns, or NULL */
    uint64_t    arg;     /* small payload chosen by the receiver */
    uint32_t    pos;     /* index in the heap, GS_EV_NOT_PENDING otherwise */
    uint32_t    gen;     /* bumped when the record is recycled */
    uint32_t    target;  /* receiving component */
    uint32_t    kind;    /* receiver-defined event kind */
};

/* A handle to a scheduled event. Its holder forgets it once the event has
 * been handled or cancelled. In the default build a stale handle is still
 * harmless (the record's generation no longer matches); built with
 * GS_POOL_MALLOC the record is freed, so AddressSanitizer reports any holder
 * that kept a stale handle. */
typedef struct gs_timer {
    gs_event *ev;
    uint32_t  gen;
} gs_timer;

#define GS_TIMER_NONE ((gs_timer){NULL, 0})

struct gs_calendar {
    gs_event **heap;
    size_t     n, cap;
    uint64_t   seq;
    gs_pool    pool;
};

void gs_cal_init(gs_calendar *c);
void gs_cal_release(gs_calendar *c);

/* Schedule an event at absolute time t. Returns the record (owned by the
 * calendar) or NULL when out of memory. */
gs_event *gs_cal_push(gs_calendar *c, gs_time t, uint32_t target, uint32_t kind,
                      gs_request *req, uint64_t arg);

/* Remove and return the earliest event, or NULL when empty. The caller hands
 * the record back with gs_cal_recycle() when done with it. */
gs_event *gs_cal_pop(gs_calendar *c);

/* The earliest event without removing it, or NULL. */
static inline const gs_event *gs_cal_peek(const gs_calendar *c)
{
    return c->n ? c->heap[0] : NULL;
}

static inline size_t gs_cal_size(const gs_calendar *c) { return c->n; }

void gs_cal_recycle(gs_calendar *c, gs_event *e);

static inline gs_timer gs_timer_of(const gs_event *e)
{
    return (gs_timer){(gs_event *)e, e->gen};
}

/* Cancel a pending event: 1 if it was pending and is now gone, 0 if it had
 * already run or been cancelled. */
int gs_cal_cancel(gs_calendar *c, gs_timer t);

/* Bytes held by the calendar (records and heap array). */
size_t gs_cal_bytes(const gs_calendar *c);

#endif
