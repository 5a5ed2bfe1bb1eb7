/* What compiled steps call to reach the other processes of a data-parallel run: the all_sum op
 * (a synchronised batch norm's statistics and their gradients) is a call to smelt_rt_all_sum.
 * The training loop names the processes for the run (rt_collective_set); without them (one
 * process, a deployed model) the call leaves x as it is. Steps call it from the thread that runs
 * them, every process in the same order. */
#ifndef SMELT_RT_COLLECTIVE_H
#define SMELT_RT_COLLECTIVE_H

#include <stdint.h>

#include "runtime/rt_comm.h"

/* The processes smelt_rt_all_sum sums over from now on (NULL: none). */
void rt_collective_set(RtComm *comm);

/* x[0..n) summed over the processes, in place (generated code). */
void smelt_rt_all_sum(float *x, int64_t n);

#endif
