/* Tests of analysis/sweep_report.c on synthetic sweeps: the exact sweep.csv
 * (header, row count, estimates equal to summary.csv's, numeric and text
 * parameter cells, unmeasured metrics); sweep.h5 read back through the
 * HDF5 C API (shapes, values, summaries); the same input twice gives the
 * same bytes; the plots expected, their curves and axes, including a
 * parameter zipped with another and parameters whose paths end alike;
 * missing gnuplot; bad input (an unknown
 * plotted metric, bad base names) and unwritable directories leave nothing
 * behind; every allocation failing in turn. Everything happens in a scratch
 * directory made with mkdtemp (under $TMPDIR, else the working directory)
 * and removed at the end. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "analysis/h5.h"
#include "analysis/plot.h"
#include "analysis/report.h"
#include "analysis/summary.h"
#include "analysis/h5.h"
#include "analysis/sweep_report.h"
#include "sim/alloc.h"
#include "sim/error.h"
#include "sim/replicate.h"
#include "tests/check.h"
#include "tests/scratch.h"

static int have_gnuplot;

/* Whole file as a NUL-terminated string; caller frees with free(). */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 1 >= cap) {
            cap = cap ? 2 * cap : 65536;
            char *nb = realloc(buf, cap);
            if (!nb)
                break;
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static int same_file(const char *a, const char *b)
{
    size_t la = 0, lb = 0;
    char *x = slurp(a, &la), *y = slurp(b, &lb);
    int same = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* ---- synthetic sweep A: a rate with 3 values x a text-valued policy ---- */

#define NPOINTS 6
#define NPARAMS 2
#define NREP 3
#define M0 4
#define M1 4

static const char *const a_param[NPARAMS] = { "workload.chat.arrivals.rate",
                                              "components.lb.policy" };
static const char *const a_unit[NPARAMS] = { "1/s", "" };
/* Point p = rate index * 2 + policy index (rate outermost). */
static const char *const a_text[NPOINTS * NPARAMS] = {
    "100/s", "round_robin", "100/s", "least_connections",
    "1000/s", "round_robin", "1000/s", "least_connections",
    "10000/s", "round_robin", "10000/s", "least_connections",
};
static double a_num[NPOINTS * NPARAMS];

static const char *const b0_comp[M0] = { "system", "system", "gw", "system" };
static const char *const b0_metric[M0] = { "latency_p99", "availability", "utilization",
                                           "retries_per_request" };
static const char *const b1_comp[M1] = { "system", "system", "router", "system" };
static const char *const b1_metric[M1] = { "latency_p99", "availability", "utilization",
                                           "ttft_mean" };
static double b0_values[NPOINTS * NREP * M0];
static double b1_values[NPOINTS * NREP * M1];
static gs_sweep_base_result a_bases[2];
static const char *const a_plot[3] = { "latency_p99", "gw/utilization", "availability" };
static const char a_sweep_yaml[] = "name: arrival-rate\nbase: [a.yaml, b.yaml]\n";

static void fill_values(double *v, size_t nm, double shift)
{
    for (size_t p = 0; p < NPOINTS; p++)
        for (size_t r = 0; r < NREP; r++) {
            double *row = v + (p * NREP + r) * nm;
            row[0] = 0.010 * (double)(p + 1) + 0.001 * (double)r + shift;
            row[1] = 0.99 + 0.001 * (double)r - 0.0001 * (double)p;
            row[2] = 0.1 * (double)(p + 1) + 0.01 * (double)(r * r) + shift;
            /* A spread reaching below 0: the t interval's lower end is
             * clamped as in summary.csv. */
            row[3] = r == 2 ? 0.3 : 0.0;
        }
}

static gs_sweep_result make_a(void)
{
    for (size_t p = 0; p < NPOINTS; p++) {
        static const double rate[3] = { 100, 1000, 10000 };
        a_num[p * NPARAMS] = rate[p / 2];
        a_num[p * NPARAMS + 1] = NAN;
    }
    fill_values(b0_values, M0, 0.0);
    fill_values(b1_values, M1, 0.002);
    /* One replication of point 1 did not measure base 0's utilization;
     * base 1 measured ttft_mean nowhere at point 4. */
    b0_values[(1 * NREP + 1) * M0 + 2] = NAN;
    for (size_t r = 0; r < NREP; r++)
        b1_values[(4 * NREP + r) * M1 + 3] = NAN;
    a_bases[0] = (gs_sweep_base_result){ "single-gateway", "name: single-gateway\n", NREP, M0,
                                         b0_comp, b0_metric, b0_values };
    a_bases[1] = (gs_sweep_base_result){ "multi-gateway", "name: multi-gateway\n", NREP, M1,
                                         b1_comp, b1_metric, b1_values };
    return (gs_sweep_result){
        .name = "arrival-rate", .sweep_yaml = a_sweep_yaml, .confidence = 0.95,
        .nparams = NPARAMS, .param = a_param, .param_unit = a_unit, .npoints = NPOINTS,
        .text = a_text, .num = a_num, .nbases = 2, .base = a_bases, .nplot = 3,
        .plot = a_plot,
    };
}

/* What summary.csv holds for metric m of base b at point p. */
static gs_estimate expected(const gs_sweep_result *s, size_t b, size_t p, size_t m)
{
    const gs_sweep_base_result *base = &s->base[b];
    double x[NREP];
    for (size_t r = 0; r < base->nrep; r++)
        x[r] = base->values[(p * base->nrep + r) * base->nmetrics + m];
    const char *comp = base->component[m], *metric = base->metric[m];
    gs_results res = { .nmetrics = 1, .nreps = (long)base->nrep, .component = &comp,
                       .name = &metric, .values = x };
    gs_summary_row *rows = NULL;
    gs_diag d;
    gs_diag_init(&d);
    gs_estimate e = { NAN, NAN, NAN, NAN, 0 };
    if (gs_report_rows(&res, s->confidence, &rows, &d) == GS_OK) {
        e = rows[0].est;
        gs_free(rows);
    }
    return e;
}

/* ---- sweep.csv ---- */

static char *csv_of(const gs_sweep_result *s, int *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    *rc = gs_sweep_report_csv(f, s);
    fclose(f);
    return buf;
}

/* Line i (0 = header) of text, copied into line. */
static int nth_line(const char *text, size_t i, char *line, size_t size)
{
    for (; i > 0 && text; i--) {
        text = strchr(text, '\n');
        if (text)
            text++;
    }
    if (!text || !*text)
        return 0;
    size_t n = strcspn(text, "\n");
    snprintf(line, size, "%.*s", (int)n, text);
    return 1;
}

static void test_csv(void)
{
    gs_sweep_result s = make_a();
    int rc;
    char *csv = csv_of(&s, &rc);
    CHECK_EQ(rc, GS_OK);
    char line[1024];
    CHECK(nth_line(csv, 0, line, sizeof line));
    CHECK(strcmp(line, "scenario,component,metric,mean,ci_low,ci_high,stddev,replications,"
                       "workload.chat.arrivals.rate,components.lb.policy") == 0);
    CHECK_EQ(count_lines(csv), 1 + NPOINTS * (M0 + M1));

    /* Base 0, point 3 (1000/s, least_connections), latency_p99: line
     * 1 + 3 * M0 + 0. The estimate is gs_estimate_compute's, unclamped
     * here because the interval stays above 0. */
    double x[NREP];
    for (size_t r = 0; r < NREP; r++)
        x[r] = b0_values[(3 * NREP + r) * M0];
    gs_estimate e;
    gs_estimate_compute(x, NREP, 0.95, &e);
    CHECK(e.ci_low > 0);
    char want[1024];
    snprintf(want, sizeof want,
             "single-gateway,system,latency_p99,%.10g,%.10g,%.10g,%.10g,3,1000,"
             "least_connections", e.mean, e.ci_low, e.ci_high, e.stddev);
    CHECK(nth_line(csv, 1 + 3 * M0, line, sizeof line));
    CHECK(strcmp(line, want) == 0);
    if (strcmp(line, want) != 0)
        fprintf(stderr, "  got  %s\n  want %s\n", line, want);

    /* Every row against summary.csv's estimate, in (base, point, metric)
     * order, parameter cells numeric for the rate and text for the policy. */
    size_t i = 1;
    for (size_t b = 0; b < 2; b++)
        for (size_t p = 0; p < NPOINTS; p++)
            for (size_t m = 0; m < s.base[b].nmetrics; m++, i++) {
                gs_estimate g = expected(&s, b, p, m);
                char *num = NULL;
                size_t nlen = 0;
                FILE *f = open_memstream(&num, &nlen);
                fprintf(f, "%s,%s,%s", s.base[b].name, s.base[b].component[m],
                        s.base[b].metric[m]);
                const double v[4] = { g.mean, g.ci_low, g.ci_high, g.stddev };
                for (size_t k = 0; k < 4; k++) {
                    fputc(',', f);
                    gs_summary_csv_number(f, v[k]);
                }
                fprintf(f, ",%ld,%.10g,%s", g.n, a_num[p * NPARAMS], a_text[p * NPARAMS + 1]);
                fclose(f);
                CHECK(nth_line(csv, i, line, sizeof line));
                CHECK(strcmp(line, num) == 0);
                if (strcmp(line, num) != 0)
                    fprintf(stderr, "  line %zu: got  %s\n           want %s\n", i, line, num);
                free(num);
            }

    /* The clamped interval of summary.csv, not the raw t interval. */
    for (size_t r = 0; r < NREP; r++)
        x[r] = b0_values[(0 * NREP + r) * M0 + 3];
    gs_estimate_compute(x, NREP, 0.95, &e);
    CHECK(e.ci_low < 0);
    CHECK(nth_line(csv, 1 + 3, line, sizeof line));
    CHECK(strstr(line, "retries_per_request,0.1,0,") != NULL);
    /* A replication that did not measure: n = 2. */
    CHECK(nth_line(csv, 1 + 1 * M0 + 2, line, sizeof line));
    CHECK(strncmp(line, "single-gateway,gw,utilization,", 30) == 0);
    CHECK(strstr(line, ",2,100,least_connections") != NULL);
    /* No replication measured: nan,nan,nan,nan,0. */
    CHECK(nth_line(csv, 1 + NPOINTS * M0 + 4 * M1 + 3, line, sizeof line));
    CHECK(strcmp(line, "multi-gateway,system,ttft_mean,nan,nan,nan,nan,0,10000,round_robin")
          == 0);
    free(csv);

    /* A path or a text that needs quoting is quoted. */
    const char *param[NPARAMS] = { "workload.chat.arrivals.rate", "a,b" };
    const char *text[NPOINTS * NPARAMS];
    memcpy(text, a_text, sizeof text);
    text[1] = "x \"y\"";
    s.param = param;
    s.text = text;
    csv = csv_of(&s, &rc);
    CHECK_EQ(rc, GS_OK);
    CHECK(nth_line(csv, 0, line, sizeof line));
    CHECK(strstr(line, ",replications,workload.chat.arrivals.rate,\"a,b\"") != NULL);
    CHECK(nth_line(csv, 1, line, sizeof line));
    CHECK(strstr(line, ",100,\"x \"\"y\"\"\"") != NULL);
    free(csv);
}

/* sweep.csv's rows as JSON: line 1 + i is row i's object, the same values,
 * numbers as numbers, NaN as null, texts quoted and escaped. */
static void test_json(void)
{
    gs_sweep_result s = make_a();
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK_EQ(gs_sweep_report_json(f, &s), GS_OK);
    fclose(f);
    char line[1024];
    CHECK(nth_line(buf, 0, line, sizeof line));
    CHECK(strcmp(line, "[") == 0);
    CHECK_EQ(count_lines(buf), 2 + NPOINTS * (M0 + M1));
    gs_estimate g = expected(&s, 0, 3, 0);
    char want[1024];
    snprintf(want, sizeof want, "  {\"scenario\": \"single-gateway\", \"component\": "
             "\"system\", \"metric\": \"latency_p99\", \"mean\": ");
    CHECK(nth_line(buf, 1 + 3 * M0, line, sizeof line));
    CHECK(strncmp(line, want, strlen(want)) == 0);
    CHECK(fabs(strtod(line + strlen(want), NULL) - g.mean) <= 1e-12 * fabs(g.mean));
    CHECK(strstr(line, "\"replications\": 3, \"workload.chat.arrivals.rate\": 1000, "
                       "\"components.lb.policy\": \"least_connections\"},") != NULL);
    /* No replication measured: null, never a bare nan. */
    CHECK(nth_line(buf, 1 + NPOINTS * M0 + 4 * M1 + 3, line, sizeof line));
    CHECK(strstr(line, "\"mean\": null, \"ci_low\": null, \"ci_high\": null, "
                       "\"stddev\": null, \"replications\": 0,") != NULL);
    CHECK(strstr(buf, "nan") == NULL);
    CHECK(nth_line(buf, 1 + NPOINTS * (M0 + M1), line, sizeof line));
    CHECK(strcmp(line, "]") == 0);
    free(buf);
}

/* ---- sweep.h5 ---- */

static hid_t vstr_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

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
    H5free_memory(got);
    H5Tclose(t);
    H5Aclose(attr);
}

/* Dataset name under loc: strings of the given shape equal to want
 * (rank 0: one scalar string). */
static void check_strings(hid_t loc, const char *name, int rank, const hsize_t *want_dims,
                          const char *const *want)
{
    hid_t dset = H5Dopen2(loc, name, H5P_DEFAULT);
    CHECK(dset >= 0);
    if (dset < 0) {
        fprintf(stderr, "  no dataset %s\n", name);
        return;
    }
    hsize_t dims[3] = { 0 };
    size_t n = 1;
    CHECK_EQ(shape(dset, dims), rank);
    for (int i = 0; i < rank; i++) {
        CHECK_EQ(dims[i], want_dims[i]);
        n *= (size_t)want_dims[i];
    }
    hid_t t = vstr_type();
    char **got = calloc(n, sizeof *got);
    CHECK(H5Dread(dset, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, got) >= 0);
    for (size_t i = 0; i < n; i++) {
        CHECK(got[i] && strcmp(got[i], want[i]) == 0);
        H5free_memory(got[i]);
    }
    free(got);
    H5Tclose(t);
    H5Dclose(dset);
}

/* Dataset name: of the given shape and file type, holding exactly the
 * bytes of want (NaN included). */
static void check_data(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank,
                       const hsize_t *want_dims, const void *want, size_t elem)
{
    hid_t dset = H5Dopen2(loc, name, H5P_DEFAULT);
    CHECK(dset >= 0);
    if (dset < 0) {
        fprintf(stderr, "  no dataset %s\n", name);
        return;
    }
    hsize_t dims[3] = { 0 };
    size_t n = 1;
    CHECK_EQ(shape(dset, dims), rank);
    for (int i = 0; i < rank; i++) {
        CHECK_EQ(dims[i], want_dims[i]);
        n *= (size_t)want_dims[i];
    }
    hid_t ft = H5Dget_type(dset);
    CHECK(H5Tequal(ft, ftype) > 0);
    H5Tclose(ft);
    void *got = malloc(n * elem);
    CHECK(H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, got) >= 0);
    CHECK(memcmp(got, want, n * elem) == 0);
    free(got);
    H5Dclose(dset);
}

static void check_base(hid_t file, const gs_sweep_result *s, size_t b)
{
    const gs_sweep_base_result *base = &s->base[b];
    char path[256];
    snprintf(path, sizeof path, "/bases/%s", base->name);
    hid_t g = H5Gopen2(file, path, H5P_DEFAULT);
    CHECK(g >= 0);
    if (g < 0)
        return;
    size_t nm = base->nmetrics, cells = s->npoints * nm;
    hsize_t one[1] = { nm }, vals[3] = { s->npoints, base->nrep, nm }, sum[2] = { s->npoints,
                                                                                 nm };
    check_strings(g, "scenario_yaml", 0, NULL, &base->yaml);
    check_strings(g, "component", 1, one, base->component);
    check_strings(g, "metric", 1, one, base->metric);
    check_data(g, "values", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 3, vals, base->values,
               sizeof(double));
    double *stat = malloc(4 * cells * sizeof *stat);
    long *n = malloc(cells * sizeof *n);
    for (size_t p = 0; p < s->npoints; p++)
        for (size_t m = 0; m < nm; m++) {
            gs_estimate e = expected(s, b, p, m);
            stat[p * nm + m] = e.mean;
            stat[cells + p * nm + m] = e.ci_low;
            stat[2 * cells + p * nm + m] = e.ci_high;
            stat[3 * cells + p * nm + m] = e.stddev;
            n[p * nm + m] = e.n;
        }
    static const char *const names[4] = { "mean", "ci_low", "ci_high", "stddev" };
    for (size_t k = 0; k < 4; k++)
        check_data(g, names[k], H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, sum, stat + k * cells,
                   sizeof(double));
    check_data(g, "n", H5T_STD_I64LE, H5T_NATIVE_LONG, 2, sum, n, sizeof(long));
    free(stat);
    free(n);

    hid_t attr = H5Aopen(g, "replications", H5P_DEFAULT);
    uint64_t nrep = 0;
    CHECK(attr >= 0 && H5Aread(attr, H5T_NATIVE_UINT64, &nrep) >= 0);
    CHECK_EQ(nrep, base->nrep);
    if (attr >= 0)
        H5Aclose(attr);
    attr = H5Aopen(g, "index", H5P_DEFAULT);
    uint64_t index = 99;
    CHECK(attr >= 0 && H5Aread(attr, H5T_NATIVE_UINT64, &index) >= 0);
    CHECK_EQ(index, b);
    if (attr >= 0)
        H5Aclose(attr);
    H5Gclose(g);
}

static void check_h5(const char *path, const gs_sweep_result *s)
{
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(file >= 0);
    if (file < 0)
        return;
    check_attr_string(file, "format_version", GS_H5_FORMAT_VERSION);
    check_attr_string(file, "kind", "sweep");
    check_attr_string(file, "name", s->name);
    double conf = 0;
    hid_t attr = H5Aopen(file, "confidence", H5P_DEFAULT);
    CHECK(attr >= 0 && H5Aread(attr, H5T_NATIVE_DOUBLE, &conf) >= 0);
    CHECK(conf == s->confidence);
    if (attr >= 0)
        H5Aclose(attr);
    check_strings(file, "sweep_yaml", 0, NULL, &s->sweep_yaml);
    hsize_t np[1] = { s->nparams }, grid[2] = { s->npoints, s->nparams };
    check_strings(file, "parameters/path", 1, np, s->param);
    check_strings(file, "parameters/unit", 1, np, s->param_unit);
    check_strings(file, "parameters/text", 2, grid, s->text);
    check_data(file, "parameters/value", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, grid, s->num,
               sizeof(double));
    hid_t top = H5Gopen2(file, "bases", H5P_DEFAULT);
    H5G_info_t info;
    CHECK(top >= 0 && H5Gget_info(top, &info) >= 0);
    CHECK_EQ(info.nlinks, s->nbases);
    H5Gclose(top);
    for (size_t b = 0; b < s->nbases; b++)
        check_base(file, s, b);
    /* Everything this test opened is closed again. */
    CHECK_EQ(H5Fget_obj_count(file, H5F_OBJ_ALL), 1);
    H5Fclose(file);
}

/* ---- the whole output ---- */

static void test_write(void)
{
    gs_sweep_result s = make_a();
    gs_diag d;
    gs_diag_init(&d);
    const char *out = in_scratch("out");
    int rc = gs_sweep_report_write(out, &s, 1, &d);
    have_gnuplot = rc == GS_OK;
    if (rc == GS_PLOT_ENOGNUPLOT) {
        printf("SKIPPED: gnuplot is not installed; image checks skipped, data and scripts "
               "checked (%s)\n", d.msg);
        fflush(stdout);
    } else {
        CHECK_EQ(rc, GS_OK);
        if (rc != GS_OK)
            fprintf(stderr, "  %s\n", d.msg);
    }

    /* sweep.csv is what gs_sweep_report_csv() writes. */
    int crc;
    char *csv = csv_of(&s, &crc);
    char *file = slurp(in_scratch("out/sweep.csv"), NULL);
    CHECK(csv && file && strcmp(csv, file) == 0);
    free(csv);
    free(file);
    check_h5(in_scratch("out/sweep.h5"), &s);

    /* Against the rate (log x: 100 to 10000), one plot per plotted metric;
     * the text-valued policy is no axis but splits the curves. */
    static const char *const stems[3] = {
        "out/plots/sweep-latency_p99-vs-workload.chat.arrivals.rate",
        "out/plots/sweep-gw_utilization-vs-workload.chat.arrivals.rate",
        "out/plots/sweep-availability-vs-workload.chat.arrivals.rate",
    };
    static const char *const exts[4] = { ".dat", ".gp", ".png", ".pdf" };
    for (size_t i = 0; i < 3; i++)
        for (size_t k = 0; k < (have_gnuplot ? 4u : 2u); k++) {
            char p[512];
            snprintf(p, sizeof p, "%s%s", stems[i], exts[k]);
            CHECK(exists(in_scratch(p)));
            if (!exists(in_scratch(p)))
                fprintf(stderr, "  missing %s\n", p);
        }
    int temps;
    CHECK_EQ(count_entries(in_scratch("out/plots"), &temps), have_gnuplot ? 12 : 6);
    CHECK_EQ(temps, 0);
    CHECK_EQ(count_entries(in_scratch("out"), &temps), 3);
    CHECK_EQ(temps, 0);

    char *dat = slurp(in_scratch("out/plots/sweep-latency_p99-vs-workload.chat.arrivals.rate"
                                 ".dat"), NULL);
    CHECK(dat != NULL);
    if (dat) {
        CHECK(strstr(dat, "# index 0: single-gateway, policy=round_robin\n") != NULL);
        CHECK(strstr(dat, "# index 1: single-gateway, policy=least_connections\n") != NULL);
        CHECK(strstr(dat, "# index 2: multi-gateway, policy=round_robin\n") != NULL);
        CHECK(strstr(dat, "# index 3: multi-gateway, policy=least_connections\n") != NULL);
        CHECK(strstr(dat, "# index 4") == NULL);
        CHECK(strstr(dat, "#   x: rate (1/s)\n") != NULL);
        CHECK(strstr(dat, "#   mean, lo, hi: latency_p99 (s)\n") != NULL);
        /* Curve 1's points: 100, 1000, 10000 with the means of points 1,
         * 3, 5 of base 0. */
        const char *block = strstr(dat, "# index 1:");
        double x, mean, lo, hi;
        const char *line = block ? strchr(block, '\n') + 1 : NULL;
        for (size_t i = 0; i < 3 && line; i++) {
            CHECK_EQ(sscanf(line, "%lf %lf %lf %lf", &x, &mean, &lo, &hi), 4);
            gs_estimate e = expected(&s, 0, 2 * i + 1, 0);
            CHECK_NEAR(x, a_num[(2 * i + 1) * NPARAMS], 1e-9);
            CHECK_NEAR(mean, e.mean, 1e-9 * fabs(e.mean));
            CHECK_NEAR(lo, e.ci_low, 1e-9 * fabs(e.ci_low));
            CHECK_NEAR(hi, e.ci_high, 1e-9 * fabs(e.ci_high));
            line = strchr(line, '\n');
            line = line ? line + 1 : NULL;
        }
        free(dat);
    }
    char *gp = slurp(in_scratch("out/plots/sweep-latency_p99-vs-workload.chat.arrivals.rate"
                                ".gp"), NULL);
    CHECK(gp != NULL);
    if (gp) {
        CHECK(strstr(gp, "set logscale x 10") != NULL);
        CHECK(strstr(gp, "set title 'arrival-rate: latency_p99 vs workload.chat.arrivals.rate'")
              != NULL);
        CHECK(strstr(gp, "set xlabel 'rate (1/s)'") != NULL);
        CHECK(strstr(gp, "set ylabel 'latency_p99 (s)'") != NULL);
        /* Colours by curve index when a parameter splits the curves. */
        CHECK(strstr(gp, "index 3 using 1:2 with linespoints lt 4 ") != NULL);
        free(gp);
    }
    /* Only base 0 has a gw: two curves. */
    gp = slurp(in_scratch("out/plots/sweep-gw_utilization-vs-workload.chat.arrivals.rate.gp"),
               NULL);
    CHECK(gp != NULL);
    if (gp) {
        CHECK(strstr(gp, "index 1 using 1:2") != NULL);
        CHECK(strstr(gp, "index 2 using 1:2") == NULL);
        CHECK(strstr(gp, "set ylabel 'gw/utilization'\n") != NULL);
        free(gp);
    }

    /* The same input again: the same bytes in every data file and script. */
    gs_diag_init(&d);
    rc = gs_sweep_report_write(in_scratch("again"), &s, 1, &d);
    CHECK_EQ(rc, have_gnuplot ? GS_OK : GS_PLOT_ENOGNUPLOT);
    CHECK(same_file(in_scratch("out/sweep.csv"), in_scratch("again/sweep.csv")));
    CHECK(same_file(in_scratch("out/sweep.h5"), in_scratch("again/sweep.h5")));
    for (size_t i = 0; i < 3; i++)
        for (size_t k = 0; k < 2; k++) {
            char p[512], q[600];
            snprintf(p, sizeof p, "%s%s", stems[i], exts[k]);
            snprintf(q, sizeof q, "again/%s", p + strlen("out/"));
            CHECK(same_file(in_scratch(p), in_scratch(q)));
        }
    remove_tree(in_scratch("again"));

    /* plots = 0: the data files only. */
    gs_diag_init(&d);
    CHECK_EQ(gs_sweep_report_write(in_scratch("noplots"), &s, 0, &d), GS_OK);
    CHECK_EQ(count_entries(in_scratch("noplots"), &temps), 2);
    remove_tree(in_scratch("noplots"));
}

/* ---- sweep B: rate x servers, with capacity zipped to servers ---- */

static void test_zip(void)
{
    enum { NP = 6, NQ = 3 };
    static const char *const param[NQ] = { "workload.chat.arrivals.rate",
                                           "components.gw.servers", "components.gw.capacity" };
    static const char *const unit[NQ] = { "1/s", "", "" };
    static const char *const text[NP * NQ] = {
        "200/s", "4", "40", "200/s", "8", "80", "400/s", "4", "40",
        "400/s", "8", "80", "800/s", "4", "40", "800/s", "8", "80",
    };
    static const double num[NP * NQ] = {
        200, 4, 40, 200, 8, 80, 400, 4, 40, 400, 8, 80, 800, 4, 40, 800, 8, 80,
    };
    static const char *const comp[1] = { "system" };
    static const char *const metric[1] = { "throughput" };
    double values[NP * 2];
    for (size_t i = 0; i < NP * 2; i++)
        values[i] = 100.0 + (double)i;
    gs_sweep_base_result base[2] = {
        { "single-gateway", "", 2, 1, comp, metric, values },
        { "parallel", "", 2, 1, comp, metric, values },
    };
    static const char *const plot[1] = { "throughput" };
    gs_sweep_result s = { .name = "zip", .sweep_yaml = "", .confidence = 0.9, .nparams = NQ,
                          .param = param, .param_unit = unit, .npoints = NP, .text = text,
                          .num = num, .nbases = 2, .base = base, .nplot = 1, .plot = plot };
    gs_diag d;
    gs_diag_init(&d);
    const char *dir = in_scratch("zip");
    CHECK_EQ(gs_sweep_report_plots(dir, &s, &d), have_gnuplot ? GS_OK : GS_PLOT_ENOGNUPLOT);

    /* Against the rate: servers and capacity both split (they vary at one
     * rate), linear x (800 / 200 < 50). */
    char *dat = slurp(in_scratch("zip/sweep-throughput-vs-workload.chat.arrivals.rate.dat"),
                      NULL);
    char *gp = slurp(in_scratch("zip/sweep-throughput-vs-workload.chat.arrivals.rate.gp"),
                     NULL);
    CHECK(dat && gp);
    if (dat && gp) {
        CHECK(strstr(dat, "# index 1: single-gateway, servers=8, capacity=80\n") != NULL);
        CHECK(strstr(dat, "# index 3: parallel, servers=8, capacity=80\n") != NULL);
        CHECK(strstr(gp, "logscale") == NULL);
        CHECK(strstr(gp, "set ylabel 'throughput (1/s)'") != NULL);
    }
    free(dat);
    free(gp);
    /* Against servers: capacity goes with it, so only the rate splits. */
    dat = slurp(in_scratch("zip/sweep-throughput-vs-components.gw.servers.dat"), NULL);
    gp = slurp(in_scratch("zip/sweep-throughput-vs-components.gw.servers.gp"), NULL);
    CHECK(dat && gp);
    if (dat && gp) {
        CHECK(strstr(dat, "# index 0: single-gateway, rate=200/s\n") != NULL);
        CHECK(strstr(dat, "# index 5: parallel, rate=800/s\n") != NULL);
        CHECK(strstr(dat, "capacity=") == NULL);
        CHECK(strstr(gp, "set xlabel 'servers'\n") != NULL);
        /* Curve 4 (parallel, 400/s) holds points 2 and 3 of base 1: x 4
         * then 8, the means of values 4, 5 and 6, 7. */
        const char *block = strstr(dat, "# index 4: parallel, rate=400/s\n");
        CHECK(block != NULL);
        double x0 = 0, m0 = 0, x1 = 0, m1 = 0, lo, hi;
        if (block) {
            const char *line = strchr(block, '\n') + 1;
            CHECK_EQ(sscanf(line, "%lf %lf %lf %lf", &x0, &m0, &lo, &hi), 4);
            line = strchr(line, '\n') + 1;
            CHECK_EQ(sscanf(line, "%lf %lf %lf %lf", &x1, &m1, &lo, &hi), 4);
        }
        CHECK(x0 == 4 && x1 == 8);
        CHECK_NEAR(m0, 104.5, 1e-9);
        CHECK_NEAR(m1, 106.5, 1e-9);
    }
    free(dat);
    free(gp);
    CHECK(exists(in_scratch("zip/sweep-throughput-vs-components.gw.capacity.gp")));

    /* With no parameter splitting curves, colours are the bases'. */
    gs_sweep_result one = s;
    one.nparams = 1;
    static const char *const text1[3] = { "200/s", "400/s", "800/s" };
    static const double num1[3] = { 200, 400, 800 };
    one.npoints = 3;
    one.text = text1;
    one.num = num1;
    CHECK_EQ(gs_sweep_report_plots(in_scratch("one"), &one, &d),
             have_gnuplot ? GS_OK : GS_PLOT_ENOGNUPLOT);
    dat = slurp(in_scratch("one/sweep-throughput-vs-workload.chat.arrivals.rate.dat"), NULL);
    gp = slurp(in_scratch("one/sweep-throughput-vs-workload.chat.arrivals.rate.gp"), NULL);
    CHECK(dat && gp);
    if (dat && gp) {
        CHECK(strstr(dat, "# index 0: single-gateway\n") != NULL);
        CHECK(strstr(dat, "# index 1: parallel\n") != NULL);
        CHECK(strstr(gp, "index 1 using 1:2 with linespoints lt 2 ") != NULL);
    }
    free(dat);
    free(gp);
}

/* Two parameters whose paths end alike are named by the tails that tell
 * them apart, in curve labels and on the x axis. */
static void test_names(void)
{
    enum { NP = 4, NQ = 2 };
    static const char *const param[NQ] = { "workload.chat.arrivals.rate",
                                           "workload.auth.arrivals.rate" };
    static const char *const unit[NQ] = { "1/s", "1/s" };
    static const char *const text[NP * NQ] = { "1", "2", "1", "4", "3", "2", "3", "4" };
    static const double num[NP * NQ] = { 1, 2, 1, 4, 3, 2, 3, 4 };
    static const char *const comp[1] = { "system" };
    static const char *const metric[1] = { "goodput" };
    double values[NP] = { 1, 2, 3, 4 };
    gs_sweep_base_result base[1] = { { "b", "", 1, 1, comp, metric, values } };
    static const char *const plot[1] = { "system/goodput" };
    gs_sweep_result s = { .name = "names", .sweep_yaml = "", .confidence = 0.9, .nparams = NQ,
                          .param = param, .param_unit = unit, .npoints = NP, .text = text,
                          .num = num, .nbases = 1, .base = base, .nplot = 1, .plot = plot };
    gs_diag d;
    gs_diag_init(&d);
    CHECK_EQ(gs_sweep_report_plots(in_scratch("names"), &s, &d),
             have_gnuplot ? GS_OK : GS_PLOT_ENOGNUPLOT);
    char *dat = slurp(in_scratch("names/sweep-system_goodput-vs-workload.chat.arrivals.rate"
                                 ".dat"), NULL);
    CHECK(dat != NULL);
    if (dat) {
        CHECK(strstr(dat, "#   x: chat.arrivals.rate (1/s)\n") != NULL);
        CHECK(strstr(dat, "#   mean, lo, hi: system/goodput (1/s)\n") != NULL);
        CHECK(strstr(dat, "# index 1: b, auth.arrivals.rate=4\n") != NULL);
    }
    free(dat);
}

/* With PATH naming only an empty directory there is no gnuplot: the data
 * and scripts are written and the status says so. */
static void test_no_gnuplot(void)
{
    const char *old = getenv("PATH");
    char *saved = old ? strdup(old) : NULL;
    const char *bin = in_scratch("empty-bin");
    CHECK(mkdir(bin, 0777) == 0);
    CHECK(setenv("PATH", bin, 1) == 0);
    gs_sweep_result s = make_a();
    gs_diag d;
    gs_diag_init(&d);
    CHECK_EQ(gs_sweep_report_write(in_scratch("nognuplot"), &s, 1, &d), GS_PLOT_ENOGNUPLOT);
    CHECK_EQ(d.code, GS_PLOT_ENOGNUPLOT);
    CHECK(strstr(d.msg, "gnuplot not found") != NULL);
    int temps;
    CHECK_EQ(count_entries(in_scratch("nognuplot/plots"), &temps), 6);
    CHECK_EQ(temps, 0);
    CHECK(exists(in_scratch("nognuplot/sweep.csv")));
    CHECK(exists(in_scratch("nognuplot/sweep.h5")));
    CHECK(exists(in_scratch("nognuplot/plots/sweep-availability-vs-workload.chat.arrivals"
                            ".rate.gp")));
    if (saved) {
        CHECK(setenv("PATH", saved, 1) == 0);
        free(saved);
    } else {
        unsetenv("PATH");
    }
    remove_tree(in_scratch("nognuplot"));
}

/* ---- bad input and failures ---- */

static void test_bad_input(void)
{
    gs_sweep_result s = make_a();
    gs_diag d;
    int temps;

    /* A plotted metric nobody reports: no plot at all, but the data. */
    const char *plot[2] = { "latency_p99", "gw/latency_p99" };
    s.plot = plot;
    s.nplot = 2;
    gs_diag_init(&d);
    CHECK_EQ(gs_sweep_report_plots(in_scratch("badplot"), &s, &d), GS_EINVAL);
    CHECK(strcmp(d.msg, "plot metric 'gw/latency_p99': no base scenario reports it (e.g. "
                        "latency_p99 or gw/utilization)") == 0);
    CHECK(!exists(in_scratch("badplot")));
    gs_diag_init(&d);
    CHECK_EQ(gs_sweep_report_write(in_scratch("badplot"), &s, 1, &d), GS_EINVAL);
    CHECK(strstr(d.msg, "gw/latency_p99") != NULL);
    CHECK(exists(in_scratch("badplot/sweep.csv")) && exists(in_scratch("badplot/sweep.h5")));
    CHECK(!exists(in_scratch("badplot/plots")));
    remove_tree(in_scratch("badplot"));

    /* Bad base names: nothing is written, not even the directory. */
    static const char *const bad[3] = { "a/b", "", "." };
    for (size_t i = 0; i < 3; i++) {
        s = make_a();
        gs_sweep_base_result bases[2] = { a_bases[0], a_bases[1] };
        bases[1].name = bad[i];
        s.base = bases;
        gs_diag_init(&d);
        CHECK_EQ(gs_sweep_report_write(in_scratch("badname"), &s, 1, &d), GS_EINVAL);
        CHECK(strstr(d.msg, "cannot be used") != NULL);
        CHECK(!exists(in_scratch("badname")));
        gs_diag_init(&d);
        CHECK_EQ(gs_sweep_report_h5(in_scratch("badname.h5"), &s, &d), GS_EINVAL);
        CHECK(!exists(in_scratch("badname.h5")));
    }
    s = make_a();
    gs_sweep_base_result twins[2] = { a_bases[0], a_bases[0] };
    s.base = twins;
    gs_diag_init(&d);
    CHECK_EQ(gs_sweep_report_write(in_scratch("badname"), &s, 0, &d), GS_EINVAL);
    CHECK(strstr(d.msg, "two base scenarios are named \"single-gateway\"") != NULL);
    CHECK(!exists(in_scratch("badname")));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK_EQ(gs_sweep_report_csv(f, &s), GS_EINVAL);
    fclose(f);
    CHECK_EQ(len, 0);
    free(buf);

    /* Malformed results. */
    s = make_a();
    s.npoints = 0;
    gs_diag_init(&d);
    CHECK_EQ(gs_sweep_report_write(in_scratch("bad"), &s, 0, &d), GS_EINVAL);
    s = make_a();
    s.num = NULL;
    gs_diag_init(&d);
    CHECK_EQ(gs_sweep_report_plots(in_scratch("bad"), &s, &d), GS_EINVAL);
    s = make_a();
    gs_sweep_base_result zero[2] = { a_bases[0], a_bases[1] };
    zero[0].nrep = 0;
    s.base = zero;
    gs_diag_init(&d);
    CHECK_EQ(gs_sweep_report_h5(in_scratch("bad.h5"), &s, &d), GS_EINVAL);
    CHECK(!exists(in_scratch("bad")) && !exists(in_scratch("bad.h5")));

    /* An output directory that cannot be made: below a plain file. */
    s = make_a();
    FILE *plain = fopen(in_scratch("plain"), "w");
    CHECK(plain != NULL);
    if (plain)
        fclose(plain);
    gs_diag_init(&d);
    CHECK_EQ(gs_sweep_report_write(in_scratch("plain/out"), &s, 1, &d), GS_EIO);
    CHECK(strstr(d.msg, "Not a directory") != NULL);
    CHECK_EQ(count_entries(scratch, &temps) >= 0, 1);
    CHECK_EQ(temps, 0);
    unlink(in_scratch("plain"));

    /* A directory without write permission (root may write anywhere:
     * skipped): GS_EIO and the directory stays empty. */
    const char *ro = in_scratch("ro");
    CHECK_EQ(mkdir(ro, 0500), 0);
    if (geteuid() != 0) {
        gs_diag_init(&d);
        CHECK_EQ(gs_sweep_report_write(ro, &s, 1, &d), GS_EIO);
        CHECK(strstr(d.msg, "Permission denied") != NULL);
        CHECK_EQ(count_entries(ro, &temps), 0);
    } else {
        printf("SKIPPED: running as root, the read-only directory case\n");
        fflush(stdout);
    }
    rmdir(ro);

    /* The target of sweep.h5 is a directory: the rename fails, the
     * temporary file goes, sweep.csv is still written. */
    CHECK_EQ(mkdir(in_scratch("h5dir"), 0700), 0);
    CHECK_EQ(mkdir(in_scratch("h5dir/sweep.h5"), 0700), 0);
    gs_diag_init(&d);
    CHECK_EQ(gs_sweep_report_write(in_scratch("h5dir"), &s, 1, &d), GS_EIO);
    CHECK(strstr(d.msg, "sweep.h5") != NULL);
    CHECK(exists(in_scratch("h5dir/sweep.csv")));
    CHECK(!exists(in_scratch("h5dir/plots")));
    CHECK_EQ(count_entries(in_scratch("h5dir"), &temps), 2);
    CHECK_EQ(temps, 0);
    remove_tree(in_scratch("h5dir"));
}

/* Every allocation failing in turn: an error (out of memory, or the write
 * that it stopped), never a temporary file left, until the allocations
 * that worked are enough; then the files are the right ones. */
static void test_alloc_failures(void)
{
    const char *old = getenv("PATH");
    char *saved = old ? strdup(old) : NULL;
    /* No gnuplot, so that each try is quick. */
    CHECK(setenv("PATH", in_scratch("empty-bin"), 1) == 0);
    gs_sweep_result s = make_a();
    char dir[4800];
    snprintf(dir, sizeof dir, "%s", in_scratch("alloc"));
    int rc = GS_ENOMEM, temps;
    long n;
    for (n = 1; rc != GS_PLOT_ENOGNUPLOT && n < 5000; n++) {
        gs_diag d;
        gs_diag_init(&d);
        gs_alloc_fail_nth(n);
        rc = gs_sweep_report_write(dir, &s, 1, &d);
        gs_alloc_fail_nth(0);
        if (rc != GS_PLOT_ENOGNUPLOT) {
            CHECK(rc == GS_ENOMEM || rc == GS_EIO);
            CHECK_EQ(d.code, rc);
        }
        CHECK(count_entries(dir, &temps) >= -1);
        CHECK_EQ(temps, 0);
        int ptemps;
        count_entries(in_scratch("alloc/plots"), &ptemps);
        CHECK_EQ(ptemps, 0);
    }
    CHECK_EQ(rc, GS_PLOT_ENOGNUPLOT);
    CHECK(n > 10);
    check_h5(in_scratch("alloc/sweep.h5"), &s);
    CHECK(same_file(in_scratch("alloc/sweep.csv"), in_scratch("out/sweep.csv")));
    if (saved) {
        CHECK(setenv("PATH", saved, 1) == 0);
        free(saved);
    } else {
        unsetenv("PATH");
    }
}

int main(void)
{
    if (scratch_make("gatesim-test-sweep-report."))
        return 1;
    test_csv();
    test_json();
    test_write();
    test_zip();
    test_names();
    test_no_gnuplot();
    test_bad_input();
    test_alloc_failures();
    remove_tree(scratch);
    /* Release the library's global state so that the leak checker sees
     * only our own allocations. */
    H5close();
    return CHECK_DONE();
}
