/* A key-based cache in front of a slower path (SPEC §2 `cache`): a request
 * whose query key (workload `keys`) is held and fresh is a hit and is
 * answered `ok` after `hit_latency`; any other request (a miss, an expired
 * entry, or a request without a key) goes on to `next` as an attempt, and
 * an `ok` answer fills the cache with its key — the known query answers at
 * once, the unknown one goes to the deep model and becomes known. Errors
 * and other outcomes are passed back and never cached. A fallback's lookup
 * for a stale answer (r->peek) is answered from any entry, fresh or not,
 * and a miss is refused instead of sent on.
 *
 * Replacement is LRU over at most `capacity` entries; an entry inserted (or
 * refreshed) at t expires at t + ttl. All memory is taken in start(): an
 * array of entries threaded on an intrusive doubly-linked recency list by
 * index (head most recent), and an open-addressing hash table of entry
 * indices, a power of two at least twice the capacity (load <= 1/2), with
 * linear probing and backward-shift deletion (D. E. Knuth, TAOCP vol. 3,
 * §6.4, Algorithm R), so lookups, insertions and evictions are O(1)
 * expected and nothing is allocated per request.
 *
 * Invariants: entries 0 .. used-1 are live, each on the recency list once
 * and in the table once; every table slot between an entry's home slot and
 * its slot is occupied (what backward-shift deletion preserves). Per-request
 * state is none: the key travels in the request and its attempt. */
#include <math.h>
#include <string.h>

#include "sim/alloc.h"
#include "sim/dist.h"
#include "sim/engine.h"
#include "sim/error.h"
#include "sim/node.h"
#include "sim/units.h"

#define EV_HIT GS_EV_USER   /* ev->req the hit request, answered now */

#define NONE UINT32_MAX
/* 10^7 entries take about 400 MB per replication (entries and table). */
#define MAX_CAPACITY 10000000L

static const char *const keys[] = {"type", "capacity", "hit_latency", "ttl", "next", NULL};

typedef struct cache_conf {
    long     capacity;
    gs_dist  hit_latency;
    gs_time  ttl;        /* GS_TIME_MAX: never expires */
    uint32_t next;
    size_t   table_size; /* power of two >= 2 * capacity */
} cache_conf;

typedef struct cache_entry {
    uint64_t key;
    gs_time  expires;
    uint32_t prev, next;   /* recency list; NONE at the ends */
} cache_entry;

typedef struct cache_state {
    cache_entry *e;
    uint32_t    *table;    /* entry index, NONE when empty */
    size_t       mask;
    uint32_t     used, head, tail;
    int          measuring;
    uint64_t     keyed, hits, answered, evictions;
    uint64_t     peeks, stale_hits;   /* stale lookups by a fallback */
} cache_state;

static int configure(gs_comp_conf *cc, gs_build *b, gs_diag *d)
{
    cache_conf *kc = cc->conf;
    gs_doc *doc = gs_build_doc(b);
    gs_node *m = cc->node;
    int rc = gs_cfg_long(doc, m, "capacity", NULL, &kc->capacity, d);
    if (rc)
        return rc;
    if (kc->capacity < 1 || kc->capacity > MAX_CAPACITY)
        return gs_error_at(d, gs_map_get(m, "capacity"), "capacity: the number of cached "
                           "entries must be between 1 and %ld, got %s", MAX_CAPACITY,
                           gs_map_get(m, "capacity")->value);
    kc->table_size = 1;
    while (kc->table_size < 2 * (size_t)kc->capacity)
        kc->table_size <<= 1;
    gs_node *ttl;
    if ((rc = gs_cfg_node(doc, m, "ttl", "none", &ttl, d)))
        return rc;
    kc->ttl = GS_TIME_MAX;
    if (!(ttl->kind == GS_NODE_SCALAR && ttl->value && strcmp(ttl->value, "none") == 0)) {
        double s;
        if ((rc = gs_node_seconds(ttl, "ttl", &s, d)))
            return rc;
        kc->ttl = gs_time_from_s(s);
        if (kc->ttl <= 0)
            return gs_error_at(d, ttl, "ttl: must be at least 1ns (or 'none'), got %s",
                               ttl->value);
    }
    gs_node *next = gs_map_get(m, "next");
    if (!next)
        return gs_error_at(d, m, "cache '%s': missing required key 'next' (the slower path "
                           "that answers misses, e.g. next: llm)", cc->id);
    if ((rc = gs_build_ref(b, cc, next, "next", &kc->next, d)))
        return rc;
    gs_node *hl;
    if ((rc = gs_cfg_node(doc, m, "hit_latency", "0s", &hl, d)))
        return rc;
    return gs_dist_configure(&kc->hit_latency, doc, hl, GS_DIST_TIME, d);
}

static void conf_release(gs_comp_conf *cc)
{
    cache_conf *kc = cc->conf;
    gs_dist_release(&kc->hit_latency);
}

static int start(gs_component *c, gs_ctx *ctx)
{
    (void)ctx;
    const cache_conf *kc = c->conf;
    cache_state *st = c->state;
    st->e = gs_malloc((size_t)kc->capacity * sizeof *st->e);
    if (!st->e)
        return GS_ENOMEM;
    st->table = gs_malloc(kc->table_size * sizeof *st->table);
    if (!st->table)
        goto out_free_entries;
    memset(st->table, 0xff, kc->table_size * sizeof *st->table);   /* all NONE */
    st->mask = kc->table_size - 1;
    st->head = st->tail = NONE;
    return GS_OK;
out_free_entries:
    gs_free(st->e);
    st->e = NULL;
    return GS_ENOMEM;
}

static void release(gs_component *c)
{
    cache_state *st = c->state;
    gs_free(st->e);
    gs_free(st->table);
    st->e = NULL;
    st->table = NULL;
}

/* A 64-bit finaliser (the one of SplitMix64): keys 1..count are dense, and
 * without mixing they would fill consecutive slots into long runs. */
static size_t home(const cache_state *st, uint64_t key)
{
    key ^= key >> 30;
    key *= 0xbf58476d1ce4e5b9u;
    key ^= key >> 27;
    key *= 0x94d049bb133111ebu;
    key ^= key >> 31;
    return (size_t)key & st->mask;
}

/* The table slot of key, or of the empty slot where it would go. */
static size_t find(const cache_state *st, uint64_t key)
{
    size_t i = home(st, key);
    while (st->table[i] != NONE && st->e[st->table[i]].key != key)
        i = (i + 1) & st->mask;
    return i;
}

/* Empty slot i and move later members of its run back, so that no lookup
 * meets a hole before its key. */
static void table_remove(cache_state *st, size_t i)
{
    size_t j = i;
    for (;;) {
        j = (j + 1) & st->mask;
        uint32_t x = st->table[j];
        if (x == NONE)
            break;
        size_t k = home(st, st->e[x].key);
        /* x may fill hole i when its home k is not cyclically in (i, j]. */
        int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            st->table[i] = x;
            i = j;
        }
    }
    st->table[i] = NONE;
}

static void unlink_entry(cache_state *st, uint32_t x)
{
    cache_entry *e = &st->e[x];
    if (e->prev != NONE)
        st->e[e->prev].next = e->next;
    else
        st->head = e->next;
    if (e->next != NONE)
        st->e[e->next].prev = e->prev;
    else
        st->tail = e->prev;
}

static void push_front(cache_state *st, uint32_t x)
{
    cache_entry *e = &st->e[x];
    e->prev = NONE;
    e->next = st->head;
    if (st->head != NONE)
        st->e[st->head].prev = x;
    else
        st->tail = x;
    st->head = x;
}

/* The answer for key came back ok: hold it as the most recent entry,
 * fresh for ttl, evicting the least recently used one when full. */
static void insert(const cache_conf *kc, cache_state *st, uint64_t key, gs_time now)
{
    size_t i = find(st, key);
    uint32_t x = st->table[i];
    if (x != NONE) {
        unlink_entry(st, x);
    } else {
        if (st->used < (uint32_t)kc->capacity) {
            x = st->used++;
        } else {
            x = st->tail;
            unlink_entry(st, x);
            table_remove(st, find(st, st->e[x].key));
            if (st->measuring)
                st->evictions++;
            /* The removal may have moved entries into slot i's run. */
            i = find(st, key);
        }
        st->e[x].key = key;
        st->table[i] = x;
    }
    st->e[x].expires = gs_time_add(now, kc->ttl);
    push_front(st, x);
}

static void arrive(gs_component *c, gs_ctx *ctx, gs_request *r)
{
    const cache_conf *kc = c->conf;
    cache_state *st = c->state;
    if (r->probe) {
        /* The cache itself never fails, so it answers health checks. */
        gs_answer(ctx, c, r, GS_OUT_OK);
        return;
    }
    if (r->peek) {
        /* A fallback asks for a stale answer: an expired entry will do,
         * and a miss is not sent on, since the slower path is what failed.
         * Neither counts in hit_ratio (the normal path's) nor refreshes
         * recency. */
        uint32_t x = r->key != 0 ? st->table[find(st, r->key)] : NONE;
        if (st->measuring) {
            st->peeks++;
            st->stale_hits += x != NONE;
        }
        if (x == NONE) {
            gs_answer(ctx, c, r, GS_OUT_ERROR);
            return;
        }
        gs_time lat = gs_time_from_s(gs_dist_sample(&kc->hit_latency, c->rng));
        if (lat == 0)
            gs_answer(ctx, c, r, GS_OUT_OK);
        else
            gs_schedule(ctx, c, lat, EV_HIT, r, 0);
        return;
    }
    if (r->key != 0) {
        if (st->measuring)
            st->keyed++;
        uint32_t x = st->table[find(st, r->key)];
        if (x != NONE && ctx->now < st->e[x].expires) {
            if (st->measuring) {
                st->hits++;
                st->answered++;
            }
            unlink_entry(st, x);
            push_front(st, x);
            gs_time lat = gs_time_from_s(gs_dist_sample(&kc->hit_latency, c->rng));
            if (lat == 0)
                gs_answer(ctx, c, r, GS_OUT_OK);
            else
                gs_schedule(ctx, c, lat, EV_HIT, r, 0);
            return;
        }
    }
    gs_request *a = gs_attempt(ctx, c, r, 0);
    if (!a)
        return;   /* the run stops with GS_ENOMEM */
    gs_send(ctx, c, kc->next, a);
}

static void reply(gs_component *c, gs_ctx *ctx, gs_request *a, gs_outcome o)
{
    const cache_conf *kc = c->conf;
    cache_state *st = c->state;
    gs_request *parent = a->parent;
    int abandoned = a->done;
    uint64_t key = a->key;
    gs_attempt_free(ctx, a);
    if (abandoned)
        return;   /* the cache never abandons its attempts; kept safe */
    if (o == GS_OUT_OK && key != 0)
        insert(kc, st, key, ctx->now);
    if (st->measuring && gs_outcome_answered(o))
        st->answered++;
    gs_answer(ctx, c, parent, o);
}

static void handle(gs_component *c, gs_ctx *ctx, gs_event *ev)
{
    switch (ev->kind) {
    case GS_EV_REQUEST:
        arrive(c, ctx, ev->req);
        return;
    case GS_EV_REPLY:
        reply(c, ctx, ev->req, (gs_outcome)ev->arg);
        return;
    case EV_HIT:
        gs_answer(ctx, c, ev->req, GS_OUT_OK);
        return;
    default:
        return;
    }
}

static void window(gs_component *c, gs_ctx *ctx, int open)
{
    (void)ctx;
    cache_state *st = c->state;
    st->measuring = open;
}

static void report(const gs_component *c, const gs_ctx *ctx, gs_metrics *m)
{
    const cache_state *st = c->state;
    double window_s = gs_time_to_s(ctx->duration - ctx->warmup);
    gs_metric(m, "hit_ratio", st->keyed ? (double)st->hits / (double)st->keyed : NAN);
    gs_metric(m, "throughput", (double)st->answered / window_s);
    gs_metric(m, "evictions_per_s", (double)st->evictions / window_s);
    gs_metric(m, "stale_hit_ratio",
              st->peeks ? (double)st->stale_hits / (double)st->peeks : NAN);
}

static const char *const series[] = {"entries", NULL};

static void sample(const gs_component *c, const gs_ctx *ctx, double *out)
{
    (void)ctx;
    const cache_state *st = c->state;
    out[0] = (double)st->used;
}

const gs_component_type gs_cache_type = {
    .name = "cache",
    .keys = keys,
    .conf_size = sizeof(cache_conf),
    .state_size = sizeof(cache_state),
    .configure = configure,
    .conf_release = conf_release,
    .start = start,
    .handle = handle,
    .window = window,
    .report = report,
    .release = release,
    .series = series,
    .sample = sample,
};
