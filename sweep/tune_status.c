/* The sweep's terminal output (tune_status.h). On a terminal the live line is drawn on stderr's
 * last row with "\r" + erase-line and cut to the terminal's width so that it never wraps (a
 * wrapped line cannot be redrawn in place); event lines clear it first and it is redrawn after. */
#include "sweep/tune_status.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "runtime/rt_progress.h"

const char *tune_format_seconds(double s, char *buf, size_t size) {
  if (!(s >= 0)) snprintf(buf, size, "-");
  else if (s < 60) snprintf(buf, size, "%.1fs", s);
  else if (s < 3600) snprintf(buf, size, "%dm%02ds", (int)s / 60, (int)s % 60);
  else snprintf(buf, size, "%dh%02dm", (int)(s / 3600), (int)s % 3600 / 60);
  return buf;
}

const char *tune_format_metric(RtMetric m, double v, char *buf, size_t size) {
  if (isnan(v)) snprintf(buf, size, "-");
  else if (m == RT_METRIC_VAL_CHAR_ACC || m == RT_METRIC_VAL_SEQ_ACC) snprintf(buf, size, "%.2f%%", 100 * v);
  else snprintf(buf, size, "%.4f", v);
  return buf;
}

static int name_width(const TuneSweep *s) {
  int w = 0;
  for (int i = 0; i < s->n; i++) {
    int len = (int)strlen(s->runs[i].e.name);
    if (len > w) w = len;
  }
  return w;
}

void tune_status_clear(TuneSweep *s) {
  if (s->tty && s->status_drawn) {
    fputs("\r\033[K", stderr);
    fflush(stderr);
  }
  s->status_drawn = false;
}

void tune_status_event(TuneSweep *s, const TuneRun *r, const char *fmt, ...) {
  tune_status_clear(s);
  if (r) fprintf(s->out, "[%-*s] ", name_width(s), r->e.name);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(s->out, fmt, ap);
  va_end(ap);
  fputc('\n', s->out);
  fflush(s->out);
}

void tune_status_epochs(TuneSweep *s, TuneRun *r) {
  int n = tune_run_epochs(r);
  for (; r->shown_epochs < n; r->shown_epochs++) {
    const RtEpochMetrics *e = &r->history[r->shown_epochs];
    char c[16], q[16], t[16];
    tune_status_event(s, r, "epoch %d/%d  val_loss %.4f  char_acc %s  seq_acc %s  lr %.3g  (%s)", e->epoch,
                      r->e.epochs, e->v[RT_METRIC_VAL_LOSS],
                      tune_format_metric(RT_METRIC_VAL_CHAR_ACC, e->v[RT_METRIC_VAL_CHAR_ACC], c, sizeof c),
                      tune_format_metric(RT_METRIC_VAL_SEQ_ACC, e->v[RT_METRIC_VAL_SEQ_ACC], q, sizeof q),
                      e->v[RT_METRIC_LR], tune_format_seconds(e->v[RT_METRIC_SECONDS], t, sizeof t));
  }
}

void tune_status_format(const TuneSweep *s, char *buf, size_t size) {
  int count[TUNE_STATUS_COUNT] = {0}, leader = -1, leader_epoch = 0;
  double best = NAN;
  for (int i = 0; i < s->n; i++) {
    const TuneRun *r = &s->runs[i];
    count[r->status]++;
    if (r->status == TUNE_FAILED || r->status == TUNE_DIVERGED || r->status == TUNE_PRUNED) continue;
    double v;
    int epoch = tune_history_best(r->history, tune_run_epochs(r), s->rank_metric, &v);
    if (epoch && (leader < 0 || rt_metric_better(s->rank_metric, v, best))) {
      leader = i;
      best = v;
      leader_epoch = epoch;
    }
  }
  int done = s->n - count[TUNE_PENDING] - count[TUNE_RUNNING];
  int n = snprintf(buf, size, "%d/%d done, %d running, %d failed", done, s->n, count[TUNE_RUNNING],
                   count[TUNE_FAILED]);
  if (count[TUNE_DIVERGED] && n >= 0 && (size_t)n < size)
    n += snprintf(buf + n, size - (size_t)n, ", %d diverged", count[TUNE_DIVERGED]);
  if (count[TUNE_PRUNED] && n >= 0 && (size_t)n < size)
    n += snprintf(buf + n, size - (size_t)n, ", %d pruned", count[TUNE_PRUNED]);
  char v[16], t[16];
  if (leader >= 0 && n >= 0 && (size_t)n < size)
    n += snprintf(buf + n, size - (size_t)n, " | leader %s %s %s (epoch %d)", s->runs[leader].e.name,
                  rt_metric_key(s->rank_metric), tune_format_metric(s->rank_metric, best, v, sizeof v), leader_epoch);
  if (n >= 0 && (size_t)n < size)
    n += snprintf(buf + n, size - (size_t)n, " | %s", tune_format_seconds(rt_now_seconds() - s->started, t, sizeof t));
  const char *sep = " | running ";
  for (int i = 0; i < s->n && n >= 0 && (size_t)n < size; i++) {
    const TuneRun *r = &s->runs[i];
    if (r->status != TUNE_RUNNING) continue;
    n += snprintf(buf + n, size - (size_t)n, "%s%s %d/%d", sep, r->e.name, r->n_history, r->e.epochs);
    sep = ", ";
  }
}

void tune_status_draw(TuneSweep *s) {
  if (!s->tty) return;
  char line[512];
  tune_status_format(s, line, sizeof line);
  struct winsize ws;
  int width = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10 ? ws.ws_col - 1 : 79;
  if ((int)strlen(line) > width) line[width] = '\0';
  fprintf(stderr, "\r\033[K%s", line);
  fflush(stderr);
  s->status_drawn = true;
}
