/* VJP rules of matmul and conv2d. For C = op(A) op(B) (op = transpose when the flag is set):
 * d op(A) = dC op(B)^T and d op(B) = op(A)^T dC; each is expressed as one matmul with transpose
 * flags instead of explicit transposes (table below), then summed over the batch dims that
 * broadcasting added. Convolution gradients are the two dedicated ops conv2d_grad_input and
 * conv2d_grad_filter, which share the forward op's stride/pad/dilation. */
#include "ir/ir_builder.h"
#include "ir/ir_impl.h"

/* Derivation, with ^T on the last two dims:
 *   ta tb | dA                         | dB
 *    0  0 | dC B^T      = mm(dC,B,0,1) | A^T dC      = mm(A,dC,1,0)
 *    0  1 | dC B        = mm(dC,B,0,0) | (A^T dC)^T  = mm(dC,A,1,0)
 *    1  0 | (dC B^T)^T  = mm(B,dC,0,1) | A dC        = mm(A,dC,0,0)
 *    1  1 | (dC B)^T    = mm(B,dC,1,1) | (A dC)^T    = mm(dC,A,1,1) */
void ir_vjp_matmul(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  const IrNode *n = ir_node(g, id);
  IrId a = n->in[0], b = n->in[1];
  bool ta = n->attr[0].v[0], tb = n->attr[1].v[0];
  if (need[0]) {
    IrId da = !ta ? ir_matmul(g, gout, b, false, !tb) : ir_matmul(g, b, gout, tb, true);
    grad_in[0] = ir_sum_to_shape(g, da, ir_type_of(g, a)->shape);
  }
  if (need[1]) {
    IrId db = !tb ? ir_matmul(g, a, gout, !ta, false) : ir_matmul(g, gout, a, true, ta);
    grad_in[1] = ir_sum_to_shape(g, db, ir_type_of(g, b)->shape);
  }
}

static IrConvSpec conv_spec_of(const IrNode *n) {
  IrConvSpec s;
  for (int i = 0; i < 2; i++) s.stride[i] = (int)n->attr[0].v[i];
  for (int i = 0; i < 4; i++) s.pad[i] = (int)n->attr[1].v[i];
  for (int i = 0; i < 2; i++) s.dilation[i] = (int)n->attr[2].v[i];
  return s;
}

/* x: (N, C, H, W), w: (O, C, KH, KW) */
void ir_vjp_conv2d(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  const IrNode *n = ir_node(g, id);
  IrConvSpec spec = conv_spec_of(n);
  const int64_t *x = ir_type_of(g, n->in[0])->shape.dims, *w = ir_type_of(g, n->in[1])->shape.dims;
  if (need[0]) grad_in[0] = ir_conv2d_grad_input(g, gout, n->in[1], spec, x[2], x[3]);
  if (need[1]) grad_in[1] = ir_conv2d_grad_filter(g, n->in[0], gout, spec, w[2], w[3]);
}
