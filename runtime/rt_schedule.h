/* Learning-rate schedules and early stopping. Conventions follow PyTorch: ReduceLROnPlateau (mode
 * from the metric's direction, relative threshold 1e-4, patience counted in epochs without
 * improvement), CosineAnnealingLR, StepLR, OneCycleLR (cosine annealing, per step). Every
 * schedule but one_cycle (which rises by itself) takes a linear warm-up per step over its first
 * epochs. Pure logic, deterministic: the rate is a function of the step and of the small state
 * saved in checkpoints, so that a resumed run continues exactly. */
#ifndef SMELT_RT_SCHEDULE_H
#define SMELT_RT_SCHEDULE_H

#include <stdbool.h>

typedef enum RtScheduleKind {
  RT_SCHED_PLATEAU, RT_SCHED_COSINE, RT_SCHED_STEP, RT_SCHED_CONSTANT, RT_SCHED_ONE_CYCLE, RT_SCHED_COUNT
} RtScheduleKind;

typedef struct RtScheduleConfig {
  RtScheduleKind kind;
  double base_lr;         /* one_cycle: the peak */
  bool higher_is_better; /* plateau: direction of the watched metric */
  double factor;         /* plateau */
  int patience;          /* plateau */
  double min_lr;         /* plateau, cosine */
  int warmup_epochs;     /* all but one_cycle: linear ramp per step over the first epochs */
  int restart_epochs;    /* cosine: SGDR's first cycle, in epochs after the warm-up; 0: one cycle */
  int restart_mult;      /* cosine: each cycle this many times the one before (>= 1) */
  int step_size;         /* step */
  double gamma;          /* step */
  double pct_start;      /* one_cycle: share of the steps spent rising, in (0, 1) */
  double div_factor;     /* one_cycle: initial rate = base_lr / div_factor */
  double final_div_factor; /* one_cycle: final rate = initial rate / final_div_factor */
  int epochs;            /* cosine, one_cycle: length of the whole run */
  int steps_per_epoch;   /* warm-up, cosine, one_cycle */
} RtScheduleConfig;

typedef struct RtSchedule {
  RtScheduleConfig cfg;
  double lr;         /* for the epoch about to run (plateau, step, constant) */
  double best;       /* plateau: best metric so far */
  bool has_best;
  int bad_epochs;    /* plateau: epochs since the last improvement */
  int reductions;    /* plateau: times the rate was cut */
} RtSchedule;

void rt_schedule_init(RtSchedule *s, const RtScheduleConfig *cfg);
/* The learning rate for global step `step` (0-based) of epoch `epoch` (0-based): the schedule's
 * rate, times (step + 1) / warm-up steps while the warm-up lasts. */
double rt_schedule_lr(const RtSchedule *s, int epoch, long step);
/* After an epoch (0-based) with its validation metric: plateau counts (not inside the warm-up)
 * and cuts, step decays. Returns true when the rate changed. */
bool rt_schedule_epoch_end(RtSchedule *s, int epoch, double metric);
/* Whether a run of `epochs` leaves room for the schedule: a warm-up must end before the last
 * epoch (the one check of it; the config, `smelt train --epochs` and built trainers ask). */
bool rt_schedule_warmup_fits(RtScheduleKind kind, int warmup_epochs, int epochs);
/* Whether the schedule's curve is laid over the run's length (cosine, one_cycle): a resumed run
 * must keep the epochs it started with. */
bool rt_schedule_spans_run(RtScheduleKind kind);

typedef struct RtEarlyStop {
  bool enabled, higher_is_better;
  int patience;
  double min_delta;
  double best;
  bool has_best;
  int best_epoch, bad_epochs;
} RtEarlyStop;

void rt_early_stop_init(RtEarlyStop *e, bool enabled, bool higher_is_better, int patience, double min_delta);
/* Records an epoch's metric; *improved says whether it is the new best epoch: better by more
 * than min_delta, or equal to the best and `wins_tie` (the caller's second metric is better than
 * at the best epoch; sequence accuracy sits at exactly 0 for many early epochs, and the best
 * checkpoint should not stay at epoch 1 meanwhile). A tie won does not reset patience. Returns
 * true when training should stop (patience exhausted). Epochs while an accuracy has never risen
 * above 0 do not count against patience. */
bool rt_early_stop_update(RtEarlyStop *e, int epoch, double metric, bool wins_tie, bool *improved);
/* Whether patience is exhausted (what the last update returned; also for a restored state). */
bool rt_early_stop_done(const RtEarlyStop *e);

#endif
