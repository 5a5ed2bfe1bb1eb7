/* Lowering of LSTMs as unrolled cells (Hochreiter & Schmidhuber 1997, PyTorch's nn.LSTM):
 * per layer and direction, the input projection of all T steps is ONE matmul (T*B, in) x
 * (in, 4h) plus the bias, then each step adds h_{t-1} W_hh^T and applies the cell. Every step has
 * the same ops and shapes (h_{-1} = c_{-1} = zeros of shape (B, h), no special first step), so
 * the backend emits each step's kernels once. One bias per gate set (PyTorch's b_ih + b_hh). */
#include <stdio.h>
#include <stdlib.h>

#include "frontend/fe_lower_impl.h"
#include "runtime/rt_assert.h"

/* i = sigma(a_i), f = sigma(a_f), g = tanh(a_g), o = sigma(a_o); c' = f c + i g; h' = o tanh(c'). */
void fe_lower_lstm_cell(IrGraph *g, IrId gates, IrId c_prev, int hidden, IrId *h_out, IrId *c_out) {
  int64_t h = hidden;
  IrId i = ir_sigmoid(g, ir_slice_axis(g, gates, 1, 0, h));
  IrId f = ir_sigmoid(g, ir_slice_axis(g, gates, 1, h, 2 * h));
  IrId gg = ir_tanh(g, ir_slice_axis(g, gates, 1, 2 * h, 3 * h));
  IrId o = ir_sigmoid(g, ir_slice_axis(g, gates, 1, 3 * h, 4 * h));
  *c_out = ir_add(g, ir_mul(g, f, c_prev), ir_mul(g, i, gg));
  *h_out = ir_mul(g, o, ir_tanh(g, *c_out));
}

/* One direction over the whole sequence x (T*B, in) -> (T*B, h), outputs in time order. */
static IrId lstm_direction(FeLowerCtx *c, const FeLayer *l, IrId x, int layer, bool reverse, IrId zeros) {
  IrGraph *g = c->g;
  int T = l->in.dims[0], B = c->batch, h = l->lstm.hidden;
  char name[64];
  const char *dir = reverse ? "_reverse" : "";
  snprintf(name, sizeof name, "l%d%s.weight_ih", layer, dir);
  IrId w_ih = fe_lower_param(c, l, name);
  snprintf(name, sizeof name, "l%d%s.weight_hh", layer, dir);
  IrId w_hh = fe_lower_param(c, l, name);
  snprintf(name, sizeof name, "l%d%s.bias", layer, dir);
  IrId xproj = fe_lower_affine(g, x, w_ih, fe_lower_param(c, l, name)); /* (T*B, 4h) */
  IrId *hs = rt_xmalloc((size_t)T * sizeof *hs);
  IrId hprev = zeros, cprev = zeros;
  for (int s = 0; s < T; s++) {
    int t = reverse ? T - 1 - s : s;
    IrId xt = ir_slice_axis(g, xproj, 0, (int64_t)t * B, (int64_t)(t + 1) * B);
    IrId gates = ir_add(g, xt, ir_matmul(g, hprev, w_hh, false, true));
    fe_lower_lstm_cell(g, gates, cprev, h, &hprev, &cprev);
    hs[t] = hprev;
  }
  IrId out = ir_concat(g, T, hs, 0);
  free(hs);
  return out;
}

/* Stacked layers; a bidirectional layer's output per step is [forward | reverse] features. */
IrId fe_lower_lstm(FeLowerCtx *c, const FeLayer *l, IrId x) {
  IrId zeros = ir_const_fill(c->g, IR_F32, IR_SHAPE(c->batch, l->lstm.hidden), 0.0);
  for (int layer = 0; layer < l->lstm.layers && x != IR_NONE; layer++) {
    IrId fwd = lstm_direction(c, l, x, layer, false, zeros);
    if (!l->lstm.bidirectional) {
      x = fwd;
      continue;
    }
    IrId both[2] = {fwd, lstm_direction(c, l, x, layer, true, zeros)};
    x = ir_concat(c->g, 2, both, 1);
  }
  return x;
}
