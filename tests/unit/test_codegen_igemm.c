/* Our int8 GEMM (codegen/cg_igemm.h) against plain integer sums in C, bit for bit: B and B^T,
 * padded leading dimensions, rows and columns around the tile and panel edges (1, primes, one
 * more than a tile or a panel), K around the groups of four and the packing block (1, 3, 4, 5,
 * 1023, 1024, 1025, 2051), extreme values (all -127 or 127 rows, where the unsigned-times-signed
 * correction matters most), on AMX-INT8 tiles (blocks of 32 rows; rows past them on VNNI) and
 * AVX512-VNNI's vpdpbusd where the host has them and on the multiply path at 512 and 256 bits;
 * columns past n are left as they were; and all of it again with B packed whole beforehand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codegen/cg_host.h"
#include "codegen/cg_igemm.h"
#include "codegen/cg_jit.h"
#include "codegen/cg_target.h"
#include "test_jit.h"
#include "runtime/rt_amx.h"

typedef void (*IgemmFn)(int64_t m, int64_t n, const int8_t *a, const int8_t *b, int32_t *c);
typedef void (*PackFn)(int64_t n, const int8_t *b, int8_t *dst);

typedef struct Compiled {
  CgJit *jit;
  IgemmFn fn;
  PackFn pack;         /* with b_packed: packs op(B) whole, for fn to read */
  int64_t pack_bytes;  /* for n = PACK_N */
} Compiled;

enum { PACK_N = 70 }; /* the widest n a packed B is made for */

/* The shape's function behind an exported wrapper `test_igemm`, compiled for the host. */
static Compiled compile_shape(const CgIgemmShape *s, int vector_bits, bool vnni, bool amx) {
  CgContext c;
  cg_context_init(&c, "igemm", "test");
  c.vector_bits = vector_bits;
  c.vnni = vnni;
  c.amx_int8 = amx;
  LLVMTypeRef params[5] = {c.i64, c.i64, c.ptr, c.ptr, c.ptr};
  LLVMValueRef wrapper = LLVMAddFunction(c.mod, "test_igemm", LLVMFunctionType(c.void_t, params, 5, false));
  LLVMPositionBuilderAtEnd(c.b, LLVMAppendBasicBlockInContext(c.ctx, wrapper, "entry"));
  LLVMValueRef p[5];
  for (unsigned i = 0; i < 5; i++) p[i] = LLVMGetParam(wrapper, i);
  cg_emit_igemm(&c, s, p[0], p[1], p[2], p[3], p[4]);
  cg_emit_igemm(&c, s, p[0], p[1], p[2], p[3], p[4]); /* the function is defined once, called twice */
  LLVMBuildRetVoid(c.b);
  LLVMTypeRef pack_params[3] = {c.i64, c.ptr, c.ptr};
  LLVMValueRef packer = LLVMAddFunction(c.mod, "test_pack", LLVMFunctionType(c.void_t, pack_params, 3, false));
  LLVMPositionBuilderAtEnd(c.b, LLVMAppendBasicBlockInContext(c.ctx, packer, "entry"));
  cg_igemm_pack_b_call(&c, s, LLVMGetParam(packer, 0), LLVMGetParam(packer, 1), LLVMGetParam(packer, 2));
  LLVMBuildRetVoid(c.b);
  int64_t pack_bytes = cg_igemm_packed_b_bytes(&c, s, PACK_N);
  assert_true(pack_bytes <= cg_igemm_packed_b_bytes_max(s->k, PACK_N));
  RtDiags d = {0};
  Compiled out = {.jit = test_jit_module(&c)};
  out.fn = (IgemmFn)cg_jit_lookup(out.jit, "test_igemm", &d);
  out.pack = (PackFn)cg_jit_lookup(out.jit, "test_pack", &d);
  out.pack_bytes = pack_bytes;
  assert_non_null(out.fn);
  assert_non_null(out.pack);
  assert_int_equal(d.errors, 0);
  rt_diags_free(&d);
  cg_context_dispose(&c);
  return out;
}

static int8_t value(uint32_t *state) {
  *state = *state * 1664525u + 1013904223u;
  return (int8_t)((int)((*state >> 9) % 255u) - 127);
}

/* Runs one shape at m x n and checks every element of C, and that the padding past n is kept. */
static void check(const Compiled *f, const CgIgemmShape *s, int64_t m, int64_t n, int extreme) {
  int64_t a_len = m * s->lda, b_len = s->tb ? n * s->ldb : s->k * s->ldb, c_len = m * s->ldc;
  int8_t *a = malloc((size_t)a_len + 1), *b = malloc((size_t)b_len + 1);
  int32_t *c = malloc((size_t)(c_len + 1) * 4), *want = malloc((size_t)(c_len + 1) * 4);
  uint32_t seed = (uint32_t)(m * 131 + n * 7 + s->k + extreme);
  for (int64_t i = 0; i < a_len; i++) a[i] = extreme ? (int8_t)(extreme * 127) : value(&seed);
  for (int64_t i = 0; i < b_len; i++) b[i] = extreme && i % 3 ? (int8_t)(-extreme * 127) : value(&seed);
  for (int64_t i = 0; i < c_len; i++) want[i] = c[i] = (int32_t)value(&seed);
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      int64_t sum = 0;
      for (int64_t k = 0; k < s->k; k++)
        sum += (int64_t)a[i * s->lda + k] * (s->tb ? b[j * s->ldb + k] : b[k * s->ldb + j]);
      want[i * s->ldc + j] = (int32_t)sum;
    }
  int8_t *packed = NULL;
  if (s->b_packed) { /* op(B) packed whole into 64-byte aligned memory first */
    packed = aligned_alloc(64, (size_t)(f->pack_bytes + 63) / 64 * 64);
    f->pack(n, b, packed);
  }
  f->fn(m, n, a, packed ? packed : b, c);
  free(packed);
  for (int64_t i = 0; i < c_len; i++)
    if (c[i] != want[i]) {
      fail_msg("tb=%d k=%lld m=%lld n=%lld: C[%lld][%lld] = %d, want %d", s->tb, (long long)s->k, (long long)m,
               (long long)n, (long long)(i / s->ldc), (long long)(i % s->ldc), c[i], want[i]);
    }
  free(a);
  free(b);
  free(c);
  free(want);
}

static void run_path(int vector_bits, bool vnni, bool amx) {
  static const int64_t ks[] = {1, 3, 4, 5, 64, 67, 1023, 1024, 1025, 2051};
  static const int64_t ms[] = {1, 5, 12, 13, 25, 32, 45, 77};
  static const int64_t ns[] = {1, 7, 16, 33, 70};
  for (int tb = 0; tb < 2; tb++)
    for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++) {
      int64_t k = ks[ki];
      CgIgemmShape s = {.tb = tb, .k = k, .lda = k + 3, .ldb = tb ? k + 1 : 71, .ldc = 73};
      for (int packed = 0; packed < 2; packed++) {
        s.b_packed = packed;
        Compiled f = compile_shape(&s, vector_bits, vnni, amx);
        for (size_t mi = 0; mi < sizeof ms / sizeof *ms; mi++)
          for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++) check(&f, &s, ms[mi], ns[ni], 0);
        check(&f, &s, 45, 33, 1); /* a = 127, b mostly -127 */
        check(&f, &s, 45, 33, -1);
        cg_jit_free(f.jit);
      }
    }
}

static void test_vnni(void **state) {
  (void)state;
  CgHostInfo host;
  cg_host_info(&host);
  if (!cg_host_has_feature(&host, "avx512vnni") || cg_host_vector_bits(&host) < 512) {
    printf("skipped: the host has no AVX512-VNNI\n");
    return;
  }
  run_path(512, true, false);
}

static void test_amx(void **state) {
  (void)state;
  CgHostInfo host;
  cg_host_info(&host);
  if (!cg_host_has_feature(&host, "amx-int8") || !cg_host_has_feature(&host, "avx512vnni") || !rt_amx_enable()) {
    printf("skipped: the host has no AMX-INT8 (or the kernel refused it)\n");
    return;
  }
  run_path(512, true, true);
}

static void test_multiply_path(void **state) {
  (void)state;
  CgHostInfo host;
  cg_host_info(&host);
  if (cg_host_vector_bits(&host) >= 512) run_path(512, false, false);
  run_path(256, false, false);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vnni),
      cmocka_unit_test(test_amx),
      cmocka_unit_test(test_multiply_path),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
