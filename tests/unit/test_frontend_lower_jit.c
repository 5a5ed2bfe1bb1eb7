/* Lowered graphs of tiny presets compiled with LLVM against the reference interpreter
 * (cg_compare): the whole training step (forward, backward, Adam, batch-norm running
 * statistics, dropout) and the inference and validation graphs (greedy decoding, stop mask,
 * CTC argmax). The unrolled LSTM and decoder steps must deduplicate into far fewer unique
 * kernels than kernel calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "codegen/cg_compare.h"
#include "frontend/fe_lower.h"
#include "ir/ir_verify.h"
#include "passes/train_graph.h"

static FePreset *load(const char *name) {
  RtDiags d = {0};
  char path[512];
  snprintf(path, sizeof path, "%s/tests/frontend/presets/%s.yaml", SMELT_SOURCE_DIR, name);
  FePreset *p = fe_preset_load(path, &d);
  rt_diags_print(&d, stderr);
  assert_non_null(p);
  return p;
}

/* Lowers, optionally adds the Adam step, compiles and compares `steps` runs. */
static void compare(const char *name, FeGraphKind kind, FeLossKind loss, bool adam, int steps) {
  FePreset *p = load(name);
  RtDiags d = {0};
  FeModelIO io;
  IrGraph *g = fe_lower(p, &(FeLowerOptions){kind, 3, loss}, &io, &d);
  assert_non_null(g);
  if (io.dropout != IR_NONE) ir_node(g, io.dropout)->value = 0.25; /* exercise the RNG */
  if (io.seed != IR_NONE) ir_node(g, io.seed)->value = 7;
  if (io.label_smoothing != IR_NONE) ir_node(g, io.label_smoothing)->value = 0.1;
  if (adam) {
    PassTraining tr;
    assert_true(pass_build_training(g, io.loss, &(PassOptimizer){.kind = PASS_OPT_ADAM, .clip_grad_norm = true},
                                    &tr, &d));
    /* Adam divides by sqrt(v) + eps: with eps 1e-8, gradients near 0 turn f32 rounding noise
     * into O(lr) differences of the update; a larger eps keeps the comparison meaningful. */
    ir_node(g, tr.eps)->value = 1e-3;
  }
  assert_true(ir_verify(g, NULL, &d));
  CgCompareOptions o = {.compile = {.no_cache = true}, .atol = 1e-4, .rtol = 1e-3, .steps = steps};
  CgCompareResult r;
  bool ok = cg_compare(g, 5, &o, &r, stdout, &d);
  rt_diags_print(&d, stderr);
  printf("%s: %d nodes, %d kernels (%d unique), max abs err %.3g\n", g->name, g->n_nodes, r.n_kernels,
         r.n_unique, r.max_abs);
  if (!ok) fail_msg("%s differs from the interpreter", g->name);
  assert_true(r.n_unique < r.n_kernels);
  rt_diags_free(&d);
  ir_graph_free(g);
  fe_preset_free(p);
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_attention_train_step),
      cmocka_unit_test(test_attention_focal_train_step),
      cmocka_unit_test(test_attention_infer_eval),
      cmocka_unit_test(test_ctc_train_step_and_infer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
