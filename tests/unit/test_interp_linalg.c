/* Tests of the interpreter's matmul, convolution and pooling ops: hand-computed cases, an
 * independent naive formula for batched/transposed matmul and for strided, padded, dilated
 * convolution, and the adjoint identities that tie each gradient op to its forward op. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "interp_check.h"

/* Deterministic pseudo-random fill in [-1, 1) (an LCG, independent of rt_random). */
static void fill(double *x, int64_t n, uint32_t seed) {
  for (int64_t i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    x[i] = (double)(seed >> 8) / (double)(1u << 23) - 1.0;
  }
}

static double dot(const double *a, const double *b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

/* ---- matmul ---- */

static void test_matmul_transposes(void **state) {
  IrGraph *g = ir_graph_new("mm");
  IrId a = cf(g, IR_SHAPE(2, 3), VALS(1, 2, 3, 4, 5, 6));
  IrId at = cf(g, IR_SHAPE(3, 2), VALS(1, 4, 2, 5, 3, 6));
  IrId b = cf(g, IR_SHAPE(3, 2), VALS(7, 8, 9, 10, 11, 12));
  IrId bt = cf(g, IR_SHAPE(2, 3), VALS(7, 9, 11, 8, 10, 12));
  const double *want = VALS(58, 64, 139, 154);
  expect_node(g, ir_matmul(g, a, b, false, false), IR_F32, IR_SHAPE(2, 2), want, 0);
  expect_node(g, ir_matmul(g, at, b, true, false), IR_F32, IR_SHAPE(2, 2), want, 0);
  expect_node(g, ir_matmul(g, a, bt, false, true), IR_F32, IR_SHAPE(2, 2), want, 0);
  expect_node(g, ir_matmul(g, at, bt, true, true), IR_F32, IR_SHAPE(2, 2), want, 0);
  /* size-1 edges: (1,5) x (5,1), and an outer product (3,1) x (1,2) */
  IrId r = cf(g, IR_SHAPE(1, 5), VALS(1, 2, 3, 4, 5)),
       c = cf(g, IR_SHAPE(5, 1), VALS(1, 1, 1, 1, -1));
  expect_node(g, ir_matmul(g, r, c, false, false), IR_F32, IR_SHAPE(1, 1), VALS(5), 0);
  IrId u = cf(g, IR_SHAPE(3, 1), VALS(1, 2, 3)), v = cf(g, IR_SHAPE(1, 2), VALS(10, -1));
  expect_node(g, ir_matmul(g, u, v, false, false), IR_F32, IR_SHAPE(3, 2),
              VALS(10, -1, 20, -2, 30, -3), 0);
  ir_graph_free(g);
}

/* a (2,1,M,K) stored transposed, b (3,K,N): batch dims broadcast to (2,3) */
static void test_matmul_batch_broadcast(void **state) {
  enum { M = 2, K = 3, N = 4 };
  double a[2 * K * M], b[3 * K * N], want[2 * 3 * M * N];
  fill(a, 2 * K * M, 1);
  fill(b, 3 * K * N, 2);
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++)
      for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
          double s = 0;
          for (int k = 0; k < K; k++) s += a[(i * K + k) * M + m] * b[(j * K + k) * N + n];
          want[((i * 3 + j) * M + m) * N + n] = s;
        }
  IrGraph *g = ir_graph_new("bmm");
  IrId y = ir_matmul(g, cf(g, IR_SHAPE(2, 1, K, M), a), cf(g, IR_SHAPE(3, K, N), b), true, false);
  /* the leaves are rounded to float, so compare with a loose tolerance */
  IrType t;
  double *got = run_node(g, y, &t);
  IrShape s = IR_SHAPE(2, 3, M, N);
  assert_true(ir_shape_eq(&t.shape, &s));
  expect_array(got, want, 2 * 3 * M * N, 1e-6, "batched matmul");
  free(got);
  ir_graph_free(g);
}

/* ---- convolution ---- */

static void test_conv2d_by_hand(void **state) {
  IrGraph *g = ir_graph_new("conv");
  IrId x = cf(g, IR_SHAPE(1, 1, 3, 3), VALS(1, 2, 3, 4, 5, 6, 7, 8, 9));
  IrId w = cf(g, IR_SHAPE(1, 1, 2, 2), VALS(1, 2, 3, 4));
  expect_node(g, ir_conv2d(g, x, w, 1, 0), IR_F32, IR_SHAPE(1, 1, 2, 2), VALS(37, 47, 67, 77), 0);
  /* stride 2, padding 1: corner windows see one, two or four real pixels */
  expect_node(g, ir_conv2d(g, x, w, 2, 1), IR_F32, IR_SHAPE(1, 1, 2, 2), VALS(4, 18, 36, 77), 0);
  /* gradients with dy = ones: dx counts how often each pixel meets each tap, dw sums windows */
  IrId ones = cf(g, IR_SHAPE(1, 1, 2, 2), VALS(1, 1, 1, 1));
  IrConvSpec spec = ir_conv_spec(1, 0);
  expect_node(g, ir_conv2d_grad_input(g, ones, w, spec, 3, 3), IR_F32, IR_SHAPE(1, 1, 3, 3),
              VALS(1, 3, 2, 4, 10, 6, 3, 7, 4), 0);
  expect_node(g, ir_conv2d_grad_filter(g, x, ones, spec, 2, 2), IR_F32, IR_SHAPE(1, 1, 2, 2),
              VALS(12, 16, 24, 28), 0);
  ir_graph_free(g);
}

enum { CN = 2, CC = 3, CH = 5, CW = 6, CO = 2, CKH = 2, CKW = 3 };
static const IrConvSpec conv_spec = {{2, 1}, {1, 0, 0, 2}, {2, 1}}; /* asymmetric everything */

/* x (N,C,H,W) read with zero padding outside */
static double padded(const double *x, int n, int c, int y, int xx) {
  if (y < 0 || y >= CH || xx < 0 || xx >= CW) return 0.0;
  return x[((n * CC + c) * CH + y) * CW + xx];
}

/* Strided, padded, dilated, multi-channel conv2d against the textbook formula; then the two
 * gradients against the adjoint identities <conv(x,w), dy> = <x, grad_input(dy,w)>
 * = <w, grad_filter(x,dy)>, which hold exactly for the transposes of a bilinear map. */
static void test_conv2d_general_and_adjoints(void **state) {
  const IrConvSpec s = conv_spec;
  int oh = (CH + s.pad[0] + s.pad[2] - s.dilation[0] * (CKH - 1) - 1) / s.stride[0] + 1;
  int ow = (CW + s.pad[1] + s.pad[3] - s.dilation[1] * (CKW - 1) - 1) / s.stride[1] + 1;
  assert_int_equal(oh, 2);
  assert_int_equal(ow, 6);
  double x[CN * CC * CH * CW], w[CO * CC * CKH * CKW], dy[CN * CO * 2 * 6], want[CN * CO * 2 * 6];
  fill(x, CN * CC * CH * CW, 3);
  fill(w, CO * CC * CKH * CKW, 4);
  fill(dy, CN * CO * oh * ow, 5);
  for (int n = 0; n < CN; n++)
    for (int o = 0; o < CO; o++)
      for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++) {
          double acc = 0;
          for (int c = 0; c < CC; c++)
            for (int ky = 0; ky < CKH; ky++)
              for (int kx = 0; kx < CKW; kx++)
                acc += padded(x, n, c, oy * s.stride[0] - s.pad[0] + ky * s.dilation[0],
                              ox * s.stride[1] - s.pad[1] + kx * s.dilation[1]) *
                       w[((o * CC + c) * CKH + ky) * CKW + kx];
          want[((n * CO + o) * oh + oy) * ow + ox] = acc;
        }
  IrGraph *g = ir_graph_new("conv");
  IrId xi = ir_input(g, "x", IR_F32, IR_SHAPE(CN, CC, CH, CW));
  IrId wi = ir_input(g, "w", IR_F32, IR_SHAPE(CO, CC, CKH, CKW));
  IrId di = ir_input(g, "dy", IR_F32, IR_SHAPE(CN, CO, 2, 6));
  IrId y = ir_conv2d_ex(g, xi, wi, s);
  IrId dx = ir_conv2d_grad_input(g, di, wi, s, CH, CW);
  IrId dw = ir_conv2d_grad_filter(g, xi, di, s, CKH, CKW);
  assert_true(y != IR_NONE && dx != IR_NONE && dw != IR_NONE);
  IrInterp *it = ir_interp_new(g);
  memcpy(ir_interp_value(it, xi)->data, x, sizeof x); /* exact doubles, not float-rounded */
  memcpy(ir_interp_value(it, wi)->data, w, sizeof w);
  memcpy(ir_interp_value(it, di)->data, dy, sizeof dy);
  ir_interp_run(it, NULL);
  expect_array(ir_interp_value(it, y)->data, want, CN * CO * oh * ow, 1e-14, "conv2d");
  double lhs = dot(want, dy, CN * CO * oh * ow);
  double via_x = dot(x, ir_interp_value(it, dx)->data, CN * CC * CH * CW);
  double via_w = dot(w, ir_interp_value(it, dw)->data, CO * CC * CKH * CKW);
  assert_true(fabs(lhs) > 0.1); /* the identity is not vacuous */
  assert_true(fabs(lhs - via_x) < 1e-12 && fabs(lhs - via_w) < 1e-12);
  ir_interp_free(it);
  ir_graph_free(g);
}

/* ---- pooling ---- */

static void test_maxpool(void **state) {
  IrGraph *g = ir_graph_new("maxpool");
  double v[16];
  for (int i = 0; i < 16; i++) v[i] = -(i + 1); /* all negative: padding must not act as 0 */
  IrId x = cf(g, IR_SHAPE(1, 1, 4, 4), v);
  expect_node(g, ir_maxpool2d(g, x, ir_pool_spec(2, 2)), IR_F32, IR_SHAPE(1, 1, 2, 2),
              VALS(-1, -3, -9, -11), 0);
  IrPoolSpec padded = {{3, 3}, {2, 2}, {1, 1, 1, 1}};
  expect_node(g, ir_maxpool2d(g, x, padded), IR_F32, IR_SHAPE(1, 1, 2, 2), VALS(-1, -2, -5, -6), 0);
  /* two planes (N=1, C=2), 1x3 input, overlapping 1x2 windows */
  IrPoolSpec row = {{1, 2}, {1, 1}, {0, 0, 0, 0}};
  IrId two = cf(g, IR_SHAPE(1, 2, 1, 3), VALS(1, 3, 2, 7, 0, 8));
  expect_node(g, ir_maxpool2d(g, two, row), IR_F32, IR_SHAPE(1, 2, 1, 2), VALS(3, 3, 7, 8), 0);
  ir_graph_free(g);
}

static void test_maxpool_grad(void **state) {
  IrGraph *g = ir_graph_new("maxpool_grad");
  /* ties: each window's gradient goes to its first maximum in row-major order */
  IrId x = cf(g, IR_SHAPE(1, 1, 2, 4), VALS(1, 5, 5, 2, 5, 0, 2, 2));
  IrId dy = cf(g, IR_SHAPE(1, 1, 1, 2), VALS(10, 20));
  expect_node(g, ir_maxpool2d_grad(g, x, dy, ir_pool_spec(2, 2)), IR_F32, IR_SHAPE(1, 1, 2, 4),
              VALS(0, 10, 20, 0, 0, 0, 0, 0), 0);
  /* overlapping windows that pick the same pixel add up; second plane independent */
  IrPoolSpec row = {{1, 2}, {1, 1}, {0, 0, 0, 0}};
  IrId two = cf(g, IR_SHAPE(1, 2, 1, 3), VALS(1, 3, 2, 7, 0, 8));
  IrId g2 = cf(g, IR_SHAPE(1, 2, 1, 2), VALS(1, 2, 3, 4));
  expect_node(g, ir_maxpool2d_grad(g, two, g2, row), IR_F32, IR_SHAPE(1, 2, 1, 3),
              VALS(0, 3, 0, 3, 0, 4), 0);
  /* padded window at the border: padding never receives (or steals) the gradient */
  IrPoolSpec padded = {{2, 2}, {2, 2}, {1, 1, 0, 0}};
  IrId neg = cf(g, IR_SHAPE(1, 1, 2, 2), VALS(-4, -3, -2, -1));
  IrId g3 = cf(g, IR_SHAPE(1, 1, 1, 1), VALS(1));
  expect_node(g, ir_maxpool2d_grad(g, neg, g3, padded), IR_F32, IR_SHAPE(1, 1, 2, 2),
              VALS(1, 0, 0, 0), 0);
  ir_graph_free(g);
}

static void test_avgpool_and_grad(void **state) {
  IrGraph *g = ir_graph_new("avgpool");
  IrId x = cf(g, IR_SHAPE(1, 1, 3, 3), VALS(1, 2, 3, 4, 5, 6, 7, 8, 9));
  IrPoolSpec spec = {{2, 2}, {2, 2}, {1, 1, 1, 1}};
  /* padded zeros count: always divide by the window area 4 */
  expect_node(g, ir_avgpool2d(g, x, spec), IR_F32, IR_SHAPE(1, 1, 2, 2), VALS(0.25, 1.25, 2.75, 7),
              0);
  IrId dy = cf(g, IR_SHAPE(1, 1, 2, 2), VALS(1, 2, 3, 4));
  expect_node(g, ir_avgpool2d_grad(g, dy, spec, 3, 3), IR_F32, IR_SHAPE(1, 1, 3, 3),
              VALS(0.25, 0.5, 0.5, 0.75, 1, 1, 0.75, 1, 1), 0);
  ir_graph_free(g);

  /* adjoint identity on several planes, odd sizes, overlapping windows, asymmetric padding */
  enum { P = 2 * 3, H = 5, W = 7, OH = 3, OW = 4 };
  IrPoolSpec s = {{3, 2}, {2, 2}, {1, 0, 1, 1}};
  double xv[P * H * W], gv[P * OH * OW];
  fill(xv, P * H * W, 6);
  fill(gv, P * OH * OW, 7);
  g = ir_graph_new("avgpool_adjoint");
  IrId xi = ir_input(g, "x", IR_F32, IR_SHAPE(2, 3, H, W));
  IrId gi = ir_input(g, "g", IR_F32, IR_SHAPE(2, 3, OH, OW));
  IrId y = ir_avgpool2d(g, xi, s), dx = ir_avgpool2d_grad(g, gi, s, H, W);
  assert_true(y != IR_NONE && dx != IR_NONE);
  assert_true(ir_type_of(g, y)->shape.dims[2] == OH && ir_type_of(g, y)->shape.dims[3] == OW);
  IrInterp *it = ir_interp_new(g);
  memcpy(ir_interp_value(it, xi)->data, xv, sizeof xv);
  memcpy(ir_interp_value(it, gi)->data, gv, sizeof gv);
  ir_interp_run(it, NULL);
  double lhs = dot(ir_interp_value(it, y)->data, gv, P * OH * OW);
  double rhs = dot(xv, ir_interp_value(it, dx)->data, P * H * W);
  assert_true(fabs(lhs) > 0.01 && fabs(lhs - rhs) < 1e-12);
  ir_interp_free(it);
  ir_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_matmul_transposes), cmocka_unit_test(test_matmul_batch_broadcast),
      cmocka_unit_test(test_conv2d_by_hand),    cmocka_unit_test(test_conv2d_general_and_adjoints),
      cmocka_unit_test(test_maxpool),           cmocka_unit_test(test_maxpool_grad),
      cmocka_unit_test(test_avgpool_and_grad),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
