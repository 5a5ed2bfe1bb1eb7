/* Shape rules of the LSTM recurrence (ir/eval_recurrent.c says what the ops compute):
 *   lstm_scan(xproj (T, B, D, 4H), w_hh (D, 4H, H)) [save] -> (S, T, B, D, H), S = save ? 6 : 1
 *   lstm_scan_grad(state (6, T, B, D, H), w_hh, gout (6, T, B, D, H)) -> (T, B, D, 4H)
 * D is 1 or 2 (direction 1 runs backwards in time). */
#include "ir/shape_util.h"

enum { LSTM_SLOTS = 6 };

/* xproj-like (T, B, D, 4H) against w_hh (D, 4H, H): D and H agree, D is 1 or 2. */
static bool gates_and_weights(const IrGraph *g, const IrNode *n, const int64_t *x, char *err, size_t errlen) {
  CHECK_DTYPE(1, IR_F32);
  CHECK_RANK(1, 3);
  const int64_t *w = IN_TYPE(1)->shape.dims;
  if (w[0] != 1 && w[0] != 2) FAIL("w_hh has %lld directions, want 1 or 2", (long long)w[0]);
  if (w[1] != 4 * w[2]) FAIL("w_hh must be (D, 4H, H), got %lld rows for H = %lld", (long long)w[1], (long long)w[2]);
  if (x[2] != w[0]) FAIL("the gates have %lld directions, w_hh %lld", (long long)x[2], (long long)w[0]);
  if (x[3] != w[1]) FAIL("the gates have %lld features a step, want 4H = %lld", (long long)x[3], (long long)w[1]);
  return true;
}

bool ir_infer_lstm_scan(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  CHECK_DTYPE(0, IR_F32);
  CHECK_RANK(0, 4);
  const int64_t *x = IN_TYPE(0)->shape.dims;
  if (!gates_and_weights(g, n, x, err, errlen)) return false;
  int64_t save = ATTR(0)->v[0];
  if (save != 0 && save != 1) FAIL("save must be 0 or 1, got %lld", (long long)save);
  *out = (IrType){IR_F32, {5, {save ? LSTM_SLOTS : 1, x[0], x[1], x[2], IN_TYPE(1)->shape.dims[2]}}};
  return true;
}

bool ir_infer_lstm_scan_grad(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  CHECK_DTYPE(0, IR_F32);
  CHECK_RANK(0, 5);
  CHECK_DTYPE(2, IR_F32);
  CHECK_RANK(2, 5);
  const int64_t *s = IN_TYPE(0)->shape.dims;
  if (s[0] != LSTM_SLOTS) FAIL("the state must have its %d slots (a scan with save = 1)", LSTM_SLOTS);
  for (int d = 0; d < 5; d++)
    if (IN_TYPE(2)->shape.dims[d] != s[d]) FAIL("the gradient's shape differs from the state's");
  int64_t h = s[4];
  int64_t gates[4] = {s[1], s[2], s[3], 4 * h};
  if (!gates_and_weights(g, n, gates, err, errlen)) return false;
  *out = (IrType){IR_F32, {4, {s[1], s[2], s[3], 4 * h}}};
  return true;
}
