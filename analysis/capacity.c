/* Capacity planning: the largest arrival rate (or the value of another
 * numeric scenario parameter) at which a service-level objective holds.
 *
 * A point is the scenario with the parameter set to one value, simulated for
 * the scenario's replications on common random numbers (the same seed at
 * every point, so that neighbouring points differ by the parameter and not
 * by luck). It meets the SLO when the confidence interval of every SLO
 * metric lies on the right side of its bound, fails when some interval lies
 * wholly on the wrong side, and is uncertain otherwise; an uncertain point
 * gets more replications, up to a cap, and is then taken as part of the
 * boundary. The search brackets the boundary by doubling or halving from the
 * scenario's own value and then bisects the gaps between the last point that
 * meets with confidence, the uncertain points, and the first point that
 * fails with confidence, until each gap is narrower than a relative
 * tolerance (adjacent integers for integer parameters) or the evaluation
 * budget is spent. Which side is hard comes from the parameter's name where
 * it names a rate or a resource, else from points explored both ways until
 * they differ; a parameter that moves nothing is reported as such. Before
 * any of it the SLO is checked against the metrics the scenario reports.
 *
 * Invariant: the answer's interval [lo, hi] always has an explored point
 * that meets with confidence at one end and one that fails with confidence
 * at the other; every point explored in between was uncertain. The
 * procedure is the bracketing-and-bisection root finding of numerical
 * analysis applied to a noisy monotone predicate, with the three-way
 * decision of a sequential test (Law, Simulation Modeling and Analysis,
 * §9.4 and §10.2 on ranking and selection by confidence intervals). */
#include "analysis/capacity.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/plot.h"
#include "analysis/report.h"
#include "analysis/summary.h"
#include "sim/alloc.h"
#include "sim/engine.h"
#include "sim/error.h"
#include "sim/node.h"
#include "sim/replicate.h"
#include "sim/scenario.h"
#include "sim/units.h"


static const char *op_text(gs_slo_op op)
{
    switch (op) {
    case GS_SLO_LT:
        return "<";
    case GS_SLO_LE:
        return "<=";
    case GS_SLO_GT:
        return ">";
    default:
        return ">=";
    }
}

/* Copy [b, e) into dst with blanks trimmed; 0, or -1 when it does not fit. */
static int copy_trim(char *dst, size_t size, const char *b, const char *e)
{
    while (b < e && (*b == ' ' || *b == '\t'))
        b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if ((size_t)(e - b) >= size)
        return -1;
    memcpy(dst, b, (size_t)(e - b));
    dst[e - b] = '\0';
    return 0;
}

static int valid_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

static int parse_term(const char *b, const char *e, gs_slo_term *t, gs_diag *d)
{
    if (copy_trim(t->text, sizeof t->text, b, e))
        return gs_error(d, GS_EINVAL, "--slo: term '%.*s' is too long", (int)(e - b), b);
    const char *s = t->text;
    if (!*s)
        return gs_error(d, GS_EINVAL, "--slo: empty term; expected METRIC OP VALUE such as "
                        "latency_p99<2s, terms separated by commas");
    const char *op = strpbrk(s, "<>");
    if (!op)
        return gs_error(d, GS_EINVAL, "--slo: term '%s' has no comparison; expected METRIC OP "
                        "VALUE with OP one of < <= > >=, e.g. latency_p99<2s", s);
    int eq = op[1] == '=';
    t->op = op[0] == '<' ? (eq ? GS_SLO_LE : GS_SLO_LT) : (eq ? GS_SLO_GE : GS_SLO_GT);
    char name[130], value[128];
    copy_trim(name, sizeof name, s, op);
    copy_trim(value, sizeof value, op + 1 + eq, s + strlen(s));
    const char *slash = strchr(name, '/');
    int bad = 0;
    if (slash) {
        bad = copy_trim(t->component, sizeof t->component, name, slash) ||
              copy_trim(t->metric, sizeof t->metric, slash + 1, name + strlen(name));
    } else {
        strcpy(t->component, "system");
        bad = copy_trim(t->metric, sizeof t->metric, name, name + strlen(name));
    }
    if (bad || !valid_name(t->component) || !valid_name(t->metric))
        return gs_error(d, GS_EINVAL, "--slo: term '%s': expected a metric name such as "
                        "latency_p99 or COMPONENT/METRIC before '%s'", s, op_text(t->op));
    if (!*value || strpbrk(value, "<>="))
        return gs_error(d, GS_EINVAL, "--slo: term '%s': expected one value after '%s'", s,
                        op_text(t->op));
    /* The unit is only recorded here: whether it suits the metric is judged
     * once the metric is known to exist (gs_slo_check), so that a
     * misspelt name is reported as such and not as a wrong unit. */
    if (strchr(value, '/')) {
        t->unit = GS_SLO_RATE;
        if (gs_parse_rate(value, &t->bound))
            return gs_error(d, GS_EINVAL, "--slo: term '%s': expected a rate such as 800/s, "
                            "got '%s'", s, value);
        return GS_OK;
    }
    char *end;
    double v = strtod(value, &end);
    if (end != value && !*end && isfinite(v)) {
        t->unit = GS_SLO_NUMBER;
        t->bound = v;
        return GS_OK;
    }
    t->unit = GS_SLO_TIME;
    if (gs_parse_time(value, &t->bound))
        return gs_error(d, GS_EINVAL, "--slo: term '%s': expected a number, a time such as "
                        "250ms or a rate such as 800/s, got '%s'", s, value);
    return GS_OK;
}

int gs_slo_parse(const char *text, gs_slo *out, gs_diag *d)
{
    out->n = 0;
    out->terms = NULL;
    if (!text)
        return gs_error(d, GS_EINVAL, "--slo: missing");
    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ',';
    out->terms = gs_calloc(cap, sizeof *out->terms);
    if (!out->terms)
        return gs_error(d, GS_ENOMEM, "out of memory");
    const char *b = text;
    for (;;) {
        const char *e = strchr(b, ',');
        if (!e)
            e = b + strlen(b);
        int rc = parse_term(b, e, &out->terms[out->n], d);
        if (rc)
            return rc;
        out->n++;
        if (!*e)
            break;
        b = e + 1;
    }
    return GS_OK;
}

void gs_slo_release(gs_slo *s)
{
    gs_free(s->terms);
    s->terms = NULL;
    s->n = 0;
}

/* ---- checking an SLO -------------------------------------------------- */

static const char *term_name(const gs_slo_term *t, char *buf, size_t size)
{
    if (strcmp(t->component, "system") == 0)
        snprintf(buf, size, "%s", t->metric);
    else
        snprintf(buf, size, "%s/%s", t->component, t->metric);
    return buf;
}

/* Step 1 of gs_slo_check: the term's component and metric are reported,
 * else a message with the nearest name (gs_suggest, as for scenario keys). */
static int check_name(const gs_slo_term *t, const char *const *component,
                      const char *const *metric, size_t n, const char **cand, gs_diag *d)
{
    size_t nc = 0, nm = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(component[i], t->component) != 0)
            continue;
        nc++;
        if (strcmp(metric[i], t->metric) == 0)
            return GS_OK;
        cand[nm++] = metric[i];
    }
    cand[nm] = NULL;
    const char *hint;
    if (nc == 0) {
        /* Every distinct component but "system", which has no slash form. */
        nm = 0;
        for (size_t i = 0; i < n; i++) {
            size_t k = 0;
            while (k < nm && strcmp(cand[k], component[i]) != 0)
                k++;
            if (k == nm && strcmp(component[i], "system") != 0)
                cand[nm++] = component[i];
        }
        cand[nm] = NULL;
        hint = gs_suggest(t->component, cand);
        return gs_error(d, GS_EINVAL, "--slo: term '%s': the scenario has no component "
                        "'%s'%s%s%s", t->text, t->component, hint ? " (did you mean '" : "",
                        hint ? hint : "", hint ? "'?)" : "");
    }
    hint = gs_suggest(t->metric, cand);
    char hint_name[140];
    if (hint && strcmp(t->component, "system") != 0)
        snprintf(hint_name, sizeof hint_name, "%s/%s", t->component, hint);
    else
        snprintf(hint_name, sizeof hint_name, "%s", hint ? hint : "");
    return gs_error(d, GS_EINVAL, "--slo: term '%s': unknown metric '%s'%s%s%s; the metrics "
                    "of '%s' are its rows in summary.csv (docs/statistics.md)", t->text,
                    t->metric, hint ? " (did you mean '" : "", hint_name, hint ? "'?)" : "",
                    t->component);
}

/* Step 2 of gs_slo_check: the value suits the metric's kind. */
static int check_kind(const gs_slo_term *t, gs_diag *d)
{
    int is_time = gs_summary_is_time_metric(t->metric);
    int is_rate = gs_report_is_rate(t->metric);
    int is_share = gs_report_is_share(t->metric);
    int below = t->op == GS_SLO_LT || t->op == GS_SLO_LE;
    if (t->unit == GS_SLO_TIME && !is_time)
        return gs_error(d, GS_EINVAL, "--slo: term '%s': %s is not a time, so its bound takes "
                        "no time unit (only metrics such as latency_p99 or wait_mean do); "
                        "write a plain number", t->text, t->metric);
    if (t->unit == GS_SLO_RATE && !is_rate)
        return gs_error(d, GS_EINVAL, "--slo: term '%s': %s is not a rate, so its bound takes "
                        "no '/UNIT' (only rates per second such as throughput or goodput do); "
                        "write a %s", t->text, t->metric, is_time ? "time such as 250ms"
                                                                  : "plain number");
    if (is_time && !(t->bound > 0))
        return gs_error(d, GS_EINVAL, "--slo: term '%s': %s is a time, and a time bound must "
                        "be > 0, got %gs", t->text, t->metric, t->bound);
    if (is_share && (t->bound < 0 || t->bound > 1))
        return gs_error(d, GS_EINVAL, "--slo: term '%s': %s is a share in [0, 1], so a bound "
                        "of %g %s; write a fraction such as 0.999", t->text, t->metric,
                        t->bound, (below == (t->bound < 0)) ? "can never be met"
                                                            : "is always met and limits nothing");
    /* Every metric of a run is >= 0 (analysis/report.c clamps its
     * intervals there), so nothing gets under a negative bound or 0. */
    if (below && (t->bound < 0 || (t->bound == 0 && t->op == GS_SLO_LT)))
        return gs_error(d, GS_EINVAL, "--slo: term '%s': %s is never negative, so the term "
                        "can never be met", t->text, t->metric);
    if (is_share && ((t->op == GS_SLO_GT && t->bound == 1) ||
                     (t->op == GS_SLO_LT && t->bound == 0)))
        return gs_error(d, GS_EINVAL, "--slo: term '%s': %s is a share in [0, 1], so the term "
                        "can never be met", t->text, t->metric);
    return GS_OK;
}

/* Step 3 of gs_slo_check: the values meeting every term on one metric, an
 * interval whose ends come from the tightest terms, are not empty. */
static int check_together(const gs_slo *s, size_t first, gs_diag *d)
{
    const gs_slo_term *a = &s->terms[first];
    const gs_slo_term *lo = NULL, *hi = NULL;     /* the tightest term from each side */
    for (size_t i = 0; i < s->n; i++) {
        const gs_slo_term *t = &s->terms[i];
        if (strcmp(t->component, a->component) != 0 || strcmp(t->metric, a->metric) != 0)
            continue;
        if (i < first)
            return GS_OK;     /* this metric was checked at its first term */
        if (t->op == GS_SLO_LT || t->op == GS_SLO_LE) {
            if (!hi || t->bound < hi->bound || (t->bound == hi->bound && t->op == GS_SLO_LT))
                hi = t;
        } else if (!lo || t->bound > lo->bound || (t->bound == lo->bound && t->op == GS_SLO_GT)) {
            lo = t;
        }
    }
    if (!lo || !hi)
        return GS_OK;
    int open = lo->op == GS_SLO_GT || hi->op == GS_SLO_LT;
    if (lo->bound < hi->bound || (lo->bound == hi->bound && !open))
        return GS_OK;
    char name[140];
    return gs_error(d, GS_EINVAL, "--slo: terms '%s' and '%s' cannot both be met: no value of "
                    "%s is on the right side of both", lo->text, hi->text,
                    term_name(a, name, sizeof name));
}

int gs_slo_check(const gs_slo *s, const char *const *component, const char *const *metric,
                 size_t n, gs_diag *d)
{
    if (n > 0) {
        const char **cand = gs_calloc(n + 1, sizeof *cand);
        if (!cand)
            return gs_error(d, GS_ENOMEM, "out of memory");
        int rc = GS_OK;
        for (size_t t = 0; t < s->n && rc == GS_OK; t++)
            rc = check_name(&s->terms[t], component, metric, n, cand, d);
        gs_free(cand);
        if (rc)
            return rc;
    }
    for (size_t t = 0; t < s->n; t++) {
        int rc = check_kind(&s->terms[t], d);
        if (rc)
            return rc;
    }
    for (size_t t = 0; t < s->n; t++) {
        int rc = check_together(s, t, d);
        if (rc)
            return rc;
    }
    return GS_OK;
}

const char *gs_capacity_verdict_name(int verdict)
{
    return verdict == GS_CAP_MEETS ? "meets" : verdict == GS_CAP_FAILS ? "fails" : "uncertain";
}

/* ---- the parameter ---------------------------------------------------- */

/* The node at a --set style path (mapping keys; sequence items by index or
 * by their "name"), or NULL. */
static const gs_node *node_at(const gs_node *n, const char *path)
{
    char seg[256];
    const char *p = path;
    while (n && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len == 0 || len >= sizeof seg)
            return NULL;
        memcpy(seg, p, len);
        seg[len] = '\0';
        p += len + (dot ? 1 : 0);
        if (n->kind == GS_NODE_MAP) {
            n = gs_map_get(n, seg);
        } else if (n->kind == GS_NODE_SEQ) {
            char *end;
            long i = strtol(seg, &end, 10);
            const gs_node *hit = NULL;
            if (!*end && i >= 0 && (size_t)i < n->len) {
                hit = n->items[i];
            } else {
                for (size_t k = 0; k < n->len && !hit; k++) {
                    const gs_node *name = gs_map_get(n->items[k], "name");
                    if (name && name->kind == GS_NODE_SCALAR && strcmp(name->value, seg) == 0)
                        hit = n->items[k];
                }
            }
            n = hit;
        } else {
            return NULL;
        }
    }
    return n;
}

static int last_segment_is(const char *path, const char *word)
{
    const char *dot = strrchr(path, '.');
    return strcmp(dot ? dot + 1 : path, word) == 0;
}

/* 1 when path has the segment word. */
static int has_segment(const char *path, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = path; (p = strstr(p, word)) != NULL; p += n)
        if ((p == path || p[-1] == '.') && (p[n] == '.' || p[n] == '\0'))
            return 1;
    return 0;
}

/* The direction that a parameter's name settles: 1 when larger is harder
 * (an arrival rate, closed users, repair time), 0 when larger is easier (a
 * count of servers, replicas, GPUs, workers, partitions, KV-cache tokens; time
 * between failures), -1 when the name does not say. Queue `capacity` and
 * `max_batch` are left out on purpose: a longer queue answers more requests
 * but each later, and a larger batch serves more at once but each one
 * slower, so which side is easy depends on the SLO. So is a rate other than
 * an arrival rate (a rate limit's). */
static int named_direction(const char *path)
{
    static const char *const easier[] = {"servers", "instances", "gpus", "workers",
                                         "consumers", "partitions", "kv_cache_tokens", "mtbf"};
    static const char *const harder[] = {"users", "mttr", "error_rate"};
    const char *dot = strrchr(path, '.');
    const char *last = dot ? dot + 1 : path;
    if (strcmp(last, "rate") == 0 && has_segment(path, "arrivals"))
        return 1;
    for (size_t i = 0; i < sizeof easier / sizeof easier[0]; i++)
        if (strcmp(last, easier[i]) == 0)
            return 0;
    for (size_t i = 0; i < sizeof harder / sizeof harder[0]; i++)
        if (strcmp(last, harder[i]) == 0)
            return 1;
    return -1;
}

/* The parameter's path (default: the single, else first, open workload's
 * rate), its value and whether it is an integer. */
static int find_param(const gs_scenario *sc, const char *param, char **path, double *x,
                      int *integer, gs_diag *d)
{
    char buf[512];
    if (!param) {
        const gs_workload *w = NULL;
        for (size_t i = 0; i < sc->nworkloads && !w; i++)
            if (sc->workloads[i].process == GS_PROC_POISSON ||
                sc->workloads[i].process == GS_PROC_DETERMINISTIC ||
                sc->workloads[i].process == GS_PROC_DIURNAL)
                w = &sc->workloads[i];
        if (!w)
            return gs_error(d, GS_EINVAL, "%s: no workload has an arrival rate (poisson, "
                            "deterministic or diurnal); name the parameter to search with "
                            "--param PATH", sc->path);
        snprintf(buf, sizeof buf, "workload.%s.arrivals.rate", w->name);
        param = buf;
    }
    *path = gs_strdup(param);
    if (!*path)
        return gs_error(d, GS_ENOMEM, "out of memory");
    const gs_node *n = node_at(gs_doc_root(sc->doc), param);
    if (!n)
        return gs_error(d, GS_EINVAL, "--param %s: the scenario has no such value (paths are "
                        "as --set takes them, e.g. components.gw.servers or "
                        "workload.chat.arrivals.rate)", param);
    if (n->kind != GS_NODE_SCALAR)
        return gs_error(d, GS_EINVAL, "--param %s: expected a number, found %s", param,
                        gs_node_kind_name(n->kind));
    char *end;
    long l = strtol(n->value, &end, 10);
    /* Rates are real even when written as integers; a count written as an
     * integer is searched over the integers. */
    if (end != n->value && !*end && !last_segment_is(param, "rate")) {
        *integer = 1;
        *x = (double)l;
        return GS_OK;
    }
    *integer = 0;
    if (gs_parse_time(n->value, x) == 0 || gs_parse_rate(n->value, x) == 0)
        return GS_OK;
    return gs_error(d, GS_EINVAL, "--param %s: expected a number, a time or a rate, found '%s'",
                    param, n->value);
}

/* ---- evaluating a point ----------------------------------------------- */

typedef struct search {
    const gs_capacity_opts *o;
    gs_capacity_result     *r;
    const char            **sets;      /* the user's sets, then the parameter's */
    char                    set[600];
    size_t                 *metric;    /* [slo n]: index in the results */
    int                     have_metric;
    int                     names_checked;  /* gs_slo_check saw the metric names */
    long                    reps, max_reps;
    int                     max_evals;
    double                  tol;
} search;

static int load_at(search *s, double x, gs_scenario **sc, gs_diag *d)
{
    const gs_capacity_opts *o = s->o;
    if (s->r->integer)
        snprintf(s->set, sizeof s->set, "%s=%ld", s->r->param, (long)x);
    else
        snprintf(s->set, sizeof s->set, "%s=%.17g", s->r->param, x);
    s->sets[o->nsets] = s->set;
    size_t n = o->nsets + 1;
    int rc = o->text ? gs_scenario_load_string(o->text, o->path, s->sets, n, sc, d)
                     : gs_scenario_load(o->path, s->sets, n, sc, d);
    if (rc == GS_EIO)
        d->code = GS_EINVAL;
    return rc;
}

static int term_verdict(const gs_slo_term *t, double mean, double lo, double hi)
{
    if (isnan(mean))
        return GS_CAP_FAILS;
    if (isnan(lo) || isnan(hi))
        lo = hi = mean;          /* one replication: decided by its value */
    double b = t->bound;
    switch (t->op) {
    case GS_SLO_LT:
        return hi < b ? GS_CAP_MEETS : lo >= b ? GS_CAP_FAILS : GS_CAP_UNCERTAIN;
    case GS_SLO_LE:
        return hi <= b ? GS_CAP_MEETS : lo > b ? GS_CAP_FAILS : GS_CAP_UNCERTAIN;
    case GS_SLO_GT:
        return lo > b ? GS_CAP_MEETS : hi <= b ? GS_CAP_FAILS : GS_CAP_UNCERTAIN;
    default:
        return lo >= b ? GS_CAP_MEETS : hi < b ? GS_CAP_FAILS : GS_CAP_UNCERTAIN;
    }
}

static int find_metrics(search *s, const gs_results *res, gs_diag *d)
{
    const gs_slo *slo = s->o->slo;
    /* Where the probe could not run, the names are checked here, after the
     * first point, with the same messages. */
    if (!s->names_checked) {
        int rc = gs_slo_check(slo, (const char *const *)res->component,
                              (const char *const *)res->name, res->nmetrics, d);
        if (rc)
            return rc;
        s->names_checked = 1;
    }
    for (size_t t = 0; t < slo->n; t++) {
        size_t k = 0;
        while (k < res->nmetrics && (strcmp(res->component[k], slo->terms[t].component) != 0 ||
                                     strcmp(res->name[k], slo->terms[t].metric) != 0))
            k++;
        if (k == res->nmetrics)
            return gs_error(d, GS_EINVAL, "--slo: term '%s': the scenario reports no metric "
                            "'%s' for '%s' (see its summary.csv)", slo->terms[t].text,
                            slo->terms[t].metric, slo->terms[t].component);
        s->metric[t] = k;
    }
    s->have_metric = 1;
    return GS_OK;
}

static void judge(search *s, const gs_results *res, gs_capacity_point *p)
{
    const gs_slo *slo = s->o->slo;
    int all_meet = 1, any_fail = 0;
    p->means_meet = 1;
    p->nreps = res->nreps;
    for (size_t t = 0; t < slo->n; t++) {
        gs_estimate e;
        gs_estimate_compute(res->values + s->metric[t] * (size_t)res->nreps,
                            (size_t)res->nreps, s->r->confidence, &e);
        p->mean[t] = e.mean;
        p->lo[t] = e.ci_low;
        p->hi[t] = e.ci_high;
        int v = term_verdict(&slo->terms[t], e.mean, e.ci_low, e.ci_high);
        all_meet &= v == GS_CAP_MEETS;
        any_fail |= v == GS_CAP_FAILS;
        if (term_verdict(&slo->terms[t], e.mean, NAN, NAN) != GS_CAP_MEETS)
            p->means_meet = 0;
    }
    p->verdict = any_fail ? GS_CAP_FAILS : all_meet ? GS_CAP_MEETS : GS_CAP_UNCERTAIN;
    p->availability = NAN;
    for (size_t k = 0; k < res->nmetrics; k++)
        if (strcmp(res->component[k], "system") == 0 &&
            strcmp(res->name[k], "availability") == 0) {
            gs_estimate e;
            gs_estimate_compute(res->values + k * (size_t)res->nreps, (size_t)res->nreps,
                                s->r->confidence, &e);
            p->availability = e.mean;
        }
}

/* Check the SLO against the metrics that sc reports, before any point is
 * simulated. The names are those of a replication whose observation window
 * is one nanosecond from time 0 (sc is altered for it and must not be run
 * again): which metrics a run reports depends on the scenario's components
 * and faults, never on how long it runs, and so short a run costs nothing.
 * Should the probe itself fail, the first point reports the problem with
 * the real settings, and the names are checked after it. */
static int check_slo(search *s, gs_scenario *sc, gs_diag *d)
{
    sc->warmup_auto = 0;
    sc->warmup = 0;
    sc->duration = 1;
    gs_metrics m = {0};
    gs_diag quiet;
    gs_diag_init(&quiet);
    int rc = gs_run_replication(sc, 0, &m, NULL, NULL, &quiet);
    const char **names = NULL;
    if (rc == GS_OK) {
        names = gs_calloc(2 * m.n + 1, sizeof *names);
        if (!names) {
            gs_metrics_release(&m);
            return gs_error(d, GS_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < m.n; i++) {
            names[i] = m.v[i].component;
            names[m.n + i] = m.v[i].name;
        }
        s->names_checked = 1;
    } else if (rc == GS_ENOMEM) {
        gs_metrics_release(&m);
        return gs_error(d, GS_ENOMEM, "out of memory");
    }
    rc = gs_slo_check(s->o->slo, names, names ? names + m.n : NULL, names ? m.n : 0, d);
    gs_free(names);
    gs_metrics_release(&m);
    return rc;
}

/* Simulate the point x and append it to the result. */
static int evaluate(search *s, double x, gs_diag *d)
{
    gs_capacity_result *r = s->r;
    gs_capacity_point *p = &r->points[r->npoints];
    size_t nt = s->o->slo->n;
    p->mean = gs_calloc(3 * nt, sizeof *p->mean);
    if (!p->mean)
        return gs_error(d, GS_ENOMEM, "out of memory");
    p->lo = p->mean + nt;
    p->hi = p->lo + nt;
    p->x = x;
    p->step = (int)r->npoints + 1;
    r->npoints++;
    gs_scenario *sc;
    int rc = load_at(s, x, &sc, d);
    if (rc)
        return rc;
    gs_results res;
    rc = gs_replicate(sc, 0, s->reps, s->o->threads, NULL, NULL, &res, d);
    if (rc) {
        gs_scenario_free(sc);
        return rc;
    }
    if (!s->have_metric)
        rc = find_metrics(s, &res, d);
    if (rc == GS_OK)
        judge(s, &res, p);
    /* More replications for an uncertain point, the same indices as every
     * other point's first ones so that common random numbers still hold. */
    while (rc == GS_OK && p->verdict == GS_CAP_UNCERTAIN && res.nreps < s->max_reps) {
        long more_n = res.nreps;
        if (res.nreps + more_n > s->max_reps)
            more_n = s->max_reps - res.nreps;
        gs_results more;
        rc = gs_replicate(sc, res.nreps, more_n, s->o->threads, NULL, NULL, &more, d);
        if (rc == GS_OK) {
            rc = gs_results_append(&res, &more, d);
            gs_results_release(&more);
        }
        if (rc == GS_OK)
            judge(s, &res, p);
    }
    gs_results_release(&res);
    gs_scenario_free(sc);
    if (rc == GS_OK && s->o->on_point)
        s->o->on_point(s->o->arg, r, p);
    return rc;
}

/* ---- the search -------------------------------------------------------- */

/* Position along the search direction: larger means harder. */
static double pos(const search *s, double x)
{
    return s->r->larger_harder ? x : -x;
}

/* Bracketing stays within a factor GS_CAP_SPAN of the scenario's value: a
 * rate 64 times the one a scenario was written for costs 64 times the
 * simulation, and an SLO still met there is better reported as a bound
 * than chased further. */
#define GS_CAP_SPAN 64.0

static int grow(const search *s, double x, double *out)
{
    double start = fabs(s->r->start);
    double next = x <= 0 ? 1 : 2 * x;
    if (next > (start > 0 ? start : 1) * GS_CAP_SPAN)
        return -1;
    *out = next;
    return 0;
}

static int shrink(const search *s, double x, double *out)
{
    if (s->r->integer) {
        if (x <= 1)
            return -1;
        *out = floor(x / 2);
        return 0;
    }
    if (!(x > 0) || x / 2 < fabs(s->r->start) / GS_CAP_SPAN)
        return -1;
    *out = x / 2;
    return 0;
}

static int toward_fail(const search *s, double x, double *out)
{
    return s->r->larger_harder ? grow(s, x, out) : shrink(s, x, out);
}

static int toward_meet(const search *s, double x, double *out)
{
    return s->r->larger_harder ? shrink(s, x, out) : grow(s, x, out);
}

static int rank_of(int verdict)
{
    return verdict;     /* fails < uncertain < meets */
}

/* Sum over terms of the margin to the bound, relative to the bound:
 * positive on the right side. */
static double slack(const search *s, const gs_capacity_point *p)
{
    double sum = 0;
    for (size_t t = 0; t < s->o->slo->n; t++) {
        const gs_slo_term *term = &s->o->slo->terms[t];
        if (isnan(p->mean[t]))
            continue;
        double m = term->op == GS_SLO_LT || term->op == GS_SLO_LE ? term->bound - p->mean[t]
                                                                   : p->mean[t] - term->bound;
        double scale = fabs(term->bound) > 1e-300 ? fabs(term->bound) : 1;
        sum += m / scale;
    }
    return sum;
}

/* Summed relative margins closer than this are a tie (read_direction). */
#define GS_CAP_TIE 1e-3

static int explored(const search *s, double x)
{
    for (size_t i = 0; i < s->r->npoints; i++)
        if (s->r->points[i].x == x)
            return 1;
    return 0;
}

/* Round to 4 significant digits, so that bisected values read well (the
 * tolerance is far coarser); through text, so that the double is the one
 * nearest to the 4 digits and prints as them. */
static double round4(double x)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.4g", x);
    return strtod(buf, NULL);
}

/* A point strictly inside the gap (a, b) when it is wider than the
 * tolerance; -1 when it is narrow enough. */
static int split(const search *s, double a, double b, double *mid)
{
    double lo = fmin(a, b), hi = fmax(a, b);
    if (s->r->integer) {
        if (hi - lo < 2)
            return -1;
        *mid = floor(lo + (hi - lo) / 2);
        return 0;
    }
    if (hi - lo <= s->tol * fmax(fabs(lo), fabs(hi)))
        return -1;
    double m = round4(lo + (hi - lo) / 2);
    *mid = m > lo && m < hi ? m : lo + (hi - lo) / 2;
    return 0;
}

/* M: the confident meet furthest toward the hard side; F: the confident
 * fail nearest to it on the hard side (with no M, the confident fail nearest
 * the easy side). */
static void bracket(const search *s, const gs_capacity_point **m, const gs_capacity_point **f)
{
    const gs_capacity_result *r = s->r;
    *m = *f = NULL;
    for (size_t i = 0; i < r->npoints; i++) {
        const gs_capacity_point *p = &r->points[i];
        if (p->verdict == GS_CAP_MEETS && (!*m || pos(s, p->x) > pos(s, (*m)->x)))
            *m = p;
    }
    for (size_t i = 0; i < r->npoints; i++) {
        const gs_capacity_point *p = &r->points[i];
        if (p->verdict != GS_CAP_FAILS || (*m && pos(s, p->x) <= pos(s, (*m)->x)))
            continue;
        if (!*f || pos(s, p->x) < pos(s, (*f)->x))
            *f = p;
    }
}

/* The next value to explore, or -1 when the search is done. */
static int next_point(const search *s, double *x)
{
    const gs_capacity_result *r = s->r;
    const gs_capacity_point *m, *f;
    bracket(s, &m, &f);
    if (!f || !m) {
        /* Expand from the outermost point on the side still missing. */
        const gs_capacity_point *edge = NULL;
        for (size_t i = 0; i < r->npoints; i++) {
            const gs_capacity_point *p = &r->points[i];
            if (!edge || (!f ? pos(s, p->x) > pos(s, edge->x) : pos(s, p->x) < pos(s, edge->x)))
                edge = p;
        }
        int rc = !f ? toward_fail(s, edge->x, x) : toward_meet(s, edge->x, x);
        return rc || explored(s, *x) ? -1 : 0;
    }
    /* The uncertain zone between m and f: its nearest points to each. */
    const gs_capacity_point *z1 = NULL, *z2 = NULL;
    for (size_t i = 0; i < r->npoints; i++) {
        const gs_capacity_point *p = &r->points[i];
        if (p->verdict != GS_CAP_UNCERTAIN || pos(s, p->x) <= pos(s, m->x) ||
            pos(s, p->x) >= pos(s, f->x))
            continue;
        if (!z1 || pos(s, p->x) < pos(s, z1->x))
            z1 = p;
        if (!z2 || pos(s, p->x) > pos(s, z2->x))
            z2 = p;
    }
    if (!z1)
        return split(s, m->x, f->x, x) || explored(s, *x) ? -1 : 0;
    if (split(s, m->x, z1->x, x) == 0 && !explored(s, *x))
        return 0;
    return split(s, z2->x, f->x, x) || explored(s, *x) ? -1 : 0;
}

/* Read the direction off the two outermost points explored: their verdicts
 * when they differ, else their summed relative margins. 0 when the two tie
 * in both, which says nothing: a parameter that does not move the SLO's
 * metrics (common random numbers make the points equal, or nearly: a
 * difference of 0.1 % of the bounds is taken as none) must not be taken as
 * pointing either way. */
static int read_direction(search *s)
{
    const gs_capacity_result *r = s->r;
    const gs_capacity_point *a = NULL, *b = NULL;
    for (size_t i = 0; i < r->npoints; i++) {
        const gs_capacity_point *p = &r->points[i];
        if (!a || p->x < a->x)
            a = p;
        if (!b || p->x > b->x)
            b = p;
    }
    if (a == b)
        return 0;
    if (rank_of(a->verdict) != rank_of(b->verdict)) {
        s->r->larger_harder = rank_of(b->verdict) < rank_of(a->verdict);
        return 1;
    }
    double ma = slack(s, a), mb = slack(s, b);
    if (!(fabs(ma - mb) > GS_CAP_TIE))
        return 0;
    s->r->larger_harder = mb < ma;
    return 1;
}

/* For a parameter whose name does not settle the direction: explore
 * outwards from the scenario's value, doubling and halving in turn, until
 * the outermost points differ (read_direction) or neither way can go on;
 * then the direction is GS_CAP_DIR_NONE and the search ends there. */
static int find_direction(search *s, gs_diag *d)
{
    gs_capacity_result *r = s->r;
    double up = r->start, down = r->start;
    int can_up = 1, can_down = 1;
    r->larger_harder = 1;
    while (can_up || can_down) {
        for (int side = 0; side < 2; side++) {
            int *can = side == 0 ? &can_up : &can_down;
            double *edge = side == 0 ? &up : &down;
            double x;
            if (!*can)
                continue;
            /* The budget spent before the points differ: the search ends
             * with what it has, the direction a guess, not a finding. */
            if ((int)r->npoints >= s->max_evals)
                return GS_OK;
            if ((side == 0 ? grow(s, *edge, &x) : shrink(s, *edge, &x)) || explored(s, x)) {
                *can = 0;
                continue;
            }
            int rc = evaluate(s, x, d);
            if (rc)
                return rc;
            *edge = x;
            if (read_direction(s))
                return GS_OK;
        }
    }
    r->direction = GS_CAP_DIR_NONE;
    return GS_OK;
}

static int cmp_point(const void *a, const void *b)
{
    double x = ((const gs_capacity_point *)a)->x, y = ((const gs_capacity_point *)b)->x;
    return (x > y) - (x < y);
}

static void conclude(search *s)
{
    gs_capacity_result *r = s->r;
    const gs_capacity_point *m, *f;
    bracket(s, &m, &f);
    r->capacity = r->lo = r->hi = NAN;
    if (!m) {
        r->status = GS_CAP_NONE_MEET;
    } else if (!f) {
        r->status = GS_CAP_ALL_MEET;
        r->capacity = m->x;
        if (r->larger_harder)
            r->lo = m->x;
        else
            r->hi = m->x;
    } else {
        r->status = GS_CAP_FOUND;
        r->lo = fmin(m->x, f->x);
        r->hi = fmax(m->x, f->x);
        /* The answer: the hardest point in the bracket whose means meet
         * (an uncertain point leaning to the right side), else m. */
        const gs_capacity_point *best = m;
        for (size_t i = 0; i < r->npoints; i++) {
            const gs_capacity_point *p = &r->points[i];
            if (p->verdict == GS_CAP_UNCERTAIN && p->means_meet &&
                pos(s, p->x) > pos(s, best->x) && pos(s, p->x) < pos(s, f->x))
                best = p;
        }
        r->capacity = best->x;
    }
    qsort(r->points, r->npoints, sizeof *r->points, cmp_point);
}

int gs_capacity_search(const gs_capacity_opts *o, gs_capacity_result *out, gs_diag *d)
{
    memset(out, 0, sizeof *out);
    search s = {.o = o, .r = out};
    /* Two at least: the direction may need both first points. */
    s.max_evals = o->max_evals > 2 ? o->max_evals : o->max_evals > 0 ? 2 : 30;
    s.tol = o->rel_tol > 0 ? o->rel_tol : 0.02;
    if (!o->slo || o->slo->n == 0)
        return gs_error(d, GS_EINVAL, "--slo: give at least one term");
    out->points = gs_calloc((size_t)s.max_evals, sizeof *out->points);
    s.sets = gs_calloc(o->nsets + 1, sizeof *s.sets);
    s.metric = gs_calloc(o->slo->n, sizeof *s.metric);
    int rc = GS_OK;
    if (!out->points || !s.sets || !s.metric) {
        rc = gs_error(d, GS_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < o->nsets; i++)
        s.sets[i] = o->sets[i];
    gs_scenario *sc;
    rc = o->text ? gs_scenario_load_string(o->text, o->path, o->sets, o->nsets, &sc, d)
                 : gs_scenario_load(o->path, o->sets, o->nsets, &sc, d);
    if (rc) {
        if (rc == GS_EIO)
            d->code = rc = GS_EINVAL;
        goto out;
    }
    out->confidence = sc->confidence;
    out->scenario = gs_strdup(sc->name);
    s.reps = sc->replications;
    rc = out->scenario ? find_param(sc, o->param, &out->param, &out->start, &out->integer, d)
                       : gs_error(d, GS_ENOMEM, "out of memory");
    if (rc == GS_OK)
        rc = check_slo(&s, sc, d);
    gs_scenario_free(sc);
    if (rc)
        goto out;
    s.max_reps = o->max_reps > 0 ? o->max_reps : 4 * s.reps;
    if (s.max_reps < s.reps)
        s.max_reps = s.reps;
    int named = named_direction(out->param);
    out->larger_harder = named != 0;
    out->direction = named >= 0 ? GS_CAP_DIR_NAME : GS_CAP_DIR_POINTS;
    if ((rc = evaluate(&s, out->start, d)))
        goto out;
    if (named < 0 && (rc = find_direction(&s, d)))
        goto out;
    while (out->direction != GS_CAP_DIR_NONE && (int)out->npoints < s.max_evals) {
        double x;
        if (next_point(&s, &x))
            break;
        if ((rc = evaluate(&s, x, d)))
            goto out;
    }
    conclude(&s);
out:
    gs_free(s.sets);
    gs_free(s.metric);
    return rc;
}

void gs_capacity_result_release(gs_capacity_result *r, const gs_slo *slo)
{
    (void)slo;
    for (size_t i = 0; i < r->npoints; i++)
        gs_free(r->points[i].mean);
    gs_free(r->points);
    gs_free(r->param);
    gs_free(r->scenario);
    memset(r, 0, sizeof *r);
}

/* ---- output ------------------------------------------------------------ */

static void value_text(char *buf, size_t size, const gs_capacity_result *r, double x)
{
    if (isnan(x))
        snprintf(buf, size, "-");
    else if (r->integer)
        snprintf(buf, size, "%ld", (long)x);
    else
        snprintf(buf, size, "%.4g", x);
}

int gs_capacity_print_csv(FILE *f, const gs_capacity_result *r, const gs_slo *slo)
{
    fputs("step,param,value,component,metric,mean,ci_low,ci_high,replications,verdict\n", f);
    for (size_t i = 0; i < r->npoints; i++) {
        const gs_capacity_point *p = &r->points[i];
        for (size_t t = 0; t < slo->n; t++) {
            fprintf(f, "%d,%s,", p->step, r->param);
            gs_summary_csv_number(f, p->x);
            fprintf(f, ",%s,%s,", slo->terms[t].component, slo->terms[t].metric);
            gs_summary_csv_number(f, p->mean[t]);
            fputc(',', f);
            gs_summary_csv_number(f, p->lo[t]);
            fputc(',', f);
            gs_summary_csv_number(f, p->hi[t]);
            fprintf(f, ",%ld,%s\n", p->nreps, gs_capacity_verdict_name(p->verdict));
        }
    }
    return fflush(f) || ferror(f) ? GS_EIO : GS_OK;
}

/* The system's availability at the answer; NaN without one. */
static double answer_availability(const gs_capacity_result *r)
{
    if (r->status == GS_CAP_NONE_MEET)
        return NAN;
    for (size_t i = 0; i < r->npoints; i++)
        if (r->points[i].x == r->capacity)
            return r->points[i].availability;
    return NAN;
}

int gs_capacity_warning(const gs_capacity_result *r, const gs_slo *slo, char *buf,
                        size_t size)
{
    for (size_t t = 0; t < slo->n; t++)
        if (strcmp(slo->terms[t].component, "system") == 0 &&
            gs_report_is_share(slo->terms[t].metric))
            return 0;
    double a = answer_availability(r);
    if (!(a < GS_CAP_LOW_AVAILABILITY))
        return 0;
    char v[48];
    value_text(v, sizeof v, r, r->capacity);
    int k = snprintf(buf, size, "at the answer, %s = %s, the system's availability is only "
                     "%.4g: latencies count answered requests only, so an SLO without an "
                     "availability term can be met by a system that turns requests away; add "
                     "one, e.g. --slo \"", r->param, v, a);
    for (size_t t = 0; t < slo->n && k >= 0 && (size_t)k < size; t++)
        k += snprintf(buf + k, size - (size_t)k, "%s,", slo->terms[t].text);
    if (k >= 0 && (size_t)k < size)
        snprintf(buf + k, size - (size_t)k, "availability>=%g\"", GS_CAP_LOW_AVAILABILITY);
    return 1;
}

static const char *status_name(int status)
{
    return status == GS_CAP_FOUND ? "found" : status == GS_CAP_ALL_MEET ? "all_meet"
                                                                        : "none_meet";
}

int gs_capacity_print_json(FILE *f, const gs_capacity_result *r, const gs_slo *slo)
{
    fputs("{\"scenario\": ", f);
    gs_summary_json_string(f, r->scenario);
    fputs(", \"param\": ", f);
    gs_summary_json_string(f, r->param);
    fprintf(f, ", \"integer\": %s, \"direction\": \"%s\", \"direction_from\": \"%s\", "
            "\"start\": ", r->integer ? "true" : "false",
            r->direction == GS_CAP_DIR_NONE ? "none"
            : r->larger_harder              ? "larger_is_harder"
                                            : "larger_is_easier",
            r->direction == GS_CAP_DIR_NAME ? "name" : r->direction == GS_CAP_DIR_POINTS ? "points"
                                                                                         : "none");
    gs_summary_json_number(f, r->start);
    fputs(", \"confidence\": ", f);
    gs_summary_json_number(f, r->confidence);
    fputs(",\n \"slo\": [", f);
    for (size_t t = 0; t < slo->n; t++) {
        fputs(t ? ", {\"component\": " : "{\"component\": ", f);
        gs_summary_json_string(f, slo->terms[t].component);
        fputs(", \"metric\": ", f);
        gs_summary_json_string(f, slo->terms[t].metric);
        fprintf(f, ", \"op\": \"%s\", \"bound\": ", op_text(slo->terms[t].op));
        gs_summary_json_number(f, slo->terms[t].bound);
        fputc('}', f);
    }
    fprintf(f, "],\n \"status\": \"%s\", \"capacity\": ", status_name(r->status));
    gs_summary_json_number(f, r->capacity);
    fputs(", \"interval\": [", f);
    gs_summary_json_number(f, r->lo);
    fputs(", ", f);
    gs_summary_json_number(f, r->hi);
    fputs("], \"availability_at_capacity\": ", f);
    gs_summary_json_number(f, answer_availability(r));
    fputs(",\n \"points\": [", f);
    for (size_t i = 0; i < r->npoints; i++) {
        const gs_capacity_point *p = &r->points[i];
        fprintf(f, "%s\n  {\"step\": %d, \"value\": ", i ? "," : "", p->step);
        gs_summary_json_number(f, p->x);
        fprintf(f, ", \"replications\": %ld, \"verdict\": \"%s\", \"availability\": ",
                p->nreps, gs_capacity_verdict_name(p->verdict));
        gs_summary_json_number(f, p->availability);
        fputs(", \"metrics\": [", f);
        for (size_t t = 0; t < slo->n; t++) {
            fputs(t ? ", {\"mean\": " : "{\"mean\": ", f);
            gs_summary_json_number(f, p->mean[t]);
            fputs(", \"ci_low\": ", f);
            gs_summary_json_number(f, p->lo[t]);
            fputs(", \"ci_high\": ", f);
            gs_summary_json_number(f, p->hi[t]);
            fputc('}', f);
        }
        fputs("]}", f);
    }
    fputs("]}\n", f);
    return fflush(f) || ferror(f) ? GS_EIO : GS_OK;
}

static int any_uncertain(const gs_capacity_result *r)
{
    for (size_t i = 0; i < r->npoints; i++)
        if (r->points[i].verdict == GS_CAP_UNCERTAIN)
            return 1;
    return 0;
}

int gs_capacity_print_table(FILE *f, const gs_capacity_result *r, const gs_slo *slo)
{
    char v[48], a[48], b[48];
    fprintf(f, "capacity: %s, parameter %s (%s; %.0f%% CIs)\nSLO:", r->scenario, r->param,
            r->direction == GS_CAP_DIR_NONE
                ? "the SLO's metrics hardly changed over the values tried"
            : r->larger_harder ? "larger is harder: the largest value meeting the SLO"
                               : "larger is easier: the smallest value meeting the SLO",
            100 * r->confidence);
    for (size_t t = 0; t < slo->n; t++)
        fprintf(f, "%s %s", t ? "," : "", slo->terms[t].text);
    fprintf(f, "\n\n  %4s  %12s  %5s", "step", "value", "reps");
    for (size_t t = 0; t < slo->n; t++) {
        char head[140];
        if (strcmp(slo->terms[t].component, "system") == 0)
            snprintf(head, sizeof head, "%s", slo->terms[t].metric);
        else
            snprintf(head, sizeof head, "%s/%s", slo->terms[t].component, slo->terms[t].metric);
        fprintf(f, "  %-24s", head);
    }
    fputs("  verdict\n", f);
    for (size_t i = 0; i < r->npoints; i++) {
        const gs_capacity_point *p = &r->points[i];
        value_text(v, sizeof v, r, p->x);
        fprintf(f, "  %4d  %12s  %5ld", p->step, v, p->nreps);
        for (size_t t = 0; t < slo->n; t++) {
            const char *m = slo->terms[t].metric;
            char cell[120];
            gs_summary_format_value(a, sizeof a, m, p->mean[t], p->mean[t]);
            gs_summary_format_value(b, sizeof b, m, (p->hi[t] - p->lo[t]) / 2, p->mean[t]);
            snprintf(cell, sizeof cell, "%s +/- %s", a, b);
            fprintf(f, "  %-24s", cell);
        }
        fprintf(f, "  %s\n", gs_capacity_verdict_name(p->verdict));
    }
    value_text(v, sizeof v, r, r->capacity);
    if (r->status == GS_CAP_FOUND) {
        value_text(a, sizeof a, r, r->lo);
        value_text(b, sizeof b, r, r->hi);
    } else if (r->npoints > 0) {
        /* The range tried (points are sorted by value). */
        value_text(a, sizeof a, r, r->points[0].x);
        value_text(b, sizeof b, r, r->points[r->npoints - 1].x);
    }
    fputc('\n', f);
    if (r->status == GS_CAP_FOUND)
        fprintf(f, "capacity: %s = %s, interval [%s, %s] (%s with confidence at %s, %s with "
                "confidence at %s)\n", r->param, v, a, b,
                r->larger_harder ? "meets" : "fails", a, r->larger_harder ? "fails" : "meets", b);
    else if (r->npoints == 0)
        fprintf(f, "capacity: not found: no value of %s was explored\n", r->param);
    else if (r->status == GS_CAP_ALL_MEET && r->direction == GS_CAP_DIR_NONE)
        fprintf(f, "capacity: the SLO holds at every value of %s tried, from %s to %s, and its "
                "metrics hardly change: the parameter does not limit it\n", r->param, a, b);
    else if (r->status == GS_CAP_ALL_MEET)
        fprintf(f, "capacity: the SLO holds at every value of %s tried, from %s to %s: the "
                "parameter does not limit it there (%s %s %s; the search stopped before a "
                "value failed)\n", r->param, a, b, r->param, r->larger_harder ? ">=" : "<=", v);
    else if (r->direction == GS_CAP_DIR_NONE)
        fprintf(f, "capacity: not found: the SLO %s at every value of %s tried, from %s to %s, "
                "and its metrics hardly change: the parameter cannot make it hold\n",
                any_uncertain(r) ? "is not met with confidence" : "fails", r->param, a, b);
    else
        fprintf(f, "capacity: not found: no value of %s tried, from %s to %s, meets the SLO "
                "with confidence\n", r->param, a, b);
    return fflush(f) || ferror(f) ? GS_EIO : GS_OK;
}

static int csv_body(FILE *f, const void *arg)
{
    const void *const *a = arg;
    return gs_capacity_print_csv(f, a[0], a[1]);
}

static int json_body(FILE *f, const void *arg)
{
    const void *const *a = arg;
    return gs_capacity_print_json(f, a[0], a[1]);
}

static int plot_term(const char *plots, const gs_capacity_result *r, const gs_slo *slo,
                     size_t t, gs_diag *d)
{
    const gs_slo_term *term = &slo->terms[t];
    size_t n = r->npoints;
    double *buf = gs_calloc(4 * n, sizeof *buf);
    if (!buf)
        return gs_error(d, GS_ENOMEM, "out of memory");
    double *x = buf, *mean = buf + n, *lo = buf + 2 * n, *hi = buf + 3 * n;
    for (size_t i = 0; i < n; i++) {
        x[i] = r->points[i].x;
        mean[i] = r->points[i].mean[t];
        lo[i] = r->points[i].lo[t];
        hi[i] = r->points[i].hi[t];
    }
    char name[200], ylabel[200], slo_label[160];
    int k = snprintf(name, sizeof name, "capacity-");
    const char *parts[2] = {strcmp(term->component, "system") ? term->component : NULL,
                            term->metric};
    for (int j = 0; j < 2; j++) {
        if (!parts[j])
            continue;
        for (const char *c = parts[j]; *c && (size_t)k + 2 < sizeof name; c++)
            name[k++] = *c == '.' || *c == '-' ? '_' : *c;
        if (j == 0)
            name[k++] = '_';
    }
    name[k] = '\0';
    for (size_t u = 0; u < t; u++)
        if (strcmp(slo->terms[u].component, term->component) == 0 &&
            strcmp(slo->terms[u].metric, term->metric) == 0)
            snprintf(name + k, sizeof name - (size_t)k, "-%zu", t + 1);
    snprintf(ylabel, sizeof ylabel, "%s%s%s%s", parts[0] ? parts[0] : "", parts[0] ? "/" : "",
             term->metric, gs_summary_is_time_metric(term->metric) ? " (s)" : "");
    snprintf(slo_label, sizeof slo_label, "SLO %s", term->text);
    int logx = n > 1 && x[0] > 0 && x[n - 1] / x[0] >= 16;
    char xlabel[600];
    snprintf(xlabel, sizeof xlabel, "%s%s", r->param,
             last_segment_is(r->param, "rate") ? " (/s)" : "");
    gs_plot_axes ax = {NULL, xlabel, ylabel, logx, 0, r->capacity, term->bound,
                       "capacity found", slo_label};
    gs_plot_curve c = {r->scenario, 0, n, x, mean, lo, hi};
    int rc = gs_plot_curves(plots, name, &ax, &c, 1, d);
    gs_free(buf);
    return rc;
}

int gs_capacity_write(const char *dir, const gs_capacity_result *r, const gs_slo *slo,
                      int plots, gs_diag *d)
{
    const void *arg[2] = {r, slo};
    int rc = gs_report_write_file(dir, "capacity.csv", csv_body, arg, d);
    if (rc == GS_OK)
        rc = gs_report_write_file(dir, "capacity.json", json_body, arg, d);
    if (rc || !plots || r->npoints == 0)
        return rc;
    char path[1024];
    snprintf(path, sizeof path, "%s/plots", dir);
    gs_diag first, one;
    gs_diag_init(&first);
    gs_diag_init(&one);
    for (size_t t = 0; t < slo->n; t++) {
        rc = gs_plot_keep(rc, gs_plot_status(plot_term(path, r, slo, t, &one), &one, &first));
        if (rc && rc != GS_PLOT_ENOGNUPLOT)
            break;
    }
    if (rc)
        gs_error(d, rc, "%s", first.msg[0] ? first.msg : gs_strerror(rc));
    return rc;
}
