/* Reverse-mode autodiff (see autodiff.h). Two reachability sweeps pick the nodes that need a
 * gradient: forward from the wrt values (only through f32 values, since i32 ones cannot carry a
 * derivative) and backward from the loss; their intersection is the "active" set. Then one
 * reverse sweep calls each active op's VJP rule with need[i] = "operand i is active", and sums
 * the contributions of fan-out with add (the multivariate chain rule). */
#include "passes/autodiff.h"

#include <stdlib.h>

#include "ir/ir_builder.h"
#include "ir/ir_ops.h"
#include "runtime/rt_assert.h"

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

/* adj[to] += grad, with exact type agreement (a VJP rule returning the wrong type is a bug) */
static void accumulate(IrGraph *g, IrId *adj, IrId to, IrId grad, IrId from) {
  char a[96], b[96];
  RT_ASSERT(grad != IR_NONE, "VJP of %s failed: %s", ir_op_info[ir_node(g, from)->op].name, g->error);
  RT_ASSERT(ir_type_eq(ir_type_of(g, grad), ir_type_of(g, to)),
            "VJP of %s gave %s for an operand of type %s", ir_op_info[ir_node(g, from)->op].name,
            ir_type_str(ir_type_of(g, grad), a, sizeof a), ir_type_str(ir_type_of(g, to), b, sizeof b));
  adj[to] = adj[to] == IR_NONE ? grad : ir_add(g, adj[to], grad);
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
  IrId *adj = rt_xmalloc((size_t)n * sizeof *adj); /* adjoint of each forward node */
  for (IrId id = 0; id < n; id++) adj[id] = IR_NONE;
  if (active[loss]) adj[loss] = ir_const_fill(g, IR_F32, IR_SHAPE(), 1.0);

  for (IrId id = loss; id >= 0; id--) {
    const IrNode *node = ir_node(g, id);
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
      if (need[i] && grad_in[i] != IR_NONE) accumulate(g, adj, node->in[i], grad_in[i], id);
  }

  for (int i = 0; i < n_wrt; i++) {
    IrId a = adj[wrt[i]];
    grads[i] = a != IR_NONE ? a : ir_const_fill(g, IR_F32, ir_type_of(g, wrt[i])->shape, 0.0);
  }
  free(adj);
  free(active);
  RT_ASSERT(!clean || !g->error[0], "autodiff built an invalid op: %s", g->error);
  return true;
}
