/* The request record and its outcomes (SPEC §3).
 *
 * A request is created by a workload source when a client sends it and is
 * owned by the engine. Components borrow it while they hold it and pass it
 * on with gs_send(), or end it with gs_answer(). The client's verdict
 * (outcome) may come before a component lets go of it, e.g. when the
 * deadline passes while it waits: the request is then "abandoned" and still
 * travels on until some component answers it, because real servers do not
 * notice that the caller left; that answer is thrown away. */
#ifndef GS_SIM_REQUEST_H
#define GS_SIM_REQUEST_H

#include <stdint.h>
#include "calendar.h"
#include "types.h"

#define GS_OUTCOME_LIST(X) \
    X(GS_OUT_OK, "ok")             \
    X(GS_OUT_FALLBACK, "fallback") \
    X(GS_OUT_DEGRADED, "degraded") \
    X(GS_OUT_ERROR, "error")       \
    X(GS_OUT_TIMEOUT, "timeout")   \
    X(GS_OUT_REJECTED, "rejected")

typedef enum gs_outcome {
#define GS_OUTCOME_ENUM(name, text) name,
    GS_OUTCOME_LIST(GS_OUTCOME_ENUM)
#undef GS_OUTCOME_ENUM
    GS_OUT_COUNT
} gs_outcome;

/* "ok", "fallback", ... */
const char *gs_outcome_name(gs_outcome o);

/* 1 for the outcomes that count as answered (ok, fallback, degraded). */
static inline int gs_outcome_answered(gs_outcome o)
{
    return o == GS_OUT_OK || o == GS_OUT_FALLBACK || o == GS_OUT_DEGRADED;
}

struct gs_request {
    uint64_t id;            /* per replication, in order of creation */
    gs_time  t_arrival;     /* the client sent it */
    gs_time  t_deadline;    /* GS_TIME_MAX when none */
    gs_time  t_enter;       /* entered the component that holds it */
    gs_timer deadline;      /* client's deadline timer */
    uint64_t key;           /* query key 1..count (workload keys); 0 when none */
    uint32_t source;        /* component index of its workload source */
    uint32_t cls;           /* request class index */
    uint32_t user;          /* closed workloads: the user who sent it */
    uint32_t hops;          /* edges traversed so far (the answer goes back over them) */
    uint32_t prompt_tokens;
    uint32_t output_tokens;
    uint32_t slot;          /* component-private: e.g. the instance serving it */
    uint32_t caller;        /* attempts: the component waiting for the reply */
    gs_request *parent;     /* attempts: the request it is an attempt of */
    uint8_t  counted;       /* arrived in [warmup, duration): in the statistics */
    uint8_t  done;          /* the client (or, for an attempt, the caller) no longer waits */
    uint8_t  outcome;       /* gs_outcome, valid when done */
    uint8_t  attempt;       /* 1: an attempt, whose answer goes back to `caller` */
    uint8_t  probe;         /* 1: a health-check probe (an attempt with no parent) */
    uint8_t  peek;          /* 1: asks a cache for a stale answer only (ok on a hit, error
                             * on a miss; never sent on) */
    /* Set by a GPU pool through gs_mark_token() on the request the client
     * sent (never on an attempt): when its first and its last output token
     * were produced, for ttft_* and tpot_*; 0 when none was (every pass of a
     * pool takes at least 1ns, so a mark is never 0). */
    gs_time  t_first_token;
    gs_time  t_last_token;
};

#endif
