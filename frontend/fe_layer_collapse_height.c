/* collapse_height: a feature map of height 1 (C, 1, W) becomes the sequence (T = W, F = C),
 * PyTorch's squeeze(2).transpose(1, 2); lowered time-major so that each step is a contiguous
 * block of rows. No options, no parameters, no FLOPs. */
#include "frontend/fe_layer.h"

static const FeField FIELDS[] = {FE_KIND_FIELD, FE_NAME_FIELD};

static bool infer(FeCtx *c, FeLayer *l) {
  char got[64];
  FeShape in = l->in;
  if (in.dims[1] != 1) {
    fe_shape_error(c, l, "needs a feature map of height 1, but its input is (C, H, W) = %s; "
                   "pool or convolve the height down to 1 first", fe_shape_format(in, 0, got, sizeof got));
    return false;
  }
  l->out = (FeShape){2, {in.dims[2], in.dims[0]}};
  return true;
}

/* (B, C, 1, W) -> (W, B, C) -> time-major (W*B, C). */
static IrId lower(FeLowerCtx *c, const FeLayer *l, IrId x) {
  IrGraph *g = c->g;
  int C = l->in.dims[0], W = l->in.dims[2], B = c->batch;
  IrId t = ir_transpose(g, ir_reshape(g, x, IR_SHAPE(B, C, W)), 3, (int[]){2, 0, 1}); /* (W, B, C) */
  return ir_reshape(g, t, IR_SHAPE((int64_t)W * B, C));
}

const FeLayerClass fe_layer_collapse_height = {
    .schema = FE_SCHEMA("collapse_height layer", FIELDS),
    .input = FE_INPUT_MAP,
    .infer = infer,
    .lower = lower,
};
