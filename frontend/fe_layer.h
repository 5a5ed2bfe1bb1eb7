/* The layer table (internal to the frontend): one row per FeLayerKind saying everything the
 * frontend does with that kind of layer: its YAML keys and defaults, the input it needs, its
 * shape and FLOPs, its parameters, its lowering to IR and its canonical JSON. Each kind's row and
 * functions live in frontend/fe_layer_<kind>.c; the table itself (fe_layer.c) checks at compile
 * time that it has one entry per kind, and fe_layer_table_check that every entry is complete. */
#ifndef SMELT_FE_LAYER_H
#define SMELT_FE_LAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frontend/fe_lower_impl.h"
#include "frontend/fe_preset.h"
#include "frontend/fe_schema.h"

struct cJSON;

/* The input a layer accepts (per sample, batch excluded). */
typedef enum FeLayerInput {
  FE_INPUT_MAP,      /* a feature map (C, H, W) */
  FE_INPUT_SEQUENCE, /* a sequence (T, F) */
  FE_INPUT_ANY,      /* either; the output has the input's shape unless infer says otherwise */
} FeLayerInput;

/* The runtime inputs a TRAIN graph needs because of a layer. */
typedef struct FeTrainInputs {
  bool seed;    /* the per-step RNG seed (random masks) */
  bool dropout; /* the experiment's dropout rate */
} FeTrainInputs;

typedef struct FeLayerClass {
  /* Parsing: the schema of the layer's mapping (its first fields are the "kind" and, for
   * encoder layers, "name" keys, which the preset decoder reads itself). */
  FeSchema schema;              /* what = "conv2d layer", "ctc head" */
  bool head;                    /* only under `head:`, as the last layer */
  void (*defaults)(FeLayer *l); /* PyTorch's constructor defaults, before decoding; optional */
  /* Options that depend on others, after decoding; reports problems at map. Optional. */
  void (*finish)(FeCtx *c, FeLayer *l, const FeNode *map);
  /* Shapes. resolve settles preset-wide options before the input is checked (conv2d's width
   * multiplier); optional, false after a diagnostic. infer computes l->out (already l->in)
   * and l->flops; false after reporting why the layer does not fit its input. */
  FeLayerInput input;
  bool (*resolve)(FeCtx *c, FeLayer *l, double width_multiplier);
  bool (*infer)(FeCtx *c, FeLayer *l);
  /* Parameters: fills out[] (at most FE_LAYER_MAX_PARAMS) and returns how many. Optional. */
  int (*params)(const FeLayer *l, FeParamInfo *out);
  /* Lowering. Encoder layers: x (B, C, H, W) or time-major (T*B, F) -> the output in the same
   * layout. Heads: enc (T*B, F) -> logits (the loss's input; IR_NONE in INFER), setting io->pred
   * outside TRAIN. */
  IrId (*lower)(FeLowerCtx *c, const FeLayer *l, IrId x);
  void (*train_inputs)(const FeLayer *l, FeTrainInputs *need); /* optional */
  /* Canonical JSON: adds the resolved options to o (kind and name are already there). Optional:
   * a layer without options adds nothing. */
  void (*json)(const FeLayer *l, struct cJSON *o);
  /* Heads only. */
  bool ctc;       /* trained with the CTC loss (else a per-position loss over decoder steps) */
  int end_tokens; /* tokens after the symbols in a target (attention: the end token) */
  IrId (*loss)(FeLowerCtx *c, FeLossKind kind, IrId logits); /* logits -> f32[] loss */
  /* logits -> batch-major logits for the TRAIN graph's debug output; NULL when already so. */
  IrId (*batch_major)(FeLowerCtx *c, IrId logits);
} FeLayerClass;

/* The rows, one per kind (fe_layer_<kind>.c). */
extern const FeLayerClass fe_layer_conv2d, fe_layer_batchnorm, fe_layer_relu, fe_layer_maxpool,
    fe_layer_dropout, fe_layer_collapse_height, fe_layer_lstm, fe_layer_linear, fe_layer_attention,
    fe_layer_ctc;

/* The table, indexed by FeLayerKind: FE_LAYER_KIND_COUNT rows. */
extern const FeLayerClass *const *const FE_LAYERS;
static inline const FeLayerClass *fe_layer_class(FeLayerKind kind) { return FE_LAYERS[kind]; }

/* The runtime inputs p's TRAIN graph reads because of its layers (dropout rate, RNG seed). */
FeTrainInputs fe_preset_train_inputs(const FePreset *p);

/* Checks that table[0..count) has a complete row for every kind (present, a schema starting with
 * "kind" and named after the kind, infer and lower; heads with a loss, encoder layers without
 * head fields). Returns NULL, or writes what is wrong into why and returns it. */
const char *fe_layer_table_check(const FeLayerClass *const *table, int count, char *why, size_t size);

/* Helpers for the rows (fe_layer_util.c). */
/* Reports "<layer name> <message>" at the layer. */
void fe_shape_error(FeCtx *c, const FeLayer *l, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int64_t fe_shape_numel(FeShape s);
/* Sets l->out for a convolution or pooling window over the (C, H, W) input with `channels`
 * output channels; false after reporting a window that does not fit. */
bool fe_shape_window(FeCtx *c, FeLayer *l, const int kernel[2], const int stride[2], const int padding[2],
                     int channels);
/* FLOPs of one forward LSTM cell step of hidden size h over inputs of size x. */
double fe_lstm_step_flops(double x, double h);

/* Appends one FeParamInfo (for the params functions, through FE_PARAM). */
void fe_param_add(FeParamInfo *out, int *n, const char *name, int rank, const int *dims, FeInit init,
                  double bound);
#define FE_PARAM(name, init, bound, ...)                                                           \
  fe_param_add(out, &n, name, (int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)), (int[]){__VA_ARGS__}, \
               init, bound)

/* Field-table shorthands for the schemas (offsets into FeLayer). */
#define FE_L_(member) offsetof(FeLayer, member)
#define FE_KIND_FIELD {"kind", FE_FIELD_SKIP, 0, 0, 0, FE_REQUIRED, NULL, 0}
#define FE_NAME_FIELD {"name", FE_FIELD_SKIP, 0, 0, 0, 0, NULL, 0}
#define FE_INT_F(key, member, lo, hi, fl) {key, FE_FIELD_INT, FE_L_(member), lo, hi, fl, NULL, 0}
#define FE_PAIR_F(key, member, lo, hi, fl) {key, FE_FIELD_INT_PAIR, FE_L_(member), lo, hi, fl, NULL, 0}
#define FE_BOOL_F(key, member) {key, FE_FIELD_BOOL, FE_L_(member), 0, 0, 0, NULL, 0}
#define FE_NUM_F(key, member, lo, hi, fl) {key, FE_FIELD_NUMBER, FE_L_(member), lo, hi, fl, NULL, 0}
#define FE_SCHEMA(what, fields) {what, fields, (int)(sizeof fields / sizeof fields[0])}

#endif
