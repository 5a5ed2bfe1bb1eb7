/* Builder API (ir_builder.h): argument packing for ir_graph_add_op plus a few composites. */
#include "ir/ir_builder.h"

#include <stdlib.h>
#include <string.h>

#include "ir/ir_ops.h"
#include "support/rt_assert.h"

static IrAttr attr_ints(int n, const int64_t *v) {
  IrAttr a = {.n = n};
  RT_ASSERT(n <= IR_ATTR_MAX_INTS, "attribute with %d ints", n);
  if (n) memcpy(a.v, v, (size_t)n * sizeof *v);
  return a;
}

static IrAttr attr_int(int64_t v) { return attr_ints(1, &v); }

static IrAttr attr_shape(IrShape s) { return attr_ints(s.rank, s.dims); }

static IrAttr attr_from_int(int n, const int *v) {
  int64_t w[IR_ATTR_MAX_INTS];
  for (int i = 0; i < n; i++) w[i] = v[i];
  return attr_ints(n, w);
}

static int rank_of(IrGraph *g, IrId x) { return ir_type_of(g, x)->shape.rank; }

static int norm_axis(IrGraph *g, IrId x, int axis) { return axis < 0 ? axis + rank_of(g, x) : axis; }

/* ---- leaves ---- */

IrId ir_input(IrGraph *g, const char *name, IrDType dtype, IrShape shape) {
  IrId id = ir_graph_add_leaf(g, IR_NODE_INPUT, name, (IrType){dtype, shape});
  if (dtype == IR_F32) { /* what `smelt run-ir` feeds it: uniform in [-1, 1) */
    ir_node(g, id)->init = IR_INIT_UNIFORM;
    ir_node(g, id)->value = 1.0;
  }
  return id;
}

IrId ir_param(IrGraph *g, const char *name, IrShape shape, IrInit init, double value) {
  IrId id = ir_graph_add_leaf(g, IR_NODE_PARAM, name, (IrType){IR_F32, shape});
  ir_node(g, id)->init = init;
  ir_node(g, id)->value = value;
  return id;
}

IrId ir_param_i8(IrGraph *g, const char *name, IrShape shape) {
  return ir_graph_add_leaf(g, IR_NODE_PARAM, name, (IrType){IR_I8, shape}); /* init zeros */
}

IrId ir_state(IrGraph *g, const char *name, IrDType dtype, IrShape shape, IrInit init, double value) {
  IrId id = ir_graph_add_leaf(g, IR_NODE_STATE, name, (IrType){dtype, shape});
  ir_node(g, id)->init = init;
  ir_node(g, id)->value = value;
  return id;
}

IrId ir_const_fill(IrGraph *g, IrDType dtype, IrShape shape, double value) {
  IrId id = ir_graph_add_leaf(g, IR_NODE_CONST, NULL, (IrType){dtype, shape});
  ir_node(g, id)->init = IR_INIT_FILL;
  ir_node(g, id)->value = value;
  return id;
}

IrId ir_const_data(IrGraph *g, IrDType dtype, IrShape shape, const double *data) {
  IrId id = ir_graph_add_leaf(g, IR_NODE_CONST, NULL, (IrType){dtype, shape});
  IrNode *n = ir_node(g, id);
  n->init = IR_INIT_DATA;
  n->data = rt_arena_memdup(&g->arena, data, (size_t)ir_shape_numel(&shape) * sizeof *data);
  return id;
}

IrId ir_scalar(IrGraph *g, double value) { return ir_const_fill(g, IR_F32, IR_SHAPE(), value); }

/* ---- elementwise ---- */

IrId ir_unary(IrGraph *g, IrOp op, IrId x) { return ir_graph_add_op(g, op, 1, &x, NULL); }

IrId ir_binary(IrGraph *g, IrOp op, IrId a, IrId b) {
  IrId in[2] = {a, b};
  return ir_graph_add_op(g, op, 2, in, NULL);
}

IrId ir_select(IrGraph *g, IrId cond, IrId a, IrId b) {
  IrId in[3] = {cond, a, b};
  return ir_graph_add_op(g, IR_OP_SELECT, 3, in, NULL);
}

IrId ir_add_scalar(IrGraph *g, IrId x, double c) { return ir_add(g, x, ir_scalar(g, c)); }

IrId ir_mul_scalar(IrGraph *g, IrId x, double c) { return ir_mul(g, x, ir_scalar(g, c)); }

/* ---- reductions ---- */

IrId ir_reduce(IrGraph *g, IrOp op, IrId x, int n_axes, const int *axes, bool keepdims) {
  if (x == IR_NONE) return IR_NONE;
  int64_t norm[IR_MAX_RANK];
  RT_ASSERT(n_axes <= IR_MAX_RANK, "too many axes");
  for (int i = 0; i < n_axes; i++) norm[i] = norm_axis(g, x, axes[i]);
  IrAttr attrs[2] = {attr_ints(n_axes, norm), attr_int(keepdims)};
  return ir_graph_add_op(g, op, 1, &x, attrs);
}

IrId ir_sum(IrGraph *g, IrId x, int n_axes, const int *axes, bool keepdims) {
  return ir_reduce(g, IR_OP_REDUCE_SUM, x, n_axes, axes, keepdims);
}

IrId ir_mean(IrGraph *g, IrId x, int n_axes, const int *axes, bool keepdims) {
  return ir_reduce(g, IR_OP_REDUCE_MEAN, x, n_axes, axes, keepdims);
}

IrId ir_reduce_max(IrGraph *g, IrId x, int n_axes, const int *axes, bool keepdims) {
  return ir_reduce(g, IR_OP_REDUCE_MAX, x, n_axes, axes, keepdims);
}

static IrId reduce_all(IrGraph *g, IrOp op, IrId x) {
  if (x == IR_NONE) return IR_NONE;
  int axes[IR_MAX_RANK], r = rank_of(g, x);
  for (int i = 0; i < r; i++) axes[i] = i;
  return ir_reduce(g, op, x, r, axes, false);
}

IrId ir_sum_all(IrGraph *g, IrId x) { return reduce_all(g, IR_OP_REDUCE_SUM, x); }

IrId ir_mean_all(IrGraph *g, IrId x) { return reduce_all(g, IR_OP_REDUCE_MEAN, x); }

IrId ir_sum_to_shape(IrGraph *g, IrId x, IrShape shape) {
  if (x == IR_NONE) return IR_NONE;
  const IrShape *xs = &ir_type_of(g, x)->shape;
  if (ir_shape_eq(xs, &shape)) return x;
  int axes[IR_MAX_RANK], n = 0, lead = xs->rank - shape.rank;
  for (int d = 0; d < xs->rank; d++)
    if (d < lead || (shape.dims[d - lead] == 1 && xs->dims[d] != 1)) axes[n++] = d;
  IrId s = n ? ir_sum(g, x, n, axes, true) : x;
  return ir_reshape(g, s, shape);
}

/* ---- matmul, convolution, pooling ---- */

IrId ir_matmul(IrGraph *g, IrId a, IrId b, bool trans_a, bool trans_b) {
  IrId in[2] = {a, b};
  IrAttr attrs[2] = {attr_int(trans_a), attr_int(trans_b)};
  return ir_graph_add_op(g, IR_OP_MATMUL, 2, in, attrs);
}

IrConvSpec ir_conv_spec(int stride, int pad) {
  return (IrConvSpec){{stride, stride}, {pad, pad, pad, pad}, {1, 1}};
}

static void conv_attrs(IrConvSpec s, IrAttr *attrs) {
  attrs[0] = attr_from_int(2, s.stride);
  attrs[1] = attr_from_int(4, s.pad);
  attrs[2] = attr_from_int(2, s.dilation);
}

IrId ir_conv2d(IrGraph *g, IrId x, IrId w, int stride, int pad) {
  return ir_conv2d_ex(g, x, w, ir_conv_spec(stride, pad));
}

IrId ir_conv2d_ex(IrGraph *g, IrId x, IrId w, IrConvSpec spec) {
  IrId in[2] = {x, w};
  IrAttr attrs[3];
  conv_attrs(spec, attrs);
  return ir_graph_add_op(g, IR_OP_CONV2D, 2, in, attrs);
}

IrId ir_conv2d_grad_input(IrGraph *g, IrId gout, IrId w, IrConvSpec spec, int64_t in_h, int64_t in_w) {
  IrId in[2] = {gout, w};
  IrAttr attrs[4];
  conv_attrs(spec, attrs);
  attrs[3] = attr_ints(2, (int64_t[]){in_h, in_w});
  return ir_graph_add_op(g, IR_OP_CONV2D_GRAD_INPUT, 2, in, attrs);
}

IrId ir_conv2d_grad_filter(IrGraph *g, IrId x, IrId gout, IrConvSpec spec, int64_t kh, int64_t kw) {
  IrId in[2] = {x, gout};
  IrAttr attrs[4];
  conv_attrs(spec, attrs);
  attrs[3] = attr_ints(2, (int64_t[]){kh, kw});
  return ir_graph_add_op(g, IR_OP_CONV2D_GRAD_FILTER, 2, in, attrs);
}

IrPoolSpec ir_pool_spec(int wh, int ww) { return (IrPoolSpec){{wh, ww}, {wh, ww}, {0, 0, 0, 0}}; }

static void pool_attrs(IrPoolSpec s, IrAttr *attrs) {
  attrs[0] = attr_from_int(2, s.window);
  attrs[1] = attr_from_int(2, s.stride);
  attrs[2] = attr_from_int(4, s.pad);
}

IrId ir_maxpool2d(IrGraph *g, IrId x, IrPoolSpec spec) {
  IrAttr attrs[3];
  pool_attrs(spec, attrs);
  return ir_graph_add_op(g, IR_OP_MAXPOOL2D, 1, &x, attrs);
}

IrId ir_maxpool2d_grad(IrGraph *g, IrId x, IrId gout, IrPoolSpec spec) {
  IrId in[2] = {x, gout};
  IrAttr attrs[3];
  pool_attrs(spec, attrs);
  return ir_graph_add_op(g, IR_OP_MAXPOOL2D_GRAD, 2, in, attrs);
}

IrId ir_avgpool2d(IrGraph *g, IrId x, IrPoolSpec spec) {
  IrAttr attrs[3];
  pool_attrs(spec, attrs);
  return ir_graph_add_op(g, IR_OP_AVGPOOL2D, 1, &x, attrs);
}

IrId ir_avgpool2d_grad(IrGraph *g, IrId gout, IrPoolSpec spec, int64_t in_h, int64_t in_w) {
  IrAttr attrs[4];
  pool_attrs(spec, attrs);
  attrs[3] = attr_ints(2, (int64_t[]){in_h, in_w});
  return ir_graph_add_op(g, IR_OP_AVGPOOL2D_GRAD, 1, &gout, attrs);
}

/* ---- layout ---- */

IrId ir_reshape(IrGraph *g, IrId x, IrShape shape) {
  IrAttr a = attr_shape(shape);
  return ir_graph_add_op(g, IR_OP_RESHAPE, 1, &x, &a);
}

IrId ir_transpose(IrGraph *g, IrId x, int n, const int *perm) {
  IrAttr a = attr_from_int(n, perm);
  return ir_graph_add_op(g, IR_OP_TRANSPOSE, 1, &x, &a);
}

IrId ir_slice(IrGraph *g, IrId x, const int64_t *start, const int64_t *end, const int64_t *step) {
  if (x == IR_NONE) return IR_NONE;
  int r = rank_of(g, x);
  int64_t ones[IR_MAX_RANK] = {1, 1, 1, 1, 1, 1};
  IrAttr attrs[3] = {attr_ints(r, start), attr_ints(r, end), attr_ints(r, step ? step : ones)};
  return ir_graph_add_op(g, IR_OP_SLICE, 1, &x, attrs);
}

IrId ir_slice_axis(IrGraph *g, IrId x, int axis, int64_t start, int64_t end) {
  if (x == IR_NONE) return IR_NONE;
  const IrShape *s = &ir_type_of(g, x)->shape;
  int64_t b[IR_MAX_RANK] = {0}, e[IR_MAX_RANK];
  for (int d = 0; d < s->rank; d++) e[d] = s->dims[d];
  axis = norm_axis(g, x, axis);
  RT_ASSERT(axis >= 0 && axis < s->rank, "slice axis %d out of range", axis);
  b[axis] = start;
  e[axis] = end;
  return ir_slice(g, x, b, e, NULL);
}

/* Most operands of one concat node the builder makes. Compiled, a concat is one kernel taking
 * each operand as a pointer argument (codegen takes at most 64), and a layer concatenates one
 * operand per time step: an LSTM over a 256-column line has 256. Longer lists become a concat
 * of concats, each at most this wide; the presets' widest concat has 32 operands. */
enum { CONCAT_FAN_IN = 32 };

IrId ir_concat(IrGraph *g, int n, const IrId *xs, int axis) {
  if (n < 1 || xs[0] == IR_NONE) return IR_NONE;
  IrAttr a = attr_int(norm_axis(g, xs[0], axis));
  if (n <= CONCAT_FAN_IN) return ir_graph_add_op(g, IR_OP_CONCAT, n, xs, &a);
  int groups = (n + CONCAT_FAN_IN - 1) / CONCAT_FAN_IN;
  IrId *parts = rt_xmalloc((size_t)groups * sizeof *parts);
  for (int i = 0; i < groups; i++) {
    int first = i * CONCAT_FAN_IN, count = n - first < CONCAT_FAN_IN ? n - first : CONCAT_FAN_IN;
    parts[i] = ir_graph_add_op(g, IR_OP_CONCAT, count, xs + first, &a);
  }
  IrId out = ir_concat(g, groups, parts, (int)a.v[0]);
  free(parts);
  return out;
}

IrId ir_pad(IrGraph *g, IrId x, const int64_t *before, const int64_t *after) {
  if (x == IR_NONE) return IR_NONE;
  int r = rank_of(g, x);
  IrAttr attrs[2] = {attr_ints(r, before), attr_ints(r, after)};
  return ir_graph_add_op(g, IR_OP_PAD, 1, &x, attrs);
}

IrId ir_broadcast(IrGraph *g, IrId x, IrShape shape) {
  IrAttr a = attr_shape(shape);
  return ir_graph_add_op(g, IR_OP_BROADCAST, 1, &x, &a);
}

/* ---- indexing, random numbers, CTC ---- */

IrId ir_gather(IrGraph *g, IrId table, IrId idx) {
  IrId in[2] = {table, idx};
  return ir_graph_add_op(g, IR_OP_GATHER, 2, in, NULL);
}

IrId ir_scatter_add(IrGraph *g, IrId idx, IrId upd, int64_t rows) {
  IrId in[2] = {idx, upd};
  IrAttr a = attr_int(rows);
  return ir_graph_add_op(g, IR_OP_SCATTER_ADD, 2, in, &a);
}

IrId ir_one_hot(IrGraph *g, IrId idx, int64_t depth) {
  IrAttr a = attr_int(depth);
  return ir_graph_add_op(g, IR_OP_ONE_HOT, 1, &idx, &a);
}

IrId ir_argmax(IrGraph *g, IrId x, int axis) {
  if (x == IR_NONE) return IR_NONE;
  IrAttr a = attr_int(norm_axis(g, x, axis));
  return ir_graph_add_op(g, IR_OP_ARGMAX, 1, &x, &a);
}

IrId ir_rng_uniform(IrGraph *g, IrId seed, int64_t stream, IrShape shape) {
  IrAttr attrs[2] = {attr_int(stream), attr_shape(shape)};
  return ir_graph_add_op(g, IR_OP_RNG_UNIFORM, 1, &seed, attrs);
}

IrId ir_ctc_loss(IrGraph *g, IrId logits, IrId labels, IrId label_len, int blank) {
  IrId in[3] = {logits, labels, label_len};
  IrAttr a = attr_int(blank);
  return ir_graph_add_op(g, IR_OP_CTC_LOSS, 3, in, &a);
}

IrId ir_ctc_loss_grad(IrGraph *g, IrId logits, IrId labels, IrId label_len, IrId gout, int blank) {
  IrId in[4] = {logits, labels, label_len, gout};
  IrAttr a = attr_int(blank);
  return ir_graph_add_op(g, IR_OP_CTC_LOSS_GRAD, 4, in, &a);
}

IrId ir_lstm_scan(IrGraph *g, int dirs, const IrId *xproj, const IrId *w_hh, bool save) {
  RT_ASSERT(dirs == 1 || dirs == 2, "an LSTM has 1 or 2 directions, not %d", dirs);
  IrId in[4];
  for (int d = 0; d < dirs; d++) in[2 * d] = xproj[d], in[2 * d + 1] = w_hh[d];
  IrAttr a = attr_int(save);
  return ir_graph_add_op(g, IR_OP_LSTM_SCAN, 2 * dirs, in, &a);
}

IrId ir_lstm_scan_i8(IrGraph *g, int dirs, const IrId *xproj, const IrId *w_hh, const IrId *w_scale) {
  RT_ASSERT(dirs == 1 || dirs == 2, "an LSTM has 1 or 2 directions, not %d", dirs);
  IrId in[6];
  for (int d = 0; d < dirs; d++) in[3 * d] = xproj[d], in[3 * d + 1] = w_hh[d], in[3 * d + 2] = w_scale[d];
  return ir_graph_add_op(g, IR_OP_LSTM_SCAN_I8, 3 * dirs, in, NULL);
}

IrId ir_lstm_scan_grad(IrGraph *g, IrId state, IrId gout, int dirs, const IrId *w_hh) {
  RT_ASSERT(dirs == 1 || dirs == 2, "an LSTM has 1 or 2 directions, not %d", dirs);
  IrId in[4] = {state, gout, w_hh[0], dirs > 1 ? w_hh[1] : IR_NONE};
  return ir_graph_add_op(g, IR_OP_LSTM_SCAN_GRAD, 2 + dirs, in, NULL);
}

/* ---- composites ---- */

IrId ir_softmax(IrGraph *g, IrId x, int axis) {
  if (x == IR_NONE) return IR_NONE;
  axis = norm_axis(g, x, axis);
  IrId shifted = ir_sub(g, x, ir_reduce_max(g, x, 1, &axis, true));
  IrId e = ir_exp(g, shifted);
  return ir_div(g, e, ir_sum(g, e, 1, &axis, true));
}

IrId ir_log_softmax(IrGraph *g, IrId x, int axis) {
  if (x == IR_NONE) return IR_NONE;
  axis = norm_axis(g, x, axis);
  IrId shifted = ir_sub(g, x, ir_reduce_max(g, x, 1, &axis, true));
  IrId lse = ir_log(g, ir_sum(g, ir_exp(g, shifted), 1, &axis, true));
  return ir_sub(g, shifted, lse);
}

IrId ir_dropout(IrGraph *g, IrId x, IrId p, IrId seed, int64_t stream) {
  if (x == IR_NONE) return IR_NONE;
  IrId u = ir_rng_uniform(g, seed, stream, ir_type_of(g, x)->shape);
  IrId keep = ir_ge(g, u, p);
  IrId scale = ir_div(g, ir_scalar(g, 1.0), ir_sub(g, ir_scalar(g, 1.0), p));
  return ir_mul(g, x, ir_mul(g, keep, scale));
}
