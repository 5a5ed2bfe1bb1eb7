/* Learning-rate schedules (warm-up, one_cycle) and early stopping: hand-checked sequences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

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

/* Warm restarts (PyTorch's CosineAnnealingWarmRestarts with T_0 = 2 epochs of 4 steps, T_mult
 * 3), after a 1-epoch warm-up: back at the peak at steps 4 (after the warm-up), 12 and 36;
 * half-way down at 8 and at 24; the run's length plays no part. */
static void test_cosine_warm_restarts(void **state) {
  RtSchedule s;
  rt_schedule_init(&s, &(RtScheduleConfig){.kind = RT_SCHED_COSINE, .base_lr = 1.0, .min_lr = 0.0, .warmup_epochs = 1,
                                            .restart_epochs = 2, .restart_mult = 3, .epochs = 100,
                                            .steps_per_epoch = 4});
  assert_float_equal(rt_schedule_lr(&s, 0, 3), 1.0, 1e-12); /* warm-up ends at the peak */
  assert_float_equal(rt_schedule_lr(&s, 1, 4), 1.0, 1e-12);
  assert_float_equal(rt_schedule_lr(&s, 2, 8), 0.5, 1e-12);
  assert_float_equal(rt_schedule_lr(&s, 2, 11), 0.5 * (1 + cos(M_PI * 7 / 8.0)), 1e-12);
  assert_float_equal(rt_schedule_lr(&s, 3, 12), 1.0, 1e-12); /* restart */
  assert_float_equal(rt_schedule_lr(&s, 6, 24), 0.5, 1e-12);  /* half of the 24-step cycle */
  assert_float_equal(rt_schedule_lr(&s, 9, 36), 1.0, 1e-12); /* the third cycle: 72 steps */
  assert_float_equal(rt_schedule_lr(&s, 18, 72), 0.5, 1e-12);
}

/* Warm-up became an option of every schedule: cosine's rates stay bit for bit what they were,
 * base_lr (k + 1) / warm-up steps, then the cosine from base_lr down to min_lr after it. */
static void test_cosine_unchanged_by_general_warmup(void **state) {
  RtSchedule s;
  double base = 1e-3, min = 1e-6;
  rt_schedule_init(&s, &(RtScheduleConfig){.kind = RT_SCHED_COSINE, .base_lr = base, .min_lr = min,
                                            .warmup_epochs = 2, .epochs = 5, .steps_per_epoch = 7});
  for (long k = 0; k < 5 * 7 + 2; k++) {
    double want = k < 14 ? base * (double)(k + 1) / 14.0
                         : min + 0.5 * (base - min) * (1 + cos(M_PI * fmin((double)(k - 14) / 21.0, 1.0)));
    double got = rt_schedule_lr(&s, (int)(k / 7), k);
    if (got != want) fail_msg("step %ld: %.17g, was %.17g", k, got, want);
  }
}

/* A constant rate with a warm-up of 2 epochs of 4 steps: base_lr (k + 1) / 8, then base_lr. */
static void test_warmup_constant(void **state) {
  RtSchedule s;
  rt_schedule_init(&s, &(RtScheduleConfig){.kind = RT_SCHED_CONSTANT, .base_lr = 1.0, .warmup_epochs = 2,
                                            .epochs = 4, .steps_per_epoch = 4});
  for (long k = 0; k < 8; k++) assert_float_equal(rt_schedule_lr(&s, (int)(k / 4), k), (k + 1) / 8.0, 1e-15);
  for (long k = 8; k < 16; k++) assert_float_equal(rt_schedule_lr(&s, (int)(k / 4), k), 1.0, 0);
}

/* The step schedule decays on its own calendar; the warm-up ramps towards the decayed rate. */
static void test_warmup_step(void **state) {
  RtSchedule s;
  rt_schedule_init(&s, &(RtScheduleConfig){.kind = RT_SCHED_STEP, .base_lr = 1.0, .step_size = 1, .gamma = 0.5,
                                            .warmup_epochs = 2, .epochs = 4, .steps_per_epoch = 4});
  assert_float_equal(rt_schedule_lr(&s, 0, 0), 1.0 / 8, 1e-15);
  assert_float_equal(rt_schedule_lr(&s, 0, 3), 4.0 / 8, 1e-15);
  rt_schedule_epoch_end(&s, 0, 0);
  assert_float_equal(rt_schedule_lr(&s, 1, 4), 0.5 * 5 / 8, 1e-15);
  assert_float_equal(rt_schedule_lr(&s, 1, 7), 0.5, 1e-15);
  rt_schedule_epoch_end(&s, 1, 0);
  assert_float_equal(rt_schedule_lr(&s, 2, 8), 0.25, 0);
}

/* reduce_on_plateau: epochs inside the warm-up do not count towards patience, so nothing is cut
 * while the rate ramps up; the best metric is still tracked. */
static void test_warmup_plateau_no_cut(void **state) {
  RtSchedule s;
  rt_schedule_init(&s, &(RtScheduleConfig){.kind = RT_SCHED_PLATEAU, .base_lr = 1.0, .factor = 0.5, .patience = 0,
                                            .min_lr = 0, .warmup_epochs = 3, .epochs = 6, .steps_per_epoch = 2});
  assert_float_equal(rt_schedule_lr(&s, 0, 0), 1.0 / 6, 1e-15);
  assert_false(rt_schedule_epoch_end(&s, 0, 1.0));
  assert_false(rt_schedule_epoch_end(&s, 1, 2.0)); /* worse, but inside the warm-up */
  assert_false(rt_schedule_epoch_end(&s, 2, 3.0));
  assert_int_equal(s.bad_epochs, 0);
  assert_float_equal(s.best, 1.0, 0);
  assert_float_equal(rt_schedule_lr(&s, 2, 5), 1.0, 1e-15);
  assert_float_equal(rt_schedule_lr(&s, 3, 6), 1.0, 0);
  assert_true(rt_schedule_epoch_end(&s, 3, 1.5)); /* first epoch after it: patience 0 cuts */
  assert_float_equal(rt_schedule_lr(&s, 4, 8), 0.5, 0);
  assert_int_equal(s.reductions, 1);
}

/* A warm-up must end before the last epoch, whatever the schedule (one_cycle has its own). */
static void test_warmup_fits(void **state) {
  for (int k = 0; k < RT_SCHED_COUNT; k++) {
    assert_true(rt_schedule_warmup_fits((RtScheduleKind)k, 0, 1));
    assert_true(rt_schedule_warmup_fits((RtScheduleKind)k, 2, 3));
    assert_int_equal(rt_schedule_warmup_fits((RtScheduleKind)k, 3, 3), k == RT_SCHED_ONE_CYCLE);
  }
}

/* one_cycle, PyTorch's OneCycleLR with cosine annealing over 3 epochs of 5 steps, pct_start 0.2:
 * phase 1 ends at step 0.2 * 15 - 1 = 2 (rising from peak / 25 to the peak), phase 2 at step 14
 * (falling to peak / 25 / 1e4); each phase is a half cosine, so its middle step is the mean. */
static void test_one_cycle(void **state) {
  RtSchedule s;
  rt_schedule_init(&s, &(RtScheduleConfig){.kind = RT_SCHED_ONE_CYCLE, .base_lr = 1.0, .pct_start = 0.2,
                                            .div_factor = 25, .final_div_factor = 1e4, .epochs = 3,
                                            .steps_per_epoch = 5});
  double initial = 1.0 / 25, final = initial / 1e4;
  assert_float_equal(rt_schedule_lr(&s, 0, 0), initial, 1e-15);
  assert_float_equal(rt_schedule_lr(&s, 0, 1), (initial + 1.0) / 2, 1e-15);
  assert_float_equal(rt_schedule_lr(&s, 0, 2), 1.0, 1e-15);
  assert_float_equal(rt_schedule_lr(&s, 1, 8), (1.0 + final) / 2, 1e-15);
  assert_float_equal(rt_schedule_lr(&s, 2, 14), final, 1e-15);
  assert_float_equal(rt_schedule_lr(&s, 2, 15), final, 1e-15); /* past the end: stays there */
  /* step 3 (pct 1/12 of phase 2), as PyTorch's _annealing_cos gives it */
  assert_float_equal(rt_schedule_lr(&s, 0, 3), final + (1.0 - final) / 2 * (cos(M_PI / 12) + 1), 1e-15);
  for (long k = 1; k < 15; k++) {
    double a = rt_schedule_lr(&s, 0, k - 1), b = rt_schedule_lr(&s, 0, k);
    if (k <= 2 ? !(b > a) : !(b < a)) fail_msg("step %ld: %g after %g", k, b, a);
  }
  /* epoch ends change nothing: the rate is a function of the step */
  assert_false(rt_schedule_epoch_end(&s, 0, 1.0));
  assert_float_equal(rt_schedule_lr(&s, 1, 8), (1.0 + final) / 2, 1e-15);
}

/* A first phase of one step (pct_start * steps = 1) ends where it starts: PyTorch divides by zero
 * there; smelt gives that step the peak. */
static void test_one_cycle_one_step_rise(void **state) {
  RtSchedule s;
  rt_schedule_init(&s, &(RtScheduleConfig){.kind = RT_SCHED_ONE_CYCLE, .base_lr = 2.0, .pct_start = 0.1,
                                            .div_factor = 4, .final_div_factor = 10, .epochs = 1,
                                            .steps_per_epoch = 10});
  assert_float_equal(rt_schedule_lr(&s, 0, 0), 2.0, 0);
  assert_float_equal(rt_schedule_lr(&s, 0, 9), 2.0 / 4 / 10, 1e-15);
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
      cmocka_unit_test(test_cosine_warm_restarts),
      cmocka_unit_test(test_cosine_unchanged_by_general_warmup), cmocka_unit_test(test_warmup_constant),
      cmocka_unit_test(test_warmup_step), cmocka_unit_test(test_warmup_plateau_no_cut),
      cmocka_unit_test(test_warmup_fits), cmocka_unit_test(test_one_cycle),
      cmocka_unit_test(test_one_cycle_one_step_rise),
      cmocka_unit_test(test_early_stop_patient_at_zero),
      cmocka_unit_test(test_early_stop_tie_break), cmocka_unit_test(test_early_stop_min_delta_on_loss),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
