/* Calendar: (time, seq) order including ties, cancellation anywhere in the
 * heap, stale handles, and agreement with a sorted reference under a random
 * mix of pushes, pops and cancels. */
#include <gsl/gsl_rng.h>
#include <stdlib.h>

#include "sim/calendar.h"
#include "sim/rng.h"
#include "tests/check.h"

static void ties_run_in_schedule_order(void)
{
    gs_calendar c;
    gs_cal_init(&c);
    for (uint64_t i = 0; i < 100; i++)
        gs_cal_push(&c, (gs_time)(i % 3), 0, 0, NULL, i);
    gs_time last_t = -1;
    uint64_t last_arg[3] = {0, 0, 0};
    int first[3] = {1, 1, 1};
    for (int i = 0; i < 100; i++) {
        gs_event *e = gs_cal_pop(&c);
        CHECK(e != NULL);
        CHECK(e->time >= last_t);
        if (!first[e->time])
            CHECK(e->arg > last_arg[e->time]);
        first[e->time] = 0;
        last_arg[e->time] = e->arg;
        last_t = e->time;
        gs_cal_recycle(&c, e);
    }
    CHECK(gs_cal_pop(&c) == NULL);
    gs_cal_release(&c);
}

static void cancel_and_stale_handles(void)
{
    gs_calendar c;
    gs_cal_init(&c);
    gs_timer t[10];
    for (int i = 0; i < 10; i++)
        t[i] = gs_timer_of(gs_cal_push(&c, 10 - i, 0, 0, NULL, (uint64_t)i));
    CHECK_EQ(gs_cal_cancel(&c, t[3]), 1);
#ifndef GS_POOL_MALLOC
    CHECK_EQ(gs_cal_cancel(&c, t[3]), 0);   /* already cancelled */
#endif
    CHECK_EQ(gs_cal_cancel(&c, t[9]), 1);   /* the earliest */
    CHECK_EQ(gs_cal_size(&c), 8);
    gs_event *e = gs_cal_pop(&c);
    CHECK_EQ(e->arg, 8);
    gs_cal_recycle(&c, e);
    gs_event *n = gs_cal_push(&c, 100, 0, 0, NULL, 42);
#ifndef GS_POOL_MALLOC
    /* The record is reused by the push; the old handle must not cancel the
     * new event. */
    CHECK_EQ(gs_cal_cancel(&c, t[8]), 0);
#endif
    CHECK_EQ(gs_cal_size(&c), 8);
    CHECK_EQ(gs_cal_cancel(&c, gs_timer_of(n)), 1);
    uint64_t expect[] = {7, 6, 5, 4, 2, 1, 0};
    for (size_t i = 0; i < 7; i++) {
        e = gs_cal_pop(&c);
        CHECK_EQ(e->arg, expect[i]);
        gs_cal_recycle(&c, e);
    }
    CHECK_EQ(gs_cal_size(&c), 0);
    gs_cal_release(&c);
}

typedef struct ref {
    gs_time  t;
    uint64_t seq;
    int      live;
    gs_timer h;
} ref;

/* Random operations checked against a brute-force reference: each pop must
 * return the live entry with the smallest (time, seq). */
static void random_against_reference(void)
{
    enum { N = 20000 };
    gs_calendar c;
    gs_cal_init(&c);
    gsl_rng *r = gs_rng_new(7, 0, "calendar-test");
    ref *refs = calloc(N, sizeof *refs);
    size_t nref = 0, live = 0;
    int mismatches = 0;
    for (int step = 0; step < N; step++) {
        double u = gsl_rng_uniform(r);
        if (u < 0.5 || live == 0) {
            gs_time t = (gs_time)gsl_rng_uniform_int(r, 1000);   /* many ties */
            gs_event *e = gs_cal_push(&c, t, 0, 0, NULL, nref);
            refs[nref] = (ref){t, e->seq, 1, gs_timer_of(e)};
            nref++;
            live++;
        } else if (u < 0.8) {
            gs_event *e = gs_cal_pop(&c);
            size_t best = SIZE_MAX;
            for (size_t i = 0; i < nref; i++)
                if (refs[i].live && (best == SIZE_MAX || refs[i].t < refs[best].t ||
                                     (refs[i].t == refs[best].t && refs[i].seq < refs[best].seq)))
                    best = i;
            if (e->arg != best)
                mismatches++;
            refs[e->arg].live = 0;
            refs[e->arg].h = GS_TIMER_NONE;
            live--;
            gs_cal_recycle(&c, e);
        } else {
            size_t i = gsl_rng_uniform_int(r, nref);
            int was = refs[i].live;
#ifdef GS_POOL_MALLOC
            /* Stale handles are the holder's bug in this build. */
            if (!was)
                continue;
#endif
            int got = gs_cal_cancel(&c, refs[i].h);
            if (got != was)
                mismatches++;
            refs[i].live = 0;
            if (was)
                live--;
        }
        if (gs_cal_size(&c) != live)
            mismatches++;
    }
    CHECK_EQ(mismatches, 0);
    free(refs);
    gsl_rng_free(r);
    gs_cal_release(&c);
}

static void memory_per_pending_event(void)
{
    gs_calendar c;
    gs_cal_init(&c);
    for (int i = 0; i < 100000; i++)
        gs_cal_push(&c, i, 0, 0, NULL, 0);
    /* Records plus the heap slot, with the heap array's growth slack. */
    CHECK(sizeof(gs_event) <= 48);
    CHECK((double)gs_cal_bytes(&c) / 100000.0 <= 64.0);
    gs_cal_release(&c);
}

int main(void)
{
    ties_run_in_schedule_order();
    cancel_and_stale_handles();
    random_against_reference();
    memory_per_pending_event();
    return CHECK_DONE();
}
