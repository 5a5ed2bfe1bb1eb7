/* The floating-point environment smelt's kernels run in. Training drives some weights and
 * optimizer moments into the subnormal range (dead ReLU channels under weight decay, Adam's
 * second moments), and every multiply that touches a subnormal costs a microcode assist on x86:
 * a small model's epoch grew from 24 to 36 s over 17 epochs. Like TensorFlow and oneDNN, smelt
 * runs with flush-to-zero and denormals-are-zero set; results differ from IEEE only below
 * 1.2e-38. The reference interpreter (double) is unaffected. */
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
