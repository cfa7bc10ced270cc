/* The result files of a sweep (analysis/sweep_report.h): the tidy table
 * sweep.csv, the archive sweep.h5 and one plot per (parameter, metric).
 *
 * Invariant: every estimate written comes from gs_report_rows() on the
 * point's replications, the very function behind summary.csv, so a sweep
 * row and the summary.csv of a run of that point with the same seeds hold
 * the same numbers; and each file appears whole or not at all (the CSV
 * through gs_report_write_file(), the HDF5 file through gs_h5_write_sweep(),
 * the plots through analysis/plot.c).
 *
 * A plot against parameter P draws one curve per base and per combination
 * of the other parameters that vary independently of P. Whether another
 * parameter Q varies independently is read from the grid itself: after the
 * points are sorted by P's value (a stable sort, so equal values keep grid
 * order), Q splits curves only if it takes two texts at one value of P. In
 * a cartesian grid that is every Q with two or more values; a Q zipped with
 * P, or with a single value, is a function of P and would otherwise cut
 * every curve into single points. The cost is O(N log N + N C K) per
 * parameter for N points, C curves per base and K splitting parameters,
 * negligible beside the simulation. */
#include "sweep_report.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/atomic.h"
#include "analysis/csv.h"
#include "analysis/h5.h"
#include "analysis/plot.h"
#include "analysis/report.h"
#include "analysis/summary.h"
#include "sim/alloc.h"
#include "sim/error.h"
#include "sim/replicate.h"

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

static int check_base(const gs_sweep_result *s, size_t i, gs_diag *d)
{
    const gs_sweep_base_result *b = &s->base[i];
    const char *name = b->name;
    if (!name || !name[0] || strchr(name, '/') || strcmp(name, ".") == 0)
        return gs_error(d, GS_EINVAL, "sweep \"%s\": base scenario %zu: name \"%s\" cannot "
                        "be used (empty, \".\" or containing '/')", or_empty(s->name), i,
                        or_empty(name));
    for (size_t j = 0; j < i; j++)
        if (strcmp(s->base[j].name, name) == 0)
            return gs_error(d, GS_EINVAL, "sweep \"%s\": two base scenarios are named \"%s\"",
                            or_empty(s->name), name);
    if (b->nrep < 1 || b->nrep > LONG_MAX)
        return gs_error(d, GS_EINVAL, "sweep \"%s\": base scenario \"%s\": %zu replications",
                        or_empty(s->name), name, b->nrep);
    if (b->nmetrics > 0 && (!b->component || !b->metric || !b->values))
        return gs_error(d, GS_EINVAL, "sweep \"%s\": base scenario \"%s\": metric names or "
                        "values missing", or_empty(s->name), name);
    /* The values array must be addressable: npoints * nrep * nmetrics. */
    if (b->nmetrics > 0 && (b->nrep > SIZE_MAX / b->nmetrics
                            || s->npoints > SIZE_MAX / (b->nrep * b->nmetrics)
                            || s->npoints * b->nrep * b->nmetrics > SIZE_MAX / sizeof(double)))
        return gs_error(d, GS_EINVAL, "sweep \"%s\": base scenario \"%s\" is too large",
                        or_empty(s->name), name);
    for (size_t m = 0; m < b->nmetrics; m++)
        if (!b->component[m] || !b->metric[m])
            return gs_error(d, GS_EINVAL, "sweep \"%s\": base scenario \"%s\": metric %zu has "
                            "no name", or_empty(s->name), name, m);
    return GS_OK;
}

/* The rules of analysis/sweep_report.h, checked before anything is
 * written so that a malformed result leaves no file behind. */
static int check_result(const gs_sweep_result *s, gs_diag *d)
{
    if (!s)
        return gs_error(d, GS_EINVAL, "sweep: no results");
    const char *name = or_empty(s->name);
    if (s->nparams < 1 || s->npoints < 1 || s->nbases < 1)
        return gs_error(d, GS_EINVAL, "sweep \"%s\": %zu parameters, %zu points and %zu base "
                        "scenarios; each must be at least 1", name, s->nparams, s->npoints,
                        s->nbases);
    if (!s->param || !s->param_unit || !s->text || !s->num || !s->base
        || (s->nplot > 0 && !s->plot))
        return gs_error(d, GS_EINVAL, "sweep \"%s\": an array of the results is missing", name);
    if (s->npoints > SIZE_MAX / s->nparams)
        return gs_error(d, GS_EINVAL, "sweep \"%s\": the grid is too large", name);
    for (size_t j = 0; j < s->nparams; j++)
        if (!s->param[j] || !s->param[j][0])
            return gs_error(d, GS_EINVAL, "sweep \"%s\": parameter %zu has no path", name, j);
    for (size_t k = 0; k < s->nplot; k++)
        if (!s->plot[k] || !s->plot[k][0])
            return gs_error(d, GS_EINVAL, "sweep \"%s\": plotted metric %zu is empty", name, k);
    for (size_t i = 0; i < s->nbases; i++) {
        int rc = check_base(s, i, d);
        if (rc != GS_OK)
            return rc;
    }
    return GS_OK;
}

/* The summary of base b at every point: est[p * nmetrics + m], computed as
 * summary.csv's rows are (gs_report_rows), which wants the values of one
 * point metric-major, so each point's block is transposed into buf. */
static int base_summary(const gs_sweep_result *s, const gs_sweep_base_result *b,
                        gs_estimate *est, gs_diag *d)
{
    size_t nm = b->nmetrics, nrep = b->nrep;
    if (nm == 0)
        return GS_OK;
    const char **names = gs_malloc(2 * nm * sizeof *names);
    double *buf = gs_malloc(nm * nrep * sizeof *buf);
    int rc = GS_OK;
    if (!names || !buf) {
        rc = gs_error(d, GS_ENOMEM, "sweep \"%s\": out of memory", or_empty(s->name));
        goto out;
    }
    memcpy(names, b->component, nm * sizeof *names);
    memcpy(names + nm, b->metric, nm * sizeof *names);
    gs_results res = {.nmetrics = nm, .nreps = (long)nrep, .component = names,
                      .name = names + nm, .values = buf};
    for (size_t p = 0; p < s->npoints && rc == GS_OK; p++) {
        const double *v = b->values + p * nrep * nm;
        for (size_t r = 0; r < nrep; r++)
            for (size_t m = 0; m < nm; m++)
                buf[m * nrep + r] = v[r * nm + m];
        gs_summary_row *rows;
        rc = gs_report_rows(&res, s->confidence, &rows, d);
        if (rc != GS_OK)
            break;
        for (size_t m = 0; m < nm; m++)
            est[p * nm + m] = rows[m].est;
        gs_free(rows);
    }
out:
    gs_free(names);
    gs_free(buf);
    return rc;
}

/* Base b's summary in a new array. Caller frees with gs_free(). */
static int new_summary(const gs_sweep_result *s, size_t b, gs_estimate **out, gs_diag *d)
{
    size_t n = s->npoints * s->base[b].nmetrics;
    *out = gs_malloc((n ? n : 1) * sizeof **out);
    if (!*out)
        return gs_error(d, GS_ENOMEM, "sweep \"%s\": out of memory", or_empty(s->name));
    int rc = base_summary(s, &s->base[b], *out, d);
    if (rc != GS_OK) {
        gs_free(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- sweep.csv ---------------------------------------------------------- */

/* One cell of a sweep.csv row: in CSV its field (after a comma unless it
 * is the first), in JSON its "key": value pair. A number that is finite is
 * written as one (JSON has no NaN: null, as run --format json writes it);
 * text as a quoted string. */
typedef struct row_writer {
    FILE       *f;
    int         json;
    int         first;
} row_writer;

static void cell_key(row_writer *w, const char *key)
{
    if (!w->first)
        fputs(w->json ? ", " : ",", w->f);
    w->first = 0;
    if (w->json) {
        gs_summary_json_string(w->f, key);
        fputs(": ", w->f);
    }
}

static void cell_text(row_writer *w, const char *key, const char *text)
{
    cell_key(w, key);
    if (w->json)
        gs_summary_json_string(w->f, text);
    else
        gs_csv_write_field(w->f, text);
}

static void cell_number(row_writer *w, const char *key, double v)
{
    cell_key(w, key);
    if (w->json)
        gs_summary_json_number(w->f, v);
    else
        gs_summary_csv_number(w->f, v);
}

static void cell_count(row_writer *w, const char *key, long n)
{
    cell_key(w, key);
    fprintf(w->f, "%ld", n);
}

static int sweep_rows(FILE *f, const gs_sweep_result *s, int json)
{
    static const char *const stat_key[4] = {"mean", "ci_low", "ci_high", "stddev"};
    gs_diag d;
    gs_diag_init(&d);
    int rc = check_result(s, &d);
    if (rc != GS_OK)
        return rc;
    if (json) {
        fputc('[', f);
    } else {
        fputs("scenario,component,metric,mean,ci_low,ci_high,stddev,replications", f);
        for (size_t j = 0; j < s->nparams; j++) {
            fputc(',', f);
            gs_csv_write_field(f, s->param[j]);
        }
        fputc('\n', f);
    }
    int rows = 0;
    for (size_t b = 0; b < s->nbases && rc == GS_OK; b++) {
        const gs_sweep_base_result *base = &s->base[b];
        gs_estimate *est;
        if ((rc = new_summary(s, b, &est, &d)) != GS_OK)
            break;
        for (size_t p = 0; p < s->npoints; p++) {
            for (size_t m = 0; m < base->nmetrics; m++) {
                const gs_estimate *e = &est[p * base->nmetrics + m];
                row_writer w = {f, json, 1};
                if (json)
                    fputs(rows ? ",\n  {" : "\n  {", f);
                rows++;
                cell_text(&w, "scenario", base->name);
                cell_text(&w, "component", base->component[m]);
                cell_text(&w, "metric", base->metric[m]);
                const double v[4] = {e->mean, e->ci_low, e->ci_high, e->stddev};
                for (size_t k = 0; k < 4; k++)
                    cell_number(&w, stat_key[k], v[k]);
                cell_count(&w, "replications", e->n);
                for (size_t j = 0; j < s->nparams; j++) {
                    double x = s->num[p * s->nparams + j];
                    if (isfinite(x))
                        cell_number(&w, s->param[j], x);
                    else
                        cell_text(&w, s->param[j], s->text[p * s->nparams + j]);
                }
                fputs(json ? "}" : "\n", f);
            }
        }
        gs_free(est);
    }
    if (json)
        fputs(rows ? "\n]\n" : "]\n", f);
    if (fflush(f) != 0 || ferror(f))
        return rc != GS_OK ? rc : GS_EIO;
    return rc;
}

int gs_sweep_report_csv(FILE *f, const gs_sweep_result *s)
{
    return sweep_rows(f, s, 0);
}

int gs_sweep_report_json(FILE *f, const gs_sweep_result *s)
{
    return sweep_rows(f, s, 1);
}

/* ---- sweep.h5 ----------------------------------------------------------- */

/* The summary of one base as the HDF5 writer takes it: one block of
 * 4 * cells doubles (mean, ci_low, ci_high, stddev) and one of counts. */
typedef struct h5_summary {
    double *stat;
    long   *n;
} h5_summary;

static int fill_h5_base(const gs_sweep_result *s, size_t b, gs_h5_sweep_base *hb,
                        h5_summary *o, gs_diag *d)
{
    const gs_sweep_base_result *base = &s->base[b];
    size_t cells = s->npoints * base->nmetrics;
    gs_estimate *est;
    int rc = new_summary(s, b, &est, d);
    if (rc != GS_OK)
        return rc;
    o->stat = gs_malloc((4 * cells + 1) * sizeof *o->stat);
    o->n = gs_malloc((cells + 1) * sizeof *o->n);
    if (!o->stat || !o->n) {
        gs_free(est);
        return gs_error(d, GS_ENOMEM, "sweep \"%s\": out of memory", or_empty(s->name));
    }
    for (size_t i = 0; i < cells; i++) {
        o->stat[i] = est[i].mean;
        o->stat[cells + i] = est[i].ci_low;
        o->stat[2 * cells + i] = est[i].ci_high;
        o->stat[3 * cells + i] = est[i].stddev;
        o->n[i] = est[i].n;
    }
    gs_free(est);
    *hb = (gs_h5_sweep_base){
        .name = base->name, .yaml = base->yaml, .nrep = base->nrep,
        .nmetrics = base->nmetrics, .component = base->component, .metric = base->metric,
        .values = base->values, .mean = o->stat, .ci_low = o->stat + cells,
        .ci_high = o->stat + 2 * cells, .stddev = o->stat + 3 * cells, .n = o->n};
    return GS_OK;
}

int gs_sweep_report_h5(const char *path, const gs_sweep_result *s, gs_diag *d)
{
    int rc = check_result(s, d);
    if (rc != GS_OK)
        return rc;
    gs_h5_sweep_base *hb = gs_calloc(s->nbases, sizeof *hb);
    h5_summary *o = gs_calloc(s->nbases, sizeof *o);
    if (!hb || !o)
        rc = gs_error(d, GS_ENOMEM, "%s: out of memory", path);
    for (size_t b = 0; b < s->nbases && rc == GS_OK; b++)
        rc = fill_h5_base(s, b, &hb[b], &o[b], d);
    if (rc == GS_OK) {
        gs_h5_sweep h = {
            .name = s->name, .sweep_yaml = s->sweep_yaml, .confidence = s->confidence,
            .nparams = s->nparams, .param = s->param, .param_unit = s->param_unit,
            .npoints = s->npoints, .text = s->text, .value = s->num,
            .nbases = s->nbases, .base = hb};
        rc = gs_h5_write_sweep(path, &h, d);
    }
    if (o)
        for (size_t b = 0; b < s->nbases; b++) {
            gs_free(o[b].stat);
            gs_free(o[b].n);
        }
    gs_free(o);
    gs_free(hb);
    return rc;
}

/* ---- plots -------------------------------------------------------------- */


/* Index of plotted metric "METRIC" (a system metric) or "COMPONENT/METRIC"
 * among base b's metrics, or -1. */
static long find_plot_metric(const gs_sweep_base_result *b, const char *plot)
{
    const char *slash = strchr(plot, '/');
    const char *metric = slash ? slash + 1 : plot;
    size_t clen = slash ? (size_t)(slash - plot) : strlen("system");
    const char *comp = slash ? plot : "system";
    for (size_t m = 0; m < b->nmetrics; m++)
        if (strlen(b->component[m]) == clen && strncmp(b->component[m], comp, clen) == 0
            && strcmp(b->metric[m], metric) == 0)
            return (long)m;
    return -1;
}

/* The unit of a metric by its name (docs/results.md, "Units"), as shown in
 * an axis label; "" where it is a fraction, a count or money. */
static const char *metric_unit(const char *plot)
{
    const char *slash = strchr(plot, '/');
    const char *m = slash ? slash + 1 : plot;
    if (gs_summary_is_time_metric(m))
        return "s";
    if (strcmp(m, "throughput") == 0 || strcmp(m, "offered_rate") == 0
        || strcmp(m, "goodput") == 0 || strcmp(m, "tokens_per_s") == 0)
        return "1/s";
    return "";
}

/* Does path end with the whole segments of tail? */
static int ends_with_segments(const char *path, const char *tail)
{
    size_t n = strlen(path), k = strlen(tail);
    return n >= k && strcmp(path + n - k, tail) == 0 && (n == k || path[n - k - 1] == '.');
}

/* Parameter j's name in labels: the last segment of its path ("servers" of
 * "components.gw.servers"), or, where another parameter's path ends the
 * same way, the shortest tail of whole segments that tells them apart
 * ("chat.arrivals.rate" beside "workload.auth.arrivals.rate"). */
static const char *short_name(const gs_sweep_result *s, size_t j)
{
    const char *path = s->param[j], *tail = path + strlen(path);
    for (int first = 1; tail > path; first = 0) {
        /* One more segment: back onto the dot before the current tail,
         * then to the start of the segment before it. */
        if (!first)
            tail--;
        while (tail > path && tail[-1] != '.')
            tail--;
        /* An empty segment ("a..b") names nothing. */
        if (tail[0] == '.' || !tail[0])
            continue;
        size_t q = 0;
        while (q < s->nparams && (q == j || !ends_with_segments(s->param[q], tail)))
            q++;
        if (q == s->nparams)
            return tail;
    }
    return path;
}

/* "TEXT (UNIT)", or TEXT alone when unit is "". Caller frees with
 * gs_free(). */
static char *with_unit(const char *text, const char *unit)
{
    size_t len = strlen(text) + strlen(unit) + 4;
    char *s = gs_malloc(len);
    if (s)
        snprintf(s, len, unit[0] ? "%s (%s)" : "%s", text, unit);
    return s;
}

static void sanitize(char *p)
{
    for (; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                 || c == '.' || c == '_' || c == '-';
        if (!ok)
            *p = '_';
    }
}

typedef struct keyed {
    double x;
    size_t p;
} keyed;

/* By x, then by grid position: equal values keep grid order, so the sort
 * is stable and its result does not depend on the qsort implementation. */
static int by_x(const void *a, const void *b)
{
    const keyed *u = a, *v = b;
    if (u->x != v->x)
        return u->x < v->x ? -1 : 1;
    return (u->p > v->p) - (u->p < v->p);
}

/* Working memory of the plots against one parameter, sized for the worst
 * case: every point its own curve in every base. */
typedef struct plot_work {
    keyed         *order;     /* [npoints] points by P's value */
    size_t        *combo;     /* [npoints] curve (combination) of each point, in
                                 first-seen order */
    size_t        *rep;       /* [npoints] a point of each combination */
    size_t        *split;     /* [nparams] the parameters that split curves */
    gs_plot_curve *curves;    /* [nbases * npoints] */
    char         **labels;    /* [nbases * npoints] */
    double        *xy;        /* 4 * nbases * npoints: x, mean, lo, hi */
} plot_work;

static void work_release(plot_work *w)
{
    gs_free(w->order);
    gs_free(w->combo);
    gs_free(w->rep);
    gs_free(w->split);
    gs_free(w->curves);
    gs_free(w->labels);
    gs_free(w->xy);
    /* work_init() releases what it got when it fails, and its caller
     * releases again on its way out. */
    *w = (plot_work){0};
}

static int work_init(plot_work *w, const gs_sweep_result *s)
{
    size_t n = s->npoints, total = s->nbases * n;
    *w = (plot_work){0};
    if (s->nbases > SIZE_MAX / n || total > SIZE_MAX / (4 * sizeof(double)))
        return GS_ENOMEM;
    w->order = gs_malloc(n * sizeof *w->order);
    w->combo = gs_malloc(n * sizeof *w->combo);
    w->rep = gs_malloc(n * sizeof *w->rep);
    w->split = gs_malloc(s->nparams * sizeof *w->split);
    w->curves = gs_calloc(total, sizeof *w->curves);
    w->labels = gs_calloc(total, sizeof *w->labels);
    w->xy = gs_malloc(4 * total * sizeof *w->xy);
    if (!w->order || !w->combo || !w->rep || !w->split || !w->curves || !w->labels || !w->xy) {
        work_release(w);
        return GS_ENOMEM;
    }
    return GS_OK;
}

static const char *text_at(const gs_sweep_result *s, size_t p, size_t j)
{
    return or_empty(s->text[p * s->nparams + j]);
}

/* Sort the points by parameter j's value. 0 when j is no axis: a value is
 * not a finite number, or all values are equal. */
static int sort_axis(const gs_sweep_result *s, size_t j, plot_work *w)
{
    for (size_t p = 0; p < s->npoints; p++) {
        double x = s->num[p * s->nparams + j];
        if (!isfinite(x))
            return 0;
        w->order[p] = (keyed){x, p};
    }
    qsort(w->order, s->npoints, sizeof *w->order, by_x);
    return w->order[0].x != w->order[s->npoints - 1].x;
}

/* The parameters other than j that split curves (the opening comment says
 * which) into w->split; returns how many. Needs w->order. */
static size_t find_split(const gs_sweep_result *s, size_t j, plot_work *w)
{
    size_t k = 0;
    for (size_t q = 0; q < s->nparams; q++) {
        if (q == j)
            continue;
        int varies = 0;
        size_t run = 0;   /* first point of the current run of equal x */
        for (size_t i = 1; i < s->npoints && !varies; i++) {
            if (w->order[i].x != w->order[run].x) {
                run = i;
                continue;
            }
            varies = strcmp(text_at(s, w->order[i].p, q), text_at(s, w->order[run].p, q)) != 0;
        }
        if (varies)
            w->split[k++] = q;
    }
    return k;
}

/* Give each point its combination of the splitting parameters' texts,
 * numbered in grid order; returns how many there are. */
static size_t find_combos(const gs_sweep_result *s, const plot_work *w, size_t nsplit)
{
    size_t ncombo = 0;
    for (size_t p = 0; p < s->npoints; p++) {
        size_t c = 0;
        for (; c < ncombo; c++) {
            size_t k = 0;
            while (k < nsplit
                   && strcmp(text_at(s, p, w->split[k]), text_at(s, w->rep[c], w->split[k])) == 0)
                k++;
            if (k == nsplit)
                break;
        }
        if (c == ncombo)
            w->rep[ncombo++] = p;
        w->combo[p] = c;
    }
    return ncombo;
}

/* "BASE" or "BASE, NAME=TEXT, ..." for combination c (NAME: short_name()). Caller frees with
 * gs_free(); NULL when out of memory. */
static char *curve_label(const gs_sweep_result *s, const plot_work *w, size_t nsplit,
                         const char *base, size_t c)
{
    size_t len = strlen(base) + 1;
    for (size_t k = 0; k < nsplit; k++)
        len += 3 + strlen(short_name(s, w->split[k]))
               + strlen(text_at(s, w->rep[c], w->split[k]));
    char *label = gs_malloc(len);
    if (!label)
        return NULL;
    size_t at = (size_t)snprintf(label, len, "%s", base);
    for (size_t k = 0; k < nsplit; k++)
        at += (size_t)snprintf(label + at, len - at, ", %s=%s",
                               short_name(s, w->split[k]),
                               text_at(s, w->rep[c], w->split[k]));
    return label;
}

/* The plot of metric plot[k] against parameter j, whose points w->order
 * holds sorted. est[b] is base b's summary, col[k * nbases + b] the
 * metric's index in base b (-1: not reported). */
static int plot_one(const char *dir, const gs_sweep_result *s, size_t j, size_t k,
                    const long *col, gs_estimate *const *est, plot_work *w, size_t nsplit,
                    size_t ncombo, gs_diag *d)
{
    const char *metric = s->plot[k], *param = s->param[j];
    size_t n = s->npoints, total = s->nbases * n, ncurves = 0, used = 0;
    double *x = w->xy, *mean = x + total, *lo = mean + total, *hi = lo + total;
    int rc = GS_OK;
    for (size_t b = 0; b < s->nbases && rc == GS_OK; b++) {
        long m = col[k * s->nbases + b];
        if (m < 0)
            continue;
        size_t nm = s->base[b].nmetrics;
        for (size_t c = 0; c < ncombo; c++) {
            gs_plot_curve *cv = &w->curves[ncurves];
            char *label = curve_label(s, w, nsplit, s->base[b].name, c);
            if (!label) {
                rc = gs_error(d, GS_ENOMEM, "sweep \"%s\": out of memory", or_empty(s->name));
                break;
            }
            w->labels[ncurves++] = label;
            *cv = (gs_plot_curve){label, (int)((nsplit ? b * ncombo + c : b) % INT_MAX), 0,
                                  x + used, mean + used, lo + used, hi + used};
            for (size_t i = 0; i < n; i++) {
                size_t p = w->order[i].p;
                if (w->combo[p] != c)
                    continue;
                const gs_estimate *e = &est[b][p * nm + (size_t)m];
                x[used] = w->order[i].x;
                mean[used] = e->mean;
                lo[used] = e->ci_low;
                hi[used] = e->ci_high;
                used++;
                cv->n++;
            }
        }
    }
    char *xlabel = with_unit(short_name(s, j), or_empty(s->param_unit[j]));
    char *ylabel = with_unit(metric, metric_unit(metric));
    size_t tlen = strlen(or_empty(s->name)) + strlen(metric) + strlen(param) + 8;
    size_t nlen = strlen(metric) + strlen(param) + 12;
    char *title = gs_malloc(tlen), *name = gs_malloc(nlen);
    if (rc == GS_OK && (!xlabel || !ylabel || !title || !name))
        rc = gs_error(d, GS_ENOMEM, "sweep \"%s\": out of memory", or_empty(s->name));
    if (rc == GS_OK) {
        snprintf(title, tlen, "%s: %s vs %s", or_empty(s->name), metric, param);
        snprintf(name, nlen, "sweep-%s-vs-%s", metric, param);
        sanitize(name + strlen("sweep-"));
        double xmin = w->order[0].x, xmax = w->order[n - 1].x;
        gs_plot_axes ax = {title, xlabel, ylabel, xmin > 0 && xmax / xmin >= 50, 0,
                           NAN, NAN, NULL, NULL};
        rc = gs_plot_curves(dir, name, &ax, w->curves, ncurves, d);
    }
    for (size_t i = 0; i < ncurves; i++) {
        gs_free(w->labels[i]);
        w->labels[i] = NULL;
    }
    gs_free(xlabel);
    gs_free(ylabel);
    gs_free(title);
    gs_free(name);
    return rc;
}

/* Where each plotted metric sits in each base: col[k * nbases + b]. Every
 * plotted metric must be somewhere. */
static int resolve_metrics(const gs_sweep_result *s, long *col, gs_diag *d)
{
    for (size_t k = 0; k < s->nplot; k++) {
        int any = 0;
        for (size_t b = 0; b < s->nbases; b++) {
            col[k * s->nbases + b] = find_plot_metric(&s->base[b], s->plot[k]);
            any |= col[k * s->nbases + b] >= 0;
        }
        if (!any)
            return gs_error(d, GS_EINVAL, "plot metric '%s': no base scenario reports it "
                            "(e.g. latency_p99 or gw/utilization)", s->plot[k]);
    }
    return GS_OK;
}

int gs_sweep_report_plots(const char *dir, const gs_sweep_result *s, gs_diag *d)
{
    int rc = check_result(s, d);
    if (rc != GS_OK)
        return rc;
    if (s->nplot == 0)
        return GS_OK;
    long *col = gs_malloc(s->nplot * s->nbases * sizeof *col);
    gs_estimate **est = gs_calloc(s->nbases, sizeof *est);
    plot_work w = {0};
    if (!col || !est || work_init(&w, s) != GS_OK) {
        rc = gs_error(d, GS_ENOMEM, "sweep \"%s\": out of memory", or_empty(s->name));
        goto out;
    }
    if ((rc = resolve_metrics(s, col, d)) != GS_OK)
        goto out;
    for (size_t b = 0; b < s->nbases && rc == GS_OK; b++)
        rc = new_summary(s, b, &est[b], d);
    if (rc != GS_OK)
        goto out;

    gs_diag first;
    gs_diag_init(&first);
    for (size_t j = 0; j < s->nparams && (rc == GS_OK || rc == GS_PLOT_ENOGNUPLOT); j++) {
        if (!sort_axis(s, j, &w))
            continue;
        size_t nsplit = find_split(s, j, &w);
        size_t ncombo = find_combos(s, &w, nsplit);
        for (size_t k = 0; k < s->nplot && (rc == GS_OK || rc == GS_PLOT_ENOGNUPLOT); k++)
            rc = gs_plot_keep(rc, gs_plot_status(plot_one(dir, s, j, k, col, est, &w, nsplit, ncombo, d),
                                      d, &first));
    }
    if (rc != GS_OK && first.code != GS_OK)
        *d = first;
out:
    if (est)
        for (size_t b = 0; b < s->nbases; b++)
            gs_free(est[b]);
    gs_free(est);
    gs_free(col);
    work_release(&w);
    return rc;
}

/* ---- all of it ---------------------------------------------------------- */

static int csv_body(FILE *f, const void *arg)
{
    return gs_sweep_report_csv(f, arg);
}

/* "DIR/NAME". Caller frees with gs_free(); NULL when out of memory. */
static char *join(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *p = gs_malloc(len);
    if (p)
        snprintf(p, len, "%s/%s", dir, name);
    return p;
}

int gs_sweep_report_write(const char *dir, const gs_sweep_result *s, int plots, gs_diag *d)
{
    int rc = check_result(s, d);
    if (rc == GS_OK && (!dir || !dir[0]))
        rc = gs_error(d, GS_EINVAL, "sweep \"%s\": no output directory", or_empty(s->name));
    if (rc == GS_OK)
        rc = gs_mkdir_p(dir, d);
    if (rc != GS_OK)
        return rc;
    rc = gs_report_write_file(dir, "sweep.csv", csv_body, s, d);
    char *h5 = join(dir, "sweep.h5");
    int rc_h5 = h5 ? gs_sweep_report_h5(h5, s, d)
                   : gs_error(d, GS_ENOMEM, "sweep \"%s\": out of memory", or_empty(s->name));
    gs_free(h5);
    if (rc == GS_OK)
        rc = rc_h5;
    if (rc != GS_OK || !plots)
        return rc;
    char *pdir = join(dir, "plots");
    if (!pdir)
        return gs_error(d, GS_ENOMEM, "sweep \"%s\": out of memory", or_empty(s->name));
    rc = gs_sweep_report_plots(pdir, s, d);
    gs_free(pdir);
    return rc;
}
