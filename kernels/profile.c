/* Service-time profiles: the calibration CSV of SPEC §5 read back, checked
 * and interpolated.
 *
 * The file is parsed by libcsv (RFC 4180, strict quoting) fed one line at a
 * time, so that every row and field has its line and column for messages.
 * Rows are kept until the end, then each phase's rows are laid out on their
 * grid: the sorted distinct batch sizes times the sorted distinct token
 * counts, each pair exactly once. Invariant of a loaded profile: both
 * phases have a complete grid of finite positive times with strictly
 * increasing axes, so interpolation never meets a hole and GSL never sees
 * an unsorted axis.
 *
 * Interpolation is bilinear (GSL gsl_interp2d_bilinear; gsl_interp_linear
 * when one axis has a single value), evaluated without accelerators, which
 * would be mutable state shared between threads. Bilinear interpolation
 * reproduces grid points exactly and is monotone along each axis where the
 * data are, which is what a service time should do between measurements; a
 * smoother spline could overshoot between points. Points outside the grid
 * are clamped to its edge instead of extrapolated, because an extrapolated
 * line through two noisy medians can go negative. */
#include "kernels/profile.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_interp.h>
#include <gsl/gsl_interp2d.h>

#include "sim/alloc.h"
#include "sim/error.h"

#define NCOLS 7
#define MAX_ROWS 1000000L
#define MAX_COUNT 100000000L
/* Longest text field kept (device names are the longest, e.g. "NVIDIA H100
 * 80GB HBM3" or a CPU model string). */
#define MAX_TEXT 256

static const char *const columns[NCOLS] = {"backend", "device", "model", "phase", "batch",
                                           "tokens", "seconds"};
static const char *const phase_names[2] = {"prefill", "decode"};

typedef struct grid {
    size_t        nb, nt;
    double       *b, *t;
    double       *z;      /* z[j * nb + i]: the time at (b[i], t[j]) (GSL's layout) */
    gsl_interp2d *i2;     /* nb >= 2 and nt >= 2 */
    gsl_interp   *i1;     /* one axis has a single value, the other at least two */
} grid;

struct gs_profile {
    char *path, *backend, *device, *model;
    grid  g[2];
};

typedef struct row {
    long   batch, tokens, line;
    double seconds;
    int    phase;
} row;

typedef struct reader {
    const char *path;
    gs_diag    *d;
    int         rc;        /* first error; later callbacks do nothing */
    long        line;      /* line being parsed, 1-based */
    size_t      nfield;    /* fields of the current row so far */
    char        field[NCOLS][MAX_TEXT];
    size_t      flen[NCOLS];
    int         have_header;
    row        *rows;
    size_t      nrows, cap;
    char       *text[3];   /* backend, device, model of the first data row */
    long        text_line;
} reader;

static int fail_at(reader *r, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Report "PATH:LINE:COL: ..." once; col is 1-based. */
static int fail_at(reader *r, size_t col, const char *fmt, ...)
{
    if (r->rc)
        return r->rc;
    char msg[GS_DIAG_MSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->rc = gs_error(r->d, GS_EINVAL, "%s:%ld:%zu: %s", r->path, r->line, col, msg);
    return r->rc;
}

static void on_field(void *s, size_t len, void *data)
{
    reader *r = data;
    if (r->rc)
        return;
    size_t i = r->nfield++;
    if (i >= NCOLS)
        return;
    size_t n = len < MAX_TEXT - 1 ? len : MAX_TEXT - 1;
    if (n)
        memcpy(r->field[i], s, n);
    r->field[i][n] = '\0';
    r->flen[i] = len;
}

static void header(reader *r)
{
    char *f0 = r->field[0];
    /* A spreadsheet's UTF-8 byte-order mark is not part of the name. */
    if (r->nfield > 0 && strncmp(f0, "\xEF\xBB\xBF", 3) == 0)
        memmove(f0, f0 + 3, strlen(f0 + 3) + 1);
    size_t n = r->nfield < NCOLS ? r->nfield : NCOLS;
    for (size_t i = 0; i < n; i++)
        if (strcmp(r->field[i], columns[i]) != 0) {
            fail_at(r, i + 1, "header: expected '%s' in column %zu, got '%s'; the header must "
                    "be exactly %s", columns[i], i + 1, r->field[i], GS_PROFILE_HEADER);
            return;
        }
    if (r->nfield != NCOLS) {
        fail_at(r, n + 1, "header: expected %d columns, got %zu; the header must be exactly %s",
                NCOLS, r->nfield, GS_PROFILE_HEADER);
        return;
    }
    r->have_header = 1;
}

static int whole(reader *r, size_t i, long *out)
{
    const char *s = r->field[i];
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (r->flen[i] >= MAX_TEXT - 1 || end == s || *end || errno || v < 1 || v > MAX_COUNT)
        return fail_at(r, i + 1, "%s: expected a whole number between 1 and %ld, got '%s'",
                       columns[i], MAX_COUNT, s);
    *out = v;
    return GS_OK;
}

/* Backend, device and model: the same text on every row. */
static int same_text(reader *r, size_t i)
{
    if (r->flen[i] == 0)
        return fail_at(r, i + 1, "%s: must not be empty", columns[i]);
    if (r->flen[i] >= MAX_TEXT)
        return fail_at(r, i + 1, "%s: at most %d characters", columns[i], MAX_TEXT - 1);
    if (!r->text[i]) {
        r->text[i] = gs_strdup(r->field[i]);
        if (!r->text[i])
            return r->rc = gs_error(r->d, GS_ENOMEM, "out of memory");
        r->text_line = r->line;
        return GS_OK;
    }
    if (strcmp(r->text[i], r->field[i]) != 0)
        return fail_at(r, i + 1, "%s: every row must have the same %s (a profile describes one "
                       "model on one device); line %ld has '%s', this one '%s'", columns[i],
                       columns[i], r->text_line, r->text[i], r->field[i]);
    return GS_OK;
}

static void data_row(reader *r)
{
    if (r->nfield != NCOLS) {
        fail_at(r, r->nfield < NCOLS ? r->nfield + 1 : NCOLS + 1, "expected %d fields (%s), "
                "got %zu", NCOLS, GS_PROFILE_HEADER, r->nfield);
        return;
    }
    for (size_t i = 0; i < 3; i++)
        if (same_text(r, i))
            return;
    row w = {.line = r->line, .phase = -1};
    for (int p = 0; p < 2; p++)
        if (strcmp(r->field[3], phase_names[p]) == 0)
            w.phase = p;
    if (w.phase < 0) {
        fail_at(r, 4, "phase: expected prefill or decode, got '%s'", r->field[3]);
        return;
    }
    if (whole(r, 4, &w.batch) || whole(r, 5, &w.tokens))
        return;
    const char *s = r->field[6];
    char *end;
    w.seconds = strtod(s, &end);
    if (r->flen[6] >= MAX_TEXT - 1 || end == s || *end || !isfinite(w.seconds) ||
        !(w.seconds > 0)) {
        fail_at(r, 7, "seconds: expected a number > 0, got '%s'", s);
        return;
    }
    if (r->nrows == (size_t)MAX_ROWS) {
        fail_at(r, 1, "more than %ld rows", MAX_ROWS);
        return;
    }
    if (r->nrows == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        row *rows = gs_realloc(r->rows, cap * sizeof *rows);
        if (!rows) {
            r->rc = gs_error(r->d, GS_ENOMEM, "out of memory");
            return;
        }
        r->rows = rows;
        r->cap = cap;
    }
    r->rows[r->nrows++] = w;
}

static void on_row(int c, void *data)
{
    (void)c;
    reader *r = data;
    if (!r->rc) {
        if (r->have_header)
            data_row(r);
        else
            header(r);
    }
    r->nfield = 0;
}

/* Feed the file to the parser a line at a time so that r->line is the line
 * of every callback (a row ends on the line of its terminator). */
static int parse_file(reader *r, FILE *f, struct csv_parser *cp)
{
    char buf[65536];
    size_t n;
    int ended = 0;   /* the last byte read ended a line */
    r->line = 1;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        size_t off = 0;
        while (off < n && !r->rc) {
            const char *nl = memchr(buf + off, '\n', n - off);
            size_t len = nl ? (size_t)(nl - (buf + off)) + 1 : n - off;
            if (csv_parse(cp, buf + off, len, on_field, on_row, r) != len) {
                if (csv_error(cp) == CSV_ENOMEM || csv_error(cp) == CSV_ETOOBIG)
                    return r->rc ? r->rc : gs_error(r->d, GS_ENOMEM, "out of memory");
                return fail_at(r, r->nfield + 1, "malformed CSV: %s",
                               csv_strerror(csv_error(cp)));
            }
            off += len;
            ended = nl != NULL;
            if (nl)
                r->line++;
        }
        if (r->rc)
            return r->rc;
    }
    if (ferror(f))
        return gs_error(r->d, GS_EIO, "%s: read error", r->path);
    /* csv_fini ends a last row that has no line end, or reports a quote
     * left open, which began on an earlier line. */
    if (ended)
        r->line--;
    if (csv_fini(cp, on_field, on_row, r) != 0 && !r->rc)
        return fail_at(r, r->nfield + 1, "malformed CSV: %s", csv_strerror(csv_error(cp)));
    if (r->rc)
        return r->rc;
    if (!r->have_header)
        return gs_error(r->d, GS_EINVAL, "%s:1:1: empty profile; expected the header %s and "
                        "rows", r->path, GS_PROFILE_HEADER);
    return GS_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorted distinct values of v[0..n-1], in place; returns how many. */
static size_t distinct(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || v[i] != v[k - 1])
            v[k++] = v[i];
    return k;
}

static size_t index_of(const double *v, size_t n, double x)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] <= x)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static int build_grid(reader *r, int ph, grid *g)
{
    size_t n = 0;
    for (size_t k = 0; k < r->nrows; k++)
        n += r->rows[k].phase == ph;
    if (n == 0)
        return gs_error(r->d, GS_EINVAL, "%s: no %s rows; a profile needs both prefill and "
                        "decode", r->path, phase_names[ph]);
    g->b = gs_malloc(n * sizeof *g->b);
    g->t = gs_malloc(n * sizeof *g->t);
    if (!g->b || !g->t)
        return gs_error(r->d, GS_ENOMEM, "out of memory");
    size_t m = 0;
    for (size_t k = 0; k < r->nrows; k++)
        if (r->rows[k].phase == ph) {
            g->b[m] = (double)r->rows[k].batch;
            g->t[m++] = (double)r->rows[k].tokens;
        }
    g->nb = distinct(g->b, n);
    g->nt = distinct(g->t, n);
    g->z = gs_malloc(g->nb * g->nt * sizeof *g->z);
    long *from = gs_calloc(g->nb * g->nt, sizeof *from);
    if (!g->z || !from) {
        gs_free(from);
        return gs_error(r->d, GS_ENOMEM, "out of memory");
    }
    int rc = GS_OK;
    for (size_t k = 0; k < r->nrows && !rc; k++) {
        const row *w = &r->rows[k];
        if (w->phase != ph)
            continue;
        size_t i = index_of(g->b, g->nb, (double)w->batch);
        size_t j = index_of(g->t, g->nt, (double)w->tokens);
        if (from[j * g->nb + i]) {
            r->line = w->line;
            rc = fail_at(r, 5, "duplicate row: %s batch %ld, tokens %ld is already measured at "
                         "line %ld", phase_names[ph], w->batch, w->tokens, from[j * g->nb + i]);
            break;
        }
        from[j * g->nb + i] = w->line;
        g->z[j * g->nb + i] = w->seconds;
    }
    for (size_t j = 0; j < g->nt && !rc; j++)
        for (size_t i = 0; i < g->nb && !rc; i++)
            if (!from[j * g->nb + i])
                rc = gs_error(r->d, GS_EINVAL, "%s: the %s grid is not rectangular: no row for "
                              "batch %.0f and tokens %.0f (%zu batch sizes x %zu token counts "
                              "need %zu rows, found %zu)", r->path, phase_names[ph], g->b[i],
                              g->t[j], g->nb, g->nt, g->nb * g->nt, n);
    gs_free(from);
    if (rc)
        return rc;
    if (g->nb >= 2 && g->nt >= 2) {
        g->i2 = gsl_interp2d_alloc(gsl_interp2d_bilinear, g->nb, g->nt);
        if (!g->i2)
            return gs_error(r->d, GS_ENOMEM, "out of memory");
        gsl_interp2d_init(g->i2, g->b, g->t, g->z, g->nb, g->nt);
    } else if (g->nb >= 2 || g->nt >= 2) {
        size_t len = g->nb >= 2 ? g->nb : g->nt;
        g->i1 = gsl_interp_alloc(gsl_interp_linear, len);
        if (!g->i1)
            return gs_error(r->d, GS_ENOMEM, "out of memory");
        gsl_interp_init(g->i1, g->nb >= 2 ? g->b : g->t, g->z, len);
    }
    return GS_OK;
}

static void grid_release(grid *g)
{
    if (g->i2)
        gsl_interp2d_free(g->i2);
    if (g->i1)
        gsl_interp_free(g->i1);
    gs_free(g->b);
    gs_free(g->t);
    gs_free(g->z);
    memset(g, 0, sizeof *g);
}

void gs_profile_free(gs_profile *p)
{
    if (!p)
        return;
    for (int ph = 0; ph < 2; ph++)
        grid_release(&p->g[ph]);
    gs_free(p->path);
    gs_free(p->backend);
    gs_free(p->device);
    gs_free(p->model);
    gs_free(p);
}

int gs_profile_load(const char *path, gs_profile **out, gs_diag *d)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return gs_error(d, GS_EIO, "%s: cannot open: %s", path, strerror(errno));
    reader *r = gs_calloc(1, sizeof *r);
    gs_profile *p = gs_calloc(1, sizeof *p);
    struct csv_parser cp;
    int rc = GS_ENOMEM;
    if (!r || !p || csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        gs_error(d, GS_ENOMEM, "out of memory");
        goto out_free;
    }
    /* libcsv's buffer then comes from gs_realloc like everything else. */
    csv_set_realloc_func(&cp, gs_realloc);
    csv_set_free_func(&cp, gs_free);
    r->path = path;
    r->d = d;
    rc = parse_file(r, f, &cp);
    csv_free(&cp);
    for (int ph = 0; ph < 2 && !rc; ph++)
        rc = build_grid(r, ph, &p->g[ph]);
    if (rc)
        goto out_free;
    p->path = gs_strdup(path);
    if (!p->path) {
        rc = gs_error(d, GS_ENOMEM, "out of memory");
        goto out_free;
    }
    p->backend = r->text[0];
    p->device = r->text[1];
    p->model = r->text[2];
    r->text[0] = r->text[1] = r->text[2] = NULL;
    *out = p;
    p = NULL;
out_free:
    if (r) {
        for (int i = 0; i < 3; i++)
            gs_free(r->text[i]);
        gs_free(r->rows);
    }
    gs_free(r);
    gs_profile_free(p);
    fclose(f);
    return rc;
}

const char *gs_profile_backend(const gs_profile *p) { return p->backend; }
const char *gs_profile_device(const gs_profile *p) { return p->device; }
const char *gs_profile_model(const gs_profile *p) { return p->model; }
const char *gs_profile_path(const gs_profile *p) { return p->path; }

void gs_profile_bounds(const gs_profile *p, gs_phase ph, double *batch_min, double *batch_max,
                       double *tokens_min, double *tokens_max)
{
    const grid *g = &p->g[ph];
    *batch_min = g->b[0];
    *batch_max = g->b[g->nb - 1];
    *tokens_min = g->t[0];
    *tokens_max = g->t[g->nt - 1];
}

/* x clamped to [lo, hi]; NaN goes to lo. */
static double clamp(double x, double lo, double hi, int *clamped)
{
    if (!(x >= lo)) {
        if (clamped)
            *clamped = 1;
        return lo;
    }
    if (x > hi) {
        if (clamped)
            *clamped = 1;
        return hi;
    }
    return x;
}

static double eval(const grid *g, double b, double t)
{
    if (g->i2)
        return gsl_interp2d_eval(g->i2, g->b, g->t, g->z, b, t, NULL, NULL);
    if (g->i1)
        return g->nb >= 2 ? gsl_interp_eval(g->i1, g->b, g->z, b, NULL)
                          : gsl_interp_eval(g->i1, g->t, g->z, t, NULL);
    return g->z[0];
}

double gs_profile_time(const gs_profile *p, gs_phase ph, double batch, double tokens,
                       int *clamped)
{
    const grid *g = &p->g[ph];
    double b = clamp(batch, g->b[0], g->b[g->nb - 1], clamped);
    double t = clamp(tokens, g->t[0], g->t[g->nt - 1], clamped);
    return eval(g, b, t);
}

double gs_profile_sum(const gs_profile *p, gs_phase ph, double batch, uint64_t from,
                      uint64_t to, int *clamped)
{
    if (from > to)
        return 0;
    const grid *g = &p->g[ph];
    double b = clamp(batch, g->b[0], g->b[g->nb - 1], clamped);
    /* Token grid values are whole numbers (checked when loading). */
    uint64_t tmin = (uint64_t)g->t[0], tmax = (uint64_t)g->t[g->nt - 1];
    double sum = 0;
    if (from < tmin) {
        uint64_t hi = to < tmin - 1 ? to : tmin - 1;
        sum += (double)(hi - from + 1) * eval(g, b, (double)tmin);
        if (clamped)
            *clamped = 1;
    }
    if (to > tmax) {
        uint64_t lo = from > tmax + 1 ? from : tmax + 1;
        sum += (double)(to - lo + 1) * eval(g, b, (double)tmax);
        if (clamped)
            *clamped = 1;
    }
    /* Segment j holds the whole numbers of [t_j, t_{j+1}); the last grid
     * point is a segment of its own. On each the interpolant is linear in
     * t, so the sum over lo..hi is the count times the mean of the ends. */
    for (size_t j = 0; j < g->nt; j++) {
        uint64_t a = (uint64_t)g->t[j];
        uint64_t e = j + 1 < g->nt ? (uint64_t)g->t[j + 1] - 1 : a;
        uint64_t lo = from > a ? from : a, hi = to < e ? to : e;
        if (lo > hi)
            continue;
        double fl = eval(g, b, (double)lo);
        double fh = hi == lo ? fl : eval(g, b, (double)hi);
        sum += (double)(hi - lo + 1) * (fl + fh) / 2;
    }
    return sum;
}
