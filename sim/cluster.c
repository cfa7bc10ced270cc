/* MPI start and stop for sweeps; see cluster.h. The launchers are told
 * apart by the variables they set: Open MPI's mpirun (OMPI_COMM_WORLD_SIZE),
 * PMIx-based launchers such as srun --mpi=pmix (PMIX_RANK), and PMI-1/2
 * ones (PMI_SIZE). */
#include "cluster.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

#ifdef GS_HAVE_MPI
#include <mpi.h>
#endif

static int rank, size = 1, serialized = 1;
#ifdef GS_HAVE_MPI
static int started;
#endif

#ifdef GS_HAVE_MPI
static int launched(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_SIZE");
}
#endif

int gs_cluster_start(int *argc, char ***argv, gs_diag *d)
{
#ifdef GS_HAVE_MPI
    if (!started && launched()) {
        int provided;
        if (MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
            return gs_error(d, GS_EINTERNAL, "MPI_Init_thread failed");
        started = 1;
        serialized = provided >= MPI_THREAD_SERIALIZED;
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
    }
#else
    (void)argc;
    (void)argv;
#endif
    const char *ntasks = getenv("SLURM_STEP_NUM_TASKS");
    if (ntasks && atol(ntasks) > 1 && size == 1)
        return gs_error(d, GS_EINVAL, "started as %s Slurm tasks, but %s; each task would run "
                        "the whole sweep and write the same files. Launch with 'srun "
                        "--mpi=pmix' (or mpirun inside the allocation)%s", ntasks,
                        gs_cluster_built_with_mpi() ? "MPI sees one process"
                                                    : "this gatesim was built without MPI",
                        gs_cluster_built_with_mpi() ? "" : ", after building with MPI "
                        "(libopenmpi-dev; docs/hpc.md)");
    return GS_OK;
}

int gs_cluster_rank(void)
{
    return rank;
}

int gs_cluster_size(void)
{
    return size;
}

int gs_cluster_serialized(void)
{
    return serialized;
}

int gs_cluster_built_with_mpi(void)
{
#ifdef GS_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

void gs_cluster_stop(void)
{
#ifdef GS_HAVE_MPI
    if (started) {
        MPI_Finalize();
        started = 0;
    }
#endif
}
