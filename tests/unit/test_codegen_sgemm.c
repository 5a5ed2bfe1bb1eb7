/* Our own SGEMM (codegen/cg_sgemm.h) against a plain double-precision GEMM in C: every
 * combination of transposes and beta, padded leading dimensions, sizes around the tile edges
 * (1, primes, one more and one less than a tile or a panel, more than a block of rows), K
 * across the packing block, on 128-bit, 256-bit and the host's vectors; B read in place for any
 * M, and B packed whole beforehand (into memory that is not 64-byte aligned); splitting M or N
 * within a path changes no bit. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codegen/cg_host.h"
#include "codegen/cg_jit.h"
#include "codegen/cg_sgemm.h"
#include "codegen/cg_target.h"
#include "driver/drv_pipeline.h"
#include "runtime/rt_amx.h"
#include "test_jit.h"

typedef void (*SgemmFn)(int64_t m, int64_t n, const float *a, const float *b, float *c);
typedef void (*PackFn)(int64_t n, const float *b, float *dst);

typedef struct Compiled {
  CgJit *jit;
  SgemmFn fn;
  PackFn pack; /* packs op(B) whole for a shape with b_packed */
} Compiled;

/* The shape's function behind an exported wrapper `test_sgemm`, compiled for the host. */
static Compiled compile_shape(const CgSgemmShape *s, int vector_bits) {
  CgContext c;
  cg_context_init(&c, "sgemm", "test");
  LLVMValueRef inner = cg_sgemm_function(&c, s, vector_bits);
  assert_ptr_equal(cg_sgemm_function(&c, s, vector_bits), inner); /* defined once per module */
  LLVMTypeRef params[5] = {c.i64, c.i64, c.ptr, c.ptr, c.ptr};
  LLVMValueRef wrapper = LLVMAddFunction(c.mod, "test_sgemm", LLVMFunctionType(c.void_t, params, 5, false));
  LLVMPositionBuilderAtEnd(c.b, LLVMAppendBasicBlockInContext(c.ctx, wrapper, "entry"));
  LLVMValueRef p[5];
  for (unsigned i = 0; i < 5; i++) p[i] = LLVMGetParam(wrapper, i);
  cg_sgemm_call(&c, s, vector_bits, p[0], p[1], p[2], p[3], p[4]);
  LLVMBuildRetVoid(c.b);
  LLVMTypeRef pack_params[3] = {c.i64, c.ptr, c.ptr};
  LLVMValueRef packer = LLVMAddFunction(c.mod, "test_pack", LLVMFunctionType(c.void_t, pack_params, 3, false));
  LLVMPositionBuilderAtEnd(c.b, LLVMAppendBasicBlockInContext(c.ctx, packer, "entry"));
  if (!s->bf16)
    cg_sgemm_pack_b_call(&c, s->tb, s->k, s->ldb, vector_bits, LLVMGetParam(packer, 0), LLVMGetParam(packer, 1),
                         LLVMGetParam(packer, 2));
  LLVMBuildRetVoid(c.b);
  RtDiags d = {0};
  Compiled out = {.jit = test_jit_module(&c)};
  out.fn = (SgemmFn)cg_jit_lookup(out.jit, "test_sgemm", &d);
  out.pack = (PackFn)cg_jit_lookup(out.jit, "test_pack", &d);
  assert_non_null(out.fn);
  assert_non_null(out.pack);
  assert_int_equal(d.errors, 0);
  rt_diags_free(&d);
  cg_context_dispose(&c);
  return out;
}

static float value(uint32_t *state) {
  *state = *state * 1664525u + 1013904223u;
  return (float)((*state >> 9) & 0xffff) / 32768.0f - 1.0f;
}

/* x rounded to bfloat16, to nearest even (finite x), as a float. */
static float to_bf16(float x) {
  uint32_t u;
  memcpy(&u, &x, 4);
  u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
  memcpy(&x, &u, 4);
  return x;
}

/* op(A)'s or op(B)'s element as the GEMM multiplies it: as it is, or rounded to bf16. */
static double operand(const CgSgemmShape *s, float x) { return s->bf16 ? (double)to_bf16(x) : (double)x; }

/* C (m x n, ldc) (+)= op(A) op(B) in double precision. */
static void reference(const CgSgemmShape *s, int64_t m, int64_t n, const float *a, const float *b, double *c) {
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      double sum = 0;
      for (int64_t k = 0; k < s->k; k++)
        sum += operand(s, s->ta ? a[k * s->lda + i] : a[i * s->lda + k]) *
               operand(s, s->tb ? b[j * s->ldb + k] : b[k * s->ldb + j]);
      c[i * s->ldc + j] = (s->accumulate ? c[i * s->ldc + j] : 0) + sum;
    }
}

/* Runs one shape at m x n and checks every element of C, including the padding columns past n
 * (which must be left as they were). */
static void check(const Compiled *f, const CgSgemmShape *s, int64_t m, int64_t n) {
  int64_t a_len = s->ta ? s->k * s->lda : m * s->lda, b_len = s->tb ? n * s->ldb : s->k * s->ldb;
  int64_t c_len = m * s->ldc;
  float *a = malloc((size_t)(a_len + 1) * 4), *b = malloc((size_t)(b_len + 1) * 4), *c = malloc((size_t)(c_len + 1) * 4);
  double *want = malloc((size_t)(c_len + 1) * sizeof *want);
  uint32_t seed = (uint32_t)(m * 131 + n * 7 + s->k);
  for (int64_t i = 0; i < a_len; i++) a[i] = value(&seed);
  for (int64_t i = 0; i < b_len; i++) b[i] = value(&seed);
  for (int64_t i = 0; i < c_len; i++) want[i] = c[i] = value(&seed);
  reference(s, m, n, a, b, want);
  float *packed = NULL;
  if (s->b_packed) { /* packed whole, one float past an aligned start */
    packed = calloc((size_t)cg_sgemm_packed_b_floats(n, s->k) + 16, 4);
    f->pack(n, b, packed + 1);
  }
  f->fn(m, n, a, packed ? packed + 1 : b, c);
  free(packed);
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < s->ldc; j++) {
      double w = want[i * s->ldc + j], got = c[i * s->ldc + j];
      if (fabs(got - w) > 1e-5 * (1 + sqrt((double)s->k)) * (1 + fabs(w)))
        fail_msg("%s%s k%lld m%lld n%lld: C[%lld][%lld] = %g, want %g", s->ta ? "t" : "n", s->tb ? "t" : "n",
                 (long long)s->k, (long long)m, (long long)n, (long long)i, (long long)j, got, w);
    }
  free(a), free(b), free(c), free(want);
}

static void test_against_reference(void **state) {
  (void)state;
  RtDiags d = {0};
  assert_true(cg_target_init(&d));
  CgTarget *t = cg_target_new(NULL, &d);
  int widths[3] = {128, 256, t->vector_bits};
  cg_target_free(t);
  static const int64_t ks[] = {1, 7, 256, 300};
  static const int64_t sizes[] = {1, 5, 12, 13, 17, 33, 64, 150}; /* 150: two blocks of MC rows */
  for (int w = 0; w < 3; w++)
    for (int tr = 0; tr < 4; tr++)
      for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++) {
        bool ta = tr & 1, tb = tr & 2;
        int64_t k = ks[ki], max = 150, pad = 3;
        CgSgemmShape s = {.ta = ta, .tb = tb, .k = k, .accumulate = (tr + (int)ki) % 2,
                          .lda = (ta ? max : k) + pad, .ldb = (tb ? k : max) + pad, .ldc = max + pad};
        Compiled f = compile_shape(&s, widths[w]);
        for (size_t mi = 0; mi < sizeof sizes / sizeof *sizes; mi++)
          for (size_t ni = 0; ni < sizeof sizes / sizeof *sizes; ni += 1 + (mi + ki) % 2)
            check(&f, &s, sizes[mi], sizes[ni]);
        check(&f, &s, 0, 5); /* nothing to do */
        cg_jit_free(f.jit);
      }
}

/* B read where it is for any number of rows (b_in_place), and op(B) packed whole before the call
 * (b_packed), both transposes of B, K across the packing block, rows beyond a block of MC. */
static void test_b_in_place_and_pre_packed(void **state) {
  (void)state;
  RtDiags d = {0};
  assert_true(cg_target_init(&d));
  CgTarget *t = cg_target_new(NULL, &d);
  int widths[2] = {256, t->vector_bits};
  cg_target_free(t);
  static const int64_t ks[] = {1, 7, 300};
  static const int64_t ms[] = {1, 3, 4, 13, 32, 300}, ns[] = {1, 17, 33, 300};
  for (int w = 0; w < 2; w++)
    for (int mode = 0; mode < 3; mode++) /* in place; packed B; packed B^T */
      for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++) {
        int64_t k = ks[ki], max = 300, pad = 5;
        bool tb = mode == 2;
        CgSgemmShape s = {.tb = tb, .k = k, .accumulate = ki == 1, .lda = k + pad, .ldb = (tb ? k : max) + pad,
                          .ldc = max + pad, .b_in_place = mode == 0, .b_packed = mode > 0};
        Compiled f = compile_shape(&s, widths[w]);
        for (size_t mi = 0; mi < sizeof ms / sizeof *ms; mi++)
          for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++) check(&f, &s, ms[mi], ns[ni]);
        cg_jit_free(f.jit);
      }
}

/* bf16 products: the inputs rounded to bf16, every transpose and beta, odd K and K across an
 * AMX step and the packing block, edge tiles; against the reference on the same rounded inputs;
 * with AVX512-BF16's vdpbf16ps and with AMX tiles, each where the host has it. */
static void test_bf16(void **state) {
  (void)state;
  CgHostInfo host;
  cg_host_info(&host);
  for (int amx = 0; amx < 2; amx++) {
    if (!cg_host_has_feature(&host, "avx512bf16") ||
        (amx && (!cg_host_has_feature(&host, "amx-bf16") || !rt_amx_enable()))) {
      printf("skipped: the host has no %s\n", amx ? "AMX-BF16 (or the kernel refused it)" : "AVX512-BF16");
      continue;
    }
    static const int64_t ks[] = {1, 7, 40, 300};
    static const int64_t sizes[] = {1, 13, 33, 150};
    for (int tr = 0; tr < 4; tr++)
      for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++) {
        bool ta = tr & 1, tb = tr & 2;
        int64_t k = ks[ki], max = 150, pad = 3;
        CgSgemmShape s = {.ta = ta, .tb = tb, .k = k, .accumulate = (tr + (int)ki) % 2, .bf16 = true, .amx = amx,
                          .lda = (ta ? max : k) + pad, .ldb = (tb ? k : max) + pad, .ldc = max + pad};
        Compiled f = compile_shape(&s, 512);
        for (size_t mi = 0; mi < sizeof sizes / sizeof *sizes; mi++)
          for (size_t ni = 0; ni < sizeof sizes / sizeof *sizes; ni++) check(&f, &s, sizes[mi], sizes[ni]);
        cg_jit_free(f.jit);
      }
  }
}

/* Rows and columns computed in separate calls (as threads split a GEMM) give the same bits as
 * one call over the whole matrix, with B as it is and (columns) transposed. */
static void test_split_is_bitwise_equal(void **state) {
  (void)state;
  enum { M = 29, N = 100, K = 300, SPLIT = 40 }; /* N packs A; both parts read it in place */
  RtDiags d = {0};
  assert_true(cg_target_init(&d));
  CgTarget *t = cg_target_new(NULL, &d);
  static float a[M * K], b[K * N], whole[M * N], split[M * N];
  uint32_t seed = 5;
  for (int i = 0; i < M * K; i++) a[i] = value(&seed);
  for (int i = 0; i < K * N; i++) b[i] = value(&seed);
  for (int tb = 0; tb < 2; tb++) {
    CgSgemmShape s = {.tb = tb, .k = K, .lda = K, .ldb = tb ? K : N, .ldc = N};
    Compiled f = compile_shape(&s, t->vector_bits);
    f.fn(M, N, a, b, whole);
    if (!tb) { /* rows 0..12, then 13..28 (against B^T, 13 rows would take the dot products) */
      f.fn(13, N, a, b, split);
      f.fn(M - 13, N, a + 13 * K, b, split + 13 * N);
      assert_memory_equal(whole, split, sizeof whole);
    }
    memset(split, 0, sizeof split);
    f.fn(M, SPLIT, a, b, split); /* columns 0..39, then 40..99 */
    f.fn(M, N - SPLIT, a, b + (tb ? SPLIT * K : SPLIT), split + SPLIT);
    assert_memory_equal(whole, split, sizeof whole);
    cg_jit_free(f.jit);
  }
  cg_target_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_against_reference),
      cmocka_unit_test(test_b_in_place_and_pre_packed),
      cmocka_unit_test(test_bf16),
      cmocka_unit_test(test_split_is_bitwise_equal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
