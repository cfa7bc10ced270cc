/* Workload sources (the clients) and the end-to-end statistics they keep:
 * each workload of a scenario is an engine-internal component that creates
 * requests, holds their deadline timers and records their outcomes. Shared
 * between the files of sim/ only. */
#ifndef GS_SIM_SOURCE_H
#define GS_SIM_SOURCE_H

#include <stdint.h>
#include "component.h"
#include "request.h"
#include "stats.h"
#include "types.h"

typedef struct gs_metrics gs_metrics;

enum {
    GS_SOURCE_EV_ARRIVE = GS_EV_USER,   /* open process: next arrival */
    GS_SOURCE_EV_USER,         /* closed process: user arg ends thinking */
    GS_SOURCE_EV_DEADLINE,     /* client deadline of ev->req */
    GS_SOURCE_EV_ANSWER        /* answer of ev->req reaches the client; arg = outcome */
};

/* The current sample interval of a traced run (results.h5 time series) or
 * of a run that measures recovery: every request, whatever its arrival
 * time, by when it arrived or ended. attempts counts the first send of each
 * client request when it arrives and every extra attempt (retry, hedge,
 * failover) when it is sent; in_deadline the answers that reached their
 * client by its deadline. */
typedef struct gs_source_interval {
    uint64_t arrivals, done, answered, available;
    uint64_t attempts, in_deadline;
    gs_hist  hist;                     /* answered, nanoseconds */
} gs_source_interval;

/* End-to-end statistics of the requests that arrived in the window. */
typedef struct gs_source_stats {
    uint64_t arrivals;                 /* counted requests */
    uint64_t pending;                  /* counted requests without an outcome yet */
    uint64_t outcome[GS_OUT_COUNT];
    uint64_t attempts;                 /* attempts sent to servers for counted requests */
    uint64_t in_deadline;              /* counted requests answered by their deadline */
    double   cost;                     /* money spent on counted requests */
    gs_tally latency;                  /* answered requests, seconds */
    gs_hist  hist;                     /* answered requests, nanoseconds */
    /* Answered requests that a GPU pool produced tokens for (t_first_token
     * set): time to first token, and per output token after the first
     * (requests of two or more output tokens), in seconds and nanoseconds. */
    gs_source_interval *iv;            /* NULL unless the run samples intervals */
    gs_tally ttft, tpot;
    gs_hist  ttft_hist, tpot_hist;
} gs_source_stats;

void gs__source_stats_init(gs_source_stats *s);

/* The answer (outcome o) of r reaches its client now. */
void gs__source_deliver(gs_ctx *ctx, gs_component *src, gs_request *r, gs_outcome o);

/* The "system" metrics of one replication. */
void gs__source_report(const gs_source_stats *s, const gs_scenario *sc, const gs_ctx *ctx,
                       gs_metrics *m);

/* Engine services for sources (sim/engine.c). */
gs_source_stats *gs__world_stats(gs_ctx *ctx);
gs_request *gs__request_new(gs_ctx *ctx);
void gs__request_free(gs_ctx *ctx, gs_request *r);

#endif
