/* pass_split_training: the gradient phase and the update phase, run one after the other by the
 * reference interpreter with the gradients handed over by name, end every step exactly where
 * the fused training step does (Adam with clipping and per-layer norms, SGD with momentum), with
 * the forward pass's own state update (a running statistic) kept in the gradient phase, an
 * unused param left out, and both phases holding the whole state (moments included). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ir/ir_builder.h"
#include "ir/ir_interp.h"
#include "ir/ir_verify.h"
#include "passes/train_split.h"

/* loss = 0.5 sum((a.w * x - 1)^2) + sum(b * x); state stat.mean <- 0.5 stat.mean + 0.5 sum(x * a.w);
 * z is not used by the loss. */
static IrGraph *problem(PassOptimizer opt, PassTraining *t) {
  static const double X[3] = {0.5, -1.25, 2.0};
  IrGraph *g = ir_graph_new("split");
  IrId aw = ir_param(g, "a.w", IR_SHAPE(3), IR_INIT_UNIFORM, 1.0);
  IrId b = ir_param(g, "b", IR_SHAPE(3), IR_INIT_UNIFORM, 1.0);
  ir_param(g, "z", IR_SHAPE(2), IR_INIT_UNIFORM, 1.0);
  IrId mean = ir_graph_add_leaf(g, IR_NODE_STATE, "stat.mean", (IrType){IR_F32, IR_SHAPE()});
  IrId x = ir_const_data(g, IR_F32, IR_SHAPE(3), X);
  IrId ax = ir_mul(g, aw, x);
  IrId r = ir_sub(g, ax, ir_const_data(g, IR_F32, IR_SHAPE(3), (double[]){1, 1, 1}));
  IrId loss = ir_add(g, ir_mul_scalar(g, ir_sum_all(g, ir_square(g, r)), 0.5), ir_sum_all(g, ir_mul(g, b, x)));
  ir_graph_add_output(g, loss);
  ir_graph_add_update(g, mean, ir_add(g, ir_mul_scalar(g, mean, 0.5), ir_mul_scalar(g, ir_sum_all(g, ax), 0.5)));
  RtDiags d = {0};
  assert_true(pass_build_training(g, loss, &opt, t, &d));
  assert_int_equal(d.errors, 0);
  assert_true(ir_verify(g, NULL, &d));
  rt_diags_free(&d);
  return g;
}

/* Copies every named leaf value of `from` into the same-named leaf of `to`, where it has one. */
static void copy_leaves(IrInterp *from, const IrGraph *gf, IrInterp *to, const IrGraph *gt, IrNodeKind kind) {
  for (IrId id = 0; id < gf->n_nodes; id++) {
    const IrNode *n = gf->nodes[id];
    if (n->kind != kind || !n->name) continue;
    IrId other = ir_graph_find(gt, n->name);
    if (other == IR_NONE) continue;
    IrTensor *src = ir_interp_value(from, id), *dst = ir_interp_value(to, other);
    memcpy(dst->data, src->data, (size_t)ir_shape_numel(&n->type.shape) * sizeof(double));
  }
}

static void expect_same_leaves(IrInterp *a, const IrGraph *ga, IrInterp *b, const IrGraph *gb) {
  for (IrId id = 0; id < ga->n_nodes; id++) {
    const IrNode *n = ga->nodes[id];
    if (n->kind != IR_NODE_PARAM && n->kind != IR_NODE_STATE) continue;
    IrId other = ir_graph_find(gb, n->name);
    if (other == IR_NONE) fail_msg("%s missing from a phase", n->name);
    const double *x = ir_interp_value(a, id)->data, *y = ir_interp_value(b, other)->data;
    for (int64_t k = 0; k < ir_shape_numel(&n->type.shape); k++)
      if (x[k] != y[k]) fail_msg("%s[%lld]: fused %.17g, phases %.17g", n->name, (long long)k, x[k], y[k]);
  }
}

static void phases_match_fused(PassOptimizer opt) {
  PassTraining t;
  IrGraph *g = problem(opt, &t);
  IrGraph *grads, *update;
  pass_split_training(g, &t, &grads, &update);
  RtDiags d = {0};
  assert_true(ir_verify(grads, NULL, &d));
  assert_true(ir_verify(update, NULL, &d));
  rt_diags_free(&d);
  /* loss, then the gradients of a.w and b (z is untrained); the forward's update only */
  assert_int_equal(grads->n_outputs, 3);
  assert_int_equal(grads->n_updates, 1);
  assert_int_not_equal(ir_graph_find(update, "grad.a.w"), IR_NONE);
  assert_int_not_equal(ir_graph_find(update, "grad.b"), IR_NONE);
  assert_int_equal(ir_graph_find(update, "grad.z"), IR_NONE);
  assert_int_equal(update->n_outputs, opt.layer_norms ? 2 : 0);
  /* both phases hold every param and state of the step */
  for (IrId id = 0; id < g->n_nodes; id++) {
    const IrNode *n = g->nodes[id];
    if (n->kind != IR_NODE_PARAM && n->kind != IR_NODE_STATE) continue;
    assert_int_not_equal(ir_graph_find(grads, n->name), IR_NONE);
    assert_int_not_equal(ir_graph_find(update, n->name), IR_NONE);
  }

  IrInterp *fused = ir_interp_new(g), *ig = ir_interp_new(grads), *iu = ir_interp_new(update);
  ir_interp_init_leaves(fused, 7);
  ir_interp_init_leaves(ig, 7);
  ir_interp_init_leaves(iu, 7);
  IrId lr = ir_graph_find(g, PASS_INPUT_LR);
  ir_interp_value(fused, lr)->data[0] = 0.1;
  ir_interp_value(iu, ir_graph_find(update, PASS_INPUT_LR))->data[0] = 0.1;
  if (opt.clip_grad_norm) { /* small enough to clip */
    ir_interp_value(fused, ir_graph_find(g, PASS_INPUT_CLIP_NORM))->data[0] = 0.5;
    ir_interp_value(iu, ir_graph_find(update, PASS_INPUT_CLIP_NORM))->data[0] = 0.5;
  }
  copy_leaves(fused, g, ig, grads, IR_NODE_PARAM);
  copy_leaves(fused, g, ig, grads, IR_NODE_STATE);
  for (int step = 1; step <= 3; step++) {
    if (t.step != IR_NONE) {
      ir_interp_value(fused, t.step)->data[0] = step;
      ir_interp_value(iu, ir_graph_find(update, PASS_INPUT_STEP))->data[0] = step;
    }
    ir_interp_run(fused, NULL);
    ir_interp_apply_updates(fused);
    /* phases: gradients, hand-over by name, update; the state travels with the values */
    ir_interp_run(ig, NULL);
    ir_interp_apply_updates(ig);
    copy_leaves(ig, grads, iu, update, IR_NODE_PARAM);
    copy_leaves(ig, grads, iu, update, IR_NODE_STATE);
    int k = 1;
    for (IrId id = 0; id < update->n_nodes; id++) {
      const IrNode *n = update->nodes[id];
      if (n->kind != IR_NODE_INPUT || strncmp(n->name, PASS_GRAD_INPUT_PREFIX, 5)) continue;
      memcpy(ir_interp_value(iu, id)->data, ir_interp_value(ig, grads->outputs[k++])->data,
             (size_t)ir_shape_numel(&n->type.shape) * sizeof(double));
    }
    assert_int_equal(k, grads->n_outputs);
    ir_interp_run(iu, NULL);
    ir_interp_apply_updates(iu);
    copy_leaves(iu, update, ig, grads, IR_NODE_PARAM);
    copy_leaves(iu, update, ig, grads, IR_NODE_STATE);
    assert_true(ir_interp_value(fused, g->outputs[0])->data[0] == ir_interp_value(ig, grads->outputs[0])->data[0]);
    expect_same_leaves(fused, g, ig, grads);
    for (int l = 0; l < update->n_outputs; l++)
      assert_true(ir_interp_value(fused, g->outputs[t.first_norm_output + l])->data[0] ==
                  ir_interp_value(iu, update->outputs[l])->data[0]);
  }
  ir_interp_free(fused);
  ir_interp_free(ig);
  ir_interp_free(iu);
  ir_graph_free(grads);
  ir_graph_free(update);
  ir_graph_free(g);
}

static void test_adam_clipped_with_layer_norms(void **state) {
  phases_match_fused((PassOptimizer){.kind = PASS_OPT_ADAM, .clip_grad_norm = true, .layer_norms = true});
}

static void test_sgd_momentum(void **state) { phases_match_fused((PassOptimizer){.kind = PASS_OPT_SGD}); }

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_adam_clipped_with_layer_norms),
      cmocka_unit_test(test_sgd_momentum),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
