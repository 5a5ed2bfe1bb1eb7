/* Progress output for long runs (rt_progress.h). */
#include "runtime/rt_progress.h"

#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double rt_now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void rt_progress_begin(RtProgress *p, const char *label, long total, bool enabled) {
  *p = (RtProgress){.out = stderr, .enabled = enabled, .total = total > 0 ? total : 1};
  p->tty = isatty(fileno(stderr));
  snprintf(p->label, sizeof p->label, "%s", label);
  p->start = rt_now_seconds();
}

static void clock_text(double s, char *buf, size_t n) {
  if (!isfinite(s) || s < 0) s = 0;
  long t = (long)(s + 0.5);
  snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

void rt_progress_update(RtProgress *p, long done, double loss) {
  if (!p->enabled) return;
  double now = rt_now_seconds(), el = now - p->start;
  double rate = el > 0 ? (double)done / el : 0;
  char eta[32];
  clock_text(rate > 0 ? (double)(p->total - done) / rate : 0, eta, sizeof eta);
  if (p->tty) {
    if (now - p->last_draw < 0.1 && done < p->total) return;
    p->last_draw = now;
    enum { WIDTH = 24 };
    int fill = (int)(WIDTH * (double)done / (double)p->total);
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++) bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = 0;
    fprintf(p->out, "\r\033[K%s [%s] %ld/%ld  %.1f samples/s  ETA %s  loss %.4f", p->label, bar, done,
            p->total, rate, eta, loss);
    fflush(p->out);
    return;
  }
  /* in a log: a line per quarter of the epoch, for epochs long enough to wait for */
  int q = (int)(4 * done / p->total);
  if (q <= p->quarter || q >= 4 || el < 5.0) return;
  p->quarter = q;
  fprintf(p->out, "%s %ld/%ld  %.1f samples/s  ETA %s  loss %.4f\n", p->label, done, p->total, rate, eta, loss);
}

void rt_progress_end(RtProgress *p) {
  if (p->enabled && p->tty) fprintf(p->out, "\r\033[K");
}
