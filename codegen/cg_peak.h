/* The fp32 peak micro-benchmark of `smelt bench --peak`: a function of independent FMA chains on
 * the host's widest vectors, which the measured GFLOP/s of a training step are compared with.
 * Written as LLVM IR like every kernel, so it runs the instructions our kernels can use. */
#ifndef SMELT_CG_PEAK_H
#define SMELT_CG_PEAK_H

#include "codegen/cg_context.h"

/* Independent accumulators: more than FMA latency (4 cycles) x FMA units (2) on the CPUs we
 * target, and few enough to stay in 16 vector registers with the two constants. */
enum { CG_PEAK_CHAINS = 12 };

/* The function the module defines: float smelt_peak_fma(int64_t iterations), iterations >= 1;
 * returns the sum of its accumulators, so that none of the work can be left out. */
#define CG_PEAK_SYMBOL "smelt_peak_fma"
typedef float (*CgPeakFn)(int64_t iterations);

/* Defines CG_PEAK_SYMBOL in c's module on vectors of vector_bits (128, 256 or 512). */
void cg_peak_emit(CgContext *c, int vector_bits);

/* FLOPs one iteration does (a multiply-add counts 2). */
double cg_peak_flops_per_iteration(int vector_bits);

#endif
