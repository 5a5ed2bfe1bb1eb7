/* Eager scheduling of a training step's optimizer update.
 *
 * pass_build_training appends the update after the whole backward pass, and kernels run in graph
 * order of their last op: a weight gradient's GEMM, which fusion merges with its param's update
 * (the update is the GEMM's epilogue), then runs at the end of the step, and the activation it
 * reads (the layer's input) stays alive through the rest of the backward pass. This pass moves
 * the update phase to the earliest place it may run: right after the gradient it reads (once
 * every kernel reading the param's old value has run), so that the GEMM runs where the backward
 * pass produced its operands and the activation dies there; update ops that read only leaves
 * (beta1 * m) go right before their first reader instead (passes/schedule.c). Inputs, params, states and consts all come first, in their original
 * relative order (the program's interface and checkpoint layout do not change); the other nodes
 * keep their order. With gradient clipping the update waits for the global norm, so only the
 * parts before it (the gradients' squared norms) move. */
#ifndef SMELT_PASS_SCHEDULE_H
#define SMELT_PASS_SCHEDULE_H

#include "ir/ir.h"

/* A new graph (the caller frees it) computing the same outputs and updates, in which the nodes
 * marked in is_update (g->n_nodes flags: the update phase, which reads only leaves, gradients
 * and itself) are placed as above; no unmarked op may read a marked one (asserted). */
IrGraph *pass_schedule_updates(const IrGraph *g, const bool *is_update);

#endif
