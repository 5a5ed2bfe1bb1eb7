/* A preset's network as canonical JSON (fe_preset.h): every resolved field of every layer, in
 * order, with no comments, formatting or file names. Experiments record it in their settings, so
 * an edit that changes the network is a change of settings (resume refuses it, a sweep starts the
 * run over) while one that changes only comments or layout is not. Each kind writes its own
 * options (the json entry of its layer-table row). */
#include <cjson/cJSON.h>

#include "frontend/fe_layer.h"
#include "frontend/fe_preset.h"

static cJSON *layer_json(const FeLayer *l) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "kind", FE_LAYER_KIND_NAMES[l->kind]);
  cJSON_AddStringToObject(o, "name", l->name);
  const FeLayerClass *k = fe_layer_class(l->kind);
  if (k->json) k->json(l, o); /* relu, collapse_height: nothing to set */
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
