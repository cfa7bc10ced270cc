/* Plots of a run (analysis/figures.h). A scenario keeps its command-line
 * position as its palette slot in every plot. Series are averaged over the
 * replications sample by sample, skipping undefined values (an interval in
 * which nothing ended has no p99). A component counts as down over a sample
 * when its "up" column averages below 1/2 there, which shades scheduled
 * outages exactly and random failures only where most replications agree;
 * slowdowns leave no trace in the series and are not shaded. When gnuplot is
 * missing every plot still gets its data and script, and the first such
 * status is returned. */
#include "figures.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/plot.h"
#include "analysis/report.h"
#include "sim/alloc.h"
#include "sim/engine.h"
#include "sim/error.h"
#include "sim/scenario.h"
#include "sim/stats.h"


static int cdf(const char *dir, gs_scenario *const *sc, const gs_results *res, size_t n,
               gs_diag *d)
{
    gs_plot_cdf *curves = gs_calloc(n, sizeof *curves);
    double *lo = gs_malloc(GS_HIST_BUCKETS * sizeof *lo);
    double *hi = gs_malloc(GS_HIST_BUCKETS * sizeof *hi);
    uint64_t *counts = gs_calloc(n * GS_HIST_BUCKETS, sizeof *counts);
    int rc = GS_OK;
    if (!curves || !lo || !hi || !counts) {
        rc = gs_error(d, GS_ENOMEM, "out of memory");
        goto out;
    }
    /* The buckets from the first to the last that any scenario uses. */
    size_t first = GS_HIST_BUCKETS, last = 0;
    for (size_t s = 0; s < n; s++) {
        uint64_t *c = counts + s * GS_HIST_BUCKETS;
        for (long r = 0; r < res[s].nreps; r++)
            for (size_t i = 0; i < GS_HIST_BUCKETS; i++)
                c[i] += res[s].traces[r].hist[i];
        /* The x axis starts where the lowest 0.1 % of the latencies end, so
         * that a few near-zero draws do not stretch it over decades. */
        uint64_t total = 0, below = 0;
        for (size_t i = 0; i < GS_HIST_BUCKETS; i++)
            total += c[i];
        for (size_t i = 0; i < GS_HIST_BUCKETS; i++) {
            if (!c[i])
                continue;
            below += c[i];
            if ((double)below >= 0.001 * (double)total && i < first)
                first = i;
            last = i > last ? i : last;
        }
    }
    if (first > last)
        first = last = 0;
    /* What lies below the axis goes into its first bucket, so the curve's
     * heights stay right. */
    for (size_t s = 0; s < n; s++) {
        uint64_t *c = counts + s * GS_HIST_BUCKETS;
        for (size_t i = 0; i < first; i++) {
            c[first] += c[i];
            c[i] = 0;
        }
    }
    for (size_t i = first; i <= last; i++) {
        int64_t a, b;
        gs_hist_bounds(i, &a, &b);
        lo[i - first] = (double)a / GS_NS_PER_S;
        hi[i - first] = (double)b / GS_NS_PER_S;
    }
    for (size_t s = 0; s < n; s++)
        curves[s] = (gs_plot_cdf){sc[s]->name, (int)s, last - first + 1, lo, hi,
                                  counts + s * GS_HIST_BUCKETS + first};
    rc = gs_plot_latency_cdf(dir, "latency-cdf", NULL, curves, n, d);
out:
    gs_free(curves);
    gs_free(lo);
    gs_free(hi);
    gs_free(counts);
    return rc;
}

/* Mean over the replications of column col at sample k, NaN when no
 * replication has a value. */
static double series_mean(const gs_results *res, size_t k, size_t col)
{
    double sum = 0;
    long n = 0;
    for (long r = 0; r < res->nreps; r++) {
        const gs_trace *t = &res->traces[r];
        double v = t->series[k * t->ncols + col];
        if (!isnan(v)) {
            sum += v;
            n++;
        }
    }
    return n ? sum / (double)n : NAN;
}

static int timeline(const char *dir, const gs_scenario *sc, const gs_results *res, int slot,
                    gs_diag *d)
{
    const gs_trace *t0 = &res->traces[0];
    size_t ns = t0->nsamples, nc = t0->ncols;
    if (ns == 0)
        return GS_OK;
    double *v = gs_malloc(4 * ns * sizeof *v);
    /* At most one fault per two samples per component column. */
    double *fs = gs_malloc((ns * nc / 2 + 1) * sizeof *fs);
    double *fe = gs_malloc((ns * nc / 2 + 1) * sizeof *fe);
    int rc = GS_OK;
    if (!v || !fs || !fe) {
        rc = gs_error(d, GS_ENOMEM, "out of memory");
        goto out;
    }
    double dt = gs_time_to_s(sc->sample_interval);
    double *t = v, *thr = v + ns, *p99 = v + 2 * ns, *av = v + 3 * ns;
    for (size_t k = 0; k < ns; k++) {
        t[k] = (double)(k + 1) * dt;
        thr[k] = series_mean(res, k, 0);
        p99[k] = series_mean(res, k, 3);
        av[k] = series_mean(res, k, 4);
    }
    size_t nf = 0;
    for (size_t col = 0; col < nc; col++) {
        const char *comp, *name;
        if (gs_trace_column(sc, col, &comp, &name) != GS_OK || strcmp(name, "up") != 0)
            continue;
        /* An "up" state is sampled at the end of its interval: down at the
         * end of sample k means down from about k dt on. */
        size_t k = 0;
        while (k < ns) {
            if (!(series_mean(res, k, col) < 0.5)) {
                k++;
                continue;
            }
            size_t start = k;
            while (k < ns && series_mean(res, k, col) < 0.5)
                k++;
            if (nf < ns * nc / 2 + 1) {
                fs[nf] = (double)start * dt + dt;
                fe[nf] = (double)k * dt + dt;
                nf++;
            }
        }
    }
    gs_plot_timeline tl = {ns, t, thr, p99, av, nf, fs, fe, NULL};
    char name[300];
    snprintf(name, sizeof name, "timeline-%s", sc->name);
    rc = gs_plot_timeline_draw(dir, name, sc->name, slot, &tl, d);
out:
    gs_free(v);
    gs_free(fs);
    gs_free(fe);
    return rc;
}

/* Components in the utilisation plot, at most. */
#define UTIL_BARS_MAX 40

/* Higher mean first, an undefined mean last; equal ones by name, so the
 * pick never depends on qsort's order of equal elements. */
static int busier_first(const void *a, const void *b)
{
    const gs_plot_bar *x = a, *y = b;
    int xn = isnan(x->mean), yn = isnan(y->mean);
    if (xn != yn)
        return xn - yn;
    if (!xn && x->mean != y->mean)
        return x->mean < y->mean ? 1 : -1;
    return strcmp(x->label, y->label);
}

static int utilization(const char *dir, const gs_scenario *sc, const gs_results *res, int slot,
                       gs_diag *d)
{
    gs_summary_row *rows;
    int rc = gs_report_rows(res, sc->confidence, &rows, d);
    if (rc)
        return rc;
    gs_plot_bar *bars = gs_calloc(res->nmetrics ? res->nmetrics : 1, sizeof *bars);
    if (!bars) {
        gs_free(rows);
        return gs_error(d, GS_ENOMEM, "out of memory");
    }
    size_t n = 0;
    for (size_t k = 0; k < res->nmetrics; k++) {
        if (strcmp(rows[k].metric, "utilization") != 0)
            continue;
        /* A GPU pool's utilization counts occupied batch slots; the axis
         * says "share of time busy", which for it is gpu_busy_ratio (the
         * share of GPU-time running a pass). A component's metrics are
         * adjacent, so the search stays within its own rows. */
        size_t u = k;
        for (size_t j = k + 1; j < res->nmetrics &&
                               strcmp(rows[j].component, rows[k].component) == 0; j++)
            if (strcmp(rows[j].metric, "gpu_busy_ratio") == 0)
                u = j;
        bars[n++] = (gs_plot_bar){rows[k].component, slot, rows[u].est.mean,
                                  rows[u].est.ci_low, rows[u].est.ci_high};
    }
    char title[400];
    snprintf(title, sizeof title, "%s", sc->name);
    if (n > UTIL_BARS_MAX) {
        /* A bar per component stops being readable (and past a few thousand
         * cairo refuses the canvas): the busiest ones are what a reader
         * looks for. */
        qsort(bars, n, sizeof *bars, busier_first);
        snprintf(title, sizeof title, "%s: the %d busiest of %zu components", sc->name,
                 UTIL_BARS_MAX, n);
        n = UTIL_BARS_MAX;
    }
    if (n > 0) {
        char name[300];
        snprintf(name, sizeof name, "utilization-%s", sc->name);
        rc = gs_plot_utilization(dir, name, title, slot, bars, n, d);
    }
    gs_free(bars);
    gs_free(rows);
    return rc;
}

static const struct {
    const char *metric, *ylabel;
} key_metrics[] = {
    {"availability", "availability (share ok or fallback)"},
    {"latency_mean", "mean latency (s)"},
    {"latency_p99", "p99 latency (s)"},
    {"throughput", "throughput (requests/s)"},
    {"goodput", "goodput (requests/s within deadline)"},
    {"error_ratio", "error ratio"},
    {"cost_per_1k_requests", "cost per 1000 requests"},
};

static int compare_bars(const char *dir, gs_scenario *const *sc, const gs_results *res,
                        size_t n, gs_diag *d, gs_diag *first)
{
    gs_plot_bar *bars = gs_calloc(n, sizeof *bars);
    if (!bars)
        return gs_error(d, GS_ENOMEM, "out of memory");
    int rc = GS_OK;
    for (size_t m = 0; m < sizeof key_metrics / sizeof key_metrics[0]; m++) {
        size_t have = 0;
        double any = 0;
        for (size_t s = 0; s < n; s++) {
            for (size_t k = 0; k < res[s].nmetrics; k++) {
                if (strcmp(res[s].component[k], "system") != 0 ||
                    strcmp(res[s].name[k], key_metrics[m].metric) != 0)
                    continue;
                gs_results one = res[s];
                one.nmetrics = 1;
                one.component = &res[s].component[k];
                one.name = &res[s].name[k];
                one.values = res[s].values + k * (size_t)res[s].nreps;
                gs_summary_row *row;
                if (gs_report_rows(&one, sc[s]->confidence, &row, d) != GS_OK) {
                    gs_free(bars);
                    return GS_ENOMEM;
                }
                bars[have++] = (gs_plot_bar){sc[s]->name, (int)s, row->est.mean,
                                             row->est.ci_low, row->est.ci_high};
                any += fabs(row->est.mean);
                gs_free(row);
            }
        }
        /* A cost chart of zeros says nothing. */
        if (have == 0 || (any == 0 && strcmp(key_metrics[m].metric, "availability") != 0))
            continue;
        rc = gs_plot_keep(rc, gs_plot_status(gs_plot_compare(dir, key_metrics[m].metric,
                                                  key_metrics[m].ylabel, bars, have, d),
                                  d, first));
        if (rc != GS_OK && rc != GS_PLOT_ENOGNUPLOT)
            break;
    }
    gs_free(bars);
    return rc;
}

/* Series that vary over a run in ways the timeline does not show and that
 * users look at over time: worker counts of autoscaled pools and the lag
 * of brokers. One plot per name, one curve per component that has it. */
static const char *const over_time[] = {"workers", "lag"};

static int component_series(const char *dir, const gs_scenario *sc, const gs_results *res,
                            const char *which, gs_diag *d)
{
    const gs_trace *t0 = &res->traces[0];
    size_t ns = t0->nsamples, nc = t0->ncols;
    if (ns == 0)
        return GS_OK;
    size_t ncurves = 0;
    for (size_t col = 0; col < nc; col++) {
        const char *comp, *name;
        if (gs_trace_column(sc, col, &comp, &name) == GS_OK && strcmp(name, which) == 0)
            ncurves++;
    }
    if (ncurves == 0)
        return GS_OK;
    gs_plot_curve *curves = gs_calloc(ncurves, sizeof *curves);
    double *v = gs_malloc((ns + 3 * ns * ncurves) * sizeof *v);
    double *x = gs_malloc((size_t)res->nreps * sizeof *x);
    int rc = GS_OK;
    if (!curves || !v || !x) {
        rc = gs_error(d, GS_ENOMEM, "out of memory");
        goto out;
    }
    double dt = gs_time_to_s(sc->sample_interval);
    for (size_t k = 0; k < ns; k++)
        v[k] = (double)(k + 1) * dt;
    size_t c = 0;
    for (size_t col = 0; col < nc; col++) {
        const char *comp, *name;
        if (gs_trace_column(sc, col, &comp, &name) != GS_OK || strcmp(name, which) != 0)
            continue;
        double *mean = v + ns + 3 * ns * c, *lo = mean + ns, *hi = lo + ns;
        for (size_t k = 0; k < ns; k++) {
            for (long r = 0; r < res->nreps; r++)
                x[r] = res->traces[r].series[k * nc + col];
            gs_estimate e;
            gs_estimate_compute(x, (size_t)res->nreps, sc->confidence, &e);
            mean[k] = e.mean;
            lo[k] = isnan(e.ci_low) ? e.mean : e.ci_low;
            hi[k] = isnan(e.ci_high) ? e.mean : e.ci_high;
        }
        curves[c] = (gs_plot_curve){comp, (int)c, ns, v, mean, lo, hi};
        c++;
    }
    char name[300], title[400], ylabel[64];
    snprintf(name, sizeof name, "series-%s-%s", sc->name, which);
    snprintf(title, sizeof title, "%s: %s over time (mean of %ld replications, %.0f%% CI)",
             sc->name, which, res->nreps, 100 * sc->confidence);
    snprintf(ylabel, sizeof ylabel, "%s", strcmp(which, "lag") == 0 ? "messages waiting"
                                                                     : which);
    gs_plot_axes ax = {title, "time (s)", ylabel, 0, 0, NAN, NAN, NULL, NULL};
    rc = gs_plot_curves(dir, name, &ax, curves, ncurves, d);
out:
    gs_free(curves);
    gs_free(v);
    gs_free(x);
    return rc;
}

int gs_figures_write(const char *dir, gs_scenario *const *sc, const gs_results *res, size_t n,
                     gs_diag *d)
{
    for (size_t s = 0; s < n; s++)
        if (!res[s].traces || res[s].nreps < 1)
            return gs_error(d, GS_EINTERNAL, "plots need the traces of every replication");
    gs_diag first;
    gs_diag_init(&first);
    int rc = gs_plot_status(cdf(dir, sc, res, n, d), d, &first);
    for (size_t s = 0; s < n && (rc == GS_OK || rc == GS_PLOT_ENOGNUPLOT); s++) {
        rc = gs_plot_keep(rc, gs_plot_status(timeline(dir, sc[s], &res[s], (int)s, d), d, &first));
        if (rc == GS_OK || rc == GS_PLOT_ENOGNUPLOT)
            rc = gs_plot_keep(rc, gs_plot_status(utilization(dir, sc[s], &res[s], (int)s, d), d,
                                      &first));
        for (size_t w = 0; w < sizeof over_time / sizeof over_time[0] &&
                           (rc == GS_OK || rc == GS_PLOT_ENOGNUPLOT); w++)
            rc = gs_plot_keep(rc, gs_plot_status(component_series(dir, sc[s], &res[s],
                                                                  over_time[w], d),
                                                 d, &first));
    }
    if (n > 1 && (rc == GS_OK || rc == GS_PLOT_ENOGNUPLOT))
        rc = gs_plot_keep(rc, compare_bars(dir, sc, res, n, d, &first));
    if (rc != GS_OK && first.code != GS_OK)
        *d = first;
    return rc;
}
