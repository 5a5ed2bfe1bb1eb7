/* Tests of the interpreter's layout ops (reshape, transpose, slice with steps, concat of
 * several operands, pad, broadcast) and indexing ops (gather, scatter_add, one_hot), including
 * out-of-range indices, against hand-computed values or explicit index formulas. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "interp_check.h"

static double iota[120];

static int setup_iota(void **state) {
  for (int i = 0; i < 120; i++) iota[i] = i;
  return 0;
}

static void test_reshape(void **state) {
  IrGraph *g = ir_graph_new("reshape");
  IrId x = cf(g, IR_SHAPE(2, 3), VALS(1, 2, 3, 4, 5, 6));
  expect_node(g, ir_reshape(g, x, IR_SHAPE(3, 1, 2)), IR_F32, IR_SHAPE(3, 1, 2),
              VALS(1, 2, 3, 4, 5, 6), 0);
  IrId s = ci(g, IR_SHAPE(1, 1), VALS(7));
  expect_node(g, ir_reshape(g, s, IR_SHAPE()), IR_I32, IR_SHAPE(), VALS(7), 0);
  ir_graph_free(g);
}

static void test_transpose(void **state) {
  IrGraph *g = ir_graph_new("transpose");
  IrId m = cf(g, IR_SHAPE(2, 3), VALS(1, 2, 3, 4, 5, 6));
  expect_node(g, ir_transpose(g, m, 2, (int[]){1, 0}), IR_F32, IR_SHAPE(3, 2),
              VALS(1, 4, 2, 5, 3, 6), 0);
  /* rank 3, perm (2,0,1): out[i,j,k] = x[j,k,i] with out.dims[d] = x.dims[perm[d]] */
  double want[24];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 2; j++)
      for (int k = 0; k < 3; k++) want[(i * 2 + j) * 3 + k] = iota[(j * 3 + k) * 4 + i];
  IrId x = cf(g, IR_SHAPE(2, 3, 4), iota);
  expect_node(g, ir_transpose(g, x, 3, (int[]){2, 0, 1}), IR_F32, IR_SHAPE(4, 2, 3), want, 0);
  ir_graph_free(g);
}

static void test_slice(void **state) {
  IrGraph *g = ir_graph_new("slice");
  IrId x = cf(g, IR_SHAPE(4, 5), iota);
  /* rows 1, 3 and columns 0, 2, 4 */
  expect_node(g, ir_slice(g, x, (int64_t[]){1, 0}, (int64_t[]){4, 5}, (int64_t[]){2, 2}), IR_F32,
              IR_SHAPE(2, 3), VALS(5, 7, 9, 15, 17, 19), 0);
  /* a step that overshoots the end (rows 0, 3 of [0, 4) with step 3) */
  expect_node(g, ir_slice(g, x, (int64_t[]){0, 1}, (int64_t[]){4, 4}, (int64_t[]){3, 1}), IR_F32,
              IR_SHAPE(2, 3), VALS(1, 2, 3, 16, 17, 18), 0);
  /* single element, and one axis of a rank-3 tensor */
  expect_node(g, ir_slice(g, x, (int64_t[]){2, 4}, (int64_t[]){3, 5}, NULL), IR_F32, IR_SHAPE(1, 1),
              VALS(14), 0);
  IrId y = cf(g, IR_SHAPE(2, 3, 2), iota);
  expect_node(g, ir_slice_axis(g, y, 1, 1, 3), IR_F32, IR_SHAPE(2, 2, 2),
              VALS(2, 3, 4, 5, 8, 9, 10, 11), 0);
  ir_graph_free(g);
}

static void test_concat(void **state) {
  IrGraph *g = ir_graph_new("concat");
  IrId a = cf(g, IR_SHAPE(2, 1), VALS(1, 2));
  IrId b = cf(g, IR_SHAPE(2, 2), VALS(3, 4, 5, 6));
  IrId c = cf(g, IR_SHAPE(2, 3), VALS(7, 8, 9, 10, 11, 12));
  expect_node(g, ir_concat(g, 3, (IrId[]){a, b, c}, 1), IR_F32, IR_SHAPE(2, 6),
              VALS(1, 3, 4, 7, 8, 9, 2, 5, 6, 10, 11, 12), 0);
  /* leading axis, i32, one operand repeated */
  IrId p = ci(g, IR_SHAPE(1, 2), VALS(1, 2)), q = ci(g, IR_SHAPE(2, 2), VALS(3, 4, 5, 6));
  expect_node(g, ir_concat(g, 3, (IrId[]){p, q, p}, 0), IR_I32, IR_SHAPE(4, 2),
              VALS(1, 2, 3, 4, 5, 6, 1, 2), 0);
  /* a single operand is a copy */
  expect_node(g, ir_concat(g, 1, &b, 0), IR_F32, IR_SHAPE(2, 2), VALS(3, 4, 5, 6), 0);
  ir_graph_free(g);
}

static void test_pad(void **state) {
  IrGraph *g = ir_graph_new("pad");
  IrId x = cf(g, IR_SHAPE(2, 2), VALS(1, 2, 3, 4));
  expect_node(g, ir_pad(g, x, (int64_t[]){1, 0}, (int64_t[]){0, 2}), IR_F32, IR_SHAPE(3, 4),
              VALS(0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0), 0);
  IrId v = ci(g, IR_SHAPE(1), VALS(5));
  expect_node(g, ir_pad(g, v, (int64_t[]){2}, (int64_t[]){1}), IR_I32, IR_SHAPE(4),
              VALS(0, 0, 5, 0), 0);
  ir_graph_free(g);
}

static void test_broadcast(void **state) {
  IrGraph *g = ir_graph_new("broadcast");
  IrId x = cf(g, IR_SHAPE(3, 1), VALS(1, 2, 3));
  expect_node(g, ir_broadcast(g, x, IR_SHAPE(2, 3, 2)), IR_F32, IR_SHAPE(2, 3, 2),
              VALS(1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3), 0);
  IrId s = cf(g, IR_SHAPE(), VALS(4));
  expect_node(g, ir_broadcast(g, s, IR_SHAPE(2)), IR_F32, IR_SHAPE(2), VALS(4, 4), 0);
  ir_graph_free(g);
}

/* ---- indexing ---- */

static void test_gather(void **state) {
  IrGraph *g = ir_graph_new("gather");
  IrId table = cf(g, IR_SHAPE(4, 2), VALS(0, 1, 10, 11, 20, 21, 30, 31));
  IrId idx = ci(g, IR_SHAPE(2, 3), VALS(3, 0, -1, 4, 1, 1)); /* -1 and 4 are out of range */
  expect_node(g, ir_gather(g, table, idx), IR_F32, IR_SHAPE(2, 3, 2),
              VALS(30, 31, 0, 1, 0, 0, 0, 0, 10, 11, 10, 11), 0);
  IrId vec = ci(g, IR_SHAPE(3), VALS(7, 8, 9));
  expect_node(g, ir_gather(g, vec, ci(g, IR_SHAPE(2), VALS(2, 2))), IR_I32, IR_SHAPE(2), VALS(9, 9),
              0);
  ir_graph_free(g);
}

static void test_scatter_add(void **state) {
  IrGraph *g = ir_graph_new("scatter_add");
  IrId idx = ci(g, IR_SHAPE(2, 3), VALS(3, 0, -1, 4, 1, 1));
  IrId upd = cf(g, IR_SHAPE(2, 3, 2), VALS(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12));
  /* row 0 <- upd[0,1]; row 1 <- upd[1,1] + upd[1,2]; row 3 <- upd[0,0]; -1 and 4 dropped */
  expect_node(g, ir_scatter_add(g, idx, upd, 4), IR_F32, IR_SHAPE(4, 2),
              VALS(3, 4, 20, 22, 0, 0, 1, 2), 0);
  IrId one = ci(g, IR_SHAPE(), VALS(1));
  expect_node(g, ir_scatter_add(g, one, cf(g, IR_SHAPE(), VALS(5)), 3), IR_F32, IR_SHAPE(3),
              VALS(0, 5, 0), 0);
  ir_graph_free(g);
}

static void test_one_hot(void **state) {
  IrGraph *g = ir_graph_new("one_hot");
  IrId idx = ci(g, IR_SHAPE(2, 2), VALS(2, -1, 0, 3));
  expect_node(g, ir_one_hot(g, idx, 3), IR_F32, IR_SHAPE(2, 2, 3),
              VALS(0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0), 0);
  expect_node(g, ir_one_hot(g, ci(g, IR_SHAPE(), VALS(0)), 1), IR_F32, IR_SHAPE(1), VALS(1), 0);
  ir_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reshape), cmocka_unit_test(test_transpose),
      cmocka_unit_test(test_slice),   cmocka_unit_test(test_concat),
      cmocka_unit_test(test_pad),     cmocka_unit_test(test_broadcast),
      cmocka_unit_test(test_gather),  cmocka_unit_test(test_scatter_add),
      cmocka_unit_test(test_one_hot),
  };
  return cmocka_run_group_tests(tests, setup_iota, NULL);
}
