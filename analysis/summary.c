/* Estimates across replications and the summary in CSV, table and JSON.
 *
 * The estimate is the classical replication/deletion method (Law, Simulation
 * Modeling and Analysis, 5th ed., §9.4): replications are independent, so
 * their values are i.i.d. and the Student-t interval applies. The mean and
 * variance use the corrected two-pass algorithm (Chan, Golub, LeVeque,
 * "Algorithms for computing the sample variance", 1983), accurate to
 * rounding even when the values are close together relative to their size,
 * as replication values usually are.
 *
 * The writers print only from the rows they are given and never allocate:
 * the table measures its columns in a first pass that formats every cell
 * and prints in a second pass that formats them again. */
#include "summary.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "analysis/csv.h"
#include "sim/alloc.h"
#include "sim/error.h"

void gs_estimate_compute(const double *x, size_t n, double confidence, gs_estimate *out)
{
    size_t k = 0;
    double sum = 0.0, lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            continue;
        k++;
        sum += x[i];
        if (x[i] < lo)
            lo = x[i];
        if (x[i] > hi)
            hi = x[i];
    }
    out->n = (long)k;
    out->mean = out->stddev = out->ci_low = out->ci_high = NAN;
    if (k == 0)
        return;
    if (lo == hi) {
        /* Rounding in sum / k could put the mean a hair away from the common
         * value and give a nonzero interval; the answer is known exactly. */
        out->mean = lo;
        if (k >= 2) {
            out->stddev = 0.0;
            if (confidence > 0.0 && confidence < 1.0)
                out->ci_low = out->ci_high = lo;
        }
        return;
    }
    double mean = sum / (double)k;
    double ss = 0.0, c = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            continue;
        double d = x[i] - mean;
        c += d;
        ss += d * d;
    }
    out->mean = mean + c / (double)k;
    if (k < 2)
        return;
    double var = (ss - c * c / (double)k) / (double)(k - 1);
    out->stddev = sqrt(var > 0.0 ? var : 0.0);
    if (!(confidence > 0.0 && confidence < 1.0))
        return;
    double t = gsl_cdf_tdist_Pinv(0.5 + confidence / 2.0, (double)(k - 1));
    double half = t * out->stddev / sqrt((double)k);
    out->ci_low = out->mean - half;
    out->ci_high = out->mean + half;
}

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

static int finish(FILE *f)
{
    return fflush(f) != 0 || ferror(f) ? GS_EIO : GS_OK;
}

/* ---- CSV ---------------------------------------------------------------- */

/* glibc prints a NaN with its sign bit as "-nan"; the file format wants one
 * spelling. */
void gs_summary_csv_number(FILE *f, double v)
{
    if (isnan(v))
        fputs("nan", f);
    else if (isinf(v))
        fputs(v > 0 ? "inf" : "-inf", f);
    else
        fprintf(f, "%.10g", v);
}

int gs_summary_write_csv(FILE *f, const char *scenario, const gs_summary_row *rows,
                         size_t n)
{
    fputs("scenario,component,metric,mean,ci_low,ci_high,stddev,replications\n", f);
    for (size_t i = 0; i < n; i++) {
        const gs_summary_row *r = &rows[i];
        gs_csv_write_field(f, scenario);
        fputc(',', f);
        gs_csv_write_field(f, r->component);
        fputc(',', f);
        gs_csv_write_field(f, r->metric);
        const double v[4] = {r->est.mean, r->est.ci_low, r->est.ci_high, r->est.stddev};
        for (size_t j = 0; j < 4; j++) {
            fputc(',', f);
            gs_summary_csv_number(f, v[j]);
        }
        fprintf(f, ",%ld\n", r->est.n);
    }
    return finish(f);
}

/* ---- table -------------------------------------------------------------- */

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int gs_summary_is_time_metric(const char *name)
{
    static const char *const prefixes[] = {"latency_", "wait_", "response_", "ttft_", "tpot_",
                                           "age_"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (starts_with(name, prefixes[i]))
            return 1;
    return ends_with(name, "_time");
}

typedef struct unit {
    const char *name;
    double      scale;          /* seconds per unit */
} unit;

/* The largest unit in which |seconds| is at least 1, so that a value reads
 * as 12.35 ms rather than 0.01235 s. */
static unit time_unit(double seconds)
{
    double a = fabs(seconds);
    if (!isfinite(a) || a == 0.0 || a >= 1.0)
        return (unit){"s", 1.0};
    if (a >= 1e-3)
        return (unit){"ms", 1e-3};
    if (a >= 1e-6)
        return (unit){"us", 1e-6};
    return (unit){"ns", 1e-9};
}

/* v with 4 significant digits: fixed point between 1e-4 and 1e6 (trailing
 * zeros kept, they say how precise the figure is; integers from 1e4 on show
 * all their digits rather than switch to an exponent), scientific outside. */
static void fmt_sig(char *buf, size_t size, double v)
{
    if (isnan(v)) {
        snprintf(buf, size, "-");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, size, v > 0 ? "inf" : "-inf");
        return;
    }
    if (v == 0.0) {
        snprintf(buf, size, "0");
        return;
    }
    /* Round first, then read the exponent, so that 9.9996 counts as 10.00. */
    char sci[32];
    snprintf(sci, sizeof sci, "%.3e", v);
    const char *e = strchr(sci, 'e');
    int exp10 = e ? atoi(e + 1) : 0;
    if (exp10 < -4 || exp10 >= 6) {
        snprintf(buf, size, "%s", sci);
        return;
    }
    int decimals = 3 - exp10;
    snprintf(buf, size, "%.*f", decimals > 0 ? decimals : 0, v);
}

void gs_summary_format_value(char *buf, size_t size, const char *metric, double v, double ref)
{
    unit u = {"", 1.0};
    if (gs_summary_is_time_metric(str_or_empty(metric)))
        u = time_unit(ref);
    char num[40];
    fmt_sig(num, sizeof num, v / u.scale);
    if (isnan(v) || !*u.name)
        snprintf(buf, size, "%s", num);
    else
        snprintf(buf, size, "%s %s", num, u.name);
}

/* The formatted cells of one row. */
typedef struct cells {
    char        mean[40];
    char        ci[96];
    char        half[40];
    const char *unit;           /* "" for plain numbers */
    char        n[24];
} cells;

static void format_row(const gs_summary_row *r, cells *c)
{
    const gs_estimate *e = &r->est;
    unit u = {"", 1.0};
    if (gs_summary_is_time_metric(str_or_empty(r->metric)))
        u = time_unit(e->mean);
    c->unit = u.name;
    fmt_sig(c->mean, sizeof c->mean, e->mean / u.scale);
    if (isnan(e->ci_low) || isnan(e->ci_high)) {
        snprintf(c->ci, sizeof c->ci, "-");
        snprintf(c->half, sizeof c->half, "-");
    } else {
        char lo[40], hi[40];
        fmt_sig(lo, sizeof lo, e->ci_low / u.scale);
        fmt_sig(hi, sizeof hi, e->ci_high / u.scale);
        snprintf(c->ci, sizeof c->ci, "[%s, %s]%s%s", lo, hi, *u.name ? " " : "", u.name);
        fmt_sig(c->half, sizeof c->half, (e->ci_high - e->ci_low) / 2.0 / u.scale);
    }
    snprintf(c->n, sizeof c->n, "%ld", e->n);
}

static size_t max_size(size_t a, size_t b)
{
    return a > b ? a : b;
}

/* Row order for the table: rows grouped by component, the components in
 * order of first appearance, each group in row order. Two stable sorts of
 * an index (by component name, then by the group's first row) keep it
 * O(n log n): a scenario may have 10^4 components and 10^5 rows. */
typedef struct row_ref {
    const char *comp;
    size_t      row, first;
} row_ref;

static int by_comp(const void *a, const void *b)
{
    const row_ref *x = a, *y = b;
    int c = strcmp(x->comp, y->comp);
    return c ? c : (x->row > y->row) - (x->row < y->row);
}

static int by_first(const void *a, const void *b)
{
    const row_ref *x = a, *y = b;
    if (x->first != y->first)
        return (x->first > y->first) - (x->first < y->first);
    return (x->row > y->row) - (x->row < y->row);
}

static row_ref *table_order(const gs_summary_row *rows, size_t n)
{
    row_ref *r = gs_malloc((n ? n : 1) * sizeof *r);
    if (!r)
        return NULL;
    for (size_t i = 0; i < n; i++)
        r[i] = (row_ref){str_or_empty(rows[i].component), i, 0};
    qsort(r, n, sizeof *r, by_comp);
    for (size_t i = 0; i < n; i++)
        r[i].first = i > 0 && strcmp(r[i].comp, r[i - 1].comp) == 0 ? r[i - 1].first : r[i].row;
    qsort(r, n, sizeof *r, by_first);
    return r;
}

enum { COL_COMP, COL_METRIC, COL_MEAN, COL_CI, COL_HALF, COL_N, NCOL };

static void rule(FILE *f, size_t w)
{
    for (size_t i = 0; i < w; i++)
        fputc('-', f);
}

/* A missing value has no unit. */
static const char *unit_of(const char *num, const cells *c)
{
    return strcmp(num, "-") == 0 ? "" : c->unit;
}

/* Numbers right-aligned with their unit in a 2-character field beside them,
 * so that digits line up whether or not a row has a unit. The separator
 * between columns is two spaces. */
static void print_line(FILE *f, const size_t *w, const char *comp, const char *metric,
                       const cells *c)
{
    fprintf(f, "%-*s  %-*s  %*s %-2s  %-*s  %*s %-2s  %*s\n", (int)w[COL_COMP], comp,
            (int)w[COL_METRIC], metric, (int)w[COL_MEAN], c->mean, unit_of(c->mean, c),
            (int)w[COL_CI], c->ci, (int)w[COL_HALF], c->half, unit_of(c->half, c),
            (int)w[COL_N], c->n);
}

int gs_summary_print_table(FILE *f, const char *scenario, double confidence,
                           const gs_summary_row *rows, size_t n)
{
    char ci_head[48];
    if (confidence > 0.0 && confidence < 1.0)
        snprintf(ci_head, sizeof ci_head, "%.6g%% CI", 100.0 * confidence);
    else
        snprintf(ci_head, sizeof ci_head, "CI");
    static const char *const head[NCOL] = {"component", "metric", "mean", NULL,
                                           "+/-", "n"};
    size_t w[NCOL];
    for (size_t k = 0; k < NCOL; k++)
        w[k] = strlen(k == COL_CI ? ci_head : head[k]);
    for (size_t i = 0; i < n; i++) {
        cells c;
        format_row(&rows[i], &c);
        w[COL_COMP] = max_size(w[COL_COMP], strlen(str_or_empty(rows[i].component)));
        w[COL_METRIC] = max_size(w[COL_METRIC], strlen(str_or_empty(rows[i].metric)));
        w[COL_MEAN] = max_size(w[COL_MEAN], strlen(c.mean));
        w[COL_CI] = max_size(w[COL_CI], strlen(c.ci));
        w[COL_HALF] = max_size(w[COL_HALF], strlen(c.half));
        w[COL_N] = max_size(w[COL_N], strlen(c.n));
    }

    fprintf(f, "scenario: %s\n\n", str_or_empty(scenario));
    fprintf(f, "%-*s  %-*s  %*s %-2s  %-*s  %*s %-2s  %*s\n", (int)w[COL_COMP],
            head[COL_COMP], (int)w[COL_METRIC], head[COL_METRIC], (int)w[COL_MEAN],
            head[COL_MEAN], "", (int)w[COL_CI], ci_head, (int)w[COL_HALF], head[COL_HALF],
            "", (int)w[COL_N], head[COL_N]);
    for (size_t k = 0; k < NCOL; k++) {
        /* The mean and half-width rules run over their unit field too. */
        rule(f, w[k] + (k == COL_MEAN || k == COL_HALF ? 3 : 0));
        fputs(k + 1 < NCOL ? "  " : "\n", f);
    }

    row_ref *order = table_order(rows, n);
    if (!order)
        return GS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const gs_summary_row *row = &rows[order[i].row];
        cells c;
        format_row(row, &c);
        int first = i == 0 || order[i].first != order[i - 1].first;
        print_line(f, w, first ? order[i].comp : "", str_or_empty(row->metric), &c);
    }
    gs_free(order);
    return finish(f);
}

/* ---- JSON --------------------------------------------------------------- */

void gs_summary_json_string(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':  fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", (unsigned)*p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

/* The shortest of %.15g .. %.17g that reads back exactly: 0.95 stays 0.95,
 * and no double loses a bit. */
void gs_summary_json_number(FILE *f, double v)
{
    if (!isfinite(v)) {
        fputs("null", f);
        return;
    }
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, f);
}

int gs_summary_print_json(FILE *f, const char *scenario, double confidence,
                          const gs_summary_row *rows, size_t n)
{
    fputs("{\n  \"scenario\": ", f);
    gs_summary_json_string(f, scenario);
    fputs(",\n  \"confidence\": ", f);
    gs_summary_json_number(f, confidence);
    fputs(",\n  \"rows\": [", f);
    for (size_t i = 0; i < n; i++) {
        const gs_summary_row *r = &rows[i];
        fputs(i ? ",\n    {\"component\": " : "\n    {\"component\": ", f);
        gs_summary_json_string(f, r->component);
        fputs(", \"metric\": ", f);
        gs_summary_json_string(f, r->metric);
        fputs(", \"mean\": ", f);
        gs_summary_json_number(f, r->est.mean);
        fputs(", \"ci_low\": ", f);
        gs_summary_json_number(f, r->est.ci_low);
        fputs(", \"ci_high\": ", f);
        gs_summary_json_number(f, r->est.ci_high);
        fputs(", \"stddev\": ", f);
        gs_summary_json_number(f, r->est.stddev);
        fprintf(f, ", \"replications\": %ld}", r->est.n);
    }
    fputs(n ? "\n  ]\n}\n" : "]\n}\n", f);
    return finish(f);
}
