/* Sweep files (SPEC §6): parsing, the grid's points, and the scenario of a
 * (base, point). Every value keeps its node in the sweep document, and the
 * scenario is built by putting those nodes into the base's tree
 * (gs_doc_apply_node), so errors point at the sweep file. What would only
 * show after the run is checked before it: two parameters that reach one
 * value, and plots that no point reports (a replication cut to one
 * nanosecond lists a point's metrics).
 *
 * The fingerprint that a resumed sweep must match is an FNV-1a-64 hash of
 * the gatesim version and of every (base, point) scenario as resolved
 * (gs_scenario_emit), which covers the bases' content, the grid values,
 * --set, the seed and the replications, but not whitespace or comments. */
#include "sweep.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "error.h"
#include "scenario.h"
#include "units.h"

#define MAX_POINTS 1000000L
#define MAX_ITEMS  1000000000L
#define MAX_FILE   (64L << 20)

static const char *const sweep_keys[] = {"name", "description", "base", "grid", "zip",
                                         "replications", "seed", "plots", NULL};

static const char *const default_plots[] = {"latency_p99", "latency_mean", "throughput",
                                            "availability"};

/* The whole of a file, NUL-terminated, or NULL with errno set. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *nb = gs_realloc(buf, cap);
            if (!nb || cap > (size_t)MAX_FILE) {
                gs_free(nb ? nb : buf);
                fclose(f);
                errno = nb ? EFBIG : ENOMEM;
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        gs_free(buf);
        errno = EIO;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static char *dup_printf(const char *fmt, const char *a, const char *b)
{
    size_t n = strlen(fmt) + strlen(a) + strlen(b) + 1;
    char *s = gs_malloc(n);
    if (s)
        snprintf(s, n, fmt, a, b);
    return s;
}

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

#define FNV_BASIS 0xcbf29ce484222325ULL

/* A grid path: names separated by single dots. */
static int valid_path(const char *p)
{
    if (!p[0] || p[0] == '.')
        return 0;
    for (const char *s = p; *s; s++)
        if (*s == '.' && (s[1] == '.' || s[1] == '\0'))
            return 0;
    return 1;
}

/* A value as text for sweep.csv and labels: a scalar as written, a
 * collection in YAML flow style. */
static int flow_text(const gs_node *n, FILE *f)
{
    if (n->kind == GS_NODE_SCALAR)
        return fputs(n->value, f) < 0 ? -1 : 0;
    fputc(n->kind == GS_NODE_MAP ? '{' : '[', f);
    for (size_t i = 0; i < n->len; i++) {
        if (i)
            fputs(", ", f);
        if (n->kind == GS_NODE_MAP) {
            fputs(n->keys[i]->value, f);
            fputs(": ", f);
        }
        flow_text(n->items[i], f);
    }
    fputc(n->kind == GS_NODE_MAP ? '}' : ']', f);
    return ferror(f) ? -1 : 0;
}

/* The number a grid value stands for, in seconds, per second or plain, and
 * its unit; NaN for text. */
static double value_number(const gs_node *n, const char **unit)
{
    *unit = "";
    if (n->kind != GS_NODE_SCALAR || n->quoted || !n->value[0])
        return NAN;
    char *end;
    errno = 0;
    double v = strtod(n->value, &end);
    if (end != n->value && !*end && !errno && isfinite(v) &&
        !strpbrk(n->value, "xXnNiI")) /* no hex, inf or nan */
        return v;
    if (strchr(n->value, '/') && gs_parse_rate(n->value, &v) == 0) {
        *unit = "1/s";
        return v;
    }
    if (gs_parse_time(n->value, &v) == 0) {
        *unit = "s";
        return v;
    }
    return NAN;
}

typedef struct axis {
    size_t len;
    size_t first, count;   /* its parameters */
} axis;

/* The parameters and axes of grid and zip. */
static int read_grid(gs_sweep *sw, const gs_node *root, axis **axes_out, size_t *naxes_out,
                     gs_diag *d)
{
    const gs_node *grid = gs_map_get(root, "grid");
    const gs_node *zip = gs_map_get(root, "zip");
    if (grid && grid->kind != GS_NODE_MAP)
        return gs_error_at(d, grid, "grid: expected a mapping from a scenario path (such as "
                           "components.gw.servers) to a list of values, found %s",
                           gs_node_kind_name(grid->kind));
    /* zip: one mapping (a group that varies together) or a list of them. */
    const gs_node *const *groups = NULL;
    size_t ngroups = 0;
    if (zip && zip->kind == GS_NODE_MAP) {
        groups = (const gs_node *const *)&zip;
        ngroups = 1;
    } else if (zip && zip->kind == GS_NODE_SEQ) {
        groups = (const gs_node *const *)zip->items;
        ngroups = zip->len;
        for (size_t g = 0; g < ngroups; g++)
            if (groups[g]->kind != GS_NODE_MAP)
                return gs_error_at(d, groups[g], "zip: expected a mapping from scenario paths "
                                   "to lists of the same length, found %s",
                                   gs_node_kind_name(groups[g]->kind));
    } else if (zip && !gs_node_is_null(zip)) {
        return gs_error_at(d, zip, "zip: expected a mapping from scenario paths to lists of "
                           "the same length (or a list of such mappings), found %s",
                           gs_node_kind_name(zip->kind));
    }
    size_t np = (grid ? grid->len : 0);
    for (size_t g = 0; g < ngroups; g++)
        np += groups[g]->len;
    if (np == 0)
        return gs_error_at(d, grid ? grid : root, "%s: expected at least one parameter, e.g. "
                           "grid: {workload.chat.arrivals.rate: [200/s, 400/s]}",
                           grid ? "grid" : "the sweep");
    size_t naxes = (grid ? grid->len : 0) + ngroups;
    axis *axes = gs_calloc(naxes, sizeof *axes);
    const gs_node **vals = gs_calloc(np, sizeof *vals); /* each parameter's list */
    sw->param = gs_calloc(np, sizeof *sw->param);
    sw->param_key = gs_calloc(np, sizeof *sw->param_key);
    sw->param_unit = gs_calloc(np, sizeof *sw->param_unit);
    int rc = GS_OK;
    if (!axes || !vals || !sw->param || !sw->param_key || !sw->param_unit) {
        rc = gs_error(d, GS_ENOMEM, "out of memory");
        goto out;
    }
    size_t k = 0, a = 0;
    for (size_t src = 0; src <= ngroups; src++) {
        const gs_node *m = src == 0 ? grid : groups[src - 1];
        if (!m)
            continue;
        for (size_t i = 0; i < m->len; i++, k++) {
            const gs_node *key = m->keys[i], *v = m->items[i];
            const char *what = src == 0 ? "grid" : "zip";
            if (!valid_path(key->value)) {
                rc = gs_error_at(d, key, "%s: '%s' is not a scenario path; expected names "
                                 "separated by single dots, e.g. components.gw.servers", what,
                                 key->value);
                goto out;
            }
            for (size_t j = 0; j < k; j++)
                if (strcmp(sw->param[j], key->value) == 0) {
                    rc = gs_error_at(d, key, "%s: '%s' is already a parameter (line %d); "
                                     "give each path once", what, key->value,
                                     sw->param_key[j]->line);
                    goto out;
                }
            if (v->kind == GS_NODE_SEQ && v->len == 0) {
                rc = gs_error_at(d, v, "%s: '%s' has no values; expected a list such as [4, "
                                 "8, 16]", what, key->value);
                goto out;
            }
            if (v->kind != GS_NODE_SEQ && gs_node_is_null(v)) {
                rc = gs_error_at(d, v, "%s: '%s' has no value; expected a list such as [4, "
                                 "8, 16]", what, key->value);
                goto out;
            }
            /* A base's name labels its rows and curve, and its replications
             * number its items: neither may vary across the grid. */
            if (strcmp(key->value, "name") == 0) {
                rc = gs_error_at(d, key, "%s: 'name' cannot be a grid parameter: it labels a "
                                 "base's rows and curve (give each variant its own base "
                                 "file)", what);
                goto out;
            }
            if (strcmp(key->value, "simulation.replications") == 0) {
                rc = gs_error_at(d, key, "%s: 'simulation.replications' cannot be a grid "
                                 "parameter (use the sweep's 'replications')", what);
                goto out;
            }
            sw->param[k] = key->value;
            sw->param_key[k] = key;
            vals[k] = v;
            /* A value that is not a list is one point, in grid and zip
             * alike: `servers: 4` reads as `servers: [4]`. */
            size_t len = v->kind == GS_NODE_SEQ ? v->len : 1;
            if (src == 0) {
                axes[a++] = (axis){len, k, 1};
            } else if (i == 0) {
                axes[a++] = (axis){len, k, 1};
            } else {
                axis *ax = &axes[a - 1];
                if (len != ax->len) {
                    rc = gs_error_at(d, v, "zip: '%s' has %zu value%s but '%s' has %zu; "
                                     "parameters that vary together need as many values",
                                     key->value, len, len == 1 ? "" : "s",
                                     sw->param[ax->first], ax->len);
                    goto out;
                }
                ax->count++;
            }
        }
    }
    sw->nparams = np;
    double points = 1;
    for (size_t i = 0; i < naxes; i++)
        points *= (double)axes[i].len;
    if (points > (double)MAX_POINTS) {
        rc = gs_error_at(d, grid ? grid : zip, "the grid has %.0f points; at most %ld are "
                         "allowed (split the sweep)", points, MAX_POINTS);
        goto out;
    }
    sw->npoints = (size_t)points;
    size_t cells = sw->npoints * np;
    sw->value = gs_calloc(cells, sizeof *sw->value);
    sw->text_of = gs_calloc(cells, sizeof *sw->text_of);
    sw->num = gs_calloc(cells, sizeof *sw->num);
    if (!sw->value || !sw->text_of || !sw->num) {
        rc = gs_error(d, GS_ENOMEM, "out of memory");
        goto out;
    }
    /* Mixed radix, the first axis outermost. */
    for (size_t p = 0; p < sw->npoints; p++) {
        size_t rest = p;
        for (size_t ai = naxes; ai-- > 0;) {
            size_t idx = rest % axes[ai].len;
            rest /= axes[ai].len;
            for (size_t j = axes[ai].first; j < axes[ai].first + axes[ai].count; j++) {
                const gs_node *v = vals[j]->kind == GS_NODE_SEQ ? vals[j]->items[idx] : vals[j];
                sw->value[p * np + j] = v;
            }
        }
    }
    for (size_t j = 0; j < np; j++) {
        const char *unit0 = NULL;
        int mixed = 0;
        for (size_t p = 0; p < sw->npoints; p++) {
            const gs_node *v = sw->value[p * np + j];
            char *buf = NULL;
            size_t blen = 0;
            FILE *f = open_memstream(&buf, &blen);
            if (!f || flow_text(v, f) || fclose(f)) {
                free(buf);
                rc = gs_error(d, GS_ENOMEM, "out of memory");
                goto out;
            }
            sw->text_of[p * np + j] = gs_strdup(buf);
            free(buf);
            if (!sw->text_of[p * np + j]) {
                rc = gs_error(d, GS_ENOMEM, "out of memory");
                goto out;
            }
            const char *unit;
            sw->num[p * np + j] = value_number(v, &unit);
            if (!isnan(sw->num[p * np + j])) {
                if (!unit0)
                    unit0 = unit;
                else if (strcmp(unit0, unit) != 0)
                    mixed = 1;
            }
        }
        sw->param_unit[j] = unit0 && !mixed ? unit0 : "";
    }
    *axes_out = axes;
    *naxes_out = naxes;
    axes = NULL;
out:
    gs_free(axes);
    gs_free(vals);
    return rc;
}

/* The item of seq that segment (len bytes) names, as --set finds it: a
 * 0-based index first, else the item whose "name" it is. -1 when none. */
static long item_index(const gs_node *seq, const char *seg, size_t len)
{
    if (strspn(seg, "0123456789") == len && len <= 9) {
        long idx = strtol(seg, NULL, 10);
        if ((size_t)idx < seq->len)
            return idx;
    }
    for (size_t i = 0; i < seq->len; i++) {
        const gs_node *nm = gs_map_get(seq->items[i], "name");
        if (nm && nm->kind == GS_NODE_SCALAR && strncmp(nm->value, seg, len) == 0 &&
            nm->value[len] == '\0')
            return (long)i;
    }
    return -1;
}

/* Path p as it addresses the tree under root: every sequence item by its
 * index, however p names it, and the rest as written from where p leaves
 * the tree (keys that --set would create). NULL when out of memory;
 * caller frees with gs_free(). */
static char *canonical_path(const gs_node *root, const char *p)
{
    size_t nseg = 1;
    for (const char *c = p; *c; c++)
        nseg += *c == '.';
    size_t cap = strlen(p) + 24 * nseg + 1;   /* an index takes at most 20 digits */
    char *out = gs_malloc(cap);
    if (!out)
        return NULL;
    size_t o = 0;
    const gs_node *cur = root;
    for (const char *seg = p;; seg++) {
        size_t len = strcspn(seg, ".");
        if (o)
            out[o++] = '.';
        const gs_node *next = NULL;
        long i = cur && cur->kind == GS_NODE_SEQ ? item_index(cur, seg, len) : -1;
        if (i >= 0) {
            o += (size_t)snprintf(out + o, cap - o, "%ld", i);
            next = cur->items[i];
        } else {
            memcpy(out + o, seg, len);
            out[o + len] = '\0';
            if (cur && cur->kind == GS_NODE_MAP)
                next = gs_map_get(cur, out + o);
            o += len;
        }
        /* A null value ("network:") is a mapping --set will create. */
        cur = next && !gs_node_is_null(next) ? next : NULL;
        seg += len;
        if (!*seg)
            break;
    }
    out[o] = '\0';
    return out;
}

/* Two parameters that address one value of a base (by index and by name,
 * say) would both be put there, the later winning, while sweep.csv labels
 * the points with both; a parameter inside another is overwritten or
 * overwrites in the same way. Each value needs one path, checked in every
 * base as --set leaves it. A base that does not load is skipped here:
 * loading its points reports why. */
static int check_overlap(const gs_sweep *sw, gs_diag *d)
{
    if (sw->nparams < 2)
        return GS_OK;
    char **canon = gs_calloc(sw->nparams, sizeof *canon);
    if (!canon)
        return gs_error(d, GS_ENOMEM, "out of memory");
    int rc = GS_OK;
    for (size_t b = 0; b < sw->nbases && rc == GS_OK; b++) {
        const gs_sweep_base *base = &sw->bases[b];
        gs_diag quiet;
        gs_diag_init(&quiet);
        gs_doc *doc;
        if (gs_doc_load_string(base->text, strlen(base->text), base->path, &doc, &quiet))
            continue;
        int sets_ok = 1;
        for (size_t i = 0; i < sw->nsets && sets_ok; i++)
            sets_ok = gs_doc_apply_set(doc, sw->sets[i], &quiet) == GS_OK;
        for (size_t k = 0; k < sw->nparams && sets_ok && rc == GS_OK; k++) {
            gs_free(canon[k]);
            if (!(canon[k] = canonical_path(gs_doc_root(doc), sw->param[k])))
                rc = gs_error(d, GS_ENOMEM, "out of memory");
        }
        for (size_t k = 1; k < sw->nparams && sets_ok && rc == GS_OK; k++)
            for (size_t j = 0; j < k && rc == GS_OK; j++) {
                size_t lj = strlen(canon[j]), lk = strlen(canon[k]);
                size_t n = lj < lk ? lj : lk;
                if (strncmp(canon[j], canon[k], n) != 0)
                    continue;
                if (lj == lk)
                    rc = gs_error_at(d, sw->param_key[k], "%s and %s (line %d) name the same "
                                     "value; give each value one path", sw->param[k],
                                     sw->param[j], sw->param_key[j]->line);
                else if (canon[lj < lk ? k : j][n] == '.')
                    rc = gs_error_at(d, sw->param_key[k], "%s and %s (line %d) name "
                                     "overlapping values (%s is part of %s); give each value "
                                     "one path",
                                     sw->param[k], sw->param[j], sw->param_key[j]->line,
                                     sw->param[lj < lk ? k : j], sw->param[lj < lk ? j : k]);
            }
        gs_doc_free(doc);
    }
    for (size_t k = 0; k < sw->nparams; k++)
        gs_free(canon[k]);
    gs_free(canon);
    return rc;
}

/* Find base file p: beside the sweep file, else from the working directory. */
static int read_base(gs_sweep *sw, gs_sweep_base *b, const gs_node *n, gs_diag *d)
{
    if (n->kind != GS_NODE_SCALAR || !n->value[0] || gs_node_is_null(n))
        return gs_error_at(d, n, "base: expected the path of a scenario file (or a list of "
                           "them), found %s",
                           n->kind == GS_NODE_SCALAR ? "nothing" : gs_node_kind_name(n->kind));
    const char *p = n->value;
    char *dir = gs_strdup(sw->path);
    if (!dir)
        return gs_error(d, GS_ENOMEM, "out of memory");
    char *slash = strrchr(dir, '/');
    char *beside = NULL;
    if (p[0] != '/' && slash) {
        slash[1] = '\0';
        beside = dup_printf("%s%s", dir, p);
    }
    gs_free(dir);
    size_t len;
    int err = 0;
    /* A device, FIFO or directory would be read without end or block. */
    struct stat st;
    const char *probe_path = beside && stat(beside, &st) == 0 ? beside : p;
    if (stat(probe_path, &st) == 0 && !S_ISREG(st.st_mode)) {
        int rc = gs_error_at(d, n, "base: '%s' is not a regular file; expected a YAML scenario",
                             probe_path);
        gs_free(beside);
        return rc;
    }
    if (beside) {
        b->text = read_file(beside, &len);
        if (b->text) {
            b->path = beside;
        } else {
            err = errno;
            gs_free(beside);
            beside = NULL;
        }
    }
    if (!b->text) {
        b->text = read_file(p, &len);
        if (b->text)
            b->path = gs_strdup(p);
        else if (!err || errno != ENOENT)
            err = errno;
    }
    if (!b->text)
        return gs_error_at(d, n, "base: cannot read '%s' (looked beside the sweep file and in "
                           "the working directory): %s", p, strerror(err));
    if (!b->path)
        return gs_error(d, GS_ENOMEM, "out of memory");
    if (strlen(b->text) != len)
        return gs_error_at(d, n, "base: '%s' holds a NUL byte; expected a YAML scenario", p);
    b->where = n;
    return GS_OK;
}

static int set_owned(gs_sweep *sw, const char *fmt, long v)
{
    char buf[96];
    snprintf(buf, sizeof buf, fmt, v);
    char **o = gs_realloc(sw->owned_sets, (sw->nowned + 1) * sizeof *o);
    if (!o)
        return GS_ENOMEM;
    sw->owned_sets = o;
    if (!(o[sw->nowned] = gs_strdup(buf)))
        return GS_ENOMEM;
    sw->nowned++;
    return GS_OK;
}

/* The --set list for every base: the user's, then replications and seed. */
static int all_sets(const gs_sweep *sw, const char ***out)
{
    const char **s = gs_calloc(sw->nsets + sw->nowned + 1, sizeof *s);
    if (!s)
        return GS_ENOMEM;
    for (size_t i = 0; i < sw->nsets; i++)
        s[i] = sw->sets[i];
    for (size_t i = 0; i < sw->nowned; i++)
        s[sw->nsets + i] = sw->owned_sets[i];
    *out = s;
    return GS_OK;
}

static int load_point(const gs_sweep *sw, size_t b, size_t p, gs_scenario **out, gs_diag *d)
{
    const char **sets;
    if (all_sets(sw, &sets))
        return gs_error(d, GS_ENOMEM, "out of memory");
    gs_override *ov = gs_calloc(sw->nparams, sizeof *ov);
    if (!ov) {
        gs_free(sets);
        return gs_error(d, GS_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < sw->nparams; k++)
        ov[k] = (gs_override){sw->param[k], sw->value[p * sw->nparams + k], sw->param_key[k]};
    int rc = gs_scenario_load_grid(sw->bases[b].text, sw->bases[b].path, sets,
                                   sw->nsets + sw->nowned, ov, sw->nparams, out, d);
    gs_free(ov);
    gs_free(sets);
    return rc;
}

int gs_sweep_scenario(const gs_sweep *sw, size_t b, size_t p, gs_scenario **out, gs_diag *d)
{
    return load_point(sw, b, p, out, d);
}

void gs_sweep_item(const gs_sweep *sw, long i, size_t *base, size_t *point, long *rep)
{
    size_t b = 0;
    while (b + 1 < sw->nbases && i >= sw->bases[b + 1].first)
        b++;
    long off = i - sw->bases[b].first;
    *base = b;
    *point = (size_t)(off / sw->bases[b].nrep);
    *rep = off % sw->bases[b].nrep;
}

/* The grid key of the parameter at path or above it (`simulation` holds
 * simulation.replications), to place an error about what path changed;
 * fallback when no parameter is. */
static const gs_node *param_holding(const gs_sweep *sw, const char *path,
                                    const gs_node *fallback)
{
    for (size_t k = 0; k < sw->nparams; k++) {
        size_t n = strlen(sw->param[k]);
        if (strncmp(sw->param[k], path, n) == 0 && (path[n] == '\0' || path[n] == '.'))
            return sw->param_key[k];
    }
    return fallback;
}

/* What loading base b at point p tells: its hash, name and replications. */
typedef struct probe {
    uint64_t hash;
    long     nrep;
    double   confidence;
    char    *name;
    int      rc;
    gs_diag  d;
} probe;

/* Which of the sweep's plots some (base, point) reports, found before
 * anything runs so that a misspelt metric stops the sweep at once (with or
 * without --no-plots) instead of after its last item. */
typedef struct plot_seen {
    unsigned char *seen;     /* [nplot]; written under omp atomic */
    int            unsure;   /* a point's metrics could not be listed */
    char         **names;    /* the first points' metrics, as plots name them */
    size_t         nnames;
} plot_seen;

/* Whether plot ("METRIC" of the system, or "COMPONENT/METRIC") is v, as
 * analysis/sweep_report.c finds it. */
static int plot_is(const char *plot, const gs_metric_value *v)
{
    const char *slash = strchr(plot, '/');
    const char *comp = slash ? plot : "system";
    size_t clen = slash ? (size_t)(slash - plot) : strlen("system");
    return strlen(v->component) == clen && strncmp(v->component, comp, clen) == 0 &&
           strcmp(v->name, slash ? slash + 1 : plot) == 0;
}

/* The metrics that sc reports, in m. They are named by the components'
 * report functions at the end of a replication and depend on the
 * configuration only (a gateway with a rate limit adds rejected_ratio), not
 * on what happened; so a replication cut to one nanosecond with no warm-up
 * lists them at the cost of setting up its components. */
static int list_metrics(const gs_scenario *sc, gs_metrics *m, gs_diag *d)
{
    gs_scenario cut = *sc;
    cut.duration = 1;
    cut.warmup = 0;
    cut.warmup_auto = 0;
    return gs_run_replication(&cut, 0, m, NULL, NULL, d);
}

static int add_name(plot_seen *ps, const gs_metric_value *v)
{
    char *s = strcmp(v->component, "system") == 0 ? gs_strdup(v->name)
                                                   : dup_printf("%s/%s", v->component, v->name);
    if (!s)
        return GS_ENOMEM;
    for (size_t i = 0; i < ps->nnames; i++)
        if (strcmp(ps->names[i], s) == 0) {
            gs_free(s);
            return GS_OK;
        }
    char **n = gs_realloc(ps->names, (ps->nnames + 2) * sizeof *n);
    if (!n) {
        gs_free(s);
        return GS_ENOMEM;
    }
    ps->names = n;
    n[ps->nnames++] = s;
    n[ps->nnames] = NULL;
    return GS_OK;
}

/* Mark the plots that sc reports; with collect, keep its metric names for
 * hints. */
static int see_plots(const gs_sweep *sw, const gs_scenario *sc, plot_seen *ps, int collect,
                     gs_diag *d)
{
    int all_seen = 1;
    for (size_t k = 0; k < sw->nplot && all_seen; k++) {
        unsigned char seen;
#pragma omp atomic read
        seen = ps->seen[k];
        all_seen = seen;
    }
    if (all_seen && !collect)
        return GS_OK;
    gs_metrics m = {0};
    gs_diag quiet;
    gs_diag_init(&quiet);
    int rc = list_metrics(sc, &m, &quiet);
    if (rc == GS_ENOMEM) {
        gs_metrics_release(&m);
        return gs_error(d, GS_ENOMEM, "out of memory");
    }
    if (rc) {
        /* What stops a run is reported when it runs; without its list, no
         * plot can be called unknown. */
#pragma omp atomic write
        ps->unsure = 1;
        gs_metrics_release(&m);
        return GS_OK;
    }
    for (size_t i = 0; i < m.n; i++) {
        for (size_t k = 0; k < sw->nplot; k++)
            if (plot_is(sw->plot[k], &m.v[i])) {
#pragma omp atomic write
                ps->seen[k] = 1;
            }
        if (collect && add_name(ps, &m.v[i])) {
            gs_metrics_release(&m);
            return gs_error(d, GS_ENOMEM, "out of memory");
        }
    }
    gs_metrics_release(&m);
    return GS_OK;
}

static void probe_point(const gs_sweep *sw, size_t b, size_t p, probe *pr, char **yaml,
                        plot_seen *ps)
{
    gs_scenario *sc;
    gs_diag_init(&pr->d);
    pr->rc = load_point(sw, b, p, &sc, &pr->d);
    if (pr->rc)
        return;
    if (ps && (pr->rc = see_plots(sw, sc, ps, yaml != NULL, &pr->d))) {
        gs_scenario_free(sc);
        return;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f || gs_scenario_emit(sc, f) || fclose(f)) {
        free(buf);
        gs_scenario_free(sc);
        pr->rc = gs_error(&pr->d, GS_ENOMEM, "out of memory");
        return;
    }
    pr->hash = fnv(FNV_BASIS, buf, len);
    pr->nrep = sc->replications;
    pr->confidence = sc->confidence;
    pr->name = gs_strdup(sc->name);
    if (yaml)
        *yaml = gs_strdup(buf);
    free(buf);
    if (!pr->name || (yaml && !*yaml))
        pr->rc = gs_error(&pr->d, GS_ENOMEM, "out of memory");
    gs_scenario_free(sc);
}

/* Load every base at every point; fill each base's name, nrep, yaml and the
 * fingerprint. */
static int check_points(gs_sweep *sw, int threads, gs_diag *d)
{
    size_t n = sw->nbases * sw->npoints;
    probe *pr = gs_calloc(n, sizeof *pr);
    if (!pr)
        return gs_error(d, GS_ENOMEM, "out of memory");
    int rc = GS_OK;
    /* The plots of the sweep file are checked; the default ones every
     * scenario reports. */
    const gs_node *plots = gs_map_get(gs_doc_root(sw->doc), "plots");
    plot_seen seen = {0}, *ps = NULL;
    if (plots && sw->nplot > 0) {
        if (!(seen.seen = gs_calloc(sw->nplot, 1))) {
            rc = gs_error(d, GS_ENOMEM, "out of memory");
            goto out;
        }
        ps = &seen;
    }
    /* The first point of each base alone and first, so its warnings are
     * printed once; then the rest quietly, in parallel. */
    for (size_t b = 0; b < sw->nbases; b++) {
        probe_point(sw, b, 0, &pr[b * sw->npoints], &sw->bases[b].yaml, ps);
        if (pr[b * sw->npoints].rc) {
            rc = gs_error(d, pr[b * sw->npoints].rc, "%s", pr[b * sw->npoints].d.msg);
            goto out;
        }
    }
    gs_warn_mute(1);
    if (threads <= 0)
        threads = omp_get_max_threads();
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (size_t i = 0; i < n; i++) {
        int skip;
#pragma omp atomic read
        skip = failed;
        if (skip || i % sw->npoints == 0)
            continue;
        probe_point(sw, i / sw->npoints, i % sw->npoints, &pr[i], NULL, ps);
        if (pr[i].rc) {
#pragma omp atomic write
            failed = 1;
        }
    }
    /* The lowest failing point is reported, whatever the thread timing. */
    for (size_t i = 0; i < n; i++)
        if (pr[i].rc) {
            rc = gs_error(d, pr[i].rc, "%s", pr[i].d.msg);
            goto out;
        }
    for (size_t k = 0; ps && !seen.unsure && k < sw->nplot; k++) {
        if (seen.seen[k])
            continue;
        const char *hint =
            seen.names ? gs_suggest(sw->plot[k], (const char *const *)seen.names) : NULL;
        if (hint)
            rc = gs_error_at(d, plots->items[k], "plots: no base reports '%s' (did you mean "
                             "'%s'?)", sw->plot[k], hint);
        else
            rc = gs_error_at(d, plots->items[k], "plots: no base reports '%s'; expected a "
                             "metric of sweep.csv: METRIC of the system (latency_p99) or "
                             "COMPONENT/METRIC (gw/utilization)", sw->plot[k]);
        goto out;
    }
    uint64_t h = fnv(FNV_BASIS, "gatesim " GATESIM_VERSION, sizeof "gatesim " GATESIM_VERSION);
    long first = 0;
    for (size_t b = 0; b < sw->nbases; b++) {
        gs_sweep_base *base = &sw->bases[b];
        base->name = pr[b * sw->npoints].name;
        pr[b * sw->npoints].name = NULL;
        base->nrep = pr[b * sw->npoints].nrep;
        base->confidence = pr[b * sw->npoints].confidence;
        for (size_t t = 0; t < b; t++)
            if (strcmp(sw->bases[t].name, base->name) == 0) {
                rc = gs_error_at(d, base->where, "base: '%s' and '%s' are both named '%s'; "
                                 "the bases of a sweep need different names (set 'name:' in "
                                 "one of them)", sw->bases[t].path, base->path, base->name);
                goto out;
            }
        for (size_t p = 1; p < sw->npoints; p++) {
            probe *q = &pr[b * sw->npoints + p];
            int renamed = strcmp(q->name, base->name) != 0;
            if (renamed || q->nrep != base->nrep) {
                const char *what = renamed ? "name" : "simulation.replications";
                rc = gs_error_at(d, param_holding(sw, what, base->where), "base '%s': its %s "
                                 "changes across the grid (point %zu); 'name' and "
                                 "'simulation.replications' cannot be grid parameters (use "
                                 "the sweep's 'replications')", base->path, what, p);
                goto out;
            }
        }
        base->first = first;
        if ((double)first + (double)base->nrep * (double)sw->npoints > (double)MAX_ITEMS) {
            rc = gs_error_at(d, base->where, "the sweep has more than %ld work items; split "
                             "it", MAX_ITEMS);
            goto out;
        }
        first += base->nrep * (long)sw->npoints;
        h = fnv(h, base->name, strlen(base->name) + 1);
        h = fnv(h, &base->nrep, sizeof base->nrep);
        for (size_t p = 0; p < sw->npoints; p++)
            h = fnv(h, &pr[b * sw->npoints + p].hash, sizeof(uint64_t));
    }
    sw->nitems = first;
    sw->fingerprint = h;
out:
    for (size_t i = 0; i < n; i++)
        gs_free(pr[i].name);
    gs_free(pr);
    for (size_t i = 0; i < seen.nnames; i++)
        gs_free(seen.names[i]);
    gs_free(seen.names);
    gs_free(seen.seen);
    return rc;
}

static int read_plots(gs_sweep *sw, const gs_node *root, gs_diag *d)
{
    const gs_node *pl = gs_map_get(root, "plots");
    if (!pl) {
        sw->nplot = sizeof default_plots / sizeof default_plots[0];
        sw->plot = gs_calloc(sw->nplot, sizeof *sw->plot);
        if (!sw->plot)
            return gs_error(d, GS_ENOMEM, "out of memory");
        for (size_t i = 0; i < sw->nplot; i++)
            sw->plot[i] = default_plots[i];
        return GS_OK;
    }
    if (pl->kind != GS_NODE_SEQ)
        return gs_error_at(d, pl, "plots: expected a list of metrics such as [latency_p99, "
                           "availability, gw/utilization], found %s",
                           gs_node_kind_name(pl->kind));
    sw->nplot = pl->len;
    sw->plot = gs_calloc(pl->len ? pl->len : 1, sizeof *sw->plot);
    if (!sw->plot)
        return gs_error(d, GS_ENOMEM, "out of memory");
    for (size_t i = 0; i < pl->len; i++) {
        const gs_node *m = pl->items[i];
        if (m->kind != GS_NODE_SCALAR || !m->value[0] || gs_node_is_null(m))
            return gs_error_at(d, m, "plots: expected a metric name such as latency_p99 or "
                               "COMPONENT/METRIC such as gw/utilization");
        sw->plot[i] = m->value;
    }
    return GS_OK;
}

/* Load the sweep whose text sw->text (len bytes and a NUL) came from path;
 * frees sw on failure. */
static int load_text(gs_sweep *sw, const char *path, size_t len, long replications, long seed,
                     int threads, gs_sweep **out, gs_diag *d)
{
    axis *axes = NULL;
    size_t naxes = 0;
    int rc;
    if (strspn(sw->text, " \t\r\n") == len) {
        rc = gs_error(d, GS_EINVAL, "%s:1:1: the file is empty; expected a sweep mapping with "
                      "keys base, grid and replications (docs/hpc.md)", path);
        goto fail;
    }
    if ((rc = gs_doc_load_string(sw->text, len, path, &sw->doc, d)))
        goto fail;
    sw->path = gs_doc_src(sw->doc);
    gs_node *root = gs_doc_root(sw->doc);
    if ((rc = gs_map_check_keys(root, sweep_keys, "the sweep file", d)))
        goto fail;
    /* The name defaults to the file's stem. */
    const char *stem = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    /* The default name is at most GS_NAME_MAX characters of the stem. */
    char dflt[GS_NAME_MAX + 1];
    snprintf(dflt, sizeof dflt, "%.*s", (int)strcspn(stem, "."), stem);
    if ((rc = gs_cfg_str(sw->doc, root, "name", dflt[0] ? dflt : "sweep", &sw->name, d)))
        goto fail;
    int name_ok = sw->name[0] != '\0' && sw->name[0] != '.' && strlen(sw->name) <= GS_NAME_MAX;
    for (const char *c = sw->name; *c; c++)
        name_ok &= (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                   (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.';
    if (!name_ok) {
        rc = gs_error_at(d, gs_map_get(root, "name"), "name: use at most %d letters, digits, "
                         "'-', '_' or '.', not starting with '.' (it names the output "
                         "directory), got '%.*s%s'", GS_NAME_MAX, 200, sw->name,
                         strlen(sw->name) > 200 ? "..." : "");
        goto fail;
    }
    const gs_node *base = gs_map_get(root, "base");
    if (!base) {
        rc = gs_error_at(d, root, "missing required key 'base' (the scenario file to sweep, "
                         "or a list of them)");
        goto fail;
    }
    size_t nb = base->kind == GS_NODE_SEQ ? base->len : 1;
    if (nb == 0) {
        rc = gs_error_at(d, base, "base: expected at least one scenario file");
        goto fail;
    }
    sw->bases = gs_calloc(nb, sizeof *sw->bases);
    if (!sw->bases) {
        rc = gs_error(d, GS_ENOMEM, "out of memory");
        goto fail;
    }
    sw->nbases = nb;
    for (size_t b = 0; b < nb; b++)
        if ((rc = read_base(sw, &sw->bases[b], base->kind == GS_NODE_SEQ ? base->items[b] : base,
                            d)))
            goto fail;
    if ((rc = read_grid(sw, root, &axes, &naxes, d)) || (rc = check_overlap(sw, d)) ||
        (rc = read_plots(sw, root, d)))
        goto fail;
    long reps = replications;
    const gs_node *rn = gs_map_get(root, "replications");
    if (reps <= 0 && rn) {
        if ((rc = gs_node_long(rn, "replications", &reps, d)))
            goto fail;
        /* Checked here, not by the scenario that receives it, so that the
         * message names this key rather than the --set it becomes. */
        if (reps < 1 || reps > GS_SCENARIO_MAX_REPLICATIONS) {
            rc = gs_error_at(d, rn, "replications: must be between 1 and %ld, got %ld",
                             GS_SCENARIO_MAX_REPLICATIONS, reps);
            goto fail;
        }
    }
    const gs_node *sn = gs_map_get(root, "seed");
    if (seed < 0 && sn) {
        if ((rc = gs_node_long(sn, "seed", &seed, d)))
            goto fail;
        if (seed < 0) {
            rc = gs_error_at(d, sn, "seed: must be >= 0, got %ld", seed);
            goto fail;
        }
    }
    if (seed < 0) {
        /* The first base's own seed, for every base: common random numbers. */
        gs_scenario *sc;
        if ((rc = load_point(sw, 0, 0, &sc, d)))
            goto fail;
        seed = (long)(sc->seed & 0x7fffffffffffffffULL);
        gs_scenario_free(sc);
    }
    if ((reps > 0 && set_owned(sw, "simulation.replications=%ld", reps)) ||
        set_owned(sw, "simulation.seed=%ld", seed)) {
        rc = gs_error(d, GS_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = check_points(sw, threads, d)))
        goto fail;
    gs_free(axes);
    *out = sw;
    return GS_OK;
fail:
    gs_free(axes);
    gs_sweep_free(sw);
    return rc;
}

int gs_sweep_load(const char *path, const char *const *sets, size_t nsets, long replications,
                  long seed, int threads, gs_sweep **out, gs_diag *d)
{
    *out = NULL;
    gs_sweep *sw = gs_calloc(1, sizeof *sw);
    if (!sw)
        return gs_error(d, GS_ENOMEM, "out of memory");
    sw->sets = sets;
    sw->nsets = nsets;
    size_t len = 0;
    sw->text = read_file(path, &len);
    if (!sw->text) {
        int rc = gs_error(d, GS_EINVAL, "%s: cannot read the sweep file: %s", path,
                          strerror(errno));
        gs_sweep_free(sw);
        return rc;
    }
    return load_text(sw, path, len, replications, seed, threads, out, d);
}

int gs_sweep_load_string(const char *text, size_t len, const char *src,
                         const char *const *sets, size_t nsets, long replications, long seed,
                         int threads, gs_sweep **out, gs_diag *d)
{
    *out = NULL;
    gs_sweep *sw = gs_calloc(1, sizeof *sw);
    if (!sw)
        return gs_error(d, GS_ENOMEM, "out of memory");
    sw->sets = sets;
    sw->nsets = nsets;
    sw->text = gs_malloc(len + 1);
    if (!sw->text) {
        gs_sweep_free(sw);
        return gs_error(d, GS_ENOMEM, "out of memory");
    }
    memcpy(sw->text, text, len);
    sw->text[len] = '\0';
    return load_text(sw, src, len, replications, seed, threads, out, d);
}

void gs_sweep_free(gs_sweep *sw)
{
    if (!sw)
        return;
    for (size_t b = 0; b < sw->nbases; b++) {
        gs_free(sw->bases[b].path);
        gs_free(sw->bases[b].text);
        gs_free(sw->bases[b].name);
        gs_free(sw->bases[b].yaml);
    }
    gs_free(sw->bases);
    if (sw->text_of)
        for (size_t i = 0; i < sw->npoints * sw->nparams; i++)
            gs_free(sw->text_of[i]);
    gs_free(sw->text_of);
    gs_free(sw->value);
    gs_free(sw->num);
    gs_free(sw->param);
    gs_free(sw->param_key);
    gs_free(sw->param_unit);
    gs_free(sw->plot);
    for (size_t i = 0; i < sw->nowned; i++)
        gs_free(sw->owned_sets[i]);
    gs_free(sw->owned_sets);
    gs_doc_free(sw->doc);
    gs_free(sw->text);
    gs_free(sw);
}
