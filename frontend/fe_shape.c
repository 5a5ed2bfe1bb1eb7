/* Shapes, parameters and FLOPs of preset layers: the walk from the input image to the head through
 * the layer table. Losses are not counted in FLOPs. Parameter layouts, initial distributions
 * and per-kind shapes and FLOPs are in each kind's file (fe_layer_*.c). */
#include "frontend/fe_shape.h"

#include "frontend/fe_layer.h"
#include "support/rt_assert.h"

/* Reports a layer whose input is not the kind of tensor its row accepts. */
static bool input_fits(FeCtx *c, const FeLayer *l, FeLayerInput need) {
  char got[64];
  if (need == FE_INPUT_MAP && l->in.rank != 3) {
    fe_shape_error(c, l, "needs a feature map (C, H, W), but its input is already a sequence (T, F) = %s",
                   fe_shape_format(l->in, 0, got, sizeof got));
    return false;
  }
  if (need == FE_INPUT_SEQUENCE && l->in.rank != 2) {
    fe_shape_error(c, l, "needs a sequence (T, F), but its input is a feature map (C, H, W) = %s; "
                   "add a collapse_height layer before it", fe_shape_format(l->in, 0, got, sizeof got));
    return false;
  }
  return true;
}

bool fe_preset_infer(FePreset *p, FeCtx *c) {
  FeShape cur = {3, {p->channels, p->height, p->width}};
  p->params = 0;
  p->flops = 0;
  for (int i = 0; i < p->layer_count; i++) {
    FeLayer *l = &p->layers[i];
    const FeLayerClass *k = fe_layer_class(l->kind);
    if (k->resolve && !k->resolve(c, l, p->width_multiplier)) return false;
    l->in = cur;
    if (!input_fits(c, l, k->input)) return false;
    l->out = l->in;
    if (!k->infer(c, l)) return false;
    FeParamInfo info[FE_LAYER_MAX_PARAMS];
    int n = fe_layer_params(l, info);
    for (int j = 0; j < n; j++) {
      int64_t size = 1;
      for (int d = 0; d < info[j].rank; d++) size *= info[j].dims[d];
      l->params += size;
    }
    p->params += l->params;
    p->flops += l->flops;
    cur = l->out;
  }
  return true;
}
