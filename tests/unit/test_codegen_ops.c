/* Differential tests of the LLVM backend: every op, alone (fusion off) and fused with neighbours,
 * on shapes that are not multiples of the vector width, with broadcasting and size-1 dims,
 * against the reference interpreter (cg_compare); and a program for every libm call LLVM
 * introduces by itself, which the JIT must link. */
#include <fenv.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "codegen/cg_ops.h"
#include "driver/drv_compare.h"
#include "codegen/cg_target.h"
#include "ir/ir_builder.h"
#include "ir/ir_ops.h"
#include "passes/autodiff.h"
#include "passes/simplify.h"
#include "runtime/rt_fpenv.h"

static bool covered[IR_OP_COUNT];

/* Compiles g with and without fusion and compares both with the interpreter. */
static void check(IrGraph *g) {
  if (g->error[0]) fail_msg("builder error: %s", g->error);
  for (IrId i = 0; i < g->n_nodes; i++)
    if (g->nodes[i]->kind == IR_NODE_OP) covered[g->nodes[i]->op] = true;
  for (int fused = 0; fused < 2; fused++) {
    DrvCompareOptions o = {.compile = {.no_fusion = !fused, .no_cache = true}, .atol = CG_COMPARE_ATOL, .rtol = CG_COMPARE_RTOL, .steps = 1};
    CgCompareResult r;
    RtDiags d = {0};
    bool ok = drv_compare(g, 7, &o, &r, stdout, &d);
    rt_diags_print(&d, stderr);
    rt_diags_free(&d);
    if (!ok) fail_msg("graph '%s' (%s) differs from the interpreter", g->name, fused ? "fused" : "unfused");
  }
  ir_graph_free(g);
}

static IrId in_f32(IrGraph *g, const char *name, IrShape s) { return ir_input(g, name, IR_F32, s); }

static IrId in_pos(IrGraph *g, const char *name, IrShape s) { /* in [0.5, 2.5) for log/sqrt/div */
  return ir_add_scalar(g, ir_abs(g, in_f32(g, name, s)), 0.5);
}

static void test_unary(void **state) {
  static const IrOp ops[] = {IR_OP_NEG, IR_OP_EXP, IR_OP_LOG, IR_OP_SQRT, IR_OP_RSQRT, IR_OP_TANH,
                             IR_OP_SIGMOID, IR_OP_GELU, IR_OP_RELU, IR_OP_ABS, IR_OP_SQUARE};
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
    IrGraph *g = ir_graph_new(ir_op_info[ops[i]].name);
    bool positive = ops[i] == IR_OP_LOG || ops[i] == IR_OP_SQRT || ops[i] == IR_OP_RSQRT;
    IrId x = positive ? in_pos(g, "x", IR_SHAPE(3, 37)) : ir_mul_scalar(g, in_f32(g, "x", IR_SHAPE(3, 37)), 6.0);
    ir_graph_add_output(g, ir_unary(g, ops[i], x));
    check(g);
  }
}

static void test_math_ranges(void **state) {
  /* exp/log/tanh/sigmoid/gelu over wide ranges, including overflow and tiny values */
  IrGraph *g = ir_graph_new("ranges");
  IrId x = ir_mul_scalar(g, in_f32(g, "x", IR_SHAPE(1001)), 90.0);
  ir_graph_add_output(g, ir_exp(g, x));
  ir_graph_add_output(g, ir_tanh(g, x));
  ir_graph_add_output(g, ir_sigmoid(g, x));
  ir_graph_add_output(g, ir_unary(g, IR_OP_GELU, x));
  ir_graph_add_output(g, ir_log(g, ir_exp(g, ir_mul_scalar(g, x, 0.9))));
  ir_graph_add_output(g, ir_tanh(g, ir_mul_scalar(g, x, 0.001)));
  check(g);
}

static void test_casts_compare_select(void **state) {
  IrGraph *g = ir_graph_new("casts");
  IrId x = ir_mul_scalar(g, in_f32(g, "x", IR_SHAPE(5, 19)), 5.0);
  IrId k = ir_input(g, "k", IR_I32, IR_SHAPE(19));
  ir_node(g, k)->init = IR_INIT_UNIFORM;
  ir_node(g, k)->value = 5;
  ir_graph_add_output(g, ir_to_i32(g, x));
  ir_graph_add_output(g, ir_to_f32(g, k));
  static const IrOp cmp[] = {IR_OP_EQ, IR_OP_NE, IR_OP_LT, IR_OP_LE, IR_OP_GT, IR_OP_GE};
  IrId r = ir_to_i32(g, x);
  for (int i = 0; i < 6; i++) {
    ir_graph_add_output(g, ir_binary(g, cmp[i], x, ir_to_f32(g, k)));
    ir_graph_add_output(g, ir_binary(g, cmp[i], r, k));
  }
  IrId y = in_f32(g, "y", IR_SHAPE(1, 19));
  ir_graph_add_output(g, ir_select(g, ir_gt(g, x, y), x, y));
  check(g);
}

/* quantize: round half to even (the ties as constants), clamping, a per-column scale broadcast;
 * and an int8 product with its dequantizing epilogue. Exact (i8 and i32 compare bit for bit). */
static void test_quantize(void **state) {
  IrGraph *g = ir_graph_new("quantize");
  static const double ties[10] = {0.5, 1.5, 2.5, -0.5, -2.5, 126.5, 127.5, -127.5, 200, -1e30};
  ir_graph_add_output(g, ir_quantize(g, ir_const_data(g, IR_F32, IR_SHAPE(10), ties), ir_scalar(g, 1.0)));
  IrId x = ir_mul_scalar(g, in_f32(g, "x", IR_SHAPE(5, 19)), 300.0);
  IrId q = ir_quantize(g, x, in_pos(g, "s", IR_SHAPE(19)));
  ir_graph_add_output(g, q);
  IrId w = ir_quantize(g, ir_mul_scalar(g, in_f32(g, "w", IR_SHAPE(7, 19)), 100.0), ir_scalar(g, 1.0));
  IrId prod = ir_matmul(g, q, w, false, true);
  ir_graph_add_output(g, prod);
  ir_graph_add_output(g, ir_mul(g, ir_to_f32(g, prod), in_pos(g, "ws", IR_SHAPE(7))));
  check(g);
  /* the LSTM recurrence with int8 W_hh: both directions, 5 rows; one direction, 1 row */
  static const int64_t rows[2] = {5, 1};
  for (int dirs = 2; dirs >= 1; dirs--) {
    g = ir_graph_new("lstm_scan_i8");
    IrId xs[2], ws[2], ss[2];
    for (int d = 0; d < dirs; d++) {
      xs[d] = in_f32(g, d ? "x_r" : "x", IR_SHAPE(4, rows[2 - dirs], 24));
      ws[d] = ir_quantize(g, ir_mul_scalar(g, in_f32(g, d ? "w_r" : "w", IR_SHAPE(24, 6)), 120.0), ir_scalar(g, 1.0));
      ss[d] = ir_mul_scalar(g, in_pos(g, d ? "s_r" : "s", IR_SHAPE(24)), 1e-3);
    }
    ir_graph_add_output(g, ir_lstm_scan_i8(g, dirs, xs, ws, ss));
    check(g);
  }
}

/* all_sum without other processes (runtime/rt_collective.h): its input, copied; here after a
 * fused producer and before a consumer, so that it stays a kernel of its own */
static void test_all_sum(void **state) {
  IrGraph *g = ir_graph_new("all_sum");
  IrId x = ir_mul_scalar(g, in_f32(g, "x", IR_SHAPE(3, 37)), 2.0);
  ir_graph_add_output(g, ir_add_scalar(g, ir_all_sum(g, x), 1.0));
  check(g);
}

static void test_binary_broadcast(void **state) {
  static const IrOp ops[] = {IR_OP_ADD, IR_OP_SUB, IR_OP_MUL, IR_OP_DIV, IR_OP_MAX, IR_OP_MIN, IR_OP_POW};
  IrShape pairs[][2] = {{IR_SHAPE(4, 33), IR_SHAPE(4, 33)}, {IR_SHAPE(4, 33), IR_SHAPE(33)},
                        {IR_SHAPE(4, 1), IR_SHAPE(1, 33)}, {IR_SHAPE(), IR_SHAPE(2, 3, 17)},
                        {IR_SHAPE(2, 1, 17), IR_SHAPE(5, 1)}};
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
    for (size_t p = 0; p < sizeof pairs / sizeof *pairs; p++) {
      IrGraph *g = ir_graph_new(ir_op_info[ops[i]].name);
      IrId a = ops[i] == IR_OP_POW ? in_pos(g, "a", pairs[p][0]) : in_f32(g, "a", pairs[p][0]);
      IrId b = ops[i] == IR_OP_DIV ? in_pos(g, "b", pairs[p][1]) : in_f32(g, "b", pairs[p][1]);
      ir_graph_add_output(g, ir_binary(g, ops[i], a, b));
      check(g);
    }
}

static void test_reductions(void **state) {
  static const IrOp ops[] = {IR_OP_REDUCE_SUM, IR_OP_REDUCE_MEAN, IR_OP_REDUCE_MAX};
  static const int axes[][3] = {{1}, {0}, {0, 2}, {2}, {0, 1, 2}, {1, 2}};
  static const int n_axes[] = {1, 1, 2, 1, 3, 2};
  for (size_t i = 0; i < 3; i++)
    for (size_t a = 0; a < 6; a++)
      for (int keep = 0; keep < 2; keep++) {
        IrGraph *g = ir_graph_new(ir_op_info[ops[i]].name);
        IrId x = in_f32(g, "x", IR_SHAPE(5, 7, 33));
        IrId r = ir_reduce(g, ops[i], ir_mul_scalar(g, x, 2.0), n_axes[a], axes[a], keep);
        ir_graph_add_output(g, ir_add_scalar(g, r, 1.0)); /* an epilogue */
        check(g);
      }
}

/* Reductions longer than a summation block (cg_loop.c): partial blocks, an outer reduced loop
 * around the blocked one, a strided inner loop, an epilogue, sums beside a max. */
static void test_long_reductions(void **state) {
  static const int axes[][2] = {{1}, {0, 2}, {0}};
  static const int n_axes[] = {1, 2, 1};
  const IrShape shapes[] = {IR_SHAPE(3, 5000), IR_SHAPE(4, 3, 4099), IR_SHAPE(6001, 3)};
  for (int i = 0; i < 3; i++) {
    IrGraph *g = ir_graph_new("long_reduction");
    IrId x = in_f32(g, "x", shapes[i]);
    IrId s = ir_reduce(g, IR_OP_REDUCE_SUM, x, n_axes[i], axes[i], false);
    IrId m = ir_reduce(g, IR_OP_REDUCE_MEAN, ir_square(g, x), n_axes[i], axes[i], false);
    IrId mx = ir_reduce(g, IR_OP_REDUCE_MAX, x, n_axes[i], axes[i], false);
    ir_graph_add_output(g, ir_add(g, ir_add(g, s, m), mx));
    check(g);
  }
}

/* One f32 running sum per lane made the mean of 2M copies of 0.1 0.1% off (every addition
 * rounds the same way); summed in blocks the result is good to a few f32 roundings, whatever the
 * length, for a contiguous (vectorised) and a strided inner loop. */
static void test_long_reductions_accurate(void **state) {
  const IrShape shapes[] = {IR_SHAPE(2000000), IR_SHAPE(2, 1000003), IR_SHAPE(1000003, 2)};
  const int axis[] = {0, 1, 0};
  for (int i = 0; i < 3; i++)
    for (int fused = 0; fused < 2; fused++) {
      IrGraph *g = ir_graph_new("accurate_mean");
      IrId x = in_f32(g, "x", shapes[i]);
      ir_node(g, x)->init = IR_INIT_FILL;
      ir_node(g, x)->value = 0.1;
      ir_graph_add_output(g, ir_reduce(g, IR_OP_REDUCE_MEAN, ir_mul_scalar(g, x, 3.0), 1, &axis[i], false));
      DrvCompareOptions o = {.compile = {.no_fusion = !fused, .no_cache = true}, .atol = 0, .rtol = 1e-5, .steps = 1};
      CgCompareResult r;
      RtDiags d = {0};
      bool ok = drv_compare(g, 7, &o, &r, stdout, &d);
      rt_diags_print(&d, stderr);
      rt_diags_free(&d);
      if (!ok) fail_msg("the mean over %d of shape %d (%s) is off by %.3g relative", axis[i], i, fused ? "fused" : "unfused", r.max_rel);
      ir_graph_free(g);
    }
}

/* The comparison judges values far from zero by their relative error: (a + 3000) - 3000 in f32
 * loses up to 1.2e-4 of a in [1, 2) (the ulp at 3000 is 2.4e-4), which an absolute tolerance
 * of 1e-4 plus 1e-3 relative let through. */
static void test_compare_judges_relative_error(void **state) {
  IrGraph *g = ir_graph_new("cancellation");
  IrId a = ir_add_scalar(g, ir_abs(g, in_f32(g, "x", IR_SHAPE(1000))), 1.0);
  ir_graph_add_output(g, ir_add_scalar(g, ir_add_scalar(g, a, 3000.0), -3000.0));
  CgCompareResult r;
  RtDiags d = {0};
  bool ok = drv_compare(g, 7, NULL, &r, stdout, &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  assert_false(ok);
  assert_int_equal(r.failed, 1);
  assert_true(r.max_rel > 1e-4 && r.max_rel < 1.3e-4);
  ir_graph_free(g);
}

/* ((w * 1e-30) * 1e-9) * 1e30 * 1e9 is w in IEEE f32 but 0 under flush-to-zero (w * 1e-39 is
 * subnormal): the comparison must say so (FTZ, naming the op that went subnormal) rather than
 * report a backend failure, and must still fail a difference that is f32 rounding's. Kernels
 * run with FTZ/DAZ as in smelt. */
static void test_compare_reports_flush_to_zero(void **state) {
  fenv_t saved;
  fegetenv(&saved);
  rt_fpenv_flush_denormals();
  IrGraph *g = ir_graph_new("ftz");
  IrId w = in_f32(g, "w", IR_SHAPE(4));
  IrId tiny = ir_mul_scalar(g, ir_mul_scalar(g, w, 1e-30), 1e-9);
  ir_graph_add_output(g, ir_mul_scalar(g, ir_mul_scalar(g, tiny, 1e30), 1e9));
  ir_graph_add_output(g, ir_mul_scalar(g, w, 2.0));
  CgCompareResult r;
  RtDiags d = {0};
  bool ok = drv_compare(g, 7, NULL, &r, stdout, &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  fesetenv(&saved);
  assert_true(ok);
  assert_int_equal(r.ftz, 1);
  assert_int_equal(r.failed, 0);
  assert_true(r.max_abs > 0.01); /* the difference is reported, not hidden */
  ir_graph_free(g);
}

/* The gradient of sum((w * 1e38) / 1e38) is 1: the backward pass forms 1 / 1e38 (subnormal) and
 * multiplies it by 1e38; simplified and compiled as the trainer does, under FTZ, it must stay 1
 * (constant folding used to flush the subnormal, giving 0). */
static void test_gradient_through_subnormal_scale(void **state) {
  fenv_t saved;
  fegetenv(&saved);
  rt_fpenv_flush_denormals();
  IrGraph *g = ir_graph_new("ftz_grad");
  IrId w = ir_param(g, "w", IR_SHAPE(4), IR_INIT_ZEROS, 0.0); /* zeroed regions hold it */
  IrId big = ir_scalar(g, 1e38);
  IrId loss = ir_sum_all(g, ir_div(g, ir_mul(g, w, big), big));
  ir_graph_add_output(g, loss);
  RtDiags d = {0};
  IrId grad;
  assert_true(pass_autodiff(g, loss, 1, &w, &grad, &d));
  ir_graph_add_output(g, ir_sub(g, w, grad)); /* an SGD step, lr 1: a folded gradient has no slot */
  IrGraph *s = pass_simplify(g, NULL);
  DrvProgram *dp = drv_compile(&(DrvInput){.graph = s, .done = DRV_STAGE_SIMPLIFIED}, &(DrvOptions){.no_cache = true},
                               DRV_STAGE_LOADED, &d);
  rt_diags_print(&d, stderr);
  assert_non_null(dp);
  const CgProgram *p = dp->units[0].program;
  void *regions[PASS_REGION_COUNT];
  for (int i = 0; i < PASS_REGION_COUNT; i++) regions[i] = calloc(1, (size_t)p->plan->region_bytes[i] + 64);
  p->step(regions[0], regions[1], regions[2]);
  const float *gw = cg_program_slot(p, s->outputs[1], regions[0], regions[1], regions[2]);
  fesetenv(&saved);
  for (int i = 0; i < 4; i++)
    if (!(fabs(gw[i] + 1.0) < 1e-6)) fail_msg("step element %d is %.9g, expected -1 (0 - gradient 1)", i, gw[i]);
  for (int i = 0; i < PASS_REGION_COUNT; i++) free(regions[i]);
  drv_program_free(dp);
  rt_diags_free(&d);
  ir_graph_free(s);
  ir_graph_free(g);
}

static void test_matmul(void **state) {
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) {
      IrGraph *g = ir_graph_new("matmul");
      IrId a = in_f32(g, "a", ta ? IR_SHAPE(3, 13, 70) : IR_SHAPE(3, 70, 13));
      IrId b = in_f32(g, "b", tb ? IR_SHAPE(9, 13) : IR_SHAPE(13, 9));
      IrId bias = in_f32(g, "bias", IR_SHAPE(9));
      ir_graph_add_output(g, ir_tanh(g, ir_add(g, ir_matmul(g, a, b, ta, tb), bias)));
      check(g);
    }
  IrGraph *g = ir_graph_new("matmul_batch_broadcast");
  IrId a = in_f32(g, "a", IR_SHAPE(2, 1, 5, 7));
  IrId b = in_f32(g, "b", IR_SHAPE(3, 7, 150));
  ir_graph_add_output(g, ir_matmul(g, a, b, false, false));
  check(g);
}

/* Strides, asymmetric padding and dilation; with 3 and 1 input channels (C*KH*KW = 27 and 9:
 * codegen's direct convolution, the second on a row wide enough for a vector remainder) and with
 * 6 (54: im2col and GEMM). */
static void test_conv(void **state) {
  IrConvSpec specs[] = {ir_conv_spec(1, 1), ir_conv_spec(2, 0), {{1, 2}, {0, 1, 2, 1}, {2, 1}}};
  const int64_t images[][3] = {{3, 9, 11}, {1, 8, 37}, {6, 9, 11}};
  for (size_t i = 0; i < 3; i++)
    for (size_t k = 0; k < 3; k++) {
      int64_t ch = images[k][0], h = images[k][1], wd = images[k][2];
      IrGraph *g = ir_graph_new("conv2d");
      IrId x = in_f32(g, "x", IR_SHAPE(2, ch, h, wd));
      IrId w = in_f32(g, "w", IR_SHAPE(5, ch, 3, 3));
      IrId y = ir_conv2d_ex(g, x, w, specs[i]);
      ir_graph_add_output(g, ir_relu(g, y));
      const int64_t *yd = ir_type_of(g, y)->shape.dims;
      IrId gy = in_f32(g, "gy", IR_SHAPE(2, 5, yd[2], yd[3]));
      ir_graph_add_output(g, ir_conv2d_grad_input(g, gy, w, specs[i], h, wd));
      ir_graph_add_output(g, ir_conv2d_grad_filter(g, x, gy, specs[i], 3, 3));
      check(g);
    }
}

/* Convolutions that are one GEMM on the image as it is (codegen/cg_gemm.c, conv_implicit): 1x1
 * ones, and a filter of one column spanning the image's height (a CNN's last map of height 2
 * turned into a sequence), next to near misses that take im2col (padding, stride 2). */
static void test_conv_implicit(void **state) {
  static const struct { int64_t c, h, w, kh, kw; IrConvSpec spec; } cases[] = {
      {40, 3, 7, 1, 1, {{1, 1}, {0, 0, 0, 0}, {1, 1}}}, {40, 2, 9, 2, 1, {{1, 1}, {0, 0, 0, 0}, {1, 1}}},
      {40, 3, 9, 3, 1, {{1, 1}, {0, 0, 0, 0}, {1, 1}}}, {40, 2, 9, 2, 1, {{1, 1}, {0, 1, 0, 0}, {1, 1}}},
      {40, 4, 6, 1, 1, {{2, 1}, {0, 0, 0, 0}, {1, 1}}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    IrGraph *g = ir_graph_new("conv2d_implicit");
    IrId x = in_f32(g, "x", IR_SHAPE(3, cases[i].c, cases[i].h, cases[i].w));
    IrId w = in_f32(g, "w", IR_SHAPE(6, cases[i].c, cases[i].kh, cases[i].kw));
    IrId y = ir_conv2d_ex(g, x, w, cases[i].spec);
    ir_graph_add_output(g, ir_relu(g, y));
    const int64_t *yd = ir_type_of(g, y)->shape.dims;
    IrId gy = in_f32(g, "gy", IR_SHAPE(3, 6, yd[2], yd[3]));
    ir_graph_add_output(g, ir_conv2d_grad_input(g, gy, w, cases[i].spec, cases[i].h, cases[i].w));
    ir_graph_add_output(g, ir_conv2d_grad_filter(g, x, gy, cases[i].spec, cases[i].kh, cases[i].kw));
    check(g);
  }
}

/* Windows that tile the input (2x2, 2x1: codegen's straight-line path), on planes they cover
 * exactly or not (rows and columns past the last window), wide enough for vector loops with a
 * remainder; overlapping padded windows (the general path); and ties (a ReLU's zeros), where
 * the first maximum of a window takes the gradient. */
static void test_pool(void **state) {
  IrPoolSpec specs[] = {ir_pool_spec(2, 2), ir_pool_spec(2, 1), {{3, 3}, {2, 2}, {1, 1, 1, 1}}};
  const int64_t sizes[][2] = {{9, 10}, {8, 37}};
  for (size_t i = 0; i < 3; i++)
    for (size_t s = 0; s < 2; s++) {
      int64_t h = sizes[s][0], w = sizes[s][1];
      IrGraph *g = ir_graph_new("pool");
      IrId x = in_f32(g, "x", IR_SHAPE(2, 3, h, w));
      IrId m = ir_maxpool2d(g, x, specs[i]), a = ir_avgpool2d(g, x, specs[i]);
      ir_graph_add_output(g, m);
      ir_graph_add_output(g, a);
      IrId gy = in_f32(g, "gy", ir_type_of(g, m)->shape);
      ir_graph_add_output(g, ir_maxpool2d_grad(g, x, gy, specs[i]));
      ir_graph_add_output(g, ir_avgpool2d_grad(g, gy, specs[i], h, w));
      IrId r = ir_relu(g, x);
      ir_graph_add_output(g, ir_maxpool2d(g, r, specs[i]));
      ir_graph_add_output(g, ir_maxpool2d_grad(g, r, gy, specs[i]));
      check(g);
    }
}

static void test_layout(void **state) {
  IrGraph *g = ir_graph_new("layout");
  IrId x = in_f32(g, "x", IR_SHAPE(4, 6, 5));
  ir_graph_add_output(g, ir_transpose(g, x, 3, (int[]){2, 0, 1}));
  ir_graph_add_output(g, ir_exp(g, ir_transpose(g, x, 3, (int[]){1, 0, 2})));
  ir_graph_add_output(g, ir_reshape(g, ir_transpose(g, x, 3, (int[]){2, 1, 0}), IR_SHAPE(30, 4)));
  ir_graph_add_output(g, ir_slice(g, x, (int64_t[]){1, 0, 1}, (int64_t[]){4, 6, 5}, (int64_t[]){2, 3, 1}));
  ir_graph_add_output(g, ir_neg(g, ir_slice_axis(g, x, 1, 2, 5)));
  IrId y = in_f32(g, "y", IR_SHAPE(4, 2, 5));
  ir_graph_add_output(g, ir_concat(g, 3, (IrId[]){x, y, x}, 1));
  ir_graph_add_output(g, ir_pad(g, x, (int64_t[]){1, 0, 2}, (int64_t[]){0, 3, 1}));
  ir_graph_add_output(g, ir_broadcast(g, ir_slice_axis(g, x, 0, 0, 1), IR_SHAPE(3, 4, 6, 5)));
  ir_graph_add_output(g, ir_add(g, ir_reshape(g, x, IR_SHAPE(24, 5)), ir_scalar(g, 1.0)));
  check(g);
}

static void test_indexing(void **state) {
  IrGraph *g = ir_graph_new("indexing");
  IrId table = in_f32(g, "table", IR_SHAPE(7, 5));
  IrId idx = ir_input(g, "idx", IR_I32, IR_SHAPE(3, 4));
  ir_node(g, idx)->init = IR_INIT_UNIFORM;
  ir_node(g, idx)->value = 9; /* some out of range */
  ir_graph_add_output(g, ir_gather(g, table, idx));
  IrId upd = in_f32(g, "upd", IR_SHAPE(3, 4, 5));
  ir_graph_add_output(g, ir_scatter_add(g, idx, upd, 7));
  ir_graph_add_output(g, ir_one_hot(g, idx, 8));
  ir_graph_add_output(g, ir_mul(g, ir_one_hot(g, idx, 5), in_f32(g, "w", IR_SHAPE(3, 4, 5))));
  ir_graph_add_output(g, ir_argmax(g, in_f32(g, "scores", IR_SHAPE(3, 17, 4)), 1));
  IrId seed = ir_input(g, "seed", IR_I32, IR_SHAPE());
  ir_node(g, seed)->init = IR_INIT_FILL;
  ir_node(g, seed)->value = 12345;
  ir_graph_add_output(g, ir_rng_uniform(g, seed, 3, IR_SHAPE(5, 37)));
  ir_graph_add_output(g, ir_dropout(g, in_f32(g, "h", IR_SHAPE(4, 33)), ir_scalar(g, 0.25), seed, 9));
  check(g);
}

static void test_ctc(void **state) {
  IrGraph *g = ir_graph_new("ctc");
  IrId logits = ir_mul_scalar(g, in_f32(g, "logits", IR_SHAPE(3, 12, 6)), 3.0);
  IrId labels = ir_input(g, "labels", IR_I32, IR_SHAPE(3, 4));
  ir_node(g, labels)->init = IR_INIT_UNIFORM;
  ir_node(g, labels)->value = 6;
  IrId lens = ir_const_data(g, IR_I32, IR_SHAPE(3), (double[]){4, 2, 0});
  IrId loss = ir_ctc_loss(g, logits, labels, lens, 0);
  ir_graph_add_output(g, loss);
  ir_graph_add_output(g, ir_ctc_loss_grad(g, logits, labels, lens, in_f32(g, "g", IR_SHAPE(3)), 0));
  check(g);
}

/* The LSTM recurrence (codegen/cg_lstm.c): two directions of five rows (W_hh packed once) and of
 * two (dot products), nine rows of one direction in blocks of five and four, the gradient from
 * a saved state. */
static void test_lstm_scan(void **state) {
  static const int64_t shapes[3][4] = {{4, 5, 2, 7}, {3, 2, 2, 5}, {5, 9, 1, 3}}; /* T, B, D, H */
  for (int i = 0; i < 3; i++) {
    const int64_t *s = shapes[i];
    int dirs = (int)s[2];
    IrGraph *g = ir_graph_new("lstm_scan");
    IrId x[2], w[2];
    for (int d = 0; d < dirs; d++) {
      x[d] = ir_mul_scalar(g, in_f32(g, d ? "x1" : "x0", IR_SHAPE(s[0], s[1], 4 * s[3])), 2.0);
      w[d] = in_f32(g, d ? "w1" : "w0", IR_SHAPE(4 * s[3], s[3]));
    }
    IrId scan = ir_lstm_scan(g, dirs, x, w, true);
    ir_graph_add_output(g, scan);
    ir_graph_add_output(g, ir_lstm_scan(g, dirs, x, w, false));
    ir_graph_add_output(g, ir_lstm_scan_grad(g, scan, in_f32(g, "g", IR_SHAPE(6, s[0], s[1], s[2], s[3])), dirs, w));
    check(g);
  }
}

static void test_softmax_fused(void **state) {
  IrGraph *g = ir_graph_new("softmax");
  IrId x = ir_mul_scalar(g, in_f32(g, "x", IR_SHAPE(6, 38)), 4.0);
  ir_graph_add_output(g, ir_softmax(g, x, -1));
  ir_graph_add_output(g, ir_log_softmax(g, x, 0));
  /* batch-norm statistics over N, H, W */
  IrId f = in_f32(g, "f", IR_SHAPE(3, 4, 5, 7));
  int axes[3] = {0, 2, 3};
  IrId mean = ir_mean(g, f, 3, axes, true);
  IrId var = ir_mean(g, ir_square(g, ir_sub(g, f, mean)), 3, axes, true);
  ir_graph_add_output(g, ir_mul(g, ir_sub(g, f, mean), ir_rsqrt(g, ir_add_scalar(g, var, 1e-5))));
  check(g);
}

/* Seeded random shapes (rank 1-4, dims 1-40: most not multiples of the vector width), random
 * broadcasting (dims set to 1, leading dims dropped), elementwise chains and reductions over
 * random axes, fused and unfused. */
static uint64_t lcg(uint64_t *s) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return *s >> 33;
}

static void test_random_shapes(void **state) {
  static const IrOp binary[] = {IR_OP_ADD, IR_OP_SUB, IR_OP_MUL, IR_OP_MAX, IR_OP_MIN};
  static const IrOp unary[] = {IR_OP_TANH, IR_OP_SIGMOID, IR_OP_EXP, IR_OP_RELU, IR_OP_SQUARE, IR_OP_NEG};
  static const IrOp reduce[] = {IR_OP_REDUCE_SUM, IR_OP_REDUCE_MEAN, IR_OP_REDUCE_MAX};
  for (uint64_t seed = 1; seed <= 24; seed++) {
    uint64_t s = seed;
    IrShape a = {.rank = 1 + (int)(lcg(&s) % 4)};
    for (int d = 0; d < a.rank; d++) a.dims[d] = 1 + (int64_t)(lcg(&s) % 40);
    IrShape b = a; /* broadcast partner: some dims 1, maybe fewer leading dims */
    for (int d = 0; d < b.rank; d++)
      if (lcg(&s) % 3 == 0) b.dims[d] = 1;
    int drop = (int)(lcg(&s) % (unsigned)b.rank);
    b.rank -= drop;
    for (int d = 0; d < b.rank; d++) b.dims[d] = b.dims[d + drop];
    char name[32];
    snprintf(name, sizeof name, "random%d", (int)seed);
    IrGraph *g = ir_graph_new(name);
    IrId x = in_f32(g, "x", a), y = in_f32(g, "y", b);
    IrId z = ir_binary(g, binary[lcg(&s) % 5], x, y);
    z = ir_unary(g, unary[lcg(&s) % 6], z);
    int axes[IR_MAX_RANK], n = 0;
    for (int d = 0; d < a.rank; d++)
      if (lcg(&s) % 2) axes[n++] = d;
    if (!n) axes[n++] = a.rank - 1;
    IrId r = ir_reduce(g, reduce[lcg(&s) % 3], z, n, axes, lcg(&s) % 2);
    ir_graph_add_output(g, ir_add_scalar(g, r, 0.25));
    ir_graph_add_output(g, z);
    check(g);
  }
}

/* Does the object code of g for `cpu` call `symbol`? (An ELF string table holds it as
 * "\0symbol\0".) */
static bool object_calls(const IrGraph *g, const char *cpu, const char *symbol) {
  RtDiags d = {0};
  DrvInput in = {.graph = g, .done = DRV_STAGE_SIMPLIFIED, .step = "libcall_step"};
  DrvOptions o = {.serial = true, .cpu = cpu, .no_cache = true, .module = "libcall", .prefix = "libcall"};
  DrvProgram *p = drv_compile(&in, &o, DRV_STAGE_OBJECT, &d);
  rt_diags_print(&d, stderr);
  assert_non_null(p);
  char needle[64];
  int n = snprintf(needle, sizeof needle, "%c%s%c", 0, symbol, 0);
  bool found = memmem(p->object, p->object_len, needle, (size_t)n) != NULL;
  drv_program_free(p);
  rt_diags_free(&d);
  return found;
}

/* A libm call that LLVM introduces by itself (pow(2, x) becomes exp2f): the object code for
 * `cpu` calls `symbol`, so the case tests what it says, and the JIT, which resolves only the
 * table of codegen/cg_symbols.c, links and runs it like the interpreter. */
static void check_libcall(IrGraph *g, const char *cpu, const char *symbol) {
  if (g->error[0]) fail_msg("builder error: %s", g->error);
  if (!object_calls(g, cpu, symbol)) fail_msg("'%s' for CPU %s does not call %s", g->name, cpu ? cpu : "host", symbol);
  for (int fused = 0; fused < 2; fused++) {
    DrvCompareOptions o = {.compile = {.no_fusion = !fused, .no_cache = true, .cpu = cpu}, .atol = 2e-5, .rtol = 2e-4,
                          .steps = 1};
    CgCompareResult r;
    RtDiags d = {0};
    bool ok = drv_compare(g, 7, &o, &r, stdout, &d);
    rt_diags_print(&d, stderr);
    rt_diags_free(&d);
    if (!ok) fail_msg("'%s' calling %s differs from the interpreter or does not link", g->name, symbol);
  }
  ir_graph_free(g);
}

/* pow(b, x) with a constant base; x in [-3, 3) (or integers in [-5, 5] when `integer`). */
static IrGraph *pow_const_base(double base, bool integer) {
  IrGraph *g = ir_graph_new("pow_const_base");
  IrId x;
  if (integer) {
    IrId k = ir_input(g, "k", IR_I32, IR_SHAPE(3, 37));
    ir_node(g, k)->init = IR_INIT_UNIFORM;
    ir_node(g, k)->value = 5;
    x = ir_to_f32(g, k);
  } else {
    x = ir_mul_scalar(g, in_f32(g, "x", IR_SHAPE(3, 37)), 3.0);
  }
  ir_graph_add_output(g, ir_pow(g, ir_scalar(g, base), x));
  return g;
}

/* Every libm function LLVM 19 introduces into our code on x86-64 (found by compiling every op
 * and the pow cases below for the host and for baseline CPUs and listing undefined symbols):
 * pow(2^n, x) -> exp2f (InstCombine), exp2f of an integer -> ldexpf, llvm.floor (our exp) ->
 * floorf without SSE4.1, llvm.pow -> powf. */
static void test_libm_calls_llvm_introduces(void **state) {
  static const double pow2_bases[] = {2.0, 0.5, 4.0};
  for (size_t i = 0; i < sizeof pow2_bases / sizeof *pow2_bases; i++)
    check_libcall(pow_const_base(pow2_bases[i], false), NULL, "exp2f");
  check_libcall(pow_const_base(2.0, true), NULL, "ldexpf");
  check_libcall(pow_const_base(3.0, false), NULL, "powf");
  IrGraph *g = ir_graph_new("exp_sse2");
  ir_graph_add_output(g, ir_exp(g, ir_mul_scalar(g, in_f32(g, "x", IR_SHAPE(3, 37)), 6.0)));
  check_libcall(g, "x86-64", "floorf"); /* floor is roundss from SSE4.1 on */
}

/* Every op has a row in codegen's emission table (codegen/cg_ops.c) that agrees with its kernel
 * kind and flags in the op table: a missing row is CG_EMIT_NONE and fails here. */
static void test_emission_table_complete(void **state) {
  for (int op = 0; op < IR_OP_COUNT; op++) {
    const IrOpInfo *info = &ir_op_info[op];
    const CgOpEmit *e = &cg_op_emit[op];
    CgEmitKind want = info->fusion == IR_FUSE_GEMM                ? CG_EMIT_GEMM
                      : (info->flags & IR_OPF_OWN_KERNEL)        ? CG_EMIT_OPAQUE
                      : (info->flags & IR_OPF_VIEW)              ? CG_EMIT_VIEW
                      : info->fusion == IR_FUSE_REDUCTION        ? CG_EMIT_REDUCE
                      : info->fusion == IR_FUSE_ELEMENTWISE      ? CG_EMIT_SCALAR
                                                                 : CG_EMIT_NONE;
    if (e->kind == CG_EMIT_NONE) fail_msg("op %s has no row in cg_op_emit", info->name);
    if (e->kind != want) fail_msg("op %s: emission kind %d, its op table row says %d", info->name, e->kind, want);
    if (want == CG_EMIT_SCALAR && !e->scalar) fail_msg("op %s has no scalar emitter", info->name);
    if (want == CG_EMIT_OPAQUE && !e->opaque) fail_msg("op %s has no opaque lowering", info->name);
    if (want == CG_EMIT_GEMM && !e->gemm) fail_msg("op %s has no GEMM lowering", info->name);
  }
}

static void test_every_op_covered(void **state) {
  for (int op = 0; op < IR_OP_COUNT; op++)
    if (!covered[op]) fail_msg("op %s has no differential test", ir_op_info[op].name);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unary),          cmocka_unit_test(test_math_ranges),
      cmocka_unit_test(test_quantize),       cmocka_unit_test(test_all_sum),
      cmocka_unit_test(test_casts_compare_select), cmocka_unit_test(test_binary_broadcast),
      cmocka_unit_test(test_reductions),     cmocka_unit_test(test_long_reductions),
      cmocka_unit_test(test_long_reductions_accurate), cmocka_unit_test(test_compare_judges_relative_error),
      cmocka_unit_test(test_compare_reports_flush_to_zero), cmocka_unit_test(test_gradient_through_subnormal_scale),
      cmocka_unit_test(test_matmul),
      cmocka_unit_test(test_conv),           cmocka_unit_test(test_pool),
      cmocka_unit_test(test_layout),         cmocka_unit_test(test_indexing),
      cmocka_unit_test(test_conv_implicit),    cmocka_unit_test(test_ctc),            cmocka_unit_test(test_lstm_scan),            cmocka_unit_test(test_softmax_fused),
      cmocka_unit_test(test_random_shapes),  cmocka_unit_test(test_libm_calls_llvm_introduces),
      cmocka_unit_test(test_emission_table_complete), cmocka_unit_test(test_every_op_covered),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
