/* Tests of the counter-based RNG (support/rt_random.h) and the rng_uniform op: Philox-4x32-10
 * known answers from Random123's kat_vectors, the op's range, exactness in f32, determinism,
 * independence of streams and seeds, and its mean. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "interp_check.h"
#include "support/rt_random.h"

static void test_philox_known_answers(void **state) {
  static const uint32_t kat[3][10] = {
      /* counter (4 words), key (2 words), expected (4 words) */
      {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
      {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d,
       0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
      {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09,
       0x94fdcceb, 0x5001e420, 0x24126ea1},
  };
  for (int i = 0; i < 3; i++) {
    RtPhilox c = {{kat[i][0], kat[i][1], kat[i][2], kat[i][3]}};
    RtPhilox r = rt_philox4x32_10(c, kat[i][4], kat[i][5]);
    for (int w = 0; w < 4; w++) assert_int_equal(r.v[w], kat[i][6 + w]);
  }
  /* (seed, stream, index) map onto key and counter words as documented */
  RtPhilox w = rt_random_words(0x299f31d0a4093822u, 0x0370734413198a2eu, 0x85a308d3243f6a88u);
  assert_int_equal(w.v[0], 0xd16cfe09);
  assert_true(rt_random_uniform(0x299f31d0a4093822u, 0x0370734413198a2eu, 0x85a308d3243f6a88u) ==
              (float)(0xd16cfe09u >> 8) / 16777216.0f);
}

enum { N = 20000 };

/* Runs rng_uniform(seed){stream} of N elements; returns a malloc'ed copy. */
static double *uniform(int32_t seed, int64_t stream) {
  IrGraph *g = ir_graph_new("rng");
  IrId u = ir_rng_uniform(g, ci(g, IR_SHAPE(), VALS(seed)), stream, IR_SHAPE(2, N / 2));
  double *v = run_node(g, u, NULL);
  ir_graph_free(g);
  return v;
}

static void test_rng_uniform_op(void **state) {
  double *a = uniform(42, 3), *again = uniform(42, 3), *other_stream = uniform(42, 4);
  double *other_seed = uniform(-42, 3);
  double sum = 0, lo = 1, hi = 0;
  int same_stream = 0, same_seed = 0;
  for (int i = 0; i < N; i++) {
    assert_true(a[i] >= 0 && a[i] < 1);
    assert_true(a[i] == (double)(float)a[i] && a[i] * 16777216.0 == floor(a[i] * 16777216.0));
    assert_true(a[i] == again[i]);                              /* deterministic */
    assert_true(a[i] == rt_random_uniform(42, 3, (uint64_t)i)); /* the documented definition */
    same_stream += a[i] == other_stream[i];
    same_seed += a[i] == other_seed[i];
    sum += a[i];
    lo = fmin(lo, a[i]);
    hi = fmax(hi, a[i]);
  }
  assert_true(same_stream < 5 && same_seed < 5);
  assert_true(fabs(sum / N - 0.5) < 0.01); /* standard error 0.002 */
  assert_true(lo < 0.001 && hi > 0.999);
  /* a negative seed is its two's-complement bit pattern */
  assert_true(other_seed[7] == rt_random_uniform(0xffffffd6u, 3, 7));
  free(a);
  free(again);
  free(other_stream);
  free(other_seed);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_philox_known_answers),
      cmocka_unit_test(test_rng_uniform_op),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
