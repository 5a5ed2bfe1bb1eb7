/* Work rules of the GEMM-class ops and the LSTM recurrence (the op table's `macs` column) and a graph's total: the
 * multiply-adds that `smelt bench` divides by time for its GFLOP/s figures. Each rule reads the
 * shapes the verifier has already checked. */
#include "ir/ir_impl.h"

static const IrShape *operand_shape(const IrGraph *g, const IrNode *n, int i) {
  return &ir_type_of(g, n->in[i])->shape;
}

/* (..., M, K) x (..., K, N), either transposed: every output element is a K-long dot product. */
double ir_macs_matmul(const IrGraph *g, const IrNode *n) {
  const IrShape *a = operand_shape(g, n, 0);
  int64_t k = a->dims[a->rank - (n->attr[0].v[0] ? 2 : 1)];
  return (double)ir_shape_numel(&n->type.shape) * (double)k;
}

/* x (N, C, H, W) * w (O, C, KH, KW) -> (N, O, OH, OW): C x KH x KW per output element. */
double ir_macs_conv2d(const IrGraph *g, const IrNode *n) {
  const int64_t *w = operand_shape(g, n, 1)->dims;
  return (double)ir_shape_numel(&n->type.shape) * (double)(w[1] * w[2] * w[3]);
}

/* g (N, O, OH, OW), w (O, C, KH, KW) -> (N, C, H, W): the forward convolution's work, each
 * gradient element spread over C x KH x KW inputs. */
double ir_macs_conv2d_grad_input(const IrGraph *g, const IrNode *n) {
  const int64_t *w = operand_shape(g, n, 1)->dims;
  return (double)ir_shape_numel(operand_shape(g, n, 0)) * (double)(w[1] * w[2] * w[3]);
}

/* x (N, C, H, W), g (N, O, OH, OW) -> (O, C, KH, KW): again the forward work, each gradient
 * element meeting C x KH x KW inputs. */
double ir_macs_conv2d_grad_filter(const IrGraph *g, const IrNode *n) {
  const int64_t *out = n->type.shape.dims;
  return (double)ir_shape_numel(operand_shape(g, n, 1)) * (double)(out[1] * out[2] * out[3]);
}

/* xproj_d (T, B, 4H), w_hh_d (4H, H) per direction: every step after a direction's first
 * multiplies its (B, H) hidden state by W_hh^T, (B, 4H) dot products of length H. */
double ir_macs_lstm_scan(const IrGraph *g, const IrNode *n) {
  const int64_t *x = operand_shape(g, n, 0)->dims;
  double dirs = n->type.shape.dims[3]; /* lstm_scan and lstm_scan_i8 alike */
  return dirs * (double)(x[0] - 1) * (double)(x[1] * x[2]) * (double)(x[2] / 4);
}

/* The same products backwards: each step's gate gradients (B, 4H) times W_hh, (B, H) sums of
 * 4H terms, for all steps but a direction's first; out (D, T, B, 4H). */
double ir_macs_lstm_scan_grad(const IrGraph *g, const IrNode *n) {
  (void)g;
  const int64_t *da = n->type.shape.dims;
  return (double)da[0] * (double)(da[1] - 1) * (double)(da[2] * da[3]) * (double)(da[3] / 4);
}

double ir_graph_macs(const IrGraph *g) {
  double total = 0;
  for (IrId i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (n->kind == IR_NODE_OP && ir_op_info[n->op].macs) total += ir_op_info[n->op].macs(g, n);
  }
  return total;
}
