/* The API gateway: one multi-server queueing station doing the per-request
 * processing (authentication, validation) before it forwards each request
 * to `next`, or answers it when it has none. */
#include "station.h"

static const char *const keys[] = {
    "type", "servers", "capacity", "service", "next", "rate_limit", "routes", "failures",
    "outages", "slowdowns", NULL};

static int configure(gs_comp_conf *cc, gs_build *b, gs_diag *d)
{
    return gs__station_configure(cc->conf, cc, b, 0, d);
}

const gs_component_type gs_gateway_type = {
    .name = "gateway",
    .keys = keys,
    .conf_size = sizeof(gs_station_conf),
    .state_size = sizeof(gs_station),
    .configure = configure,
    .conf_release = gs__station_conf_release,
    .start = gs__station_start,
    .handle = gs__station_handle,
    .window = gs__station_window,
    .report = gs__station_report,
    .release = gs__station_release,
};
