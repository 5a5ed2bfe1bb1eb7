/* conv2d: nn.Conv2d. Channels are scaled by the preset's width multiplier unless `scaled: false`;
 * the weight is (out, in, kh, kw) with PyTorch's default init U(-1/sqrt(fan_in), 1/sqrt(fan_in))
 * for weight and bias. */
#include <cjson/cJSON.h>
#include <math.h>

#include "frontend/fe_layer.h"

static const FeField FIELDS[] = {
    FE_KIND_FIELD,
    FE_NAME_FIELD,
    FE_INT_F("channels", conv.channels, 1, 65536, FE_REQUIRED),
    FE_PAIR_F("kernel", conv.kernel, 1, 64, 0),
    FE_PAIR_F("stride", conv.stride, 1, 64, 0),
    FE_PAIR_F("padding", conv.padding, 0, 64, 0),
    FE_BOOL_F("bias", conv.bias),
    FE_BOOL_F("scaled", conv.scaled),
};

static void defaults(FeLayer *l) {
  l->conv.kernel[0] = l->conv.kernel[1] = 3;
  l->conv.stride[0] = l->conv.stride[1] = 1;
  l->conv.bias = l->conv.scaled = true;
}

static bool resolve(FeCtx *c, FeLayer *l, double width_multiplier) {
  if (!l->conv.scaled) return true;
  /* Python's int(x * width): truncation of the same double product. */
  double scaled = floor((double)l->conv.channels * width_multiplier);
  if (scaled < 1) {
    rt_diag_error(c->diags, c->file, l->loc.line, l->loc.col, "%s has %d channels x width_multiplier %g = 0 channels",
                  l->name, l->conv.channels, width_multiplier);
    return false;
  }
  l->conv.channels = (int)scaled;
  return true;
}

static bool infer(FeCtx *c, FeLayer *l) {
  const int *k = l->conv.kernel;
  if (!fe_shape_window(c, l, k, l->conv.stride, l->conv.padding, l->conv.channels)) return false;
  double outs = (double)fe_shape_numel(l->out);
  l->flops = outs * (2.0 * l->in.dims[0] * k[0] * k[1] + (l->conv.bias ? 1 : 0));
  return true;
}

static int params(const FeLayer *l, FeParamInfo *out) {
  int n = 0;
  const int *in = l->in.dims;
  double b = 1 / sqrt((double)in[0] * l->conv.kernel[0] * l->conv.kernel[1]);
  FE_PARAM("weight", FE_INIT_UNIFORM, b, l->conv.channels, in[0], l->conv.kernel[0], l->conv.kernel[1]);
  out[n - 1].product_weight = true;
  if (l->conv.bias) FE_PARAM("bias", FE_INIT_UNIFORM, b, l->conv.channels);
  return n;
}

static IrId lower(FeLowerCtx *c, const FeLayer *l, IrId x) {
  IrGraph *g = c->g;
  const int *s = l->conv.stride, *p = l->conv.padding;
  IrConvSpec spec = {{s[0], s[1]}, {p[0], p[1], p[0], p[1]}, {1, 1}};
  IrId y = fe_lower_conv(c, x, fe_lower_param(c, l, "weight"), spec);
  if (!l->conv.bias) return y;
  IrId b = ir_reshape(g, fe_lower_param(c, l, "bias"), IR_SHAPE(l->conv.channels, 1, 1));
  return ir_add(g, y, b);
}

static void json(const FeLayer *l, cJSON *o) {
  cJSON_AddNumberToObject(o, "channels", l->conv.channels);
  cJSON_AddItemToObject(o, "kernel", cJSON_CreateIntArray(l->conv.kernel, 2));
  cJSON_AddItemToObject(o, "stride", cJSON_CreateIntArray(l->conv.stride, 2));
  cJSON_AddItemToObject(o, "padding", cJSON_CreateIntArray(l->conv.padding, 2));
  cJSON_AddBoolToObject(o, "bias", l->conv.bias);
}

const FeLayerClass fe_layer_conv2d = {
    .schema = FE_SCHEMA("conv2d layer", FIELDS),
    .defaults = defaults,
    .input = FE_INPUT_MAP,
    .resolve = resolve,
    .infer = infer,
    .params = params,
    .lower = lower,
    .json = json,
};
