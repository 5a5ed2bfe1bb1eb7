/* The reference interpreter: runs a graph node by node with the op table's reference
 * implementations (ir_op_info[op].eval), every value held in double. It is the oracle that
 * compiled kernels and VJP rules are tested against, and what `smelt run-ir` trains with.
 * One IrInterp keeps a value slot for every node of one graph and can run it any number of times
 * (training loop: set inputs, ir_interp_run, ir_interp_apply_updates, repeat). */
#ifndef SMELT_IR_INTERP_H
#define SMELT_IR_INTERP_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir_ops.h"

typedef struct IrInterp IrInterp;

/* Allocates a slot per node of g (one allocation: sum of numel doubles). Const nodes are filled
 * from their IrInit (UNIFORM/NORMAL consts with seed 0); every other slot starts at zero.
 * g must be verified and must not gain nodes while the interpreter lives; it is not owned. */
IrInterp *ir_interp_new(const IrGraph *g);
void ir_interp_free(IrInterp *it);

/* The slot of node id: type = the node's type, data = numel doubles, owned by the interpreter.
 * Write inputs and params through it; read any node's value after ir_interp_run. */
IrTensor *ir_interp_value(IrInterp *it, IrId id);

/* Fills leaf id (input, param, state or const) from its IrInit, deterministically: element i
 * depends only on (seed, the node's name or, if unnamed, its id, i), via rt_random.h.
 *   ZEROS, ONES, FILL(v), DATA: as stated (DATA: the node's data).
 *   UNIFORM(v): f32 uniform in [-v, v); i32 integers in [0, v) (what run-ir feeds labels).
 *   NORMAL(v): mean 0, standard deviation v (Box-Muller); i32 rounds to the nearest integer.
 * f32 values are rounded to float, so that an f32 backend given the same leaves sees exactly
 * the numbers the interpreter uses. Op nodes are rejected. */
void ir_interp_init_leaf(IrInterp *it, IrId id, uint64_t seed);
/* ir_interp_init_leaf on every leaf of the graph. */
void ir_interp_init_leaves(IrInterp *it, uint64_t seed);

typedef struct IrInterpOptions {
  bool round_f32;        /* round every f32 op result to float, to mimic an f32 backend */
  bool flush_subnormals; /* with round_f32: f32 values below 2^-126 in magnitude become zero,
                          * as compiled kernels treat them (flush-to-zero, denormals-are-zero:
                          * runtime/rt_fpenv.h); f32 leaves are flushed in place first */
} IrInterpOptions;

/* Evaluates every op node in graph order from the current leaf values. opt may be NULL
 * (defaults: everything in double). */
void ir_interp_run(IrInterp *it, const IrInterpOptions *opt);

/* Copies each update's value into its param/state target. All values are read before any
 * target is written, so updates behave as one simultaneous assignment. */
void ir_interp_apply_updates(IrInterp *it);

#endif
