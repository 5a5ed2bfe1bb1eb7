/* Tests of the reference interpreter's driver (slots, leaf initialisation, repeated runs,
 * updates, f32 rounding), of the op table's completeness, and of the elementwise ops and
 * reductions against hand-computed values. Other op groups: test_interp_{linalg,layout,ctc}.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "interp_check.h"

/* ---- op table ---- */

static void test_op_table_rows_filled(void **state) {
  for (int op = 0; op < IR_OP_COUNT; op++) {
    const IrOpInfo *info = &ir_op_info[op];
    assert_non_null(info->name);
    assert_non_null(info->infer);
    assert_non_null(info->eval);
    assert_true(info->arity == -1 || (info->arity >= 1 && info->arity <= 4));
    assert_true(info->fusion < IR_FUSE_CLASS_COUNT);
    assert_int_equal(ir_op_by_name(info->name), op);
    for (int other = 0; other < op; other++)
      assert_string_not_equal(info->name, ir_op_info[other].name);
    for (int a = 0; a < IR_MAX_ATTRS && info->attrs[a].name; a++)
      assert_true(info->attrs[a].count == -1 ||
                  (info->attrs[a].count >= 1 && info->attrs[a].count <= IR_ATTR_MAX_INTS));
  }
  assert_int_equal(ir_op_by_name("no_such_op"), IR_OP_COUNT);
}

/* The kernel kind and the flags of each row agree: passes read them instead of op names, so a
 * row that says an op is both a view and a kernel of its own would mislead them silently. */
static void test_op_table_flags_consistent(void **state) {
  for (int op = 0; op < IR_OP_COUNT; op++) {
    const IrOpInfo *info = &ir_op_info[op];
    unsigned f = info->flags;
    bool own = f & IR_OPF_OWN_KERNEL, view = f & IR_OPF_VIEW;
    if (view && info->fusion != IR_FUSE_LAYOUT) fail_msg("%s: a view that is no layout op", info->name);
    if (view != (info->view != NULL)) fail_msg("%s: views, and only they, have a view rule", info->name);
    if (info->fusion == IR_FUSE_LAYOUT && view == own)
      fail_msg("%s: a layout op is either a view or a kernel of its own", info->name);
    if ((info->fusion == IR_FUSE_OPAQUE) != (own && info->fusion != IR_FUSE_LAYOUT))
      fail_msg("%s: opaque ops, and only they and non-view layout ops, are kernels of their own", info->name);
    if ((f & IR_OPF_POINTWISE) && info->fusion != IR_FUSE_ELEMENTWISE)
      fail_msg("%s: pointwise but not elementwise", info->name);
    if ((f & IR_OPF_COMMUTATIVE) && (!(f & IR_OPF_POINTWISE) || info->arity != 2))
      fail_msg("%s: commutative but not a pointwise binary op", info->name);
    if ((f & IR_OPF_RANDOM) && (f & IR_OPF_POINTWISE)) fail_msg("%s: random yet pointwise", info->name);
    if (info->fusion == IR_FUSE_GEMM && !info->macs) fail_msg("%s: a GEMM-class op without a work rule", info->name);
    if (info->macs && info->fusion != IR_FUSE_GEMM && info->fusion != IR_FUSE_OPAQUE)
      fail_msg("%s: a work rule on an op that multiplies no matrices", info->name);
  }
  /* the ops the passes once named: reductions and views by kind and flag, and the exceptions */
  assert_true(ir_op_is_reduce(IR_OP_REDUCE_MEAN) && !ir_op_is_reduce(IR_OP_ARGMAX));
  assert_true(ir_op_has(IR_OP_ARGMAX, IR_OPF_OWN_KERNEL) && ir_op_has(IR_OP_CONCAT, IR_OPF_OWN_KERNEL) &&
              ir_op_has(IR_OP_PAD, IR_OPF_OWN_KERNEL));
  assert_false(ir_op_has(IR_OP_ONE_HOT, IR_OPF_POINTWISE) || ir_op_has(IR_OP_RNG_UNIFORM, IR_OPF_POINTWISE));
  assert_true(ir_op_has(IR_OP_RNG_UNIFORM, IR_OPF_RANDOM));
  assert_false(ir_op_has(IR_OP_MAX, IR_OPF_COMMUTATIVE));
}

/* Work counts by hand: a batched matmul (either layout of A) does M x N x K multiply-adds per
 * batch; a convolution C x KH x KW per output element, and its two gradients the same work. */
static void test_gemm_work_counts(void **state) {
  (void)state;
  IrGraph *g = ir_graph_new("work");
  IrId a = ir_input(g, "a", IR_F32, IR_SHAPE(2, 3, 5)), at = ir_input(g, "at", IR_F32, IR_SHAPE(2, 5, 3));
  IrId b = ir_input(g, "b", IR_F32, IR_SHAPE(5, 4));
  IrId ab = ir_matmul(g, a, b, false, false), atb = ir_matmul(g, at, b, true, false);
  assert_true(ab != IR_NONE && atb != IR_NONE);
  assert_true(ir_op_info[IR_OP_MATMUL].macs(g, ir_node(g, ab)) == 2 * 3 * 4 * 5);
  assert_true(ir_op_info[IR_OP_MATMUL].macs(g, ir_node(g, atb)) == 2 * 3 * 4 * 5);
  IrId x = ir_input(g, "x", IR_F32, IR_SHAPE(2, 3, 8, 9)), w = ir_param(g, "w", IR_SHAPE(4, 3, 3, 3), IR_INIT_ZEROS, 0);
  IrConvSpec spec = ir_conv_spec(2, 1); /* (2, 4, 4, 5) out */
  IrId y = ir_conv2d_ex(g, x, w, spec);
  IrId gx = ir_conv2d_grad_input(g, y, w, spec, 8, 9), gw = ir_conv2d_grad_filter(g, x, y, spec, 3, 3);
  assert_true(y != IR_NONE && gx != IR_NONE && gw != IR_NONE);
  double conv = 2 * 4 * 4 * 5 * (3 * 3 * 3);
  assert_true(ir_op_info[IR_OP_CONV2D].macs(g, ir_node(g, y)) == conv);
  assert_true(ir_op_info[IR_OP_CONV2D_GRAD_INPUT].macs(g, ir_node(g, gx)) == conv);
  assert_true(ir_op_info[IR_OP_CONV2D_GRAD_FILTER].macs(g, ir_node(g, gw)) == conv);
  ir_relu(g, y); /* not GEMM work */
  assert_true(ir_graph_macs(g) == 2 * (2 * 3 * 4 * 5) + 3 * conv);
  ir_graph_free(g);
}

/* ---- driver ---- */

static void test_leaf_init_deterministic_and_by_name(void **state) {
  IrGraph *g1 = ir_graph_new("a"), *g2 = ir_graph_new("b");
  IrId w1 = ir_param(g1, "w", IR_SHAPE(64), IR_INIT_UNIFORM, 0.5);
  ir_param(g2, "other", IR_SHAPE(3), IR_INIT_ZEROS, 0); /* shifts w's id in g2 */
  IrId w2 = ir_param(g2, "w", IR_SHAPE(64), IR_INIT_UNIFORM, 0.5);
  IrId v2 = ir_param(g2, "v", IR_SHAPE(64), IR_INIT_UNIFORM, 0.5);
  IrInterp *a = ir_interp_new(g1), *b = ir_interp_new(g2);
  ir_interp_init_leaves(a, 7);
  ir_interp_init_leaves(b, 7);
  const double *x = ir_interp_value(a, w1)->data, *y = ir_interp_value(b, w2)->data;
  const double *z = ir_interp_value(b, v2)->data;
  int differ_v = 0;
  for (int i = 0; i < 64; i++) {
    assert_true(x[i] == y[i]); /* same name, same seed: same values wherever the node sits */
    assert_true(x[i] >= -0.5 && x[i] < 0.5);
    assert_true(x[i] == (double)(float)x[i]); /* f32 leaves hold float values */
    differ_v += x[i] != z[i];
  }
  assert_true(differ_v > 60);
  ir_interp_init_leaves(b, 8); /* another seed, other values */
  int differ_seed = 0;
  for (int i = 0; i < 64; i++) differ_seed += x[i] != y[i];
  assert_true(differ_seed > 60);
  ir_interp_free(a);
  ir_interp_free(b);
  ir_graph_free(g1);
  ir_graph_free(g2);
}

static void test_leaf_init_kinds(void **state) {
  IrGraph *g = ir_graph_new("init");
  IrId lab = ir_input(g, "labels", IR_I32, IR_SHAPE(1000));
  ir_node(g, lab)->init = IR_INIT_UNIFORM;
  ir_node(g, lab)->value = 7;
  IrId x = ir_input(g, "x", IR_F32, IR_SHAPE(4000)); /* builder default: uniform [-1, 1) */
  IrId nrm = ir_param(g, "n", IR_SHAPE(20000), IR_INIT_NORMAL, 2.0);
  IrId ones = ir_state(g, "o", IR_F32, IR_SHAPE(3), IR_INIT_ONES, 0);
  IrId fill = ir_state(g, "f", IR_I32, IR_SHAPE(2), IR_INIT_FILL, 5);
  IrId c = ir_const_data(g, IR_F32, IR_SHAPE(2), VALS(0.25, -3));
  IrInterp *it = ir_interp_new(g);
  assert_true(ir_interp_value(it, c)->data[1] == -3); /* consts are filled at creation */
  assert_true(ir_interp_value(it, ones)->data[0] == 0);
  ir_interp_init_leaves(it, 1);
  int hits[7] = {0};
  for (int i = 0; i < 1000; i++) {
    double v = ir_interp_value(it, lab)->data[i];
    assert_true(v == floor(v) && v >= 0 && v < 7);
    hits[(int)v]++;
  }
  for (int k = 0; k < 7; k++) assert_true(hits[k] > 80);
  double sum = 0, sq = 0, xmin = 1, xmax = -1;
  for (int i = 0; i < 4000; i++) {
    double v = ir_interp_value(it, x)->data[i];
    xmin = fmin(xmin, v);
    xmax = fmax(xmax, v);
  }
  assert_true(xmin >= -1 && xmin < -0.99 && xmax < 1 && xmax > 0.99);
  for (int i = 0; i < 20000; i++) {
    double v = ir_interp_value(it, nrm)->data[i];
    sum += v;
    sq += v * v;
  }
  double mean = sum / 20000, sd = sqrt(sq / 20000 - mean * mean);
  assert_true(fabs(mean) < 0.05 && fabs(sd - 2.0) < 0.05);
  assert_true(ir_interp_value(it, ones)->data[2] == 1);
  assert_true(ir_interp_value(it, fill)->data[1] == 5);
  assert_true(ir_interp_value(it, c)->data[0] == 0.25);
  ir_interp_free(it);
  ir_graph_free(g);
}

/* Gradient descent on (w - 3)^2 written as graph ops plus an update: runs the same interpreter
 * many times and checks that updates take effect between runs. */
static void test_run_repeatedly_with_updates(void **state) {
  IrGraph *g = ir_graph_new("sgd");
  IrId w = ir_param(g, "w", IR_SHAPE(2), IR_INIT_FILL, 0.0);
  IrId step = ir_state(g, "step", IR_F32, IR_SHAPE(), IR_INIT_ZEROS, 0);
  IrId diff = ir_add_scalar(g, w, -3.0);
  IrId loss = ir_sum_all(g, ir_square(g, diff));
  IrId w_new = ir_sub(g, w, ir_mul_scalar(g, diff, 0.2)); /* lr 0.1 times gradient 2 (w - 3) */
  ir_graph_add_output(g, loss);
  ir_graph_add_update(g, w, w_new);
  ir_graph_add_update(g, step, ir_add_scalar(g, step, 1.0));
  IrInterp *it = ir_interp_new(g);
  ir_interp_init_leaves(it, 0);
  double first = 0;
  for (int i = 0; i < 60; i++) {
    ir_interp_run(it, NULL);
    if (i == 0) first = ir_interp_value(it, loss)->data[0];
    ir_interp_apply_updates(it);
  }
  assert_true(first == 18.0);
  assert_true(fabs(ir_interp_value(it, w)->data[1] - 3.0) < 1e-5);
  assert_true(ir_interp_value(it, step)->data[0] == 60.0);
  ir_interp_free(it);
  ir_graph_free(g);
}

/* Updates are simultaneous: a <- b, b <- a swaps. */
static void test_updates_read_before_write(void **state) {
  IrGraph *g = ir_graph_new("swap");
  IrId a = ir_state(g, "a", IR_F32, IR_SHAPE(2), IR_INIT_FILL, 1.0);
  IrId b = ir_state(g, "b", IR_F32, IR_SHAPE(2), IR_INIT_FILL, 2.0);
  ir_graph_add_update(g, a, b);
  ir_graph_add_update(g, b, a);
  IrInterp *it = ir_interp_new(g);
  ir_interp_init_leaves(it, 0);
  ir_interp_run(it, NULL);
  ir_interp_apply_updates(it);
  assert_true(ir_interp_value(it, a)->data[1] == 2.0 && ir_interp_value(it, b)->data[0] == 1.0);
  ir_interp_free(it);
  ir_graph_free(g);
}

static void test_round_f32(void **state) {
  IrGraph *g = ir_graph_new("round");
  IrId x = cf(g, IR_SHAPE(1), VALS(0.1));
  IrId y = ir_mul(g, x, x);
  IrInterp *it = ir_interp_new(g);
  double x0 = ir_interp_value(it, x)->data[0];
  assert_true(x0 == (double)0.1f);
  ir_interp_run(it, NULL);
  assert_true(ir_interp_value(it, y)->data[0] == x0 * x0); /* exact in double, not in float */
  assert_true(ir_interp_value(it, y)->data[0] != (double)(float)(x0 * x0));
  ir_interp_run(it, &(IrInterpOptions){.round_f32 = true});
  assert_true(ir_interp_value(it, y)->data[0] == (double)(float)(x0 * x0));
  ir_interp_free(it);
  ir_graph_free(g);
}

/* round_f32 keeps subnormal results (IEEE); with flush_subnormals they, and subnormal leaves,
 * become zeros of their sign, as compiled kernels under FTZ/DAZ see them. */
static void test_round_f32_subnormals(void **state) {
  IrGraph *g = ir_graph_new("subnormal");
  IrId x = cf(g, IR_SHAPE(3), VALS(1e-30, -1e-30, 0x1p-140));
  IrId y = ir_mul(g, x, ir_scalar(g, 1e-9));  /* 1e-39: subnormal */
  IrId z = ir_mul(g, x, ir_scalar(g, 1e20)); /* reads the subnormal leaf 0x1p-140 */
  IrInterp *it = ir_interp_new(g);
  ir_interp_run(it, &(IrInterpOptions){.round_f32 = true});
  const double *yv = ir_interp_value(it, y)->data, *zv = ir_interp_value(it, z)->data;
  assert_true(ir_f32_is_subnormal(yv[0]) && yv[0] == ir_f32_round(yv[0]) && yv[1] == -yv[0]);
  assert_true(zv[2] == ir_f32_round(0x1p-140 * (double)1e20f));
  ir_interp_run(it, &(IrInterpOptions){.round_f32 = true, .flush_subnormals = true});
  yv = ir_interp_value(it, y)->data;
  zv = ir_interp_value(it, z)->data;
  assert_true(yv[0] == 0 && !signbit(yv[0]) && yv[1] == 0 && signbit(yv[1]));
  assert_true(zv[2] == 0);
  assert_true(ir_interp_value(it, x)->data[2] == 0); /* the leaf itself, flushed in place */
  ir_interp_free(it);
  ir_graph_free(g);
}

/* ---- elementwise ---- */

static void check_unary(IrOp op, int count, const double *x, const double *want) {
  IrGraph *g = ir_graph_new("unary");
  IrId y = ir_unary(g, op, cf(g, IR_SHAPE(count), x));
  expect_node(g, y, IR_F32, IR_SHAPE(count), want, 1e-15);
  ir_graph_free(g);
}

static void test_unary(void **state) {
  const double *x = VALS(-2, -0.5, 0, 1.5);
  check_unary(IR_OP_NEG, 4, x, VALS(2, 0.5, 0, -1.5));
  check_unary(IR_OP_EXP, 4, x, VALS(0.1353352832366127, 0.6065306597126334, 1, 4.4816890703380645));
  check_unary(IR_OP_LOG, 4, VALS(0.5, 1, 4, 0),
              VALS(-0.6931471805599453, 0, 1.3862943611198906, -INFINITY));
  check_unary(IR_OP_SQRT, 4, VALS(0.25, 4, 2, -1), VALS(0.5, 2, 1.4142135623730951, NAN));
  check_unary(IR_OP_RSQRT, 3, VALS(0.25, 4, 0), VALS(2, 0.5, INFINITY));
  check_unary(IR_OP_TANH, 3, VALS(0.5, -1, 0), VALS(0.46211715726000974, -0.7615941559557649, 0));
  check_unary(IR_OP_SIGMOID, 5, VALS(0, 2, -2, -800, 800),
              VALS(0.5, 0.8807970779778823, 0.11920292202211755, 0, 1));
  /* gelu(1) = 0.841192 is the published value of the tanh form; large |x| saturate exactly */
  check_unary(IR_OP_GELU, 7, VALS(0, 1, -1, 2, -3, -800, 800),
              VALS(0, 0.8411919906082768, -0.15880800939172324, 1.954597694087775, -0.0036373920817729943, 0, 800));
  check_unary(IR_OP_RELU, 4, x, VALS(0, 0, 0, 1.5));
  check_unary(IR_OP_ABS, 4, x, VALS(2, 0.5, 0, 1.5));
  check_unary(IR_OP_SQUARE, 4, x, VALS(4, 0.25, 0, 2.25));
}

static void test_casts(void **state) {
  IrGraph *g = ir_graph_new("casts");
  IrId i = ir_to_i32(g, cf(g, IR_SHAPE(7), VALS(-2.75, 2.75, -0.5, 3e10, -3e10, NAN, 16777216)));
  expect_node(g, i, IR_I32, IR_SHAPE(7), VALS(-2, 2, 0, 2147483647, -2147483648.0, 0, 16777216), 0);
  IrId f = ir_to_f32(g, ci(g, IR_SHAPE(2, 1), VALS(-3, 7)));
  expect_node(g, f, IR_F32, IR_SHAPE(2, 1), VALS(-3, 7), 0);
  ir_graph_free(g);
}

static void check_binary(IrOp op, IrShape sa, const double *a, IrShape sb, const double *b,
                         IrShape so, const double *want) {
  IrGraph *g = ir_graph_new("binary");
  IrId y = ir_binary(g, op, cf(g, sa, a), cf(g, sb, b));
  expect_node(g, y, IR_F32, so, want, 1e-15);
  ir_graph_free(g);
}

static void test_binary(void **state) {
  const double *m = VALS(1, 2, 3, 4, 5, 6);
  /* trailing broadcast (2,3) + (3) */
  check_binary(IR_OP_ADD, IR_SHAPE(2, 3), m, IR_SHAPE(3), VALS(10, 20, 30), IR_SHAPE(2, 3),
               VALS(11, 22, 33, 14, 25, 36));
  /* size-1 dims on both sides: (2,1) - (1,3) -> (2,3) */
  check_binary(IR_OP_SUB, IR_SHAPE(2, 1), VALS(1, 2), IR_SHAPE(1, 3), VALS(10, 20, 30),
               IR_SHAPE(2, 3), VALS(-9, -19, -29, -8, -18, -28));
  /* scalar on the left */
  check_binary(IR_OP_DIV, IR_SHAPE(), VALS(1), IR_SHAPE(4), VALS(2, -4, 0, 8), IR_SHAPE(4),
               VALS(0.5, -0.25, INFINITY, 0.125));
  check_binary(IR_OP_MAX, IR_SHAPE(4), VALS(1, -2, NAN, 3), IR_SHAPE(4), VALS(0, -1, 1, NAN),
               IR_SHAPE(4), VALS(1, -1, NAN, NAN));
  check_binary(IR_OP_MIN, IR_SHAPE(3), VALS(1, -2, 5), IR_SHAPE(1), VALS(0), IR_SHAPE(3),
               VALS(0, -2, 0));
  check_binary(IR_OP_POW, IR_SHAPE(3), VALS(2, 9, 4), IR_SHAPE(3), VALS(3, 0.5, -1), IR_SHAPE(3),
               VALS(8, 3, 0.25));

  /* missing leading dim and size-1 middle dim: (2,1,3) * (4,1) -> (2,4,3), checked against the
   * index formula out[i,j,k] = a[i,0,k] * b[j,0] */
  double a[6], b[4], want[24];
  for (int i = 0; i < 6; i++) a[i] = i + 1;
  for (int j = 0; j < 4; j++) b[j] = 10 * (j + 1);
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 4; j++)
      for (int k = 0; k < 3; k++) want[(i * 4 + j) * 3 + k] = a[i * 3 + k] * b[j];
  check_binary(IR_OP_MUL, IR_SHAPE(2, 1, 3), a, IR_SHAPE(4, 1), b, IR_SHAPE(2, 4, 3), want);
}

static void test_compare(void **state) {
  const double *a = VALS(1, 2, 3), *b = VALS(2);
  check_binary(IR_OP_EQ, IR_SHAPE(3), a, IR_SHAPE(1), b, IR_SHAPE(3), VALS(0, 1, 0));
  check_binary(IR_OP_NE, IR_SHAPE(3), a, IR_SHAPE(1), b, IR_SHAPE(3), VALS(1, 0, 1));
  check_binary(IR_OP_LT, IR_SHAPE(3), a, IR_SHAPE(1), b, IR_SHAPE(3), VALS(1, 0, 0));
  check_binary(IR_OP_LE, IR_SHAPE(3), a, IR_SHAPE(1), b, IR_SHAPE(3), VALS(1, 1, 0));
  check_binary(IR_OP_GT, IR_SHAPE(3), a, IR_SHAPE(1), b, IR_SHAPE(3), VALS(0, 0, 1));
  check_binary(IR_OP_GE, IR_SHAPE(3), a, IR_SHAPE(1), b, IR_SHAPE(3), VALS(0, 1, 1));
  /* i32 operands give an f32 result; (2,1) vs (2) broadcasts to (2,2) */
  IrGraph *g = ir_graph_new("cmp");
  IrId e = ir_eq(g, ci(g, IR_SHAPE(2, 1), VALS(4, 5)), ci(g, IR_SHAPE(2), VALS(5, 4)));
  expect_node(g, e, IR_F32, IR_SHAPE(2, 2), VALS(0, 1, 1, 0), 0);
  ir_graph_free(g);
}

static void test_select(void **state) {
  IrGraph *g = ir_graph_new("select");
  /* cond (2,1), a (3), b scalar -> (2,3); a nan condition is nonzero, hence true */
  IrId s = ir_select(g, cf(g, IR_SHAPE(2, 1), VALS(1, 0)), cf(g, IR_SHAPE(3), VALS(1, 2, 3)),
                     cf(g, IR_SHAPE(), VALS(-1)));
  expect_node(g, s, IR_F32, IR_SHAPE(2, 3), VALS(1, 2, 3, -1, -1, -1), 0);
  IrId t = ir_select(g, cf(g, IR_SHAPE(3), VALS(NAN, -2, 0)), ci(g, IR_SHAPE(3), VALS(1, 2, 3)),
                     ci(g, IR_SHAPE(1), VALS(9)));
  expect_node(g, t, IR_I32, IR_SHAPE(3), VALS(1, 2, 9), 0);
  ir_graph_free(g);
}

/* ---- reductions ---- */

static void test_reduce(void **state) {
  double x[24];
  for (int i = 0; i < 24; i++) x[i] = (i * 7) % 11 - 5; /* (2,3,4), irregular values */
  double sum1[8] = {0}, mean02[3] = {0}, max2[6];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++)
      for (int k = 0; k < 4; k++) {
        double v = x[(i * 3 + j) * 4 + k];
        sum1[i * 4 + k] += v;
        mean02[j] += v / 8;
        max2[i * 3 + j] = k == 0 ? v : fmax(max2[i * 3 + j], v);
      }
  IrGraph *g = ir_graph_new("reduce");
  IrId c = cf(g, IR_SHAPE(2, 3, 4), x);
  expect_node(g, ir_sum(g, c, 1, (int[]){1}, true), IR_F32, IR_SHAPE(2, 1, 4), sum1, 1e-15);
  expect_node(g, ir_sum(g, c, 1, (int[]){1}, false), IR_F32, IR_SHAPE(2, 4), sum1, 1e-15);
  expect_node(g, ir_mean(g, c, 2, (int[]){2, 0}, false), IR_F32, IR_SHAPE(3), mean02, 1e-15);
  expect_node(g, ir_reduce_max(g, c, 1, (int[]){2}, true), IR_F32, IR_SHAPE(2, 3, 1), max2, 0);
  double total = 0;
  for (int i = 0; i < 24; i++) total += x[i];
  expect_node(g, ir_sum_all(g, c), IR_F32, IR_SHAPE(), &total, 1e-15);
  /* no axes: identity; size-1 axes */
  expect_node(g, ir_sum(g, c, 0, NULL, false), IR_F32, IR_SHAPE(2, 3, 4), x, 0);
  IrId r = cf(g, IR_SHAPE(1, 5, 1), VALS(3, -1, 4, -1, 5));
  expect_node(g, ir_mean(g, r, 2, (int[]){0, 2}, true), IR_F32, IR_SHAPE(1, 5, 1),
              VALS(3, -1, 4, -1, 5), 0);
  expect_node(g, ir_reduce_max(g, r, 1, (int[]){1}, false), IR_F32, IR_SHAPE(1, 1), VALS(5), 0);
  IrId allneg = cf(g, IR_SHAPE(2, 2), VALS(-7, -3, NAN, -1));
  expect_node(g, ir_reduce_max(g, allneg, 1, (int[]){1}, false), IR_F32, IR_SHAPE(2), VALS(-3, NAN),
              0);
  ir_graph_free(g);
}

static void test_argmax(void **state) {
  IrGraph *g = ir_graph_new("argmax");
  IrId x = cf(g, IR_SHAPE(2, 3), VALS(1, 3, 3, 5, 2, 5)); /* ties: the first maximum wins */
  expect_node(g, ir_argmax(g, x, 1), IR_I32, IR_SHAPE(2), VALS(1, 0), 0);
  expect_node(g, ir_argmax(g, x, 0), IR_I32, IR_SHAPE(3), VALS(1, 0, 1), 0);
  /* middle axis of (2,3,2) */
  IrId y = cf(g, IR_SHAPE(2, 3, 2), VALS(0, 9, 4, 9, 4, 1, -1, -2, -3, -1, -1, -5));
  expect_node(g, ir_argmax(g, y, 1), IR_I32, IR_SHAPE(2, 2), VALS(1, 0, 0, 1), 0);
  /* size-1 axis, and nans are skipped */
  expect_node(g, ir_argmax(g, cf(g, IR_SHAPE(3, 1), VALS(4, 5, 6)), 1), IR_I32, IR_SHAPE(3),
              VALS(0, 0, 0), 0);
  expect_node(g, ir_argmax(g, cf(g, IR_SHAPE(3), VALS(NAN, 1, 2)), 0), IR_I32, IR_SHAPE(), VALS(2),
              0);
  ir_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_op_table_rows_filled), cmocka_unit_test(test_op_table_flags_consistent),
      cmocka_unit_test(test_gemm_work_counts),
      cmocka_unit_test(test_leaf_init_deterministic_and_by_name),
      cmocka_unit_test(test_leaf_init_kinds),
      cmocka_unit_test(test_run_repeatedly_with_updates),
      cmocka_unit_test(test_updates_read_before_write),
      cmocka_unit_test(test_round_f32),
      cmocka_unit_test(test_round_f32_subnormals),
      cmocka_unit_test(test_unary),
      cmocka_unit_test(test_casts),
      cmocka_unit_test(test_binary),
      cmocka_unit_test(test_compare),
      cmocka_unit_test(test_select),
      cmocka_unit_test(test_reduce),
      cmocka_unit_test(test_argmax),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
