/* The middleware router: sends each request class to its own target
 * (`routes [{class, to}]`), other classes to `default`. It does no work of
 * its own, so a request passes it in no time; each forward is a network hop.
 * A request whose class has no route and no default is refused (error),
 * counted in `unrouted_ratio`. */
#include "routes.h"

#include <math.h>

#include "sim/engine.h"
#include "sim/error.h"
#include "sim/node.h"

static const char *const keys[] = {"type", "routes", "default", NULL};

typedef struct router_conf {
    gs_routes rt;
    int       has_default;
    uint32_t  dflt;
} router_conf;

typedef struct router_state {
    int      measuring;
    uint64_t arrivals, unrouted;
} router_state;

static int configure(gs_comp_conf *cc, gs_build *b, gs_diag *d)
{
    router_conf *rc = cc->conf;
    gs_node *routes = gs_map_get(cc->node, "routes");
    if (!routes)
        return gs_error_at(d, cc->node, "router '%s': missing required key 'routes' (e.g. "
                           "routes: [{class: inference, to: gw2}])", cc->id);
    int st = gs__routes_configure(&rc->rt, cc, b, routes, d);
    if (st)
        return st;
    gs_node *dflt = gs_map_get(cc->node, "default");
    if (dflt) {
        if ((st = gs_build_ref(b, cc, dflt, "default", &rc->dflt, d)))
            return st;
        rc->has_default = 1;
    }
    /* Nothing routed and nowhere else to go: every request would be refused,
     * which is never the architecture meant. */
    if (routes->len == 0 && !rc->has_default)
        return gs_error_at(d, routes, "router '%s': routes is empty and there is no default, "
                           "so every request would be refused; add a route (routes: [{class: "
                           "inference, to: gw2}]) or a default target", cc->id);
    return GS_OK;
}

static void conf_release(gs_comp_conf *cc)
{
    router_conf *rc = cc->conf;
    gs__routes_release(&rc->rt);
}

static int start(gs_component *c, gs_ctx *ctx)
{
    (void)c;
    (void)ctx;
    return GS_OK;
}

static void handle(gs_component *c, gs_ctx *ctx, gs_event *ev)
{
    if (ev->kind != GS_EV_REQUEST)
        return;
    const router_conf *rc = c->conf;
    router_state *st = c->state;
    gs_request *r = ev->req;
    if (r->probe) {
        /* The router itself never fails, so it answers health checks. */
        gs_answer(ctx, c, r, GS_OUT_OK);
        return;
    }
    uint32_t to = gs__routes_find(&rc->rt, r->cls);
    if (to == GS_ROUTE_NONE && rc->has_default)
        to = rc->dflt;
    if (st->measuring)
        st->arrivals++;
    if (to == GS_ROUTE_NONE) {
        if (st->measuring)
            st->unrouted++;
        gs_answer(ctx, c, r, GS_OUT_ERROR);
        return;
    }
    gs_send(ctx, c, to, r);
}

static void window(gs_component *c, gs_ctx *ctx, int open)
{
    (void)ctx;
    router_state *st = c->state;
    st->measuring = open;
}

static void report(const gs_component *c, const gs_ctx *ctx, gs_metrics *m)
{
    const router_state *st = c->state;
    double window_s = gs_time_to_s(ctx->duration - ctx->warmup);
    gs_metric(m, "throughput", (double)(st->arrivals - st->unrouted) / window_s);
    gs_metric(m, "unrouted_ratio",
              st->arrivals ? (double)st->unrouted / (double)st->arrivals : NAN);
}

const gs_component_type gs_router_type = {
    .name = "router",
    .keys = keys,
    .conf_size = sizeof(router_conf),
    .state_size = sizeof(router_state),
    .configure = configure,
    .conf_release = conf_release,
    .start = start,
    .handle = handle,
    .window = window,
    .report = report,
};
