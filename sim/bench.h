/* `gatesim bench`: the engine measured on itself. */
#ifndef GS_SIM_BENCH_H
#define GS_SIM_BENCH_H

#include <stdio.h>
#include "types.h"

/* Print key=value lines: events per second of an M/M/1 scenario with
 * `customers` customers on one thread, and the bytes per pending event of a
 * hold model with `pending` events. */
int gs_bench(FILE *out, long customers, long pending, gs_diag *d);

#endif
