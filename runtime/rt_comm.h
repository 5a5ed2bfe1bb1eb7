/* The processes of a data-parallel run, as the training loop sees them: its rank among `size`
 * processes and the three collective operations it needs. Implemented over MPI by
 * runtime/mpi/rt_mpi.h; the runtime itself never depends on MPI (a built trainer without --mpi
 * links no MPI library). Every process must make the same calls in the same order. */
#ifndef SMELT_RT_COMM_H
#define SMELT_RT_COMM_H

#include <stdbool.h>
#include <stdint.h>

typedef struct RtComm RtComm;
struct RtComm {
  int rank, size; /* rank 0 writes the run's files */
  int hosts;      /* distinct host names among the processes */
  /* Sums x[0..n) over every process, in place. The order of the additions depends only on
   * (n, size), never on timing, and every process gets the same bits. */
  void (*sum_f32)(const RtComm *c, float *x, int64_t n);
  void (*sum_f64)(const RtComm *c, double *x, int n);
  /* Rank 0's `bytes` bytes at data, copied to every process's data. */
  void (*broadcast)(const RtComm *c, void *data, int64_t bytes);
  /* Set by the training loop when every process has learnt that the run failed (a decision
   * rank 0 broadcast), so that they may all exit normally instead of aborting the job. */
  bool failed_together;
  void *impl;
};

/* Whether c spans more than one process (NULL: one process). */
static inline bool rt_comm_parallel(const RtComm *c) { return c && c->size > 1; }

#endif
