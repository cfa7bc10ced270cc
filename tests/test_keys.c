/* Workload keys {count, zipf}: the alias table draws key k with probability
 * k^-s / H(count, s); checked on the most popular keys within five standard
 * errors, and bad settings are reported at their position. */
#include <gsl/gsl_randist.h>
#include <math.h>
#include <string.h>

#include "sim/error.h"
#include "sim/rng.h"
#include "sim/scenario.h"
#include "tests/check.h"

static void frequencies(double s)
{
    char yaml[512];
    snprintf(yaml, sizeof yaml,
             "simulation: {duration: 1s}\n"
             "workload: [{name: a, arrivals: {process: poisson, rate: 1/s}, entry: g,\n"
             "            keys: {count: 1000, zipf: %g}}]\n"
             "components: {g: {type: gateway, service: 1ms}}\n", s);
    gs_diag d;
    gs_diag_init(&d);
    gs_scenario *sc;
    CHECK_EQ(gs_scenario_load_string(yaml, "t.yaml", NULL, 0, &sc, &d), GS_OK);
    if (d.code)
        return;
    const gs_workload *w = &sc->workloads[0];
    CHECK(w->keys != NULL);
    double h = 0;
    for (int k = 1; k <= 1000; k++)
        h += pow(k, -s);
    enum { N = 200000, TOP = 5 };
    long count[TOP + 1] = {0};
    gsl_rng *r = gs_rng_new(3, 0, "keys");
    long outside = 0;
    for (int i = 0; i < N; i++) {
        size_t k = 1 + gsl_ran_discrete(r, w->keys);
        if (k > 1000)
            outside++;
        else if (k <= TOP)
            count[k]++;
    }
    CHECK_EQ(outside, 0);
    for (int k = 1; k <= TOP; k++) {
        double p = pow(k, -s) / h;
        CHECK_NEAR((double)count[k] / N, p, 5 * sqrt(p * (1 - p) / N));
    }
    gsl_rng_free(r);
    gs_scenario_free(sc);
}

static void bad(const char *keys, const char *pos, const char *phrase)
{
    char yaml[512];
    snprintf(yaml, sizeof yaml,
             "simulation: {duration: 1s}\n"
             "workload: [{name: a, arrivals: {process: poisson, rate: 1/s}, entry: g,\n"
             "            keys: %s}]\n"
             "components: {g: {type: gateway, service: 1ms}}\n", keys);
    gs_diag d;
    gs_diag_init(&d);
    gs_scenario *sc = NULL;
    CHECK_EQ(gs_scenario_load_string(yaml, "t.yaml", NULL, 0, &sc, &d), GS_EINVAL);
    if (!strstr(d.msg, pos) || !strstr(d.msg, phrase)) {
        fprintf(stderr, "message lacks '%s' / '%s': %s\n", pos, phrase, d.msg);
        CHECK(0);
    }
    gs_scenario_free(sc);
}

int main(void)
{
    frequencies(0.0);
    frequencies(1.1);
    frequencies(2.0);
    bad("{count: 0, zipf: 1}", "t.yaml:3:27:", "count: must be between 1");
    bad("{count: 10, zipf: -1}", "t.yaml:3:37:", "zipf: must be between 0");
    bad("{cout: 10}", "t.yaml:3:20:", "did you mean 'count'");
    bad("{zipf: 1}", "t.yaml:3:19:", "missing required key 'count'");
    return CHECK_DONE();
}
