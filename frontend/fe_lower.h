/* Lowering a preset to IR: the model ABI shared by the training loop, the deploy header and
 * checkpoints. One call builds the graph of a preset for one batch size and one use: a training
 * step's forward pass and loss (TRAIN), validation (EVAL: loss under teacher forcing plus greedy
 * predictions) or inference (INFER: predictions only). Param and state names are PyTorch-like
 * and stable ("conv2d_1.weight", "lstm_1.l0_reverse.weight_ih"): they are the checkpoint schema.
 * docs/config.md ("Lowered graphs") describes every input, output and layer formula. */
#ifndef SMELT_FE_LOWER_H
#define SMELT_FE_LOWER_H

#include "frontend/fe_config.h"
#include "frontend/fe_preset.h"
#include "ir/ir.h"
#include "support/rt_diag.h"

typedef enum FeGraphKind { FE_GRAPH_TRAIN, FE_GRAPH_EVAL, FE_GRAPH_INFER, FE_GRAPH_KIND_COUNT } FeGraphKind;

extern const char *const FE_GRAPH_KIND_NAMES[FE_GRAPH_KIND_COUNT]; /* train, eval, infer */

/* How an EVAL or INFER graph computes the products of its quantizable weights (convolutions and
 * projections of whole sequences with a fan-in of FE_QUANT_MIN_FAN_IN or more; docs/quantization.md):
 * in f32; in f32 with one more output, "absmax" (f32[n]: for each of the n quantizable weights of
 * fe_preset_quantizable_weights, the largest |x| of the activations it multiplies, 0 when the
 * graph does not use it; for calibration); or in int8: the weight an i8 param,
 * "<weight>.scale" (f32, one per output channel) and "<weight>.input_scale" (f32[]) params
 * beside it, activations quantized by the input scale, the i32 sums scaled back to f32. */
typedef enum FeQuantMode { FE_QUANT_NONE, FE_QUANT_OBSERVE, FE_QUANT_INT8 } FeQuantMode;
enum { FE_QUANT_MIN_FAN_IN = 32, FE_QUANT_MAX_WEIGHTS = 256 };

typedef struct FeLowerOptions {
  FeGraphKind kind;
  int batch;        /* B >= 1 */
  FeLossKind loss;  /* from the experiment; must suit the head; ignored for INFER */
  FeQuantMode quant; /* EVAL and INFER only */
  int sync_processes; /* TRAIN: > 1 for a synchronised batch norm over that many data-parallel
                       * processes (statistics of the global batch, through all_sum); else each
                       * process's own batch */
} FeLowerOptions;

/* Node ids in the built graph, IR_NONE when the graph has no such node. */
typedef struct FeModelIO {
  /* inputs */
  IrId image;      /* f32 (B, C, H, W), normalised to [-1, 1] by the loader */
  IrId target;     /* i32; attention: (B, L+1) symbol ids + 2, then the end token (1), padded
                    * with end tokens; ctc: (B, L) symbol ids + 1 (blank = 0), padded with 0 */
  IrId target_len; /* i32 (B): symbols per sample (attention: the end token sits there) */
  /* runtime scalar inputs, f32[] unless noted, FILL defaults in brackets */
  IrId dropout;         /* rate of the dropout layers without a fixed rate [0]; TRAIN only */
  IrId seed;            /* i32[] per-step RNG seed; each dropout layer has its own stream [0] */
  IrId label_smoothing; /* cross_entropy only [0] */
  IrId focal_gamma;     /* focal only [2] */
  IrId focal_alpha;     /* focal only; feed 1 when the experiment sets no alpha [1] */
  /* outputs */
  IrId loss; /* f32[]: output 0 of TRAIN and EVAL */
  IrId pred; /* i32; attention (B, L+1) greedy ids with everything after the first end token
              * forced to end; ctc (B, T) argmax per time step (collapsed in C). Output 1 of
              * EVAL, output 0 of INFER */
  IrId attention; /* f32 (B, L+1, T): attention heads' EVAL graphs only, output 2: each greedy
                   * step's attention weights over the encoder's T steps (the diagnostics of
                   * rt_io_attention_stats); IR_NONE elsewhere */
  /* sizes */
  int max_len;    /* L: the head's max_length */
  int classes;    /* attention: symbols + 2 (go 0, end 1); ctc: symbols + 1 (blank 0) */
  int time_steps; /* T: length of the encoder's sequence (the width of ctc's pred) */
} FeModelIO;

/* Builds the graph of preset p for o (see the header comment). Returns a new graph (caller
 * frees with ir_graph_free) and fills *io; NULL with diagnostics in d when the options do not
 * suit the preset (batch < 1, a loss the head cannot take). io may be NULL. */
IrGraph *fe_lower(const FePreset *p, const FeLowerOptions *o, FeModelIO *io, RtDiags *d);

/* Whether `name`, a param of p's graphs, is an LSTM's gate bias (fe_layer_params' lstm_bias): the
 * tensors whose forget-gate block the experiment's lstm_forget_bias initialises. */
bool fe_preset_param_is_lstm_bias(const FePreset *p, const char *name);

/* Whether `name` is an LSTM's recurrent weight W_hh, which FE_QUANT_INT8 makes an i8 param with
 * "<name>.scale" (f32, 4h) beside it: lstm_scan_i8 (ir/eval_recurrent.c) multiplies it by the
 * hidden state at 127 levels a unit, so the scale includes that 1/127. */
bool fe_preset_param_is_recurrent_weight(const FePreset *p, const char *name);

/* The names of p's quantizable weights (FeQuantMode), in layer order, into names[0..max);
 * returns how many there are. */
int fe_preset_quantizable_weights(const FePreset *p, char (*names)[128], int max);

#endif
