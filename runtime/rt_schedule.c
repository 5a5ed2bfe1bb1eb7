/* Learning-rate schedules and early stopping (rt_schedule.h). */
#include "runtime/rt_schedule.h"

#include <math.h>

void rt_schedule_init(RtSchedule *s, const RtScheduleConfig *cfg) {
  *s = (RtSchedule){.cfg = *cfg, .lr = cfg->base_lr};
}

bool rt_schedule_warmup_fits(RtScheduleKind kind, int warmup_epochs, int epochs) {
  return kind != RT_SCHED_COSINE || warmup_epochs < epochs;
}

double rt_schedule_lr(const RtSchedule *s, int epoch, long step) {
  const RtScheduleConfig *c = &s->cfg;
  if (c->kind != RT_SCHED_COSINE) return s->lr;
  long per = c->steps_per_epoch > 0 ? c->steps_per_epoch : 1;
  long warm = (long)c->warmup_epochs * per, total = (long)c->epochs * per;
  if (step < warm) return c->base_lr * (double)(step + 1) / (double)warm;
  double span = (double)(total - warm > 1 ? total - warm : 1);
  double t = (double)(step - warm) / span;
  if (t > 1) t = 1;
  return c->min_lr + 0.5 * (c->base_lr - c->min_lr) * (1 + cos(M_PI * t));
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
    } else if (++s->bad_epochs > c->patience) {
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
