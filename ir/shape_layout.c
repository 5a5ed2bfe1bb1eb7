/* Shape rules of layout ops: reshape, transpose, slice, concat, pad, broadcast. All accept any
 * dtype. Every dimension of every tensor is >= 1. */
#include "ir/shape_util.h"

static bool shape_from_attr(const IrAttr *a, IrShape *s, char *err, size_t errlen) {
  if (a->n > IR_MAX_RANK) FAIL("shape has %d dims, at most %d allowed", a->n, IR_MAX_RANK);
  s->rank = a->n;
  for (int i = 0; i < a->n; i++) {
    if (a->v[i] < 1) FAIL("shape dims must be >= 1, got %lld", (long long)a->v[i]);
    s->dims[i] = a->v[i];
  }
  return true;
}

/* attrs: shape (same number of elements) */
bool ir_infer_reshape(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  IrShape s;
  if (!shape_from_attr(ATTR(0), &s, err, errlen)) return false;
  if (ir_shape_numel(&s) != ir_shape_numel(&IN_TYPE(0)->shape)) {
    char a[96];
    FAIL("cannot reshape %s (%lld elements) to %lld elements", ir_type_str(IN_TYPE(0), a, sizeof a),
         (long long)ir_shape_numel(&IN_TYPE(0)->shape), (long long)ir_shape_numel(&s));
  }
  *out = (IrType){IN_TYPE(0)->dtype, s};
  return true;
}

/* attrs: perm (a permutation of 0..rank-1); out.dims[i] = in.dims[perm[i]] */
bool ir_infer_transpose(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  const IrShape *in = &IN_TYPE(0)->shape;
  const IrAttr *perm = ATTR(0);
  CHECK_ATTR_COUNT(0, in->rank, "one per dimension");
  bool seen[IR_MAX_RANK] = {0};
  *out = *IN_TYPE(0);
  for (int i = 0; i < perm->n; i++) {
    int64_t p = perm->v[i];
    if (p < 0 || p >= in->rank || seen[p]) FAIL("perm is not a permutation of 0..%d", in->rank - 1);
    seen[p] = true;
    out->shape.dims[i] = in->dims[p];
  }
  return true;
}

/* attrs: start, end, step (one per dim): elements start, start+step, ... < end */
bool ir_infer_slice(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  const IrShape *in = &IN_TYPE(0)->shape;
  CHECK_ATTR_COUNT(0, in->rank, "one per dimension");
  CHECK_ATTR_COUNT(1, in->rank, "one per dimension");
  CHECK_ATTR_COUNT(2, in->rank, "one per dimension");
  *out = *IN_TYPE(0);
  for (int d = 0; d < in->rank; d++) {
    int64_t b = ATTR(0)->v[d], e = ATTR(1)->v[d], s = ATTR(2)->v[d];
    if (s < 1) FAIL("step must be >= 1 in dim %d", d);
    if (b < 0 || e > in->dims[d] || b >= e)
      FAIL("slice [%lld:%lld] out of range for dim %d of size %lld", (long long)b, (long long)e, d,
           (long long)in->dims[d]);
    out->shape.dims[d] = (e - b + s - 1) / s;
  }
  return true;
}

/* attrs: axis; operands agree in dtype, rank and every dim but axis */
bool ir_infer_concat(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  const IrType *first = IN_TYPE(0);
  int64_t axis = ATTR(0)->v[0];
  if (axis < 0 || axis >= first->shape.rank)
    FAIL("axis %lld out of range for rank %d", (long long)axis, first->shape.rank);
  *out = *first;
  for (int i = 1; i < n->n_in; i++) {
    const IrType *t = IN_TYPE(i);
    char a[96], b[96];
    bool ok = t->dtype == first->dtype && t->shape.rank == first->shape.rank;
    for (int d = 0; ok && d < t->shape.rank; d++)
      ok = d == axis || t->shape.dims[d] == first->shape.dims[d];
    if (!ok)
      FAIL("operand %d %s does not match operand 1 %s outside axis %lld", i + 1,
           ir_type_str(t, a, sizeof a), ir_type_str(first, b, sizeof b), (long long)axis);
    out->shape.dims[axis] += t->shape.dims[axis];
  }
  return true;
}

/* attrs: before, after (one per dim, >= 0); pads with zeros */
bool ir_infer_pad(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  const IrShape *in = &IN_TYPE(0)->shape;
  CHECK_ATTR_COUNT(0, in->rank, "one per dimension");
  CHECK_ATTR_COUNT(1, in->rank, "one per dimension");
  *out = *IN_TYPE(0);
  for (int d = 0; d < in->rank; d++) {
    if (ATTR(0)->v[d] < 0 || ATTR(1)->v[d] < 0) FAIL("padding must be >= 0 in dim %d", d);
    out->shape.dims[d] += ATTR(0)->v[d] + ATTR(1)->v[d];
  }
  return true;
}

/* attrs: shape, which the operand must broadcast to (numpy rules) */
bool ir_infer_broadcast(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  IrShape s, b;
  if (!shape_from_attr(ATTR(0), &s, err, errlen)) return false;
  if (!ir_shape_broadcast(&IN_TYPE(0)->shape, &s, &b) || !ir_shape_eq(&b, &s)) {
    char a[96], t[96];
    IrType target = {IN_TYPE(0)->dtype, s};
    FAIL("cannot broadcast %s to %s", ir_type_str(IN_TYPE(0), a, sizeof a),
         ir_type_str(&target, t, sizeof t));
  }
  *out = (IrType){IN_TYPE(0)->dtype, s};
  return true;
}
