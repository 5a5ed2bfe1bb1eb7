/* Internal to the lowering (fe_lower*.c): the context one fe_lower call threads through the
 * layer emitters, and the emitters themselves. Sequences are kept time-major as 2-D matrices
 * (T*B, F), row t*B + b for step t of sample b: a step of an LSTM or of the decoder then reads
 * a contiguous block of B rows, and every projection is one plain 2-D matmul. */
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
  FeModelIO *io;
  RtDiags *d;
  int layer; /* index of the layer being lowered: its dropout stream */
} FeLowerCtx;

/* The IR form of a layer name ("conv-1" -> "conv_1"): IR names hold letters, digits, '_'. */
void fe_lower_layer_prefix(const FeLayer *l, char *buf, size_t size);
/* Creates every param of l (fe_layer_params' shapes and inits, PyTorch names) as graph params
 * named "<layer>.<name>"; false after a diagnostic when a name is taken. */
bool fe_lower_params(FeLowerCtx *c, const FeLayer *l);
/* The param "<layer>.<suffix>" created by fe_lower_params. */
IrId fe_lower_param(FeLowerCtx *c, const FeLayer *l, const char *suffix);

/* x @ w^T (+ b): x (N, in), w (out, in) in PyTorch's layout, b (out) or IR_NONE -> (N, out). */
IrId fe_lower_affine(IrGraph *g, IrId x, IrId w, IrId b);

/* Encoder layers (fe_lower_conv.c): x is (B, C, H, W) for feature maps, (T*B, F) for sequences. */
IrId fe_lower_conv2d(FeLowerCtx *c, const FeLayer *l, IrId x);
IrId fe_lower_batchnorm(FeLowerCtx *c, const FeLayer *l, IrId x);
IrId fe_lower_maxpool(FeLowerCtx *c, const FeLayer *l, IrId x);
IrId fe_lower_dropout(FeLowerCtx *c, const FeLayer *l, IrId x);
IrId fe_lower_collapse(FeLowerCtx *c, const FeLayer *l, IrId x);
IrId fe_lower_linear(FeLowerCtx *c, const FeLayer *l, IrId x);

/* LSTMs (fe_lower_lstm.c). One cell step from the gate pre-activations (B, 4h) in PyTorch's
 * order i, f, g, o: c' = f c + i g, h' = o tanh(c'); writes h' and c'. */
void fe_lower_lstm_cell(IrGraph *g, IrId gates, IrId c_prev, int hidden, IrId *h_out, IrId *c_out);
IrId fe_lower_lstm(FeLowerCtx *c, const FeLayer *l, IrId x);

/* Heads (fe_lower_head.c). enc is (T*B, F). The attention head returns the
 * teacher-forced logits (S*B, K), S = L + 1 (TRAIN, EVAL) and sets io->pred (EVAL, INFER); the
 * CTC head returns the logits (B, T, C) and sets io->pred. */
IrId fe_lower_attention(FeLowerCtx *c, const FeLayer *l, IrId enc);
IrId fe_lower_ctc_head(FeLowerCtx *c, const FeLayer *l, IrId enc);
/* raw (B, S) i32 greedy ids -> the same with every position after the first end token = end. */
IrId fe_lower_stop_mask(IrGraph *g, IrId raw, int end);

/* Losses (fe_lower_loss.c) over the head's logits; their runtime scalars are io's inputs. */
IrId fe_lower_loss_attention(FeLowerCtx *c, FeLossKind kind, IrId logits);
IrId fe_lower_loss_ctc(FeLowerCtx *c, IrId logits);

#endif
