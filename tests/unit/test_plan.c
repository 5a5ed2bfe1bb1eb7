/* The program plan's update phase (passes/plan.c, passes/plan_updates.c). Updates are one
 * simultaneous assignment and outputs are the values the step read (docs/ir.md), so programs
 * with swaps, rotations, delay lines and updated or const outputs, compiled, agree with the
 * interpreter step after step; cycles cost one temporary each; and updates that are safe to
 * write in place still are (an Adam step gets no extra copies). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "driver/drv_compare.h"
#include "ir/ir_text.h"
#include "passes/train_graph.h"

#define SRC(rel) SMELT_SOURCE_DIR "/" rel

static IrGraph *load(const char *rel) {
  RtDiags d = {0};
  IrGraph *g = ir_parse_file(rel, &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  if (!g) fail_msg("%s does not parse", rel);
  return g;
}

/* Several steps compiled (fused and not) against the interpreter, updates applied in between. */
static void compare_steps(IrGraph *g, int steps) {
  for (int fused = 0; fused < 2; fused++) {
    DrvCompareOptions o = {.compile = {.no_fusion = !fused, .no_cache = true}, .atol = 1e-5, .rtol = 1e-4,
                          .steps = steps};
    CgCompareResult r;
    RtDiags d = {0};
    bool ok = drv_compare(g, 3, &o, &r, stdout, &d);
    rt_diags_print(&d, stderr);
    rt_diags_free(&d);
    if (!ok) fail_msg("'%s' (%s) differs from the interpreter", g->name, fused ? "fused" : "unfused");
  }
}

static PassPlan *plan_of(const IrGraph *g) { return pass_plan(g, &(PassPlanOptions){.workers = 1}); }

static IrId node(const IrGraph *g, const char *name) {
  IrId id = ir_graph_find(g, name);
  if (id == IR_NONE) fail_msg("no node %%%s", name);
  return id;
}

/* The position of the copy into target t's slot, -1 if there is none. */
static int copy_into(const PassPlan *p, IrId t) {
  for (int c = 0; c < p->n_copies; c++)
    if (p->copies[c].dst.region == p->slots[t].region && p->copies[c].dst.offset == p->slots[t].offset) return c;
  return -1;
}

static void test_swaps_and_rotations(void **state) {
  IrGraph *g = load(SRC("tests/ir/update_cycles.ir"));
  compare_steps(g, 3);
  PassPlan *p = plan_of(g);
  int temps = 0;
  for (int c = 0; c < p->n_copies; c++) temps += p->copies[c].dst.region == PASS_REGION_SCRATCH;
  assert_int_equal(temps, 2); /* one per cycle: a <-> b, and c <- d <- e <- c */
  assert_true(copy_into(p, node(g, "f")) < copy_into(p, node(g, "c"))); /* f <- c reads c first */
  assert_int_equal(copy_into(p, node(g, "g")), -1);                       /* g <- g copies nothing */
  pass_plan_free(p);
  ir_graph_free(g);
}

static void test_delay_line_and_updated_outputs(void **state) {
  IrGraph *g = load(SRC("tests/ir/update_delay.ir"));
  compare_steps(g, 3);
  PassPlan *p = plan_of(g);
  /* h2 <- h1 reads h1's old value, and n is an output: neither target is written in place */
  assert_int_equal(p->in_place_of[node(g, "t")], IR_NONE);
  assert_int_equal(p->in_place_of[node(g, "n1")], IR_NONE);
  int h1 = copy_into(p, node(g, "h1")), h2 = copy_into(p, node(g, "h2")), h3 = copy_into(p, node(g, "h3"));
  assert_true(h3 >= 0 && h3 < h2 && h2 < h1); /* back to front, no temporary */
  for (int i = 0; i < g->n_outputs; i++) assert_int_equal(p->output_slots[i].region, PASS_REGION_IO);
  pass_plan_free(p);
  ir_graph_free(g);
}

static void test_param_output_of_training_step(void **state) {
  IrGraph *g = load(SRC("tests/ir/param_output.ir"));
  RtDiags d = {0};
  PassTraining tr;
  assert_true(pass_build_training(g, g->outputs[0], &(PassOptimizer){.kind = PASS_OPT_SGD}, &tr, &d));
  rt_diags_free(&d);
  compare_steps(g, 2); /* output %w: the weights the step used, not the updated ones */
  ir_graph_free(g);
}

static void test_adam_step_stays_in_place(void **state) {
  IrGraph *g = load(SRC("tests/ir/adam_step.ir"));
  compare_steps(g, 2);
  PassPlan *p = plan_of(g);
  assert_int_equal(p->in_place_of[node(g, "w1")], node(g, "w"));
  int in_place = 0;
  for (int u = 0; u < g->n_updates; u++) in_place += p->in_place_of[g->updates[u].value] == g->updates[u].target;
  assert_int_equal(p->n_copies, g->n_updates - in_place); /* no snapshot, no temporary */
  pass_plan_free(p);
  ir_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_swaps_and_rotations),
      cmocka_unit_test(test_delay_line_and_updated_outputs),
      cmocka_unit_test(test_param_output_of_training_step),
      cmocka_unit_test(test_adam_step_stays_in_place),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
