/* VJP rules of the layout ops. Each is the adjoint data movement: reshape back, transpose by the
 * inverse permutation, slice <-> pad (a strided slice first interleaves zeros), concat -> one
 * slice per operand, broadcast -> sum over the broadcast dims. All are linear, so none reads the
 * forward values. */
#include "ir/ir_builder.h"
#include "ir/ir_impl.h"

void ir_vjp_reshape(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  grad_in[0] = ir_reshape(g, gout, ir_type_of(g, ir_node(g, id)->in[0])->shape);
}

/* out.dims[i] = in.dims[perm[i]], so the adjoint uses inv with inv[perm[i]] = i */
void ir_vjp_transpose(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  const IrNode *n = ir_node(g, id);
  int inv[IR_MAX_RANK];
  for (int i = 0; i < n->attr[0].n; i++) inv[n->attr[0].v[i]] = i;
  grad_in[0] = ir_transpose(g, gout, n->attr[0].n, inv);
}

/* Spreads the n_out elements of dim d of t to positions 0, s, 2s, ..., (n_out-1)s with zeros
 * between them: viewing t as (pre, n_out, post), pad the last axis to s * post and view the
 * result as (pre, n_out * s, post); then drop the s - 1 trailing zero rows. */
static IrId interleave_zeros(IrGraph *g, IrId t, int d, int64_t s) {
  IrShape sh = ir_type_of(g, t)->shape;
  int64_t pre = 1, post = 1, n_out = sh.dims[d];
  for (int i = 0; i < d; i++) pre *= sh.dims[i];
  for (int i = d + 1; i < sh.rank; i++) post *= sh.dims[i];
  IrId v = ir_reshape(g, t, IR_SHAPE(pre, n_out, post));
  v = ir_pad(g, v, (int64_t[]){0, 0, 0}, (int64_t[]){0, 0, (s - 1) * post});
  v = ir_reshape(g, v, IR_SHAPE(pre, n_out * s, post));
  int64_t keep = (n_out - 1) * s + 1;
  v = ir_slice(g, v, (int64_t[]){0, 0, 0}, (int64_t[]){pre, keep, post}, NULL);
  sh.dims[d] = keep;
  return ir_reshape(g, v, sh);
}

/* The selected elements go back to their places, zeros elsewhere: strided dims are spread
 * first, then one pad restores the margins of every dim. */
void ir_vjp_slice(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  const IrNode *n = ir_node(g, id);
  const IrShape *in = &ir_type_of(g, n->in[0])->shape;
  const int64_t *start = n->attr[0].v, *step = n->attr[2].v;
  IrId t = gout;
  for (int d = 0; d < in->rank; d++)
    if (step[d] > 1 && ir_type_of(g, t)->shape.dims[d] > 1) t = interleave_zeros(g, t, d, step[d]);
  int64_t before[IR_MAX_RANK], after[IR_MAX_RANK];
  bool any = false;
  for (int d = 0; d < in->rank; d++) {
    before[d] = start[d];
    after[d] = in->dims[d] - start[d] - ir_type_of(g, t)->shape.dims[d];
    any = any || before[d] || after[d];
  }
  grad_in[0] = any ? ir_pad(g, t, before, after) : t;
}

void ir_vjp_concat(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  const IrNode *n = ir_node(g, id);
  int axis = (int)n->attr[0].v[0];
  int64_t off = 0;
  for (int i = 0; i < n->n_in; i++) {
    int64_t len = ir_type_of(g, n->in[i])->shape.dims[axis];
    if (need[i]) grad_in[i] = n->n_in == 1 ? gout : ir_slice_axis(g, gout, axis, off, off + len);
    off += len;
  }
}

void ir_vjp_pad(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  const IrNode *n = ir_node(g, id);
  const IrShape *in = &ir_type_of(g, n->in[0])->shape;
  int64_t start[IR_MAX_RANK], end[IR_MAX_RANK];
  for (int d = 0; d < in->rank; d++) {
    start[d] = n->attr[0].v[d];
    end[d] = start[d] + in->dims[d];
  }
  grad_in[0] = ir_slice(g, gout, start, end, NULL);
}

void ir_vjp_broadcast(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  grad_in[0] = ir_sum_to_shape(g, gout, ir_type_of(g, ir_node(g, id)->in[0])->shape);
}
