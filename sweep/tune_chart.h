/* The sweep's chart: validation character accuracy and validation sequence accuracy per epoch,
 * one line per experiment (same colour in both panels), as a self-contained SVG file that any
 * browser or Markdown viewer shows. Runs that were not ranked (diverged, pruned, failed) are
 * drawn dashed; NaN values break a line. */
#ifndef SMELT_SWEEP_TUNE_CHART_H
#define SMELT_SWEEP_TUNE_CHART_H

#include "sweep/tune_sweep.h"

/* The SVG text (caller frees). */
char *tune_chart_svg(const TuneSweep *s);

#endif
