/* Shape rules of elementwise ops (unary, casts, binary, compare, select) and reductions. */
#include "ir/shape_util.h"

bool ir_infer_unary(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  CHECK_DTYPE(0, IR_F32);
  *out = *IN_TYPE(0);
  return true;
}

bool ir_infer_to_f32(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  CHECK_DTYPE(0, IR_I32);
  *out = (IrType){IR_F32, IN_TYPE(0)->shape};
  return true;
}

bool ir_infer_to_i32(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  CHECK_DTYPE(0, IR_F32);
  *out = (IrType){IR_I32, IN_TYPE(0)->shape};
  return true;
}

static bool broadcast_operands(const IrGraph *g, const IrNode *n, IrShape *shape, char *err,
                               size_t errlen) {
  *shape = IN_TYPE(0)->shape;
  for (int i = 1; i < n->n_in; i++) {
    if (!ir_shape_broadcast(shape, &IN_TYPE(i)->shape, shape)) {
      char a[96], b[96];
      FAIL("cannot broadcast %s with %s", ir_type_str(IN_TYPE(0), a, sizeof a),
           ir_type_str(IN_TYPE(i), b, sizeof b));
    }
  }
  return true;
}

bool ir_infer_quantize(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  CHECK_DTYPE(0, IR_F32);
  CHECK_DTYPE(1, IR_F32);
  out->dtype = IR_I8;
  return broadcast_operands(g, n, &out->shape, err, errlen);
}

bool ir_infer_binary(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  CHECK_DTYPE(0, IR_F32);
  CHECK_DTYPE(1, IR_F32);
  out->dtype = IR_F32;
  return broadcast_operands(g, n, &out->shape, err, errlen);
}

bool ir_infer_compare(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  CHECK_DTYPE(1, IN_TYPE(0)->dtype);
  out->dtype = IR_F32;
  return broadcast_operands(g, n, &out->shape, err, errlen);
}

bool ir_infer_select(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  CHECK_DTYPE(0, IR_F32);
  CHECK_DTYPE(2, IN_TYPE(1)->dtype);
  out->dtype = IN_TYPE(1)->dtype;
  return broadcast_operands(g, n, &out->shape, err, errlen);
}

/* attrs: axes (distinct, in [0, rank)), keepdims (0 or 1) */
bool ir_infer_reduce(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  CHECK_DTYPE(0, IR_F32);
  const IrShape *in = &IN_TYPE(0)->shape;
  const IrAttr *axes = ATTR(0);
  int64_t keep = ATTR(1)->v[0];
  if (keep != 0 && keep != 1) FAIL("keepdims must be 0 or 1, got %lld", (long long)keep);
  bool reduced[IR_MAX_RANK] = {0};
  for (int i = 0; i < axes->n; i++) {
    int64_t a = axes->v[i];
    if (a < 0 || a >= in->rank) FAIL("axis %lld out of range for rank %d", (long long)a, in->rank);
    if (reduced[a]) FAIL("axis %lld listed twice", (long long)a);
    reduced[a] = true;
  }
  *out = (IrType){IR_F32, {0}};
  for (int d = 0; d < in->rank; d++) {
    if (!reduced[d])
      out->shape.dims[out->shape.rank++] = in->dims[d];
    else if (keep)
      out->shape.dims[out->shape.rank++] = 1;
  }
  return true;
}
