/* lstm: nn.LSTM (Hochreiter & Schmidhuber 1997) over a sequence, stacked and optionally
 * bidirectional. Per layer, the input projection of all T steps and both directions is ONE
 * matmul, and the recurrence of all steps and directions one lstm_scan op (ir/eval_recurrent.c;
 * compiled, the directions run on two threads and W_hh stays in cache across steps). One bias
 * per gate set where PyTorch has b_ih + b_hh; gate blocks are ordered i, f, g, o. */
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
      out[n - 1].product_weight = true;
      snprintf(name, sizeof name, "l%d.%s.w_hh", layer, d);
      FE_PARAM(name, FE_INIT_UNIFORM, b, 4 * h, h);
      out[n - 1].recurrent_weight = true;
      snprintf(name, sizeof name, "l%d.%s.b", layer, d);
      FE_PARAM(name, FE_INIT_UNIFORM, b, 4 * h);
      out[n - 1].lstm_bias = true;
    }
  return n;
}

/* One layer, every direction, over the whole sequence x (T*B, in) -> (T*B, D*h): per direction
 * the input projection of all steps as ONE matmul (T*B, in) x (in, 4h) plus the bias, then the
 * recurrence of all directions as one lstm_scan (saving its gates for the gradient when
 * training). */
static IrId lower_layer(FeLowerCtx *c, const FeLayer *l, IrId x, int layer) {
  IrGraph *g = c->g;
  int64_t T = l->in.dims[0], B = c->batch, h = l->lstm.hidden;
  int dirs = l->lstm.bidirectional ? 2 : 1;
  IrId xproj[2], w_hh[2];
  for (int d = 0; d < dirs; d++) {
    char name[3][64];
    const char *what[3] = {"weight_ih", "weight_hh", "bias"};
    for (int i = 0; i < 3; i++) snprintf(name[i], sizeof name[i], "l%d%s.%s", layer, d ? "_reverse" : "", what[i]);
    IrId proj = fe_lower_affine(c, x, fe_lower_param(c, l, name[0]), fe_lower_param(c, l, name[2]));
    xproj[d] = ir_reshape(g, proj, IR_SHAPE(T, B, 4 * h));
    w_hh[d] = fe_lower_param(c, l, name[1]);
  }
  IrId scan;
  if (ir_type_of(g, w_hh[0])->dtype == IR_I8) { /* int8 inference: its scales beside it */
    IrId scale[2];
    for (int d = 0; d < dirs; d++) scale[d] = fe_lower_param_beside(c, w_hh[d], "scale");
    scan = ir_lstm_scan_i8(g, dirs, xproj, w_hh, scale);
  } else {
    scan = ir_lstm_scan(g, dirs, xproj, w_hh, c->train);
  }
  IrId hs = ir_slice(g, scan, (int64_t[]){0, 0, 0, 0, 0}, (int64_t[]){1, T, B, dirs, h}, NULL);
  return ir_reshape(g, hs, IR_SHAPE(T * B, dirs * h));
}

/* Stacked layers; a bidirectional layer's output per step is [forward | reverse] features. */
static IrId lower(FeLowerCtx *c, const FeLayer *l, IrId x) {
  for (int layer = 0; layer < l->lstm.layers && x != IR_NONE; layer++) x = lower_layer(c, l, x, layer);
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
