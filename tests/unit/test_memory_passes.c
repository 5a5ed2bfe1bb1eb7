/* The passes that shrink a training step's scratch memory without changing what it computes:
 * eager scheduling of the update phase (passes/schedule.c) and rematerialisation of pointwise
 * forward values in the backward pass (passes/remat.c). Each rewritten graph gives the same
 * outputs and updates as the original, bit for bit in the interpreter, and compiled agrees with
 * the interpreter; each frees what it is meant to free. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "driver/drv_compare.h"
#include "driver/drv_pipeline.h"
#include "ir/ir_interp.h"
#include "ir/ir_text.h"
#include "passes/plan.h"
#include "passes/remat.h"
#include "passes/schedule.h"
#include "passes/simplify.h"
#include "passes/train_graph.h"

#define SRC(rel) SMELT_SOURCE_DIR "/" rel

/* The forward graph in `rel`, made a training step with `kind`; *tr gets the phases. */
static IrGraph *training_step(const char *rel, PassOptimizerKind kind, PassTraining *tr) {
  RtDiags d = {0};
  IrGraph *g = ir_parse_file(rel, &d);
  bool ok = g && pass_build_training(g, g->outputs[0], &(PassOptimizer){.kind = kind}, tr, &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  if (!ok) fail_msg("%s does not make a training step", rel);
  return g;
}

/* Same outputs and update values, bit for bit, from the same named leaves. */
static void expect_same_results(const IrGraph *a, const IrGraph *b) {
  assert_int_equal(a->n_outputs, b->n_outputs);
  assert_int_equal(a->n_updates, b->n_updates);
  IrInterp *ia = ir_interp_new(a), *ib = ir_interp_new(b);
  ir_interp_init_leaves(ia, 7); /* leaves are drawn by name: the same values in both */
  ir_interp_init_leaves(ib, 7);
  ir_interp_run(ia, &(IrInterpOptions){.round_f32 = true});
  ir_interp_run(ib, &(IrInterpOptions){.round_f32 = true});
  for (int i = 0; i < a->n_outputs + a->n_updates; i++) {
    IrId x = i < a->n_outputs ? a->outputs[i] : a->updates[i - a->n_outputs].value;
    IrId y = i < a->n_outputs ? b->outputs[i] : b->updates[i - a->n_outputs].value;
    const IrTensor *tx = ir_interp_value(ia, x), *ty = ir_interp_value(ib, y);
    int64_t n = ir_shape_numel(&tx->type.shape);
    assert_int_equal(n, ir_shape_numel(&ty->type.shape));
    if (memcmp(tx->data, ty->data, (size_t)n * sizeof *tx->data) != 0) fail_msg("result %d differs", i);
  }
  ir_interp_free(ia);
  ir_interp_free(ib);
}

/* Two steps compiled (fused) against the interpreter, updates applied in between. */
static void expect_compiled_agrees(const IrGraph *g) {
  DrvCompareOptions o = {.compile = {.no_cache = true}, .atol = 1e-5, .rtol = 1e-4, .steps = 2};
  CgCompareResult r;
  RtDiags d = {0};
  bool ok = drv_compare(g, 3, &o, &r, stdout, &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  if (!ok) fail_msg("'%s' compiled differs from the interpreter", g->name);
}

static PassPlan *plan_of(const IrGraph *g) { return pass_plan(g, &(PassPlanOptions){.workers = 1}); }

static int64_t scratch_bytes(const IrGraph *g) {
  PassPlan *p = plan_of(g);
  int64_t bytes = p->region_bytes[PASS_REGION_SCRATCH];
  pass_plan_free(p);
  return bytes;
}

/* The update phase of a fresh training step: every node pass_build_training made after the
 * gradients. */
static bool *update_flags(const IrGraph *g, const PassTraining *tr) {
  bool *flags = calloc((size_t)g->n_nodes, sizeof *flags);
  for (IrId id = tr->grads_end; id < g->n_nodes; id++) flags[id] = true;
  return flags;
}

/* A three-layer MLP with Adam: scheduled eagerly, each weight's gradient GEMM and Adam update
 * run as soon as its backward operands exist, so the activations die earlier; every update is
 * still written in place. */
static void test_schedule_updates_early(void **state) {
  PassTraining tr;
  IrGraph *g = training_step(SRC("tests/ir/mlp3.ir"), PASS_OPT_ADAM, &tr);
  bool *flags = update_flags(g, &tr);
  IrGraph *s = pass_schedule_updates(g, flags);
  free(flags);
  expect_same_results(g, s);
  expect_compiled_agrees(s);
  /* leaves first, in their order: same checkpoint layout */
  for (IrId id = 0, k = 0; id < g->n_nodes; id++) {
    if (g->nodes[id]->kind == IR_NODE_OP) continue;
    assert_int_not_equal(s->nodes[k]->kind, IR_NODE_OP);
    if (g->nodes[id]->name) assert_string_equal(s->nodes[k]->name, g->nodes[id]->name);
    k++;
  }
  /* w3's new value no longer comes after everything: it precedes the gradient of w1 */
  IrId w3_new = IR_NONE, w1_new = IR_NONE;
  for (int u = 0; u < s->n_updates; u++) {
    const char *name = s->nodes[s->updates[u].target]->name;
    if (!strcmp(name, "w3")) w3_new = s->updates[u].value;
    if (!strcmp(name, "w1")) w1_new = s->updates[u].value;
  }
  assert_true(w3_new != IR_NONE && w1_new != IR_NONE && w3_new < w1_new);
  PassPlan *p = plan_of(s);
  for (int u = 0; u < s->n_updates; u++)
    if (p->in_place_of[s->updates[u].value] != s->updates[u].target) fail_msg("%s is not updated in place", s->nodes[s->updates[u].target]->name);
  pass_plan_free(p);
  assert_true(scratch_bytes(s) < scratch_bytes(g));
  ir_graph_free(s);
  ir_graph_free(g);
}

/* relu(x * s + b) feeds a max pool: its backward reads the relu's output, which is recomputed
 * there from x, s and b (three ops), so it is no longer kept from the forward pass. */
static void test_remat_recomputes_relu(void **state) {
  PassTraining tr;
  IrGraph *g = training_step(SRC("tests/ir/remat_relu.ir"), PASS_OPT_SGD, &tr);
  IrGraph *simple = pass_simplify(g, NULL);
  PassRematStats stats;
  IrGraph *r = pass_remat(simple, &stats, NULL);
  assert_true(stats.values >= 1);
  assert_true(stats.recomputed >= 3);
  assert_true(stats.bytes >= (int64_t)4 * 16 * 16 * 16 * 4);
  expect_same_results(simple, r);
  expect_compiled_agrees(r);
  /* no backward node reads the forward relu any more */
  IrId relu = ir_graph_find(r, "r");
  assert_int_not_equal(relu, IR_NONE);
  for (IrId id = r->outputs[0] + 1; id < r->n_nodes; id++)
    for (int i = 0; i < r->nodes[id]->n_in; i++) assert_int_not_equal(r->nodes[id]->in[i], relu);
  ir_graph_free(r);
  ir_graph_free(simple);
  ir_graph_free(g);
}

/* An output is kept to the end anyway: recomputing it would free nothing. */
static void test_remat_leaves_outputs_alone(void **state) {
  PassTraining tr;
  IrGraph *g = training_step(SRC("tests/ir/remat_relu.ir"), PASS_OPT_SGD, &tr);
  ir_graph_add_output(g, ir_graph_find(g, "r"));
  IrGraph *simple = pass_simplify(g, NULL);
  PassRematStats stats;
  IrGraph *r = pass_remat(simple, &stats, NULL);
  assert_int_equal(stats.values, 0);
  expect_same_results(simple, r);
  ir_graph_free(r);
  ir_graph_free(simple);
  ir_graph_free(g);
}

/* The training step of `rel` with Adam, through the pipeline to the plan (remat, then the
 * schedule); compiled, it agrees with the interpreter. */
static DrvProgram *pipeline(const char *rel) {
  DrvInput in = {.ir_path = rel, .train = true};
  DrvOptions o = {.optimizer = {.kind = PASS_OPT_ADAM}, .no_cache = true};
  RtDiags d = {0};
  DrvProgram *p = drv_compile(&in, &o, DRV_STAGE_PLANNED, &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  assert_non_null(p);
  expect_compiled_agrees(p->units[0].graph);
  return p;
}

/* Both passes as the pipeline runs them: the MLP's updates (GEMM epilogues) are all written in
 * place, with no copy after the kernels; relu(x * s + b)'s backward pass reads a recomputed relu. */
static void test_pipeline(void **state) {
  DrvProgram *p = pipeline(SRC("tests/ir/mlp3.ir"));
  const IrGraph *g = p->units[0].graph;
  for (int u = 0; u < g->n_updates; u++)
    if (p->units[0].plan->in_place_of[g->updates[u].value] != g->updates[u].target)
      fail_msg("%s is not updated in place", g->nodes[g->updates[u].target]->name);
  assert_int_equal(p->units[0].plan->n_copies, 0);
  drv_program_free(p);
  p = pipeline(SRC("tests/ir/remat_relu.ir"));
  g = p->units[0].graph;
  IrId relu = ir_graph_find(g, "r");
  for (IrId id = g->outputs[0] + 1; id < g->n_nodes; id++)
    for (int i = 0; i < g->nodes[id]->n_in; i++) assert_int_not_equal(g->nodes[id]->in[i], relu);
  drv_program_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_schedule_updates_early),
      cmocka_unit_test(test_remat_recomputes_relu),
      cmocka_unit_test(test_remat_leaves_outputs_alone),
      cmocka_unit_test(test_pipeline),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
