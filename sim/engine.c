/* The event loop of one replication.
 *
 * A replication is a self-contained world (calendar, request pool, component
 * states, random streams), so replications can run on any thread and give
 * the same bytes. The loop pops the earliest event, advances the clock and
 * hands the event to its component. It ends when the observation window has
 * closed and every request that arrived inside it has its outcome (SPEC §3:
 * none is lost from the count), or when nothing is left to happen.
 *
 * A hop with zero network delay is delivered by a direct call rather than
 * through the calendar: it happens at the same instant either way, and it
 * halves the events of a zero-latency chain.
 *
 * Recovery after scheduled faults (issue 9, docs/results.md): when any
 * component has `outages` or `slowdowns`, the run samples every
 * sample_interval window (as a traced run does) and keeps three counts and
 * the p99 of each window; after the run each fault is judged against the
 * windows of the minute before it, and the system has recovered at the
 * first window from which RECOVERY_RUN windows in a row are healthy. This
 * costs O(1) per event (the interval counts and histogram) and
 * O(buckets) per window; runs without scheduled faults pay nothing. The
 * rule is ours: it follows the usual reading of "time to return within a
 * tolerance of the pre-fault level and stay there" of the metastability
 * literature (Bronson et al., "Metastable Failures in Distributed Systems",
 * HotOS 2021), made precise in docs/results.md.
 *
 * A pilot run for `warmup: auto` (sim/warmup.c) adds each client answer's
 * latency to a bin of its arrival time: two adds per answer, into arrays
 * the caller sized, and one untaken branch in other runs. */
#include "engine.h"

#include <math.h>
#include <string.h>

#include "alloc.h"
#include "dist.h"
#include "error.h"
#include "node.h"
#include "pool.h"
#include "rng.h"
#include "scenario.h"
#include "source.h"
#include "stats.h"
#include "units.h"
#include "warmup.h"

#define ENGINE_TARGET UINT32_MAX
#define MAX_DIRECT_DEPTH 32
/* More events than this at one instant (plus a few per closed user, who
 * may all legitimately start at once) mean that simulated time has stopped
 * advancing, e.g. closed users with no think time whose requests are
 * refused at once: the run stops with an error instead of hanging. */
#define MAX_EVENTS_AT_ONE_TIME 10000000ULL
#define EVENTS_PER_USER 8ULL
enum { EV_WINDOW_OPEN, EV_WINDOW_CLOSE, EV_SAMPLE };

/* The system's columns of the time series, before the components'. */
static const char *const system_series[] = {"throughput", "offered_rate", "latency_p50",
                                            "latency_p99", "availability",
                                            "load_amplification", "goodput", NULL};
#define SYSTEM_COLS 7

/* recovery_time (docs/results.md): the baseline is taken over the sample
 * windows of the last BASELINE_NS before a fault starts, and a system has
 * recovered once RECOVERY_RUN consecutive windows are healthy, so that one
 * lucky window does not count. */
#define BASELINE_NS ((gs_time)60000000000)
#define RECOVERY_RUN 3
#define RECOVERY_TOL 0.10
/* Sampling error allowed in a window's availability, in standard errors of
 * a binomial share. */
#define RECOVERY_Z 3.0

/* A scheduled outage or slowdown of some component: [at, end). */
typedef struct fault {
    gs_time at, end;
} fault;

/* Windows a replication with scheduled faults keeps for recovery_time (32
 * bytes each). */
#define MAX_RECOVERY_WINDOWS 10000000L

/* What recovery_time needs of one sample window. */
typedef struct window_sum {
    double   p99;                 /* seconds; NaN when nothing was answered */
    uint64_t answered, done, available;
} window_sum;

struct gs_world {
    const gs_scenario *sc;
    uint64_t       rep;
    gs_calendar    cal;
    gs_pool        requests;
    gs_component  *comps;
    size_t         ncomps;
    gs_ctx         ctx;
    int            status;
    int            closed;          /* the observation window has closed */
    uint64_t       holds;           /* gs_hold(): work the run waits for after the window */
    gs_trace      *trace;           /* NULL: not traced */
    gs_source_interval iv;          /* the current sample interval when sampling */
    int            sampling;        /* EV_SAMPLE runs: traced, or faults to assess */
    size_t         nsamples;        /* sample windows in [0, duration) */
    size_t         sample;          /* samples taken */
    fault         *faults;          /* scheduled faults of every component */
    size_t         nfaults;
    window_sum    *win;             /* nsamples summaries when nfaults > 0 */
    int            depth;           /* nested direct deliveries */
    uint64_t       same_time;       /* events handled at instant stall_at, roughly */
    gs_time        stall_at;
    uint64_t       same_time_max;   /* more than this: time has stopped */
    uint64_t       next_id;
    size_t         max_in_flight;   /* simulation.max_in_flight */
    size_t         peak_in_flight;  /* most requests alive at once */
    int            over_limit;      /* stopped at max_in_flight */
    uint64_t       events;
    gs_time        hop_constant;    /* network.latency when deterministic, else -1 */
    gs_pilot      *pilot;           /* NULL unless a pilot run for warmup: auto */
    gs_source_stats sys;
};

static void fail(gs_world *w, int status)
{
    if (w->status == GS_OK)
        w->status = status;
}

void gs_ctx_fail(gs_ctx *ctx, int status) { fail(ctx->world, status); }

gs_source_stats *gs__world_stats(gs_ctx *ctx) { return &ctx->world->sys; }

gs_request *gs__request_new(gs_ctx *ctx)
{
    gs_world *w = ctx->world;
    /* An overloaded open system grows its queues without end; stopping
     * here gives the user a message instead of the machine's OOM killer. */
    if (w->requests.live >= w->max_in_flight) {
        w->over_limit = 1;
        fail(w, GS_EINVAL);
        return NULL;
    }
    gs_request *r = gs_pool_get(&w->requests);
    if (!r) {
        fail(w, GS_ENOMEM);
        return NULL;
    }
    if (w->requests.live > w->peak_in_flight)
        w->peak_in_flight = w->requests.live;
    memset(r, 0, sizeof *r);
    r->id = w->next_id++;
    return r;
}

void gs__request_free(gs_ctx *ctx, gs_request *r)
{
    gs_pool_put(&ctx->world->requests, r);
}

static inline gs_time hop_delay(gs_world *w, gs_component *from)
{
    if (w->hop_constant >= 0)
        return w->hop_constant;
    return gs_time_from_s(gs_dist_sample(&w->sc->latency, from->net_rng));
}

static inline void dispatch(gs_world *w, gs_event *ev)
{
    gs_component *c = &w->comps[ev->target];
    c->type->handle(c, &w->ctx, ev);
}

void gs_send(gs_ctx *ctx, gs_component *from, uint32_t to, gs_request *r)
{
    gs_world *w = ctx->world;
    gs_time delay = hop_delay(w, from);
    r->hops++;
    /* Direct delivery nests one call per hop; past a few the calendar
     * takes over, so a long zero-latency chain cannot exhaust the stack. */
    if (delay == 0 && w->depth < MAX_DIRECT_DEPTH) {
        gs_event ev = {.time = ctx->now, .req = r, .target = to, .kind = GS_EV_REQUEST,
                       .pos = GS_EV_NOT_PENDING};
        w->depth++;
        dispatch(w, &ev);
        w->depth--;
        return;
    }
    if (!gs_cal_push(&w->cal, gs_time_add(ctx->now, delay), to, GS_EV_REQUEST, r, 0))
        fail(w, GS_ENOMEM);
}

gs_timer gs_schedule(gs_ctx *ctx, const gs_component *self, gs_time delay, uint32_t kind,
                     gs_request *r, uint64_t arg)
{
    gs_world *w = ctx->world;
    gs_event *e = gs_cal_push(&w->cal, gs_time_add(ctx->now, delay), self->index, kind, r, arg);
    if (!e) {
        fail(w, GS_ENOMEM);
        return GS_TIMER_NONE;
    }
    return gs_timer_of(e);
}

int gs_cancel(gs_ctx *ctx, gs_timer t) { return gs_cal_cancel(&ctx->world->cal, t); }

gs_request *gs_attempt(gs_ctx *ctx, const gs_component *from, gs_request *parent, int retry)
{
    gs_request *a = gs__request_new(ctx);
    if (!a)
        return NULL;
    uint64_t id = a->id;
    *a = *parent;
    a->id = id;
    a->deadline = GS_TIMER_NONE;
    a->hops = 0;
    /* counted is inherited, so that a retry anywhere down the chain counts
     * for the client request, and a charge needs no walk up to it. */
    a->done = 0;
    a->attempt = 1;
    a->caller = from->index;
    a->parent = parent;
    gs_source_stats *s = gs__world_stats(ctx);
    if (retry && parent->counted)
        s->attempts++;
    if (retry && s->iv && !parent->probe)
        s->iv->attempts++;
    return a;
}

gs_request *gs_probe(gs_ctx *ctx, const gs_component *from)
{
    gs_request *a = gs__request_new(ctx);
    if (!a)
        return NULL;
    a->t_arrival = ctx->now;
    a->t_deadline = GS_TIME_MAX;
    a->deadline = GS_TIMER_NONE;
    a->attempt = 1;
    a->probe = 1;
    a->caller = from->index;
    a->parent = NULL;
    return a;
}

gs_request *gs_replay(gs_ctx *ctx, const gs_component *from, const gs_request *orig)
{
    gs_request *a = gs__request_new(ctx);
    if (!a)
        return NULL;
    a->t_arrival = ctx->now;
    a->t_deadline = GS_TIME_MAX;
    a->deadline = GS_TIMER_NONE;
    a->key = orig->key;
    a->source = orig->source;
    a->cls = orig->cls;
    a->user = orig->user;
    a->prompt_tokens = orig->prompt_tokens;
    a->output_tokens = orig->output_tokens;
    a->attempt = 1;
    a->caller = from->index;
    return a;
}

void gs_hold(gs_ctx *ctx, int delta)
{
    ctx->world->holds = (uint64_t)((int64_t)ctx->world->holds + delta);
}

void gs_charge(gs_ctx *ctx, const gs_request *r, double amount)
{
    if (r->counted)
        gs__world_stats(ctx)->cost += amount;
}

void gs_attempt_abandon(gs_ctx *ctx, gs_request *attempt)
{
    (void)ctx;
    attempt->done = 1;
    /* The caller may now answer and free the parent while the attempt
     * travels on: nothing may reach the parent through it any more. */
    attempt->parent = NULL;
}

void gs_attempt_free(gs_ctx *ctx, gs_request *attempt) { gs__request_free(ctx, attempt); }

/* A client request that arrived at `arrival` is answered at `at`. A deadline
 * that passes while the answer travels back is not checked: the pilot only
 * needs the trend of the latency. */
static void pilot_record(gs_pilot *p, gs_time arrival, gs_time at)
{
    size_t k = (size_t)(arrival / p->bin);
    if (k >= p->nbins)
        return;
    p->sum[k] += gs_time_to_s(at - arrival);
    p->count[k]++;
}

void gs_answer(gs_ctx *ctx, gs_component *from, gs_request *r, gs_outcome o)
{
    gs_world *w = ctx->world;
    if (r->done) {
        /* The client (or the caller of an attempt) gave up earlier: this
         * answer reaches nobody. */
        gs__request_free(ctx, r);
        return;
    }
    /* The answer goes back over the hops the request came by. */
    gs_time back = 0;
    if (w->hop_constant >= 0)
        back = w->hop_constant * (gs_time)r->hops;
    else
        for (uint32_t i = 0; i < r->hops; i++)
            back = gs_time_add(back, hop_delay(w, from));
    if (r->attempt) {
        if (back == 0 && w->depth < MAX_DIRECT_DEPTH) {
            gs_event ev = {.time = ctx->now, .req = r, .arg = (uint64_t)o, .target = r->caller,
                           .kind = GS_EV_REPLY, .pos = GS_EV_NOT_PENDING};
            w->depth++;
            dispatch(w, &ev);
            w->depth--;
        } else if (!gs_cal_push(&w->cal, gs_time_add(ctx->now, back), r->caller, GS_EV_REPLY, r,
                                (uint64_t)o)) {
            fail(w, GS_ENOMEM);
        }
        return;
    }
    if (w->pilot && gs_outcome_answered(o))
        pilot_record(w->pilot, r->t_arrival, gs_time_add(ctx->now, back));
    if (back == 0) {
        gs__source_deliver(ctx, &w->comps[r->source], r, o);
        return;
    }
    if (!gs_cal_push(&w->cal, gs_time_add(ctx->now, back), r->source, GS_SOURCE_EV_ANSWER, r,
                     (uint64_t)o))
        fail(w, GS_ENOMEM);
}

/* ---- metrics sink ---- */

void gs_metric(gs_metrics *m, const char *name, double value)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 64;
        gs_metric_value *v = gs_realloc(m->v, cap * sizeof *v);
        if (!v) {
            m->status = GS_ENOMEM;
            return;
        }
        m->v = v;
        m->cap = cap;
    }
    m->v[m->n++] = (gs_metric_value){m->component, name, value};
}

void gs_metrics_release(gs_metrics *m)
{
    gs_free(m->v);
    memset(m, 0, sizeof *m);
}

/* ---- world ---- */

static void world_release(gs_world *w)
{
    if (w->comps) {
        for (size_t i = 0; i < w->ncomps; i++) {
            gs_component *c = &w->comps[i];
            if (c->state && c->type->release)
                c->type->release(c);
            gs_free(c->state);
            if (c->rng)
                gsl_rng_free(c->rng);
            if (c->net_rng)
                gsl_rng_free(c->net_rng);
        }
        gs_free(w->comps);
    }
    gs_cal_release(&w->cal);
    gs_pool_release(&w->requests);
    gs_free(w->faults);
    gs_free(w->win);
}

static int has_key(const gs_component_type *t, const char *key)
{
    for (const char *const *k = t->keys; k && *k; k++)
        if (strcmp(*k, key) == 0)
            return 1;
    return 0;
}

/* The time in nanoseconds of key `key` of item, or -1. */
static gs_time item_time(const gs_node *item, const char *key)
{
    const gs_node *n = item->kind == GS_NODE_MAP ? gs_map_get(item, key) : NULL;
    double s;
    if (!n || n->kind != GS_NODE_SCALAR || !n->value || gs_parse_time(n->value, &s) != 0 ||
        s < 0)
        return -1;
    return gs_time_from_s(s);
}

/* The scheduled outages and slowdowns of every component, read from the
 * scenario's nodes: the component types that accept these keys have
 * already checked them, and reading them here keeps the engine free of any
 * type's configuration layout. Random failures are not scheduled faults. */
static int read_faults(gs_world *w, gs_diag *d)
{
    static const char *const keys[] = {"outages", "slowdowns"};
    const gs_scenario *sc = w->sc;
    size_t n = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sc->ncomponents; i++) {
            const gs_comp_conf *cc = &sc->comps[i];
            for (size_t k = 0; k < 2; k++) {
                const gs_node *list = cc->node && has_key(cc->type, keys[k])
                                          ? gs_map_get(cc->node, keys[k]) : NULL;
                if (!list || list->kind != GS_NODE_SEQ)
                    continue;
                for (size_t j = 0; j < list->len; j++) {
                    gs_time at = item_time(list->items[j], "at");
                    gs_time len = item_time(list->items[j], "for");
                    if (at < 0 || len <= 0)
                        continue;
                    if (pass == 1)
                        w->faults[n] = (fault){at, gs_time_add(at, len)};
                    n++;
                }
            }
        }
        if (pass == 0) {
            if (n == 0)
                return GS_OK;
            w->faults = gs_malloc(n * sizeof *w->faults);
            if (!w->faults)
                return gs_error(d, GS_ENOMEM, "out of memory");
            n = 0;
        }
    }
    w->nfaults = n;
    return GS_OK;
}

/* A replication with scheduled faults keeps a summary of every sample
 * window for recovery_time. */
static int windows_fit(const gs_scenario *sc, gs_diag *d)
{
    size_t n = gs_trace_samples(sc);
    if (n <= MAX_RECOVERY_WINDOWS)
        return GS_OK;
    const gs_node *si = gs_scenario_setting(sc, "sample_interval");
    const gs_node *du = gs_scenario_setting(sc, "duration");
    return gs_error_at(d, si,
                       "sample_interval: recovery_time follows the scheduled faults in windows "
                       "of sample_interval, and %s over duration %s makes %zu of them, more "
                       "than the limit of %ld; use a sample_interval of at least %.6gs",
                       si && si->value ? si->value : "?", du && du->value ? du->value : "?", n,
                       MAX_RECOVERY_WINDOWS,
                       gs_time_to_s(sc->duration) / (double)MAX_RECOVERY_WINDOWS);
}

int gs_run_check(const gs_scenario *sc, gs_diag *d)
{
    /* A world is large (histograms): not on the stack. */
    gs_world *w = gs_calloc(1, sizeof *w);
    if (!w)
        return gs_error(d, GS_ENOMEM, "out of memory");
    w->sc = sc;
    int rc = read_faults(w, d);
    if (rc == GS_OK && w->nfaults > 0)
        rc = windows_fit(sc, d);
    gs_free(w->faults);
    gs_free(w);
    return rc;
}

static int world_init(gs_world *w, const gs_scenario *sc, uint64_t rep, gs_diag *d)
{
    memset(w, 0, sizeof *w);
    w->sc = sc;
    w->rep = rep;
    gs_cal_init(&w->cal);
    gs_pool_init(&w->requests, sizeof(gs_request), 512);
    w->max_in_flight = (size_t)sc->max_in_flight;
    w->ctx.world = w;
    w->ctx.warmup = sc->warmup;
    w->ctx.duration = sc->duration;
    w->ctx.seed = sc->seed;
    w->ctx.replication = rep;
    w->ctx.connect_timeout = sc->connect_timeout;
    w->hop_constant = gs_dist_is_constant(&sc->latency)
                          ? gs_time_from_s(gs_dist_mean(&sc->latency)) : -1;
    gs__source_stats_init(&w->sys);
    w->same_time_max = MAX_EVENTS_AT_ONE_TIME;
    for (size_t i = 0; i < sc->nworkloads; i++)
        if (sc->workloads[i].process == GS_PROC_CLOSED)
            w->same_time_max += EVENTS_PER_USER * (uint64_t)sc->workloads[i].users;
    w->ncomps = sc->nall;
    w->comps = gs_calloc(w->ncomps, sizeof *w->comps);
    if (!w->comps)
        return gs_error(d, GS_ENOMEM, "out of memory");
    for (size_t i = 0; i < w->ncomps; i++) {
        const gs_comp_conf *cc = &sc->comps[i];
        gs_component *c = &w->comps[i];
        c->cc = cc;
        c->type = cc->type;
        c->conf = cc->conf;
        c->index = (uint32_t)i;
        char net[300];
        snprintf(net, sizeof net, "net:%s", cc->id);
        c->rng = gs_rng_new(sc->seed, rep, cc->id);
        c->net_rng = gs_rng_new(sc->seed, rep, net);
        c->state = gs_calloc(1, c->type->state_size ? c->type->state_size : 1);
        if (!c->rng || !c->net_rng || !c->state)
            return gs_error(d, GS_ENOMEM, "out of memory");
    }
    /* The window events go first so that, at equal times, they precede
     * anything the components schedule. */
    if (!gs_cal_push(&w->cal, sc->warmup, ENGINE_TARGET, EV_WINDOW_OPEN, NULL, 0) ||
        !gs_cal_push(&w->cal, sc->duration, ENGINE_TARGET, EV_WINDOW_CLOSE, NULL, 0))
        return gs_error(d, GS_ENOMEM, "out of memory");
    for (size_t i = 0; i < w->ncomps; i++) {
        gs_component *c = &w->comps[i];
        if (c->type->start(c, &w->ctx) != GS_OK || w->status)
            return gs_error(d, GS_ENOMEM, "out of memory");
    }
    w->nsamples = gs_trace_samples(sc);
    int rc = read_faults(w, d);
    if (rc)
        return rc;
    if (w->nfaults > 0 && (rc = windows_fit(sc, d)))
        return rc;
    if (w->nfaults > 0 && w->nsamples > 0) {
        w->win = gs_calloc(w->nsamples, sizeof *w->win);
        if (!w->win)
            return gs_error(d, GS_ENOMEM, "out of memory");
    }
    return GS_OK;
}

/* Sample windows k in [lo, hi) (clamped), as times: the windows that lie
 * wholly inside [from, to). */
static void windows_within(const gs_world *w, gs_time from, gs_time to, size_t *lo, size_t *hi)
{
    gs_time dt = w->sc->sample_interval;
    gs_time a = from <= 0 ? 0 : (from + dt - 1) / dt;
    gs_time b = to <= 0 ? 0 : to / dt;
    if (b > (gs_time)w->nsamples)
        b = (gs_time)w->nsamples;
    *lo = (size_t)a;
    *hi = (size_t)(b > a ? b : a);
}

/* A window is healthy when its p99 is at most p99_max and its
 * unavailability within RECOVERY_TOL of the baseline's shortfall, give or
 * take RECOVERY_Z standard errors of a share over its requests and one
 * request (so that a baseline with no failure at all does not make one
 * failure in a window count as unrecovered). */
static int healthy(const window_sum *s, double p99_max, double avail)
{
    if (s->answered == 0 || s->done == 0 || !(s->p99 <= p99_max))
        return 0;
    double n = (double)s->done;
    double slack = RECOVERY_Z * sqrt(avail * (1 - avail) / n) + 1 / n;
    double shortfall = 1 - (double)s->available / n;
    return shortfall <= (1 + RECOVERY_TOL) * (1 - avail) + slack;
}

/* Assess fault f: 1 and *t (seconds) when the system recovered, 0 when it
 * did not before the end of the run, -1 when the fault cannot be assessed
 * (it does not end inside the observation window with RECOVERY_RUN windows
 * left after it, or no window before it has answers for a baseline). */
static int assess(const gs_world *w, const fault *f, double *t)
{
    const gs_scenario *sc = w->sc;
    gs_time dt = sc->sample_interval;
    if (f->end < sc->warmup || f->end >= sc->duration)
        return -1;
    /* The baseline: the last minute before the fault, from the warmup on
     * when at least one whole window fits there. */
    gs_time from = f->at - BASELINE_NS;
    if (from < sc->warmup && f->at - sc->warmup >= dt)
        from = sc->warmup;
    size_t lo, hi;
    windows_within(w, from, f->at, &lo, &hi);
    gs_tally p99;
    gs_tally_init(&p99);
    uint64_t done = 0, avail = 0;
    for (size_t k = lo; k < hi; k++) {
        if (w->win[k].answered > 0)
            gs_tally_add(&p99, w->win[k].p99);
        done += w->win[k].done;
        avail += w->win[k].available;
    }
    if (p99.n == 0 || done == 0)
        return -1;
    /* A windowed p99 is noisy (a window of a few thousand answers has a
     * p99 a few per cent off, more when busy periods cluster), so a window
     * also passes within RECOVERY_Z standard deviations of the baseline
     * windows' own spread: otherwise an undisturbed system would take
     * several windows to "recover" from a fault that changed nothing. */
    double mean = gs_tally_mean(&p99);
    double sd = p99.n > 1 ? sqrt(gs_tally_variance(&p99)) : 0;
    double p99_max = fmax((1 + RECOVERY_TOL) * mean, mean + RECOVERY_Z * sd);
    double a0 = (double)avail / (double)done;
    windows_within(w, f->end, sc->duration, &lo, &hi);
    if (hi - lo < RECOVERY_RUN)
        return -1;
    size_t run = 0;
    for (size_t k = lo; k < hi; k++) {
        run = healthy(&w->win[k], p99_max, a0) ? run + 1 : 0;
        if (run == RECOVERY_RUN) {
            gs_time start = (gs_time)(k + 1 - RECOVERY_RUN) * dt;
            *t = gs_time_to_s(start - f->end);
            return 1;
        }
    }
    return 0;
}

/* recovery_time and recovery_failed_ratio, for scenarios with scheduled
 * faults only, so that the rows of others stay as they were. */
static void report_recovery(const gs_world *w, gs_metrics *m)
{
    if (w->nfaults == 0)
        return;
    double sum = 0;
    size_t assessed = 0, failed = 0;
    for (size_t i = 0; w->win && i < w->nfaults; i++) {
        double t = 0;
        int r = assess(w, &w->faults[i], &t);
        if (r < 0)
            continue;
        assessed++;
        if (r == 0)
            failed++;
        else
            sum += t;
    }
    gs_metric(m, "recovery_time", assessed > 0 && failed == 0 ? sum / (double)assessed : NAN);
    gs_metric(m, "recovery_failed_ratio",
              assessed > 0 ? (double)failed / (double)assessed : NAN);
}

/* The end of sample interval w->sample: one row of the time series, and
 * the window's summary for recovery_time. */
static void take_sample(gs_world *w)
{
    gs_source_interval *iv = &w->iv;
    double p99 = iv->answered ? gs_hist_quantile(&iv->hist, 0.99) / GS_NS_PER_S : NAN;
    if (w->win)
        w->win[w->sample] = (window_sum){p99, iv->answered, iv->done, iv->available};
    gs_trace *t = w->trace;
    if (t) {
        double *row = t->series + w->sample * t->ncols;
        double dt = gs_time_to_s(w->sc->sample_interval);
        row[0] = (double)iv->answered / dt;
        row[1] = (double)iv->arrivals / dt;
        row[2] = iv->answered ? gs_hist_quantile(&iv->hist, 0.50) / GS_NS_PER_S : NAN;
        row[3] = p99;
        row[4] = iv->done ? (double)iv->available / (double)iv->done : NAN;
        row[5] = iv->arrivals ? (double)iv->attempts / (double)iv->arrivals : NAN;
        row[6] = (double)iv->in_deadline / dt;
        size_t col = SYSTEM_COLS;
        for (size_t i = 0; i < w->sc->ncomponents; i++) {
            gs_component *c = &w->comps[i];
            if (!c->type->sample)
                continue;
            c->type->sample(c, &w->ctx, row + col);
            for (const char *const *n = c->type->series; *n; n++)
                col++;
        }
    }
    memset(iv, 0, sizeof *iv);
    if (++w->sample < w->nsamples &&
        !gs_cal_push(&w->cal, gs_time_add(w->ctx.now, w->sc->sample_interval), ENGINE_TARGET,
                     EV_SAMPLE, NULL, 0))
        fail(w, GS_ENOMEM);
}

static void engine_event(gs_world *w, const gs_event *ev)
{
    if (ev->kind == EV_SAMPLE) {
        take_sample(w);
        return;
    }
    int open = ev->kind == EV_WINDOW_OPEN;
    for (size_t i = 0; i < w->ncomps; i++) {
        gs_component *c = &w->comps[i];
        if (c->type->window)
            c->type->window(c, &w->ctx, open);
    }
    if (!open)
        w->closed = 1;
}

static void run(gs_world *w, const gs_tick *tick)
{
    gs_event *ev;
    while ((ev = gs_cal_pop(&w->cal))) {
        /* Every 65536 events: progress, and whether time still advances
         * (checked this coarsely so that it costs nothing per event). */
        if ((w->events & 0xffff) == 0) {
            if (tick) {
                double f = (double)ev->time / (double)w->sc->duration;
                tick->fn(tick->arg, f < 1 ? f : 1);
            }
            if (ev->time == w->stall_at && w->events > 0) {
                w->same_time += 0x10000;
                if (w->same_time > w->same_time_max) {
                    fail(w, GS_EINVAL);
                    gs_cal_recycle(&w->cal, ev);
                    break;
                }
            } else {
                w->stall_at = ev->time;
                w->same_time = 0;
            }
        }
        w->ctx.now = ev->time;
        if (ev->target == ENGINE_TARGET)
            engine_event(w, ev);
        else
            dispatch(w, ev);
        gs_cal_recycle(&w->cal, ev);
        w->events++;
        if (w->status)
            break;
        if (w->closed && w->sys.pending == 0 && w->holds == 0 &&
            (!w->sampling || w->sample >= w->nsamples))
            break;
    }
}

int gs_run_replication(const gs_scenario *sc, uint64_t rep, gs_metrics *m, gs_run_info *info,
                       const gs_tick *tick, gs_diag *d)
{
    return gs_run_replication_traced(sc, rep, m, NULL, info, tick, d);
}

size_t gs_trace_samples(const gs_scenario *sc)
{
    return (size_t)(sc->duration / sc->sample_interval);
}

size_t gs_trace_ncols(const gs_scenario *sc)
{
    size_t n = SYSTEM_COLS;
    for (size_t i = 0; i < sc->ncomponents; i++)
        if (sc->comps[i].type->sample)
            for (const char *const *s = sc->comps[i].type->series; *s; s++)
                n++;
    return n;
}

int gs_trace_column(const gs_scenario *sc, size_t col, const char **component,
                    const char **name)
{
    if (col < SYSTEM_COLS) {
        *component = "system";
        *name = system_series[col];
        return GS_OK;
    }
    size_t k = SYSTEM_COLS;
    for (size_t i = 0; i < sc->ncomponents; i++) {
        if (!sc->comps[i].type->sample)
            continue;
        for (const char *const *s = sc->comps[i].type->series; *s; s++, k++)
            if (k == col) {
                *component = sc->comps[i].id;
                *name = *s;
                return GS_OK;
            }
    }
    return GS_EINVAL;
}

static int run_one(const gs_scenario *sc, uint64_t rep, gs_metrics *m, gs_trace *trace,
                   gs_run_info *info, const gs_tick *tick, gs_pilot *pilot, gs_diag *d);

int gs_run_replication_traced(const gs_scenario *sc, uint64_t rep, gs_metrics *m,
                              gs_trace *trace, gs_run_info *info, const gs_tick *tick,
                              gs_diag *d)
{
    int rc = gs_warmup_resolve(sc, 1, d);
    return rc ? rc : run_one(sc, rep, m, trace, info, tick, NULL, d);
}

int gs__run_pilot(const gs_scenario *sc, uint64_t rep, gs_pilot *p, gs_diag *d)
{
    if (sc->warmup != 0)
        return gs_error(d, GS_EINTERNAL, "a pilot run needs warm-up 0");
    gs_metrics m = {0};
    int rc = run_one(sc, rep, &m, NULL, NULL, NULL, p, d);
    gs_metrics_release(&m);
    return rc;
}

static int run_one(const gs_scenario *sc, uint64_t rep, gs_metrics *m, gs_trace *trace,
                   gs_run_info *info, const gs_tick *tick, gs_pilot *pilot, gs_diag *d)
{
    gs_world *w = gs_malloc(sizeof *w);
    if (!w)
        return gs_error(d, GS_ENOMEM, "out of memory");
    int rc = world_init(w, sc, rep, d);
    w->pilot = pilot;
    /* Intervals are sampled for the trace and for recovery_time; an
     * untraced run without scheduled faults pays nothing for them. */
    if (rc == GS_OK && (trace || w->win)) {
        w->trace = trace;
        w->sampling = 1;
        w->sys.iv = &w->iv;
        if (trace && trace->nsamples < w->nsamples)
            w->nsamples = trace->nsamples;
        if (w->nsamples > 0 &&
            !gs_cal_push(&w->cal, sc->sample_interval, ENGINE_TARGET, EV_SAMPLE, NULL, 0))
            rc = gs_error(d, GS_ENOMEM, "out of memory");
    }
    if (rc == GS_OK) {
        run(w, tick);
        if (w->over_limit)
            rc = gs_error_at(d, gs_scenario_setting(sc, "max_in_flight"),
                             "max_in_flight: replication %llu reached %ld requests in flight at "
                             "t = %.9gs: the offered load exceeds what the system serves (a "
                             "queue without `capacity` grows without end), or the limit is "
                             "too low for this scenario; bound the queues with `capacity`, "
                             "shorten `duration`, or raise simulation.max_in_flight (each "
                             "request in flight takes about %d bytes; docs/scenarios.md, "
                             "\"Limits\")", (unsigned long long)rep, sc->max_in_flight,
                             gs_time_to_s(w->ctx.now), GS_BYTES_PER_REQUEST);
        else if (w->status == GS_EINVAL)
            rc = gs_error(d, GS_EINVAL, "%s: replication %llu: simulated time stopped advancing "
                          "at t = %.9gs (%llu events at one instant): a loop that "
                          "takes no time, e.g. closed users with think 0 whose requests are "
                          "refused at once, or zero service and zero think; give think, "
                          "service or network latency a positive time", sc->path,
                          (unsigned long long)rep, gs_time_to_s(w->ctx.now),
                          (unsigned long long)w->same_time);
        else if (w->status)
            rc = gs_error(d, w->status, "replication %llu: %s while simulating",
                          (unsigned long long)rep,
                          w->status == GS_ENOMEM ? "out of memory"
                                                 : "a component failed (e.g. live kernels)");
    }
    if (rc == GS_OK) {
        /* The window-close event is in the calendar from the start, so the
         * loop cannot have ended before it. */
        m->component = "system";
        gs__source_report(&w->sys, sc, &w->ctx, m);
        report_recovery(w, m);
        for (size_t i = 0; i < sc->ncomponents; i++) {
            gs_component *c = &w->comps[i];
            m->component = c->cc->id;
            c->type->report(c, &w->ctx, m);
        }
        if (trace)
            memcpy(trace->hist, w->sys.hist.bucket, sizeof w->sys.hist.bucket);
        if (m->status)
            rc = gs_error(d, GS_ENOMEM, "out of memory");
    }
    if (info) {
        info->events = w->events;
        info->requests = w->next_id;
        info->peak_in_flight = w->peak_in_flight;
        info->calendar_bytes = gs_cal_bytes(&w->cal);
    }
    world_release(w);
    gs_free(w);
    return rc;
}

void gs_mark_token(gs_ctx *ctx, gs_request *r, int last)
{
    /* While an attempt's caller waits (done == 0) its parent is alive. */
    while (r->attempt) {
        if (r->done || !r->parent)
            return;
        r = r->parent;
    }
    if (last)
        r->t_last_token = ctx->now;
    else
        r->t_first_token = ctx->now;
}
