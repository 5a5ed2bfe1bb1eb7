/* Times loop() of dpbf16_rate.ll (see dpbf16_rate.py): vdpbf16ps instructions a second. */
#include <stdio.h>
#include <stdint.h>
#include <time.h>
void loop(int64_t iters, float *out);
int main(void) {
  static float out[24 * 16] __attribute__((aligned(64)));
  struct timespec t0, t1;
  int64_t it = 50000000;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  loop(it, out);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double s = t1.tv_sec - t0.tv_sec + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
  printf("%.1f G dpbf16ps/s -> %.1f GFLOP/s (each 32 MACs)\n", it * 24 / s * 1e-9, it * 24 * 64.0 / s * 1e-9);
}
