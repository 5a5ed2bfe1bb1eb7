/* batchnorm: nn.BatchNorm2d (Ioffe & Szegedy 2015) over a feature map, with running statistics
 * as state. Weight starts at ones and bias at zeros, as in PyTorch. */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "frontend/fe_layer.h"

static const FeField FIELDS[] = {
    FE_KIND_FIELD,
    FE_NAME_FIELD,
    FE_NUM_F("eps", bn.eps, 0, 1, FE_OPEN_MIN | FE_OPEN_MAX),
    FE_NUM_F("momentum", bn.momentum, 0, 1, 0),
};

static void defaults(FeLayer *l) {
  l->bn.eps = 1e-5;
  l->bn.momentum = 0.1;
}

static bool infer(FeCtx *c, FeLayer *l) {
  l->flops = 2 * (double)fe_shape_numel(l->in);
  return true;
}

static int params(const FeLayer *l, FeParamInfo *out) {
  int n = 0;
  FE_PARAM("weight", FE_INIT_ONES, 0, l->in.dims[0]);
  FE_PARAM("bias", FE_INIT_ZEROS, 0, l->in.dims[0]);
  return n;
}

/* TRAIN: y = (x - mean) / sqrt(var + eps) * weight + bias with the batch mean and biased variance
 * over (B, H, W); running = (1 - m) running + m stat, the running variance from the unbiased
 * batch variance (n / (n - 1), n = B H W; 1 when n = 1, where PyTorch refuses to train). A
 * synchronised batch norm (sync_processes P > 1, as PyTorch's SyncBatchNorm) takes both
 * statistics over the P processes' batches: sums all_sum'ed, n = P B H W. EVAL, INFER:
 * y = x * scale + shift with scale = weight / sqrt(running_var + eps),
 * shift = bias - running_mean * scale. */
static IrId lower(FeLowerCtx *c, const FeLayer *l, IrId x) {
  IrGraph *g = c->g;
  int C = l->in.dims[0];
  int procs = c->sync_processes > 1 ? c->sync_processes : 1;
  double n = (double)procs * c->batch * l->in.dims[1] * l->in.dims[2], m = l->bn.momentum, eps = l->bn.eps;
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
  IrId mean, var, xc;
  if (procs == 1) {
    mean = ir_mean(g, x, 3, axes, true); /* (1, C, 1, 1) */
    xc = ir_sub(g, x, mean);
    var = ir_mean(g, ir_square(g, xc), 3, axes, true);
  } else { /* the global batch's: this process's sums, summed over the processes */
    mean = ir_mul_scalar(g, ir_all_sum(g, ir_sum(g, x, 3, axes, true)), 1.0 / n);
    xc = ir_sub(g, x, mean);
    var = ir_mul_scalar(g, ir_all_sum(g, ir_sum(g, ir_square(g, xc), 3, axes, true)), 1.0 / n);
  }
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

static void json(const FeLayer *l, cJSON *o) {
  cJSON_AddNumberToObject(o, "eps", l->bn.eps);
  cJSON_AddNumberToObject(o, "momentum", l->bn.momentum);
}

const FeLayerClass fe_layer_batchnorm = {
    .schema = FE_SCHEMA("batchnorm layer", FIELDS),
    .defaults = defaults,
    .input = FE_INPUT_MAP,
    .infer = infer,
    .params = params,
    .lower = lower,
    .json = json,
};
