/* Tests of the IR verifier (ir_verify.h) on graphs built in code and then corrupted one field at
 * a time, the way a buggy pass would: each corruption must give exactly the expected
 * diagnostics (and nothing else), several corruptions must all be reported, and positions of
 * parsed nodes must be used when present. Text-level cases live in tests/ir/bad. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ir/ir_builder.h"
#include "ir/ir_verify.h"

/* %x f32[4,8], %w f32[8,16], %m f32[16], %3 = matmul, %4 = relu, %5 = sum over 0 (f32[16]),
 * %6 = sum of all (f32[]); output %6, update %m <- %5 */
static IrGraph *base(void) {
  IrGraph *g = ir_graph_new("g");
  IrId x = ir_input(g, "x", IR_F32, IR_SHAPE(4, 8));
  IrId w = ir_param(g, "w", IR_SHAPE(8, 16), IR_INIT_UNIFORM, 0.1);
  IrId m = ir_state(g, "m", IR_F32, IR_SHAPE(16), IR_INIT_ZEROS, 0);
  IrId h = ir_relu(g, ir_matmul(g, x, w, false, false));
  IrId s = ir_sum(g, h, 1, (int[]){0}, false);
  IrId loss = ir_sum_all(g, s);
  assert_int_equal(loss, 6);
  ir_graph_add_output(g, loss);
  ir_graph_add_update(g, m, s);
  return g;
}

/* runs the verifier and compares all its diagnostics, one per line, with `expected` */
static void expect_diags(const IrGraph *g, const char *file, const char *expected) {
  RtDiags d = {0};
  bool ok = ir_verify(g, file, &d);
  char got[4096] = "", line[1400];
  for (int i = 0; i < d.count; i++) {
    rt_diag_format(&d.items[i], line, sizeof line);
    snprintf(got + strlen(got), sizeof got - strlen(got), "%s\n", line);
  }
  if (strcmp(got, expected) != 0) fail_msg("-- expected --\n%s-- got --\n%s", expected, got);
  assert_int_equal(ok, expected[0] == 0);
  rt_diags_free(&d);
}

#define E(msg) "error: graph 'g': " msg "\n"

static void test_valid_graph(void **state) {
  IrGraph *g = base();
  expect_diags(g, NULL, "");
  ir_graph_free(g);
}

static void test_operands(void **state) {
  IrGraph *g = base();
  ir_node(g, 4)->in[0] = 99;
  expect_diags(g, NULL, E("%4 (relu): operand 1 refers to node 99, which does not exist"));
  ir_node(g, 4)->in[0] = -1;
  expect_diags(g, NULL, E("%4 (relu): operand 1 refers to node -1, which does not exist"));
  ir_node(g, 4)->in[0] = 5;
  expect_diags(g, NULL, E("%4 (relu): operand 1 (%5) is not defined before this node"));
  ir_node(g, 4)->in[0] = 4;
  expect_diags(g, NULL, E("%4 (relu): operand 1 (%4) is not defined before this node"));
  ir_node(g, 4)->in[0] = 3;
  ir_node(g, 4)->n_in = 0;
  expect_diags(g, NULL, E("%4 (relu): takes 1 operand, got 0"));
  ir_node(g, 3)->n_in = 1;
  expect_diags(g, NULL, E("%3 (matmul): takes 2 operands, got 1") E("%4 (relu): takes 1 operand, got 0"));
  ir_graph_free(g);
}

static void test_attributes(void **state) {
  IrGraph *g = base();
  IrNode *mm = ir_node(g, 3);
  mm->attr[0].n = 2;
  expect_diags(g, NULL, E("%3 (matmul): attribute 'trans_a' needs 1 value, got 2"));
  mm->attr[0].n = 1;
  mm->attr[1].v[0] = (int64_t)1 << 40;
  expect_diags(g, NULL, E("%3 (matmul): attribute 'trans_b' value 1099511627776 is out of range"));
  mm->attr[1].v[0] = 1;
  expect_diags(g, NULL, E("%3 (matmul): inner dimensions differ: f32[4,8] x f32[8,16] (trans_a=0, trans_b=1)"));
  mm->attr[1].v[0] = 0;
  ir_node(g, 5)->attr[0].n = 13;
  expect_diags(g, NULL, E("%5 (reduce_sum): attribute 'axes' has 13 values (0 to 12 allowed)"));
  ir_graph_free(g);

  /* a shape attribute whose product would overflow is caught before the shape rule runs */
  g = ir_graph_new("g");
  IrId x = ir_input(g, "x", IR_F32, IR_SHAPE(4));
  IrId r = ir_reshape(g, x, IR_SHAPE(2, 2));
  IrAttr *a = &ir_node(g, r)->attr[0];
  *a = (IrAttr){6, {65536, 65536, 65536, 65536, 65536, 65536}};
  expect_diags(g, NULL, E("%1 (reshape): attribute 'shape' describes more than 2147483647 elements"));
  ir_graph_free(g);
}

static void test_types(void **state) {
  IrGraph *g = base();
  ir_node(g, 4)->type = (IrType){IR_F32, IR_SHAPE(4, 8)};
  expect_diags(g, NULL, E("%4 (relu): declared type f32[4,8], but the shape rule gives f32[4,16]"));
  ir_node(g, 4)->type.dtype = IR_I32;
  ir_node(g, 4)->type.shape = IR_SHAPE(4, 16);
  /* its users are not checked against a type that is known to be wrong */
  expect_diags(g, NULL, E("%4 (relu): declared type i32[4,16], but the shape rule gives f32[4,16]"));
  ir_node(g, 4)->type.dtype = IR_F32;
  /* a broken leaf type is reported once, not again at each use */
  ir_node(g, 0)->type.shape.dims[1] = 0;
  expect_diags(g, NULL, E("%x (input): dimension 1 is 0; dimensions must be >= 1"));
  ir_node(g, 0)->type.shape.rank = 7;
  expect_diags(g, NULL, E("%x (input): rank 7 is out of range (0 to 6)"));
  ir_node(g, 0)->type.shape = IR_SHAPE(65536, 65536);
  expect_diags(g, NULL, E("%x (input): f32[65536,65536] has more than 2147483647 elements"));
  ir_node(g, 0)->type = (IrType){(IrDType)7, IR_SHAPE(4, 8)};
  expect_diags(g, NULL, E("%x (input): invalid dtype 7"));
  ir_node(g, 0)->type.dtype = IR_F32;
  ir_node(g, 1)->type.dtype = IR_I32;
  expect_diags(g, NULL, E("%w (param): params are f32 or i8, got i32[8,16]")
                            E("%3 (matmul): operand 2 must be f32, got i32[8,16]"));
  ir_graph_free(g);
}

static void test_leaves(void **state) {
  IrGraph *g = ir_graph_new("g");
  IrId c = ir_const_fill(g, IR_F32, IR_SHAPE(2), 1.5);
  IrId k = ir_const_data(g, IR_I32, IR_SHAPE(2), (const double[]){1, 2});
  IrId in = ir_input(g, "in", IR_I32, IR_SHAPE(3));
  IrId p = ir_param(g, "p", IR_SHAPE(2), IR_INIT_NORMAL, 0.5);
  expect_diags(g, NULL, "");
  ir_node(g, c)->init = IR_INIT_UNIFORM;
  expect_diags(g, NULL, E("%0 (const): a const is zeros, ones, fill(v) or data(...), not uniform"));
  ir_node(g, c)->init = IR_INIT_DATA;
  expect_diags(g, NULL, E("%0 (const): init data(...) without elements"));
  ir_node(g, c)->init = IR_INIT_FILL;
  ir_node(g, c)->value = NAN;
  expect_diags(g, NULL, E("%0 (const): fill value is not a number"));
  ir_node(g, c)->value = 1;
  ir_node(g, k)->data[1] = 0.5;
  expect_diags(g, NULL, E("%1 (const): element 1 (0.5) is not an i32 value"));
  ir_node(g, k)->data[1] = 3e9;
  expect_diags(g, NULL, E("%1 (const): element 1 (3000000000) is not an i32 value"));
  ir_node(g, k)->init = IR_INIT_ZEROS;
  expect_diags(g, NULL, E("%1 (const): holds data but its init is zeros"));
  ir_node(g, k)->init = IR_INIT_DATA;
  ir_node(g, k)->data[1] = 2;
  ir_node(g, in)->init = IR_INIT_UNIFORM;
  ir_node(g, in)->value = 0;
  expect_diags(g, NULL, E("%in (input): i32 uniform(0) needs an integer bound >= 1"));
  ir_node(g, in)->value = 10;
  ir_node(g, in)->init = IR_INIT_NORMAL;
  expect_diags(g, NULL, E("%in (input): normal init needs f32"));
  ir_node(g, in)->init = IR_INIT_ZEROS;
  ir_node(g, p)->value = -1;
  expect_diags(g, NULL, E("%p (param): normal(-1) needs a finite value >= 0"));
  ir_node(g, p)->value = 0.5;
  ir_node(g, p)->init = (IrInit)42;
  expect_diags(g, NULL, E("%p (param): invalid init 42"));
  ir_node(g, p)->init = IR_INIT_DATA;
  ir_node(g, p)->data = ir_node(g, k)->data;
  expect_diags(g, NULL, E("%p (param): only a const holds data(...)"));
  ir_node(g, p)->data = NULL;
  ir_node(g, p)->init = IR_INIT_ONES;
  ir_node(g, p)->n_in = 1;
  expect_diags(g, NULL, E("%p (param): a leaf takes no operands, got 1"));
  ir_node(g, p)->n_in = 0;
  ir_node(g, p)->kind = (IrNodeKind)9;
  expect_diags(g, NULL, E("%p (?): invalid node kind 9"));
  ir_node(g, p)->kind = IR_NODE_OP;
  ir_node(g, p)->op = (IrOp)77;
  expect_diags(g, NULL, E("%p (op): invalid op 77"));
  ir_graph_free(g);
}

static void test_names(void **state) {
  IrGraph *g = base();
  ir_node(g, 4)->name = "x";
  expect_diags(g, NULL, E("%x (relu): the name is already used by node 0"));
  ir_node(g, 4)->name = "9lives";
  expect_diags(g, NULL, E("%9lives (relu): '9lives' is not a valid name (a letter or '_', then letters, digits, '_', '.')"));
  ir_node(g, 4)->name = NULL;
  g->name = "my graph";
  expect_diags(g, NULL, "error: graph name 'my graph' is not a valid name\n");
  g->name = "g";
  ir_graph_free(g);
}

static void test_outputs_and_updates(void **state) {
  IrGraph *g = base();
  g->outputs[0] = 42;
  expect_diags(g, NULL, E("output 0: refers to node 42, which does not exist"));
  g->outputs[0] = 6;
  g->updates[0].target = 4;
  expect_diags(g, NULL, E("update %4 <- %5: the target is an op, not a param or state")
                            E("update %4 <- %5: the value is f32[16] but the target is f32[4,16]"));
  g->updates[0] = (IrUpdate){0, 5};
  expect_diags(g, NULL, E("update %x <- %5: the target is an input, not a param or state")
                            E("update %x <- %5: the value is f32[16] but the target is f32[4,8]"));
  g->updates[0] = (IrUpdate){2, 17};
  expect_diags(g, NULL, E("update %m <- %17: the value is node 17, which does not exist"));
  g->updates[0] = (IrUpdate){-3, 5};
  expect_diags(g, NULL, E("update %-3 <- %5: the target is node -3, which does not exist"));
  g->updates[0] = (IrUpdate){2, 5};
  ir_graph_add_update(g, 2, 5);
  expect_diags(g, NULL, E("update %m <- %5: the target is already updated by update 0"));
  ir_graph_free(g);
}

/* several unrelated problems: every one is reported, in node order, then outputs, updates */
static void test_reports_everything(void **state) {
  IrGraph *g = base();
  ir_node(g, 1)->init = IR_INIT_DATA;
  g->name = "two words";
  ir_node(g, 6)->type = (IrType){IR_F32, IR_SHAPE(1)};
  g->outputs[0] = 7;
  ir_graph_add_update(g, 2, 5);
  RtDiags d = {0};
  assert_false(ir_verify(g, "f.ir", &d));
  assert_int_equal(d.errors, 6);
  char line[1400];
  rt_diag_format(&d.items[0], line, sizeof line);
  assert_string_equal(line, "f.ir: error: graph name 'two words' is not a valid name");
  rt_diag_format(&d.items[1], line, sizeof line);
  assert_string_equal(line, "f.ir: error: graph 'two words': %w (param): only a const holds data(...)");
  g->name = "g";
  rt_diags_free(&d);
  ir_graph_free(g);
}

/* parsed nodes are reported at their line:col; unnamed ones by op only (their number in the
 * text may differ from their id) */
static void test_positions(void **state) {
  IrGraph *g = base();
  ir_node(g, 4)->line = 7;
  ir_node(g, 4)->col = 3;
  ir_node(g, 4)->type = (IrType){IR_F32, IR_SHAPE(4, 8)};
  ir_node(g, 1)->line = 3;
  ir_node(g, 1)->col = 5;
  ir_node(g, 1)->init = IR_INIT_NORMAL;
  ir_node(g, 1)->value = -1;
  g->updates[0].target = 0;
  g->updates[0].value = 0;
  IrSrcPos out_pos[] = {{20, 3}}, upd_pos[] = {{21, 3}};
  RtDiags d = {0};
  assert_false(ir_verify_at(g, "p.ir", out_pos, upd_pos, &d));
  char got[2048] = "", line[1400];
  for (int i = 0; i < d.count; i++) {
    rt_diag_format(&d.items[i], line, sizeof line);
    snprintf(got + strlen(got), sizeof got - strlen(got), "%s\n", line);
  }
  assert_string_equal(got, "p.ir:3:5: error: %w (param): normal(-1) needs a finite value >= 0\n"
                           "p.ir:7:3: error: relu: declared type f32[4,8], but the shape rule gives f32[4,16]\n"
                           "p.ir:21:3: error: update: the target is an input, not a param or state\n");
  rt_diags_free(&d);
  ir_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_graph),     cmocka_unit_test(test_operands),
      cmocka_unit_test(test_attributes),      cmocka_unit_test(test_types),
      cmocka_unit_test(test_leaves),          cmocka_unit_test(test_names),
      cmocka_unit_test(test_outputs_and_updates), cmocka_unit_test(test_reports_everything),
      cmocka_unit_test(test_positions),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
