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
 * it: abandoning clears attempt->parent. */
void gs_attempt_abandon(gs_ctx *ctx, gs_request *attempt);

/* A health-check probe from `from`: an attempt with no parent (parent ==
 * NULL, probe = 1), sent with gs_send(). A component that is up answers a
 * probe at once with GS_OUT_OK without queueing it; one that is down
 * refuses it like any request. Every component type must answer probes.
 * NULL when out of memory. */
gs_request *gs_probe(gs_ctx *ctx, const gs_component *from);

/* A copy of request orig that `from` sends again later on its own (a
 * dead-letter replay): an attempt with no parent and no client, arriving
 * now, with orig's class, key and tokens. Its reply comes back to `from` as
 * a GS_EV_REPLY like any attempt's (ev->req->parent == NULL, probe 0); it
 * counts in no client statistic. NULL when out of memory. */
gs_request *gs_replay(gs_ctx *ctx, const gs_component *from, const gs_request *orig);

/* The run goes on after the observation window, until every counted request
 * has its outcome and the holds taken here (delta +1) are given back (delta
 * -1): for work a component still owes the statistics, such as replays of
 * counted requests. */
void gs_hold(gs_ctx *ctx, int delta);

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
    size_t   peak_in_flight;    /* most requests (and attempts) alive at once */
} gs_run_info;

/* What one request in flight costs a replication, measured (the request
 * object, its share of the calendar and of a component's queue; tests/
 * test_limits.c checks it): for messages and docs/scenarios.md. */
#define GS_BYTES_PER_REQUEST 250

/* Told now and then (every 65536 events) during a run how far it has got:
 * the share of the simulated duration done, 1 while draining. */
typedef struct gs_tick {
    void (*fn)(void *arg, double fraction);
    void  *arg;
} gs_tick;

/* What a traced run records besides its metrics (results.h5): the
 * histogram of the latencies of answered counted requests (GS_HIST_BUCKETS
 * counts, sim/stats.h buckets, nanoseconds), and a time series with one row
 * per sample_interval over [0, duration): row k covers [k dt, (k+1) dt),
 * gs_trace_ncols() values each, columns named by gs_trace_column(); rates
 * and shares are over the interval, states (queue, up) are those at its
 * end. The
 * caller allocates hist and series (nsamples * ncols doubles). */
typedef struct gs_trace {
    uint64_t *hist;
    size_t    nsamples, ncols;
    double   *series;
} gs_trace;

/* floor(duration / sample_interval), and the number of columns: the
 * system's (throughput, offered_rate, latency_p50, latency_p99,
 * availability: of the requests that arrived or ended in the interval;
 * load_amplification: attempts sent in the interval, first sends and
 * retries, hedges and failovers, per client request that arrived in it;
 * goodput: answers that reached their client by its deadline in the
 * interval, per second) then each component's own (e.g. queue, busy, up). */
size_t gs_trace_samples(const gs_scenario *sc);
size_t gs_trace_ncols(const gs_scenario *sc);
/* Column col's component ("system" or an id) and name; GS_EINVAL past the
 * end. */
int gs_trace_column(const gs_scenario *sc, size_t col, const char **component,
                    const char **name);

/* Run replication rep of sc and append its metrics to m (which the caller
 * initialises to zero and releases). info and tick may be NULL. GS_OK, or
 * GS_ENOMEM with a message. When a component of sc has scheduled `outages`
 * or `slowdowns`, the system metrics end with recovery_time (seconds, the
 * mean over the faults assessed; NaN when one did not recover or none
 * could be assessed) and recovery_failed_ratio (share of the assessed
 * faults that did not recover; NaN when none), as docs/results.md defines
 * them, traced or not. */
int gs_run_replication(const gs_scenario *sc, uint64_t rep, gs_metrics *m,
                       gs_run_info *info, const gs_tick *tick, gs_diag *d);
/* The same, also filling trace (NULL: none). With `warmup: auto` the first
 * run of sc chooses the warm-up (gs_warmup_resolve(), sim/warmup.h). */
int gs_run_replication_traced(const gs_scenario *sc, uint64_t rep, gs_metrics *m,
                              gs_trace *trace, gs_run_info *info, const gs_tick *tick,
                              gs_diag *d);

/* What a pilot run for `warmup: auto` records (sim/warmup.c): for each bin
 * of arrival times [k bin, (k+1) bin), k < nbins, the sum of the latencies
 * (seconds, to the answer's arrival at the client) of the requests arriving
 * in it that were answered, and their count. The caller allocates and zeroes
 * sum and count. */
typedef struct gs_pilot {
    gs_time   bin;
    size_t    nbins;
    double   *sum;
    uint64_t *count;
} gs_pilot;

/* Run replication rep of sc (whose warm-up must still be 0) recording p;
 * its metrics are thrown away. GS_OK or a replication's error. */
int gs__run_pilot(const gs_scenario *sc, uint64_t rep, gs_pilot *p, gs_diag *d);

/* What a replication of sc would refuse before it starts (the limits of
 * docs/scenarios.md that depend on more than one key), so that a run can
 * refuse it before allocating anything. GS_OK, GS_EINVAL or GS_ENOMEM. */
int gs_run_check(const gs_scenario *sc, gs_diag *d);

/* A GPU pool produced the first (last = 0) or the last (last = 1) output
 * token of r now: the time is recorded on the request its client sent,
 * found through the attempts' parents, for the system's ttft_* and tpot_*.
 * A later mark replaces an earlier one (a retry's tokens are the ones the
 * client gets). An abandoned attempt, a probe or a replay (no parent) marks
 * nothing. */
void gs_mark_token(gs_ctx *ctx, gs_request *r, int last);

#endif
