/* dropout: nn.Dropout, inverted (x * keep / (1 - p)) in TRAIN and the identity otherwise. A layer
 * without `rate` uses the experiment's `dropout` setting, a runtime input of the TRAIN graph, so
 * one compiled step serves every rate of a sweep. */
#include <cjson/cJSON.h>

#include "frontend/fe_layer.h"
#include "support/rt_assert.h"

static const FeField FIELDS[] = {FE_KIND_FIELD, FE_NAME_FIELD,
                                 FE_NUM_F("rate", dropout.rate, 0, 1, FE_OPEN_MAX)};

static void defaults(FeLayer *l) { l->dropout.rate = -1; /* not given: from the experiment */ }

static void finish(FeCtx *c, FeLayer *l, const FeNode *map) {
  l->dropout.from_config = l->dropout.rate < 0;
  if (l->dropout.from_config) l->dropout.rate = 0;
}

static bool infer(FeCtx *c, FeLayer *l) {
  l->flops = (double)fe_shape_numel(l->in);
  return true;
}

/* Each layer draws from its own stream (its index in the preset) of the per-step `seed`, so two
 * layers never share a mask. */
static IrId lower(FeLowerCtx *c, const FeLayer *l, IrId x) {
  if (!c->train || (!l->dropout.from_config && l->dropout.rate == 0)) return x;
  IrId p = l->dropout.from_config ? c->io->dropout : ir_scalar(c->g, l->dropout.rate);
  RT_ASSERT(p != IR_NONE && c->io->seed != IR_NONE, "dropout inputs missing");
  return ir_dropout(c->g, x, p, c->io->seed, c->layer);
}

static void train_inputs(const FeLayer *l, FeTrainInputs *need) {
  need->dropout |= l->dropout.from_config;
  need->seed |= l->dropout.from_config || l->dropout.rate > 0;
}

static void json(const FeLayer *l, cJSON *o) {
  if (l->dropout.from_config) cJSON_AddStringToObject(o, "rate", "experiment");
  else cJSON_AddNumberToObject(o, "rate", l->dropout.rate);
}

const FeLayerClass fe_layer_dropout = {
    .schema = FE_SCHEMA("dropout layer", FIELDS),
    .defaults = defaults,
    .finish = finish,
    .input = FE_INPUT_ANY,
    .infer = infer,
    .lower = lower,
    .train_inputs = train_inputs,
    .json = json,
};
