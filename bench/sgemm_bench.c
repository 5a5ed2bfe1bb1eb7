/* sgemm_bench: our own SGEMM (codegen/cg_sgemm.h) against OpenBLAS's cblas_sgemm, one thread,
 * on the GEMM shapes a preset's convolutions and LSTM steps call (or shapes given on the command
 * line), GFLOP/s of each and their ratio. A tool for tuning the kernel (docs/architecture.md),
 * not a test: run it on a quiet machine.
 *   build/sgemm_bench                     the built-in list (small's layers at batch 32)
 *   build/sgemm_bench nt 32 1280 320 [acc] [inplace]  one shape: transposes (n/t for A and B),
 *                                         M N K; inplace: B read where it is (b_in_place);
 *                                         prepacked: op(B) packed once, untimed (b_packed);
 *                                         bf16: products of bf16-rounded inputs (AVX512-BF16;
 *                                         its max diff is against OpenBLAS's fp32);
 *                                         amx: the same on AMX tiles
 *   build/sgemm_bench --cpu haswell ...   our code for another CPU (AVX2 here); set
 *                                         OPENBLAS_CORETYPE=Haswell to hold OpenBLAS to the same */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codegen/cg_jit.h"
#include "codegen/cg_sgemm.h"
#include "codegen/cg_target.h"
#include "driver/drv_pipeline.h"
#include "runtime/rt_amx.h"

typedef void (*SgemmFn)(int64_t m, int64_t n, const float *a, const float *b, float *c);
typedef void (*PackFn)(int64_t n, const float *b, float *dst);

typedef struct Shape {
  const char *what;
  bool ta, tb, acc;
  int64_t m, n, k;
  bool in_place, prepacked, bf16, amx;
} Shape;

/* small at batch 32 on two threads: per image for convolutions, half the rows or columns; an
 * LSTM step per direction, W_hh packed once (cg_lstm.c) */
static const Shape builtin[] = {
    {"conv2 forward", false, false, false, 128, 1024, 576, false, false, false, false},
    {"conv4 forward", false, false, false, 256, 256, 2304, false, false, false, false},
    {"conv6 forward", false, false, false, 512, 128, 4608, false, false, false, false},
    {"conv6 grad input", true, false, false, 4608, 128, 512, false, false, false, false},
    {"conv4 grad input", true, false, false, 2304, 256, 256, false, false, false, false},
    {"conv6 grad filter", false, true, true, 256, 4608, 128, false, false, false, false},
    {"conv4 grad filter", false, true, true, 128, 2304, 256, false, false, false, false},
    {"lstm step h.W_hh^T", false, true, false, 32, 1280, 320, false, true, false, false},
    {"lstm step dh.W_hh", false, false, false, 32, 320, 1280, false, true, false, false},
    {"lstm grad W_hh", true, false, true, 1280, 320, 32, false, false, false, false},
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Our GEMM for shape s, and (pack not NULL) the function packing its op(B) whole. */
static SgemmFn compile(CgTarget *t, const CgSgemmShape *s, CgJit **jit, PackFn *pack) {
  RtDiags d = {0};
  CgContext c;
  cg_context_init(&c, "sgemm", "bench");
  LLVMTypeRef params[5] = {c.i64, c.i64, c.ptr, c.ptr, c.ptr};
  LLVMValueRef wrapper = LLVMAddFunction(c.mod, "bench_sgemm", LLVMFunctionType(c.void_t, params, 5, false));
  LLVMPositionBuilderAtEnd(c.b, LLVMAppendBasicBlockInContext(c.ctx, wrapper, "entry"));
  LLVMValueRef p[5];
  for (unsigned i = 0; i < 5; i++) p[i] = LLVMGetParam(wrapper, i);
  cg_sgemm_call(&c, s, t->vector_bits, p[0], p[1], p[2], p[3], p[4]);
  LLVMBuildRetVoid(c.b);
  LLVMTypeRef pack_params[3] = {c.i64, c.ptr, c.ptr};
  LLVMValueRef packer = LLVMAddFunction(c.mod, "bench_pack", LLVMFunctionType(c.void_t, pack_params, 3, false));
  LLVMPositionBuilderAtEnd(c.b, LLVMAppendBasicBlockInContext(c.ctx, packer, "entry"));
  if (!s->bf16)
    cg_sgemm_pack_b_call(&c, s->tb, s->k, s->ldb, t->vector_bits, LLVMGetParam(packer, 0), LLVMGetParam(packer, 1),
                         LLVMGetParam(packer, 2));
  LLVMBuildRetVoid(c.b);
  void *obj = NULL;
  size_t len = 0;
  SgemmFn fn = NULL;
  *jit = cg_jit_new(&d);
  if (drv_module_object(c.mod, t, &obj, &len, &d) && cg_jit_add_object(*jit, obj, len, &d))
    fn = (SgemmFn)cg_jit_lookup(*jit, "bench_sgemm", &d);
  if (fn && pack && !(*pack = (PackFn)cg_jit_lookup(*jit, "bench_pack", &d))) fn = NULL;
  if (!fn) rt_diags_print(&d, stderr);
  free(obj);
  rt_diags_free(&d);
  cg_context_dispose(&c);
  return fn;
}

/* Seconds per call: the best of five rounds, each long enough to time. */
static double best_time(const Shape *sh, SgemmFn own, const float *a, const float *b, float *c) {
  double best = 1e30;
  for (int round = 0; round < 5; round++) {
    int reps = 0;
    double t0 = now(), t1;
    do {
      if (own)
        own(sh->m, sh->n, a, b, c);
      else
        cblas_sgemm(CblasRowMajor, sh->ta ? CblasTrans : CblasNoTrans, sh->tb ? CblasTrans : CblasNoTrans,
                    (int)sh->m, (int)sh->n, (int)sh->k, 1.0f, a, sh->ta ? (int)sh->m : (int)sh->k, b,
                    sh->tb ? (int)sh->k : (int)sh->n, sh->acc ? 1.0f : 0.0f, c, (int)sh->n);
      reps++;
      t1 = now();
    } while (t1 - t0 < 0.05);
    if ((t1 - t0) / reps < best) best = (t1 - t0) / reps;
  }
  return best;
}

static int run(CgTarget *t, const Shape *sh) {
  CgSgemmShape s = {.ta = sh->ta, .tb = sh->tb, .k = sh->k, .accumulate = sh->acc,
                    .lda = sh->ta ? sh->m : sh->k, .ldb = sh->tb ? sh->k : sh->n, .ldc = sh->n,
                    .b_in_place = sh->in_place, .b_packed = sh->prepacked, .bf16 = sh->bf16, .amx = sh->amx};
  CgJit *jit = NULL;
  PackFn pack = NULL;
  SgemmFn own = compile(t, &s, &jit, &pack);
  if (!own) return 1;
  float *a = malloc((size_t)(sh->m * sh->k) * 4), *b = malloc((size_t)(sh->k * sh->n) * 4);
  float *c = calloc((size_t)(sh->m * sh->n), 4);
  for (int64_t i = 0; i < sh->m * sh->k; i++) a[i] = (float)(i % 17) * 0.01f;
  for (int64_t i = 0; i < sh->k * sh->n; i++) b[i] = (float)(i % 13) * 0.01f;
  float *packed = NULL, *own_b = b;
  if (sh->amx && !rt_amx_enable()) {
    fprintf(stderr, "sgemm_bench: the kernel does not grant AMX state to this process\n");
    return 1;
  }
  if (sh->prepacked) { /* packed once, outside the timing, as an LSTM kernel does */
    size_t bytes = (size_t)cg_sgemm_packed_b_floats(sh->n, sh->k) * 4;
    packed = aligned_alloc(64, (bytes + 63) / 64 * 64); /* the panels are read as aligned vectors */
    pack(sh->n, b, packed);
    own_b = packed;
  }
  /* one call each from C = 0: the largest difference, a check that the shape's path is right */
  float *ref = calloc((size_t)(sh->m * sh->n), 4);
  own(sh->m, sh->n, a, own_b, c);
  best_time(&(Shape){.ta = sh->ta, .tb = sh->tb, .m = sh->m, .n = sh->n, .k = sh->k}, NULL, a, b, ref);
  double diff = 0;
  for (int64_t i = 0; i < sh->m * sh->n; i++) diff = fmax(diff, fabs((double)c[i] - ref[i]));
  double flop = 2.0 * (double)sh->m * (double)sh->n * (double)sh->k;
  double t_own = best_time(sh, own, a, own_b, c), t_blas = best_time(sh, NULL, a, b, c);
  printf("%-20s %c%c%s m %5lld n %5lld k %5lld   smelt %6.1f  openblas %6.1f GFLOP/s   ratio %.2f   max diff %.1e\n",
         sh->what, sh->ta ? 't' : 'n', sh->tb ? 't' : 'n', sh->acc ? "+" : " ", (long long)sh->m, (long long)sh->n,
         (long long)sh->k, flop / t_own * 1e-9, flop / t_blas * 1e-9, t_blas / t_own, diff);
  free(a), free(b), free(c), free(ref), free(packed);
  cg_jit_free(jit);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
    printf("usage: sgemm_bench [--cpu NAME] [nn|nt|tn|tt M N K [acc] [inplace|prepacked|bf16|amx]]\n"
           "Times our own SGEMM against OpenBLAS's on one thread: small's GEMM shapes, or one given.\n");
    return 0;
  }
  openblas_set_num_threads(1);
  const char *cpu = NULL;
  if (argc > 2 && !strcmp(argv[1], "--cpu")) cpu = argv[2], argc -= 2, argv += 2;
  RtDiags d = {0};
  if (!cg_target_init(&d)) return rt_diags_print(&d, stderr), 1;
  CgTarget *t = cg_target_new(cpu, &d);
  if (!t) return rt_diags_print(&d, stderr), 1;
  printf("host %s, %d-bit vectors\n", t->cpu, t->vector_bits);
  int rc = 0;
  if (argc >= 5) {
    Shape sh = {"given", argv[1][0] == 't', argv[1][1] == 't', false, atoll(argv[2]), atoll(argv[3]), atoll(argv[4]),
                false, false, false, false};
    for (int i = 5; i < argc; i++) {
      sh.acc |= !strcmp(argv[i], "acc");
      sh.in_place |= !strcmp(argv[i], "inplace");
      sh.prepacked |= !strcmp(argv[i], "prepacked");
      sh.bf16 |= !strcmp(argv[i], "bf16") || !strcmp(argv[i], "amx");
      sh.amx |= !strcmp(argv[i], "amx");
    }
    if (strlen(argv[1]) != 2 || sh.m < 1 || sh.n < 1 || sh.k < 1) {
      fprintf(stderr, "sgemm_bench: want nn|nt|tn|tt M N K [acc] with M, N, K >= 1\n");
      return 2;
    }
    rc = run(t, &sh);
  } else {
    for (size_t i = 0; i < sizeof builtin / sizeof *builtin; i++) rc |= run(t, &builtin[i]);
  }
  cg_target_free(t);
  rt_diags_free(&d);
  return rc;
}
