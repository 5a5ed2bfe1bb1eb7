/* What a sweep shows on the terminal while it runs: one line per event (a run starts, finishes
 * an epoch, ends), each prefixed with the run's name, and a live status line (runs done, running,
 * failed; the current leader and its metric) redrawn in place on a terminal and printed as a
 * plain line after each run's end on a pipe or log file. The children's own output goes to
 * OUT/<experiment>/train.log, so the terminal stays readable with several running at once. */
#ifndef SMELT_SWEEP_TUNE_STATUS_H
#define SMELT_SWEEP_TUNE_STATUS_H

#include "sweep/tune_sweep.h"

/* Prints one line, prefixed "[name] " when r is not NULL (over the live line on a terminal). */
void tune_status_event(TuneSweep *s, const TuneRun *r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prints the epochs of r's history not printed yet, one line each. */
void tune_status_epochs(TuneSweep *s, TuneRun *r);

/* "2/5 done, 2 running, 1 failed | leader ctc val_char_acc 43.21% (epoch 3) | 4m12s | running a 3/50,
 * b 1/50" (epochs completed / requested of each running run). */
void tune_status_format(const TuneSweep *s, char *buf, size_t size);

/* Redraws the live line (terminal only). */
void tune_status_draw(TuneSweep *s);
/* Removes the live line (terminal only), before the final report is printed. */
void tune_status_clear(TuneSweep *s);

/* 12.3 s -> "12.3s", 252 s -> "4m12s", 7380 s -> "2h03m"; "-" for NaN or negative. */
const char *tune_format_seconds(double s, char *buf, size_t size);
/* An accuracy as a percentage ("43.21%"), a loss as a number ("1.2345"); "-" for NaN. */
const char *tune_format_metric(RtMetric m, double v, char *buf, size_t size);

#endif
