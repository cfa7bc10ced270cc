/* The gatesim command line: parse argv, call the library, map the status to
 * the exit codes of SPEC §1 (0 success, 1 results not written or validation
 * failed, 2 bad command line or scenario, 3 internal error). Nothing else
 * lives here. */
#include <errno.h>
#include <getopt.h>
#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/report.h"
#include "analysis/validate.h"
#include "sim/alloc.h"
#include "sim/bench.h"
#include "sim/error.h"
#include "sim/replicate.h"
#include "sim/scenario.h"

enum { EXIT_OK = 0, EXIT_WRITE = 1, EXIT_USAGE = 2, EXIT_INTERNAL = 3 };

typedef struct options {
    const char  *scenario;
    const char  *outdir;
    long         replications;   /* 0: as the scenario says */
    long         seed;           /* -1: as the scenario says */
    int          threads;
    gs_format    format;
    int          quiet;
    const char **sets;
    size_t       nsets;
    char       **owned;          /* strings built for -r / --seed */
    size_t       nowned;
    long         customers;      /* bench */
    long         pending;        /* bench */
} options;

static const char *usage_main =
    "usage: gatesim COMMAND [OPTIONS]\n"
    "\n"
    "Simulate architectures of AI-serving systems from YAML scenarios.\n"
    "\n"
    "commands:\n"
    "  run SCENARIO.yaml    simulate every replication, print a summary, write results\n"
    "  check SCENARIO.yaml  validate a scenario and print it resolved (defaults filled in)\n"
    "  validate             compare the simulator with queueing theory on exact cases\n"
    "  bench                measure the engine (events per second, bytes per pending event)\n"
    "  compare, sweep, capacity, plot, kernels\n"
    "                       planned; not available in this version\n"
    "\n"
    "Run 'gatesim COMMAND --help' for the options of a command.\n"
    "Options: --help, --version. Exit codes: 0 success, 1 results not written (or a\n"
    "validation case failed), 2 bad command line or scenario, 3 internal error.\n";

static const char *usage_run =
    "usage: gatesim run SCENARIO.yaml [OPTIONS]\n"
    "\n"
    "Simulate every replication of the scenario, print the summary to stdout and\n"
    "write summary.csv and scenario.yaml (resolved) under the output directory.\n"
    "\n"
    "  -o DIR              output directory (default: results/<scenario name>/)\n"
    "  -r N                replications (overrides simulation.replications)\n"
    "  -j N                threads (default: all cores); results do not depend on it\n"
    "  --seed N            base seed (overrides simulation.seed)\n"
    "  --set PATH=VALUE    override a scenario value, e.g. components.gw.servers=16;\n"
    "                      repeatable; validated like the file\n"
    "  --format FMT        stdout format: table (default), csv or json\n"
    "  --no-plots          write no plots\n"
    "  -q, --quiet         no progress bar\n"
    "  -h, --help          this text\n";

static const char *usage_check =
    "usage: gatesim check SCENARIO.yaml [--set PATH=VALUE]... [-r N] [--seed N]\n"
    "\n"
    "Validate the scenario and print it fully resolved, with every default filled\n"
    "in, as YAML on stdout. Nothing is simulated. Exit 0 if valid, 2 if not.\n";

static const char *usage_validate =
    "usage: gatesim validate [-j N] [-q] [--format table|csv|json]\n"
    "\n"
    "Run the built-in cases that queueing theory solves exactly (M/M/1, M/M/c,\n"
    "M/D/1, M/G/1, M/M/1/K, Erlang B with lognormal service, a random split, a\n"
    "Jackson tandem, a closed network by MVA, availability under failures, LRU hit\n"
    "ratio by Che's approximation) and print, per quantity: simulated mean,\n"
    "confidence interval, theory, relative error and verdict. Exit 0 when every\n"
    "check passes, 1 if not (docs/validation.md).\n";

static const char *usage_bench =
    "usage: gatesim bench [--customers N] [--pending N]\n"
    "\n"
    "Measure the engine on one thread: events per second on an M/M/1 scenario\n"
    "(lambda = 0.8, mu = 1, N customers; default 2000000) and bytes per pending event\n"
    "in a hold model with N pending events (default 1000000). Prints key=value lines.\n";

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "gatesim %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nRun 'gatesim %s --help' for usage.\n", cmd);
    return EXIT_USAGE;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int add_set(options *o, const char *s)
{
    const char **sets = gs_realloc(o->sets, (o->nsets + 1) * sizeof *sets);
    if (!sets)
        return -1;
    o->sets = sets;
    o->sets[o->nsets++] = s;
    return 0;
}

static int add_owned_set(options *o, const char *path, long value)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s=%ld", path, value);
    char **owned = gs_realloc(o->owned, (o->nowned + 1) * sizeof *owned);
    if (!owned)
        return -1;
    o->owned = owned;
    o->owned[o->nowned] = gs_strdup(buf);
    if (!o->owned[o->nowned])
        return -1;
    return add_set(o, o->owned[o->nowned++]);
}

static void free_options(options *o)
{
    for (size_t i = 0; i < o->nowned; i++)
        gs_free(o->owned[i]);
    gs_free(o->owned);
    gs_free(o->sets);
}

enum { OPT_SEED = 256, OPT_SET, OPT_FORMAT, OPT_NO_PLOTS, OPT_CUSTOMERS, OPT_PENDING,
       OPT_PRECISION };

/* Parse the options of cmd; returns -1 to go on, or an exit code. */
static int parse(const char *cmd, const char *usage, int wants_scenario, int argc, char **argv,
                 options *o)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"quiet", no_argument, NULL, 'q'},
        {"seed", required_argument, NULL, OPT_SEED},
        {"set", required_argument, NULL, OPT_SET},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"no-plots", no_argument, NULL, OPT_NO_PLOTS},
        {"customers", required_argument, NULL, OPT_CUSTOMERS},
        {"pending", required_argument, NULL, OPT_PENDING},
        {"precision", required_argument, NULL, OPT_PRECISION},
        {"max-replications", required_argument, NULL, OPT_PRECISION},
        {NULL, 0, NULL, 0}};
    opterr = 0;
    optind = 1;
    int c, li = -1;
    long v;
    while ((c = getopt_long(argc, argv, ":ho:r:j:q", longopts, &li)) != -1) {
        switch (c) {
        case 'h':
            fputs(usage, stdout);
            return EXIT_OK;
        case 'o':
            o->outdir = optarg;
            break;
        case 'r':
            if (parse_long(optarg, 1, 1000000, &v))
                return usage_error(cmd, "-r: expected a number of replications between 1 and "
                                   "1000000, got '%s'", optarg);
            o->replications = v;
            break;
        case 'j':
            if (parse_long(optarg, 1, 4096, &v))
                return usage_error(cmd, "-j: expected a number of threads between 1 and 4096, "
                                   "got '%s'", optarg);
            o->threads = (int)v;
            break;
        case 'q':
            o->quiet = 1;
            break;
        case OPT_SEED:
            if (parse_long(optarg, 0, 0x7fffffffffffffffL, &v))
                return usage_error(cmd, "--seed: expected an integer >= 0, got '%s'", optarg);
            o->seed = v;
            break;
        case OPT_SET:
            if (add_set(o, optarg))
                return EXIT_INTERNAL;
            break;
        case OPT_FORMAT:
            if (strcmp(optarg, "table") == 0)
                o->format = GS_FORMAT_TABLE;
            else if (strcmp(optarg, "csv") == 0)
                o->format = GS_FORMAT_CSV;
            else if (strcmp(optarg, "json") == 0)
                o->format = GS_FORMAT_JSON;
            else
                return usage_error(cmd, "--format: expected table, csv or json, got '%s'", optarg);
            break;
        case OPT_NO_PLOTS:
            /* No plots are drawn by this version, so there is nothing to skip. */
            break;
        case OPT_CUSTOMERS:
            if (parse_long(optarg, 1, 1000000000L, &o->customers))
                return usage_error(cmd, "--customers: expected a positive integer, got '%s'",
                                   optarg);
            break;
        case OPT_PENDING:
            if (parse_long(optarg, 1, 100000000L, &o->pending))
                return usage_error(cmd, "--pending: expected a positive integer, got '%s'",
                                   optarg);
            break;
        case OPT_PRECISION:
            return usage_error(cmd, "--%s: sequential stopping is not available in this "
                               "version; set simulation.replications or -r instead",
                               longopts[li].name);
        case ':':
            return usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (wants_scenario) {
        if (optind >= argc)
            return usage_error(cmd, "%s", "missing SCENARIO.yaml");
        if (optind + 1 < argc)
            return usage_error(cmd, "unexpected argument '%s' (one scenario per run)",
                               argv[optind + 1]);
        o->scenario = argv[optind];
    } else if (optind < argc) {
        return usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    }
    if (o->replications && add_owned_set(o, "simulation.replications", o->replications))
        return EXIT_INTERNAL;
    if (o->seed >= 0 && add_owned_set(o, "simulation.seed", o->seed))
        return EXIT_INTERNAL;
    return -1;
}

static int exit_for(int status)
{
    switch (status) {
    case GS_OK:
        return EXIT_OK;
    case GS_EINVAL:
        return EXIT_USAGE;
    case GS_EIO:
        return EXIT_WRITE;
    default:
        return EXIT_INTERNAL;
    }
}

static int report_error(const gs_diag *d)
{
    fprintf(stderr, "gatesim: %s\n", d->msg[0] ? d->msg : gs_strerror(d->code));
    return exit_for(d->code);
}

static int load(const options *o, gs_scenario **sc, gs_diag *d)
{
    int rc = gs_scenario_load(o->scenario, o->sets, o->nsets, sc, d);
    if (rc == GS_EIO)
        d->code = GS_EINVAL;   /* an unreadable scenario is a bad command line */
    return rc;
}

static int cmd_check(options *o)
{
    gs_diag d;
    gs_diag_init(&d);
    gs_scenario *sc;
    if (load(o, &sc, &d))
        return report_error(&d);
    int rc = gs_scenario_emit(sc, stdout);
    gs_scenario_free(sc);
    return rc ? EXIT_WRITE : EXIT_OK;
}

static int cmd_run(options *o)
{
    gs_diag d;
    gs_diag_init(&d);
    gs_scenario *sc;
    if (load(o, &sc, &d))
        return report_error(&d);
    gs_progress bar;
    gs_progress_init(&bar, sc->name, o->quiet);
    gs_results res;
    int rc = gs_replicate(sc, 0, sc->replications, o->threads,
                          bar.enabled ? gs_progress_update : NULL, &bar, &res, &d);
    gs_progress_end(&bar);
    if (rc) {
        gs_scenario_free(sc);
        return report_error(&d);
    }
    gs_summary_row *rows = NULL;
    rc = gs_report_rows(&res, sc->confidence, &rows, &d);
    char dflt[512];
    const char *dir = o->outdir;
    if (!dir) {
        snprintf(dflt, sizeof dflt, "results/%s", sc->name);
        dir = dflt;
    }
    if (rc == GS_OK)
        rc = gs_report_write(dir, sc, rows, res.nmetrics, &d);
    int code = rc ? report_error(&d) : EXIT_OK;
    if (rows && gs_report_print(stdout, o->format, sc, rows, res.nmetrics) != GS_OK) {
        fprintf(stderr, "gatesim: cannot write to standard output\n");
        code = EXIT_WRITE;
    }
    gs_free(rows);
    gs_results_release(&res);
    gs_scenario_free(sc);
    return code;
}

static int cmd_validate(options *o)
{
    gs_diag d;
    gs_diag_init(&d);
    int failed = 0;
    int rc = gs_validate(stdout, o->format, o->threads, o->quiet, &failed, &d);
    if (rc)
        return report_error(&d);
    return failed ? EXIT_WRITE : EXIT_OK;
}

static int cmd_bench(options *o)
{
    gs_diag d;
    gs_diag_init(&d);
    int rc = gs_bench(stdout, o->customers ? o->customers : 2000000,
                      o->pending ? o->pending : 1000000, &d);
    return rc ? report_error(&d) : EXIT_OK;
}

int main(int argc, char **argv)
{
    /* GSL's default handler aborts; gatesim reports errors itself. */
    gsl_set_error_handler_off();
    if (argc < 2) {
        fputs(usage_main, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_main, stdout);
        return EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("gatesim %s\n", GATESIM_VERSION);
        return EXIT_OK;
    }
    options o = {.seed = -1};
    int code;
    if (strcmp(cmd, "run") == 0) {
        code = parse(cmd, usage_run, 1, argc - 1, argv + 1, &o);
        if (code < 0)
            code = cmd_run(&o);
    } else if (strcmp(cmd, "check") == 0) {
        code = parse(cmd, usage_check, 1, argc - 1, argv + 1, &o);
        if (code < 0)
            code = cmd_check(&o);
    } else if (strcmp(cmd, "validate") == 0) {
        code = parse(cmd, usage_validate, 0, argc - 1, argv + 1, &o);
        if (code < 0)
            code = cmd_validate(&o);
    } else if (strcmp(cmd, "bench") == 0) {
        code = parse(cmd, usage_bench, 0, argc - 1, argv + 1, &o);
        if (code < 0)
            code = cmd_bench(&o);
    } else if (strcmp(cmd, "compare") == 0 || strcmp(cmd, "sweep") == 0 ||
               strcmp(cmd, "capacity") == 0 || strcmp(cmd, "plot") == 0 ||
               strcmp(cmd, "kernels") == 0) {
        fprintf(stderr, "gatesim: '%s' is not available in gatesim %s yet; see 'gatesim "
                "--help' for the commands this version has\n", cmd, GATESIM_VERSION);
        code = EXIT_USAGE;
    } else {
        fprintf(stderr, "gatesim: unknown command '%s'\n\n%s", cmd, usage_main);
        code = EXIT_USAGE;
    }
    free_options(&o);
    return code;
}
