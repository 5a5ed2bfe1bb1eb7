/* The compiler driver (driver/drv_pipeline.h): the stage table, stopping and resuming, the object
 * cache (a hit builds no LLVM module and gives the same kernel counts and the same results),
 * several graphs in one object with a shared state layout, diagnostics, and a scan of the
 * sources that fails when a command spells the pipeline again instead of asking the driver. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <cmocka.h>

#include "codegen/cg_compare.h"
#include "driver/drv_pipeline.h"
#include "ir/ir_interp.h"

#define MLP SMELT_SOURCE_DIR "/examples/ir/mlp.ir"

static void test_stage_table(void **state) {
  (void)state;
  static const char *const order[] = {"built", "grad", "simplified", "planned", "cached", "emitted", "object", "loaded"};
  assert_int_equal(DRV_STAGE_COUNT, sizeof order / sizeof *order);
  for (int s = 0; s < DRV_STAGE_COUNT; s++) {
    assert_string_equal(drv_stage_name((DrvStage)s), order[s]);
    assert_int_equal(drv_stage_parse(order[s]), s);
    assert_true(drv_stage_doc((DrvStage)s) && *drv_stage_doc((DrvStage)s));
  }
  assert_int_equal(drv_stage_parse("fused"), DRV_STAGE_NONE);
  assert_null(drv_stage_name(DRV_STAGE_COUNT));
}

/* A program stops where asked, holds what that stage produced and nothing later, and resumes. */
static void test_stop_and_resume(void **state) {
  (void)state;
  RtDiags d = {0};
  DrvInput in = {.ir_path = MLP, .train = true};
  DrvProgram *p = drv_program_new(&in, 1, &(DrvOptions){.optimizer = {.kind = PASS_OPT_ADAM}, .no_cache = true});
  assert_int_equal(p->reached, DRV_STAGE_NONE);
  assert_true(drv_run(p, DRV_STAGE_GRAD, &d));
  assert_int_equal(p->reached, DRV_STAGE_GRAD);
  assert_true(p->units[0].graph->n_updates > 0); /* the optimizer update is there */
  assert_null(p->units[0].plan);
  assert_true(drv_run(p, DRV_STAGE_PLANNED, &d));
  assert_non_null(p->units[0].plan);
  assert_true(p->units[0].n_kernels > 0);
  assert_false(p->built_module);
  assert_null(p->object);
  assert_true(drv_run(p, DRV_STAGE_OBJECT, &d));
  assert_true(p->built_module);
  assert_false(p->from_cache);
  assert_true(p->object_len > 0);
  assert_null(p->units[0].program);
  assert_true(drv_run(p, DRV_STAGE_LOADED, &d));
  const CgProgram *prog = p->units[0].program;
  assert_non_null(prog);
  assert_non_null(prog->step);
  assert_ptr_equal(prog->plan, p->units[0].plan);
  assert_int_equal(prog->n_unique, p->units[0].n_unique);
  assert_int_equal(d.errors, 0);
  drv_program_free(p);
}

/* The output 0 (the loss) after one step of p from the interpreter's leaves of seed 3. */
static float loss_after_step(const DrvProgram *p) {
  const CgProgram *prog = p->units[0].program;
  const IrGraph *g = prog->plan->g;
  void *r[PASS_REGION_COUNT];
  for (int i = 0; i < PASS_REGION_COUNT; i++) r[i] = calloc(1, (size_t)prog->plan->region_bytes[i] + 64);
  IrInterp *it = ir_interp_new(g);
  ir_interp_init_leaves(it, 3);
  cg_compare_load_leaves(prog, it, r[0], r[1], r[2]);
  ir_interp_free(it);
  prog->step(r[0], r[1], r[2]);
  float loss = *(const float *)cg_program_output(prog, 0, r[0], r[1], r[2]);
  for (int i = 0; i < PASS_REGION_COUNT; i++) free(r[i]);
  return loss;
}

/* On a cache hit no LLVM module is built; the kernel counts (from the plan) and the code's
 * results are those of a compilation. */
static void test_cache_hit_builds_no_module(void **state) {
  (void)state;
  RtDiags d = {0};
  DrvInput in = {.ir_path = MLP, .train = true};
  DrvOptions fresh = {.no_cache = true}, cached = {0};
  DrvProgram *compiled = drv_compile(&in, &fresh, DRV_STAGE_LOADED, &d);
  DrvProgram *first = drv_compile(&in, &cached, DRV_STAGE_LOADED, &d); /* stores the object (or hits) */
  DrvProgram *hit = drv_compile(&in, &cached, DRV_STAGE_LOADED, &d);
  rt_diags_print(&d, stderr);
  assert_true(compiled && first && hit);
  assert_true(compiled->built_module);
  assert_true(hit->from_cache);
  assert_false(hit->built_module);
  assert_true(hit->units[0].program->from_cache);
  assert_int_equal(hit->units[0].n_kernels, compiled->units[0].n_kernels);
  assert_int_equal(hit->units[0].n_unique, compiled->units[0].n_unique);
  assert_int_equal(hit->units[0].program->n_unique, compiled->units[0].n_unique);
  float a = loss_after_step(compiled), b = loss_after_step(hit);
  assert_memory_equal(&a, &b, sizeof a);
  drv_program_free(compiled);
  drv_program_free(first);
  drv_program_free(hit);
}

/* Two graphs in one object (a standalone trainer's training and evaluation steps): both step
 * functions exported, the second graph's params at the first one's offsets. */
static void test_two_units_share_state_and_object(void **state) {
  (void)state;
  RtDiags d = {0};
  DrvInput in[2] = {{.ir_path = MLP, .train = true, .step = "two_train_step"}, {.ir_path = MLP, .step = "two_eval_step"}};
  DrvProgram *p = drv_program_new(in, 2, &(DrvOptions){.workers = 2, .no_cache = true, .module = "two", .prefix = "two"});
  assert_true(drv_run(p, DRV_STAGE_OBJECT, &d));
  rt_diags_print(&d, stderr);
  for (int i = 0; i < 2; i++) {
    const char *name = in[i].step;
    assert_non_null(memmem(p->object, p->object_len, name, strlen(name) + 1));
  }
  const IrGraph *g0 = p->units[0].graph, *g1 = p->units[1].graph;
  int shared = 0;
  for (IrId a = 0; a < g1->n_nodes; a++) {
    if (g1->nodes[a]->kind != IR_NODE_PARAM) continue;
    for (IrId b = 0; b < g0->n_nodes; b++)
      if (g0->nodes[b]->kind == IR_NODE_PARAM && !strcmp(g0->nodes[b]->name, g1->nodes[a]->name)) {
        assert_int_equal(p->units[1].plan->slots[a].offset, p->units[0].plan->slots[b].offset);
        shared++;
      }
  }
  assert_int_equal(shared, 4);
  drv_program_free(p);
}

static void test_diagnostics(void **state) {
  (void)state;
  RtDiags d = {0};
  DrvInput in = {.ir_path = SMELT_SOURCE_DIR "/tests/ir/no_outputs.ir", .train = true};
  DrvProgram *p = drv_program_new(&in, 1, NULL);
  assert_false(drv_run(p, DRV_STAGE_LOADED, &d));
  assert_int_equal(p->reached, DRV_STAGE_BUILT);
  assert_int_equal(d.errors, 1);
  assert_non_null(strstr(d.items[0].msg, "no output to differentiate"));
  assert_non_null(strstr(d.items[0].file, "no_outputs.ir"));
  drv_program_free(p);
  rt_diags_free(&d);
  in = (DrvInput){.ir_path = SMELT_SOURCE_DIR "/tests/ir/does_not_exist.ir"};
  assert_null(drv_compile(&in, NULL, DRV_STAGE_PLANNED, &d));
  assert_true(d.errors >= 1);
  rt_diags_free(&d);
}

/* Calls that make up the pipeline; outside driver/ only their definitions may name them. */
static const char *const PIPELINE_CALLS[] = {"fe_lower(",        "pass_build_training(",    "pass_simplify(",
                                             "pass_plan(",       "cg_program_emit_module(", "cg_optimize(",
                                             "cg_emit_object(",  "cg_cache_load(",          "cg_cache_store("};

static int scan_folder(const char *folder) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/%s", SMELT_SOURCE_DIR, folder);
  DIR *dh = opendir(dir);
  assert_non_null(dh);
  int found = 0;
  for (struct dirent *e; (e = readdir(dh));) {
    size_t n = strlen(e->d_name);
    if (n < 3 || strcmp(e->d_name + n - 2, ".c")) continue;
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[4096];
    for (int ln = 1; fgets(line, sizeof line, f); ln++)
      for (size_t k = 0; k < sizeof PIPELINE_CALLS / sizeof *PIPELINE_CALLS; k++) {
        const char *at = strstr(line, PIPELINE_CALLS[k]), *text = line + strspn(line, " \t");
        /* a call is indented; a definition starts its line ("bool cg_optimize("); comments pass */
        bool definition_or_comment = text == line || !strncmp(text, "/*", 2) || *text == '*' || !strncmp(text, "//", 2);
        if (at && !definition_or_comment) {
          fprintf(stderr, "%s/%s:%d calls %s: a stage of the driver's pipeline\n", folder, e->d_name, ln, PIPELINE_CALLS[k]);
          found++;
        }
      }
    fclose(f);
  }
  closedir(dh);
  return found;
}

/* The pipeline sequence is written once, in driver/: neither the commands, the sweep nor codegen run
 * lowering, the training graph, simplification, planning, emission, optimisation, object
 * writing or the cache themselves. */
static void test_pipeline_written_once(void **state) {
  (void)state;
  assert_int_equal(scan_folder("tools"), 0);
  assert_int_equal(scan_folder("sweep"), 0);
  assert_int_equal(scan_folder("codegen"), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stage_table),
      cmocka_unit_test(test_stop_and_resume),
      cmocka_unit_test(test_cache_hit_builds_no_module),
      cmocka_unit_test(test_two_units_share_state_and_object),
      cmocka_unit_test(test_diagnostics),
      cmocka_unit_test(test_pipeline_written_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
