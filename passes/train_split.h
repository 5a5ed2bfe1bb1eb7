/* The two phases of a training step, as two graphs, for data-parallel training (DESIGN.md:
 * gradients are all-reduced between them). The gradient phase is the forward and backward pass:
 * the step's outputs (loss, logits), then the raw gradient of every trained param, and the
 * forward's own state updates (batch-norm running statistics). The update phase reads those
 * gradients as inputs named PASS_GRAD_INPUT_PREFIX "<param>" and applies the optimizer (clipping,
 * weight decay, moments, the param updates); its outputs are the per-layer gradient norms when
 * the step has them. Both graphs keep every param and state node of the step, so that either
 * one's plan lays out the whole state region (moments included) and the other can share it. */
#ifndef SMELT_PASS_TRAIN_SPLIT_H
#define SMELT_PASS_TRAIN_SPLIT_H

#include "ir/ir.h"
#include "passes/train_graph.h"

#define PASS_GRAD_INPUT_PREFIX "grad."

/* Splits g, a training step just built by pass_build_training (t is what it recorded), into
 * *gradients and *update (caller frees both with ir_graph_free). The gradient graph's outputs
 * are g's outputs before the layer norms (the loss first), then one gradient per trained param,
 * in the order of the update graph's gradient inputs: both follow t's params in graph order.
 * Unnamed params are named "%<id>" in the input names. g is unchanged. */
void pass_split_training(const IrGraph *g, const PassTraining *t, IrGraph **gradients, IrGraph **update);

#endif
