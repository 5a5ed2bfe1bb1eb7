/* Fusion (passes/fuse.h) at scale: a long elementwise chain is cut into kernels of at most
 * PASS_FUSE_MAX_OPS ops that cover every op once; the training step of a 600-op chain compiles
 * and matches the interpreter; a sum of 256 values is cut into kernels of bounded arguments, a
 * concat of 256 steps into nested concats;
 * a 100,000-op chain is fused, planned and described for codegen.
 * Nothing is timed: a quadratic pass shows in the suite's run time (minutes), not as a failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "driver/drv_compare.h"
#include "codegen/cg_program.h"
#include "ir/ir_builder.h"
#include "ir/ir_interp.h"
#include "passes/plan.h"
#include "passes/simplify.h"
#include "passes/train_graph.h"

/* x (f32[4,16]) * w, then n - 1 ops cycling tanh, * c, + c with one shared scalar const c (a
 * node with n / 2 users); returns the last value. */
static IrId chain(IrGraph *g, int n) {
  IrId x = ir_input(g, "x", IR_F32, IR_SHAPE(4, 16));
  ir_node(g, x)->init = IR_INIT_UNIFORM;
  ir_node(g, x)->value = 1;
  IrId w = ir_param(g, "w", IR_SHAPE(16), IR_INIT_UNIFORM, 0.5);
  IrId c = ir_scalar(g, 0.5);
  IrId h = ir_mul(g, x, w);
  for (int i = 1; i < n; i++)
    h = i % 3 == 0 ? ir_tanh(g, h) : i % 3 == 1 ? ir_mul(g, h, c) : ir_add(g, h, c);
  return h;
}

static int count_ops(const IrGraph *g) {
  int n = 0;
  for (IrId i = 0; i < g->n_nodes; i++) n += g->nodes[i]->kind == IR_NODE_OP;
  return n;
}

/* Every op in exactly one kernel, no kernel above the cap; returns the number of kernels. */
static int check_kernels(const IrGraph *g, const PassFusion *f) {
  int covered = 0;
  for (int k = 0; k < f->n_kernels; k++) {
    const PassKernel *pk = &f->kernels[k];
    if (pk->n_ops > PASS_FUSE_MAX_OPS) fail_msg("kernel %d holds %d ops", k, pk->n_ops);
    for (int i = 0; i < pk->n_ops; i++) assert_int_equal(f->values[pk->ops[i]].kernel, k);
    covered += pk->n_ops;
  }
  assert_int_equal(covered, count_ops(g));
  return f->n_kernels;
}

static void test_long_chain_cut_into_kernels(void **state) {
  enum { N = 1000 };
  IrGraph *g = ir_graph_new("chain");
  ir_graph_add_output(g, chain(g, N));
  assert_string_equal(g->error, "");
  PassFusion *f = pass_fuse(g, NULL);
  assert_int_equal(check_kernels(g, f), (N + PASS_FUSE_MAX_OPS - 1) / PASS_FUSE_MAX_OPS);
  /* each cut value is written to memory by its kernel and read by the next */
  for (int k = 0; k + 1 < f->n_kernels; k++) {
    IrId last = f->kernels[k].ops[f->kernels[k].n_ops - 1];
    assert_int_equal(f->values[last].kind, PASS_VALUE_BUFFER);
  }
  pass_fusion_free(f);
  ir_graph_free(g);
}

/* The backward pass of a tanh chain reads every saved tanh output: one kernel for all of it
 * needed more than CG_MAX_ARGS pointers (an internal abort before the cap). */
static void test_chain_training_step_compiles(void **state) {
  IrGraph *g = ir_graph_new("chain_step");
  IrId loss = ir_sum_all(g, chain(g, 600));
  PassOptimizer opt = {.kind = PASS_OPT_SGD};
  PassTraining tr;
  RtDiags d = {0};
  assert_true(pass_build_training(g, loss, &opt, &tr, &d));
  IrGraph *s = pass_simplify(g, NULL);
  DrvCompareOptions o = {.compile = {.no_cache = true}, .atol = 1e-5, .rtol = 1e-4, .steps = 1};
  CgCompareResult r;
  bool ok = drv_compare(s, 3, &o, &r, NULL, &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  assert_true(ok);
  assert_true(r.n_unique < r.n_kernels / 4); /* the chain's pieces share their code */
  ir_graph_free(s);
  ir_graph_free(g);
}

/* The gradient of a weight shared by 256 time steps is a sum of 256 GEMM outputs: as one loop
 * kernel it needed 257 pointer arguments (an internal abort). The sum is cut into kernels that
 * read at most PASS_FUSE_MAX_ARGS values, and still matches the interpreter. */
static void test_wide_sum_bounded_arguments(void **state) {
  enum { T = 256 };
  IrGraph *g = ir_graph_new("wide_sum");
  IrId w = ir_param(g, "w", IR_SHAPE(8, 8), IR_INIT_UNIFORM, 0.5);
  IrId sum = IR_NONE;
  for (int t = 0; t < T; t++) {
    char name[16];
    snprintf(name, sizeof name, "x%d", t);
    IrId x = ir_input(g, name, IR_F32, IR_SHAPE(4, 8));
    ir_node(g, x)->init = IR_INIT_UNIFORM;
    ir_node(g, x)->value = 1;
    IrId y = ir_matmul(g, x, w, false, false);
    sum = sum == IR_NONE ? y : ir_add(g, sum, y);
  }
  ir_graph_add_output(g, sum);
  assert_string_equal(g->error, "");
  PassFusion *f = pass_fuse(g, NULL);
  check_kernels(g, f);
  for (int k = 0; k < f->n_kernels; k++) {
    const PassKernel *pk = &f->kernels[k];
    int reads = 0; /* distinct values read from outside the kernel */
    for (IrId v = 0; v < g->n_nodes; v++) {
      bool read = false;
      for (int i = 0; i < pk->n_ops && !read; i++) {
        const IrNode *n = g->nodes[pk->ops[i]];
        for (int j = 0; j < n->n_in; j++) read |= n->in[j] == v && f->values[v].kernel != k;
      }
      reads += read;
    }
    if (reads + pk->n_outputs > PASS_FUSE_MAX_ARGS)
      fail_msg("kernel %d reads %d values and writes %d", k, reads, pk->n_outputs);
  }
  pass_fusion_free(f);
  DrvCompareOptions o = {.compile = {.no_cache = true}, .atol = 1e-4, .rtol = 1e-4, .steps = 1};
  CgCompareResult r;
  RtDiags d = {0};
  bool ok = drv_compare(g, 5, &o, &r, NULL, &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  assert_true(ok);
  ir_graph_free(g);
}

/* An LSTM over a 256-column line concatenates 256 time steps: one concat node of 256 operands
 * was one opaque kernel of 257 pointer arguments (an internal abort). The builder nests concats
 * of at most 32 operands; the result still matches the interpreter, row t being step t. */
static void test_concat_of_256_steps(void **state) {
  enum { T = 256 };
  IrGraph *g = ir_graph_new("steps");
  IrId hs[T];
  for (int t = 0; t < T; t++) {
    char name[16];
    snprintf(name, sizeof name, "h%d", t);
    hs[t] = ir_input(g, name, IR_F32, IR_SHAPE(1, 4));
    ir_node(g, hs[t])->init = IR_INIT_UNIFORM;
    ir_node(g, hs[t])->value = 1;
  }
  IrId out = ir_concat(g, T, hs, 0);
  ir_graph_add_output(g, out);
  assert_string_equal(g->error, "");
  assert_int_equal(ir_type_of(g, out)->shape.dims[0], T);
  for (IrId i = 0; i < g->n_nodes; i++)
    if (g->nodes[i]->kind == IR_NODE_OP) assert_in_range(g->nodes[i]->n_in, 1, 32);
  IrInterp *it = ir_interp_new(g);
  ir_interp_init_leaves(it, 9);
  ir_interp_run(it, NULL);
  const IrTensor *y = ir_interp_value(it, out);
  for (int t = 0; t < T; t++)
    for (int j = 0; j < 4; j++) assert_true(y->data[4 * t + j] == ir_interp_value(it, hs[t])->data[j]);
  ir_interp_free(it);
  DrvCompareOptions o = {.compile = {.no_cache = true}, .atol = 0, .rtol = 0, .steps = 1};
  CgCompareResult r;
  RtDiags d = {0};
  bool ok = drv_compare(g, 9, &o, &r, NULL, &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  assert_true(ok);
  ir_graph_free(g);
}

static void test_chain_100k_ops(void **state) {
  enum { N = 100000 };
  IrGraph *g = ir_graph_new("chain_100k");
  ir_graph_add_output(g, chain(g, N));
  assert_string_equal(g->error, "");
  PassPlanOptions po = {.workers = 1};
  PassPlan *p = pass_plan(g, &po);
  int kernels = check_kernels(g, p->fusion);
  assert_int_equal(kernels, (N + PASS_FUSE_MAX_OPS - 1) / PASS_FUSE_MAX_OPS);
  /* each cut value dies in the next kernel, which writes over it: one f32[4,16] slot */
  assert_int_equal(p->scratch.arena_bytes, 4 * 16 * 4);
  int unique = cg_program_count_unique(p);
  assert_true(unique >= 2 && unique <= 8);
  pass_plan_free(p);
  ir_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_long_chain_cut_into_kernels),
                                     cmocka_unit_test(test_chain_training_step_compiles),
                                     cmocka_unit_test(test_wide_sum_bounded_arguments),
                                     cmocka_unit_test(test_concat_of_256_steps),
                                     cmocka_unit_test(test_chain_100k_ops)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
