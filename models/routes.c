/* Class routing tables. A request class is an index fixed when the scenario
 * is loaded, so routing is one array lookup per request. */
#include "routes.h"

#include "sim/alloc.h"
#include "sim/error.h"
#include "sim/node.h"

static const char *const route_keys[] = {"class", "to", NULL};

int gs__routes_configure(gs_routes *rt, gs_comp_conf *cc, gs_build *b, gs_node *seq,
                         gs_diag *d)
{
    rt->nclasses = 0;
    rt->to = NULL;
    if (seq->kind != GS_NODE_SEQ)
        return gs_error_at(d, seq, "routes: expected a list of {class, to}, found %s",
                           gs_node_kind_name(seq->kind));
    for (size_t i = 0; i < seq->len; i++) {
        gs_node *item = seq->items[i];
        int rc = gs_map_check_keys(item, route_keys, "a route", d);
        if (rc)
            return rc;
        gs_node *cls = gs_map_get(item, "class"), *to = gs_map_get(item, "to");
        if (!cls || !to)
            return gs_error_at(d, item, "route: missing required key '%s' (a route is "
                               "{class: NAME, to: COMPONENT})", cls ? "to" : "class");
        uint32_t ci, target;
        size_t n;
        if ((rc = gs_build_class(b, cls, &ci, &n, d)))
            return rc;
        if (!rt->to) {
            rt->to = gs_malloc(n * sizeof *rt->to);
            if (!rt->to)
                return gs_error(d, GS_ENOMEM, "out of memory");
            rt->nclasses = n;
            for (size_t k = 0; k < n; k++)
                rt->to[k] = GS_ROUTE_NONE;
        }
        if (rt->to[ci] != GS_ROUTE_NONE)
            return gs_error_at(d, cls, "class: '%s' is routed twice; give each class one "
                               "route", cls->value);
        if ((rc = gs_build_ref(b, cc, to, "to", &target, d)))
            return rc;
        rt->to[ci] = target;
    }
    return GS_OK;
}

void gs__routes_release(gs_routes *rt)
{
    gs_free(rt->to);
    rt->to = NULL;
    rt->nclasses = 0;
}
