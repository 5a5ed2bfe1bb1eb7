/* Tests of the simplification passes (passes/simplify.h): golden files (tests/passes/simplify:
 * IR text in, one pass, IR text out compared exactly, rule counts checked, every rule covered),
 * and on every golden case and every example's training graph, proof that the simplified graph
 * computes the same outputs and updates as the original (reference interpreter, same leaves),
 * keeps the interface (inputs, params, states in order), and is a fixed point. Also the size
 * caps of constant folding and a 140k-node graph whose simplify time is printed. */
#include <fenv.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "test_support.h"

#include "ir/ir_builder.h"
#include "ir/ir_interp.h"
#include "ir/ir_ops.h"
#include "ir/ir_text.h"
#include "ir/ir_verify.h"
#include "passes/rewrite.h"
#include "passes/simplify.h"
#include "passes/train_graph.h"
#include "runtime/rt_fpenv.h"

#define SRC(rel) SMELT_SOURCE_DIR "/" rel
#define GOLDEN_DIR SRC("tests/passes/simplify")

/* ---- files ---- */

static IrGraph *parse_file_ok(const char *path) {
  RtDiags d = {0};
  IrGraph *g = ir_parse_file(path, &d);
  if (!g) {
    rt_diags_print(&d, stderr);
    fail_msg("%s does not parse", path);
  }
  rt_diags_free(&d);
  return g;
}

static void verify_ok(const IrGraph *g, const char *what) {
  RtDiags d = {0};
  if (!ir_verify(g, NULL, &d)) {
    rt_diags_print(&d, stderr);
    fail_msg("%s: the simplified graph does not verify", what);
  }
  rt_diags_free(&d);
}

/* Fails with the first differing line of two texts, then the whole text obtained. */
/* ---- semantic equivalence ---- */

static bool is_interface(const IrNode *n) {
  return n->kind == IR_NODE_INPUT || n->kind == IR_NODE_PARAM || n->kind == IR_NODE_STATE;
}

static bool same_name(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

/* The interface leaves of g in order; *n gets their count. Caller frees. */
static IrId *interface_of(const IrGraph *g, int *n) {
  IrId *ids = malloc((size_t)(g->n_nodes + 1) * sizeof *ids);
  *n = 0;
  for (IrId id = 0; id < g->n_nodes; id++)
    if (is_interface(g->nodes[id])) ids[(*n)++] = id;
  return ids;
}

static bool close_to(double got, double want, double tol) {
  if (isnan(want)) return isnan(got);
  if (isinf(want)) return got == want;
  return fabs(got - want) <= tol * fmax(1.0, fabs(want));
}

static void expect_close_values(const IrTensor *got, const IrTensor *want, double tol, const char *what,
                                const char *kind, int index) {
  assert_true(ir_type_eq(&got->type, &want->type));
  int64_t count = ir_shape_numel(&want->type.shape);
  for (int64_t i = 0; i < count; i++)
    if (!close_to(got->data[i], want->data[i], tol))
      fail_msg("%s: %s %d element %lld is %.17g, expected %.17g", what, kind, index, (long long)i,
               got->data[i], want->data[i]);
}

/* s (a simplified form of g) must keep g's interface: the same input, param and state nodes
 * (kind, name, type, init) in the same order, as many outputs, and updates of the same targets
 * in the same order. Then both run one step on the same leaf values (g's leaves drawn with
 * `seed`, copied into s) and every output and update value must agree within tol. */
static void expect_equivalent(const IrGraph *g, const IrGraph *s, uint64_t seed, bool round_f32,
                              double tol, const char *what) {
  int ng, ns;
  IrId *lg = interface_of(g, &ng), *ls = interface_of(s, &ns);
  assert_int_equal(ng, ns);
  int *slot_of = malloc((size_t)(g->n_nodes + 1) * sizeof *slot_of);
  for (int i = 0; i < ng; i++) {
    const IrNode *a = g->nodes[lg[i]], *b = s->nodes[ls[i]];
    if (a->kind != b->kind || !same_name(a->name, b->name) || !ir_type_eq(&a->type, &b->type) ||
        a->init != b->init || memcmp(&a->value, &b->value, sizeof a->value) != 0)
      fail_msg("%s: interface leaf %d differs after simplification", what, i);
    slot_of[lg[i]] = i;
  }
  assert_int_equal(g->n_outputs, s->n_outputs);
  assert_int_equal(g->n_updates, s->n_updates);
  for (int u = 0; u < g->n_updates; u++)
    assert_int_equal(ls[slot_of[g->updates[u].target]], s->updates[u].target);

  IrInterp *ig = ir_interp_new(g), *is = ir_interp_new(s);
  ir_interp_init_leaves(ig, seed);
  for (int i = 0; i < ng; i++) {
    const IrTensor *from = ir_interp_value(ig, lg[i]);
    IrTensor *to = ir_interp_value(is, ls[i]);
    memcpy(to->data, from->data, (size_t)ir_shape_numel(&from->type.shape) * sizeof *to->data);
  }
  IrInterpOptions opt = {.round_f32 = round_f32};
  ir_interp_run(ig, &opt);
  ir_interp_run(is, &opt);
  for (int i = 0; i < g->n_outputs; i++)
    expect_close_values(ir_interp_value(is, s->outputs[i]), ir_interp_value(ig, g->outputs[i]), tol,
                        what, "output", i);
  for (int u = 0; u < g->n_updates; u++)
    expect_close_values(ir_interp_value(is, s->updates[u].value),
                        ir_interp_value(ig, g->updates[u].value), tol, what, "update", u);
  ir_interp_free(ig);
  ir_interp_free(is);
  free(slot_of);
  free(lg);
  free(ls);
}

static int64_t total_fired(const PassSimplifyStats *s) {
  int64_t t = 0;
  for (int r = 0; r < PASS_RULE_COUNT; r++) t += s->fired[r];
  return t;
}

/* ---- golden files ---- */

typedef IrGraph *(*PassFn)(const IrGraph *, PassSimplifyStats *);

static PassFn pass_by_name(const char *name) {
  if (!strcmp(name, "fold")) return pass_fold_constants;
  if (!strcmp(name, "identities")) return pass_apply_identities;
  if (!strcmp(name, "cse")) return pass_cse;
  if (!strcmp(name, "dce")) return pass_dce;
  if (!strcmp(name, "all")) return pass_simplify;
  return NULL;
}

static PassSimplifyRule rule_by_name(const char *name) {
  for (int r = 0; r < PASS_RULE_COUNT; r++)
    if (!strcmp(pass_simplify_rule_name((PassSimplifyRule)r), name)) return (PassSimplifyRule)r;
  return PASS_RULE_COUNT;
}

/* The text after "# key:" on a header line of text, up to the end of line, into buf; false if
 * there is no such line. */
static bool header_value(const char *text, const char *key, char *buf, size_t size) {
  char tag[64];
  snprintf(tag, sizeof tag, "# %s:", key);
  const char *p = strstr(text, tag);
  if (!p) return false;
  p += strlen(tag);
  size_t n = strcspn(p, "\n");
  snprintf(buf, size, "%.*s", (int)(n < size ? n : size - 1), p);
  return true;
}

/* "# fired: rule=N rule=N": exactly these rules fired, N times each; every other rule never. */
static void check_fired(const char *text, const PassSimplifyStats *st, const char *what) {
  char line[512], *save = NULL;
  int64_t want[PASS_RULE_COUNT] = {0};
  if (!header_value(text, "fired", line, sizeof line)) fail_msg("%s: no '# fired:' line", what);
  for (char *tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
    char *eq = strchr(tok, '=');
    if (!eq) fail_msg("%s: bad '# fired:' entry '%s'", what, tok);
    *eq = 0;
    PassSimplifyRule r = rule_by_name(tok);
    if (r == PASS_RULE_COUNT) fail_msg("%s: unknown rule '%s'", what, tok);
    want[r] = atoll(eq + 1);
  }
  for (int r = 0; r < PASS_RULE_COUNT; r++)
    if (st->fired[r] != want[r]) {
      pass_simplify_stats_print(st, stderr);
      fail_msg("%s: rule %s fired %lld times, expected %lld", what,
               pass_simplify_rule_name((PassSimplifyRule)r), (long long)st->fired[r],
               (long long)want[r]);
    }
}

static void run_golden(const char *name, int64_t *coverage, int *passes_seen) {
  char path[600], expected_path[600], pass_name[64], what[700];
  snprintf(path, sizeof path, "%s/%s", GOLDEN_DIR, name);
  snprintf(expected_path, sizeof expected_path, "%s/%.*s.expected.ir", GOLDEN_DIR,
           (int)(strlen(name) - 3), name);
  snprintf(what, sizeof what, "tests/passes/simplify/%s", name);
  char *text = test_read_text(path, NULL);
  if (!header_value(text, "pass", pass_name, sizeof pass_name)) fail_msg("%s: no '# pass:' line", what);
  char *trimmed = pass_name + strspn(pass_name, " ");
  PassFn pass = pass_by_name(trimmed);
  if (!pass) fail_msg("%s: unknown pass '%s'", what, trimmed);
  passes_seen[pass == pass_fold_constants ? 0 : pass == pass_apply_identities ? 1 : pass == pass_cse ? 2
              : pass == pass_dce ? 3 : 4]++;

  IrGraph *g = parse_file_ok(path);
  PassSimplifyStats st = {0};
  IrGraph *s = pass(g, &st);
  verify_ok(s, what);
  assert_int_equal(st.nodes_before, g->n_nodes);
  assert_int_equal(st.nodes_after, s->n_nodes);
  char *got = ir_print_to_string(s), *want = test_read_text(expected_path, NULL);
  test_expect_same_text(got, want, what);
  check_fired(text, &st, what);
  for (int r = 0; r < PASS_RULE_COUNT; r++) coverage[r] += st.fired[r];

  /* the expected file is canonical text of the same graph */
  IrGraph *back = parse_file_ok(expected_path);
  char why[256];
  if (!ir_graph_equal(back, s, why, sizeof why)) fail_msg("%s: expected file re-parses differently: %s", what, why);
  /* same results as the input, folded consts being what an f32 backend computes */
  for (uint64_t seed = 1; seed <= 3; seed++) expect_equivalent(g, s, seed, true, 1e-12, what);
  /* simplify reaches a fixed point */
  if (pass == pass_simplify) {
    PassSimplifyStats again = {0};
    IrGraph *s2 = pass_simplify(s, &again);
    assert_int_equal(total_fired(&again), 0);
    assert_int_equal(again.rounds, 1);
    ir_graph_free(s2);
  }
  ir_graph_free(back);
  free(got);
  free(want);
  free(text);
  ir_graph_free(s);
  ir_graph_free(g);
}

static void test_golden_files(void **state) {
  int n;
  char **names = test_list_files(GOLDEN_DIR, ".ir", ".expected.ir", &n);
  int64_t coverage[PASS_RULE_COUNT] = {0};
  int passes_seen[5] = {0};
  for (int i = 0; i < n; i++) {
    run_golden(names[i], coverage, passes_seen);
    free(names[i]);
  }
  free(names);
  assert_true(n >= 10);
  for (int p = 0; p < 5; p++) assert_true(passes_seen[p] >= 1);
  for (int r = 0; r < PASS_RULE_COUNT; r++)
    if (!coverage[r]) fail_msg("no golden case exercises rule %s", pass_simplify_rule_name((PassSimplifyRule)r));
}

/* ---- the examples' training graphs ---- */

/* The training step of an example: pass_build_training with Adam, unless the program already
 * updates a param itself (it is a training step as written, such as linreg_sgd.ir). */
static IrGraph *training_graph_of(const char *path) {
  IrGraph *g = parse_file_ok(path);
  for (int u = 0; u < g->n_updates; u++)
    if (ir_node(g, g->updates[u].target)->kind == IR_NODE_PARAM) return g;
  RtDiags d = {0};
  PassTraining t;
  PassOptimizer opt = {.kind = PASS_OPT_ADAM};
  if (!pass_build_training(g, g->outputs[0], &opt, &t, &d)) {
    rt_diags_print(&d, stderr);
    fail_msg("%s: cannot build the training graph", path);
  }
  rt_diags_free(&d);
  verify_ok(g, path);
  return g;
}

static void test_examples_training_graphs(void **state) {
  int n;
  char **names = test_list_files(SRC("examples/ir"), ".ir", NULL, &n);
  assert_true(n >= 5);
  for (int i = 0; i < n; i++) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s", SRC("examples/ir"), names[i]);
    IrGraph *g = training_graph_of(path);
    PassSimplifyStats st = {0};
    IrId *map = malloc((size_t)g->n_nodes * sizeof *map);
    IrGraph *s = pass_simplify_map(g, &st, map);
    verify_ok(s, path);
    assert_true(s->n_nodes <= g->n_nodes);
    assert_int_equal(st.nodes_before, g->n_nodes);
    assert_int_equal(st.nodes_after, s->n_nodes);
    print_message("  %-16s training graph: %4d -> %4d nodes, %d rounds\n", names[i], g->n_nodes,
                  s->n_nodes, st.rounds);
    /* the map carries outputs and updates over */
    for (int k = 0; k < g->n_outputs; k++) assert_int_equal(map[g->outputs[k]], s->outputs[k]);
    for (int k = 0; k < g->n_updates; k++) {
      assert_int_equal(map[g->updates[k].target], s->updates[k].target);
      assert_int_equal(map[g->updates[k].value], s->updates[k].value);
    }
    /* one step: same loss, outputs and updated params/moments, in double and in f32 rounding */
    expect_equivalent(g, s, 7, false, 1e-12, path);
    expect_equivalent(g, s, 8, true, 1e-12, path);
    /* a fixed point */
    PassSimplifyStats again = {0};
    IrGraph *s2 = pass_simplify(s, &again);
    assert_int_equal(total_fired(&again), 0);
    assert_int_equal(s2->n_nodes, s->n_nodes);
    ir_graph_free(s2);
    ir_graph_free(s);
    ir_graph_free(g);
    free(map);
    free(names[i]);
  }
  free(names);
}

/* ---- folding limits ---- */

static const IrNode *output_node(const IrGraph *g, int i) { return ir_node(g, g->outputs[i]); }

/* A broadcast of a scalar to a million elements folds to a fill, and so does exp of it, at no
 * cost in memory; reducing it would need the million elements and stays an op. */
static void test_fold_big_fill_stays_fill(void **state) {
  IrGraph *g = ir_graph_new("big");
  IrId b = ir_broadcast(g, ir_scalar(g, 2.0), IR_SHAPE(1000, 1000));
  IrId e = ir_exp(g, b);
  ir_graph_add_output(g, ir_sum_all(g, e));
  ir_graph_add_output(g, e);
  assert_string_equal(g->error, "");
  PassSimplifyStats st = {0};
  IrGraph *s = pass_simplify(g, &st);
  verify_ok(s, "big");
  const IrNode *sum = output_node(s, 0), *ex = output_node(s, 1);
  assert_int_equal(sum->kind, IR_NODE_OP);
  assert_int_equal(sum->op, IR_OP_REDUCE_SUM);
  assert_int_equal(ex->kind, IR_NODE_CONST);
  assert_int_equal(ex->init, IR_INIT_FILL);
  assert_null(ex->data);
  assert_true(ex->value == (double)(float)exp(2.0)); /* rounded as an f32 backend stores it */
  assert_int_equal(sum->in[0], s->outputs[1]);
  assert_int_equal(st.fired[PASS_RULE_FOLD], 2);
  expect_equivalent(g, s, 1, true, 1e-12, "big");
  ir_graph_free(s);
  ir_graph_free(g);
}

/* Folding computes IEEE values whatever the compiler's floating-point mode: smelt runs with
 * flush-to-zero, under which (1 / 1e38) * 1e38 (the folded gradient of (w * 1e38) / 1e38)
 * came out 0. Subnormal constants are kept exactly, rounded to the f32 grid (ties to even). */
static void test_fold_ignores_flush_to_zero(void **state) {
  fenv_t saved;
  fegetenv(&saved);
  rt_fpenv_flush_denormals(); /* as smelt runs */
  IrGraph *g = ir_graph_new("ftz");
  IrId big = ir_scalar(g, 1e38);
  IrId tiny = ir_div(g, ir_broadcast(g, ir_scalar(g, 1.0), IR_SHAPE(4)), big);
  ir_graph_add_output(g, ir_mul(g, tiny, big));
  ir_graph_add_output(g, tiny);
  ir_graph_add_output(g, ir_mul(g, ir_scalar(g, 0x1p-149), ir_scalar(g, 1.5))); /* tie: to even */
  IrGraph *s = pass_simplify(g, NULL);
  fesetenv(&saved);
  verify_ok(s, "ftz");
  for (int i = 0; i < 3; i++) assert_int_equal(output_node(s, i)->kind, IR_NODE_CONST);
  assert_true(fabs(output_node(s, 0)->value - 1.0) < 1e-6);
  assert_true(output_node(s, 1)->value == 7136239 * 0x1p-149); /* 1 / (float)1e38 on the subnormal grid */
  assert_true(output_node(s, 2)->value == 0x1p-148);
  ir_graph_free(s);
  ir_graph_free(g);
}

/* data(...) results are materialised only up to a modest size */
static void test_fold_data_cap(void **state) {
  IrGraph *g = ir_graph_new("cap");
  double *small = malloc(900 * sizeof *small), *big = malloc(1600 * sizeof *big);
  for (int i = 0; i < 900; i++) small[i] = 0.5 * i;
  for (int i = 0; i < 1600; i++) big[i] = 0.25 * i;
  IrId ns = ir_neg(g, ir_const_data(g, IR_F32, IR_SHAPE(30, 30), small));
  IrId nb = ir_neg(g, ir_const_data(g, IR_F32, IR_SHAPE(40, 40), big));
  ir_graph_add_output(g, ns);
  ir_graph_add_output(g, nb);
  IrGraph *s = pass_fold_constants(g, NULL);
  verify_ok(s, "cap");
  assert_int_equal(output_node(s, 0)->init, IR_INIT_DATA);
  assert_int_equal(output_node(s, 0)->kind, IR_NODE_CONST);
  assert_true(output_node(s, 0)->data[3] == -1.5);
  assert_int_equal(output_node(s, 1)->kind, IR_NODE_OP);
  expect_equivalent(g, s, 1, true, 0, "cap");
  ir_graph_free(s);
  ir_graph_free(g);
  free(small);
  free(big);
}

/* ---- scale ---- */

static double seconds_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* 20000 unrolled steps of h = transpose(transpose((tanh(h) + tanh(h)) * 1)): 140k nodes, every
 * pass busy (a fresh const 1 per step, a duplicated tanh, a transpose pair). The time is printed,
 * not asserted (a loaded or sanitized machine is slow), so this test checks the result at scale;
 * a quadratic CSE or name lookup (minutes instead of a fraction of a second) shows in the printed
 * time and in the suite's run time, not as a failure. */
static void test_scale_linear(void **state) {
  enum { STEPS = 20000 };
  IrGraph *g = ir_graph_new("unrolled");
  IrId h = ir_input(g, "x", IR_F32, IR_SHAPE(2, 3));
  ir_node(g, h)->init = IR_INIT_UNIFORM;
  ir_node(g, h)->value = 1;
  const int swap[2] = {1, 0};
  for (int i = 0; i < STEPS; i++) {
    IrId one = ir_scalar(g, 1.0);
    IrId c = ir_add(g, ir_tanh(g, h), ir_tanh(g, h));
    h = ir_transpose(g, ir_transpose(g, ir_mul(g, c, one), 2, swap), 2, swap);
  }
  ir_graph_add_output(g, h);
  assert_string_equal(g->error, "");
  assert_int_equal(g->n_nodes, 1 + 7 * STEPS);
  double t0 = seconds_now();
  PassSimplifyStats st = {0};
  IrGraph *s = pass_simplify(g, &st);
  double dt = seconds_now() - t0;
  print_message("  simplify of %d nodes: %.3f s, %d -> %d nodes\n", g->n_nodes, dt, g->n_nodes,
                s->n_nodes);
  assert_int_equal(s->n_nodes, 1 + 2 * STEPS); /* tanh and add per step */
  assert_int_equal(st.fired[PASS_RULE_CSE_OP], STEPS);
  assert_int_equal(st.fired[PASS_RULE_MUL_ONE], STEPS);
  assert_int_equal(st.fired[PASS_RULE_TRANSPOSE_TRANSPOSE], STEPS);
  verify_ok(s, "unrolled");
  expect_equivalent(g, s, 3, false, 0, "unrolled");
  ir_graph_free(s);
  ir_graph_free(g);
}

/* ---- API ---- */

/* The rewrite utility on its own: copy, replace by a new op that takes the old name, replace by
 * an existing value, drop; outputs and updates follow the map. */
static void test_rewrite_utility(void **state) {
  IrGraph *g = ir_graph_new("rw");
  IrId x = ir_input(g, "x", IR_F32, IR_SHAPE(2));
  IrId w = ir_param(g, "w", IR_SHAPE(2), IR_INIT_ZEROS, 0);
  IrId a = ir_exp(g, x), b = ir_tanh(g, a), dead = ir_neg(g, x), c = ir_add(g, b, w);
  ir_graph_set_name(g, b, "b");
  ir_graph_set_name(g, dead, "dead");
  ir_graph_add_output(g, b);
  ir_graph_add_output(g, c);
  ir_graph_add_update(g, w, c);
  PassRewrite rw;
  pass_rewrite_begin(&rw, g);
  pass_rewrite_copy(&rw, x);
  pass_rewrite_copy(&rw, w);
  pass_rewrite_copy(&rw, a);
  IrId sig = pass_rewrite_add_op(&rw, IR_OP_SIGMOID, 1, (IrId[]){pass_rewrite_value(&rw, a)}, NULL);
  pass_rewrite_replace(&rw, b, sig, true); /* b becomes sigmoid(a), keeping the name */
  pass_rewrite_drop(&rw, dead);
  assert_int_equal(pass_rewrite_operand(&rw, c, 0)->op, IR_OP_SIGMOID);
  pass_rewrite_replace(&rw, c, pass_rewrite_value(&rw, w), false); /* c becomes w */
  IrGraph *s = pass_rewrite_finish(&rw);
  verify_ok(s, "rw");
  char *text = ir_print_to_string(s);
  assert_string_equal(text,
                      "graph rw {\n"
                      "  %x = input uniform(1) : f32[2]\n"
                      "  %w = param zeros : f32[2]\n"
                      "  %2 = exp(%x) : f32[2]\n"
                      "  %b = sigmoid(%2) : f32[2]\n"
                      "  output %b\n"
                      "  output %w\n"
                      "  update %w <- %w\n"
                      "}\n");
  free(text);
  ir_graph_free(s);
  ir_graph_free(g);
}

static void test_stats_and_names(void **state) {
  for (int r = 0; r < PASS_RULE_COUNT; r++)
    assert_string_not_equal(pass_simplify_rule_name((PassSimplifyRule)r), "?");
  assert_string_equal(pass_simplify_rule_name(PASS_RULE_COUNT), "?");
  PassSimplifyStats st = {.nodes_before = 10, .nodes_after = 7};
  st.fired[PASS_RULE_MUL_ONE] = 2;
  st.fired[PASS_RULE_DCE] = 1;
  char buf[256] = "";
  FILE *f = fmemopen(buf, sizeof buf - 1, "w");
  pass_simplify_stats_print(&st, f);
  fclose(f);
  assert_string_equal(buf, "nodes: 10 -> 7\n  mul_one: 2\n  dce: 1\n");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_golden_files),
      cmocka_unit_test(test_examples_training_graphs),
      cmocka_unit_test(test_fold_big_fill_stays_fill),
      cmocka_unit_test(test_fold_data_cap),
      cmocka_unit_test(test_fold_ignores_flush_to_zero),
      cmocka_unit_test(test_scale_linear),
      cmocka_unit_test(test_rewrite_utility),
      cmocka_unit_test(test_stats_and_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
