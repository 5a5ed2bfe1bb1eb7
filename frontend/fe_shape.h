/* Shape inference for presets (internal to the frontend): walks the decoded layer list from the
 * input image to the head, applying the width multiplier, computing every layer's input and
 * output shape (each kind's infer in the layer table, fe_layer.h), its parameters (from
 * fe_layer_params, the single source of truth) and its forward FLOPs, and reporting layers that
 * do not fit their input at the layer's position. */
#ifndef SMELT_FE_SHAPE_H
#define SMELT_FE_SHAPE_H

#include <stdbool.h>

#include "frontend/fe_preset.h"
#include "frontend/fe_schema.h"

/* Fills shapes, params and flops of every layer and the preset totals; false after errors. */
bool fe_preset_infer(FePreset *p, FeCtx *c);

#endif
