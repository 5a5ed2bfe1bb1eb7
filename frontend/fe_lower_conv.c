/* Lowering of the feature-map layers and the simple sequence ones: conv2d, batch-norm (batch
 * statistics with running-statistic updates in TRAIN, the running statistics folded into one
 * scale and shift otherwise), max-pooling, dropout (TRAIN only), the height collapse into a
 * time-major sequence, and linear. Formulas and conventions are PyTorch's (nn.Conv2d,
 * nn.BatchNorm2d, nn.MaxPool2d, nn.Dropout, nn.Linear). */
#include <stdio.h>

#include "frontend/fe_lower_impl.h"
#include "runtime/rt_assert.h"

IrId fe_lower_conv2d(FeLowerCtx *c, const FeLayer *l, IrId x) {
  IrGraph *g = c->g;
  const int *s = l->conv.stride, *p = l->conv.padding;
  IrConvSpec spec = {{s[0], s[1]}, {p[0], p[1], p[0], p[1]}, {1, 1}};
  IrId y = ir_conv2d_ex(g, x, fe_lower_param(c, l, "weight"), spec);
  if (!l->conv.bias) return y;
  IrId b = ir_reshape(g, fe_lower_param(c, l, "bias"), IR_SHAPE(l->conv.channels, 1, 1));
  return ir_add(g, y, b);
}

/* nn.BatchNorm2d (Ioffe & Szegedy 2015). TRAIN: y = (x - mean) / sqrt(var + eps) * weight + bias
 * with the batch mean and biased variance over (B, H, W); running = (1 - m) running + m stat,
 * the running variance from the unbiased batch variance (n / (n - 1), n = B H W; 1 when n = 1,
 * where PyTorch refuses to train). EVAL, INFER: y = x * scale + shift with
 * scale = weight / sqrt(running_var + eps), shift = bias - running_mean * scale. */
IrId fe_lower_batchnorm(FeLowerCtx *c, const FeLayer *l, IrId x) {
  IrGraph *g = c->g;
  int C = l->in.dims[0];
  double n = (double)c->batch * l->in.dims[1] * l->in.dims[2], m = l->bn.momentum, eps = l->bn.eps;
  char prefix[64], name[96];
  fe_lower_layer_prefix(l, prefix, sizeof prefix);
  snprintf(name, sizeof name, "%s.running_mean", prefix);
  IrId rmean = ir_state(g, name, IR_F32, IR_SHAPE(C), IR_INIT_ZEROS, 0);
  snprintf(name, sizeof name, "%s.running_var", prefix);
  IrId rvar = ir_state(g, name, IR_F32, IR_SHAPE(C), IR_INIT_ONES, 0);
  IrId weight = fe_lower_param(c, l, "weight"), bias = fe_lower_param(c, l, "bias");
  if (!c->train) {
    IrId scale = ir_mul(g, weight, ir_rsqrt(g, ir_add_scalar(g, rvar, eps)));
    IrId shift = ir_sub(g, bias, ir_mul(g, rmean, scale));
    IrId y = ir_mul(g, x, ir_reshape(g, scale, IR_SHAPE(C, 1, 1)));
    return ir_add(g, y, ir_reshape(g, shift, IR_SHAPE(C, 1, 1)));
  }
  static const int axes[3] = {0, 2, 3};
  IrId mean = ir_mean(g, x, 3, axes, true); /* (1, C, 1, 1) */
  IrId xc = ir_sub(g, x, mean);
  IrId var = ir_mean(g, ir_square(g, xc), 3, axes, true);
  IrId scale = ir_mul(g, ir_rsqrt(g, ir_add_scalar(g, var, eps)), ir_reshape(g, weight, IR_SHAPE(1, C, 1, 1)));
  IrId y = ir_add(g, ir_mul(g, xc, scale), ir_reshape(g, bias, IR_SHAPE(1, C, 1, 1)));
  double unbias = n > 1 ? n / (n - 1) : 1.0;
  IrId new_mean = ir_add(g, ir_mul_scalar(g, rmean, 1 - m), ir_mul_scalar(g, ir_reshape(g, mean, IR_SHAPE(C)), m));
  IrId new_var =
      ir_add(g, ir_mul_scalar(g, rvar, 1 - m), ir_mul_scalar(g, ir_reshape(g, var, IR_SHAPE(C)), m * unbias));
  if (new_mean == IR_NONE || new_var == IR_NONE) return IR_NONE;
  ir_graph_add_update(g, rmean, new_mean);
  ir_graph_add_update(g, rvar, new_var);
  return y;
}

/* nn.MaxPool2d: padded positions never win (-inf), as in PyTorch. */
IrId fe_lower_maxpool(FeLowerCtx *c, const FeLayer *l, IrId x) {
  const int *k = l->pool.kernel, *s = l->pool.stride, *p = l->pool.padding;
  IrPoolSpec spec = {{k[0], k[1]}, {s[0], s[1]}, {p[0], p[1], p[0], p[1]}};
  return ir_maxpool2d(c->g, x, spec);
}

/* Inverted dropout in TRAIN (x * keep / (1 - p)), the identity otherwise. A layer without a fixed
 * rate reads the `dropout` input; each layer draws from its own stream (its index in the preset)
 * of the per-step `seed`, so two layers never share a mask. */
IrId fe_lower_dropout(FeLowerCtx *c, const FeLayer *l, IrId x) {
  if (!c->train || (!l->dropout.from_config && l->dropout.rate == 0)) return x;
  IrId p = l->dropout.from_config ? c->io->dropout : ir_scalar(c->g, l->dropout.rate);
  RT_ASSERT(p != IR_NONE && c->io->seed != IR_NONE, "dropout inputs missing");
  return ir_dropout(c->g, x, p, c->io->seed, c->layer);
}

/* (B, C, 1, W) -> time-major (W*B, C): PyTorch's squeeze(2).transpose(1, 2), with the time axis
 * first so that each step is a contiguous block of rows. */
IrId fe_lower_collapse(FeLowerCtx *c, const FeLayer *l, IrId x) {
  IrGraph *g = c->g;
  int C = l->in.dims[0], W = l->in.dims[2], B = c->batch;
  IrId t = ir_transpose(g, ir_reshape(g, x, IR_SHAPE(B, C, W)), 3, (int[]){2, 0, 1}); /* (W, B, C) */
  return ir_reshape(g, t, IR_SHAPE((int64_t)W * B, C));
}

IrId fe_lower_linear(FeLowerCtx *c, const FeLayer *l, IrId x) {
  IrId b = l->linear.bias ? fe_lower_param(c, l, "bias") : IR_NONE;
  return fe_lower_affine(c->g, x, fe_lower_param(c, l, "weight"), b);
}
