/* Tests of values with units and of the typed readers: every unit and its
 * factor, the values that must be refused (NaN, infinities, overflow,
 * unknown units, trailing text), exact messages at the value's position,
 * default insertion, and allocation failure while inserting a default. */
#include "sim/units.h"

#include <float.h>
#include <limits.h>
#include <string.h>

#include "sim/alloc.h"
#include "sim/error.h"
#include "sim/node.h"
#include "tests/check.h"

#define SRC "scen.yaml"

static int same_text(const char *got, const char *want, int line)
{
    if (strcmp(got, want) == 0)
        return 1;
    fprintf(stderr, "line %d: message differs\n  got:  %s\n  want: %s\n", line, got, want);
    return 0;
}
#define CHECK_MSG(got, want) CHECK(same_text((got), (want), __LINE__))

/* Relative tolerance: the parsed value is one strtod() and one multiply or
 * divide away from the exact one. */
#define CHECK_REL(a, b) CHECK_NEAR((a), (b), 4 * DBL_EPSILON * fabs((double)(b)))

static double time_of(const char *text)
{
    double s = -12345.0;
    CHECK_EQ(gs_parse_time(text, &s), 0);
    return s;
}

static double rate_of(const char *text)
{
    double r = -12345.0;
    CHECK_EQ(gs_parse_rate(text, &r), 0);
    return r;
}

static void test_parse_time(void)
{
    CHECK_REL(time_of("100ns"), 100e-9);
    CHECK_REL(time_of("250us"), 250e-6);
    CHECK_REL(time_of("3\xc2\xb5s"), 3e-6);  /* U+00B5 micro sign */
    CHECK_REL(time_of("3\xce\xbcs"), 3e-6);  /* U+03BC Greek mu */
    CHECK_REL(time_of("5ms"), 5e-3);
    CHECK_REL(time_of("2s"), 2.0);
    CHECK_REL(time_of("10m"), 600.0);
    CHECK_REL(time_of("10min"), 600.0);
    CHECK_REL(time_of("1h"), 3600.0);
    CHECK_REL(time_of("1.5"), 1.5);
    CHECK_REL(time_of("42"), 42.0);
    CHECK_REL(time_of("1e-3s"), 1e-3);
    CHECK_REL(time_of("1.5e3ms"), 1.5);
    CHECK_REL(time_of("2E2us"), 200e-6);
    CHECK_REL(time_of(".5s"), 0.5);
    CHECK_REL(time_of("5.s"), 5.0);
    CHECK_REL(time_of("+2s"), 2.0);
    CHECK_REL(time_of("-2s"), -2.0); /* parses; readers check the range */
    CHECK_REL(time_of("5 ms"), 5e-3);
    CHECK_REL(time_of(" 5ms "), 5e-3);
    CHECK_REL(time_of("0"), 0.0);
    CHECK_REL(time_of("1e300s"), 1e300);
    CHECK_REL(time_of("1e-400s"), 0.0); /* underflow is zero, not an error */

    static const char *const bad[] = {
        "", " ", "nan", "NaN", "-nan", "inf", "-inf", "infinity", ".inf", ".nan", "1e999s",
        "1e999", "-1e999s", "1e307h", "5 parsecs", "5ss", "5 s x", "5s5", "0x10s", "0x1p3",
        "s", "ms", ".s", "-", "+", "e5", "1e", "1e+", "5MS", "5S", "1,5s", "5/s", "1_000",
        "5 m s",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double s = 7.0;
        int rc = gs_parse_time(bad[i], &s);
        if (rc != -1)
            fprintf(stderr, "gs_parse_time accepted '%s'\n", bad[i]);
        CHECK_EQ(rc, -1);
        CHECK(s == 7.0);
    }
    double s;
    CHECK_EQ(gs_parse_time(NULL, &s), -1);
}

static void test_parse_rate(void)
{
    CHECK_REL(rate_of("800/s"), 800.0);
    CHECK_REL(rate_of("50/ms"), 50000.0);
    CHECK_REL(rate_of("5/us"), 5e6);
    CHECK_REL(rate_of("5/\xc2\xb5s"), 5e6);
    CHECK_REL(rate_of("2/ns"), 2e9);
    CHECK_REL(rate_of("3000/m"), 50.0);
    CHECK_REL(rate_of("6/min"), 0.1);
    CHECK_REL(rate_of("36/h"), 0.01);
    CHECK_REL(rate_of("12.5"), 12.5);
    CHECK_REL(rate_of("1e3/s"), 1000.0);
    CHECK_REL(rate_of("800 / s"), 800.0);
    CHECK_REL(rate_of("0/s"), 0.0); /* parses; readers require > 0 */
    CHECK_REL(rate_of("-1/s"), -1.0);

    static const char *const bad[] = {
        "", "x", "nan/s", "inf/s", ".inf", "800/", "800/parsec", "800s", "800 s", "/s",
        "1e999/s", "1e308/ns", "800/s/s", "800//s", "800/S", "0x10/s",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double r = 7.0;
        int rc = gs_parse_rate(bad[i], &r);
        if (rc != -1)
            fprintf(stderr, "gs_parse_rate accepted '%s'\n", bad[i]);
        CHECK_EQ(rc, -1);
        CHECK(r == 7.0);
    }
}

static const char *text =
    "t: 5ms\n"                 /* 1 */
    "fast: fast\n"             /* 2 */
    "neg: -2s\n"               /* 3 */
    "inf: .inf\n"              /* 4 */
    "nan: .nan\n"              /* 5 */
    "r: 800/s\n"               /* 6 */
    "r0: 0/s\n"                /* 7 */
    "rx: x\n"                  /* 8 */
    "i: 4\n"                   /* 9 */
    "f: 4.0\n"                 /* 10 */
    "big: 99999999999999999999\n" /* 11 */
    "hex: 0x10\n"              /* 12 */
    "d: 0.95\n"                /* 13 */
    "b1: yes\n"                /* 14 */
    "b2: Off\n"                /* 15 */
    "b3: maybe\n"              /* 16 */
    "m: {x: 1}\n"              /* 17 */
    "s: [1]\n"                 /* 18 */
    "empty:\n"                 /* 19 */
    "tilde: ~\n"               /* 20 */
    "qempty: ''\n"             /* 21 */
    "qnum: '12'\n"             /* 22 */
    "sec: {duration: 10s}\n"   /* 23 */
    "huge: 1e10s\n"            /* 24 */
    "most: 9223372036s\n"      /* 25 */
    "qtilde: '~'\n"            /* 26 */
    "zero: 0s\n";              /* 27 */

static gs_doc *load(void)
{
    gs_diag d;
    gs_diag_init(&d);
    gs_doc *doc = NULL;
    int rc = gs_doc_load_string(text, strlen(text), SRC, &doc, &d);
    if (rc)
        fprintf(stderr, "load: %s\n", d.msg);
    CHECK_EQ(rc, GS_OK);
    return doc;
}

static gs_node *get(gs_doc *doc, const char *key) { return gs_map_get(gs_doc_root(doc), key); }

#define EXPECT_TIME "a time such as 250us, 5ms, 2s, 10m or 1h (or a number of seconds)"
#define EXPECT_RATE "a rate such as 800/s, 50/ms or 3000/m (or a number per second)"

/* Run a reader (given the diagnostics sink rd) that must fail with exactly
 * want. */
#define READ_FAILS(call, want)                                                 \
    do {                                                                       \
        gs_diag rd_;                                                           \
        gs_diag_init(&rd_);                                                    \
        gs_diag *rd = &rd_;                                                    \
        CHECK_EQ((call), GS_EINVAL);                                           \
        CHECK_EQ(rd_.code, GS_EINVAL);                                         \
        CHECK_MSG(rd_.msg, (want));                                            \
    } while (0)

static void test_readers(void)
{
    gs_doc *doc = load();
    if (!doc)
        return;
    gs_diag dd;
    gs_diag_init(&dd);
    double x = 0;
    long l = 0;
    int b = -1;
    const char *s = NULL;

    CHECK_EQ(gs_node_seconds(get(doc, "t"), "t", &x, &dd), GS_OK);
    CHECK_REL(x, 5e-3);
    READ_FAILS(gs_node_seconds(get(doc, "fast"), "duration", &x, rd),
               SRC ":2:7: duration: expected " EXPECT_TIME ", got 'fast'");
    READ_FAILS(gs_node_seconds(get(doc, "neg"), "deadline", &x, rd),
               SRC ":3:6: deadline: must be >= 0, got -2s");
    /* The clock holds 2^63 - 1 ns: longer times are refused, not clamped. */
    READ_FAILS(gs_node_seconds(get(doc, "huge"), "duration", &x, rd),
               SRC ":24:7: duration: at most 9223372036s (292 years), got 1e10s");
    CHECK_EQ(gs_node_seconds(get(doc, "most"), "duration", &x, &dd), GS_OK);
    CHECK(x == 9223372036.0);
    /* A time that must be > 0 says so for negative times too. */
    READ_FAILS(gs_node_seconds_pos(get(doc, "neg"), "duration", &x, rd),
               SRC ":3:6: duration: must be > 0, got -2s");
    READ_FAILS(gs_node_seconds_pos(get(doc, "zero"), "sample_interval", &x, rd),
               SRC ":27:7: sample_interval: must be > 0, got 0s");
    CHECK_EQ(gs_node_seconds_pos(get(doc, "t"), "t", &x, &dd), GS_OK);
    CHECK_REL(x, 5e-3);
    READ_FAILS(gs_node_seconds(get(doc, "inf"), "duration", &x, rd),
               SRC ":4:6: duration: expected " EXPECT_TIME ", got '.inf'");
    READ_FAILS(gs_node_seconds(get(doc, "nan"), "mean", &x, rd),
               SRC ":5:6: mean: expected " EXPECT_TIME ", got '.nan'");
    READ_FAILS(gs_node_seconds(get(doc, "m"), "service", &x, rd),
               SRC ":17:4: service: expected a scalar value, found a mapping");
    READ_FAILS(gs_node_seconds(get(doc, "s"), "service", &x, rd),
               SRC ":18:4: service: expected a scalar value, found a sequence");
    READ_FAILS(gs_node_seconds(get(doc, "empty"), "warmup", &x, rd),
               SRC ":19:7: warmup: missing value; expected " EXPECT_TIME);
    READ_FAILS(gs_node_seconds(get(doc, "tilde"), "warmup", &x, rd),
               SRC ":20:8: warmup: missing value; expected " EXPECT_TIME);
    READ_FAILS(gs_node_seconds(get(doc, "qempty"), "warmup", &x, rd),
               SRC ":21:9: warmup: missing value; expected " EXPECT_TIME);
    READ_FAILS(gs_node_seconds(NULL, "warmup", &x, rd),
               "warmup: missing value; expected " EXPECT_TIME);
    /* A quoted number is still a number of seconds. */
    CHECK_EQ(gs_node_seconds(get(doc, "qnum"), "t", &x, &dd), GS_OK);
    CHECK_REL(x, 12.0);

    CHECK_EQ(gs_node_rate(get(doc, "r"), "rate", &x, &dd), GS_OK);
    CHECK_REL(x, 800.0);
    READ_FAILS(gs_node_rate(get(doc, "r0"), "rate", &x, rd),
               SRC ":7:5: rate: must be > 0, got 0/s");
    READ_FAILS(gs_node_rate(get(doc, "rx"), "rate", &x, rd),
               SRC ":8:5: rate: expected " EXPECT_RATE ", got 'x'");
    READ_FAILS(gs_node_rate(get(doc, "neg"), "rate", &x, rd),
               SRC ":3:6: rate: expected " EXPECT_RATE ", got '-2s'");
    READ_FAILS(gs_node_rate(get(doc, "m"), "rate", &x, rd),
               SRC ":17:4: rate: expected a scalar value, found a mapping");
    READ_FAILS(gs_node_rate(get(doc, "empty"), "rate", &x, rd),
               SRC ":19:7: rate: missing value; expected " EXPECT_RATE);

    CHECK_EQ(gs_node_long(get(doc, "i"), "servers", &l, &dd), GS_OK);
    CHECK_EQ(l, 4);
    CHECK_EQ(gs_node_long(get(doc, "qnum"), "servers", &l, &dd), GS_OK);
    CHECK_EQ(l, 12);
    READ_FAILS(gs_node_long(get(doc, "f"), "servers", &l, rd),
               SRC ":10:4: servers: expected an integer, got '4.0'");
    READ_FAILS(gs_node_long(get(doc, "hex"), "servers", &l, rd),
               SRC ":12:6: servers: expected an integer, got '0x10'");
    READ_FAILS(gs_node_long(get(doc, "t"), "servers", &l, rd),
               SRC ":1:4: servers: expected an integer, got '5ms'");
    char want[256];
    snprintf(want, sizeof want, SRC ":11:6: servers: expected an integer between %ld and %ld, "
             "got '99999999999999999999'", LONG_MIN, LONG_MAX);
    READ_FAILS(gs_node_long(get(doc, "big"), "servers", &l, rd), want);
    READ_FAILS(gs_node_long(get(doc, "m"), "servers", &l, rd),
               SRC ":17:4: servers: expected a scalar value, found a mapping");
    READ_FAILS(gs_node_long(get(doc, "empty"), "servers", &l, rd),
               SRC ":19:7: servers: missing value; expected an integer");

    CHECK_EQ(gs_node_double(get(doc, "d"), "confidence", &x, &dd), GS_OK);
    CHECK_REL(x, 0.95);
    CHECK_EQ(gs_node_double(get(doc, "i"), "confidence", &x, &dd), GS_OK);
    CHECK_REL(x, 4.0);
    READ_FAILS(gs_node_double(get(doc, "nan"), "cv", &x, rd),
               SRC ":5:6: cv: expected a number, got '.nan'");
    READ_FAILS(gs_node_double(get(doc, "inf"), "cv", &x, rd),
               SRC ":4:6: cv: expected a number, got '.inf'");
    READ_FAILS(gs_node_double(get(doc, "t"), "cv", &x, rd),
               SRC ":1:4: cv: expected a number, got '5ms'");
    READ_FAILS(gs_node_double(get(doc, "s"), "cv", &x, rd),
               SRC ":18:4: cv: expected a scalar value, found a sequence");

    CHECK_EQ(gs_node_bool(get(doc, "b1"), "retry", &b, &dd), GS_OK);
    CHECK_EQ(b, 1);
    CHECK_EQ(gs_node_bool(get(doc, "b2"), "retry", &b, &dd), GS_OK);
    CHECK_EQ(b, 0);
    READ_FAILS(gs_node_bool(get(doc, "b3"), "retry", &b, rd),
               SRC ":16:5: retry: expected true or false (or yes/no, on/off), got 'maybe'");
    READ_FAILS(gs_node_bool(get(doc, "empty"), "retry", &b, rd),
               SRC ":19:7: retry: missing value; expected true or false");

    CHECK_EQ(gs_node_str(get(doc, "fast"), "policy", &s, &dd), GS_OK);
    CHECK(s && strcmp(s, "fast") == 0);
    /* A plain null is no string; quoted, '' and '~' are strings. */
    READ_FAILS(gs_node_str(get(doc, "empty"), "class", &s, rd),
               SRC ":19:7: class: expected a string, got nothing (a YAML null)");
    READ_FAILS(gs_node_str(get(doc, "tilde"), "next", &s, rd),
               SRC ":20:8: next: expected a string, got nothing (a YAML null)");
    CHECK_EQ(gs_node_str(get(doc, "qempty"), "description", &s, &dd), GS_OK);
    CHECK(s && strcmp(s, "") == 0);
    CHECK_EQ(gs_node_str(get(doc, "qtilde"), "class", &s, &dd), GS_OK);
    CHECK(s && strcmp(s, "~") == 0);
    READ_FAILS(gs_node_str(get(doc, "m"), "policy", &s, rd),
               SRC ":17:4: policy: expected a scalar value, found a mapping");
    CHECK_EQ(dd.code, GS_OK);
    gs_doc_free(doc);
}

static void test_bools(void)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "on", "ON"};
    static const char *const no[] = {"false", "False", "no", "NO", "off", "Off"};
    gs_doc *doc = load();
    if (!doc)
        return;
    gs_node *root = gs_doc_root(doc);
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        gs_node *n = gs_node_new_scalar(doc, yes[i], root);
        int b = -1;
        gs_diag d;
        gs_diag_init(&d);
        CHECK(n && gs_node_bool(n, "x", &b, &d) == GS_OK && b == 1);
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        gs_node *n = gs_node_new_scalar(doc, no[i], root);
        int b = -1;
        gs_diag d;
        gs_diag_init(&d);
        CHECK(n && gs_node_bool(n, "x", &b, &d) == GS_OK && b == 0);
    }
    gs_doc_free(doc);
}

static void test_cfg(void)
{
    gs_doc *doc = load();
    if (!doc)
        return;
    gs_node *sec = get(doc, "sec");
    gs_diag d;
    gs_diag_init(&d);
    double x = -1;
    long l = -1;
    int b = -1;
    const char *s = NULL;

    /* Present keys are read, nothing inserted. */
    CHECK_EQ(gs_cfg_seconds(doc, sec, "duration", "1s", &x, &d), GS_OK);
    CHECK_REL(x, 10.0);
    CHECK_EQ(sec->len, 1);

    /* Absent keys with a default: inserted, marked, placed like the map. */
    CHECK_EQ(gs_cfg_seconds(doc, sec, "warmup", "0s", &x, &d), GS_OK);
    CHECK_EQ(x, 0.0);
    gs_node *w = gs_map_get(sec, "warmup");
    CHECK(w && w->is_default == 1 && strcmp(w->value, "0s") == 0);
    CHECK(w && w->line == sec->line && w->col == sec->col && strcmp(w->src, SRC) == 0);
    gs_node *wk = gs_map_key(sec, "warmup");
    CHECK(wk && wk->is_default == 1);
    CHECK_EQ(sec->len, 2);
    /* A second read finds it and inserts nothing. */
    CHECK_EQ(gs_cfg_seconds(doc, sec, "warmup", "5s", &x, &d), GS_OK);
    CHECK_EQ(x, 0.0);
    CHECK_EQ(sec->len, 2);

    CHECK_EQ(gs_cfg_rate(doc, sec, "rate", "800/s", &x, &d), GS_OK);
    CHECK_REL(x, 800.0);
    CHECK_EQ(gs_cfg_long(doc, sec, "replications", "10", &l, &d), GS_OK);
    CHECK_EQ(l, 10);
    CHECK_EQ(gs_cfg_double(doc, sec, "confidence", "0.95", &x, &d), GS_OK);
    CHECK_REL(x, 0.95);
    CHECK_EQ(gs_cfg_bool(doc, sec, "trace", "false", &b, &d), GS_OK);
    CHECK_EQ(b, 0);
    CHECK_EQ(gs_cfg_str(doc, sec, "description", "", &s, &d), GS_OK);
    CHECK(s && strcmp(s, "") == 0);
    CHECK_EQ(gs_cfg_str(doc, sec, "policy", "round_robin", &s, &d), GS_OK);
    CHECK(s && strcmp(s, "round_robin") == 0);
    CHECK(gs_map_get(sec, "policy") && gs_map_get(sec, "policy")->is_default == 1);
    CHECK_EQ(sec->len, 8);
    CHECK_EQ(d.code, GS_OK);

    /* The defaults show when the document is printed. */
    FILE *f = tmpfile();
    if (f) {
        char buf[1024] = "";
        CHECK_EQ(gs_doc_emit(doc, f), GS_OK);
        rewind(f);
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
        CHECK(strstr(buf, "sec:\n  duration: 10s\n  warmup: 0s\n  rate: 800/s\n"
                          "  replications: 10\n  confidence: 0.95\n  trace: false\n"
                          "  description:") != NULL);
    }

    /* A bad value in the tree is reported where it is. */
    READ_FAILS(gs_cfg_seconds(doc, gs_doc_root(doc), "fast", "1s", &x, rd),
               SRC ":2:7: fast: expected " EXPECT_TIME ", got 'fast'");
    /* Absent and required. */
    READ_FAILS(gs_cfg_seconds(doc, sec, "period", NULL, &x, rd),
               SRC ":23:6: missing required key 'period'");
    READ_FAILS(gs_cfg_long(doc, sec, "servers", NULL, &l, rd),
               SRC ":23:6: missing required key 'servers'");
    READ_FAILS(gs_cfg_str(doc, get(doc, "t"), "x", "1", &s, rd),
               SRC ":1:4: expected a mapping with key 'x', found a scalar");
    READ_FAILS(gs_cfg_str(doc, NULL, "x", NULL, &s, rd), "missing required key 'x'");

    /* A mapping written by --set: the message names the override. */
    gs_diag_init(&d);
    CHECK_EQ(gs_doc_apply_set(doc, "comp={type: gateway}", &d), GS_OK);
    READ_FAILS(gs_cfg_long(doc, get(doc, "comp"), "servers", NULL, &l, rd),
               "--set comp={type: gateway}: missing required key 'servers'");
    gs_diag_init(&d);
    CHECK_EQ(gs_cfg_long(doc, get(doc, "comp"), "servers", "1", &l, &d), GS_OK);
    gs_node *dn = gs_map_get(get(doc, "comp"), "servers");
    CHECK(dn && dn->is_default && dn->from_set);
    gs_diag_init(&d);
    CHECK_EQ(gs_doc_apply_set(doc, "comp.servers=abc", &d), GS_OK);
    READ_FAILS(gs_cfg_long(doc, get(doc, "comp"), "servers", NULL, &l, rd),
               "--set comp.servers=abc: servers: expected an integer, got 'abc'");
    gs_doc_free(doc);
}

/* Each allocation made while inserting defaults fails in turn (enough
 * defaults that the document's arena must grow several times). */
static void test_cfg_alloc_failure(void)
{
    int done = 0, failed = 0;
    for (long n = 1; n < 100 && !done; n++) {
        gs_doc *doc = load();
        if (!doc)
            return;
        gs_node *sec = get(doc, "sec");
        gs_diag d;
        gs_diag_init(&d);
        gs_alloc_fail_nth(n);
        long before = gs_alloc_count();
        int rc = GS_OK;
        for (int i = 0; i < 400 && rc == GS_OK; i++) {
            char key[16];
            long v = -1;
            snprintf(key, sizeof key, "k%d", i);
            rc = gs_cfg_long(doc, sec, key, "3", &v, &d);
            if (rc == GS_OK)
                CHECK_EQ(v, 3);
        }
        long used = gs_alloc_count() - before;
        gs_alloc_fail_nth(0);
        if (rc) {
            failed++;
            CHECK_EQ(rc, GS_ENOMEM);
            CHECK_MSG(d.msg, "out of memory");
        } else {
            CHECK_EQ(sec->len, 401);
            done = used < n;
        }
        gs_doc_free(doc);
    }
    CHECK(done);
    CHECK(failed >= 3);
}

int main(void)
{
    test_parse_time();
    test_parse_rate();
    test_readers();
    test_bools();
    test_cfg();
    test_cfg_alloc_failure();
    return CHECK_DONE();
}
