/* Sweep files and their work items: the grid's points in order (first key
 * outermost, zip groups varying together), values and units, the item
 * mapping, errors placed in the sweep file, the fingerprint, and running:
 * the same bits on 1 and 2 threads, each point equal to the base loaded
 * with --set, and a journaled sweep resumed without running anything. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/alloc.h"
#include "sim/error.h"
#include "sim/replicate.h"
#include "sim/scenario.h"
#include "sim/sweep.h"
#include "sim/sweep_run.h"
#include "tests/check.h"

static char dir[] = "test_sweep.XXXXXX";

static const char *base_yaml =
    "name: mm1\n"
    "simulation: {duration: 20s, warmup: 2s, replications: 3, seed: 5}\n"
    "workload: [{name: a, arrivals: {process: poisson, rate: 400/s}, entry: gw}]\n"
    "components:\n"
    "  gw: {type: gateway, servers: 1, service: {dist: exponential, mean: 2ms}}\n";

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Load sweep text (written as DIR/name) with the given options. */
static int load(const char *name, const char *text, long reps, gs_sweep **sw, gs_diag *d)
{
    write_file(name, text);
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    gs_diag_init(d);
    return gs_sweep_load(path, NULL, 0, reps, -1, 2, sw, d);
}

static void test_grid(void)
{
    gs_sweep *sw;
    gs_diag d;
    int rc = load("grid.yaml",
                  "base: base.yaml\n"
                  "grid:\n"
                  "  workload.a.arrivals.rate: [100/s, 200/s, 300/s]\n"
                  "  components.gw.servers: [1, 2]\n"
                  "zip:\n"
                  "  components.gw.service.mean: [1ms, 2ms]\n"
                  "  components.gw.capacity: [10, 20]\n"
                  "replications: 2\n",
                  0, &sw, &d);
    CHECK_EQ(rc, GS_OK);
    if (rc) {
        fprintf(stderr, "%s\n", d.msg);
        return;
    }
    CHECK(strcmp(sw->name, "grid") == 0);
    CHECK_EQ(sw->nparams, 4);
    CHECK_EQ(sw->npoints, 3 * 2 * 2);
    CHECK_EQ(sw->nitems, 12 * 2);
    CHECK_EQ(sw->bases[0].nrep, 2);
    /* First key outermost, the zip group last and in step. */
    CHECK(strcmp(sw->text_of[0 * 4 + 0], "100/s") == 0);
    CHECK(strcmp(sw->text_of[1 * 4 + 2], "2ms") == 0);
    CHECK(strcmp(sw->text_of[1 * 4 + 3], "20") == 0);
    CHECK(strcmp(sw->text_of[2 * 4 + 1], "2") == 0);
    CHECK(strcmp(sw->text_of[4 * 4 + 0], "200/s") == 0);
    CHECK(strcmp(sw->text_of[11 * 4 + 0], "300/s") == 0);
    for (size_t p = 0; p < sw->npoints; p++)
        CHECK((strcmp(sw->text_of[p * 4 + 2], "1ms") == 0) ==
              (strcmp(sw->text_of[p * 4 + 3], "10") == 0));
    /* Numbers in SI units, and the units. */
    CHECK_NEAR(sw->num[4 * 4 + 0], 200, 0);
    CHECK_NEAR(sw->num[1 * 4 + 2], 0.002, 1e-15);
    CHECK(strcmp(sw->param_unit[0], "1/s") == 0);
    CHECK(strcmp(sw->param_unit[1], "") == 0);
    CHECK(strcmp(sw->param_unit[2], "s") == 0);
    /* Items: base, point, replication. */
    size_t b, p;
    long r;
    gs_sweep_item(sw, 5, &b, &p, &r);
    CHECK(b == 0 && p == 2 && r == 1);
    /* A point's scenario has its values. */
    gs_scenario *sc;
    CHECK_EQ(gs_sweep_scenario(sw, 0, 5, &sc, &d), GS_OK);
    CHECK_NEAR(sc->workloads[0].rate, 200, 1e-12);
    CHECK_EQ(sc->replications, 2);
    CHECK_EQ(sc->seed, 5);
    gs_scenario_free(sc);
    uint64_t fp = sw->fingerprint;
    gs_sweep_free(sw);

    /* The same sweep reformatted has the same fingerprint; another value,
     * another fingerprint; -r overrides the file. */
    CHECK_EQ(load("grid2.yaml",
                  "base: base.yaml   # a comment\n"
                  "replications: 2\n"
                  "grid: {workload.a.arrivals.rate: [100/s, 200/s, 300/s],\n"
                  "       components.gw.servers: [1, 2]}\n"
                  "zip: [{components.gw.service.mean: [1ms, 2ms],\n"
                  "       components.gw.capacity: [10, 20]}]\n",
                  0, &sw, &d),
             GS_OK);
    CHECK(sw && sw->fingerprint == fp);
    gs_sweep_free(sw);
    CHECK_EQ(load("grid3.yaml",
                  "base: base.yaml\n"
                  "replications: 2\n"
                  "grid: {workload.a.arrivals.rate: [100/s, 200/s, 301/s],\n"
                  "       components.gw.servers: [1, 2]}\n"
                  "zip: [{components.gw.service.mean: [1ms, 2ms],\n"
                  "       components.gw.capacity: [10, 20]}]\n",
                  0, &sw, &d),
             GS_OK);
    CHECK(sw && sw->fingerprint != fp);
    gs_sweep_free(sw);
    CHECK_EQ(load("grid2.yaml", "base: base.yaml\nreplications: 2\ngrid: {components.gw.servers: [1]}\n",
                  7, &sw, &d),
             GS_OK);
    CHECK(sw && sw->bases[0].nrep == 7 && sw->nitems == 7);
    gs_sweep_free(sw);
}

/* What the checks before running let through: a value that is not a list
 * is one point, under grid and zip alike; paths that share a beginning but
 * name different values; a plotted metric that only a later point reports
 * (a gateway gets a rate limit, and with it rejected_ratio). */
static void test_accepted(void)
{
    gs_sweep *sw;
    gs_diag d;
    uint64_t fp = 0;
    CHECK_EQ(load("scalar.yaml", "base: base.yaml\ngrid: {components.gw.servers: 2}\n", 1,
                  &sw, &d),
             GS_OK);
    CHECK(sw && sw->npoints == 1 && strcmp(sw->text_of[0], "2") == 0);
    if (sw)
        fp = sw->fingerprint;
    gs_sweep_free(sw);
    CHECK_EQ(load("scalar.yaml", "base: base.yaml\nzip: {components.gw.servers: 2}\n", 1, &sw,
                  &d),
             GS_OK);
    CHECK(sw && sw->npoints == 1 && sw->fingerprint == fp);
    gs_sweep_free(sw);
    CHECK_EQ(load("zip1.yaml",
                  "base: base.yaml\nzip: {components.gw.servers: 2, components.gw.capacity: [9]}\n",
                  1, &sw, &d),
             GS_OK);
    CHECK(sw && sw->npoints == 1 && sw->nparams == 2);
    gs_sweep_free(sw);
    int rc = load("near.yaml",
                  "base: base.yaml\n"
                  "grid:\n"
                  "  components.gw.service: [{dist: exponential, mean: 1ms}]\n"
                  "  components.gw.servers: [1, 2]\n"
                  "  components.gw.rate_limit: [{rate: 1000000/s}]\n"
                  "  workload.a.deadline: [1s]\n"
                  "  workload.a.arrivals.rate: [100/s]\n",
                  1, &sw, &d);
    CHECK_EQ(rc, GS_OK);
    if (rc)
        fprintf(stderr, "%s\n", d.msg);
    gs_sweep_free(sw);
    rc = load("later.yaml",
              "base: base.yaml\n"
              "grid:\n"
              "  components.gw: [{type: gateway, service: 1ms},\n"
              "                  {type: gateway, service: 1ms, rate_limit: {rate: 50/s}}]\n"
              "plots: [gw/rejected_ratio, ok_ratio]\n",
              1, &sw, &d);
    CHECK_EQ(rc, GS_OK);
    if (rc)
        fprintf(stderr, "%s\n", d.msg);
    gs_sweep_free(sw);
    rc = load("later.yaml",
              "base: base.yaml\n"
              "grid:\n"
              "  components.gw: [{type: gateway, service: 1ms}, {type: gateway, service: 2ms}]\n"
              "plots: [gw/rejected_ratio]\n",
              1, &sw, &d);
    CHECK_EQ(rc, GS_EINVAL);
    CHECK(sw == NULL && strstr(d.msg, "later.yaml:4:9: plots: no base reports"));
}

/* Each bad sweep fails with GS_EINVAL and a message that starts with the
 * sweep file's name and the position given. */
static void test_errors(void)
{
    static const struct {
        const char *text, *pos, *phrase;
    } cases[] = {
        {"base: base.yaml\ngrid: {components.gw.servers: [1, 0]}\n", ":2:35:", "servers"},
        {"base: base.yaml\ngrid:\n  components.gw.servers: [1, two]\n", ":3:30:", "integer"},
        {"base: base.yaml\ngrid:\n  workload.b.arrivals.rate: [1/s]\n", ":3:3:",
         "no workload item named 'b'"},
        {"base: base.yaml\ngrid:\n  workload.5.arrivals.rate: [1/s]\n", ":3:3:",
         "out of range"},
        {"base: base.yaml\ngrid:\n  components.gw.servers: []\n", ":3:26:", "no values"},
        {"base: base.yaml\nzip:\n  components.gw.servers: [1, 2]\n"
         "  components.gw.capacity: [5]\n", ":4:27:", "as many values"},
        {"base: base.yaml\ngrid:\n  components.gw.servers: [1]\n"
         "  components.gw.servers: [2]\n", ":4:3:", "duplicate key"},
        {"base: base.yaml\ngrid:\n  components.gw.servers: [1]\nzip:\n"
         "  components.gw.servers: [2]\n", ":5:3:", "already a parameter"},
        {"base: nope.yaml\ngrid: {components.gw.servers: [1]}\n", ":1:7:", "cannot read"},
        {"grid: {components.gw.servers: [1]}\n", ":1:1:", "missing required key 'base'"},
        {"base: base.yaml\n", ":1:1:", "at least one parameter"},
        {"base: base.yaml\nreplications: -1\ngrid: {components.gw.servers: [1]}\n", ":2:15:",
         "between 1 and"},
        {"base: base.yaml\nseed: x\ngrid: {components.gw.servers: [1]}\n", ":2:7:", "seed"},
        {"base: base.yaml\nplots: latency\ngrid: {components.gw.servers: [1]}\n", ":2:8:",
         "plots"},
        {"base: base.yaml\nname: 'a b'\ngrid: {components.gw.servers: [1]}\n", ":2:7:",
         "name"},
        {"base: [base.yaml, base.yaml]\ngrid: {components.gw.servers: [1]}\n", ":1:19:",
         "both named"},
        {"base: base.yaml\ngrid: {name: [x, y]}\n", ":2:8:", "cannot be a grid parameter"},
        {"base: base.yaml\ngrid:\n  components.gw.servers: [1]\n"
         "  simulation.replications: [2, 3]\n", ":4:3:", "cannot be a grid parameter"},
        {"base: base.yaml\ngrid:\n  components.gw.servers: [1]\n"
         "  simulation: [{duration: 20s, replications: 2}, {duration: 20s, replications: 3}]\n",
         ":4:3:", "replications changes across the grid"},
        {"base: base.yaml\nreplications: 200000\ngrid: {components.gw.servers: [1]}\n",
         ":2:15:", "between 1 and 100000, got 200000"},
        /* One value by two paths: an item by index and by name, or a value
         * inside another parameter's. */
        {"base: base.yaml\ngrid:\n  workload.0.arrivals.rate: [500/s]\n"
         "  workload.a.arrivals.rate: [6/s]\n", ":4:3:",
         "workload.a.arrivals.rate and workload.0.arrivals.rate (line 3) name the same value"},
        {"base: base.yaml\ngrid:\n  workload.a.arrivals: [{process: poisson, rate: 1/s}]\n"
         "zip:\n  workload.00.arrivals.rate: [6/s]\n", ":5:3:", "name overlapping values"},
        {"base: base.yaml\ngrid:\n  components.gw.deadline.x: [1]\n"
         "  components.gw.deadline: [{x: 2}]\n", ":4:3:", "name overlapping values"},
        /* Plots are checked before anything runs. */
        {"base: base.yaml\ngrid: {components.gw.servers: [1]}\nplots: [latency_p99, latncy_p99]\n",
         ":3:22:", "no base reports 'latncy_p99' (did you mean 'latency_p99'?)"},
        {"base: base.yaml\ngrid: {components.gw.servers: [1]}\nplots: [gw/utilisation]\n",
         ":3:9:", "(did you mean 'gw/utilization'?)"},
        {"base: base.yaml\ngrid: {components.gw.servers: [1]}\nplots: [gx/utilization]\n",
         ":3:9:", "no base reports 'gx/utilization'"},
        {"base: base.yaml\ngrid: {simulation.warmup: [1s, 30s]}\n", ":2:32:", "warmup"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gs_sweep *sw = NULL;
        gs_diag d;
        char name[32];
        snprintf(name, sizeof name, "bad%zu.yaml", i);
        int rc = load(name, cases[i].text, 0, &sw, &d);
        CHECK_EQ(rc, GS_EINVAL);
        CHECK(sw == NULL);
        char want[64];
        snprintf(want, sizeof want, "%s%s", name, cases[i].pos);
        int ok = strstr(d.msg, want) && strstr(d.msg, cases[i].phrase);
        CHECK(ok);
        if (!ok)
            fprintf(stderr, "case %zu: want '%s' and '%s' in: %s\n", i, want, cases[i].phrase,
                    d.msg);
    }
}

static int same_outcome(const gs_sweep *sw, const gs_sweep_outcome *a, const gs_sweep_outcome *b)
{
    for (size_t k = 0; k < sw->nbases; k++) {
        const gs_sweep_data *x = &a->base[k], *y = &b->base[k];
        if (x->nmetrics != y->nmetrics)
            return 0;
        size_t n = sw->npoints * (size_t)sw->bases[k].nrep * x->nmetrics;
        if (memcmp(x->values, y->values, n * sizeof *x->values) != 0)
            return 0;
        for (size_t m = 0; m < x->nmetrics; m++)
            if (strcmp(x->component[m], y->component[m]) || strcmp(x->metric[m], y->metric[m]))
                return 0;
    }
    return 1;
}

static void test_run(void)
{
    gs_sweep *sw;
    gs_diag d;
    int rc = load("run.yaml",
                  "base: base.yaml\n"
                  "grid: {workload.a.arrivals.rate: [200/s, 400/s], components.gw.servers: [1, 2]}\n",
                  0, &sw, &d);
    CHECK_EQ(rc, GS_OK);
    if (rc)
        return;
    char journal[128];
    snprintf(journal, sizeof journal, "%s/sweep.journal", dir);
    gs_sweep_outcome one, two, again;
    gs_sweep_run_opts o1 = {1, NULL, 0, NULL, NULL};
    gs_sweep_run_opts o2 = {2, journal, 0, NULL, NULL};
    CHECK_EQ(gs_sweep_run(sw, &o1, &one, &d), GS_OK);
    CHECK_EQ(gs_sweep_run(sw, &o2, &two, &d), GS_OK);
    CHECK_EQ(one.ran, 12);
    CHECK(same_outcome(sw, &one, &two));
    /* Resumed from the journal: nothing runs, the same bits come back. */
    gs_sweep_run_opts o3 = {2, journal, 1, NULL, NULL};
    CHECK_EQ(gs_sweep_run(sw, &o3, &again, &d), GS_OK);
    CHECK_EQ(again.ran, 0);
    CHECK_EQ(again.resumed, 12);
    CHECK(same_outcome(sw, &one, &again));

    /* Point 3 (400/s, 2 servers) equals the base loaded with --set. */
    const char *sets[] = {"workload.a.arrivals.rate=400/s", "components.gw.servers=2"};
    char path[128];
    snprintf(path, sizeof path, "%s/base.yaml", dir);
    gs_scenario *sc;
    CHECK_EQ(gs_scenario_load(path, sets, 2, &sc, &d), GS_OK);
    gs_results res;
    CHECK_EQ(gs_replicate(sc, 0, 3, 1, NULL, NULL, &res, &d), GS_OK);
    const gs_sweep_data *bd = &one.base[0];
    CHECK_EQ(res.nmetrics, bd->nmetrics);
    int equal = res.nmetrics == bd->nmetrics;
    for (size_t m = 0; equal && m < res.nmetrics; m++)
        for (long r = 0; r < 3; r++) {
            double x = res.values[m * 3 + (size_t)r];
            double y = bd->values[((size_t)3 * 3 + (size_t)r) * bd->nmetrics + m];
            if (memcmp(&x, &y, sizeof x) != 0)
                equal = 0;
        }
    CHECK(equal);
    gs_results_release(&res);
    gs_scenario_free(sc);
    gs_sweep_outcome_release(sw, &one);
    gs_sweep_outcome_release(sw, &two);
    gs_sweep_outcome_release(sw, &again);
    gs_sweep_free(sw);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    write_file("base.yaml", base_yaml);
    test_grid();
    test_accepted();
    test_errors();
    test_run();
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return CHECK_DONE();
}
