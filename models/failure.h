/* Failures of a component (SPEC §2): an up/down process that any component
 * can embed, made of random failures `failures {mtbf, mttr}`, scheduled
 * `outages [{at, for}]` and `slowdowns [{at, for, factor}]`.
 *
 * The owner keeps a gs_failure_conf in its configuration and a gs_failure in
 * its per-replication state, reserves GS_FAILURE_KINDS consecutive event
 * kinds for it, hands it the events of those kinds, and acts on what
 * gs_failure_handle() returns (GS_FAILURE_DOWN: fail everything it holds;
 * GS_FAILURE_UP: accept requests again). While gs_failure_down() is 1 the
 * owner refuses new requests (after ctx->connect_timeout). At every service
 * start it multiplies the drawn time by gs_failure_factor(). Used by the
 * files of models/ only; docs/failures.md gives the semantics. */
#ifndef GS_MODELS_FAILURE_H
#define GS_MODELS_FAILURE_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>
#include "sim/dist.h"
#include "sim/stats.h"
#include "sim/types.h"

/* Event kinds a gs_failure uses, from the first one its owner gives it. */
#define GS_FAILURE_KINDS 2u

/* A period [at, end) of the simulated clock; factor is the slowdown that
 * applies in it (1 for outages). */
typedef struct gs_failure_period {
    gs_time at, end;
    double  factor;
} gs_failure_period;

typedef struct gs_failure_conf {
    int                has_random;   /* `failures` was given */
    gs_dist            up, down;     /* up and down times, seconds */
    size_t             noutages;     /* disjoint, sorted, merged where they touch */
    gs_failure_period *outages;
    size_t             nslow;        /* disjoint, sorted; overlapping slowdowns multiply */
    gs_failure_period *slow;
} gs_failure_conf;

/* Per-replication state. */
typedef struct gs_failure {
    const gs_failure_conf *conf;
    uint32_t   kind;          /* first reserved event kind */
    gsl_rng   *rng;           /* stream (seed, replication, "fail:" id); NULL without `failures` */
    int        random_down;   /* in a random failure */
    int        outage_down;   /* in a scheduled outage */
    size_t     next_outage;   /* index of the outage whose start or end comes next */
    size_t     slow_cursor;   /* first slowdown that has not ended */
    gs_timeavg down_avg;
    double     down_ratio;    /* fixed when the window closes */
} gs_failure;

/* What gs_failure_handle() tells the owner. */
enum { GS_FAILURE_SAME = 0, GS_FAILURE_DOWN, GS_FAILURE_UP };

/* Read the keys `failures`, `outages` and `slowdowns` of the component
 * mapping map (each optional) into fc, which the caller has zeroed. A bare
 * mtbf or mttr is the mean of an exponential; a mapping is any distribution
 * of sim/dist.h, whose mean must be > 0. Errors (GS_EINVAL, at the offending
 * node): missing mtbf or mttr, times <= 0, unknown keys (with a hint), a
 * value that is not a list or an item that is not a mapping, `at` < 0,
 * `for` <= 0, factor <= 0; GS_ENOMEM. On failure fc needs no release; on
 * success release it with gs_failure_conf_release(). */
int gs_failure_configure(gs_failure_conf *fc, gs_doc *doc, gs_node *map, gs_diag *d);
void gs_failure_conf_release(gs_failure_conf *fc);

/* 1 when any of the three keys was given (the owner then needs to embed the
 * process; otherwise it never goes down and nothing slows). */
int gs_failure_configured(const gs_failure_conf *fc);

/* Start the process of a replication: the component starts up; the first
 * random failure comes after an up time, the first outage at its `at`.
 * Schedules events of kinds kind .. kind + GS_FAILURE_KINDS - 1 on self.
 * id names the stream. GS_OK or GS_ENOMEM. */
int gs_failure_start(gs_failure *f, const gs_failure_conf *fc, const gs_component *self,
                     gs_ctx *ctx, uint32_t kind, const char *id);

/* 1 when ev->kind is one of f's kinds. */
static inline int gs_failure_owns(const gs_failure *f, uint32_t kind)
{
    return kind - f->kind < GS_FAILURE_KINDS;
}

/* Handle an event of f's kinds; returns GS_FAILURE_DOWN when the component
 * has just gone down, GS_FAILURE_UP when it is up again, GS_FAILURE_SAME
 * otherwise (e.g. a random failure ends inside an outage). */
int gs_failure_handle(gs_failure *f, const gs_component *self, gs_ctx *ctx, const gs_event *ev);

/* 1 while down (in a random failure or an outage). */
static inline int gs_failure_down(const gs_failure *f)
{
    return f->random_down || f->outage_down;
}

/* The slowdown factor at time now (1 outside slowdowns). now must not
 * decrease from one call to the next. */
double gs_failure_factor(gs_failure *f, gs_time now);

/* The observation window opens or closes (as gs_component_type.window). */
void gs_failure_window(gs_failure *f, gs_time now, int open);

/* Share of the window [warmup, duration) spent down; valid once it closed. */
double gs_failure_down_ratio(const gs_failure *f);

/* Free the stream; safe on a zeroed struct and twice. */
void gs_failure_release(gs_failure *f);

#endif
