/* Algebraic identities (pass_apply_identities in simplify.h). Each rule looks at one op node
 * whose operands were already rewritten, so chains collapse in a single walk (neg(neg(neg x))
 * -> neg x, transpose^3 -> one transpose). A rule either names an existing value of the new
 * graph that equals the node (x * 1 -> x), or builds one shorter op (transpose of transpose ->
 * one transpose over the inner operand) that takes the node's name. Only exact identities:
 * each replacement computes bit-identical values in IEEE arithmetic, up to the sign of a zero
 * (x + 0 with x = -0 gives +0). x * 0 is not 0 (nan, inf), and to_f32(to_i32(x)) is not x. */
#include <stdlib.h>

#include "ir/ir_ops.h"
#include "passes/simplify_impl.h"
#include "support/rt_assert.h"

typedef struct Rewriter {
  PassRewrite rw;
  const IrNode *n; /* the old op node being rewritten */
  bool fresh;      /* the result is a new node built for n: it takes n's name */
} Rewriter;

static IrId operand(const Rewriter *r, int i) { return pass_rewrite_value(&r->rw, r->n->in[i]); }
static const IrNode *operand_node(const Rewriter *r, int i) {
  return ir_node(r->rw.dst, operand(r, i));
}
static const IrNode *new_node(const Rewriter *r, IrId id) { return ir_node(r->rw.dst, id); }

static bool is_const(const IrNode *c, double want) {
  double v;
  return simplify_const_uniform(c, &v) && v == want;
}

static bool is_op(const IrNode *c, IrOp op) { return c->kind == IR_NODE_OP && c->op == op; }

/* operand i of n, when n's result has exactly its type (no broadcast widened it) */
static IrId passthrough(const Rewriter *r, int i) {
  return ir_type_eq(&r->n->type, &operand_node(r, i)->type) ? operand(r, i) : IR_NONE;
}

/* x * 1, 1 * x, x / 1, x + 0, 0 + x, x - 0 */
static IrId rule_neutral(const Rewriter *r, double unit, bool commutes) {
  IrId x = IR_NONE;
  if (is_const(operand_node(r, 1), unit)) x = passthrough(r, 0);
  if (x == IR_NONE && commutes && is_const(operand_node(r, 0), unit)) x = passthrough(r, 1);
  return x;
}

static IrId rule_neg_neg(const Rewriter *r) {
  const IrNode *a = operand_node(r, 0);
  return is_op(a, IR_OP_NEG) ? a->in[0] : IR_NONE;
}

static bool perm_is_identity(const IrAttr *perm) {
  for (int i = 0; i < perm->n; i++)
    if (perm->v[i] != i) return false;
  return true;
}

/* transpose(transpose(x, p), q): out.dims[i] = mid.dims[q[i]] = x.dims[p[q[i]]], so the
 * composition is one transpose with perm[i] = p[q[i]]. */
static IrId rule_transpose(Rewriter *r, PassSimplifyRule *rule) {
  const IrAttr *q = &r->n->attr[0];
  if (perm_is_identity(q)) {
    *rule = PASS_RULE_TRANSPOSE_IDENTITY;
    return operand(r, 0);
  }
  const IrNode *a = operand_node(r, 0);
  if (!is_op(a, IR_OP_TRANSPOSE)) return IR_NONE;
  *rule = PASS_RULE_TRANSPOSE_TRANSPOSE;
  IrAttr perm = {.n = q->n};
  for (int i = 0; i < q->n; i++) perm.v[i] = a->attr[0].v[q->v[i]];
  if (perm_is_identity(&perm)) return a->in[0];
  r->fresh = true;
  return pass_rewrite_add_op(&r->rw, IR_OP_TRANSPOSE, 1, &a->in[0], &perm);
}

/* reshape and broadcast to the operand's own shape are copies; a reshape of a reshape (or a
 * broadcast of a broadcast: numpy broadcasting composes) is one op from the inner operand */
static IrId rule_reshape_broadcast(Rewriter *r, PassSimplifyRule *rule) {
  bool reshape = r->n->op == IR_OP_RESHAPE;
  IrId x = passthrough(r, 0);
  if (x != IR_NONE) {
    *rule = reshape ? PASS_RULE_RESHAPE_SAME : PASS_RULE_BROADCAST_SAME;
    return x;
  }
  const IrNode *a = operand_node(r, 0);
  if (!is_op(a, r->n->op)) return IR_NONE;
  *rule = reshape ? PASS_RULE_RESHAPE_RESHAPE : PASS_RULE_BROADCAST_BROADCAST;
  if (ir_type_eq(&new_node(r, a->in[0])->type, &r->n->type)) return a->in[0];
  r->fresh = true;
  return pass_rewrite_add_op(&r->rw, r->n->op, 1, &a->in[0], r->n->attr);
}

/* With start 0 everywhere, out dim = ceil(end / step) equals the input dim D only if end = D
 * and step = 1, or D = 1: the slice takes every element in order. */
static IrId rule_slice(const Rewriter *r) {
  for (int d = 0; d < r->n->attr[0].n; d++)
    if (r->n->attr[0].v[d] != 0) return IR_NONE;
  return passthrough(r, 0);
}

static IrId rule_pad(const Rewriter *r) {
  for (int k = 0; k < 2; k++)
    for (int d = 0; d < r->n->attr[k].n; d++)
      if (r->n->attr[k].v[d] != 0) return IR_NONE;
  return operand(r, 0);
}

/* The value that old op node r->n equals, or IR_NONE; *rule says which rule found it. */
static IrId rewrite_op(Rewriter *r, PassSimplifyRule *rule) {
  switch (r->n->op) {
  case IR_OP_MUL: *rule = PASS_RULE_MUL_ONE; return rule_neutral(r, 1.0, true);
  case IR_OP_DIV: *rule = PASS_RULE_DIV_ONE; return rule_neutral(r, 1.0, false);
  case IR_OP_ADD: *rule = PASS_RULE_ADD_ZERO; return rule_neutral(r, 0.0, true);
  case IR_OP_SUB: *rule = PASS_RULE_SUB_ZERO; return rule_neutral(r, 0.0, false);
  case IR_OP_NEG: *rule = PASS_RULE_NEG_NEG; return rule_neg_neg(r);
  case IR_OP_TRANSPOSE: return rule_transpose(r, rule);
  case IR_OP_RESHAPE:
  case IR_OP_BROADCAST: return rule_reshape_broadcast(r, rule);
  case IR_OP_SLICE: *rule = PASS_RULE_SLICE_FULL; return rule_slice(r);
  case IR_OP_CONCAT: *rule = PASS_RULE_CONCAT_ONE; return r->n->n_in == 1 ? operand(r, 0) : IR_NONE;
  case IR_OP_PAD: *rule = PASS_RULE_PAD_NONE; return rule_pad(r);
  /* every reduced axis has size 1 and is kept: sum = 0 + x, mean = x / 1, max = x */
  case IR_OP_REDUCE_SUM:
  case IR_OP_REDUCE_MEAN:
  case IR_OP_REDUCE_MAX: *rule = PASS_RULE_REDUCE_NONE; return passthrough(r, 0);
  default: return IR_NONE;
  }
}

IrGraph *pass_apply_identities_map(const IrGraph *g, PassSimplifyStats *stats, IrId *map) {
  Rewriter r = {0};
  pass_rewrite_begin(&r.rw, g);
  for (IrId id = 0; id < g->n_nodes; id++) {
    r.n = g->nodes[id];
    r.fresh = false;
    PassSimplifyRule rule = PASS_RULE_COUNT;
    IrId value = r.n->kind == IR_NODE_OP ? rewrite_op(&r, &rule) : IR_NONE;
    if (value == IR_NONE) {
      pass_rewrite_copy(&r.rw, id);
      continue;
    }
    pass_rewrite_replace(&r.rw, id, value, r.fresh);
    simplify_count(stats, rule);
  }
  return simplify_finish(&r.rw, stats, map);
}

IrGraph *pass_apply_identities(const IrGraph *g, PassSimplifyStats *stats) {
  return pass_apply_identities_map(g, stats, NULL);
}
