/* Paired comparison of scenarios (analysis/compare.h). The groups are found
 * by a linear scan over the metrics of every scenario, quadratic in the
 * number of (component, metric) pairs, which is a few hundred. */
#include "compare.h"

#include <math.h>
#include <string.h>

#include "analysis/csv.h"
#include "analysis/report.h"
#include "sim/alloc.h"
#include "sim/error.h"

/* Index of (comp, metric) in res, or -1. */
static long find_metric(const gs_results *res, const char *comp, const char *metric)
{
    for (size_t k = 0; k < res->nmetrics; k++)
        if (strcmp(res->component[k], comp) == 0 && strcmp(res->name[k], metric) == 0)
            return (long)k;
    return -1;
}

/* Has a group for (comp, metric) already been made from scenarios before s
 * or from metrics before k of scenario s? */
static int seen(const gs_results *res, size_t s, size_t k)
{
    const char *comp = res[s].component[k], *metric = res[s].name[k];
    for (size_t t = 0; t < s; t++)
        if (find_metric(&res[t], comp, metric) >= 0)
            return 1;
    for (size_t j = 0; j < k; j++)
        if (strcmp(res[s].component[j], comp) == 0 && strcmp(res[s].name[j], metric) == 0)
            return 1;
    return 0;
}

int gs_compare_rows(const gs_results *res, size_t n, double confidence, gs_compare_row **rows,
                    size_t *nrows, gs_diag *d)
{
    size_t total = 0;
    for (size_t s = 0; s < n; s++)
        total += res[s].nmetrics;
    gs_compare_row *r = gs_calloc(total ? total : 1, sizeof *r);
    size_t nreps = n ? (size_t)res[0].nreps : 0;
    double *diff = gs_malloc((nreps ? nreps : 1) * sizeof *diff);
    gs_summary_row *est = NULL;
    if (!r || !diff) {
        gs_free(r);
        gs_free(diff);
        return gs_error(d, GS_ENOMEM, "out of memory");
    }
    size_t m = 0;
    for (size_t s = 0; s < n; s++) {
        for (size_t k = 0; k < res[s].nmetrics; k++) {
            if (seen(res, s, k))
                continue;
            const char *comp = res[s].component[k], *metric = res[s].name[k];
            long base = find_metric(&res[0], comp, metric);
            for (size_t t = 0; t < n; t++) {
                long j = find_metric(&res[t], comp, metric);
                if (j < 0)
                    continue;
                gs_compare_row *row = &r[m++];
                row->scenario = t;
                row->component = comp;
                row->metric = metric;
                /* The summary's estimate, clamped like summary.csv's. */
                gs_results one = res[t];
                one.nmetrics = 1;
                one.component = &res[t].component[j];
                one.name = &res[t].name[j];
                one.values = res[t].values + (size_t)j * (size_t)res[t].nreps;
                if (gs_report_rows(&one, confidence, &est, d) != GS_OK) {
                    gs_free(r);
                    gs_free(diff);
                    return GS_ENOMEM;
                }
                row->est = est[0].est;
                gs_free(est);
                if (t == 0 || base < 0)
                    continue;
                const double *a = res[0].values + (size_t)base * nreps;
                const double *b = res[t].values + (size_t)j * nreps;
                for (size_t i = 0; i < nreps; i++)
                    diff[i] = b[i] - a[i];
                gs_estimate_compute(diff, nreps, confidence, &row->diff);
                row->has_diff = 1;
                row->significant = !(row->diff.ci_low <= 0 && row->diff.ci_high >= 0) &&
                                   !isnan(row->diff.ci_low);
            }
        }
    }
    gs_free(diff);
    *rows = r;
    *nrows = m;
    return GS_OK;
}

static int finish(FILE *f)
{
    return fflush(f) != 0 || ferror(f) ? GS_EIO : GS_OK;
}

int gs_compare_write_csv(FILE *f, const char *const *names, const gs_compare_row *rows,
                         size_t n)
{
    fputs("scenario,component,metric,mean,ci_low,ci_high,stddev,replications,"
          "diff_mean,diff_ci_low,diff_ci_high,significant\n", f);
    for (size_t i = 0; i < n; i++) {
        const gs_compare_row *r = &rows[i];
        gs_csv_write_field(f, names[r->scenario]);
        fputc(',', f);
        gs_csv_write_field(f, r->component);
        fputc(',', f);
        gs_csv_write_field(f, r->metric);
        const double v[4] = {r->est.mean, r->est.ci_low, r->est.ci_high, r->est.stddev};
        for (size_t j = 0; j < 4; j++) {
            fputc(',', f);
            gs_summary_csv_number(f, v[j]);
        }
        fprintf(f, ",%ld", r->est.n);
        if (r->has_diff) {
            const double w[3] = {r->diff.mean, r->diff.ci_low, r->diff.ci_high};
            for (size_t j = 0; j < 3; j++) {
                fputc(',', f);
                gs_summary_csv_number(f, w[j]);
            }
            fprintf(f, ",%d\n", r->significant);
        } else {
            fputs(",,,,\n", f);
        }
    }
    return finish(f);
}

typedef struct cells {
    char mean[48], ci[112], diff[56], dci[112];
} cells;

static void interval(char *buf, size_t size, const char *metric, double lo, double hi,
                     double ref)
{
    if (isnan(lo) || isnan(hi)) {
        snprintf(buf, size, "-");
        return;
    }
    char a[48], b[48];
    gs_summary_format_value(a, sizeof a, metric, lo, ref);
    gs_summary_format_value(b, sizeof b, metric, hi, ref);
    snprintf(buf, size, "[%s, %s]", a, b);
}

static void format_cells(const gs_compare_row *r, cells *c)
{
    double ref = r->est.mean;
    gs_summary_format_value(c->mean, sizeof c->mean, r->metric, r->est.mean, ref);
    interval(c->ci, sizeof c->ci, r->metric, r->est.ci_low, r->est.ci_high, ref);
    c->diff[0] = c->dci[0] = '\0';
    if (!r->has_diff)
        return;
    /* A difference reads in the unit that suits its own size. */
    char num[48];
    ref = fabs(r->diff.mean);
    gs_summary_format_value(num, sizeof num, r->metric, r->diff.mean, ref);
    snprintf(c->diff, sizeof c->diff, "%s%s", r->diff.mean > 0 ? "+" : "", num);
    interval(c->dci, sizeof c->dci, r->metric, r->diff.ci_low, r->diff.ci_high, ref);
}

static size_t max_size(size_t a, size_t b)
{
    return a > b ? a : b;
}

int gs_compare_print_table(FILE *f, const char *const *names, size_t nscenarios, long nreps,
                           double confidence, const gs_compare_row *rows, size_t n)
{
    char ci_head[48];
    snprintf(ci_head, sizeof ci_head, "%.6g%% CI", 100.0 * confidence);
    size_t w[6] = {strlen("component"), strlen("metric"), strlen("scenario"), strlen("mean"),
                   strlen(ci_head), strlen("difference")};
    for (size_t i = 0; i < n; i++) {
        cells c;
        format_cells(&rows[i], &c);
        w[0] = max_size(w[0], strlen(rows[i].component));
        w[1] = max_size(w[1], strlen(rows[i].metric));
        w[2] = max_size(w[2], strlen(names[rows[i].scenario]));
        w[3] = max_size(w[3], strlen(c.mean));
        w[4] = max_size(w[4], strlen(c.ci));
        w[5] = max_size(w[5], strlen(c.diff));
    }
    fputs("compare:", f);
    for (size_t s = 0; s < nscenarios; s++)
        fprintf(f, "%s %s", s ? " |" : "", names[s]);
    fprintf(f, "\n%ld replications each on common random numbers; differences are paired "
            "against %s (%s; * = significant)\n\n", nreps, names[0], ci_head);
    fprintf(f, "%-*s  %-*s  %-*s  %*s  %-*s  %*s  %s\n", (int)w[0], "component", (int)w[1],
            "metric", (int)w[2], "scenario", (int)w[3], "mean", (int)w[4], ci_head, (int)w[5],
            "difference", ci_head);
    size_t total = w[0] + w[1] + w[2] + w[3] + w[4] + w[5] + 12 + strlen(ci_head);
    for (size_t i = 0; i < total; i++)
        fputc('-', f);
    fputc('\n', f);
    const char *last_comp = "", *last_metric = "";
    for (size_t i = 0; i < n; i++) {
        const gs_compare_row *r = &rows[i];
        cells c;
        format_cells(r, &c);
        int new_metric = strcmp(r->metric, last_metric) != 0 ||
                         strcmp(r->component, last_comp) != 0;
        int new_comp = strcmp(r->component, last_comp) != 0;
        fprintf(f, "%-*s  %-*s  %-*s  %*s  %-*s  %*s  %s%s\n", (int)w[0],
                new_comp ? r->component : "", (int)w[1], new_metric ? r->metric : "",
                (int)w[2], names[r->scenario], (int)w[3], c.mean, (int)w[4], c.ci, (int)w[5],
                c.diff, c.dci, r->has_diff && r->significant ? " *" : "");
        last_comp = r->component;
        last_metric = r->metric;
    }
    return finish(f);
}

int gs_compare_print_json(FILE *f, const char *const *names, long nreps, double confidence,
                          const gs_compare_row *rows, size_t n)
{
    fputs("{\n  \"baseline\": ", f);
    gs_summary_json_string(f, names[0]);
    fputs(",\n  \"confidence\": ", f);
    gs_summary_json_number(f, confidence);
    fprintf(f, ",\n  \"replications\": %ld,\n  \"rows\": [", nreps);
    for (size_t i = 0; i < n; i++) {
        const gs_compare_row *r = &rows[i];
        fputs(i ? ",\n    {\"scenario\": " : "\n    {\"scenario\": ", f);
        gs_summary_json_string(f, names[r->scenario]);
        fputs(", \"component\": ", f);
        gs_summary_json_string(f, r->component);
        fputs(", \"metric\": ", f);
        gs_summary_json_string(f, r->metric);
        const char *k[4] = {"mean", "ci_low", "ci_high", "stddev"};
        const double v[4] = {r->est.mean, r->est.ci_low, r->est.ci_high, r->est.stddev};
        for (size_t j = 0; j < 4; j++) {
            fprintf(f, ", \"%s\": ", k[j]);
            gs_summary_json_number(f, v[j]);
        }
        fprintf(f, ", \"replications\": %ld", r->est.n);
        const char *dk[3] = {"diff_mean", "diff_ci_low", "diff_ci_high"};
        const double dv[3] = {r->diff.mean, r->diff.ci_low, r->diff.ci_high};
        for (size_t j = 0; j < 3; j++) {
            fprintf(f, ", \"%s\": ", dk[j]);
            if (r->has_diff)
                gs_summary_json_number(f, dv[j]);
            else
                fputs("null", f);
        }
        fprintf(f, ", \"significant\": %s}",
                r->has_diff ? (r->significant ? "true" : "false") : "null");
    }
    fputs("\n  ]\n}\n", f);
    return finish(f);
}
