/* Builder API: typed helpers that append ops to a graph. The frontend emits layers with it and
 * VJP rules build gradients with it. Every function returns IR_NONE (and leaves a message in
 * g->error) when its operands do not fit; IR_NONE operands propagate, so a layer can be built
 * in one go and checked once. Axes may be negative (counted from the end). */
#ifndef SMELT_IR_BUILDER_H
#define SMELT_IR_BUILDER_H

#include "ir/ir.h"

/* ---- leaves ---- */
IrId ir_input(IrGraph *g, const char *name, IrDType dtype, IrShape shape);
IrId ir_param(IrGraph *g, const char *name, IrShape shape, IrInit init, double value);
/* An i8 param (int8 quantized weights, loaded from a quantized checkpoint), zeros until then. */
IrId ir_param_i8(IrGraph *g, const char *name, IrShape shape);
IrId ir_state(IrGraph *g, const char *name, IrDType dtype, IrShape shape, IrInit init, double value);
IrId ir_const_fill(IrGraph *g, IrDType dtype, IrShape shape, double value);
IrId ir_const_data(IrGraph *g, IrDType dtype, IrShape shape, const double *data); /* copies */
IrId ir_scalar(IrGraph *g, double value); /* f32[] constant */

/* ---- elementwise (binary/compare/select broadcast numpy-style) ---- */
IrId ir_unary(IrGraph *g, IrOp op, IrId x);
IrId ir_binary(IrGraph *g, IrOp op, IrId a, IrId b);
IrId ir_select(IrGraph *g, IrId cond, IrId a, IrId b);
static inline IrId ir_neg(IrGraph *g, IrId x) { return ir_unary(g, IR_OP_NEG, x); }
static inline IrId ir_all_sum(IrGraph *g, IrId x) { return ir_unary(g, IR_OP_ALL_SUM, x); }
static inline IrId ir_exp(IrGraph *g, IrId x) { return ir_unary(g, IR_OP_EXP, x); }
static inline IrId ir_log(IrGraph *g, IrId x) { return ir_unary(g, IR_OP_LOG, x); }
static inline IrId ir_sqrt(IrGraph *g, IrId x) { return ir_unary(g, IR_OP_SQRT, x); }
static inline IrId ir_rsqrt(IrGraph *g, IrId x) { return ir_unary(g, IR_OP_RSQRT, x); }
static inline IrId ir_tanh(IrGraph *g, IrId x) { return ir_unary(g, IR_OP_TANH, x); }
static inline IrId ir_sigmoid(IrGraph *g, IrId x) { return ir_unary(g, IR_OP_SIGMOID, x); }
static inline IrId ir_relu(IrGraph *g, IrId x) { return ir_unary(g, IR_OP_RELU, x); }
static inline IrId ir_abs(IrGraph *g, IrId x) { return ir_unary(g, IR_OP_ABS, x); }
static inline IrId ir_square(IrGraph *g, IrId x) { return ir_unary(g, IR_OP_SQUARE, x); }
static inline IrId ir_to_f32(IrGraph *g, IrId x) { return ir_unary(g, IR_OP_TO_F32, x); }
static inline IrId ir_to_i32(IrGraph *g, IrId x) { return ir_unary(g, IR_OP_TO_I32, x); }
/* clamp(round-half-even(x / scale), -127, 127) as i8, scale broadcast */
static inline IrId ir_quantize(IrGraph *g, IrId x, IrId scale) { return ir_binary(g, IR_OP_QUANTIZE, x, scale); }
static inline IrId ir_add(IrGraph *g, IrId a, IrId b) { return ir_binary(g, IR_OP_ADD, a, b); }
static inline IrId ir_sub(IrGraph *g, IrId a, IrId b) { return ir_binary(g, IR_OP_SUB, a, b); }
static inline IrId ir_mul(IrGraph *g, IrId a, IrId b) { return ir_binary(g, IR_OP_MUL, a, b); }
static inline IrId ir_div(IrGraph *g, IrId a, IrId b) { return ir_binary(g, IR_OP_DIV, a, b); }
static inline IrId ir_max(IrGraph *g, IrId a, IrId b) { return ir_binary(g, IR_OP_MAX, a, b); }
static inline IrId ir_min(IrGraph *g, IrId a, IrId b) { return ir_binary(g, IR_OP_MIN, a, b); }
static inline IrId ir_pow(IrGraph *g, IrId a, IrId b) { return ir_binary(g, IR_OP_POW, a, b); }
static inline IrId ir_eq(IrGraph *g, IrId a, IrId b) { return ir_binary(g, IR_OP_EQ, a, b); }
static inline IrId ir_ne(IrGraph *g, IrId a, IrId b) { return ir_binary(g, IR_OP_NE, a, b); }
static inline IrId ir_lt(IrGraph *g, IrId a, IrId b) { return ir_binary(g, IR_OP_LT, a, b); }
static inline IrId ir_le(IrGraph *g, IrId a, IrId b) { return ir_binary(g, IR_OP_LE, a, b); }
static inline IrId ir_gt(IrGraph *g, IrId a, IrId b) { return ir_binary(g, IR_OP_GT, a, b); }
static inline IrId ir_ge(IrGraph *g, IrId a, IrId b) { return ir_binary(g, IR_OP_GE, a, b); }
IrId ir_add_scalar(IrGraph *g, IrId x, double c); /* x + c */
IrId ir_mul_scalar(IrGraph *g, IrId x, double c); /* x * c */

/* ---- reductions ---- */
IrId ir_reduce(IrGraph *g, IrOp op, IrId x, int n_axes, const int *axes, bool keepdims);
IrId ir_sum(IrGraph *g, IrId x, int n_axes, const int *axes, bool keepdims);
IrId ir_mean(IrGraph *g, IrId x, int n_axes, const int *axes, bool keepdims);
IrId ir_reduce_max(IrGraph *g, IrId x, int n_axes, const int *axes, bool keepdims);
IrId ir_sum_all(IrGraph *g, IrId x);  /* -> f32[] */
IrId ir_mean_all(IrGraph *g, IrId x); /* -> f32[] */
/* Sums x over the dims that numpy broadcasting added to reach x's shape from `shape`, and
 * returns a value of exactly `shape` (the gradient of a broadcast). */
IrId ir_sum_to_shape(IrGraph *g, IrId x, IrShape shape);

/* ---- matmul, convolution, pooling ---- */
IrId ir_matmul(IrGraph *g, IrId a, IrId b, bool trans_a, bool trans_b);

typedef struct IrConvSpec {
  int stride[2];   /* h, w */
  int pad[4];      /* top, left, bottom, right */
  int dilation[2]; /* h, w */
} IrConvSpec;
IrConvSpec ir_conv_spec(int stride, int pad); /* square stride and padding, no dilation */
IrId ir_conv2d(IrGraph *g, IrId x, IrId w, int stride, int pad);
IrId ir_conv2d_ex(IrGraph *g, IrId x, IrId w, IrConvSpec spec);
IrId ir_conv2d_grad_input(IrGraph *g, IrId gout, IrId w, IrConvSpec spec, int64_t in_h, int64_t in_w);
IrId ir_conv2d_grad_filter(IrGraph *g, IrId x, IrId gout, IrConvSpec spec, int64_t kh, int64_t kw);

typedef struct IrPoolSpec {
  int window[2], stride[2]; /* h, w */
  int pad[4];               /* top, left, bottom, right; ignored by max, zeros for avg */
} IrPoolSpec;
IrPoolSpec ir_pool_spec(int wh, int ww); /* window = stride, no padding (nn.MaxPool2d(k)) */
IrId ir_maxpool2d(IrGraph *g, IrId x, IrPoolSpec spec);
IrId ir_maxpool2d_grad(IrGraph *g, IrId x, IrId gout, IrPoolSpec spec);
IrId ir_avgpool2d(IrGraph *g, IrId x, IrPoolSpec spec);
IrId ir_avgpool2d_grad(IrGraph *g, IrId gout, IrPoolSpec spec, int64_t in_h, int64_t in_w);

/* ---- layout ---- */
IrId ir_reshape(IrGraph *g, IrId x, IrShape shape);
IrId ir_transpose(IrGraph *g, IrId x, int n, const int *perm);
/* start/end per dim; step NULL means 1 everywhere */
IrId ir_slice(IrGraph *g, IrId x, const int64_t *start, const int64_t *end, const int64_t *step);
IrId ir_slice_axis(IrGraph *g, IrId x, int axis, int64_t start, int64_t end); /* others whole */
IrId ir_concat(IrGraph *g, int n, const IrId *xs, int axis);
IrId ir_pad(IrGraph *g, IrId x, const int64_t *before, const int64_t *after);
IrId ir_broadcast(IrGraph *g, IrId x, IrShape shape);

/* ---- indexing, random numbers, CTC ---- */
IrId ir_gather(IrGraph *g, IrId table, IrId idx);
IrId ir_scatter_add(IrGraph *g, IrId idx, IrId upd, int64_t rows);
IrId ir_one_hot(IrGraph *g, IrId idx, int64_t depth);
IrId ir_argmax(IrGraph *g, IrId x, int axis);
IrId ir_rng_uniform(IrGraph *g, IrId seed, int64_t stream, IrShape shape);
IrId ir_ctc_loss(IrGraph *g, IrId logits, IrId labels, IrId label_len, int blank);
IrId ir_ctc_loss_grad(IrGraph *g, IrId logits, IrId labels, IrId label_len, IrId gout, int blank);
/* an LSTM layer's recurrence over `dirs` (1 or 2) directions (ir/eval_recurrent.c): xproj[d]
 * (T, B, 4H), w_hh[d] (4H, H) -> (save ? 6 : 1, T, B, D, H); and d loss / d xproj (D, T, B, 4H)
 * from the saved state and its gradient */
IrId ir_lstm_scan(IrGraph *g, int dirs, const IrId *xproj, const IrId *w_hh, bool save);
/* The same with int8 recurrent weights w_hh (i8) and their scales w_scale (f32, 4H) */
IrId ir_lstm_scan_i8(IrGraph *g, int dirs, const IrId *xproj, const IrId *w_hh, const IrId *w_scale);
IrId ir_lstm_scan_grad(IrGraph *g, IrId state, IrId gout, int dirs, const IrId *w_hh);

/* ---- composites ---- */
IrId ir_softmax(IrGraph *g, IrId x, int axis);     /* exp(x - max) / sum, stable */
IrId ir_log_softmax(IrGraph *g, IrId x, int axis); /* x - max - log(sum(exp(x - max))) */
/* Inverted dropout: x * (u >= p) / (1 - p) with u = rng_uniform(seed, stream); p is an f32[]
 * value (a runtime input, so one compiled step serves every dropout rate). */
IrId ir_dropout(IrGraph *g, IrId x, IrId p, IrId seed, int64_t stream);

#endif
