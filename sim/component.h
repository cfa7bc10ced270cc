/* The contract between the engine and the components (SPEC §2 types).
 *
 * A component type is a const table of behaviour. The scenario is configured
 * once (configure: YAML node -> read-only conf shared by every replication);
 * each replication then gets its own instance state (start/handle/report).
 * Components never call each other: they act only through the gs_ctx
 * functions of sim/engine.h, which route everything through the calendar. */
#ifndef GS_SIM_COMPONENT_H
#define GS_SIM_COMPONENT_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>
#include "types.h"

typedef struct gs_comp_conf gs_comp_conf;
typedef struct gs_metrics gs_metrics;
typedef struct gs_build gs_build;

/* Event kinds 0 and 1 are the engine's: "a request arrives" (ev->req) and
 * "the reply to an attempt I sent" (ev->req is the attempt, ev->arg its
 * gs_outcome; see gs_attempt()). Components number their own timer kinds
 * from GS_EV_USER. */
#define GS_EV_REQUEST 0u
#define GS_EV_REPLY 1u
#define GS_EV_USER 2u

typedef struct gs_component_type {
    const char *name;                 /* the YAML "type:" value */
    const char *const *keys;          /* every key its mapping may have, "type" included */
    size_t conf_size;                 /* zeroed block for configure */
    size_t state_size;                /* zeroed block per replication */
    /* Read cc->node into cc->conf. References to other components go
     * through gs_build_ref() so that loops can be detected. */
    int  (*configure)(gs_comp_conf *cc, gs_build *b, gs_diag *d);
    void (*conf_release)(gs_comp_conf *cc);                  /* may be NULL */
    /* Initialise c->state for a replication; may schedule events. GS_OK or
     * GS_ENOMEM. */
    int  (*start)(gs_component *c, gs_ctx *ctx);
    void (*handle)(gs_component *c, gs_ctx *ctx, gs_event *ev);
    /* The observation window [warmup, duration) opens (open = 1) or closes
     * (open = 0): reset or freeze time averages and counters. */
    void (*window)(gs_component *c, gs_ctx *ctx, int open);
    /* Per-replication metrics of the component, in a fixed order. */
    void (*report)(const gs_component *c, const gs_ctx *ctx, gs_metrics *m);
    void (*release)(gs_component *c);                        /* may be NULL */
    /* Optional (NULL for none), for the time series of results.h5: the
     * names of the values the type samples (NULL-terminated, e.g. "queue",
     * "up"), and those values now, written to out in that order. */
    const char *const *series;
    void (*sample)(const gs_component *c, const gs_ctx *ctx, double *out);
} gs_component_type;

/* A declared component, as configured (shared read-only by replications). */
struct gs_comp_conf {
    char                    *id;
    uint32_t                 index;
    const gs_component_type *type;
    gs_node                 *node;     /* its mapping in the scenario */
    void                    *conf;     /* type->conf_size bytes */
    /* Components it may send requests to, with the node naming each (for
     * loop messages). */
    size_t    nedges;
    uint32_t *edges;
    gs_node **edge_nodes;
};

/* A component of one replication. */
struct gs_component {
    const gs_comp_conf      *cc;
    const gs_component_type *type;
    const void              *conf;
    void                    *state;
    uint32_t                 index;
    gsl_rng                 *rng;      /* stream (seed, replication, id) */
    gsl_rng                 *net_rng;  /* stream (seed, replication, id + "/net") */
};

/* Resolve the component named by scalar node ref (e.g. a `next:` value) and
 * record the edge cc -> it. Errors: not a scalar, or no such component
 * ("next: no component named 'svc2' (did you mean 'svc'?)"). */
int gs_build_ref(gs_build *b, gs_comp_conf *cc, gs_node *ref, const char *what,
                 uint32_t *index, gs_diag *d);

/* The type of component `index` (types are known before any component is
 * configured), for references that must name a component of one kind. */
const gs_component_type *gs_build_type(const gs_build *b, uint32_t index);

/* The document being configured (for gs_cfg_* default insertion). */
gs_doc *gs_build_doc(gs_build *b);

/* The index of the request class named by scalar node n (a workload's
 * `class`), for routing tables. A class no workload sends is an error at n
 * ("no workload sends class 'infrence' (did you mean 'inference'?)").
 * *nclasses gets the number of classes. */
int gs_build_class(gs_build *b, const gs_node *n, uint32_t *index, size_t *nclasses,
                   gs_diag *d);

/* Append one metric value; name must be a string literal or live as long as
 * the run. */
void gs_metric(gs_metrics *m, const char *name, double value);

/* Registry of component types (models/registry.c). */
const gs_component_type *gs_component_lookup(const char *name);
extern const char *const gs_component_names[];

#endif
