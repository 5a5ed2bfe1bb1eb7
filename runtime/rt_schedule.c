/* Learning-rate schedules and early stopping (rt_schedule.h). */
#include "runtime/rt_schedule.h"

#include <math.h>

void rt_schedule_init(RtSchedule *s, const RtScheduleConfig *cfg) {
  *s = (RtSchedule){.cfg = *cfg, .lr = cfg->base_lr};
}

bool rt_schedule_warmup_fits(RtScheduleKind kind, int warmup_epochs, int epochs) {
  return kind == RT_SCHED_ONE_CYCLE || warmup_epochs < epochs;
}

bool rt_schedule_spans_run(RtScheduleKind kind) { return kind == RT_SCHED_COSINE || kind == RT_SCHED_ONE_CYCLE; }

static long steps_per_epoch(const RtScheduleConfig *c) { return c->steps_per_epoch > 0 ? c->steps_per_epoch : 1; }

/* one_cycle rises by itself: a warm-up is no option of it */
static long warmup_steps(const RtScheduleConfig *c) {
  return c->kind == RT_SCHED_ONE_CYCLE ? 0 : (long)c->warmup_epochs * steps_per_epoch(c);
}

/* CosineAnnealingLR from base_lr to min_lr over the steps after the warm-up, which holds base_lr
 * (the warm-up ramps towards it); with restart_epochs, CosineAnnealingWarmRestarts (SGDR,
 * Loshchilov & Hutter 2017): cycles of restart_epochs, then restart_mult times as long each,
 * back at base_lr at the start of each. */
static double cosine_rate(const RtScheduleConfig *c, long step) {
  long warm = warmup_steps(c), total = (long)c->epochs * steps_per_epoch(c);
  if (step < warm) return c->base_lr;
  long at = step - warm, span = total - warm > 1 ? total - warm : 1;
  if (c->restart_epochs > 0) {
    span = (long)c->restart_epochs * steps_per_epoch(c);
    long mult = c->restart_mult > 1 ? c->restart_mult : 1;
    while (at >= span) at -= span, span *= mult;
  }
  double t = (double)at / (double)span;
  if (t > 1) t = 1;
  return c->min_lr + 0.5 * (c->base_lr - c->min_lr) * (1 + cos(M_PI * t));
}

/* PyTorch's _annealing_cos: from start (pct 0) to end (pct 1) along half a cosine. */
static double anneal_cos(double start, double end, double pct) {
  return end + (start - end) / 2.0 * (cos(M_PI * pct) + 1);
}

/* OneCycleLR (two phases, anneal_strategy 'cos'): phase 1 ends at step pct_start * total - 1,
 * rising from base_lr / div_factor to base_lr; phase 2 ends at step total - 1, falling to
 * base_lr / div_factor / final_div_factor. Steps past the end stay at the final rate (PyTorch
 * raises there). A phase 1 that ends at step 0 would divide by zero: that step gets the peak. */
static double one_cycle_rate(const RtScheduleConfig *c, long step) {
  double total = (double)c->epochs * (double)steps_per_epoch(c);
  double initial = c->base_lr / c->div_factor, final = initial / c->final_div_factor;
  double rise_end = c->pct_start * total - 1, x = (double)step;
  if (x <= rise_end) return rise_end > 0 ? anneal_cos(initial, c->base_lr, x / rise_end) : c->base_lr;
  double pct = (x - rise_end) / (total - 1 - rise_end);
  return anneal_cos(c->base_lr, final, pct > 1 ? 1 : pct);
}

double rt_schedule_lr(const RtSchedule *s, int epoch, long step) {
  const RtScheduleConfig *c = &s->cfg;
  double rate = s->lr; /* plateau, step, constant: set epoch by epoch */
  if (c->kind == RT_SCHED_COSINE) rate = cosine_rate(c, step);
  else if (c->kind == RT_SCHED_ONE_CYCLE) rate = one_cycle_rate(c, step);
  long warm = warmup_steps(c);
  return step < warm ? rate * (double)(step + 1) / (double)warm : rate;
}

/* PyTorch's 'rel' threshold: better by more than 1e-4 of the best value */
static bool plateau_improves(const RtSchedule *s, double metric) {
  if (!s->has_best) return true;
  double eps = 1e-4 * fabs(s->best);
  return s->cfg.higher_is_better ? metric > s->best + eps : metric < s->best - eps;
}

bool rt_schedule_epoch_end(RtSchedule *s, int epoch, double metric) {
  const RtScheduleConfig *c = &s->cfg;
  double before = s->lr;
  if (c->kind == RT_SCHED_PLATEAU && !isnan(metric)) {
    if (plateau_improves(s, metric)) {
      s->best = metric;
      s->has_best = true;
      s->bad_epochs = 0;
    } else if (epoch >= c->warmup_epochs && ++s->bad_epochs > c->patience) { /* no cut while warming up */
      double next = s->lr * c->factor;
      if (next < c->min_lr) next = c->min_lr;
      if (s->lr - next > 1e-12) s->reductions++;
      s->lr = next;
      s->bad_epochs = 0;
    }
  } else if (c->kind == RT_SCHED_STEP && c->step_size > 0 && (epoch + 1) % c->step_size == 0) {
    s->lr *= c->gamma;
  }
  return s->lr != before;
}

void rt_early_stop_init(RtEarlyStop *e, bool enabled, bool higher_is_better, int patience, double min_delta) {
  *e = (RtEarlyStop){.enabled = enabled, .higher_is_better = higher_is_better, .patience = patience,
                     .min_delta = min_delta, .best_epoch = -1};
}

bool rt_early_stop_update(RtEarlyStop *e, int epoch, double metric, bool wins_tie, bool *improved) {
  bool better = !isnan(metric) &&
                (!e->has_best || (e->higher_is_better ? metric > e->best + e->min_delta
                                                      : metric < e->best - e->min_delta));
  *improved = better;
  if (better) {
    e->best = metric;
    e->has_best = true;
    e->best_epoch = epoch;
    e->bad_epochs = 0;
    return false;
  }
  if (e->has_best && metric == e->best && wins_tie) {
    *improved = true;
    e->best_epoch = epoch;
  }
  /* an accuracy still at 0 means the model has not started to read whole sequences yet (the
   * study's trap): such epochs do not use up patience */
  if (e->higher_is_better && (!e->has_best || e->best <= 0)) return false;
  e->bad_epochs++;
  return rt_early_stop_done(e);
}

bool rt_early_stop_done(const RtEarlyStop *e) { return e->enabled && e->bad_epochs > e->patience; }
