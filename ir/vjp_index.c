/* VJP rules of gather and scatter_add, which are each other's adjoints: gather reads table rows
 * by index (out-of-range reads zeros), so its table gradient adds the output gradient rows back
 * into their rows with scatter_add (out-of-range dropped, repeated indices accumulate); and the
 * update gradient of scatter_add reads the output gradient rows with gather. Indices are i32 and
 * never get a gradient. */
#include "ir/ir_builder.h"
#include "ir/ir_impl.h"

/* gather(table (V, S...), idx (I...)) -> (I..., S...) */
void ir_vjp_gather(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  const IrNode *n = ir_node(g, id);
  if (need[0])
    grad_in[0] = ir_scatter_add(g, n->in[1], gout, ir_type_of(g, n->in[0])->shape.dims[0]);
}

/* scatter_add(idx (I...), upd (I..., S...)){rows} -> (rows, S...) */
void ir_vjp_scatter_add(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  const IrNode *n = ir_node(g, id);
  if (need[1]) grad_in[1] = ir_gather(g, gout, n->in[0]);
}
