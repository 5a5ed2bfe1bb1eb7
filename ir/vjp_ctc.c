/* VJP rule of ctc_loss, through the opaque ctc_loss_grad op: the per-sample output gradient
 * g (B) scales each sample's d loss_b / d logits (softmax(logits) minus the normalised
 * alpha-beta occupancy of each class, Graves et al. 2006, eq. 16). Labels and their lengths
 * are i32 and get no gradient. */
#include "ir/ir_builder.h"
#include "ir/ir_impl.h"

void ir_vjp_ctc_loss(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  const IrNode *n = ir_node(g, id);
  if (need[0])
    grad_in[0] = ir_ctc_loss_grad(g, n->in[0], n->in[1], n->in[2], gout, (int)n->attr[0].v[0]);
}
