/* `gatesim validate`: the built-in cases that queueing theory solves
 * exactly, simulated and compared with their theory. */
#ifndef GS_ANALYSIS_VALIDATE_H
#define GS_ANALYSIS_VALIDATE_H

#include <stdio.h>
#include "analysis/report.h"

/* Run every case on `threads` threads (<= 0: all cores) and print one line
 * per checked quantity to out. *failed is the number of quantities whose
 * verdict is FAIL. GS_OK unless the suite itself could not run. */
int gs_validate(FILE *out, gs_format fmt, int threads, int quiet, int *failed, gs_diag *d);

#endif
