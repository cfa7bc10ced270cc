/* Every component type a scenario may name, looked up by its YAML "type". */
#include <string.h>

#include "sim/component.h"

extern const gs_component_type gs_gateway_type;
extern const gs_component_type gs_service_type;
extern const gs_component_type gs_router_type;
extern const gs_component_type gs_load_balancer_type;
extern const gs_component_type gs_external_type;
extern const gs_component_type gs_cache_type;
extern const gs_component_type gs_fallback_type;
extern const gs_component_type gs_gpu_pool_type;
extern const gs_component_type gs_broker_type;
extern const gs_component_type gs_workers_type;

static const gs_component_type *const types[] = {&gs_gateway_type, &gs_service_type,
                                                  &gs_router_type, &gs_load_balancer_type,
                                                  &gs_external_type, &gs_cache_type,
                                                  &gs_fallback_type,
                                                  &gs_gpu_pool_type, &gs_broker_type,
                                                  &gs_workers_type};

const char *const gs_component_names[] = {"gateway", "service", "router", "load_balancer",
                                             "external", "cache", "fallback",
                                             "gpu_pool", "broker", "workers", NULL};

const gs_component_type *gs_component_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(types[i]->name, name) == 0)
            return types[i];
    return NULL;
}
