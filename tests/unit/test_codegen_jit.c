/* From an LLVM module to callable code (codegen/cg_target, cg_jit, cg_symbols, cg_cache):
 * hand-built modules (a dot product, an axpy loop, a cblas_sgemm call) go through O3, object
 * emission and the JIT, and their results are checked against C, as is every libm function of
 * the extern table called from JIT-compiled code; the axpy loop must use 512-bit
 * vectors on an AVX-512 host; named CPUs get their own vector width and typos a suggestion; calls
 * to unregistered functions (even ones the process has, like getpid) fail with a diagnostic
 * naming them; the cache round-trips objects and treats damaged entries as misses; the peak
 * benchmark's FMA chains compute what C computes, on every vector width. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <dirent.h>

#include "codegen/cg_cache.h"
#include "codegen/cg_context.h"
#include "codegen/cg_host.h"
#include "codegen/cg_jit.h"
#include "codegen/cg_peak.h"
#include "codegen/cg_symbols.h"
#include "codegen/cg_target.h"

/* ---- helpers ---- */

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* fails the test with every diagnostic when d has errors */
static void assert_no_errors(const RtDiags *d) {
  if (!d->errors) return;
  rt_diags_print(d, stderr);
  fail_msg("%d unexpected diagnostics", d->errors);
}

/* true when some diagnostic of d contains `text` */
static bool diags_mention(const RtDiags *d, const char *text) {
  for (int i = 0; i < d->count; i++)
    if (strstr(d->items[i].msg, text)) return true;
  return false;
}

static void add_noalias(CgContext *c, LLVMValueRef fn, unsigned param /* 1-based */) {
  unsigned kind = LLVMGetEnumAttributeKindForName("noalias", 7);
  LLVMAddAttributeAtIndex(fn, param, LLVMCreateEnumAttribute(c->ctx, kind, 0));
}

/* Loop `for (i = 0; i < n; i++)`: leaves the builder in the body and returns i; finish with
 * loop_end. `n <= 0` skips the loop. */
typedef struct Loop {
  LLVMBasicBlockRef pre, body, exit;
  LLVMValueRef i;
} Loop;

static LLVMValueRef loop_begin(CgContext *c, Loop *l, LLVMValueRef fn, LLVMValueRef n) {
  l->pre = LLVMGetInsertBlock(c->b);
  l->body = LLVMAppendBasicBlockInContext(c->ctx, fn, "loop");
  l->exit = LLVMAppendBasicBlockInContext(c->ctx, fn, "exit");
  LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntSGT, n, cg_i64(c, 0), "any"), l->body, l->exit);
  LLVMPositionBuilderAtEnd(c->b, l->body);
  l->i = LLVMBuildPhi(c->b, c->i64, "i");
  return l->i;
}

static void loop_end(CgContext *c, Loop *l, LLVMValueRef n) {
  LLVMValueRef next = LLVMBuildNSWAdd(c->b, l->i, cg_i64(c, 1), "i.next");
  LLVMValueRef zero = cg_i64(c, 0);
  LLVMAddIncoming(l->i, &zero, &l->pre, 1);
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(c->b);
  LLVMAddIncoming(l->i, &next, &latch, 1);
  LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, next, n, "more"), l->body, l->exit);
  LLVMPositionBuilderAtEnd(c->b, l->exit);
}

static LLVMValueRef load_at(CgContext *c, LLVMValueRef base, LLVMValueRef i) {
  LLVMValueRef p = LLVMBuildInBoundsGEP2(c->b, c->f32, base, &i, 1, "p");
  return LLVMBuildLoad2(c->b, c->f32, p, "v");
}

/* float test_dot(const float *a, const float *b, long n): a reassociable sum, so it vectorises */
static void build_dot(CgContext *c) {
  LLVMTypeRef params[] = {c->ptr, c->ptr, c->i64};
  LLVMValueRef fn = LLVMAddFunction(c->mod, "test_dot", LLVMFunctionType(c->f32, params, 3, 0));
  LLVMValueRef a = LLVMGetParam(fn, 0), b = LLVMGetParam(fn, 1), n = LLVMGetParam(fn, 2);
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, fn, "entry"));
  Loop l;
  LLVMValueRef i = loop_begin(c, &l, fn, n);
  LLVMValueRef acc = LLVMBuildPhi(c->b, c->f32, "acc");
  LLVMValueRef prod = LLVMBuildFMul(c->b, load_at(c, a, i), load_at(c, b, i), "prod");
  LLVMValueRef sum = LLVMBuildFAdd(c->b, acc, prod, "sum");
  LLVMSetFastMathFlags(sum, LLVMFastMathAllowReassoc);
  LLVMValueRef zero = cg_f32(c, 0);
  LLVMAddIncoming(acc, &zero, &l.pre, 1);
  LLVMAddIncoming(acc, &sum, &l.body, 1);
  loop_end(c, &l, n);
  LLVMValueRef result = LLVMBuildPhi(c->b, c->f32, "result");
  LLVMValueRef vals[] = {zero, sum};
  LLVMBasicBlockRef from[] = {l.pre, l.body};
  LLVMAddIncoming(result, vals, from, 2);
  LLVMBuildRet(c->b, result);
}

/* void test_axpy(float *noalias y, const float *noalias x, float a, long n): y += a * x */
static void build_axpy(CgContext *c) {
  LLVMTypeRef params[] = {c->ptr, c->ptr, c->f32, c->i64};
  LLVMValueRef fn = LLVMAddFunction(c->mod, "test_axpy", LLVMFunctionType(c->void_t, params, 4, 0));
  add_noalias(c, fn, 1);
  add_noalias(c, fn, 2);
  LLVMValueRef y = LLVMGetParam(fn, 0), x = LLVMGetParam(fn, 1), a = LLVMGetParam(fn, 2);
  LLVMValueRef n = LLVMGetParam(fn, 3);
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, fn, "entry"));
  Loop l;
  LLVMValueRef i = loop_begin(c, &l, fn, n);
  LLVMValueRef py = LLVMBuildInBoundsGEP2(c->b, c->f32, y, &i, 1, "py");
  LLVMValueRef ax = LLVMBuildFMul(c->b, a, load_at(c, x, i), "ax");
  LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, c->f32, py, "y"), ax, "sum"), py);
  loop_end(c, &l, n);
  LLVMBuildRetVoid(c->b);
}

/* void test_gemm(const float *A, const float *B, float *C): C(2x2) = A(2x3) @ B(3x2), row-major,
 * through the registered cblas_sgemm */
static void build_gemm(CgContext *c) {
  LLVMTypeRef params[] = {c->ptr, c->ptr, c->ptr};
  LLVMValueRef fn = LLVMAddFunction(c->mod, "test_gemm", LLVMFunctionType(c->void_t, params, 3, 0));
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, fn, "entry"));
  LLVMValueRef sgemm = cg_declare_extern(c, "cblas_sgemm");
  enum { ROW_MAJOR = 101, NO_TRANS = 111 };
  LLVMValueRef args[] = {cg_i32(c, ROW_MAJOR), cg_i32(c, NO_TRANS), cg_i32(c, NO_TRANS),
                         cg_i32(c, 2), cg_i32(c, 2), cg_i32(c, 3), cg_f32(c, 1.0),
                         LLVMGetParam(fn, 0), cg_i32(c, 3), LLVMGetParam(fn, 1), cg_i32(c, 2),
                         cg_f32(c, 0.0), LLVMGetParam(fn, 2), cg_i32(c, 2)};
  LLVMBuildCall2(c->b, LLVMGlobalGetValueType(sgemm), sgemm, args, 14, "");
  LLVMBuildRetVoid(c->b);
}

/* int test_calls_unregistered(void) { return callee(); } with callee declared by hand */
static void build_unregistered_call(CgContext *c, const char *callee) {
  LLVMTypeRef type = LLVMFunctionType(c->i32, NULL, 0, 0);
  LLVMValueRef fn = LLVMAddFunction(c->mod, "test_calls_unregistered", type);
  LLVMValueRef target = cg_declare(c, callee, type);
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, fn, "entry"));
  LLVMBuildRet(c->b, LLVMBuildCall2(c->b, type, target, NULL, 0, "r"));
}

/* optimise + emit an object; the caller frees *obj */
static void compile(CgContext *c, CgTarget *t, void **obj, size_t *len) {
  RtDiags d = {0};
  assert_true(cg_optimize(c->mod, t->tm, &d));
  assert_true(cg_emit_object(c->mod, t->tm, obj, len, &d));
  assert_no_errors(&d);
  rt_diags_free(&d);
  assert_true(*len > 64 && !memcmp(*obj, "\177ELF", 4));
}

static CgTarget *host_target(void) {
  RtDiags d = {0};
  CgTarget *t = cg_target_new(NULL, &d);
  assert_no_errors(&d);
  assert_non_null(t);
  rt_diags_free(&d);
  return t;
}

typedef float (*DotFn)(const float *, const float *, long);
typedef void (*AxpyFn)(float *, const float *, float, long);

static void check_dot_axpy(DotFn dot, AxpyFn axpy) {
  enum { N = 1003 };
  float a[N], b[N], y[N], expect[N];
  for (int i = 0; i < N; i++) a[i] = (float)(i % 17) - 8, b[i] = 0.25f * (float)(i % 5), y[i] = (float)i;
  static const long lengths[] = {0, 1, 15, 16, 17, 37, 64, N};
  for (size_t k = 0; k < sizeof lengths / sizeof *lengths; k++) {
    long n = lengths[k];
    double ref = 0;
    for (long i = 0; i < n; i++) ref += (double)a[i] * b[i];
    assert_float_equal(dot(a, b, n), ref, 1e-3); /* exact in float: small multiples of 1/4 */
  }
  for (int i = 0; i < N; i++) expect[i] = i < 37 ? y[i] + 1.5f * a[i] : y[i];
  axpy(y, a, 1.5f, 37); /* stops at n: nothing beyond 37 changes */
  for (int i = 0; i < N; i++) assert_float_equal(y[i], expect[i], 0);
}

/* ---- tests ---- */

static void test_dot_axpy_through_jit(void **state) {
  (void)state;
  CgTarget *t = host_target();
  CgContext c;
  cg_context_init(&c, "dot_axpy", "test");
  build_dot(&c);
  build_axpy(&c);
  RtDiags d = {0};
  double t0 = now_ms();
  void *obj;
  size_t len;
  compile(&c, t, &obj, &len);
  double t1 = now_ms();
  CgJit *j = cg_jit_new(&d);
  assert_non_null(j);
  assert_true(cg_jit_add_object(j, obj, len, &d));
  DotFn dot = (DotFn)cg_jit_lookup(j, "test_dot", &d);
  AxpyFn axpy = (AxpyFn)cg_jit_lookup(j, "test_axpy", &d);
  double t2 = now_ms();
  assert_no_errors(&d);
  assert_non_null(dot);
  assert_non_null(axpy);
  print_message("target %s\noptimise+emit %.1f ms, JIT create+load+link %.1f ms, object %zu bytes\n",
                t->description, t1 - t0, t2 - t1, len);
  check_dot_axpy(dot, axpy);

  /* the same object again in the same JIT: a duplicate definition, reported, not a crash */
  assert_false(cg_jit_add_object(j, obj, len, &d));
  if (!diags_mention(&d, "Duplicate definition of symbol 'test_")) { /* dot or axpy: first found */
    rt_diags_print(&d, stderr);
    fail_msg("the duplicate definition is not named");
  }
  cg_jit_free(j);
  free(obj);
  rt_diags_free(&d);
  cg_context_dispose(&c);
  cg_target_free(t);
}

/* The dot and axpy module compiled for t into *obj (malloc'ed), *len bytes. */
static void dot_axpy_object(CgTarget *t, void **obj, size_t *len) {
  CgContext c;
  cg_context_init(&c, "dot_axpy", "test");
  build_dot(&c);
  build_axpy(&c);
  compile(&c, t, obj, len);
  cg_context_dispose(&c);
}

/* Dropping libLLVM's code pages from the resident set after a compile (cg_jit.h) finds them,
 * and LLVM compiles, loads and runs code again afterwards (the pages come back from the file). */
static void test_release_compiler_pages(void **state) {
  (void)state;
  CgTarget *t = host_target();
  for (int round = 0; round < 2; round++) {
    void *obj;
    size_t len;
    dot_axpy_object(t, &obj, &len);
    RtDiags d = {0};
    CgJit *j = cg_jit_new(&d);
    assert_true(cg_jit_add_object(j, obj, len, &d));
    DotFn dot = (DotFn)cg_jit_lookup(j, "test_dot", &d);
    AxpyFn axpy = (AxpyFn)cg_jit_lookup(j, "test_axpy", &d);
    assert_no_errors(&d);
    assert_true(cg_jit_release_compiler_pages() > (1u << 20)); /* libLLVM's code is megabytes */
    check_dot_axpy(dot, axpy);
    cg_jit_free(j);
    free(obj);
    rt_diags_free(&d);
  }
  cg_target_free(t);
}

/* The axpy loop uses the host's full vector width: zmm registers on AVX-512 (LLVM's own tuning
 * for these CPUs would stop at ymm; cg_optimize lifts that cap). */
static void test_axpy_uses_full_vector_width(void **state) {
  (void)state;
  CgHostInfo host;
  cg_host_info(&host);
  CgTarget *t = host_target();
  assert_int_equal(t->vector_bits, cg_host_vector_bits(&host));
  CgContext c;
  cg_context_init(&c, "axpy", "test");
  build_axpy(&c);
  RtDiags d = {0};
  assert_true(cg_optimize(c.mod, t->tm, &d));
  char *text = cg_emit_assembly(c.mod, t->tm, &d);
  assert_no_errors(&d);
  assert_non_null(text);
  assert_non_null(strstr(text, "test_axpy:"));
  if (t->vector_bits == 512) {
    if (!strstr(text, "%zmm")) fail_msg("no zmm register in the axpy loop:\n%s", text);
  } else {
    print_message("host %s has no avx512f: not checking for zmm registers\n", host.cpu);
    if (t->vector_bits == 256) assert_non_null(strstr(text, "%ymm"));
  }
  free(text);
  rt_diags_free(&d);
  cg_context_dispose(&c);
  cg_target_free(t);
}

/* The FMA chains of `smelt bench --peak` (cg_peak.h) give, bit for bit, what the same
 * recurrence gives in C (so none of the work is dropped or reordered), at 128, 256 and the
 * host's vector width, and the host's code uses its widest registers. */
static void test_peak_kernel(void **state) {
  (void)state;
  CgTarget *t = host_target();
  int widths[] = {128, 256, t->vector_bits};
  for (int w = 0; w < 3; w++) {
    int bits = widths[w], lanes = bits / 32;
    CgContext c;
    cg_context_init(&c, "peak", "test");
    cg_peak_emit(&c, bits);
    RtDiags d = {0};
    if (w == 2 && bits == 512) {
      assert_true(cg_optimize(c.mod, t->tm, &d));
      char *text = cg_emit_assembly(c.mod, t->tm, &d);
      assert_non_null(text);
      if (!strstr(text, "vfmadd") || !strstr(text, "%zmm")) fail_msg("no 512-bit FMA in:\n%s", text);
      free(text);
    }
    void *obj;
    size_t len;
    compile(&c, t, &obj, &len);
    CgJit *j = cg_jit_new(&d);
    assert_true(cg_jit_add_object(j, obj, len, &d));
    CgPeakFn fn = (CgPeakFn)cg_jit_lookup(j, CG_PEAK_SYMBOL, &d);
    assert_no_errors(&d);
    assert_non_null(fn);
    for (int64_t n = 1; n <= 1001; n += 250) {
      float chain_sum = 0;
      for (int a = 0; a < CG_PEAK_CHAINS; a++) {
        float v = (float)(1.0 + a / 64.0);
        for (int64_t i = 0; i < n; i++) v = fmaf(v, (float)0.9999, (float)1e-4);
        chain_sum = a ? chain_sum + v : v;
      }
      float total = 0;
      for (int l = 0; l < lanes; l++) total += chain_sum;
      assert_true(fn(n) == total);
    }
    assert_true(cg_peak_flops_per_iteration(bits) == 2.0 * CG_PEAK_CHAINS * lanes);
    cg_jit_free(j);
    free(obj);
    rt_diags_free(&d);
    cg_context_dispose(&c);
  }
  cg_target_free(t);
}

/* --cpu: a named CPU gets its default features; a typo gets a diagnostic and a suggestion */
static void test_named_cpus(void **state) {
  (void)state;
  static const struct { const char *cpu; int bits; } cases[] = {
      {"x86-64", 128}, {"x86-64-v3", 256}, {"x86-64-v4", 512}, {"native", 0}};
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    RtDiags d = {0};
    CgTarget *t = cg_target_new(cases[k].cpu, &d);
    assert_no_errors(&d);
    assert_non_null(t);
    if (cases[k].bits) {
      assert_string_equal(t->cpu, cases[k].cpu);
      assert_string_equal(t->features, "");
      assert_false(t->host);
      assert_int_equal(t->vector_bits, cases[k].bits);
      assert_non_null(strstr(t->description, cases[k].cpu));
    } else {
      assert_true(t->host);
    }
    CgContext c; /* each target compiles and its code has the expected registers */
    cg_context_init(&c, "axpy", "test");
    build_axpy(&c);
    assert_true(cg_optimize(c.mod, t->tm, &d));
    char *text = cg_emit_assembly(c.mod, t->tm, &d);
    assert_non_null(text);
    assert_int_equal(strstr(text, "%zmm") != NULL, t->vector_bits == 512);
    free(text);
    cg_context_dispose(&c);
    cg_target_free(t);
    rt_diags_free(&d);
  }
  RtDiags d = {0};
  assert_null(cg_target_new("skylake-avx152", &d));
  assert_int_equal(d.errors, 1);
  assert_true(diags_mention(&d, "unknown CPU 'skylake-avx152'"));
  assert_true(diags_mention(&d, "did you mean 'skylake-avx512'"));
  rt_diags_free(&d);
}

static void test_invalid_module_is_a_diagnostic(void **state) {
  (void)state;
  CgTarget *t = host_target();
  CgContext c;
  cg_context_init(&c, "broken", "test");
  LLVMValueRef fn = LLVMAddFunction(c.mod, "broken", LLVMFunctionType(c.f32, NULL, 0, 0));
  LLVMPositionBuilderAtEnd(c.b, LLVMAppendBasicBlockInContext(c.ctx, fn, "entry"));
  LLVMBuildRetVoid(c.b); /* returns void from a float function */
  RtDiags d = {0};
  assert_false(cg_optimize(c.mod, t->tm, &d));
  assert_true(diags_mention(&d, "invalid LLVM module"));
  rt_diags_free(&d);
  cg_context_dispose(&c);
  cg_target_free(t);
}

static void test_gemm_through_registered_cblas(void **state) {
  (void)state;
  CgTarget *t = host_target();
  CgContext c;
  cg_context_init(&c, "gemm", "test");
  build_gemm(&c);
  void *obj;
  size_t len;
  compile(&c, t, &obj, &len);
  RtDiags d = {0};
  CgJit *j = cg_jit_new(&d);
  assert_true(cg_jit_add_object(j, obj, len, &d));
  void (*gemm)(const float *, const float *, float *) =
      (void (*)(const float *, const float *, float *))cg_jit_lookup(j, "test_gemm", &d);
  assert_no_errors(&d);
  assert_non_null(gemm);
  const float A[6] = {1, 2, 3, 4, 5, 6};     /* (2, 3) */
  const float B[6] = {7, 8, 9, 10, 11, 12};  /* (3, 2) */
  float C[4] = {-1, -1, -1, -1};             /* (2, 2) */
  gemm(A, B, C);
  const float expect[4] = {58, 64, 139, 154};
  for (int i = 0; i < 4; i++) assert_float_equal(C[i], expect[i], 0);
  cg_jit_free(j);
  free(obj);
  rt_diags_free(&d);
  cg_context_dispose(&c);
  cg_target_free(t);
}

/* float test_libm_<name>(float a, float b): calls the extern with a (and b, or b as an int) */
static void build_libm_call(CgContext *c, const CgExternSymbol *s) {
  LLVMTypeRef params[2] = {c->f32, c->f32};
  char name[64];
  snprintf(name, sizeof name, "test_libm_%s", s->name);
  LLVMValueRef fn = LLVMAddFunction(c->mod, name, LLVMFunctionType(c->f32, params, 2, 0));
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, fn, "entry"));
  LLVMValueRef callee = cg_declare_extern(c, s->name);
  LLVMValueRef args[2] = {LLVMGetParam(fn, 0), LLVMGetParam(fn, 1)};
  if (!strcmp(s->signature, "f(fi)")) args[1] = LLVMBuildFPToSI(c->b, args[1], c->i32, "");
  unsigned n = (unsigned)strlen(s->signature) - 3;
  LLVMBuildRet(c->b, LLVMBuildCall2(c->b, LLVMGlobalGetValueType(callee), callee, args, n, "r"));
}

/* What C gets from the table's address, called with the table's signature. */
static float call_libm(const CgExternSymbol *s, float a, float b) {
  if (!strcmp(s->signature, "f(f)")) return ((float (*)(float))s->address)(a);
  if (!strcmp(s->signature, "f(ff)")) return ((float (*)(float, float))s->address)(a, b);
  if (!strcmp(s->signature, "f(fi)")) return ((float (*)(float, int))s->address)(a, (int)b);
  fail_msg("no test for the float signature \"%s\" of %s", s->signature, s->name);
  return 0;
}

/* Every float function of the table (libm), called from JIT-compiled code, gives what C's call
 * gives: the address, the name and the signature agree. This also covers exp10f, which LLVM's
 * pow(10, x) -> exp10 rewrite uses wherever its library info trusts glibc's exp10f (LLVM 19
 * does not on Linux, so no IR program of test_codegen_ops reaches it). */
static void test_libm_externs_through_jit(void **state) {
  (void)state;
  int n;
  const CgExternSymbol *s = cg_extern_symbols(&n);
  CgTarget *t = host_target();
  CgContext c;
  cg_context_init(&c, "libm", "test");
  int tested = 0;
  for (int i = 0; i < n; i++)
    if (s[i].signature[0] == 'f') build_libm_call(&c, &s[i]), tested++;
  assert_true(tested >= 11);
  void *obj;
  size_t len;
  compile(&c, t, &obj, &len);
  RtDiags d = {0};
  CgJit *j = cg_jit_new(&d);
  assert_true(cg_jit_add_object(j, obj, len, &d));
  static const float as[] = {-2.5f, -0.75f, 0.0f, 0.3f, 1.0f, 2.5f, 7.0f}, bs[] = {0.5f, 2.0f, -3.0f};
  for (int i = 0; i < n; i++) {
    if (s[i].signature[0] != 'f') continue;
    char name[64];
    snprintf(name, sizeof name, "test_libm_%s", s[i].name);
    float (*fn)(float, float) = (float (*)(float, float))cg_jit_lookup(j, name, &d);
    assert_no_errors(&d);
    assert_non_null(fn);
    for (size_t a = 0; a < sizeof as / sizeof *as; a++)
      for (size_t b = 0; b < sizeof bs / sizeof *bs; b++) {
        float got = fn(as[a], bs[b]), want = call_libm(&s[i], as[a], bs[b]);
        if (memcmp(&got, &want, sizeof got) && !(got != got && want != want))
          fail_msg("%s(%g, %g): JIT %.9g, C %.9g", s[i].name, as[a], bs[b], got, want);
      }
  }
  cg_jit_free(j);
  free(obj);
  rt_diags_free(&d);
  cg_context_dispose(&c);
  cg_target_free(t);
}

/* getpid is in the process, but not in the table: the JIT must not find it behind our back */
static void test_unregistered_calls_fail_loudly(void **state) {
  (void)state;
  CgTarget *t = host_target();
  static const char *const callees[] = {"getpid", "smelt_no_such_function"};
  for (int k = 0; k < 2; k++) {
    CgContext c;
    cg_context_init(&c, "unregistered", "test");
    build_unregistered_call(&c, callees[k]);
    void *obj;
    size_t len;
    compile(&c, t, &obj, &len);
    RtDiags d = {0};
    CgJit *j = cg_jit_new(&d);
    assert_true(cg_jit_add_object(j, obj, len, &d));
    assert_null(cg_jit_lookup(j, "test_calls_unregistered", &d));
    assert_true(d.errors >= 1);
    if (!diags_mention(&d, callees[k])) {
      rt_diags_print(&d, stderr);
      fail_msg("no diagnostic names '%s'", callees[k]);
    }
    assert_true(diags_mention(&d, "cg_symbols.c"));
    rt_diags_free(&d);
    /* a name nobody defines, and an object that is not one */
    assert_null(cg_jit_lookup(j, "test_nowhere", &d));
    assert_true(diags_mention(&d, "test_nowhere"));
    assert_false(cg_jit_add_object(j, "not an object file", 18, &d));
    assert_true(d.errors >= 2);
    rt_diags_free(&d);
    cg_jit_free(j);
    free(obj);
    cg_context_dispose(&c);
  }
  cg_target_free(t);
}

static void test_extern_table(void **state) {
  (void)state;
  static const char *const required[] = {"cblas_sgemm", "memcpy", "memset", "memmove", "expf",
                                         "logf", "tanhf", "powf", "sqrtf", "fmaxf", "fminf",
                                         "exp2f", "exp10f", "ldexpf", "floorf",
                                         "smelt_rt_parallel_for"};
  for (size_t k = 0; k < sizeof required / sizeof *required; k++)
    if (!cg_extern_symbol_find(required[k])) fail_msg("'%s' is not registered", required[k]);
  assert_null(cg_extern_symbol_find("getpid"));
  int n;
  const CgExternSymbol *s = cg_extern_symbols(&n);
  assert_true(n >= (int)(sizeof required / sizeof *required));
  LLVMContextRef ctx = LLVMContextCreate();
  for (int i = 0; i < n; i++) {
    assert_non_null(s[i].address);
    for (int k = 0; k < i; k++) assert_string_not_equal(s[i].name, s[k].name);
    LLVMTypeRef type = cg_extern_type(ctx, &s[i]);
    assert_int_equal(LLVMCountParamTypes(type), strlen(s[i].signature) - 3);
  }
  LLVMTypeRef sgemm = cg_extern_type(ctx, cg_extern_symbol_find("cblas_sgemm"));
  assert_int_equal(LLVMCountParamTypes(sgemm), 14);
  assert_int_equal(LLVMGetTypeKind(LLVMGetReturnType(sgemm)), LLVMVoidTypeKind);
  LLVMContextDispose(ctx);
}

/* ---- cache ---- */

static char cache_dir[256];

static int cache_setup(void **state) {
  (void)state;
  snprintf(cache_dir, sizeof cache_dir, "/tmp/smelt-cache-test-XXXXXX");
  if (!mkdtemp(cache_dir)) return -1;
  strcat(cache_dir, "/nested/dir"); /* store creates the missing levels */
  return setenv("SMELT_CACHE_DIR", cache_dir, 1);
}

static int cache_teardown(void **state) {
  (void)state;
  char cmd[300];
  char *end = strstr(cache_dir, "/nested/dir");
  if (end) *end = 0;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache_dir);
  return system(cmd) == 0 ? 0 : -1;
}

static void test_hash_vectors(void **state) {
  (void)state;
  /* reference values from xxhsum -H1 (xxHash 0.8.1) and the FNV test suite */
  static const struct { const char *text; uint64_t xxh; } v[] = {
      {"", 0xef46db3751d8e999u},
      {"abc", 0x44bc2cf5ad770999u},
      {"abcdefgh12345", 0x09654208655d546eu},
      {"The quick brown fox jumps over the lazy dog", 0x0b242d361fda71bcu},
      {"0123456789abcdef0123456789abcdef0123456789abcdefXYZW!", 0xa3d447771393063bu}};
  for (size_t k = 0; k < sizeof v / sizeof *v; k++)
    assert_int_equal(cg_hash_xxh64(v[k].text, strlen(v[k].text), 0), v[k].xxh);
  char x1000[1000];
  memset(x1000, 'x', sizeof x1000);
  assert_int_equal(cg_hash_xxh64(x1000, sizeof x1000, 0), 0x4cb9a3b69cb700e1u);
  assert_int_equal(cg_hash_fnv1a64("", 0), 0xcbf29ce484222325u);
  assert_int_equal(cg_hash_fnv1a64("a", 1), 0xaf63dc4c8601ec8cu);
  assert_int_equal(cg_hash_fnv1a64("foobar", 6), 0x85944171f73967e8u);
}

static void test_cache_round_trip_and_misses(void **state) {
  (void)state;
  const char key[] = "define void @k() { ret void } ; cpu=rocketlake ; smelt 0.1.0";
  const char other[] = "define void @k() { ret void } ; cpu=x86-64-v3 ; smelt 0.1.0";
  unsigned char obj[3000];
  for (size_t i = 0; i < sizeof obj; i++) obj[i] = (unsigned char)(i * 31 + 7);
  void *got;
  size_t len;
  assert_false(cg_cache_load(key, strlen(key), &got, &len)); /* empty cache */
  assert_null(got);
  RtDiags d = {0};
  assert_true(cg_cache_store(key, strlen(key), obj, sizeof obj, &d));
  assert_int_equal(d.count, 0);
  assert_true(cg_cache_load(key, strlen(key), &got, &len));
  assert_int_equal(len, sizeof obj);
  assert_memory_equal(got, obj, sizeof obj);
  free(got);
  assert_false(cg_cache_load(other, strlen(other), &got, &len));
  assert_false(cg_cache_load(key, strlen(key) - 1, &got, &len));

  char path[512];
  assert_true(cg_cache_path(key, strlen(key), path, sizeof path));
  assert_int_equal(strncmp(path, cache_dir, strlen(cache_dir)), 0);
  /* no temp file is left behind */
  DIR *dir = opendir(cache_dir);
  assert_non_null(dir);
  int entries = 0;
  for (struct dirent *e; (e = readdir(dir));)
    if (e->d_name[0] != '.') entries++, assert_null(strstr(e->d_name, ".tmp"));
  closedir(dir);
  assert_int_equal(entries, 1);

  /* damage: every single-byte flip (header or payload, sampled) and every truncation is a miss */
  FILE *f = fopen(path, "rb");
  unsigned char file[48 + sizeof obj];
  assert_int_equal(fread(file, 1, sizeof file, f), sizeof file);
  assert_int_equal(fgetc(f), EOF);
  fclose(f);
  static const size_t flips[] = {0, 7, 8, 12, 16, 23, 24, 32, 40, 47, 48, 100, sizeof file - 1};
  for (size_t k = 0; k < sizeof flips / sizeof *flips; k++) {
    unsigned char bad[sizeof file];
    memcpy(bad, file, sizeof file);
    bad[flips[k]] ^= 0x10;
    f = fopen(path, "wb");
    fwrite(bad, 1, sizeof bad, f);
    fclose(f);
    if (cg_cache_load(key, strlen(key), &got, &len)) fail_msg("flipped byte %zu was not noticed", flips[k]);
  }
  static const size_t lengths[] = {0, 10, 47, 48, 49, sizeof file - 1};
  for (size_t k = 0; k < sizeof lengths / sizeof *lengths; k++) {
    f = fopen(path, "wb");
    fwrite(file, 1, lengths[k], f);
    fclose(f);
    if (cg_cache_load(key, strlen(key), &got, &len)) fail_msg("truncation to %zu was not noticed", lengths[k]);
  }
  /* storing again repairs the entry; an empty object is a valid entry */
  assert_true(cg_cache_store(key, strlen(key), obj, sizeof obj, &d));
  assert_true(cg_cache_load(key, strlen(key), &got, &len));
  assert_memory_equal(got, obj, sizeof obj);
  free(got);
  assert_true(cg_cache_store(other, strlen(other), obj, 0, &d));
  assert_true(cg_cache_load(other, strlen(other), &got, &len));
  assert_int_equal(len, 0);
  free(got);
  assert_int_equal(d.count, 0);
  rt_diags_free(&d);
}

/* A real object through the cache and into the JIT: what a second run of an experiment does. */
static void test_cached_object_runs(void **state) {
  (void)state;
  CgTarget *t = host_target();
  void *obj;
  size_t len;
  dot_axpy_object(t, &obj, &len);
  RtDiags d = {0};
  const char *key = "dot_axpy v1";
  assert_true(cg_cache_store(key, strlen(key), obj, len, &d));
  free(obj);
  double t0 = now_ms();
  assert_true(cg_cache_load(key, strlen(key), &obj, &len));
  CgJit *j = cg_jit_new(&d);
  assert_true(cg_jit_add_object(j, obj, len, &d));
  DotFn dot = (DotFn)cg_jit_lookup(j, "test_dot", &d);
  AxpyFn axpy = (AxpyFn)cg_jit_lookup(j, "test_axpy", &d);
  print_message("cached load + JIT link %.1f ms\n", now_ms() - t0);
  assert_no_errors(&d);
  check_dot_axpy(dot, axpy);
  cg_jit_free(j);
  free(obj);
  rt_diags_free(&d);
  cg_target_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dot_axpy_through_jit),
      cmocka_unit_test(test_axpy_uses_full_vector_width),
      cmocka_unit_test(test_release_compiler_pages),
      cmocka_unit_test(test_named_cpus),
      cmocka_unit_test(test_peak_kernel),
      cmocka_unit_test(test_invalid_module_is_a_diagnostic),
      cmocka_unit_test(test_gemm_through_registered_cblas),
      cmocka_unit_test(test_libm_externs_through_jit),
      cmocka_unit_test(test_unregistered_calls_fail_loudly),
      cmocka_unit_test(test_extern_table),
      cmocka_unit_test(test_hash_vectors),
      cmocka_unit_test_setup_teardown(test_cache_round_trip_and_misses, cache_setup, cache_teardown),
      cmocka_unit_test_setup_teardown(test_cached_object_runs, cache_setup, cache_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
