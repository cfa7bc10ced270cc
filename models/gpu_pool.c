/* GPU inference workers with batching (SPEC §2 `gpu_pool`, §5): `gpus`
 * identical GPUs behind one FIFO queue, each running one model, whose pass
 * times come from a time source (a calibrated profile, interpolated).
 *
 * A request of p prompt tokens and n output tokens needs one prefill pass,
 * which produces its first token (its time to first token), and n - 1
 * decode passes, one per further token; its KV cache holds p + (tokens
 * produced so far) tokens. The four policies (docs/gpu_pool.md):
 *  - none: a GPU serves one request at a time: prefill(1, p) then
 *    decode(1, p + k) for k = 1 .. n - 1 (SPEC §5);
 *  - static: a free GPU starts a batch once max_batch requests wait or the
 *    oldest has waited max_wait, and runs it to completion;
 *  - dynamic: a free GPU takes whatever waits (up to max_batch) at once and
 *    runs it to completion;
 *  - continuous: iteration-level scheduling (Orca: Yu et al., OSDI 2022;
 *    vLLM: Kwon et al., SOSP 2023): every iteration first preempts the
 *    newest running sequences while the running ones would outgrow the KV
 *    cache (a preempted one goes back to the front of the queue and is
 *    recomputed: its prefill is redone over its prompt and the tokens it had
 *    produced), then admits waiting requests in FIFO order while their
 *    prefill tokens fit max_tokens (one prompt longer than that is admitted
 *    as the iteration's only prefill, or it would never run) and the KV
 *    cache after the iteration fits kv_cache_tokens, then advances every
 *    sequence by one token.
 * A run-to-completion batch (none, static, dynamic) of B requests pads its
 * prompts to the longest, P, and runs prefill(B, P) then decode(B, P + k)
 * until its longest request is done; each request is answered at the step
 * that produces its last token, but its place and its KV reservation
 * (p + n tokens, taken when the batch starts) are held to the batch's end.
 * A continuous iteration with a prefills of mean length L and d decodes of
 * mean context C costs prefill(a, L) + decode(d, C): the profile times the
 * two passes separately and an engine that does not fuse them (vLLM before
 * chunked prefill) runs them one after the other.
 *
 * Invariants: a GPU is busy exactly while it has one pending event (the
 * end of its iteration, or the next step of its batch at which a request
 * finishes); a GPU holds at most max_batch sequences; the KV tokens a GPU
 * has allocated never exceed kv_cache_tokens (checked every iteration);
 * every output token produced is either in a sequence still held or waiting
 * (preempted), or belongs to a request that finished or was cut off by a
 * failure (checked at the end of the run). Both checks count into the
 * metric invariant_violations, which is 0 unless this file has a bug.
 *
 * Failures work as for stations (docs/failures.md): going down fails every
 * request held or waiting at once; while down a new request fails after
 * network.connect_timeout; a slowdown multiplies the time of every batch
 * or iteration that starts during it. Memory: everything per GPU is
 * allocated in start(); the queue is a ring that grows only when it reaches
 * a new peak. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "failure.h"
#include "kernels/kernels.h"
#include "kernels/model.h"
#include "kernels/profile.h"
#include "sim/alloc.h"
#include "sim/dist.h"
#include "sim/engine.h"
#include "sim/error.h"
#include "sim/node.h"
#include "sim/stats.h"
#include "sim/units.h"

#define EV_GPU GS_EV_USER              /* arg: the GPU whose step or iteration ends */
#define EV_WAIT (GS_EV_USER + 1)       /* the oldest waiting request reached max_wait */
#define EV_REFUSE (GS_EV_USER + 2)     /* connect_timeout ran out on ev->req */
#define EV_FAIL (GS_EV_USER + 3)       /* GS_FAILURE_KINDS kinds from here */

/* Bounds that keep a pool within one machine (docs/gpu_pool.md): the
 * sequence tables take about 40 bytes per GPU x max_batch. */
#define MAX_GPUS 100000L
#define MAX_BATCH 65536L
#define MAX_SLOTS 10000000L
#define MAX_TOKENS 100000000L
#define MAX_KV 1000000000000L
#define PATH_MAX_LEN 4096
/* Tokens per sequence of a live workspace: the longest prompts of the
 * "quick" calibration grid, which a 2-core machine holds for deepseek-mini. */
#define LIVE_MAX_TOKENS 2048

typedef enum policy { POL_NONE, POL_STATIC, POL_DYNAMIC, POL_CONTINUOUS } policy;

static const char *const keys[] = {"type", "gpus", "model", "batching", "kv_cache_tokens",
                                   "service_time", "capacity", "next", "failures", "outages",
                                   "slowdowns", NULL};
static const char *const batching_keys[] = {"policy", "max_batch", "max_wait", "max_tokens",
                                            NULL};
static const char *const time_keys[] = {"source", "profile", "backend", NULL};
static const char *const policy_names[] = {"none", "static", "dynamic", "continuous", NULL};
static const char *const source_names[] = {"profile", "live", NULL};
static const char *const backend_names[] = {"auto", "cuda", "cpu", NULL};

typedef struct pool_conf {
    long            gpus;
    gs_model_shape  model;
    policy          pol;
    long            max_batch;   /* 1 for none */
    gs_time         max_wait;    /* static, continuous; 0: never waits */
    long            max_tokens;  /* continuous: prefill tokens per iteration */
    int             kv_limited;
    uint64_t        kv;          /* kv_cache_tokens per GPU, when limited */
    long            capacity;    /* waiting places; -1 = unlimited */
    int             has_next;
    uint32_t        next;
    const struct time_source *ts;
    gs_profile     *profile;       /* source: profile */
    const gs_kernel_backend *be;   /* source: live */
    gs_failure_conf failure;
} pool_conf;

/* A request on a GPU. */
typedef struct seq {
    gs_request *r;
    uint32_t    p, n;      /* prompt and output tokens, each at least 1 */
    uint32_t    g;         /* output tokens produced so far */
    uint32_t    fresh;     /* continuous: its prefill is in the running iteration */
    gs_time     finish;    /* run to completion: when its last token is out */
} seq;

/* A request waiting for a GPU. */
typedef struct waiting {
    gs_request *r;
    uint32_t    g;         /* tokens it had produced when it was preempted; 0 if new */
    uint32_t    again;     /* 1: preempted (its wait was counted at its first admission) */
} waiting;

typedef struct gpu {
    seq        *s;         /* max_batch entries; run to completion: sorted by finish */
    gs_request **out;      /* max_batch entries: answers given once the state is updated */
    uint32_t    ns;        /* sequences held */
    uint32_t    next;      /* run to completion: the next to finish */
    int         busy;
    int         marked;    /* run to completion: first tokens marked */
    gs_time     first;     /* run to completion: when the prefill ends */
    uint64_t    kv;        /* KV tokens allocated (reserved, for run to completion) */
    gs_timer    t;
} gpu;

typedef struct pool_state {
    gpu       *gpu;
    seq       *seqs;
    gs_request **outs;
    waiting   *ring;       /* FIFO; cap is a power of two */
    size_t     head, len, cap;
    long       busy, idle; /* GPUs */
    uint64_t   held;       /* sequences on GPUs */
    uint64_t   kv_used;    /* sum over GPUs */
    int        wait_armed;
    gs_time    wait_at;
    gs_timer   wait_t;
    int        measuring;
    gs_timeavg busy_avg, held_avg, queue_avg, kv_avg;
    gs_tally   wait, response;
    uint64_t   arrivals, blocked, completed, admitted, preempted, tokens;
    uint64_t   batches, batch_seqs, batch_max, clamped, kv_peak;
    /* Self-checks, over the whole run. */
    uint64_t   violations;
    uint64_t   gen_total, gen_finished, gen_lost, gen_queued;
    /* Window results, fixed when the window closes. */
    double     util, busy_ratio, queue_mean, system_mean, kv_ratio;
    int        fails;
    gs_failure fail;
    gs_kernel_layer *ws;   /* source: live: this replication's kernel workspace */
} pool_state;

/* Where pass times come from: a table, so that the scheduling code does not
 * know whether it reads a profile or runs the kernels. */
typedef struct time_source {
    /* Seconds of one pass of `batch` sequences of `tokens` tokens; NaN when
     * the kernels failed. */
    double (*pass)(const pool_conf *pc, pool_state *st, gs_phase ph, double batch,
                   double tokens, int *clamped);
    /* The sum of pass() over tokens = from .. to. */
    double (*sum)(const pool_conf *pc, pool_state *st, gs_phase ph, double batch,
                  uint64_t from, uint64_t to, int *clamped);
} time_source;

static double profile_pass(const pool_conf *pc, pool_state *st, gs_phase ph, double batch,
                           double tokens, int *clamped)
{
    (void)st;
    return gs_profile_time(pc->profile, ph, batch, tokens, clamped);
}

static double profile_sum(const pool_conf *pc, pool_state *st, gs_phase ph, double batch,
                          uint64_t from, uint64_t to, int *clamped)
{
    (void)st;
    return gs_profile_sum(pc->profile, ph, batch, from, to, clamped);
}

static const time_source profile_source = {profile_pass, profile_sum};

/* Live: one whole-model pass of the kernels (one layer timed x layers, plus
 * the head; kernels/kernels.h) per pass the pool schedules. Token counts
 * are whole; a workspace holds at most LIVE_MAX_TOKENS tokens per sequence,
 * and longer passes are clamped to that, as a profile clamps at its edge. */
static double live_pass(const pool_conf *pc, pool_state *st, gs_phase ph, double batch,
                        double tokens, int *clamped)
{
    double t = floor(tokens + 0.5);
    if (t < 1)
        t = 1;
    if (t > LIVE_MAX_TOKENS) {
        t = LIVE_MAX_TOKENS;
        *clamped = 1;
    }
    double s;
    gs_diag d;
    gs_diag_init(&d);
    if (gs_kernel_forward_seconds(pc->be, st->ws, &pc->model,
                                  ph == GS_PHASE_PREFILL ? GS_KERNEL_PREFILL : GS_KERNEL_DECODE,
                                  (uint32_t)batch, (uint32_t)t, &s, &d) != GS_OK)
        return NAN;
    return s;
}

static double live_sum(const pool_conf *pc, pool_state *st, gs_phase ph, double batch,
                       uint64_t from, uint64_t to, int *clamped)
{
    double sum = 0;
    for (uint64_t t = from; t <= to && !isnan(sum); t++)
        sum += live_pass(pc, st, ph, batch, (double)t, clamped);
    return sum;
}

static const time_source live_source = {live_pass, live_sum};

/* ---- configuration ---- */

/* The mapping at key, inserted empty when absent (so that `gatesim check`
 * shows the defaults filled into it). */
static int sub_map(gs_doc *doc, gs_node *m, const char *key, const char *const *allowed,
                   gs_node **out, gs_diag *d)
{
    gs_node *n = gs_map_get(m, key);
    if (!n) {
        n = gs_node_new_map(doc, m);
        if (!n || !gs_map_set(doc, m, key, n))
            return gs_error(d, GS_ENOMEM, "out of memory");
    }
    int rc = gs_map_check_keys(n, allowed, key, d);
    if (rc)
        return rc;
    *out = n;
    return GS_OK;
}

static int choose(const gs_node *n, const char *key, const char *const *names, int *out,
                  gs_diag *d)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], n->value) == 0) {
            *out = i;
            return GS_OK;
        }
    char list[128] = "";
    size_t off = 0;
    for (int i = 0; names[i] && off < sizeof list; i++)
        off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "", names[i]);
    const char *hint = gs_suggest(n->value, names);
    return gs_error_at(d, n, "%s: unknown value '%s'%s%s%s; expected one of: %s", key,
                       n->value, hint ? " (did you mean '" : "", hint ? hint : "",
                       hint ? "'?)" : "", list);
}

/* A key that the chosen policy has no use for is an error, not ignored. */
static int unused(const gs_node *bm, const char *key, const char *pol, const char *why,
                  gs_diag *d)
{
    gs_node *n = gs_map_key(bm, key);
    if (!n)
        return GS_OK;
    return gs_error_at(d, n, "%s: policy %s %s; remove %s or choose another policy", key, pol,
                       why, key);
}

static int read_batching(pool_conf *pc, gs_doc *doc, gs_node *m, gs_diag *d)
{
    gs_node *bm;
    int rc = sub_map(doc, m, "batching", batching_keys, &bm, d);
    if (rc)
        return rc;
    const char *pol;
    if ((rc = gs_cfg_str(doc, bm, "policy", "continuous", &pol, d)))
        return rc;
    int i;
    if ((rc = choose(gs_map_get(bm, "policy"), "policy", policy_names, &i, d)))
        return rc;
    pc->pol = (policy)i;
    pc->max_batch = 1;
    if (pc->pol == POL_NONE) {
        const char *why = "serves one request at a time per GPU";
        if ((rc = unused(bm, "max_batch", pol, why, d)) ||
            (rc = unused(bm, "max_wait", pol, why, d)) ||
            (rc = unused(bm, "max_tokens", pol, why, d)))
            return rc;
    } else {
        if ((rc = gs_cfg_long(doc, bm, "max_batch", "32", &pc->max_batch, d)))
            return rc;
        if (pc->max_batch < 1 || pc->max_batch > MAX_BATCH)
            return gs_error_at(d, gs_map_get(bm, "max_batch"), "max_batch: must be between 1 "
                               "and %ld, got %ld", MAX_BATCH, pc->max_batch);
    }
    if (pc->pol == POL_DYNAMIC &&
        (rc = unused(bm, "max_wait", pol, "never waits (static waits up to max_wait)", d)))
        return rc;
    if ((pc->pol == POL_STATIC || pc->pol == POL_DYNAMIC) &&
        (rc = unused(bm, "max_tokens", pol, "runs whole batches (max_tokens bounds the prefill "
                     "tokens of a continuous iteration)", d)))
        return rc;
    if (pc->pol == POL_STATIC || pc->pol == POL_CONTINUOUS) {
        double s;
        if ((rc = gs_cfg_seconds(doc, bm, "max_wait", pc->pol == POL_STATIC ? "5ms" : "0s", &s,
                                 d)))
            return rc;
        pc->max_wait = gs_time_from_s(s);
    }
    if (pc->pol == POL_CONTINUOUS) {
        if ((rc = gs_cfg_long(doc, bm, "max_tokens", "2048", &pc->max_tokens, d)))
            return rc;
        if (pc->max_tokens < 1 || pc->max_tokens > MAX_TOKENS)
            return gs_error_at(d, gs_map_get(bm, "max_tokens"), "max_tokens: must be between "
                               "1 and %ld, got %ld", MAX_TOKENS, pc->max_tokens);
    }
    return GS_OK;
}

/* A count or `unlimited`: capacity (lo 0) and kv_cache_tokens (lo 2). */
static int limit(gs_doc *doc, gs_node *m, const char *key, long lo, long hi, long *out,
                 gs_diag *d)
{
    gs_node *n;
    int rc = gs_cfg_node(doc, m, key, "unlimited", &n, d);
    if (rc)
        return rc;
    if (n->kind == GS_NODE_SCALAR && n->value && strcmp(n->value, "unlimited") == 0) {
        *out = -1;
        return GS_OK;
    }
    if (gs_node_long(n, key, out, d) || *out < lo || *out > hi)
        return gs_error_at(d, n, "%s: expected a whole number between %ld and %ld, or "
                           "'unlimited', got '%s'", key, lo, hi, n->value ? n->value : "");
    return GS_OK;
}

static int readable(const char *path)
{
    /* Something that is there but not a regular file counts as found, so
     * that gs__data_check() names it; opening a FIFO would block. */
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    if (!S_ISREG(st.st_mode))
        return 1;
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    fclose(f);
    return 1;
}

/* Find path as given (relative to the current directory), else relative to
 * the scenario file's directory and then to each directory above it up to
 * the root, so that `kernels/profiles/x.csv` is found from a scenario
 * anywhere in the source tree whatever the current directory. Going up
 * appends "/.."; the root is where ".." is the directory itself. The one
 * found goes to out. */
static int find_file(const char *path, const char *scenario, char *out, size_t size)
{
    snprintf(out, size, "%s", path);
    if (readable(path))
        return 1;
    if (path[0] == '/')
        return 0;
    char dir[PATH_MAX_LEN], up[PATH_MAX_LEN];
    const char *slash = strrchr(scenario, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == scenario)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - scenario), scenario);
    for (;;) {
        int n = snprintf(out, size, "%s/%s", dir, path);
        if (n > 0 && (size_t)n < size && readable(out))
            return 1;
        struct stat here, above;
        n = snprintf(up, sizeof up, "%s/..", dir);
        if (n < 0 || (size_t)n >= sizeof up || stat(dir, &here) != 0 || stat(up, &above) != 0 ||
            (here.st_dev == above.st_dev && here.st_ino == above.st_ino))
            return 0;
        memcpy(dir, up, (size_t)n + 1);
    }
}

static int read_profile(pool_conf *pc, gs_doc *doc, gs_node *sm, const char *backend,
                        gs_diag *d)
{
    const char *scen = gs_doc_src(doc);
    char found[PATH_MAX_LEN];
    gs_node *pn = gs_map_get(sm, "profile");
    if (!pn) {
        /* The profiles calibrate ships are named BACKEND-MODEL.csv; auto
         * prefers a GPU's measurements when there are some. */
        static const char *const order[] = {"cuda", "cpu"};
        char dflt[2][PATH_MAX_LEN];
        int chosen = -1;
        for (int i = 0; i < 2; i++) {
            snprintf(dflt[i], sizeof dflt[i], "kernels/profiles/%s-%s.csv", order[i],
                     pc->model.name);
            if (chosen < 0 && (strcmp(backend, "auto") == 0 || strcmp(backend, order[i]) == 0) &&
                find_file(dflt[i], scen, found, sizeof found))
                chosen = i;
        }
        if (chosen < 0) {
            const char *tried = strcmp(backend, "cpu") == 0 ? dflt[1] : dflt[0];
            return gs_error_at(d, sm, "service_time: no profile given, and %s%s%s was not found "
                               "(relative to the current directory or to the scenario's directory or those "
                               "above it); run "
                               "`gatesim kernels calibrate --model %s` or give "
                               "service_time.profile", tried,
                               strcmp(backend, "auto") == 0 ? " or " : "",
                               strcmp(backend, "auto") == 0 ? dflt[1] : "", pc->model.name);
        }
        const char *path;
        int rc = gs_cfg_str(doc, sm, "profile", dflt[chosen], &path, d);
        if (rc)
            return rc;
        pn = gs_map_get(sm, "profile");
    } else {
        const char *path;
        int rc = gs_node_str(pn, "profile", &path, d);
        if (rc)
            return rc;
        if (!path[0])
            return gs_error_at(d, pn, "profile: expected the path of a profile CSV");
        if (!find_file(path, scen, found, sizeof found))
            return gs_error_at(d, pn, "profile: cannot open '%s' (looked relative to the "
                               "current directory, and to the scenario's directory and those "
                               "above it)", path);
    }
    int rc = gs__data_check(found, pn ? pn : sm, "profile", d);
    if (rc)
        return rc;
    gs_diag pd;
    gs_diag_init(&pd);
    rc = gs_profile_load(found, &pc->profile, &pd);
    if (rc == GS_ENOMEM)
        return gs_error(d, GS_ENOMEM, "out of memory");
    if (rc)
        return gs_error_at(d, pn, "profile: %s", pd.msg);
    if (gs__data_record(doc, sm, "profile", found))
        return gs_error(d, GS_ENOMEM, "out of memory");
    pn = gs_map_get(sm, "profile");
    const char *model = gs_profile_model(pc->profile);
    if (strcmp(model, pc->model.name) != 0)
        return gs_error_at(d, pn, "profile: %s was measured for model '%s', but this pool runs "
                           "'%s'; calibrate it (gatesim kernels calibrate --model %s) or give "
                           "its profile", found, model, pc->model.name, pc->model.name);
    const char *pb = gs_profile_backend(pc->profile);
    if (strcmp(backend, "auto") != 0 && strcmp(backend, pb) != 0)
        gs_warn_at(pn, "profile %s was measured with backend %s (%s), but service_time.backend "
                   "asks for %s; the pool's times are those of the profile", found, pb,
                   gs_profile_device(pc->profile), backend);
    for (int ph = 0; ph < 2; ph++) {
        double bmin, bmax, tmin, tmax;
        gs_profile_bounds(pc->profile, (gs_phase)ph, &bmin, &bmax, &tmin, &tmax);
        if ((double)pc->max_batch > bmax) {
            gs_warn_at(pn, "profile %s measured %s batches of at most %.0f sequences, but "
                       "max_batch is %ld; larger batches are priced as %.0f (clamped_ratio "
                       "counts them)", found, ph == GS_PHASE_PREFILL ? "prefill" : "decode",
                       bmax, pc->max_batch, bmax);
            break;
        }
    }
    pc->ts = &profile_source;
    return GS_OK;
}

/* Live: the kernels of `backend` run every pass; they must be able to run
 * here. */
static int read_live(pool_conf *pc, gs_node *sm, const char *backend, gs_diag *d)
{
    gs_node *pn = gs_map_key(sm, "profile");
    if (pn)
        return gs_error_at(d, pn, "profile: only source: profile reads a profile (this "
                           "pool's source is live)");
    gs_diag kd;
    gs_diag_init(&kd);
    gs_node *bn = gs_map_get(sm, "backend");
    if (gs_kernel_backend_find(backend, &pc->be, &kd) != GS_OK)
        return gs_error_at(d, bn, "%s", kd.msg);
    if (!pc->be->available())
        return gs_error_at(d, bn, "backend: the %s kernels cannot run on this machine (no GPU, "
                           "or built without CUDA); use backend: cpu, or source: profile",
                           pc->be->name);
    /* The CPU workspace lives in this machine's memory: one that cannot fit
     * is a scenario error now, not "out of memory" once replications start. */
    if (strcmp(pc->be->name, "cpu") == 0) {
        double need = 0;
        for (int t = 0; t < GS_KT_COUNT; t++)
            need += (double)gs_kernel_tensor_len(&pc->model, (uint32_t)pc->max_batch,
                                                 LIVE_MAX_TOKENS, (gs_kernel_tensor)t);
        need *= (double)pc->be->elt_bytes;
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        double have = pages > 0 && page > 0 ? (double)pages * (double)page : INFINITY;
        if (need > have)
            return gs_error_at(d, gs_map_get(sm, "source"), "source: live runs one layer of "
                               "model '%s' on max_batch %ld x %d tokens, a workspace of %.3g "
                               "GB, but this machine has %.3g GB of memory; use a "
                               "smaller model or max_batch, or source: profile",
                               pc->model.name, pc->max_batch, LIVE_MAX_TOKENS, need / 1e9,
                               have / 1e9);
    }
    gs_warn_at(gs_map_get(sm, "source"), "service_time.source: live runs the %s kernels for "
               "every pass the pool schedules: results differ from run to run, and "
               "replications that run at the same time slow each other (use -j 1)",
               pc->be->name);
    pc->ts = &live_source;
    return GS_OK;
}

static int read_service_time(pool_conf *pc, gs_doc *doc, gs_node *m, gs_diag *d)
{
    gs_node *sm;
    int rc = sub_map(doc, m, "service_time", time_keys, &sm, d);
    if (rc)
        return rc;
    const char *s;
    int src, be;
    if ((rc = gs_cfg_str(doc, sm, "source", "profile", &s, d)) ||
        (rc = choose(gs_map_get(sm, "source"), "source", source_names, &src, d)))
        return rc;
    if ((rc = gs_cfg_str(doc, sm, "backend", "auto", &s, d)) ||
        (rc = choose(gs_map_get(sm, "backend"), "backend", backend_names, &be, d)))
        return rc;
    if (src == 1)
        return read_live(pc, sm, backend_names[be], d);
    return read_profile(pc, doc, sm, backend_names[be], d);
}

static int configure(gs_comp_conf *cc, gs_build *b, gs_diag *d)
{
    pool_conf *pc = cc->conf;
    gs_doc *doc = gs_build_doc(b);
    gs_node *m = cc->node;
    int rc = gs_cfg_long(doc, m, "gpus", "1", &pc->gpus, d);
    if (rc)
        return rc;
    if (pc->gpus < 1 || pc->gpus > MAX_GPUS)
        return gs_error_at(d, gs_map_get(m, "gpus"), "gpus: must be between 1 and %ld, got %ld",
                           MAX_GPUS, pc->gpus);
    gs_node *mn = gs_map_get(m, "model");
    if (!mn)
        return gs_error_at(d, m, "gpu_pool '%s': missing required key 'model' (a named model "
                           "such as deepseek-mini, or its shapes inline)", cc->id);
    if ((rc = gs_model_configure(&pc->model, doc, mn, "model", d)) ||
        (rc = read_batching(pc, doc, m, d)))
        return rc;
    if (pc->gpus * pc->max_batch > MAX_SLOTS)
        return gs_error_at(d, gs_map_get(m, "gpus"), "gpus x max_batch: at most %ld sequences "
                           "in a pool, got %ld x %ld", MAX_SLOTS, pc->gpus, pc->max_batch);
    long kv;
    if ((rc = limit(doc, m, "kv_cache_tokens", 2, MAX_KV, &kv, d)) ||
        (rc = limit(doc, m, "capacity", 0, LONG_MAX, &pc->capacity, d)))
        return rc;
    pc->kv_limited = kv >= 0;
    pc->kv = pc->kv_limited ? (uint64_t)kv : UINT64_MAX;
    gs_node *next = gs_map_get(m, "next");
    if (next) {
        if ((rc = gs_build_ref(b, cc, next, "next", &pc->next, d)))
            return rc;
        pc->has_next = 1;
    }
    if ((rc = read_service_time(pc, doc, m, d)))
        return rc;
    return gs_failure_configure(&pc->failure, doc, m, d);
}

static void conf_release(gs_comp_conf *cc)
{
    pool_conf *pc = cc->conf;
    gs_profile_free(pc->profile);
    pc->profile = NULL;
    gs_failure_conf_release(&pc->failure);
}

/* ---- per replication ---- */

static int start(gs_component *c, gs_ctx *ctx)
{
    const pool_conf *pc = c->conf;
    pool_state *st = c->state;
    size_t ng = (size_t)pc->gpus, nb = (size_t)pc->max_batch;
    st->gpu = gs_calloc(ng, sizeof *st->gpu);
    st->seqs = gs_calloc(ng * nb, sizeof *st->seqs);
    st->outs = gs_calloc(ng * nb, sizeof *st->outs);
    /* Room for what a small bounded queue can hold, places plus sequences
     * that preemption puts back; beyond that the ring doubles when the
     * queue reaches a new peak. */
    size_t want = pc->capacity >= 0 && pc->capacity < 4096 ? (size_t)pc->capacity + ng * nb
                                                            : 4096;
    st->cap = 16;
    while (st->cap < want)
        st->cap <<= 1;
    st->ring = gs_malloc(st->cap * sizeof *st->ring);
    if (!st->gpu || !st->seqs || !st->outs || !st->ring)
        return GS_ENOMEM;
    for (size_t i = 0; i < ng; i++) {
        st->gpu[i].s = st->seqs + i * nb;
        st->gpu[i].out = st->outs + i * nb;
    }
    st->idle = pc->gpus;
    gs_timeavg_init(&st->busy_avg, 0, 0);
    gs_timeavg_init(&st->held_avg, 0, 0);
    gs_timeavg_init(&st->queue_avg, 0, 0);
    gs_timeavg_init(&st->kv_avg, 0, 0);
    gs_tally_init(&st->wait);
    gs_tally_init(&st->response);
    if (pc->be) {
        gs_diag d;
        gs_diag_init(&d);
        if (pc->be->alloc(&st->ws, &pc->model, (uint32_t)pc->max_batch, LIVE_MAX_TOKENS,
                          ctx->seed, &d) != GS_OK)
            return GS_ENOMEM;
    }
    if (gs_failure_configured(&pc->failure)) {
        st->fails = 1;
        return gs_failure_start(&st->fail, &pc->failure, c, ctx, EV_FAIL, c->cc->id);
    }
    return GS_OK;
}

static void release(gs_component *c)
{
    const pool_conf *pc = c->conf;
    pool_state *st = c->state;
    if (st->ws)
        pc->be->free(st->ws);
    st->ws = NULL;
    gs_failure_release(&st->fail);
    gs_free(st->gpu);
    gs_free(st->seqs);
    gs_free(st->outs);
    gs_free(st->ring);
    st->gpu = NULL;
    st->seqs = NULL;
    st->outs = NULL;
    st->ring = NULL;
}

static void levels(pool_state *st, gs_time now)
{
    gs_timeavg_set(&st->busy_avg, now, (double)st->busy);
    gs_timeavg_set(&st->held_avg, now, (double)st->held);
    gs_timeavg_set(&st->queue_avg, now, (double)st->len);
    gs_timeavg_set(&st->kv_avg, now, (double)st->kv_used);
}

static int grow(pool_state *st)
{
    size_t cap = 2 * st->cap;
    waiting *ring = gs_malloc(cap * sizeof *ring);
    if (!ring)
        return GS_ENOMEM;
    for (size_t i = 0; i < st->len; i++)
        ring[i] = st->ring[(st->head + i) & (st->cap - 1)];
    gs_free(st->ring);
    st->ring = ring;
    st->cap = cap;
    st->head = 0;
    return GS_OK;
}

static int push_back(pool_state *st, waiting w)
{
    if (st->len == st->cap && grow(st) != GS_OK)
        return GS_ENOMEM;
    st->ring[(st->head + st->len++) & (st->cap - 1)] = w;
    return GS_OK;
}

/* A preempted sequence goes back ahead of everything that waits. */
static int push_front(pool_state *st, waiting w)
{
    if (st->len == st->cap && grow(st) != GS_OK)
        return GS_ENOMEM;
    st->head = (st->head - 1) & (st->cap - 1);
    st->ring[st->head] = w;
    st->len++;
    return GS_OK;
}

static waiting pop_front(pool_state *st)
{
    waiting w = st->ring[st->head];
    st->head = (st->head + 1) & (st->cap - 1);
    st->len--;
    return w;
}

static uint32_t at_least_1(uint32_t x) { return x ? x : 1; }

static double slowdown(pool_state *st, gs_time now)
{
    return st->fails ? gs_failure_factor(&st->fail, now) : 1.0;
}

/* Every pass takes at least 1ns: time always advances, and a token mark is
 * never 0. */
static gs_time duration(double seconds)
{
    gs_time t = gs_time_from_s(seconds);
    return t > 0 ? t : 1;
}

static void note_batch(pool_state *st, const gpu *g, int clamped)
{
    if (!st->measuring)
        return;
    if (g->kv > st->kv_peak)
        st->kv_peak = g->kv;
    st->batches++;
    st->batch_seqs += g->ns;
    if (g->ns > st->batch_max)
        st->batch_max = g->ns;
    st->clamped += (uint64_t)(clamped != 0);
}

static void admitted(pool_state *st, gs_ctx *ctx, const waiting *w)
{
    if (!st->measuring || w->again)
        return;
    st->admitted++;
    gs_tally_add(&st->wait, gs_time_to_s(ctx->now - w->r->t_enter));
}

static void set_busy(pool_state *st, gpu *g, int busy)
{
    if (g->busy == busy)
        return;
    g->busy = busy;
    st->busy += busy ? 1 : -1;
    st->idle -= busy ? 1 : -1;
}

static void set_kv(pool_state *st, gpu *g, uint64_t kv)
{
    st->kv_used = st->kv_used - g->kv + kv;
    g->kv = kv;
}

/* Run to completion: form a batch from the head of the queue (FIFO, up to
 * max_batch, while the KV reservations fit) and compute when each of its
 * requests gets its last token. */
static void batch_start(gs_component *c, gs_ctx *ctx, size_t i)
{
    const pool_conf *pc = c->conf;
    pool_state *st = c->state;
    gpu *g = &st->gpu[i];
    uint32_t B = 0, P = 0;
    uint64_t kv = 0;
    while (B < (uint32_t)pc->max_batch && st->len) {
        const waiting *w = &st->ring[st->head];
        uint32_t p = at_least_1(w->r->prompt_tokens), n = at_least_1(w->r->output_tokens);
        if (pc->kv_limited && kv + p + n > pc->kv)
            break;
        waiting x = pop_front(st);
        admitted(st, ctx, &x);
        /* Insertion by output length keeps the batch in finishing order;
         * equal lengths keep their queue order. */
        uint32_t k = B++;
        while (k > 0 && g->s[k - 1].n > n) {
            g->s[k] = g->s[k - 1];
            k--;
        }
        g->s[k] = (seq){.r = x.r, .p = p, .n = n};
        kv += (uint64_t)p + n;
        if (p > P)
            P = p;
    }
    double factor = slowdown(st, ctx->now);
    int clamped = 0;
    double pre = pc->ts->pass(pc, st, GS_PHASE_PREFILL, B, P, &clamped);
    if (isnan(pre)) {
        gs_ctx_fail(ctx, GS_EIO);   /* the kernels failed: the run stops */
        return;
    }
    g->first = gs_time_add(ctx->now, duration(pre * factor));
    /* cum = the decode passes k = 1 .. n - 1 at contexts P + k. */
    double cum = 0;
    uint32_t done = 1;
    for (uint32_t k = 0; k < B; k++) {
        uint32_t n = g->s[k].n;
        if (n > done) {
            cum += pc->ts->sum(pc, st, GS_PHASE_DECODE, B, (uint64_t)P + done,
                               (uint64_t)P + n - 1, &clamped);
            done = n;
            if (isnan(cum)) {
                gs_ctx_fail(ctx, GS_EIO);
                return;
            }
        }
        gs_time f = gs_time_add(ctx->now, duration((pre + cum) * factor));
        g->s[k].finish = f > g->first ? f : g->first;
    }
    g->ns = B;
    g->next = 0;
    g->marked = 0;
    set_busy(st, g, 1);
    set_kv(st, g, kv);
    st->held += B;
    note_batch(st, g, clamped);
    g->t = gs_schedule(ctx, c, g->first - ctx->now, EV_GPU, NULL, i);
}

/* Continuous: start an iteration on GPU i (preempt, admit, price). Leaves
 * the GPU idle when it holds nothing and nothing waits. */
static void iterate(gs_component *c, gs_ctx *ctx, size_t i)
{
    const pool_conf *pc = c->conf;
    pool_state *st = c->state;
    gpu *g = &st->gpu[i];
    uint64_t used = 0;
    for (uint32_t k = 0; k < g->ns; k++)
        used += (uint64_t)g->s[k].p + g->s[k].g;
    /* Each running sequence grows by one token this iteration; while that
     * does not fit, the newest gives its KV up. A single sequence always
     * fits (arrive() refuses p + n > kv_cache_tokens). */
    while (pc->kv_limited && used + g->ns > pc->kv) {
        seq x = g->s[--g->ns];
        used -= (uint64_t)x.p + x.g;
        st->held--;
        st->gen_queued += x.g;
        if (st->measuring)
            st->preempted++;
        if (push_front(st, (waiting){x.r, x.g, 1}) != GS_OK) {
            gs_ctx_fail(ctx, GS_ENOMEM);
            return;
        }
    }
    uint32_t dec = g->ns, pre = 0;
    double ctx_sum = (double)used;
    uint64_t need = used + dec, prompt_sum = 0;
    while (g->ns < (uint32_t)pc->max_batch && st->len) {
        const waiting *w = &st->ring[st->head];
        uint32_t p = at_least_1(w->r->prompt_tokens);
        uint64_t len = (uint64_t)p + w->g;   /* a preempted one recomputes its tokens */
        if (pre > 0 && prompt_sum + len > (uint64_t)pc->max_tokens)
            break;
        if (pc->kv_limited && need + len + 1 > pc->kv)
            break;
        waiting x = pop_front(st);
        admitted(st, ctx, &x);
        st->gen_queued -= x.g;
        g->s[g->ns++] = (seq){.r = x.r, .p = p, .n = at_least_1(x.r->output_tokens), .g = x.g,
                              .fresh = 1};
        st->held++;
        pre++;
        prompt_sum += len;
        need += len + 1;
    }
    if (g->ns == 0) {
        set_busy(st, g, 0);
        set_kv(st, g, 0);
        return;
    }
    int clamped = 0;
    double s = 0;
    if (pre)
        s += pc->ts->pass(pc, st, GS_PHASE_PREFILL, pre, (double)prompt_sum / pre, &clamped);
    if (dec)
        s += pc->ts->pass(pc, st, GS_PHASE_DECODE, dec, ctx_sum / dec, &clamped);
    if (isnan(s)) {
        gs_ctx_fail(ctx, GS_EIO);
        return;
    }
    if ((pc->kv_limited && need > pc->kv) || g->ns > (uint32_t)pc->max_batch)
        st->violations++;
    set_busy(st, g, 1);
    set_kv(st, g, need);
    note_batch(st, g, clamped);
    g->t = gs_schedule(ctx, c, duration(s * slowdown(st, ctx->now)), EV_GPU, NULL, i);
}

/* Let idle GPUs start work, lowest index first. static (and continuous with
 * max_wait) lets an idle GPU wait until max_batch requests are there or the
 * oldest has waited max_wait. */
static void dispatch(gs_component *c, gs_ctx *ctx)
{
    const pool_conf *pc = c->conf;
    pool_state *st = c->state;
    if (st->fails && gs_failure_down(&st->fail))
        return;
    int waits = pc->max_wait > 0 && (pc->pol == POL_STATIC || pc->pol == POL_CONTINUOUS);
    for (size_t i = 0; i < (size_t)pc->gpus && st->len && st->idle; i++) {
        if (st->gpu[i].busy)
            continue;
        if (waits && st->len < (size_t)pc->max_batch) {
            gs_time due = gs_time_add(st->ring[st->head].r->t_enter, pc->max_wait);
            if (ctx->now < due) {
                /* The timer only moves earlier, when a preempted request
                 * returns to the head. */
                if (st->wait_armed && st->wait_at <= due)
                    return;
                if (st->wait_armed)
                    gs_cancel(ctx, st->wait_t);
                st->wait_armed = 1;
                st->wait_at = due;
                st->wait_t = gs_schedule(ctx, c, due - ctx->now, EV_WAIT, NULL, 0);
                return;
            }
        }
        if (pc->pol == POL_CONTINUOUS)
            iterate(c, ctx, i);
        else
            batch_start(c, ctx, i);
    }
}

static void send_on(gs_component *c, gs_ctx *ctx, gs_request *r)
{
    const pool_conf *pc = c->conf;
    if (pc->has_next)
        gs_send(ctx, c, pc->next, r);
    else
        gs_answer(ctx, c, r, GS_OUT_OK);
}

static void finished(pool_state *st, gs_ctx *ctx, const seq *x)
{
    gs_mark_token(ctx, x->r, 1);
    st->held--;
    if (st->measuring) {
        st->completed++;
        gs_tally_add(&st->response, gs_time_to_s(ctx->now - x->r->t_enter));
    }
}

/* Answers go out last: an answer can reach a caller that sends a new
 * request here at once, which must find the pool consistent. The GPU's
 * out buffer is safe meanwhile, because only its own event fills it. */
static void answer_all(gs_component *c, gs_ctx *ctx, gs_request **out, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++)
        send_on(c, ctx, out[k]);
}

/* Run to completion: the prefill of GPU i's batch ended (first tokens), or
 * a step at which some of its requests get their last token. */
static void batch_step(gs_component *c, gs_ctx *ctx, size_t i)
{
    pool_state *st = c->state;
    gpu *g = &st->gpu[i];
    if (!g->marked) {
        for (uint32_t k = 0; k < g->ns; k++)
            gs_mark_token(ctx, g->s[k].r, 0);
        g->marked = 1;
    }
    uint32_t nout = 0;
    while (g->next < g->ns && g->s[g->next].finish <= ctx->now) {
        const seq *x = &g->s[g->next++];
        finished(st, ctx, x);
        if (st->measuring)
            st->tokens += x->n;
        st->gen_total += x->n;
        st->gen_finished += x->n;
        g->out[nout++] = x->r;
    }
    if (g->next < g->ns) {
        g->t = gs_schedule(ctx, c, g->s[g->next].finish - ctx->now, EV_GPU, NULL, i);
    } else {
        g->ns = g->next = 0;
        set_busy(st, g, 0);
        set_kv(st, g, 0);
        dispatch(c, ctx);
    }
    levels(st, ctx->now);
    answer_all(c, ctx, g->out, nout);
}

/* Continuous: GPU i's iteration ended; every sequence it ran has one more
 * token. */
static void iteration_end(gs_component *c, gs_ctx *ctx, size_t i)
{
    pool_state *st = c->state;
    gpu *g = &st->gpu[i];
    uint32_t nout = 0, kept = 0;
    uint64_t used = 0;
    for (uint32_t k = 0; k < g->ns; k++) {
        seq x = g->s[k];
        x.g++;
        st->gen_total++;
        if (st->measuring)
            st->tokens++;
        if (x.fresh && x.g == 1)
            gs_mark_token(ctx, x.r, 0);
        x.fresh = 0;
        if (x.g >= x.n) {
            finished(st, ctx, &x);
            st->gen_finished += x.g;
            g->out[nout++] = x.r;
        } else {
            used += (uint64_t)x.p + x.g;
            g->s[kept++] = x;
        }
    }
    g->ns = kept;
    set_kv(st, g, used);
    if (kept)
        iterate(c, ctx, i);
    else
        set_busy(st, g, 0);
    /* Idle GPUs take what waits, preempted sequences included. */
    dispatch(c, ctx);
    levels(st, ctx->now);
    answer_all(c, ctx, g->out, nout);
}

/* A request sent to a pool that is down fails once the connection attempt
 * times out. */
static void refuse(gs_component *c, gs_ctx *ctx, gs_request *r)
{
    if (ctx->connect_timeout == 0)
        gs_answer(ctx, c, r, GS_OUT_ERROR);
    else
        gs_schedule(ctx, c, ctx->connect_timeout, EV_REFUSE, r, 0);
}

static void arrive(gs_component *c, gs_ctx *ctx, gs_request *r)
{
    const pool_conf *pc = c->conf;
    pool_state *st = c->state;
    if (st->fails && gs_failure_down(&st->fail)) {
        refuse(c, ctx, r);
        return;
    }
    if (r->probe) {
        gs_answer(ctx, c, r, GS_OUT_OK);
        return;
    }
    if (st->measuring)
        st->arrivals++;
    uint64_t need = (uint64_t)at_least_1(r->prompt_tokens) + at_least_1(r->output_tokens);
    if (pc->kv_limited && need > pc->kv) {
        /* It could never run, not even alone. */
        if (st->measuring)
            st->blocked++;
        gs_answer(ctx, c, r, GS_OUT_ERROR);
        return;
    }
    r->t_enter = ctx->now;
    if (push_back(st, (waiting){r, 0, 0}) != GS_OK) {
        gs_ctx_fail(ctx, GS_ENOMEM);
        return;
    }
    dispatch(c, ctx);
    /* Still waiting beyond the queue's places: r, the last one in (only
     * iterations push to the front, and none ended here). */
    if (pc->capacity >= 0 && st->len > (size_t)pc->capacity) {
        st->len--;
        if (st->measuring)
            st->blocked++;
        levels(st, ctx->now);
        gs_answer(ctx, c, r, GS_OUT_ERROR);
        return;
    }
    levels(st, ctx->now);
}

/* The pool goes down: every GPU stops, and what it holds or what waits
 * fails now. */
static void go_down(gs_component *c, gs_ctx *ctx)
{
    const pool_conf *pc = c->conf;
    pool_state *st = c->state;
    if (st->wait_armed) {
        gs_cancel(ctx, st->wait_t);
        st->wait_armed = 0;
    }
    for (size_t i = 0; i < (size_t)pc->gpus; i++) {
        gpu *g = &st->gpu[i];
        if (!g->busy)
            continue;
        gs_cancel(ctx, g->t);
        uint32_t nout = 0;
        for (uint32_t k = g->next; k < g->ns; k++) {
            st->gen_lost += g->s[k].g;
            g->out[nout++] = g->s[k].r;
        }
        st->held -= nout;
        g->ns = g->next = 0;
        set_busy(st, g, 0);
        set_kv(st, g, 0);
        levels(st, ctx->now);
        for (uint32_t k = 0; k < nout; k++)
            gs_answer(ctx, c, g->out[k], GS_OUT_ERROR);
    }
    while (st->len) {
        waiting w = pop_front(st);
        st->gen_queued -= w.g;
        st->gen_lost += w.g;
        levels(st, ctx->now);
        gs_answer(ctx, c, w.r, GS_OUT_ERROR);
    }
    levels(st, ctx->now);
}

static void handle(gs_component *c, gs_ctx *ctx, gs_event *ev)
{
    const pool_conf *pc = c->conf;
    pool_state *st = c->state;
    switch (ev->kind) {
    case GS_EV_REQUEST:
        arrive(c, ctx, ev->req);
        return;
    case EV_GPU:
        if (pc->pol == POL_CONTINUOUS)
            iteration_end(c, ctx, (size_t)ev->arg);
        else
            batch_step(c, ctx, (size_t)ev->arg);
        return;
    case EV_WAIT:
        st->wait_armed = 0;
        dispatch(c, ctx);
        levels(st, ctx->now);
        return;
    case EV_REFUSE:
        gs_answer(ctx, c, ev->req, GS_OUT_ERROR);
        return;
    default:
        if (st->fails && gs_failure_owns(&st->fail, ev->kind) &&
            gs_failure_handle(&st->fail, c, ctx, ev) == GS_FAILURE_DOWN)
            go_down(c, ctx);
        return;
    }
}

static void window(gs_component *c, gs_ctx *ctx, int open)
{
    const pool_conf *pc = c->conf;
    pool_state *st = c->state;
    if (st->fails)
        gs_failure_window(&st->fail, ctx->now, open);
    if (open) {
        st->measuring = 1;
        gs_timeavg_restart(&st->busy_avg, ctx->now);
        gs_timeavg_restart(&st->held_avg, ctx->now);
        gs_timeavg_restart(&st->queue_avg, ctx->now);
        gs_timeavg_restart(&st->kv_avg, ctx->now);
        st->kv_peak = 0;
        for (size_t i = 0; i < (size_t)pc->gpus; i++)
            if (st->gpu[i].kv > st->kv_peak)
                st->kv_peak = st->gpu[i].kv;
        return;
    }
    st->measuring = 0;
    double gpus = (double)pc->gpus;
    double held = gs_timeavg_mean(&st->held_avg, ctx->now);
    st->util = held / (gpus * (double)pc->max_batch);
    st->busy_ratio = gs_timeavg_mean(&st->busy_avg, ctx->now) / gpus;
    st->queue_mean = gs_timeavg_mean(&st->queue_avg, ctx->now);
    st->system_mean = held + st->queue_mean;
    st->kv_ratio = pc->kv_limited
                       ? gs_timeavg_mean(&st->kv_avg, ctx->now) / (gpus * (double)pc->kv)
                       : NAN;
}

/* Tokens produced over the run are held by sequences on GPUs or waiting
 * (preempted), or belong to requests that finished or were cut off. */
static int tokens_balance(const pool_conf *pc, const pool_state *st)
{
    uint64_t held = 0;
    for (size_t i = 0; i < (size_t)pc->gpus; i++)
        for (uint32_t k = st->gpu[i].next; k < st->gpu[i].ns; k++)
            held += pc->pol == POL_CONTINUOUS ? st->gpu[i].s[k].g : 0;
    uint64_t queued = 0;
    for (size_t k = 0; k < st->len; k++)
        queued += st->ring[(st->head + k) & (st->cap - 1)].g;
    return queued == st->gen_queued &&
           st->gen_total == st->gen_finished + st->gen_lost + held + queued;
}

static void report(const gs_component *c, const gs_ctx *ctx, gs_metrics *m)
{
    const pool_conf *pc = c->conf;
    const pool_state *st = c->state;
    double window_s = gs_time_to_s(ctx->duration - ctx->warmup);
    double nb = st->batches ? (double)st->batches : NAN;
    gs_metric(m, "utilization", st->util);
    gs_metric(m, "wait_mean", gs_tally_mean(&st->wait));
    gs_metric(m, "response_mean", gs_tally_mean(&st->response));
    gs_metric(m, "queue_mean", st->queue_mean);
    gs_metric(m, "in_system_mean", st->system_mean);
    gs_metric(m, "throughput", (double)st->completed / window_s);
    gs_metric(m, "blocked_ratio", st->arrivals ? (double)st->blocked / (double)st->arrivals : NAN);
    gs_metric(m, "down_ratio", st->fails ? gs_failure_down_ratio(&st->fail) : 0.0);
    gs_metric(m, "batch_mean", (double)st->batch_seqs / nb);
    gs_metric(m, "tokens_per_s", (double)st->tokens / window_s);
    gs_metric(m, "gpu_busy_ratio", st->busy_ratio);
    gs_metric(m, "kv_used_ratio", st->kv_ratio);
    gs_metric(m, "preempted_ratio",
              st->admitted ? (double)st->preempted / (double)st->admitted : NAN);
    gs_metric(m, "batch_max", st->batches ? (double)st->batch_max : NAN);
    gs_metric(m, "kv_peak_ratio", pc->kv_limited ? (double)st->kv_peak / (double)pc->kv : NAN);
    gs_metric(m, "clamped_ratio", (double)st->clamped / nb);
    gs_metric(m, "invariant_violations",
              (double)(st->violations + (uint64_t)!tokens_balance(pc, st)));
}

/* What the queueing of a GPU pool looks like over time: requests waiting,
 * GPUs running a pass, sequences on GPUs, KV cache tokens in use. */
static const char *const series[] = {"queue", "busy", "sequences", "kv_tokens", "up", NULL};

static void sample(const gs_component *c, const gs_ctx *ctx, double *out)
{
    (void)ctx;
    const pool_state *st = c->state;
    out[0] = (double)st->len;
    out[1] = (double)st->busy;
    out[2] = (double)st->held;
    out[3] = (double)st->kv_used;
    out[4] = st->fails && gs_failure_down(&st->fail) ? 0 : 1;
}

const gs_component_type gs_gpu_pool_type = {
    .name = "gpu_pool",
    .keys = keys,
    .conf_size = sizeof(pool_conf),
    .state_size = sizeof(pool_state),
    .configure = configure,
    .conf_release = conf_release,
    .start = start,
    .handle = handle,
    .window = window,
    .report = report,
    .release = release,
    .series = series,
    .sample = sample,
};
