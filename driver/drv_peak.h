/* The machine's measured fp32 peak, for `smelt bench --peak` and the "% of peak" of its figures:
 * the FMA chains of codegen/cg_peak.h compiled for the host, timed on one thread and on every
 * thread of the pool at once. */
#ifndef SMELT_DRV_PEAK_H
#define SMELT_DRV_PEAK_H

#include <stdbool.h>

#include "support/rt_diag.h"

typedef struct DrvPeak {
  int vector_bits;     /* the vectors the chains ran on */
  int threads;         /* the pool's threads, counting the caller */
  double gflops_one;   /* one thread */
  double gflops_all;   /* all threads at once, summed */
  char cpu[64];        /* LLVM's name of the host CPU */
} DrvPeak;

/* Measures the peak: each figure the best of `repeats` runs of about `seconds` each. False with
 * a diagnostic when the code cannot be compiled or loaded. */
bool drv_measure_peak(double seconds, int repeats, DrvPeak *out, RtDiags *d);

#endif
