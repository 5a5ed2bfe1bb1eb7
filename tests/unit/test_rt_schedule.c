/* Learning-rate schedules and early stopping: hand-checked sequences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runtime/rt_schedule.h"

static void test_plateau_on_loss(void **state) {
  RtSchedule s;
  rt_schedule_init(&s, &(RtScheduleConfig){.kind = RT_SCHED_PLATEAU, .base_lr = 1e-3, .factor = 0.5,
                                            .patience = 2, .min_lr = 2e-4});
  double losses[] = {2.0, 1.5, 1.5, 1.6, 1.7, 1.4, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5};
  double expect[] = {1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 5e-4, 5e-4, 5e-4, 5e-4, 2.5e-4, 2.5e-4, 2.5e-4};
  for (int e = 0; e < 12; e++) {
    assert_float_equal(rt_schedule_lr(&s, e, 0), expect[e], 1e-12);
    rt_schedule_epoch_end(&s, e, losses[e]);
  }
  assert_int_equal(s.reductions, 3);
  assert_float_equal(s.lr, 2e-4, 1e-15); /* the third cut stops at min_lr */
}

static void test_plateau_on_accuracy(void **state) {
  RtSchedule s;
  rt_schedule_init(&s, &(RtScheduleConfig){.kind = RT_SCHED_PLATEAU, .base_lr = 1.0, .factor = 0.1,
                                            .patience = 0, .higher_is_better = true});
  rt_schedule_epoch_end(&s, 0, 0.5);
  rt_schedule_epoch_end(&s, 1, 0.6); /* better: no cut */
  assert_float_equal(s.lr, 1.0, 0);
  rt_schedule_epoch_end(&s, 2, 0.6); /* not better: patience 0 cuts at once */
  assert_float_equal(s.lr, 0.1, 1e-15);
}

static void test_cosine_with_warmup(void **state) {
  RtSchedule s;
  rt_schedule_init(&s, &(RtScheduleConfig){.kind = RT_SCHED_COSINE, .base_lr = 1.0, .min_lr = 0.0,
                                            .warmup_epochs = 1, .epochs = 3, .steps_per_epoch = 10});
  assert_float_equal(rt_schedule_lr(&s, 0, 0), 0.1, 1e-12);  /* warm-up: linear */
  assert_float_equal(rt_schedule_lr(&s, 0, 9), 1.0, 1e-12);
  assert_float_equal(rt_schedule_lr(&s, 1, 10), 1.0, 1e-12); /* decay starts at the peak */
  assert_float_equal(rt_schedule_lr(&s, 2, 20), 0.5, 1e-12); /* half-way */
  assert_float_equal(rt_schedule_lr(&s, 2, 30), 0.0, 1e-12);
}

static void test_step_decay(void **state) {
  RtSchedule s;
  rt_schedule_init(&s, &(RtScheduleConfig){.kind = RT_SCHED_STEP, .base_lr = 1.0, .step_size = 2, .gamma = 0.5});
  double expect[] = {1, 1, 0.5, 0.5, 0.25};
  for (int e = 0; e < 5; e++) {
    assert_float_equal(rt_schedule_lr(&s, e, 0), expect[e], 1e-15);
    rt_schedule_epoch_end(&s, e, 0);
  }
}

static void test_early_stop_patient_at_zero(void **state) {
  RtEarlyStop e;
  bool improved;
  rt_early_stop_init(&e, true, true, 2, 0.0);
  for (int i = 0; i < 20; i++) assert_false(rt_early_stop_update(&e, i, 0.0, false, &improved)); /* zeros: no count */
  assert_false(rt_early_stop_update(&e, 20, 0.1, false, &improved));
  assert_true(improved);
  assert_false(rt_early_stop_update(&e, 21, 0.1, false, &improved));
  assert_false(rt_early_stop_update(&e, 22, 0.05, false, &improved));
  assert_true(rt_early_stop_update(&e, 23, 0.1, false, &improved)); /* third epoch without improvement */
  assert_int_equal(e.best_epoch, 20);
}

/* A tie on the metric goes to the epoch that wins on the caller's second metric: it becomes the
 * best epoch without resetting patience. */
static void test_early_stop_tie_break(void **state) {
  RtEarlyStop e;
  bool improved;
  rt_early_stop_init(&e, true, true, 1, 0.0);
  rt_early_stop_update(&e, 0, 0.0, false, &improved);
  assert_true(improved);
  rt_early_stop_update(&e, 1, 0.0, true, &improved); /* still 0, better second metric */
  assert_true(improved);
  assert_int_equal(e.best_epoch, 1);
  rt_early_stop_update(&e, 2, 0.0, false, &improved);
  assert_false(improved);
  assert_int_equal(e.best_epoch, 1);
  assert_false(rt_early_stop_update(&e, 3, 0.5, false, &improved));
  assert_false(rt_early_stop_update(&e, 4, 0.5, true, &improved)); /* a won tie: patience goes on */
  assert_true(improved);
  assert_int_equal(e.best_epoch, 4);
  assert_true(rt_early_stop_update(&e, 5, 0.5, true, &improved));
  assert_int_equal(e.best_epoch, 5);
}

static void test_early_stop_min_delta_on_loss(void **state) {
  RtEarlyStop e;
  bool improved;
  rt_early_stop_init(&e, true, false, 1, 0.01);
  rt_early_stop_update(&e, 0, 1.0, false, &improved);
  assert_false(rt_early_stop_update(&e, 1, 0.995, false, &improved)); /* within min_delta: not better */
  assert_false(improved);
  assert_true(rt_early_stop_update(&e, 2, 0.999, false, &improved));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plateau_on_loss), cmocka_unit_test(test_plateau_on_accuracy),
      cmocka_unit_test(test_cosine_with_warmup), cmocka_unit_test(test_step_decay),
      cmocka_unit_test(test_early_stop_patient_at_zero),
      cmocka_unit_test(test_early_stop_tie_break), cmocka_unit_test(test_early_stop_min_delta_on_loss),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
