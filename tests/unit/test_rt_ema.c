/* The moving average of the weights (runtime/rt_ema.h): the decay's warm-up, the update against
 * its closed form, optimizer moments left out, and a swap that twice restores both regions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/rt_ema.h"

/* Two params, a batch-norm statistic and an Adam moment, laid out as a state region. */
static const RtSlot SLOTS[] = {
    {.name = "conv.weight", .dtype = RT_F32, .rank = 2, .dims = {2, 3}, .offset = 0, .trainable = true},
    {.name = "bn.running_mean", .dtype = RT_F32, .rank = 1, .dims = {2}, .offset = 24},
    {.name = "opt.m.conv.weight", .dtype = RT_F32, .rank = 2, .dims = {2, 3}, .offset = 32},
    {.name = "head.bias", .dtype = RT_F32, .rank = 1, .dims = {1}, .offset = 56, .trainable = true},
};
enum { FLOATS = 15 };
static const RtModel MODEL = {.state_bytes = FLOATS * 4, .state = SLOTS, .n_state = 4};

static void test_decay_warms_up(void **state) {
  (void)state;
  assert_float_equal(rt_ema_decay_at(0.999, 0), 0.1, 1e-12);  /* 1/10: the first step mostly replaces */
  assert_float_equal(rt_ema_decay_at(0.999, 90), 0.91, 1e-12); /* 91/100 */
  assert_float_equal(rt_ema_decay_at(0.999, 100000), 0.999, 0); /* then the configured decay */
  assert_float_equal(rt_ema_decay_at(0.5, 10), 0.5, 0); /* 11/20 is above it */
}

static void test_covers_model_tensors_only(void **state) {
  (void)state;
  assert_true(rt_ema_covers(&SLOTS[0]));
  assert_true(rt_ema_covers(&SLOTS[1])); /* batch-norm statistics are averaged too */
  assert_false(rt_ema_covers(&SLOTS[2]));
  assert_true(rt_ema_covers(&SLOTS[3]));
}

/* Three updates towards weights w0, w1, w2 give d2*d1*(d0*a + (1-d0)*w0)... computed here in
 * double from the decays the module reports; the moment slot of avg is never written. */
static void test_update_matches_closed_form(void **state) {
  (void)state;
  float st[FLOATS], avg[FLOATS];
  for (int k = 0; k < FLOATS; k++) st[k] = (float)k;
  for (int k = 0; k < FLOATS; k++) avg[k] = -7; /* overwritten by the start, except the moment */
  rt_ema_start(&MODEL, avg, st);
  double expect[FLOATS];
  for (int k = 0; k < FLOATS; k++) expect[k] = k;
  for (int n = 0; n < 3; n++) {
    for (int k = 0; k < FLOATS; k++) st[k] = (float)(k * (n + 2)) - 1.5f; /* the step's new weights */
    double d = rt_ema_decay_at(0.9, n);
    for (int k = 0; k < FLOATS; k++) expect[k] = d * expect[k] + (1 - d) * st[k];
    rt_ema_update(&MODEL, avg, st, 0.9, n);
  }
  for (int k = 0; k < FLOATS; k++) {
    if (k >= 8 && k < 14) assert_true(avg[k] == -7); /* opt.m.*: untouched */
    else assert_float_equal(avg[k], expect[k], 1e-5);
  }
}

static void test_swap_twice_restores(void **state) {
  (void)state;
  float st[FLOATS], avg[FLOATS], st0[FLOATS], avg0[FLOATS];
  for (int k = 0; k < FLOATS; k++) st[k] = (float)k, avg[k] = (float)(100 + k);
  memcpy(st0, st, sizeof st);
  memcpy(avg0, avg, sizeof avg);
  rt_ema_swap(&MODEL, avg, st);
  for (int k = 0; k < FLOATS; k++) {
    bool moment = k >= 8 && k < 14;
    assert_true(st[k] == (moment ? st0[k] : avg0[k])); /* the optimizer keeps its own moments */
    assert_true(avg[k] == (moment ? avg0[k] : st0[k]));
  }
  rt_ema_swap(&MODEL, avg, st);
  assert_memory_equal(st, st0, sizeof st);
  assert_memory_equal(avg, avg0, sizeof avg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_decay_warms_up),
      cmocka_unit_test(test_covers_model_tensors_only),
      cmocka_unit_test(test_update_matches_closed_form),
      cmocka_unit_test(test_swap_twice_restores),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
