/* The products of weights, as FeQuantMode says (fe_lower.h, docs/quantization.md): in f32; in f32
 * with the activations' largest magnitude as an extra output (calibration); or in int8:
 *   y = to_f32(quantize(x, s_x) (*) w_q) * s_w * s_x
 * with (*) a matmul against w^T or a convolution, s_w one scale per output channel and s_x the
 * activations' one scale, both params stored beside the i8 weight. */
#include <stdio.h>

#include "frontend/fe_lower_impl.h"
#include "support/rt_assert.h"

bool fe_lower_quantizable(const FeParamInfo *info) {
  int64_t fan_in = 1;
  for (int k = 1; k < info->rank; k++) fan_in *= info->dims[k];
  return info->product_weight && fan_in >= FE_QUANT_MIN_FAN_IN;
}

static bool is_quantizable(const FeLowerCtx *c, IrId w) {
  for (int i = 0; i < c->n_quantizable; i++)
    if (c->quantizable[i] == w) return true;
  return false;
}

IrId fe_lower_param_beside(FeLowerCtx *c, IrId w, const char *suffix) {
  char name[160];
  snprintf(name, sizeof name, "%s.%s", ir_node(c->g, w)->name, suffix);
  IrId id = ir_graph_find(c->g, name);
  RT_ASSERT(id != IR_NONE, "no param '%s'", name);
  return id;
}

/* FE_QUANT_OBSERVE: max |x| over the whole batch, kept for the output "absmax" (fe_lower.c). */
static void observe(FeLowerCtx *c, IrId x, IrId w) {
  IrGraph *g = c->g;
  int rank = ir_type_of(g, x)->shape.rank, axes[IR_MAX_RANK];
  for (int d = 0; d < rank; d++) axes[d] = d;
  for (int i = 0; i < c->n_quantizable; i++)
    if (c->quantizable[i] == w) c->observed[i] = ir_reduce_max(g, ir_abs(g, x), rank, axes, false);
}

static IrId product(FeLowerCtx *c, IrId x, IrId w, const IrConvSpec *conv) {
  IrGraph *g = c->g;
  bool quantized = c->quant != FE_QUANT_NONE && is_quantizable(c, w);
  if (quantized && c->quant == FE_QUANT_OBSERVE) observe(c, x, w);
  if (!quantized || c->quant != FE_QUANT_INT8) return conv ? ir_conv2d_ex(g, x, w, *conv) : ir_matmul(g, x, w, false, true);
  IrId s_w = fe_lower_param_beside(c, w, "scale"), s_x = fe_lower_param_beside(c, w, "input_scale");
  IrId q = ir_quantize(g, x, s_x);
  IrId sums = conv ? ir_conv2d_ex(g, q, w, *conv) : ir_matmul(g, q, w, false, true);
  if (conv) s_w = ir_reshape(g, s_w, IR_SHAPE(ir_type_of(g, w)->shape.dims[0], 1, 1));
  return ir_mul(g, ir_mul(g, ir_to_f32(g, sums), s_w), s_x);
}

IrId fe_lower_affine(FeLowerCtx *c, IrId x, IrId w, IrId b) {
  IrId y = product(c, x, w, NULL);
  return b == IR_NONE ? y : ir_add(c->g, y, b);
}

IrId fe_lower_conv(FeLowerCtx *c, IrId x, IrId w, IrConvSpec spec) { return product(c, x, w, &spec); }
