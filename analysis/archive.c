/* results.h5 from traced results (analysis/archive.h). The engine keeps
 * values metric-major and traces per replication; the file wants
 * replication-major arrays, so each scenario's data is copied once into
 * that layout. Histograms keep only the buckets from the first to the last
 * that any replication of the scenario used (their bounds are stored). */
#include "archive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/h5.h"
#include "analysis/report.h"
#include "sim/alloc.h"
#include "sim/engine.h"
#include "sim/error.h"
#include "sim/scenario.h"
#include "sim/stats.h"

typedef struct owned {
    char           *yaml;
    double         *values, *mean, *lo, *hi, *sd, *blo, *bhi, *series;
    long           *n;
    uint64_t       *hist;
    char          **columns;
    size_t          ncols;
} owned;

static void owned_release(owned *o)
{
    free(o->yaml);   /* from open_memstream */
    gs_free(o->values);
    gs_free(o->mean);
    gs_free(o->lo);
    gs_free(o->hi);
    gs_free(o->sd);
    gs_free(o->n);
    gs_free(o->blo);
    gs_free(o->bhi);
    gs_free(o->hist);
    gs_free(o->series);
    if (o->columns)
        for (size_t c = 0; c < o->ncols; c++)
            gs_free(o->columns[c]);
    gs_free(o->columns);
    memset(o, 0, sizeof *o);
}

static int fill(gs_h5_scenario *h, owned *o, gs_scenario *sc, const gs_results *res,
                gs_diag *d)
{
    size_t nrep = (size_t)res->nreps, nm = res->nmetrics;
    size_t ns = res->traces[0].nsamples, nc = res->traces[0].ncols;
    size_t len = 0;
    FILE *f = open_memstream(&o->yaml, &len);
    if (!f)
        return gs_error(d, GS_ENOMEM, "out of memory");
    int rc = gs_scenario_emit(sc, f);
    if (fclose(f) != 0 || rc != GS_OK)
        return gs_error(d, GS_ENOMEM, "out of memory");
    gs_summary_row *rows;
    if ((rc = gs_report_rows(res, sc->confidence, &rows, d)))
        return rc;
    size_t first = GS_HIST_BUCKETS, last = 0;
    for (size_t r = 0; r < nrep; r++)
        for (size_t b = 0; b < GS_HIST_BUCKETS; b++)
            if (res->traces[r].hist[b]) {
                first = b < first ? b : first;
                last = b > last ? b : last;
            }
    size_t nb = first <= last ? last - first + 1 : 0;
    o->values = gs_malloc((nrep * nm + 1) * sizeof *o->values);
    o->mean = gs_malloc((nm + 1) * sizeof *o->mean);
    o->lo = gs_malloc((nm + 1) * sizeof *o->lo);
    o->hi = gs_malloc((nm + 1) * sizeof *o->hi);
    o->sd = gs_malloc((nm + 1) * sizeof *o->sd);
    o->n = gs_malloc((nm + 1) * sizeof *o->n);
    o->blo = gs_malloc((nb + 1) * sizeof *o->blo);
    o->bhi = gs_malloc((nb + 1) * sizeof *o->bhi);
    o->hist = gs_malloc((nrep * nb + 1) * sizeof *o->hist);
    o->series = gs_malloc((nrep * ns * nc + 1) * sizeof *o->series);
    o->columns = gs_calloc(nc + 1, sizeof *o->columns);
    o->ncols = nc;
    if (!o->values || !o->mean || !o->lo || !o->hi || !o->sd || !o->n || !o->blo || !o->bhi ||
        !o->hist || !o->series || !o->columns) {
        gs_free(rows);
        return gs_error(d, GS_ENOMEM, "out of memory");
    }
    for (size_t m = 0; m < nm; m++) {
        for (size_t r = 0; r < nrep; r++)
            o->values[r * nm + m] = res->values[m * nrep + r];
        o->mean[m] = rows[m].est.mean;
        o->lo[m] = rows[m].est.ci_low;
        o->hi[m] = rows[m].est.ci_high;
        o->sd[m] = rows[m].est.stddev;
        o->n[m] = rows[m].est.n;
    }
    gs_free(rows);
    for (size_t b = 0; b < nb; b++) {
        int64_t a, z;
        gs_hist_bounds(first + b, &a, &z);
        o->blo[b] = (double)a / GS_NS_PER_S;
        o->bhi[b] = (double)z / GS_NS_PER_S;
        for (size_t r = 0; r < nrep; r++)
            o->hist[r * nb + b] = res->traces[r].hist[first + b];
    }
    for (size_t r = 0; r < nrep; r++)
        memcpy(o->series + r * ns * nc, res->traces[r].series, ns * nc * sizeof *o->series);
    for (size_t c = 0; c < nc; c++) {
        const char *comp, *name;
        if (gs_trace_column(sc, c, &comp, &name) != GS_OK)
            return gs_error(d, GS_EINTERNAL, "time series column %zu has no name", c);
        size_t l = strlen(comp) + strlen(name) + 2;
        if (!(o->columns[c] = gs_malloc(l)))
            return gs_error(d, GS_ENOMEM, "out of memory");
        snprintf(o->columns[c], l, "%s/%s", comp, name);
    }
    *h = (gs_h5_scenario){
        .name = sc->name, .yaml = o->yaml, .confidence = sc->confidence,
        .warmup_s = gs_time_to_s(sc->warmup), .duration_s = gs_time_to_s(sc->duration),
        .warmup_method = sc->warmup_auto ? "mser-5" : "fixed", .nrep = nrep,
        .nmetrics = nm, .component = res->component, .metric = res->name,
        .values = o->values, .mean = o->mean, .ci_low = o->lo, .ci_high = o->hi,
        .stddev = o->sd, .n = o->n, .nbuckets = nb, .bucket_lo_s = o->blo,
        .bucket_hi_s = o->bhi, .hist = o->hist,
        .interval_s = gs_time_to_s(sc->sample_interval), .nsamples = ns, .ncols = nc,
        .columns = (const char *const *)o->columns, .series = o->series};
    return GS_OK;
}

int gs_archive_write(const char *path, gs_scenario *const *sc, const gs_results *res, size_t n,
                     gs_diag *d)
{
    for (size_t s = 0; s < n; s++)
        if (!res[s].traces || res[s].nreps < 1)
            return gs_error(d, GS_EINTERNAL, "results.h5 needs the traces of every "
                            "replication");
    gs_h5_scenario *h = gs_calloc(n ? n : 1, sizeof *h);
    owned *o = gs_calloc(n ? n : 1, sizeof *o);
    int rc = GS_OK;
    if (!h || !o)
        rc = gs_error(d, GS_ENOMEM, "out of memory");
    for (size_t s = 0; s < n && rc == GS_OK; s++)
        rc = fill(&h[s], &o[s], sc[s], &res[s], d);
    if (rc == GS_OK)
        rc = gs_h5_write(path, h, n, d);
    if (o)
        for (size_t s = 0; s < n; s++)
            owned_release(&o[s]);
    gs_free(o);
    gs_free(h);
    return rc;
}
