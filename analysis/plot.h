/* Report-ready plots drawn by gnuplot.
 *
 * Each plot NAME is three files in a directory DIR (created if missing):
 * NAME.dat, the data (whitespace-separated, with a commented header naming
 * the columns and their units); NAME.gp, a self-contained gnuplot script that
 * reads NAME.dat by relative path and draws NAME.png (pngcairo) and NAME.pdf
 * (pdfcairo); and the two images, made by running gnuplot on the script in
 * DIR. A user restyles a plot by editing NAME.gp and running `gnuplot NAME.gp`
 * in DIR, or gs_plot_redraw(). Every file appears whole or not at all
 * (analysis/atomic.h).
 *
 * Strings (labels, titles) are shown exactly as given: quotes, backslashes
 * and gnuplot's enhanced-text characters (_ ^ @ & ~ { }) have no special
 * meaning; control characters show as spaces.
 *
 * Colours come from one palette of GS_PLOT_PALETTE_SIZE slots: give a
 * scenario the same slot in every plot (e.g. its position on the command
 * line) and it has the same colour everywhere.
 *
 * Every function returns GS_OK; GS_EINVAL for bad arguments (a name that is
 * not a plain file stem, arrays that do not fit); GS_ENOMEM; GS_EIO when a
 * file cannot be written or gnuplot fails (the message carries gnuplot's own
 * error); or GS_PLOT_ENOGNUPLOT when gnuplot is not on PATH, in which case
 * NAME.dat and NAME.gp are written and only the images are missing. Nothing
 * is printed. Results are written from one thread (atomic.h says why). */
#ifndef GS_ANALYSIS_PLOT_H
#define GS_ANALYSIS_PLOT_H

#include <stddef.h>
#include <stdint.h>
#include "sim/types.h"

/* gnuplot is not installed (not found on PATH): the data and scripts are
 * written, the images are not. The message says how to install it. Callers
 * exit 1 (a result could not be written). */
#define GS_PLOT_ENOGNUPLOT (-64)

#define GS_PLOT_PALETTE_SIZE 8

/* "#rrggbb" of palette slot (taken modulo GS_PLOT_PALETTE_SIZE; < 0 reads
 * as 0). The palette is Okabe and Ito's, distinguishable with the common
 * colour-vision deficiencies. */
const char *gs_plot_color(int slot);

/* s as a gnuplot single-quoted string literal that reads back as s, with
 * control characters turned into spaces (NULL reads as ""). Caller frees
 * with gs_free(); NULL when out of memory. */
char *gs_plot_quote(const char *s);

/* One curve of a latency CDF: a histogram whose buckets [lo_s[i], hi_s[i])
 * (seconds, >= 0, in increasing order, not overlapping) hold counts[i]
 * values, merged over replications (e.g. a gs_hist's buckets converted to
 * seconds). A curve with no values is listed in the key as "(no data)". */
typedef struct gs_plot_cdf {
    const char     *label;      /* scenario name */
    int             color;      /* palette slot, >= 0 */
    size_t          n;          /* buckets */
    const double   *lo_s, *hi_s;
    const uint64_t *counts;
} gs_plot_cdf;

/* NAME: empirical CDF of latency, one curve per entry of curves (n >= 1),
 * log x axis in seconds, y = P(latency <= x); the CDF is exact at bucket
 * bounds and linear inside a bucket. title may be NULL (no title). */
int gs_plot_latency_cdf(const char *dir, const char *name, const char *title,
                        const gs_plot_cdf *curves, size_t n, gs_diag *d);

enum { GS_PLOT_OUTAGE = 0, GS_PLOT_SLOWDOWN = 1 };

/* The time series of one scenario, each value the mean over replications of
 * one sampling window. NaN marks a window that measured nothing (no request
 * finished) and shows as a gap. Faults are intervals [fault_start_s[i],
 * fault_end_s[i]] shaded in every panel; fault_kind may be NULL (all are
 * outages), else GS_PLOT_OUTAGE or GS_PLOT_SLOWDOWN per fault. */
typedef struct gs_plot_timeline {
    size_t        n;                /* samples, >= 1 */
    const double *t_s;              /* sample time, s, increasing */
    const double *throughput;       /* answered requests per second */
    const double *p99_s;            /* p99 latency in the window, s */
    const double *availability;     /* share ok or fallback, [0, 1] */
    size_t        nfaults;
    const double *fault_start_s, *fault_end_s;
    const int    *fault_kind;
} gs_plot_timeline;

/* NAME: three stacked panels sharing the time axis -- throughput, p99
 * latency, availability -- drawn in palette slot color, faults shaded. */
int gs_plot_timeline_draw(const char *dir, const char *name, const char *title, int color,
                          const gs_plot_timeline *tl, gs_diag *d);

/* One bar with its confidence interval; a NaN interval draws no error bar,
 * a NaN mean no bar. */
typedef struct gs_plot_bar {
    const char *label;          /* scenario or component name */
    int         color;          /* palette slot, >= 0 (gs_plot_utilization ignores it) */
    double      mean, ci_low, ci_high;
} gs_plot_bar;

/* NAME: utilisation per component as horizontal bars in [0, 1] with CI
 * error bars and the mean written beside each bar, in the order given (first
 * at the top), all in palette slot color (the scenario's). n >= 1. */
int gs_plot_utilization(const char *dir, const char *name, const char *title, int color,
                        const gs_plot_bar *bars, size_t n, gs_diag *d);

/* NAME: one vertical bar per entry (each in its palette slot) with CI error
 * bars and the mean written above, y axis labelled ylabel (say the unit:
 * "p99 latency (s)"), from 0 (or below, for negative values). n >= 1. */
int gs_plot_bars(const char *dir, const char *name, const char *title, const char *ylabel,
                 const gs_plot_bar *bars, size_t n, gs_diag *d);

/* gs_plot_bars() named "compare-METRIC", METRIC with every character other
 * than letters, digits, '.', '_', '-' turned into '_': the per-metric bar
 * chart of `gatesim compare`, one bar per scenario. */
int gs_plot_compare(const char *dir, const char *metric, const char *ylabel,
                    const gs_plot_bar *bars, size_t n, gs_diag *d);

/* One curve of a metric against a parameter: points (x[i], mean[i]) in
 * increasing x, with a confidence band from lo[i] to hi[i] (lo and hi both
 * NULL: no band). NaN values leave gaps. */
typedef struct gs_plot_curve {
    const char   *label;        /* architecture or scenario name */
    int           color;        /* palette slot, >= 0 */
    size_t        n;            /* points */
    const double *x, *mean, *lo, *hi;
} gs_plot_curve;

/* Axes of gs_plot_curves(). Labels should carry the unit. A finite xref or
 * yref draws a dashed reference line there (an SLO bound, a capacity found)
 * named in the key by xref_label / yref_label (NULL: unnamed). */
typedef struct gs_plot_axes {
    const char *title;          /* NULL: none */
    const char *xlabel, *ylabel;
    int         logx, logy;     /* nonzero: log scale */
    double      xref, yref;     /* NaN: none */
    const char *xref_label, *yref_label;
} gs_plot_axes;

/* NAME: metric vs parameter, one curve with its band per entry (n >= 1). */
int gs_plot_curves(const char *dir, const char *name, const gs_plot_axes *ax,
                   const gs_plot_curve *curves, size_t n, gs_diag *d);

/* Run gnuplot again on every DIR/NAME.gp (names not starting with '.', in
 * strcmp order), replacing NAME.png and NAME.pdf atomically; backs `gatesim
 * plot`. A failing script does not stop the others; the first error is
 * returned. GS_EINVAL when DIR has no .gp file, GS_EIO when it cannot be
 * read, GS_PLOT_ENOGNUPLOT at once when gnuplot is missing. */
int gs_plot_redraw(const char *dir, gs_diag *d);

/* For callers that draw many plots and go on past a missing gnuplot: the
 * status to keep after rc when the next plot gives next (a later status
 * replaces GS_OK or GS_PLOT_ENOGNUPLOT, never a real error). */
int gs_plot_keep(int rc, int next);

/* Record a plot call's status rc: d's message goes to first when it is the
 * first failure, or the first real one after missing gnuplots; d is
 * cleared for the next call. Returns rc. */
int gs_plot_status(int rc, gs_diag *d, gs_diag *first);

#endif
