/* Shape rules of the LSTM recurrence (ir/eval_recurrent.c says what the ops compute), over D = 1
 * or 2 directions (direction 1 runs backwards in time), each with its own operands:
 *   lstm_scan(xproj_0 (T, B, 4H), w_hh_0 (4H, H) [, xproj_1, w_hh_1]) [save]
 *       -> (S, T, B, D, H), S = save ? 6 : 1
 *   lstm_scan_grad(state (6, T, B, D, H), gout (6, T, B, D, H), w_hh_0 [, w_hh_1])
 *       -> (D, T, B, 4H)
 *   lstm_scan_i8(xproj_0, w_hh_0 i8 (4H, H), w_scale_0 (4H) [, xproj_1, w_hh_1, w_scale_1])
 *       -> (1, T, B, D, H) */
#include "ir/shape_util.h"

enum { LSTM_SLOTS = 6 };

/* Operand i must be w_hh (4H, H) of dtype dt for the given H. */
static bool check_w_hh_of(const IrGraph *g, const IrNode *n, int i, int64_t h, IrDType dt, char *err, size_t errlen) {
  CHECK_DTYPE(i, dt);
  CHECK_RANK(i, 2);
  const int64_t *w = IN_TYPE(i)->shape.dims;
  if (w[0] != 4 * h || w[1] != h)
    FAIL("operand %d (w_hh) must be (4H, H) = (%lld, %lld), got (%lld, %lld)", i + 1, (long long)(4 * h), (long long)h,
         (long long)w[0], (long long)w[1]);
  return true;
}

static bool check_w_hh(const IrGraph *g, const IrNode *n, int i, int64_t h, char *err, size_t errlen) {
  return check_w_hh_of(g, n, i, h, IR_F32, err, errlen);
}

/* The operands of a forward scan, `per` a direction: xproj (T, B, 4H) f32 and w_hh (4H, H), f32
 * (per 2) or i8 with its w_scale (4H) f32 (per 3). Sets *h; the shape of xproj in *x. */
static bool check_scan_operands(const IrGraph *g, const IrNode *n, int per, const int64_t **x, int64_t *h, char *err,
                                size_t errlen) {
  if (n->n_in != per && n->n_in != 2 * per)
    FAIL("takes %s per direction: %d or %d operands, got %d", per == 2 ? "xproj and w_hh" : "xproj, w_hh (i8) and w_scale",
         per, 2 * per, n->n_in);
  CHECK_DTYPE(0, IR_F32);
  CHECK_RANK(0, 3);
  *x = IN_TYPE(0)->shape.dims;
  if ((*x)[2] % 4) FAIL("xproj's last dim (%lld) must be 4H", (long long)(*x)[2]);
  *h = (*x)[2] / 4;
  for (int d = 0; d < n->n_in / per; d++) {
    int i = per * d;
    CHECK_DTYPE(i, IR_F32);
    CHECK_RANK(i, 3);
    const int64_t *xd = IN_TYPE(i)->shape.dims;
    if (xd[0] != (*x)[0] || xd[1] != (*x)[1] || xd[2] != (*x)[2]) FAIL("the directions' xproj shapes differ");
    if (!check_w_hh_of(g, n, i + 1, *h, per == 2 ? IR_F32 : IR_I8, err, errlen)) return false;
    if (per == 2) continue;
    CHECK_DTYPE(i + 2, IR_F32);
    CHECK_RANK(i + 2, 1);
    if (IN_TYPE(i + 2)->shape.dims[0] != 4 * *h)
      FAIL("operand %d (w_scale) must have 4H = %lld elements", i + 3, (long long)(4 * *h));
  }
  return true;
}

bool ir_infer_lstm_scan_i8(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  const int64_t *x;
  int64_t h;
  if (!check_scan_operands(g, n, 3, &x, &h, err, errlen)) return false;
  *out = (IrType){IR_F32, {5, {1, x[0], x[1], n->n_in / 3, h}}};
  return true;
}

bool ir_infer_lstm_scan(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  const int64_t *x;
  int64_t h;
  if (!check_scan_operands(g, n, 2, &x, &h, err, errlen)) return false;
  int64_t save = ATTR(0)->v[0];
  if (save != 0 && save != 1) FAIL("save must be 0 or 1, got %lld", (long long)save);
  *out = (IrType){IR_F32, {5, {save ? LSTM_SLOTS : 1, x[0], x[1], n->n_in / 2, h}}};
  return true;
}

bool ir_infer_lstm_scan_grad(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  if (n->n_in != 3 && n->n_in != 4) FAIL("takes the state, its gradient and w_hh per direction: 3 or 4 operands, got %d", n->n_in);
  for (int i = 0; i < 2; i++) {
    CHECK_DTYPE(i, IR_F32);
    CHECK_RANK(i, 5);
  }
  const int64_t *s = IN_TYPE(0)->shape.dims;
  if (s[0] != LSTM_SLOTS) FAIL("the state must have its %d slots (a scan with save = 1)", LSTM_SLOTS);
  for (int d = 0; d < 5; d++)
    if (IN_TYPE(1)->shape.dims[d] != s[d]) FAIL("the gradient's shape differs from the state's");
  if (s[3] != n->n_in - 2) FAIL("the state has %lld directions, %d w_hh given", (long long)s[3], n->n_in - 2);
  for (int i = 2; i < n->n_in; i++)
    if (!check_w_hh(g, n, i, s[4], err, errlen)) return false;
  *out = (IrType){IR_F32, {4, {s[3], s[1], s[2], 4 * s[4]}}};
  return true;
}
