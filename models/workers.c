/* A consumer group of the event-driven pipeline (SPEC §2 `workers`): a pool
 * of identical workers that take messages from one FIFO queue, one message
 * at a time each, then send the request on to `next` or answer it. A broker
 * (models/broker.c) delivers each message to the group as soon as it is
 * published, so the group's queue is its consumer lag: the messages of the
 * topic that no worker of the group has taken yet. Without autoscaling the
 * group is an M/M/c (G/G/c) station with an unbounded queue.
 *
 * Autoscaling {min, max, target_depth, delay, interval}: every `interval`
 * the group computes desired = clamp(ceil(depth / target_depth), min, max)
 * from the messages waiting now. A wish to scale in one direction starts a
 * `delay` (the time to start or stop a worker); when it has run out the
 * count becomes the latest desired value if that is still on the same side
 * of the count, and nothing happens otherwise. A check that finds the
 * desired count equal to the current one, or on the other side, drops the
 * pending change (the other side starts a delay of its own). Scaling down
 * removes idle workers first; a busy worker over the new count finishes its
 * message and then stops. This follows the reactive, queue-depth driven
 * scaling of KEDA-style consumers (a metric polled every interval, replicas
 * = ceil(metric / target), bounded, applied after a stabilisation delay).
 *
 * Invariant: a message waits only while busy >= count (work-conserving
 * FIFO), and busy exceeds count only after a scale-down, by workers that
 * finish the message they hold; the workers present at any instant are
 * max(count, busy), and count stays within [min, max]. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sim/alloc.h"
#include "sim/component.h"
#include "sim/dist.h"
#include "sim/engine.h"
#include "sim/error.h"
#include "sim/fifo.h"
#include "sim/node.h"
#include "sim/stats.h"
#include "sim/units.h"

#define EV_DONE GS_EV_USER
#define EV_CHECK (GS_EV_USER + 1)   /* the autoscaler looks at the queue */
#define EV_APPLY (GS_EV_USER + 2)   /* a pending scale change is due */

/* Bounds that keep a scenario within one machine (docs/scenarios.md). */
#define MAX_WORKERS 1000000L

static const char *const keys[] = {"type", "consumers", "service", "next", "autoscale", NULL};
static const char *const as_keys[] = {"min", "max", "target_depth", "delay", "interval", NULL};

typedef struct workers_conf {
    long    consumers;       /* initial count */
    gs_dist service;         /* seconds */
    int     has_next;
    uint32_t next;
    int     autoscale;
    long    min, max;
    double  target_depth;    /* messages waiting per worker wanted */
    gs_time delay, interval;
} workers_conf;

typedef struct workers {
    gs_fifo      q;          /* waiting messages */
    long         count;      /* workers that take new messages */
    long         busy;
    long         want;       /* desired at the last check */
    int          pending;    /* direction of the change waiting for its delay: -1, 0, +1 */
    gs_timer     apply;
    int          measuring;
    gs_timeavg   busy_avg, queue_avg, workers_avg;
    gs_tally     wait, response;
    uint64_t     arrivals, completed, ups, downs;
    double       util, queue_mean, system_mean, workers_mean;
} workers;

static int read_count(gs_doc *doc, gs_node *m, const char *key, const char *dflt, long *out,
                      gs_diag *d)
{
    int rc = gs_cfg_long(doc, m, key, dflt, out, d);
    if (rc)
        return rc;
    if (*out < 1 || *out > MAX_WORKERS)
        return gs_error_at(d, gs_map_get(m, key), "%s: must be between 1 and %ld workers, "
                           "got %ld", key, MAX_WORKERS, *out);
    return GS_OK;
}

static int read_time(gs_doc *doc, gs_node *m, const char *key, const char *dflt, int positive,
                     gs_time *out, gs_diag *d)
{
    double s;
    int rc = gs_cfg_seconds(doc, m, key, dflt, &s, d);
    if (rc)
        return rc;
    *out = gs_time_from_s(s);
    if (positive && *out < 1)
        return gs_error_at(d, gs_map_get(m, key), "%s: must be at least 1ns, got %s", key,
                           gs_map_get(m, key)->value);
    return GS_OK;
}

static int read_autoscale(workers_conf *wc, gs_doc *doc, gs_node *as, gs_diag *d)
{
    int rc;
    if ((rc = gs_map_check_keys(as, as_keys, "autoscale", d)) ||
        (rc = read_count(doc, as, "min", "1", &wc->min, d)) ||
        (rc = read_count(doc, as, "max", NULL, &wc->max, d)))
        return rc;
    if (wc->min > wc->max)
        return gs_error_at(d, gs_map_get(as, "min"), "autoscale: min (%ld) must be <= max (%ld)",
                           wc->min, wc->max);
    if ((rc = gs_cfg_double(doc, as, "target_depth", NULL, &wc->target_depth, d)))
        return rc;
    if (!(wc->target_depth > 0))
        return gs_error_at(d, gs_map_get(as, "target_depth"), "target_depth: must be > 0 "
                           "messages waiting per worker, got %g", wc->target_depth);
    if ((rc = read_time(doc, as, "delay", "0s", 0, &wc->delay, d)) ||
        (rc = read_time(doc, as, "interval", "1s", 1, &wc->interval, d)))
        return rc;
    wc->autoscale = 1;
    return GS_OK;
}

static int configure(gs_comp_conf *cc, gs_build *b, gs_diag *d)
{
    workers_conf *wc = cc->conf;
    gs_doc *doc = gs_build_doc(b);
    gs_node *m = cc->node;
    int rc;
    gs_node *as = gs_map_get(m, "autoscale");
    if (as && (rc = read_autoscale(wc, doc, as, d)))
        return rc;
    /* With autoscaling the group starts at its minimum unless told. */
    char dflt[32];
    snprintf(dflt, sizeof dflt, "%ld", wc->autoscale ? wc->min : 1L);
    if ((rc = read_count(doc, m, "consumers", dflt, &wc->consumers, d)))
        return rc;
    if (wc->autoscale && (wc->consumers < wc->min || wc->consumers > wc->max))
        return gs_error_at(d, gs_map_get(m, "consumers"), "consumers: the initial count (%ld) "
                           "must be within autoscale min (%ld) and max (%ld)", wc->consumers,
                           wc->min, wc->max);
    gs_node *svc = gs_map_get(m, "service");
    if (!svc)
        return gs_error_at(d, m, "component '%s': missing required key 'service' (the time a "
                           "worker takes per message, e.g. service: {dist: exponential, mean: "
                           "2ms})", cc->id);
    if ((rc = gs_dist_configure(&wc->service, doc, svc, GS_DIST_TIME, d)))
        return rc;
    gs_node *next = gs_map_get(m, "next");
    if (next) {
        if ((rc = gs_build_ref(b, cc, next, "next", &wc->next, d)))
            return rc;
        wc->has_next = 1;
    }
    return GS_OK;
}

static void conf_release(gs_comp_conf *cc)
{
    workers_conf *wc = cc->conf;
    gs_dist_release(&wc->service);
}

static long present(const workers *w) { return w->busy > w->count ? w->busy : w->count; }

static void levels(workers *w, gs_time now)
{
    gs_timeavg_set(&w->busy_avg, now, (double)w->busy);
    gs_timeavg_set(&w->queue_avg, now, (double)w->q.len);
    gs_timeavg_set(&w->workers_avg, now, (double)present(w));
}

static int start(gs_component *c, gs_ctx *ctx)
{
    workers *w = c->state;
    const workers_conf *wc = c->conf;
    memset(w, 0, sizeof *w);
    w->count = wc->consumers;
    w->want = w->count;
    w->apply = GS_TIMER_NONE;
    gs_timeavg_init(&w->busy_avg, 0, 0);
    gs_timeavg_init(&w->queue_avg, 0, 0);
    gs_timeavg_init(&w->workers_avg, 0, (double)w->count);
    gs_tally_init(&w->wait);
    gs_tally_init(&w->response);
    if (wc->autoscale)
        gs_schedule(ctx, c, wc->interval, EV_CHECK, NULL, 0);
    return GS_OK;
}

static void release(gs_component *c)
{
    workers *w = c->state;
    gs_fifo_release(&w->q);
}

static void begin(workers *w, const workers_conf *wc, gs_component *c, gs_ctx *ctx,
                  gs_request *r)
{
    w->busy++;
    if (w->measuring)
        gs_tally_add(&w->wait, gs_time_to_s(ctx->now - r->t_enter));
    gs_time s = gs_time_from_s(gs_dist_sample(&wc->service, c->rng));
    gs_schedule(ctx, c, s, EV_DONE, r, 0);
}

/* Idle workers take waiting messages, oldest first. */
static void dispatch(workers *w, const workers_conf *wc, gs_component *c, gs_ctx *ctx)
{
    while (w->q.len && w->busy < w->count)
        begin(w, wc, c, ctx, gs_fifo_pop(&w->q));
}

static void arrive(workers *w, const workers_conf *wc, gs_component *c, gs_ctx *ctx,
                   gs_request *r)
{
    if (r->probe) {
        /* A health check sees the group up; it takes no worker. */
        gs_answer(ctx, c, r, GS_OUT_OK);
        return;
    }
    r->t_enter = ctx->now;
    if (w->measuring)
        w->arrivals++;
    if (w->busy < w->count) {
        begin(w, wc, c, ctx, r);
    } else if (gs_fifo_push(&w->q, r) != GS_OK) {
        gs_ctx_fail(ctx, GS_ENOMEM);
        return;
    }
    levels(w, ctx->now);
}

static void depart(workers *w, const workers_conf *wc, gs_component *c, gs_ctx *ctx,
                   gs_request *r)
{
    w->busy--;
    if (w->measuring) {
        w->completed++;
        gs_tally_add(&w->response, gs_time_to_s(ctx->now - r->t_enter));
    }
    dispatch(w, wc, c, ctx);
    levels(w, ctx->now);
    if (wc->has_next)
        gs_send(ctx, c, wc->next, r);
    else
        gs_answer(ctx, c, r, GS_OUT_OK);
}

static long desired(const workers *w, const workers_conf *wc)
{
    double n = ceil((double)w->q.len / wc->target_depth);
    if (n < (double)wc->min)
        return wc->min;
    if (n > (double)wc->max)
        return wc->max;
    return (long)n;
}

static void scale_to(workers *w, const workers_conf *wc, gs_component *c, gs_ctx *ctx, long n)
{
    if (n > w->count) {
        if (w->measuring)
            w->ups++;
    } else if (w->measuring) {
        w->downs++;
    }
    w->count = n;
    dispatch(w, wc, c, ctx);
    levels(w, ctx->now);
}

static void apply(workers *w, const workers_conf *wc, gs_component *c, gs_ctx *ctx)
{
    int dir = w->pending;
    w->pending = 0;
    w->apply = GS_TIMER_NONE;
    if ((dir > 0 && w->want > w->count) || (dir < 0 && w->want < w->count))
        scale_to(w, wc, c, ctx, w->want);
}

static void check(workers *w, const workers_conf *wc, gs_component *c, gs_ctx *ctx)
{
    gs_schedule(ctx, c, wc->interval, EV_CHECK, NULL, 0);
    w->want = desired(w, wc);
    int dir = (w->want > w->count) - (w->want < w->count);
    if (dir == w->pending)
        return;   /* nothing wanted, or the same direction is already on its way */
    if (w->pending) {
        gs_cancel(ctx, w->apply);
        w->apply = GS_TIMER_NONE;
        w->pending = 0;
    }
    if (!dir)
        return;
    w->pending = dir;
    if (wc->delay == 0)
        apply(w, wc, c, ctx);
    else
        w->apply = gs_schedule(ctx, c, wc->delay, EV_APPLY, NULL, 0);
}

static void handle(gs_component *c, gs_ctx *ctx, gs_event *ev)
{
    workers *w = c->state;
    const workers_conf *wc = c->conf;
    switch (ev->kind) {
    case GS_EV_REQUEST:
        arrive(w, wc, c, ctx, ev->req);
        break;
    case EV_DONE:
        depart(w, wc, c, ctx, ev->req);
        break;
    case EV_CHECK:
        check(w, wc, c, ctx);
        break;
    case EV_APPLY:
        apply(w, wc, c, ctx);
        break;
    default:
        break;
    }
}

static void window(gs_component *c, gs_ctx *ctx, int open)
{
    workers *w = c->state;
    if (open) {
        w->measuring = 1;
        gs_timeavg_restart(&w->busy_avg, ctx->now);
        gs_timeavg_restart(&w->queue_avg, ctx->now);
        gs_timeavg_restart(&w->workers_avg, ctx->now);
        return;
    }
    w->measuring = 0;
    double busy = gs_timeavg_mean(&w->busy_avg, ctx->now);
    w->workers_mean = gs_timeavg_mean(&w->workers_avg, ctx->now);
    w->util = busy / w->workers_mean;
    w->queue_mean = gs_timeavg_mean(&w->queue_avg, ctx->now);
    w->system_mean = busy + w->queue_mean;
}

static void report(const gs_component *c, const gs_ctx *ctx, gs_metrics *m)
{
    const workers *w = c->state;
    double span = gs_time_to_s(ctx->duration - ctx->warmup);
    gs_metric(m, "utilization", w->util);
    gs_metric(m, "wait_mean", gs_tally_mean(&w->wait));
    gs_metric(m, "response_mean", gs_tally_mean(&w->response));
    gs_metric(m, "queue_mean", w->queue_mean);
    gs_metric(m, "lag_mean", w->queue_mean);
    gs_metric(m, "in_system_mean", w->system_mean);
    gs_metric(m, "throughput", (double)w->completed / span);
    gs_metric(m, "workers_mean", w->workers_mean);
    gs_metric(m, "scale_events", (double)(w->ups + w->downs));
    gs_metric(m, "scale_ups", (double)w->ups);
    gs_metric(m, "scale_downs", (double)w->downs);
}

static const char *const series[] = {"workers", "lag", "busy", NULL};

static void sample(const gs_component *c, const gs_ctx *ctx, double *out)
{
    (void)ctx;
    const workers *w = c->state;
    out[0] = (double)present(w);
    out[1] = (double)w->q.len;
    out[2] = (double)w->busy;
}

const gs_component_type gs_workers_type = {
    .name = "workers",
    .keys = keys,
    .conf_size = sizeof(workers_conf),
    .state_size = sizeof(workers),
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
