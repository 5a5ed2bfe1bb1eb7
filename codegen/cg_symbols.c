/* The table of externals generated code may call, and the helpers that turn a row into an LLVM
 * declaration. Addresses are taken here, in the process that runs the JIT; the AOT paths link
 * the same names with -lopenblas -lm (and the runtime for smelt_rt_*). */
#include "codegen/cg_symbols.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "runtime/rt_collective.h"
#include "runtime/rt_ctc.h"
#include "runtime/rt_pool.h"
#include "support/rt_assert.h"

/* The 'i' in cblas_sgemm's signature assumes OpenBLAS's 32-bit integer interface (Debian's). */
_Static_assert(sizeof(blasint) == 4, "cblas_sgemm signature below assumes 32-bit blasint");
_Static_assert(sizeof(size_t) == 8, "memcpy/memset signatures below assume 64-bit size_t");

#define FN(f) ((void (*)(void))(f))

static const CgExternSymbol SYMBOLS[] = {
    /* GEMM, and convolution through im2col: Order, TransA, TransB, M, N, K, alpha, A, lda, B,
     * ldb, beta, C, ldc */
    {"cblas_sgemm", FN(cblas_sgemm), "v(iiiiiifpipifpi)"},
    /* llvm.memcpy / llvm.memmove / llvm.memset become calls to these beyond a few bytes */
    {"memcpy", FN(memcpy), "p(ppl)"},
    {"memmove", FN(memmove), "p(ppl)"},
    {"memset", FN(memset), "p(pil)"},
    /* libm: llvm.exp/log/pow/sqrt/maxnum/minnum lower to these when not expanded inline */
    {"expf", FN(expf), "f(f)"},
    {"logf", FN(logf), "f(f)"},
    {"tanhf", FN(tanhf), "f(f)"},
    {"powf", FN(powf), "f(ff)"},
    {"sqrtf", FN(sqrtf), "f(f)"},
    {"fmaxf", FN(fmaxf), "f(ff)"},
    {"fminf", FN(fminf), "f(ff)"},
    /* libm calls LLVM introduces by itself (tests/unit/test_codegen_ops.c shows each one):
     * InstCombine turns pow(2^n, x) into exp2(n x), and exp2 of an integer into ldexp(1, k);
     * llvm.floor (in our exp) is a call without SSE4.1 (--cpu x86-64); pow(10, x) becomes
     * exp10 where LLVM trusts the C library's exp10f (a GNU extension; not LLVM 19 on Linux) */
    {"exp2f", FN(exp2f), "f(f)"},
    {"ldexpf", FN(ldexpf), "f(fi)"},
    {"floorf", FN(floorf), "f(f)"},
    {"exp10f", FN(exp10f), "f(f)"},
    /* the runtime (runtime/rt_pool.h): fn, ctx, n, grain */
    {"smelt_rt_parallel_for", FN(smelt_rt_parallel_for), "v(ppll)"},
    {"smelt_rt_ctc_loss", FN(smelt_rt_ctc_loss), "v(ppplllllp)"},
    {"smelt_rt_ctc_loss_grad", FN(smelt_rt_ctc_loss_grad), "v(pppplllllp)"},
    {"smelt_rt_all_sum", FN(smelt_rt_all_sum), "v(pl)"},
};

enum { N_SYMBOLS = sizeof SYMBOLS / sizeof *SYMBOLS };

const CgExternSymbol *cg_extern_symbols(int *n) {
  *n = N_SYMBOLS;
  return SYMBOLS;
}

const CgExternSymbol *cg_extern_symbol_find(const char *name) {
  for (int i = 0; i < N_SYMBOLS; i++)
    if (!strcmp(SYMBOLS[i].name, name)) return &SYMBOLS[i];
  return NULL;
}

static LLVMTypeRef letter_type(LLVMContextRef ctx, char c, const CgExternSymbol *s) {
  switch (c) {
  case 'v': return LLVMVoidTypeInContext(ctx);
  case 'f': return LLVMFloatTypeInContext(ctx);
  case 'i': return LLVMInt32TypeInContext(ctx);
  case 'l': return LLVMInt64TypeInContext(ctx);
  case 'p': return LLVMPointerTypeInContext(ctx, 0);
  }
  rt_assert_fail(__FILE__, __LINE__, "signature letter", "bad letter '%c' in signature \"%s\" of %s",
                 c, s->signature, s->name);
}

LLVMTypeRef cg_extern_type(LLVMContextRef ctx, const CgExternSymbol *s) {
  const char *sig = s->signature;
  size_t len = strlen(sig);
  RT_ASSERT(len >= 3 && sig[1] == '(' && sig[len - 1] == ')' && len - 3 <= 32,
            "malformed signature \"%s\" of %s", sig, s->name);
  LLVMTypeRef params[32];
  unsigned n = (unsigned)(len - 3);
  for (unsigned i = 0; i < n; i++) {
    RT_ASSERT(sig[2 + i] != 'v', "void parameter in signature \"%s\" of %s", sig, s->name);
    params[i] = letter_type(ctx, sig[2 + i], s);
  }
  return LLVMFunctionType(letter_type(ctx, sig[0], s), params, n, 0);
}

LLVMValueRef cg_declare_extern(CgContext *c, const char *name) {
  const CgExternSymbol *s = cg_extern_symbol_find(name);
  RT_ASSERT(s, "generated code calls '%s', which is not in the table of codegen/cg_symbols.c", name);
  return cg_declare(c, s->name, cg_extern_type(c->ctx, s));
}
