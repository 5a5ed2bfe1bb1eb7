/* Rematerialisation of cheap forward values in the backward pass (remat.h). One walk in id
 * order decides which forward values can be recomputed and how long the chain of pointwise ops
 * doing it is; a second walk copies the graph, and at each backward node reading such a value
 * makes (once) the value's copy and the copies of its chain, then points the reader at it. */
#include "passes/remat.h"

#include <stdlib.h>

#include "ir/ir_ops.h"
#include "passes/rewrite.h"
#include "support/rt_assert.h"

enum {
  REMAT_MIN_ELEMENTS = 1 << 14, /* smaller values are not worth computing twice */
  REMAT_SMALL_RATIO = 8,        /* an operand this many times smaller may be kept alive for it */
  REMAT_MAX_CHAIN = 4,          /* the longest chain of pointwise ops one copy recomputes */
  REMAT_MAX_OPERANDS = 8,
};

typedef struct Remat {
  const IrGraph *g;
  IrId loss;       /* forward nodes: ids up to the loss */
  bool *read_late; /* (n) read by a node after the loss */
  int *chain;      /* (n) 0: not recomputed; k: recomputing it takes a chain of k ops */
  IrId *copy;      /* (n) its recomputed copy in the new graph; IR_NONE until made */
  PassRewrite rw;
  PassRematStats stats;
} Remat;

static int64_t numel(const Remat *r, IrId id) { return ir_shape_numel(&r->g->nodes[id]->type.shape); }

/* The ops a recomputed copy needs for node `id` (0: it cannot be recomputed). An operand is at
 * hand in the backward pass when it is a leaf, small next to the value, read there anyway (and
 * not itself recomputed), or recomputed in turn (which lengthens the chain). */
static int chain_length(const Remat *r, IrId id, const bool *pinned) {
  const IrNode *n = r->g->nodes[id];
  if (id >= r->loss || n->kind != IR_NODE_OP || pinned[id]) return 0;
  if (!ir_op_has(n->op, IR_OPF_POINTWISE) || ir_op_has(n->op, IR_OPF_RANDOM)) return 0;
  if (numel(r, id) < REMAT_MIN_ELEMENTS || n->n_in > REMAT_MAX_OPERANDS) return 0;
  int length = 1;
  for (int i = 0; i < n->n_in; i++) {
    IrId x = n->in[i];
    if (r->chain[x] > 0) {
      if (r->chain[x] + 1 > length) length = r->chain[x] + 1;
    } else if (r->g->nodes[x]->kind == IR_NODE_OP && !r->read_late[x] && !pinned[x] &&
               numel(r, x) * REMAT_SMALL_RATIO > numel(r, id)) {
      return 0; /* a large value the backward pass would have to keep for this copy */
    }
  }
  return length <= REMAT_MAX_CHAIN ? length : 0;
}

/* The recomputed copy of forward node id, made (with its chain) on first use. */
static IrId copy_of(Remat *r, IrId id) {
  if (r->copy[id] != IR_NONE) return r->copy[id];
  const IrNode *n = r->g->nodes[id];
  IrId in[REMAT_MAX_OPERANDS];
  for (int i = 0; i < n->n_in; i++)
    in[i] = r->chain[n->in[i]] > 0 ? copy_of(r, n->in[i]) : pass_rewrite_value(&r->rw, n->in[i]);
  r->copy[id] = pass_rewrite_copy_with(&r->rw, id, in, false);
  r->stats.recomputed++;
  if (r->read_late[id]) {
    r->stats.values++;
    r->stats.bytes += numel(r, id) * 4;
  }
  return r->copy[id];
}

/* Copies backward node id, its recomputed operands replaced by their copies. */
static void copy_reader(Remat *r, IrId id) {
  const IrNode *n = r->g->nodes[id];
  bool reads_copy = false;
  for (int i = 0; i < n->n_in; i++) reads_copy |= r->chain[n->in[i]] > 0;
  if (!reads_copy) {
    pass_rewrite_copy(&r->rw, id);
    return;
  }
  IrId *in = rt_xmalloc((size_t)n->n_in * sizeof *in);
  for (int i = 0; i < n->n_in; i++)
    in[i] = r->chain[n->in[i]] > 0 ? copy_of(r, n->in[i]) : pass_rewrite_value(&r->rw, n->in[i]);
  pass_rewrite_replace(&r->rw, id, pass_rewrite_copy_with(&r->rw, id, in, true), false);
  free(in);
}

IrGraph *pass_remat(const IrGraph *g, PassRematStats *stats, IrId *map) {
  RT_ASSERT(g->n_outputs >= 1, "pass_remat needs a training graph (output 0: the loss)");
  size_t n = (size_t)(g->n_nodes ? g->n_nodes : 1);
  Remat r = {.g = g, .loss = g->outputs[0], .read_late = rt_xcalloc(n, sizeof(bool)),
             .chain = rt_xcalloc(n, sizeof(int)), .copy = rt_xmalloc(n * sizeof(IrId))};
  /* outputs and update values stay alive to the end: recomputing them frees nothing */
  bool *pinned = rt_xcalloc(n, sizeof *pinned);
  for (int i = 0; i < g->n_outputs; i++) pinned[g->outputs[i]] = true;
  for (int i = 0; i < g->n_updates; i++) pinned[g->updates[i].value] = true;
  for (IrId id = r.loss + 1; id < g->n_nodes; id++)
    for (int i = 0; i < g->nodes[id]->n_in; i++) r.read_late[g->nodes[id]->in[i]] = true;
  for (IrId id = 0; id < g->n_nodes; id++) {
    r.copy[id] = IR_NONE;
    r.chain[id] = chain_length(&r, id, pinned);
  }
  free(pinned);
  pass_rewrite_begin(&r.rw, g);
  for (IrId id = 0; id < g->n_nodes; id++) {
    if (id > r.loss && g->nodes[id]->kind == IR_NODE_OP) copy_reader(&r, id);
    else pass_rewrite_copy(&r.rw, id);
  }
  if (map)
    for (IrId id = 0; id < g->n_nodes; id++) map[id] = r.rw.map[id];
  IrGraph *out = pass_rewrite_finish(&r.rw);
  if (stats) *stats = r.stats;
  free(r.read_late);
  free(r.chain);
  free(r.copy);
  return out;
}
