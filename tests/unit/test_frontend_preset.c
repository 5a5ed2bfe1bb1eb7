/* Presets: the four built-in presets reproduce torch_presets.py (parameter counts within 0.1% of
 * PyTorch's, exact counts of ours, shapes, FLOPs), the width multiplier truncates like Python's
 * int(), parameter tensors add up to the layer counts, and preset names resolve with suggestions.
 * Runs from the repository root (ctest's working directory). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frontend/fe_preset.h"

static FePreset *load(const char *name) {
  RtDiags d = {0};
  char path[512];
  snprintf(path, sizeof path, "%s/presets/%s.yaml", SMELT_SOURCE_DIR, name);
  FePreset *p = fe_preset_load(path, &d);
  if (d.count) rt_diags_print(&d, stderr);
  assert_int_equal(d.count, 0);
  assert_non_null(p);
  rt_diags_free(&d);
  return p;
}

/* PyTorch's counts (two LSTM biases) and ours: the difference is exactly one 4*hidden bias per
 * LSTM layer and direction, plus one 4*512 bias of the decoder cell for attention heads. */
static void check_counts(const char *name, int64_t torch, int64_t ours) {
  FePreset *p = load(name);
  assert_int_equal(p->params, ours);
  assert_true(fabs((double)(p->params - torch)) / (double)torch < 0.001);
  fe_preset_free(p);
}

static void test_param_counts(void **state) {
  (void)state;
  check_counts("small", 12593638, 12593638 - 4 * 4 * 320 - 4 * 512);
  check_counts("medium", 20485318, 20485318 - 4 * 4 * 384 - 4 * 512);
  check_counts("large", 29069494, 29069494 - 4 * 4 * 512 - 4 * 512);
  check_counts("ctc_small", 9647717, 9647717 - 4 * 4 * 320);
}

static void test_small_shapes(void **state) {
  (void)state;
  FePreset *p = load("small");
  assert_string_equal(p->name, "small");
  assert_int_equal(p->layer_count, 28);
  const FeLayer *collapse = &p->layers[24], *lstm = &p->layers[25];
  assert_int_equal(collapse->kind, FE_LAYER_COLLAPSE_HEIGHT);
  assert_int_equal(collapse->in.rank, 3);
  assert_memory_equal(collapse->in.dims, ((int[]){512, 1, 32}), 3 * sizeof(int));
  assert_int_equal(collapse->out.rank, 2);
  assert_memory_equal(collapse->out.dims, ((int[]){32, 512}), 2 * sizeof(int));
  assert_memory_equal(lstm->out.dims, ((int[]){32, 640}), 2 * sizeof(int));
  assert_string_equal(lstm->name, "lstm_1");
  assert_string_equal(p->layers[0].name, "conv2d_1");
  assert_int_equal(p->head->kind, FE_LAYER_ATTENTION);
  assert_string_equal(p->head->name, "head");
  assert_int_equal(p->head->head.classes, 38);
  assert_memory_equal(p->head->out.dims, ((int[]){9, 38}), 2 * sizeof(int));
  assert_true(p->layers[26].dropout.from_config);
  /* conv2d_1: 64 outputs of 3x3 over 1 channel at 32x128, no bias. */
  assert_true(p->layers[0].flops == 2.0 * 9 * 64 * 32 * 128);
  char buf[64];
  assert_string_equal(fe_shape_format(p->layers[3].out, 32, buf, sizeof buf), "(32, 64, 16, 64)");
  assert_string_equal(fe_shape_format(lstm->out, 0, buf, sizeof buf), "(32, 640)");
  /* Forward FLOPs are dominated by the convolutions: about 2 * 0.94 GMAC for small. */
  assert_true(p->flops > 1.5e9 && p->flops < 2.5e9);
  fe_preset_free(p);
}

static void test_width_multiplier_truncates(void **state) {
  (void)state;
  FePreset *p = load("large");
  int expect[] = {112, 224, 448, 448, 896, 896, 512};
  int k = 0;
  for (int i = 0; i < p->layer_count; i++)
    if (p->layers[i].kind == FE_LAYER_CONV2D) assert_int_equal(p->layers[i].conv.channels, expect[k++]);
  assert_int_equal(k, 7);
  fe_preset_free(p);
}

static void test_layer_params_sum(void **state) {
  (void)state;
  const char *names[] = {"small", "ctc_small"};
  for (int n = 0; n < 2; n++) {
    FePreset *p = load(names[n]);
    int64_t total = 0;
    for (int i = 0; i < p->layer_count; i++) {
      FeParamInfo info[FE_LAYER_MAX_PARAMS];
      int k = fe_layer_params(&p->layers[i], info);
      for (int j = 0; j < k; j++) {
        int64_t size = 1;
        for (int r = 0; r < info[j].rank; r++) size *= info[j].dims[r];
        total += size;
      }
    }
    assert_int_equal(total, p->params);
    fe_preset_free(p);
  }
  FePreset *p = load("small");
  FeParamInfo info[FE_LAYER_MAX_PARAMS];
  assert_int_equal(fe_layer_params(&p->layers[25], info), 12); /* 2 layers x 2 dirs x 3 */
  assert_string_equal(info[3].name, "l0.reverse.w_ih");
  assert_memory_equal(info[3].dims, ((int[]){1280, 512}), 2 * sizeof(int));
  assert_memory_equal(info[6].dims, ((int[]){1280, 640}), 2 * sizeof(int));
  assert_int_equal(fe_layer_params(p->head, info), 10);
  assert_string_equal(info[5].name, "cell.w_ih");
  assert_memory_equal(info[5].dims, ((int[]){2048, 768}), 2 * sizeof(int));
  fe_preset_free(p);
}

static void test_resolve(void **state) {
  (void)state;
  RtDiags d = {0};
  FeLoc at = {"cfg.yaml", 3, 10};
  const char *dir = SMELT_SOURCE_DIR "/presets";
  FePreset *p = fe_preset_resolve("ctc", dir, at, &d);
  assert_null(p);
  assert_int_equal(d.count, 1);
  char buf[512];
  rt_diag_format(&d.items[0], buf, sizeof buf);
  assert_string_equal(buf, "cfg.yaml:3:10: error: unknown preset 'ctc'; did you mean 'ctc_big48', 'ctc_fast', 'ctc_small' or 'ctc_wide48'? "
                           "(known: attention_fast, ctc_big48, ctc_fast, ctc_small, ctc_wide48, large, medium, small)");
  rt_diags_free(&d);
  p = fe_preset_resolve("medium", dir, at, &d);
  assert_non_null(p);
  assert_string_equal(p->name, "medium");
  fe_preset_free(p);
  p = fe_preset_resolve(SMELT_SOURCE_DIR "/presets/ctc_small.yaml", "/nonexistent", at, &d);
  assert_non_null(p);
  assert_int_equal(p->head->kind, FE_LAYER_CTC);
  assert_int_equal(p->head->head.classes, 37);
  fe_preset_free(p);
  p = fe_preset_resolve("nope.yaml", dir, at, &d);
  assert_null(p);
  rt_diag_format(&d.items[0], buf, sizeof buf);
  assert_string_equal(buf, "cfg.yaml:3:10: error: preset file 'nope.yaml' does not exist");
  rt_diags_free(&d);
  char **names;
  int n = fe_presets_list(dir, &names);
  assert_int_equal(n, 8);
  assert_string_equal(names[0], "attention_fast");
  assert_string_equal(names[1], "ctc_big48");
  assert_string_equal(names[3], "ctc_small");
  fe_names_free(names, n);
  char *def = fe_presets_default_dir();
  assert_non_null(strstr(def, "presets"));
  free(def);
}

static void test_parse_in_memory(void **state) {
  (void)state;
  const char *text = "input: {channels: 3, height: 8, width: 16}\n"
                     "encoder:\n"
                     "  - {kind: conv2d, channels: 4, kernel: [8, 1], name: squash}\n"
                     "  - {kind: collapse_height}\n"
                     "  - {kind: linear, features: 10}\n"
                     "head: {kind: ctc, symbols: 5, max_length: 4}\n";
  RtDiags d = {0};
  FePreset *p = fe_preset_parse("mem/tiny.yaml", text, strlen(text), &d);
  assert_int_equal(d.count, 0);
  assert_non_null(p);
  assert_string_equal(p->name, "tiny");
  assert_string_equal(p->layers[0].name, "squash");
  assert_int_equal(p->layers[0].params, 4 * 3 * 8 + 4);
  assert_memory_equal(p->layers[2].out.dims, ((int[]){16, 10}), 2 * sizeof(int));
  assert_int_equal(p->params, (4 * 3 * 8 + 4) + (4 * 10 + 10) + (10 * 6 + 6));
  fe_preset_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_param_counts),     cmocka_unit_test(test_small_shapes),
      cmocka_unit_test(test_width_multiplier_truncates), cmocka_unit_test(test_layer_params_sum),
      cmocka_unit_test(test_resolve),          cmocka_unit_test(test_parse_in_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
