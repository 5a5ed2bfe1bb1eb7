/* Builds the training step (train_graph.h): autodiff w.r.t. every param, optional global-norm
 * clipping and per-layer squared gradient norms as outputs, then the optimizer update as elementwise ops, following PyTorch's torch.optim
 * formulations so that results can be compared with it:
 *   SGD:   d = g + wd p;  buf = mu buf + d;  p -= lr (nesterov ? d + mu buf : buf)
 *   Adam:  d = g + wd p;  m = b1 m + (1 - b1) d;  v = b2 v + (1 - b2) d^2;
 *          p -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *   AdamW: as Adam with d = g, and p is first decayed: p -= lr wd p.
 * Scalar subexpressions (1 - b1, bias corrections, step size) are computed once per step on
 * f32[] values, so each param's update is a short elementwise chain that fuses. */
#include "passes/train_graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir_builder.h"
#include "passes/autodiff.h"
#include "support/rt_assert.h"

typedef struct Builder {
  IrGraph *g;
  RtDiags *d;
  bool ok;
} Builder;

/* The runtime scalar input `name`: reused if g has it as an f32[] input, else created with the
 * default value `fill` as its init (what `smelt run-ir` feeds it). */
static IrId runtime_scalar(Builder *b, const char *name, double fill) {
  IrId id = ir_graph_find(b->g, name);
  if (id == IR_NONE) {
    id = ir_input(b->g, name, IR_F32, IR_SHAPE());
    ir_node(b->g, id)->init = IR_INIT_FILL;
    ir_node(b->g, id)->value = fill;
    return id;
  }
  const IrNode *n = ir_node(b->g, id);
  if (n->kind != IR_NODE_INPUT || n->type.dtype != IR_F32 || n->type.shape.rank != 0) {
    rt_diag_error(b->d, "", n->line, n->col,
                  "training: '%s' must be the runtime scalar input f32[] of the optimizer, but the "
                  "graph already has a %s node of that name", name, ir_node_kind_name(n->kind));
    b->ok = false;
    return IR_NONE;
  }
  return id;
}

/* A zero-initialised f32 state like param p, named <prefix>.<param name>. */
static IrId moment(Builder *b, const char *prefix, IrId p) {
  char name[256], lb[96];
  const IrNode *pn = ir_node(b->g, p);
  if (pn->name)
    snprintf(name, sizeof name, "%s.%s", prefix, pn->name);
  else
    snprintf(name, sizeof name, "%s._%d", prefix, p);
  if (ir_graph_find(b->g, name) != IR_NONE) {
    rt_diag_error(b->d, "", pn->line, pn->col,
                  "training: cannot create the optimizer state '%s' of %s: the name is taken", name,
                  ir_node_label(b->g, p, lb, sizeof lb));
    b->ok = false;
    return IR_NONE;
  }
  return ir_state(b->g, name, IR_F32, pn->type.shape, IR_INIT_ZEROS, 0.0);
}

/* A gradient that autodiff created as a zeros constant: the loss does not depend on p. */
static bool is_absent(const IrGraph *g, IrId grad, IrId first_new) {
  const IrNode *n = ir_node(g, grad);
  return grad >= first_new && n->kind == IR_NODE_CONST && n->init == IR_INIT_FILL && n->value == 0.0;
}

/* sum(grad^2) of trained param i, built once: clipping and the layer norms share it. */
static IrId grad_square_sum(IrGraph *g, const PassTraining *t, IrId *squares, int i) {
  if (squares[i] == IR_NONE) squares[i] = ir_sum_all(g, ir_square(g, t->grads[i]));
  return squares[i];
}

/* ||g||_2 over all gradients, and each gradient scaled by min(1, clip / (norm + 1e-6)), as
 * torch.nn.utils.clip_grad_norm_ does. */
static void clip_gradients(Builder *b, PassTraining *t, IrId *grads, IrId *squares) {
  IrGraph *g = b->g;
  IrId sq = IR_NONE;
  for (int i = 0; i < t->n_params; i++) {
    if (!t->trained[i]) continue;
    IrId s = grad_square_sum(g, t, squares, i);
    sq = sq == IR_NONE ? s : ir_add(g, sq, s);
  }
  if (sq == IR_NONE) return;
  t->grad_norm = ir_sqrt(g, sq);
  IrId ratio = ir_div(g, t->clip_norm, ir_add_scalar(g, t->grad_norm, 1e-6));
  IrId scale = ir_min(g, ir_scalar(g, 1.0), ratio);
  for (int i = 0; i < t->n_params; i++)
    if (t->trained[i]) grads[i] = ir_mul(g, grads[i], scale);
}

static void sgd_update(Builder *b, const PassTraining *t, bool nesterov, IrId p, IrId grad) {
  IrGraph *g = b->g;
  IrId buf = moment(b, "opt.mom", p);
  if (buf == IR_NONE) return;
  IrId d = ir_add(g, grad, ir_mul(g, t->weight_decay, p));
  IrId buf_new = ir_add(g, ir_mul(g, t->momentum, buf), d);
  IrId dir = nesterov ? ir_add(g, d, ir_mul(g, t->momentum, buf_new)) : buf_new;
  ir_graph_add_update(g, buf, buf_new);
  ir_graph_add_update(g, p, ir_sub(g, p, ir_mul(g, t->lr, dir)));
}

/* Per-step scalars of Adam, shared by every param. */
typedef struct AdamScalars {
  IrId one_minus_b1, one_minus_b2, step_size, inv_sqrt_bc2, decay;
} AdamScalars;

static AdamScalars adam_scalars(IrGraph *g, const PassTraining *t, bool decoupled) {
  IrId one = ir_scalar(g, 1.0);
  IrId bc1 = ir_sub(g, one, ir_pow(g, t->beta1, t->step)); /* 1 - b1^t */
  IrId bc2 = ir_sub(g, one, ir_pow(g, t->beta2, t->step)); /* 1 - b2^t */
  return (AdamScalars){
      .one_minus_b1 = ir_sub(g, one, t->beta1),
      .one_minus_b2 = ir_sub(g, one, t->beta2),
      .step_size = ir_div(g, t->lr, bc1),
      .inv_sqrt_bc2 = ir_rsqrt(g, bc2),
      .decay = decoupled ? ir_sub(g, one, ir_mul(g, t->lr, t->weight_decay)) : IR_NONE,
  };
}

static void adam_update(Builder *b, const PassTraining *t, const AdamScalars *s, IrId p, IrId grad) {
  IrGraph *g = b->g;
  IrId m = moment(b, "opt.m", p), v = moment(b, "opt.v", p);
  if (m == IR_NONE || v == IR_NONE) return;
  bool decoupled = s->decay != IR_NONE;
  IrId d = decoupled ? grad : ir_add(g, grad, ir_mul(g, t->weight_decay, p));
  IrId m_new = ir_add(g, ir_mul(g, t->beta1, m), ir_mul(g, s->one_minus_b1, d));
  IrId v_new = ir_add(g, ir_mul(g, t->beta2, v), ir_mul(g, s->one_minus_b2, ir_square(g, d)));
  IrId denom = ir_add(g, ir_mul(g, ir_sqrt(g, v_new), s->inv_sqrt_bc2), t->eps);
  IrId base = decoupled ? ir_mul(g, p, s->decay) : p; /* p (1 - lr wd) = p - lr wd p */
  IrId p_new = ir_sub(g, base, ir_mul(g, s->step_size, ir_div(g, m_new, denom)));
  ir_graph_add_update(g, m, m_new);
  ir_graph_add_update(g, v, v_new);
  ir_graph_add_update(g, p, p_new);
}

/* A param's layer: its name up to the first '.', or its label when unnamed. */
static void layer_name(const IrGraph *g, IrId p, char *buf, size_t size) {
  const char *name = ir_node(g, p)->name;
  if (!name) {
    ir_node_label(g, p, buf, size);
    return;
  }
  const char *dot = strchr(name, '.');
  snprintf(buf, size, "%.*s", dot ? (int)(dot - name) : (int)strlen(name), name);
}

static int layer_find(const char *const *names, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (!strcmp(names[i], name)) return i;
  return -1;
}

int pass_grad_layers(const IrGraph *g, RtArena *arena, const char ***names) {
  bool *updated = rt_xcalloc((size_t)g->n_nodes + 1, sizeof *updated);
  for (int u = 0; u < g->n_updates; u++) updated[g->updates[u].target] = true;
  int n = 0, cap = 0;
  const char **out = NULL;
  for (IrId id = 0; id < g->n_nodes; id++) {
    if (ir_node(g, id)->kind != IR_NODE_PARAM || !updated[id]) continue;
    char buf[256];
    layer_name(g, id, buf, sizeof buf);
    if (layer_find(out, n, buf) >= 0) continue;
    if (n == cap) out = rt_xrealloc(out, (size_t)(cap = cap ? 2 * cap : 16) * sizeof *out);
    out[n++] = rt_arena_strdup(arena, buf);
  }
  *names = rt_arena_alloc(arena, (size_t)(n ? n : 1) * sizeof **names);
  if (n) memcpy(*names, out, (size_t)n * sizeof *out);
  free(out);
  free(updated);
  return n;
}

/* After the updates: one output per layer, the sum of its trained params' squared gradient
 * norms, in pass_grad_layers' order (which reads the updates just made). */
static void add_layer_norms(IrGraph *g, PassTraining *t, IrId *squares) {
  const char **names;
  int n = pass_grad_layers(g, &g->arena, &names);
  IrId *sums = rt_xmalloc((size_t)(n ? n : 1) * sizeof *sums);
  for (int l = 0; l < n; l++) sums[l] = IR_NONE;
  for (int i = 0; i < t->n_params; i++) {
    if (!t->trained[i]) continue;
    char buf[256];
    layer_name(g, t->params[i], buf, sizeof buf);
    int l = layer_find(names, n, buf);
    RT_ASSERT(l >= 0, "trained param %s has no update", buf);
    IrId s = grad_square_sum(g, t, squares, i);
    sums[l] = sums[l] == IR_NONE ? s : ir_add(g, sums[l], s);
  }
  t->first_norm_output = g->n_outputs;
  t->n_layers = n;
  for (int l = 0; l < n; l++) ir_graph_add_output(g, sums[l]);
  free(sums);
}

static bool check_loss_output(IrGraph *g, IrId loss, RtDiags *d) {
  if (g->n_outputs == 0) ir_graph_add_output(g, loss);
  if (g->outputs[0] == loss) return true;
  char a[96], b[96];
  rt_diag_error(d, "", 0, 0, "training: output 0 must be the loss %s, but it is %s",
                ir_node_label(g, loss, a, sizeof a), ir_node_label(g, g->outputs[0], b, sizeof b));
  return false;
}

static void collect_params(IrGraph *g, PassTraining *out) {
  int n = 0;
  for (IrId id = 0; id < g->n_nodes; id++) n += ir_node(g, id)->kind == IR_NODE_PARAM;
  out->n_params = n;
  out->params = rt_arena_alloc(&g->arena, (size_t)(n ? n : 1) * sizeof *out->params);
  out->grads = rt_arena_alloc(&g->arena, (size_t)(n ? n : 1) * sizeof *out->grads);
  out->trained = rt_arena_alloc(&g->arena, (size_t)(n ? n : 1) * sizeof *out->trained);
  n = 0;
  for (IrId id = 0; id < g->n_nodes; id++)
    if (ir_node(g, id)->kind == IR_NODE_PARAM) out->params[n++] = id;
}

bool pass_build_training(IrGraph *g, IrId loss, const PassOptimizer *opt, PassTraining *out, RtDiags *d) {
  RT_ASSERT(opt->kind >= 0 && opt->kind < PASS_OPT_KIND_COUNT, "bad optimizer kind %d", (int)opt->kind);
  *out = (PassTraining){.grad_norm = IR_NONE, .lr = IR_NONE, .momentum = IR_NONE, .beta1 = IR_NONE,
                        .beta2 = IR_NONE, .eps = IR_NONE, .weight_decay = IR_NONE,
                        .clip_norm = IR_NONE, .step = IR_NONE};
  if (!check_loss_output(g, loss, d)) return false;
  for (int u = 0; u < g->n_updates; u++) { /* the optimizer is the only writer of params */
    const IrNode *t = ir_node(g, g->updates[u].target);
    if (t->kind != IR_NODE_PARAM) continue;
    char lb[96];
    rt_diag_error(d, "", t->line, t->col, "training: param %s already has an update; the optimizer "
                  "must be the only one to write params (make it a state node instead)",
                  ir_node_label(g, g->updates[u].target, lb, sizeof lb));
    return false;
  }
  collect_params(g, out);
  IrId first_new = g->n_nodes;
  bool clean = !g->error[0]; /* a builder error from before is not ours to report */
  if (!pass_autodiff(g, loss, out->n_params, out->params, out->grads, d)) return false;
  out->grads_end = g->n_nodes;
  out->first_update = g->n_updates;

  Builder b = {g, d, true};
  for (int i = 0; i < out->n_params; i++) {
    out->trained[i] = !is_absent(g, out->grads[i], first_new);
    if (!out->trained[i]) {
      char lb[96];
      const IrNode *pn = ir_node(g, out->params[i]);
      rt_diag_add(d, RT_DIAG_WARNING, "", pn->line, pn->col,
                  "training: the loss does not depend on param %s; it is not updated",
                  ir_node_label(g, out->params[i], lb, sizeof lb));
    }
  }
  out->lr = runtime_scalar(&b, PASS_INPUT_LR, 1e-3);
  out->weight_decay = runtime_scalar(&b, PASS_INPUT_WEIGHT_DECAY, 0.0);
  if (opt->kind == PASS_OPT_SGD) {
    out->momentum = runtime_scalar(&b, PASS_INPUT_MOMENTUM, 0.9);
  } else {
    out->beta1 = runtime_scalar(&b, PASS_INPUT_BETA1, 0.9);
    out->beta2 = runtime_scalar(&b, PASS_INPUT_BETA2, 0.999);
    out->eps = runtime_scalar(&b, PASS_INPUT_EPS, 1e-8);
    out->step = runtime_scalar(&b, PASS_INPUT_STEP, 1.0);
  }
  if (opt->clip_grad_norm) out->clip_norm = runtime_scalar(&b, PASS_INPUT_CLIP_NORM, 1.0);
  if (!b.ok) return false;

  IrId *grads = rt_xmalloc((size_t)(out->n_params ? out->n_params : 1) * sizeof *grads);
  IrId *squares = rt_xmalloc((size_t)(out->n_params ? out->n_params : 1) * sizeof *squares);
  memcpy(grads, out->grads, (size_t)out->n_params * sizeof *grads);
  for (int i = 0; i < out->n_params; i++) squares[i] = IR_NONE;
  if (opt->clip_grad_norm) clip_gradients(&b, out, grads, squares);
  AdamScalars s = {0};
  if (opt->kind != PASS_OPT_SGD) s = adam_scalars(g, out, opt->kind == PASS_OPT_ADAMW);
  for (int i = 0; i < out->n_params && b.ok; i++) {
    if (!out->trained[i]) continue;
    if (opt->kind == PASS_OPT_SGD)
      sgd_update(&b, out, opt->nesterov, out->params[i], grads[i]);
    else
      adam_update(&b, out, &s, out->params[i], grads[i]);
  }
  if (b.ok && opt->layer_norms) add_layer_norms(g, out, squares);
  free(grads);
  free(squares);
  RT_ASSERT(!b.ok || !clean || !g->error[0], "the optimizer update built an invalid op: %s", g->error);
  return b.ok;
}
