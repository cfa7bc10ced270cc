/* Resilience middleware in front of a primary (SPEC §2 `fallback`, the
 * order of SPEC §2's semantics): each attempt is bounded by `timeout`; a
 * failed primary attempt is retried up to `retry.max` times after an
 * exponential backoff with jitter, within a retry budget (models/retry.h);
 * then each of the `alternates` is tried once, in order; then a stale
 * answer (`cache {hit_ratio}`, or a `cache` component asked for the key
 * without going on to its slower path); then the `degraded` default answer;
 * else the request fails with the last attempt's outcome, and goes to the
 * dead-letter queue if there is one, to be replayed once after
 * `replay_after` (replays are counted apart from the client's figures). A
 * `circuit_breaker` (models/breaker.h) in front of the primary skips it
 * while open; a `bulkhead` bounds the primary attempts in flight, callers
 * queueing for a permit at most `max_wait`. A request that never reached a
 * target (breaker open or bulkhead full) and found nothing to fall back on
 * is `rejected`.
 *
 * Hedging (`hedge {after, max}`, Dean and Barroso, "The Tail at Scale",
 * CACM 2013): while an attempt of the chain above is in flight and has no
 * answer after `after`, a duplicate goes to the next target (the primary's
 * next is alternates[0], ..., the last one's next is itself), again every
 * `after` up to `max` duplicates per attempt. The first answer wins and the
 * others are abandoned; a failure waits for the attempts still in flight,
 * and the chain goes on (retry, next alternate) only when all have failed.
 *
 * Order of the decorators, as Resilience4j recommends: retry around the
 * breaker around the bulkhead around the timed call. A call the bulkhead
 * turns away is not judged by the breaker (the target never saw it), and
 * gives back its half-open trial permit.
 *
 * The fallback does no work of its own: it is the client library or sidecar
 * of its caller. Each forward is an attempt (sim/engine.h) and its reply
 * comes back here. Per-request state is a call record from a growable array
 * with a free list, its index kept in the request's `slot` while the
 * fallback holds the request, so the steady state allocates nothing.
 * Invariants: a call has at most one attempt of its chain in flight (att)
 * and at most one timer for it (timer: the attempt's timeout, a backoff, a
 * bulkhead wait or a local answer's latency); the hedge timer runs only
 * while att is in flight, and hedges (hin of them, each with its own
 * timeout) only until att's step has an answer or has wholly failed; `held`
 * bulkhead permits are exactly the chain's primary attempts in flight; a
 * request is answered only after all its attempts are abandoned or
 * replied, so no attempt outlives its parent's pointer.
 *
 * docs/scenarios.md (the `fallback` table) gives the keys, defaults and the
 * choices made where SPEC §2 is silent. */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "models/breaker.h"
#include "models/retry.h"
#include "sim/alloc.h"
#include "sim/dist.h"
#include "sim/engine.h"
#include "sim/error.h"
#include "sim/node.h"
#include "sim/units.h"

enum {
    EV_TIMEOUT = GS_EV_USER,   /* the attempt in flight took too long; arg the call */
    EV_BACKOFF,                /* retry the primary now; arg the call */
    EV_WAIT_OVER,              /* gave up waiting for a bulkhead permit; arg the call */
    EV_LOCAL,                  /* a stale or degraded answer is ready; arg the call */
    EV_REPLAY,                 /* send a dead letter again; req the copy */
    EV_HEDGE,                  /* no answer yet: send a duplicate; arg the call */
    EV_HEDGE_TIMEOUT           /* a hedge took too long; arg the call | slot << 32 */
};

#define NONE UINT32_MAX
#define NO_OUTCOME GS_OUT_COUNT
/* Bounds that keep a scenario within reason (docs/scenarios.md). */
#define MAX_RETRIES 1000L
#define MAX_ALTERNATES 1000
#define MAX_WINDOW 1000000L
#define MAX_CONCURRENT 100000000L
#define MAX_HEDGES 16L
#define BUDGET_WINDOW_S 10.0    /* Finagle's default retry-budget window */
#define BUDGET_BUCKETS 100u

static const char *const keys[] = {"type", "primary", "timeout", "retry", "circuit_breaker",
                                   "bulkhead", "hedge", "alternates", "cache", "degraded",
                                   "dead_letter", NULL};
static const char *const retry_keys[] = {"max", "backoff", "jitter", "budget", NULL};
static const char *const backoff_keys[] = {"base", "factor", "max", NULL};
static const char *const breaker_keys[] = {"window", "min_calls", "failure_ratio", "slow_call",
                                           "open_for", "half_open_calls", NULL};
static const char *const bulkhead_keys[] = {"max_concurrent", "max_wait", NULL};
static const char *const cache_keys[] = {"hit_ratio", "latency", NULL};
static const char *const degraded_keys[] = {"latency", NULL};
static const char *const dlq_keys[] = {"replay_after", NULL};
static const char *const hedge_keys[] = {"after", "max", NULL};
static const char *const jitter_names[] = {"none", "full", "equal", NULL};

typedef enum fb_cache_kind { CACHE_NONE, CACHE_RATIO, CACHE_COMPONENT } fb_cache_kind;

typedef struct fb_conf {
    uint32_t        primary;
    gs_time         timeout;        /* GS_TIME_MAX: none */
    uint32_t        retry_max;
    gs_backoff      backoff;
    int             has_budget;
    double          budget;
    int             has_breaker;
    gs_breaker_conf breaker;
    int             has_bulkhead;
    uint32_t        max_concurrent;
    gs_time         max_wait;
    int             has_hedge;
    gs_time         hedge_after;
    uint32_t        hedge_max;
    uint32_t        nalt;
    uint32_t       *alt;
    fb_cache_kind   cache;
    double          hit_ratio;
    gs_dist         cache_latency;
    uint32_t        cache_id;
    int             has_degraded;
    gs_dist         degraded_latency;
    int             has_dlq;
    gs_time         replay_after;
} fb_conf;

/* Stages of a call, in order: the primary, alternates 1 .. nalt, then the
 * stale cache, the degraded answer, and failure. */
#define STAGE_PRIMARY 0u

typedef struct fb_call {
    gs_request *req;
    gs_request *att;        /* attempt in flight, or NULL */
    gs_timer    timer;
    gs_time     sent;       /* when att was sent */
    int64_t     permit;     /* breaker permit of the primary attempt in flight; -1 none */
    uint32_t    stage;
    uint32_t    tries;      /* primary attempts sent */
    uint32_t    link;       /* free list, or next in the bulkhead queue */
    uint32_t    prev;       /* previous in the bulkhead queue */
    uint8_t     last;       /* outcome of the last attempt; NO_OUTCOME before any */
    uint8_t     held;       /* holds a bulkhead permit */
    uint8_t     local;      /* EV_LOCAL answers with this outcome */
    uint8_t     hin;        /* hedges in flight */
    uint8_t     hsent;      /* hedges sent for att */
    gs_timer    htimer;     /* the next hedge (EV_HEDGE) */
} fb_call;

/* A hedge in flight: call i's slots are hedges[i * hedge_max ...]. */
typedef struct fb_hedge {
    gs_request *att;        /* NULL: free */
    gs_timer    timer;      /* its timeout */
    uint32_t    stage;      /* its target: 0 the primary, s alternates[s - 1] */
} fb_hedge;

typedef struct fb_state {
    fb_call        *calls;
    fb_hedge       *hedges;            /* ncalls * hedge_max slots */
    uint32_t        ncalls, free;      /* array size; head of the free list */
    uint32_t        live;              /* calls in use */
    gs_breaker      breaker;
    gs_retry_budget budget;
    uint32_t        in_use;            /* bulkhead permits taken */
    uint32_t        wait_head, wait_tail;
    /* Counted requests (those of the system statistics) by what happened. */
    uint64_t        requests, outcome[GS_OUT_COUNT];
    uint64_t        retries, failovers, hedges_sent, attempts, attempt_timeouts;
    uint64_t        bulkhead_refused, breaker_refused, abandoned;
    uint64_t        dead_letters, replays_done, replays_ok;
    uint64_t        answered_in_window;
} fb_state;

/* ---- configuration ---- */

/* A time key that may be 'none' (GS_TIME_MAX). */
static int read_time_or_none(gs_doc *doc, gs_node *m, const char *key, const char *dflt,
                             gs_time min, gs_time *out, gs_diag *d)
{
    gs_node *n;
    int rc = gs_cfg_node(doc, m, key, dflt, &n, d);
    if (rc)
        return rc;
    if (n->kind == GS_NODE_SCALAR && n->value && strcmp(n->value, "none") == 0) {
        *out = GS_TIME_MAX;
        return GS_OK;
    }
    double s;
    if ((rc = gs_node_seconds(n, key, &s, d)))
        return rc;
    *out = gs_time_from_s(s);
    if (*out < min)
        return gs_error_at(d, n, "%s: must be at least %s (or 'none'), got %s", key,
                           min ? "1ns" : "0s", n->value);
    return GS_OK;
}

static int read_time(gs_doc *doc, gs_node *m, const char *key, const char *dflt, gs_time min,
                     gs_time *out, gs_diag *d)
{
    double s;
    int rc = gs_cfg_seconds(doc, m, key, dflt, &s, d);
    if (rc)
        return rc;
    *out = gs_time_from_s(s);
    if (*out < min)
        return gs_error_at(d, gs_map_get(m, key), "%s: must be at least %s, got %s", key,
                           min ? "1ns" : "0s", gs_map_get(m, key)->value);
    return GS_OK;
}

static int read_ratio(gs_doc *doc, gs_node *m, const char *key, const char *dflt, int zero_ok,
                      double *out, gs_diag *d)
{
    int rc = gs_cfg_double(doc, m, key, dflt, out, d);
    if (rc)
        return rc;
    if (!(zero_ok ? *out >= 0 : *out > 0) || !(*out <= 1))
        return gs_error_at(d, gs_map_get(m, key), "%s: a ratio must be %s and <= 1, got %s",
                           key, zero_ok ? ">= 0" : "> 0", gs_map_get(m, key)->value);
    return GS_OK;
}

/* A sub-mapping (NULL when absent), its keys checked. */
static int section(gs_node *m, const char *key, const char *const *allowed, gs_node **out,
                   gs_diag *d)
{
    *out = gs_map_get(m, key);
    if (!*out)
        return GS_OK;
    if ((*out)->kind != GS_NODE_MAP)
        return gs_error_at(d, *out, "%s: expected a mapping (e.g. %s: {%s: ...}), found %s",
                           key, key, allowed[0], gs_node_kind_name((*out)->kind));
    return gs_map_check_keys(*out, allowed, key, d);
}

static int read_retry(fb_conf *fc, gs_doc *doc, gs_node *m, gs_diag *d)
{
    gs_node *r, *b;
    int rc = section(m, "retry", retry_keys, &r, d);
    fc->backoff = (gs_backoff){0, 1, GS_TIME_MAX, GS_JITTER_NONE};
    if (rc || !r)
        return rc;
    if ((rc = gs_cfg_u32_range(doc, r, "max", "3", 0, MAX_RETRIES, &fc->retry_max, d)))
        return rc;
    if ((rc = section(r, "backoff", backoff_keys, &b, d)))
        return rc;
    if (!b) {
        if (!(b = gs_node_new_map(doc, r)) || !gs_map_set(doc, r, "backoff", b))
            return gs_error(d, GS_ENOMEM, "out of memory");
    }
    if ((rc = read_time(doc, b, "base", "100ms", 0, &fc->backoff.base, d)) ||
        (rc = gs_cfg_double(doc, b, "factor", "2", &fc->backoff.factor, d)))
        return rc;
    if (!(fc->backoff.factor >= 1 && fc->backoff.factor <= 1e6))
        return gs_error_at(d, gs_map_get(b, "factor"), "factor: the backoff grows by a factor "
                           "between 1 and 1e6 per retry, got %s", gs_map_get(b, "factor")->value);
    if ((rc = read_time_or_none(doc, b, "max", "10s", 0, &fc->backoff.max, d)))
        return rc;
    if (fc->backoff.max < fc->backoff.base)
        return gs_error_at(d, gs_map_get(b, "max"), "max: the longest backoff must be at least "
                           "base (%gs), got %s", gs_time_to_s(fc->backoff.base),
                           gs_map_get(b, "max")->value);
    const char *jitter;
    if ((rc = gs_cfg_str(doc, r, "jitter", "none", &jitter, d)))
        return rc;
    size_t j = 0;
    while (jitter_names[j] && strcmp(jitter_names[j], jitter) != 0)
        j++;
    if (!jitter_names[j]) {
        const char *hint = gs_suggest(jitter, jitter_names);
        return gs_error_at(d, gs_map_get(r, "jitter"), "jitter: unknown jitter '%s'%s%s%s; "
                           "expected none, full or equal", jitter, hint ? " (did you mean '" : "",
                           hint ? hint : "", hint ? "'?)" : "");
    }
    fc->backoff.jitter = (gs_jitter)j;
    gs_node *budget = gs_map_get(r, "budget");
    if (budget && !(budget->kind == GS_NODE_SCALAR && budget->value &&
                    strcmp(budget->value, "none") == 0)) {
        if ((rc = gs_node_double(budget, "budget", &fc->budget, d)))
            return rc;
        if (!(fc->budget >= 0 && fc->budget <= 1000))
            return gs_error_at(d, budget, "budget: retries as a share of first calls must be "
                               "between 0 and 1000 (e.g. 0.2 for 20 %%), got %s", budget->value);
        fc->has_budget = 1;
    }
    return GS_OK;
}

static int read_breaker(fb_conf *fc, gs_doc *doc, gs_node *m, gs_diag *d)
{
    gs_node *b;
    int rc = section(m, "circuit_breaker", breaker_keys, &b, d);
    if (rc || !b)
        return rc;
    gs_breaker_conf *bc = &fc->breaker;
    if ((rc = gs_cfg_u32_range(doc, b, "window", "100", 1, MAX_WINDOW, &bc->window, d)))
        return rc;
    char dflt[32];
    snprintf(dflt, sizeof dflt, "%u", bc->window);
    if ((rc = gs_cfg_u32_range(doc, b, "min_calls", dflt, 1, MAX_WINDOW, &bc->min_calls, d)))
        return rc;
    if (bc->min_calls > bc->window)
        return gs_error_at(d, gs_map_get(b, "min_calls"), "min_calls: %u calls can never be "
                           "judged in a window of %u; make min_calls <= window", bc->min_calls,
                           bc->window);
    if ((rc = read_ratio(doc, b, "failure_ratio", "0.5", 0, &bc->failure_ratio, d)) ||
        (rc = read_time_or_none(doc, b, "slow_call", "none", 1, &bc->slow_call, d)) ||
        (rc = read_time(doc, b, "open_for", "60s", 1, &bc->open_for, d)) ||
        (rc = gs_cfg_u32_range(doc, b, "half_open_calls", "10", 1, MAX_WINDOW,
                                &bc->half_open_calls, d)))
        return rc;
    fc->has_breaker = 1;
    return GS_OK;
}

static int read_bulkhead(fb_conf *fc, gs_doc *doc, gs_node *m, gs_diag *d)
{
    gs_node *b;
    int rc = section(m, "bulkhead", bulkhead_keys, &b, d);
    if (rc || !b)
        return rc;
    if ((rc = gs_cfg_u32_range(doc, b, "max_concurrent", NULL, 1, MAX_CONCURRENT,
                                &fc->max_concurrent, d)) ||
        (rc = read_time(doc, b, "max_wait", "0s", 0, &fc->max_wait, d)))
        return rc;
    fc->has_bulkhead = 1;
    return GS_OK;
}

static int read_alternates(fb_conf *fc, gs_comp_conf *cc, gs_build *b, gs_diag *d)
{
    gs_node *seq = gs_map_get(cc->node, "alternates");
    if (!seq)
        return GS_OK;
    if (seq->kind != GS_NODE_SEQ)
        return gs_error_at(d, seq, "alternates: expected a list of component ids tried in "
                           "order (e.g. alternates: [backup, cloud]), found %s",
                           gs_node_kind_name(seq->kind));
    if (seq->len > MAX_ALTERNATES)
        return gs_error_at(d, seq, "alternates: at most %d, got %zu", MAX_ALTERNATES, seq->len);
    if (seq->len == 0)
        return GS_OK;
    fc->alt = gs_malloc(seq->len * sizeof *fc->alt);
    if (!fc->alt)
        return gs_error(d, GS_ENOMEM, "out of memory");
    fc->nalt = (uint32_t)seq->len;
    for (size_t i = 0; i < seq->len; i++) {
        int rc = gs_build_ref(b, cc, seq->items[i], "alternates", &fc->alt[i], d);
        if (rc)
            return rc;
    }
    return GS_OK;
}

static int read_cache(fb_conf *fc, gs_comp_conf *cc, gs_build *b, gs_diag *d)
{
    gs_doc *doc = gs_build_doc(b);
    gs_node *n = gs_map_get(cc->node, "cache");
    if (!n)
        return GS_OK;
    int rc;
    if (n->kind == GS_NODE_SCALAR) {
        if ((rc = gs_build_ref(b, cc, n, "cache", &fc->cache_id, d)))
            return rc;
        const gs_component_type *t = gs_build_type(b, fc->cache_id);
        if (strcmp(t->name, "cache") != 0)
            return gs_error_at(d, n, "cache: '%s' is a %s; a stale answer comes from a "
                               "component of type cache, or give cache: {hit_ratio: 0.3}",
                               n->value, t->name);
        fc->cache = CACHE_COMPONENT;
        return GS_OK;
    }
    gs_node *m;
    if ((rc = section(cc->node, "cache", cache_keys, &m, d)) ||
        (rc = read_ratio(doc, m, "hit_ratio", NULL, 1, &fc->hit_ratio, d)))
        return rc;
    gs_node *lat;
    if ((rc = gs_cfg_node(doc, m, "latency", "0s", &lat, d)) ||
        (rc = gs_dist_configure(&fc->cache_latency, doc, lat, GS_DIST_TIME, d)))
        return rc;
    fc->cache = CACHE_RATIO;
    return GS_OK;
}

static int read_degraded(fb_conf *fc, gs_doc *doc, gs_node *m, gs_diag *d)
{
    gs_node *g, *lat;
    int rc = section(m, "degraded", degraded_keys, &g, d);
    if (rc || !g)
        return rc;
    if ((rc = gs_cfg_node(doc, g, "latency", "0s", &lat, d)) ||
        (rc = gs_dist_configure(&fc->degraded_latency, doc, lat, GS_DIST_TIME, d)))
        return rc;
    fc->has_degraded = 1;
    return GS_OK;
}

static int read_dlq(fb_conf *fc, gs_doc *doc, gs_node *m, gs_diag *d)
{
    gs_node *q;
    int rc = section(m, "dead_letter", dlq_keys, &q, d);
    if (rc || !q)
        return rc;
    if ((rc = read_time(doc, q, "replay_after", "60s", 0, &fc->replay_after, d)))
        return rc;
    fc->has_dlq = 1;
    return GS_OK;
}

static int read_hedge(fb_conf *fc, gs_doc *doc, gs_node *m, gs_diag *d)
{
    gs_node *h;
    int rc = section(m, "hedge", hedge_keys, &h, d);
    if (rc || !h)
        return rc;
    if ((rc = read_time(doc, h, "after", NULL, 0, &fc->hedge_after, d)) ||
        (rc = gs_cfg_u32_range(doc, h, "max", "1", 1, MAX_HEDGES, &fc->hedge_max, d)))
        return rc;
    fc->has_hedge = 1;
    return GS_OK;
}

static void conf_release(gs_comp_conf *cc)
{
    fb_conf *fc = cc->conf;
    gs_free(fc->alt);
    fc->alt = NULL;
    gs_dist_release(&fc->cache_latency);
    gs_dist_release(&fc->degraded_latency);
}

static int configure(gs_comp_conf *cc, gs_build *b, gs_diag *d)
{
    fb_conf *fc = cc->conf;
    gs_doc *doc = gs_build_doc(b);
    gs_node *m = cc->node;
    int rc;
    gs_node *primary = gs_map_get(m, "primary");
    if (!primary)
        return gs_error_at(d, m, "fallback '%s': missing required key 'primary' (the component "
                           "it protects, e.g. primary: llm)", cc->id);
    if ((rc = gs_build_ref(b, cc, primary, "primary", &fc->primary, d)) ||
        (rc = read_time_or_none(doc, m, "timeout", "none", 1, &fc->timeout, d)) ||
        (rc = read_retry(fc, doc, m, d)) || (rc = read_breaker(fc, doc, m, d)) ||
        (rc = read_bulkhead(fc, doc, m, d)) || (rc = read_alternates(fc, cc, b, d)) ||
        (rc = read_cache(fc, cc, b, d)) || (rc = read_degraded(fc, doc, m, d)) ||
        (rc = read_dlq(fc, doc, m, d)) || (rc = read_hedge(fc, doc, m, d))) {
        conf_release(cc);
        return rc;
    }
    return GS_OK;
}

/* ---- calls ---- */

static uint32_t call_new(const fb_conf *fc, fb_state *st, gs_request *r)
{
    if (st->free == NONE) {
        uint32_t n = st->ncalls ? 2 * st->ncalls : 64;
        if (fc->has_hedge) {
            /* Grown first: if the calls cannot grow, spare slots do no harm. */
            fb_hedge *h = gs_realloc(st->hedges, (size_t)n * fc->hedge_max * sizeof *h);
            if (!h)
                return NONE;
            st->hedges = h;
        }
        fb_call *c = gs_realloc(st->calls, (size_t)n * sizeof *c);
        if (!c)
            return NONE;
        for (uint32_t i = st->ncalls; i < n; i++)
            c[i].link = i + 1 < n ? i + 1 : NONE;
        st->calls = c;
        st->free = st->ncalls;
        st->ncalls = n;
    }
    uint32_t i = st->free;
    fb_call *k = &st->calls[i];
    st->free = k->link;
    st->live++;
    *k = (fb_call){.req = r, .timer = GS_TIMER_NONE, .permit = -1, .link = NONE, .prev = NONE,
                   .last = NO_OUTCOME, .htimer = GS_TIMER_NONE};
    for (uint32_t j = 0; fc->has_hedge && j < fc->hedge_max; j++)
        st->hedges[(size_t)i * fc->hedge_max + j] = (fb_hedge){NULL, GS_TIMER_NONE, 0};
    r->slot = i;
    return i;
}

static void call_free(fb_state *st, uint32_t i)
{
    st->calls[i].req = NULL;
    st->live--;
    st->calls[i].link = st->free;
    st->free = i;
}

static void stage_next(gs_component *c, gs_ctx *ctx, uint32_t i);
static void primary_try(gs_component *c, gs_ctx *ctx, uint32_t i);
static void permit_release(gs_component *c, gs_ctx *ctx);

/* A hedge won: the attempts still in flight lose. The chain's attempt gives
 * back its bulkhead permit and its breaker permit unjudged (its result
 * will never be known). */
static void drop_in_flight(gs_component *c, gs_ctx *ctx, uint32_t i)
{
    const fb_conf *fc = c->conf;
    fb_state *st = c->state;
    fb_call *k = &st->calls[i];
    gs_cancel(ctx, k->htimer);
    k->htimer = GS_TIMER_NONE;
    for (uint32_t j = 0; k->hin > 0 && j < fc->hedge_max; j++) {
        fb_hedge *h = &st->hedges[(size_t)i * fc->hedge_max + j];
        if (!h->att)
            continue;
        gs_cancel(ctx, h->timer);
        gs_attempt_abandon(ctx, h->att);
        *h = (fb_hedge){NULL, GS_TIMER_NONE, 0};
        k->hin--;
    }
    if (!k->att)
        return;
    gs_cancel(ctx, k->timer);
    k->timer = GS_TIMER_NONE;
    gs_attempt_abandon(ctx, k->att);
    k->att = NULL;
    if (k->permit >= 0) {
        gs_breaker_cancel(&st->breaker, k->permit);
        k->permit = -1;
    }
    if (k->held) {
        k->held = 0;
        permit_release(c, ctx);
    }
}

/* The call ends: its request gets outcome o. */
static void finish(gs_component *c, gs_ctx *ctx, uint32_t i, gs_outcome o)
{
    fb_state *st = c->state;
    const fb_conf *fc = c->conf;
    if (fc->has_hedge)
        drop_in_flight(c, ctx, i);
    gs_request *r = st->calls[i].req;
    call_free(st, i);
    if (r->done) {
        /* The client gave up on it already: the answer reaches nobody. */
        if (r->counted)
            st->abandoned++;
        gs_answer(ctx, c, r, o);
        return;
    }
    if (r->counted) {
        st->outcome[o]++;
        if (gs_outcome_answered(o) && ctx->now < ctx->duration)
            st->answered_in_window++;
    }
    if (!gs_outcome_answered(o) && fc->has_dlq) {
        gs_request *copy = gs_replay(ctx, c, r);
        if (copy) {
            if (r->counted)
                st->dead_letters++;
            gs_hold(ctx, +1);
            gs_schedule(ctx, c, fc->replay_after, EV_REPLAY, copy, 0);
        }
    }
    gs_answer(ctx, c, r, o);
}

static void send(gs_component *c, gs_ctx *ctx, uint32_t i, uint32_t to, int retry, int peek)
{
    const fb_conf *fc = c->conf;
    fb_state *st = c->state;
    fb_call *k = &st->calls[i];
    gs_request *a = gs_attempt(ctx, c, k->req, retry);
    if (!a)
        return;   /* the run stops with GS_ENOMEM */
    a->peek = (uint8_t)peek;
    k->att = a;
    k->sent = ctx->now;
    if (k->req->counted && !peek)
        st->attempts++;
    /* The timer goes first: with no network latency the reply comes back
     * inside gs_send() and cancels it. */
    if (fc->timeout != GS_TIME_MAX && !peek)
        k->timer = gs_schedule(ctx, c, fc->timeout, EV_TIMEOUT, NULL, i);
    if (fc->has_hedge && !peek) {
        k->hsent = 0;
        k->htimer = gs_schedule(ctx, c, fc->hedge_after, EV_HEDGE, NULL, i);
    }
    gs_send(ctx, c, to, a);
}

/* The hedge timer of call i ran out with att still unanswered: a duplicate
 * to the target after the last one asked, or the last target again. */
static void hedge_send(gs_component *c, gs_ctx *ctx, uint32_t i)
{
    const fb_conf *fc = c->conf;
    fb_state *st = c->state;
    fb_call *k = &st->calls[i];
    k->htimer = GS_TIMER_NONE;
    if (!k->att || k->req->done)
        return;
    uint32_t j = 0;
    fb_hedge *h = &st->hedges[(size_t)i * fc->hedge_max];
    while (j < fc->hedge_max && h[j].att)
        j++;
    if (j == fc->hedge_max)
        return;   /* cannot happen: at most hedge_max are sent per attempt */
    gs_request *a = gs_attempt(ctx, c, k->req, 1);
    if (!a)
        return;   /* the run stops with GS_ENOMEM */
    k->hsent++;
    k->hin++;
    uint32_t s = k->stage + k->hsent;
    h[j] = (fb_hedge){a, GS_TIMER_NONE, s < fc->nalt ? s : fc->nalt};
    if (k->req->counted) {
        st->hedges_sent++;
        st->attempts++;
    }
    if (fc->timeout != GS_TIME_MAX)
        h[j].timer = gs_schedule(ctx, c, fc->timeout, EV_HEDGE_TIMEOUT, NULL,
                                 i | (uint64_t)j << 32);
    if (k->hsent < fc->hedge_max)
        k->htimer = gs_schedule(ctx, c, fc->hedge_after, EV_HEDGE, NULL, i);
    gs_send(ctx, c, h[j].stage ? fc->alt[h[j].stage - 1] : fc->primary, a);
}

static void primary_send(gs_component *c, gs_ctx *ctx, uint32_t i)
{
    const fb_conf *fc = c->conf;
    fb_state *st = c->state;
    fb_call *k = &st->calls[i];
    if (k->tries > 0 && k->req->counted)
        st->retries++;
    k->tries++;
    send(c, ctx, i, fc->primary, k->tries > 1, 0);
}

static void wait_remove(fb_state *st, uint32_t i)
{
    fb_call *k = &st->calls[i];
    if (k->prev != NONE)
        st->calls[k->prev].link = k->link;
    else
        st->wait_head = k->link;
    if (k->link != NONE)
        st->calls[k->link].prev = k->prev;
    else
        st->wait_tail = k->prev;
    k->link = k->prev = NONE;
}

/* A bulkhead permit came free: the longest waiter takes it. */
static void permit_release(gs_component *c, gs_ctx *ctx)
{
    fb_state *st = c->state;
    st->in_use--;
    if (st->wait_head == NONE)
        return;
    uint32_t i = st->wait_head;
    wait_remove(st, i);
    fb_call *k = &st->calls[i];
    gs_cancel(ctx, k->timer);
    k->timer = GS_TIMER_NONE;
    k->held = 1;
    st->in_use++;
    primary_send(c, ctx, i);
}

/* The primary is refused for call i without being asked. */
static void primary_refused(gs_component *c, gs_ctx *ctx, uint32_t i)
{
    fb_state *st = c->state;
    fb_call *k = &st->calls[i];
    if (k->permit >= 0) {
        gs_breaker_cancel(&st->breaker, k->permit);
        k->permit = -1;
    }
    if (k->req->counted)
        st->bulkhead_refused++;
    stage_next(c, ctx, i);
}

static void primary_try(gs_component *c, gs_ctx *ctx, uint32_t i)
{
    const fb_conf *fc = c->conf;
    fb_state *st = c->state;
    fb_call *k = &st->calls[i];
    if (k->req->done) {
        finish(c, ctx, i, GS_OUT_TIMEOUT);
        return;
    }
    if (fc->has_breaker) {
        k->permit = gs_breaker_acquire(&st->breaker, ctx->now);
        if (k->permit < 0) {
            if (k->req->counted)
                st->breaker_refused++;
            stage_next(c, ctx, i);
            return;
        }
    }
    if (fc->has_bulkhead) {
        if (st->in_use >= fc->max_concurrent) {
            if (fc->max_wait == 0) {
                primary_refused(c, ctx, i);
                return;
            }
            k->prev = st->wait_tail;
            k->link = NONE;
            if (st->wait_tail != NONE)
                st->calls[st->wait_tail].link = i;
            else
                st->wait_head = i;
            st->wait_tail = i;
            k->timer = gs_schedule(ctx, c, fc->max_wait, EV_WAIT_OVER, NULL, i);
            return;
        }
        st->in_use++;
        k->held = 1;
    }
    primary_send(c, ctx, i);
}

static void answer_local(gs_component *c, gs_ctx *ctx, uint32_t i, const gs_dist *lat,
                         gs_outcome o)
{
    fb_state *st = c->state;
    gs_time t = gs_time_from_s(gs_dist_sample(lat, c->rng));
    if (t == 0) {
        finish(c, ctx, i, o);
        return;
    }
    st->calls[i].local = (uint8_t)o;
    st->calls[i].timer = gs_schedule(ctx, c, t, EV_LOCAL, NULL, i);
}

/* The primary is done with (or skipped): the next way to an answer. */
static void stage_next(gs_component *c, gs_ctx *ctx, uint32_t i)
{
    const fb_conf *fc = c->conf;
    fb_state *st = c->state;
    fb_call *k = &st->calls[i];
    if (k->req->done) {
        finish(c, ctx, i, GS_OUT_TIMEOUT);
        return;
    }
    uint32_t s = ++k->stage;
    if (s <= fc->nalt) {
        if (k->req->counted)
            st->failovers++;
        send(c, ctx, i, fc->alt[s - 1], 1, 0);
        return;
    }
    if (s == fc->nalt + 1 && fc->cache != CACHE_NONE) {
        if (fc->cache == CACHE_COMPONENT) {
            send(c, ctx, i, fc->cache_id, 0, 1);
            return;
        }
        if (gsl_rng_uniform(c->rng) < fc->hit_ratio) {
            answer_local(c, ctx, i, &fc->cache_latency, GS_OUT_FALLBACK);
            return;
        }
        s = ++k->stage;
    }
    if (s <= fc->nalt + 2 && fc->has_degraded) {
        k->stage = fc->nalt + 2;
        answer_local(c, ctx, i, &fc->degraded_latency, GS_OUT_DEGRADED);
        return;
    }
    /* Nothing answered: the last attempt's outcome, or rejected when no
     * target was ever asked (breaker open or bulkhead full). */
    finish(c, ctx, i, k->last == NO_OUTCOME ? GS_OUT_REJECTED : (gs_outcome)k->last);
}

/* Outcome of an answer o from the target of stage s: an alternate's (or
 * the stale cache's) answer is a fallback answer, unless it was itself only
 * a degraded one. */
static gs_outcome answer_from(uint32_t s, gs_outcome o)
{
    if (s == STAGE_PRIMARY)
        return o;
    return o == GS_OUT_DEGRADED ? GS_OUT_DEGRADED : GS_OUT_FALLBACK;
}

/* Every attempt of call i's current step failed (its last outcome in
 * k->last): a retry of the primary, or the next step. */
static void step_failed(gs_component *c, gs_ctx *ctx, uint32_t i)
{
    const fb_conf *fc = c->conf;
    fb_state *st = c->state;
    fb_call *k = &st->calls[i];
    if (k->stage != STAGE_PRIMARY) {
        stage_next(c, ctx, i);
        return;
    }
    if (k->req->done) {
        finish(c, ctx, i, GS_OUT_TIMEOUT);
        return;
    }
    if (k->tries <= fc->retry_max &&
        (!fc->has_budget || gs_retry_budget_take(&st->budget, ctx->now))) {
        gs_time wait = gs_backoff_delay(&fc->backoff, k->tries, c->rng);
        if (wait == 0)
            primary_try(c, ctx, i);
        else
            k->timer = gs_schedule(ctx, c, wait, EV_BACKOFF, NULL, i);
        return;
    }
    stage_next(c, ctx, i);
}

/* Hedge j of call i ended with o (GS_OUT_TIMEOUT when its timeout cut it;
 * the slot is already free). */
static void hedge_done(gs_component *c, gs_ctx *ctx, uint32_t i, uint32_t s, gs_outcome o)
{
    fb_state *st = c->state;
    fb_call *k = &st->calls[i];
    if (gs_outcome_answered(o)) {
        finish(c, ctx, i, answer_from(s, o));
        return;
    }
    k->last = (uint8_t)o;
    if (!k->att && k->hin == 0)
        step_failed(c, ctx, i);
}

/* The attempt of call i ended with o after elapsed (o is GS_OUT_TIMEOUT
 * when the per-attempt timeout cut it). */
static void attempt_done(gs_component *c, gs_ctx *ctx, uint32_t i, gs_outcome o, gs_time elapsed)
{
    const fb_conf *fc = c->conf;
    fb_state *st = c->state;
    fb_call *k = &st->calls[i];
    int answered = gs_outcome_answered(o);
    /* No more hedges for an attempt that has its answer. */
    gs_cancel(ctx, k->htimer);
    k->htimer = GS_TIMER_NONE;
    if (k->stage != STAGE_PRIMARY) {
        if (answered) {
            finish(c, ctx, i, answer_from(k->stage, o));
            return;
        }
        if (!(k->stage == fc->nalt + 1 && fc->cache == CACHE_COMPONENT))
            k->last = (uint8_t)o;   /* a stale-cache miss is no attempt's outcome */
        if (k->hin == 0)
            step_failed(c, ctx, i);
        return;
    }
    if (k->held) {
        k->held = 0;
        permit_release(c, ctx);
    }
    if (fc->has_breaker) {
        gs_breaker_record(&st->breaker, ctx->now, k->permit, !answered, elapsed);
        k->permit = -1;
    }
    if (answered) {
        finish(c, ctx, i, o);
        return;
    }
    k->last = (uint8_t)o;
    if (k->hin == 0)
        step_failed(c, ctx, i);
}

/* ---- the replication ---- */

static int start(gs_component *c, gs_ctx *ctx)
{
    const fb_conf *fc = c->conf;
    fb_state *st = c->state;
    st->free = st->wait_head = st->wait_tail = NONE;
    if (fc->has_breaker &&
        gs_breaker_init(&st->breaker, &fc->breaker, ctx->warmup, ctx->duration) != GS_OK)
        return GS_ENOMEM;
    if (fc->has_budget &&
        gs_retry_budget_init(&st->budget, fc->budget, gs_time_from_s(BUDGET_WINDOW_S),
                             BUDGET_BUCKETS) != GS_OK)
        return GS_ENOMEM;
    return GS_OK;
}

static void release(gs_component *c)
{
    fb_state *st = c->state;
    gs_free(st->calls);
    st->calls = NULL;
    gs_free(st->hedges);
    st->hedges = NULL;
    gs_breaker_release(&st->breaker);
    gs_retry_budget_release(&st->budget);
}

static void arrive(gs_component *c, gs_ctx *ctx, gs_request *r)
{
    const fb_conf *fc = c->conf;
    fb_state *st = c->state;
    if (r->probe) {
        /* Middleware in the caller's process fails with it, never alone. */
        gs_answer(ctx, c, r, GS_OUT_OK);
        return;
    }
    uint32_t i = call_new(fc, st, r);
    if (i == NONE) {
        gs_ctx_fail(ctx, GS_ENOMEM);
        return;
    }
    if (r->counted)
        st->requests++;
    if (fc->has_budget)
        gs_retry_budget_call(&st->budget, ctx->now);
    primary_try(c, ctx, i);
}

static void reply(gs_component *c, gs_ctx *ctx, gs_request *a, gs_outcome o)
{
    fb_state *st = c->state;
    if (a->done) {
        gs_attempt_free(ctx, a);   /* cut by its timeout earlier */
        return;
    }
    if (!a->parent) {
        /* A dead letter's replay came back. */
        if (a->t_arrival >= ctx->warmup && a->t_arrival < ctx->duration) {
            st->replays_done++;
            st->replays_ok += gs_outcome_answered(o);
        }
        gs_attempt_free(ctx, a);
        gs_hold(ctx, -1);
        return;
    }
    uint32_t i = a->parent->slot;
    fb_call *k = &st->calls[i];
    if (a != k->att) {
        /* One of the call's hedges. */
        const fb_conf *fc = c->conf;
        fb_hedge *h = &st->hedges[(size_t)i * fc->hedge_max];
        uint32_t j = 0;
        while (j < fc->hedge_max && h[j].att != a)
            j++;
        assert(j < fc->hedge_max);   /* every attempt in flight is att or a hedge */
        uint32_t s = h[j].stage;
        gs_cancel(ctx, h[j].timer);
        h[j] = (fb_hedge){NULL, GS_TIMER_NONE, 0};
        k->hin--;
        gs_attempt_free(ctx, a);
        hedge_done(c, ctx, i, s, o);
        return;
    }
    gs_attempt_free(ctx, a);
    k->att = NULL;
    if (k->timer.ev) {
        gs_cancel(ctx, k->timer);
        k->timer = GS_TIMER_NONE;
    }
    attempt_done(c, ctx, i, o, ctx->now - k->sent);
}

static void handle(gs_component *c, gs_ctx *ctx, gs_event *ev)
{
    const fb_conf *fc = c->conf;
    fb_state *st = c->state;
    uint32_t i = (uint32_t)ev->arg;
    switch (ev->kind) {
    case GS_EV_REQUEST:
        arrive(c, ctx, ev->req);
        return;
    case GS_EV_REPLY:
        reply(c, ctx, ev->req, (gs_outcome)ev->arg);
        return;
    case EV_TIMEOUT: {
        fb_call *k = &st->calls[i];
        k->timer = GS_TIMER_NONE;
        gs_attempt_abandon(ctx, k->att);
        k->att = NULL;
        if (k->req->counted)
            st->attempt_timeouts++;
        attempt_done(c, ctx, i, GS_OUT_TIMEOUT, fc->timeout);
        return;
    }
    case EV_BACKOFF:
        st->calls[i].timer = GS_TIMER_NONE;
        primary_try(c, ctx, i);
        return;
    case EV_WAIT_OVER:
        st->calls[i].timer = GS_TIMER_NONE;
        wait_remove(st, i);
        primary_refused(c, ctx, i);
        return;
    case EV_LOCAL:
        st->calls[i].timer = GS_TIMER_NONE;
        finish(c, ctx, i, (gs_outcome)st->calls[i].local);
        return;
    case EV_REPLAY:
        gs_send(ctx, c, fc->primary, ev->req);
        return;
    case EV_HEDGE:
        hedge_send(c, ctx, i);
        return;
    case EV_HEDGE_TIMEOUT: {
        uint32_t j = (uint32_t)(ev->arg >> 32);
        fb_call *k = &st->calls[i];
        fb_hedge *h = &st->hedges[(size_t)i * fc->hedge_max + j];
        uint32_t s = h->stage;
        gs_attempt_abandon(ctx, h->att);
        *h = (fb_hedge){NULL, GS_TIMER_NONE, 0};
        k->hin--;
        if (k->req->counted)
            st->attempt_timeouts++;
        hedge_done(c, ctx, i, s, GS_OUT_TIMEOUT);
        return;
    }
    default:
        return;
    }
}

static double share(uint64_t part, uint64_t whole)
{
    return whole ? (double)part / (double)whole : NAN;
}

static void report(const gs_component *c, const gs_ctx *ctx, gs_metrics *m)
{
    const fb_conf *fc = c->conf;
    const fb_state *st = c->state;
    double window_s = gs_time_to_s(ctx->duration - ctx->warmup);
    uint64_t n = st->requests;
    gs_metric(m, "throughput", (double)st->answered_in_window / window_s);
    gs_metric(m, "ok_ratio", share(st->outcome[GS_OUT_OK], n));
    gs_metric(m, "fallback_ratio", share(st->outcome[GS_OUT_FALLBACK], n));
    gs_metric(m, "degraded_ratio", share(st->outcome[GS_OUT_DEGRADED], n));
    gs_metric(m, "error_ratio", share(st->outcome[GS_OUT_ERROR], n));
    gs_metric(m, "timeout_ratio", share(st->outcome[GS_OUT_TIMEOUT], n));
    gs_metric(m, "rejected_ratio", share(st->outcome[GS_OUT_REJECTED], n));
    gs_metric(m, "retries_per_request", share(st->retries, n));
    gs_metric(m, "failovers_per_request", share(st->failovers, n));
    gs_metric(m, "hedges_per_request", share(st->hedges_sent, n));
    gs_metric(m, "attempt_timeout_ratio", share(st->attempt_timeouts, st->attempts));
    gs_metric(m, "open_ratio", fc->has_breaker ? gs_breaker_open_ratio(&st->breaker) : 0);
    gs_metric(m, "breaker_opens", fc->has_breaker ? (double)st->breaker.opens : 0);
    gs_metric(m, "breaker_refused_ratio", share(st->breaker_refused, n));
    gs_metric(m, "bulkhead_refused_ratio", share(st->bulkhead_refused, n));
    gs_metric(m, "dead_letter_ratio", share(st->dead_letters, n));
    gs_metric(m, "replay_ok_ratio", share(st->replays_ok, st->replays_done));
}

static const char *const series[] = {"in_flight", "breaker_open", NULL};

static void sample(const gs_component *c, const gs_ctx *ctx, double *out)
{
    const fb_conf *fc = c->conf;
    const fb_state *st = c->state;
    out[0] = (double)st->live;
    out[1] = fc->has_breaker && st->breaker.state == GS_BREAKER_OPEN &&
             ctx->now < st->breaker.open_until;
}

const gs_component_type gs_fallback_type = {
    .name = "fallback",
    .keys = keys,
    .conf_size = sizeof(fb_conf),
    .state_size = sizeof(fb_state),
    .configure = configure,
    .conf_release = conf_release,
    .start = start,
    .handle = handle,
    .report = report,
    .release = release,
    .series = series,
    .sample = sample,
};
