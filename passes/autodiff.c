/* Reverse-mode autodiff (see autodiff.h). Two reachability sweeps pick the nodes that need a
 * gradient: forward from the wrt values (only through f32 values, since i32 ones cannot carry a
 * derivative) and backward from the loss; their intersection is the "active" set. Then one
 * reverse sweep calls each active op's VJP rule with need[i] = "operand i is active", and sums
 * the contributions of fan-out with add (the multivariate chain rule). */
#include "passes/autodiff.h"

#include <stdlib.h>
#include <string.h>

#include "ir/ir_builder.h"
#include "ir/ir_ops.h"
#include "support/rt_assert.h"

static bool is_f32(const IrGraph *g, IrId id) { return ir_type_of(g, id)->dtype == IR_F32; }

/* active[i]: node i lies on a path from some wrt to the loss (nodes < n only). */
static void mark_active(const IrGraph *g, int n, IrId loss, int n_wrt, const IrId *wrt, bool *active) {
  bool *from_wrt = rt_xcalloc((size_t)n, sizeof *from_wrt);
  bool *to_loss = rt_xcalloc((size_t)n, sizeof *to_loss);
  for (int i = 0; i < n_wrt; i++) from_wrt[wrt[i]] = true;
  for (IrId id = 0; id < n; id++) {
    const IrNode *node = ir_node(g, id);
    if (node->kind != IR_NODE_OP || !is_f32(g, id)) continue;
    for (int i = 0; i < node->n_in && !from_wrt[id]; i++) from_wrt[id] = from_wrt[node->in[i]];
  }
  to_loss[loss] = true;
  for (IrId id = loss; id >= 0; id--) {
    const IrNode *node = ir_node(g, id);
    if (!to_loss[id] || node->kind != IR_NODE_OP) continue;
    for (int i = 0; i < node->n_in; i++) to_loss[node->in[i]] = true;
  }
  for (IrId id = 0; id < n; id++) active[id] = from_wrt[id] && to_loss[id];
  free(from_wrt);
  free(to_loss);
}

static bool check_arguments(const IrGraph *g, IrId loss, int n_wrt, const IrId *wrt, RtDiags *d) {
  char lb[96], tb[96];
  bool ok = true;
  const IrType *lt = ir_type_of(g, loss);
  if (lt->dtype != IR_F32 || lt->shape.rank != 0) {
    rt_diag_error(d, "", ir_node(g, loss)->line, ir_node(g, loss)->col,
                  "autodiff: the loss %s must be a scalar f32[], got %s",
                  ir_node_label(g, loss, lb, sizeof lb), ir_type_str(lt, tb, sizeof tb));
    ok = false;
  }
  for (int i = 0; i < n_wrt; i++) {
    if (!is_f32(g, wrt[i])) {
      rt_diag_error(d, "", ir_node(g, wrt[i])->line, ir_node(g, wrt[i])->col,
                    "autodiff: cannot differentiate with respect to %s: it is %s, not f32",
                    ir_node_label(g, wrt[i], lb, sizeof lb),
                    ir_type_str(ir_type_of(g, wrt[i]), tb, sizeof tb));
      ok = false;
    }
  }
  return ok;
}

/* One diagnostic per active op that has no VJP rule; true when there is none. */
static bool check_differentiable(const IrGraph *g, int n, const bool *active, RtDiags *d) {
  bool ok = true;
  for (IrId id = 0; id < n; id++) {
    const IrNode *node = ir_node(g, id);
    if (!active[id] || node->kind != IR_NODE_OP || ir_op_info[node->op].vjp) continue;
    char lb[96];
    rt_diag_error(d, "", node->line, node->col,
                  "autodiff: op '%s' (%s) lies on the path to the loss but has no gradient rule",
                  ir_op_info[node->op].name, ir_node_label(g, id, lb, sizeof lb));
    ok = false;
  }
  return ok;
}

/* The gradient contributions of one forward value, summed when the value is reached. */
typedef struct Contribs {
  IrId *items;
  int n, cap;
} Contribs;

/* Records grad as a contribution to `to`, with exact type agreement (a VJP rule returning the
 * wrong type is a bug). */
static void contribute(IrGraph *g, Contribs *c, IrId to, IrId grad, IrId from) {
  char a[96], b[96];
  RT_ASSERT(grad != IR_NONE, "VJP of %s failed: %s", ir_op_info[ir_node(g, from)->op].name, g->error);
  RT_ASSERT(ir_type_eq(ir_type_of(g, grad), ir_type_of(g, to)),
            "VJP of %s gave %s for an operand of type %s", ir_op_info[ir_node(g, from)->op].name,
            ir_type_str(ir_type_of(g, grad), a, sizeof a), ir_type_str(ir_type_of(g, to), b, sizeof b));
  Contribs *l = &c[to];
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 4;
    l->items = rt_xrealloc(l->items, (size_t)l->cap * sizeof *l->items);
  }
  l->items[l->n++] = grad;
}

/* The axis along which pad node p pads (zero everywhere else), or -1. */
static int pad_axis(const IrGraph *g, IrId p) {
  const IrNode *n = ir_node(g, p);
  if (n->kind != IR_NODE_OP || n->op != IR_OP_PAD) return -1;
  int axis = -1;
  for (int d = 0; d < n->type.shape.rank; d++) {
    if (n->attr[0].v[d] == 0 && n->attr[1].v[d] == 0) continue;
    if (axis >= 0) return -1;
    axis = d;
  }
  return axis;
}

static int by_offset_axis; /* qsort context: the common pad axis */
static const IrGraph *by_offset_graph;
static int by_offset(const void *a, const void *b) {
  int64_t x = ir_node(by_offset_graph, *(const IrId *)a)->attr[0].v[by_offset_axis];
  int64_t y = ir_node(by_offset_graph, *(const IrId *)b)->attr[0].v[by_offset_axis];
  return x < y ? -1 : x > y;
}

/* Contributions that are slices' gradients, zero-padded pieces of disjoint ranges along one
 * axis (an LSTM's per-step slices of its input projection), become one concat of the pieces
 * (zeros in the gaps) instead of a sum of full-size tensors, which would keep every padded piece
 * alive until the sum. Returns the concat, or IR_NONE when they are not all such pieces. */
static IrId concat_pieces(IrGraph *g, const Contribs *l) {
  if (l->n < 2) return IR_NONE;
  int axis = pad_axis(g, l->items[0]);
  if (axis < 0) return IR_NONE;
  for (int i = 1; i < l->n; i++)
    if (pad_axis(g, l->items[i]) != axis) return IR_NONE;
  IrId *sorted = rt_xmalloc((size_t)l->n * sizeof *sorted);
  memcpy(sorted, l->items, (size_t)l->n * sizeof *sorted);
  by_offset_axis = axis;
  by_offset_graph = g;
  qsort(sorted, (size_t)l->n, sizeof *sorted, by_offset);
  const IrShape full = ir_type_of(g, sorted[0])->shape;
  IrId *parts = rt_xmalloc((size_t)(2 * l->n + 1) * sizeof *parts);
  int np = 0;
  int64_t at = 0;
  bool ok = true;
  for (int i = 0; i < l->n && ok; i++) {
    const IrNode *p = ir_node(g, sorted[i]);
    int64_t begin = p->attr[0].v[axis], len = ir_type_of(g, p->in[0])->shape.dims[axis];
    if (begin < at) ok = false; /* overlapping pieces add up: not a concat */
    if (begin > at) {
      IrShape gap = full;
      gap.dims[axis] = begin - at;
      parts[np++] = ir_const_fill(g, IR_F32, gap, 0.0);
    }
    parts[np++] = p->in[0];
    at = begin + len;
  }
  if (ok && at < full.dims[axis]) {
    IrShape gap = full;
    gap.dims[axis] = full.dims[axis] - at;
    parts[np++] = ir_const_fill(g, IR_F32, gap, 0.0);
  }
  IrId r = ok && np <= 48 ? ir_concat(g, np, parts, axis) : IR_NONE;
  free(parts);
  free(sorted);
  return r;
}

/* Contributions that are all matmuls with the same transposes and batch dims,
 * sum_i op(A_i) op(B_i) (the weight gradient of an unrolled recurrence, one per time step; an
 * attention decoder's gradient w.r.t. the encoder, one per decoding step), become one matmul over
 * the concatenated contraction dimension: [A_1 .. A_n] [B_1; ..; B_n]. One large GEMM instead of
 * n small ones and n - 1 additions, and no n full-size partial gradients alive at once. */
static bool same_batch_dims(const IrShape *x, const IrShape *y) {
  if (x->rank != y->rank) return false;
  for (int d = 0; d < x->rank - 2; d++)
    if (x->dims[d] != y->dims[d]) return false;
  return true;
}

static IrId concat_matmuls(IrGraph *g, const Contribs *l) {
  enum { MAX_PARTS = 48 };
  if (l->n < 2 || l->n > MAX_PARTS) return IR_NONE;
  IrId a[MAX_PARTS], b[MAX_PARTS];
  const IrNode *first = ir_node(g, l->items[0]);
  if (first->kind != IR_NODE_OP || first->op != IR_OP_MATMUL) return IR_NONE;
  const IrShape *a0 = &ir_type_of(g, first->in[0])->shape, *b0 = &ir_type_of(g, first->in[1])->shape;
  for (int i = 0; i < l->n; i++) {
    const IrNode *m = ir_node(g, l->items[i]);
    if (m->kind != IR_NODE_OP || m->op != IR_OP_MATMUL || m->attr[0].v[0] != first->attr[0].v[0] ||
        m->attr[1].v[0] != first->attr[1].v[0] || !same_batch_dims(&ir_type_of(g, m->in[0])->shape, a0) ||
        !same_batch_dims(&ir_type_of(g, m->in[1])->shape, b0) || a0->rank != m->type.shape.rank)
      return IR_NONE;
    a[i] = m->in[0];
    b[i] = m->in[1];
  }
  bool ta = first->attr[0].v[0], tb = first->attr[1].v[0];
  int r = a0->rank;
  /* the contraction axis: A (.., M, K) or, transposed, (.., K, M); B (.., K, N) or (.., N, K) */
  IrId ca = ir_concat(g, l->n, a, ta ? r - 2 : r - 1), cb = ir_concat(g, l->n, b, tb ? r - 1 : r - 2);
  return ir_matmul(g, ca, cb, ta, tb);
}

/* The sum of a value's contributions (the adjoint), built when the value is reached: all its
 * users have been differentiated by then, since they come later in the graph. */
static IrId adjoint(IrGraph *g, Contribs *l) {
  if (!l->n) return IR_NONE;
  IrId sum = concat_pieces(g, l);
  if (sum == IR_NONE) sum = concat_matmuls(g, l);
  if (sum == IR_NONE) {
    sum = l->items[0];
    for (int i = 1; i < l->n; i++) sum = ir_add(g, sum, l->items[i]);
  }
  free(l->items);
  *l = (Contribs){0};
  return sum;
}

bool pass_autodiff(IrGraph *g, IrId loss, int n_wrt, const IrId *wrt, IrId *grads, RtDiags *d) {
  if (!check_arguments(g, loss, n_wrt, wrt, d)) return false;
  int n = g->n_nodes; /* the forward graph; appended gradient nodes are never revisited */
  bool clean = !g->error[0]; /* a builder error from before is not ours to report */
  bool *active = rt_xcalloc((size_t)n, sizeof *active);
  mark_active(g, n, loss, n_wrt, wrt, active);
  if (!check_differentiable(g, n, active, d)) {
    free(active);
    return false;
  }
  Contribs *contribs = rt_xcalloc((size_t)n, sizeof *contribs); /* per forward node */
  IrId *adj = rt_xmalloc((size_t)n * sizeof *adj); /* adjoint of each forward node */
  for (IrId id = 0; id < n; id++) adj[id] = IR_NONE;
  if (active[loss]) adj[loss] = ir_const_fill(g, IR_F32, IR_SHAPE(), 1.0);

  for (IrId id = loss; id >= 0; id--) {
    const IrNode *node = ir_node(g, id);
    if (id != loss) adj[id] = adjoint(g, &contribs[id]);
    if (node->kind != IR_NODE_OP || adj[id] == IR_NONE) continue;
    bool need[node->n_in];
    IrId grad_in[node->n_in];
    bool any = false;
    for (int i = 0; i < node->n_in; i++) {
      need[i] = active[node->in[i]];
      any = any || need[i];
      grad_in[i] = IR_NONE;
    }
    if (!any) continue;
    ir_op_info[node->op].vjp(g, id, adj[id], need, grad_in);
    for (int i = 0; i < node->n_in; i++)
      if (need[i] && grad_in[i] != IR_NONE) contribute(g, contribs, node->in[i], grad_in[i], id);
  }

  for (int i = 0; i < n_wrt; i++) {
    IrId a = adj[wrt[i]];
    grads[i] = a != IR_NONE ? a : ir_const_fill(g, IR_F32, ir_type_of(g, wrt[i])->shape, 0.0);
  }
  for (IrId id = 0; id < n; id++) free(contribs[id].items); /* (values past the loss) */
  free(contribs);
  free(adj);
  free(active);
  RT_ASSERT(!clean || !g->error[0], "autodiff built an invalid op: %s", g->error);
  return true;
}
