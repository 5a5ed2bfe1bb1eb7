/* Eager scheduling of the update phase (schedule.h): leaves first, then the other ops in graph
 * order; after each node, the update nodes it was the last thing missing for follow at once (a
 * worklist, so chains of them follow too).
 *
 * Update nodes that read only leaves (Adam's beta1 * m, the bias corrections) are deferred
 * instead: each is placed right before the first node that reads it, so that it lands where the
 * gradient's kernel is (in its epilogue, reading the moment at its own index) rather than at the
 * top of the step; the ones nothing reads (a step counter's new value) come last.
 *
 * What an update node waits for: its operands, and, when it reads a leaf that the other phases
 * read too (a weight, read by the forward pass and by its input gradient), those readers and
 * every node fusion might put in their kernels (their consumers through elementwise, reduction
 * and layout ops; GEMM and opaque ops start kernels of their own). Kernels run in the order of
 * their last op, so the update then comes after the last kernel reading the old value, and the
 * memory plan can write it in place (passes/plan.c). */
#include "passes/schedule.h"

#include <stdlib.h>

#include "ir/ir_ops.h"
#include "passes/rewrite.h"
#include "support/rt_assert.h"

typedef struct Schedule {
  const IrGraph *g;
  const bool *is_update;
  bool *deferred;          /* (n) update ops reading only leaves and deferred nodes */
  int *missing;            /* (n) update node: nodes it still waits for */
  int *wait_start, *waits; /* CSR: the update nodes waiting for each node */
  IrId *queue;             /* placed nodes whose waiters have not been told yet */
  int head, tail;
  PassRewrite rw;
} Schedule;

static bool is_leaf(const IrNode *n) { return n->kind != IR_NODE_OP; }

/* Can fusion put op n into the kernel of the op it reads (as a producer or epilogue)? */
static bool may_share_kernel(const IrNode *n) {
  IrFusionClass c = ir_op_info[n->op].fusion;
  return c == IR_FUSE_ELEMENTWISE || c == IR_FUSE_REDUCTION || c == IR_FUSE_LAYOUT;
}

/* Users of every node among the non-update ops (CSR over g), for the closures below. */
typedef struct Users {
  int *start, *list;
} Users;

static Users users_of(const IrGraph *g, const bool *is_update) {
  int n = g->n_nodes;
  Users u = {.start = rt_xcalloc((size_t)n + 2, sizeof(int))};
  for (IrId id = 0; id < n; id++)
    if (!is_update[id] && !is_leaf(g->nodes[id]))
      for (int i = 0; i < g->nodes[id]->n_in; i++) u.start[g->nodes[id]->in[i] + 1]++;
  for (IrId id = 0; id < n; id++) u.start[id + 1] += u.start[id];
  u.list = rt_xmalloc(((size_t)u.start[n] + 1) * sizeof(int));
  int *fill = rt_xmalloc(((size_t)n + 1) * sizeof(int));
  for (IrId id = 0; id < n; id++) fill[id] = u.start[id];
  for (IrId id = 0; id < n; id++)
    if (!is_update[id] && !is_leaf(g->nodes[id]))
      for (int i = 0; i < g->nodes[id]->n_in; i++) u.list[fill[g->nodes[id]->in[i]]++] = id;
  free(fill);
  return u;
}

/* The non-update readers of leaf `leaf` and what may share their kernels; writes them to out
 * (returns how many). stamp/mark: visited marks, fresh per call. */
static int readers_closure(const IrGraph *g, const Users *u, IrId leaf, int *stamp, int mark, IrId *out) {
  int n = 0;
  for (int k = u->start[leaf]; k < u->start[leaf + 1]; k++)
    if (stamp[u->list[k]] != mark) stamp[u->list[k]] = mark, out[n++] = u->list[k];
  for (int i = 0; i < n; i++)
    for (int k = u->start[out[i]]; k < u->start[out[i] + 1]; k++) {
      IrId c = u->list[k];
      if (stamp[c] != mark && may_share_kernel(g->nodes[c])) stamp[c] = mark, out[n++] = c;
    }
  return n;
}

/* Fills missing[] and the waits CSR: each update op waits for its operands and, for each leaf
 * it reads, for the closure of that leaf's other readers. Two passes: count, then fill. */
static void build_waits(Schedule *s) {
  const IrGraph *g = s->g;
  int n = g->n_nodes;
  Users u = users_of(g, s->is_update);
  int *stamp = rt_xcalloc((size_t)n + 1, sizeof(int)), mark = 0;
  IrId *closure = rt_xmalloc(((size_t)n + 1) * sizeof(IrId));
  s->wait_start = rt_xcalloc((size_t)n + 2, sizeof(int));
  int *fill = NULL;
  for (int pass = 0; pass < 2; pass++) {
    for (IrId id = 0; id < n; id++) {
      const IrNode *node = g->nodes[id];
      if (!s->is_update[id] || is_leaf(node)) continue;
      if (s->deferred[id]) continue;
      for (int i = 0; i < node->n_in; i++) {
        IrId x = node->in[i];
        int m = 1;
        closure[0] = x;
        if (s->deferred[x]) continue; /* placed on demand, right before this node */
        if (is_leaf(g->nodes[x])) m += readers_closure(g, &u, x, stamp, ++mark, closure + 1);
        for (int j = 0; j < m; j++) {
          if (pass == 0) s->wait_start[closure[j] + 1]++, s->missing[id]++;
          else s->waits[fill[closure[j]]++] = id;
        }
      }
    }
    if (pass == 0) {
      for (IrId id = 0; id < n; id++) s->wait_start[id + 1] += s->wait_start[id];
      s->waits = rt_xmalloc(((size_t)s->wait_start[n] + 1) * sizeof(int));
      fill = rt_xmalloc(((size_t)n + 1) * sizeof(int));
      for (IrId id = 0; id < n; id++) fill[id] = s->wait_start[id];
    }
  }
  free(fill);
  free(closure);
  free(stamp);
  free(u.start);
  free(u.list);
}

/* Copies deferred node id (after its deferred operands) unless it is placed already. */
static void emit_deferred(Schedule *s, IrId id) {
  if (s->rw.map[id] != IR_NONE) return;
  const IrNode *node = s->g->nodes[id];
  for (int i = 0; i < node->n_in; i++)
    if (s->deferred[node->in[i]]) emit_deferred(s, node->in[i]);
  pass_rewrite_copy(&s->rw, id);
}

/* Copies node id into the new graph (its deferred operands first) and queues it, so that
 * drain() tells its waiters. */
static void emit(Schedule *s, IrId id) {
  const IrNode *node = s->g->nodes[id];
  for (int i = 0; i < node->n_in; i++)
    if (s->deferred[node->in[i]]) emit_deferred(s, node->in[i]);
  pass_rewrite_copy(&s->rw, id);
  s->queue[s->tail++] = id;
}

/* Places every update node that became ready, in the order they became ready. */
static void drain(Schedule *s) {
  while (s->head < s->tail) {
    IrId x = s->queue[s->head++];
    for (int k = s->wait_start[x]; k < s->wait_start[x + 1]; k++)
      if (--s->missing[s->waits[k]] == 0) emit(s, s->waits[k]);
  }
  s->head = s->tail = 0;
}

IrGraph *pass_schedule_updates(const IrGraph *g, const bool *is_update) {
  int n = g->n_nodes;
  Schedule s = {.g = g, .is_update = is_update, .missing = rt_xcalloc((size_t)n + 1, sizeof(int)),
                .deferred = rt_xcalloc((size_t)n + 1, sizeof(bool)), .queue = rt_xmalloc(((size_t)n + 1) * sizeof(IrId))};
  for (IrId id = 0; id < n; id++) {
    const IrNode *node = g->nodes[id];
    if (!is_update[id] || is_leaf(node)) continue;
    bool only_leaves = true;
    for (int i = 0; i < node->n_in; i++) only_leaves &= is_leaf(g->nodes[node->in[i]]) || s.deferred[node->in[i]];
    s.deferred[id] = only_leaves;
  }
  build_waits(&s);
  pass_rewrite_begin(&s.rw, g);
  for (IrId id = 0; id < n; id++)
    if (is_leaf(g->nodes[id])) emit(&s, id);
  drain(&s);
  for (IrId id = 0; id < n; id++) {
    const IrNode *node = g->nodes[id];
    if (is_leaf(node) || is_update[id]) continue;
    for (int i = 0; i < node->n_in; i++)
      RT_ASSERT(!is_update[node->in[i]] || is_leaf(g->nodes[node->in[i]]),
                "node %d reads node %d of the update phase", id, node->in[i]);
    emit(&s, id);
    drain(&s);
  }
  for (IrId id = 0; id < n; id++)
    if (s.deferred[id]) emit_deferred(&s, id); /* read by nothing: an update value of its own */
  for (IrId id = 0; id < n; id++)
    RT_ASSERT(s.rw.map[id] != IR_NONE, "node %d was never placed", id);
  free(s.deferred);
  free(s.missing);
  free(s.wait_start);
  free(s.waits);
  free(s.queue);
  return pass_rewrite_finish(&s.rw);
}
