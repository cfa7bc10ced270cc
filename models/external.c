/* An external model provider (a cloud API used as a fallback): it answers
 * after `latency`, or fails with probability `error_rate` after
 * `error_latency` (default: `latency`), with no queue of its own — a
 * provider's capacity is not ours to model, only its rate limit is
 * (`rate_limit {rate, burst}`: a call over the limit is rejected at once, as
 * an HTTP 429 would be). Each call costs `cost.per_request` plus
 * `cost.per_1k_tokens` per thousand prompt and output tokens, charged when
 * the call is made, answered or not. Failures, outages and slowdowns work
 * as for queueing components (docs/failures.md): going down fails every
 * call in flight at once; a call made while down fails after
 * network.connect_timeout; a slowdown multiplies latencies drawn during it. */
#include "bucket.h"
#include "failure.h"
#include "held.h"

#include <math.h>

#include "sim/dist.h"
#include "sim/engine.h"
#include "sim/error.h"
#include "sim/node.h"
#include "sim/units.h"

static const char *const keys[] = {
    "type", "latency", "error_latency", "error_rate", "rate_limit", "cost", "failures",
    "outages", "slowdowns", NULL};
static const char *const cost_keys[] = {"per_request", "per_1k_tokens", NULL};

#define EV_DONE GS_EV_USER              /* arg: slot << 32 | failed */
#define EV_REFUSE (GS_EV_USER + 1)
#define EV_FAIL (GS_EV_USER + 2)        /* GS_FAILURE_KINDS kinds from here */

typedef struct external_conf {
    gs_dist         latency, error_latency;
    int             own_error_latency;   /* error_latency given (else a copy of latency) */
    double          error_rate;
    gs_bucket_conf  limit;
    double          per_request, per_1k_tokens;
    gs_failure_conf failure;
} external_conf;

typedef struct external_state {
    gs_bucket  bucket;
    int        fails;
    gs_failure fail;
    gs_held    held;
    int        measuring;
    uint64_t   calls, errors, rejected, answered;
    double     cost;
} external_state;

static int configure(gs_comp_conf *cc, gs_build *b, gs_diag *d)
{
    external_conf *ec = cc->conf;
    gs_doc *doc = gs_build_doc(b);
    gs_node *m = cc->node;
    gs_node *lat = gs_map_get(m, "latency");
    if (!lat)
        return gs_error_at(d, m, "external '%s': missing required key 'latency' (time to the "
                           "answer, e.g. latency: {dist: lognormal, mean: 800ms, cv: 0.5})",
                           cc->id);
    int rc = gs_dist_configure(&ec->latency, doc, lat, GS_DIST_TIME, d);
    if (rc)
        return rc;
    gs_node *el = gs_map_get(m, "error_latency");
    if (el) {
        if ((rc = gs_dist_configure(&ec->error_latency, doc, el, GS_DIST_TIME, d)))
            return rc;
        ec->own_error_latency = 1;
    } else {
        ec->error_latency = ec->latency;   /* shares what latency owns */
    }
    if ((rc = gs_cfg_double(doc, m, "error_rate", "0", &ec->error_rate, d)))
        return rc;
    if (!(ec->error_rate >= 0 && ec->error_rate <= 1))
        return gs_error_at(d, gs_map_get(m, "error_rate"), "error_rate: must be a probability "
                           "between 0 and 1, got %s", gs_map_get(m, "error_rate")->value);
    if ((rc = gs__bucket_configure(&ec->limit, b, m, d)))
        return rc;
    gs_node *cost = gs_map_get(m, "cost");
    if (cost) {
        if ((rc = gs_map_check_keys(cost, cost_keys, "cost", d)) ||
            (rc = gs_cfg_double(doc, cost, "per_request", "0", &ec->per_request, d)) ||
            (rc = gs_cfg_double(doc, cost, "per_1k_tokens", "0", &ec->per_1k_tokens, d)))
            return rc;
        if (ec->per_request < 0)
            return gs_error_at(d, gs_map_get(cost, "per_request"), "per_request: must be >= 0, "
                               "got %s", gs_map_get(cost, "per_request")->value);
        if (ec->per_1k_tokens < 0)
            return gs_error_at(d, gs_map_get(cost, "per_1k_tokens"), "per_1k_tokens: must be "
                               ">= 0, got %s", gs_map_get(cost, "per_1k_tokens")->value);
    }
    return gs_failure_configure(&ec->failure, doc, m, d);
}

static void conf_release(gs_comp_conf *cc)
{
    external_conf *ec = cc->conf;
    if (ec->own_error_latency)
        gs_dist_release(&ec->error_latency);
    gs_dist_release(&ec->latency);
    gs_failure_conf_release(&ec->failure);
}

static int start(gs_component *c, gs_ctx *ctx)
{
    const external_conf *ec = c->conf;
    external_state *st = c->state;
    gs__bucket_start(&st->bucket, &ec->limit);
    if (gs_failure_configured(&ec->failure)) {
        st->fails = 1;
        return gs_failure_start(&st->fail, &ec->failure, c, ctx, EV_FAIL, c->cc->id);
    }
    return GS_OK;
}

static void release(gs_component *c)
{
    external_state *st = c->state;
    gs_failure_release(&st->fail);
    gs__held_release(&st->held);
}

static void call(gs_component *c, gs_ctx *ctx, gs_request *r)
{
    const external_conf *ec = c->conf;
    external_state *st = c->state;
    if (st->fails && gs_failure_down(&st->fail)) {
        if (ctx->connect_timeout == 0)
            gs_answer(ctx, c, r, GS_OUT_ERROR);
        else
            gs_schedule(ctx, c, ctx->connect_timeout, EV_REFUSE, r, 0);
        return;
    }
    if (r->probe) {
        gs_answer(ctx, c, r, GS_OUT_OK);
        return;
    }
    if (ec->limit.on && !gs__bucket_take(&st->bucket, &ec->limit, ctx->now)) {
        if (st->measuring)
            st->rejected++;
        gs_answer(ctx, c, r, GS_OUT_REJECTED);
        return;
    }
    double cost = ec->per_request +
                  ec->per_1k_tokens * ((double)r->prompt_tokens + (double)r->output_tokens) / 1000;
    if (cost > 0)
        gs_charge(ctx, r, cost);
    int failed = ec->error_rate > 0 && gsl_rng_uniform(c->rng) < ec->error_rate;
    double s = gs_dist_sample(failed ? &ec->error_latency : &ec->latency, c->rng);
    size_t slot = 0;
    if (st->fails) {
        if (gs__held_take(&st->held, &slot) != GS_OK) {
            gs_ctx_fail(ctx, GS_ENOMEM);
            return;
        }
        s *= gs_failure_factor(&st->fail, ctx->now);
    }
    if (st->measuring) {
        st->calls++;
        st->cost += cost;
    }
    gs_timer t = gs_schedule(ctx, c, gs_time_from_s(s), EV_DONE, r,
                             (uint64_t)slot << 32 | (uint64_t)failed);
    if (st->fails)
        gs__held_set(&st->held, slot, r, t);
}

static void handle(gs_component *c, gs_ctx *ctx, gs_event *ev)
{
    external_state *st = c->state;
    switch (ev->kind) {
    case GS_EV_REQUEST:
        call(c, ctx, ev->req);
        break;
    case EV_DONE: {
        int failed = (int)(ev->arg & 1);
        if (st->fails)
            gs__held_put(&st->held, (size_t)(ev->arg >> 32));
        if (st->measuring) {
            st->answered++;
            st->errors += (uint64_t)failed;
        }
        gs_answer(ctx, c, ev->req, failed ? GS_OUT_ERROR : GS_OUT_OK);
        break;
    }
    case EV_REFUSE:
        gs_answer(ctx, c, ev->req, GS_OUT_ERROR);
        break;
    default:
        if (st->fails && gs_failure_owns(&st->fail, ev->kind) &&
            gs_failure_handle(&st->fail, c, ctx, ev) == GS_FAILURE_DOWN)
            gs__held_fail_all(&st->held, ctx, c);
        break;
    }
}

static void window(gs_component *c, gs_ctx *ctx, int open)
{
    external_state *st = c->state;
    st->measuring = open;
    if (st->fails)
        gs_failure_window(&st->fail, ctx->now, open);
}

static void report(const gs_component *c, const gs_ctx *ctx, gs_metrics *m)
{
    const external_conf *ec = c->conf;
    const external_state *st = c->state;
    double window_s = gs_time_to_s(ctx->duration - ctx->warmup);
    gs_metric(m, "throughput", (double)st->answered / window_s);
    gs_metric(m, "error_ratio", st->answered ? (double)st->errors / (double)st->answered : NAN);
    if (ec->limit.on) {
        uint64_t offered = st->calls + st->rejected;
        gs_metric(m, "rejected_ratio", offered ? (double)st->rejected / (double)offered : NAN);
    }
    gs_metric(m, "cost_per_s", st->cost / window_s);
    gs_metric(m, "down_ratio", st->fails ? gs_failure_down_ratio(&st->fail) : 0.0);
}

static const char *const series[] = {"in_flight", "up", NULL};

static void sample(const gs_component *c, const gs_ctx *ctx, double *out)
{
    (void)ctx;
    const external_state *st = c->state;
    out[0] = (double)(st->held.n - st->held.nfree);
    out[1] = st->fails && gs_failure_down(&st->fail) ? 0 : 1;
}

const gs_component_type gs_external_type = {
    .name = "external",
    .keys = keys,
    .conf_size = sizeof(external_conf),
    .state_size = sizeof(external_state),
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
