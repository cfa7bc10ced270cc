/* results.h5 of a run read back with the HDF5 C API: the shapes of every
 * dataset, the summary equal to what summary.csv is made from, the
 * per-replication values, the latency counts equal to the answered
 * requests, and the time series equal to the traces. */
#include <hdf5.h>
#include <stdlib.h>
#include <unistd.h>

#include "analysis/archive.h"
#include "analysis/report.h"
#include "sim/alloc.h"
#include "sim/replicate.h"
#include "tests/harness.h"

/* Dataset path's dims (at most 3) into dims; its rank, or -1. */
static int dims_of(hid_t f, const char *path, hsize_t *dims)
{
    hid_t ds = H5Dopen2(f, path, H5P_DEFAULT);
    if (ds < 0)
        return -1;
    hid_t sp = H5Dget_space(ds);
    int rank = H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Sclose(sp);
    H5Dclose(ds);
    return rank;
}

static void read_doubles(hid_t f, const char *path, double *out)
{
    hid_t ds = H5Dopen2(f, path, H5P_DEFAULT);
    CHECK(ds >= 0 && H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0);
    H5Dclose(ds);
}

static double attr_f64(hid_t f, const char *obj, const char *name)
{
    double v = -1;
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(a >= 0 && H5Aread(a, H5T_NATIVE_DOUBLE, &v) >= 0);
    H5Aclose(a);
    return v;
}

static int attr_is(hid_t f, const char *obj, const char *name, const char *want)
{
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    char *got = NULL;
    int ok = a >= 0 && H5Aread(a, t, &got) >= 0 && got && strcmp(got, want) == 0;
    H5free_memory(got);
    H5Tclose(t);
    H5Aclose(a);
    return ok;
}

/* With `warmup: auto` the YAML says "auto"; the file must say what MSER-5
 * chose, or the observation window of the archived numbers is lost. */
static void check_auto_warmup(const char *dir)
{
    gs_scenario *sc = harness_load(
        "name: auto\n"
        "simulation: {duration: 40s, warmup: auto, replications: 2}\n"
        "workload: [{name: a, arrivals: {process: poisson, rate: 400/s}, entry: gw}]\n"
        "components:\n"
        "  gw: {type: gateway, servers: 1, service: {dist: exponential, mean: 2ms}}\n");
    gs_results res;
    gs_diag d;
    gs_diag_init(&d);
    CHECK_EQ(gs_replicate_traced(sc, 0, 2, 2, NULL, NULL, &res, &d), GS_OK);
    char path[64];
    snprintf(path, sizeof path, "%s/auto.h5", dir);
    CHECK_EQ(gs_archive_write(path, &sc, &res, 1, &d), GS_OK);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(f >= 0);
    CHECK(attr_is(f, "/scenarios/auto", "warmup_method", "mser-5"));
    CHECK(attr_f64(f, "/scenarios/auto", "warmup_s") == gs_time_to_s(sc->warmup));
    CHECK(attr_f64(f, "/scenarios/auto", "duration_s") == 40);
    H5Fclose(f);
    unlink(path);
    gs_results_release(&res);
}

int main(void)
{
    const char *yaml =
        "name: arch\n"
        "simulation: {duration: 20s, warmup: 2s, replications: 3, sample_interval: 1s}\n"
        "workload: [{name: a, arrivals: {process: poisson, rate: 300/s}, entry: gw}]\n"
        "components:\n"
        "  gw: {type: gateway, servers: 1, service: {dist: exponential, mean: 2ms},\n"
        "       outages: [{at: 10s, for: 1s}]}\n";
    gs_scenario *sc = harness_load(yaml);
    gs_results res;
    gs_diag d;
    gs_diag_init(&d);
    CHECK_EQ(gs_replicate_traced(sc, 0, 3, 2, NULL, NULL, &res, &d), GS_OK);
    char dir[] = "test_archive.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[64];
    snprintf(path, sizeof path, "%s/results.h5", dir);
    CHECK_EQ(gs_archive_write(path, &sc, &res, 1, &d), GS_OK);

    gs_summary_row *rows;
    CHECK_EQ(gs_report_rows(&res, sc->confidence, &rows, &d), GS_OK);
    size_t m = res.nmetrics, ns = gs_trace_samples(sc), nc = gs_trace_ncols(sc);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(f >= 0);
    CHECK(attr_is(f, "/scenarios/arch", "warmup_method", "fixed"));
    CHECK(attr_f64(f, "/scenarios/arch", "warmup_s") == 2);
    CHECK(attr_f64(f, "/scenarios/arch", "duration_s") == 20);
    hsize_t dims[3];
    CHECK_EQ(dims_of(f, "/scenarios/arch/replications/values", dims), 2);
    CHECK(dims[0] == 3 && dims[1] == m);
    CHECK_EQ(dims_of(f, "/scenarios/arch/summary/mean", dims), 1);
    CHECK(dims[0] == m);
    CHECK_EQ(dims_of(f, "/scenarios/arch/timeseries/values", dims), 3);
    CHECK(dims[0] == 3 && dims[1] == ns && dims[2] == nc);
    CHECK_EQ(dims_of(f, "/scenarios/arch/latency/counts", dims), 2);
    CHECK(dims[0] == 3);
    size_t nb = (size_t)dims[1];

    double *mean = gs_malloc(m * sizeof *mean), *vals = gs_malloc(3 * m * sizeof *vals);
    double *series = gs_malloc(3 * ns * nc * sizeof *series);
    uint64_t *counts = gs_malloc(3 * nb * sizeof *counts);
    read_doubles(f, "/scenarios/arch/summary/mean", mean);
    read_doubles(f, "/scenarios/arch/replications/values", vals);
    read_doubles(f, "/scenarios/arch/timeseries/values", series);
    hid_t ds = H5Dopen2(f, "/scenarios/arch/latency/counts", H5P_DEFAULT);
    CHECK(H5Dread(ds, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, counts) >= 0);
    H5Dclose(ds);
    for (size_t k = 0; k < m; k++) {
        /* Bit for bit what summary.csv is printed from. */
        CHECK(memcmp(&mean[k], &rows[k].est.mean, sizeof(double)) == 0);
        for (size_t r = 0; r < 3; r++)
            CHECK(memcmp(&vals[r * m + k], &res.values[k * 3 + r], sizeof(double)) == 0);
    }
    for (size_t r = 0; r < 3; r++) {
        CHECK(memcmp(series + r * ns * nc, res.traces[r].series, ns * nc * sizeof(double)) == 0);
        uint64_t total = 0;
        for (size_t b = 0; b < nb; b++)
            total += counts[r * nb + b];
        double answered = 0;
        for (size_t k = 0; k < m; k++)
            if (!strcmp(res.component[k], "system") && !strcmp(res.name[k], "throughput"))
                answered = res.values[k * 3 + r] * 18;
        CHECK_NEAR((double)total, answered, 0.5);
    }
    H5Fclose(f);
    check_auto_warmup(dir);
    H5close();
    unlink(path);
    rmdir(dir);
    gs_free(mean);
    gs_free(vals);
    gs_free(series);
    gs_free(counts);
    gs_free(rows);
    gs_results_release(&res);
    harness_done();
    return CHECK_DONE();
}
