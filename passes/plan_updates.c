/* The update phase of a program plan (plan_updates.h): output snapshots and the update copies,
 * a parallel assignment made sequential. Each update target is written by at most one copy,
 * and a copy reads at most one other target, so "copy a must run before the copy that
 * overwrites what a reads" makes a graph of out-degree <= 1: trees hanging off simple cycles.
 * Copies nobody waits for run first (a delay line h2 <- h1, h1 <- x runs back to front); what
 * remains are cycles, each broken by saving one target in a temporary. */
#include "passes/plan_updates.h"

#include <stdlib.h>

#include "support/rt_assert.h"

static int64_t align_up(int64_t v) {
  return (v + PASS_MEMPLAN_ALIGNMENT - 1) / PASS_MEMPLAN_ALIGNMENT * PASS_MEMPLAN_ALIGNMENT;
}

/* A fresh slot at the end of region r. */
static PassSlot append(PassPlan *p, PassRegion r, int64_t bytes) {
  PassSlot s = {r, p->region_bytes[r]};
  p->region_bytes[r] += align_up(bytes);
  return s;
}

static bool slot_eq(PassSlot a, PassSlot b) { return a.region == b.region && a.offset == b.offset; }

static bool is_state_leaf(const IrGraph *g, IrId id) {
  IrNodeKind k = g->nodes[id]->kind;
  return k == IR_NODE_PARAM || k == IR_NODE_STATE;
}

/* Needs its own io slot: a const (it has no memory) or a leaf an update overwrites. */
static bool needs_snapshot(const IrGraph *g, const bool *target, IrId o) {
  return g->nodes[o]->kind == IR_NODE_CONST || (is_state_leaf(g, o) && target[o]);
}

/* The earlier output naming the same node, else -1 (one snapshot serves both). */
static int earlier_output(const IrGraph *g, int i) {
  for (int j = 0; j < i; j++)
    if (g->outputs[j] == g->outputs[i]) return j;
  return -1;
}

void pass_plan_place_outputs(PassPlan *p) {
  const IrGraph *g = p->g;
  bool *target = rt_xcalloc((size_t)g->n_nodes + 1, sizeof *target);
  for (int u = 0; u < g->n_updates; u++) target[g->updates[u].target] = true;
  p->output_slots = rt_xmalloc(((size_t)g->n_outputs + 1) * sizeof *p->output_slots);
  for (int i = 0; i < g->n_outputs; i++) {
    IrId o = g->outputs[i];
    int j = earlier_output(g, i);
    if (!needs_snapshot(g, target, o)) p->output_slots[i] = p->slots[o];
    else if (j >= 0) p->output_slots[i] = p->output_slots[j];
    else p->output_slots[i] = append(p, PASS_REGION_IO, pass_value_bytes(g, o));
  }
  free(target);
}

typedef struct Moves {
  PassPlan *p;
  int *reads;     /* (n_updates) the update whose target this one's value is, else -1 */
  int *waiting;   /* (n_updates) pending moves that read this one's target */
  bool *pending;  /* (n_updates) a copy still to emit */
  PassSlot *from; /* (n_nodes) where a target's old value was saved, region NONE: not saved */
  int *queue, head, tail;
  int cap;
} Moves;

static void push_copy(Moves *m, PassSlot dst, PassSlot src, IrId node) {
  PassPlan *p = m->p;
  RT_ASSERT(p->n_copies < m->cap, "update phase: more copies than planned");
  p->copies[p->n_copies++] = (PassCopy){dst, src, node, pass_value_bytes(p->g, node)};
}

/* Emits update u's copy; the move overwriting what u read may run once nobody else reads it. */
static void emit_move(Moves *m, int u) {
  const IrGraph *g = m->p->g;
  IrId v = g->updates[u].value;
  PassSlot src = m->from[v].region != PASS_REGION_NONE ? m->from[v] : m->p->slots[v];
  push_copy(m, m->p->slots[g->updates[u].target], src, v);
  m->pending[u] = false;
  int w = m->reads[u];
  if (w >= 0 && m->pending[w] && --m->waiting[w] == 0) m->queue[m->tail++] = w;
}

static void drain(Moves *m) {
  while (m->head < m->tail) emit_move(m, m->queue[m->head++]);
}

void pass_plan_schedule_copies(PassPlan *p) {
  const IrGraph *g = p->g;
  int nu = g->n_updates;
  Moves m = {.p = p, .cap = g->n_outputs + 2 * nu + 1};
  p->copies = rt_xmalloc((size_t)m.cap * sizeof *p->copies);
  p->n_copies = 0;
  int *mover = rt_xmalloc(((size_t)g->n_nodes + 1) * sizeof *mover); /* target -> its copy */
  bool *in_place = rt_xcalloc((size_t)g->n_nodes + 1, sizeof *in_place); /* target written by a kernel */
  m.reads = rt_xmalloc(((size_t)nu + 1) * sizeof *m.reads);
  m.waiting = rt_xcalloc((size_t)nu + 1, sizeof *m.waiting);
  m.pending = rt_xcalloc((size_t)nu + 1, sizeof *m.pending);
  m.queue = rt_xmalloc(((size_t)nu + 1) * sizeof *m.queue);
  m.from = rt_xmalloc(((size_t)g->n_nodes + 1) * sizeof *m.from);
  for (IrId id = 0; id < g->n_nodes; id++) {
    mover[id] = -1;
    m.from[id] = (PassSlot){PASS_REGION_NONE, 0};
  }
  for (int u = 0; u < nu; u++) {
    IrId t = g->updates[u].target, v = g->updates[u].value;
    RT_ASSERT(p->fusion->values[v].kind != PASS_VALUE_VIEW, "update value %d is a view (fusion materialises sinks)", v);
    m.pending[u] = !slot_eq(p->slots[t], p->slots[v]); /* else computed in place, or t <- t */
    if (m.pending[u]) mover[t] = u;
    else in_place[t] = v != t;
  }
  /* snapshots read the old values before any update writes */
  for (int i = 0; i < g->n_outputs; i++) {
    IrId o = g->outputs[i];
    if (slot_eq(p->output_slots[i], p->slots[o]) || earlier_output(g, i) >= 0) continue;
    RT_ASSERT(!in_place[o], "an output snapshot reads a target a kernel overwrote");
    push_copy(&m, p->output_slots[i], p->slots[o], o);
  }
  for (int u = 0; u < nu; u++) {
    IrId v = g->updates[u].value;
    m.reads[u] = m.pending[u] && is_state_leaf(g, v) ? mover[v] : -1;
    /* a target read as a leaf must still hold its old value: the planner put none in place */
    RT_ASSERT(!m.pending[u] || !in_place[v], "the update phase reads a target a kernel overwrote");
    if (m.reads[u] >= 0) m.waiting[m.reads[u]]++;
  }
  for (int u = 0; u < nu; u++)
    if (m.pending[u] && m.waiting[u] == 0) m.queue[m.tail++] = u;
  drain(&m);
  for (int u = 0; u < nu; u++) {
    if (!m.pending[u]) continue;
    /* u is on a cycle: its target is read by exactly one pending move; save the target */
    IrId t = g->updates[u].target;
    m.from[t] = append(p, PASS_REGION_SCRATCH, pass_value_bytes(g, t));
    push_copy(&m, m.from[t], p->slots[t], t);
    m.waiting[u] = 0;
    m.queue[m.tail++] = u;
    drain(&m);
  }
  free(mover);
  free(in_place);
  free(m.reads);
  free(m.waiting);
  free(m.pending);
  free(m.queue);
  free(m.from);
}
