/* `gatesim kernels ...`: the command line of the inference kernels. */
#ifndef GS_KERNELS_CLI_H
#define GS_KERNELS_CLI_H

/* Run `gatesim kernels SUBCOMMAND [OPTIONS]`; argv[0] is "kernels" and
 * argv[1] the subcommand (list, calibrate, check, bench, or --help). Prints
 * its own results and messages, and returns the exit code: 0 success, 1 a
 * run-time or file failure (or `check` found a disagreement), 2 bad usage or
 * input with a message, 77 `check` had no GPU to check (skipped). */
int gs_kernels_main(int argc, char **argv);

#endif
