/* The reference interpreter's driver (ir_interp.h): value slots, leaf initialisation, running
 * op nodes in order with the op table's eval functions, and applying state updates. */
#include "ir/ir_interp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support/rt_assert.h"
#include "support/rt_init.h"
#include "support/rt_random.h"

struct IrInterp {
  const IrGraph *g;
  int n_nodes;         /* g->n_nodes at creation; the graph must not grow afterwards */
  IrTensor *values;    /* (n_nodes) slots, data pointing into `storage` */
  double *storage;     /* every slot's elements, one allocation */
  double *update_tmp;  /* (sum of update value numels) staging for ir_interp_apply_updates */
  const IrTensor **in; /* (max operands) operand pointers for one eval call */
};

IrInterp *ir_interp_new(const IrGraph *g) {
  IrInterp *it = rt_xcalloc(1, sizeof *it);
  it->g = g;
  it->n_nodes = g->n_nodes;
  it->values = rt_xcalloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof *it->values);
  size_t total = 0, staged = 0;
  int max_in = 1;
  for (IrId id = 0; id < g->n_nodes; id++) {
    const IrNode *n = ir_node(g, id);
    total += (size_t)ir_shape_numel(&n->type.shape);
    if (n->n_in > max_in) max_in = n->n_in;
  }
  for (int u = 0; u < g->n_updates; u++)
    staged += (size_t)ir_shape_numel(&ir_type_of(g, g->updates[u].value)->shape);
  it->storage = rt_xcalloc(total ? total : 1, sizeof *it->storage);
  it->update_tmp = rt_xcalloc(staged ? staged : 1, sizeof *it->update_tmp);
  it->in = rt_xcalloc((size_t)max_in, sizeof *it->in);
  double *p = it->storage;
  for (IrId id = 0; id < g->n_nodes; id++) {
    it->values[id] = (IrTensor){ir_node(g, id)->type, p};
    p += ir_shape_numel(&it->values[id].type.shape);
  }
  for (IrId id = 0; id < g->n_nodes; id++)
    if (ir_node(g, id)->kind == IR_NODE_CONST) ir_interp_init_leaf(it, id, 0);
  return it;
}

void ir_interp_free(IrInterp *it) {
  if (!it) return;
  free(it->values);
  free(it->storage);
  free(it->update_tmp);
  free(it->in);
  free(it);
}

IrTensor *ir_interp_value(IrInterp *it, IrId id) {
  RT_ASSERT(id >= 0 && id < it->n_nodes, "node id %d out of range (%d slots)", id, it->n_nodes);
  return &it->values[id];
}

/* One element of a leaf's initial value, before rounding to its dtype (support/rt_init.h, so
 * that compiled trainers start from the same numbers). */
static double leaf_element(const IrNode *n, uint64_t seed, uint64_t stream, int64_t i) {
  RT_ASSERT(n->init >= 0 && n->init < IR_INIT_COUNT, "node has an invalid init %d", (int)n->init);
  if (n->init == IR_INIT_DATA) return n->data[i];
  return rt_init_element((RtInitKind)n->init, n->value, n->type.dtype != IR_F32, seed, stream, i);
}

_Static_assert((int)IR_INIT_ZEROS == (int)RT_INIT_ZEROS && (int)IR_INIT_ONES == (int)RT_INIT_ONES &&
                   (int)IR_INIT_FILL == (int)RT_INIT_FILL && (int)IR_INIT_UNIFORM == (int)RT_INIT_UNIFORM &&
                   (int)IR_INIT_NORMAL == (int)RT_INIT_NORMAL,
               "IrInit and RtInitKind must agree");

void ir_interp_init_leaf(IrInterp *it, IrId id, uint64_t seed) {
  const IrNode *n = ir_node(it->g, id);
  RT_ASSERT(id < it->n_nodes, "node %d was added after ir_interp_new", id);
  RT_ASSERT(n->kind != IR_NODE_OP, "node %d is an op, not a leaf", id);
  RT_ASSERT(n->init != IR_INIT_DATA || n->data, "node %d has init DATA but no data", id);
  uint64_t stream = n->name ? rt_random_stream_of(n->name) : (uint64_t)id;
  IrTensor *t = &it->values[id];
  int64_t count = ir_shape_numel(&t->type.shape);
  for (int64_t i = 0; i < count; i++) {
    double v = leaf_element(n, seed, stream, i);
    t->data[i] = t->type.dtype != IR_F32 ? nearbyint(v) : ir_f32_round(v);
  }
}

void ir_interp_init_leaves(IrInterp *it, uint64_t seed) {
  for (IrId id = 0; id < it->g->n_nodes; id++)
    if (ir_node(it->g, id)->kind != IR_NODE_OP) ir_interp_init_leaf(it, id, seed);
}

/* Rounds an f32 value to float, and flushes it to a zero of its sign when asked to. */
static void round_values(IrTensor *t, bool flush) {
  int64_t count = ir_shape_numel(&t->type.shape);
  for (int64_t i = 0; i < count; i++) {
    double v = ir_f32_round(t->data[i]);
    t->data[i] = flush && ir_f32_is_subnormal(v) ? copysign(0.0, v) : v;
  }
}

void ir_interp_run(IrInterp *it, const IrInterpOptions *opt) {
  bool round_f32 = opt && opt->round_f32, flush = round_f32 && opt->flush_subnormals;
  RT_ASSERT(it->g->n_nodes == it->n_nodes, "the graph grew after ir_interp_new");
  if (flush) /* what denormals-are-zero makes of the leaves */
    for (IrId id = 0; id < it->g->n_nodes; id++)
      if (ir_node(it->g, id)->kind != IR_NODE_OP && it->values[id].type.dtype == IR_F32)
        round_values(&it->values[id], true);
  for (IrId id = 0; id < it->g->n_nodes; id++) {
    const IrNode *n = ir_node(it->g, id);
    if (n->kind != IR_NODE_OP) continue;
    for (int i = 0; i < n->n_in; i++) it->in[i] = &it->values[n->in[i]];
    IrTensor *out = &it->values[id];
    int64_t count = ir_shape_numel(&out->type.shape);
    memset(out->data, 0, (size_t)count * sizeof *out->data); /* eval functions accumulate */
    ir_op_info[n->op].eval(n, it->in, out);
    if (round_f32 && out->type.dtype == IR_F32) round_values(out, flush);
  }
}

void ir_interp_apply_updates(IrInterp *it) {
  const IrGraph *g = it->g;
  double *p = it->update_tmp;
  for (int u = 0; u < g->n_updates; u++) {
    const IrTensor *v = &it->values[g->updates[u].value];
    size_t bytes = (size_t)ir_shape_numel(&v->type.shape) * sizeof *p;
    memcpy(p, v->data, bytes);
    p += bytes / sizeof *p;
  }
  p = it->update_tmp;
  for (int u = 0; u < g->n_updates; u++) {
    IrTensor *t = &it->values[g->updates[u].target];
    RT_ASSERT(ir_type_eq(&t->type, &it->values[g->updates[u].value].type),
              "update %d: value type differs from its target", u);
    size_t count = (size_t)ir_shape_numel(&t->type.shape);
    memcpy(t->data, p, count * sizeof *p);
    p += count;
  }
}
