/* Pruning with the median rule (Golovin et al., "Google Vizier", KDD 2017, 3.2.2; Optuna's
 * MedianPruner): after a warm-up of W epochs, a run whose validation metric at epoch k is worse than
 * the median of the runs before it in the sweep's order at epoch k is stopped, pruned at k. Only the
 * runs before it count, so decisions depend on the (deterministic) histories alone, never on
 * timing: --jobs 4 prunes what --jobs 1 prunes, and --resume re-derives the same decisions. */
#ifndef SMELT_SWEEP_TUNE_PRUNE_H
#define SMELT_SWEEP_TUNE_PRUNE_H

#include "sweep/tune_sweep.h"

/* Median of the finite values among v[0..n) (NaN when there are none). */
double tune_median(const double *v, int n);

/* The rule for one epoch: true when `value` is worse than the median of `others` for metric m and
 * there are at least TUNE_PRUNE_MIN_OTHERS finite others. A NaN value is worse than any number.
 * Ties are not pruned: an accuracy still at 0 while the median is 0 (sequence accuracy sits at 0
 * for many early epochs) is never a reason to stop. */
bool tune_prune_judge(RtMetric m, double value, const double *others, int n_others);

/* Decides every epoch that can be decided now, run by run in order: epoch k of run i once each
 * earlier run has either decided its epoch k or can get no more epochs. Sets pruned_at, status
 * TUNE_PRUNED and the reason of runs newly pruned (their children are the caller's to stop).
 * Returns how many runs were newly pruned. Does nothing unless s->prune. */
int tune_prune_update(TuneSweep *s);

#endif
