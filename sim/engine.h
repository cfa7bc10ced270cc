/* The simulation engine: builds one replication's world from a configured
 * scenario, runs its event loop, and offers components the only ways they
 * may act (send, timers, answer). */
#ifndef GS_SIM_ENGINE_H
#define GS_SIM_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include "calendar.h"
#include "component.h"
#include "request.h"
#include "types.h"

struct gs_ctx {
    gs_time   now;
    gs_world *world;
    gs_time   warmup, duration;   /* the observation window */
    /* The replication's identity, for components that derive streams of
     * their own (gs_rng_new(seed, replication, name)), and the scenario's
     * network.connect_timeout (how long a request sent to a component that
     * is down takes to fail). */
    uint64_t  seed, replication;
    gs_time   connect_timeout;
};

/* Send r from component `from` to component `to`: it arrives after one
 * network hop (network.latency, drawn from from's network stream). */
void gs_send(gs_ctx *ctx, gs_component *from, uint32_t to, gs_request *r);

/* Schedule an event of `kind` for self after delay (>= 0). The handle may be
 * cancelled with gs_cancel() until the event has been handled; holders must
 * forget the handle once the event ran. */
gs_timer gs_schedule(gs_ctx *ctx, const gs_component *self, gs_time delay, uint32_t kind,
                     gs_request *r, uint64_t arg);

/* 1 if the event was pending and is now cancelled. */
int gs_cancel(gs_ctx *ctx, gs_timer t);

/* Component `from` ends r with outcome o (GS_OUT_OK when it answered,
 * GS_OUT_ERROR when it failed or dropped it, ...). The answer travels back
 * to the client over the hops r came by; if the client has already given up
 * the answer is thrown away. */
void gs_answer(gs_ctx *ctx, gs_component *from, gs_request *r, gs_outcome o);

/* Attempts. A component that must see how a request fares downstream (a
 * load balancer that retries, a fallback that fails over) sends an attempt,
 * a child of the request, instead of the request itself: gs_attempt()
 * makes it (same arrival time, deadline, class, key and tokens, no client
 * timer), gs_send() sends it. When a component downstream answers the
 * attempt, the answer comes back over the attempt's hops to `from` as a
 * GS_EV_REPLY event (ev->req the attempt, ev->arg the gs_outcome); the
 * caller then reads what it needs and frees the attempt with
 * gs_attempt_free(). retry = 1 counts the attempt as an extra one (a retry,
 * a hedge or a failover) in retries_per_request and load_amplification.
 * NULL when out of memory (the run then stops with GS_ENOMEM). */
gs_request *gs_attempt(gs_ctx *ctx, const gs_component *from, gs_request *parent, int retry);

/* The caller gives up on an attempt (a per-attempt timeout): whoever holds
 * it lets it finish, as real servers do, and its answer is thrown away. A
 * reply already on its way still arrives, with attempt->done set: the
 * caller then only frees it. A caller answers a request only after it has
 * abandoned (or had the replies of) all its attempts, since they point to
 * it. */
void gs_attempt_abandon(gs_ctx *ctx, gs_request *attempt);

/* A health-check probe from `from`: an attempt with no parent (parent ==
 * NULL, probe = 1), sent with gs_send(). A component that is up answers a
 * probe at once with GS_OUT_OK without queueing it; one that is down
 * refuses it like any request. Every component type must answer probes.
 * NULL when out of memory. */
gs_request *gs_probe(gs_ctx *ctx, const gs_component *from);

/* Free an attempt whose reply has been handled. */
void gs_attempt_free(gs_ctx *ctx, gs_request *attempt);

/* Money spent on r (an attempt's cost counts for the request it is part
 * of), for cost_per_1k_requests. */
void gs_charge(gs_ctx *ctx, const gs_request *r, double amount);

/* A component could not go on (out of memory): the replication stops with
 * this status. */
void gs_ctx_fail(gs_ctx *ctx, int status);

/* Per-replication result: metric values in report order. */
typedef struct gs_metric_value {
    const char *component;   /* "system" or a component id (lives with the scenario) */
    const char *name;
    double      value;
} gs_metric_value;

struct gs_metrics {
    gs_metric_value *v;
    size_t           n, cap;
    int              status;   /* GS_ENOMEM if an append failed */
    const char      *component;
};

void gs_metrics_release(gs_metrics *m);

/* Engine statistics of one replication, for benchmarks. */
typedef struct gs_run_info {
    uint64_t events;            /* events handled */
    uint64_t requests;          /* requests created */
    size_t   calendar_bytes;    /* bytes held by the calendar at the end */
} gs_run_info;

/* Told now and then (every 65536 events) during a run how far it has got:
 * the share of the simulated duration done, 1 while draining. */
typedef struct gs_tick {
    void (*fn)(void *arg, double fraction);
    void  *arg;
} gs_tick;

/* Run replication rep of sc and append its metrics to m (which the caller
 * initialises to zero and releases). info and tick may be NULL. GS_OK, or
 * GS_ENOMEM with a message. */
int gs_run_replication(const gs_scenario *sc, uint64_t rep, gs_metrics *m,
                       gs_run_info *info, const gs_tick *tick, gs_diag *d);

#endif
