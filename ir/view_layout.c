/* View rules of the layout ops that are strided views of their operand (the IR_OPF_VIEW rows
 * of ir_ops.c): given the strides the operand is read with, the strides (and offset) the
 * output is read with. Fusion composes them along chains of views (passes/fuse.c), so a view
 * op needs nothing but its row and its rule here. */
#include "ir/ir_impl.h"

bool ir_view_reshape(const IrGraph *g, const IrNode *n, const int64_t *in_strides, int64_t *offset,
                     int64_t *out_strides) {
  if (!ir_shape_strides_contiguous(&ir_type_of(g, n->in[0])->shape, in_strides)) return false;
  ir_shape_strides(&n->type.shape, out_strides);
  return true;
}

bool ir_view_transpose(const IrGraph *g, const IrNode *n, const int64_t *in_strides, int64_t *offset,
                       int64_t *out_strides) {
  for (int d = 0; d < n->type.shape.rank; d++) out_strides[d] = in_strides[n->attr[0].v[d]];
  return true;
}

/* start moves the offset, step scales the stride */
bool ir_view_slice(const IrGraph *g, const IrNode *n, const int64_t *in_strides, int64_t *offset,
                   int64_t *out_strides) {
  for (int d = 0; d < ir_type_of(g, n->in[0])->shape.rank; d++) {
    *offset += n->attr[0].v[d] * in_strides[d];
    out_strides[d] = in_strides[d] * n->attr[2].v[d];
  }
  return true;
}

/* numpy broadcasting, right-aligned: new or size-1 dims are read with stride 0 */
bool ir_view_broadcast(const IrGraph *g, const IrNode *n, const int64_t *in_strides, int64_t *offset,
                       int64_t *out_strides) {
  const IrShape *is = &ir_type_of(g, n->in[0])->shape, *os = &n->type.shape;
  for (int d = 0; d < os->rank; d++) {
    int j = d - (os->rank - is->rank);
    out_strides[d] = (j >= 0 && is->dims[j] != 1) ? in_strides[j] : 0;
  }
  return true;
}
