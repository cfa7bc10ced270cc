/* Replications over OpenMP threads with dynamic scheduling (replications
 * can differ in cost). Each replication writes only its own slot; the
 * metric layout is taken from replication `first`, and every other one must
 * report the same metrics in the same order, which holds because the
 * layout depends only on the scenario. */
#include "replicate.h"

#include <omp.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "error.h"
#include "scenario.h"
#include "stats.h"
#include "warmup.h"

double gs_wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void gs_results_release(gs_results *r)
{
    gs_free(r->component);
    gs_free(r->name);
    gs_free(r->values);
    if (r->traces)
        for (long i = 0; i < r->nreps; i++) {
            gs_free(r->traces[i].hist);
            gs_free(r->traces[i].series);
        }
    gs_free(r->traces);
    memset(r, 0, sizeof *r);
}

int gs_results_append(gs_results *r, gs_results *more, gs_diag *d)
{
    if (more->nmetrics != r->nmetrics)
        return gs_error(d, GS_EINTERNAL, "replications report %zu and %zu metrics",
                        r->nmetrics, more->nmetrics);
    size_t n = (size_t)(r->nreps + more->nreps);
    double *v = gs_malloc((r->nmetrics ? r->nmetrics : 1) * n * sizeof *v);
    if (!v)
        return gs_error(d, GS_ENOMEM, "out of memory");
    for (size_t k = 0; k < r->nmetrics; k++) {
        memcpy(v + k * n, r->values + k * (size_t)r->nreps, (size_t)r->nreps * sizeof *v);
        memcpy(v + k * n + r->nreps, more->values + k * (size_t)more->nreps,
               (size_t)more->nreps * sizeof *v);
    }
    if (r->traces && more->traces) {
        gs_trace *t = gs_realloc(r->traces, n * sizeof *t);
        if (!t) {
            gs_free(v);
            return gs_error(d, GS_ENOMEM, "out of memory");
        }
        /* The traces move: more gives up its own. */
        memcpy(t + r->nreps, more->traces, (size_t)more->nreps * sizeof *t);
        memset(more->traces, 0, (size_t)more->nreps * sizeof *t);
        r->traces = t;
    }
    gs_free(r->values);
    r->values = v;
    r->nreps = (long)n;
    r->total.events += more->total.events;
    r->total.requests += more->total.requests;
    if (more->total.calendar_bytes > r->total.calendar_bytes)
        r->total.calendar_bytes = more->total.calendar_bytes;
    if (more->total.peak_in_flight > r->total.peak_in_flight)
        r->total.peak_in_flight = more->total.peak_in_flight;
    r->wall_s += more->wall_s;
    return GS_OK;
}

/* Shared by the threads of one gs_replicate() call. Progress is counted in
 * millionths of a replication: each replication adds what it gained since
 * its last tick to one running total, so a report costs O(1) however many
 * replications there are. */
typedef struct progress_state {
    gs_progress_fn fn;
    void          *arg;
    long          *mine;      /* per replication: its own last share, touched by its thread */
    _Atomic long long total;  /* sum of the shares */
    long           n;
    long           finished;
    _Atomic double last;      /* wall time of the last report */
} progress_state;

typedef struct tick_arg {
    progress_state *ps;
    long            i;
} tick_arg;

static void report(progress_state *ps)
{
    double total = (double)atomic_load_explicit(&ps->total, memory_order_relaxed);
    ps->fn(ps->arg, ps->finished, ps->n, total / 1e6 / (double)ps->n);
    atomic_store_explicit(&ps->last, gs_wall_seconds(), memory_order_relaxed);
}

static void advance(progress_state *ps, long i, double fraction)
{
    long v = (long)(fraction * 1e6);
    atomic_fetch_add_explicit(&ps->total, v - ps->mine[i], memory_order_relaxed);
    ps->mine[i] = v;
}

static void on_tick(void *arg, double fraction)
{
    tick_arg *ta = arg;
    progress_state *ps = ta->ps;
    advance(ps, ta->i, fraction);
    /* Checked twice: cheaply by every thread, then under the lock, so that
     * only one of them reports. */
    double now = gs_wall_seconds();
    if (now - atomic_load_explicit(&ps->last, memory_order_relaxed) < 0.2)
        return;
#pragma omp critical(gs_progress)
    if (now - atomic_load_explicit(&ps->last, memory_order_relaxed) >= 0.2)
        report(ps);
}

static int replicate(const gs_scenario *sc, long first, long nreps, int threads, int traced,
                     gs_progress_fn progress, void *progress_arg, gs_results *out, gs_diag *d);

int gs_replicate(const gs_scenario *sc, long first, long nreps, int threads,
                 gs_progress_fn progress, void *progress_arg, gs_results *out, gs_diag *d)
{
    return replicate(sc, first, nreps, threads, 0, progress, progress_arg, out, d);
}

int gs_replicate_traced(const gs_scenario *sc, long first, long nreps, int threads,
                        gs_progress_fn progress, void *progress_arg, gs_results *out,
                        gs_diag *d)
{
    return replicate(sc, first, nreps, threads, 1, progress, progress_arg, out, d);
}

/* Every replication's time series stays in memory until results.h5 is
 * written, so their total is bounded (docs/scenarios.md, "Limits") rather
 * than left to the machine's OOM killer. */
static int series_fit(const gs_scenario *sc, long nreps, gs_diag *d)
{
    double bytes = (double)nreps * (double)gs_trace_samples(sc) * (double)gs_trace_ncols(sc) *
                   sizeof(double);
    if (bytes <= GS_MAX_SERIES_BYTES)
        return GS_OK;
    return gs_error_at(d, gs_scenario_setting(sc, "sample_interval"),
                       "sample_interval: the time series of %ld replications (%zu "
                       "samples of %zu columns each) would take %.3g GB, more than the limit "
                       "of %.3g GB; raise sample_interval or run fewer replications",
                       nreps, gs_trace_samples(sc), gs_trace_ncols(sc), bytes / 1e9,
                       GS_MAX_SERIES_BYTES / 1e9);
}

/* Per-replication values of every metric are kept (for the intervals and
 * results.h5): a few dozen bytes per component and replication. */
static int values_fit(const gs_scenario *sc, long first, long nreps, gs_diag *d)
{
    double cells = (double)(first + nreps) * (double)sc->nall;
    if (cells <= GS_MAX_REPLICATION_CELLS)
        return GS_OK;
    return gs_error_at(d, gs_scenario_setting(sc, "replications"),
                       "replications: %ld replications of %zu components keep %.3g "
                       "values of each metric, more than the limit of %.3g (replications x "
                       "components); run fewer replications", first + nreps, sc->nall, cells,
                       GS_MAX_REPLICATION_CELLS);
}

/* Traces for nreps replications of sc, or NULL when out of memory. */
static gs_trace *traces_new(const gs_scenario *sc, long nreps)
{
    gs_trace *t = gs_calloc((size_t)nreps, sizeof *t);
    if (!t)
        return NULL;
    size_t ns = gs_trace_samples(sc), nc = gs_trace_ncols(sc);
    for (long i = 0; i < nreps; i++) {
        t[i].nsamples = ns;
        t[i].ncols = nc;
        t[i].hist = gs_calloc(GS_HIST_BUCKETS, sizeof *t[i].hist);
        t[i].series = gs_calloc(ns * nc > 0 ? ns * nc : 1, sizeof *t[i].series);
        if (!t[i].hist || !t[i].series) {
            for (long j = 0; j <= i; j++) {
                gs_free(t[j].hist);
                gs_free(t[j].series);
            }
            gs_free(t);
            return NULL;
        }
    }
    return t;
}

static int replicate(const gs_scenario *sc, long first, long nreps, int threads, int traced,
                     gs_progress_fn progress, void *progress_arg, gs_results *out, gs_diag *d)
{
    memset(out, 0, sizeof *out);
    double t0 = gs_wall_seconds();
    /* The pilots of warmup: auto run here, on all the threads, rather than
     * in the first replication that needs them while the others wait. */
    int rc0 = gs_warmup_resolve(sc, threads, d);
    if (rc0)
        return rc0;
    gs_metrics *per = gs_calloc((size_t)nreps, sizeof *per);
    gs_run_info *info = gs_calloc((size_t)nreps, sizeof *info);
    progress_state ps = {.fn = progress, .arg = progress_arg, .n = nreps};
    atomic_init(&ps.last, 0.0);
    atomic_init(&ps.total, 0);
    ps.mine = gs_calloc((size_t)nreps, sizeof *ps.mine);
    /* The failure of the lowest-numbered replication is reported, so the
     * message does not depend on thread timing. */
    gs_diag failure;
    gs_diag_init(&failure);
    long failed_at = nreps;
    int rc = GS_OK;
    gs_trace *traces = NULL;
    if ((rc = gs_run_check(sc, d)) || (traced && (rc = series_fit(sc, nreps, d))) ||
        (rc = values_fit(sc, first, nreps, d)))
        goto out_free;
    traces = traced ? traces_new(sc, nreps) : NULL;
    if (!per || !info || !ps.mine || (traced && !traces)) {
        rc = gs_error(d, GS_ENOMEM, "out of memory");
        goto out_free;
    }
    if (threads <= 0)
        threads = omp_get_max_threads();
    if (threads > nreps)
        threads = (int)nreps;
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (long i = 0; i < nreps; i++) {
        int skip;
#pragma omp atomic read
        skip = failed;
        if (skip)
            continue;
        gs_diag dg;
        gs_diag_init(&dg);
        tick_arg ta = {&ps, i};
        gs_tick tick = {on_tick, &ta};
        int st = gs_run_replication_traced(sc, (uint64_t)(first + i), &per[i],
                                           traces ? &traces[i] : NULL, &info[i],
                                           progress ? &tick : NULL, &dg);
        advance(&ps, i, 1.0);
#pragma omp critical(gs_progress)
        {
            if (st) {
#pragma omp atomic write
                failed = 1;
                if (i < failed_at) {
                    failed_at = i;
                    failure = dg;
                }
            }
            ps.finished++;
            if (progress)
                report(&ps);
        }
    }
    if (failed_at < nreps) {
        rc = gs_error(d, failure.code, "%s", failure.msg);
        goto out_free;
    }
    size_t k = per[0].n;
    for (long i = 1; i < nreps; i++)
        if (per[i].n != k) {
            rc = gs_error(d, GS_EINTERNAL, "replication %ld reported %zu metrics, "
                          "replication %ld reported %zu", first, k, first + i, per[i].n);
            goto out_free;
        }
    out->nmetrics = k;
    out->nreps = nreps;
    out->component = gs_calloc(k, sizeof *out->component);
    out->name = gs_calloc(k, sizeof *out->name);
    out->values = gs_calloc(k * (size_t)nreps, sizeof *out->values);
    if (!out->component || !out->name || !out->values) {
        gs_results_release(out);
        rc = gs_error(d, GS_ENOMEM, "out of memory");
        goto out_free;
    }
    for (size_t j = 0; j < k; j++) {
        out->component[j] = per[0].v[j].component;
        out->name[j] = per[0].v[j].name;
        for (long i = 0; i < nreps; i++)
            out->values[j * (size_t)nreps + (size_t)i] = per[i].v[j].value;
    }
    for (long i = 0; i < nreps; i++) {
        out->total.events += info[i].events;
        out->total.requests += info[i].requests;
        if (info[i].calendar_bytes > out->total.calendar_bytes)
            out->total.calendar_bytes = info[i].calendar_bytes;
        if (info[i].peak_in_flight > out->total.peak_in_flight)
            out->total.peak_in_flight = info[i].peak_in_flight;
    }
    out->wall_s = gs_wall_seconds() - t0;
    out->traces = traces;
    traces = NULL;
out_free:
    if (traces)
        for (long i = 0; i < nreps; i++) {
            gs_free(traces[i].hist);
            gs_free(traces[i].series);
        }
    gs_free(traces);
    if (per)
        for (long i = 0; i < nreps; i++)
            gs_metrics_release(&per[i]);
    gs_free(per);
    gs_free(info);
    gs_free(ps.mine);
    return rc;
}
