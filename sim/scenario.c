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

#include <math.h>
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
    "duration", "warmup", "replications", "seed", "confidence", "sample_interval", NULL};
static const char *const net_keys[] = {"latency", "connect_timeout", NULL};
static const char *const wl_keys[] = {
    "name", "class", "arrivals", "deadline", "keys", "prompt_tokens", "output_tokens",
    "entry", NULL};
static const char *const process_names[] = {
    "poisson", "deterministic", "closed", "mmpp", "diurnal", "trace", NULL};
static const char *const open_keys[] = {"process", "rate", NULL};
static const char *const key_keys[] = {"count", "zipf", NULL};
static const char *const closed_keys[] = {"process", "users", "think", NULL};

/* Upper bounds that keep a scenario from asking for more than a machine
 * has; each is stated in docs/scenarios.md. */
#define MAX_REPLICATIONS 100000L
#define MAX_USERS 10000000L
/* The clock counts nanoseconds: faster arrivals would all fall on one
 * tick. */
#define MAX_RATE 1e9
/* The alias table costs 16 bytes a key, shared by all replications. */
#define MAX_KEYS 10000000L

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
    int rc = gs_cfg_seconds(doc, map, key, dflt, &s, d);
    if (rc)
        return rc;
    if (!(s > 0))
        return gs_error_at(d, gs_map_get(map, key), "%s: must be > 0, got %s", key,
                           gs_map_get(map, key)->value);
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
    double warm;
    if ((rc = gs_cfg_seconds(sc->doc, m, "warmup", "0s", &warm, d)))
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
        return gs_error_at(d, gs_map_get(m, "seed"), "seed: must be >= 0, got %ld", seed);
    sc->seed = (uint64_t)seed;
    if ((rc = gs_cfg_double(sc->doc, m, "confidence", "0.95", &sc->confidence, d)))
        return rc;
    if (!(sc->confidence > 0 && sc->confidence < 1))
        return gs_error_at(d, gs_map_get(m, "confidence"),
                           "confidence: must be between 0 and 1 (e.g. 0.95), got %s",
                           gs_map_get(m, "confidence")->value);
    return positive_time(sc->doc, m, "sample_interval", "1s", &sc->sample_interval, d);
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

/* Names that go into file paths and metric rows: letters, digits, '-', '_'
 * and (where dots_ok) '.', not starting with '.' or '-'. Ids also name
 * random streams, whose other names contain ':', so no id can collide
 * with them. */
static int valid_name(const char *s, int dots_ok)
{
    if (!s[0] || s[0] == '.' || s[0] == '-')
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || (dots_ok && *p == '.')))
            return 0;
    return 1;
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
    for (size_t i = 3; process_names[i]; i++)
        if (strcmp(proc, process_names[i]) == 0)
            return gs_error_at(d, pn, "process: arrival process '%s' is not available in "
                               "gatesim %s yet; use poisson, deterministic or closed", proc,
                               GATESIM_VERSION);
    const char *hint = gs_suggest(proc, process_names);
    if (hint)
        return gs_error_at(d, pn, "process: unknown arrival process '%s' (did you mean '%s'?); "
                           "expected poisson, deterministic or closed", proc, hint);
    return gs_error_at(d, pn, "process: unknown arrival process '%s'; expected poisson, "
                       "deterministic or closed", proc);
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
            return gs_error_at(d, key, "component id '%s' is not allowed; use letters, digits, "
                               "'-' or '_' (not 'system', which names the whole system)", cc->id);
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
            static const char *const planned[] = {
                "broker", "workers", NULL};
            for (size_t j = 0; planned[j]; j++)
                if (strcmp(planned[j], tn->value) == 0)
                    return gs_error_at(d, tn, "type: component type '%s' is not available in "
                                       "gatesim %s yet; this version has %s", tn->value,
                                       GATESIM_VERSION, type_list());
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
    char dflt[256];
    snprintf(dflt, sizeof dflt, "%.*s", (int)strcspn(stem, "."), stem);
    for (char *p = dflt; *p; p++)
        if (!valid_name((char[]){*p, '\0'}, 0))
            *p = '_';
    if ((rc = gs_cfg_str(sc->doc, root, "name", dflt[0] ? dflt : "scenario", &sc->name, d)))
        return rc;
    if (!valid_name(sc->name, 1))
        return gs_error_at(d, gs_map_get(root, "name"), "name: use letters, digits, '-', '_' "
                           "or '.', not starting with '.' or '-' (it names the output "
                           "directory), got '%s'", sc->name);
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
