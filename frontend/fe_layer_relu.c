/* relu: max(x, 0) elementwise, on a feature map or a sequence; no options, no parameters. */
#include "frontend/fe_layer.h"

static const FeField FIELDS[] = {FE_KIND_FIELD, FE_NAME_FIELD};

static bool infer(FeCtx *c, FeLayer *l) {
  l->flops = (double)fe_shape_numel(l->in);
  return true;
}

static IrId lower(FeLowerCtx *c, const FeLayer *l, IrId x) { return ir_relu(c->g, x); }

const FeLayerClass fe_layer_relu = {
    .schema = FE_SCHEMA("relu layer", FIELDS),
    .input = FE_INPUT_ANY,
    .infer = infer,
    .lower = lower,
};
