/* The load balancer: spreads requests over `targets` by a policy
 * (round_robin, random, least_connections, power_of_two, weighted, hash),
 * retries a request that failed with an error on another target
 * (`retry_on_error`), and learns which targets are down only through
 * periodic health checks (`health_check {interval, timeout, fall, rise}`),
 * as HAProxy and Envoy do: requests sent in the detection gap go to the dead
 * target and fail. It does no work of its own, so a request passes it in no
 * time; each forward is a network hop.
 *
 * Every request is forwarded as an attempt (sim/engine.h), so that its
 * outcome comes back here. Per-request state lives in the parent request,
 * so nothing is allocated per request: a request has one attempt out at a
 * time and stays here meanwhile, so its `slot` (component-private while the
 * balancer holds it; the attempt's own slot belongs to whoever serves it)
 * packs the target of the attempt in flight (low TARGET_BITS bits) and the
 * retries spent. A retry avoids only the target that just failed (with
 * three or more targets and two or more retries it may come back to an
 * earlier one; a bitmask of tried targets would not fit 32 bits). A probe's
 * target is found by looking for it among the probes in flight, once per
 * check and target.
 *
 * Invariants: outstanding[i] is the number of request attempts sent to
 * target i whose reply has not been handled; up[0 .. nup) lists the targets
 * believed healthy in increasing index order; at most one probe per target
 * is in flight (timeout <= interval). Policies choose among the healthy
 * targets; when none is believed healthy they choose among all (fail open,
 * as HAProxy, Envoy's panic threshold and the AWS balancers do), since
 * refusing everything would turn a false alarm into an outage.
 *
 * docs/scenarios.md (the `load_balancer` table) gives the keys and every
 * choice made where SPEC §2 is silent. */
#include <math.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "sim/alloc.h"
#include "sim/engine.h"
#include "sim/rng.h"
#include "sim/error.h"
#include "sim/node.h"
#include "sim/units.h"

#define EV_CHECK GS_EV_USER               /* a round of health checks is due */
#define EV_PROBE_TIMEOUT (GS_EV_USER + 1) /* ev->req the probe, ev->arg the target */

#define NONE UINT32_MAX
/* Bounds that keep a scenario within one machine (docs/scenarios.md). */
#define MAX_TARGETS 100000L
#define TARGET_BITS 17       /* 2^17 > MAX_TARGETS */
#define TARGET_MASK ((1u << TARGET_BITS) - 1)
#define MAX_RETRIES 100L
#define MAX_COUNT 1000000L   /* fall, rise */

static const char *const keys[] = {"type", "targets", "policy", "weights", "health_check",
                                   "retry_on_error", NULL};
static const char *const hc_keys[] = {"interval", "timeout", "fall", "rise", NULL};

typedef enum lb_policy {
    LB_ROUND_ROBIN, LB_RANDOM, LB_LEAST_CONNECTIONS, LB_POWER_OF_TWO, LB_WEIGHTED, LB_HASH
} lb_policy;

static const char *const policy_names[] = {"round_robin", "random", "least_connections",
                                           "power_of_two", "weighted", "hash", NULL};

typedef struct lb_conf {
    size_t              n;
    uint32_t           *targets;   /* component indices */
    lb_policy           policy;
    double             *weights;   /* weighted only */
    gsl_ran_discrete_t *table;     /* weighted only: alias table over all targets */
    int                 checks;    /* health_check given */
    gs_time             interval, timeout;
    long                fall, rise;
    long                retries;   /* retry_on_error */
} lb_conf;

typedef struct lb_target {
    uint32_t    outstanding;
    uint8_t     healthy;
    long        fails, oks;        /* consecutive check results */
    gs_request *probe;             /* in flight, or NULL */
    gs_timer    probe_timer;
} lb_target;

typedef struct lb_state {
    lb_target *t;
    uint32_t  *up;                 /* healthy targets, increasing index */
    uint32_t  *cand;               /* scratch: the candidates of one choice */
    size_t     nup;
    size_t     rr;                 /* round_robin: the next target index */
    int        measuring;
    uint64_t   arrivals, answered, errors, retries, marked_down;
} lb_state;

/* ---- configuration ---- */

static int read_targets(lb_conf *lc, gs_comp_conf *cc, gs_build *b, gs_diag *d)
{
    gs_node *seq = gs_map_get(cc->node, "targets");
    if (!seq)
        return gs_error_at(d, cc->node, "load_balancer '%s': missing required key 'targets' "
                           "(e.g. targets: [gw1, gw2])", cc->id);
    if (seq->kind != GS_NODE_SEQ)
        return gs_error_at(d, seq, "targets: expected a list of component ids, found %s",
                           gs_node_kind_name(seq->kind));
    if (seq->len == 0)
        return gs_error_at(d, seq, "targets: needs at least one target");
    if (seq->len > (size_t)MAX_TARGETS)
        return gs_error_at(d, seq, "targets: at most %ld targets, got %zu", MAX_TARGETS,
                           seq->len);
    lc->targets = gs_malloc(seq->len * sizeof *lc->targets);
    if (!lc->targets)
        return gs_error(d, GS_ENOMEM, "out of memory");
    lc->n = seq->len;
    for (size_t i = 0; i < seq->len; i++) {
        int rc = gs_build_ref(b, cc, seq->items[i], "targets", &lc->targets[i], d);
        if (rc)
            return rc;
    }
    return GS_OK;
}

static int read_policy(lb_conf *lc, gs_comp_conf *cc, gs_build *b, gs_diag *d)
{
    const char *name;
    int rc = gs_cfg_str(gs_build_doc(b), cc->node, "policy", "round_robin", &name, d);
    if (rc)
        return rc;
    size_t i = 0;
    while (policy_names[i] && strcmp(policy_names[i], name) != 0)
        i++;
    if (!policy_names[i]) {
        const char *hint = gs_suggest(name, policy_names);
        return gs_error_at(d, gs_map_get(cc->node, "policy"), "policy: unknown policy '%s'%s%s%s;"
                           " expected round_robin, random, least_connections, power_of_two, "
                           "weighted or hash", name, hint ? " (did you mean '" : "",
                           hint ? hint : "", hint ? "'?)" : "");
    }
    lc->policy = (lb_policy)i;
    return GS_OK;
}

static int read_weights(lb_conf *lc, gs_comp_conf *cc, gs_diag *d)
{
    gs_node *seq = gs_map_get(cc->node, "weights");
    if (lc->policy != LB_WEIGHTED) {
        if (seq)
            return gs_error_at(d, seq, "weights: only policy 'weighted' uses weights (policy "
                               "is '%s'); remove them or set policy: weighted",
                               policy_names[lc->policy]);
        return GS_OK;
    }
    if (!seq)
        return gs_error_at(d, cc->node, "load_balancer '%s': policy 'weighted' needs 'weights', "
                           "one number > 0 per target (e.g. weights: [3, 1])", cc->id);
    if (seq->kind != GS_NODE_SEQ)
        return gs_error_at(d, seq, "weights: expected a list of numbers > 0, found %s",
                           gs_node_kind_name(seq->kind));
    if (seq->len != lc->n)
        return gs_error_at(d, seq, "weights: %zu weights for %zu targets; give one per target",
                           seq->len, lc->n);
    lc->weights = gs_malloc(lc->n * sizeof *lc->weights);
    if (!lc->weights)
        return gs_error(d, GS_ENOMEM, "out of memory");
    for (size_t i = 0; i < lc->n; i++) {
        int rc = gs_node_double(seq->items[i], "weights", &lc->weights[i], d);
        if (rc)
            return rc;
        if (!(lc->weights[i] > 0))
            return gs_error_at(d, seq->items[i], "weights: must be > 0, got %s",
                               seq->items[i]->value);
    }
    /* GSL allocates the table with its own malloc; for valid weights it
     * fails only for memory. It normalises the weights itself. */
    lc->table = gsl_ran_discrete_preproc(lc->n, lc->weights);
    if (!lc->table)
        return gs_error(d, GS_ENOMEM, "out of memory");
    return GS_OK;
}

static int read_count(gs_doc *doc, gs_node *hc, const char *key, const char *dflt, long *out,
                      gs_diag *d)
{
    int rc = gs_cfg_long(doc, hc, key, dflt, out, d);
    if (rc)
        return rc;
    if (*out < 1 || *out > MAX_COUNT)
        return gs_error_at(d, gs_map_get(hc, key), "%s: must be between 1 and %ld checks, "
                           "got %ld", key, MAX_COUNT, *out);
    return GS_OK;
}

static int read_checks(lb_conf *lc, gs_comp_conf *cc, gs_build *b, gs_diag *d)
{
    gs_node *hc = gs_map_get(cc->node, "health_check");
    if (!hc)
        return GS_OK;
    gs_doc *doc = gs_build_doc(b);
    double interval, timeout;
    int rc;
    if ((rc = gs_map_check_keys(hc, hc_keys, "health_check", d)) ||
        (rc = gs_cfg_seconds(doc, hc, "interval", "2s", &interval, d)))
        return rc;
    lc->interval = gs_time_from_s(interval);
    if (lc->interval < 1)
        return gs_error_at(d, gs_map_get(hc, "interval"), "interval: must be at least 1ns, "
                           "got %s", gs_map_get(hc, "interval")->value);
    if ((rc = gs_cfg_seconds(doc, hc, "timeout", "1s", &timeout, d)))
        return rc;
    lc->timeout = gs_time_from_s(timeout);
    if (lc->timeout < 1 || lc->timeout > lc->interval)
        return gs_error_at(d, gs_map_get(hc, "timeout"), "timeout: must be at least 1ns and at "
                           "most the interval (%gs), got %s", gs_time_to_s(lc->interval),
                           gs_map_get(hc, "timeout")->value);
    if ((rc = read_count(doc, hc, "fall", "3", &lc->fall, d)) ||
        (rc = read_count(doc, hc, "rise", "2", &lc->rise, d)))
        return rc;
    lc->checks = 1;
    return GS_OK;
}

static int read_retries(lb_conf *lc, gs_comp_conf *cc, gs_build *b, gs_diag *d)
{
    gs_node *n;
    int rc = gs_cfg_node(gs_build_doc(b), cc->node, "retry_on_error", "0", &n, d);
    if (rc)
        return rc;
    if (n->kind == GS_NODE_SCALAR && n->value &&
        (strcmp(n->value, "true") == 0 || strcmp(n->value, "false") == 0)) {
        lc->retries = n->value[0] == 't';
        return GS_OK;
    }
    long v = -1;
    gs_diag ignored;
    gs_diag_init(&ignored);
    if (n->kind != GS_NODE_SCALAR || gs_node_long(n, "retry_on_error", &v, &ignored) != GS_OK ||
        v < 0 || v > MAX_RETRIES)
        return gs_error_at(d, n, "retry_on_error: expected a number of retries between 0 and "
                           "%ld, or true (1) or false (0), got '%s'", MAX_RETRIES,
                           n->kind == GS_NODE_SCALAR && n->value ? n->value
                                                                 : gs_node_kind_name(n->kind));
    lc->retries = v;
    return GS_OK;
}

static void conf_release(gs_comp_conf *cc)
{
    lb_conf *lc = cc->conf;
    gs_free(lc->targets);
    gs_free(lc->weights);
    if (lc->table)
        gsl_ran_discrete_free(lc->table);
    lc->targets = NULL;
    lc->weights = NULL;
    lc->table = NULL;
}

static int configure(gs_comp_conf *cc, gs_build *b, gs_diag *d)
{
    lb_conf *lc = cc->conf;
    int rc;
    if ((rc = read_targets(lc, cc, b, d)) || (rc = read_policy(lc, cc, b, d)) ||
        (rc = read_weights(lc, cc, d)) || (rc = read_checks(lc, cc, b, d)) ||
        (rc = read_retries(lc, cc, b, d))) {
        conf_release(cc);
        return rc;
    }
    return GS_OK;
}

/* ---- choosing a target ---- */

static void rebuild_up(lb_state *st, size_t n)
{
    st->nup = 0;
    for (size_t i = 0; i < n; i++)
        if (st->t[i].healthy)
            st->up[st->nup++] = (uint32_t)i;
}

/* splitmix64's output function (the random streams' own), so that
 * consecutive keys spread over the targets. */
static uint64_t mix(uint64_t x)
{
    return gs_splitmix64(&x);
}

/* The target for request r among cand[0 .. k) (increasing indices, k >= 1);
 * `all` says cand is every target, so the weighted table applies. */
static uint32_t pick(gs_component *c, lb_state *st, const lb_conf *lc, const gs_request *r,
                     const uint32_t *cand, size_t k, int all)
{
    if (k == 1)
        return cand[0];
    switch (lc->policy) {
    case LB_RANDOM:
        return cand[gsl_rng_uniform_int(c->rng, k)];
    case LB_LEAST_CONNECTIONS: {
        uint32_t best = cand[0];
        for (size_t i = 1; i < k; i++)
            if (st->t[cand[i]].outstanding < st->t[best].outstanding)
                best = cand[i];
        return best;
    }
    case LB_POWER_OF_TWO: {
        size_t i = gsl_rng_uniform_int(c->rng, k);
        size_t j = gsl_rng_uniform_int(c->rng, k - 1);
        if (j >= i)
            j++;
        /* On a tie the first drawn wins, which keeps the choice random. */
        return st->t[cand[j]].outstanding < st->t[cand[i]].outstanding ? cand[j] : cand[i];
    }
    case LB_WEIGHTED: {
        if (all)
            return (uint32_t)gsl_ran_discrete(c->rng, lc->table);
        double sum = 0;
        for (size_t i = 0; i < k; i++)
            sum += lc->weights[cand[i]];
        double u = gsl_rng_uniform(c->rng) * sum;
        for (size_t i = 0; i < k - 1; i++) {
            u -= lc->weights[cand[i]];
            if (u < 0)
                return cand[i];
        }
        return cand[k - 1];
    }
    case LB_HASH:
        return cand[mix(r->key ? r->key : r->id) % k];
    case LB_ROUND_ROBIN:
    default: {
        /* The first candidate at or after the cursor, cyclically. */
        size_t lo = 0, hi = k;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (cand[mid] < st->rr)
                lo = mid + 1;
            else
                hi = mid;
        }
        uint32_t t = cand[lo == k ? 0 : lo];
        st->rr = ((size_t)t + 1) % lc->n;
        return t;
    }
    }
}

/* Choose a target for r, avoiding `avoid` (NONE: nothing to avoid) when any
 * other exists: the healthy ones first, all of them if none is healthy. */
static uint32_t choose(gs_component *c, lb_state *st, const lb_conf *lc, const gs_request *r,
                       uint32_t avoid)
{
    if (avoid == NONE && st->nup > 0)
        return pick(c, st, lc, r, st->up, st->nup, st->nup == lc->n);
    size_t k = 0;
    for (size_t i = 0; i < st->nup; i++)
        if (st->up[i] != avoid)
            st->cand[k++] = st->up[i];
    if (k == 0)
        for (size_t i = 0; i < lc->n; i++)
            if (i != avoid)
                st->cand[k++] = (uint32_t)i;
    if (k == 0)
        return avoid;   /* a single target */
    return pick(c, st, lc, r, st->cand, k, 0);
}

/* ---- the replication ---- */

static int start(gs_component *c, gs_ctx *ctx)
{
    const lb_conf *lc = c->conf;
    lb_state *st = c->state;
    st->t = gs_calloc(lc->n, sizeof *st->t);
    st->up = gs_malloc(lc->n * sizeof *st->up);
    st->cand = gs_malloc(lc->n * sizeof *st->cand);
    if (!st->t || !st->up || !st->cand)
        return GS_ENOMEM;
    for (size_t i = 0; i < lc->n; i++) {
        st->t[i].healthy = 1;
        st->t[i].probe_timer = GS_TIMER_NONE;
    }
    rebuild_up(st, lc->n);
    if (lc->checks) {
        /* A random phase, so that the detection delay of a failure at a
         * given time is not an artefact of checks aligned with it. */
        gs_time phase = (gs_time)(gsl_rng_uniform(c->rng) * (double)lc->interval);
        gs_schedule(ctx, c, phase, EV_CHECK, NULL, 0);
    }
    return GS_OK;
}

static void release(gs_component *c)
{
    lb_state *st = c->state;
    gs_free(st->t);
    gs_free(st->up);
    gs_free(st->cand);
    st->t = NULL;
    st->up = st->cand = NULL;
}

static void send_attempt(gs_component *c, gs_ctx *ctx, lb_state *st, gs_request *parent,
                         uint32_t target, int retry)
{
    const lb_conf *lc = c->conf;
    gs_request *a = gs_attempt(ctx, c, parent, retry);
    if (!a)
        return;   /* the run stops with GS_ENOMEM */
    parent->slot = (parent->slot & ~TARGET_MASK) | target;
    st->t[target].outstanding++;
    gs_send(ctx, c, lc->targets[target], a);
}

static void check_result(lb_state *st, const lb_conf *lc, uint32_t i, int ok)
{
    lb_target *t = &st->t[i];
    if (ok) {
        t->fails = 0;
        if (t->oks < lc->rise)
            t->oks++;
        if (!t->healthy && t->oks >= lc->rise) {
            t->healthy = 1;
            rebuild_up(st, lc->n);
        }
        return;
    }
    t->oks = 0;
    if (t->fails < lc->fall)
        t->fails++;
    if (t->healthy && t->fails >= lc->fall) {
        t->healthy = 0;
        rebuild_up(st, lc->n);
        if (st->measuring)
            st->marked_down++;
    }
}

static void run_checks(gs_component *c, gs_ctx *ctx, lb_state *st, const lb_conf *lc)
{
    for (size_t i = 0; i < lc->n; i++) {
        if (st->t[i].probe)
            continue;   /* cannot happen with timeout <= interval; kept safe */
        gs_request *p = gs_probe(ctx, c);
        if (!p)
            return;
        st->t[i].probe = p;
        /* The timer goes first: with no network latency the reply comes
         * back inside gs_send() and cancels it. Scheduled before the next
         * round, a timeout equal to the interval still runs first. */
        st->t[i].probe_timer = gs_schedule(ctx, c, lc->timeout, EV_PROBE_TIMEOUT, p, i);
        gs_send(ctx, c, lc->targets[i], p);
    }
    gs_schedule(ctx, c, lc->interval, EV_CHECK, NULL, 0);
}

static void reply(gs_component *c, gs_ctx *ctx, lb_state *st, const lb_conf *lc,
                  gs_request *a, gs_outcome o)
{
    if (a->probe) {
        if (!a->done) {
            size_t i = 0;
            while (i < lc->n && st->t[i].probe != a)
                i++;
            if (i < lc->n) {
                gs_cancel(ctx, st->t[i].probe_timer);
                st->t[i].probe = NULL;
                st->t[i].probe_timer = GS_TIMER_NONE;
                check_result(st, lc, (uint32_t)i, o == GS_OUT_OK);
            }
        }
        gs_attempt_free(ctx, a);
        return;
    }
    gs_request *parent = a->parent;
    int abandoned = a->done;
    gs_attempt_free(ctx, a);
    uint32_t i = parent->slot & TARGET_MASK;
    uint32_t spent = parent->slot >> TARGET_BITS;
    st->t[i].outstanding--;
    if (abandoned)
        return;   /* the balancer never abandons request attempts; kept safe */
    if (o == GS_OUT_ERROR && spent < (uint32_t)lc->retries && !parent->done) {
        parent->slot = (spent + 1) << TARGET_BITS | i;
        if (st->measuring)
            st->retries++;
        send_attempt(c, ctx, st, parent, choose(c, st, lc, parent, i), 1);
        return;
    }
    if (st->measuring) {
        if (gs_outcome_answered(o))
            st->answered++;
        else if (o == GS_OUT_ERROR)
            st->errors++;
    }
    gs_answer(ctx, c, parent, o);
}

static void handle(gs_component *c, gs_ctx *ctx, gs_event *ev)
{
    const lb_conf *lc = c->conf;
    lb_state *st = c->state;
    switch (ev->kind) {
    case GS_EV_REQUEST: {
        gs_request *r = ev->req;
        if (r->probe) {
            /* The balancer itself never fails, so it answers health checks. */
            gs_answer(ctx, c, r, GS_OUT_OK);
            return;
        }
        if (st->measuring)
            st->arrivals++;
        r->slot = 0;   /* no retries spent */
        send_attempt(c, ctx, st, r, choose(c, st, lc, r, NONE), 0);
        return;
    }
    case GS_EV_REPLY:
        reply(c, ctx, st, lc, ev->req, (gs_outcome)ev->arg);
        return;
    case EV_CHECK:
        run_checks(c, ctx, st, lc);
        return;
    case EV_PROBE_TIMEOUT: {
        uint32_t i = (uint32_t)ev->arg;
        st->t[i].probe = NULL;
        st->t[i].probe_timer = GS_TIMER_NONE;
        gs_attempt_abandon(ctx, ev->req);
        check_result(st, lc, i, 0);
        return;
    }
    default:
        return;
    }
}

static void window(gs_component *c, gs_ctx *ctx, int open)
{
    (void)ctx;
    lb_state *st = c->state;
    st->measuring = open;
}

static void report(const gs_component *c, const gs_ctx *ctx, gs_metrics *m)
{
    const lb_state *st = c->state;
    double window_s = gs_time_to_s(ctx->duration - ctx->warmup);
    gs_metric(m, "throughput", (double)st->answered / window_s);
    gs_metric(m, "error_ratio",
              st->arrivals ? (double)st->errors / (double)st->arrivals : NAN);
    gs_metric(m, "retry_ratio",
              st->arrivals ? (double)st->retries / (double)st->arrivals : NAN);
    gs_metric(m, "marked_down", (double)st->marked_down);
}

static const char *const series[] = {"healthy", NULL};

/* Targets the balancer believes up, which lags the truth by the checks. */
static void sample(const gs_component *c, const gs_ctx *ctx, double *out)
{
    (void)ctx;
    const lb_state *st = c->state;
    out[0] = (double)st->nup;
}

const gs_component_type gs_load_balancer_type = {
    .name = "load_balancer",
    .keys = keys,
    .conf_size = sizeof(lb_conf),
    .state_size = sizeof(lb_state),
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
