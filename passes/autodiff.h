/* Reverse-mode automatic differentiation over the IR: appends the gradient ops of a scalar loss
 * to the graph itself, one VJP rule (ir_op_info[op].vjp) per forward op, visiting nodes in
 * reverse definition order. Only nodes on a path from some wrt value to the loss get gradient
 * work. The forward nodes are left untouched, so the loss and every output keep their ids. */
#ifndef SMELT_PASS_AUTODIFF_H
#define SMELT_PASS_AUTODIFF_H

#include "ir/ir.h"
#include "support/rt_diag.h"

/* Appends to g the gradient of `loss` (an f32 scalar, f32[]) with respect to each of the n_wrt
 * f32 values wrt[i] (usually params), and stores its id in grads[i]; it has exactly wrt[i]'s
 * type. The seed is a ones constant; values that fan out accumulate their gradients with add.
 * A wrt value with no differentiable path to the loss gets a zeros constant.
 * Returns false, with diagnostics in d (one per problem, naming the op and node), when the loss
 * is not an f32 scalar, a wrt is not f32, or an op without a VJP rule lies on a path from a wrt
 * to the loss; grads are then unspecified and g may hold some unused appended nodes. */
bool pass_autodiff(IrGraph *g, IrId loss, int n_wrt, const IrId *wrt, IrId *grads, RtDiags *d);

#endif
