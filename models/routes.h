/* Class routing tables, shared by the router and the gateway's `routes`:
 * a list [{class, to}] read into a table indexed by request class. Used by
 * the files of models/ only. */
#ifndef GS_MODELS_ROUTES_H
#define GS_MODELS_ROUTES_H

#include <stddef.h>
#include <stdint.h>
#include "sim/component.h"

#define GS_ROUTE_NONE UINT32_MAX

typedef struct gs_routes {
    size_t    nclasses;
    uint32_t *to;        /* per class: target component, or GS_ROUTE_NONE */
} gs_routes;

/* Read seq (a sequence of {class, to} mappings) into rt, recording each
 * target as an edge of cc. Errors at the offending node: not a sequence,
 * unknown keys, a class no workload sends, a class routed twice, a missing
 * component. On failure rt needs gs__routes_release() only. */
int gs__routes_configure(gs_routes *rt, gs_comp_conf *cc, gs_build *b, gs_node *seq,
                         gs_diag *d);

void gs__routes_release(gs_routes *rt);

/* The target of class cls, or GS_ROUTE_NONE. */
static inline uint32_t gs__routes_find(const gs_routes *rt, uint32_t cls)
{
    return cls < rt->nclasses ? rt->to[cls] : GS_ROUTE_NONE;
}

#endif
