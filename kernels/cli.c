/* `gatesim kernels`: list the named models, calibrate a profile, check CUDA
 * against the CPU, and benchmark the layer (kernels/cli.h). Parses argv by
 * hand (the options are few, and getopt's global state would be shared with
 * the caller's parse), maps status codes to exit codes, and prints; the work
 * is in calibrate.c, compare.c and bench.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/bench.h"
#include "kernels/calibrate.h"
#include "kernels/cli.h"
#include "kernels/compare.h"
#include "kernels/kernels.h"
#include "sim/alloc.h"
#include "sim/error.h"
#include "sim/node.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_SKIP = 77 };

static const char *usage_kernels =
    "usage: gatesim kernels SUBCOMMAND [OPTIONS]\n"
    "\n"
    "Real transformer-inference kernels (one decoder layer, prefill and decode)\n"
    "on the CPU (OpenBLAS + OpenMP) or a CUDA GPU, and the service-time profiles\n"
    "that gpu_pool reads (docs/kernels.md).\n"
    "\n"
    "subcommands:\n"
    "  list        the named models and their shapes\n"
    "  calibrate   time a model over a grid and write a profile CSV\n"
    "  check       run CUDA and CPU on the same weights and compare (exit 77: no GPU)\n"
    "  bench       achieved GFLOP/s and GB/s of one layer against the machine's bounds\n"
    "\n"
    "Run 'gatesim kernels SUBCOMMAND --help' for its options.\n";

static const char *usage_calibrate =
    "usage: gatesim kernels calibrate [--model M] [--backend auto|cpu|cuda]\n"
    "                                 [--grid quick|full] [-o FILE] [-q]\n"
    "\n"
    "Time one layer pass and the head over a grid of batch sizes and token counts\n"
    "(median of repeated runs after a warm-up) and write the profile CSV\n"
    "(backend,device,model,phase,batch,tokens,seconds) with FILE.meta beside it.\n"
    "seconds = median(layer) x layers + median(head of batch rows).\n"
    "\n"
    "  --model M        a named model (default deepseek-mini; see 'gatesim kernels list')\n"
    "  --backend B      auto (default: cuda where a GPU is, else cpu), cpu or cuda\n"
    "  --grid G         quick (default on cpu: batch 1..32 x tokens 128..2048) or\n"
    "                   full (default on cuda: prefill 1..32 x 128..4096, decode\n"
    "                   1..128 x 128..8192)\n"
    "  -o FILE          output (default results/profiles/BACKEND-MODEL.csv)\n"
    "  --repeats N      timed runs per point, at most (default 7; at least 3)\n"
    "  --warmup N       untimed runs before each point (default 1)\n"
    "  --seed N         seed of weights and inputs (default 1)\n"
    "  -q, --quiet      no progress bar\n";

static const char *usage_check =
    "usage: gatesim kernels check [--model M] [--seed N]\n"
    "\n"
    "Draw weights on the GPU, copy them to the CPU backend, run prefill, decode and\n"
    "the head on both and print the maximum relative error of each against the\n"
    "fp32 CPU result (tolerance 0.05 for bf16). Every named model unless --model.\n"
    "Exit 0 when all agree, 1 when one does not, 77 when there is no GPU\n"
    "(nothing was checked).\n";

static const char *usage_bench =
    "usage: gatesim kernels bench [--model M|all] [--backend auto|cpu|cuda]\n"
    "                             [--size small|large] [--seed N]\n"
    "\n"
    "Time one layer of each named model (or M) in decode and prefill and print\n"
    "ms, GFLOP/s, GB/s and the ratios to the machine's bounds: on the CPU, the\n"
    "same sgemm products through OpenBLAS alone (vs_gemm = their time / the\n"
    "layer's), OpenBLAS's large-sgemm rate (of_peak) and the measured memory read\n"
    "rate (of_bw); on a GPU, the nominal bf16 peak and memory bandwidth.\n"
    "small (default): shapes that take about a minute on 2 CPU cores; large:\n"
    "decode 32 x 2048 and prefill 1 x 2048 (the GPU targets).\n";

static const char *usage_list =
    "usage: gatesim kernels list\n"
    "\n"
    "Print the named models with their shapes and sources.\n";

static int usage_error(const char *sub, const char *fmt, const char *arg)
{
    fprintf(stderr, "gatesim kernels %s: ", sub);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nRun 'gatesim kernels %s --help' for usage.\n", sub);
    return EXIT_USAGE;
}

static int report(const gs_diag *d, int rc)
{
    fprintf(stderr, "gatesim kernels: %s\n", d->msg[0] ? d->msg : gs_strerror(rc));
    return rc == GS_EINVAL ? EXIT_USAGE : EXIT_FAIL;
}

/* Match argv[*i] against "--name VALUE" or "--name=VALUE" (short: "-o
 * VALUE"); 1 and *val set when it matches, 0 when not, -1 when the value is
 * missing. */
static int opt(int argc, char **argv, int *i, const char *name, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=' && name[1] == '-') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *val = argv[++*i];
    return 1;
}

static int parse_u64(const char *s, unsigned long long lo, unsigned long long hi,
                     unsigned long long *out)
{
    char *end;
    errno = 0;
    if (*s == '-' || *s == '\0')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int find_model(const char *sub, const char *name, const gs_model_shape **m)
{
    *m = gs_model_lookup(name);
    if (*m)
        return EXIT_OK;
    const char *hint = gs_suggest(name, gs_model_names);
    fprintf(stderr, "gatesim kernels %s: unknown model '%s'%s%s%s; expected one of:", sub, name,
            hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
    for (const char *const *n = gs_model_names; *n; n++)
        fprintf(stderr, " %s", *n);
    fprintf(stderr, "\n");
    return EXIT_USAGE;
}

static int find_backend(const char *sub, const char *name, const gs_kernel_backend **be)
{
    gs_diag d;
    gs_diag_init(&d);
    if (gs_kernel_backend_find(name, be, &d))
        return usage_error(sub, "%s", d.msg);
    return EXIT_OK;
}

static int cmd_list(int argc, char **argv)
{
    if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
        fputs(usage_list, stdout);
        return EXIT_OK;
    }
    if (argc > 2)
        return usage_error("list", "unexpected argument '%s'", argv[2]);
    printf("%-17s %6s %7s %5s %8s %8s %6s %7s %5s %6s %9s %7s %5s %10s\n", "model", "layers",
           "d_model", "heads", "kv_heads", "head_dim", "d_ff", "experts", "top_k", "shared",
           "expert_ff", "vocab", "dtype", "layer_MB");
    for (const char *const *n = gs_model_names; *n; n++) {
        const gs_model_shape *m = gs_model_lookup(*n);
        printf("%-17s %6u %7u %5u %8u %8u %6u %7u %5u %6u %9u %7u %5s %10.1f\n", m->name,
               m->layers, m->d_model, m->heads, m->kv_heads, m->head_dim, m->d_ff, m->experts,
               m->top_k, m->shared_experts, m->expert_ff, m->vocab, gs_dtype_name(m->dtype),
               gs_model_layer_weight_bytes(m) / 1e6);
    }
    printf("\nsources:\n");
    for (const char *const *n = gs_model_names; *n; n++)
        printf("  %s: %s\n", *n, gs_model_lookup(*n)->source);
    return EXIT_OK;
}

/* "gatesim kernels calibrate ..." as typed, for the provenance file. */
static char *join_command(int argc, char **argv)
{
    size_t n = sizeof "gatesim";
    for (int i = 0; i < argc; i++)
        n += strlen(argv[i]) + 1;
    char *s = gs_malloc(n);
    if (!s)
        return NULL;
    strcpy(s, "gatesim");
    for (int i = 0; i < argc; i++) {
        strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

static int cmd_calibrate(int argc, char **argv)
{
    const char *sub = "calibrate", *model = "deepseek-mini", *backend = "auto", *grid = NULL;
    const char *out = NULL, *v;
    gs_calib_opts o;
    gs_calib_defaults(&o);
    for (int i = 2; i < argc; i++) {
        int r;
        unsigned long long u;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_calibrate, stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0) {
            o.quiet = 1;
        } else if ((r = opt(argc, argv, &i, "--model", &v))) {
            if (r < 0)
                return usage_error(sub, "%s needs a value", argv[i]);
            model = v;
        } else if ((r = opt(argc, argv, &i, "--backend", &v))) {
            if (r < 0)
                return usage_error(sub, "%s needs a value", argv[i]);
            backend = v;
        } else if ((r = opt(argc, argv, &i, "--grid", &v))) {
            if (r < 0)
                return usage_error(sub, "%s needs a value", argv[i]);
            grid = v;
        } else if ((r = opt(argc, argv, &i, "-o", &v)) ||
                   (r = opt(argc, argv, &i, "--output", &v))) {
            if (r < 0)
                return usage_error(sub, "%s needs a value", argv[i]);
            out = v;
        } else if ((r = opt(argc, argv, &i, "--repeats", &v))) {
            if (r < 0 || parse_u64(v, 3, 64, &u))
                return usage_error(sub, "--repeats: expected an integer from 3 to 64, got '%s'",
                                   r < 0 ? "" : v);
            o.repeats = (int)u;
        } else if ((r = opt(argc, argv, &i, "--warmup", &v))) {
            if (r < 0 || parse_u64(v, 0, 100, &u))
                return usage_error(sub, "--warmup: expected an integer from 0 to 100, got '%s'",
                                   r < 0 ? "" : v);
            o.warmup = (int)u;
        } else if ((r = opt(argc, argv, &i, "--seed", &v))) {
            if (r < 0 || parse_u64(v, 0, UINT64_MAX, &u))
                return usage_error(sub, "--seed: expected a non-negative integer, got '%s'",
                                   r < 0 ? "" : v);
            o.seed = u;
        } else {
            return usage_error(sub, "unknown option '%s'", argv[i]);
        }
    }
    int code;
    if ((code = find_model(sub, model, &o.model)) ||
        (code = find_backend(sub, backend, &o.backend)))
        return code;
    gs_diag d;
    gs_diag_init(&d);
    if (!grid)
        grid = strcmp(o.backend->name, "cuda") == 0 ? "full" : "quick";
    if (gs_calib_grid_named(grid, o.grid, &d))
        return usage_error(sub, "%s", d.msg);
    o.grid_name = grid;
    if (!o.backend->available()) {
        fprintf(stderr, "gatesim kernels calibrate: backend %s is not available on this "
                "machine (no CUDA device, or a build without CUDA)\n", o.backend->name);
        /* A backend named on the command line that this machine cannot run
         * is a command-line error: nothing was measured, nothing to write. */
        return EXIT_USAGE;
    }
    char dflt[GS_MODEL_NAME_MAX + 64];
    if (!out) {
        snprintf(dflt, sizeof dflt, "results/profiles/%s-%s.csv", o.backend->name,
                 o.model->name);
        out = dflt;
    }
    char *cmd = join_command(argc, argv);
    if (!cmd) {
        fprintf(stderr, "gatesim kernels: out of memory\n");
        return EXIT_FAIL;
    }
    o.command = cmd;
    int rc = gs_calibrate(&o, out, &d);
    gs_free(cmd);
    if (rc)
        return report(&d, rc);
    long points = 0;
    for (int p = 0; p < 2; p++)
        points += (long)(o.grid[p].nbatch * o.grid[p].ntokens);
    printf("wrote %s (%ld points, backend %s, model %s, grid %s) and %s.meta\n", out, points,
           o.backend->name, o.model->name, grid, out);
    return EXIT_OK;
}

static int check_one(const gs_model_shape *m, uint64_t seed, int *failed)
{
    gs_diag d;
    gs_diag_init(&d);
    gs_compare_result r;
    int rc = gs_kernel_compare(m, &gs_kernel_cuda, &gs_kernel_cpu, seed, GS_COMPARE_TOL_BF16, &r,
                               &d);
    if (rc)
        return report(&d, rc);
    printf("%-17s prefill %.2e  decode %.2e  head %.2e  router %.2e  ambiguous %ld/%ld + "
           "%ld/%ld  tolerance %.2g  %s\n",
           m->name, r.prefill_err, r.decode_err, r.head_err, r.router_err,
           r.prefill_ambiguous, r.prefill_rows, r.decode_ambiguous, r.decode_rows, r.tolerance,
           r.pass ? "ok" : "DISAGREE");
    fflush(stdout);
    if (!r.pass)
        *failed = 1;
    return EXIT_OK;
}

static int cmd_check(int argc, char **argv)
{
    const char *sub = "check", *model = NULL, *v;
    unsigned long long seed = 1;
    for (int i = 2; i < argc; i++) {
        int r;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_check, stdout);
            return EXIT_OK;
        } else if ((r = opt(argc, argv, &i, "--model", &v))) {
            if (r < 0)
                return usage_error(sub, "%s needs a value", argv[i]);
            model = v;
        } else if ((r = opt(argc, argv, &i, "--seed", &v))) {
            if (r < 0 || parse_u64(v, 0, UINT64_MAX, &seed))
                return usage_error(sub, "--seed: expected a non-negative integer, got '%s'",
                                   r < 0 ? "" : v);
        } else {
            return usage_error(sub, "unknown option '%s'", argv[i]);
        }
    }
    const gs_model_shape *m = NULL;
    int code = EXIT_OK;
    if (model && (code = find_model(sub, model, &m)))
        return code;
    if (!gs_kernel_cuda.available()) {
        printf("gatesim kernels check: no GPU: skipped (no CUDA device, or a build without "
               "CUDA); nothing was compared\n");
        return EXIT_SKIP;
    }
    char dev[256];
    gs_kernel_cuda.device_name(dev, sizeof dev);
    printf("# cuda (%s, bf16) against cpu (fp32), max |cuda - cpu| / max |cpu|\n", dev);
    int failed = 0;
    if (m)
        code = check_one(m, seed, &failed);
    else
        for (const char *const *n = gs_model_names; *n && code == EXIT_OK; n++)
            code = check_one(gs_model_lookup(*n), seed, &failed);
    return code ? code : failed ? EXIT_FAIL : EXIT_OK;
}

static int cmd_bench(int argc, char **argv)
{
    const char *sub = "bench", *model = "all", *backend = "auto", *size = "small", *v;
    unsigned long long seed = 1;
    for (int i = 2; i < argc; i++) {
        int r;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_bench, stdout);
            return EXIT_OK;
        } else if ((r = opt(argc, argv, &i, "--model", &v))) {
            if (r < 0)
                return usage_error(sub, "%s needs a value", argv[i]);
            model = v;
        } else if ((r = opt(argc, argv, &i, "--backend", &v))) {
            if (r < 0)
                return usage_error(sub, "%s needs a value", argv[i]);
            backend = v;
        } else if ((r = opt(argc, argv, &i, "--size", &v))) {
            if (r < 0)
                return usage_error(sub, "%s needs a value", argv[i]);
            size = v;
        } else if ((r = opt(argc, argv, &i, "--seed", &v))) {
            if (r < 0 || parse_u64(v, 0, UINT64_MAX, &seed))
                return usage_error(sub, "--seed: expected a non-negative integer, got '%s'",
                                   r < 0 ? "" : v);
        } else {
            return usage_error(sub, "unknown option '%s'", argv[i]);
        }
    }
    gs_bench_size sz;
    if (strcmp(size, "small") == 0)
        sz = GS_BENCH_SMALL;
    else if (strcmp(size, "large") == 0)
        sz = GS_BENCH_LARGE;
    else
        return usage_error(sub, "--size: expected small or large, got '%s'", size);
    const gs_model_shape *m = NULL;
    const gs_kernel_backend *be;
    int code;
    if (strcmp(model, "all") != 0 && (code = find_model(sub, model, &m)))
        return code;
    if ((code = find_backend(sub, backend, &be)))
        return code;
    if (!be->available()) {
        fprintf(stderr, "gatesim kernels bench: backend %s is not available on this machine "
                "(no CUDA device, or a build without CUDA)\n", be->name);
        return EXIT_USAGE;
    }
    gs_diag d;
    gs_diag_init(&d);
    int rc = gs_kernel_bench_header(stdout, be, &d);
    if (m && rc == GS_OK)
        rc = gs_kernel_bench(stdout, be, m, sz, seed, &d);
    for (const char *const *n = gs_model_names; !m && *n && rc == GS_OK; n++)
        rc = gs_kernel_bench(stdout, be, gs_model_lookup(*n), sz, seed, &d);
    return rc ? report(&d, rc) : EXIT_OK;
}

int gs_kernels_main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_kernels, stderr);
        return EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        fputs(usage_kernels, stdout);
        return EXIT_OK;
    }
    if (strcmp(sub, "list") == 0)
        return cmd_list(argc, argv);
    if (strcmp(sub, "calibrate") == 0)
        return cmd_calibrate(argc, argv);
    if (strcmp(sub, "check") == 0)
        return cmd_check(argc, argv);
    if (strcmp(sub, "bench") == 0)
        return cmd_bench(argc, argv);
    fprintf(stderr, "gatesim kernels: unknown subcommand '%s'; expected list, calibrate, check "
            "or bench\nRun 'gatesim kernels --help' for usage.\n", sub);
    return EXIT_USAGE;
}
