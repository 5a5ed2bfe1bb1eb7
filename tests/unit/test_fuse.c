/* Fusion (passes/fuse.h). Golden files (tests/passes/fuse: IR text in, simplified as `smelt ir
 * FILE --stage fused` does, the kernel listing out, compared exactly with FILE.expected; the
 * '# views:' and '# epilogue:' lines name exactly the values read as strided views and the
 * members computed in an epilogue), each also compiled and compared with the interpreter, and
 * each differing from the unfused listing, so a fusion pass that fused nothing fails them.
 * At scale: a long elementwise chain is cut into kernels of at most
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
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_support.h"

#include "driver/drv_compare.h"
#include "codegen/cg_program.h"
#include "ir/ir_builder.h"
#include "ir/ir_interp.h"
#include "ir/ir_text.h"
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

/* ---- golden files ---- */

#define GOLDEN_DIR SMELT_SOURCE_DIR "/tests/passes/fuse"

static char *fusion_listing(const PassFusion *f) {
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  pass_fusion_print(f, out);
  fclose(out);
  return buf;
}

/* The names on the "# KEY:" line of text (space-separated, "%" included), as one string with a
 * space before each; fails when the line is missing. */
static void header_names(const char *text, const char *key, char *buf, size_t size, const char *what) {
  char tag[64];
  snprintf(tag, sizeof tag, "# %s:", key);
  const char *p = strstr(text, tag);
  if (!p) fail_msg("%s: no '%s' line", what, tag);
  p += strlen(tag);
  size_t n = strcspn(p, "\n");
  snprintf(buf, size, "%.*s", (int)(n < size ? n : size - 1), p);
}

/* " %a %b" listing the nodes of g for which pick() holds, in graph order. */
static void names_where(const IrGraph *g, const PassFusion *f, bool (*pick)(const PassFusion *, IrId), char *buf,
                        size_t size) {
  buf[0] = 0;
  for (IrId id = 0; id < g->n_nodes; id++) {
    if (!pick(f, id)) continue;
    char lab[64];
    size_t used = strlen(buf);
    snprintf(buf + used, size - used, " %s", ir_node_label(g, id, lab, sizeof lab));
  }
}

static bool is_view(const PassFusion *f, IrId id) { return f->values[id].kind == PASS_VALUE_VIEW; }

static bool is_epilogue(const PassFusion *f, IrId id) {
  int k = f->values[id].kernel;
  if (k < 0 || f->values[id].kind == PASS_VALUE_VIEW) return false;
  const PassKernel *pk = &f->kernels[k];
  for (int i = 0; i < pk->n_ops; i++)
    if (pk->ops[i] == id) return pk->epilogue[i];
  return false;
}

/* Every op node is a view or a member of exactly one kernel, the one its value names. */
static void expect_each_op_once(const IrGraph *g, const PassFusion *f, const char *what) {
  int *seen = calloc((size_t)g->n_nodes + 1, sizeof *seen);
  for (int k = 0; k < f->n_kernels; k++)
    for (int i = 0; i < f->kernels[k].n_ops; i++) {
      IrId id = f->kernels[k].ops[i];
      seen[id]++;
      if (f->values[id].kernel != k) fail_msg("%s: node %d is in kernel %d but names %d", what, id, k, f->values[id].kernel);
    }
  for (IrId id = 0; id < g->n_nodes; id++) {
    if (g->nodes[id]->kind != IR_NODE_OP) continue;
    int want = f->values[id].kind == PASS_VALUE_VIEW ? 0 : 1;
    if (seen[id] != want) fail_msg("%s: node %d is in %d kernels", what, id, seen[id]);
  }
  free(seen);
}

static void run_golden(const char *name) {
  char path[600], expected_path[600], what[700], want_names[512], got_names[512];
  snprintf(path, sizeof path, "%s/%s", GOLDEN_DIR, name);
  snprintf(expected_path, sizeof expected_path, "%s/%.*s.expected", GOLDEN_DIR, (int)(strlen(name) - 3), name);
  snprintf(what, sizeof what, "tests/passes/fuse/%s", name);
  char *text = test_read_text(path, NULL);
  RtDiags d = {0};
  IrGraph *parsed = ir_parse_file(path, &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  if (!parsed) fail_msg("%s does not parse", what);
  IrGraph *g = pass_simplify(parsed, NULL);
  PassFusion *f = pass_fuse(g, NULL);
  expect_each_op_once(g, f, what);
  char *got = fusion_listing(f), *want = test_read_text(expected_path, NULL);
  test_expect_same_text(got, want, what);
  header_names(text, "views", want_names, sizeof want_names, what);
  names_where(g, f, is_view, got_names, sizeof got_names);
  if (strcmp(want_names, got_names)) fail_msg("%s: views are '%s', expected '%s'", what, got_names, want_names);
  header_names(text, "epilogue", want_names, sizeof want_names, what);
  names_where(g, f, is_epilogue, got_names, sizeof got_names);
  if (strcmp(want_names, got_names)) fail_msg("%s: epilogue members are '%s', expected '%s'", what, got_names, want_names);
  /* every case shows fusion at work: unfused, its listing differs */
  PassFuseOptions off = {.no_fusion = true};
  PassFusion *unfused = pass_fuse(g, &off);
  char *plain = fusion_listing(unfused);
  if (!strcmp(plain, want)) fail_msg("%s: the expected kernels are those of no fusion at all", what);
  /* and the fused program computes what the interpreter does */
  DrvCompareOptions o = {.compile = {.no_cache = true}, .atol = 1e-5, .rtol = 1e-4, .steps = 1};
  CgCompareResult r;
  bool ok = drv_compare(g, 1, &o, &r, NULL, &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  if (!ok) fail_msg("%s: the compiled program differs from the interpreter", what);
  free(plain);
  pass_fusion_free(unfused);
  free(got);
  free(want);
  free(text);
  pass_fusion_free(f);
  ir_graph_free(g);
  ir_graph_free(parsed);
}

static void test_golden_files(void **state) {
  int n;
  char **names = test_list_files(GOLDEN_DIR, ".ir", NULL, &n);
  for (int i = 0; i < n; i++) {
    run_golden(names[i]);
    free(names[i]);
  }
  free(names);
  assert_true(n >= 6);
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
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_golden_files),
                                     cmocka_unit_test(test_long_chain_cut_into_kernels),
                                     cmocka_unit_test(test_chain_training_step_compiles),
                                     cmocka_unit_test(test_wide_sum_bounded_arguments),
                                     cmocka_unit_test(test_concat_of_256_steps),
                                     cmocka_unit_test(test_chain_100k_ops)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
