/* Scenario loading: YAML tree -> validated, resolved configuration.
 *
 * Every value is read through the typed getters of units.h, which insert
 * documented defaults into the tree (so `gatesim check` prints exactly what
 * a run uses) and report bad values at their FILE:LINE:COL. Components are
 * configured in two passes: all ids are known before any reference is
 * resolved, so a `next` may name a component declared further down; after
 * both passes the reference graph is searched for cycles, because a request
 * in a `next` loop would never be answered. */
#include "scenario.h"

#include <csv.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "node.h"
#include "units.h"

struct gs_build {
    gs_scenario *sc;
};

static const char *const top_keys[] = {
    "name", "description", "simulation", "network", "workload", "components", NULL};
static const char *const sim_keys[] = {
    "duration", "warmup", "replications", "seed", "confidence", "sample_interval",
    "max_in_flight", NULL};
static const char *const net_keys[] = {"latency", "connect_timeout", NULL};
static const char *const wl_keys[] = {
    "name", "class", "arrivals", "deadline", "keys", "prompt_tokens", "output_tokens",
    "entry", NULL};
static const char *const process_names[] = {
    "poisson", "deterministic", "closed", "mmpp", "diurnal", "trace", NULL};
static const char *const open_keys[] = {"process", "rate", NULL};
static const char *const key_keys[] = {"count", "zipf", NULL};
static const char *const closed_keys[] = {"process", "users", "think", NULL};
static const char *const mmpp_keys[] = {"process", "states", NULL};
static const char *const mmpp_state_keys[] = {"rate", "mean_sojourn", NULL};
static const char *const diurnal_keys[] = {"process", "rate", "amplitude", "period", NULL};
static const char *const trace_keys[] = {
    "process", "file", "time_column", "format", "prompt_column", "output_column", "key_column",
    NULL};

/* Upper bounds that keep a scenario from asking for more than a machine
 * has; each is stated in docs/scenarios.md. */
#define MAX_REPLICATIONS GS_SCENARIO_MAX_REPLICATIONS
#define MAX_USERS 10000000L
/* The clock counts nanoseconds: faster arrivals would all fall on one
 * tick. */
#define MAX_RATE 1e9
/* The alias table costs 16 bytes a key, shared by all replications. The
 * bound is on all workloads together: per workload, a few hundred bytes of
 * scenario could ask for gigabytes. */
#define MAX_KEYS 10000000L
/* States of an mmpp are written by hand; more than this is a mistake. */
#define MAX_MMPP_STATES 64
/* A trace costs up to 24 bytes a row, shared by all replications. */
#define MAX_TRACE_ROWS 10000000L
/* Each component costs a few kilobytes per replication (docs/scenarios.md,
 * "Limits"); a hundred thousand is past any architecture drawn by hand. */
#define MAX_COMPONENTS 100000L
/* simulation.max_in_flight: the default keeps one replication of an
 * overloaded scenario under about 2.5 GB (the measured cost of a request
 * in flight is in docs/scenarios.md); the ceiling keeps the count in the
 * request's 32-bit bookkeeping. */
#define DEFAULT_MAX_IN_FLIGHT "10000000"
#define MAX_MAX_IN_FLIGHT 1000000000L

gs_doc *gs_build_doc(gs_build *b) { return b->sc->doc; }

int gs_build_class(gs_build *b, const gs_node *n, uint32_t *index, size_t *nclasses,
                   gs_diag *d)
{
    const gs_scenario *sc = b->sc;
    if (!n || n->kind != GS_NODE_SCALAR || !n->value || !n->value[0])
        return gs_error_at(d, n, "class: expected the name of a request class (a workload's "
                           "'class')");
    for (size_t i = 0; i < sc->nclasses; i++)
        if (strcmp(sc->classes[i], n->value) == 0) {
            *index = (uint32_t)i;
            *nclasses = sc->nclasses;
            return GS_OK;
        }
    const char **names = gs_calloc(sc->nclasses + 1, sizeof *names);
    if (!names)
        return gs_error(d, GS_ENOMEM, "out of memory");
    for (size_t i = 0; i < sc->nclasses; i++)
        names[i] = sc->classes[i];
    const char *hint = gs_suggest(n->value, names);
    gs_free(names);
    if (hint)
        return gs_error_at(d, n, "class: no workload sends class '%s' (did you mean '%s'?)",
                           n->value, hint);
    return gs_error_at(d, n, "class: no workload sends class '%s'; a workload's 'class' "
                       "(default: its name) names it", n->value);
}

/* A sub-mapping of map: absent => an empty one is inserted (so defaults can
 * be filled in), unless required. */
static int sub_map(gs_doc *doc, gs_node *map, const char *key, int required,
                   const char *const *keys, const char *what, gs_node **out, gs_diag *d)
{
    gs_node *n = gs_map_get(map, key);
    if (!n) {
        if (required)
            return gs_error_at(d, map, "missing required key '%s'", key);
        n = gs_node_new_map(doc, map);
        if (!n || !gs_map_set(doc, map, key, n))
            return gs_error(d, GS_ENOMEM, "out of memory");
    }
    if (n->kind != GS_NODE_MAP)
        return gs_error_at(d, n, "%s: expected a mapping, found %s", key,
                           gs_node_kind_name(n->kind));
    if (keys) {
        int rc = gs_map_check_keys(n, keys, what, d);
        if (rc)
            return rc;
    }
    *out = n;
    return GS_OK;
}

static int positive_time(gs_doc *doc, gs_node *map, const char *key, const char *dflt,
                         gs_time *out, gs_diag *d)
{
    double s;
    int rc = gs_cfg_seconds_pos(doc, map, key, dflt, &s, d);
    if (rc)
        return rc;
    *out = gs_time_from_s(s);
    if (*out <= 0)
        return gs_error_at(d, gs_map_get(map, key),
                           "%s: must be at least 1ns, got %s", key, gs_map_get(map, key)->value);
    return GS_OK;
}

static int load_simulation(gs_scenario *sc, gs_node *root, gs_diag *d)
{
    gs_node *m = NULL;
    int rc = sub_map(sc->doc, root, "simulation", 1, sim_keys, "simulation", &m, d);
    if (rc)
        return rc;
    if ((rc = positive_time(sc->doc, m, "duration", NULL, &sc->duration, d)))
        return rc;
    /* `auto` stays in the document, so the resolved scenario reloads as it
     * was written; the run chooses the time (sim/warmup.c). */
    const gs_node *wn = gs_map_get(m, "warmup");
    sc->warmup_auto = wn && wn->kind == GS_NODE_SCALAR && strcmp(wn->value, "auto") == 0;
    double warm = 0;
    if (!sc->warmup_auto && wn && wn->kind == GS_NODE_SCALAR && gs_parse_time(wn->value, &warm))
        return gs_error_at(d, wn, "warmup: expected a time such as 30s, or auto, got '%s'",
                           wn->value);
    if (!sc->warmup_auto && (rc = gs_cfg_seconds(sc->doc, m, "warmup", "0s", &warm, d)))
        return rc;
    sc->warmup = gs_time_from_s(warm);
    if (sc->warmup >= sc->duration)
        return gs_error_at(d, gs_map_get(m, "warmup"),
                           "warmup: must be shorter than duration (%s), got %s",
                           gs_map_get(m, "duration")->value, gs_map_get(m, "warmup")->value);
    if ((rc = gs_cfg_long(sc->doc, m, "replications", "10", &sc->replications, d)))
        return rc;
    if (sc->replications < 1 || sc->replications > MAX_REPLICATIONS)
        return gs_error_at(d, gs_map_get(m, "replications"),
                           "replications: must be between 1 and %ld, got %ld",
                           MAX_REPLICATIONS, sc->replications);
    long seed;
    if ((rc = gs_cfg_long(sc->doc, m, "seed", "1", &seed, d)))
        return rc;
    if (seed < 0)
        return gs_error_at(d, gs_map_get(m, "seed"), "seed: expected an integer from 0 to "
                           "%ld, got %ld", LONG_MAX, seed);
    sc->seed = (uint64_t)seed;
    if ((rc = gs_cfg_double(sc->doc, m, "confidence", "0.95", &sc->confidence, d)))
        return rc;
    if (!(sc->confidence > 0 && sc->confidence < 1))
        return gs_error_at(d, gs_map_get(m, "confidence"),
                           "confidence: must be between 0 and 1 (e.g. 0.95), got %s",
                           gs_map_get(m, "confidence")->value);
    if ((rc = positive_time(sc->doc, m, "sample_interval", "1s", &sc->sample_interval, d)))
        return rc;
    if ((rc = gs_cfg_long(sc->doc, m, "max_in_flight", DEFAULT_MAX_IN_FLIGHT,
                          &sc->max_in_flight, d)))
        return rc;
    if (sc->max_in_flight < 1 || sc->max_in_flight > MAX_MAX_IN_FLIGHT)
        return gs_error_at(d, gs_map_get(m, "max_in_flight"),
                           "max_in_flight: must be between 1 and %ld, got %ld",
                           MAX_MAX_IN_FLIGHT, sc->max_in_flight);
    return GS_OK;
}

static int load_network(gs_scenario *sc, gs_node *root, gs_diag *d)
{
    gs_node *m = NULL;
    int rc = sub_map(sc->doc, root, "network", 0, net_keys, "network", &m, d);
    if (rc)
        return rc;
    gs_node *lat;
    if ((rc = gs_cfg_node(sc->doc, m, "latency", "0s", &lat, d)))
        return rc;
    if ((rc = gs_dist_configure(&sc->latency, sc->doc, lat, GS_DIST_TIME, d)))
        return rc;
    double ct;
    if ((rc = gs_cfg_seconds(sc->doc, m, "connect_timeout", "0s", &ct, d)))
        return rc;
    sc->connect_timeout = gs_time_from_s(ct);
    return GS_OK;
}

/* Index of a component id among the declared ones, or -1. */
static long find_component(const gs_scenario *sc, const char *id)
{
    for (size_t i = 0; i < sc->ncomponents; i++)
        if (strcmp(sc->comps[i].id, id) == 0)
            return (long)i;
    return -1;
}

static int no_such_component(const gs_scenario *sc, const gs_node *ref, const char *what,
                             gs_diag *d)
{
    const char **ids = gs_calloc(sc->ncomponents + 1, sizeof *ids);
    if (!ids)
        return gs_error(d, GS_ENOMEM, "out of memory");
    for (size_t i = 0; i < sc->ncomponents; i++)
        ids[i] = sc->comps[i].id;
    const char *hint = gs_suggest(ref->value, ids);
    gs_free(ids);
    if (hint)
        return gs_error_at(d, ref, "%s: no component named '%s' (did you mean '%s'?)", what,
                           ref->value, hint);
    return gs_error_at(d, ref, "%s: no component named '%s'; declare it under components",
                       what, ref->value);
}

int gs_build_ref(gs_build *b, gs_comp_conf *cc, gs_node *ref, const char *what,
                 uint32_t *index, gs_diag *d)
{
    gs_scenario *sc = b->sc;
    if (!ref || ref->kind != GS_NODE_SCALAR || !ref->value || !ref->value[0])
        return gs_error_at(d, ref ? ref : cc->node,
                           "%s: expected the id of a component%s", what,
                           ref && ref->kind != GS_NODE_SCALAR ? ", found a mapping or sequence" : "");
    /* next: ~ is no id at all, not a component named "~". */
    if (gs_node_is_null(ref))
        return gs_error_at(d, ref, "%s: expected the id of a component, got nothing (a YAML "
                           "null)", what);
    long i = find_component(sc, ref->value);
    if (i < 0)
        return no_such_component(sc, ref, what, d);
    if ((uint32_t)i == cc->index)
        return gs_error_at(d, ref, "%s: component '%s' sends requests to itself; they would "
                           "never be answered", what, cc->id);
    uint32_t *e = gs_realloc(cc->edges, (cc->nedges + 1) * sizeof *e);
    if (!e)
        return gs_error(d, GS_ENOMEM, "out of memory");
    cc->edges = e;
    gs_node **en = gs_realloc(cc->edge_nodes, (cc->nedges + 1) * sizeof *en);
    if (!en)
        return gs_error(d, GS_ENOMEM, "out of memory");
    cc->edge_nodes = en;
    cc->edges[cc->nedges] = (uint32_t)i;
    cc->edge_nodes[cc->nedges] = ref;
    cc->nedges++;
    *index = (uint32_t)i;
    return GS_OK;
}

const gs_component_type *gs_build_type(const gs_build *b, uint32_t index)
{
    return b->sc->comps[index].type;
}

static int class_index(gs_scenario *sc, const char *cls, uint32_t *out, gs_diag *d)
{
    for (size_t i = 0; i < sc->nclasses; i++)
        if (strcmp(sc->classes[i], cls) == 0) {
            *out = (uint32_t)i;
            return GS_OK;
        }
    const char **c = gs_realloc(sc->classes, (sc->nclasses + 1) * sizeof *c);
    if (!c)
        return gs_error(d, GS_ENOMEM, "out of memory");
    sc->classes = c;
    sc->classes[sc->nclasses] = cls;
    *out = (uint32_t)sc->nclasses++;
    return GS_OK;
}

/* Names that go into file paths and metric rows: 1 to GS_NAME_MAX letters,
 * digits, '-', '_' and (where dots_ok) '.', not starting with '.' or '-'.
 * Ids also name random streams, whose other names contain ':', so no id
 * can collide with them. */
static int valid_name(const char *s, int dots_ok)
{
    if (!s[0] || s[0] == '.' || s[0] == '-' || strlen(s) > GS_NAME_MAX)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || (dots_ok && *p == '.')))
            return 0;
    return 1;
}

/* A rate that may be 0 (an mmpp state that sends nothing); gs_cfg_rate()
 * insists on > 0, which is right everywhere else. */
static int rate_or_zero(gs_doc *doc, gs_node *map, const char *key, double *out, gs_diag *d)
{
    const gs_node *n = gs_map_get(map, key);
    double r;
    if (n && n->kind == GS_NODE_SCALAR && n->value && gs_parse_rate(n->value, &r) == 0 &&
        r == 0) {
        *out = 0;
        return GS_OK;
    }
    int rc = gs_cfg_rate(doc, map, key, NULL, out, d);
    if (rc)
        return rc;
    if (*out > MAX_RATE)
        return gs_error_at(d, gs_map_get(map, key), "%s: at most 1e9/s (one arrival per "
                           "nanosecond, the resolution of the clock), got %s", key,
                           gs_map_get(map, key)->value);
    return GS_OK;
}

/* mmpp {states: [{rate, mean_sojourn}, ...]}: the chain leaves state i after
 * an exponential time of mean mean_sojourn_i, always to state i + 1 (mod k),
 * so its stationary law is proportional to the mean sojourns and the
 * long-run rate is sum(rate_i s_i) / sum(s_i). */
static int load_mmpp(gs_scenario *sc, gs_workload *w, gs_node *am, gs_diag *d)
{
    w->process = GS_PROC_MMPP;
    int rc = gs_map_check_keys(am, mmpp_keys, "arrivals", d);
    if (rc)
        return rc;
    gs_node *sn = gs_map_get(am, "states");
    if (!sn)
        return gs_error_at(d, am, "arrivals: missing required key 'states' (e.g. states: "
                           "[{rate: 100/s, mean_sojourn: 10s}, {rate: 10/s, mean_sojourn: 30s}])");
    if (sn->kind != GS_NODE_SEQ)
        return gs_error_at(d, sn, "states: expected a sequence of mappings {rate, "
                           "mean_sojourn}, found %s", gs_node_kind_name(sn->kind));
    if (sn->len < 2 || sn->len > MAX_MMPP_STATES)
        return gs_error_at(d, sn, "states: expected 2 to %d states, found %zu",
                           MAX_MMPP_STATES, sn->len);
    w->state_rate = gs_calloc(sn->len, sizeof *w->state_rate);
    w->state_sojourn = gs_calloc(sn->len, sizeof *w->state_sojourn);
    if (!w->state_rate || !w->state_sojourn)
        return gs_error(d, GS_ENOMEM, "out of memory");
    w->nstates = sn->len;
    double num = 0, den = 0;
    for (size_t i = 0; i < sn->len; i++) {
        gs_node *st = sn->items[i];
        if (st->kind != GS_NODE_MAP)
            return gs_error_at(d, st, "states: each state is a mapping {rate, mean_sojourn}, "
                               "found %s", gs_node_kind_name(st->kind));
        if ((rc = gs_map_check_keys(st, mmpp_state_keys, "an mmpp state", d)) ||
            (rc = rate_or_zero(sc->doc, st, "rate", &w->state_rate[i], d)) ||
            (rc = gs_cfg_seconds(sc->doc, st, "mean_sojourn", NULL, &w->state_sojourn[i], d)))
            return rc;
        if (!(w->state_sojourn[i] >= 1e-9) || !isfinite(w->state_sojourn[i]))
            return gs_error_at(d, gs_map_get(st, "mean_sojourn"), "mean_sojourn: must be "
                               "between 1ns and a finite time, got %s",
                               gs_map_get(st, "mean_sojourn")->value);
        num += w->state_rate[i] * w->state_sojourn[i];
        den += w->state_sojourn[i];
    }
    if (!(num > 0))
        return gs_error_at(d, sn, "states: at least one state must have a rate > 0");
    w->rate = num / den;
    gs_dist_exponential(&w->gap, 1.0 / w->rate);
    return GS_OK;
}

/* diurnal {rate, amplitude, period}: a Poisson process of intensity
 * rate * (1 + amplitude * sin(2 pi t / period)), whose mean is rate. */
static int load_diurnal(gs_scenario *sc, gs_workload *w, gs_node *am, gs_diag *d)
{
    w->process = GS_PROC_DIURNAL;
    int rc;
    if ((rc = gs_map_check_keys(am, diurnal_keys, "arrivals", d)) ||
        (rc = gs_cfg_rate(sc->doc, am, "rate", NULL, &w->rate, d)) ||
        (rc = gs_cfg_double(sc->doc, am, "amplitude", NULL, &w->amplitude, d)))
        return rc;
    if (!(w->amplitude >= 0 && w->amplitude <= 1))
        return gs_error_at(d, gs_map_get(am, "amplitude"), "amplitude: must be between 0 "
                           "and 1 (the rate never goes below 0), got %s",
                           gs_map_get(am, "amplitude")->value);
    /* Thinning draws candidates at the peak rate, which the clock must
     * still resolve. */
    if (w->rate * (1 + w->amplitude) > MAX_RATE)
        return gs_error_at(d, gs_map_get(am, "rate"), "rate: the peak rate * (1 + amplitude) "
                           "must be at most 1e9/s (one arrival per nanosecond, the "
                           "resolution of the clock), got %s",
                           gs_map_get(am, "rate")->value);
    gs_time period;
    if ((rc = positive_time(sc->doc, am, "period", NULL, &period, d)))
        return rc;
    w->period = gs_time_to_s(period);
    if (!isfinite(w->period))
        return gs_error_at(d, gs_map_get(am, "period"), "period: must be finite, got %s",
                           gs_map_get(am, "period")->value);
    gs_dist_exponential(&w->gap, 1.0 / w->rate);
    return GS_OK;
}

/* ---- trace replay ----------------------------------------------------- */

/* The columns a trace maps, in this order. */
enum { TC_TIME, TC_PROMPT, TC_OUTPUT, TC_KEY, TC_COUNT };

static const char *const trace_col_keys[TC_COUNT] = {
    "time_column", "prompt_column", "output_column", "key_column"};

/* What reading one trace file needs. Rows are numbered by the line of the
 * file they end on and columns from 1, as an editor shows them. */
typedef struct trace_reader {
    const char    *path;
    const gs_node *at;            /* the YAML node of `file`, where errors go */
    gs_diag       *d;
    int            rc;
    int            timestamp;     /* format: timestamp (else seconds) */
    long           line;          /* line being fed to the parser */
    size_t         nfield;        /* fields of the current row so far */
    int            have_header;
    const char    *want[TC_COUNT];   /* column names; NULL: not mapped */
    int            must[TC_COUNT];   /* 1: the file must have the column */
    long           col[TC_COUNT];    /* 0-based index in the file, -1: absent */
    size_t         ncols_needed;     /* 1 + the largest col */
    int64_t        raw;              /* this row's time: ns (timestamp) */
    double         raw_s;            /* this row's time: seconds (seconds) */
    int64_t        first_ns, prev_ns;
    double         first_s, prev_s;
    uint64_t       cur[TC_COUNT];    /* this row's counts and key */
    size_t         n, cap;
    gs_time       *t;
    uint32_t      *prompt, *output;
    uint64_t      *key;
} trace_reader;

static int trace_fail(trace_reader *tr, long line, size_t col, const char *fmt, const char *arg)
{
    if (!tr->rc)
        tr->rc = gs_error_at(tr->d, tr->at, "file: %s:%ld:%zu: %s%s", tr->path, line, col, fmt,
                             arg ? arg : "");
    return tr->rc;
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar (H.
 * Hinnant, "chrono-Compatible Low-Level Date Algorithms", days_from_civil:
 * years counted from March, so the leap day ends a year, in 400-year
 * eras of 146097 days). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* n decimal digits at *p into *out; 0 when they are not all digits. */
static int digits(const char **p, int n, int64_t *out)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9')
            return 0;
        v = 10 * v + (**p - '0');
    }
    *out = v;
    return 1;
}

/* "YYYY-MM-DD HH:MM:SS[.fraction]" ('T' for the space and a final 'Z' are
 * accepted; the fraction has up to 9 digits) as ns since 1970-01-01 in the
 * same time zone: only differences are used. 0 on success. */
static int parse_timestamp(const char *s, int64_t *ns)
{
    int64_t y, mo, d, h, mi, se, frac = 0;
    const char *p = s;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d) || (*p != ' ' && *p != 'T') || !(++p, digits(&p, 2, &h)) ||
        *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' || !digits(&p, 2, &se))
        return -1;
    if (*p == '.') {
        p++;
        int nd = 0;
        while (*p >= '0' && *p <= '9' && nd < 9) {
            frac = 10 * frac + (*p++ - '0');
            nd++;
        }
        if (nd == 0 || (*p >= '0' && *p <= '9'))
            return -1;
        for (; nd < 9; nd++)
            frac *= 10;
    }
    if (*p == 'Z')
        p++;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (*p || y < 1900 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || se > 59)
        return -1;
    *ns = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + se;
    *ns = *ns * 1000000000 + frac;
    return 0;
}

/* A whole number in [lo, hi] written in decimal digits. */
static int parse_count(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    if (!*s)
        return -1;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
            return -1;
        v = 10 * v + (uint64_t)(*p - '0');
    }
    if (v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static void trace_header_field(trace_reader *tr, const char *cell)
{
    /* A byte-order mark some tools write before the first name. */
    if (tr->nfield == 0 && strncmp(cell, "\xEF\xBB\xBF", 3) == 0)
        cell += 3;
    for (int k = 0; k < TC_COUNT; k++)
        if (tr->want[k] && tr->col[k] < 0 && strcmp(cell, tr->want[k]) == 0)
            tr->col[k] = (long)tr->nfield;
}

static void trace_header_end(trace_reader *tr)
{
    tr->have_header = 1;
    tr->ncols_needed = 0;
    for (int k = 0; k < TC_COUNT; k++) {
        if (tr->want[k] && tr->col[k] < 0 && tr->must[k]) {
            char what[160];
            snprintf(what, sizeof what, "'%.100s' (%s)", tr->want[k], trace_col_keys[k]);
            trace_fail(tr, tr->line, 1, "the header has no column ", what);
            return;
        }
        if (tr->col[k] >= 0 && (size_t)tr->col[k] + 1 > tr->ncols_needed)
            tr->ncols_needed = (size_t)tr->col[k] + 1;
    }
}

static void trace_data_field(trace_reader *tr, const char *cell)
{
    for (int k = 0; k < TC_COUNT; k++) {
        if (tr->col[k] != (long)tr->nfield)
            continue;
        size_t col = tr->nfield + 1;
        if (!*cell) {
            trace_fail(tr, tr->line, col, "empty cell in column ", tr->want[k]);
            return;
        }
        if (k == TC_TIME && tr->timestamp) {
            if (parse_timestamp(cell, &tr->raw))
                trace_fail(tr, tr->line, col, "expected a timestamp such as "
                           "'2023-11-16 18:15:46.6805900', got ", cell);
        } else if (k == TC_TIME) {
            char *end;
            tr->raw_s = strtod(cell, &end);
            if (*end || !isfinite(tr->raw_s))
                trace_fail(tr, tr->line, col, "expected a time in seconds (a number), got ",
                           cell);
        } else if (k == TC_KEY) {
            if (parse_count(cell, 1, UINT64_MAX, &tr->cur[k]))
                trace_fail(tr, tr->line, col, "expected a key (a whole number >= 1), got ", cell);
        } else if (parse_count(cell, 0, 4000000000u, &tr->cur[k])) {
            trace_fail(tr, tr->line, col, "expected a token count (a whole number between 0 "
                       "and 4000000000), got ", cell);
        }
    }
}

static int trace_grow(trace_reader *tr)
{
    if (tr->n >= (size_t)MAX_TRACE_ROWS) {
        char lim[32];
        snprintf(lim, sizeof lim, "%ld", MAX_TRACE_ROWS);
        return trace_fail(tr, tr->line, 1, "more rows than the limit of ", lim);
    }
    size_t cap = tr->cap ? 2 * tr->cap : 1024;
    if (cap > (size_t)MAX_TRACE_ROWS)
        cap = (size_t)MAX_TRACE_ROWS;
    gs_time *t = gs_realloc(tr->t, cap * sizeof *t);
    if (t)
        tr->t = t;
    uint32_t *pr = tr->col[TC_PROMPT] >= 0 ? gs_realloc(tr->prompt, cap * sizeof *pr) : NULL;
    if (pr)
        tr->prompt = pr;
    uint32_t *ou = tr->col[TC_OUTPUT] >= 0 ? gs_realloc(tr->output, cap * sizeof *ou) : NULL;
    if (ou)
        tr->output = ou;
    uint64_t *ke = tr->col[TC_KEY] >= 0 ? gs_realloc(tr->key, cap * sizeof *ke) : NULL;
    if (ke)
        tr->key = ke;
    if (!t || (tr->col[TC_PROMPT] >= 0 && !pr) || (tr->col[TC_OUTPUT] >= 0 && !ou) ||
        (tr->col[TC_KEY] >= 0 && !ke))
        return tr->rc = gs_error(tr->d, GS_ENOMEM, "out of memory");
    tr->cap = cap;
    return GS_OK;
}

static void trace_data_end(trace_reader *tr)
{
    if (tr->nfield < tr->ncols_needed) {
        for (int k = 0; k < TC_COUNT; k++)
            if (tr->col[k] >= (long)tr->nfield) {
                trace_fail(tr, tr->line, (size_t)tr->col[k] + 1, "the row ends before column ",
                           tr->want[k]);
                return;
            }
    }
    if (tr->n == tr->cap && trace_grow(tr))
        return;
    gs_time t;
    if (tr->timestamp) {
        if (tr->n == 0)
            tr->first_ns = tr->prev_ns = tr->raw;
        if (tr->raw < tr->prev_ns) {
            trace_fail(tr, tr->line, (size_t)tr->col[TC_TIME] + 1, "times must not decrease: "
                       "this row is earlier than the row before; sort the file by column ",
                       tr->want[TC_TIME]);
            return;
        }
        tr->prev_ns = tr->raw;
        t = tr->raw - tr->first_ns;
    } else {
        if (tr->n == 0)
            tr->first_s = tr->prev_s = tr->raw_s;
        if (tr->raw_s < tr->prev_s) {
            trace_fail(tr, tr->line, (size_t)tr->col[TC_TIME] + 1, "times must not decrease: "
                       "this row is earlier than the row before; sort the file by column ",
                       tr->want[TC_TIME]);
            return;
        }
        tr->prev_s = tr->raw_s;
        t = gs_time_from_s(tr->raw_s - tr->first_s);
    }
    tr->t[tr->n] = t;
    if (tr->prompt)
        tr->prompt[tr->n] = (uint32_t)tr->cur[TC_PROMPT];
    if (tr->output)
        tr->output[tr->n] = (uint32_t)tr->cur[TC_OUTPUT];
    if (tr->key)
        tr->key[tr->n] = tr->cur[TC_KEY];
    tr->n++;
}

static void trace_on_field(void *s, size_t len, void *data)
{
    trace_reader *tr = data;
    if (tr->rc)
        return;
    char cell[80];
    /* No value a trace maps is this long; cut it for the message. */
    size_t n = len < sizeof cell - 1 ? len : sizeof cell - 1;
    memcpy(cell, s, n);
    cell[n] = '\0';
    char *c = cell;
    while (*c == ' ' || *c == '\t')
        c++;
    for (size_t e = strlen(c); e && (c[e - 1] == ' ' || c[e - 1] == '\t' || c[e - 1] == '\r');)
        c[--e] = '\0';
    if (tr->have_header)
        trace_data_field(tr, c);
    else
        trace_header_field(tr, c);
    tr->nfield++;
}

static void trace_on_row(int c, void *data)
{
    (void)c;
    trace_reader *tr = data;
    if (!tr->rc) {
        if (tr->have_header)
            trace_data_end(tr);
        else
            trace_header_end(tr);
    }
    tr->nfield = 0;
}

/* Feed the file a line at a time, so that tr->line is the line each row
 * ends on. */
static int trace_parse(trace_reader *tr, FILE *f, struct csv_parser *cp)
{
    char buf[65536];
    size_t n;
    int ended = 0;
    long long total = 0;
    tr->line = 1;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0 && !tr->rc) {
        size_t off = 0;
        total += (long long)n;
        if (total > GS_DATA_MAX_BYTES)
            return gs_error_at(tr->d, tr->at, "file: '%s' is larger than %lld bytes, the limit "
                               "for one data file", tr->path, GS_DATA_MAX_BYTES);
        while (off < n && !tr->rc) {
            const char *nl = memchr(buf + off, '\n', n - off);
            size_t len = nl ? (size_t)(nl - (buf + off)) + 1 : n - off;
            if (csv_parse(cp, buf + off, len, trace_on_field, trace_on_row, tr) != len) {
                if (csv_error(cp) == CSV_ENOMEM || csv_error(cp) == CSV_ETOOBIG)
                    return tr->rc ? tr->rc : gs_error(tr->d, GS_ENOMEM, "out of memory");
                return trace_fail(tr, tr->line, tr->nfield + 1, "malformed CSV: ",
                                  csv_strerror(csv_error(cp)));
            }
            off += len;
            ended = nl != NULL;
            if (nl)
                tr->line++;
        }
    }
    if (tr->rc)
        return tr->rc;
    if (ferror(f))
        return gs_error_at(tr->d, tr->at, "file: cannot read '%s'", tr->path);
    if (ended)
        tr->line--;
    if (csv_fini(cp, trace_on_field, trace_on_row, tr) != 0 && !tr->rc)
        return trace_fail(tr, tr->line, tr->nfield + 1, "malformed CSV: ",
                          csv_strerror(csv_error(cp)));
    if (tr->rc)
        return tr->rc;
    if (!tr->have_header || tr->n == 0)
        return trace_fail(tr, tr->line, 1, "no rows; expected a header and at least one "
                          "row", NULL);
    return GS_OK;
}

/* trace {file, time_column, format, prompt_column, output_column,
 * key_column}: the whole file is read here, once, and its rows are shared
 * read-only by every replication. The defaults read the Azure LLM inference
 * traces (TIMESTAMP, ContextTokens, GeneratedTokens); a token column that
 * was not named explicitly may be absent from the file. */
static int load_trace(gs_scenario *sc, gs_workload *w, gs_node *am, gs_diag *d)
{
    w->process = GS_PROC_TRACE;
    gs_dist_constant(&w->gap, 0);
    int rc = gs_map_check_keys(am, trace_keys, "arrivals", d);
    if (rc)
        return rc;
    trace_reader tr;
    memset(&tr, 0, sizeof tr);
    tr.d = d;
    static const char *const dflt[TC_COUNT] = {"TIMESTAMP", "ContextTokens", "GeneratedTokens",
                                               "none"};
    for (int k = 0; k < TC_COUNT; k++) {
        tr.must[k] = k == TC_TIME || gs_map_get(am, trace_col_keys[k]) != NULL;
        if ((rc = gs_cfg_str(sc->doc, am, trace_col_keys[k], dflt[k], &tr.want[k], d)))
            return rc;
        if (!tr.want[k][0] || (k != TC_TIME && strcmp(tr.want[k], "none") == 0))
            tr.want[k] = NULL;
        tr.col[k] = -1;
    }
    if (!tr.want[TC_TIME])
        return gs_error_at(d, gs_map_get(am, "time_column"), "time_column: expected the name "
                           "of a column of the file");
    const char *format, *file;
    if ((rc = gs_cfg_str(sc->doc, am, "format", "timestamp", &format, d)) ||
        (rc = gs_cfg_str(sc->doc, am, "file", NULL, &file, d)))
        return rc;
    if (strcmp(format, "timestamp") != 0 && strcmp(format, "seconds") != 0)
        return gs_error_at(d, gs_map_get(am, "format"), "format: expected timestamp ('2023-11-16 "
                           "18:15:46.68') or seconds (a number), got '%s'", format);
    tr.timestamp = format[0] == 't';
    tr.at = gs_map_get(am, "file");
    char path[4096];
    if (!file[0] || gs__data_path(sc->doc, file, path, sizeof path))
        return gs_error_at(d, tr.at, "file: expected the path of a CSV file (at most %zu "
                           "characters)", sizeof path - 1);
    tr.path = path;
    if ((rc = gs__data_check(path, tr.at, "file", d)))
        return rc;
    FILE *f = fopen(path, "rb");
    if (!f)
        return gs_error_at(d, tr.at, "file: cannot open '%s' (relative paths are read from the "
                           "scenario file's directory)", path);
    struct csv_parser cp;
    if (csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        fclose(f);
        return gs_error(d, GS_ENOMEM, "out of memory");
    }
    csv_set_realloc_func(&cp, gs_realloc);
    csv_set_free_func(&cp, gs_free);
    rc = trace_parse(&tr, f, &cp);
    csv_free(&cp);
    fclose(f);
    if (rc) {
        gs_free(tr.t);
        gs_free(tr.prompt);
        gs_free(tr.output);
        gs_free(tr.key);
        return rc;
    }
    w->ntrace = tr.n;
    w->trace_time = tr.t;
    w->trace_prompt = tr.prompt;
    w->trace_output = tr.output;
    w->trace_key = tr.key;
    double span = gs_time_to_s(tr.t[tr.n - 1]);
    w->rate = span > 0 ? (double)(tr.n - 1) / span : 0;
    if (gs__data_record(sc->doc, am, "file", path))
        return gs_error(d, GS_ENOMEM, "out of memory");
    return GS_OK;
}

static int load_arrivals(gs_scenario *sc, gs_workload *w, gs_node *wm, gs_diag *d)
{
    gs_node *am = gs_map_get(wm, "arrivals");
    if (!am)
        return gs_error_at(d, wm, "workload '%s': missing required key 'arrivals' "
                           "(e.g. arrivals: {process: poisson, rate: 100/s})", w->name);
    if (am->kind != GS_NODE_MAP)
        return gs_error_at(d, am, "arrivals: expected a mapping such as {process: poisson, "
                           "rate: 100/s}, found %s", gs_node_kind_name(am->kind));
    const char *proc;
    int rc = gs_cfg_str(sc->doc, am, "process", NULL, &proc, d);
    if (rc)
        return rc;
    gs_node *pn = gs_map_get(am, "process");
    if (strcmp(proc, "poisson") == 0 || strcmp(proc, "deterministic") == 0) {
        w->process = proc[0] == 'p' ? GS_PROC_POISSON : GS_PROC_DETERMINISTIC;
        if ((rc = gs_map_check_keys(am, open_keys, "arrivals", d)))
            return rc;
        if ((rc = gs_cfg_rate(sc->doc, am, "rate", NULL, &w->rate, d)))
            return rc;
        if (w->rate > MAX_RATE)
            return gs_error_at(d, gs_map_get(am, "rate"), "rate: at most 1e9/s (one arrival "
                               "per nanosecond, the resolution of the clock), got %s",
                               gs_map_get(am, "rate")->value);
        gs_dist_exponential(&w->gap, 1.0 / w->rate);
        return GS_OK;
    }
    if (strcmp(proc, "closed") == 0) {
        w->process = GS_PROC_CLOSED;
        if ((rc = gs_map_check_keys(am, closed_keys, "arrivals", d)))
            return rc;
        if ((rc = gs_cfg_long(sc->doc, am, "users", NULL, &w->users, d)))
            return rc;
        if (w->users < 1 || w->users > MAX_USERS)
            return gs_error_at(d, gs_map_get(am, "users"),
                               "users: must be between 1 and %ld, got %ld", MAX_USERS, w->users);
        gs_node *th;
        if ((rc = gs_cfg_node(sc->doc, am, "think", "0s", &th, d)))
            return rc;
        return gs_dist_configure(&w->think, sc->doc, th, GS_DIST_TIME, d);
    }
    if (strcmp(proc, "mmpp") == 0)
        return load_mmpp(sc, w, am, d);
    if (strcmp(proc, "diurnal") == 0)
        return load_diurnal(sc, w, am, d);
    if (strcmp(proc, "trace") == 0)
        return load_trace(sc, w, am, d);
    const char *hint = gs_suggest(proc, process_names);
    if (hint)
        return gs_error_at(d, pn, "process: unknown arrival process '%s' (did you mean '%s'?); "
                           "expected poisson, deterministic, mmpp, diurnal, trace or closed",
                           proc, hint);
    return gs_error_at(d, pn, "process: unknown arrival process '%s'; expected poisson, "
                       "deterministic, mmpp, diurnal, trace or closed", proc);
}

/* keys {count, zipf}: request keys 1..count, key k drawn with probability
 * proportional to k^-zipf (zipf 0: uniform), by GSL's Walker alias method
 * (O(1) per draw after O(count) set-up). */
static int load_keys(gs_scenario *sc, gs_workload *w, gs_node *wm, gs_diag *d)
{
    gs_node *km = gs_map_get(wm, "keys");
    if (!km)
        return GS_OK;
    int rc;
    if ((rc = gs_map_check_keys(km, key_keys, "keys", d)) ||
        (rc = gs_cfg_long(sc->doc, km, "count", NULL, &w->key_count, d)) ||
        (rc = gs_cfg_double(sc->doc, km, "zipf", "0", &w->zipf, d)))
        return rc;
    if (w->key_count < 1 || w->key_count > MAX_KEYS)
        return gs_error_at(d, gs_map_get(km, "count"), "count: must be between 1 and %ld, "
                           "got %ld", MAX_KEYS, w->key_count);
    if (!(w->zipf >= 0 && w->zipf <= 10))
        return gs_error_at(d, gs_map_get(km, "zipf"), "zipf: must be between 0 (uniform) and "
                           "10, got %s", gs_map_get(km, "zipf")->value);
    long before = 0;
    for (const gs_workload *o = sc->workloads; o < w; o++)
        before += o->key_count;
    if (w->key_count > MAX_KEYS - before)
        return gs_error_at(d, gs_map_get(km, "count"), "count: the workloads together may have "
                           "at most %ld keys (16 bytes each), and the ones before this have "
                           "%ld; got %ld", MAX_KEYS, before, w->key_count);
    double *p = gs_malloc((size_t)w->key_count * sizeof *p);
    if (!p)
        return gs_error(d, GS_ENOMEM, "out of memory");
    for (long k = 0; k < w->key_count; k++)
        p[k] = pow((double)(k + 1), -w->zipf);
    w->keys = gsl_ran_discrete_preproc((size_t)w->key_count, p);
    gs_free(p);
    if (!w->keys)
        return gs_error(d, GS_ENOMEM, "out of memory");
    return GS_OK;
}

static int load_tokens(gs_scenario *sc, gs_node *wm, const char *key, int *has, gs_dist *dist,
                       gs_diag *d)
{
    gs_node *n = gs_map_get(wm, key);
    if (!n)
        return GS_OK;
    int rc = gs_dist_configure(dist, sc->doc, n, GS_DIST_COUNT, d);
    if (rc)
        return rc;
    /* Each output token is one decode iteration, so a count beyond any
     * model's context would run without end. A bounded support is checked
     * at its largest value, an unbounded one at its mean; a heavy tail's
     * rare larger draws keep the cap of sim/source.c (docs/scenarios.md). */
    double hi = gs_dist_max(dist), mean = gs_dist_mean(dist);
    if (isfinite(hi) ? hi > GS_TOKENS_MAX : !(mean <= GS_TOKENS_MAX)) {
        if (n->kind == GS_NODE_SCALAR)
            rc = gs_error_at(d, n, "%s: at most %.0f tokens per request, got %s", key,
                             GS_TOKENS_MAX, n->value);
        else
            rc = gs_error_at(d, n, "%s: at most %.0f tokens per request, got a %s of %.6g",
                             key, GS_TOKENS_MAX, isfinite(hi) ? "largest value" : "mean",
                             isfinite(hi) ? hi : mean);
        gs_dist_release(dist);
        gs_dist_constant(dist, 0);
        return rc;
    }
    *has = 1;
    return GS_OK;
}

static int load_workloads(gs_scenario *sc, gs_node *root, gs_diag *d)
{
    gs_node *wl = gs_map_get(root, "workload");
    if (!wl)
        return gs_error_at(d, root, "missing required key 'workload' (a list of client "
                           "populations, e.g. - {name: chat, arrivals: {process: poisson, "
                           "rate: 100/s}, entry: gw})");
    if (wl->kind != GS_NODE_SEQ)
        return gs_error_at(d, wl, "workload: expected a sequence of client populations "
                           "(items starting with '- '), found %s", gs_node_kind_name(wl->kind));
    if (wl->len == 0)
        return gs_error_at(d, wl, "workload: the list is empty; add at least one client "
                           "population");
    sc->workloads = gs_calloc(wl->len, sizeof *sc->workloads);
    if (!sc->workloads)
        return gs_error(d, GS_ENOMEM, "out of memory");
    for (size_t i = 0; i < wl->len; i++) {
        gs_workload *w = &sc->workloads[i];
        gs_node *wm = wl->items[i];
        sc->nworkloads = i + 1;
        int rc = gs_map_check_keys(wm, wl_keys, "a workload item", d);
        if (rc)
            return rc;
        char dflt[32];
        snprintf(dflt, sizeof dflt, "workload%zu", i + 1);
        if ((rc = gs_cfg_str(sc->doc, wm, "name", dflt, &w->name, d)))
            return rc;
        /* --set addresses a workload as workload.NAME.key, and its random
         * stream is named after it. */
        if (!valid_name(w->name, 0))
            return gs_error_at(d, gs_map_get(wm, "name"), "name: workload name '%.*s%s' is not "
                               "allowed; use at most %d letters, digits, '-' or '_' (--set "
                               "addresses it as workload.NAME.KEY)", 200, w->name,
                               strlen(w->name) > 200 ? "..." : "", GS_NAME_MAX);
        for (size_t j = 0; j < i; j++)
            if (strcmp(sc->workloads[j].name, w->name) == 0)
                return gs_error_at(d, gs_map_get(wm, "name"),
                                   "name: workload '%s' is declared twice; names must be "
                                   "unique", w->name);
        const char *cls;
        if ((rc = gs_cfg_str(sc->doc, wm, "class", w->name, &cls, d)))
            return rc;
        if ((rc = class_index(sc, cls, &w->cls, d)))
            return rc;
        if ((rc = load_arrivals(sc, w, wm, d)))
            return rc;
        gs_node *dl;
        if ((rc = gs_cfg_node(sc->doc, wm, "deadline", "none", &dl, d)))
            return rc;
        w->deadline = GS_TIME_MAX;
        if (!(dl->kind == GS_NODE_SCALAR && dl->value && strcmp(dl->value, "none") == 0)) {
            double s;
            if ((rc = gs_node_seconds(dl, "deadline", &s, d)))
                return rc;
            w->deadline = gs_time_from_s(s);
            if (w->deadline <= 0)
                return gs_error_at(d, dl, "deadline: must be at least 1ns (or 'none'), got %s",
                                   dl->value);
        }
        if ((rc = load_keys(sc, w, wm, d)))
            return rc;
        if ((rc = load_tokens(sc, wm, "prompt_tokens", &w->has_prompt, &w->prompt_tokens, d)))
            return rc;
        if ((rc = load_tokens(sc, wm, "output_tokens", &w->has_output, &w->output_tokens, d)))
            return rc;
        gs_node *en = gs_map_get(wm, "entry");
        if (!en)
            return gs_error_at(d, wm, "workload '%s': missing required key 'entry' (the "
                               "component its requests go to first)", w->name);
        if (en->kind != GS_NODE_SCALAR || !en->value)
            return gs_error_at(d, en, "entry: expected the id of a component");
        if (gs_node_is_null(en))
            return gs_error_at(d, en, "entry: expected the id of a component, got nothing (a "
                               "YAML null)");
        long ci = find_component(sc, en->value);
        if (ci < 0)
            return no_such_component(sc, en, "entry", d);
        w->entry = (uint32_t)ci;
    }
    return GS_OK;
}

/* "gateway, service, ..." from the registry, for messages. */
static const char *type_list(void)
{
    static _Thread_local char buf[256];
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; gs_component_names[i] && off < sizeof buf; i++)
        off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%s", i ? ", " : "",
                                gs_component_names[i]);
    return buf;
}

static int declare_components(gs_scenario *sc, gs_node *root, gs_diag *d)
{
    gs_node *cm = gs_map_get(root, "components");
    if (!cm)
        return gs_error_at(d, root, "missing required key 'components' (a mapping of "
                           "component id to its settings)");
    if (cm->kind != GS_NODE_MAP)
        return gs_error_at(d, cm, "components: expected a mapping of component id to its "
                           "settings, found %s", gs_node_kind_name(cm->kind));
    if (cm->len == 0)
        return gs_error_at(d, cm, "components: no components declared");
    if (cm->len > MAX_COMPONENTS)
        return gs_error_at(d, cm, "components: %zu declared, more than the limit of %ld",
                           cm->len, MAX_COMPONENTS);
    size_t nw = 0;
    gs_node *wl = gs_map_get(root, "workload");
    if (wl && wl->kind == GS_NODE_SEQ)
        nw = wl->len;
    sc->comps = gs_calloc(cm->len + nw, sizeof *sc->comps);
    if (!sc->comps)
        return gs_error(d, GS_ENOMEM, "out of memory");
    for (size_t i = 0; i < cm->len; i++) {
        gs_comp_conf *cc = &sc->comps[i];
        gs_node *key = cm->keys[i], *n = cm->items[i];
        sc->ncomponents = i + 1;
        cc->index = (uint32_t)i;
        cc->node = n;
        cc->id = gs_strdup(key->value ? key->value : "");
        if (!cc->id)
            return gs_error(d, GS_ENOMEM, "out of memory");
        if (!valid_name(cc->id, 0) || strcmp(cc->id, "system") == 0)
            return gs_error_at(d, key, "component id '%.*s%s' is not allowed; use at most %d "
                               "letters, digits, '-' or '_' (not 'system', which names the "
                               "whole system)", 200, cc->id, strlen(cc->id) > 200 ? "..." : "",
                               GS_NAME_MAX);
        if (n->kind != GS_NODE_MAP)
            return gs_error_at(d, n, "component '%s': expected a mapping with a 'type' key, "
                               "found %s", cc->id, gs_node_kind_name(n->kind));
        gs_node *tn = gs_map_get(n, "type");
        if (!tn)
            return gs_error_at(d, n, "component '%s': missing required key 'type' (one of: "
                               "%s)", cc->id, type_list());
        if (tn->kind != GS_NODE_SCALAR || !tn->value)
            return gs_error_at(d, tn, "type: expected a component type name");
        cc->type = gs_component_lookup(tn->value);
        if (!cc->type) {
            const char *hint = gs_suggest(tn->value, gs_component_names);
            if (hint)
                return gs_error_at(d, tn, "type: unknown component type '%s' (did you mean "
                                   "'%s'?)", tn->value, hint);
            return gs_error_at(d, tn, "type: unknown component type '%s'; expected one of: %s",
                               tn->value, type_list());
        }
    }
    return GS_OK;
}

static int configure_components(gs_scenario *sc, gs_diag *d)
{
    gs_build b = {sc};
    for (size_t i = 0; i < sc->ncomponents; i++) {
        gs_comp_conf *cc = &sc->comps[i];
        char what[160];
        snprintf(what, sizeof what, "component '%s' (type %s)", cc->id, cc->type->name);
        int rc = gs_map_check_keys(cc->node, cc->type->keys, what, d);
        if (rc)
            return rc;
        cc->conf = gs_calloc(1, cc->type->conf_size);
        if (!cc->conf)
            return gs_error(d, GS_ENOMEM, "out of memory");
        if ((rc = cc->type->configure(cc, &b, d)))
            return rc;
    }
    return GS_OK;
}

/* Iterative depth-first search for a cycle in the reference graph (a long
 * chain must not exhaust the stack). colour: 0 unseen, 1 on the current
 * path, 2 finished; path[] holds the current path and next[] the index of
 * the next edge to follow from each of its components. */
static int loop_message(const gs_scenario *sc, const uint32_t *path, size_t depth, uint32_t v,
                        const gs_node *edge, gs_diag *d)
{
    char chain[512];
    size_t off = 0, start = 0;
    while (path[start] != v)
        start++;
    for (size_t j = start; j <= depth && off < sizeof chain; j++)
        off += (size_t)snprintf(chain + off, sizeof chain - off, "%s -> ", sc->comps[path[j]].id);
    if (off < sizeof chain)
        snprintf(chain + off, sizeof chain - off, "%s", sc->comps[v].id);
    return gs_error_at(d, edge, "'%s' closes a loop %s: a request would go round it forever; "
                       "end the chain at a component with no 'next'", sc->comps[v].id, chain);
}

static int check_loops(const gs_scenario *sc, gs_diag *d)
{
    size_t n = sc->ncomponents;
    unsigned char *colour = gs_calloc(n, 1);
    uint32_t *path = gs_calloc(n, sizeof *path);
    size_t *next = gs_calloc(n, sizeof *next);
    int rc = GS_OK;
    if (!colour || !path || !next)
        rc = gs_error(d, GS_ENOMEM, "out of memory");
    for (uint32_t root = 0; rc == GS_OK && root < n; root++) {
        if (colour[root])
            continue;
        size_t depth = 0;
        path[0] = root;
        next[0] = 0;
        colour[root] = 1;
        for (;;) {
            uint32_t u = path[depth];
            const gs_comp_conf *cc = &sc->comps[u];
            if (next[depth] == cc->nedges) {
                colour[u] = 2;
                if (depth == 0)
                    break;
                depth--;
                continue;
            }
            size_t k = next[depth]++;
            uint32_t v = cc->edges[k];
            if (colour[v] == 1) {
                rc = loop_message(sc, path, depth, v, cc->edge_nodes[k], d);
                break;
            }
            if (colour[v] == 0) {
                colour[v] = 1;
                path[++depth] = v;
                next[depth] = 0;
            }
        }
    }
    gs_free(colour);
    gs_free(path);
    gs_free(next);
    return rc;
}

static int add_sources(gs_scenario *sc, gs_diag *d)
{
    for (size_t i = 0; i < sc->nworkloads; i++) {
        gs_comp_conf *cc = &sc->comps[sc->ncomponents + i];
        size_t len = strlen(sc->workloads[i].name) + 10;
        cc->id = gs_malloc(len);
        if (!cc->id)
            return gs_error(d, GS_ENOMEM, "out of memory");
        /* A separate name space: a workload may share its name with a
         * component without sharing its random stream. */
        snprintf(cc->id, len, "workload:%s", sc->workloads[i].name);
        cc->index = (uint32_t)(sc->ncomponents + i);
        cc->type = &gs_source_type;
        cc->conf = &sc->workloads[i];
        sc->nall = sc->ncomponents + i + 1;
    }
    return GS_OK;
}

static int configure(gs_scenario *sc, const char *const *sets, size_t nsets,
                     const gs_override *ov, size_t nov, gs_diag *d)
{
    for (size_t i = 0; i < nsets; i++) {
        int rc = gs_doc_apply_set(sc->doc, sets[i], d);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < nov; i++) {
        int rc = gs_doc_apply_node(sc->doc, ov[i].path, ov[i].value, ov[i].where, d);
        if (rc)
            return rc;
    }
    gs_node *root = gs_doc_root(sc->doc);
    int rc = gs_map_check_keys(root, top_keys, "the scenario", d);
    if (rc)
        return rc;
    const char *stem = sc->path;
    const char *slash = strrchr(stem, '/');
    if (slash)
        stem = slash + 1;
    /* The default name is the file's stem with anything a name may not hold
     * turned into '_'. */
    /* The default name is at most GS_NAME_MAX characters of the stem. */
    char dflt[GS_NAME_MAX + 1];
    snprintf(dflt, sizeof dflt, "%.*s", (int)strcspn(stem, "."), stem);
    for (char *p = dflt; *p; p++)
        if (!valid_name((char[]){*p, '\0'}, 0))
            *p = '_';
    if ((rc = gs_cfg_str(sc->doc, root, "name", dflt[0] ? dflt : "scenario", &sc->name, d)))
        return rc;
    if (!valid_name(sc->name, 1))
        return gs_error_at(d, gs_map_get(root, "name"), "name: use at most %d letters, digits, "
                           "'-', '_' or '.', not starting with '.' or '-' (it names the output "
                           "directory), got '%.*s%s'", GS_NAME_MAX, 200, sc->name,
                           strlen(sc->name) > 200 ? "..." : "");
    if ((rc = gs_cfg_str(sc->doc, root, "description", "", &sc->description, d)))
        return rc;
    if ((rc = load_simulation(sc, root, d)) || (rc = load_network(sc, root, d)) ||
        (rc = declare_components(sc, root, d)) || (rc = load_workloads(sc, root, d)) ||
        (rc = configure_components(sc, d)) || (rc = check_loops(sc, d)) ||
        (rc = add_sources(sc, d)))
        return rc;
    return GS_OK;
}

static int finish_load(gs_scenario *sc, const char *const *sets, size_t nsets,
                       const gs_override *ov, size_t nov, gs_scenario **out, gs_diag *d)
{
    sc->path = gs_doc_src(sc->doc);
    int rc = configure(sc, sets, nsets, ov, nov, d);
    if (rc) {
        gs_scenario_free(sc);
        return rc;
    }
    *out = sc;
    return GS_OK;
}

int gs_scenario_load(const char *path, const char *const *sets, size_t nsets,
                     gs_scenario **out, gs_diag *d)
{
    gs_scenario *sc = gs_calloc(1, sizeof *sc);
    if (!sc)
        return gs_error(d, GS_ENOMEM, "out of memory");
    int rc = gs_doc_load_file(path, &sc->doc, d);
    if (rc) {
        gs_free(sc);
        return rc;
    }
    return finish_load(sc, sets, nsets, NULL, 0, out, d);
}

int gs_scenario_load_string(const char *text, const char *src, const char *const *sets,
                            size_t nsets, gs_scenario **out, gs_diag *d)
{
    return gs_scenario_load_grid(text, src, sets, nsets, NULL, 0, out, d);
}

int gs_scenario_load_grid(const char *text, const char *src, const char *const *sets,
                          size_t nsets, const gs_override *ov, size_t nov, gs_scenario **out,
                          gs_diag *d)
{
    gs_scenario *sc = gs_calloc(1, sizeof *sc);
    if (!sc)
        return gs_error(d, GS_ENOMEM, "out of memory");
    int rc = gs_doc_load_string(text, strlen(text), src, &sc->doc, d);
    if (rc) {
        gs_free(sc);
        return rc;
    }
    return finish_load(sc, sets, nsets, ov, nov, out, d);
}

const gs_node *gs_scenario_setting(const gs_scenario *sc, const char *key)
{
    const gs_node *sim = gs_map_get(gs_doc_root(sc->doc), "simulation");
    return sim ? gs_map_get(sim, key) : NULL;
}

void gs_scenario_free(gs_scenario *sc)
{
    if (!sc)
        return;
    if (sc->comps) {
        for (size_t i = 0; i < sc->ncomponents; i++) {
            gs_comp_conf *cc = &sc->comps[i];
            if (cc->conf && cc->type && cc->type->conf_release)
                cc->type->conf_release(cc);
            gs_free(cc->conf);
            gs_free(cc->edges);
            gs_free(cc->edge_nodes);
            gs_free(cc->id);
        }
        for (size_t i = sc->ncomponents; i < sc->nall; i++)
            gs_free(sc->comps[i].id);
        gs_free(sc->comps);
    }
    for (size_t i = 0; i < sc->nworkloads; i++) {
        gs_dist_release(&sc->workloads[i].think);
        gs_dist_release(&sc->workloads[i].prompt_tokens);
        gs_dist_release(&sc->workloads[i].output_tokens);
        if (sc->workloads[i].keys)
            gsl_ran_discrete_free(sc->workloads[i].keys);
        gs_free(sc->workloads[i].state_rate);
        gs_free(sc->workloads[i].state_sojourn);
        gs_free(sc->workloads[i].trace_time);
        gs_free(sc->workloads[i].trace_prompt);
        gs_free(sc->workloads[i].trace_output);
        gs_free(sc->workloads[i].trace_key);
    }
    gs_free(sc->workloads);
    gs_free(sc->classes);
    gs_dist_release(&sc->latency);
    gs_doc_free(sc->doc);
    gs_free(sc);
}

int gs_scenario_emit(const gs_scenario *sc, FILE *f)
{
    return gs_doc_emit(sc->doc, f);
}
