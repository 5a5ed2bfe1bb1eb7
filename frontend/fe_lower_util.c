/* Helpers every layer's lowering shares (fe_lower_impl.h): layer and parameter names in the
 * graph, the LSTM cell (lstm layers and the attention head's LSTMCell) and the stop
 * mask of greedy decoding. They know no layer kind and call no row of the layer table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/fe_lower_impl.h"
#include "support/rt_assert.h"

void fe_lower_layer_prefix(const FeLayer *l, char *buf, size_t size) {
  /* Layer names are letters, digits, '_' and '-' (fe_preset.c); IR names may not start with a
   * digit nor hold '-'. */
  bool digit = l->name[0] >= '0' && l->name[0] <= '9';
  snprintf(buf, size, "%s%s", digit ? "_" : "", l->name);
  for (char *s = buf; *s; s++)
    if (*s == '-') *s = '_';
}

void fe_lower_param_name(const FeLayer *l, const char *suffix, char *buf, size_t size) {
  char prefix[64];
  fe_lower_layer_prefix(l, prefix, sizeof prefix);
  snprintf(buf, size, "%s.%s", prefix, suffix);
}

IrId fe_lower_param(FeLowerCtx *c, const FeLayer *l, const char *suffix) {
  char full[128];
  fe_lower_param_name(l, suffix, full, sizeof full);
  IrId id = ir_graph_find(c->g, full);
  RT_ASSERT(id != IR_NONE && ir_node(c->g, id)->kind == IR_NODE_PARAM, "no param '%s'", full);
  return id;
}

/* i = sigma(a_i), f = sigma(a_f), g = tanh(a_g), o = sigma(a_o); c' = f c + i g; h' = o tanh(c'). */
void fe_lower_lstm_cell(IrGraph *g, IrId gates, IrId c_prev, int hidden, IrId *h_out, IrId *c_out) {
  int64_t h = hidden;
  IrId i = ir_sigmoid(g, ir_slice_axis(g, gates, 1, 0, h));
  IrId f = ir_sigmoid(g, ir_slice_axis(g, gates, 1, h, 2 * h));
  IrId gg = ir_tanh(g, ir_slice_axis(g, gates, 1, 2 * h, 3 * h));
  IrId o = ir_sigmoid(g, ir_slice_axis(g, gates, 1, 3 * h, 4 * h));
  *c_out = ir_add(g, ir_mul(g, f, c_prev), ir_mul(g, i, gg));
  *h_out = ir_mul(g, o, ir_tanh(g, *c_out));
}

IrId fe_lower_stop_mask(IrGraph *g, IrId raw, int end) {
  if (raw == IR_NONE) return IR_NONE;
  int64_t S = ir_type_of(g, raw)->shape.dims[1];
  IrId end_id = ir_const_fill(g, IR_I32, IR_SHAPE(), end);
  IrId is_end = ir_eq(g, raw, end_id); /* (B, S) 1.0 where the step emitted end */
  /* ends_before[b, t] = sum_{s < t} is_end[b, s]: one matmul with the strictly upper triangle. */
  double *upper = rt_xcalloc((size_t)(S * S), sizeof *upper);
  for (int64_t s = 0; s < S; s++)
    for (int64_t t = s + 1; t < S; t++) upper[s * S + t] = 1;
  IrId ends_before = ir_matmul(g, is_end, ir_const_data(g, IR_F32, IR_SHAPE(S, S), upper), false, false);
  free(upper);
  return ir_select(g, ir_gt(g, ends_before, ir_scalar(g, 0)), end_id, raw);
}
