/* A microservice: `instances` replicas, each a multi-server queueing
 * station with its own queue; arrivals are spread over the replicas by
 * `balance` (round_robin by default). Each request goes on to `next` or is
 * answered. */
#include "station.h"

static const char *const keys[] = {
    "type", "instances", "balance", "servers", "capacity", "service", "next", "failures",
    "outages", "slowdowns", NULL};

static int configure(gs_comp_conf *cc, gs_build *b, gs_diag *d)
{
    return gs__station_configure(cc->conf, cc, b, 1, d);
}

const gs_component_type gs_service_type = {
    .name = "service",
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
    .series = gs__station_series,
    .sample = gs__station_sample,
};
