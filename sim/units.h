/* Values with units, as SPEC §2 writes them, and typed getters for scenario
 * keys that report errors at the value's position and insert defaults into
 * the tree (so that `gatesim check` prints them).
 *
 * Times: "250us", "5ms", "2s", "10m", "1h", "100ns", or a bare number of
 * seconds. Rates: "800/s", "50/ms", "3000/m", "10/h", or a bare number per
 * second. NaN and infinities are always rejected. */
#ifndef GS_SIM_UNITS_H
#define GS_SIM_UNITS_H

#include <stdint.h>
#include "types.h"

typedef struct gs_doc gs_doc;

/* The longest time a scenario may give, in seconds: whole seconds of the
 * int64 nanosecond clock (gs_time). A longer one is refused, not clamped. */
#define GS_SECONDS_MAX 9223372036.0

/* Parse text; return 0 and set *seconds, or -1 when it is not a finite time
 * (negative times parse; callers check ranges). A decimal number (optional
 * sign, fraction, exponent; no hex, inf or nan), optional blanks, then a unit:
 * ns, us (or µs), ms, s, m or min (minutes), h; no unit means seconds.
 * Overflow (1e999s, 1e307h) is -1; underflow is 0. *seconds is untouched on
 * failure. */
int gs_parse_time(const char *text, double *seconds);
/* Parse text; return 0 and set *per_s, or -1 when it is not a finite rate:
 * a number as for gs_parse_time, then optionally "/UNIT" with a time unit
 * above (800/s, 50/ms, 3000/m, 6/min, 10/h); no unit means per second. */
int gs_parse_rate(const char *text, double *per_s);

/* Scalar node readers. Each fails with GS_EINVAL and a message at the node
 * naming what was expected and what was found, e.g.
 *   "duration: expected a time such as 250us, 5ms, 2s, 10m or 1h (or a number
 *    of seconds), got 'fast'"
 * what names the key for the message (e.g. "servers"). Every reader fails
 * with "KEY: expected a scalar value, found a mapping" for a collection and,
 * except gs_node_str, with "KEY: missing value; expected ..." for an empty or
 * null scalar (or a NULL node); gs_node_str fails with "KEY: expected a
 * string, got nothing (a YAML null)" for a plain (unquoted) null scalar (~,
 * null, empty; a quoted "~" is the string). Ranges: seconds >= 0 ("KEY:
 * must be >= 0, got -2s") and at most GS_SECONDS_MAX ("KEY: at most
 * 9223372036s (292 years), got 1e10s"), rate > 0 ("KEY: must be > 0, got 0/s"), long: a decimal integer in
 * the range of long ("4.0" is not one), double: finite, bool: true/false,
 * yes/no, on/off in any case. Quoted scalars are read the same way. */
int gs_node_seconds(const gs_node *n, const char *what, double *out, gs_diag *d);
/* The same for a time that must be > 0: 0 and negative times both fail with
 * "KEY: must be > 0, got -1s". */
int gs_node_seconds_pos(const gs_node *n, const char *what, double *out, gs_diag *d);
int gs_node_rate(const gs_node *n, const char *what, double *out, gs_diag *d);
int gs_node_long(const gs_node *n, const char *what, long *out, gs_diag *d);
int gs_node_double(const gs_node *n, const char *what, double *out, gs_diag *d);
int gs_node_bool(const gs_node *n, const char *what, int *out, gs_diag *d);
/* *out points into the node (lives as long as the document). */
int gs_node_str(const gs_node *n, const char *what, const char **out, gs_diag *d);

/* Getters for a key of a mapping. When the key is absent: with dflt != NULL,
 * a scalar dflt is inserted into map (marked is_default, placed like map) and
 * parsed, so gs_map_get() finds it afterwards; with dflt == NULL the error is
 * "missing required key 'KEY'" at the mapping's position (or naming the
 * override when the mapping came from --set). GS_ENOMEM when the insertion
 * fails. A map that is not a mapping is an error at its position. */
/* The node of key in map, any kind: when absent, a scalar dflt is inserted
 * (dflt == NULL: "missing required key"). For values parsed by their own
 * reader, such as distributions. */
int gs_cfg_node(gs_doc *doc, gs_node *map, const char *key, const char *dflt,
                gs_node **out, gs_diag *d);

int gs_cfg_seconds(gs_doc *doc, gs_node *map, const char *key, const char *dflt,
                   double *out, gs_diag *d);
int gs_cfg_seconds_pos(gs_doc *doc, gs_node *map, const char *key, const char *dflt,
                       double *out, gs_diag *d);
int gs_cfg_rate(gs_doc *doc, gs_node *map, const char *key, const char *dflt,
                double *out, gs_diag *d);
int gs_cfg_long(gs_doc *doc, gs_node *map, const char *key, const char *dflt,
                long *out, gs_diag *d);
/* An integer in [lo, hi] (0 <= lo <= hi <= UINT32_MAX), else "KEY: must be
 * between LO and HI, got V" at the value. */
int gs_cfg_u32_range(gs_doc *doc, gs_node *map, const char *key, const char *dflt, long lo,
                     long hi, uint32_t *out, gs_diag *d);
int gs_cfg_double(gs_doc *doc, gs_node *map, const char *key, const char *dflt,
                  double *out, gs_diag *d);
int gs_cfg_bool(gs_doc *doc, gs_node *map, const char *key, const char *dflt,
                int *out, gs_diag *d);
int gs_cfg_str(gs_doc *doc, gs_node *map, const char *key, const char *dflt,
               const char **out, gs_diag *d);

#endif
