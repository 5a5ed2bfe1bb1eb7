/* The training loop's readers of compiled outputs (runtime/rt_train_io.h) on crafted io regions:
 * the CTC blank count (real rows only, never the padding rows of a last batch), the attention
 * statistics (peak weight and forward moves over each label's symbol steps), and the
 * per-layer gradient norms (square roots of the grad_sq outputs, averaged over steps, a global
 * norm over all layers, the layers past RT_GRAD_LAYERS_MAX summed into one entry). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/rt_train_io.h"

/* pred (B = 3, T = 4) of a CTC evaluation step; the last row is padding. */
static void test_blank_count(void **state) {
  (void)state;
  RtSlot slots[] = {{.name = "loss", .dtype = RT_F32, .rank = 0, .offset = 0},
                    {.name = "pred", .dtype = RT_I32, .rank = 2, .dims = {3, 4}, .offset = 16}};
  RtGraphBin g = {.io = slots, .n_io = 2};
  int32_t io[4 + 12] = {0};
  static const int32_t pred[12] = {0, 0, 0, 0, /* all blank */
                                   1, 0, 2, 3, /* one blank */
                                   0, 0, 0, 0}; /* padding: not counted */
  memcpy(io + 4, pred, sizeof pred);
  RtBatch b = {.size = 2, .capacity = 3};
  int64_t blanks = 0, steps = 0;
  rt_io_count_blanks(&g, io, &b, &blanks, &steps);
  assert_int_equal(blanks, 5);
  assert_int_equal(steps, 8);
  b.size = 1; /* sums accumulate over batches */
  rt_io_count_blanks(&g, io, &b, &blanks, &steps);
  assert_int_equal(blanks, 9);
  assert_int_equal(steps, 12);
}

/* attention (B = 3, S = 4, T = 3) of an attention evaluation step; row 2 is padding. Row 0 (label
 * of 3) reads left to right with peaks 1, 0.5, 0.6; row 1 (label of 2) looks at time step 1
 * twice: not forward. Steps past a label's length (the end token's and later) are left out. */
static void test_attention_stats(void **state) {
  (void)state;
  RtSlot slots[] = {{.name = "loss", .dtype = RT_F32, .rank = 0, .offset = 0},
                    {.name = "attention", .dtype = RT_F32, .rank = 3, .dims = {3, 4, 3}, .offset = 4}};
  RtGraphBin g = {.io = slots, .n_io = 2};
  float io[1 + 36] = {0};
  static const float att[36] = {1, 0, 0,       0.25f, 0.5f, 0.25f, 0.1f, 0.3f, 0.6f, 1, 0, 0,
                                0.2f, 0.7f, 0.1f, 0.3f, 0.4f, 0.3f, 1, 0, 0,       1, 0, 0,
                                0, 0, 1,       0, 0, 1,       0, 0, 1,       0, 0, 1};
  memcpy(io + 1, att, sizeof att);
  int32_t lengths[3] = {3, 2, 0};
  RtBatch b = {.size = 2, .capacity = 3, .lengths = lengths};
  RtAttentionStats s = {0};
  assert_true(rt_io_attention_stats(&g, io, &b, &s));
  assert_int_equal(s.steps, 5);
  assert_float_equal(s.peak_sum, 1 + 0.5 + 0.6 + 0.7 + 0.4, 1e-6);
  assert_int_equal(s.pairs, 3);
  assert_int_equal(s.forward, 2);
  /* a CTC step has no attention output: nothing added */
  RtGraphBin ctc = {.io = slots, .n_io = 1};
  assert_false(rt_io_attention_stats(&ctc, io, &b, &s));
  assert_int_equal(s.steps, 5);
}

/* A training step's io with n grad_sq.<layer> outputs among other slots; io[k + 1] is layer k's. */
static RtGraphBin norms_graph(RtSlot *slots, char (*names)[32], int n) {
  slots[0] = (RtSlot){.name = "loss", .dtype = RT_F32, .offset = 0};
  for (int k = 0; k < n; k++) {
    snprintf(names[k], 32, "%slayer_%d", RT_SLOT_GRAD_SQ, k);
    slots[k + 1] = (RtSlot){.name = names[k], .dtype = RT_F32, .offset = 4 * (k + 1)};
  }
  slots[n + 1] = (RtSlot){.name = "lr", .dtype = RT_F32, .offset = 4 * (n + 1)};
  return (RtGraphBin){.io = slots, .n_io = n + 2};
}

static void test_grad_norms(void **state) {
  (void)state;
  RtSlot slots[4];
  char names[2][32];
  RtGraphBin g = norms_graph(slots, names, 2);
  RtGradNorms n;
  rt_grad_norms_init(&n, &g);
  assert_int_equal(n.n_layers, 2);
  float io[4] = {0};
  RtEpochMetrics e = {0};
  e.v[RT_METRIC_GRAD_NORM_TOTAL] = NAN;
  rt_grad_norms_mean(&n, &e); /* no step yet: nothing recorded */
  assert_int_equal(e.n_grad_norms, 0);
  assert_true(isnan(e.v[RT_METRIC_GRAD_NORM_TOTAL]));
  /* step 1: norms 3 and 4 (total 5); step 2: norms 1 and 0 (total 1) */
  io[1] = 9, io[2] = 16;
  rt_grad_norms_add(&n, io);
  io[1] = 1, io[2] = 0;
  rt_grad_norms_add(&n, io);
  rt_grad_norms_mean(&n, &e);
  assert_int_equal(e.n_grad_norms, 2);
  assert_string_equal(e.grad_norm[0].layer, "layer_0");
  assert_string_equal(e.grad_norm[1].layer, "layer_1");
  assert_true(e.grad_norm[0].norm == 2.0);
  assert_true(e.grad_norm[1].norm == 2.0);
  assert_true(e.v[RT_METRIC_GRAD_NORM_TOTAL] == 3.0);
  rt_grad_norms_reset(&n); /* the next epoch starts from zero */
  io[1] = 4, io[2] = 0;
  rt_grad_norms_add(&n, io);
  rt_grad_norms_mean(&n, &e);
  assert_true(e.grad_norm[0].norm == 2.0 && e.grad_norm[1].norm == 0.0);
  rt_grad_norms_free(&n);

  /* no grad_sq outputs (a step compiled without them): nothing recorded */
  g = norms_graph(slots, names, 0);
  rt_grad_norms_init(&n, &g);
  rt_grad_norms_add(&n, io);
  RtEpochMetrics none = {0};
  rt_grad_norms_mean(&n, &none);
  assert_int_equal(none.n_grad_norms, 0);
  rt_grad_norms_free(&n);
}

/* More layers than an epoch records: the last entry is the norm of all the others together. */
static void test_grad_norms_rest(void **state) {
  (void)state;
  enum { N = RT_GRAD_LAYERS_MAX + 2 };
  RtSlot slots[N + 2];
  char names[N][32];
  RtGraphBin g = norms_graph(slots, names, N);
  RtGradNorms n;
  rt_grad_norms_init(&n, &g);
  float io[N + 2] = {0};
  for (int k = 0; k < N; k++) io[k + 1] = 1; /* every layer's norm 1 */
  rt_grad_norms_add(&n, io);
  RtEpochMetrics e = {0};
  rt_grad_norms_mean(&n, &e);
  assert_int_equal(e.n_grad_norms, RT_GRAD_LAYERS_MAX);
  char want[32];
  snprintf(want, sizeof want, "layer_%d", RT_GRAD_LAYERS_MAX - 2);
  assert_string_equal(e.grad_norm[RT_GRAD_LAYERS_MAX - 2].layer, want);
  assert_true(e.grad_norm[RT_GRAD_LAYERS_MAX - 2].norm == 1.0);
  assert_string_equal(e.grad_norm[RT_GRAD_LAYERS_MAX - 1].layer, RT_GRAD_LAYERS_REST);
  assert_float_equal(e.grad_norm[RT_GRAD_LAYERS_MAX - 1].norm, sqrt(3.0), 1e-12); /* the last three layers */
  assert_float_equal(e.v[RT_METRIC_GRAD_NORM_TOTAL], sqrt((double)N), 1e-12);
  rt_grad_norms_free(&n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_blank_count),
      cmocka_unit_test(test_attention_stats),
      cmocka_unit_test(test_grad_norms),
      cmocka_unit_test(test_grad_norms_rest),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
