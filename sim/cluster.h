/* The processes of a sweep: one, or the ranks of an MPI job started by
 * mpirun or srun (SPEC §6). Built without MPI, there is always one.
 *
 * MPI is started only when a launcher started this process (its
 * environment says so), so that a plain `gatesim sweep` never pays for
 * MPI, and only by the commands that spread work (sweep). */
#ifndef GS_SIM_CLUSTER_H
#define GS_SIM_CLUSTER_H

#include "types.h"

/* Start MPI if this process was launched as a rank of a job (and gatesim
 * was built with MPI), asking for MPI_THREAD_SERIALIZED. GS_EINVAL with a
 * message when Slurm started several tasks but MPI sees one process (srun
 * without --mpi=pmix, or a build without MPI): each would run the whole
 * sweep and write the same files. */
int gs_cluster_start(int *argc, char ***argv, gs_diag *d);

/* This process's rank and the number of ranks (0 and 1 without MPI). */
int gs_cluster_rank(void);
int gs_cluster_size(void);

/* 1 when any thread may call MPI one at a time (MPI_THREAD_SERIALIZED or
 * better); 0 when only the main thread may. */
int gs_cluster_serialized(void);

/* 1 when gatesim was built with MPI. */
int gs_cluster_built_with_mpi(void);

/* Finalize MPI if it was started. Safe to call twice. */
void gs_cluster_stop(void);

#endif
