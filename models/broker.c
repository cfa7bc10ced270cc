/* A message broker topic of the event-driven pipeline (SPEC §2 `broker`):
 * requests are published to one of `partitions` partitions (by a hash of
 * the request's key, round robin for requests without one) and every
 * consumer group named in `groups` (each a `workers` component) gets its
 * own copy, as Kafka consumer groups each read the whole topic.
 *
 * Components never call each other, so a copy is an attempt (a child of the
 * request, sim/engine.h) sent to the group at once; the group queues it
 * until a worker is free (that queue is the group's lag, models/workers.c),
 * processes it and sends it on along its `next` chain. When the chain
 * answers the copy, the reply that comes back here is the group's
 * acknowledgement. The request is answered when every group has
 * acknowledged its copy: with the first outcome that is not an answer, if
 * any, else with the first group's outcome.
 *
 * Invariant: held[p] is the number of messages of partition p published and
 * not yet acknowledged by every group; `retention` bounds it, and a message
 * that would exceed it is refused (outcome error, counted in blocked_ratio).
 * A held message's record (its partition and the copies still out) lives in
 * a slab indexed by the request's component-private `slot`, which nothing
 * else touches while the broker holds the request. */
#include <math.h>
#include <string.h>

#include "sim/alloc.h"
#include "sim/component.h"
#include "sim/engine.h"
#include "sim/error.h"
#include "sim/node.h"
#include "sim/stats.h"
#include "sim/units.h"

/* Bounds that keep a scenario within one machine (docs/scenarios.md). */
#define MAX_PARTITIONS 65536L
#define MAX_GROUPS 64u
#define NONE UINT32_MAX            /* end of the free list of records */

extern const gs_component_type gs_workers_type;

static const char *const keys[] = {"type", "partitions", "retention", "groups", NULL};

typedef struct broker_conf {
    uint32_t partitions;
    long     retention;          /* messages held per partition; -1 = unlimited */
    uint32_t ngroups;
    uint32_t groups[MAX_GROUPS];
} broker_conf;

typedef struct held_msg {
    uint32_t part;
    uint32_t left;               /* copies not yet acknowledged */
    uint32_t next_free;
    int      outcome;            /* -1 until the first acknowledgement */
} held_msg;

typedef struct broker {
    long      *held;             /* per partition */
    long       total;
    uint32_t   rr;
    held_msg  *msg;
    uint32_t   nmsg, free_head;  /* free_head == NONE: none free */
    int        measuring;
    gs_timeavg lag_avg;
    gs_tally   wait;
    uint64_t   arrivals, blocked, completed;
    double     lag_mean;
} broker;

static int read_group(broker_conf *bc, gs_comp_conf *cc, gs_build *b, gs_node *n, gs_diag *d)
{
    if (bc->ngroups == MAX_GROUPS)
        return gs_error_at(d, n, "groups: at most %u consumer groups", MAX_GROUPS);
    uint32_t g;
    int rc = gs_build_ref(b, cc, n, "groups", &g, d);
    if (rc)
        return rc;
    const gs_component_type *t = gs_build_type(b, g);
    if (t != &gs_workers_type)
        return gs_error_at(d, n, "groups: '%s' is a %s; a broker delivers to consumer groups of "
                           "type workers", n->value, t->name);
    for (uint32_t i = 0; i < bc->ngroups; i++)
        if (bc->groups[i] == g)
            return gs_error_at(d, n, "groups: '%s' is named twice", n->value);
    bc->groups[bc->ngroups++] = g;
    return GS_OK;
}

static int configure(gs_comp_conf *cc, gs_build *b, gs_diag *d)
{
    broker_conf *bc = cc->conf;
    gs_doc *doc = gs_build_doc(b);
    gs_node *m = cc->node;
    int rc = gs_cfg_u32_range(doc, m, "partitions", "1", 1, MAX_PARTITIONS, &bc->partitions, d);
    if (rc)
        return rc;
    gs_node *ret;
    if ((rc = gs_cfg_node(doc, m, "retention", "unlimited", &ret, d)))
        return rc;
    if (ret->kind == GS_NODE_SCALAR && ret->value && strcmp(ret->value, "unlimited") == 0) {
        bc->retention = -1;
    } else if (gs_node_long(ret, "retention", &bc->retention, d) != GS_OK ||
               bc->retention < 1) {
        return gs_error_at(d, ret, "retention: expected a number of messages per partition "
                           ">= 1 or 'unlimited', got '%s'", ret->value ? ret->value : "");
    }
    gs_node *g = gs_map_get(m, "groups");
    if (!g)
        return gs_error_at(d, m, "component '%s': missing required key 'groups' (the workers "
                           "components that consume the topic, e.g. groups: [preprocess])",
                           cc->id);
    if (g->kind == GS_NODE_SEQ) {
        if (g->len == 0)
            return gs_error_at(d, g, "groups: expected at least one consumer group");
        for (size_t i = 0; i < g->len; i++)
            if ((rc = read_group(bc, cc, b, g->items[i], d)))
                return rc;
        return GS_OK;
    }
    return read_group(bc, cc, b, g, d);
}

static int start(gs_component *c, gs_ctx *ctx)
{
    (void)ctx;
    broker *k = c->state;
    const broker_conf *bc = c->conf;
    memset(k, 0, sizeof *k);
    k->held = gs_calloc(bc->partitions, sizeof *k->held);
    if (!k->held)
        return GS_ENOMEM;
    k->free_head = NONE;
    gs_timeavg_init(&k->lag_avg, 0, 0);
    gs_tally_init(&k->wait);
    return GS_OK;
}

static void release(gs_component *c)
{
    broker *k = c->state;
    gs_free(k->held);
    gs_free(k->msg);
    k->held = NULL;
    k->msg = NULL;
}

/* A record from the slab, which doubles when full. NONE when out of
 * memory. */
static uint32_t take_record(broker *k)
{
    if (k->free_head != NONE) {
        uint32_t i = k->free_head;
        k->free_head = k->msg[i].next_free;
        return i;
    }
    uint32_t n = k->nmsg ? 2 * k->nmsg : 64;
    held_msg *msg = gs_realloc(k->msg, n * sizeof *msg);
    if (!msg)
        return NONE;
    k->msg = msg;
    /* The new records, except the one handed out, join the free list in
     * order, so that records are reused lowest first. */
    for (uint32_t i = k->nmsg + 1; i < n; i++)
        msg[i].next_free = i + 1 < n ? i + 1 : NONE;
    uint32_t got = k->nmsg;
    k->free_head = got + 1 < n ? got + 1 : NONE;
    k->nmsg = n;
    return got;
}

static void put_record(broker *k, uint32_t i)
{
    k->msg[i].next_free = k->free_head;
    k->free_head = i;
}

/* The finaliser of SplitMix64 (Steele, Lea and Flood 2014): neighbouring
 * keys land in unrelated partitions, as a real partitioner's hash does. */
static uint32_t partition_of(uint64_t key, uint32_t n)
{
    key ^= key >> 30;
    key *= 0xbf58476d1ce4e5b9ULL;
    key ^= key >> 27;
    key *= 0x94d049bb133111ebULL;
    key ^= key >> 31;
    return (uint32_t)(key % n);
}

static void publish(broker *k, const broker_conf *bc, gs_component *c, gs_ctx *ctx,
                    gs_request *r)
{
    if (r->probe) {
        gs_answer(ctx, c, r, GS_OUT_OK);
        return;
    }
    uint32_t p;
    if (r->key) {
        p = partition_of(r->key, bc->partitions);
    } else {
        p = k->rr;
        k->rr = (k->rr + 1) % bc->partitions;
    }
    if (k->measuring)
        k->arrivals++;
    if (bc->retention >= 0 && k->held[p] >= bc->retention) {
        if (k->measuring)
            k->blocked++;
        gs_answer(ctx, c, r, GS_OUT_ERROR);
        return;
    }
    uint32_t i = take_record(k);
    if (i == NONE) {
        gs_ctx_fail(ctx, GS_ENOMEM);
        return;
    }
    k->msg[i].part = p;
    k->msg[i].left = bc->ngroups;
    k->msg[i].outcome = -1;
    r->slot = i;
    r->t_enter = ctx->now;
    k->held[p]++;
    k->total++;
    gs_timeavg_set(&k->lag_avg, ctx->now, (double)k->total);
    for (uint32_t g = 0; g < bc->ngroups; g++) {
        gs_request *a = gs_attempt(ctx, c, r, 0);
        if (!a) {
            gs_ctx_fail(ctx, GS_ENOMEM);
            return;
        }
        gs_send(ctx, c, bc->groups[g], a);
    }
}

static void acknowledge(broker *k, gs_component *c, gs_ctx *ctx, gs_request *a, gs_outcome o)
{
    gs_request *r = a->parent;
    gs_attempt_free(ctx, a);
    held_msg *h = &k->msg[r->slot];
    if (h->outcome < 0 || (gs_outcome_answered((gs_outcome)h->outcome) &&
                           !gs_outcome_answered(o)))
        h->outcome = (int)o;
    if (--h->left)
        return;
    gs_outcome out = (gs_outcome)h->outcome;
    k->held[h->part]--;
    k->total--;
    put_record(k, r->slot);
    gs_timeavg_set(&k->lag_avg, ctx->now, (double)k->total);
    if (k->measuring) {
        k->completed++;
        gs_tally_add(&k->wait, gs_time_to_s(ctx->now - r->t_enter));
    }
    gs_answer(ctx, c, r, out);
}

static void handle(gs_component *c, gs_ctx *ctx, gs_event *ev)
{
    broker *k = c->state;
    const broker_conf *bc = c->conf;
    if (ev->kind == GS_EV_REQUEST)
        publish(k, bc, c, ctx, ev->req);
    else if (ev->kind == GS_EV_REPLY)
        acknowledge(k, c, ctx, ev->req, (gs_outcome)ev->arg);
}

static void window(gs_component *c, gs_ctx *ctx, int open)
{
    broker *k = c->state;
    if (open) {
        k->measuring = 1;
        gs_timeavg_restart(&k->lag_avg, ctx->now);
        return;
    }
    k->measuring = 0;
    k->lag_mean = gs_timeavg_mean(&k->lag_avg, ctx->now);
}

static void report(const gs_component *c, const gs_ctx *ctx, gs_metrics *m)
{
    const broker *k = c->state;
    double span = gs_time_to_s(ctx->duration - ctx->warmup);
    gs_metric(m, "lag_mean", k->lag_mean);
    gs_metric(m, "wait_mean", gs_tally_mean(&k->wait));
    gs_metric(m, "throughput", (double)k->completed / span);
    gs_metric(m, "blocked_ratio", k->arrivals ? (double)k->blocked / (double)k->arrivals : NAN);
}

/* "held", not "lag": the groups sample their lag (messages waiting), and
 * the plots draw every "lag" curve as messages waiting. */
static const char *const series[] = {"held", NULL};

static void sample(const gs_component *c, const gs_ctx *ctx, double *out)
{
    (void)ctx;
    const broker *k = c->state;
    out[0] = (double)k->total;
}

const gs_component_type gs_broker_type = {
    .name = "broker",
    .keys = keys,
    .conf_size = sizeof(broker_conf),
    .state_size = sizeof(broker),
    .configure = configure,
    .start = start,
    .handle = handle,
    .window = window,
    .report = report,
    .release = release,
    .series = series,
    .sample = sample,
};
