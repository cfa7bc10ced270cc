/* The API gateway: one multi-server queueing station doing the per-request
 * processing (authentication, validation), in front of which a token bucket
 * (`rate_limit {rate, burst}`) rejects what exceeds the allowed rate, and
 * after which `routes` send each request class to its own target (other
 * classes go to `next`, or are answered here when there is none).
 *
 * The token bucket (models/bucket.h) rejects at once (outcome `rejected`).
 * A gateway that is down refuses connections before its rate limiter sees
 * them. */
#include "bucket.h"
#include "routes.h"
#include "station.h"

#include <math.h>

#include "sim/engine.h"
#include "sim/error.h"
#include "sim/node.h"
#include "sim/units.h"

static const char *const keys[] = {
    "type", "servers", "capacity", "service", "next", "rate_limit", "routes", "failures",
    "outages", "slowdowns", NULL};

typedef struct gateway_conf {
    gs_station_conf st;       /* first: the station operations see this */
    int             has_routes;
    gs_routes       rt;
    gs_bucket_conf  limit;
} gateway_conf;

typedef struct gateway_state {
    gs_station st;            /* first: the station operations see this */
    gs_bucket  bucket;
    uint64_t   offered, rejected;   /* in the window */
} gateway_state;

static int route(const gs_component *c, const gs_request *r, uint32_t *to)
{
    const gateway_conf *gc = c->conf;
    uint32_t t = gs__routes_find(&gc->rt, r->cls);
    if (t == GS_ROUTE_NONE)
        return 0;
    *to = t;
    return 1;
}

/* The token bucket: 1 if the request may enter (and takes its token);
 * otherwise it is rejected here. */
static int admit(gs_component *c, gs_ctx *ctx, gs_request *r)
{
    const gateway_conf *gc = c->conf;
    gateway_state *gs = c->state;
    if (gs->st.measuring)
        gs->offered++;
    if (!gs__bucket_take(&gs->bucket, &gc->limit, ctx->now)) {
        if (gs->st.measuring)
            gs->rejected++;
        gs_answer(ctx, c, r, GS_OUT_REJECTED);
        return 0;
    }
    return 1;
}

static int configure(gs_comp_conf *cc, gs_build *b, gs_diag *d)
{
    gateway_conf *gc = cc->conf;
    int rc = gs__station_configure(&gc->st, cc, b, 0, d);
    if (rc)
        return rc;
    gs_node *routes = gs_map_get(cc->node, "routes");
    if (routes) {
        if ((rc = gs__routes_configure(&gc->rt, cc, b, routes, d)))
            return rc;
        gc->has_routes = 1;
        gc->st.route = route;
    }
    if ((rc = gs__bucket_configure(&gc->limit, b, cc->node, d)))
        return rc;
    if (gc->limit.on)
        gc->st.admit = admit;
    return GS_OK;
}

static void conf_release(gs_comp_conf *cc)
{
    gateway_conf *gc = cc->conf;
    gs__routes_release(&gc->rt);
    gs__station_conf_release(cc);
}

static int start(gs_component *c, gs_ctx *ctx)
{
    const gateway_conf *gc = c->conf;
    gateway_state *gs = c->state;
    gs__bucket_start(&gs->bucket, &gc->limit);
    return gs__station_start(c, ctx);
}

static void report(const gs_component *c, const gs_ctx *ctx, gs_metrics *m)
{
    const gateway_conf *gc = c->conf;
    const gateway_state *gs = c->state;
    gs__station_report(c, ctx, m);
    if (gc->limit.on)
        gs_metric(m, "rejected_ratio",
                  gs->offered ? (double)gs->rejected / (double)gs->offered : NAN);
}

const gs_component_type gs_gateway_type = {
    .name = "gateway",
    .keys = keys,
    .conf_size = sizeof(gateway_conf),
    .state_size = sizeof(gateway_state),
    .configure = configure,
    .conf_release = conf_release,
    .start = start,
    .handle = gs__station_handle,
    .window = gs__station_window,
    .report = report,
    .release = gs__station_release,
    .series = gs__station_series,
    .sample = gs__station_sample,
};
