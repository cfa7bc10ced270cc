/* Tests of analysis/summary.c and analysis/csv.c: the t interval against a
 * hand-computed case and by its coverage, the degenerate cases, and the
 * exact bytes of the CSV, JSON and table forms. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "analysis/csv.h"
#include "analysis/summary.h"
#include "sim/error.h"
#include "sim/rng.h"
#include "tests/check.h"

/* The output of a writer, as a string. Caller frees with free(). */
typedef struct capture {
    char  *buf;
    size_t len;
    FILE  *f;
} capture;

static void cap_open(capture *c)
{
    c->buf = NULL;
    c->len = 0;
    c->f = open_memstream(&c->buf, &c->len);
}

static void cap_close(capture *c)
{
    fclose(c->f);
    c->f = NULL;
}

static void test_hand_example(void)
{
    static const double x[] = {1, 2, 3, 4, 5};
    gs_estimate e;
    gs_estimate_compute(x, 5, 0.95, &e);
    /* s = sqrt(2.5); t(0.975, 4) = 2.776445105; half = t s / sqrt(5). */
    double half = 2.776445105 * sqrt(2.5) / sqrt(5.0);
    CHECK_EQ(e.n, 5);
    CHECK_NEAR(e.mean, 3.0, 1e-15);
    CHECK_NEAR(e.stddev, 1.5811388300841898, 1e-12);
    CHECK_NEAR(half, 1.963243, 1e-6);
    CHECK_NEAR(e.ci_low, 3.0 - half, 1e-8);
    CHECK_NEAR(e.ci_high, 3.0 + half, 1e-8);

    /* A wider confidence gives a wider interval: t(0.995, 4) = 4.604094871. */
    gs_estimate_compute(x, 5, 0.99, &e);
    CHECK_NEAR(e.ci_high - e.mean, 4.604094871 * sqrt(0.5), 1e-8);

    /* Non-finite values are skipped. */
    static const double y[] = {NAN, 1, 2, INFINITY, 3, -NAN, 4, 5, -INFINITY};
    gs_estimate f;
    gs_estimate_compute(y, 9, 0.95, &f);
    gs_estimate_compute(x, 5, 0.95, &e);
    CHECK_EQ(f.n, 5);
    CHECK(f.mean == e.mean && f.stddev == e.stddev && f.ci_low == e.ci_low &&
          f.ci_high == e.ci_high);

    /* A confidence outside (0, 1) has no interval. */
    gs_estimate_compute(x, 5, 1.0, &e);
    CHECK(isnan(e.ci_low) && isnan(e.ci_high) && e.mean == 3.0);
}

static void test_degenerate(void)
{
    gs_estimate e;
    static const double one[] = {7.5};
    gs_estimate_compute(one, 1, 0.95, &e);
    CHECK_EQ(e.n, 1);
    CHECK_NEAR(e.mean, 7.5, 0);
    CHECK(isnan(e.stddev) && isnan(e.ci_low) && isnan(e.ci_high));

    gs_estimate_compute(NULL, 0, 0.95, &e);
    CHECK_EQ(e.n, 0);
    CHECK(isnan(e.mean) && isnan(e.stddev) && isnan(e.ci_low) && isnan(e.ci_high));

    static const double none[] = {NAN, NAN};
    gs_estimate_compute(none, 2, 0.95, &e);
    CHECK_EQ(e.n, 0);
    CHECK(isnan(e.mean));

    static const double one_left[] = {NAN, 2.0, NAN};
    gs_estimate_compute(one_left, 3, 0.95, &e);
    CHECK_EQ(e.n, 1);
    CHECK(e.mean == 2.0 && isnan(e.ci_low));

    /* 0.1 has no exact binary form, and 0.1 * 3 / 3 != 0.1: the interval
     * must still collapse exactly. */
    static const double same[] = {0.1, 0.1, 0.1};
    gs_estimate_compute(same, 3, 0.95, &e);
    CHECK_EQ(e.n, 3);
    CHECK(e.mean == 0.1 && e.stddev == 0.0 && e.ci_low == 0.1 && e.ci_high == 0.1);

    /* Large values close together keep their digits. */
    static const double close[] = {1e9 + 1, 1e9 + 2, 1e9 + 3};
    gs_estimate_compute(close, 3, 0.95, &e);
    CHECK_NEAR(e.mean, 1e9 + 2, 1e-6);
    CHECK_NEAR(e.stddev, 1.0, 1e-9);
}

/* 2000 experiments of 10 normal samples each: the 95 % interval must cover
 * the true mean in 1900 of them, up to 3.3 binomial standard deviations
 * (99.9 % acceptance). */
static void test_coverage(void)
{
    enum { EXPERIMENTS = 2000, N = 10 };
    const double mu = 42.0, sigma = 3.0;
    gsl_rng *r = gs_rng_new(20240601, 0, "coverage");
    CHECK(r != NULL);
    if (!r)
        return;
    long covered = 0;
    for (int k = 0; k < EXPERIMENTS; k++) {
        double x[N];
        for (int i = 0; i < N; i++)
            x[i] = mu + gsl_ran_gaussian(r, sigma);
        gs_estimate e;
        gs_estimate_compute(x, N, 0.95, &e);
        covered += e.ci_low <= mu && mu <= e.ci_high;
    }
    double expect = 0.95 * EXPERIMENTS;
    double tol = 3.3 * sqrt(EXPERIMENTS * 0.95 * 0.05);
    CHECK_NEAR((double)covered, expect, tol);
    gsl_rng_free(r);
}

static void test_csv_field(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "plain"},
        {"", ""},
        {"a,b", "\"a,b\""},
        {"say \"hi\"", "\"say \"\"hi\"\"\""},
        {"two\nlines", "\"two\nlines\""},
        {"cr\r", "\"cr\r\""},
        {" lead", "\" lead\""},
        {"trail ", "\"trail \""},
        {"in side", "in side"},
        {"tab\t", "\"tab\t\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        capture c;
        cap_open(&c);
        CHECK_EQ(gs_csv_write_field(c.f, cases[i].in), GS_OK);
        cap_close(&c);
        CHECK(strcmp(c.buf, cases[i].out) == 0);
        if (strcmp(c.buf, cases[i].out) != 0)
            fprintf(stderr, "  field %zu: got [%s]\n", i, c.buf);
        free(c.buf);
    }
    capture c;
    cap_open(&c);
    CHECK_EQ(gs_csv_write_field(c.f, NULL), GS_OK);
    cap_close(&c);
    CHECK_EQ(c.len, 0);
    free(c.buf);
}

static gs_summary_row sample_rows[5];

static void make_rows(void)
{
    static const gs_summary_row rows[5] = {
        {"system", "latency_mean", {0.012345678901, 0.0121, 0.0126, 0.0005, 20}},
        {"gw", "utilization", {0.79951, 0.799, 0.80002, 0.0011, 20}},
        {"system", "throughput", {998.14, 995.33, 1000.95, 6.0, 20}},
        {"gw, east", "recovery_time", {NAN, NAN, NAN, NAN, 0}},
        {"system", "odd \"name\"", {INFINITY, -INFINITY, 1e300, -NAN, 1}},
    };
    memcpy(sample_rows, rows, sizeof rows);
}

static void test_csv(void)
{
    capture c;
    cap_open(&c);
    CHECK_EQ(gs_summary_write_csv(c.f, "base,line", sample_rows, 5), GS_OK);
    cap_close(&c);
    static const char want[] =
        "scenario,component,metric,mean,ci_low,ci_high,stddev,replications\n"
        "\"base,line\",system,latency_mean,0.0123456789,0.0121,0.0126,0.0005,20\n"
        "\"base,line\",gw,utilization,0.79951,0.799,0.80002,0.0011,20\n"
        "\"base,line\",system,throughput,998.14,995.33,1000.95,6,20\n"
        "\"base,line\",\"gw, east\",recovery_time,nan,nan,nan,nan,0\n"
        "\"base,line\",system,\"odd \"\"name\"\"\",inf,-inf,1e+300,nan,1\n";
    CHECK(strcmp(c.buf, want) == 0);
    if (strcmp(c.buf, want) != 0)
        fprintf(stderr, "got:\n%s", c.buf);
    free(c.buf);

    cap_open(&c);
    CHECK_EQ(gs_summary_write_csv(c.f, "s", NULL, 0), GS_OK);
    cap_close(&c);
    CHECK(strcmp(c.buf,
                 "scenario,component,metric,mean,ci_low,ci_high,stddev,replications\n") == 0);
    free(c.buf);
}

/* A JSON syntax checker (RFC 8259), enough to show the output parses. */
static const char *json_value(const char *p, int depth);

static const char *ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

static const char *json_str(const char *p)
{
    if (*p++ != '"')
        return NULL;
    while (*p != '"') {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
                        return NULL;
                p += 4;
            } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
                return NULL;
            }
        }
        p++;
    }
    return p + 1;
}

static const char *json_num(const char *p)
{
    const char *s = p;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return NULL;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9'))
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return p > s ? p : NULL;
}

static const char *json_value(const char *p, int depth)
{
    if (depth > 32)
        return NULL;
    p = ws(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        int object = *p == '{';
        p = ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (object) {
                p = json_str(ws(p));
                if (!p)
                    return NULL;
                p = ws(p);
                if (*p++ != ':')
                    return NULL;
            }
            p = json_value(p, depth + 1);
            if (!p)
                return NULL;
            p = ws(p);
            if (*p == close)
                return p + 1;
            if (*p++ != ',')
                return NULL;
        }
    }
    if (*p == '"')
        return json_str(p);
    if (strncmp(p, "null", 4) == 0 || strncmp(p, "true", 4) == 0)
        return p + 4;
    if (strncmp(p, "false", 5) == 0)
        return p + 5;
    return json_num(p);
}

static int json_valid(const char *s)
{
    const char *end = json_value(s, 0);
    return end && *ws(end) == '\0';
}

static void test_json(void)
{
    CHECK(json_valid("{\"a\": [1, -2.5e+3, null, \"x\\n\\u0001\"]}"));
    CHECK(!json_valid("{\"a\": nan}"));
    CHECK(!json_valid("{\"a\": 1,}"));

    capture c;
    cap_open(&c);
    CHECK_EQ(gs_summary_print_json(c.f, "base\\line \"x\"\n\x01", 0.95, sample_rows, 5),
             GS_OK);
    cap_close(&c);
    CHECK(json_valid(c.buf));
    CHECK(strstr(c.buf, "\"scenario\": \"base\\\\line \\\"x\\\"\\n\\u0001\"") != NULL);
    CHECK(strstr(c.buf, "\"confidence\": 0.95,") != NULL);
    CHECK(strstr(c.buf, "{\"component\": \"system\", \"metric\": \"latency_mean\", "
                        "\"mean\": 0.012345678901, \"ci_low\": 0.0121, \"ci_high\": 0.0126, "
                        "\"stddev\": 0.0005, \"replications\": 20}") != NULL);
    CHECK(strstr(c.buf, "\"metric\": \"recovery_time\", \"mean\": null, \"ci_low\": null, "
                        "\"ci_high\": null, \"stddev\": null, \"replications\": 0}") != NULL);
    CHECK(strstr(c.buf, "\"metric\": \"odd \\\"name\\\"\", \"mean\": null, \"ci_low\": null, "
                        "\"ci_high\": 1e+300, \"stddev\": null, \"replications\": 1}") != NULL);
    CHECK(strstr(c.buf, "nan") == NULL && strstr(c.buf, "inf") == NULL);
    free(c.buf);

    /* Empty rows and a NULL scenario are still JSON. */
    cap_open(&c);
    CHECK_EQ(gs_summary_print_json(c.f, NULL, NAN, NULL, 0), GS_OK);
    cap_close(&c);
    CHECK(json_valid(c.buf));
    CHECK(strcmp(c.buf,
                 "{\n  \"scenario\": null,\n  \"confidence\": null,\n  \"rows\": []\n}\n") == 0);
    free(c.buf);
}

static int count_substr(const char *s, const char *sub)
{
    int n = 0;
    for (const char *p = strstr(s, sub); p; p = strstr(p + 1, sub))
        n++;
    return n;
}

static void test_table(void)
{
    capture c;
    cap_open(&c);
    CHECK_EQ(gs_summary_print_table(c.f, "baseline", 0.95, sample_rows, 5), GS_OK);
    cap_close(&c);
    CHECK(strncmp(c.buf, "scenario: baseline\n\n", 20) == 0);
    CHECK(strstr(c.buf, "95% CI") != NULL);
    /* Times get a unit picked from the mean, 4 significant digits. */
    CHECK(strstr(c.buf, "12.35 ms") != NULL);
    CHECK(strstr(c.buf, "[12.10, 12.60] ms") != NULL);
    CHECK(strstr(c.buf, "0.2500 ms") != NULL);
    /* Ratios and rates are plain, 4 significant digits. */
    CHECK(strstr(c.buf, "0.7995 ") != NULL);
    CHECK(strstr(c.buf, "[0.7990, 0.8000]") != NULL);
    CHECK(strstr(c.buf, "0.0005100 ") != NULL);
    CHECK(strstr(c.buf, "998.1 ") != NULL);
    CHECK(strstr(c.buf, "[995.3, 1001]") != NULL);
    /* Rows are grouped: "system" is printed once, before both its rows... */
    CHECK_EQ(count_substr(c.buf, "\nsystem "), 1);
    const char *sys = strstr(c.buf, "\nsystem ");
    const char *thr = strstr(c.buf, "throughput");
    const char *gw = strstr(c.buf, "\ngw ");
    CHECK(sys && thr && gw && sys < thr && thr < gw);
    /* ...and every line of the table has the same length up to n, which is
     * right-aligned at the end. */
    size_t width = 0;
    int lines = 0, aligned = 1;
    for (const char *p = strstr(c.buf, "\n\n") + 2; *p; lines++) {
        const char *nl = strchr(p, '\n');
        size_t w = (size_t)(nl - p);
        if (!width)
            width = w;
        aligned &= w == width;
        p = nl + 1;
    }
    CHECK(aligned);
    CHECK_EQ(lines, 2 + 5);
    free(c.buf);

    /* A confidence that is not 95 % shows in the heading. */
    cap_open(&c);
    CHECK_EQ(gs_summary_print_table(c.f, "x", 0.999, sample_rows, 1), GS_OK);
    cap_close(&c);
    CHECK(strstr(c.buf, "99.9% CI") != NULL);
    free(c.buf);

    /* Units across the range. */
    static const gs_summary_row units[] = {
        {"c", "wait_mean", {2.5e-7, 2.4e-7, 2.6e-7, 1e-8, 5}},
        {"c", "response_mean", {3.2e-5, 3.1e-5, 3.3e-5, 1e-6, 5}},
        {"c", "ttft_p99", {1.5, 1.25, 1.75, 0.1, 5}},
        {"c", "tpot_mean", {0.0, 0.0, 0.0, 0.0, 5}},
        {"c", "error_ratio", {2.5e-5, 2e-5, 3e-5, 1e-6, 5}},
        {"c", "tokens_per_s", {123456.7, 123000, 123913.4, 10, 5}},
    };
    cap_open(&c);
    CHECK_EQ(gs_summary_print_table(c.f, "units", 0.95, units, 6), GS_OK);
    cap_close(&c);
    CHECK(strstr(c.buf, "250.0 ns") != NULL);
    CHECK(strstr(c.buf, "32.00 us") != NULL);
    CHECK(strstr(c.buf, "1.500 s") != NULL);
    CHECK(strstr(c.buf, "[1.250, 1.750] s") != NULL);
    CHECK(strstr(c.buf, "2.500e-05") != NULL);
    CHECK(strstr(c.buf, "123457") != NULL);
    free(c.buf);
}

/* /dev/full fails every write with ENOSPC; the writers must say so even
 * though their output sits in the stream's buffer until the flush. */
static void test_write_errors(void)
{
    FILE *f = fopen("/dev/full", "w");
    if (!f) {
        fprintf(stderr, "no /dev/full: write-error test skipped\n");
        return;
    }
    CHECK_EQ(gs_summary_write_csv(f, "s", sample_rows, 5), GS_EIO);
    clearerr(f);
    CHECK_EQ(gs_summary_print_json(f, "s", 0.95, sample_rows, 5), GS_EIO);
    clearerr(f);
    CHECK_EQ(gs_summary_print_table(f, "s", 0.95, sample_rows, 5), GS_EIO);
    fclose(f);
}

int main(void)
{
    make_rows();
    test_hand_example();
    test_degenerate();
    test_coverage();
    test_csv_field();
    test_csv();
    test_json();
    test_table();
    test_write_errors();
    return CHECK_DONE();
}
