/* Model presets: a YAML file describing one network (input size, encoder layers, head), loaded
 * into a flat list of FeLayer records with every shape, parameter count and FLOP count already
 * inferred. Lowering walks preset->layers in order (the head is the last entry); `smelt describe`
 * prints the same list. See docs/config.md for the schema and presets/ for the built-in ones. */
#ifndef SMELT_FE_PRESET_H
#define SMELT_FE_PRESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "support/rt_arena.h"
#include "support/rt_diag.h"

/* Every layer kind, in the order `smelt describe` and diagnostics list them: encoder layers, then
 * the heads. X(ID, yaml_name) makes FE_LAYER_<ID> and its name; each kind has a row in the layer
 * table (frontend/fe_layer.c) saying how it is parsed, shaped, lowered and written as JSON. */
#define FE_LAYER_KINDS(X)                                                                          \
  X(CONV2D, "conv2d")                                                                              \
  X(BATCHNORM, "batchnorm")                                                                        \
  X(RELU, "relu")                                                                                  \
  X(MAXPOOL, "maxpool")                                                                            \
  X(DROPOUT, "dropout")                                                                            \
  /* (C,1,W) map -> (T=W, F=C) sequence: PyTorch's squeeze(2).transpose(1,2) */                    \
  X(COLLAPSE_HEIGHT, "collapse_height")                                                            \
  X(LSTM, "lstm")                                                                                  \
  X(LINEAR, "linear")                                                                              \
  /* head: the peer's decoder (only as the last layer), per step:                                  \
   * a = softmax_T(att_v(tanh(att_e(enc) + att_h(h)))), ctx = sum_T a * enc,                       \
   * (h, c) = cell([embedding(y), ctx], (h, c)), logits = out([h, ctx]) */                         \
  X(ATTENTION, "attention")                                                                        \
  /* head: linear projection to blank + symbols (only as the last layer) */                        \
  X(CTC, "ctc")

#define FE_LAYER_KIND_ENUM_(id, name) FE_LAYER_##id,
typedef enum FeLayerKind { FE_LAYER_KINDS(FE_LAYER_KIND_ENUM_) FE_LAYER_KIND_COUNT } FeLayerKind;
#undef FE_LAYER_KIND_ENUM_

extern const char *const FE_LAYER_KIND_NAMES[FE_LAYER_KIND_COUNT]; /* "conv2d", ... as in YAML */

/* Per-sample shape (batch excluded): rank 3 = feature map (C, H, W); rank 2 = sequence (T, F). */
typedef struct FeShape {
  int rank;
  int dims[3];
} FeShape;

typedef struct FeLoc {
  const char *file; /* preset or config file; NULL when not from a file (command line) */
  int line, col;
} FeLoc;

typedef struct FeLayer {
  FeLayerKind kind;
  const char *name; /* unique in the preset: the `name:` given, else "<kind>_<n>" ("conv2d_3") */
  FeLoc loc;        /* the layer's mapping in the preset file */
  FeShape in, out;
  int64_t params;   /* trainable scalars (one bias per LSTM gate set) */
  double flops;     /* forward FLOPs per sample; for a batch multiply by B (docs/config.md) */
  union {
    struct {
      int channels;   /* output channels, after the width multiplier */
      int kernel[2];  /* (kh, kw) */
      int stride[2];
      int padding[2]; /* zero padding on each side, (ph, pw) */
      bool bias;
      bool scaled;    /* channels came from `channels * width_multiplier` */
    } conv;
    struct {
      double eps, momentum; /* PyTorch conventions: running = (1-m)*running + m*batch */
    } bn;
    struct {
      int kernel[2], stride[2], padding[2];
    } pool;
    struct {
      double rate;      /* fixed rate when !from_config */
      bool from_config; /* rate is the experiment's `dropout` setting (a runtime scalar) */
    } dropout;
    struct {
      int hidden, layers; /* hidden size per direction; stacked layers */
      bool bidirectional; /* output = [forward | reverse] features, hidden * 2 of them */
    } lstm;
    struct {
      int features;
      bool bias;
    } linear;
    struct {
      int symbols;    /* charset size */
      int classes;    /* attention: symbols + 2 (go = 0, end = 1, symbols 2..); ctc: symbols + 1 (blank = 0) */
      int max_length; /* longest label; the attention decoder runs max_length + 1 steps (end token) */
      int embedding, attention, hidden; /* attention only: embedding dim, score dim, LSTMCell size */
    } head;
  };
} FeLayer;

typedef struct FePreset {
  const char *name;        /* file stem: "small" */
  const char *path;        /* the file it was loaded from */
  const char *description; /* "" when absent */
  int channels, height, width; /* input image (C, H, W) */
  double width_multiplier; /* applied to the channels of conv2d layers with scaled: true */
  FeLayer *layers;         /* encoder layers in order, then the head */
  int layer_count;
  const FeLayer *head;     /* == &layers[layer_count - 1] */
  int64_t params;          /* total trainable scalars */
  double flops;            /* total forward FLOPs per sample */
  RtArena arena;           /* owns everything above */
} FePreset;

/* A parameter tensor of a layer, with PyTorch's layout and default initialisation so that
 * training starts from the same distribution as the peer. Names are relative to the layer
 * ("weight", "l1.reverse.w_ih"); LSTM gate blocks are ordered i, f, g, o. */
typedef enum FeInit { FE_INIT_ZEROS, FE_INIT_ONES, FE_INIT_UNIFORM, FE_INIT_NORMAL } FeInit;
typedef struct FeParamInfo {
  char name[32];
  int rank;
  int dims[4];
  FeInit init;
  double bound; /* FE_INIT_UNIFORM: U(-bound, bound); FE_INIT_NORMAL: std */
  bool lstm_bias; /* an LSTM's gate bias (4h: blocks i, f, g, o): lstm_forget_bias sets block f */
  bool product_weight; /* the weight of a convolution or of a projection of whole sequences (dim 0:
                        * outputs, the rest: fan-in), which int8 inference may quantize
                        * (fe_lower_quantizable) */
  bool recurrent_weight; /* an LSTM's W_hh (4h, h): int8 inference quantizes it (its input, the
                          * hidden state, lies in (-1, 1): no calibration) */
} FeParamInfo;
enum { FE_LSTM_MAX_LAYERS = 8, FE_LAYER_MAX_PARAMS = 3 * 2 * FE_LSTM_MAX_LAYERS };

/* The network as canonical JSON: input (C, H, W) and every layer's resolved settings in order
 * (fe_preset_json.c). Caller owns it. */
struct cJSON *fe_preset_json(const FePreset *p);

/* Loads and checks a preset file. Returns NULL after adding diagnostics to d; else a preset the
 * caller frees with fe_preset_free. */
FePreset *fe_preset_load(const char *path, RtDiags *d);
/* The same from memory; file names the text in diagnostics and gives the preset its name. */
FePreset *fe_preset_parse(const char *file, const char *text, size_t len, RtDiags *d);
void fe_preset_free(FePreset *p);

/* Whether the preset's head is trained with the CTC loss (its layer row's `ctc` flag): CTC
 * targets, greedy collapse decoding; otherwise a per-position loss over decoder steps. */
bool fe_preset_is_ctc(const FePreset *p);

/* Fills out[0..] with the parameters of l (at most FE_LAYER_MAX_PARAMS); returns how many. */
int fe_layer_params(const FeLayer *l, FeParamInfo *out);
/* A shape as text with the batch first: "(32, 512, 1, 32)"; batch <= 0 leaves the batch out. */
const char *fe_shape_format(FeShape s, int batch, char *buf, size_t size);

/* Preset resolution. A reference is a path when it contains '/' or ends in .yaml/.yml, else a
 * name looked up as DIR/NAME.yaml in search_dir. Unknown names are reported at `at` listing the
 * known ones and the closest: "unknown preset 'ctc'; did you mean 'ctc_small'? (known: ...)". */
FePreset *fe_preset_resolve(const char *ref, const char *search_dir, FeLoc at, RtDiags *d);
/* Where names are looked up when nothing else is said: $SMELT_PRESETS, else an installed smelt's
 * PREFIX/share/smelt/presets (support/rt_install.h), else the first `presets` folder holding
 * small.yaml found walking up from the executable (build/tests/x -> repo/presets), else
 * "presets". Returns a malloc'd string (caller frees). */
char *fe_presets_default_dir(void);
/* The preset names in dir (stems of *.yaml), sorted; returns the count and a malloc'd array of
 * malloc'd strings in *names (free with fe_names_free). */
int fe_presets_list(const char *dir, char ***names);
void fe_names_free(char **names, int count);

#endif
