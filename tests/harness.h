/* Scenario-level helpers for test programs: load YAML text, run one
 * replication, look up a metric, and check that a bad scenario fails with
 * the expected position and phrase. Metric names point into their scenario,
 * so every scenario loaded here lives until harness_done(). */
#ifndef GS_TESTS_HARNESS_H
#define GS_TESTS_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sim/engine.h"
#include "sim/error.h"
#include "sim/scenario.h"
#include "tests/check.h"

static gs_scenario *harness_loaded[256];
static size_t harness_nloaded;

/* The scenario of yaml (source name "t.yaml"), or NULL with the message
 * printed. */
static inline gs_scenario *harness_load(const char *yaml)
{
    gs_diag d;
    gs_diag_init(&d);
    gs_scenario *sc;
    if (gs_scenario_load_string(yaml, "t.yaml", NULL, 0, &sc, &d) != GS_OK) {
        fprintf(stderr, "%s\n", d.msg);
        return NULL;
    }
    /* A test that loads more than this must free its own; CHECK says so. */
    CHECK(harness_nloaded < sizeof harness_loaded / sizeof harness_loaded[0]);
    if (harness_nloaded < sizeof harness_loaded / sizeof harness_loaded[0])
        harness_loaded[harness_nloaded++] = sc;
    return sc;
}

/* Run replication rep of sc into m (zeroed here; the caller releases it). */
static inline int harness_run_sc(const gs_scenario *sc, uint64_t rep, gs_metrics *m)
{
    gs_diag d;
    gs_diag_init(&d);
    memset(m, 0, sizeof *m);
    int rc = gs_run_replication(sc, rep, m, NULL, NULL, &d);
    if (rc)
        fprintf(stderr, "%s\n", d.msg);
    return rc;
}

/* Load yaml and run its replication rep into m. */
static inline int harness_run(const char *yaml, uint64_t rep, gs_metrics *m)
{
    gs_scenario *sc = harness_load(yaml);
    if (!sc) {
        memset(m, 0, sizeof *m);
        return GS_EINVAL;
    }
    return harness_run_sc(sc, rep, m);
}

/* The value of component.name in m, or NaN (reported) when absent. */
static inline double harness_metric(const gs_metrics *m, const char *component, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->v[i].component, component) && !strcmp(m->v[i].name, name))
            return m->v[i].value;
    fprintf(stderr, "no metric %s.%s\n", component, name);
    return NAN;
}

/* yaml must fail with GS_EINVAL and a message holding pos ("t.yaml:L:C:")
 * and phrase. */
static inline void harness_bad(const char *yaml, const char *pos, const char *phrase)
{
    gs_diag d;
    gs_diag_init(&d);
    gs_scenario *sc = NULL;
    int rc = gs_scenario_load_string(yaml, "t.yaml", NULL, 0, &sc, &d);
    CHECK_EQ(rc, GS_EINVAL);
    if (rc == GS_OK)
        gs_scenario_free(sc);
    if (!strstr(d.msg, pos) || !strstr(d.msg, phrase)) {
        fprintf(stderr, "message lacks '%s' / '%s': %s\n", pos, phrase, d.msg);
        CHECK(0);
    }
}

static inline void harness_done(void)
{
    for (size_t i = 0; i < harness_nloaded; i++)
        gs_scenario_free(harness_loaded[i]);
    harness_nloaded = 0;
}

#endif
