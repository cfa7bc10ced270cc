/* The result files of `gatesim sweep` (SPEC §6): sweep.csv, sweep.h5 and the
 * metric-against-parameter plots, from every replication's metric values at
 * every grid point of every base scenario.
 *
 * The module knows nothing of the engine or the sweep file: the sweep
 * engine collects the values into a gs_sweep_result (plain arrays, all
 * borrowed) and hands it here. Every estimate is the one summary.csv would
 * hold for the same replications (analysis/report.h, gs_report_rows: the
 * Student t interval, clamped at 0 below and, for shares, at 1 above).
 * docs/results.md describes sweep.csv and sweep.h5, docs/plots.md the
 * plots. */
#ifndef GS_ANALYSIS_SWEEP_REPORT_H
#define GS_ANALYSIS_SWEEP_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "sim/types.h"

typedef struct gs_sweep_base_result {
    const char        *name;        /* the base scenario's name (curve label, `scenario` column) */
    const char        *yaml;        /* its resolved scenario text at the first grid point */
    size_t             nrep;        /* replications of each point (>= 1) */
    size_t             nmetrics;    /* the union of the metrics its points report, in first-seen order */
    const char *const *component;   /* [nmetrics] "system" or a component id */
    const char *const *metric;      /* [nmetrics] */
    const double      *values;      /* [npoints][nrep][nmetrics]: values[(p * nrep + r) * nmetrics + m];
                                       NaN where replication r of point p did not measure metric m */
} gs_sweep_base_result;

typedef struct gs_sweep_result {
    const char        *name;        /* the sweep's name (plot titles) */
    const char        *sweep_yaml;  /* the sweep file's text as read */
    double             confidence;  /* of the intervals, e.g. 0.95 */
    size_t             nparams;     /* grid parameters, >= 1 */
    const char *const *param;       /* [nparams] their paths as in the sweep file, e.g.
                                       "workload.chat.arrivals.rate", "components.gw.servers" */
    const char *const *param_unit;  /* [nparams] "s", "1/s" or "" (plain number or text) */
    size_t             npoints;     /* grid points, >= 1 */
    const char *const *text;        /* [npoints][nparams] each value as written in the sweep file ("800/s") */
    const double      *num;         /* [npoints][nparams] the same as a number in SI units (800, 0.002 for
                                       "2ms"), NaN when the value is not a number (e.g. "round_robin") */
    size_t             nbases;      /* >= 1 */
    const gs_sweep_base_result *base;
    size_t             nplot;       /* metrics to plot against each parameter */
    const char *const *plot;        /* [nplot] "METRIC" for a system metric, or "COMPONENT/METRIC" */
} gs_sweep_result;

/* Rules every function below checks first, failing with GS_EINVAL and a
 * message before anything is written: nparams, npoints and nbases >= 1;
 * the arrays present (NULL only where their length is 0) and no NULL path,
 * component, metric or plotted metric (a NULL name, yaml, unit or value
 * text reads as ""); each base has nrep >= 1 and a name that is non-empty,
 * not ".", without '/' and unlike the other bases' (it names an HDF5
 * group). */

/* sweep.csv to f: the header line
 *   scenario,component,metric,mean,ci_low,ci_high,stddev,replications,P1,P2,...
 * (P the parameter paths, CSV-quoted where needed), then one line per
 * (base, point, metric) in that nesting order, metrics in the base's order,
 * every line written even where no replication measured the metric (then
 * nan,nan,nan,nan,0). The estimate columns are summary.csv's for the
 * point's nrep values (numbers as gs_summary_csv_number writes them,
 * replications = the values that were finite). A parameter cell is its
 * number in SI units, formatted like the others, where it has one, else
 * its text as written. Flushes f. GS_OK; GS_EINVAL (rules above);
 * GS_ENOMEM; GS_EIO when the stream reports an error. */
int gs_sweep_report_csv(FILE *f, const gs_sweep_result *s);

/* sweep.csv's rows as a JSON array of objects keyed by its header, the
 * same values in the same order (NaN and infinities as null). Same
 * returns as gs_sweep_report_csv(). */
int gs_sweep_report_json(FILE *f, const gs_sweep_result *s);

/* sweep.h5 at path, atomically, the same bytes for the same input, through
 * gs_h5_write_sweep() (analysis/h5.h; layout in docs/results.md). GS_OK;
 * GS_EINVAL; GS_ENOMEM; GS_EIO with a message naming path. */
int gs_sweep_report_h5(const char *path, const gs_sweep_result *s, gs_diag *d);

/* Into the plot directory dir (created if missing): for every parameter P
 * whose value is a finite number at every point and takes at least two
 * distinct values, and every plotted metric M, the gs_plot_curves() plot
 * "sweep-M-vs-P" (characters other than letters, digits, '.', '_', '-'
 * turned into '_'): x = P's value, y = M's mean with its confidence band,
 * one curve per base and combination of the other parameters' values, its
 * points in increasing x. Another parameter whose value is fixed by P's
 * (a single-valued one, or one zipped with P) does not split curves. A
 * curve is labelled "BASE" or "BASE, NAME=TEXT, ..." (NAME the last
 * segment of each splitting parameter's path, or the shortest tail of whole
 * segments that no other parameter's path shares) and coloured by its
 * base's index when no other parameter splits curves, else by its index
 * (base-major). Axis labels carry the units (x: "NAME (UNIT)"); x is
 * logarithmic when every x > 0 and the largest
 * is at least 50 times the smallest. Every plotted metric must be reported
 * by some base, checked before any plot is written: else GS_EINVAL "plot
 * metric 'X': no base scenario reports it (...)". Returns GS_OK; the first
 * error of a plot, which stops the rest; or GS_PLOT_ENOGNUPLOT when gnuplot
 * is missing, after writing every .dat and .gp. */
int gs_sweep_report_plots(const char *dir, const gs_sweep_result *s, gs_diag *d);

/* Create dir and write dir/sweep.csv, dir/sweep.h5 and, when plots != 0
 * and both data files were written, the plots in dir/plots. Each file
 * appears whole or not at all. Returns the first error (a data file that
 * cannot be written does not stop the other); GS_PLOT_ENOGNUPLOT when only
 * the images are missing. */
int gs_sweep_report_write(const char *dir, const gs_sweep_result *s, int plots, gs_diag *d);

#endif
