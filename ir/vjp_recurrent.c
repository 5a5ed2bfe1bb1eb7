/* VJP rule of lstm_scan (ir/eval_recurrent.c). The gradients of the xproj_d are lstm_scan_grad
 * over the saved state (a scan with save = 0 is run again with save = 1 for it: the training
 * graph asks for save = 1 from the start, so only hand-written IR pays that). The gradient of
 * W_hh_d is then one matmul over all steps at once, sum_t da_t^T h_prev(t): the direction's gate
 * gradients (T*B, 4H) against its hidden states (T*B, H) shifted one step back in its own time. */
#include "ir/ir_builder.h"
#include "ir/ir_impl.h"

enum { SLOTS = 6 };

/* h_prev of direction d as (T*B, H): h(t-1) forwards, h(t+1) backwards, zeros at the start. */
static IrId previous_hidden(IrGraph *g, IrId state, int64_t d, int64_t T, int64_t B, int64_t H) {
  int64_t start[5] = {0, 0, 0, d, 0}, end[5] = {1, T, B, d + 1, H};
  IrId h = ir_reshape(g, ir_slice(g, state, start, end, NULL), IR_SHAPE(T, B, H));
  int64_t none[3] = {0, 0, 0}, one[3] = {1, 0, 0};
  IrId shifted = d == 0 ? ir_pad(g, ir_slice_axis(g, h, 0, 0, T - 1), one, none)
                        : ir_pad(g, ir_slice_axis(g, h, 0, 1, T), none, one);
  return ir_reshape(g, shifted, IR_SHAPE(T * B, H));
}

void ir_vjp_lstm_scan(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  const IrNode *n = ir_node(g, id);
  int dirs = n->n_in / 2;
  IrId x[2], w[2];
  for (int d = 0; d < dirs; d++) x[d] = n->in[2 * d], w[d] = n->in[2 * d + 1];
  const int64_t *xd = ir_type_of(g, x[0])->shape.dims;
  int64_t T = xd[0], B = xd[1], H = xd[2] / 4;
  IrId state = id, g_state = gout;
  if (n->attr[0].v[0] == 0) {
    state = ir_lstm_scan(g, dirs, x, w, true);
    int64_t before[5] = {0}, after[5] = {SLOTS - 1, 0, 0, 0, 0};
    g_state = ir_pad(g, gout, before, after);
  }
  IrId da = ir_lstm_scan_grad(g, state, g_state, dirs, w);
  for (int d = 0; d < dirs; d++) {
    IrId da_d = ir_reshape(g, ir_slice_axis(g, da, 0, d, d + 1), IR_SHAPE(T, B, 4 * H));
    if (need[2 * d]) grad_in[2 * d] = da_d;
    if (need[2 * d + 1] && T > 1) /* one step never multiplies by W_hh */
      grad_in[2 * d + 1] = ir_matmul(g, ir_reshape(g, da_d, IR_SHAPE(T * B, 4 * H)), previous_hidden(g, state, d, T, B, H),
                                     true, false);
  }
}
