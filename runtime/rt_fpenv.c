/* Flush-to-zero and denormals-are-zero for kernel threads (rt_fpenv.h). */
#include "runtime/rt_fpenv.h"

#include <math.h>

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

void rt_fpenv_flush_denormals(void) {
#if defined(__SSE__) || defined(__x86_64__)
  enum { MXCSR_DAZ = 1 << 6, MXCSR_FTZ = 1 << 15 };
  _mm_setcsr(_mm_getcsr() | MXCSR_DAZ | MXCSR_FTZ);
#endif
}

int64_t rt_flush_subnormals(float *x, int64_t n) {
  int64_t flushed = 0;
  for (int64_t i = 0; i < n; i++)
    if (fpclassify(x[i]) == FP_SUBNORMAL) {
      x[i] = copysignf(0.0f, x[i]);
      flushed++;
    }
  return flushed;
}
