/* Graph rewriting (rewrite.h): the old-id -> new-id map, copies with remapped operands,
 * replacements and drops, and carrying outputs and updates over. Nodes are appended with
 * ir_graph_add_raw, so a copy costs O(operands) and names are never searched for (names of the
 * new graph all come from distinct old nodes, so they stay unique). */
#include "passes/rewrite.h"

#include <stdlib.h>

#include "ir/ir_ops.h"
#include "support/rt_assert.h"

void pass_rewrite_begin(PassRewrite *rw, const IrGraph *src) {
  rw->src = src;
  rw->dst = ir_graph_new(src->name);
  rw->map = rt_xmalloc((size_t)(src->n_nodes ? src->n_nodes : 1) * sizeof *rw->map);
  for (IrId id = 0; id < src->n_nodes; id++) rw->map[id] = IR_NONE;
  rw->scratch = NULL;
  rw->scratch_cap = 0;
}

IrId pass_rewrite_value(const PassRewrite *rw, IrId old) {
  RT_ASSERT(old >= 0 && old < rw->src->n_nodes, "node %d out of range", old);
  IrId id = rw->map[old];
  RT_ASSERT(id != IR_NONE, "node %d of graph '%s' is used after it was dropped", old, rw->src->name);
  return id;
}

const IrNode *pass_rewrite_operand(const PassRewrite *rw, IrId old, int i) {
  const IrNode *n = ir_node(rw->src, old);
  RT_ASSERT(i >= 0 && i < n->n_in, "operand %d of node %d out of range", i, old);
  return ir_node(rw->dst, pass_rewrite_value(rw, n->in[i]));
}

IrId pass_rewrite_copy(PassRewrite *rw, IrId old) {
  const IrNode *n = ir_node(rw->src, old);
  RT_ASSERT(rw->map[old] == IR_NONE, "node %d is copied twice", old);
  if (n->n_in > rw->scratch_cap) {
    rw->scratch_cap = n->n_in;
    rw->scratch = rt_xrealloc(rw->scratch, (size_t)rw->scratch_cap * sizeof *rw->scratch);
  }
  for (int i = 0; i < n->n_in; i++) rw->scratch[i] = pass_rewrite_value(rw, n->in[i]);
  IrNode proto = *n;
  proto.in = rw->scratch;
  rw->map[old] = ir_graph_add_raw(rw->dst, &proto);
  return rw->map[old];
}

IrId pass_rewrite_copy_with(PassRewrite *rw, IrId old, const IrId *operands, bool named) {
  const IrNode *n = ir_node(rw->src, old);
  for (int i = 0; i < n->n_in; i++)
    RT_ASSERT(ir_type_eq(&ir_node(rw->src, n->in[i])->type, &ir_node(rw->dst, operands[i])->type),
              "operand %d of the copy of node %d has another type", i, old);
  IrNode proto = *n;
  proto.in = (IrId *)operands;
  if (!named) proto.name = NULL;
  return ir_graph_add_raw(rw->dst, &proto);
}

void pass_rewrite_replace(PassRewrite *rw, IrId old, IrId value, bool take_name) {
  const IrNode *n = ir_node(rw->src, old);
  IrNode *v = ir_node(rw->dst, value);
  RT_ASSERT(ir_type_eq(&n->type, &v->type), "node %d replaced by a value of another type", old);
  RT_ASSERT(rw->map[old] == IR_NONE, "node %d is mapped twice", old);
  rw->map[old] = value;
  if (take_name && n->name && !v->name) v->name = rt_arena_strdup(&rw->dst->arena, n->name);
}

void pass_rewrite_drop(PassRewrite *rw, IrId old) {
  RT_ASSERT(old >= 0 && old < rw->src->n_nodes, "node %d out of range", old);
  rw->map[old] = IR_NONE;
}

IrId pass_rewrite_add_op(PassRewrite *rw, IrOp op, int n_in, const IrId *in, const IrAttr *attrs) {
  IrId id = ir_graph_add_op(rw->dst, op, n_in, in, attrs);
  RT_ASSERT(id != IR_NONE, "pass built an invalid %s: %s", ir_op_info[op].name, rw->dst->error);
  return id;
}

static void rewrite_release(PassRewrite *rw) {
  free(rw->map);
  free(rw->scratch);
  rw->map = NULL;
  rw->scratch = NULL;
  rw->scratch_cap = 0;
}

IrGraph *pass_rewrite_finish(PassRewrite *rw) {
  const IrGraph *src = rw->src;
  IrGraph *dst = rw->dst;
  for (int i = 0; i < src->n_outputs; i++)
    ir_graph_add_output(dst, pass_rewrite_value(rw, src->outputs[i]));
  for (int i = 0; i < src->n_updates; i++)
    ir_graph_add_update(dst, pass_rewrite_value(rw, src->updates[i].target),
                        pass_rewrite_value(rw, src->updates[i].value));
  rewrite_release(rw);
  rw->dst = NULL;
  return dst;
}

IrGraph *pass_rewrite_take(PassRewrite *rw) {
  IrGraph *dst = rw->dst;
  rewrite_release(rw);
  rw->dst = NULL;
  return dst;
}

void pass_rewrite_abort(PassRewrite *rw) {
  rewrite_release(rw);
  ir_graph_free(rw->dst);
  rw->dst = NULL;
}
