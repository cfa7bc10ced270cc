/* Tests of analysis/plot.c: every plot writes NAME.dat, NAME.gp and, with
 * gnuplot, a real NAME.png and NAME.pdf; awkward names survive the trip
 * through a gnuplot script; gs_plot_redraw() draws the scripts again; a
 * missing gnuplot is a clear error that still leaves the data and scripts;
 * no temporary file is left behind, also when an allocation fails.
 *
 * Everything happens in a scratch directory made with mkdtemp (under
 * $TMPDIR, else the working directory) and removed at the end. Without
 * gnuplot on the machine the rendering checks are skipped, and say so. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/plot.h"
#include "sim/alloc.h"
#include "sim/error.h"
#include "tests/check.h"

static char scratch[4096];
static int have_gnuplot;

/* "scratch/a/b" in one of a few rotating buffers. */
static const char *in_scratch(const char *a, const char *b)
{
    static char buf[8][4400];
    static int k;
    k = (k + 1) % 8;
    if (b)
        snprintf(buf[k], sizeof buf[k], "%s/%s/%s", scratch, a, b);
    else
        snprintf(buf[k], sizeof buf[k], "%s/%s", scratch, a);
    return buf[k];
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int exists(const char *path)
{
    return file_size(path) >= 0;
}

/* 1 when the file at path begins with magic and is over 1 kB. */
static int looks_like(const char *path, const char *magic)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char head[8] = {0};
    size_t n = fread(head, 1, strlen(magic), f);
    fclose(f);
    return n == strlen(magic) && memcmp(head, magic, n) == 0 && file_size(path) > 1024;
}

/* The whole file as a string. Caller frees with free(). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    long n = file_size(path);
    char *s = malloc((size_t)n + 1);
    if (s) {
        size_t got = fread(s, 1, (size_t)n, f);
        s[got] = '\0';
    }
    fclose(f);
    return s;
}

static int file_contains(const char *path, const char *needle)
{
    char *s = slurp(path);
    int found = s && strstr(s, needle) != NULL;
    free(s);
    return found;
}

/* Entries of dir that look like temporary files (".NAME.tmp.XXXXXX"). */
static int count_temps(const char *dir)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL)
        if (strstr(e->d_name, ".tmp."))
            n++;
    closedir(dp);
    return n;
}

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *dp = opendir(path);
        if (dp) {
            struct dirent *e;
            while ((e = readdir(dp)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char child[4400];
                snprintf(child, sizeof child, "%s/%s", path, e->d_name);
                remove_tree(child);
            }
            closedir(dp);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* The files of plot name in dir: .dat and .gp always; .png and .pdf real
 * images when gnuplot is here. A plot with data reads its .dat. */
static void check_files(const char *dir, const char *name, int with_data)
{
    char path[4600];
    snprintf(path, sizeof path, "%s/%s.dat", dir, name);
    CHECK(exists(path));
    CHECK(file_contains(path, "columns"));
    snprintf(path, sizeof path, "%s/%s.gp", dir, name);
    CHECK(exists(path));
    /* The script names its files relatively, so the directory can move. */
    char needle[4400];
    snprintf(needle, sizeof needle, "'%s.dat'", name);
    CHECK(!with_data || file_contains(path, needle));
    CHECK(!file_contains(path, scratch));
    CHECK(file_contains(path, "if (!exists('png_out'))"));
    if (!have_gnuplot)
        return;
    snprintf(path, sizeof path, "%s/%s.png", dir, name);
    CHECK(looks_like(path, "\x89PNG"));
    snprintf(path, sizeof path, "%s/%s.pdf", dir, name);
    CHECK(looks_like(path, "%PDF"));
}

static void check_plot_files(const char *dir, const char *name)
{
    check_files(dir, name, 1);
}

/* A label with everything that could break a gnuplot script or its text:
 * quotes, a backslash, enhanced-text marks, a format and a comment sign. */
static const char tricky[] = "it's \"a_b\" ^c@d&e~{f}\\g %d #h";

static void test_quote(void)
{
    char *q = gs_plot_quote("it's");
    CHECK(q && strcmp(q, "'it''s'") == 0);
    gs_free(q);
    q = gs_plot_quote("a\nb\tc");
    CHECK(q && strcmp(q, "'a b c'") == 0);
    gs_free(q);
    q = gs_plot_quote(NULL);
    CHECK(q && strcmp(q, "''") == 0);
    gs_free(q);

    CHECK(strcmp(gs_plot_color(0), "#0072b2") == 0);
    CHECK(strcmp(gs_plot_color(GS_PLOT_PALETTE_SIZE), gs_plot_color(0)) == 0);
    CHECK(strcmp(gs_plot_color(-3), gs_plot_color(0)) == 0);
    CHECK(strcmp(gs_plot_color(1), gs_plot_color(2)) != 0);

    if (!have_gnuplot)
        return;
    /* gnuplot itself reads the literal back as the original text. */
    const char *dir = in_scratch("quote", NULL);
    CHECK(mkdir(dir, 0777) == 0);
    char path[4600];
    snprintf(path, sizeof path, "%s/q.gp", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    q = gs_plot_quote(tricky);
    fprintf(f, "set print 'q.txt'\nprint %s\n", q ? q : "''");
    gs_free(q);
    fclose(f);
    char cmd[5000];
    snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot q.gp", dir);
    CHECK_EQ(system(cmd), 0);
    snprintf(path, sizeof path, "%s/q.txt", dir);
    char *got = slurp(path);
    char want[128];
    snprintf(want, sizeof want, "%s\n", tricky);
    CHECK(got && strcmp(got, want) == 0);
    free(got);
}

/* The CDF points are exact at bucket bounds: buckets [1, 2) x1, [2, 4) x3,
 * then an empty one and [8, 16) x4 give (1, 0) (2, 1/8) (4, 1/2) (8, 1/2)
 * (16, 1). */
static void test_cdf_points(void)
{
    const char *dir = in_scratch("cdf", NULL);
    gs_diag d;
    gs_diag_init(&d);
    double lo[] = {1, 2, 4, 8}, hi[] = {2, 4, 8, 16};
    uint64_t counts[] = {1, 3, 0, 4};
    gs_plot_cdf c = {"one", 0, 4, lo, hi, counts};
    int rc = gs_plot_latency_cdf(dir, "cdf", NULL, &c, 1, &d);
    CHECK_EQ(rc, have_gnuplot ? GS_OK : GS_PLOT_ENOGNUPLOT);
    char *s = slurp(in_scratch("cdf", "cdf.dat"));
    CHECK(s != NULL);
    if (!s)
        return;
    double want[][2] = {{1, 0}, {2, 0.125}, {4, 0.5}, {8, 0.5}, {16, 1}};
    size_t k = 0;
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        double x, y;
        CHECK_EQ(sscanf(line, "%lf %lf", &x, &y), 2);
        if (k < 5) {
            CHECK_NEAR(x, want[k][0], 1e-12);
            CHECK_NEAR(y, want[k][1], 1e-12);
        }
        k++;
    }
    CHECK_EQ(k, 5);
    free(s);
    CHECK(file_contains(in_scratch("cdf", "cdf.gp"), "set logscale x"));
}

/* One call of every plot function into dir; returns how many failed to
 * give want. */
static int draw_all(const char *dir, int want, gs_diag *d)
{
    int bad = 0;
    /* Three scenarios; one with no latency at all. */
    double lo[3][40], hi[3][40];
    uint64_t counts[3][40];
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < 40; i++) {
            lo[s][i] = 0.001 * pow(1.2, i);
            hi[s][i] = 0.001 * pow(1.2, i + 1);
            double z = (i - 15.0 - 4.0 * s) / 4.0;
            counts[s][i] = s == 1 ? 0 : (uint64_t)(1000.0 * exp(-z * z));
        }
    gs_plot_cdf cdf[3] = {
        {tricky, 0, 40, lo[0], hi[0], counts[0]},
        {"empty_one", 1, 40, lo[1], hi[1], counts[1]},
        {"multi-gateway-parallel", 2, 40, lo[2], hi[2], counts[2]},
    };
    bad += gs_plot_latency_cdf(dir, "latency-cdf", tricky, cdf, 3, d) != want;

    enum { N = 60 };
    double t[N], th[N], p99[N], av[N];
    for (int i = 0; i < N; i++) {
        int down = i >= 20 && i < 30;
        t[i] = 10.0 * (i + 1);
        th[i] = down ? 0.0 : 500.0 + 10.0 * sin(i);
        p99[i] = down ? NAN : 0.2 + 0.01 * cos(i);
        av[i] = down ? 0.0 : 0.999;
    }
    double fs[] = {200.0, 450.0, 590.0}, fe[] = {300.0, 500.0, 700.0};
    int kind[] = {GS_PLOT_OUTAGE, GS_PLOT_SLOWDOWN, GS_PLOT_OUTAGE};
    gs_plot_timeline tl = {N, t, th, p99, av, 3, fs, fe, kind};
    bad += gs_plot_timeline_draw(dir, "timeline", tricky, 2, &tl, d) != want;

    gs_plot_bar util[] = {
        {"gw_1", 0, 0.8, 0.78, 0.82},
        {tricky, 0, 0.4, NAN, NAN},
        {"gpu-pool", 0, 0.97, 0.95, 0.99},
    };
    bad += gs_plot_utilization(dir, "utilization", NULL, 1, util, 3, d) != want;

    gs_plot_bar avail[] = {
        {"single-gateway", 0, 0.99994, 0.99990, 0.99998},
        {tricky, 1, 0.99996, 0.99993, 0.99999},
        {"multi-gateway-parallel", 2, 0.9, 0.85, 0.95},
    };
    bad += gs_plot_compare(dir, "availability", "availability (share ok or fallback)", avail, 3,
                           d) != want;

    double x[5] = {100, 200, 400, 800, 1600};
    double m[2][5], l[2][5], h[2][5];
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < 5; i++) {
            m[c][i] = 0.1 * (c + 1) * (i + 1);
            l[c][i] = m[c][i] * 0.9;
            h[c][i] = m[c][i] * 1.1;
        }
    m[1][2] = NAN;
    gs_plot_curve cv[3] = {
        {"single-gateway", 0, 5, x, m[0], l[0], h[0]},
        {tricky, 1, 5, x, m[1], NULL, NULL},
        {"nothing", 2, 0, NULL, NULL, NULL, NULL},
    };
    gs_plot_axes ax = {tricky, "arrival rate (req/s)", "p99 latency (s)", 1, 1, 500.0, 0.4,
                       "capacity", tricky};
    bad += gs_plot_curves(dir, "sweep-p99", &ax, cv, 3, d) != want;
    return bad;
}

static const char *const all_names[] = {"latency-cdf", "timeline", "utilization",
                                        "compare-availability", "sweep-p99"};

static void test_all_plots(void)
{
    /* A directory that does not exist yet, two levels down. */
    const char *dir = in_scratch("run", "plots");
    gs_diag d;
    gs_diag_init(&d);
    int want = have_gnuplot ? GS_OK : GS_PLOT_ENOGNUPLOT;
    CHECK_EQ(draw_all(dir, want, &d), 0);
    if (have_gnuplot && d.code != GS_OK)
        fprintf(stderr, "unexpected: %s\n", d.msg);
    for (size_t i = 0; i < sizeof all_names / sizeof all_names[0]; i++)
        check_plot_files(dir, all_names[i]);
    CHECK_EQ(count_temps(dir), 0);

    /* Colour slots: the same slot is the same linetype everywhere. */
    CHECK(file_contains(in_scratch("run", "plots/latency-cdf.gp"), "with lines lt 3 title"));
    CHECK(file_contains(in_scratch("run", "plots/timeline.gp"), "with lines lt 3"));
    /* Close values get labels that tell them apart. */
    CHECK(file_contains(in_scratch("run", "plots/compare-availability.dat"), " 0.99994 "));
    CHECK(file_contains(in_scratch("run", "plots/compare-availability.dat"), " 0.99996 "));
    /* An empty curve is named in the key, not dropped. */
    CHECK(file_contains(in_scratch("run", "plots/latency-cdf.gp"), "'empty_one (no data)'"));
    /* Tic labels are format strings to gnuplot: the % is doubled. */
    CHECK(file_contains(in_scratch("run", "plots/utilization.gp"), "%%d"));

    if (!have_gnuplot)
        return;
    /* A user redrawing by hand gets the final names. */
    const char *png = in_scratch("run", "plots/utilization.png");
    CHECK(unlink(png) == 0);
    char cmd[5000];
    snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot utilization.gp", dir);
    CHECK_EQ(system(cmd), 0);
    CHECK(looks_like(png, "\x89PNG"));
    CHECK_EQ(count_temps(dir), 0);
}

/* Plots with nothing to draw still draw (an empty frame saying so). */
static void test_no_data(void)
{
    const char *dir = in_scratch("empty", NULL);
    gs_diag d;
    gs_diag_init(&d);
    int want = have_gnuplot ? GS_OK : GS_PLOT_ENOGNUPLOT;
    double lo[] = {0.1}, hi[] = {0.2};
    uint64_t zero[] = {0};
    gs_plot_cdf c = {"none", 0, 1, lo, hi, zero};
    CHECK_EQ(gs_plot_latency_cdf(dir, "cdf", NULL, &c, 1, &d), want);
    double t[] = {1, 2, 3}, nan3[] = {NAN, NAN, NAN}, zero3[] = {0, 0, 0};
    gs_plot_timeline tl = {3, t, zero3, nan3, nan3, 0, NULL, NULL, NULL};
    CHECK_EQ(gs_plot_timeline_draw(dir, "timeline", NULL, 0, &tl, &d), want);
    gs_plot_bar b[] = {{"a", 0, NAN, NAN, NAN}};
    CHECK_EQ(gs_plot_bars(dir, "bars", NULL, NULL, b, 1, &d), want);
    CHECK_EQ(gs_plot_utilization(dir, "util", NULL, 0, b, 1, &d), want);
    gs_plot_curve cv = {"a", 0, 3, t, nan3, nan3, nan3};
    gs_plot_axes ax = {NULL, NULL, NULL, 0, 0, NAN, NAN, NULL, NULL};
    CHECK_EQ(gs_plot_curves(dir, "curves", &ax, &cv, 1, &d), want);
    if (have_gnuplot && d.code != GS_OK)
        fprintf(stderr, "unexpected: %s\n", d.msg);
    check_files(dir, "cdf", 0);
    check_files(dir, "timeline", 1);
    check_files(dir, "bars", 0);
    check_files(dir, "util", 0);
    check_files(dir, "curves", 0);
    CHECK_EQ(count_temps(dir), 0);
}

static void test_bad_arguments(void)
{
    const char *dir = in_scratch("bad", NULL);
    gs_diag d;
    gs_plot_bar b[] = {{"a", 0, 1, 0.5, 1.5}};
    static const char *const bad_names[] = {"", "../x", "-x", ".hidden", "a b", "a/b", "é"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        gs_diag_init(&d);
        CHECK_EQ(gs_plot_bars(dir, bad_names[i], NULL, NULL, b, 1, &d), GS_EINVAL);
        CHECK(strstr(d.msg, "plot name") != NULL);
    }
    CHECK(!exists(dir));
    gs_diag_init(&d);
    CHECK_EQ(gs_plot_bars(dir, "x", NULL, NULL, b, 0, &d), GS_EINVAL);
    b[0].color = -1;
    CHECK_EQ(gs_plot_bars(dir, "x", NULL, NULL, b, 1, &d), GS_EINVAL);
    b[0].color = 0;
    b[0].mean = INFINITY;
    CHECK_EQ(gs_plot_bars(dir, "x", NULL, NULL, b, 1, &d), GS_EINVAL);
    CHECK_EQ(gs_plot_compare(dir, "", NULL, b, 1, &d), GS_EINVAL);

    double lo[] = {2, 1}, hi[] = {3, 2};
    uint64_t counts[] = {1, 1};
    gs_plot_cdf c = {"a", 0, 2, lo, hi, counts};
    gs_diag_init(&d);
    CHECK_EQ(gs_plot_latency_cdf(dir, "x", NULL, &c, 1, &d), GS_EINVAL);
    CHECK(strstr(d.msg, "bucket 1") != NULL);
    CHECK_EQ(gs_plot_latency_cdf(dir, "x", NULL, &c, 0, &d), GS_EINVAL);

    double t[] = {1, 1}, v[] = {0, 0};
    gs_plot_timeline tl = {2, t, v, v, v, 0, NULL, NULL, NULL};
    gs_diag_init(&d);
    CHECK_EQ(gs_plot_timeline_draw(dir, "x", NULL, 0, &tl, &d), GS_EINVAL);
    CHECK(strstr(d.msg, "increase") != NULL);
    t[1] = 2;
    double fs[] = {5}, fe[] = {4};
    tl.nfaults = 1;
    tl.fault_start_s = fs;
    tl.fault_end_s = fe;
    CHECK_EQ(gs_plot_timeline_draw(dir, "x", NULL, 0, &tl, &d), GS_EINVAL);
    int kind[] = {7};
    fe[0] = 6;
    tl.fault_kind = kind;
    CHECK_EQ(gs_plot_timeline_draw(dir, "x", NULL, 0, &tl, &d), GS_EINVAL);

    double x[] = {1, 2};
    gs_plot_curve cv = {"a", 0, 2, x, x, x, NULL};
    gs_plot_axes ax = {NULL, "x", "y", 0, 0, NAN, NAN, NULL, NULL};
    CHECK_EQ(gs_plot_curves(dir, "x", &ax, &cv, 1, &d), GS_EINVAL);
    CHECK_EQ(gs_plot_curves(dir, "x", NULL, &cv, 1, &d), GS_EINVAL);
    CHECK(!exists(dir));
}

static void test_redraw(void)
{
    const char *dir = in_scratch("run", "plots");
    gs_diag d;
    gs_diag_init(&d);
    if (!have_gnuplot) {
        CHECK_EQ(gs_plot_redraw(dir, &d), GS_PLOT_ENOGNUPLOT);
        return;
    }
    char path[4600];
    for (size_t i = 0; i < sizeof all_names / sizeof all_names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s.png", dir, all_names[i]);
        CHECK(unlink(path) == 0);
        snprintf(path, sizeof path, "%s/%s.pdf", dir, all_names[i]);
        CHECK(unlink(path) == 0);
    }
    CHECK_EQ(gs_plot_redraw(dir, &d), GS_OK);
    for (size_t i = 0; i < sizeof all_names / sizeof all_names[0]; i++)
        check_plot_files(dir, all_names[i]);
    CHECK_EQ(count_temps(dir), 0);

    const char *empty = in_scratch("nothing-here", NULL);
    CHECK(mkdir(empty, 0777) == 0);
    gs_diag_init(&d);
    CHECK_EQ(gs_plot_redraw(empty, &d), GS_EINVAL);
    CHECK(strstr(d.msg, "no plot scripts") != NULL);
    gs_diag_init(&d);
    CHECK_EQ(gs_plot_redraw(in_scratch("missing", NULL), &d), GS_EIO);
}

/* A broken script (a user's edit gone wrong) is reported with gnuplot's
 * own message, and the scripts after it are still drawn. */
static void test_redraw_broken(void)
{
    if (!have_gnuplot)
        return;
    const char *dir = in_scratch("alloc", NULL);
    char path[4600];
    gs_diag d;
    snprintf(path, sizeof path, "%s/a-broken.gp", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("set output png_out\nplot sin(\n", f);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/bars.png", dir);
    CHECK(unlink(path) == 0);
    gs_diag_init(&d);
    CHECK_EQ(gs_plot_redraw(dir, &d), GS_EIO);
    CHECK(strstr(d.msg, "a-broken.gp: gnuplot failed (exit status") != NULL);
    CHECK(strstr(d.msg, "line 2") != NULL);
    CHECK(looks_like(path, "\x89PNG"));
    CHECK(!exists(in_scratch("alloc", "a-broken.png")));
    CHECK_EQ(count_temps(dir), 0);
    snprintf(path, sizeof path, "%s/a-broken.gp", dir);
    unlink(path);
}

/* With PATH naming only an empty directory there is no gnuplot: a clear
 * error, and the data and scripts are there to draw later. */
static void test_no_gnuplot(void)
{
    const char *old = getenv("PATH");
    char *saved = old ? strdup(old) : NULL;
    const char *bin = in_scratch("empty-bin", NULL);
    CHECK(mkdir(bin, 0777) == 0);
    CHECK(setenv("PATH", bin, 1) == 0);

    const char *dir = in_scratch("nognuplot", NULL);
    gs_diag d;
    gs_diag_init(&d);
    CHECK_EQ(draw_all(dir, GS_PLOT_ENOGNUPLOT, &d), 0);
    CHECK_EQ(d.code, GS_PLOT_ENOGNUPLOT);
    CHECK(strstr(d.msg, "gnuplot not found: install gnuplot (apt-get install gnuplot-nox)") !=
          NULL);
    CHECK(strstr(d.msg, "the CSV and HDF5 results are written") != NULL);
    int keep = have_gnuplot;
    have_gnuplot = 0;
    for (size_t i = 0; i < sizeof all_names / sizeof all_names[0]; i++)
        check_plot_files(dir, all_names[i]);
    have_gnuplot = keep;
    CHECK(!exists(in_scratch("nognuplot", "latency-cdf.png")));
    CHECK(!exists(in_scratch("nognuplot", "latency-cdf.pdf")));
    CHECK_EQ(count_temps(dir), 0);
    gs_diag_init(&d);
    CHECK_EQ(gs_plot_redraw(dir, &d), GS_PLOT_ENOGNUPLOT);

    if (saved) {
        CHECK(setenv("PATH", saved, 1) == 0);
        free(saved);
    } else {
        unsetenv("PATH");
    }
}

/* Make each allocation fail in turn: the result is success or out of
 * memory, and no temporary file is ever left. */
static void test_alloc_failures(void)
{
    gs_plot_bar b[] = {{"a", 0, 1.0, 0.9, 1.1}, {"b", 1, 2.0, 1.8, 2.2}};
    const char *dir = in_scratch("alloc", NULL);
    int want = have_gnuplot ? GS_OK : GS_PLOT_ENOGNUPLOT;
    gs_diag d;
    gs_diag_init(&d);
    long before = gs_alloc_count();
    CHECK_EQ(gs_plot_bars(dir, "bars", NULL, "y (s)", b, 2, &d), want);
    long total = gs_alloc_count() - before;
    CHECK(total > 0);
    for (long n = 1; n <= total; n++) {
        gs_diag_init(&d);
        gs_alloc_fail_nth(n);
        int rc = gs_plot_bars(dir, "bars", NULL, "y (s)", b, 2, &d);
        gs_alloc_fail_nth(0);
        CHECK(rc == want || rc == GS_ENOMEM);
        if (rc == GS_ENOMEM)
            CHECK(strstr(d.msg, "out of memory") != NULL);
        CHECK_EQ(count_temps(dir), 0);
    }
    if (have_gnuplot) {
        gs_diag_init(&d);
        before = gs_alloc_count();
        CHECK_EQ(gs_plot_redraw(dir, &d), GS_OK);
        total = gs_alloc_count() - before;
        for (long n = 1; n <= total; n++) {
            gs_diag_init(&d);
            gs_alloc_fail_nth(n);
            int rc = gs_plot_redraw(dir, &d);
            gs_alloc_fail_nth(0);
            CHECK(rc == GS_OK || rc == GS_ENOMEM);
            CHECK_EQ(count_temps(dir), 0);
        }
    }
    check_plot_files(dir, "bars");
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = ".";
    snprintf(scratch, sizeof scratch, "%s/gs_test_plot_XXXXXX", base);
    if (!mkdtemp(scratch)) {
        fprintf(stderr, "mkdtemp %s: %s\n", scratch, strerror(errno));
        return 1;
    }
    /* Probe: a tiny plot tells whether gnuplot is on this machine. */
    gs_diag d;
    gs_diag_init(&d);
    gs_plot_bar probe = {"probe", 0, 1.0, NAN, NAN};
    int rc = gs_plot_bars(in_scratch("probe", NULL), "probe", NULL, NULL, &probe, 1, &d);
    have_gnuplot = rc == GS_OK;
    if (rc == GS_PLOT_ENOGNUPLOT) {
        printf("SKIPPED: gnuplot is not installed; image checks skipped, data and scripts "
               "checked (%s)\n",
               d.msg);
        fflush(stdout);
    } else {
        CHECK_EQ(rc, GS_OK);
    }

    test_quote();
    test_cdf_points();
    test_all_plots();
    test_no_data();
    test_bad_arguments();
    test_redraw();
    test_no_gnuplot();
    test_alloc_failures();
    test_redraw_broken();
    remove_tree(scratch);
    return CHECK_DONE();
}
