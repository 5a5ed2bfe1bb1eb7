/* VJP rules of the pooling ops, through their dedicated gradient ops: maxpool2d_grad routes each
 * output gradient to the first maximum of its window (padding never wins, it is -inf), and
 * avgpool2d_grad spreads it evenly over the full window area, padded cells included, exactly
 * mirroring avgpool2d's division by the full window. */
#include "ir/ir_builder.h"
#include "ir/ir_impl.h"

static IrPoolSpec pool_spec_of(const IrNode *n) {
  IrPoolSpec s;
  for (int i = 0; i < 2; i++) s.window[i] = (int)n->attr[0].v[i];
  for (int i = 0; i < 2; i++) s.stride[i] = (int)n->attr[1].v[i];
  for (int i = 0; i < 4; i++) s.pad[i] = (int)n->attr[2].v[i];
  return s;
}

void ir_vjp_maxpool2d(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  const IrNode *n = ir_node(g, id);
  grad_in[0] = ir_maxpool2d_grad(g, n->in[0], gout, pool_spec_of(n));
}

void ir_vjp_avgpool2d(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  const IrNode *n = ir_node(g, id);
  const int64_t *x = ir_type_of(g, n->in[0])->shape.dims; /* (N, C, H, W) */
  grad_in[0] = ir_avgpool2d_grad(g, gout, pool_spec_of(n), x[2], x[3]);
}
