/* Internal to the lowering: the context one fe_lower call threads through the layer table's
 * lower functions (fe_layer.h), and the helpers they share (fe_lower_util.c). Sequences are kept
 * time-major as 2-D matrices (T*B, F), row t*B + b for step t of sample b: a step of an LSTM or
 * of the decoder then reads a contiguous block of B rows, and every projection is one plain 2-D
 * matmul. Nothing here knows any layer kind: the driver (fe_lower.c) reaches the layers only
 * through the table. */
#ifndef SMELT_FE_LOWER_IMPL_H
#define SMELT_FE_LOWER_IMPL_H

#include <stdbool.h>

#include "frontend/fe_lower.h"
#include "ir/ir_builder.h"

enum { FE_TOKEN_GO = 0, FE_TOKEN_END = 1, FE_CTC_BLANK = 0 };

typedef struct FeLowerCtx {
  IrGraph *g;
  const FePreset *p;
  FeGraphKind kind;
  bool train; /* batch statistics and dropout (TRAIN); running statistics, no dropout otherwise */
  int batch;
  int sync_processes; /* FeLowerOptions.sync_processes */
  FeModelIO *io;
  RtDiags *d;
  int layer; /* index of the layer being lowered: its dropout stream */
  FeQuantMode quant;
  IrId quantizable[FE_QUANT_MAX_WEIGHTS]; /* with quant: the weights it applies to */
  int n_quantizable;
  IrId observed[FE_QUANT_MAX_WEIGHTS]; /* FE_QUANT_OBSERVE: each one's activations' max |x|, or
                                       * IR_NONE when this graph does not use it */
} FeLowerCtx;

/* The IR form of a layer name ("conv-1" -> "conv_1"): IR names hold letters, digits, '_'. */
void fe_lower_layer_prefix(const FeLayer *l, char *buf, size_t size);
/* The graph name of a layer's param: "<layer prefix>.<suffix>" ("conv2d_1.weight"). */
void fe_lower_param_name(const FeLayer *l, const char *suffix, char *buf, size_t size);
/* The param "<layer>.<suffix>", which the driver (fe_lower.c) created before lowering l. */
IrId fe_lower_param(FeLowerCtx *c, const FeLayer *l, const char *suffix);

/* x @ w^T (+ b): x (N, in), w (out, in) in PyTorch's layout, b (out) or IR_NONE -> (N, out);
 * quantized as c->quant says when w is one of c->quantizable (FeQuantMode). */
IrId fe_lower_affine(FeLowerCtx *c, IrId x, IrId w, IrId b);
/* The param "<w's name>.<suffix>" (an int8 weight's "scale" or "input_scale"). */
IrId fe_lower_param_beside(FeLowerCtx *c, IrId w, const char *suffix);
/* conv2d(x, w) with spec, quantized alike. */
IrId fe_lower_conv(FeLowerCtx *c, IrId x, IrId w, IrConvSpec spec);
/* Whether a param is a weight that FeQuantMode applies to: a product weight with a fan-in of at
 * least FE_QUANT_MIN_FAN_IN (smaller products, such as a first convolution over a grey image,
 * are a small share of the work and the direct convolution loop runs them, in fp32). */
bool fe_lower_quantizable(const FeParamInfo *info);

/* One LSTM cell step from the gate pre-activations (B, 4h) in PyTorch's order i, f, g, o:
 * c' = f c + i g, h' = o tanh(c'); writes h' and c'. Shared by lstm layers and the attention
 * head's LSTMCell. */
void fe_lower_lstm_cell(IrGraph *g, IrId gates, IrId c_prev, int hidden, IrId *h_out, IrId *c_out);
/* raw (B, S) i32 greedy ids -> the same with every position after the first end token = end. */
IrId fe_lower_stop_mask(IrGraph *g, IrId raw, int end);

#endif
