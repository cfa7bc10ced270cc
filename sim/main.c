/* The gatesim command line: parse argv, call the library, map the status to
 * the exit codes of SPEC §1 (0 success, 1 results not written or validation
 * failed, 2 bad command line or scenario, 3 internal error). Nothing else
 * lives here. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <getopt.h>
#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include <sys/stat.h>

#include "analysis/archive.h"
#include "analysis/atomic.h"
#include "analysis/capacity.h"
#include "analysis/compare.h"
#include "analysis/figures.h"
#include "analysis/plot.h"
#include "analysis/report.h"
#include "analysis/sweep_report.h"
#include "analysis/validate.h"
#include "kernels/cli.h"
#include "sim/alloc.h"
#include "sim/bench.h"
#include "sim/cluster.h"
#include "sim/error.h"
#include "sim/replicate.h"
#include "sim/scenario.h"
#include "sim/sweep.h"
#include "sim/sweep_run.h"
#include "sim/warmup.h"

enum { EXIT_OK = 0, EXIT_WRITE = 1, EXIT_USAGE = 2, EXIT_INTERNAL = 3 };

typedef struct options {
    const char  *scenario;
    char       **scenarios;      /* compare: argv entries */
    size_t       nscenarios;
    double       precision;      /* 0: a fixed number of replications */
    long         max_reps;       /* with precision; 0: the default */
    const char  *outdir;
    long         replications;   /* 0: as the scenario says */
    long         seed;           /* -1: as the scenario says */
    int          threads;
    gs_format    format;
    int          quiet;
    int          no_plots;
    int          resume;
    const char **sets;
    size_t       nsets;
    char       **owned;          /* strings built for -r / --seed */
    size_t       nowned;
    long         customers;      /* bench */
    long         pending;        /* bench */
    const char  *slo;            /* capacity */
    const char  *param;          /* capacity */
    unsigned     given;          /* the OPTB_* bits of the options on the line */
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
    "  compare A.yaml B.yaml ...  scenarios side by side on common random numbers\n"
    "  bench                measure the engine (events per second, bytes per pending event)\n"
    "  sweep SWEEP.yaml     run a grid of parameter points x replications (OpenMP,\n"
    "                       MPI under mpirun or srun), resumable\n"
    "  plot RESULTS_DIR     redraw the plots of a finished run, comparison or sweep\n"
    "  kernels list|calibrate|check|bench\n"
    "                       the inference kernels and their service-time profiles\n"
    "  capacity SCENARIO.yaml --slo SLO\n"
    "                       the largest arrival rate (or value of a parameter) that\n"
    "                       meets a service-level objective\n"
    "\n"
    "Run 'gatesim COMMAND --help' for the options of a command.\n"
    "Options: --help, --version. Exit codes: 0 success, 1 results not written (or a\n"
    "validation case failed), 2 bad command line or scenario, 3 internal error.\n";

static const char *usage_run =
    "usage: gatesim run SCENARIO.yaml [OPTIONS]\n"
    "\n"
    "Simulate every replication of the scenario, print the summary to stdout and\n"
    "write summary.csv, scenario.yaml (resolved), results.h5 and plots/ under the\n"
    "output directory (docs/results.md, docs/plots.md).\n"
    "\n"
    "  -o DIR              output directory (default: results/<scenario name>/)\n"
    "  -r N                replications (overrides simulation.replications)\n"
    "  -j N                threads (default: all cores); results do not depend on it\n"
    "  --seed N            base seed (overrides simulation.seed)\n"
    "  --set PATH=VALUE    override a scenario value, e.g. components.gw.servers=16;\n"
    "                      repeatable; validated like the file\n"
    "  --precision X       add replications until every system metric's half-width\n"
    "                      is within X (relative) of its mean, e.g. 0.01\n"
    "  --max-replications N  stop there if --precision is not reached (default 1000)\n"
    "  --format FMT        stdout format: table (default), csv or json\n"
    "  --no-plots          write no plots\n"
    "  -q, --quiet         no progress bar and no note of the warm-up chosen;\n"
    "                      warnings still go to stderr\n"
    "  -h, --help          this text\n";

static const char *usage_compare =
    "usage: gatesim compare A.yaml B.yaml [C.yaml ...] [OPTIONS]\n"
    "\n"
    "Run the scenarios on common random numbers (the same seed and replication\n"
    "indices, so shared workloads and components draw the same numbers) and print\n"
    "each metric side by side with its confidence interval and the paired\n"
    "difference against the first scenario (* = significant). Writes compare.csv,\n"
    "results.h5 (every scenario), plots/ (with bar charts of the key metrics) and\n"
    "each scenario's summary.csv and scenario.yaml under the output directory.\n"
    "compare.csv's columns (docs/statistics.md): scenario, component, metric, mean,\n"
    "ci_low, ci_high, stddev, replications, then diff_mean, diff_ci_low, diff_ci_high\n"
    "(the paired difference against the first scenario, empty for the first) and\n"
    "significant (1 when that interval excludes 0).\n"
    "\n"
    "  -o DIR              output directory (default: results/compare/)\n"
    "  -r N                replications of every scenario (default: the first's)\n"
    "  -j N                threads (default: all cores); results do not depend on it\n"
    "  --seed N            base seed of every scenario (default: the first's)\n"
    "  --set PATH=VALUE    override a value in every scenario; repeatable\n"
    "  --precision X       add replications until every system metric's half-width\n"
    "                      is within X (relative) of its mean, in every scenario\n"
    "  --max-replications N  stop there if --precision is not reached (default 1000)\n"
    "  --format FMT        stdout format: table (default), csv or json\n"
    "  --no-plots          write no plots\n"
    "  -q, --quiet         no progress bar and no note of the warm-up chosen;\n"
    "                      warnings still go to stderr\n"
    "  -h, --help          this text\n";

static const char *usage_sweep =
    "usage: gatesim sweep SWEEP.yaml [OPTIONS]\n"
    "       mpirun -np N gatesim sweep SWEEP.yaml [OPTIONS]\n"
    "       srun --mpi=pmix gatesim sweep SWEEP.yaml [OPTIONS]\n"
    "\n"
    "Run every base scenario at every point of the grid, each replication one work\n"
    "item, on all local cores or, under mpirun or srun, over every MPI rank, items\n"
    "going to whoever is free. Each finished item is journaled (DIR/sweep.journal)\n"
    "so that a killed sweep resumes with --resume. Writes sweep.csv (summary\n"
    "columns plus one per parameter), sweep.h5 and plots/ (each metric against each\n"
    "parameter, one curve per base) under the output directory (docs/hpc.md).\n"
    "\n"
    "  -o DIR              output directory (default: results/<sweep name>/)\n"
    "  -r N                replications of every point (overrides the sweep file's)\n"
    "  -j N                threads per process (default: all cores; under MPI, 1 per\n"
    "                      rank unless OMP_NUM_THREADS is set); results do not\n"
    "                      depend on threads or ranks\n"
    "  --seed N            base seed of every base (default: the sweep's, else the\n"
    "                      first base's)\n"
    "  --set PATH=VALUE    override a value in every base; repeatable\n"
    "  --resume            skip the items DIR/sweep.journal holds (the sweep must be\n"
    "                      unchanged); without it the journal starts over\n"
    "  --format FMT        stdout format: table (default), csv (sweep.csv) or json\n"
    "                      (sweep.csv's rows as an array of objects)\n"
    "  --no-plots          write no plots\n"
    "  -q, --quiet         no progress bar and no timing line; warnings still go to\n"
    "                      stderr\n"
    "  -h, --help          this text\n";

static const char *usage_capacity =
    "usage: gatesim capacity SCENARIO.yaml --slo SLO [--param PATH] [OPTIONS]\n"
    "\n"
    "Find the largest arrival rate (or, with --param, the value of another numeric\n"
    "parameter) at which the SLO holds: a bracketing search from the scenario's own\n"
    "value (doubling or halving), then bisection to a 2 % gap, each point simulated\n"
    "with the scenario's replications on common random numbers. A point meets the\n"
    "SLO when every term's confidence interval is on the right side of its bound,\n"
    "fails when one is wholly on the wrong side, and is uncertain otherwise (it gets\n"
    "more replications). The answer's interval runs from the last value meeting the\n"
    "SLO with confidence to the first failing with confidence (docs/capacity.md).\n"
    "Prints every point explored and the answer; writes capacity.csv, capacity.json\n"
    "and plots/capacity-METRIC.png under the output directory.\n"
    "\n"
    "  --slo SLO           comma-separated terms METRIC OP VALUE, OP one of < <= > >=,\n"
    "                      METRIC a system metric or COMPONENT/METRIC, VALUE a time,\n"
    "                      rate or number: \"latency_p99<2s,availability>0.999\";\n"
    "                      checked before any point runs (unknown metrics, units,\n"
    "                      bounds no value can meet); latencies count answered\n"
    "                      requests only, so add an availability term (a warning\n"
    "                      says when the answer's availability is below 0.99)\n"
    "  --param PATH        the parameter, as --set names it (default: the arrival rate\n"
    "                      of the single, else first open, workload), e.g.\n"
    "                      components.gw.servers; an integer value is searched over\n"
    "                      the integers. Arrival rates and users are larger-is-harder;\n"
    "                      servers, instances, gpus, workers, consumers, partitions,\n"
    "                      kv_cache_tokens are larger-is-easier (the answer is the\n"
    "                      smallest value meeting the SLO); for other parameters the\n"
    "                      direction is read off points explored both ways\n"
    "  -o DIR              output directory (default: results/<scenario name>-capacity/)\n"
    "  -r N                replications per point (overrides simulation.replications)\n"
    "  --max-replications N  cap for uncertain points (default: 4 x the replications)\n"
    "  -j N                threads (default: all cores); results do not depend on it\n"
    "  --seed N            base seed (overrides simulation.seed)\n"
    "  --set PATH=VALUE    override a scenario value; repeatable\n"
    "  --format FMT        stdout format: table (default), csv or json\n"
    "  --no-plots          write no plots\n"
    "  -q, --quiet         no progress lines; warnings still go to stderr\n"
    "  -h, --help          this text\n";

static const char *usage_plot =
    "usage: gatesim plot RESULTS_DIR\n"
    "\n"
    "Redraw the plots of a finished run, comparison, sweep or capacity search: run\n"
    "gnuplot again on every script in RESULTS_DIR/plots (or in RESULTS_DIR itself\n"
    "when it is the plots directory), e.g. after editing a script to restyle it\n"
    "(docs/plots.md). The scripts are written by the command that made the\n"
    "results; a result made with --no-plots has none: rerun that command without\n"
    "--no-plots to get them.\n";

static const char *usage_check =
    "usage: gatesim check SCENARIO.yaml [--set PATH=VALUE]... [-r N] [--seed N]\n"
    "\n"
    "Validate the scenario and print it fully resolved, with every default filled\n"
    "in, as YAML on stdout. Nothing is simulated and nothing is written, so the\n"
    "options of run that shape output (-o, --format, -q, ...) are refused. Exit 0\n"
    "if valid, 2 if not.\n";

static const char *usage_validate =
    "usage: gatesim validate [-j N] [-q] [--format table|csv|json]\n"
    "\n"
    "Run the built-in cases that queueing theory solves exactly (M/M/1, M/M/c,\n"
    "M/D/1, M/G/1, M/M/1/K, Erlang B with lognormal service, random and round-robin\n"
    "splits, a Jackson tandem, a closed network by MVA, availability under failures\n"
    "alone and behind a checked balancer, LRU hit ratio by Che's approximation, a\n"
    "token bucket, fallback retries and timeouts, a broker's consumer group, MMPP and\n"
    "diurnal arrival rates) and print, per quantity: simulated\n"
    "mean, confidence interval, theory, relative error and verdict. Exit 0 when\n"
    "every check passes, 1 if not (docs/validation.md). Each case has its own\n"
    "fixed seed and replications, so the verdicts are reproducible: -r, --seed,\n"
    "--set and -o are refused. -q: no progress bar.\n";

static const char *usage_bench =
    "usage: gatesim bench [--customers N] [--pending N] [--format table|csv|json]\n"
    "\n"
    "Measure the engine on one thread: events per second on an M/M/1 scenario\n"
    "(lambda = 0.8, mu = 1, N customers; default 2000000) and bytes per pending event\n"
    "in a hold model with N pending events (default 1000000). Prints key=value\n"
    "lines (table, the default), one JSON object, or a CSV header and one row.\n";

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
       OPT_PRECISION, OPT_MAX_REPS, OPT_RESUME, OPT_SLO, OPT_PARAM };

/* wants_scenario: */
enum { NO_SCENARIO, ONE_SCENARIO, SCENARIOS };

/* One bit per option, in the order of opt_names, so that an option a
 * command does not use is refused rather than silently ignored. */
enum { OPTB_O, OPTB_R, OPTB_J, OPTB_Q, OPTB_SEED, OPTB_SET, OPTB_FORMAT, OPTB_NO_PLOTS,
       OPTB_CUSTOMERS, OPTB_PENDING, OPTB_PRECISION, OPTB_MAX_REPS, OPTB_RESUME, OPTB_SLO,
       OPTB_PARAM, OPTB_COUNT };
static const char *const opt_names[OPTB_COUNT] = {
    "-o", "-r", "-j", "-q", "--seed", "--set", "--format", "--no-plots", "--customers",
    "--pending", "--precision", "--max-replications", "--resume", "--slo", "--param"};
#define B(x) (1u << OPTB_##x)
#define SIM_OPTS (B(O) | B(R) | B(J) | B(Q) | B(SEED) | B(SET) | B(FORMAT) | B(NO_PLOTS))

/* What each command takes, and why it takes no more (the refusal's reason). */
static const struct cmd_opts {
    const char *cmd;
    unsigned    allowed;
    const char *why;
} cmd_opts[] = {
    {"run", SIM_OPTS | B(PRECISION) | B(MAX_REPS), NULL},
    {"compare", SIM_OPTS | B(PRECISION) | B(MAX_REPS), NULL},
    {"sweep", SIM_OPTS | B(RESUME), NULL},
    {"capacity", SIM_OPTS | B(MAX_REPS) | B(SLO) | B(PARAM), NULL},
    {"check", B(SET) | B(R) | B(SEED),
     "it prints the resolved scenario on stdout and takes --set, -r and --seed"},
    {"validate", B(J) | B(Q) | B(FORMAT),
     "its cases have fixed seeds and replications and write no files; it takes -j, -q and "
     "--format"},
    {"bench", B(CUSTOMERS) | B(PENDING) | B(FORMAT),
     "it takes --customers, --pending and --format"},
    {"plot", 0, "it takes only RESULTS_DIR"},
};
#undef SIM_OPTS
#undef B

static int option_refused(const char *cmd, const options *o)
{
    for (size_t i = 0; i < sizeof cmd_opts / sizeof cmd_opts[0]; i++) {
        if (strcmp(cmd_opts[i].cmd, cmd) != 0)
            continue;
        unsigned extra = o->given & ~cmd_opts[i].allowed;
        if (!extra)
            return 0;
        int b = 0;
        while (!(extra & (1u << b)))
            b++;
        fprintf(stderr, "gatesim %s: %s does not apply to %s", cmd, opt_names[b], cmd);
        if (cmd_opts[i].why)
            fprintf(stderr, " (%s)", cmd_opts[i].why);
        fprintf(stderr, "\nRun 'gatesim %s --help' for usage.\n", cmd);
        return 1;
    }
    return 0;
}

/* -o's value: one that looks like an option is almost always a missing
 * directory ("-o -q"), never a name the user meant. */
static int outdir_like_option(const char *cmd, const char *val)
{
    if (val[0] != '-')
        return 0;
    fprintf(stderr, "gatesim %s: -o: expected a directory, got '%s' (an option?); write ./%s "
            "for a directory of that name\nRun 'gatesim %s --help' for usage.\n", cmd, val,
            val, cmd);
    return 1;
}

#define DEFAULT_MAX_REPS 1000

/* Parse the options of cmd; returns -1 to go on, or an exit code. */
static int parse(const char *cmd, const char *usage, int wants_scenario, int argc, char **argv,
                 options *o)
{
    const char *what = strcmp(cmd, "plot") == 0    ? "RESULTS_DIR"
                       : strcmp(cmd, "sweep") == 0 ? "SWEEP.yaml"
                                                   : "SCENARIO.yaml";
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
        {"max-replications", required_argument, NULL, OPT_MAX_REPS},
        {"resume", no_argument, NULL, OPT_RESUME},
        {"slo", required_argument, NULL, OPT_SLO},
        {"param", required_argument, NULL, OPT_PARAM},
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
            if (outdir_like_option(cmd, optarg))
                return EXIT_USAGE;
            o->outdir = optarg;
            o->given |= 1u << OPTB_O;
            break;
        case 'r':
            /* The scenario's own limit, checked here so that the message
             * names -r rather than the --set it becomes. */
            if (parse_long(optarg, 1, GS_SCENARIO_MAX_REPLICATIONS, &v)) {
                fprintf(stderr, "gatesim %s: -r: must be between 1 and %ld, got '%s'\n"
                        "Run 'gatesim %s --help' for usage.\n", cmd,
                        GS_SCENARIO_MAX_REPLICATIONS, optarg, cmd);
                return EXIT_USAGE;
            }
            o->replications = v;
            o->given |= 1u << OPTB_R;
            break;
        case 'j':
            if (parse_long(optarg, 1, 4096, &v))
                return usage_error(cmd, "-j: expected a number of threads between 1 and 4096, "
                                   "got '%s'", optarg);
            o->threads = (int)v;
            o->given |= 1u << OPTB_J;
            break;
        case 'q':
            o->quiet = 1;
            o->given |= 1u << OPTB_Q;
            break;
        case OPT_SEED:
            /* simulation.seed takes the same range (a long >= 0). */
            if (parse_long(optarg, 0, LONG_MAX, &v)) {
                fprintf(stderr, "gatesim %s: --seed: expected an integer from 0 to %ld, got "
                        "'%s'\nRun 'gatesim %s --help' for usage.\n", cmd, LONG_MAX, optarg,
                        cmd);
                return EXIT_USAGE;
            }
            o->seed = v;
            o->given |= 1u << OPTB_SEED;
            break;
        case OPT_SET:
            if (add_set(o, optarg))
                return EXIT_INTERNAL;
            o->given |= 1u << OPTB_SET;
            break;
        case OPT_FORMAT:
            o->given |= 1u << OPTB_FORMAT;
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
            o->no_plots = 1;
            o->given |= 1u << OPTB_NO_PLOTS;
            break;
        case OPT_CUSTOMERS:
            o->given |= 1u << OPTB_CUSTOMERS;
            if (parse_long(optarg, 1, 1000000000L, &o->customers))
                return usage_error(cmd, "--customers: expected a positive integer, got '%s'",
                                   optarg);
            break;
        case OPT_PENDING:
            o->given |= 1u << OPTB_PENDING;
            if (parse_long(optarg, 1, 100000000L, &o->pending))
                return usage_error(cmd, "--pending: expected a positive integer, got '%s'",
                                   optarg);
            break;
        case OPT_PRECISION: {
            char *end;
            errno = 0;
            double x = strtod(optarg, &end);
            if (strcmp(cmd, "run") != 0 && strcmp(cmd, "compare") != 0)
                return usage_error(cmd, "--precision: only run and compare add "
                                   "replications%s", "");
            if (errno || end == optarg || *end || !(x > 0 && x <= 10))
                return usage_error(cmd, "--precision: expected a relative half-width > 0 and "
                                   "<= 10, e.g. 0.01 for 1 %%, got '%s'", optarg);
            o->precision = x;
            o->given |= 1u << OPTB_PRECISION;
            break;
        }
        case OPT_MAX_REPS:
            o->given |= 1u << OPTB_MAX_REPS;
            if (parse_long(optarg, 2, 1000000, &o->max_reps))
                return usage_error(cmd, "--max-replications: expected a number between 2 and "
                                   "1000000, got '%s'", optarg);
            break;
        case OPT_RESUME:
            if (strcmp(cmd, "sweep") != 0)
                return usage_error(cmd, "--resume: only a sweep resumes%s", "");
            o->resume = 1;
            o->given |= 1u << OPTB_RESUME;
            break;
        case OPT_SLO:
        case OPT_PARAM:
            if (strcmp(cmd, "capacity") != 0)
                return usage_error(cmd, "%s: only capacity takes it", argv[optind - 1]);
            /* One search has one SLO and one parameter; a second would
             * silently replace the first. */
            if (c == OPT_SLO ? o->slo != NULL : o->param != NULL)
                return usage_error(cmd, c == OPT_SLO ? "%s given twice; a search takes one "
                                   "SLO (join its terms with commas)"
                                   : "%s given twice; a search varies one parameter",
                                   c == OPT_SLO ? "--slo" : "--param");
            if (c == OPT_SLO)
                o->slo = optarg;
            else
                o->param = optarg;
            o->given |= 1u << (c == OPT_SLO ? OPTB_SLO : OPTB_PARAM);
            break;
        case ':':
            return usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (option_refused(cmd, o))
        return EXIT_USAGE;
    if (o->max_reps && o->precision == 0.0 && strcmp(cmd, "capacity") != 0)
        return usage_error(cmd, "--max-replications: only meaningful with --precision; use -r "
                           "N for a fixed number%s", "");
    if (wants_scenario == SCENARIOS) {
        if (argc - optind < 2)
            return usage_error(cmd, "%s", "give two or more scenario files to compare");
        o->scenarios = argv + optind;
        o->nscenarios = (size_t)(argc - optind);
    } else if (wants_scenario) {
        if (optind >= argc)
            return usage_error(cmd, "missing %s", what);
        if (optind + 1 < argc)
            return usage_error(cmd, strcmp(cmd, "plot") == 0
                                        ? "unexpected argument '%s' (one directory)"
                                        : "unexpected argument '%s' (one scenario per run)",
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

/* Is every system metric of every result within the precision asked for?
 * *need gets the replications the worst of them would need if its
 * half-width shrinks as 1/sqrt(n). Undefined metrics (NaN) and exact ones
 * (half-width 0) are met. */
static int precise_enough(const gs_results *res, size_t n, double confidence, double x,
                          double *need)
{
    int ok = 1;
    *need = 0;
    for (size_t s = 0; s < n; s++)
        for (size_t k = 0; k < res[s].nmetrics; k++) {
            if (strcmp(res[s].component[k], "system") != 0)
                continue;
            gs_estimate e;
            gs_estimate_compute(res[s].values + k * (size_t)res[s].nreps,
                                (size_t)res[s].nreps, confidence, &e);
            double hw = (e.ci_high - e.ci_low) / 2;
            if (!(hw > 0) || hw <= x * fabs(e.mean))
                continue;
            ok = 0;
            double ratio = hw / (x * fabs(e.mean));
            double want = (double)e.n * ratio * ratio;
            if (!(want <= 1e9))
                want = 1e9;
            if (want > *need)
                *need = want;
        }
    return ok;
}

/* Run the n scenarios, the same replication indices for all: their own
 * count, or with --precision batches of more until every system metric's
 * half-width is within the precision of its mean or --max-replications is
 * reached. */
static int simulate(const options *o, gs_scenario **sc, size_t n, gs_results *res, gs_diag *d)
{
    long have = 0, want = sc[0]->replications;
    long max = o->max_reps ? o->max_reps : DEFAULT_MAX_REPS;
    if (o->precision != 0.0 && want < 2)
        want = 2;
    if (o->precision != 0.0 && want > max)
        want = max;
    memset(res, 0, n * sizeof *res);
    for (;;) {
        for (size_t s = 0; s < n; s++) {
            gs_progress bar;
            char label[160];
            snprintf(label, sizeof label, "%s%s", sc[s]->name, have ? " (more)" : "");
            gs_progress_init(&bar, label, o->quiet);
            gs_results more;
            int rc = gs_replicate_traced(sc[s], have, want - have, o->threads,
                                         bar.enabled ? gs_progress_update : NULL, &bar, &more, d);
            gs_progress_end(&bar);
            if (rc == GS_OK && have)
                rc = gs_results_append(&res[s], &more, d);
            if (have)
                gs_results_release(&more);
            else if (rc == GS_OK)
                res[s] = more;
            if (rc)
                return rc;
            /* -q silences the plain note of the warm-up chosen, never a
             * warning about it. */
            char note[320];
            if (!have && gs_warmup_note(sc[s], note, sizeof note) &&
                (!o->quiet || strncmp(note, "warning:", 8) == 0))
                fprintf(stderr, "gatesim: %s: %s\n", sc[s]->name, note);
        }
        have = want;
        double need;
        if (o->precision == 0.0 || have >= max ||
            precise_enough(res, n, sc[0]->confidence, o->precision, &need))
            break;
        /* Aim a little past the estimate, which is itself noisy, and at most
         * double per step so that one wild estimate cannot overshoot far. */
        double next = ceil(need * 1.1);
        if (next > 2.0 * (double)have)
            next = 2.0 * (double)have;
        want = next > (double)have ? (long)next : have + 1;
        if (want > max)
            want = max;
    }
    /* A warning, which -q (no progress bar) does not silence. */
    if (o->precision != 0.0) {
        double need;
        if (!precise_enough(res, n, sc[0]->confidence, o->precision, &need))
            fprintf(stderr, "gatesim: warning: precision %g not reached after %ld replications "
                    "(--max-replications); about %.0f would be needed\n", o->precision, have,
                    need);
    }
    return GS_OK;
}

static const char *output_dir(const options *o, const char *name, char *buf, size_t size)
{
    if (o->outdir)
        return o->outdir;
    snprintf(buf, size, "results/%s", name);
    return buf;
}

/* An output directory that cannot be written is found before the
 * simulation rather than after it (exit 1, as for any result that cannot be
 * written). */
static int output_unwritable(const char *dir, gs_diag *d)
{
    if (gs_dir_writable(dir, d) == GS_OK)
        return 0;
    fprintf(stderr, "gatesim: %s\n", d->msg);
    return 1;
}

/* The plots of the results into DIR/plots, unless --no-plots. A missing
 * gnuplot is reported (exit 1) with the other results already written. */
static int draw(const options *o, const char *dir, gs_scenario **sc, const gs_results *res,
                size_t n)
{
    if (o->no_plots)
        return EXIT_OK;
    char plots[1024];
    snprintf(plots, sizeof plots, "%s/plots", dir);
    gs_diag d;
    gs_diag_init(&d);
    int rc = gs_figures_write(plots, sc, res, n, &d);
    if (rc == GS_OK)
        return EXIT_OK;
    fprintf(stderr, "gatesim: %s\n", d.msg[0] ? d.msg : gs_strerror(rc));
    return rc == GS_PLOT_ENOGNUPLOT || rc == GS_EIO ? EXIT_WRITE : exit_for(rc);
}

static int archive(const char *dir, gs_scenario **sc, const gs_results *res, size_t n,
                   gs_diag *d)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/results.h5", dir);
    return gs_archive_write(path, sc, res, n, d);
}

/* Warnings, never silenced by -q: numbers of an overloaded system, or a
 * tail percentile resting on a handful of requests, look as plausible as
 * any others. */
static void result_warnings(const gs_scenario *sc, const gs_summary_row *rows, size_t n)
{
    char msg[640];
    if (gs_report_saturation(sc, rows, n, msg, sizeof msg))
        fprintf(stderr, "gatesim: warning: %s: %s\n", sc->name, msg);
    if (gs_report_tail(sc, rows, n, msg, sizeof msg))
        fprintf(stderr, "gatesim: warning: %s: %s\n", sc->name, msg);
}

static int cmd_run(options *o)
{
    gs_diag d;
    gs_diag_init(&d);
    gs_scenario *sc;
    if (load(o, &sc, &d))
        return report_error(&d);
    char dflt[512];
    const char *dir = output_dir(o, sc->name, dflt, sizeof dflt);
    if (output_unwritable(dir, &d)) {
        gs_scenario_free(sc);
        return EXIT_WRITE;
    }
    gs_results res;
    int rc = simulate(o, &sc, 1, &res, &d);
    if (rc) {
        gs_scenario_free(sc);
        return report_error(&d);
    }
    gs_summary_row *rows = NULL;
    rc = gs_report_rows(&res, sc->confidence, &rows, &d);
    if (rc == GS_OK)
        result_warnings(sc, rows, res.nmetrics);
    if (rc == GS_OK)
        rc = gs_report_write(dir, sc, rows, res.nmetrics, &d);
    if (rc == GS_OK)
        rc = archive(dir, &sc, &res, 1, &d);
    int code = rc ? report_error(&d) : draw(o, dir, &sc, &res, 1);
    if (rows && gs_report_print(stdout, o->format, sc, rows, res.nmetrics) != GS_OK) {
        fprintf(stderr, "gatesim: cannot write to standard output\n");
        code = EXIT_WRITE;
    }
    gs_free(rows);
    gs_results_release(&res);
    gs_scenario_free(sc);
    return code;
}

typedef struct compare_args {
    const char *const    *names;
    const gs_compare_row *rows;
    size_t                n;
} compare_args;

static int compare_body(FILE *f, const void *arg)
{
    const compare_args *a = arg;
    return gs_compare_write_csv(f, a->names, a->rows, a->n);
}

/* Load the scenarios of a comparison. The second and later run on the first
 * one's seed and replication count (unless --seed or -r fixed them for
 * all), so that replication i of each draws the same random numbers. */
static int load_all(options *o, gs_scenario **sc, gs_diag *d)
{
    size_t base_sets = o->nsets;
    for (size_t s = 0; s < o->nscenarios; s++) {
        o->scenario = o->scenarios[s];
        o->nsets = base_sets;
        if (s > 0) {
            if (o->seed < 0 && add_owned_set(o, "simulation.seed", (long)sc[0]->seed))
                return gs_error(d, GS_ENOMEM, "out of memory");
            if (!o->replications &&
                add_owned_set(o, "simulation.replications", sc[0]->replications))
                return gs_error(d, GS_ENOMEM, "out of memory");
        }
        int rc = load(o, &sc[s], d);
        o->nsets = base_sets;
        if (rc)
            return rc;
        for (size_t t = 0; t < s; t++)
            if (strcmp(sc[t]->name, sc[s]->name) == 0)
                return gs_error(d, GS_EINVAL, "%s and %s are both named '%s'; scenarios "
                                "compared need different names (set 'name:' in one of "
                                "them)", sc[t]->path, sc[s]->path, sc[s]->name);
    }
    return GS_OK;
}

static int cmd_compare(options *o)
{
    gs_diag d;
    gs_diag_init(&d);
    size_t n = o->nscenarios;
    gs_scenario **sc = gs_calloc(n, sizeof *sc);
    gs_results *res = gs_calloc(n, sizeof *res);
    const char **names = gs_calloc(n, sizeof *names);
    gs_compare_row *rows = NULL;
    size_t nrows = 0;
    int code = EXIT_OK, rc;
    if (!sc || !res || !names) {
        rc = gs_error(&d, GS_ENOMEM, "out of memory");
        goto out;
    }
    char dflt[512];
    const char *dir = output_dir(o, "compare", dflt, sizeof dflt);
    if ((rc = load_all(o, sc, &d)))
        goto out;
    if (output_unwritable(dir, &d)) {
        code = EXIT_WRITE;
        goto out;
    }
    if ((rc = simulate(o, sc, n, res, &d)))
        goto out;
    for (size_t s = 0; s < n; s++)
        names[s] = sc[s]->name;
    if ((rc = gs_compare_rows(res, n, sc[0]->confidence, &rows, &nrows, &d)))
        goto out;
    /* Each scenario's own summary beside the comparison. */
    for (size_t s = 0; s < n && rc == GS_OK; s++) {
        gs_summary_row *srows = NULL;
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/%s", dir, names[s]);
        rc = gs_report_rows(&res[s], sc[s]->confidence, &srows, &d);
        if (rc == GS_OK)
            result_warnings(sc[s], srows, res[s].nmetrics);
        if (rc == GS_OK)
            rc = gs_report_write(sub, sc[s], srows, res[s].nmetrics, &d);
        gs_free(srows);
    }
    if (rc == GS_OK) {
        compare_args a = {names, rows, nrows};
        rc = gs_report_write_file(dir, "compare.csv", compare_body, &a, &d);
    }
    if (rc == GS_OK)
        rc = archive(dir, sc, res, n, &d);
    code = rc ? report_error(&d) : draw(o, dir, sc, res, n);
    int prc = o->format == GS_FORMAT_CSV    ? gs_compare_write_csv(stdout, names, rows, nrows)
              : o->format == GS_FORMAT_JSON ? gs_compare_print_json(stdout, names,
                                                                    res[0].nreps,
                                                                    sc[0]->confidence, rows,
                                                                    nrows)
                                            : gs_compare_print_table(stdout, names, n,
                                                                     res[0].nreps,
                                                                     sc[0]->confidence, rows,
                                                                     nrows);
    if (prc != GS_OK) {
        fprintf(stderr, "gatesim: cannot write to standard output\n");
        code = EXIT_WRITE;
    }
    rc = GS_OK;
out:
    if (rc)
        code = report_error(&d);
    gs_free(rows);
    if (res)
        for (size_t s = 0; s < n; s++)
            gs_results_release(&res[s]);
    if (sc)
        for (size_t s = 0; s < n; s++)
            if (sc[s])
                gs_scenario_free(sc[s]);
    gs_free(res);
    gs_free(sc);
    gs_free(names);
    return code;
}

/* Point p's parameters as "path=text, ..." (last path segments). */
static void point_label(const gs_sweep *sw, size_t p, char *buf, size_t size)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < sw->nparams && off < size; k++) {
        const char *seg = strrchr(sw->param[k], '.');
        seg = seg ? seg + 1 : sw->param[k];
        int w = snprintf(buf + off, size - off, "%s%s=%s", k ? ", " : "", seg,
                         sw->text_of[p * sw->nparams + k]);
        if (w < 0)
            break;
        off += (size_t)w;
    }
}

/* The human table of a sweep: per base and point, the system's key
 * metrics with their half-widths. */
static int print_sweep_table(FILE *f, const gs_sweep *sw, const gs_sweep_outcome *out,
                             double confidence)
{
    static const char *const key[] = {"latency_mean", "latency_p99", "throughput",
                                      "availability"};
    enum { NKEY = sizeof key / sizeof key[0] };
    for (size_t b = 0; b < sw->nbases; b++) {
        const gs_sweep_data *bd = &out->base[b];
        long nrep = sw->bases[b].nrep;
        fprintf(f, "%sbase: %s (%ld replications per point, %.0f%% CI half-widths)\n\n",
                b ? "\n" : "", sw->bases[b].name, nrep, 100 * confidence);
        fprintf(f, "  %-40s", "point");
        for (int k = 0; k < NKEY; k++)
            fprintf(f, "  %-22s", key[k]);
        fputc('\n', f);
        for (size_t p = 0; p < sw->npoints; p++) {
            char label[256];
            point_label(sw, p, label, sizeof label);
            fprintf(f, "  %-40s", label);
            for (int k = 0; k < NKEY; k++) {
                size_t m = 0;
                while (m < bd->nmetrics && (strcmp(bd->component[m], "system") != 0 ||
                                            strcmp(bd->metric[m], key[k]) != 0))
                    m++;
                char cell[80] = "-";
                if (m < bd->nmetrics) {
                    double *x = gs_malloc((size_t)nrep * sizeof *x);
                    if (!x)
                        return GS_ENOMEM;
                    for (long r = 0; r < nrep; r++)
                        x[r] = bd->values[((size_t)p * (size_t)nrep + (size_t)r) *
                                              bd->nmetrics + m];
                    gs_estimate e;
                    gs_estimate_compute(x, (size_t)nrep, confidence, &e);
                    gs_free(x);
                    char v[32], h[32];
                    gs_summary_format_value(v, sizeof v, key[k], e.mean, e.mean);
                    gs_summary_format_value(h, sizeof h, key[k], (e.ci_high - e.ci_low) / 2,
                                            e.mean);
                    snprintf(cell, sizeof cell, "%s +/- %s", v, h);
                }
                fprintf(f, "  %-22s", cell);
            }
            fputc('\n', f);
        }
    }
    return fflush(f) || ferror(f) ? GS_EIO : GS_OK;
}

static int sweep_csv_body(FILE *f, const void *arg)
{
    return gs_sweep_report_csv(f, arg);
}

/* A bench value as JSON: the number it holds, else the text as a string. */
static void json_value(FILE *f, const char *text)
{
    char *end;
    double v = strtod(text, &end);
    if (*text && !*end)
        gs_summary_json_number(f, v);
    else
        gs_summary_json_string(f, text);
}

static int cmd_sweep(options *o, int *argc, char ***argv)
{
    gs_diag d;
    gs_diag_init(&d);
    int rc = gs_cluster_start(argc, argv, &d);
    if (rc)
        return report_error(&d);
    int rank = gs_cluster_rank(), size = gs_cluster_size();
    int threads = o->threads;
    if (threads <= 0)
        threads = size > 1 && !getenv("OMP_NUM_THREADS") ? 1 : omp_get_max_threads();
    /* -r and --seed go to the sweep, which gives them precedence over its
     * file; parse() appended them to the sets. */
    size_t nuser = o->nsets - o->nowned;
    gs_sweep *sw = NULL;
    gs_sweep_outcome out;
    memset(&out, 0, sizeof out);
    int code = EXIT_OK;
    rc = gs_sweep_load(o->scenario, o->sets, nuser, o->replications, o->seed, threads, &sw, &d);
    char dflt[512], journal[1100];
    const char *dir = NULL;
    if (rc == GS_OK) {
        dir = output_dir(o, sw->name, dflt, sizeof dflt);
        snprintf(journal, sizeof journal, "%s/sweep.journal", dir);
        if (rank == 0)
            rc = gs_mkdir_p(dir, &d);
    }
    gs_progress bar;
    char label[300];
    if (rc == GS_OK) {
        snprintf(label, sizeof label, "sweep %s", sw->name);
        gs_progress_init(&bar, label, o->quiet || rank != 0);
        bar.unit = "items";
        if (size > 1 && rank == 0 && !o->quiet && !bar.enabled) {
            /* Under mpirun or srun rank 0's stderr is a pipe to the launcher,
             * which shows it on a terminal or in the job's log: a line every
             * 10 s serves both. */
            bar.enabled = 1;
            bar.every = 10;
        }
        gs_sweep_run_opts ro = {threads, rank == 0 ? journal : NULL, o->resume,
                                bar.enabled ? gs_progress_update : NULL, &bar};
        rc = gs_sweep_run(sw, &ro, &out, &d);
        gs_progress_end(&bar);
    }
    if (rank != 0) {
        /* Rank 0 reports for everyone. */
        code = exit_for(rc);
        goto out;
    }
    if (rc) {
        code = report_error(&d);
        goto out;
    }
    if (!o->quiet)
        fprintf(stderr, "gatesim: sweep %s: %ld items (%ld from the journal) in %.2f s: %.3g "
                "items/s on %d rank%s x %d thread%s\n", sw->name, sw->nitems, out.resumed,
                out.wall_s, out.wall_s > 0 ? (double)out.ran / out.wall_s : 0.0, size,
                size == 1 ? "" : "s", out.threads, out.threads == 1 ? "" : "s");
    {
        gs_sweep_base_result *br = gs_calloc(sw->nbases, sizeof *br);
        if (!br) {
            code = report_error(&(gs_diag){GS_ENOMEM, "out of memory"});
            goto out;
        }
        for (size_t b = 0; b < sw->nbases; b++)
            br[b] = (gs_sweep_base_result){
                sw->bases[b].name, sw->bases[b].yaml, (size_t)sw->bases[b].nrep,
                out.base[b].nmetrics, (const char *const *)out.base[b].component,
                (const char *const *)out.base[b].metric, out.base[b].values};
        gs_sweep_result res = {sw->name, sw->text, sw->bases[0].confidence, sw->nparams,
                               sw->param, sw->param_unit, sw->npoints,
                               (const char *const *)sw->text_of, sw->num, sw->nbases, br,
                               sw->nplot, sw->plot};
        rc = gs_sweep_report_write(dir, &res, !o->no_plots, &d);
        if (rc == GS_EINVAL) {
            /* Only a plotted metric can be wrong this late: place it. */
            gs_diag pd;
            gs_diag_init(&pd);
            gs_error_at(&pd, gs_map_get(gs_doc_root(sw->doc), "plots"), "plots: %s (sweep.csv "
                        "and sweep.h5 are written)", d.msg);
            d = pd;
        }
        if (rc) {
            fprintf(stderr, "gatesim: %s\n", d.msg[0] ? d.msg : gs_strerror(rc));
            code = rc == GS_PLOT_ENOGNUPLOT || rc == GS_EIO ? EXIT_WRITE : exit_for(rc);
        }
        int prc = o->format == GS_FORMAT_CSV    ? sweep_csv_body(stdout, &res)
                  : o->format == GS_FORMAT_JSON ? gs_sweep_report_json(stdout, &res)
                                                : print_sweep_table(stdout, sw, &out,
                                                                    sw->bases[0].confidence);
        if (prc != GS_OK) {
            fprintf(stderr, "gatesim: cannot write to standard output\n");
            code = EXIT_WRITE;
        }
        gs_free(br);
    }
out:
    if (sw)
        gs_sweep_outcome_release(sw, &out);
    gs_sweep_free(sw);
    gs_cluster_stop();
    return code;
}

static int cmd_plot(options *o)
{
    gs_diag d;
    gs_diag_init(&d);
    /* A results directory holds plots/; a plots directory is taken as is. */
    char plots[1024];
    snprintf(plots, sizeof plots, "%s/plots", o->scenario);
    struct stat stbuf;
    const char *dir = stat(plots, &stbuf) == 0 && S_ISDIR(stbuf.st_mode) ? plots : o->scenario;
    if (stat(dir, &stbuf) != 0 || !S_ISDIR(stbuf.st_mode)) {
        fprintf(stderr, "gatesim plot: %s: no such results directory\n", o->scenario);
        return EXIT_USAGE;
    }
    int rc = gs_plot_redraw(dir, &d);
    if (rc == GS_OK)
        return EXIT_OK;
    if (rc == GS_EINVAL) {
        /* No scripts: the plots' data lives only in them, so nothing can be
         * drawn here; the command that made the results draws them. */
        fprintf(stderr, "gatesim plot: %s has no plot scripts (*.gp); a result made with "
                "--no-plots has none: rerun the command that made it without --no-plots\n",
                dir);
        return EXIT_USAGE;
    }
    fprintf(stderr, "gatesim: %s\n", d.msg[0] ? d.msg : gs_strerror(rc));
    return EXIT_WRITE;
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

/* The bench's key=value text as one flat JSON object (numbers as numbers)
 * or as a CSV header and one row, the same keys in the same order. */
static int print_bench(FILE *f, gs_format fmt, char *text)
{
    char *save = NULL;
    int n = 0;
    if (fmt == GS_FORMAT_JSON) {
        fputc('{', f);
        for (char *t = strtok_r(text, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
            char *eq = strchr(t, '=');
            if (!eq)
                continue;
            *eq = '\0';
            fputs(n++ ? ",\n  " : "\n  ", f);
            gs_summary_json_string(f, t);
            fputs(": ", f);
            /* A version such as 1.0 is a name, not the number 1. */
            if (strcmp(t, "version") == 0)
                gs_summary_json_string(f, eq + 1);
            else
                json_value(f, eq + 1);
        }
        fputs(n ? "\n}\n" : "}\n", f);
    } else {
        /* Two passes over the pairs: the keys, then the values. */
        size_t len = strlen(text);
        for (int pass = 0; pass < 2; pass++) {
            n = 0;
            for (size_t i = 0; i < len;) {
                size_t j = i + strcspn(text + i, " \n");
                char *eq = memchr(text + i, '=', j - i);
                if (eq) {
                    const char *from = pass ? eq + 1 : text + i;
                    size_t w = pass ? (size_t)(text + j - (eq + 1)) : (size_t)(eq - (text + i));
                    fprintf(f, "%s%.*s", n++ ? "," : "", (int)w, from);
                }
                i = j + (j < len);
            }
            fputc('\n', f);
        }
    }
    return fflush(f) || ferror(f) ? GS_EIO : GS_OK;
}

static int cmd_bench(options *o)
{
    gs_diag d;
    gs_diag_init(&d);
    long customers = o->customers ? o->customers : 2000000;
    long pending = o->pending ? o->pending : 1000000;
    if (o->format == GS_FORMAT_TABLE) {
        int rc = gs_bench(stdout, customers, pending, &d);
        return rc ? report_error(&d) : EXIT_OK;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m)
        return report_error(&(gs_diag){GS_ENOMEM, "out of memory"});
    int rc = gs_bench(m, customers, pending, &d);
    if (fclose(m) != 0 && rc == GS_OK)
        rc = gs_error(&d, GS_ENOMEM, "out of memory");
    int code = rc ? report_error(&d) : EXIT_OK;
    if (rc == GS_OK && print_bench(stdout, o->format, text) != GS_OK) {
        fprintf(stderr, "gatesim: cannot write to standard output\n");
        code = EXIT_WRITE;
    }
    free(text);
    return code;
}

/* A progress line per point explored, on stderr. */
static void capacity_point(void *arg, const gs_capacity_result *r, const gs_capacity_point *p)
{
    (void)arg;
    fprintf(stderr, "gatesim: capacity: point %d: %s = %.6g (%ld replications): %s\n", p->step,
            r->param, p->x, p->nreps, gs_capacity_verdict_name(p->verdict));
}

static int cmd_capacity(options *o)
{
    gs_diag d;
    gs_diag_init(&d);
    if (!o->slo)
        return usage_error("capacity", "%s", "--slo is required, e.g. --slo "
                           "\"latency_p99<2s,availability>0.999\"");
    gs_slo slo;
    int rc = gs_slo_parse(o->slo, &slo, &d);
    if (rc) {
        gs_slo_release(&slo);
        return usage_error("capacity", "%s", d.msg);
    }
    gs_capacity_opts co = {.path = o->scenario, .sets = o->sets, .nsets = o->nsets,
                           .param = o->param, .slo = &slo, .max_reps = o->max_reps,
                           .threads = o->threads,
                           .on_point = o->quiet ? NULL : capacity_point};
    gs_capacity_result r;
    int code = EXIT_OK;
    /* The directory's name waits for the scenario's; without -o it goes
     * under results/. */
    if (output_unwritable(o->outdir ? o->outdir : "results", &d)) {
        gs_slo_release(&slo);
        return EXIT_WRITE;
    }
    rc = gs_capacity_search(&co, &r, &d);
    if (rc) {
        code = report_error(&d);
        goto out;
    }
    char warning[1024];
    if (gs_capacity_warning(&r, &slo, warning, sizeof warning))
        fprintf(stderr, "gatesim: warning: capacity: %s\n", warning);
    char dflt[512], name[300];
    snprintf(name, sizeof name, "%s-capacity", r.scenario);
    const char *dir = output_dir(o, name, dflt, sizeof dflt);
    rc = gs_capacity_write(dir, &r, &slo, !o->no_plots, &d);
    if (rc) {
        fprintf(stderr, "gatesim: %s\n", d.msg[0] ? d.msg : gs_strerror(rc));
        code = rc == GS_PLOT_ENOGNUPLOT || rc == GS_EIO ? EXIT_WRITE : exit_for(rc);
    }
    int prc = o->format == GS_FORMAT_CSV    ? gs_capacity_print_csv(stdout, &r, &slo)
              : o->format == GS_FORMAT_JSON ? gs_capacity_print_json(stdout, &r, &slo)
                                            : gs_capacity_print_table(stdout, &r, &slo);
    if (prc != GS_OK) {
        fprintf(stderr, "gatesim: cannot write to standard output\n");
        code = EXIT_WRITE;
    }
out:
    gs_capacity_result_release(&r, &slo);
    gs_slo_release(&slo);
    return code;
}

/* Does --version appear among the options (before a "--")? Every command
 * answers it the same way, whatever else is on the line. */
static int asks_version(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--version") == 0)
            return 1;
    return 0;
}

static int dispatch(int argc, char **argv);

/* "gatesim help COMMAND [SUB]": the command's own --help. */
static int help_for(int argc, char **argv)
{
    char **av = gs_calloc((size_t)argc + 1, sizeof *av);
    if (!av) {
        fprintf(stderr, "gatesim: out of memory\n");
        return EXIT_INTERNAL;
    }
    av[0] = argv[0];
    for (int i = 2; i < argc; i++)
        av[i - 1] = argv[i];
    static char help_opt[] = "--help";
    av[argc - 1] = help_opt;
    int code = dispatch(argc, av);
    gs_free(av);
    return code;
}

int main(int argc, char **argv)
{
    /* GSL's default handler aborts; gatesim reports errors itself. */
    gsl_set_error_handler_off();
    if (argc < 2) {
        fputs(usage_main, stderr);
        return EXIT_USAGE;
    }
    if (asks_version(argc, argv) || strcmp(argv[1], "version") == 0) {
        printf("gatesim %s\n", GATESIM_VERSION);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "help") == 0 && argc > 2)
        return help_for(argc, argv);
    return dispatch(argc, argv);
}

static int dispatch(int argc, char **argv)
{
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_main, stdout);
        return EXIT_OK;
    }
    options o = {.seed = -1};
    int code;
    if (strcmp(cmd, "run") == 0) {
        code = parse(cmd, usage_run, ONE_SCENARIO, argc - 1, argv + 1, &o);
        if (code < 0)
            code = cmd_run(&o);
    } else if (strcmp(cmd, "check") == 0) {
        code = parse(cmd, usage_check, ONE_SCENARIO, argc - 1, argv + 1, &o);
        if (code < 0)
            code = cmd_check(&o);
    } else if (strcmp(cmd, "validate") == 0) {
        code = parse(cmd, usage_validate, NO_SCENARIO, argc - 1, argv + 1, &o);
        if (code < 0)
            code = cmd_validate(&o);
    } else if (strcmp(cmd, "bench") == 0) {
        code = parse(cmd, usage_bench, NO_SCENARIO, argc - 1, argv + 1, &o);
        if (code < 0)
            code = cmd_bench(&o);
    } else if (strcmp(cmd, "compare") == 0) {
        code = parse(cmd, usage_compare, SCENARIOS, argc - 1, argv + 1, &o);
        if (code < 0)
            code = cmd_compare(&o);
    } else if (strcmp(cmd, "plot") == 0) {
        code = parse(cmd, usage_plot, ONE_SCENARIO, argc - 1, argv + 1, &o);
        if (code < 0)
            code = cmd_plot(&o);
    } else if (strcmp(cmd, "kernels") == 0) {
        code = gs_kernels_main(argc - 1, argv + 1);
    } else if (strcmp(cmd, "sweep") == 0) {
        code = parse(cmd, usage_sweep, ONE_SCENARIO, argc - 1, argv + 1, &o);
        if (code < 0)
            code = cmd_sweep(&o, &argc, &argv);
    } else if (strcmp(cmd, "capacity") == 0) {
        code = parse(cmd, usage_capacity, ONE_SCENARIO, argc - 1, argv + 1, &o);
        if (code < 0)
            code = cmd_capacity(&o);
    } else {
        fprintf(stderr, "gatesim: unknown command '%s'\n\n%s", cmd, usage_main);
        code = EXIT_USAGE;
    }
    free_options(&o);
    return code;
}
