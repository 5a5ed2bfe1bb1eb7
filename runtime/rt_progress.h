/* A progress bar for one epoch on stderr: done/total samples, samples/s, ETA and the running
 * loss, redrawn in place on a terminal; on a pipe or log file, a plain line at each quarter of
 * an epoch once 5 s have passed. */
#ifndef SMELT_RT_PROGRESS_H
#define SMELT_RT_PROGRESS_H

#include <stdbool.h>
#include <stdio.h>

typedef struct RtProgress {
  FILE *out;
  bool tty, enabled;
  char label[64];
  long total;
  double start, last_draw;
  int quarter; /* last quarter printed (non-tty) */
} RtProgress;

void rt_progress_begin(RtProgress *p, const char *label, long total, bool enabled);
void rt_progress_update(RtProgress *p, long done, double loss);
void rt_progress_end(RtProgress *p); /* clears the bar on a terminal */
double rt_now_seconds(void);

#endif
