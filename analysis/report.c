/* Summary rows, result files and the progress bar of a run.
 *
 * Result files are written through analysis/atomic.c: a temporary file in
 * the output directory renamed over the final name once complete, so a run
 * killed at any moment never leaves a file that looks whole but is not. */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "analysis/atomic.h"
#include "sim/alloc.h"
#include "sim/error.h"
#include "sim/scenario.h"

int gs_report_is_share(const char *metric)
{
    size_t n = strlen(metric);
    return strcmp(metric, "availability") == 0 || strcmp(metric, "utilization") == 0 ||
           (n > 6 && strcmp(metric + n - 6, "_ratio") == 0);
}

int gs_report_is_rate(const char *metric)
{
    size_t n = strlen(metric);
    return strcmp(metric, "throughput") == 0 || strcmp(metric, "offered_rate") == 0 ||
           strcmp(metric, "goodput") == 0 || (n > 6 && strcmp(metric + n - 6, "_per_s") == 0);
}

int gs_report_rows(const gs_results *res, double confidence, gs_summary_row **rows,
                   gs_diag *d)
{
    gs_summary_row *r = gs_calloc(res->nmetrics ? res->nmetrics : 1, sizeof *r);
    if (!r)
        return gs_error(d, GS_ENOMEM, "out of memory");
    for (size_t k = 0; k < res->nmetrics; k++) {
        r[k].component = res->component[k];
        r[k].metric = res->name[k];
        gs_estimate_compute(res->values + k * (size_t)res->nreps, (size_t)res->nreps,
                            confidence, &r[k].est);
        /* Every metric of a run is >= 0 and shares are <= 1; the t interval
         * can reach past those bounds, where the truth certainly is not. */
        if (r[k].est.ci_low < 0)
            r[k].est.ci_low = 0;
        if (gs_report_is_share(r[k].metric) && r[k].est.ci_high > 1)
            r[k].est.ci_high = 1;
    }
    *rows = r;
    return GS_OK;
}

/* The mean of component's metric among rows, NaN when it has none. */
static double row_mean(const gs_summary_row *rows, size_t n, const char *component,
                       const char *metric)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(rows[k].component, component) == 0 && strcmp(rows[k].metric, metric) == 0)
            return rows[k].est.mean;
    return NAN;
}

int gs_report_saturation(const gs_scenario *sc, const gs_summary_row *rows, size_t n,
                         char *buf, size_t size)
{
    int open = 0;
    for (size_t w = 0; w < sc->nworkloads; w++)
        open |= sc->workloads[w].process != GS_PROC_CLOSED;
    if (!open)
        return 0;
    /* Anything that turns requests away (a full queue anywhere, a broker's
     * retention, a rate limit, a breaker or bulkhead) may be what bounds the
     * busy component's queue: then it need not grow, and no warning is
     * better than a wrong one. */
    if (row_mean(rows, n, "system", "rejected_ratio") > 0)
        return 0;
    for (size_t k = 0; k < n; k++)
        if (strcmp(rows[k].metric, "blocked_ratio") == 0 && rows[k].est.mean > 0)
            return 0;
    const gs_summary_row *worst = NULL;
    for (size_t k = 0; k < n; k++) {
        const gs_summary_row *r = &rows[k];
        if (strcmp(r->metric, "utilization") != 0 || !(r->est.mean >= GS_REPORT_SATURATED))
            continue;
        /* An autoscaled worker pool keeps a target backlog per worker on
         * purpose, busy all the time in a steady state. */
        if (row_mean(rows, n, r->component, "scale_events") > 0)
            continue;
        if (!worst || r->est.mean > worst->est.mean)
            worst = r;
    }
    if (!worst)
        return 0;
    snprintf(buf, size, "component '%s' is saturated (utilization %.3f, nothing turned "
             "away): the offered load is at or beyond what it serves, so its queue grows "
             "without end or settles only over a time far beyond this run, and the "
             "latencies and queue lengths reported depend on duration instead of describing "
             "a steady state; lower the load, add servers or bound its queue with capacity "
             "(gatesim capacity finds the largest rate that meets an SLO)",
             worst->component, worst->est.mean);
    return 1;
}

int gs_report_tail(const gs_scenario *sc, const gs_summary_row *rows, size_t n, char *buf,
                   size_t size)
{
    double window = gs_time_to_s(sc->duration - sc->warmup);
    double answered = row_mean(rows, n, "system", "throughput") * window;
    if (!(answered > 0))
        return 0;
    double p999 = answered * (1 - 0.999), p99 = answered * (1 - 0.99);
    if (!(p999 < GS_REPORT_TAIL_MIN))
        return 0;
    char also[160] = "";
    if (p99 < GS_REPORT_TAIL_MIN)
        snprintf(also, sizeof also, ", latency_p99 on %.2g", p99);
    snprintf(buf, size, "latency_p999 rests on about %.2g answered requests beyond it per "
             "replication%s (%.0f answered in the %gs window): such a tail percentile is biased "
             "low and its interval only covers its spread; for a tail figure, run longer so "
             "that at least %.0f requests lie beyond it", p999, also, answered, window,
             GS_REPORT_TAIL_MIN);
    return 1;
}

static int write_file(const char *dir, const char *name,
                      int (*body)(FILE *f, const void *arg), const void *arg, gs_diag *d)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = gs_malloc(len);
    if (!path)
        return gs_error(d, GS_ENOMEM, "out of memory");
    snprintf(path, len, "%s/%s", dir, name);
    gs_atomic_file af;
    int rc = gs_atomic_open(&af, path, d);
    if (rc == GS_OK) {
        errno = 0;
        if (body(af.f, arg) != GS_OK) {
            /* The failed write's errno (a full disk, the file size limit) is
             * the reason; it is taken before the cleanup can change it. */
            int err = errno;
            gs_atomic_abort(&af);
            char why[128] = "";
            if (err && strerror_r(err, why, sizeof why) != 0)
                snprintf(why, sizeof why, "error %d", err);
            rc = gs_error(d, GS_EIO, "%s: cannot write%s%s", path, why[0] ? ": " : "", why);
        } else {
            rc = gs_atomic_commit(&af, d);
        }
    }
    gs_free(path);
    return rc;
}

int gs_report_write_file(const char *dir, const char *name,
                         int (*body)(FILE *f, const void *arg), const void *arg, gs_diag *d)
{
    int rc = gs_mkdir_p(dir, d);
    return rc ? rc : write_file(dir, name, body, arg, d);
}

typedef struct summary_args {
    const gs_scenario    *sc;
    const gs_summary_row *rows;
    size_t                n;
} summary_args;

static int summary_body(FILE *f, const void *arg)
{
    const summary_args *a = arg;
    return gs_summary_write_csv(f, a->sc->name, a->rows, a->n);
}

static int scenario_body(FILE *f, const void *arg)
{
    return gs_scenario_emit(arg, f);
}

int gs_report_write(const char *dir, const gs_scenario *sc, const gs_summary_row *rows,
                    size_t n, gs_diag *d)
{
    int rc = gs_mkdir_p(dir, d);
    if (rc)
        return rc;
    summary_args a = {sc, rows, n};
    if ((rc = write_file(dir, "summary.csv", summary_body, &a, d)))
        return rc;
    return write_file(dir, "scenario.yaml", scenario_body, sc, d);
}

int gs_report_print(FILE *f, gs_format fmt, const gs_scenario *sc,
                    const gs_summary_row *rows, size_t n)
{
    switch (fmt) {
    case GS_FORMAT_CSV:
        return gs_summary_write_csv(f, sc->name, rows, n);
    case GS_FORMAT_JSON:
        return gs_summary_print_json(f, sc->name, sc->confidence, rows, n);
    case GS_FORMAT_TABLE:
    default:
        return gs_summary_print_table(f, sc->name, sc->confidence, rows, n);
    }
}

void gs_progress_init(gs_progress *p, const char *label, int quiet)
{
    p->enabled = !quiet && isatty(STDERR_FILENO);
    p->t0 = gs_wall_seconds();
    p->label = label;
    p->unit = "replications";
    p->every = 0;
    p->last = -1;
}

void gs_progress_update(void *arg, long finished, long total, double share)
{
    gs_progress *p = arg;
    if (!p->enabled)
        return;
    enum { WIDTH = 30 };
    double elapsed = gs_wall_seconds() - p->t0;
    if (p->every > 0 && finished < total && p->last >= 0 && elapsed - p->last < p->every)
        return;
    p->last = elapsed;
    int fill = (int)(WIDTH * share);
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = '\0';
    char eta[32] = "ETA --";
    if (share > 0.01 || elapsed > 2)
        snprintf(eta, sizeof eta, "ETA %.0fs", share > 0 ? elapsed * (1 - share) / share : 0);
    char rate[32] = "";
    if (elapsed > 0.5 && finished > 0)
        snprintf(rate, sizeof rate, "  %.3g/s", (double)finished / elapsed);
    if (p->every > 0)
        fprintf(stderr, "%s: %3.0f%%  %ld/%ld %s%s  %.1fs elapsed  %s\n", p->label,
                100 * share, finished, total, p->unit, rate, elapsed, eta);
    else
        fprintf(stderr, "\r%s [%s] %3.0f%%  %ld/%ld %s%s  %.1fs elapsed  %-12s", p->label,
                bar, 100 * share, finished, total, p->unit, rate, elapsed, eta);
    fflush(stderr);
}

void gs_progress_end(gs_progress *p)
{
    if (p->enabled && p->every <= 0) {
        fputc('\n', stderr);
        fflush(stderr);
    }
}
