/* pass_build_training: the optimizer update built as graph ops, run by the reference
 * interpreter, against the formulas evaluated by hand here (PyTorch's torch.optim definitions):
 * Adam with bias correction and L2 decay, AdamW with decoupled decay, SGD with momentum (plain
 * and Nesterov) over two steps, global-norm clipping, per-layer gradient norms; plus the graph
 * contract: hyperparameters are runtime inputs, moments are named zero states, the phase
 * boundary, output 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include "ir/ir_builder.h"
#include "ir/ir_interp.h"
#include "ir/ir_verify.h"
#include "passes/simplify.h"
#include "passes/train_graph.h"

enum { NW = 3, NU = 2 };
/* all exact in f32: the interpreter rounds f32 constants to float */
static const double W0[NW] = {0.5, -1.0, 2.0}, TARGET[NW] = {0.125, 0.25, -0.375};
static const double U0[NU] = {0.25, -0.75}, C[NU] = {1.5, -0.5};

/* loss = 0.5 sum((w - target)^2) + sum(u * c), so dL/dw = w - target and dL/du = c */
typedef struct Problem {
  IrGraph *g;
  IrId w, u, loss;
  PassTraining t;
  IrInterp *it;
} Problem;

static Problem problem_new(PassOptimizer opt) {
  Problem p = {.g = ir_graph_new("opt")};
  IrGraph *g = p.g;
  p.w = ir_param(g, "w", IR_SHAPE(NW), IR_INIT_ZEROS, 0);
  p.u = ir_param(g, "u", IR_SHAPE(NU), IR_INIT_ZEROS, 0);
  IrId diff = ir_sub(g, p.w, ir_const_data(g, IR_F32, IR_SHAPE(NW), TARGET));
  IrId lin = ir_sum_all(g, ir_mul(g, p.u, ir_const_data(g, IR_F32, IR_SHAPE(NU), C)));
  p.loss = ir_add(g, ir_mul_scalar(g, ir_sum_all(g, ir_square(g, diff)), 0.5), lin);
  RtDiags d = {0};
  assert_true(pass_build_training(g, p.loss, &opt, &p.t, &d));
  assert_int_equal(d.count, 0);
  assert_string_equal(g->error, "");
  assert_true(ir_verify(g, NULL, &d));
  p.it = ir_interp_new(g);
  ir_interp_init_leaves(p.it, 3);
  memcpy(ir_interp_value(p.it, p.w)->data, W0, sizeof W0);
  memcpy(ir_interp_value(p.it, p.u)->data, U0, sizeof U0);
  return p;
}

static void problem_free(Problem *p) {
  ir_interp_free(p->it);
  ir_graph_free(p->g);
}

static void set_input(Problem *p, const char *name, double v) {
  IrId id = ir_graph_find(p->g, name);
  assert_int_not_equal(id, IR_NONE);
  ir_interp_value(p->it, id)->data[0] = v;
}

static void step(Problem *p) {
  ir_interp_run(p->it, NULL);
  ir_interp_apply_updates(p->it);
}

static void expect_close(const double *got, const double *want, int n) {
  for (int i = 0; i < n; i++) {
    if (!(fabs(got[i] - want[i]) <= 1e-12 * fmax(1.0, fabs(want[i]))))
      fail_msg("element %d: got %.17g, want %.17g", i, got[i], want[i]);
  }
}

/* The hand computation for one param: grad(p) gives the raw gradient at p. */
typedef struct Adam {
  double lr, b1, b2, eps, wd;
  bool decoupled;
} Adam;

static void adam_by_hand(const Adam *h, int t, double *p, double *m, double *v, const double *grad, int n) {
  for (int i = 0; i < n; i++) {
    double d = h->decoupled ? grad[i] : grad[i] + h->wd * p[i];
    m[i] = h->b1 * m[i] + (1 - h->b1) * d;
    v[i] = h->b2 * v[i] + (1 - h->b2) * d * d;
    double mhat = m[i] / (1 - pow(h->b1, t)), vhat = v[i] / (1 - pow(h->b2, t));
    if (h->decoupled) p[i] -= h->lr * h->wd * p[i];
    p[i] -= h->lr * mhat / (sqrt(vhat) + h->eps);
  }
}

static void run_adam(PassOptimizerKind kind, const Adam *h) {
  Problem p = problem_new((PassOptimizer){.kind = kind});
  set_input(&p, "lr", h->lr);
  set_input(&p, "beta1", h->b1);
  set_input(&p, "beta2", h->b2);
  set_input(&p, "eps", h->eps);
  set_input(&p, "weight_decay", h->wd);
  double w[NW], u[NU], mw[NW] = {0}, vw[NW] = {0}, mu[NU] = {0}, vu[NU] = {0};
  memcpy(w, W0, sizeof w);
  memcpy(u, U0, sizeof u);
  for (int t = 1; t <= 3; t++) { /* step 1 alone would hide a wrong bias correction (mhat = d) */
    set_input(&p, "step", t);
    step(&p);
    double gw[NW];
    for (int i = 0; i < NW; i++) gw[i] = w[i] - TARGET[i];
    adam_by_hand(h, t, w, mw, vw, gw, NW);
    adam_by_hand(h, t, u, mu, vu, C, NU);
    expect_close(ir_interp_value(p.it, p.w)->data, w, NW);
    expect_close(ir_interp_value(p.it, p.u)->data, u, NU);
    expect_close(ir_interp_value(p.it, ir_graph_find(p.g, "opt.m.w"))->data, mw, NW);
    expect_close(ir_interp_value(p.it, ir_graph_find(p.g, "opt.v.u"))->data, vu, NU);
  }
  problem_free(&p);
}

static void test_adam(void **state) {
  run_adam(PASS_OPT_ADAM, &(Adam){.lr = 0.1, .b1 = 0.9, .b2 = 0.999, .eps = 1e-8, .wd = 0.01});
}

static void test_adamw(void **state) {
  run_adam(PASS_OPT_ADAMW, &(Adam){.lr = 0.05, .b1 = 0.8, .b2 = 0.99, .eps = 1e-6, .wd = 0.3, .decoupled = true});
}

/* AdamW must differ from Adam with the same weight decay: the decay is not in the moments. */
static void test_adamw_is_not_adam_l2(void **state) {
  double after[2][NW];
  for (int k = 0; k < 2; k++) {
    Problem p = problem_new((PassOptimizer){.kind = k ? PASS_OPT_ADAMW : PASS_OPT_ADAM});
    set_input(&p, "lr", 0.1);
    set_input(&p, "beta1", 0.9);
    set_input(&p, "beta2", 0.999);
    set_input(&p, "eps", 1e-8);
    set_input(&p, "weight_decay", 0.5);
    set_input(&p, "step", 1);
    step(&p);
    memcpy(after[k], ir_interp_value(p.it, p.w)->data, sizeof after[k]);
    problem_free(&p);
  }
  assert_true(fabs(after[0][0] - after[1][0]) > 1e-3);
}

static void run_sgd(bool nesterov) {
  const double lr = 0.1, mom = 0.9, wd = 0.01;
  Problem p = problem_new((PassOptimizer){.kind = PASS_OPT_SGD, .nesterov = nesterov});
  set_input(&p, "lr", lr);
  set_input(&p, "momentum", mom);
  set_input(&p, "weight_decay", wd);
  double w[NW], buf[NW] = {0};
  memcpy(w, W0, sizeof w);
  for (int t = 0; t < 2; t++) {
    step(&p);
    for (int i = 0; i < NW; i++) {
      double d = (w[i] - TARGET[i]) + wd * w[i];
      buf[i] = mom * buf[i] + d;
      w[i] -= lr * (nesterov ? d + mom * buf[i] : buf[i]);
    }
    expect_close(ir_interp_value(p.it, p.w)->data, w, NW);
    expect_close(ir_interp_value(p.it, ir_graph_find(p.g, "opt.mom.w"))->data, buf, NW);
  }
  problem_free(&p);
}

static void test_sgd_momentum_two_steps(void **state) { run_sgd(false); }

static void test_sgd_nesterov_two_steps(void **state) { run_sgd(true); }

/* Plain SGD with lr 1: the update is the (clipped) gradient itself. The global norm spans both
 * params; a clip above the norm changes nothing. */
static void test_clipping_scales_update(void **state) {
  double norm2 = 0;
  for (int i = 0; i < NW; i++) norm2 += (W0[i] - TARGET[i]) * (W0[i] - TARGET[i]);
  for (int i = 0; i < NU; i++) norm2 += C[i] * C[i];
  const double norm = sqrt(norm2);
  const double clips[2] = {0.5, 100.0};
  for (int k = 0; k < 2; k++) {
    Problem p = problem_new((PassOptimizer){.kind = PASS_OPT_SGD, .clip_grad_norm = true});
    set_input(&p, "lr", 1.0);
    set_input(&p, "momentum", 0.0);
    set_input(&p, "weight_decay", 0.0);
    set_input(&p, "clip_norm", clips[k]);
    step(&p);
    double scale = fmin(1.0, clips[k] / (norm + (double)1e-6f)) /* f32 const */, w[NW], u[NU];
    assert_true(k == 0 ? scale < 0.2 : scale == 1.0);
    for (int i = 0; i < NW; i++) w[i] = W0[i] - scale * (W0[i] - TARGET[i]);
    for (int i = 0; i < NU; i++) u[i] = U0[i] - scale * C[i];
    expect_close(ir_interp_value(p.it, p.w)->data, w, NW);
    expect_close(ir_interp_value(p.it, p.u)->data, u, NU);
    expect_close(ir_interp_value(p.it, p.t.grad_norm)->data, &norm, 1);
    problem_free(&p);
  }
}

static void expect_runtime_scalar(const IrGraph *g, IrId id, const char *name) {
  assert_int_not_equal(id, IR_NONE);
  const IrNode *n = ir_node(g, id);
  assert_int_equal(n->kind, IR_NODE_INPUT);
  assert_string_equal(n->name, name);
  assert_int_equal(n->type.dtype, IR_F32);
  assert_int_equal(n->type.shape.rank, 0);
}

static void test_hyperparameters_are_inputs(void **state) {
  Problem p = problem_new((PassOptimizer){.kind = PASS_OPT_ADAMW, .clip_grad_norm = true});
  const PassTraining *t = &p.t;
  expect_runtime_scalar(p.g, t->lr, PASS_INPUT_LR);
  expect_runtime_scalar(p.g, t->beta1, PASS_INPUT_BETA1);
  expect_runtime_scalar(p.g, t->beta2, PASS_INPUT_BETA2);
  expect_runtime_scalar(p.g, t->eps, PASS_INPUT_EPS);
  expect_runtime_scalar(p.g, t->weight_decay, PASS_INPUT_WEIGHT_DECAY);
  expect_runtime_scalar(p.g, t->clip_norm, PASS_INPUT_CLIP_NORM);
  expect_runtime_scalar(p.g, t->step, PASS_INPUT_STEP);
  assert_int_equal(t->momentum, IR_NONE);
  problem_free(&p);

  p = problem_new((PassOptimizer){.kind = PASS_OPT_SGD});
  expect_runtime_scalar(p.g, p.t.lr, PASS_INPUT_LR);
  expect_runtime_scalar(p.g, p.t.momentum, PASS_INPUT_MOMENTUM);
  expect_runtime_scalar(p.g, p.t.weight_decay, PASS_INPUT_WEIGHT_DECAY);
  assert_int_equal(p.t.beta1, IR_NONE);
  assert_int_equal(p.t.clip_norm, IR_NONE);
  assert_int_equal(p.t.grad_norm, IR_NONE);
  problem_free(&p);
}

/* Moments are zero states with their own updates; the loss stays output 0; ops after grads_end
 * read only leaves, raw gradients and each other, and produce every optimizer update. */
static void test_graph_contract(void **state) {
  Problem p = problem_new((PassOptimizer){.kind = PASS_OPT_ADAM, .clip_grad_norm = true});
  const IrGraph *g = p.g;
  const PassTraining *t = &p.t;
  assert_int_equal(g->n_outputs, 1);
  assert_int_equal(g->outputs[0], p.loss);
  assert_int_equal(t->n_params, 2);
  assert_int_equal(t->params[0], p.w);
  const char *states[] = {"opt.m.w", "opt.v.w", "opt.m.u", "opt.v.u"};
  for (int i = 0; i < 4; i++) {
    IrId s = ir_graph_find(g, states[i]);
    assert_int_not_equal(s, IR_NONE);
    assert_int_equal(ir_node(g, s)->kind, IR_NODE_STATE);
    assert_int_equal(ir_node(g, s)->init, IR_INIT_ZEROS);
    bool updated = false;
    for (int u = t->first_update; u < g->n_updates; u++) updated = updated || g->updates[u].target == s;
    assert_true(updated);
  }
  assert_int_equal(g->n_updates - t->first_update, 6); /* m, v, p for each param */
  for (int i = 0; i < t->n_params; i++) assert_true(t->grads[i] < t->grads_end);
  for (IrId id = t->grads_end; id < g->n_nodes; id++) {
    const IrNode *n = ir_node(g, id);
    for (int k = 0; k < n->n_in; k++) {
      IrId in = n->in[k];
      bool is_grad = false;
      for (int i = 0; i < t->n_params; i++) is_grad = is_grad || in == t->grads[i];
      assert_true(in >= t->grads_end || ir_node(g, in)->kind != IR_NODE_OP || is_grad);
    }
  }
  for (int u = t->first_update; u < g->n_updates; u++) assert_true(g->updates[u].value >= t->grads_end);
  problem_free(&p);
}

static void test_unused_param_and_name_clash(void **state) {
  IrGraph *g = ir_graph_new("unused");
  IrId w = ir_param(g, "w", IR_SHAPE(2), IR_INIT_UNIFORM, 1.0);
  ir_param(g, "z", IR_SHAPE(2), IR_INIT_UNIFORM, 1.0);
  IrId loss = ir_sum_all(g, ir_square(g, w));
  PassTraining t;
  RtDiags d = {0};
  assert_true(pass_build_training(g, loss, &(PassOptimizer){.kind = PASS_OPT_SGD}, &t, &d));
  assert_int_equal(d.errors, 0);
  assert_int_equal(d.count, 1); /* the warning about z */
  assert_non_null(strstr(d.items[0].msg, "%z"));
  assert_true(t.trained[0] && !t.trained[1]);
  for (int u = 0; u < g->n_updates; u++) assert_int_not_equal(g->updates[u].target, t.params[1]);
  assert_int_equal(ir_graph_find(g, "opt.mom.z"), IR_NONE);
  rt_diags_free(&d);
  ir_graph_free(g);

  g = ir_graph_new("clash");
  w = ir_param(g, "lr", IR_SHAPE(2), IR_INIT_UNIFORM, 1.0); /* a param taking an input's name */
  loss = ir_sum_all(g, ir_square(g, w));
  assert_false(pass_build_training(g, loss, &(PassOptimizer){.kind = PASS_OPT_ADAM}, &t, &d));
  assert_int_equal(d.errors, 1);
  assert_non_null(strstr(d.items[0].msg, "'lr'"));
  rt_diags_free(&d);
  ir_graph_free(g);
}

/* layer_norms: one output per layer of trained params (name up to the first '.'), the sum of
 * its params' squared raw gradients, in order of first appearance; a param the loss ignores is
 * no layer. Layers a (a.weight, a.bias), b (b.l0.w) and c (c, no dot); z.w is unused. The
 * layers add up to the clipping norm's square, and the simplified graph lists the same layers. */
static void test_layer_norms(void **state) {
  static const double A[2] = {1.5, -2.0}, B[3] = {0.5, 0.25, -1.0}, AB = 3.0, CC = -0.75;
  for (int clip = 0; clip < 2; clip++) {
    IrGraph *g = ir_graph_new("layers");
    IrId aw = ir_param(g, "a.weight", IR_SHAPE(2), IR_INIT_ZEROS, 0);
    IrId ab = ir_param(g, "a.bias", IR_SHAPE(), IR_INIT_ZEROS, 0);
    ir_param(g, "z.w", IR_SHAPE(2), IR_INIT_ZEROS, 0);
    IrId bw = ir_param(g, "b.l0.w", IR_SHAPE(3), IR_INIT_ZEROS, 0);
    IrId c = ir_param(g, "c", IR_SHAPE(), IR_INIT_ZEROS, 0);
    /* loss = sum(A aw) + AB ab + sum(B bw) + CC c: the gradients are the constants */
    IrId loss = ir_add(g, ir_sum_all(g, ir_mul(g, aw, ir_const_data(g, IR_F32, IR_SHAPE(2), A))),
                       ir_mul_scalar(g, ab, AB));
    loss = ir_add(g, loss, ir_sum_all(g, ir_mul(g, bw, ir_const_data(g, IR_F32, IR_SHAPE(3), B))));
    loss = ir_add(g, loss, ir_mul_scalar(g, c, CC));
    PassTraining t;
    RtDiags d = {0};
    PassOptimizer opt = {.kind = PASS_OPT_SGD, .clip_grad_norm = clip, .layer_norms = true};
    assert_true(pass_build_training(g, loss, &opt, &t, &d));
    assert_int_equal(d.errors, 0);
    assert_true(ir_verify(g, NULL, &d));
    assert_int_equal(t.n_layers, 3);
    assert_int_equal(t.first_norm_output, 1);
    assert_int_equal(g->n_outputs, 4);
    const char **names;
    RtArena arena = {0};
    assert_int_equal(pass_grad_layers(g, &arena, &names), 3);
    assert_string_equal(names[0], "a");
    assert_string_equal(names[1], "b");
    assert_string_equal(names[2], "c");
    IrInterp *it = ir_interp_new(g);
    ir_interp_init_leaves(it, 3);
    ir_interp_run(it, NULL);
    double want[3] = {A[0] * A[0] + A[1] * A[1] + AB * AB, B[0] * B[0] + B[1] * B[1] + B[2] * B[2], CC * CC};
    double total = 0;
    for (int l = 0; l < 3; l++) {
      const double *got = ir_interp_value(it, g->outputs[1 + l])->data;
      expect_close(got, &want[l], 1);
      total += *got;
    }
    if (clip) { /* the same squares feed the clipping norm */
      double norm = sqrt(total);
      expect_close(ir_interp_value(it, t.grad_norm)->data, &norm, 1);
    }
    ir_interp_free(it);
    IrGraph *s = pass_simplify(g, NULL);
    assert_int_equal(s->n_outputs, 4);
    assert_int_equal(pass_grad_layers(s, &arena, &names), 3);
    assert_string_equal(names[1], "b");
    ir_graph_free(s);
    rt_arena_free(&arena);
    rt_diags_free(&d);
    ir_graph_free(g);
  }
  /* without layer_norms the step is as before: the loss alone */
  Problem p = problem_new((PassOptimizer){.kind = PASS_OPT_ADAM});
  assert_int_equal(p.g->n_outputs, 1);
  assert_int_equal(p.t.n_layers, 0);
  problem_free(&p);
  (void)state;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_adam),
      cmocka_unit_test(test_adamw),
      cmocka_unit_test(test_adamw_is_not_adam_l2),
      cmocka_unit_test(test_sgd_momentum_two_steps),
      cmocka_unit_test(test_sgd_nesterov_two_steps),
      cmocka_unit_test(test_clipping_scales_update),
      cmocka_unit_test(test_hyperparameters_are_inputs),
      cmocka_unit_test(test_graph_contract),
      cmocka_unit_test(test_unused_param_and_name_clash),
      cmocka_unit_test(test_layer_norms),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
