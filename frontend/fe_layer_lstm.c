/* lstm: nn.LSTM (Hochreiter & Schmidhuber 1997) over a sequence, stacked and optionally
 * bidirectional, lowered as unrolled cells: per layer and direction, the input projection of all
 * T steps is ONE matmul (T*B, in) x (in, 4h) plus the bias, then each step adds h_{t-1} W_hh^T
 * and applies the cell. Every step has the same ops and shapes (h_{-1} = c_{-1} = zeros of shape
 * (B, h), no special first step), so the backend emits each step's kernels once. One bias per
 * gate set where PyTorch has b_ih + b_hh; gate blocks are ordered i, f, g, o. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "frontend/fe_layer.h"
#include "support/rt_assert.h"

static const FeField FIELDS[] = {
    FE_KIND_FIELD,
    FE_NAME_FIELD,
    FE_INT_F("hidden", lstm.hidden, 1, 16384, FE_REQUIRED),
    FE_INT_F("layers", lstm.layers, 1, FE_LSTM_MAX_LAYERS, 0),
    FE_BOOL_F("bidirectional", lstm.bidirectional),
};

static void defaults(FeLayer *l) { l->lstm.layers = 1; }

static bool infer(FeCtx *c, FeLayer *l) {
  FeShape in = l->in;
  int h = l->lstm.hidden, dirs = l->lstm.bidirectional ? 2 : 1;
  for (int layer = 0; layer < l->lstm.layers; layer++)
    l->flops += (double)in.dims[0] * dirs * fe_lstm_step_flops(layer ? h * dirs : in.dims[1], h);
  l->out = (FeShape){2, {in.dims[0], h * dirs}};
  return true;
}

/* Per layer and direction: w_ih (4h, in), w_hh (4h, h), b (4h), all U(-1/sqrt(h), 1/sqrt(h)). */
static int params(const FeLayer *l, FeParamInfo *out) {
  int n = 0;
  int h = l->lstm.hidden, dirs = l->lstm.bidirectional ? 2 : 1;
  double b = 1 / sqrt((double)h);
  for (int layer = 0; layer < l->lstm.layers; layer++)
    for (int dir = 0; dir < dirs; dir++) {
      char name[32];
      const char *d = dir ? "reverse" : "forward";
      snprintf(name, sizeof name, "l%d.%s.w_ih", layer, d);
      FE_PARAM(name, FE_INIT_UNIFORM, b, 4 * h, layer ? h * dirs : l->in.dims[1]);
      snprintf(name, sizeof name, "l%d.%s.w_hh", layer, d);
      FE_PARAM(name, FE_INIT_UNIFORM, b, 4 * h, h);
      snprintf(name, sizeof name, "l%d.%s.b", layer, d);
      FE_PARAM(name, FE_INIT_UNIFORM, b, 4 * h);
      out[n - 1].lstm_bias = true;
    }
  return n;
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
static IrId lower(FeLowerCtx *c, const FeLayer *l, IrId x) {
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

static void json(const FeLayer *l, cJSON *o) {
  cJSON_AddNumberToObject(o, "hidden", l->lstm.hidden);
  cJSON_AddNumberToObject(o, "layers", l->lstm.layers);
  cJSON_AddBoolToObject(o, "bidirectional", l->lstm.bidirectional);
}

const FeLayerClass fe_layer_lstm = {
    .schema = FE_SCHEMA("lstm layer", FIELDS),
    .defaults = defaults,
    .input = FE_INPUT_SEQUENCE,
    .infer = infer,
    .params = params,
    .lower = lower,
    .json = json,
};
