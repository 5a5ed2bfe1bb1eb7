/* linear: nn.Linear applied to every step of a sequence, y = x W^T + b, W (features, in) and b
 * with PyTorch's default init U(-1/sqrt(in), 1/sqrt(in)). */
#include <cjson/cJSON.h>
#include <math.h>

#include "frontend/fe_layer.h"

static const FeField FIELDS[] = {
    FE_KIND_FIELD,
    FE_NAME_FIELD,
    FE_INT_F("features", linear.features, 1, 1 << 20, FE_REQUIRED),
    FE_BOOL_F("bias", linear.bias),
};

static void defaults(FeLayer *l) { l->linear.bias = true; }

static bool infer(FeCtx *c, FeLayer *l) {
  FeShape in = l->in;
  l->out = (FeShape){2, {in.dims[0], l->linear.features}};
  l->flops = (double)in.dims[0] * l->linear.features * (2.0 * in.dims[1] + (l->linear.bias ? 1 : 0));
  return true;
}

static int params(const FeLayer *l, FeParamInfo *out) {
  int n = 0;
  double b = 1 / sqrt((double)l->in.dims[1]);
  FE_PARAM("weight", FE_INIT_UNIFORM, b, l->linear.features, l->in.dims[1]);
  out[n - 1].product_weight = true;
  if (l->linear.bias) FE_PARAM("bias", FE_INIT_UNIFORM, b, l->linear.features);
  return n;
}

static IrId lower(FeLowerCtx *c, const FeLayer *l, IrId x) {
  IrId b = l->linear.bias ? fe_lower_param(c, l, "bias") : IR_NONE;
  return fe_lower_affine(c, x, fe_lower_param(c, l, "weight"), b);
}

static void json(const FeLayer *l, cJSON *o) {
  cJSON_AddNumberToObject(o, "features", l->linear.features);
  cJSON_AddBoolToObject(o, "bias", l->linear.bias);
}

const FeLayerClass fe_layer_linear = {
    .schema = FE_SCHEMA("linear layer", FIELDS),
    .defaults = defaults,
    .input = FE_INPUT_SEQUENCE,
    .infer = infer,
    .params = params,
    .lower = lower,
    .json = json,
};
