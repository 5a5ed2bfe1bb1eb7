/* Lowered graphs of tiny presets compiled with LLVM against the reference interpreter
 * (cg_compare): the whole training step (forward, backward, Adam, batch-norm running
 * statistics, dropout, the per-layer gradient norms) and the inference and validation graphs
 * (greedy decoding, stop mask, CTC argmax). The unrolled LSTM and decoder steps must deduplicate into far fewer unique
 * kernels than kernel calls. Winograd convolutions (all three ops) too, with tiles of 2 and of 4.
 * A training step compiled for 1 and for 3 threads must give the same
 * bits: the thread count may change who computes a block, never how it is computed. */
#include <setjmp.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "driver/drv_compare.h"
#include "frontend/fe_lower.h"
#include "ir/ir_verify.h"
#include "passes/train_graph.h"
#include "runtime/rt_pool.h"

/* A preset by its path under the source tree, or a bare name under tests/frontend/presets. */
static FePreset *load(const char *name) {
  RtDiags d = {0};
  char path[512];
  if (strchr(name, '/')) snprintf(path, sizeof path, "%s/%s", SMELT_SOURCE_DIR, name);
  else snprintf(path, sizeof path, "%s/tests/frontend/presets/%s.yaml", SMELT_SOURCE_DIR, name);
  FePreset *p = fe_preset_load(path, &d);
  rt_diags_print(&d, stderr);
  assert_non_null(p);
  return p;
}

/* Lowers, optionally adds the Adam step, compiles (for the host, or for `cpu`) and compares
 * `steps` runs within rtol. */
static void compare_for(const char *name, FeGraphKind kind, FeLossKind loss, bool adam, int steps, double rtol,
                        const char *cpu) {
  FePreset *p = load(name);
  RtDiags d = {0};
  FeModelIO io;
  IrGraph *g = fe_lower(p, &(FeLowerOptions){kind, 3, loss, FE_QUANT_NONE, 0}, &io, &d);
  assert_non_null(g);
  if (io.dropout != IR_NONE) ir_node(g, io.dropout)->value = 0.25; /* exercise the RNG */
  if (io.seed != IR_NONE) ir_node(g, io.seed)->value = 7;
  if (io.label_smoothing != IR_NONE) ir_node(g, io.label_smoothing)->value = 0.1;
  if (adam) {
    PassTraining tr;
    PassOptimizer opt = {.kind = PASS_OPT_ADAM, .clip_grad_norm = true, .layer_norms = true};
    assert_true(pass_build_training(g, io.loss, &opt, &tr, &d));
    /* the per-layer squared gradient norms are outputs too, compared like the loss */
    assert_true(tr.n_layers >= 3);
    assert_int_equal(g->n_outputs, tr.first_norm_output + tr.n_layers);
    /* Adam divides by sqrt(v) + eps: with eps 1e-8, gradients near 0 turn f32 rounding noise
     * into O(lr) differences of the update; a larger eps keeps the comparison meaningful. */
    ir_node(g, tr.eps)->value = 1e-3;
  }
  assert_true(ir_verify(g, NULL, &d));
  DrvCompareOptions o = {.compile = {.no_cache = true, .cpu = cpu}, .atol = CG_COMPARE_ATOL, .rtol = rtol, .steps = steps};
  CgCompareResult r;
  bool ok = drv_compare(g, 5, &o, &r, stdout, &d);
  rt_diags_print(&d, stderr);
  printf("%s: %d nodes, %d kernels (%d unique), max abs err %.3g\n", g->name, g->n_nodes, r.n_kernels,
         r.n_unique, r.max_abs);
  if (!ok) fail_msg("%s differs from the interpreter", g->name);
  assert_true(r.n_unique < r.n_kernels);
  rt_diags_free(&d);
  ir_graph_free(g);
  fe_preset_free(p);
}

static void compare_within(const char *name, FeGraphKind kind, FeLossKind loss, bool adam, int steps, double rtol) {
  compare_for(name, kind, loss, adam, steps, rtol, NULL);
}

static void compare(const char *name, FeGraphKind kind, FeLossKind loss, bool adam, int steps) {
  compare_within(name, kind, loss, adam, steps, CG_COMPARE_RTOL);
}

static void test_attention_train_step(void **state) {
  (void)state;
  compare("tiny_attention", FE_GRAPH_TRAIN, FE_LOSS_CROSS_ENTROPY, true, 2);
}

static void test_attention_focal_train_step(void **state) {
  (void)state;
  compare("tiny_attention", FE_GRAPH_TRAIN, FE_LOSS_FOCAL, true, 1);
}

static void test_attention_infer_eval(void **state) {
  (void)state;
  compare("tiny_attention", FE_GRAPH_INFER, FE_LOSS_CROSS_ENTROPY, false, 1);
  compare("tiny_attention", FE_GRAPH_EVAL, FE_LOSS_CROSS_ENTROPY, false, 1);
}

static void test_ctc_train_step_and_infer(void **state) {
  (void)state;
  compare("tiny_ctc_mix", FE_GRAPH_TRAIN, FE_LOSS_CTC, true, 2);
  compare("tiny_ctc_mix", FE_GRAPH_INFER, FE_LOSS_CTC, false, 1);
}

/* Winograd F(2,3), the default, within the usual tolerance (every 3x3 convolution of 16
 * channels and more in tiny_winograd is one), also compiled for AVX2 and for SSE (8 and 4 tiles
 * a vector: a row of 8 tiles is vector code there, scalar at 16); F(4,3) (SMELT_CONV=winograd4)
 * within the bound docs/architecture.md gives for it; im2col (SMELT_CONV=im2col). */
static void test_winograd_train_step_and_infer(void **state) {
  (void)state;
  compare("tiny_winograd", FE_GRAPH_TRAIN, FE_LOSS_CTC, true, 2);
  compare("tiny_winograd", FE_GRAPH_INFER, FE_LOSS_CTC, false, 1);
  compare_for("tiny_winograd", FE_GRAPH_TRAIN, FE_LOSS_CTC, true, 1, CG_COMPARE_RTOL, "x86-64-v3");
  compare_for("tiny_winograd", FE_GRAPH_TRAIN, FE_LOSS_CTC, true, 1, CG_COMPARE_RTOL, "x86-64-v2");
  setenv("SMELT_CONV", "winograd4", 1);
  compare_within("tiny_winograd", FE_GRAPH_TRAIN, FE_LOSS_CTC, true, 2, 1e-3);
  setenv("SMELT_CONV", "im2col", 1);
  compare("tiny_winograd", FE_GRAPH_TRAIN, FE_LOSS_CTC, true, 2);
  unsetenv("SMELT_CONV");
}

/* The state region after `steps` compiled training steps on `threads` threads, from the
 * interpreter's seeded leaves (caller frees). */
static float *state_after(const IrGraph *g, int threads, int steps, int64_t *bytes) {
  rt_pool_set_threads(threads);
  RtDiags d = {0};
  DrvProgram *dp = drv_compile(&(DrvInput){.graph = g, .done = DRV_STAGE_SIMPLIFIED}, &(DrvOptions){.no_cache = true},
                               DRV_STAGE_LOADED, &d);
  rt_diags_print(&d, stderr);
  assert_non_null(dp);
  const CgProgram *p = dp->units[0].program;
  void *regions[PASS_REGION_COUNT];
  for (int i = 0; i < PASS_REGION_COUNT; i++) regions[i] = test_calloc(1, (size_t)p->plan->region_bytes[i] + 64);
  IrInterp *it = ir_interp_new(g);
  ir_interp_init_leaves(it, 11);
  cg_compare_load_leaves(p, it, regions[0], regions[1], regions[2]);
  ir_interp_free(it);
  for (int s = 0; s < steps; s++) p->step(regions[0], regions[1], regions[2]);
  *bytes = p->plan->region_bytes[PASS_REGION_STATE];
  for (int i = 1; i < PASS_REGION_COUNT; i++) test_free(regions[i]);
  drv_program_free(dp);
  rt_pool_set_threads(0);
  return regions[0];
}

static void thread_count_does_not_change_results(const char *preset) {
  FePreset *p = load(preset);
  RtDiags d = {0};
  FeModelIO io;
  IrGraph *g = fe_lower(p, &(FeLowerOptions){FE_GRAPH_TRAIN, 16, FE_LOSS_CTC, FE_QUANT_NONE, 0}, &io, &d);
  assert_non_null(g);
  PassTraining tr;
  assert_true(pass_build_training(g, io.loss, &(PassOptimizer){.kind = PASS_OPT_ADAM}, &tr, &d));
  ir_node(g, tr.lr)->value = 0.01;
  int64_t bytes1, bytes3;
  float *one = state_after(g, 1, 3, &bytes1), *three = state_after(g, 3, 3, &bytes3);
  assert_int_equal(bytes1, bytes3);
  int64_t differ = 0, nonfinite = 0;
  for (int64_t i = 0; i < bytes1 / 4; i++) {
    differ += memcmp(&one[i], &three[i], 4) != 0;
    nonfinite += !isfinite(one[i]);
  }
  assert_int_equal(nonfinite, 0); /* a NaN state would compare equal and prove nothing */
  if (differ) fail_msg("%lld of %lld state values differ between 1 and 3 threads", (long long)differ,
                       (long long)(bytes1 / 4));
  test_free(one);
  test_free(three);
  ir_graph_free(g);
  fe_preset_free(p);
}

static void test_thread_count_does_not_change_results(void **state) {
  (void)state;
  thread_count_does_not_change_results("tests/train/mini_ctc.yaml");
  /* 4 groups of 4 images, the filter transform and the filter gradient split over threads */
  thread_count_does_not_change_results("tiny_winograd");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_attention_train_step),
      cmocka_unit_test(test_attention_focal_train_step),
      cmocka_unit_test(test_attention_infer_eval),
      cmocka_unit_test(test_ctc_train_step_and_infer),
      cmocka_unit_test(test_winograd_train_step_and_infer),
      cmocka_unit_test(test_thread_count_does_not_change_results),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
