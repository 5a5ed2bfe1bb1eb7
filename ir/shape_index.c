/* Shape rules of indexing, random-number and CTC ops. Indices are i32; an index outside the
 * table reads zeros (gather) or is dropped (scatter_add). */
#include "ir/shape_util.h"

/* table: (V, S...), idx: (I...) i32 -> (I..., S...) */
bool ir_infer_gather(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  CHECK_DTYPE(1, IR_I32);
  const IrShape *t = &IN_TYPE(0)->shape, *ix = &IN_TYPE(1)->shape;
  if (t->rank < 1) FAIL("the table must have rank >= 1");
  if (ix->rank + t->rank - 1 > IR_MAX_RANK) FAIL("result rank exceeds %d", IR_MAX_RANK);
  *out = (IrType){IN_TYPE(0)->dtype, *ix};
  for (int d = 1; d < t->rank; d++) out->shape.dims[out->shape.rank++] = t->dims[d];
  return true;
}

/* idx: (I...) i32, upd: (I..., S...) f32, rows -> (rows, S...): row idx[i] += upd[i] */
bool ir_infer_scatter_add(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  CHECK_DTYPE(0, IR_I32);
  CHECK_DTYPE(1, IR_F32);
  const IrShape *ix = &IN_TYPE(0)->shape, *u = &IN_TYPE(1)->shape;
  int64_t rows = ATTR(0)->v[0];
  if (rows < 1) FAIL("rows must be >= 1");
  bool ok = u->rank >= ix->rank && u->rank - ix->rank + 1 <= IR_MAX_RANK;
  for (int d = 0; ok && d < ix->rank; d++) ok = u->dims[d] == ix->dims[d];
  if (!ok) {
    char a[96], b[96];
    FAIL("updates %s must start with the index shape %s", ir_type_str(IN_TYPE(1), a, sizeof a),
         ir_type_str(IN_TYPE(0), b, sizeof b));
  }
  *out = (IrType){IR_F32, {1, {rows}}};
  for (int d = ix->rank; d < u->rank; d++) out->shape.dims[out->shape.rank++] = u->dims[d];
  return true;
}

/* idx: (I...) i32, depth -> (I..., depth) f32 */
bool ir_infer_one_hot(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  CHECK_DTYPE(0, IR_I32);
  if (ATTR(0)->v[0] < 1) FAIL("depth must be >= 1");
  if (IN_TYPE(0)->shape.rank >= IR_MAX_RANK) FAIL("result rank exceeds %d", IR_MAX_RANK);
  *out = (IrType){IR_F32, IN_TYPE(0)->shape};
  out->shape.dims[out->shape.rank++] = ATTR(0)->v[0];
  return true;
}

/* x: f32, axis -> i32 with that axis removed; ties go to the first maximum */
bool ir_infer_argmax(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  CHECK_DTYPE(0, IR_F32);
  const IrShape *in = &IN_TYPE(0)->shape;
  int64_t axis = ATTR(0)->v[0];
  if (axis < 0 || axis >= in->rank) FAIL("axis %lld out of range for rank %d", (long long)axis, in->rank);
  *out = (IrType){IR_I32, {0}};
  for (int d = 0; d < in->rank; d++)
    if (d != axis) out->shape.dims[out->shape.rank++] = in->dims[d];
  return true;
}

/* seed: i32 scalar, stream, shape -> f32 uniform [0, 1) */
bool ir_infer_rng_uniform(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  CHECK_DTYPE(0, IR_I32);
  CHECK_RANK(0, 0);
  const IrAttr *s = ATTR(1);
  if (s->n > IR_MAX_RANK) FAIL("shape has %d dims, at most %d allowed", s->n, IR_MAX_RANK);
  *out = (IrType){IR_F32, {s->n, {0}}};
  for (int d = 0; d < s->n; d++) {
    if (s->v[d] < 1) FAIL("shape dims must be >= 1");
    out->shape.dims[d] = s->v[d];
  }
  return true;
}

static bool ctc_operands(const IrGraph *g, const IrNode *n, char *err, size_t errlen) {
  CHECK_DTYPE(0, IR_F32);
  CHECK_RANK(0, 3);
  CHECK_DTYPE(1, IR_I32);
  CHECK_RANK(1, 2);
  CHECK_DTYPE(2, IR_I32);
  CHECK_RANK(2, 1);
  const int64_t *x = IN_TYPE(0)->shape.dims, *l = IN_TYPE(1)->shape.dims;
  if (l[0] != x[0] || IN_TYPE(2)->shape.dims[0] != x[0]) FAIL("batch sizes of the operands differ");
  if (l[1] > x[1]) FAIL("labels (%lld) longer than the time steps (%lld)", (long long)l[1], (long long)x[1]);
  int64_t blank = ATTR(0)->v[0];
  if (blank < 0 || blank >= x[2]) FAIL("blank %lld is not a class of %lld", (long long)blank, (long long)x[2]);
  return true;
}

/* logits: (B, T, C) f32, labels: (B, L) i32, label_len: (B) i32, blank -> loss (B) f32 */
bool ir_infer_ctc_loss(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  if (!ctc_operands(g, n, err, errlen)) return false;
  *out = (IrType){IR_F32, {1, {IN_TYPE(0)->shape.dims[0]}}};
  return true;
}

/* ctc_loss's operands plus g: (B) f32 -> d loss / d logits (B, T, C) */
bool ir_infer_ctc_loss_grad(const IrGraph *g, const IrNode *n, IrType *out, char *err,
                            size_t errlen) {
  if (!ctc_operands(g, n, err, errlen)) return false;
  CHECK_DTYPE(3, IR_F32);
  CHECK_RANK(3, 1);
  if (IN_TYPE(3)->shape.dims[0] != IN_TYPE(0)->shape.dims[0]) FAIL("gradient batch size differs");
  *out = *IN_TYPE(0);
  return true;
}
