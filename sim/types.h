/* Basic engine types shared by every module: simulated time and forward
 * declarations of the engine's structs. */
#ifndef GS_SIM_TYPES_H
#define GS_SIM_TYPES_H

#include <stdint.h>

/* Simulated time in integer nanoseconds: exact ordering, no rounding drift,
 * and 292 years of range. Seconds appear only when parsing and printing. */
typedef int64_t gs_time;

#define GS_NS_PER_S 1000000000.0
#define GS_TIME_MAX INT64_MAX

/* Convert seconds to gs_time, rounding to the nearest nanosecond and
 * saturating at GS_TIME_MAX. */
static inline gs_time gs_time_from_s(double s)
{
    double ns = s * GS_NS_PER_S + 0.5;
    if (ns >= 9.2e18)
        return GS_TIME_MAX;
    if (ns <= 0.0)
        return 0;
    return (gs_time)ns;
}

static inline double gs_time_to_s(gs_time t) { return (double)t / GS_NS_PER_S; }

/* t + d for t, d >= 0, saturating at GS_TIME_MAX: a heavy-tailed draw of
 * centuries must not wrap the clock around to the past. */
static inline gs_time gs_time_add(gs_time t, gs_time d)
{
    return d > GS_TIME_MAX - t ? GS_TIME_MAX : t + d;
}

typedef struct gs_node gs_node;
typedef struct gs_doc gs_doc;
typedef struct gs_diag gs_diag;
typedef struct gs_event gs_event;
typedef struct gs_calendar gs_calendar;
typedef struct gs_request gs_request;
typedef struct gs_component gs_component;
typedef struct gs_ctx gs_ctx;
typedef struct gs_world gs_world;
typedef struct gs_scenario gs_scenario;

#endif
