/* Tests of the scenario tree: positions, load errors with their exact
 * positions, alias sharing and the alias-bomb bound, --set overrides
 * (copy-on-write through aliases), emit round trips, "did you mean" hints,
 * and allocation failure at every allocation. */
#include "sim/node.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim/alloc.h"
#include "sim/error.h"
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

static gs_doc *load(const char *text)
{
    gs_diag d;
    gs_diag_init(&d);
    gs_doc *doc = NULL;
    int rc = gs_doc_load_string(text, strlen(text), SRC, &doc, &d);
    if (rc)
        fprintf(stderr, "unexpected load error: %s\n", d.msg);
    CHECK_EQ(rc, GS_OK);
    return doc;
}

/* Load must fail with code and exactly msg. */
static void load_fails(const char *text, int code, const char *msg, int line)
{
    gs_diag d;
    gs_diag_init(&d);
    gs_doc *doc = (gs_doc *)&d; /* must be reset to NULL */
    int rc = gs_doc_load_string(text, strlen(text), SRC, &doc, &d);
    CHECK_EQ(rc, code);
    CHECK_EQ(d.code, code);
    CHECK(doc == NULL);
    CHECK(same_text(d.msg, msg, line));
}
#define LOAD_FAILS(text, msg) load_fails((text), GS_EINVAL, (msg), __LINE__)

/* Node at a dotted path of map keys and sequence indices. */
static gs_node *at(gs_node *n, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *seg = strtok(buf, "."); seg && n; seg = strtok(NULL, ".")) {
        if (n->kind == GS_NODE_SEQ) {
            size_t i = (size_t)strtoul(seg, NULL, 10);
            n = i < n->len ? n->items[i] : NULL;
        } else {
            n = gs_map_get(n, seg);
        }
    }
    return n;
}

static const char *val(gs_node *root, const char *path)
{
    gs_node *n = at(root, path);
    return n && n->kind == GS_NODE_SCALAR ? n->value : "(none)";
}

static int set_ok(gs_doc *doc, const char *assignment)
{
    gs_diag d;
    gs_diag_init(&d);
    int rc = gs_doc_apply_set(doc, assignment, &d);
    if (rc)
        fprintf(stderr, "unexpected --set error: %s\n", d.msg);
    return rc == GS_OK;
}

static void set_fails(gs_doc *doc, const char *assignment, const char *msg, int line)
{
    gs_diag d;
    gs_diag_init(&d);
    CHECK_EQ(gs_doc_apply_set(doc, assignment, &d), GS_EINVAL);
    CHECK(same_text(d.msg, msg, line));
}
#define SET_FAILS(doc, a, msg) set_fails((doc), (a), (msg), __LINE__)

/* Emitted text of doc; caller frees with free(). */
static char *emit(const gs_doc *doc)
{
    FILE *f = tmpfile();
    if (!f)
        return NULL;
    char *text = NULL;
    if (gs_doc_emit(doc, f) == GS_OK) {
        long n = ftell(f);
        rewind(f);
        text = calloc(1, (size_t)n + 1);
        if (text && fread(text, 1, (size_t)n, f) != (size_t)n) {
            free(text);
            text = NULL;
        }
    }
    fclose(f);
    return text;
}

/* Same shape and text; a quoted scalar must stay quoted. */
static int equal(const gs_node *a, const gs_node *b)
{
    if (a->kind != b->kind || a->len != b->len)
        return 0;
    if (a->kind == GS_NODE_SCALAR)
        return strcmp(a->value, b->value) == 0 && (!a->quoted || b->quoted);
    for (size_t i = 0; i < a->len; i++) {
        if (a->kind == GS_NODE_MAP && !equal(a->keys[i], b->keys[i]))
            return 0;
        if (!equal(a->items[i], b->items[i]))
            return 0;
    }
    return 1;
}

static int round_trips(const gs_doc *doc)
{
    char *text = emit(doc);
    if (!text)
        return 0;
    gs_doc *again = load(text);
    int ok = again && equal(gs_doc_root(doc), gs_doc_root(again));
    if (!ok)
        fprintf(stderr, "round trip differs; emitted:\n%s", text);
    gs_doc_free(again);
    free(text);
    return ok;
}

static void test_positions(void)
{
    const char *text =
        "name: demo\n"                                      /* 1 */
        "simulation:\n"                                     /* 2 */
        "  duration: 10s\n"                                 /* 3 */
        "  replications: 2\n"                               /* 4 */
        "workload:\n"                                       /* 5 */
        "  - name: chat\n"                                  /* 6 */
        "    arrivals: {process: poisson, rate: 800/s}\n"   /* 7 */
        "components:\n"                                     /* 8 */
        "  gw: {type: 'gateway', servers: \"8\"}\n"         /* 9 */
        "notes: |\n"                                        /* 10 */
        "  two\n"
        "  lines\n";
    gs_doc *doc = load(text);
    if (!doc)
        return;
    gs_node *r = gs_doc_root(doc);
    CHECK_EQ(r->kind, GS_NODE_MAP);
    CHECK_EQ(r->line, 1);
    CHECK_EQ(r->col, 1);
    CHECK_EQ(r->len, 5);
    CHECK(strcmp(gs_doc_src(doc), SRC) == 0);
    CHECK(strcmp(r->src, SRC) == 0);
    CHECK_EQ(r->from_set, 0);

    gs_node *k = gs_map_key(r, "name");
    CHECK(k && k->line == 1 && k->col == 1 && k->kind == GS_NODE_SCALAR);
    gs_node *v = gs_map_get(r, "name");
    CHECK(v && v->line == 1 && v->col == 7 && strcmp(v->value, "demo") == 0);
    CHECK(v && !v->quoted && !v->is_default);

    gs_node *sim = gs_map_get(r, "simulation");
    CHECK(sim && sim->kind == GS_NODE_MAP && sim->line == 3 && sim->col == 3);
    k = gs_map_key(sim, "replications");
    CHECK(k && k->line == 4 && k->col == 3);
    v = at(r, "simulation.duration");
    CHECK(v && v->line == 3 && v->col == 13);

    gs_node *wl = gs_map_get(r, "workload");
    CHECK(wl && wl->kind == GS_NODE_SEQ && wl->len == 1 && wl->line == 6 && wl->col == 3);
    gs_node *item = at(r, "workload.0");
    CHECK(item && item->kind == GS_NODE_MAP && item->line == 6 && item->col == 5);
    v = at(r, "workload.0.name");
    CHECK(v && v->line == 6 && v->col == 11);
    gs_node *arr = at(r, "workload.0.arrivals");
    CHECK(arr && arr->kind == GS_NODE_MAP && arr->line == 7 && arr->col == 15);
    k = gs_map_key(arr, "rate");
    CHECK(k && k->line == 7 && k->col == 34);
    v = gs_map_get(arr, "rate");
    CHECK(v && v->line == 7 && v->col == 40 && strcmp(v->value, "800/s") == 0);

    v = at(r, "components.gw.type");
    CHECK(v && v->quoted && strcmp(v->value, "gateway") == 0 && v->line == 9 && v->col == 14);
    v = at(r, "components.gw.servers");
    CHECK(v && v->quoted && strcmp(v->value, "8") == 0);
    v = gs_map_get(r, "notes");
    CHECK(v && v->quoted && strcmp(v->value, "two\nlines\n") == 0);

    CHECK(gs_map_get(r, "absent") == NULL);
    CHECK(gs_map_key(r, "absent") == NULL);
    CHECK(gs_map_get(v, "x") == NULL); /* not a mapping */
    CHECK(strcmp(gs_node_kind_name(GS_NODE_MAP), "a mapping") == 0);
    CHECK(strcmp(gs_node_kind_name(GS_NODE_SEQ), "a sequence") == 0);
    CHECK(strcmp(gs_node_kind_name(GS_NODE_SCALAR), "a scalar") == 0);
    gs_doc_free(doc);
}

static void test_null(void)
{
    gs_doc *doc = load("a:\nb: ~\nc: null\nd: ''\ne: 'null'\nf: x\n");
    if (!doc)
        return;
    gs_node *r = gs_doc_root(doc);
    CHECK(gs_node_is_null(gs_map_get(r, "a")));
    CHECK(gs_node_is_null(gs_map_get(r, "b")));
    CHECK(gs_node_is_null(gs_map_get(r, "c")));
    CHECK(!gs_node_is_null(gs_map_get(r, "d")));
    CHECK(!gs_node_is_null(gs_map_get(r, "e")));
    CHECK(!gs_node_is_null(gs_map_get(r, "f")));
    CHECK(!gs_node_is_null(r));
    gs_doc_free(doc);
}

static void test_load_errors(void)
{
    LOAD_FAILS("top:\n  a: 1\n  b: 2\n c: 3\n",
               SRC ":4:2: YAML syntax error: did not find expected key (while parsing a block "
               "mapping started at line 1 column 1)");
    LOAD_FAILS("a: 1\nb: [1, 2\n",
               SRC ":3:1: YAML syntax error: did not find expected ',' or ']' (while parsing a "
               "flow sequence started at line 2 column 4)");
    LOAD_FAILS("a: \xff\n", SRC ":1:4: cannot read the text: invalid leading UTF-8 octet "
               "(byte 0xFF)");
    const char *empty = SRC ":1:1: the file is empty; expected a scenario mapping with keys "
                        "such as name, simulation, workload, components";
    LOAD_FAILS("", empty);
    LOAD_FAILS("# only\n\n   # comments\n", empty);
    LOAD_FAILS("---\n", empty);
    LOAD_FAILS("# c\n- a\n- b\n",
               SRC ":2:1: expected a mapping at the top level, found a sequence");
    LOAD_FAILS("\n  hello\n", SRC ":2:3: expected a mapping at the top level, found a scalar");
    /* A merge key is refused where it stands; a quoted "<<" is a key. */
    LOAD_FAILS("base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n",
               SRC ":3:3: '<<' (a YAML merge key) is not supported; write the keys out, or "
               "alias a whole mapping (key: *anchor) where every key is the same");
    gs_doc *q = load("c: {\"<<\": 1}\n");
    gs_doc_free(q);
    LOAD_FAILS("a: 1\n---\nb: 2\n", SRC ":2:1: more than one YAML document (a second '---'); "
               "a scenario file holds one document");
    LOAD_FAILS("simulation: {duration: 1s}\n"
               "components:\n"
               "  gw:\n"
               "    servers: 2\n"
               "    type: gateway\n"
               "    servers: 4\n",
               SRC ":6:5: duplicate key 'servers' (first at line 4)");
    LOAD_FAILS("a: {x: 1, y: 2, x: 3}\n", SRC ":1:17: duplicate key 'x' (first at line 1)");
    {
        /* Large maps are checked through a hash table. */
        char big[4096];
        size_t off = 0;
        for (int i = 0; i < 40; i++)
            off += (size_t)snprintf(big + off, sizeof big - off, "k%d: %d\n", i, i);
        snprintf(big + off, sizeof big - off, "k17: again\n");
        LOAD_FAILS(big, SRC ":41:1: duplicate key 'k17' (first at line 18)");
        big[off] = '\0';
        gs_doc *doc = load(big);
        CHECK(doc && gs_doc_root(doc)->len == 40);
        gs_doc_free(doc);
    }
    LOAD_FAILS("a: 1\n? [x, y]\n: 2\n", SRC ":2:3: a mapping key must be a scalar, found a "
               "sequence");
    LOAD_FAILS("a: {{x: 1}: 2}\n", SRC ":1:5: a mapping key must be a scalar, found a mapping");
    LOAD_FAILS("a: &m {x: 1}\n*m : 2\n", SRC ":2:1: a mapping key must be a scalar, found a "
               "mapping");
    LOAD_FAILS("a: 1\nb: *nope\n", SRC ":2:4: undefined alias '*nope' (no anchor '&nope' "
               "before it)");
    LOAD_FAILS("b: *later\nc: &later 1\n", SRC ":1:4: undefined alias '*later' (no anchor "
               "'&later' before it)");
    LOAD_FAILS("a: &x [1, *x]\n", SRC ":1:11: alias '*x' is inside the node it names (a "
               "recursive alias)");
    LOAD_FAILS("a: \"x\\0y\"\n", SRC ":1:4: a scalar contains a NUL character");
    /* A scalar key that an alias names is fine. */
    gs_doc *doc = load("a: &k key\n*k : 2\n");
    CHECK(doc && strcmp(val(gs_doc_root(doc), "key"), "2") == 0);
    gs_doc_free(doc);
}

static void test_depth(void)
{
    enum { N = 300 };
    char text[2 * N + 16];
    size_t off = 0;
    off += (size_t)snprintf(text, sizeof text, "a: ");
    for (int i = 0; i < N; i++)
        text[off++] = '[';
    for (int i = 0; i < N; i++)
        text[off++] = ']';
    text[off++] = '\n';
    text[off] = '\0';
    /* The root is level 1, "a"'s sequence level 2, so bracket 256 is level
     * 257, at column 3 + 256. */
    LOAD_FAILS(text, SRC ":1:259: nesting deeper than 256 levels");

    /* 250 levels are fine. */
    off = (size_t)snprintf(text, sizeof text, "a: ");
    for (int i = 0; i < 250; i++)
        text[off++] = '[';
    for (int i = 0; i < 250; i++)
        text[off++] = ']';
    text[off++] = '\n';
    text[off] = '\0';
    gs_doc *doc = load(text);
    gs_doc_free(doc);

    /* Depth counted with aliases expanded: three anchors of 100 levels each,
     * each nesting the previous one, are 300 levels deep. */
    char deep[4096];
    off = 0;
    for (int a = 0; a < 3; a++) {
        off += (size_t)snprintf(deep + off, sizeof deep - off, "l%d: &l%d ", a, a);
        for (int i = 0; i < 100; i++)
            deep[off++] = '[';
        off += (size_t)snprintf(deep + off, sizeof deep - off, a ? "*l%d" : "x", a - 1);
        for (int i = 0; i < 100; i++)
            deep[off++] = ']';
        deep[off++] = '\n';
    }
    deep[off] = '\0';
    gs_diag d;
    gs_diag_init(&d);
    CHECK_EQ(gs_doc_load_string(deep, off, SRC, &doc, &d), GS_EINVAL);
    CHECK(strstr(d.msg, SRC ":3:") == d.msg);
    CHECK(strstr(d.msg, "nesting deeper than 256 levels (with aliases expanded)") != NULL);
}

static void test_file(void)
{
    gs_diag d;
    gs_diag_init(&d);
    gs_doc *doc = NULL;
    const char *missing = "no-such-dir-for-test-node/scen.yaml";
    CHECK_EQ(gs_doc_load_file(missing, &doc, &d), GS_EIO);
    CHECK_EQ(d.code, GS_EIO);
    char want[512];
    snprintf(want, sizeof want, "%s: cannot open: %s", missing, strerror(ENOENT));
    CHECK_MSG(d.msg, want);
    CHECK(doc == NULL);

    char path[] = "test_node_scratch_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    const char *text = "a: 1\nb:\n  c: [x, y]\n";
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    gs_diag_init(&d);
    CHECK_EQ(gs_doc_load_file(path, &doc, &d), GS_OK);
    if (doc) {
        CHECK(strcmp(gs_doc_src(doc), path) == 0);
        gs_node *c = at(gs_doc_root(doc), "b.c");
        CHECK(c && c->kind == GS_NODE_SEQ && c->len == 2 && c->line == 3 && c->col == 6);
        CHECK(c && strcmp(c->src, path) == 0);
        gs_doc_free(doc);
    }
    /* An error in a file names the path. */
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("a: 1\na: 2\n", f);
        fclose(f);
    }
    gs_diag_init(&d);
    CHECK_EQ(gs_doc_load_file(path, &doc, &d), GS_EINVAL);
    snprintf(want, sizeof want, "%s:2:1: duplicate key 'a' (first at line 1)", path);
    CHECK_MSG(d.msg, want);
    unlink(path);
}

/* 9 levels of 10 aliases: 10^9 nodes if expanded. */
static void test_alias_bomb(void)
{
    char text[2048];
    size_t off = (size_t)snprintf(text, sizeof text, "a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (char c = 'b'; c <= 'i'; c++) {
        off += (size_t)snprintf(text + off, sizeof text - off, "%c: &%c [", c, c);
        for (int i = 0; i < 10; i++)
            off += (size_t)snprintf(text + off, sizeof text - off, "%s*%c", i ? ", " : "",
                                    c - 1);
        off += (size_t)snprintf(text + off, sizeof text - off, "]\n");
    }
    gs_diag d;
    gs_diag_init(&d);
    gs_doc *doc = NULL;
    long allocs = gs_alloc_count();
    clock_t t0 = clock();
    CHECK_EQ(gs_doc_load_string(text, off, SRC, &doc, &d), GS_EINVAL);
    double cpu = (double)(clock() - t0) / CLOCKS_PER_SEC;
    /* Fails fast and small: no expansion ever happens. */
    CHECK(cpu < 1.0);
    CHECK(gs_alloc_count() - allocs < 40);
    CHECK(strstr(d.msg, SRC ":") == d.msg);
    CHECK(strstr(d.msg, ": alias expansion exceeds 1000000 nodes (an alias bomb?)") != NULL);
    CHECK(doc == NULL);
}

static void test_alias_sharing(void)
{
    const char *text =
        "components:\n"
        "  gw: {type: gateway, service: &svc {dist: lognormal, mean: 2ms, cv: 0.5}}\n"
        "  api: {type: service, service: *svc}\n"
        "  db: {type: service, service: *svc}\n";
    gs_doc *doc = load(text);
    if (!doc)
        return;
    gs_node *r = gs_doc_root(doc);
    gs_node *s1 = at(r, "components.gw.service");
    gs_node *s2 = at(r, "components.api.service");
    CHECK(s1 && s1 == s2 && s1 == at(r, "components.db.service"));
    CHECK(s1 && s1->shared && s1->line == 2 && s1->col == 32);
    CHECK(strcmp(val(r, "components.api.service.mean"), "2ms") == 0);

    /* An override through one alias changes that path only. */
    CHECK(set_ok(doc, "components.api.service.mean=3ms"));
    CHECK(strcmp(val(r, "components.api.service.mean"), "3ms") == 0);
    CHECK(strcmp(val(r, "components.gw.service.mean"), "2ms") == 0);
    CHECK(strcmp(val(r, "components.db.service.mean"), "2ms") == 0);
    CHECK(strcmp(val(r, "components.api.service.cv"), "0.5") == 0);
    CHECK(at(r, "components.gw.service") == at(r, "components.db.service"));
    CHECK(at(r, "components.gw.service") != at(r, "components.api.service"));
    CHECK(set_ok(doc, "components.gw.service.cv=1"));
    CHECK(strcmp(val(r, "components.gw.service.cv"), "1") == 0);
    CHECK(strcmp(val(r, "components.db.service.cv"), "0.5") == 0);
    CHECK(strcmp(val(r, "components.api.service.cv"), "0.5") == 0);

    char *out = emit(doc);
    CHECK(out && strstr(out, "mean: 3ms") && strstr(out, "cv: 1\n"));
    free(out);
    CHECK(round_trips(doc));
    gs_doc_free(doc);

    /* Below a copied node the children are shared between the copy and the
     * original: a second override must copy them too. */
    doc = load("a: &A {inner: {x: 1, y: 2}, list: [{name: p, v: 1}]}\nb: *A\n");
    if (!doc)
        return;
    r = gs_doc_root(doc);
    CHECK(set_ok(doc, "b.inner.x=5"));
    CHECK(set_ok(doc, "a.inner.y=7"));
    CHECK(set_ok(doc, "b.list.p.v=9"));
    CHECK(strcmp(val(r, "a.inner.x"), "1") == 0);
    CHECK(strcmp(val(r, "a.inner.y"), "7") == 0);
    CHECK(strcmp(val(r, "b.inner.x"), "5") == 0);
    CHECK(strcmp(val(r, "b.inner.y"), "2") == 0);
    CHECK(strcmp(val(r, "a.list.0.v"), "1") == 0);
    CHECK(strcmp(val(r, "b.list.0.v"), "9") == 0);
    gs_doc_free(doc);
}

static const char *scenario =
    "name: demo\n"
    "simulation:\n"
    "  duration: 10s\n"
    "network:\n"
    "workload:\n"
    "  - name: chat\n"
    "    arrivals: {process: poisson, rate: 800/s}\n"
    "  - name: batch\n"
    "    arrivals: {process: poisson, rate: 5/s}\n"
    "components:\n"
    "  gw: {type: gateway, servers: 8, service: 2ms}\n";

static void test_set(void)
{
    gs_doc *doc = load(scenario);
    if (!doc)
        return;
    gs_node *r = gs_doc_root(doc);

    /* Replace a value. */
    CHECK(set_ok(doc, "components.gw.servers=16"));
    gs_node *v = at(r, "components.gw.servers");
    CHECK(v && strcmp(v->value, "16") == 0 && v->from_set == 1 && !v->quoted);
    CHECK(v && strcmp(v->src, "--set components.gw.servers=16") == 0);
    /* The key stays where the file wrote it. */
    gs_node *k = gs_map_key(at(r, "components.gw"), "servers");
    CHECK(k && k->from_set == 0 && k->line == 11);
    CHECK_EQ(at(r, "components.gw")->len, 3);

    /* Sequences by name and by index. */
    CHECK(set_ok(doc, "workload.chat.arrivals.rate=50/s"));
    CHECK(strcmp(val(r, "workload.0.arrivals.rate"), "50/s") == 0);
    CHECK(set_ok(doc, "workload.1.arrivals.rate=7/s"));
    CHECK(strcmp(val(r, "workload.1.arrivals.rate"), "7/s") == 0);
    CHECK(strcmp(val(r, "workload.0.arrivals.rate"), "50/s") == 0);

    /* New keys, with intermediate mappings, and a null section. */
    CHECK(set_ok(doc, "simulation.seed=7"));
    k = gs_map_key(at(r, "simulation"), "seed");
    CHECK(k && k->from_set && strcmp(k->src, "--set simulation.seed=7") == 0);
    CHECK(strcmp(val(r, "simulation.seed"), "7") == 0);
    CHECK(set_ok(doc, "workload.batch.keys.zipf=1.1"));
    CHECK(strcmp(val(r, "workload.1.keys.zipf"), "1.1") == 0);
    gs_node *keys = at(r, "workload.1.keys");
    CHECK(keys && keys->kind == GS_NODE_MAP && keys->from_set);
    CHECK(set_ok(doc, "network.latency=1ms"));
    CHECK(strcmp(val(r, "network.latency"), "1ms") == 0);
    CHECK(set_ok(doc, "extra.deep.er=x"));
    CHECK(strcmp(val(r, "extra.deep.er"), "x") == 0);

    /* Values are YAML. */
    CHECK(set_ok(doc, "components.gw.service={dist: exponential, mean: 1ms}"));
    v = at(r, "components.gw.service");
    CHECK(v && v->kind == GS_NODE_MAP && v->len == 2 && v->from_set);
    CHECK(strcmp(val(r, "components.gw.service.dist"), "exponential") == 0);
    k = gs_map_key(v, "mean");
    CHECK(k && k->from_set &&
          strcmp(k->src, "--set components.gw.service={dist: exponential, mean: 1ms}") == 0);
    CHECK(set_ok(doc, "components.gw.targets=[1, 2]"));
    v = at(r, "components.gw.targets");
    CHECK(v && v->kind == GS_NODE_SEQ && v->len == 2);
    CHECK(set_ok(doc, "description="));
    v = gs_map_get(r, "description");
    CHECK(v && v->kind == GS_NODE_SCALAR && strcmp(v->value, "") == 0 && !v->quoted);
    CHECK(set_ok(doc, "name='a b'"));
    v = gs_map_get(r, "name");
    CHECK(v && v->quoted && strcmp(v->value, "a b") == 0);
    CHECK(set_ok(doc, "name=x=y"));
    CHECK(strcmp(val(r, "name"), "x=y") == 0);
    /* A whole sequence item. */
    CHECK(set_ok(doc, "workload.1={name: bulk}"));
    CHECK(strcmp(val(r, "workload.1.name"), "bulk") == 0);
    CHECK(set_ok(doc, "workload.bulk.arrivals={process: closed}"));
    CHECK(strcmp(val(r, "workload.1.arrivals.process"), "closed") == 0);

    /* Errors name the override. */
    SET_FAILS(doc, "nonsense", "--set nonsense: expected PATH=VALUE");
    SET_FAILS(doc, "=5", "--set =5: expected PATH=VALUE");
    SET_FAILS(doc, "a..b=1", "--set a..b=1: expected PATH=VALUE with PATH made of names "
              "separated by single dots");
    SET_FAILS(doc, "a.=1", "--set a.=1: expected PATH=VALUE with PATH made of names "
              "separated by single dots");
    SET_FAILS(doc, ".a=1", "--set .a=1: expected PATH=VALUE with PATH made of names "
              "separated by single dots");
    SET_FAILS(doc, "workload.caht.rate=5",
              "--set workload.caht.rate=5: no workload item named 'caht' (did you mean "
              "'chat'?)");
    SET_FAILS(doc, "workload.zzzzzz=5",
              "--set workload.zzzzzz=5: no workload item named 'zzzzzz'; name an item by its "
              "'name' or by its 0-based index");
    SET_FAILS(doc, "workload.7.deadline=1s",
              "--set workload.7.deadline=1s: index 7 is out of range: 'workload' has 2 items "
              "(counted from 0)");
    SET_FAILS(doc, "simulation.duration.unit=s",
              "--set simulation.duration.unit=s: 'simulation.duration' is a scalar ('10s'), so "
              "it has no 'unit'");
    SET_FAILS(doc, "name.x=1", "--set name.x=1: 'name' is a scalar ('x=y'), so it has no 'x'");
    gs_diag d;
    gs_diag_init(&d);
    CHECK_EQ(gs_doc_apply_set(doc, "x={a: 1", &d), GS_EINVAL);
    CHECK(strstr(d.msg, "--set x={a: 1: YAML syntax error: ") == d.msg);
    SET_FAILS(doc, "x={a: 1, a: 2}", "--set x={a: 1, a: 2}: duplicate key 'a'");
    SET_FAILS(doc, "x=*y", "--set x=*y: undefined alias '*y' (no anchor '&y' before it)");
    SET_FAILS(doc, "x=a\n---\nb", "--set x=a\n---\nb: the value holds more than one YAML "
              "document");

    /* A later error about an overridden value names the override. */
    CHECK(set_ok(doc, "components.gw.sevrers=4"));
    static const char *const gw_keys[] = {"type", "servers", "service", "targets", NULL};
    gs_diag_init(&d);
    CHECK_EQ(gs_map_check_keys(at(r, "components.gw"), gw_keys, "component 'gw'", &d),
             GS_EINVAL);
    CHECK_MSG(d.msg, "--set components.gw.sevrers=4: unknown key 'sevrers' in component 'gw' "
              "(did you mean 'servers'?); expected one of: type, servers, service, targets");

    CHECK(round_trips(doc));
    gs_doc_free(doc);
}

static void test_emit(void)
{
    gs_doc *doc = load("a: 1\nb:\n  c: x\n  d: [p, q]\ne: {}\nf: []\n");
    if (!doc)
        return;
    char *out = emit(doc);
    CHECK(out && strcmp(out, "a: 1\nb:\n  c: x\n  d:\n  - p\n  - q\ne: {}\nf: []\n") == 0);
    if (out && strcmp(out, "a: 1\nb:\n  c: x\n  d:\n  - p\n  - q\ne: {}\nf: []\n") != 0)
        fprintf(stderr, "emitted:\n%s", out);
    free(out);
    gs_doc_free(doc);

    const char *text =
        "plain: 800/s\n"
        "quoted: '5'\n"
        "dq: \"yes\"\n"
        "empty: ''\n"
        "nothing:\n"
        "colon: 'a: b'\n"
        "hash: '#x'\n"
        "dash: '- x'\n"
        "lead: ' space'\n"
        "unicode: 3µs\n"
        "newline: \"one\\ntwo\"\n"
        "tab: \"a\\tb\"\n"
        "block: |\n"
        "  line one\n"
        "  line two\n"
        "'key: odd': 1\n"
        "'': empty key\n"
        "nested:\n"
        "  - [1, [2, {x: y}]]\n"
        "  - {}\n"
        "long: " "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        " bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n";
    doc = load(text);
    if (!doc)
        return;
    CHECK(round_trips(doc));
    out = emit(doc);
    CHECK(out && strstr(out, "plain: 800/s\n") && strstr(out, "quoted: '5'\n"));
    CHECK(out && strstr(out, "unicode: 3µs\n"));
    free(out);
    /* Inserted nodes are emitted like read ones, quoted where needed. */
    gs_node *r = gs_doc_root(doc);
    gs_node *n = gs_node_new_scalar(doc, "x: y", r);
    CHECK(n && gs_map_set(doc, r, "inserted", n) == n);
    gs_node *m = gs_node_new_map(doc, r);
    CHECK(m && m->is_default && gs_map_set(doc, r, "inserted_map", m) == m);
    n = gs_node_new_scalar(doc, "1s", NULL);
    CHECK(n && n->line == 1 && n->col == 1 && strcmp(n->src, SRC) == 0);
    CHECK(n && gs_map_set(doc, m, "t", n) == n);
    CHECK(gs_map_set(doc, n, "t", n) == NULL); /* not a mapping */
    CHECK(round_trips(doc));
    out = emit(doc);
    CHECK(out && strstr(out, "inserted: 'x: y'\n") && strstr(out, "inserted_map:\n  t: 1s\n"));
    free(out);
    /* An empty default is the empty string, not a YAML null: it prints as ''
     * and reads back as a string. */
    n = gs_node_new_scalar(doc, "", r);
    CHECK(n && n->quoted && !gs_node_is_null(n));
    CHECK(n && gs_map_set(doc, r, "description", n) == n);
    CHECK(round_trips(doc));
    out = emit(doc);
    CHECK(out && strstr(out, "description: ''\n"));
    free(out);
    gs_doc_free(doc);
}

/* gs_doc_key_of finds the key a value was written under, for messages of
 * readers handed only the value. */
static void test_key_of(void)
{
    gs_doc *doc = load("a: {b: [1, {c: 5ms}], d: &x 2}\ne: *x\nf: [3]\n");
    if (!doc)
        return;
    gs_node *r = gs_doc_root(doc);
    gs_node *a = gs_map_get(r, "a");
    gs_node *b = gs_map_get(a, "b");
    const char *k = gs_doc_key_of(doc, gs_map_get(b->items[1], "c"));
    CHECK(k && strcmp(k, "c") == 0);
    k = gs_doc_key_of(doc, b);
    CHECK(k && strcmp(k, "b") == 0);
    k = gs_doc_key_of(doc, gs_map_get(r, "e"));
    CHECK(k && strcmp(k, "d") == 0); /* shared by an alias: the first key */
    CHECK(gs_doc_key_of(doc, b->items[0]) == NULL);             /* a sequence item */
    CHECK(gs_doc_key_of(doc, gs_map_get(r, "f")->items[0]) == NULL);
    CHECK(gs_doc_key_of(doc, r) == NULL);
    CHECK(gs_doc_key_of(NULL, a) == NULL);
    gs_doc_free(doc);
}

static void test_map_set_growth(void)
{
    gs_doc *doc = load("a: 1\n");
    if (!doc)
        return;
    gs_node *r = gs_doc_root(doc);
    char key[16];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "k%d", i);
        gs_node *n = gs_node_new_scalar(doc, key, r);
        CHECK(n && gs_map_set(doc, r, key, n) == n);
    }
    CHECK_EQ(r->len, 101);
    CHECK(strcmp(val(r, "a"), "1") == 0);
    CHECK(strcmp(val(r, "k57"), "k57") == 0);
    gs_node *k = gs_map_key(r, "k57");
    CHECK(k && k->is_default && k->line == 1 && k->col == 1);
    /* Replacing keeps the order and the length. */
    gs_node *n = gs_node_new_scalar(doc, "new", r);
    CHECK(gs_map_set(doc, r, "k3", n) == n);
    CHECK_EQ(r->len, 101);
    CHECK(r->items[4] == n);
    gs_doc_free(doc);
}

static void test_suggest(void)
{
    static const char *const keys[] = {"servers", "capacity", "service", NULL};
    CHECK(gs_suggest("sevrers", keys) == keys[0]);
    CHECK(gs_suggest("SERVERS", keys) == keys[0]);
    CHECK(gs_suggest("capcity", keys) == keys[1]);
    CHECK(gs_suggest("servic", keys) == keys[2]);
    CHECK(gs_suggest("zzzzzz", keys) == NULL);
    static const char *const names[] = {"chat", "batch", NULL};
    CHECK(gs_suggest("caht", names) == names[0]);
    /* Ties go to the first candidate. */
    static const char *const tie[] = {"xb", "ay", NULL};
    CHECK(gs_suggest("ab", tie) == tie[0]);
    /* The bound is max(2, strlen/3): 9 letters allow 3 edits, not 4. */
    static const char *const three[] = {"abcdefxyz", NULL};
    static const char *const four[] = {"abcdewxyz", NULL};
    CHECK(gs_suggest("abcdefghi", three) == three[0]);
    CHECK(gs_suggest("abcdefghi", four) == NULL);
    static const char *const none[] = {NULL};
    CHECK(gs_suggest("x", none) == NULL);
    CHECK(gs_suggest("x", NULL) == NULL);
    char longword[400];
    memset(longword, 'a', sizeof longword - 1);
    longword[sizeof longword - 1] = '\0';
    CHECK(gs_suggest(longword, keys) == NULL);
}

static void test_check_keys(void)
{
    gs_doc *doc = load("components:\n  gw:\n    sevrers: 4\n    zzz: 1\n  x: 5\n");
    if (!doc)
        return;
    gs_node *r = gs_doc_root(doc);
    static const char *const allowed[] = {"servers", "capacity", "service", NULL};
    gs_diag d;
    gs_diag_init(&d);
    CHECK_EQ(gs_map_check_keys(at(r, "components.gw"), allowed, "component 'gw'", &d),
             GS_EINVAL);
    CHECK_MSG(d.msg, SRC ":3:5: unknown key 'sevrers' in component 'gw' (did you mean "
              "'servers'?); expected one of: servers, capacity, service");
    static const char *const allowed2[] = {"sevrers", "capacity", NULL};
    gs_diag_init(&d);
    CHECK_EQ(gs_map_check_keys(at(r, "components.gw"), allowed2, "component 'gw'", &d),
             GS_EINVAL);
    CHECK_MSG(d.msg, SRC ":4:5: unknown key 'zzz' in component 'gw'; expected one of: "
              "sevrers, capacity");
    gs_diag_init(&d);
    CHECK_EQ(gs_map_check_keys(at(r, "components.x"), allowed, "component 'x'", &d),
             GS_EINVAL);
    CHECK_MSG(d.msg, SRC ":5:6: expected a mapping for component 'x', found a scalar");
    static const char *const ok[] = {"gw", "x", NULL};
    gs_diag_init(&d);
    CHECK_EQ(gs_map_check_keys(at(r, "components"), ok, "components", &d), GS_OK);
    CHECK_EQ(d.code, GS_OK);
    CHECK_EQ(gs_map_check_keys(NULL, ok, "components", &d), GS_OK);
    gs_doc_free(doc);
}

/* Every allocation of a load and of an override fails in turn: each call
 * must report GS_ENOMEM (or succeed, if the failure came after its last
 * allocation) and leave nothing behind (AddressSanitizer checks leaks). */
static void test_alloc_failure(void)
{
    const char *text =
        "name: demo\n"
        "components:\n"
        "  gw: {type: gateway, service: &svc {dist: lognormal, mean: 2ms}}\n"
        "  api: {type: service, service: *svc}\n"
        "workload:\n"
        "  - {name: chat, rate: 5/s}\n"
        "big: {k0: 0, k1: 1, k2: 2, k3: 3, k4: 4, k5: 5, k6: 6, k7: 7, k8: 8, k9: 9,\n"
        "      k10: 0, k11: 1, k12: 2, k13: 3, k14: 4, k15: 5, k16: 6, k17: 7}\n";
    int loads_ok = 0, loads_failed = 0;
    for (long n = 1; n < 1000; n++) {
        gs_diag d;
        gs_diag_init(&d);
        gs_doc *doc = NULL;
        gs_alloc_fail_nth(n);
        long before = gs_alloc_count();
        int rc = gs_doc_load_string(text, strlen(text), SRC, &doc, &d);
        long used = gs_alloc_count() - before;
        gs_alloc_fail_nth(0);
        if (rc) {
            loads_failed++;
            CHECK_EQ(rc, GS_ENOMEM);
            CHECK_EQ(d.code, GS_ENOMEM);
            CHECK(doc == NULL);
        } else {
            gs_doc_free(doc);
            if (used < n) {
                loads_ok = 1;
                break;
            }
        }
    }
    CHECK(loads_ok);
    CHECK(loads_failed > 3);

    int sets_ok = 0, sets_failed = 0;
    for (long n = 1; n < 1000; n++) {
        gs_doc *doc = load(text);
        if (!doc)
            break;
        gs_diag d;
        gs_diag_init(&d);
        gs_alloc_fail_nth(n);
        long before = gs_alloc_count();
        int rc = gs_doc_apply_set(doc, "components.api.service.extra.x={a: [1, 2]}", &d);
        long used = gs_alloc_count() - before;
        gs_alloc_fail_nth(0);
        if (rc) {
            sets_failed++;
            CHECK_EQ(rc, GS_ENOMEM);
            CHECK_EQ(d.code, GS_ENOMEM);
        } else if (used < n) {
            sets_ok = 1;
            CHECK(strcmp(val(gs_doc_root(doc), "components.api.service.extra.x.a.1"), "2") == 0);
            CHECK(gs_map_get(at(gs_doc_root(doc), "components.gw.service"), "extra") == NULL);
        }
        gs_doc_free(doc);
        if (sets_ok)
            break;
    }
    CHECK(sets_ok);
    CHECK(sets_failed > 1);
}

int main(void)
{
    test_positions();
    test_null();
    test_load_errors();
    test_depth();
    test_file();
    test_alias_bomb();
    test_alias_sharing();
    test_set();
    test_emit();
    test_key_of();
    test_map_set_growth();
    test_suggest();
    test_check_keys();
    test_alloc_failure();
    return CHECK_DONE();
}
