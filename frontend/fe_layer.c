/* The layer table (fe_layer.h): one row per FeLayerKind, each defined in its kind's file. A kind
 * added to FE_LAYER_KINDS without a row here fails to compile (the static_assert on the count)
 * or, when a row in the middle is left out, fails fe_layer_table_check in test_frontend_layer. */
#include "frontend/fe_layer.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "support/rt_assert.h"

#define FE_LAYER_KIND_NAME_(id, name) name,
const char *const FE_LAYER_KIND_NAMES[FE_LAYER_KIND_COUNT] = {FE_LAYER_KINDS(FE_LAYER_KIND_NAME_)};
#undef FE_LAYER_KIND_NAME_

static const FeLayerClass *const LAYERS[] = {
    [FE_LAYER_CONV2D] = &fe_layer_conv2d,
    [FE_LAYER_BATCHNORM] = &fe_layer_batchnorm,
    [FE_LAYER_RELU] = &fe_layer_relu,
    [FE_LAYER_MAXPOOL] = &fe_layer_maxpool,
    [FE_LAYER_DROPOUT] = &fe_layer_dropout,
    [FE_LAYER_COLLAPSE_HEIGHT] = &fe_layer_collapse_height,
    [FE_LAYER_LSTM] = &fe_layer_lstm,
    [FE_LAYER_LINEAR] = &fe_layer_linear,
    [FE_LAYER_ATTENTION] = &fe_layer_attention,
    [FE_LAYER_CTC] = &fe_layer_ctc,
};
static_assert(sizeof LAYERS / sizeof LAYERS[0] == FE_LAYER_KIND_COUNT, "a layer kind has no row in LAYERS");
const FeLayerClass *const *const FE_LAYERS = LAYERS;

/* What is wrong with row k, or NULL. */
static const char *row_problem(const FeLayerClass *r, int k) {
  const char *name = FE_LAYER_KIND_NAMES[k];
  size_t len = strlen(name);
  if (!r) return "has no row";
  if (!r->schema.what || strncmp(r->schema.what, name, len) != 0 || r->schema.what[len] != ' ')
    return "has a schema not named after the kind";
  if (r->schema.count < 1 || strcmp(r->schema.fields[0].key, "kind") != 0)
    return "has a schema without its 'kind' key first";
  if (!r->infer || !r->lower) return "lacks infer or lower";
  if (r->head && !r->loss) return "is a head without a loss";
  if (!r->head && (r->loss || r->batch_major || r->ctc || r->end_tokens))
    return "is an encoder layer with head fields";
  return NULL;
}

const char *fe_layer_table_check(const FeLayerClass *const *table, int count, char *why, size_t size) {
  if (count != FE_LAYER_KIND_COUNT) {
    snprintf(why, size, "the table has %d rows for %d layer kinds", count, FE_LAYER_KIND_COUNT);
    return why;
  }
  for (int k = 0; k < count; k++) {
    const char *problem = row_problem(table[k], k);
    if (problem) {
      snprintf(why, size, "layer kind '%s' %s", FE_LAYER_KIND_NAMES[k], problem);
      return why;
    }
  }
  return NULL;
}

int fe_layer_params(const FeLayer *l, FeParamInfo *out) {
  const FeLayerClass *k = fe_layer_class(l->kind);
  int n = k->params ? k->params(l, out) : 0;
  RT_ASSERT(n <= FE_LAYER_MAX_PARAMS, "layer %s has %d parameters", l->name, n);
  return n;
}

FeTrainInputs fe_preset_train_inputs(const FePreset *p) {
  FeTrainInputs need = {false, false};
  for (int i = 0; i < p->layer_count; i++) {
    const FeLayerClass *k = fe_layer_class(p->layers[i].kind);
    if (k->train_inputs) k->train_inputs(&p->layers[i], &need);
  }
  return need;
}
