/* RtComm over MPI (Open MPI): a process started by mpirun or srun joins MPI_COMM_WORLD. Linked
 * into the smelt CLI and into trainers built with `smelt build --mpi`; nothing else depends on
 * MPI. */
#ifndef SMELT_RT_MPI_H
#define SMELT_RT_MPI_H

#include <stdbool.h>

#include "runtime/rt_comm.h"

/* Whether this process was started by an MPI launcher (mpirun, mpiexec, srun with PMI/PMIx), from
 * the environment the launcher sets, and SMELT_MPI is not "off" (`smelt tune` sets it for the
 * experiments it runs as child processes). */
bool rt_mpi_launched(void);

/* Processes of this MPI job on this host, which share its cores (the launcher's
 * OMPI_COMM_WORLD_LOCAL_SIZE, or SLURM_NTASKS_PER_NODE; 1 when neither is set). */
int rt_mpi_host_processes(void);

/* Initialises MPI (once per process) and fills *c with MPI_COMM_WORLD: rank, size, hosts and the
 * collectives. */
void rt_mpi_start(RtComm *c);

/* Ends MPI at exit: normally when ok or when every process knows of the failure
 * (c->failed_together), otherwise by aborting the job, so that no process waits forever in a
 * collective for one that gave up. Returns only in the first case. */
void rt_mpi_finish(const RtComm *c, bool ok);

#endif
