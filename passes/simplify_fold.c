/* Constant folding (pass_fold_constants in simplify.h). An op whose operands are all consts is
 * computed at compile time with its reference eval (ir_ops.h), the same code the interpreter
 * runs, so the fold means exactly what the op means; the f32 result is rounded to float, which
 * is what an f32 backend would have computed and stored. Two paths:
 *   - fill operands through an elementwise or layout op: evaluate one element (any size);
 *   - otherwise materialise operands and result, within FOLD_MAX_* elements. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir_ops.h"
#include "passes/simplify_impl.h"
#include "support/rt_assert.h"

enum {
  FOLD_MAX_DATA = 1024,     /* largest data(...) const folding may create */
  FOLD_MAX_INPUT = 1 << 16, /* largest operand folding materialises */
};

typedef struct Folder {
  PassRewrite rw;
  const IrTensor **in; /* (max operands) operand pointers for one eval call */
  IrTensor *in_vals;   /* (max operands) */
  double *vals;        /* (max operands) uniform operand values */
  double **store;      /* (max operands) materialised operands of one eval call */
} Folder;

/* IEEE rounding, subnormals kept: the fold must not depend on the compiler's own FTZ mode (under
 * it, (float) flushed 1 / 1e38 to 0, so the folded gradient of (w * 1e38) / 1e38 was 0). A
 * subnormal const still reads as zero in compiled code; folded further it gives the IEEE value. */
static double round_to(IrDType t, double v) { return t == IR_F32 ? ir_f32_round(v) : v; }

/* Element values are taken as the program sees them: an f32 const holds floats (the interpreter
 * and every backend load it that way), so a fill(0.1) is (float)0.1. */
bool simplify_const_uniform(const IrNode *n, double *value) {
  if (n->kind != IR_NODE_CONST) return false;
  switch (n->init) {
  case IR_INIT_ZEROS: *value = 0.0; return true;
  case IR_INIT_ONES: *value = 1.0; return true;
  case IR_INIT_FILL: *value = round_to(n->type.dtype, n->value); return true;
  default: return false;
  }
}

static bool same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* Ops whose output is uniform when every operand is: each output element is f(the operand
 * elements at the same index) or a copy of some operand element (pad and concat, which add
 * zeros or join several operands, are checked separately). */
static bool preserves_fill(IrOp op) { return ir_op_has(op, IR_OPF_POINTWISE) || ir_op_has(op, IR_OPF_VIEW); }

/* The value of old op `id` over uniform operands vals[], when uniform; false otherwise. */
static bool fold_uniform(Folder *f, IrId id, const double *vals, double *out) {
  const IrNode *n = ir_node(f->rw.src, id);
  if (n->op == IR_OP_PAD) { /* pads with +0 */
    *out = vals[0];
    return same_bits(vals[0], 0.0);
  }
  if (n->op == IR_OP_CONCAT) {
    for (int i = 1; i < n->n_in; i++)
      if (!same_bits(vals[i], vals[0])) return false;
    *out = vals[0];
    return true;
  }
  if (!preserves_fill(n->op)) return false;
  if (ir_op_has(n->op, IR_OPF_VIEW)) {
    *out = vals[0];
    return true;
  }
  /* elementwise: run the eval on rank-0 tensors; one element is every element */
  IrTensor scalars[3], result = {{n->type.dtype, {0}}, out};
  const IrTensor *ptrs[3];
  RT_ASSERT(n->n_in <= 3, "elementwise op with %d operands", n->n_in);
  double copies[3];
  for (int i = 0; i < n->n_in; i++) {
    copies[i] = vals[i];
    scalars[i] = (IrTensor){{pass_rewrite_operand(&f->rw, id, i)->type.dtype, {0}}, &copies[i]};
    ptrs[i] = &scalars[i];
  }
  *out = 0.0;
  ir_op_info[n->op].eval(n, ptrs, &result);
  return true;
}

/* Materialises the const operands of old node `id` and evaluates it into a new buffer
 * (caller frees), or returns NULL when it is too big to fold this way. */
static double *fold_eval(Folder *f, IrId id) {
  double **store = f->store;
  const IrNode *n = ir_node(f->rw.src, id);
  int64_t numel = ir_shape_numel(&n->type.shape);
  if (numel > FOLD_MAX_DATA) return NULL;
  for (int i = 0; i < n->n_in; i++)
    if (ir_shape_numel(&pass_rewrite_operand(&f->rw, id, i)->type.shape) > FOLD_MAX_INPUT)
      return NULL;
  for (int i = 0; i < n->n_in; i++) {
    const IrNode *c = pass_rewrite_operand(&f->rw, id, i);
    int64_t count = ir_shape_numel(&c->type.shape);
    double v = 0.0;
    bool data = c->init == IR_INIT_DATA;
    RT_ASSERT(data || simplify_const_uniform(c, &v), "const with init %s", ir_init_name(c->init));
    store[i] = rt_xmalloc((size_t)(count ? count : 1) * sizeof(double));
    for (int64_t k = 0; k < count; k++) store[i][k] = data ? round_to(c->type.dtype, c->data[k]) : v;
    f->in_vals[i] = (IrTensor){c->type, store[i]};
    f->in[i] = &f->in_vals[i];
  }
  IrTensor out = {n->type, rt_xcalloc((size_t)numel, sizeof(double))};
  ir_op_info[n->op].eval(n, f->in, &out);
  for (int i = 0; i < n->n_in; i++) free(store[i]);
  return out.data;
}

/* Appends the const that replaces old op `id`: fill(v) if every element has the same bits,
 * else data(...). Returns IR_NONE (folds nothing) if an element is nan. */
static IrId fold_emit(Folder *f, IrId id, const double *data, int64_t numel, bool uniform) {
  const IrNode *n = ir_node(f->rw.src, id);
  IrNode proto = {.kind = IR_NODE_CONST, .op = IR_OP_COUNT, .type = n->type, .name = n->name,
                  .line = n->line, .col = n->col};
  for (int64_t i = 0; i < (uniform ? 1 : numel); i++)
    if (isnan(data[i])) return IR_NONE;
  bool all_same = true;
  for (int64_t i = 1; i < numel && !uniform && all_same; i++) all_same = same_bits(data[i], data[0]);
  if (uniform || all_same) {
    proto.init = IR_INIT_FILL;
    proto.value = data[0];
  } else {
    proto.init = IR_INIT_DATA;
    proto.data = (double *)data; /* copied by ir_graph_add_raw */
  }
  return ir_graph_add_raw(f->rw.dst, &proto);
}

/* Folds old op `id` if it can; returns the new const's id or IR_NONE. */
static IrId fold_op(Folder *f, IrId id) {
  const IrNode *n = ir_node(f->rw.src, id);
  if (ir_op_has(n->op, IR_OPF_RANDOM)) return IR_NONE;
  bool uniform = true;
  for (int i = 0; i < n->n_in; i++) {
    const IrNode *c = pass_rewrite_operand(&f->rw, id, i);
    if (c->kind != IR_NODE_CONST) return IR_NONE;
    uniform = uniform && simplify_const_uniform(c, &f->vals[i]);
  }
  double v;
  if (uniform && fold_uniform(f, id, f->vals, &v)) {
    v = round_to(n->type.dtype, v);
    return fold_emit(f, id, &v, ir_shape_numel(&n->type.shape), true);
  }
  double *data = fold_eval(f, id);
  if (!data) return IR_NONE;
  int64_t numel = ir_shape_numel(&n->type.shape);
  for (int64_t i = 0; i < numel; i++) data[i] = round_to(n->type.dtype, data[i]);
  IrId result = fold_emit(f, id, data, numel, false);
  free(data);
  return result;
}

IrGraph *pass_fold_constants_map(const IrGraph *g, PassSimplifyStats *stats, IrId *map) {
  Folder f = {0};
  pass_rewrite_begin(&f.rw, g);
  int max_in = 1;
  for (IrId id = 0; id < g->n_nodes; id++)
    if (g->nodes[id]->n_in > max_in) max_in = g->nodes[id]->n_in;
  f.in = rt_xcalloc((size_t)max_in, sizeof *f.in);
  f.in_vals = rt_xcalloc((size_t)max_in, sizeof *f.in_vals);
  f.vals = rt_xcalloc((size_t)max_in, sizeof *f.vals);
  f.store = rt_xcalloc((size_t)max_in, sizeof *f.store);
  for (IrId id = 0; id < g->n_nodes; id++) {
    IrId folded = g->nodes[id]->kind == IR_NODE_OP ? fold_op(&f, id) : IR_NONE;
    if (folded == IR_NONE) {
      pass_rewrite_copy(&f.rw, id);
      continue;
    }
    pass_rewrite_replace(&f.rw, id, folded, false);
    simplify_count(stats, PASS_RULE_FOLD);
  }
  free(f.in);
  free(f.in_vals);
  free(f.vals);
  free(f.store);
  return simplify_finish(&f.rw, stats, map);
}

IrGraph *pass_fold_constants(const IrGraph *g, PassSimplifyStats *stats) {
  return pass_fold_constants_map(g, stats, NULL);
}
