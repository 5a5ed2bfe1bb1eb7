/* The floating-point environment smelt's kernels run in. Training drives some weights and
 * optimizer moments into the subnormal range (dead ReLU channels under weight decay, Adam's
 * second moments), and every multiply that touches a subnormal costs a microcode assist on x86:
 * a small model's epoch grew from 24 to 36 s over 17 epochs. Like TensorFlow and oneDNN, smelt
 * runs with flush-to-zero and denormals-are-zero set.
 *
 * The contract: compiled code computes IEEE f32, except that every value below 2^-126
 * (1.18e-38) in magnitude, an operation's result or an operand read from memory, is a zero of
 * its sign. So a result is off by more than rounding only where a value on its path went below
 * 2^-126 and later factors scaled it back up: ((w * 1e-30) * 1e-9) * 1e30 * 1e9 gives 0, not w,
 * and the gradient of (w * s) / s for a runtime s = 1e38 is 0 (g / s is subnormal). Constant
 * folding is IEEE whatever this mode (ir_f32_round), so with a constant 1e38 that gradient folds
 * to 1. The reference interpreter (double) is unaffected; `smelt run-ir --compare` re-runs it
 * with subnormals flushed and labels a difference that flushing alone explains FTZ, naming the
 * first op whose IEEE value went subnormal (codegen/cg_compare.h). */
#ifndef SMELT_RT_FPENV_H
#define SMELT_RT_FPENV_H

#include <stdint.h>

/* Sets FTZ and DAZ for the calling thread (a no-op where the CPU has no such modes). Threads
 * created afterwards inherit them; the runtime pool sets them in its workers too. */
void rt_fpenv_flush_denormals(void);

/* Replaces the subnormal values of x[0, n) with zeros of the same sign and returns how many there
 * were: for weights that leave smelt (smelt emit), whose callers run in whatever mode they like. */
int64_t rt_flush_subnormals(float *x, int64_t n);

#endif
