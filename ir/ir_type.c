/* Shapes, dtypes and numpy-style broadcasting. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"

int64_t ir_shape_numel(const IrShape *s) {
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++) n *= s->dims[i];
  return n;
}

bool ir_shape_eq(const IrShape *a, const IrShape *b) {
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return false;
  return true;
}

bool ir_type_eq(const IrType *a, const IrType *b) {
  return a->dtype == b->dtype && ir_shape_eq(&a->shape, &b->shape);
}

/* Dims are aligned from the right; each pair must be equal or contain a 1. */
bool ir_shape_broadcast(const IrShape *a, const IrShape *b, IrShape *out) {
  IrShape r = {.rank = a->rank > b->rank ? a->rank : b->rank};
  for (int i = 0; i < r.rank; i++) {
    int ia = a->rank - r.rank + i, ib = b->rank - r.rank + i;
    int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    if (da != db && da != 1 && db != 1) return false;
    r.dims[i] = da == 1 ? db : da;
  }
  *out = r;
  return true;
}

void ir_shape_strides(const IrShape *s, int64_t *strides) {
  int64_t st = 1;
  for (int i = s->rank - 1; i >= 0; i--) {
    strides[i] = st;
    st *= s->dims[i];
  }
}

bool ir_shape_strides_contiguous(const IrShape *s, const int64_t *strides) {
  int64_t nat[IR_MAX_RANK];
  ir_shape_strides(s, nat);
  for (int d = 0; d < s->rank; d++)
    if (s->dims[d] != 1 && strides[d] != nat[d]) return false;
  return true;
}

void ir_shape_broadcast_strides(const IrShape *in, const IrShape *out, int64_t *strides) {
  int64_t own[IR_MAX_RANK];
  ir_shape_strides(in, own);
  for (int i = 0; i < out->rank; i++) {
    int j = in->rank - out->rank + i;
    strides[i] = (j < 0 || in->dims[j] == 1) ? 0 : own[j];
  }
}

const char *ir_dtype_name(IrDType t) { return t == IR_F32 ? "f32" : t == IR_I32 ? "i32" : "i8"; }

int ir_dtype_size(IrDType t) { return t == IR_I8 ? 1 : 4; }

char *ir_type_str(const IrType *t, char *buf, size_t size) {
  size_t n = (size_t)snprintf(buf, size, "%s[", ir_dtype_name(t->dtype));
  for (int i = 0; i < t->shape.rank && n < size; i++)
    n += (size_t)snprintf(buf + n, size - n, i ? ",%lld" : "%lld", (long long)t->shape.dims[i]);
  if (n < size) snprintf(buf + n, size - n, "]");
  return buf;
}

const char *ir_node_kind_name(IrNodeKind k) {
  static const char *const names[IR_NODE_KIND_COUNT] = {"input", "param", "state", "const", "op"};
  return k < IR_NODE_KIND_COUNT ? names[k] : "?";
}

const char *ir_init_name(IrInit init) {
  static const char *const names[IR_INIT_COUNT] = {"zeros", "ones", "fill", "uniform", "normal",
                                                   "data"};
  return init < IR_INIT_COUNT ? names[init] : "?";
}

/* Below 2^-126 an f32 is a multiple of 2^-149; scaling by 2^149 is exact in double, so rounding
 * to an integer there is IEEE rounding to the subnormal grid, with no float conversion that a
 * flush-to-zero mode could flush. */
double ir_f32_round(double v) {
  if (!(fabs(v) < 0x1p-126)) return (double)(float)v;
  return copysign(nearbyint(v * 0x1p149) * 0x1p-149, v);
}

bool ir_f32_is_subnormal(double v) { return v != 0 && fabs(v) < 0x1p-126; }
