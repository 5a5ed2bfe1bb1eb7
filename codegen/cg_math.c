/* Vectorisable f32 exp, log, tanh and sigmoid, emitted inline as straight-line IR (no libm
 * calls), so that loops using them vectorise to the host's full width. Polynomials from Cephes
 * (S. L. Moshier, "Methods and Programs for Mathematical Functions", 1989: expf.c, logf.c,
 * tanhf.c), accurate to about 2 ulp on the ranges used; results beyond the f32 range saturate
 * to 0 / inf like libm. */
#include <string.h>

#include "codegen/cg_kernel.h"

static LLVMValueRef fmul(CgContext *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFMul(c->b, a, b, ""); }
static LLVMValueRef fadd(CgContext *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFAdd(c->b, a, b, ""); }
static LLVMValueRef fsub(CgContext *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFSub(c->b, a, b, ""); }
static LLVMValueRef k(CgContext *c, double v) { return cg_f32(c, v); }

static LLVMValueRef fcmp(CgContext *c, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFCmp(c->b, p, a, b, "");
}

static LLVMValueRef sel(CgContext *c, LLVMValueRef cond, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(c->b, cond, a, b, "");
}

LLVMValueRef cg_intrinsic(CgContext *c, const char *name, LLVMTypeRef type, int n, LLVMValueRef *args) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMTypeRef types[1] = {type};
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(c->mod, id, types, 1);
  LLVMTypeRef fty = LLVMIntrinsicGetType(c->ctx, id, types, 1);
  return LLVMBuildCall2(c->b, fty, fn, args, (unsigned)n, "");
}

/* Horner evaluation of coeffs[0] x^(n-1) + ... + coeffs[n-1]. */
static LLVMValueRef horner(CgContext *c, LLVMValueRef x, const double *coeffs, int n) {
  LLVMValueRef acc = k(c, coeffs[0]);
  for (int i = 1; i < n; i++) acc = fadd(c, fmul(c, acc, x), k(c, coeffs[i]));
  return acc;
}

LLVMValueRef cg_math_exp(CgContext *c, LLVMValueRef x) {
  static const double P[] = {1.9875691500E-4, 1.3981999507E-3, 8.3334519073E-3,
                             4.1665795894E-2, 1.6666665459E-1, 5.0000001201E-1};
  const double hi = 88.72283935546875, lo = -103.97208404541015625; /* beyond: inf, 0 */
  LLVMValueRef isnan = fcmp(c, LLVMRealUNO, x, x);
  LLVMValueRef cx = sel(c, fcmp(c, LLVMRealOGT, x, k(c, hi)), k(c, hi), x);
  cx = sel(c, fcmp(c, LLVMRealOLT, cx, k(c, lo)), k(c, lo), cx);
  cx = sel(c, isnan, k(c, 0.0), cx);
  /* n = round(x / ln 2); r = x - n ln 2 in two parts for precision */
  LLVMValueRef arg = fadd(c, fmul(c, cx, k(c, 1.44269504088896341)), k(c, 0.5));
  LLVMValueRef fn = cg_intrinsic(c, "llvm.floor", c->f32, 1, &arg);
  LLVMValueRef r = fsub(c, cx, fmul(c, fn, k(c, 0.693359375)));
  r = fsub(c, r, fmul(c, fn, k(c, -2.12194440e-4)));
  LLVMValueRef r2 = fmul(c, r, r);
  LLVMValueRef p = fadd(c, fadd(c, fmul(c, horner(c, r, P, 6), r2), r), k(c, 1.0));
  /* scale by 2^n as 2^n1 * 2^n2 with both halves normal (n in [-150, 128]), so results near
   * the overflow and in the denormal range round like libm's */
  LLVMValueRef n = LLVMBuildFPToSI(c->b, fn, c->i32, "");
  LLVMValueRef n1 = LLVMBuildAShr(c->b, n, cg_i32(c, 1), "");
  LLVMValueRef n2 = LLVMBuildSub(c->b, n, n1, "");
  LLVMValueRef y = p;
  LLVMValueRef halves[2] = {n1, n2};
  for (int i = 0; i < 2; i++) {
    LLVMValueRef bits = LLVMBuildShl(c->b, LLVMBuildAdd(c->b, halves[i], cg_i32(c, 127), ""), cg_i32(c, 23), "");
    y = fmul(c, y, LLVMBuildBitCast(c->b, bits, c->f32, ""));
  }
  y = sel(c, fcmp(c, LLVMRealOGT, x, k(c, hi)), k(c, __builtin_inff()), y);
  y = sel(c, fcmp(c, LLVMRealOLT, x, k(c, lo)), k(c, 0.0), y);
  return sel(c, isnan, x, y);
}

LLVMValueRef cg_math_log(CgContext *c, LLVMValueRef x) {
  static const double P[] = {7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1,
                             -1.2420140846E-1, 1.4249322787E-1, -1.6668057665E-1,
                             2.0000714765E-1, -2.4999993993E-1, 3.3333331174E-1};
  /* denormals: scale into the normal range first */
  LLVMValueRef tiny = fcmp(c, LLVMRealOLT, x, k(c, 1.17549435e-38));
  LLVMValueRef xs = sel(c, tiny, fmul(c, x, k(c, 8388608.0)), x); /* 2^23 */
  LLVMValueRef eadj = sel(c, tiny, k(c, -23.0), k(c, 0.0));
  LLVMValueRef bits = LLVMBuildBitCast(c->b, xs, c->i32, "");
  LLVMValueRef e = LLVMBuildSub(c->b, LLVMBuildAnd(c->b, LLVMBuildLShr(c->b, bits, cg_i32(c, 23), ""), cg_i32(c, 255), ""),
                                cg_i32(c, 126), "");
  LLVMValueRef mbits = LLVMBuildOr(c->b, LLVMBuildAnd(c->b, bits, cg_i32(c, 0x807fffff), ""), cg_i32(c, 0x3f000000), "");
  LLVMValueRef m = LLVMBuildBitCast(c->b, mbits, c->f32, ""); /* in [0.5, 1) */
  LLVMValueRef fe = fadd(c, LLVMBuildSIToFP(c->b, e, c->f32, ""), eadj);
  LLVMValueRef small = fcmp(c, LLVMRealOLT, m, k(c, 0.707106781186547524));
  fe = sel(c, small, fsub(c, fe, k(c, 1.0)), fe);
  LLVMValueRef t = sel(c, small, fsub(c, fadd(c, m, m), k(c, 1.0)), fsub(c, m, k(c, 1.0)));
  LLVMValueRef z = fmul(c, t, t);
  LLVMValueRef y = fmul(c, fmul(c, t, z), horner(c, t, P, 9));
  y = fadd(c, y, fmul(c, fe, k(c, -2.12194440e-4)));
  y = fsub(c, y, fmul(c, z, k(c, 0.5)));
  y = fadd(c, fadd(c, t, y), fmul(c, fe, k(c, 0.693359375)));
  /* special values: log(0) = -inf, log(x < 0) = nan, log(inf) = inf, log(nan) = nan */
  y = sel(c, fcmp(c, LLVMRealOEQ, x, k(c, __builtin_inff())), x, y);
  y = sel(c, fcmp(c, LLVMRealOEQ, x, k(c, 0.0)), k(c, -__builtin_inff()), y);
  y = sel(c, fcmp(c, LLVMRealULT, x, k(c, 0.0)), k(c, __builtin_nanf("")), y);
  return sel(c, fcmp(c, LLVMRealUNO, x, x), x, y);
}

LLVMValueRef cg_math_tanh(CgContext *c, LLVMValueRef x) {
  static const double P[] = {-5.70498872745E-3, 2.06390887954E-2, -5.37397155531E-2,
                             1.33314422036E-1, -3.33332819422E-1};
  LLVMValueRef ax = cg_intrinsic(c, "llvm.fabs", c->f32, 1, &x);
  /* small |x|: odd polynomial; large: 1 - 2 / (exp(2|x|) + 1), sign restored */
  LLVMValueRef z = fmul(c, x, x);
  LLVMValueRef small = fadd(c, fmul(c, fmul(c, horner(c, z, P, 5), z), x), x);
  LLVMValueRef e = cg_math_exp(c, fadd(c, ax, ax));
  LLVMValueRef big = fsub(c, k(c, 1.0), LLVMBuildFDiv(c->b, k(c, 2.0), fadd(c, e, k(c, 1.0)), ""));
  LLVMValueRef args[2] = {big, x};
  big = cg_intrinsic(c, "llvm.copysign", c->f32, 2, args);
  return sel(c, fcmp(c, LLVMRealOLT, ax, k(c, 0.625)), small, big);
}

LLVMValueRef cg_math_sigmoid(CgContext *c, LLVMValueRef x) {
  LLVMValueRef e = cg_math_exp(c, LLVMBuildFNeg(c->b, x, ""));
  return LLVMBuildFDiv(c->b, k(c, 1.0), fadd(c, k(c, 1.0), e), "");
}
