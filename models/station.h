/* A queueing station shared by the queueing components (gateway, service):
 * one or more instances, each with c identical servers and a FIFO queue of
 * bounded or unbounded capacity, that may fail (models/failure.h), with the
 * accounting of SPEC §4. Used by the files of models/ only. */
#ifndef GS_MODELS_STATION_H
#define GS_MODELS_STATION_H

#include <stdint.h>
#include "models/failure.h"
#include "sim/calendar.h"
#include "sim/component.h"
#include "sim/dist.h"
#include "sim/fifo.h"
#include "sim/stats.h"
#include "held.h"

typedef enum gs_balance {
    GS_BALANCE_ROUND_ROBIN,
    GS_BALANCE_RANDOM,
    GS_BALANCE_SHORTEST_QUEUE
} gs_balance;

typedef struct gs_station_conf {
    long       servers;     /* per instance */
    long       capacity;    /* places in each queue; -1 = unlimited */
    long       instances;
    gs_balance balance;
    gs_dist    service;     /* seconds */
    int        has_next;
    uint32_t   next;
    /* Optional: where a served request goes instead of `next` (a gateway's
     * class routes). Returns 1 and sets *to, or 0 for the default. c->conf
     * starts with this gs_station_conf. */
    int (*route)(const gs_component *c, const gs_request *r, uint32_t *to);
    /* Optional: called for each request that finds the station up, before
     * it queues; returns 0 when the request is turned away, having answered
     * it (a gateway's rate limit). */
    int (*admit)(gs_component *c, gs_ctx *ctx, gs_request *r);
    gs_failure_conf failure;   /* failures, outages, slowdowns */
} gs_station_conf;

typedef struct gs_station_inst {
    gs_fifo      q;         /* waiting requests */
    long         busy;
} gs_station_inst;

typedef struct gs_station {
    gs_station_inst *inst;
    size_t     ninst;
    uint32_t   rr;          /* next instance for round robin */
    long       busy, waiting;
    int        measuring;
    gs_timeavg busy_avg, queue_avg;   /* in system = busy + waiting */
    gs_tally   wait, response;
    gs_tally   age;         /* at service start: now - the client's send, seconds */
    uint64_t   arrivals, blocked, completed;
    /* Window results, fixed when the window closes. */
    double     util, queue_mean, system_mean;
    /* Failures (when configured): the up/down process, and the requests in
     * service with their completion timers. */
    int             fails;
    gs_failure      fail;
    gs_held         svc;
} gs_station;

/* Read the station keys of a gateway (instances_allowed = 0) or a service
 * (1) into sc, failures, outages and slowdowns included. */
int gs__station_configure(gs_station_conf *sc, gs_comp_conf *cc, gs_build *b,
                          int instances_allowed, gs_diag *d);
/* The component operations of a station-based type: c->conf is a
 * gs_station_conf, c->state a gs_station. */
void gs__station_conf_release(gs_comp_conf *cc);
int  gs__station_start(gs_component *c, gs_ctx *ctx);
void gs__station_handle(gs_component *c, gs_ctx *ctx, gs_event *ev);
void gs__station_window(gs_component *c, gs_ctx *ctx, int open);
void gs__station_report(const gs_component *c, const gs_ctx *ctx, gs_metrics *m);
void gs__station_release(gs_component *c);
/* Time series: requests waiting, servers busy, and 1 when up (0 down). */
extern const char *const gs__station_series[];
void gs__station_sample(const gs_component *c, const gs_ctx *ctx, double *out);

#endif
