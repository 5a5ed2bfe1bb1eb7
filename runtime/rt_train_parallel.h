/* Data-parallel training, the parts of the training loop that talk to the other processes
 * (rt_comm.h): every process runs the gradient phase on its shard of each global batch, the
 * gradients are summed, weighted by each shard's share of the loss, into the update phase's
 * inputs, and every process applies the same update, so that the processes' weights stay equal
 * to one another and to those of one process training at the global batch size, up to the order
 * of float additions. Rank 0 alone reads and writes the run's files and validates; the others
 * learn its decisions from it. */
#ifndef SMELT_RT_TRAIN_PARALLEL_H
#define SMELT_RT_TRAIN_PARALLEL_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/rt_comm.h"
#include "runtime/rt_loader.h"
#include "runtime/rt_model.h"
#include "support/rt_diag.h"

typedef struct RtParallel {
  RtComm *comm;
  const RtModel *m;
  int n_grads;
  const RtSlot **outputs, **inputs; /* (n_grads) gradient phase outputs, update inputs, paired */
} RtParallel;

/* Pairs m's gradient outputs with its update inputs (m must have been compiled in phases). */
void rt_parallel_init(RtParallel *p, const RtModel *m, RtComm *comm);
void rt_parallel_free(RtParallel *p);

/* After the gradient phase ran on this process's shard b (train_io): the global batch's
 * gradients, summed over the processes, into the update's inputs (update_io). Returns the global
 * batch's loss (its mean over every process's samples, as one process would have computed it)
 * and sets *samples to the global batch's real samples. */
double rt_parallel_sum_gradients(const RtParallel *p, const RtBatch *b, const void *train_io, void *update_io,
                                 int64_t *samples);

/* Whether every process is ok. When any is not, all return false and comm->failed_together is
 * set; rank 0, if it was ok itself, says in d that another one failed. NULL or one process: ok. */
bool rt_parallel_agree(RtComm *comm, bool ok, RtDiags *d);

/* Batch-norm running statistics, as PyTorch DDP keeps them (broadcast_buffers): each process
 * normalises with its own shard's batch statistics, and the running statistics are rank 0's,
 * copied to every process (before validation, which rank 0 runs). Copies every state slot that
 * is neither trained nor an optimizer moment (named "opt.*", passes/train_graph.h). */
void rt_parallel_share_running_stats(RtComm *comm, const RtModel *m, void *state);

/* Whether this process's state equals rank 0's, by checksum (a collective). False, with an
 * error in d, on the process whose weights have drifted. */
bool rt_parallel_same_state(RtComm *comm, const void *state, int64_t bytes, RtDiags *d);

#endif
