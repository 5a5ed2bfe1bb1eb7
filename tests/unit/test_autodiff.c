/* pass_autodiff: fan-out accumulation, no gradient work off the wrt -> loss paths, diagnostics
 * for ops without a VJP rule on such a path (and none off it), zeros for a wrt without a path,
 * and argument checks. Gradient values are read from the reference interpreter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include "ir/ir_builder.h"
#include "ir/ir_interp.h"
#include "ir/ir_ops.h"
#include "ir/ir_verify.h"
#include "passes/autodiff.h"

static bool diags_mention(const RtDiags *d, const char *what) {
  for (int i = 0; i < d->count; i++)
    if (strstr(d->items[i].msg, what)) return true;
  return false;
}

/* Does any node appended from `first` on read `operand`? */
static bool appended_reads(const IrGraph *g, IrId first, IrId operand) {
  for (IrId id = first; id < g->n_nodes; id++)
    for (int i = 0; i < ir_node(g, id)->n_in; i++)
      if (ir_node(g, id)->in[i] == operand) return true;
  return false;
}

static bool appended_has_op(const IrGraph *g, IrId first, IrOp op) {
  for (IrId id = first; id < g->n_nodes; id++)
    if (ir_node(g, id)->kind == IR_NODE_OP && ir_node(g, id)->op == op) return true;
  return false;
}

/* loss = sum(x * x + exp(x) + x): x fans out four times (twice into one mul), so
 * d loss / dx = 2x + exp(x) + 1 only if every contribution is added. */
static void test_fan_out_accumulates(void **state) {
  IrGraph *g = ir_graph_new("fanout");
  IrId x = ir_param(g, "x", IR_SHAPE(4), IR_INIT_UNIFORM, 1.0);
  IrId y = ir_add(g, ir_add(g, ir_mul(g, x, x), ir_exp(g, x)), x);
  IrId loss = ir_sum_all(g, y), grad;
  RtDiags d = {0};
  assert_true(pass_autodiff(g, loss, 1, &x, &grad, &d));
  assert_true(ir_verify(g, NULL, &d));
  assert_int_equal(d.count, 0);
  assert_true(ir_type_eq(ir_type_of(g, grad), ir_type_of(g, x)));
  IrInterp *it = ir_interp_new(g);
  ir_interp_init_leaves(it, 7);
  ir_interp_run(it, NULL);
  const double *xv = ir_interp_value(it, x)->data, *gv = ir_interp_value(it, grad)->data;
  for (int i = 0; i < 4; i++) assert_true(fabs(gv[i] - (2 * xv[i] + exp(xv[i]) + 1)) < 1e-12);
  ir_interp_free(it);
  ir_graph_free(g);
}

/* Two wrt values sharing a subexpression, and a wrt that is itself the loss. */
static void test_several_wrt(void **state) {
  IrGraph *g = ir_graph_new("multi");
  IrId a = ir_param(g, "a", IR_SHAPE(), IR_INIT_FILL, 3.0);
  IrId b = ir_param(g, "b", IR_SHAPE(), IR_INIT_FILL, 5.0);
  IrId loss = ir_mul(g, ir_mul(g, a, b), a); /* a^2 b: da = 2ab = 30, db = a^2 = 9 */
  IrId wrt[2] = {a, b}, grads[2];
  RtDiags d = {0};
  assert_true(pass_autodiff(g, loss, 2, wrt, grads, &d));
  IrInterp *it = ir_interp_new(g);
  ir_interp_init_leaves(it, 1);
  ir_interp_run(it, NULL);
  assert_true(ir_interp_value(it, grads[0])->data[0] == 30.0);
  assert_true(ir_interp_value(it, grads[1])->data[0] == 9.0);
  ir_interp_free(it);
  ir_graph_free(g);

  g = ir_graph_new("self");
  IrId s = ir_param(g, "s", IR_SHAPE(), IR_INIT_FILL, 2.0), gs;
  assert_true(pass_autodiff(g, s, 1, &s, &gs, &d));
  it = ir_interp_new(g);
  ir_interp_init_leaves(it, 1);
  ir_interp_run(it, NULL);
  assert_true(ir_interp_value(it, gs)->data[0] == 1.0); /* the seed itself */
  ir_interp_free(it);
  ir_graph_free(g);
}

/* loss = sum(x * tanh(z)) with z not a wrt, plus an output exp(x) that the loss ignores: the
 * gradient reads tanh(z) as mul's other operand, but tanh's own VJP (square of its output) and
 * exp's (which would read the exp node) must not be emitted, nor anything reading z. */
static void test_unused_branches_get_no_gradient_ops(void **state) {
  IrGraph *g = ir_graph_new("prune");
  IrId x = ir_param(g, "x", IR_SHAPE(3), IR_INIT_UNIFORM, 1.0);
  IrId z = ir_param(g, "z", IR_SHAPE(3), IR_INIT_UNIFORM, 1.0);
  IrId tz = ir_tanh(g, z);
  IrId side = ir_exp(g, x);
  IrId loss = ir_sum_all(g, ir_mul(g, x, tz)), grad;
  ir_graph_add_output(g, loss);
  ir_graph_add_output(g, side);
  IrId first = g->n_nodes;
  RtDiags d = {0};
  assert_true(pass_autodiff(g, loss, 1, &x, &grad, &d));
  assert_true(ir_verify(g, NULL, &d));
  assert_false(appended_reads(g, first, z));
  assert_false(appended_reads(g, first, side));
  assert_false(appended_has_op(g, first, IR_OP_SQUARE));
  assert_false(appended_has_op(g, first, IR_OP_EXP));
  assert_true(appended_reads(g, first, tz)); /* the one thing it does need */
  /* seed, broadcast of the seed, mul by tanh(z): nothing else */
  assert_true(g->n_nodes - first <= 3);
  ir_graph_free(g);
}

/* conv2d_grad_input has no VJP rule: on a wrt -> loss path it is reported by name; on a branch
 * that does not lead from a wrt to the loss it is not. */
static void test_null_vjp_diagnostic(void **state) {
  IrGraph *g = ir_graph_new("nullvjp");
  IrId gy = ir_param(g, "gy", IR_SHAPE(1, 2, 3, 3), IR_INIT_UNIFORM, 1.0);
  IrId w = ir_param(g, "w", IR_SHAPE(2, 1, 2, 2), IR_INIT_UNIFORM, 1.0);
  IrId dx = ir_conv2d_grad_input(g, gy, w, ir_conv_spec(1, 0), 4, 4);
  IrId loss = ir_sum_all(g, dx), grad;
  RtDiags d = {0};
  assert_false(pass_autodiff(g, loss, 1, &w, &grad, &d));
  assert_int_equal(d.errors, 1);
  assert_true(diags_mention(&d, "conv2d_grad_input"));
  rt_diags_free(&d);
  ir_graph_free(g);

  g = ir_graph_new("offpath");
  IrId x = ir_param(g, "x", IR_SHAPE(2), IR_INIT_UNIFORM, 1.0);
  gy = ir_param(g, "gy", IR_SHAPE(1, 2, 3, 3), IR_INIT_UNIFORM, 1.0);
  w = ir_param(g, "w", IR_SHAPE(2, 1, 2, 2), IR_INIT_UNIFORM, 1.0);
  dx = ir_conv2d_grad_input(g, gy, w, ir_conv_spec(1, 0), 4, 4); /* no wrt upstream */
  loss = ir_add(g, ir_sum_all(g, ir_square(g, x)), ir_sum_all(g, dx));
  assert_true(pass_autodiff(g, loss, 1, &x, &grad, &d));
  assert_int_equal(d.count, 0);
  ir_graph_free(g);
}

/* A wrt the loss does not depend on, and one connected only through a compare (zero gradient):
 * both get a zeros constant of their type. */
static void test_wrt_without_path_gets_zeros(void **state) {
  IrGraph *g = ir_graph_new("nopath");
  IrId x = ir_param(g, "x", IR_SHAPE(2), IR_INIT_UNIFORM, 1.0);
  IrId u = ir_param(g, "u", IR_SHAPE(3, 2), IR_INIT_UNIFORM, 1.0);
  IrId c = ir_param(g, "c", IR_SHAPE(2), IR_INIT_UNIFORM, 1.0);
  IrId loss = ir_sum_all(g, ir_mul(g, ir_square(g, x), ir_gt(g, c, ir_scalar(g, 0.0))));
  IrId wrt[3] = {x, u, c}, grads[3];
  RtDiags d = {0};
  assert_true(pass_autodiff(g, loss, 3, wrt, grads, &d));
  for (int i = 1; i < 3; i++) {
    const IrNode *n = ir_node(g, grads[i]);
    assert_int_equal(n->kind, IR_NODE_CONST);
    assert_int_equal(n->init, IR_INIT_FILL);
    assert_true(n->value == 0.0);
    assert_true(ir_type_eq(&n->type, ir_type_of(g, wrt[i])));
  }
  assert_int_equal(ir_node(g, grads[0])->kind, IR_NODE_OP);
  ir_graph_free(g);
}

static void test_bad_arguments(void **state) {
  IrGraph *g = ir_graph_new("bad");
  IrId x = ir_param(g, "x", IR_SHAPE(2), IR_INIT_UNIFORM, 1.0);
  IrId i = ir_input(g, "i", IR_I32, IR_SHAPE(2));
  IrId grad;
  RtDiags d = {0};
  assert_false(pass_autodiff(g, ir_square(g, x), 1, &x, &grad, &d)); /* loss not scalar */
  assert_true(diags_mention(&d, "scalar"));
  rt_diags_free(&d);
  assert_false(pass_autodiff(g, ir_sum_all(g, x), 1, &i, &grad, &d)); /* i32 wrt */
  assert_true(diags_mention(&d, "not f32"));
  rt_diags_free(&d);
  ir_graph_free(g);
}

/* An unrolled recurrence's shape: per-step slices of one input projection and per-step products
 * with one weight. Their gradients must come out as one concat (not a sum of zero-padded
 * pieces) and one matmul over the concatenated steps (not a sum of per-step matmuls), and equal
 * the gradients a plain sum gives (checked against finite differences elsewhere; here against
 * the values of the same graph built without the shortcut: a sum of the per-step terms). */
static int count_appended(const IrGraph *g, IrId first, IrOp op) {
  int n = 0;
  for (IrId i = first; i < g->n_nodes; i++) n += ir_node(g, i)->kind == IR_NODE_OP && ir_node(g, i)->op == op;
  return n;
}

static void test_recurrence_gradients_concatenate(void **state) {
  IrGraph *g = ir_graph_new("rec");
  enum { T = 5, B = 3, H = 4 };
  IrId xp = ir_param(g, "xproj", IR_SHAPE(T * B, H), IR_INIT_UNIFORM, 1.0);
  IrId w = ir_param(g, "w", IR_SHAPE(H, H), IR_INIT_UNIFORM, 0.5);
  IrId h = ir_const_fill(g, IR_F32, IR_SHAPE(B, H), 0.1), total = IR_NONE;
  for (int t = 0; t < T; t++) {
    IrId step = ir_tanh(g, ir_add(g, ir_slice_axis(g, xp, 0, t * B, (t + 1) * B), ir_matmul(g, h, w, false, false)));
    total = t ? ir_add(g, total, ir_sum_all(g, step)) : ir_sum_all(g, step);
    h = step;
  }
  IrId first = g->n_nodes, grads[2], wrt[2] = {xp, w};
  RtDiags d = {0};
  assert_true(pass_autodiff(g, total, 2, wrt, grads, &d));
  assert_int_equal(ir_node(g, grads[0])->op, IR_OP_CONCAT);
  assert_int_equal(ir_node(g, grads[1])->op, IR_OP_MATMUL);
  assert_int_equal(count_appended(g, first, IR_OP_PAD), T); /* built, then left for DCE */
  /* the values: the concat and the single matmul against the per-step pads and matmuls */
  IrId pads = IR_NONE, mms = IR_NONE;
  for (IrId i = first; i < g->n_nodes; i++) {
    const IrNode *n = ir_node(g, i);
    if (n->op == IR_OP_PAD && n->kind == IR_NODE_OP) pads = pads == IR_NONE ? i : ir_add(g, pads, i);
  }
  for (IrId i = first; i < grads[1]; i++) {
    const IrNode *n = ir_node(g, i);
    if (n->kind == IR_NODE_OP && n->op == IR_OP_MATMUL && ir_shape_eq(&n->type.shape, &ir_type_of(g, w)->shape))
      mms = mms == IR_NONE ? i : ir_add(g, mms, i);
  }
  assert_int_not_equal(pads, IR_NONE);
  assert_int_not_equal(mms, IR_NONE);
  IrInterp *it = ir_interp_new(g);
  ir_interp_init_leaves(it, 3);
  ir_interp_run(it, NULL);
  const IrTensor *a = ir_interp_value(it, grads[0]), *b = ir_interp_value(it, pads);
  for (int i = 0; i < T * B * H; i++) assert_true(fabs(a->data[i] - b->data[i]) < 1e-12);
  a = ir_interp_value(it, grads[1]), b = ir_interp_value(it, mms);
  for (int i = 0; i < H * H; i++) assert_true(fabs(a->data[i] - b->data[i]) < 1e-12);
  ir_interp_free(it);
  rt_diags_free(&d);
  ir_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_recurrence_gradients_concatenate),
      cmocka_unit_test(test_fan_out_accumulates),
      cmocka_unit_test(test_several_wrt),
      cmocka_unit_test(test_unused_branches_get_no_gradient_ops),
      cmocka_unit_test(test_null_vjp_diagnostic),
      cmocka_unit_test(test_wrt_without_path_gets_zeros),
      cmocka_unit_test(test_bad_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
