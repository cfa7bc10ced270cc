/* Workload sources: open arrival processes (Poisson, deterministic) and
 * closed populations (each user sends, waits for the answer or its
 * deadline, thinks, and sends again), and the end-to-end accounting of SPEC
 * §3: a request is counted when it arrives in [warmup, duration) and gets
 * exactly one outcome, recorded when its answer reaches the client or when
 * its deadline passes, whichever is first.
 *
 * Invariant: the last holder of a request frees it. After an outcome the
 * request may still be held by a component (an abandoned attempt keeps its
 * server) or be on its way back; whoever lets go of it last returns it to
 * the pool. */
#include "source.h"

#include <math.h>
#include <string.h>

#include "component.h"
#include "dist.h"
#include "engine.h"
#include "error.h"
#include "scenario.h"

typedef struct source_state {
    uint64_t scheduled;  /* open processes: arrivals scheduled so far */
} source_state;

void gs__source_stats_init(gs_source_stats *s)
{
    s->arrivals = s->pending = s->attempts = s->in_deadline = 0;
    s->cost = 0;
    for (int i = 0; i < GS_OUT_COUNT; i++)
        s->outcome[i] = 0;
    gs_tally_init(&s->latency);
    gs_hist_init(&s->hist);
    gs_tally_init(&s->ttft);
    gs_tally_init(&s->tpot);
    gs_hist_init(&s->ttft_hist);
    gs_hist_init(&s->tpot_hist);
}

static uint32_t draw_tokens(const gs_dist *dist, gsl_rng *r)
{
    /* Token counts are whole and at least one. */
    double x = floor(gs_dist_sample(dist, r) + 0.5);
    if (!(x >= 1))
        return 1;
    if (x > 4e9)
        return 4000000000u;
    return (uint32_t)x;
}

static void launch(gs_component *c, gs_ctx *ctx, uint32_t user)
{
    const gs_workload *w = c->conf;
    gs_request *r = gs__request_new(ctx);
    if (!r)
        return;
    gs_source_stats *s = gs__world_stats(ctx);
    r->t_arrival = ctx->now;
    r->source = c->index;
    r->cls = w->cls;
    r->user = user;
    r->counted = ctx->now >= ctx->warmup && ctx->now < ctx->duration;
    if (s->iv)
        s->iv->arrivals++;
    if (r->counted) {
        s->arrivals++;
        s->pending++;
        s->attempts++;
    }
    if (w->keys)
        r->key = 1 + (uint64_t)gsl_ran_discrete(c->rng, w->keys);
    if (w->has_prompt)
        r->prompt_tokens = draw_tokens(&w->prompt_tokens, c->rng);
    if (w->has_output)
        r->output_tokens = draw_tokens(&w->output_tokens, c->rng);
    r->t_deadline = GS_TIME_MAX;
    r->deadline = GS_TIMER_NONE;
    if (w->deadline != GS_TIME_MAX) {
        r->t_deadline = gs_time_add(ctx->now, w->deadline);
        r->deadline = gs_schedule(ctx, c, w->deadline, GS_SOURCE_EV_DEADLINE, r, 0);
    }
    gs_send(ctx, c, w->entry, r);
}

static void think(gs_component *c, gs_ctx *ctx, uint32_t user)
{
    const gs_workload *w = c->conf;
    gs_time t = gs_time_from_s(gs_dist_sample(&w->think, c->rng));
    if (gs_time_add(ctx->now, t) < ctx->duration)
        gs_schedule(ctx, c, t, GS_SOURCE_EV_USER, NULL, user);
}

/* Schedule the next arrival of an open process, if it falls before the end.
 * Deterministic arrivals are placed at k / rate exactly rather than by
 * adding rounded gaps, which would drift. */
static void next_arrival(gs_component *c, gs_ctx *ctx)
{
    const gs_workload *w = c->conf;
    source_state *st = c->state;
    gs_time t;
    if (w->process == GS_PROC_DETERMINISTIC)
        t = gs_time_from_s((double)(st->scheduled + 1) / w->rate);
    else
        t = gs_time_add(ctx->now, gs_time_from_s(gs_dist_sample(&w->gap, c->rng)));
    if (t < ctx->duration) {
        st->scheduled++;
        gs_schedule(ctx, c, t - ctx->now, GS_SOURCE_EV_ARRIVE, NULL, 0);
    }
}

static int start(gs_component *c, gs_ctx *ctx)
{
    const gs_workload *w = c->conf;
    if (w->process == GS_PROC_CLOSED) {
        /* Users begin by thinking, so they do not all send at time 0. */
        for (long u = 0; u < w->users; u++)
            think(c, ctx, (uint32_t)u);
        return GS_OK;
    }
    next_arrival(c, ctx);
    return GS_OK;
}

/* TTFT from the client's send; TPOT over the output tokens after the
 * first. Only a request whose last token is marked too counts: one whose
 * tokens were cut off by a failure and that was then answered some other
 * way has no token times of its own. */
static void tokens(gs_source_stats *s, const gs_request *r)
{
    gs_time ttft = r->t_first_token - r->t_arrival;
    gs_tally_add(&s->ttft, gs_time_to_s(ttft));
    gs_hist_add(&s->ttft_hist, ttft);
    if (r->output_tokens > 1) {
        double tpot = (double)(r->t_last_token - r->t_first_token) /
                      (double)(r->output_tokens - 1);
        gs_tally_add(&s->tpot, tpot / GS_NS_PER_S);
        gs_hist_add(&s->tpot_hist, (int64_t)(tpot + 0.5));
    }
}

static void record(gs_component *c, gs_ctx *ctx, gs_request *r, gs_outcome o)
{
    const gs_workload *w = c->conf;
    r->done = 1;
    r->outcome = (uint8_t)o;
    gs_source_interval *iv = gs__world_stats(ctx)->iv;
    if (iv) {
        iv->done++;
        if (gs_outcome_answered(o)) {
            iv->answered++;
            gs_hist_add(&iv->hist, ctx->now - r->t_arrival);
        }
        iv->available += o == GS_OUT_OK || o == GS_OUT_FALLBACK;
    }
    if (r->counted) {
        gs_source_stats *s = gs__world_stats(ctx);
        s->pending--;
        s->outcome[o]++;
        if (gs_outcome_answered(o)) {
            gs_time lat = ctx->now - r->t_arrival;
            gs_tally_add(&s->latency, gs_time_to_s(lat));
            gs_hist_add(&s->hist, lat);
            if (ctx->now <= r->t_deadline)
                s->in_deadline++;
            if (r->t_first_token > 0 && r->t_last_token >= r->t_first_token)
                tokens(s, r);
        }
    }
    if (w->process == GS_PROC_CLOSED)
        think(c, ctx, r->user);
}

void gs__source_deliver(gs_ctx *ctx, gs_component *src, gs_request *r, gs_outcome o)
{
    if (r->deadline.ev) {
        gs_cancel(ctx, r->deadline);
        r->deadline = GS_TIMER_NONE;
    }
    record(src, ctx, r, o);
    gs__request_free(ctx, r);
}

static void handle(gs_component *c, gs_ctx *ctx, gs_event *ev)
{
    gs_request *r = ev->req;
    switch (ev->kind) {
    case GS_SOURCE_EV_ARRIVE:
        next_arrival(c, ctx);
        launch(c, ctx, 0);
        break;
    case GS_SOURCE_EV_USER:
        launch(c, ctx, (uint32_t)ev->arg);
        break;
    case GS_SOURCE_EV_DEADLINE:
        /* The request is still held somewhere (a component, a hop, or its
         * answer on the way back); that holder frees it. */
        r->deadline = GS_TIMER_NONE;
        if (!r->done)
            record(c, ctx, r, GS_OUT_TIMEOUT);
        break;
    case GS_SOURCE_EV_ANSWER:
        if (r->done)
            gs__request_free(ctx, r);
        else
            gs__source_deliver(ctx, c, r, (gs_outcome)ev->arg);
        break;
    default:
        break;
    }
}

static void report(const gs_component *c, const gs_ctx *ctx, gs_metrics *m)
{
    (void)c;
    (void)ctx;
    (void)m;
}

void gs__source_report(const gs_source_stats *s, const gs_scenario *sc, const gs_ctx *ctx,
                       gs_metrics *m)
{
    (void)ctx;
    double window = gs_time_to_s(sc->duration - sc->warmup);
    double n = (double)s->arrivals;
    uint64_t answered = s->outcome[GS_OUT_OK] + s->outcome[GS_OUT_FALLBACK] +
                        s->outcome[GS_OUT_DEGRADED];
    static const struct { const char *name; double q; } pct[] = {
        {"latency_p50", 0.50}, {"latency_p90", 0.90}, {"latency_p95", 0.95},
        {"latency_p99", 0.99}, {"latency_p999", 0.999}};
    gs_metric(m, "latency_mean", gs_tally_mean(&s->latency));
    for (size_t i = 0; i < sizeof pct / sizeof pct[0]; i++)
        gs_metric(m, pct[i].name, gs_hist_quantile(&s->hist, pct[i].q) / GS_NS_PER_S);
    gs_metric(m, "throughput", (double)answered / window);
    gs_metric(m, "offered_rate", n / window);
    gs_metric(m, "availability",
              n > 0 ? (double)(s->outcome[GS_OUT_OK] + s->outcome[GS_OUT_FALLBACK]) / n : NAN);
    static const char *const ratio[GS_OUT_COUNT] = {
        "ok_ratio", "fallback_ratio", "degraded_ratio", "error_ratio", "timeout_ratio",
        "rejected_ratio"};
    for (int o = 0; o < GS_OUT_COUNT; o++)
        gs_metric(m, ratio[o], n > 0 ? (double)s->outcome[o] / n : NAN);
    /* No component of this version retries or charges, so these are exactly
     * 0, 1 and 0; they are counted, not assumed, so that components that do
     * retry only have to count their attempts. */
    gs_metric(m, "retries_per_request", n > 0 ? (double)(s->attempts - s->arrivals) / n : NAN);
    gs_metric(m, "load_amplification", n > 0 ? (double)s->attempts / n : NAN);
    gs_metric(m, "cost_per_1k_requests", n > 0 ? 1000.0 * s->cost / n : NAN);
    gs_metric(m, "goodput", (double)s->in_deadline / window);
    /* Only scenarios with a GPU pool have token times; the rows of others
     * stay as they were. */
    int pools = 0;
    for (size_t i = 0; i < sc->ncomponents; i++)
        pools |= strcmp(sc->comps[i].type->name, "gpu_pool") == 0;
    if (pools) {
        gs_metric(m, "ttft_mean", gs_tally_mean(&s->ttft));
        gs_metric(m, "ttft_p99", gs_hist_quantile(&s->ttft_hist, 0.99) / GS_NS_PER_S);
        gs_metric(m, "tpot_mean", gs_tally_mean(&s->tpot));
        gs_metric(m, "tpot_p99", gs_hist_quantile(&s->tpot_hist, 0.99) / GS_NS_PER_S);
    }
}

const gs_component_type gs_source_type = {
    .name = "workload",
    .keys = NULL,
    .conf_size = 0,
    .state_size = sizeof(source_state),
    .configure = NULL,
    .start = start,
    .handle = handle,
    .window = NULL,
    .report = report,
};

const char *gs_outcome_name(gs_outcome o)
{
    static const char *const names[] = {
#define GS_OUTCOME_NAME(name, text) text,
        GS_OUTCOME_LIST(GS_OUTCOME_NAME)
#undef GS_OUTCOME_NAME
    };
    return (unsigned)o < GS_OUT_COUNT ? names[o] : "unknown";
}
