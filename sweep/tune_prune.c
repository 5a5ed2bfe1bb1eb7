/* The median rule over a sweep's runs (tune_prune.h). Each run keeps `judged`, the epochs already
 * decided not to prune; decisions advance in sweep order, so run i's epoch k is decided from the
 * final values of the runs before it at epoch k and the outcome is a pure function of the
 * histories, whatever order the children happened to report in. */
#include "sweep/tune_prune.h"

#include <math.h>
#include <stdlib.h>

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double tune_median(const double *v, int n) {
  double *s = malloc((size_t)(n > 0 ? n : 1) * sizeof *s);
  int m = 0;
  for (int i = 0; i < n; i++)
    if (isfinite(v[i])) s[m++] = v[i];
  qsort(s, (size_t)m, sizeof *s, cmp_double);
  double med = m == 0 ? NAN : m % 2 ? s[m / 2] : 0.5 * (s[m / 2 - 1] + s[m / 2]);
  free(s);
  return med;
}

bool tune_prune_judge(RtMetric m, double value, const double *others, int n_others) {
  int finite = 0;
  for (int i = 0; i < n_others; i++) finite += isfinite(others[i]) != 0;
  if (finite < TUNE_PRUNE_MIN_OTHERS) return false;
  double med = tune_median(others, n_others);
  if (!isfinite(value)) return true;
  return rt_metric_better(m, med, value); /* strictly worse than the median */
}

/* True when run r's contribution at epoch k is final: its value there is decided, or it can get
 * no more epochs (pruned, or ended with every epoch decided). */
static bool settled(const TuneRun *r, int k) {
  if (r->pruned_at > 0 || r->judged >= k) return true;
  return tune_status_ended(r->status) && r->judged >= r->n_history;
}

static void format_value(RtMetric m, double v, char *buf, size_t size) {
  if (rt_metric_higher_is_better(m)) snprintf(buf, size, "%.2f%%", 100 * v);
  else snprintf(buf, size, "%.4f", v);
}

int tune_prune_update(TuneSweep *s) {
  if (!s->prune) return 0;
  int newly = 0;
  double *others = malloc((size_t)(s->n > 0 ? s->n : 1) * sizeof *others);
  for (int i = 0; i < s->n; i++) {
    TuneRun *r = &s->runs[i];
    while (r->pruned_at == 0 && r->judged < r->n_history) {
      int k = r->judged + 1;
      bool ready = true;
      for (int j = 0; j < i && ready; j++) ready = settled(&s->runs[j], k);
      if (!ready) break;
      if (k > s->prune_warmup) {
        int n = 0;
        for (int j = 0; j < i; j++)
          if (k <= tune_run_epochs(&s->runs[j])) others[n++] = s->runs[j].history[k - 1].v[s->rank_metric];
        double value = r->history[k - 1].v[s->rank_metric];
        if (tune_prune_judge(s->rank_metric, value, others, n)) {
          char a[32], b[32];
          format_value(s->rank_metric, value, a, sizeof a);
          format_value(s->rank_metric, tune_median(others, n), b, sizeof b);
          snprintf(r->reason, sizeof r->reason, "%s %s at epoch %d, worse than the median %s of %d earlier runs",
                   rt_metric_key(s->rank_metric), a, k, b, n);
          r->pruned_at = k;
          r->status = TUNE_PRUNED;
          r->epochs_mismatch = false;
          newly++;
          break;
        }
      }
      r->judged = k;
    }
  }
  free(others);
  return newly;
}
