/* Every VJP rule against central finite differences in double (pass_grad_check): each op is
 * fed random params and reduced to a scalar with random weights, loss = sum(op(...) * w), so a
 * transposed, unsummed or mis-scaled gradient shows up (a plain sum would hide some of these).
 * Inputs are kept away from kinks and domain edges (log/sqrt/rsqrt/pow/div on values >= 0.5).
 * The last test shows the checker itself fails on a wrong derivative. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ir/ir_builder.h"
#include "ir/ir_interp.h"
#include "ir/ir_ops.h"
#include "passes/autodiff.h"
#include "passes/grad_check.h"
#include "support/rt_random.h"

static int n_made; /* names and random streams of params and weight tensors */

static IrId param(IrGraph *g, IrShape shape) {
  char name[32];
  snprintf(name, sizeof name, "p%d", n_made++);
  return ir_param(g, name, shape, IR_INIT_UNIFORM, 1.0);
}

/* a param shifted into [0.5, 2.5): the domain of log, sqrt, rsqrt, away from 0 */
static IrId positive(IrGraph *g, IrShape shape) { return ir_add_scalar(g, param(g, shape), 1.5); }

static IrId random_const(IrGraph *g, IrShape shape) {
  int64_t n = ir_shape_numel(&shape);
  double *w = malloc((size_t)n * sizeof *w);
  for (int64_t i = 0; i < n; i++) w[i] = 2.0 * rt_random_uniform(99, (uint64_t)n_made, (uint64_t)i) - 1.0;
  n_made++;
  IrId c = ir_const_data(g, IR_F32, shape, w);
  free(w);
  return c;
}

/* a graph name that says which case of a loop failed, in pass_grad_check's report */
static const char *case_name(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *case_name(const char *fmt, ...) {
  static char buf[96];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

static IrId i32_const(IrGraph *g, IrShape shape, const double *v) { return ir_const_data(g, IR_I32, shape, v); }

/* loss = sum(y * w) as output 0; returns pass_grad_check's verdict, printing its report only
 * when it fails. Frees g. */
static bool grad_ok_opts(IrGraph *g, IrId y, const PassGradCheckOptions *o) {
  if (g->error[0]) fprintf(stderr, "builder error: %s\n", g->error);
  assert_string_equal(g->error, "");
  IrId loss = ir_sum_all(g, ir_mul(g, y, random_const(g, ir_type_of(g, y)->shape)));
  ir_graph_add_output(g, loss);
  char *buf = NULL;
  size_t len = 0;
  FILE *report = open_memstream(&buf, &len);
  bool ok = pass_grad_check(g, 2024, o, report);
  fclose(report);
  if (!ok) fprintf(stderr, "%s", buf);
  free(buf);
  ir_graph_free(g);
  return ok;
}

static void check(IrGraph *g, IrId y) { assert_true(grad_ok_opts(g, y, NULL)); }

static void test_unary(void **state) {
  for (int op = IR_OP_NEG; op <= IR_OP_SQUARE; op++) {
    IrGraph *g = ir_graph_new(ir_op_info[op].name);
    bool needs_positive = op == IR_OP_LOG || op == IR_OP_SQRT || op == IR_OP_RSQRT;
    IrId x = needs_positive ? positive(g, IR_SHAPE(3, 4)) : param(g, IR_SHAPE(3, 4));
    check(g, ir_unary(g, (IrOp)op, x));
  }
  IrGraph *g = ir_graph_new("all_sum"); /* in one process: the identity, and so its gradient */
  check(g, ir_all_sum(g, param(g, IR_SHAPE(3, 4))));
}

/* operand shapes broadcasting in both directions, scalar and rank-changing cases included */
static const IrShape BINARY_SHAPES[][2] = {
    {IR_SHAPE(3, 4), IR_SHAPE(3, 4)}, {IR_SHAPE(3, 4), IR_SHAPE(4)}, {IR_SHAPE(4), IR_SHAPE(3, 4)},
    {IR_SHAPE(2, 1, 4), IR_SHAPE(3, 1)}, {IR_SHAPE(), IR_SHAPE(2, 3)}, {IR_SHAPE(2, 3), IR_SHAPE(1, 1)},
};

static void test_binary(void **state) {
  for (int op = IR_OP_ADD; op <= IR_OP_POW; op++) {
    for (size_t s = 0; s < sizeof BINARY_SHAPES / sizeof *BINARY_SHAPES; s++) {
      IrGraph *g = ir_graph_new(case_name("%s_shapes%zu", ir_op_info[op].name, s));
      IrId a = op == IR_OP_POW ? positive(g, BINARY_SHAPES[s][0]) : param(g, BINARY_SHAPES[s][0]);
      IrId b = op == IR_OP_DIV ? positive(g, BINARY_SHAPES[s][1]) : param(g, BINARY_SHAPES[s][1]);
      check(g, ir_binary(g, (IrOp)op, a, b));
    }
  }
}

static void test_binary_same_operand(void **state) {
  for (int op = IR_OP_ADD; op <= IR_OP_POW; op++) {
    IrGraph *g = ir_graph_new("same");
    IrId a = positive(g, IR_SHAPE(2, 3)); /* max(a, a), min(a, a): ties everywhere, whose */
    check(g, ir_binary(g, (IrOp)op, a, a)); /* gradient goes whole to the first operand */
  }
}

static void test_select(void **state) {
  IrGraph *g = ir_graph_new("select");
  IrId cond = ir_gt(g, param(g, IR_SHAPE(3, 1)), ir_scalar(g, 0.0));
  check(g, ir_select(g, cond, param(g, IR_SHAPE(3, 4)), param(g, IR_SHAPE(4))));
  g = ir_graph_new("select_cond_param");
  IrId c = param(g, IR_SHAPE(2, 3)); /* a param condition: piecewise constant, zero gradient */
  check(g, ir_select(g, c, param(g, IR_SHAPE(2, 3)), param(g, IR_SHAPE())));
}

static void test_reductions(void **state) {
  static const struct {
    int n, axes[3];
  } sets[] = {{1, {0}}, {1, {1}}, {1, {2}}, {2, {0, 2}}, {2, {2, 0}}, {3, {0, 1, 2}}, {0, {0}}, {1, {-1}}};
  for (int op = IR_OP_REDUCE_SUM; op <= IR_OP_REDUCE_MAX; op++)
    for (size_t s = 0; s < sizeof sets / sizeof *sets; s++)
      for (int keep = 0; keep <= 1; keep++) {
        IrGraph *g = ir_graph_new(case_name("%s_axes%zu_keepdims%d", ir_op_info[op].name, s, keep));
        IrId x = param(g, IR_SHAPE(2, 3, 4));
        check(g, ir_reduce(g, (IrOp)op, x, sets[s].n, sets[s].axes, keep));
      }
}

/* reduce_max over ties (all elements equal): the whole gradient of each group goes to its first
 * element in row-major order over the reduced axes, as argmax and maxpool2d_grad do. */
static void test_reduce_max_ties_go_first(void **state) {
  IrGraph *g = ir_graph_new("tie");
  IrId x = ir_param(g, "x", IR_SHAPE(2, 3, 2), IR_INIT_FILL, 0.5);
  IrId y = ir_reduce_max(g, x, 2, (int[]){2, 0}, false); /* (3) */
  static const double w[] = {1, 2, 3};
  IrId loss = ir_sum_all(g, ir_mul(g, y, ir_const_data(g, IR_F32, IR_SHAPE(3), w)));
  IrId grad;
  RtDiags d = {0};
  assert_true(pass_autodiff(g, loss, 1, &x, &grad, &d));
  IrInterp *it = ir_interp_new(g);
  ir_interp_init_leaves(it, 1);
  ir_interp_run(it, NULL);
  const double *gx = ir_interp_value(it, grad)->data; /* x[i][j][k] at (i * 3 + j) * 2 + k */
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++)
      for (int k = 0; k < 2; k++)
        assert_true(gx[(i * 3 + j) * 2 + k] == (i == 0 && k == 0 ? w[j] : 0.0));
  ir_interp_free(it);
  ir_graph_free(g);
}

static void test_matmul(void **state) {
  for (int ta = 0; ta <= 1; ta++)
    for (int tb = 0; tb <= 1; tb++) {
      /* plain (3x4)(4x5) */
      IrGraph *g = ir_graph_new("matmul");
      IrId a = param(g, ta ? IR_SHAPE(4, 3) : IR_SHAPE(3, 4));
      IrId b = param(g, tb ? IR_SHAPE(5, 4) : IR_SHAPE(4, 5));
      check(g, ir_matmul(g, a, b, ta, tb));
      /* batch dims broadcasting both ways: (2,1,M,K) x (3,K,N) -> (2,3,M,N) */
      g = ir_graph_new("matmul_batch");
      a = param(g, ta ? IR_SHAPE(2, 1, 4, 3) : IR_SHAPE(2, 1, 3, 4));
      b = param(g, tb ? IR_SHAPE(3, 5, 4) : IR_SHAPE(3, 4, 5));
      check(g, ir_matmul(g, a, b, ta, tb));
      /* a shared weight against a batch: (2,3,M,K) x (K,N) */
      g = ir_graph_new("matmul_shared");
      a = param(g, ta ? IR_SHAPE(2, 3, 4, 3) : IR_SHAPE(2, 3, 3, 4));
      b = param(g, tb ? IR_SHAPE(5, 4) : IR_SHAPE(4, 5));
      check(g, ir_matmul(g, a, b, ta, tb));
    }
}

static void test_conv2d(void **state) {
  IrConvSpec specs[] = {
      ir_conv_spec(1, 0),
      ir_conv_spec(2, 1),
      {{2, 1}, {1, 0, 2, 1}, {1, 2}}, /* odd everything: stride, asymmetric pad, dilation */
      {{1, 3}, {0, 2, 0, 1}, {2, 1}},
  };
  for (size_t s = 0; s < sizeof specs / sizeof *specs; s++) {
    IrGraph *g = ir_graph_new(case_name("conv2d_spec%zu", s));
    IrId x = param(g, IR_SHAPE(2, 3, 7, 6)), w = param(g, IR_SHAPE(4, 3, 3, 2));
    check(g, ir_conv2d_ex(g, x, w, specs[s]));
  }
}

static void test_pools(void **state) {
  IrPoolSpec specs[] = {
      ir_pool_spec(2, 2),
      {{3, 2}, {2, 2}, {1, 0, 1, 1}},
      {{3, 3}, {1, 2}, {2, 1, 0, 2}},
  };
  for (size_t s = 0; s < sizeof specs / sizeof *specs; s++) {
    IrGraph *g = ir_graph_new("maxpool");
    check(g, ir_maxpool2d(g, param(g, IR_SHAPE(2, 2, 7, 6)), specs[s]));
    g = ir_graph_new("avgpool");
    check(g, ir_avgpool2d(g, param(g, IR_SHAPE(2, 2, 7, 6)), specs[s]));
  }
}

static void test_layout(void **state) {
  IrGraph *g = ir_graph_new("reshape");
  check(g, ir_reshape(g, param(g, IR_SHAPE(3, 4)), IR_SHAPE(2, 6)));
  g = ir_graph_new("transpose");
  check(g, ir_transpose(g, param(g, IR_SHAPE(2, 3, 4)), 3, (int[]){2, 0, 1}));
  g = ir_graph_new("slice");
  check(g, ir_slice(g, param(g, IR_SHAPE(3, 4, 6)), (int64_t[]){1, 0, 1}, (int64_t[]){3, 4, 6},
                    (int64_t[]){1, 2, 3}));
  g = ir_graph_new("slice_plain");
  check(g, ir_slice(g, param(g, IR_SHAPE(5, 4)), (int64_t[]){1, 2}, (int64_t[]){4, 3}, NULL));
  g = ir_graph_new("slice_step_last");
  check(g, ir_slice(g, param(g, IR_SHAPE(7)), (int64_t[]){0}, (int64_t[]){7}, (int64_t[]){3}));
  g = ir_graph_new("concat");
  IrId parts[3] = {param(g, IR_SHAPE(2, 1, 3)), param(g, IR_SHAPE(2, 4, 3)), param(g, IR_SHAPE(2, 2, 3))};
  check(g, ir_concat(g, 3, parts, 1));
  g = ir_graph_new("pad");
  check(g, ir_pad(g, param(g, IR_SHAPE(2, 3)), (int64_t[]){1, 0}, (int64_t[]){2, 3}));
  g = ir_graph_new("broadcast");
  check(g, ir_broadcast(g, param(g, IR_SHAPE(3, 1)), IR_SHAPE(2, 3, 4)));
}

static void test_gather_scatter(void **state) {
  IrGraph *g = ir_graph_new("gather");
  static const double idx[] = {0, 2, 2, 4, 7, 2}; /* repeats, and 7 is out of range */
  IrId table = param(g, IR_SHAPE(5, 3));
  check(g, ir_gather(g, table, i32_const(g, IR_SHAPE(2, 3), idx)));
  g = ir_graph_new("scatter_add");
  static const double rows[] = {1, 3, 1, 0, 5, 1};
  check(g, ir_scatter_add(g, i32_const(g, IR_SHAPE(2, 3), rows), param(g, IR_SHAPE(2, 3, 2)), 4));
}

static void test_ctc(void **state) {
  IrGraph *g = ir_graph_new("ctc");
  static const double labels[] = {1, 2, 2, 3, 1, 0}, lens[] = {3, 2};
  IrId logits = param(g, IR_SHAPE(2, 6, 4));
  check(g, ir_ctc_loss(g, logits, i32_const(g, IR_SHAPE(2, 3), labels), i32_const(g, IR_SHAPE(2), lens), 0));
}

static void test_softmax_composites(void **state) {
  for (int axis = 0; axis <= 1; axis++) {
    IrGraph *g = ir_graph_new("softmax");
    check(g, ir_softmax(g, param(g, IR_SHAPE(3, 5)), axis));
    g = ir_graph_new("log_softmax");
    check(g, ir_log_softmax(g, param(g, IR_SHAPE(3, 5)), axis));
  }
}

/* A small classifier: dropout (rng_uniform, compare: zero-gradient ops on the path), a dense
 * layer, log_softmax and a one_hot cross-entropy, differentiated end to end. */
static void test_composite_classifier(void **state) {
  IrGraph *g = ir_graph_new("classifier");
  IrId x = param(g, IR_SHAPE(4, 5)), w = param(g, IR_SHAPE(5, 3)), bias = param(g, IR_SHAPE(3));
  IrId rate = ir_input(g, "rate", IR_F32, IR_SHAPE());
  ir_node(g, rate)->init = IR_INIT_FILL;
  ir_node(g, rate)->value = 0.25;
  IrId seed = ir_input(g, "seed", IR_I32, IR_SHAPE());
  static const double labels[] = {0, 2, 1, 2};
  IrId h = ir_dropout(g, ir_tanh(g, x), rate, seed, 1);
  IrId logits = ir_add(g, ir_matmul(g, h, w, false, false), bias);
  IrId onehot = ir_one_hot(g, i32_const(g, IR_SHAPE(4), labels), 3);
  IrId nll = ir_neg(g, ir_sum(g, ir_mul(g, onehot, ir_log_softmax(g, logits, 1)), 1, (int[]){1}, false));
  check(g, ir_mean(g, nll, 1, (int[]){0}, false));
}

/* Tensors above max_samples are checked on a seeded sample; f32 inputs are checked on request. */
static void test_sampling_and_inputs(void **state) {
  IrGraph *g = ir_graph_new("sampled");
  IrId x = ir_input(g, "x", IR_F32, IR_SHAPE(10, 12));
  IrId w = ir_param(g, "w", IR_SHAPE(12, 9), IR_INIT_UNIFORM, 1.0);
  IrId loss = ir_sum_all(g, ir_tanh(g, ir_matmul(g, x, w, false, false)));
  ir_graph_add_output(g, loss);
  char *buf = NULL;
  size_t len = 0;
  FILE *report = open_memstream(&buf, &len);
  PassGradCheckOptions o = {.check_inputs = true, .max_samples = 16};
  assert_true(pass_grad_check(g, 5, &o, report));
  fclose(report);
  assert_non_null(strstr(buf, "%x"));
  assert_non_null(strstr(buf, "checked 16/120"));
  assert_non_null(strstr(buf, "checked 16/108"));
  free(buf);
  ir_graph_free(g);
}

/* relu at exactly 0: the rule takes the subgradient 0, the central difference sees 1/2. The
 * checker must report that mismatch, or it could not catch a wrong rule either. */
static void test_checker_fails_on_wrong_derivative(void **state) {
  IrGraph *g = ir_graph_new("kink");
  IrId x = ir_param(g, "x", IR_SHAPE(3), IR_INIT_ZEROS, 0);
  assert_false(grad_ok_opts(g, ir_relu(g, x), NULL));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unary),
      cmocka_unit_test(test_binary),
      cmocka_unit_test(test_binary_same_operand),
      cmocka_unit_test(test_select),
      cmocka_unit_test(test_reductions),
      cmocka_unit_test(test_reduce_max_ties_go_first),
      cmocka_unit_test(test_matmul),
      cmocka_unit_test(test_conv2d),
      cmocka_unit_test(test_pools),
      cmocka_unit_test(test_layout),
      cmocka_unit_test(test_gather_scatter),
      cmocka_unit_test(test_ctc),
      cmocka_unit_test(test_softmax_composites),
      cmocka_unit_test(test_composite_classifier),
      cmocka_unit_test(test_sampling_and_inputs),
      cmocka_unit_test(test_checker_fails_on_wrong_derivative),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
