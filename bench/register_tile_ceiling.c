/* How fast this CPU runs a GEMM register tile when nothing else is in the way: MR rows x 32
 * columns of C in 2 * MR zmm accumulators, each k step one broadcast of A per row and two vector
 * loads of B, both operands in L1 (an A tile of MR x 256 floats, row-major like the tiles
 * codegen/cg_sgemm.c packs, or k-major with -DK_MAJOR; a B panel of 256 x 32). Compare with
 * `smelt bench --peak` (FMA chains on registers alone) and `build/sgemm_bench` (our GEMM, packing
 * and edges included) on the same machine, with nothing else running. Not built by CMake:
 *   gcc -O3 -march=native [-DMR=12] [-DK_MAJOR] [-funroll-loops] bench/register_tile_ceiling.c -o /tmp/tile
 *   /tmp/tile */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifndef MR
#define MR 12
#endif
enum { KC = 256, NR = 32, CALLS = 200000 };

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

/* C[MR][NR] += A[MR][KC] B[KC][NR], C in registers for the whole K loop. */
__attribute__((noinline)) static void tile(const float *a, const float *b, float *c) {
  __m512 acc[MR][2];
  for (int r = 0; r < MR; r++) {
    acc[r][0] = _mm512_loadu_ps(c + r * NR);
    acc[r][1] = _mm512_loadu_ps(c + r * NR + 16);
  }
  for (int k = 0; k < KC; k++) {
    __m512 b0 = _mm512_load_ps(b + k * NR), b1 = _mm512_load_ps(b + k * NR + 16);
    for (int r = 0; r < MR; r++) {
#ifdef K_MAJOR
      __m512 av = _mm512_set1_ps(a[k * MR + r]);
#else
      __m512 av = _mm512_set1_ps(a[r * KC + k]);
#endif
      acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
    }
  }
  for (int r = 0; r < MR; r++) {
    _mm512_storeu_ps(c + r * NR, acc[r][0]);
    _mm512_storeu_ps(c + r * NR + 16, acc[r][1]);
  }
}

int main(void) {
  float *a = aligned_alloc(64, MR * KC * sizeof *a), *b = aligned_alloc(64, KC * NR * sizeof *b);
  float *c = aligned_alloc(64, MR * NR * sizeof *c);
  for (int i = 0; i < MR * KC; i++) a[i] = 1e-3f;
  for (int i = 0; i < KC * NR; i++) b[i] = 1e-3f;
  for (int i = 0; i < MR * NR; i++) c[i] = 0;
  double t = now();
  for (int i = 0; i < CALLS; i++) tile(a, b, c);
  t = now() - t;
  printf("MR %d, A %s: %.1f GFLOP/s on one thread (c[0] = %g)\n", MR,
#ifdef K_MAJOR
         "k-major",
#else
         "row-major",
#endif
         2.0 * MR * NR * KC * CALLS / t / 1e9, c[0]);
  free(a);
  free(b);
  free(c);
  return 0;
}
