/* Multi-server FIFO queueing station (the G/G/c/K building block).
 *
 * Invariant per instance: busy <= servers, and a request waits only while
 * every server is busy (work-conserving FIFO). Time averages are kept for
 * the whole station (sums over instances), so utilisation is busy servers
 * over all servers. A request that finds its queue full is blocked and
 * answered with an error at once; with capacity 0 the station is a loss
 * system (Erlang B).
 *
 * The station does not look at the client's deadline: a request whose
 * client has gone still waits and is served, because real servers do not
 * notice that the caller left (SPEC §3).
 *
 * With failures configured (models/failure.h) the station keeps the
 * completion timer of every request in service, so that when it goes down
 * everything it holds, waiting or in service, fails at once with an error
 * and every server is free again; while it is down a new request fails
 * after network.connect_timeout. Requests failed that way are not counted
 * as arrivals or blocked (blocked_ratio is about full queues among the
 * requests that found the station up). Slowdowns multiply each service
 * time at its start. Without failures none of this costs anything. */
#include "station.h"

#include <math.h>
#include <string.h>

#include "sim/alloc.h"
#include "sim/engine.h"
#include "sim/error.h"
#include "sim/node.h"
#include "sim/units.h"

#define EV_DONE GS_EV_USER
#define EV_REFUSE (GS_EV_USER + 1)     /* connect_timeout ran out on ev->req */
#define EV_FAIL (GS_EV_USER + 2)       /* GS_FAILURE_KINDS kinds from here */

/* Bounds that keep a scenario within one machine (docs/scenarios.md). */
#define MAX_SERVERS 1000000L
#define MAX_INSTANCES 100000L

static const char *const balance_names[] = {"round_robin", "random", "shortest_queue", NULL};

int gs__station_configure(gs_station_conf *sc, gs_comp_conf *cc, gs_build *b,
                          int instances_allowed, gs_diag *d)
{
    gs_doc *doc = gs_build_doc(b);
    gs_node *m = cc->node;
    int rc = gs_cfg_long(doc, m, "servers", "1", &sc->servers, d);
    if (rc)
        return rc;
    if (sc->servers < 1 || sc->servers > MAX_SERVERS)
        return gs_error_at(d, gs_map_get(m, "servers"), "servers: must be between 1 and %ld, "
                           "got %ld", MAX_SERVERS, sc->servers);
    gs_node *cap;
    if ((rc = gs_cfg_node(doc, m, "capacity", "unlimited", &cap, d)))
        return rc;
    if (cap->kind == GS_NODE_SCALAR && cap->value && strcmp(cap->value, "unlimited") == 0) {
        sc->capacity = -1;
    } else {
        if ((rc = gs_node_long(cap, "capacity", &sc->capacity, d)))
            return gs_error_at(d, cap, "capacity: expected a number of places >= 0 or "
                               "'unlimited', got '%s'", cap->value ? cap->value : "");
        if (sc->capacity < 0)
            return gs_error_at(d, cap, "capacity: must be >= 0 (0 makes a loss system) or "
                               "'unlimited', got %ld", sc->capacity);
    }
    sc->instances = 1;
    sc->balance = GS_BALANCE_ROUND_ROBIN;
    if (instances_allowed) {
        if ((rc = gs_cfg_long(doc, m, "instances", "1", &sc->instances, d)))
            return rc;
        if (sc->instances < 1 || sc->instances > MAX_INSTANCES)
            return gs_error_at(d, gs_map_get(m, "instances"), "instances: must be between 1 "
                               "and %ld, got %ld", MAX_INSTANCES, sc->instances);
        const char *bal;
        if ((rc = gs_cfg_str(doc, m, "balance", "round_robin", &bal, d)))
            return rc;
        size_t i = 0;
        while (balance_names[i] && strcmp(balance_names[i], bal) != 0)
            i++;
        if (!balance_names[i]) {
            const char *hint = gs_suggest(bal, balance_names);
            return gs_error_at(d, gs_map_get(m, "balance"), "balance: unknown policy '%s'%s%s%s; "
                               "expected round_robin, random or shortest_queue", bal,
                               hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
        }
        sc->balance = (gs_balance)i;
    }
    gs_node *svc = gs_map_get(m, "service");
    if (!svc)
        return gs_error_at(d, m, "component '%s': missing required key 'service' (its service "
                           "time, e.g. service: {dist: exponential, mean: 2ms})", cc->id);
    if ((rc = gs_dist_configure(&sc->service, doc, svc, GS_DIST_TIME, d)))
        return rc;
    gs_node *next = gs_map_get(m, "next");
    if (next) {
        if ((rc = gs_build_ref(b, cc, next, "next", &sc->next, d)))
            return rc;
        sc->has_next = 1;
    }
    return gs_failure_configure(&sc->failure, doc, m, d);
}

void gs__station_conf_release(gs_comp_conf *cc)
{
    gs_station_conf *sc = cc->conf;
    gs_dist_release(&sc->service);
    gs_failure_conf_release(&sc->failure);
}

int gs__station_start(gs_component *c, gs_ctx *ctx)
{
    gs_station *st = c->state;
    const gs_station_conf *sc = c->conf;
    memset(st, 0, sizeof *st);
    st->ninst = (size_t)sc->instances;
    st->inst = gs_calloc(st->ninst, sizeof *st->inst);
    if (!st->inst)
        return GS_ENOMEM;
    gs_timeavg_init(&st->busy_avg, 0, 0);
    gs_timeavg_init(&st->queue_avg, 0, 0);
    gs_tally_init(&st->wait);
    gs_tally_init(&st->age);
    gs_tally_init(&st->response);
    if (gs_failure_configured(&sc->failure)) {
        st->fails = 1;
        return gs_failure_start(&st->fail, &sc->failure, c, ctx, EV_FAIL, c->cc->id);
    }
    return GS_OK;
}

void gs__station_release(gs_component *c)
{
    gs_station *st = c->state;
    gs_failure_release(&st->fail);
    gs__held_release(&st->svc);
    if (!st->inst)
        return;
    for (size_t i = 0; i < st->ninst; i++)
        gs_fifo_release(&st->inst[i].q);
    gs_free(st->inst);
    st->inst = NULL;
}

static void levels(gs_station *st, gs_time now)
{
    gs_timeavg_set(&st->busy_avg, now, (double)st->busy);
    gs_timeavg_set(&st->queue_avg, now, (double)st->waiting);
}

/* The completion event's arg carries the instance in its low 32 bits and,
 * when the station can fail, the service slot in the high 32 bits (servers
 * and instances are both far below 2^32). */
static void begin_service(gs_station *st, const gs_station_conf *sc, gs_component *c,
                          gs_ctx *ctx, gs_station_inst *in, gs_request *r, size_t idx)
{
    size_t slot = 0;
    double factor = 1;
    if (st->fails) {
        if (gs__held_take(&st->svc, &slot) != GS_OK) {
            gs_ctx_fail(ctx, GS_ENOMEM);
            return;
        }
        factor = gs_failure_factor(&st->fail, ctx->now);
    }
    in->busy++;
    st->busy++;
    r->slot = (uint32_t)idx;
    if (st->measuring) {
        gs_tally_add(&st->wait, gs_time_to_s(ctx->now - r->t_enter));
        /* How stale the work is when a server takes it: an attempt carries
         * its client's send time, so in a retry storm this shows servers
         * busy with requests whose clients have long given up. */
        gs_tally_add(&st->age, gs_time_to_s(ctx->now - r->t_arrival));
    }
    gs_time s = gs_time_from_s(gs_dist_sample(&sc->service, c->rng) * factor);
    gs_timer t = gs_schedule(ctx, c, s, EV_DONE, r, (uint64_t)slot << 32 | idx);
    if (st->fails)
        gs__held_set(&st->svc, slot, r, t);
}

static size_t choose(gs_station *st, const gs_station_conf *sc, gs_component *c)
{
    if (st->ninst == 1)
        return 0;
    switch (sc->balance) {
    case GS_BALANCE_RANDOM:
        return (size_t)gsl_rng_uniform_int(c->rng, st->ninst);
    case GS_BALANCE_SHORTEST_QUEUE: {
        /* Fewest present; ties go to the lowest index, deterministically. */
        size_t best = 0;
        long best_n = st->inst[0].busy + (long)st->inst[0].q.len;
        for (size_t i = 1; i < st->ninst; i++) {
            long n = st->inst[i].busy + (long)st->inst[i].q.len;
            if (n < best_n) {
                best = i;
                best_n = n;
            }
        }
        return best;
    }
    case GS_BALANCE_ROUND_ROBIN:
    default: {
        size_t i = st->rr;
        st->rr = (uint32_t)((i + 1) % st->ninst);
        return i;
    }
    }
}

/* A request sent to a station that is down fails once the connection
 * attempt times out. */
static void refuse(gs_component *c, gs_ctx *ctx, gs_request *r)
{
    if (ctx->connect_timeout == 0)
        gs_answer(ctx, c, r, GS_OUT_ERROR);
    else
        gs_schedule(ctx, c, ctx->connect_timeout, EV_REFUSE, r, 0);
}

static void arrive(gs_station *st, const gs_station_conf *sc, gs_component *c, gs_ctx *ctx,
                   gs_request *r)
{
    if (st->fails && gs_failure_down(&st->fail)) {
        refuse(c, ctx, r);
        return;
    }
    if (r->probe) {
        /* A health check sees the station up; it takes no server. */
        gs_answer(ctx, c, r, GS_OUT_OK);
        return;
    }
    if (sc->admit && !sc->admit(c, ctx, r))
        return;
    size_t idx = choose(st, sc, c);
    gs_station_inst *in = &st->inst[idx];
    r->t_enter = ctx->now;
    if (st->measuring)
        st->arrivals++;
    if (in->busy < sc->servers) {
        begin_service(st, sc, c, ctx, in, r, idx);
    } else if (sc->capacity < 0 || (long)in->q.len < sc->capacity) {
        if (gs_fifo_push(&in->q, r) != GS_OK) {
            gs_ctx_fail(ctx, GS_ENOMEM);
            return;
        }
        st->waiting++;
    } else {
        if (st->measuring)
            st->blocked++;
        gs_answer(ctx, c, r, GS_OUT_ERROR);
        return;
    }
    levels(st, ctx->now);
}

static void depart(gs_station *st, const gs_station_conf *sc, gs_component *c, gs_ctx *ctx,
                   gs_request *r, uint64_t arg)
{
    size_t idx = (size_t)(arg & 0xffffffffu);
    if (st->fails) {
        size_t slot = (size_t)(arg >> 32);
        gs__held_put(&st->svc, slot);
    }
    gs_station_inst *in = &st->inst[idx];
    in->busy--;
    st->busy--;
    if (st->measuring) {
        st->completed++;
        gs_tally_add(&st->response, gs_time_to_s(ctx->now - r->t_enter));
    }
    if (in->q.len) {
        gs_request *q = gs_fifo_pop(&in->q);
        st->waiting--;
        begin_service(st, sc, c, ctx, in, q, idx);
    }
    levels(st, ctx->now);
    uint32_t to;
    if (sc->route && sc->route(c, r, &to))
        gs_send(ctx, c, to, r);
    else if (sc->has_next)
        gs_send(ctx, c, sc->next, r);
    else
        gs_answer(ctx, c, r, GS_OUT_OK);
}

/* The station goes down: what is in service loses its completion, what
 * waits leaves the queue, and all of it fails now. Every slot and server is
 * free afterwards. The station's state is consistent before each answer,
 * although an answer only reaches the client and cannot call back here. */
static void go_down(gs_station *st, gs_component *c, gs_ctx *ctx)
{
    gs__held_fail_all(&st->svc, ctx, c);
    st->busy = 0;
    for (size_t k = 0; k < st->ninst; k++) {
        gs_station_inst *in = &st->inst[k];
        in->busy = 0;
        while (in->q.len) {
            gs_request *r = gs_fifo_pop(&in->q);
            st->waiting--;
            gs_answer(ctx, c, r, GS_OUT_ERROR);
        }
    }
    levels(st, ctx->now);
}

void gs__station_handle(gs_component *c, gs_ctx *ctx, gs_event *ev)
{
    gs_station *st = c->state;
    const gs_station_conf *sc = c->conf;
    if (ev->kind == GS_EV_REQUEST)
        arrive(st, sc, c, ctx, ev->req);
    else if (ev->kind == EV_DONE)
        depart(st, sc, c, ctx, ev->req, ev->arg);
    else if (ev->kind == EV_REFUSE)
        gs_answer(ctx, c, ev->req, GS_OUT_ERROR);
    else if (st->fails && gs_failure_owns(&st->fail, ev->kind) &&
             gs_failure_handle(&st->fail, c, ctx, ev) == GS_FAILURE_DOWN)
        go_down(st, c, ctx);
}

void gs__station_window(gs_component *c, gs_ctx *ctx, int open)
{
    gs_station *st = c->state;
    const gs_station_conf *sc = c->conf;
    if (st->fails)
        gs_failure_window(&st->fail, ctx->now, open);
    if (open) {
        st->measuring = 1;
        gs_timeavg_restart(&st->busy_avg, ctx->now);
        gs_timeavg_restart(&st->queue_avg, ctx->now);
        return;
    }
    st->measuring = 0;
    double servers = (double)(sc->servers * sc->instances);
    st->util = gs_timeavg_mean(&st->busy_avg, ctx->now) / servers;
    st->queue_mean = gs_timeavg_mean(&st->queue_avg, ctx->now);
    st->system_mean = gs_timeavg_mean(&st->busy_avg, ctx->now) + st->queue_mean;
}

void gs__station_report(const gs_component *c, const gs_ctx *ctx, gs_metrics *m)
{
    const gs_station *st = c->state;
    double window = gs_time_to_s(ctx->duration - ctx->warmup);
    gs_metric(m, "utilization", st->util);
    gs_metric(m, "wait_mean", gs_tally_mean(&st->wait));
    gs_metric(m, "response_mean", gs_tally_mean(&st->response));
    gs_metric(m, "queue_mean", st->queue_mean);
    gs_metric(m, "in_system_mean", st->system_mean);
    gs_metric(m, "throughput", (double)st->completed / window);
    gs_metric(m, "blocked_ratio", st->arrivals ? (double)st->blocked / (double)st->arrivals : NAN);
    gs_metric(m, "down_ratio", st->fails ? gs_failure_down_ratio(&st->fail) : 0.0);
    gs_metric(m, "age_at_service_mean", gs_tally_mean(&st->age));
}

const char *const gs__station_series[] = {"queue", "busy", "up", NULL};

void gs__station_sample(const gs_component *c, const gs_ctx *ctx, double *out)
{
    (void)ctx;
    const gs_station *st = c->state;
    out[0] = (double)st->waiting;
    out[1] = (double)st->busy;
    out[2] = st->fails && gs_failure_down(&st->fail) ? 0 : 1;
}
