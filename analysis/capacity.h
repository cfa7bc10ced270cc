/* Capacity planning (`gatesim capacity`): the largest arrival rate, or the
 * value of another numeric scenario parameter, at which a service-level
 * objective still holds, found by a bracketing search with replications at
 * each point (docs/capacity.md). */
#ifndef GS_ANALYSIS_CAPACITY_H
#define GS_ANALYSIS_CAPACITY_H

#include <stddef.h>
#include <stdio.h>
#include "sim/types.h"

typedef enum gs_slo_op { GS_SLO_LT, GS_SLO_LE, GS_SLO_GT, GS_SLO_GE } gs_slo_op;

/* How a term's value was written: a plain number, with a time unit (2s), or
 * as a rate (800/s). */
typedef enum gs_slo_unit { GS_SLO_NUMBER, GS_SLO_TIME, GS_SLO_RATE } gs_slo_unit;

/* One term METRIC OP VALUE of an SLO. */
typedef struct gs_slo_term {
    char      component[64];   /* "system" unless written COMPONENT/METRIC */
    char      metric[64];
    gs_slo_op op;
    double    bound;           /* in the metric's unit: seconds for times, per second */
    gs_slo_unit unit;
    char      text[128];       /* the term as written, blanks trimmed */
} gs_slo_term;

typedef struct gs_slo {
    size_t       n;
    gs_slo_term *terms;
} gs_slo;

/* Parse "latency_p99<2s,availability>0.999": comma-separated terms METRIC OP
 * VALUE, OP one of < <= > >=, METRIC a system metric name or
 * COMPONENT/METRIC, VALUE a plain number, a time (2s, 250ms) or a rate
 * (800/s). Blanks around the parts are ignored. Only the form is checked
 * here; whether the metric exists and the value suits it is
 * gs_slo_check()'s. GS_EINVAL with a message naming the bad term, or
 * GS_ENOMEM. Caller releases out with gs_slo_release() (also after a
 * failure). */
int gs_slo_parse(const char *text, gs_slo *out, gs_diag *d);
void gs_slo_release(gs_slo *s);

/* Check that every term can mean something, in this order, so that the
 * first message names the real mistake:
 *  1. its metric is one of the n (component[i], metric[i]) pairs a run
 *     reports, else "unknown metric ... (did you mean ...?)" (not checked
 *     when n is 0);
 *  2. its value suits the metric's kind (analysis/report.h,
 *     gs_summary_is_time_metric()): a time unit only on a time, a rate unit
 *     only on a rate, a time bound > 0, a share's bound within [0, 1], and
 *     no bound that no metric (all are >= 0) can get under;
 *  3. the terms on one metric leave some values that meet them all.
 * GS_OK, GS_EINVAL with a message naming the term(s), or GS_ENOMEM. */
int gs_slo_check(const gs_slo *s, const char *const *component, const char *const *metric,
                 size_t n, gs_diag *d);

/* Verdict of a point: every term's interval on the right side of its bound,
 * some term's interval wholly on the wrong side, or neither. */
enum { GS_CAP_FAILS = 0, GS_CAP_UNCERTAIN = 1, GS_CAP_MEETS = 2 };

/* One explored point: the parameter's value and, per SLO term, the
 * estimate of its metric over the point's replications. */
typedef struct gs_capacity_point {
    int     step;              /* 1-based order of evaluation */
    double  x;
    long    nreps;
    int     verdict;           /* GS_CAP_* */
    int     means_meet;        /* the means (not the intervals) satisfy every term */
    double  availability;      /* mean of system availability; NaN when not reported */
    double *mean, *lo, *hi;    /* [slo n]; lo/hi NaN with one replication */
} gs_capacity_point;

/* Outcome of the search. */
enum {
    GS_CAP_FOUND = 0,          /* a meeting and a failing point bracket the boundary */
    GS_CAP_ALL_MEET = 1,       /* every point explored meets: capacity is a bound */
    GS_CAP_NONE_MEET = 2       /* no point explored meets: capacity is NaN */
};

/* Where the direction of the search came from. */
enum {
    GS_CAP_DIR_NAME = 0,       /* the parameter's name (an arrival rate, servers, ...) */
    GS_CAP_DIR_POINTS = 1,     /* read off the verdicts or margins of the points */
    GS_CAP_DIR_NONE = 2        /* every point explored had the same verdict and margin:
                                  the parameter does not move the SLO's metrics there */
};

/* An answer whose availability is below this, from an SLO that bounds no
 * system share, draws gs_capacity_warning(). */
#define GS_CAP_LOW_AVAILABILITY 0.99

typedef struct gs_capacity_result {
    char              *param;          /* the parameter's path (owned) */
    char              *scenario;       /* the scenario's name (owned) */
    int                integer;        /* searched over integers */
    int                larger_harder;  /* 1: the SLO gets harder as the value grows, and
                                          the capacity is the largest value that meets;
                                          0: the smallest (1 when direction is
                                          GS_CAP_DIR_NONE) */
    int                direction;      /* GS_CAP_DIR_* */
    double             start;          /* the scenario's own value */
    double             confidence;
    int                status;         /* GS_CAP_FOUND etc. */
    double             capacity;       /* the answer (see docs/capacity.md) */
    double             lo, hi;         /* its interval, lo <= hi; NaN where unbounded */
    size_t             npoints;        /* sorted by x */
    gs_capacity_point *points;
} gs_capacity_result;

typedef struct gs_capacity_opts {
    const char         *path;          /* the scenario file (message source when text) */
    const char         *text;          /* NULL: read path; else the scenario's YAML */
    const char *const  *sets;          /* --set overrides applied before the parameter */
    size_t              nsets;
    const char         *param;         /* NULL: the arrival rate of the (single, else first
                                          open) workload */
    const gs_slo       *slo;
    long                max_reps;      /* cap for uncertain points; 0: 4 x the scenario's */
    int                 threads;       /* <= 0: all cores */
    double              rel_tol;       /* bisection stops at this relative width; 0: 0.02 */
    int                 max_evals;     /* 0: 30; at least 2 */
    /* Called after each evaluation (may be NULL), e.g. for a progress line:
     * p is the point just evaluated. */
    void              (*on_point)(void *arg, const gs_capacity_result *r,
                                  const gs_capacity_point *p);
    void               *arg;
} gs_capacity_opts;

/* Run the search. Before any point, the SLO is checked with
 * gs_slo_check() against the metrics the scenario reports (learnt from a
 * run one nanosecond long). Each point is the scenario with the parameter
 * set to the point's value (after the sets) and the scenario's
 * replications on common random numbers (the same seed everywhere); an
 * uncertain point gets twice the replications, up to max_reps. GS_EINVAL
 * for a bad scenario, parameter (missing, not a number) or SLO; GS_ENOMEM;
 * GS_EINTERNAL. Caller releases out with gs_capacity_result_release() (also
 * after a failure). */
int gs_capacity_search(const gs_capacity_opts *o, gs_capacity_result *out, gs_diag *d);
void gs_capacity_result_release(gs_capacity_result *r, const gs_slo *slo);

/* 1, with a message in buf, when the answer was found (or bounded) by an SLO
 * that bounds no system share (availability, error_ratio, ...) and the
 * system's availability there is below GS_CAP_LOW_AVAILABILITY: latencies
 * count only answered requests, so such an SLO can be met by a system that
 * turns most requests away. Else 0. */
int gs_capacity_warning(const gs_capacity_result *r, const gs_slo *slo, char *buf,
                        size_t size);

/* DIR/capacity.csv (tidy: step,param,value,component,metric,mean,ci_low,
 * ci_high,replications,verdict, one line per point and term, by value) and
 * DIR/capacity.json (the answer and the points), each written atomically;
 * with plots, DIR/plots/capacity-METRIC.{dat,gp,png,pdf} per term: metric
 * against the parameter with its band and dashed lines at the bound and the
 * capacity. GS_EIO, GS_ENOMEM, or GS_PLOT_ENOGNUPLOT (data written). */
int gs_capacity_write(const char *dir, const gs_capacity_result *r, const gs_slo *slo,
                      int plots, gs_diag *d);

/* stdout forms: a table (each point's SLO metrics as mean +/- half-width and
 * verdict, then the answer line), the CSV of capacity.csv, or the JSON of
 * capacity.json. GS_OK or GS_EIO. */
int gs_capacity_print_table(FILE *f, const gs_capacity_result *r, const gs_slo *slo);
int gs_capacity_print_csv(FILE *f, const gs_capacity_result *r, const gs_slo *slo);
int gs_capacity_print_json(FILE *f, const gs_capacity_result *r, const gs_slo *slo);

/* "meets", "uncertain" or "fails". */
const char *gs_capacity_verdict_name(int verdict);

#endif
