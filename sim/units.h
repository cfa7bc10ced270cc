/* Values with units, as SPEC §2 writes them, and typed getters for scenario
 * keys that report errors at the value's position and insert defaults into
 * the tree (so that `gatesim check` prints them).
 *
 * Times: "250us", "5ms", "2s", "10m", "1h", "100ns", or a bare number of
 * seconds. Rates: "800/s", "50/ms", "3000/m", "10/h", or a bare number per
 * second. NaN and infinities are always rejected. */
#ifndef GS_SIM_UNITS_H
#define GS_SIM_UNITS_H

#include "types.h"

typedef struct gs_doc gs_doc;

/* Parse text; return 0 and set *seconds, or -1 when it is not a finite time
 * (negative times parse; callers check ranges). */
int gs_parse_time(const char *text, double *seconds);
/* Parse text; return 0 and set *per_s, or -1 when it is not a finite rate. */
int gs_parse_rate(const char *text, double *per_s);

/* Scalar node readers. Each fails with GS_EINVAL and a message at the node
 * naming what was expected and what was found (e.g. "expected a time such as
 * 250us, 5ms, 2s, 10m or 1h, or a number of seconds, got 'fast'"). what names
 * the key for the message (e.g. "servers"). */
int gs_node_seconds(const gs_node *n, const char *what, double *out, gs_diag *d);
int gs_node_rate(const gs_node *n, const char *what, double *out, gs_diag *d);
int gs_node_long(const gs_node *n, const char *what, long *out, gs_diag *d);
int gs_node_double(const gs_node *n, const char *what, double *out, gs_diag *d);
int gs_node_bool(const gs_node *n, const char *what, int *out, gs_diag *d);
/* *out points into the node (lives as long as the document). */
int gs_node_str(const gs_node *n, const char *what, const char **out, gs_diag *d);

/* Getters for a key of a mapping. When the key is absent: with dflt != NULL,
 * a scalar dflt is inserted into map (marked is_default) and parsed; with
 * dflt == NULL the error is "missing required key 'KEY' in WHAT" at the
 * mapping's position. */
int gs_cfg_seconds(gs_doc *doc, gs_node *map, const char *key, const char *dflt,
                   double *out, gs_diag *d);
int gs_cfg_rate(gs_doc *doc, gs_node *map, const char *key, const char *dflt,
                double *out, gs_diag *d);
int gs_cfg_long(gs_doc *doc, gs_node *map, const char *key, const char *dflt,
                long *out, gs_diag *d);
int gs_cfg_double(gs_doc *doc, gs_node *map, const char *key, const char *dflt,
                  double *out, gs_diag *d);
int gs_cfg_bool(gs_doc *doc, gs_node *map, const char *key, const char *dflt,
                int *out, gs_diag *d);
int gs_cfg_str(gs_doc *doc, gs_node *map, const char *key, const char *dflt,
               const char **out, gs_diag *d);

#endif
