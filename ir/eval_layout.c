/* Reference implementations of the layout ops, which only move elements: reshape (same
 * row-major order), transpose, slice, concat, pad (zeros) and broadcast. Each is one walk of
 * eval_iter with the source or destination read through rearranged strides. Any dtype. */
#include <string.h>

#include "ir/eval_iter.h"

/* Walks `shape`, copying src[off(src)] to dst[off(dst)]. */
static void copy_strided(const IrShape *shape, const double *src, const int64_t *src_strides,
                         int64_t src_base, double *dst, const int64_t *dst_strides,
                         int64_t dst_base) {
  EvalIter it;
  eval_iter_init(&it, shape);
  int s = eval_iter_add(&it, src_strides, src_base), d = eval_iter_add(&it, dst_strides, dst_base);
  int64_t count = ir_shape_numel(shape);
  for (int64_t i = 0; i < count; i++, eval_iter_next(&it)) dst[it.off[d]] = src[it.off[s]];
}

void ir_eval_reshape(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  memcpy(out->data, in[0]->data, (size_t)eval_numel(out) * sizeof *out->data);
}

/* out[i_0, ..., i_r] = in[j] with j[perm[d]] = i_d: walk out, reading in with its stride of
 * dim perm[d] along out's dim d. */
void ir_eval_transpose(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  const IrShape *os = &out->type.shape;
  int64_t in_s[IR_MAX_RANK], src[IR_MAX_RANK], dst[IR_MAX_RANK];
  ir_shape_strides(&in[0]->type.shape, in_s);
  ir_shape_strides(os, dst);
  for (int d = 0; d < os->rank; d++) src[d] = in_s[n->attr[0].v[d]];
  copy_strided(os, in[0]->data, src, 0, out->data, dst, 0);
}

/* out[i] = in[start + i * step] per dim */
void ir_eval_slice(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  const IrShape *os = &out->type.shape;
  int64_t in_s[IR_MAX_RANK], src[IR_MAX_RANK], dst[IR_MAX_RANK], base = 0;
  ir_shape_strides(&in[0]->type.shape, in_s);
  ir_shape_strides(os, dst);
  for (int d = 0; d < os->rank; d++) {
    base += n->attr[0].v[d] * in_s[d];
    src[d] = n->attr[2].v[d] * in_s[d];
  }
  copy_strided(os, in[0]->data, src, base, out->data, dst, 0);
}

/* Operand k lands at offset (sum of the earlier operands' sizes along axis) of out's axis. */
void ir_eval_concat(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  int axis = (int)n->attr[0].v[0];
  int64_t dst[IR_MAX_RANK], at = 0;
  ir_shape_strides(&out->type.shape, dst);
  for (int k = 0; k < n->n_in; k++) {
    const IrShape *s = &in[k]->type.shape;
    int64_t src[IR_MAX_RANK];
    ir_shape_strides(s, src);
    copy_strided(s, in[k]->data, src, 0, out->data, dst, at * dst[axis]);
    at += s->dims[axis];
  }
}

/* out[before + i] = in[i]; the rest of out stays zero */
void ir_eval_pad(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  const IrShape *is = &in[0]->type.shape;
  int64_t src[IR_MAX_RANK], dst[IR_MAX_RANK], base = 0;
  ir_shape_strides(is, src);
  ir_shape_strides(&out->type.shape, dst);
  for (int d = 0; d < is->rank; d++) base += n->attr[0].v[d] * dst[d];
  copy_strided(is, in[0]->data, src, 0, out->data, dst, base);
}

void ir_eval_broadcast(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  const IrShape *os = &out->type.shape;
  int64_t src[IR_MAX_RANK], dst[IR_MAX_RANK];
  ir_shape_broadcast_strides(&in[0]->type.shape, os, src);
  ir_shape_strides(os, dst);
  copy_strided(os, in[0]->data, src, 0, out->data, dst, 0);
}
