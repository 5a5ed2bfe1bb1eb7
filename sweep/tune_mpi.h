/* A sweep over MPI ranks (`mpirun -np N smelt tune`): rank 0 runs the sweep (tune_sched.c) and
 * hands runs out to every rank, itself included, as slots free up; ranks 1..N-1 are workers that
 * train each run they are given in a child process (as rank 0 does with its own) inside a
 * scratch folder of their host, and mirror that folder's files to rank 0 over MPI as they change
 * (metrics, logs, checkpoints), so that OUT on rank 0 holds every run exactly as a sweep on one
 * machine lays it out, without a shared filesystem. A resumed run's files go from rank 0 to the
 * worker first. Ranks talk every second; a rank silent for longer than the timeout
 * ($SMELT_MPI_TIMEOUT seconds, default 60) is lost: its runs fail with that reason, or are
 * re-queued from their last mirrored checkpoint while --retries allows. Once the workers have
 * said hello (after preparing their data), rank 0 never waits on a lost rank, so the sweep
 * finishes (mpirun must let it live on: --enable-recovery). A worker that is sent SIGINT or
 * SIGTERM stops its trainers and leaves; rank 0 counts it lost. */
#ifndef SMELT_SWEEP_TUNE_MPI_H
#define SMELT_SWEEP_TUNE_MPI_H

#include <stdbool.h>

#include "runtime/rt_comm.h"
#include "sweep/tune_sweep.h"

/* Rank 0's view of the workers. */
typedef struct TuneRanks TuneRanks;

/* The workers of comm (rank 0 only), each running up to `jobs` runs at once. */
TuneRanks *tune_ranks_new(RtComm *comm, int jobs);
/* Tells every live worker to stop and frees t. Returns whether a rank was lost during the sweep:
 * MPI cannot then be ended normally (a message to the lost rank may never complete), and the
 * caller exits without MPI_Finalize. */
bool tune_ranks_free(TuneRanks *t);

/* Processes, hosts (distinct host names) and ranks lost so far. */
int tune_ranks_size(const TuneRanks *t);
int tune_ranks_hosts(const TuneRanks *t);
int tune_ranks_lost(const TuneRanks *t);
/* The host name of rank r. */
const char *tune_ranks_host(const TuneRanks *t, int r);

/* A live worker rank (> 0) with a free slot, or -1; for a resumed run (files to send), one that
 * runs nothing. */
int tune_ranks_free_slot(const TuneRanks *t, bool resume);
/* Starts run r on worker `rank`: sends the run (and, when it resumes, its files); false when
 * the rank is lost meanwhile (r stays pending). */
bool tune_ranks_start(TuneRanks *t, TuneSweep *s, TuneRun *r, int rank);
/* Sends signal sig to r's trainer on its worker. */
void tune_ranks_signal(TuneRanks *t, const TuneSweep *s, const TuneRun *r, int sig);

/* Receives what the workers sent: mirrored files are written into their runs' folders, and for
 * each run that ended `ended(s, r, wait_status)` is called. Ranks silent past the timeout are
 * declared lost: their runs fail (or go back to pending with --retries). */
void tune_ranks_poll(TuneRanks *t, TuneSweep *s, void (*ended)(TuneSweep *s, TuneRun *r, int ws));

/* A worker (ranks > 0) until rank 0 says stop: runs `exe train CONFIG --experiment ...` for each
 * run it is given, at most `jobs` at once, in a scratch folder under $TMPDIR (or /tmp) removed at
 * the end. `ready` says whether it could prepare the sweep's data (else `error` says why, and
 * rank 0 gives it nothing). Returns the exit status for the process. */
int tune_worker(RtComm *comm, const char *exe, const char *config, int jobs, bool ready, const char *error);

#endif
