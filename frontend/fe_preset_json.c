/* A preset's network as canonical JSON (fe_preset.h): every resolved field of every layer, in
 * order, with no comments, formatting or file names. Experiments record it in their settings, so
 * an edit that changes the network is a change of settings (resume refuses it, a sweep starts the
 * run over) while one that changes only comments or layout is not. */
#include <cjson/cJSON.h>

#include "frontend/fe_preset.h"

static cJSON *pair(const int v[2]) { return cJSON_CreateIntArray(v, 2); }

static cJSON *layer_json(const FeLayer *l) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "kind", FE_LAYER_KIND_NAMES[l->kind]);
  cJSON_AddStringToObject(o, "name", l->name);
  switch (l->kind) {
    case FE_LAYER_CONV2D:
      cJSON_AddNumberToObject(o, "channels", l->conv.channels);
      cJSON_AddItemToObject(o, "kernel", pair(l->conv.kernel));
      cJSON_AddItemToObject(o, "stride", pair(l->conv.stride));
      cJSON_AddItemToObject(o, "padding", pair(l->conv.padding));
      cJSON_AddBoolToObject(o, "bias", l->conv.bias);
      break;
    case FE_LAYER_BATCHNORM:
      cJSON_AddNumberToObject(o, "eps", l->bn.eps);
      cJSON_AddNumberToObject(o, "momentum", l->bn.momentum);
      break;
    case FE_LAYER_MAXPOOL:
      cJSON_AddItemToObject(o, "kernel", pair(l->pool.kernel));
      cJSON_AddItemToObject(o, "stride", pair(l->pool.stride));
      cJSON_AddItemToObject(o, "padding", pair(l->pool.padding));
      break;
    case FE_LAYER_DROPOUT:
      if (l->dropout.from_config) cJSON_AddStringToObject(o, "rate", "experiment");
      else cJSON_AddNumberToObject(o, "rate", l->dropout.rate);
      break;
    case FE_LAYER_LSTM:
      cJSON_AddNumberToObject(o, "hidden", l->lstm.hidden);
      cJSON_AddNumberToObject(o, "layers", l->lstm.layers);
      cJSON_AddBoolToObject(o, "bidirectional", l->lstm.bidirectional);
      break;
    case FE_LAYER_LINEAR:
      cJSON_AddNumberToObject(o, "features", l->linear.features);
      cJSON_AddBoolToObject(o, "bias", l->linear.bias);
      break;
    case FE_LAYER_ATTENTION:
      cJSON_AddNumberToObject(o, "embedding", l->head.embedding);
      cJSON_AddNumberToObject(o, "attention", l->head.attention);
      cJSON_AddNumberToObject(o, "hidden", l->head.hidden);
      /* fall through */
    case FE_LAYER_CTC:
      cJSON_AddNumberToObject(o, "symbols", l->head.symbols);
      cJSON_AddNumberToObject(o, "max_length", l->head.max_length);
      break;
    default: /* relu, collapse_height: nothing to set */
      break;
  }
  return o;
}

cJSON *fe_preset_json(const FePreset *p) {
  cJSON *o = cJSON_CreateObject();
  int input[3] = {p->channels, p->height, p->width};
  cJSON_AddItemToObject(o, "input", cJSON_CreateIntArray(input, 3));
  cJSON *layers = cJSON_AddArrayToObject(o, "layers");
  for (int i = 0; i < p->layer_count; i++) cJSON_AddItemToArray(layers, layer_json(&p->layers[i]));
  return o;
}
