/* VJP rule of lstm_scan (ir/eval_recurrent.c). The gradient of xproj is lstm_scan_grad over the
 * saved state (a scan with save = 0 is run again with save = 1 for it: the training graph asks
 * for save = 1 from the start, so only hand-written IR pays that). The gradient of W_hh[d] is
 * then one matmul over all steps at once, sum_t da_t^T h_prev(t): the gate gradients (T*B, 4H)
 * against the hidden states (T*B, H) shifted one step back in the direction's own time. */
#include "ir/ir_builder.h"
#include "ir/ir_impl.h"

enum { SLOTS = 6 };

/* h_prev of direction d as (T*B, H): h(t-1) forwards, h(t+1) backwards, zeros at the start. */
static IrId previous_hidden(IrGraph *g, IrId state, int64_t d, int64_t T, int64_t B, int64_t D, int64_t H) {
  int64_t start[5] = {0, 0, 0, d, 0}, end[5] = {1, T, B, d + 1, H};
  IrId h = ir_reshape(g, ir_slice(g, state, start, end, NULL), IR_SHAPE(T, B, H));
  int64_t none[3] = {0, 0, 0}, one[3] = {1, 0, 0};
  IrId shifted = d == 0 ? ir_pad(g, ir_slice_axis(g, h, 0, 0, T - 1), one, none)
                        : ir_pad(g, ir_slice_axis(g, h, 0, 1, T), none, one);
  return ir_reshape(g, shifted, IR_SHAPE(T * B, H));
}

void ir_vjp_lstm_scan(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  const IrNode *n = ir_node(g, id);
  IrId x = n->in[0], w = n->in[1];
  const int64_t *xd = ir_type_of(g, x)->shape.dims;
  int64_t T = xd[0], B = xd[1], D = xd[2], H = ir_type_of(g, w)->shape.dims[2];
  IrId state = id, g_state = gout;
  if (n->attr[0].v[0] == 0) {
    state = ir_lstm_scan(g, x, w, true);
    int64_t before[5] = {0}, after[5] = {SLOTS - 1, 0, 0, 0, 0};
    g_state = ir_pad(g, gout, before, after);
  }
  IrId da = ir_lstm_scan_grad(g, state, w, g_state);
  if (need[0]) grad_in[0] = da;
  if (!need[1] || T == 1) return; /* one step never multiplies by W_hh */
  IrId parts[2];
  for (int64_t d = 0; d < D; d++) {
    int64_t start[4] = {0, 0, d, 0}, end[4] = {T, B, d + 1, 4 * H};
    IrId da_d = ir_reshape(g, ir_slice(g, da, start, end, NULL), IR_SHAPE(T * B, 4 * H));
    IrId dw = ir_matmul(g, da_d, previous_hidden(g, state, d, T, B, D, H), true, false);
    parts[d] = ir_reshape(g, dw, IR_SHAPE(1, 4 * H, H));
  }
  grad_in[1] = D == 1 ? parts[0] : ir_concat(g, 2, parts, 0);
}
