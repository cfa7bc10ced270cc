/* Tests of analysis/h5.c: results.h5 written from synthetic data and read
 * back through the HDF5 C API (shapes, exact values, strings, attributes,
 * zero-size dimensions, compression of the large datasets); the same input
 * gives the same bytes; failures (missing or unwritable directory, a target
 * that is a directory, a write cut short by the file size limit, every
 * allocation failing in turn) give a clear error and leave neither a
 * temporary file nor a changed target. Everything happens in a scratch
 * directory made with mkdtemp (under $TMPDIR, else the working directory)
 * and removed at the end. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "analysis/h5.h"
#include "sim/alloc.h"
#include "sim/error.h"
#include "tests/check.h"
#include "tests/scratch.h"

#ifndef GATESIM_VERSION
#define GATESIM_VERSION "unknown"
#endif

/* Whole file as bytes; caller frees with free(). */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len == cap) {
            cap = cap ? 2 * cap : 65536;
            unsigned char *nb = realloc(buf, cap);
            if (!nb)
                break;
            buf = nb;
        }
        size_t got = fread(buf + *len, 1, cap - *len, f);
        if (got == 0)
            break;
        *len += got;
    }
    fclose(f);
    return buf;
}

/* ---- synthetic results ---- */

#define A_REP 3
#define A_MET 4
#define A_BUCK 5
#define A_SAMP 7
#define A_COLS 3
#define BIG_BUCK 3000
#define BIG_REP 4
#define BIG_SAMP 500
#define BIG_COLS 5

static const char *const a_component[A_MET] = { "system", "system", "gw", "gw" };
static const char *const a_metric[A_MET] = { "latency_mean", "throughput", "utilization", NULL };
static const char *const a_columns[A_COLS] = { "system/throughput", "gw/queue", "gw/up" };
static double a_values[A_REP * A_MET];
static double a_mean[A_MET], a_lo[A_MET], a_hi[A_MET], a_sd[A_MET];
static long a_n[A_MET];
static double a_blo[A_BUCK], a_bhi[A_BUCK];
static uint64_t a_hist[A_REP * A_BUCK];
static double a_series[A_REP * A_SAMP * A_COLS];

static const char *const b_component[2] = { "system", "cache" };
static const char *const b_metric[2] = { "availability", "hit_ratio" };
static const char *const b_columns[2] = { "system/availability", "cache/up" };
static double b_values[2 * 2];
static double b_stat[2];
static long b_n[2];

static double big_lo[BIG_BUCK], big_hi[BIG_BUCK];
static uint64_t big_hist[BIG_REP * BIG_BUCK];
static const char *const big_columns[BIG_COLS] = { "system/throughput", "system/latency_p99",
                                                   "gw/queue", "gw/busy", "gw/up" };
static double big_series[BIG_REP * BIG_SAMP * BIG_COLS];

static const char a_yaml[] = "name: alpha\nduration: 60s\n# \xc3\xa9t\xc3\xa9\n";

static void fill(gs_h5_scenario sc[3])
{
    for (size_t i = 0; i < A_REP * A_MET; i++)
        a_values[i] = (double)i * 0.1 + 1.0 / 3.0;
    a_values[1 * A_MET + 2] = NAN;
    for (size_t m = 0; m < A_MET; m++) {
        a_mean[m] = 1.0 + (double)m / 7.0;
        a_lo[m] = a_mean[m] - 0.125;
        a_hi[m] = a_mean[m] + 0.125;
        a_sd[m] = 0.01 * (double)(m + 1);
        a_n[m] = m == 2 ? A_REP - 1 : A_REP;
    }
    for (size_t b = 0; b < A_BUCK; b++) {
        a_blo[b] = 1e-3 * (double)b;
        a_bhi[b] = b + 1 == A_BUCK ? INFINITY : 1e-3 * (double)(b + 1);
    }
    for (size_t i = 0; i < A_REP * A_BUCK; i++)
        a_hist[i] = (uint64_t)i * 1000003u + (i == 4 ? UINT64_C(1) << 63 : 0);
    for (size_t i = 0; i < A_REP * A_SAMP * A_COLS; i++)
        a_series[i] = (double)i / 9.0 - 2.0;
    for (size_t i = 0; i < 4; i++)
        b_values[i] = 0.5 + (double)i / 16.0;
    b_stat[0] = 0.9;
    b_stat[1] = 0.6;
    b_n[0] = b_n[1] = 2;
    for (size_t b = 0; b < BIG_BUCK; b++) {
        big_lo[b] = (double)b;
        big_hi[b] = (double)b + 1;
    }
    /* Mostly zero, like real latency histograms. */
    for (size_t i = 0; i < BIG_REP * BIG_BUCK; i++)
        big_hist[i] = i % 97 == 0 ? i : 0;
    for (size_t i = 0; i < BIG_REP * BIG_SAMP * BIG_COLS; i++)
        big_series[i] = (double)(i % 13) * 0.5;

    sc[0] = (gs_h5_scenario){
        .name = "alpha", .yaml = a_yaml, .confidence = 0.95,
        .warmup_s = 12.5, .duration_s = 600, .warmup_method = "mser-5",
        .nrep = A_REP, .nmetrics = A_MET, .component = a_component, .metric = a_metric,
        .values = a_values, .mean = a_mean, .ci_low = a_lo, .ci_high = a_hi, .stddev = a_sd,
        .n = a_n, .nbuckets = A_BUCK, .bucket_lo_s = a_blo, .bucket_hi_s = a_bhi,
        .hist = a_hist, .interval_s = 0.1, .nsamples = A_SAMP, .ncols = A_COLS,
        .columns = a_columns, .series = a_series,
    };
    /* Zero-size histogram and series; a non-ASCII name; no YAML. */
    sc[1] = (gs_h5_scenario){
        .name = "b\xc3\xa9ta", .yaml = NULL, .confidence = 0.9,
        .nrep = 2, .nmetrics = 2, .component = b_component, .metric = b_metric,
        .values = b_values, .mean = b_stat, .ci_low = b_stat, .ci_high = b_stat,
        .stddev = b_stat, .n = b_n, .nbuckets = 0, .interval_s = 1.0, .nsamples = 0,
        .ncols = 2, .columns = b_columns,
    };
    /* Large enough to be chunked and compressed. */
    sc[2] = (gs_h5_scenario){
        .name = "big", .yaml = "name: big\n", .confidence = 0.99, .nrep = BIG_REP,
        .nbuckets = BIG_BUCK, .bucket_lo_s = big_lo, .bucket_hi_s = big_hi,
        .hist = big_hist, .interval_s = 0.5, .nsamples = BIG_SAMP, .ncols = BIG_COLS,
        .columns = big_columns, .series = big_series,
    };
}

/* ---- reading back ---- */

static hid_t vstr_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

/* The dataset's shape: its rank, and dims[0 .. rank). */
static int shape(hid_t dset, hsize_t dims[3])
{
    hid_t space = H5Dget_space(dset);
    int rank = H5Sget_simple_extent_ndims(space);
    if (rank > 0 && rank <= 3)
        H5Sget_simple_extent_dims(space, dims, NULL);
    H5Sclose(space);
    return rank;
}

static void check_attr_string(hid_t obj, const char *name, const char *want)
{
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    CHECK(attr >= 0);
    if (attr < 0)
        return;
    hid_t t = vstr_type();
    char *got = NULL;
    CHECK(H5Aread(attr, t, &got) >= 0);
    CHECK(got && strcmp(got, want) == 0);
    if (got && strcmp(got, want) != 0)
        fprintf(stderr, "  attribute %s: got \"%s\", want \"%s\"\n", name, got, want);
    H5free_memory(got);
    H5Tclose(t);
    H5Aclose(attr);
}

static double attr_double(hid_t obj, const char *name)
{
    double v = NAN;
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    CHECK(attr >= 0);
    if (attr >= 0) {
        CHECK(H5Aread(attr, H5T_NATIVE_DOUBLE, &v) >= 0);
        H5Aclose(attr);
    }
    return v;
}

/* Dataset name under loc holds the n strings want (NULL read as ""). */
static void check_strings(hid_t loc, const char *name, size_t n, const char *const *want)
{
    hid_t dset = H5Dopen2(loc, name, H5P_DEFAULT);
    CHECK(dset >= 0);
    if (dset < 0)
        return;
    hsize_t dims[3] = { 0 };
    CHECK_EQ(shape(dset, dims), 1);
    CHECK_EQ(dims[0], n);
    hid_t t = vstr_type();
    hid_t ft = H5Dget_type(dset);
    CHECK(H5Tis_variable_str(ft) > 0);
    CHECK_EQ(H5Tget_cset(ft), H5T_CSET_UTF8);
    H5Tclose(ft);
    if (n > 0 && dims[0] == n) {
        char **got = calloc(n, sizeof *got);
        CHECK(H5Dread(dset, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, got) >= 0);
        for (size_t i = 0; i < n; i++)
            CHECK(got[i] && strcmp(got[i], want[i] ? want[i] : "") == 0);
        for (size_t i = 0; i < n; i++)
            H5free_memory(got[i]);
        free(got);
    }
    H5Tclose(t);
    H5Dclose(dset);
}

/* Dataset name holds exactly the bytes of want, of the given shape and
 * file type, with the given "units" attribute (NULL: no check). Returns
 * the number of filters on the dataset. */
static int check_data(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank,
                      const hsize_t *want_dims, const void *want, size_t elem,
                      const char *units)
{
    hid_t dset = H5Dopen2(loc, name, H5P_DEFAULT);
    CHECK(dset >= 0);
    if (dset < 0) {
        fprintf(stderr, "  no dataset %s\n", name);
        return -1;
    }
    hsize_t dims[3] = { 0 };
    CHECK_EQ(shape(dset, dims), rank);
    size_t nelem = 1;
    for (int i = 0; i < rank; i++) {
        CHECK_EQ(dims[i], want_dims[i]);
        nelem *= (size_t)want_dims[i];
    }
    hid_t ft = H5Dget_type(dset);
    CHECK(H5Tequal(ft, ftype) > 0);
    H5Tclose(ft);
    if (nelem > 0) {
        void *got = malloc(nelem * elem);
        CHECK(H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, got) >= 0);
        /* Bytes, not values: NaN must come back as the same NaN. */
        CHECK(memcmp(got, want, nelem * elem) == 0);
        free(got);
    }
    if (units)
        check_attr_string(dset, "units", units);
    hid_t dcpl = H5Dget_create_plist(dset);
    int nfilters = H5Pget_nfilters(dcpl);
    H5Pclose(dcpl);
    H5Dclose(dset);
    return nfilters;
}

static int check_f64(hid_t loc, const char *name, int rank, const hsize_t *dims,
                     const double *want, const char *units)
{
    return check_data(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, rank, dims, want,
                      sizeof *want, units);
}

static void check_scenario(hid_t file, const gs_h5_scenario *s)
{
    char path[256];
    snprintf(path, sizeof path, "/scenarios/%s", s->name);
    hid_t g = H5Gopen2(file, path, H5P_DEFAULT);
    CHECK(g >= 0);
    if (g < 0) {
        fprintf(stderr, "  no group %s\n", path);
        return;
    }
    CHECK(attr_double(g, "confidence") == s->confidence);
    CHECK(attr_double(g, "warmup_s") == s->warmup_s);
    CHECK(attr_double(g, "duration_s") == s->duration_s);
    check_attr_string(g, "warmup_method", s->warmup_method ? s->warmup_method : "fixed");
    hid_t attr = H5Aopen(g, "replications", H5P_DEFAULT);
    uint64_t nrep = 0;
    CHECK(attr >= 0 && H5Aread(attr, H5T_NATIVE_UINT64, &nrep) >= 0);
    CHECK_EQ(nrep, s->nrep);
    if (attr >= 0)
        H5Aclose(attr);

    /* The scenario text, as a scalar string. */
    hid_t dset = H5Dopen2(g, "scenario_yaml", H5P_DEFAULT);
    CHECK(dset >= 0);
    hid_t space = H5Dget_space(dset);
    CHECK_EQ(H5Sget_simple_extent_type(space), H5S_SCALAR);
    H5Sclose(space);
    hid_t t = vstr_type();
    char *yaml = NULL;
    CHECK(H5Dread(dset, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &yaml) >= 0);
    CHECK(yaml && strcmp(yaml, s->yaml ? s->yaml : "") == 0);
    H5free_memory(yaml);
    H5Tclose(t);
    H5Dclose(dset);

    hsize_t nm[1] = { s->nmetrics }, vals[2] = { s->nrep, s->nmetrics };
    check_strings(g, "replications/component", s->nmetrics, s->component);
    check_strings(g, "replications/metric", s->nmetrics, s->metric);
    check_f64(g, "replications/values", 2, vals, s->values,
              "by metric: seconds for times, per second for rates, fraction for ratios");
    check_strings(g, "summary/component", s->nmetrics, s->component);
    check_strings(g, "summary/metric", s->nmetrics, s->metric);
    check_f64(g, "summary/mean", 1, nm, s->mean, NULL);
    check_f64(g, "summary/ci_low", 1, nm, s->ci_low, NULL);
    check_f64(g, "summary/ci_high", 1, nm, s->ci_high, NULL);
    check_f64(g, "summary/stddev", 1, nm, s->stddev, NULL);
    check_data(g, "summary/n", H5T_STD_I64LE, H5T_NATIVE_LONG, 1, nm, s->n, sizeof(long),
               "replications");
    hid_t sg = H5Gopen2(g, "summary", H5P_DEFAULT);
    CHECK(attr_double(sg, "confidence") == s->confidence);
    H5Gclose(sg);

    hsize_t nb[1] = { s->nbuckets }, counts[2] = { s->nrep, s->nbuckets };
    check_f64(g, "latency/bucket_lo", 1, nb, s->bucket_lo_s, "s");
    check_f64(g, "latency/bucket_hi", 1, nb, s->bucket_hi_s, "s");
    int nfilters = check_data(g, "latency/counts", H5T_STD_U64LE, H5T_NATIVE_UINT64, 2,
                              counts, s->hist, sizeof(uint64_t), "requests");
    /* Large datasets are compressed wherever this HDF5 can. */
    int can_compress = H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0
                       && H5Zfilter_avail(H5Z_FILTER_SHUFFLE) > 0;
    if (s->nbuckets * s->nrep * 8 >= 16384 && can_compress)
        CHECK_EQ(nfilters, 2);

    hsize_t ns[1] = { s->nsamples }, ser[3] = { s->nrep, s->nsamples, s->ncols };
    double *time = calloc(s->nsamples + 1, sizeof *time);
    for (size_t k = 0; k < s->nsamples; k++)
        time[k] = (double)(k + 1) * s->interval_s;
    check_f64(g, "timeseries/time", 1, ns, time, "s");
    free(time);
    check_strings(g, "timeseries/columns", s->ncols, s->columns);
    nfilters = check_f64(g, "timeseries/values", 3, ser, s->series, NULL);
    if (s->nrep * s->nsamples * s->ncols * 8 >= 16384 && can_compress)
        CHECK_EQ(nfilters, 2);
    hid_t tg = H5Gopen2(g, "timeseries", H5P_DEFAULT);
    CHECK(attr_double(tg, "interval_s") == s->interval_s);
    H5Gclose(tg);
    H5Gclose(g);
}

static void check_file(const char *path, const gs_h5_scenario *sc, size_t n)
{
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(file >= 0);
    if (file < 0)
        return;
    check_attr_string(file, "gatesim_version", GATESIM_VERSION);
    check_attr_string(file, "format_version", GS_H5_FORMAT_VERSION);
    hid_t top = H5Gopen2(file, "scenarios", H5P_DEFAULT);
    H5G_info_t info;
    CHECK(top >= 0 && H5Gget_info(top, &info) >= 0);
    CHECK_EQ(info.nlinks, n);
    H5Gclose(top);
    for (size_t i = 0; i < n; i++)
        check_scenario(file, &sc[i]);
    /* Everything this test opened is closed again. */
    CHECK_EQ(H5Fget_obj_count(file, H5F_OBJ_ALL), 1);
    H5Fclose(file);
}

/* ---- the tests ---- */

static void test_roundtrip(const gs_h5_scenario *sc)
{
    const char *path = in_scratch("results.h5");
    gs_diag d;
    gs_diag_init(&d);
    CHECK_EQ(gs_h5_write(path, sc, 3, &d), GS_OK);
    CHECK_EQ(d.code, GS_OK);
    check_file(path, sc, 3);

    /* The same input gives the same bytes, so results can be compared
     * with cmp. */
    const char *again = in_scratch("again.h5");
    CHECK_EQ(gs_h5_write(again, sc, 3, &d), GS_OK);
    size_t la = 0, lb = 0;
    unsigned char *a = slurp(in_scratch("results.h5"), &la);
    unsigned char *b = slurp(in_scratch("again.h5"), &lb);
    CHECK(a && b && la == lb && memcmp(a, b, la) == 0);
    free(a);
    free(b);

    /* No scenario at all is a valid, empty file. */
    CHECK_EQ(gs_h5_write(in_scratch("empty.h5"), sc, 0, &d), GS_OK);
    check_file(in_scratch("empty.h5"), sc, 0);

    int temps = -1;
    CHECK_EQ(count_entries(scratch, &temps), 3);
    CHECK_EQ(temps, 0);
    unlink(in_scratch("again.h5"));
    unlink(in_scratch("empty.h5"));
}

static void test_bad_input(const gs_h5_scenario *sc)
{
    gs_h5_scenario two[2] = { sc[0], sc[0] };
    gs_diag d;
    gs_diag_init(&d);
    CHECK_EQ(gs_h5_write(in_scratch("dup.h5"), two, 2, &d), GS_EINVAL);
    CHECK(strstr(d.msg, "\"alpha\""));
    two[1].name = "a/b";
    gs_diag_init(&d);
    CHECK_EQ(gs_h5_write(in_scratch("dup.h5"), two, 2, &d), GS_EINVAL);
    two[1].name = "other";
    two[1].series = NULL;
    gs_diag_init(&d);
    CHECK_EQ(gs_h5_write(in_scratch("dup.h5"), two, 2, &d), GS_EINVAL);
    CHECK(strstr(d.msg, "series"));
    CHECK(!exists(in_scratch("dup.h5")));
}

/* The old file at path survives a failed write, and no temporary file is
 * left in the scratch directory. */
static void check_unharmed(const char *path, const unsigned char *old, size_t oldlen)
{
    size_t len = 0;
    unsigned char *now = slurp(path, &len);
    CHECK(now && len == oldlen && memcmp(now, old, len) == 0);
    free(now);
    int temps = -1;
    count_entries(scratch, &temps);
    CHECK_EQ(temps, 0);
}

static void test_failures(const gs_h5_scenario *sc)
{
    gs_diag d;
    const char *path = in_scratch("results.h5");
    size_t oldlen = 0;
    unsigned char *old = slurp(path, &oldlen);
    CHECK(old != NULL);

    /* A missing directory. */
    char missing[4400];
    snprintf(missing, sizeof missing, "%s/no/such/dir/results.h5", scratch);
    gs_diag_init(&d);
    CHECK_EQ(gs_h5_write(missing, sc, 3, &d), GS_EIO);
    CHECK(strstr(d.msg, missing) && strstr(d.msg, "No such file or directory"));

    /* An unwritable directory (root may write anywhere: skipped). */
    const char *ro = in_scratch("ro");
    CHECK_EQ(mkdir(ro, 0500), 0);
    if (geteuid() != 0) {
        char inro[4400];
        snprintf(inro, sizeof inro, "%s/results.h5", ro);
        gs_diag_init(&d);
        CHECK_EQ(gs_h5_write(inro, sc, 3, &d), GS_EIO);
        CHECK(strstr(d.msg, inro) && strstr(d.msg, "Permission denied"));
        int temps;
        CHECK_EQ(count_entries(ro, &temps), 0);
    }
    rmdir(ro);

    /* A target that is a directory: the rename fails after the whole file
     * was written, and the temporary file goes. */
    const char *dir = in_scratch("adir");
    CHECK_EQ(mkdir(dir, 0700), 0);
    gs_diag_init(&d);
    CHECK_EQ(gs_h5_write(dir, sc, 3, &d), GS_EIO);
    CHECK(strstr(d.msg, dir) != NULL);
    rmdir(dir);
    check_unharmed(path, old, oldlen);

    /* A write that the file size limit cuts short inside HDF5, as a full
     * disk would: the error names the object and the system's reason. */
    struct rlimit saved;
    getrlimit(RLIMIT_FSIZE, &saved);
    if (saved.rlim_cur == RLIM_INFINITY || saved.rlim_cur > 4096) {
        void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
        struct rlimit small = saved;
        small.rlim_cur = 4096;
        CHECK_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
        gs_diag_init(&d);
        int rc = gs_h5_write(path, sc, 3, &d);
        setrlimit(RLIMIT_FSIZE, &saved);
        signal(SIGXFSZ, old_handler);
        CHECK_EQ(rc, GS_EIO);
        CHECK(strstr(d.msg, path) && strstr(d.msg, "File too large"));
        check_unharmed(path, old, oldlen);
    }

    /* Every allocation failing in turn: GS_ENOMEM and nothing changed,
     * until the write needs no more allocations than those that worked. */
    int rc = GS_ENOMEM;
    long n;
    for (n = 1; rc == GS_ENOMEM && n < 1000; n++) {
        gs_diag_init(&d);
        gs_alloc_fail_nth(n);
        rc = gs_h5_write(path, sc, 3, &d);
        gs_alloc_fail_nth(0);
        if (rc == GS_ENOMEM) {
            CHECK_EQ(d.code, GS_ENOMEM);
            check_unharmed(path, old, oldlen);
        }
    }
    CHECK_EQ(rc, GS_OK);
    CHECK(n > 3);
    check_file(path, sc, 3);
    free(old);
}

/* HDF5's error printing is the caller's again after a failed write. */
static void test_error_handler_restored(const gs_h5_scenario *sc)
{
    H5E_auto2_t before = NULL, after = NULL;
    void *dbefore = NULL, *dafter = NULL;
    H5Eget_auto2(H5E_DEFAULT, &before, &dbefore);
    gs_diag d;
    gs_diag_init(&d);
    char missing[4400];
    snprintf(missing, sizeof missing, "%s/no/results.h5", scratch);
    CHECK_EQ(gs_h5_write(missing, sc, 1, &d), GS_EIO);
    H5Eget_auto2(H5E_DEFAULT, &after, &dafter);
    CHECK(before != NULL && after == before && dafter == dbefore);
}

int main(void)
{
    if (scratch_make("gatesim-test-h5."))
        return 1;
    gs_h5_scenario sc[3];
    fill(sc);
    test_roundtrip(sc);
    test_bad_input(sc);
    test_failures(sc);
    test_error_handler_restored(sc);
    remove_tree(scratch);
    /* Release the library's global state so that the leak checker sees
     * only our own allocations. */
    H5close();
    return CHECK_DONE();
}
