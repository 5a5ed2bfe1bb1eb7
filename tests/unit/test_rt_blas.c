/* OpenBLAS's kernel choice (runtime/rt_blas.c): the advice to set OPENBLAS_CORETYPE is given
 * exactly when OpenBLAS fell back to kernels older than the CPU and the user chose none, and the
 * warning and `smelt version` say the same as the advice for this machine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runtime/rt_blas.h"

static void test_advice(void **state) {
  (void)state;
  /* generic fallbacks on capable CPUs: the best kernels the CPU can run */
  assert_string_equal(rt_blas_advice("Prescott", true, true, NULL), "SkylakeX");
  assert_string_equal(rt_blas_advice("Prescott", true, false, NULL), "Haswell");
  assert_string_equal(rt_blas_advice("Nehalem", true, false, ""), "Haswell");
  assert_string_equal(rt_blas_advice("Sandybridge", true, true, NULL), "SkylakeX");
  /* kernels that use the CPU already, or a CPU without AVX2 + FMA: nothing to say */
  assert_null(rt_blas_advice("Haswell", true, true, NULL));
  assert_null(rt_blas_advice("SkylakeX", true, true, NULL));
  assert_null(rt_blas_advice("Zen", true, false, NULL));
  assert_null(rt_blas_advice("Prescott", false, false, NULL));
  /* the user's or the machine's choice stands, whatever it is */
  assert_null(rt_blas_advice("Prescott", true, true, "Haswell"));
  assert_null(rt_blas_advice("Prescott", true, true, "Prescott"));
  assert_null(rt_blas_advice(NULL, true, true, NULL));
}

static void test_warning_matches_advice(void **state) {
  (void)state;
  assert_true(strlen(rt_blas_core()) > 0);
  char *text = NULL;
  size_t size = 0;
  FILE *out = open_memstream(&text, &size);
  bool warned = rt_blas_warn(out);
  fclose(out);
  const char *advice = rt_blas_advice_here();
  assert_int_equal(warned, advice != NULL);
  if (advice) {
    assert_non_null(strstr(text, rt_blas_core()));
    char want[64];
    snprintf(want, sizeof want, "OPENBLAS_CORETYPE=%s", advice);
    assert_non_null(strstr(text, want));
  } else {
    assert_int_equal(size, 0);
  }
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_advice),
      cmocka_unit_test(test_warning_matches_advice),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
