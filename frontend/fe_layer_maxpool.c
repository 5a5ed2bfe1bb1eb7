/* maxpool: nn.MaxPool2d over a feature map. The stride defaults to the kernel and padded
 * positions never win (-inf), as in PyTorch, which also limits padding to half the kernel. */
#include <cjson/cJSON.h>
#include <string.h>

#include "frontend/fe_layer.h"

static const FeField FIELDS[] = {
    FE_KIND_FIELD,
    FE_NAME_FIELD,
    FE_PAIR_F("kernel", pool.kernel, 1, 64, FE_REQUIRED),
    FE_PAIR_F("stride", pool.stride, 1, 64, 0),
    FE_PAIR_F("padding", pool.padding, 0, 32, 0),
};

static void defaults(FeLayer *l) { l->pool.stride[0] = -1; /* the kernel, once it is known */ }

static void finish(FeCtx *c, FeLayer *l, const FeNode *map) {
  if (l->pool.stride[0] < 0) memcpy(l->pool.stride, l->pool.kernel, sizeof l->pool.stride);
  for (int i = 0; i < 2; i++)
    if (2 * l->pool.padding[i] > l->pool.kernel[i]) {
      fe_error(c, fe_node_get(map, "padding"), "maxpool padding %d must be at most half the kernel (%d)",
               l->pool.padding[i], l->pool.kernel[i]);
      break;
    }
}

static bool infer(FeCtx *c, FeLayer *l) {
  const int *k = l->pool.kernel;
  if (!fe_shape_window(c, l, k, l->pool.stride, l->pool.padding, l->in.dims[0])) return false;
  l->flops = (double)fe_shape_numel(l->out) * k[0] * k[1];
  return true;
}

static IrId lower(FeLowerCtx *c, const FeLayer *l, IrId x) {
  const int *k = l->pool.kernel, *s = l->pool.stride, *p = l->pool.padding;
  IrPoolSpec spec = {{k[0], k[1]}, {s[0], s[1]}, {p[0], p[1], p[0], p[1]}};
  return ir_maxpool2d(c->g, x, spec);
}

static void json(const FeLayer *l, cJSON *o) {
  cJSON_AddItemToObject(o, "kernel", cJSON_CreateIntArray(l->pool.kernel, 2));
  cJSON_AddItemToObject(o, "stride", cJSON_CreateIntArray(l->pool.stride, 2));
  cJSON_AddItemToObject(o, "padding", cJSON_CreateIntArray(l->pool.padding, 2));
}

const FeLayerClass fe_layer_maxpool = {
    .schema = FE_SCHEMA("maxpool layer", FIELDS),
    .defaults = defaults,
    .finish = finish,
    .input = FE_INPUT_MAP,
    .infer = infer,
    .lower = lower,
    .json = json,
};
