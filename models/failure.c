/* The up/down process of a component (SPEC §2 "Failures"): random failures
 * as an alternating renewal process (up times from `mtbf`, down times from
 * `mttr`, exponential unless distributions are given), scheduled outages,
 * and slowdowns that stretch service times.
 *
 * Invariant: the component is down exactly while it is in a random failure
 * or in an outage; the two run independently of each other on the simulated
 * clock, so an outage that overlaps a random failure keeps the component
 * down until both are over, and the random process's long-run down share is
 * E[mttr] / (E[mtbf] + E[mttr]) whatever the outages do (renewal-reward
 * theorem, e.g. Ross, "Stochastic Processes", 2nd ed., §3.6). At most one
 * event of each kind is pending: the next random transition and the next
 * outage boundary. Outages are merged into disjoint periods and slowdowns
 * into disjoint segments of constant factor when the scenario is
 * configured, so a replication only walks sorted arrays.
 *
 * Random draws come from a stream of the component's own, "fail:ID", so
 * that adding failures to a scenario does not shift its service times. */
#include "failure.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/alloc.h"
#include "sim/component.h"
#include "sim/engine.h"
#include "sim/error.h"
#include "sim/node.h"
#include "sim/rng.h"
#include "sim/units.h"

/* Bounds the quadratic merge of slowdowns (at most 2 n segments, each
 * checked against n periods): 10,000 periods take well under a second. */
#define MAX_PERIODS 10000

enum { EV_RANDOM, EV_OUTAGE };

static const char *const failure_keys[] = {"mtbf", "mttr", NULL};
static const char *const outage_keys[] = {"at", "for", NULL};
static const char *const slowdown_keys[] = {"at", "for", "factor", NULL};

/* A bare time is the mean of an exponential; a mapping is any time
 * distribution. Either way the mean must be positive, or the process would
 * flip forever at one instant. */
static int read_time_dist(gs_dist *dist, gs_doc *doc, gs_node *n, const char *what,
                          gs_diag *d)
{
    if (n->kind == GS_NODE_SCALAR) {
        double s;
        if (n->value && gs_parse_time(n->value, &s) == 0 && s <= 0)
            return gs_error_at(d, n, "%s: must be > 0, got %s", what, n->value);
        int rc = gs_node_seconds(n, what, &s, d);
        if (rc)
            return rc;
        if (gs_time_from_s(s) == 0)
            return gs_error_at(d, n, "%s: must be at least 1ns, got %s", what, n->value);
        gs_dist_exponential(dist, s);
        return GS_OK;
    }
    int rc = gs_dist_configure(dist, doc, n, GS_DIST_TIME, d);
    if (rc)
        return rc;
    double mean = gs_dist_mean(dist);
    if (!(gs_time_from_s(mean) > 0)) {
        gs_dist_release(dist);
        return gs_error_at(d, n, "%s: the distribution's mean must be at least 1ns, got %gs",
                           what, mean);
    }
    return GS_OK;
}

static int read_failures(gs_failure_conf *fc, gs_doc *doc, gs_node *fm, gs_diag *d)
{
    int rc = gs_map_check_keys(fm, failure_keys, "failures", d);
    if (rc)
        return rc;
    static const char *const missing[] = {
        "mtbf", "mean time between failures", "mttr", "mean time to repair"};
    for (size_t i = 0; i < 4; i += 2)
        if (!gs_map_get(fm, missing[i]))
            return gs_error_at(d, fm, "failures: missing required key '%s' (the %s, e.g. "
                               "failures: {mtbf: 1h, mttr: 2m})", missing[i], missing[i + 1]);
    if ((rc = read_time_dist(&fc->up, doc, gs_map_get(fm, "mtbf"), "mtbf", d)) ||
        (rc = read_time_dist(&fc->down, doc, gs_map_get(fm, "mttr"), "mttr", d)))
        return rc;
    fc->has_random = 1;
    return GS_OK;
}

static int by_start(const void *a, const void *b)
{
    const gs_failure_period *p = a, *q = b;
    if (p->at != q->at)
        return p->at < q->at ? -1 : 1;
    return (p->end > q->end) - (p->end < q->end);
}

static int by_time(const void *a, const void *b)
{
    gs_time x = *(const gs_time *)a, y = *(const gs_time *)b;
    return (x > y) - (x < y);
}

/* Read a list of periods; slowdowns also have a factor. On success *out is
 * sorted by start and owned by the caller. */
static int read_periods(gs_doc *doc, gs_node *list, const char *key, int slowdown,
                        gs_failure_period **out, size_t *nout, gs_diag *d)
{
    const char *item_what = slowdown ? "a slowdown" : "an outage";
    if (list->kind != GS_NODE_SEQ)
        return gs_error_at(d, list, "%s: expected a list such as [{at: 200s, for: 30s%s}], "
                           "found %s", key, slowdown ? ", factor: 2" : "",
                           gs_node_kind_name(list->kind));
    if (list->len > MAX_PERIODS)
        return gs_error_at(d, list, "%s: at most %d periods, got %zu", key, MAX_PERIODS,
                           list->len);
    *out = NULL;
    *nout = 0;
    if (list->len == 0)
        return GS_OK;
    gs_failure_period *p = gs_calloc(list->len, sizeof *p);
    if (!p)
        return gs_error(d, GS_ENOMEM, "out of memory");
    int rc = GS_OK;
    for (size_t i = 0; i < list->len && rc == GS_OK; i++) {
        gs_node *item = list->items[i];
        if (item->kind != GS_NODE_MAP) {
            rc = gs_error_at(d, item, "%s: expected a mapping for %s such as {at: 200s, "
                             "for: 30s%s}, found %s", key, item_what,
                             slowdown ? ", factor: 2" : "", gs_node_kind_name(item->kind));
            break;
        }
        if ((rc = gs_map_check_keys(item, slowdown ? slowdown_keys : outage_keys, item_what,
                                    d)))
            break;
        double at, len;
        if ((rc = gs_cfg_seconds(doc, item, "at", NULL, &at, d)) ||
            (rc = gs_cfg_seconds(doc, item, "for", NULL, &len, d)))
            break;
        gs_node *fn = gs_map_get(item, "for");
        if (gs_time_from_s(len) == 0) {
            rc = gs_error_at(d, fn, "for: must be > 0 (at least 1ns), got %s", fn->value);
            break;
        }
        p[i].at = gs_time_from_s(at);
        p[i].end = gs_time_add(p[i].at, gs_time_from_s(len));
        p[i].factor = 1;
        if (slowdown) {
            if ((rc = gs_cfg_double(doc, item, "factor", NULL, &p[i].factor, d)))
                break;
            if (!(p[i].factor > 0)) {
                gs_node *xn = gs_map_get(item, "factor");
                rc = gs_error_at(d, xn, "factor: must be > 0 (2 makes service twice as slow, "
                                 "1 changes nothing), got %s", xn->value);
                break;
            }
        }
    }
    if (rc) {
        gs_free(p);
        return rc;
    }
    qsort(p, list->len, sizeof *p, by_start);
    *out = p;
    *nout = list->len;
    return GS_OK;
}

/* Outages that overlap or touch become one period: the component is down
 * from the first start to the last end. */
static void merge_outages(gs_failure_conf *fc)
{
    size_t n = 0;
    for (size_t i = 0; i < fc->noutages; i++) {
        gs_failure_period *p = &fc->outages[i];
        if (n && p->at <= fc->outages[n - 1].end) {
            if (p->end > fc->outages[n - 1].end)
                fc->outages[n - 1].end = p->end;
        } else {
            fc->outages[n++] = *p;
        }
    }
    fc->noutages = n;
}

/* Cut the (possibly overlapping) slowdowns p[0..n) into disjoint segments
 * of constant factor, the product of the factors of the slowdowns that
 * cover it, multiplied in list order so that the result does not depend on
 * rounding order; segments with factor 1 are dropped and equal neighbours
 * joined. */
static int segment_slowdowns(gs_failure_conf *fc, gs_failure_period *p, size_t n, gs_diag *d)
{
    gs_time *b = gs_malloc(2 * n * sizeof *b);
    gs_failure_period *seg = gs_malloc(2 * n * sizeof *seg);
    if (!b || !seg) {
        gs_free(b);
        gs_free(seg);
        return gs_error(d, GS_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        b[2 * i] = p[i].at;
        b[2 * i + 1] = p[i].end;
    }
    qsort(b, 2 * n, sizeof *b, by_time);
    size_t nseg = 0;
    for (size_t i = 0; i + 1 < 2 * n; i++) {
        if (b[i] == b[i + 1])
            continue;
        double f = 1;
        for (size_t j = 0; j < n; j++)
            if (p[j].at <= b[i] && p[j].end >= b[i + 1])
                f *= p[j].factor;
        if (f == 1)
            continue;
        if (nseg && seg[nseg - 1].end == b[i] && seg[nseg - 1].factor == f)
            seg[nseg - 1].end = b[i + 1];
        else
            seg[nseg++] = (gs_failure_period){b[i], b[i + 1], f};
    }
    gs_free(b);
    fc->slow = seg;
    fc->nslow = nseg;
    return GS_OK;
}

int gs_failure_configure(gs_failure_conf *fc, gs_doc *doc, gs_node *map, gs_diag *d)
{
    int rc;
    gs_node *n = gs_map_get(map, "failures");
    if (n && (rc = read_failures(fc, doc, n, d)))
        goto out_release;
    if ((n = gs_map_get(map, "outages"))) {
        if ((rc = read_periods(doc, n, "outages", 0, &fc->outages, &fc->noutages, d)))
            goto out_release;
        merge_outages(fc);
    }
    if ((n = gs_map_get(map, "slowdowns"))) {
        gs_failure_period *p;
        size_t np;
        if ((rc = read_periods(doc, n, "slowdowns", 1, &p, &np, d)))
            goto out_release;
        rc = np ? segment_slowdowns(fc, p, np, d) : GS_OK;
        gs_free(p);
        if (rc)
            goto out_release;
    }
    return GS_OK;
out_release:
    gs_failure_conf_release(fc);
    return rc;
}

void gs_failure_conf_release(gs_failure_conf *fc)
{
    gs_dist_release(&fc->up);
    gs_dist_release(&fc->down);
    gs_free(fc->outages);
    gs_free(fc->slow);
    memset(fc, 0, sizeof *fc);
}

int gs_failure_configured(const gs_failure_conf *fc)
{
    return fc->has_random || fc->noutages || fc->nslow;
}

static gs_time draw(const gs_dist *dist, gsl_rng *r)
{
    return gs_time_from_s(gs_dist_sample(dist, r));
}

/* Schedule the next outage boundary: the start of outage next_outage while
 * outside outages, its end while inside. */
static void schedule_outage(gs_failure *f, const gs_component *self, gs_ctx *ctx)
{
    const gs_failure_conf *fc = f->conf;
    if (f->next_outage >= fc->noutages)
        return;
    const gs_failure_period *p = &fc->outages[f->next_outage];
    gs_time t = f->outage_down ? p->end : p->at;
    gs_schedule(ctx, self, t > ctx->now ? t - ctx->now : 0, f->kind + EV_OUTAGE, NULL, 0);
}

int gs_failure_start(gs_failure *f, const gs_failure_conf *fc, const gs_component *self,
                     gs_ctx *ctx, uint32_t kind, const char *id)
{
    memset(f, 0, sizeof *f);
    f->conf = fc;
    f->kind = kind;
    gs_timeavg_init(&f->down_avg, ctx->now, 0);
    if (fc->has_random) {
        size_t len = strlen(id) + sizeof "fail:";
        char *name = gs_malloc(len);
        if (!name)
            return GS_ENOMEM;
        snprintf(name, len, "fail:%s", id);
        f->rng = gs_rng_new(ctx->seed, ctx->replication, name);
        gs_free(name);
        if (!f->rng)
            return GS_ENOMEM;
        gs_schedule(ctx, self, draw(&fc->up, f->rng), kind + EV_RANDOM, NULL, 0);
    }
    schedule_outage(f, self, ctx);
    return GS_OK;
}

int gs_failure_handle(gs_failure *f, const gs_component *self, gs_ctx *ctx, const gs_event *ev)
{
    const gs_failure_conf *fc = f->conf;
    int was = gs_failure_down(f);
    if (ev->kind == f->kind + EV_RANDOM) {
        f->random_down = !f->random_down;
        const gs_dist *next = f->random_down ? &fc->down : &fc->up;
        gs_schedule(ctx, self, draw(next, f->rng), f->kind + EV_RANDOM, NULL, 0);
    } else {
        f->outage_down = !f->outage_down;
        if (!f->outage_down)
            f->next_outage++;
        schedule_outage(f, self, ctx);
    }
    int is = gs_failure_down(f);
    if (is == was)
        return GS_FAILURE_SAME;
    gs_timeavg_set(&f->down_avg, ctx->now, is);
    return is ? GS_FAILURE_DOWN : GS_FAILURE_UP;
}

double gs_failure_factor(gs_failure *f, gs_time now)
{
    const gs_failure_conf *fc = f->conf;
    while (f->slow_cursor < fc->nslow && fc->slow[f->slow_cursor].end <= now)
        f->slow_cursor++;
    if (f->slow_cursor < fc->nslow && fc->slow[f->slow_cursor].at <= now)
        return fc->slow[f->slow_cursor].factor;
    return 1;
}

void gs_failure_window(gs_failure *f, gs_time now, int open)
{
    if (open)
        gs_timeavg_restart(&f->down_avg, now);
    else
        f->down_ratio = gs_timeavg_mean(&f->down_avg, now);
}

double gs_failure_down_ratio(const gs_failure *f) { return f->down_ratio; }

void gs_failure_release(gs_failure *f)
{
    if (f->rng)
        gsl_rng_free(f->rng);
    f->rng = NULL;
}
