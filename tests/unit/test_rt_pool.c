/* The runtime thread pool (runtime/rt_pool.h): every index of [0, n) is visited exactly once for
 * many (threads, n, grain) combinations, chunks are contiguous, at least `grain` long and
 * numbered below the thread count; nested loops run inline on the calling thread; the workers
 * really take chunks; two threads calling at once both get correct loops; OpenBLAS is made
 * single-threaded; kernels run with subnormals flushed to zero on every pool thread. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>
#include <xmmintrin.h>
#include <cmocka.h>
#include <pthread.h>

#include "runtime/rt_fpenv.h"
#include "runtime/rt_pool.h"

/* What one loop saw; filled by chunk_record from every thread. */
typedef struct Coverage {
  _Atomic int *hits;   /* (n) */
  int64_t n, grain;
  _Atomic int chunks, bad_chunks, max_worker;
  pthread_t caller;
  _Atomic int foreign; /* chunks run by a thread other than the caller */
  int sleep_us;        /* per chunk, to give workers time to take some */
} Coverage;

static void chunk_record(void *ctx, int64_t begin, int64_t end, int32_t worker) {
  Coverage *c = ctx;
  atomic_fetch_add(&c->chunks, 1);
  bool whole = begin == 0 && end == c->n;
  if (begin < 0 || end > c->n || begin >= end || (!whole && end - begin < c->grain) || worker < 0)
    atomic_fetch_add(&c->bad_chunks, 1);
  for (int m = atomic_load(&c->max_worker); worker > m;)
    if (atomic_compare_exchange_weak(&c->max_worker, &m, worker)) break;
  if (!pthread_equal(pthread_self(), c->caller)) atomic_fetch_add(&c->foreign, 1);
  for (int64_t i = begin; i < end && i < c->n && i >= 0; i++) atomic_fetch_add(&c->hits[i], 1);
  if (c->sleep_us) {
    struct timespec ts = {0, c->sleep_us * 1000L};
    nanosleep(&ts, NULL);
  }
}

/* Runs one loop and checks it; returns the number of chunks. */
static int check_loop(int64_t n, int64_t grain, int threads, int sleep_us, int *foreign) {
  Coverage c = {.n = n, .grain = grain < 1 ? 1 : grain, .caller = pthread_self(), .sleep_us = sleep_us};
  c.hits = calloc((size_t)(n > 0 ? n : 1), sizeof *c.hits);
  smelt_rt_parallel_for(chunk_record, &c, n, grain);
  for (int64_t i = 0; i < n; i++)
    if (atomic_load(&c.hits[i]) != 1)
      fail_msg("threads %d n %lld grain %lld: index %lld visited %d times", threads, (long long)n,
               (long long)grain, (long long)i, atomic_load(&c.hits[i]));
  if (c.bad_chunks) fail_msg("threads %d n %lld grain %lld: %d bad chunks", threads, (long long)n, (long long)grain, c.bad_chunks);
  if (c.max_worker >= threads) fail_msg("worker %d with %d threads", c.max_worker, threads);
  if (c.chunks > threads) fail_msg("%d chunks with %d threads", c.chunks, threads);
  if (n <= 0) assert_int_equal(c.chunks, 0);
  if (foreign) *foreign = c.foreign;
  free(c.hits);
  return c.chunks;
}

static void test_every_index_once(void **state) {
  (void)state;
  static const int threads[] = {1, 2, 3, 4, 8};
  static const int64_t ns[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 100, 1000, 4097};
  static const int64_t grains[] = {-1, 0, 1, 2, 3, 7, 64, 1000, 5000};
  for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
    rt_pool_set_threads(threads[t]);
    assert_int_equal(rt_pool_threads(), threads[t]);
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++) {
      for (size_t b = 0; b < sizeof grains / sizeof *grains; b++) {
        int64_t n = ns[a], g = grains[b] < 1 ? 1 : grains[b];
        int chunks = check_loop(n, grains[b], threads[t], 0, NULL);
        /* as many chunks as threads allow while each keeps `grain` indices */
        int64_t want = n <= 0 ? 0 : n / g < 1 ? 1 : n / g;
        if (want > threads[t]) want = threads[t];
        assert_int_equal(chunks, want);
      }
    }
  }
  rt_pool_set_threads(0);
}

/* Workers take chunks (when the caller is slow enough to leave them some). */
static void test_workers_take_chunks(void **state) {
  (void)state;
  rt_pool_set_threads(3);
  int foreign = 0;
  for (int k = 0; k < 20 && !foreign; k++) check_loop(3, 1, 3, 2000, &foreign);
  assert_true(foreign > 0);
  /* many quick loops in a row: the spin-then-sleep hand-off never loses a wake-up */
  for (int k = 0; k < 2000; k++) check_loop(64 + k % 7, 8, 3, 0, NULL);
  rt_pool_set_threads(0);
}

/* ---- nesting ---- */

typedef struct Nest {
  _Atomic int inner_calls, inner_bad;
  _Atomic int hits[8][10];
} Nest;

typedef struct Inner {
  Nest *nest;
  int64_t row;
  pthread_t thread;
} Inner;

static void inner_chunk(void *ctx, int64_t begin, int64_t end, int32_t worker) {
  Inner *in = ctx;
  atomic_fetch_add(&in->nest->inner_calls, 1);
  /* a nested loop runs inline: one call, the whole range, on the thread of the outer chunk */
  if (begin != 0 || end != 10 || worker != 0 || !pthread_equal(pthread_self(), in->thread))
    atomic_fetch_add(&in->nest->inner_bad, 1);
  for (int64_t i = begin; i < end; i++) atomic_fetch_add(&in->nest->hits[in->row][i], 1);
}

static void outer_chunk(void *ctx, int64_t begin, int64_t end, int32_t worker) {
  for (int64_t r = begin; r < end; r++) {
    Inner in = {ctx, r, pthread_self()};
    smelt_rt_parallel_for(inner_chunk, &in, 10, 1);
  }
}

static void test_nested_loops_run_inline(void **state) {
  (void)state;
  rt_pool_set_threads(4);
  for (int k = 0; k < 50; k++) {
    Nest nest = {0};
    smelt_rt_parallel_for(outer_chunk, &nest, 8, 1);
    assert_int_equal(nest.inner_calls, 8);
    assert_int_equal(nest.inner_bad, 0);
    for (int r = 0; r < 8; r++)
      for (int i = 0; i < 10; i++) assert_int_equal(nest.hits[r][i], 1);
  }
  rt_pool_set_threads(0);
}

/* ---- concurrent callers ---- */

static void *caller_main(void *arg) {
  for (int k = 0; k < 300; k++) check_loop(100 + k % 13, 4, rt_pool_threads(), 0, NULL);
  *(int *)arg = 1;
  return NULL;
}

static void test_concurrent_callers(void **state) {
  (void)state;
  rt_pool_set_threads(2);
  pthread_t other;
  int done = 0;
  assert_int_equal(pthread_create(&other, NULL, caller_main, &done), 0);
  int mine = 0;
  caller_main(&mine);
  pthread_join(other, NULL);
  assert_true(done && mine);
  rt_pool_shutdown();
  check_loop(1000, 1, 2, 0, NULL); /* restarts after a shutdown */
  rt_pool_set_threads(0);
  assert_true(rt_pool_threads() >= 1);
}

static void test_blas_single_threaded(void **state) {
  (void)state;
  rt_blas_single_threaded();
  assert_int_equal(openblas_get_num_threads(), 1);
}

/* Counts the elements whose subnormal input and subnormal product both came out as 0 (FTZ and
 * DAZ set), separately for the caller and the pool's workers. volatile stops constant folding. */
typedef struct Flushed {
  pthread_t caller;
  _Atomic int caller_flushed, worker_flushed, worker_total;
} Flushed;

static void chunk_subnormal(void *ctx, int64_t begin, int64_t end, int32_t worker) {
  (void)worker;
  Flushed *f = ctx;
  bool foreign = !pthread_equal(pthread_self(), f->caller);
  for (int64_t i = begin; i < end; i++) {
    volatile float tiny = 1e-39f, small = 1e-30f, scale = 1e-10f;
    bool flushed = tiny * 1.0f == 0.0f && small * scale == 0.0f;
    if (foreign) atomic_fetch_add(&f->worker_total, 1);
    if (flushed) atomic_fetch_add(foreign ? &f->worker_flushed : &f->caller_flushed, 1);
  }
  struct timespec ts = {0, 2000000L}; /* leave the workers time to take chunks */
  nanosleep(&ts, NULL);
}

static void test_subnormals_flushed(void **state) {
  (void)state;
  unsigned ieee = _mm_getcsr() & ~(1u << 6 | 1u << 15); /* DAZ, FTZ off */
  _mm_setcsr(ieee);
  rt_pool_shutdown();
  rt_pool_set_threads(2); /* workers start from the caller's IEEE mode and set their own */
  bool workers_ran = false;
  for (int k = 0; k < 20 && !workers_ran; k++) { /* until a worker has taken a chunk */
    Flushed f = {.caller = pthread_self()};
    smelt_rt_parallel_for(chunk_subnormal, &f, 3, 1);
    assert_int_equal(f.worker_flushed, f.worker_total);
    assert_int_equal(f.caller_flushed, 0);
    workers_ran = f.worker_total > 0;
  }
  assert_true(workers_ran);
  rt_fpenv_flush_denormals(); /* the caller's own switch */
  Flushed g = {.caller = pthread_self()};
  smelt_rt_parallel_for(chunk_subnormal, &g, 3, 1);
  assert_int_equal(g.caller_flushed + g.worker_flushed, 3);
  _mm_setcsr(ieee);
}

static void test_flush_subnormal_values(void **state) {
  (void)state;
  float x[6] = {1e-39f, -1e-40f, 1.5f, 0.0f, 1.2e-38f, -3e-45f};
  assert_int_equal(rt_flush_subnormals(x, 6), 3);
  assert_true(x[0] == 0.0f && x[1] == 0.0f && signbit(x[1]) && x[5] == 0.0f);
  assert_true(x[2] == 1.5f && x[4] == 1.2e-38f); /* 1.2e-38 is normal (>= FLT_MIN) */
}

static int shutdown_pool(void **state) {
  (void)state;
  rt_pool_shutdown();
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_index_once),
      cmocka_unit_test(test_workers_take_chunks),
      cmocka_unit_test(test_nested_loops_run_inline),
      cmocka_unit_test(test_concurrent_callers),
      cmocka_unit_test(test_blas_single_threaded),
      cmocka_unit_test(test_subnormals_flushed),
      cmocka_unit_test(test_flush_subnormal_values),
  };
  return cmocka_run_group_tests(tests, NULL, shutdown_pool);
}
