/* Calibration: the time of a whole model's forward pass over a grid of
 * (batch, tokens), measured on a kernel backend and written as the profile
 * CSV of SPEC §5, with its provenance beside it (kernels/calibrate.h).
 *
 * Only one decoder layer is run: all layers of a model have the same shape
 * and cost, so a pass is median(layer) x layers + median(head), where the
 * head (final norm and vocabulary projection) runs on one row per sequence,
 * the last token whose logits pick the next token. Each point gets `warmup`
 * untimed runs (first touch of buffers, caches, clocks), then timed runs
 * until `repeats` are done or, once `min_repeats` are, its time budget is
 * spent; the median resists the outliers of a shared machine. Every number
 * written is measured in this run; nothing is extrapolated.
 *
 * Invariant: the CSV is a full rectangle per phase (every batch with every
 * token count), rows in phase, batch, tokens order, and it appears only
 * when complete, after its provenance file. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis/atomic.h"
#include "analysis/csv.h"
#include "analysis/report.h"
#include "kernels/calibrate.h"
#include "sim/alloc.h"
#include "sim/error.h"
#include "sim/replicate.h"

#define MAX_REPEATS 64

void gs_calib_defaults(gs_calib_opts *o)
{
    memset(o, 0, sizeof *o);
    o->grid_name = "quick";
    o->warmup = 1;
    o->repeats = 7;
    o->min_repeats = 3;
    o->point_budget = 1.0;
    o->seed = 1;
    gs_calib_grid_named("quick", o->grid, NULL);
}

static void set_axis(gs_calib_axis *a, const uint32_t *b, size_t nb, const uint32_t *t,
                     size_t nt)
{
    memcpy(a->batch, b, nb * sizeof *b);
    a->nbatch = nb;
    memcpy(a->tokens, t, nt * sizeof *t);
    a->ntokens = nt;
}

int gs_calib_grid_named(const char *name, gs_calib_axis grid[2], gs_diag *d)
{
    static const uint32_t b32[] = {1, 2, 4, 8, 16, 32};
    static const uint32_t b128[] = {1, 2, 4, 8, 16, 32, 64, 128};
    static const uint32_t t2k[] = {128, 256, 512, 1024, 2048};
    static const uint32_t t4k[] = {128, 256, 512, 1024, 2048, 4096};
    static const uint32_t t8k[] = {128, 256, 512, 1024, 2048, 4096, 8192};
    if (strcmp(name, "quick") == 0) {
        set_axis(&grid[GS_KERNEL_PREFILL], b32, 6, t2k, 5);
        set_axis(&grid[GS_KERNEL_DECODE], b32, 6, t2k, 5);
    } else if (strcmp(name, "full") == 0) {
        set_axis(&grid[GS_KERNEL_PREFILL], b32, 6, t4k, 6);
        set_axis(&grid[GS_KERNEL_DECODE], b128, 8, t8k, 7);
    } else {
        return d ? gs_error(d, GS_EINVAL, "--grid: unknown grid '%s'; expected quick or full",
                            name)
                 : GS_EINVAL;
    }
    return GS_OK;
}

char *gs_calib_meta_path(const char *path)
{
    size_t n = strlen(path);
    char *p = gs_malloc(n + sizeof ".meta");
    if (p) {
        memcpy(p, path, n);
        memcpy(p + n, ".meta", sizeof ".meta");
    }
    return p;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* One run of what is being timed: a layer pass of the phase, or the head
 * (phase < 0). */
static int run_once(const gs_kernel_backend *be, gs_kernel_layer *w, int phase, uint32_t b,
                    uint32_t t, double *s, gs_diag *d)
{
    if (phase < 0)
        return be->run_head(w, b, s, d);
    return phase == GS_KERNEL_PREFILL ? be->run_prefill(w, b, t, s, d)
                                      : be->run_decode(w, b, t, s, d);
}

static int time_median(const gs_calib_opts *o, gs_kernel_layer *w, int phase, uint32_t b,
                       uint32_t t, double *out, gs_diag *d)
{
    double v[MAX_REPEATS], spent = 0, s;
    int rc, n = 0;
    for (int i = 0; i < o->warmup; i++)
        if ((rc = run_once(o->backend, w, phase, b, t, &s, d)))
            return rc;
    while (n < o->repeats && (n < o->min_repeats || spent < o->point_budget)) {
        if ((rc = run_once(o->backend, w, phase, b, t, &v[n], d)))
            return rc;
        spent += v[n++];
    }
    *out = median(v, n);
    return GS_OK;
}

static int check_axis(const uint32_t *v, size_t n, const char *what, gs_diag *d)
{
    if (n == 0 || n > GS_CALIB_MAX_AXIS)
        return gs_error(d, GS_EINVAL, "calibrate: %s needs 1 to %d values, got %zu", what,
                        GS_CALIB_MAX_AXIS, n);
    for (size_t i = 0; i < n; i++)
        if (v[i] < 1 || (i && v[i] <= v[i - 1]))
            return gs_error(d, GS_EINVAL, "calibrate: %s must be ascending values >= 1", what);
    return GS_OK;
}

static int check_opts(const gs_calib_opts *o, gs_diag *d)
{
    int rc;
    if (!o->model || !o->backend)
        return gs_error(d, GS_EINVAL, "calibrate: no model or backend given");
    for (int p = 0; p < 2; p++)
        if ((rc = check_axis(o->grid[p].batch, o->grid[p].nbatch, "batch", d)) ||
            (rc = check_axis(o->grid[p].tokens, o->grid[p].ntokens, "tokens", d)))
            return rc;
    if (o->warmup < 0 || o->min_repeats < 1 || o->repeats < o->min_repeats ||
        o->repeats > MAX_REPEATS || !(o->point_budget >= 0))
        return gs_error(d, GS_EINVAL, "calibrate: need warmup >= 0 and 1 <= min_repeats <= "
                        "repeats <= %d", MAX_REPEATS);
    if (!o->backend->available())
        return gs_error(d, GS_EIO, "calibrate: backend %s is not available on this machine%s",
                        o->backend->name,
                        strcmp(o->backend->name, "cuda") == 0 ? " (no CUDA device)" : "");
    return GS_OK;
}

/* s as a YAML double-quoted scalar. */
static void yaml_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\x%02x", (unsigned char)*s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static void yaml_list(FILE *f, const uint32_t *v, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%u", i ? ", " : "", v[i]);
    fputc(']', f);
}

static void loadavg(char *buf, size_t n)
{
    snprintf(buf, n, "unknown");
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f)
        return;
    double a, b, c;
    if (fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3)
        snprintf(buf, n, "%.2f %.2f %.2f", a, b, c);
    fclose(f);
}

typedef struct calib_run {
    char   device[256];
    char   date[32];
    char   load0[64], load1[64];
    double wall;
} calib_run;

static int write_meta(const gs_calib_opts *o, const char *path, const calib_run *cr,
                      gs_diag *d)
{
    char *mp = gs_calib_meta_path(path);
    if (!mp)
        return gs_error(d, GS_ENOMEM, "calibrate: out of memory");
    gs_atomic_file af;
    int rc = gs_atomic_open(&af, mp, d);
    gs_free(mp);
    if (rc)
        return rc;
    FILE *f = af.f;
    const gs_model_shape *m = o->model;
    const char *slash = strrchr(path, '/');
    fprintf(f, "# Provenance of %s: written by gatesim kernels calibrate with it.\n",
            slash ? slash + 1 : path);
    fprintf(f, "gatesim_version: %s\n", GATESIM_VERSION);
    fprintf(f, "date_utc: %s\n", cr->date);
    fprintf(f, "command: ");
    yaml_str(f, o->command ? o->command : "");
    fprintf(f, "\nbackend: %s\ndevice: ", o->backend->name);
    yaml_str(f, cr->device);
    fprintf(f, "\ndevice_detail:\n");
    if ((rc = o->backend->write_meta(f))) {
        gs_atomic_abort(&af);
        return gs_error(d, GS_EIO, "%s: cannot write", path);
    }
    fprintf(f, "model:\n  name: ");
    yaml_str(f, m->name);
    fprintf(f, "\n  layers: %u\n  d_model: %u\n  heads: %u\n  kv_heads: %u\n  head_dim: %u\n"
            "  d_ff: %u\n  experts: %u\n  top_k: %u\n  shared_experts: %u\n  expert_ff: %u\n"
            "  vocab: %u\n  dtype: %s\n  source: ",
            m->layers, m->d_model, m->heads, m->kv_heads, m->head_dim, m->d_ff, m->experts,
            m->top_k, m->shared_experts, m->expert_ff, m->vocab, gs_dtype_name(m->dtype));
    yaml_str(f, m->source ? m->source : "");
    fprintf(f, "\ncomposition: \"seconds = median(one layer pass) x layers + median(final "
            "norm and vocabulary projection of batch rows)\"\n");
    fprintf(f, "grid:\n  name: ");
    yaml_str(f, o->grid_name ? o->grid_name : "custom");
    for (int p = 0; p < 2; p++) {
        fprintf(f, "\n  %s:\n    batch: ", gs_kernel_phase_name((gs_kernel_phase)p));
        yaml_list(f, o->grid[p].batch, o->grid[p].nbatch);
        fprintf(f, "\n    tokens: ");
        yaml_list(f, o->grid[p].tokens, o->grid[p].ntokens);
    }
    fprintf(f, "\ntiming:\n  warmup_runs: %d\n  repeats: %d\n  min_repeats: %d\n"
            "  point_budget_s: %g\n  statistic: median\n  seed: %llu\n"
            "  load_average_before: \"%s\"\n  load_average_after: \"%s\"\n"
            "  calibration_wall_s: %.1f\n",
            o->warmup, o->repeats, o->min_repeats, o->point_budget,
            (unsigned long long)o->seed, cr->load0, cr->load1, cr->wall);
    return gs_atomic_commit(&af, d);
}

static int write_csv(const gs_calib_opts *o, const char *path, const calib_run *cr,
                     double *const res[2], gs_diag *d)
{
    gs_atomic_file af;
    int rc = gs_atomic_open(&af, path, d);
    if (rc)
        return rc;
    FILE *f = af.f;
    fprintf(f, "%s\n", GS_PROFILE_HEADER);
    for (int p = 0; p < 2; p++) {
        const gs_calib_axis *a = &o->grid[p];
        for (size_t i = 0; i < a->nbatch; i++)
            for (size_t j = 0; j < a->ntokens; j++) {
                gs_csv_write_field(f, o->backend->name);
                fputc(',', f);
                gs_csv_write_field(f, cr->device);
                fputc(',', f);
                gs_csv_write_field(f, o->model->name);
                fprintf(f, ",%s,%u,%u,%.9g\n", gs_kernel_phase_name((gs_kernel_phase)p),
                        a->batch[i], a->tokens[j], res[p][i * a->ntokens + j]);
            }
    }
    return gs_atomic_commit(&af, d);
}

static uint32_t axis_max(const uint32_t *v, size_t n)
{
    return v[n - 1];
}

/* Head medians by batch value, shared by the two phases. */
typedef struct head_cache {
    uint32_t batch[2 * GS_CALIB_MAX_AXIS];
    double   seconds[2 * GS_CALIB_MAX_AXIS];
    size_t   n;
} head_cache;

static int head_time(const gs_calib_opts *o, gs_kernel_layer *w, head_cache *hc, uint32_t b,
                     double *out, gs_diag *d)
{
    for (size_t i = 0; i < hc->n; i++)
        if (hc->batch[i] == b) {
            *out = hc->seconds[i];
            return GS_OK;
        }
    int rc = time_median(o, w, -1, b, 0, out, d);
    if (rc == GS_OK) {
        hc->batch[hc->n] = b;
        hc->seconds[hc->n++] = *out;
    }
    return rc;
}

static int run_grid(const gs_calib_opts *o, double *const res[2], gs_progress *bar, gs_diag *d)
{
    const gs_model_shape *m = o->model;
    double total = 0, done = 0, fl, by;
    long npoints = 0, finished = 0;
    for (int p = 0; p < 2; p++)
        for (size_t i = 0; i < o->grid[p].nbatch; i++)
            for (size_t j = 0; j < o->grid[p].ntokens; j++) {
                gs_kernel_layer_cost(m, (gs_kernel_phase)p, o->grid[p].batch[i],
                                     o->grid[p].tokens[j], 4, &fl, &by);
                total += fl + by;
                npoints++;
            }
    head_cache hc = {.n = 0};
    for (int p = 0; p < 2; p++) {
        const gs_calib_axis *a = &o->grid[p];
        gs_kernel_layer *w;
        int rc = o->backend->alloc(&w, m, axis_max(a->batch, a->nbatch),
                                   axis_max(a->tokens, a->ntokens), o->seed, d);
        if (rc)
            return rc;
        for (size_t i = 0; i < a->nbatch && rc == GS_OK; i++) {
            double head;
            if ((rc = head_time(o, w, &hc, a->batch[i], &head, d)))
                break;
            for (size_t j = 0; j < a->ntokens; j++) {
                double layer;
                if ((rc = time_median(o, w, p, a->batch[i], a->tokens[j], &layer, d)))
                    break;
                res[p][i * a->ntokens + j] = layer * m->layers + head;
                gs_kernel_layer_cost(m, (gs_kernel_phase)p, a->batch[i], a->tokens[j], 4, &fl,
                                     &by);
                done += fl + by;
                gs_progress_update(bar, ++finished, npoints, total > 0 ? done / total : 1);
            }
        }
        o->backend->free(w);
        if (rc)
            return rc;
    }
    return GS_OK;
}

int gs_calibrate(const gs_calib_opts *o, const char *path, gs_diag *d)
{
    int rc = check_opts(o, d);
    if (rc)
        return rc;
    calib_run cr;
    memset(&cr, 0, sizeof cr);
    o->backend->device_name(cr.device, sizeof cr.device);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(cr.date, sizeof cr.date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    loadavg(cr.load0, sizeof cr.load0);

    double *res[2] = {NULL, NULL};
    for (int p = 0; p < 2; p++)
        if (!(res[p] = gs_calloc(o->grid[p].nbatch * o->grid[p].ntokens, sizeof(double)))) {
            rc = gs_error(d, GS_ENOMEM, "calibrate: out of memory");
            goto out_free;
        }
    /* Create the directory before minutes of measuring, not after. */
    const char *slash = strrchr(path, '/');
    if (slash && slash != path) {
        char *dir = gs_strndup(path, (size_t)(slash - path));
        if (!dir) {
            rc = gs_error(d, GS_ENOMEM, "calibrate: out of memory");
            goto out_free;
        }
        rc = gs_mkdir_p(dir, d);
        gs_free(dir);
        if (rc)
            goto out_free;
    }
    char label[GS_MODEL_NAME_MAX + 32];
    snprintf(label, sizeof label, "calibrate %s", o->model->name);
    gs_progress bar;
    gs_progress_init(&bar, label, o->quiet);
    double t0 = gs_wall_seconds();
    rc = run_grid(o, res, &bar, d);
    gs_progress_end(&bar);
    cr.wall = gs_wall_seconds() - t0;
    loadavg(cr.load1, sizeof cr.load1);
    if (rc == GS_OK && (rc = write_meta(o, path, &cr, d)) == GS_OK)
        rc = write_csv(o, path, &cr, res, d);
out_free:
    gs_free(res[0]);
    gs_free(res[1]);
    return rc;
}
