/* `warmup: auto`: the warm-up of a scenario chosen once by MSER-5 from
 * pilot replications, and the MSER truncation rule itself.
 *
 * MSER is White's "marginal standard error rule" (K. P. White, "An effective
 * truncation heuristic for bias reduction in simulation output",
 * Simulation 69(6), 1997): delete the d first observations that minimise the
 * squared standard error of the mean of those left, sum of squared
 * deviations / (n - d)^2. MSER-5 applies it to means of batches of five
 * (Spratt, 1998; White, Cobb and Spratt, "A comparison of five steady-state
 * truncation heuristics", WSC 2000), which smooths the noise that makes the
 * rule on raw values erratic. The minimum is taken over the first half only:
 * near the end few batches are left and a flat stretch can make the
 * statistic small by chance; a global minimum in the second half means the
 * series has not settled, and is reported.
 *
 * The series is a Welch average (P. D. Welch, 1983): GS_WARMUP_PILOTS pilot
 * replications run from the empty state with warm-up 0 on streams of their
 * own, and the latency of the answered requests is averaged over all pilots
 * per bin of arrival time (GS_WARMUP_BINS bins over [0, duration)). Bins of
 * arrival time rather than arrival order keep the memory bounded whatever the
 * rate, and map the truncation straight to a time. Bins without answers
 * carry no observation and are skipped.
 *
 * Invariant: the choice depends only on the scenario (its seed included):
 * the pilots' streams are fixed, their bins are summed in pilot order after
 * all have run, and the result is stored in the scenario once, under a lock,
 * before any replication reads sc->warmup. */
#include "warmup.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "engine.h"
#include "error.h"
#include "scenario.h"
#include "units.h"

/* The search for a minimum in the second half leaves at least this many
 * batches, so that the mean of one or two cannot pass for a settled level. */
#define MSER_TAIL 5

size_t gs_mser(const double *x, size_t n, size_t batch, int *second_half)
{
    if (second_half)
        *second_half = 0;
    if (batch == 0)
        batch = 1;
    size_t m = n / batch;
    if (m < 2)
        return 0;
    /* Suffix sums of deviations from the overall mean, so that the
     * subtraction in S2 - S1^2 / k loses no precision when the level is far
     * from 0. */
    double c = 0;
    for (size_t i = 0; i < m * batch; i++)
        c += x[i];
    c /= (double)(m * batch);
    double s1 = 0, s2 = 0, best = INFINITY, best_all = INFINITY;
    size_t d_best = 0, d_all = 0;
    for (size_t j = m; j-- > 0;) {
        double z = 0;
        for (size_t i = 0; i < batch; i++)
            z += x[j * batch + i];
        z = z / (double)batch - c;
        s1 += z;
        s2 += z * z;
        double k = (double)(m - j);
        double sse = s2 - s1 * s1 / k;
        double mser = (sse > 0 ? sse : 0) / (k * k);
        /* Going backwards, <= lets the earliest d win a tie. */
        if ((m - j >= MSER_TAIL || j == 0) && mser <= best_all) {
            best_all = mser;
            d_all = j;
        }
        if (j <= m / 2 && mser <= best) {
            best = mser;
            d_best = j;
        }
    }
    if (second_half)
        *second_half = d_all > m / 2;
    return d_best;
}

/* MSER-5 over the pilots' bins: the warm-up and how the choice went. */
static void choose(const gs_pilot *pl, size_t npilots, gs_time *warm, int *note, double *x,
                   size_t *start)
{
    size_t n = 0;
    for (size_t k = 0; k < pl[0].nbins; k++) {
        double s = 0;
        uint64_t c = 0;
        for (size_t p = 0; p < npilots; p++) {
            s += pl[p].sum[k];
            c += pl[p].count[k];
        }
        if (c == 0)
            continue;
        x[n] = s / (double)c;
        start[n++] = k;
    }
    *warm = 0;
    if (n / GS_WARMUP_BATCH < GS_WARMUP_MIN_BATCHES) {
        *note = GS_WARMUP_SPARSE;
        return;
    }
    int late;
    size_t d = gs_mser(x, n, GS_WARMUP_BATCH, &late);
    *note = late ? GS_WARMUP_SHORT : GS_WARMUP_FOUND;
    if (d > 0)
        *warm = (gs_time)start[d * GS_WARMUP_BATCH] * pl[0].bin;
}

static int resolve(gs_scenario *sc, int threads, gs_diag *d)
{
    size_t nb = GS_WARMUP_BINS;
    gs_time bin = sc->duration / (gs_time)nb;
    if (bin < 1) {
        bin = 1;
        nb = (size_t)sc->duration;
    }
    size_t np = GS_WARMUP_PILOTS, cells = np * nb;
    gs_pilot pl[GS_WARMUP_PILOTS];
    double *sum = gs_calloc(cells, sizeof *sum);
    uint64_t *count = gs_calloc(cells, sizeof *count);
    double *x = gs_malloc(nb * sizeof *x);
    size_t *start = gs_malloc(nb * sizeof *start);
    int rc = GS_OK;
    if (!sum || !count || !x || !start) {
        rc = gs_error(d, GS_ENOMEM, "out of memory");
        goto out_free;
    }
    for (size_t p = 0; p < np; p++)
        pl[p] = (gs_pilot){bin, nb, sum + p * nb, count + p * nb};
    gs_diag err[GS_WARMUP_PILOTS];
    int st[GS_WARMUP_PILOTS];
    if (threads <= 0)
        threads = omp_get_max_threads();
    if (threads > (int)np)
        threads = (int)np;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (size_t p = 0; p < np; p++) {
        gs_diag_init(&err[p]);
        st[p] = gs__run_pilot(sc, GS_WARMUP_PILOT_REP - p, &pl[p], &err[p]);
    }
    /* The lowest pilot's failure is reported, whatever the threads did. */
    for (size_t p = 0; p < np; p++)
        if (st[p]) {
            rc = gs_error(d, err[p].code, "warmup: auto: pilot run: %s", err[p].msg);
            goto out_free;
        }
    gs_time warm;
    int note;
    choose(pl, np, &warm, &note, x, start);
    sc->warmup = warm;
    sc->warmup_note = note;
    sc->warmup_ready = 1;
out_free:
    gs_free(sum);
    gs_free(count);
    gs_free(x);
    gs_free(start);
    return rc;
}

int gs_warmup_resolve(const gs_scenario *sc, int threads, gs_diag *d)
{
    if (!sc->warmup_auto)
        return GS_OK;
    /* A scenario is always a heap object of gs_scenario_load*(), never a
     * const one, so the cache may be written through this pointer; the lock
     * makes the first caller choose and every later one (on any thread)
     * see the choice. Its cost, once per replication, is nothing beside
     * the replication. */
    gs_scenario *w = (gs_scenario *)sc;
    int rc = GS_OK;
#pragma omp critical(gs_warmup)
    if (!w->warmup_ready)
        rc = resolve(w, threads, d);
    return rc;
}

int gs_warmup_note(const gs_scenario *sc, char *buf, size_t size)
{
    if (size)
        buf[0] = '\0';
    if (!sc->warmup_auto || !sc->warmup_ready)
        return 0;
    double w = gs_time_to_s(sc->warmup), t = gs_time_to_s(sc->duration);
    switch (sc->warmup_note) {
    case GS_WARMUP_SHORT:
        snprintf(buf, size, "warning: warm-up chosen by MSER-5: %.6gs of %.6gs, but the "
                 "latency had not settled in the first half of the pilot runs; lengthen "
                 "simulation.duration", w, t);
        break;
    case GS_WARMUP_SPARSE:
        snprintf(buf, size, "warning: warmup: auto: too few answered requests in the pilot "
                 "runs to choose a warm-up (fewer than %d batches); using 0s: lengthen "
                 "simulation.duration or give warmup a time", GS_WARMUP_MIN_BATCHES);
        break;
    default:
        snprintf(buf, size, "warm-up chosen by MSER-5: %.6gs of %.6gs", w, t);
        break;
    }
    return 1;
}
