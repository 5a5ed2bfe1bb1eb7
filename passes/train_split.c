/* A training step split into its gradient and update phases (train_split.h). Node ids below
 * t->grads_end are the forward and backward pass, those from it on the optimizer, which reads
 * only leaves, consts and the gradients (train_graph.h): each phase is a rewrite of g that copies
 * its own nodes and every param and state leaf. */
#include "passes/train_split.h"

#include <stdio.h>
#include <stdlib.h>

#include "passes/rewrite.h"
#include "support/rt_assert.h"

static bool is_persistent(const IrNode *n) { return n->kind == IR_NODE_PARAM || n->kind == IR_NODE_STATE; }

/* Outputs of g that the gradient phase keeps: those before the layer norms. */
static int step_outputs(const IrGraph *g, const PassTraining *t) {
  return t->n_layers ? t->first_norm_output : g->n_outputs;
}

static IrGraph *gradient_phase(const IrGraph *g, const PassTraining *t) {
  PassRewrite rw;
  pass_rewrite_begin(&rw, g);
  for (IrId id = 0; id < g->n_nodes; id++) {
    if (id < t->grads_end || is_persistent(ir_node(g, id))) pass_rewrite_copy(&rw, id);
    else pass_rewrite_drop(&rw, id); /* the optimizer's scalar inputs, consts and ops */
  }
  for (int i = 0; i < step_outputs(g, t); i++) {
    RT_ASSERT(g->outputs[i] < t->grads_end, "output %d of the step is computed by its update phase", i);
    ir_graph_add_output(rw.dst, pass_rewrite_value(&rw, g->outputs[i]));
  }
  for (int i = 0; i < t->n_params; i++)
    if (t->trained[i]) ir_graph_add_output(rw.dst, pass_rewrite_value(&rw, t->grads[i]));
  for (int u = 0; u < t->first_update; u++)
    ir_graph_add_update(rw.dst, pass_rewrite_value(&rw, g->updates[u].target),
                        pass_rewrite_value(&rw, g->updates[u].value));
  return pass_rewrite_take(&rw);
}

/* Which nodes below grads_end the update phase reads. */
static bool *read_by_update(const IrGraph *g, const PassTraining *t) {
  bool *read = rt_xcalloc((size_t)g->n_nodes + 1, sizeof *read);
  for (IrId id = t->grads_end; id < g->n_nodes; id++) {
    const IrNode *n = ir_node(g, id);
    for (int i = 0; i < n->n_in; i++) read[n->in[i]] = true;
  }
  return read;
}

/* The update phase's input standing for the gradient of param p. */
static IrId gradient_input(PassRewrite *rw, const IrGraph *g, IrId p) {
  const IrNode *pn = ir_node(g, p);
  char name[256];
  if (pn->name) snprintf(name, sizeof name, "%s%s", PASS_GRAD_INPUT_PREFIX, pn->name);
  else snprintf(name, sizeof name, "%s%%%d", PASS_GRAD_INPUT_PREFIX, (int)p);
  IrId in = ir_graph_add_leaf(rw->dst, IR_NODE_INPUT, name, pn->type);
  RT_ASSERT(in != IR_NONE, "cannot add the gradient input %s: %s", name, rw->dst->error);
  return in;
}

static IrGraph *update_phase(const IrGraph *g, const PassTraining *t) {
  bool *read = read_by_update(g, t);
  IrId *grad_of = rt_xmalloc(((size_t)g->n_nodes + 1) * sizeof *grad_of); /* node -> its input */
  for (IrId id = 0; id < g->n_nodes; id++) grad_of[id] = IR_NONE;
  PassRewrite rw;
  pass_rewrite_begin(&rw, g);
  /* the gradient inputs first, in param order (a gradient shared by two params is read through
   * the first one's input; the second's stays unread, and carries the same sum) */
  for (int i = 0; i < t->n_params; i++) {
    if (!t->trained[i]) continue;
    RT_ASSERT(t->grads[i] < t->grads_end && !is_persistent(ir_node(g, t->grads[i])),
              "the gradient of param %d is node %d, not a value of the gradient phase", (int)t->params[i],
              (int)t->grads[i]);
    IrId in = gradient_input(&rw, g, t->params[i]);
    if (grad_of[t->grads[i]] == IR_NONE) grad_of[t->grads[i]] = in;
  }
  for (IrId id = 0; id < g->n_nodes; id++) {
    const IrNode *n = ir_node(g, id);
    if (id >= t->grads_end || is_persistent(n)) {
      pass_rewrite_copy(&rw, id);
    } else if (grad_of[id] != IR_NONE) {
      pass_rewrite_replace(&rw, id, grad_of[id], false);
    } else if (read[id]) {
      RT_ASSERT(n->kind != IR_NODE_OP, "the update phase reads op node %d of the gradient phase", (int)id);
      pass_rewrite_copy(&rw, id); /* a leaf or const of the forward pass */
    } else {
      pass_rewrite_drop(&rw, id);
    }
  }
  for (int i = step_outputs(g, t); i < g->n_outputs; i++)
    ir_graph_add_output(rw.dst, pass_rewrite_value(&rw, g->outputs[i]));
  for (int u = t->first_update; u < g->n_updates; u++)
    ir_graph_add_update(rw.dst, pass_rewrite_value(&rw, g->updates[u].target),
                        pass_rewrite_value(&rw, g->updates[u].value));
  free(grad_of);
  free(read);
  return pass_rewrite_take(&rw);
}

void pass_split_training(const IrGraph *g, const PassTraining *t, IrGraph **gradients, IrGraph **update) {
  *gradients = gradient_phase(g, t);
  *update = update_phase(g, t);
}
