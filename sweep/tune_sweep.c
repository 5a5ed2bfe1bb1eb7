/* The small shared vocabulary of a sweep (tune_sweep.h): status names and classes, and the best
 * epoch of a history by one metric: the single definition that the report, the summary and the
 * status line all use, so they cannot disagree about which epoch was best. */
#include "sweep/tune_sweep.h"

#include <math.h>

static const char *const STATUS_NAMES[TUNE_STATUS_COUNT] = {
    [TUNE_PENDING] = "pending",   [TUNE_RUNNING] = "running", [TUNE_OK] = "ok",
    [TUNE_EARLY_STOPPED] = "early_stopped", [TUNE_DIVERGED] = "diverged", [TUNE_PRUNED] = "pruned",
    [TUNE_FAILED] = "failed",
};
_Static_assert(sizeof STATUS_NAMES / sizeof *STATUS_NAMES == TUNE_STATUS_COUNT, "a status without a name");

const char *tune_status_name(TuneStatus s) { return s >= 0 && s < TUNE_STATUS_COUNT ? STATUS_NAMES[s] : "?"; }

bool tune_status_ranked(TuneStatus s) { return s == TUNE_OK || s == TUNE_EARLY_STOPPED; }

bool tune_status_ended(TuneStatus s) { return s != TUNE_PENDING && s != TUNE_RUNNING; }

int tune_history_best(const RtEpochMetrics *h, int n, RtMetric m, double *value) {
  int best = 0;
  double v = NAN;
  for (int i = 0; i < n; i++) {
    double x = h[i].v[m];
    if (isfinite(x) && (best == 0 || rt_metric_better(m, x, v))) {
      best = i + 1;
      v = x;
    }
  }
  *value = v;
  return best;
}

int tune_run_epochs(const TuneRun *r) {
  return r->pruned_at > 0 && r->pruned_at < r->n_history ? r->pruned_at : r->n_history;
}
