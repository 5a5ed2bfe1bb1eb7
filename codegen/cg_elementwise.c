/* Scalar LLVM IR for the elementwise ops, one emitter per op (the CG_EMIT_SCALAR rows of
 * cg_ops.c), matching the reference implementations in ir/eval_elementwise.c (same NaN rules:
 * max/min propagate NaN, relu(NaN) = 0, select takes a NaN condition as true, to_i32 saturates
 * and maps NaN to 0, quantize rounds half to even and clamps). Loops around these vectorise. */
#include "codegen/cg_ops.h"

LLVMTypeRef cg_dtype(CgContext *c, IrDType t) { return t == IR_F32 ? c->f32 : t == IR_I32 ? c->i32 : c->i8; }

static LLVMValueRef bool_to_f32(CgContext *c, LLVMValueRef b) {
  return LLVMBuildUIToFP(c->b, b, c->f32, "");
}

static LLVMValueRef compare(CgContext *c, LLVMRealPredicate real, LLVMIntPredicate ints, LLVMValueRef *x) {
  bool is_int = LLVMTypeOf(x[0]) == c->i32;
  LLVMValueRef r = is_int ? LLVMBuildICmp(c->b, ints, x[0], x[1], "") : LLVMBuildFCmp(c->b, real, x[0], x[1], "");
  return bool_to_f32(c, r);
}

/* a >= b ? a : b (max) or a <= b ? a : b (min), NaN if either is NaN */
static LLVMValueRef max_min(CgContext *c, bool is_max, LLVMValueRef a, LLVMValueRef b) {
  LLVMValueRef pick = LLVMBuildFCmp(c->b, is_max ? LLVMRealOGE : LLVMRealOLE, a, b, "");
  LLVMValueRef r = LLVMBuildSelect(c->b, pick, a, b, "");
  LLVMValueRef nan = LLVMBuildFCmp(c->b, LLVMRealUNO, a, b, "");
  return LLVMBuildSelect(c->b, nan, cg_f32(c, __builtin_nanf("")), r, "");
}

/* One emitter per op, named as in the table (cg_ops.c). */
#define SCALAR(name) LLVMValueRef cg_scalar_##name(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at)

SCALAR(neg) { return LLVMBuildFNeg(c->b, x[0], "neg"); }
SCALAR(exp) { return cg_math_exp(c, x[0]); }
SCALAR(log) { return cg_math_log(c, x[0]); }
SCALAR(sqrt) { return cg_intrinsic(c, "llvm.sqrt", c->f32, 1, x); }
SCALAR(rsqrt) { return LLVMBuildFDiv(c->b, cg_f32(c, 1.0), cg_intrinsic(c, "llvm.sqrt", c->f32, 1, x), "rsqrt"); }
SCALAR(tanh) { return cg_math_tanh(c, x[0]); }
SCALAR(sigmoid) { return cg_math_sigmoid(c, x[0]); }
/* x (1 + tanh(k x (1 + c x^2))) / 2, as the reference (ir/eval_elementwise.c) */
SCALAR(gelu) {
  LLVMValueRef x2 = LLVMBuildFMul(c->b, x[0], x[0], "");
  LLVMValueRef inner = LLVMBuildFAdd(c->b, cg_f32(c, 1.0), LLVMBuildFMul(c->b, cg_f32(c, IR_GELU_C), x2, ""), "");
  LLVMValueRef u = LLVMBuildFMul(c->b, LLVMBuildFMul(c->b, cg_f32(c, IR_GELU_K), x[0], ""), inner, "");
  LLVMValueRef t = LLVMBuildFAdd(c->b, cg_f32(c, 1.0), cg_math_tanh(c, u), "");
  return LLVMBuildFMul(c->b, LLVMBuildFMul(c->b, cg_f32(c, 0.5), x[0], ""), t, "gelu");
}
SCALAR(relu) {
  return LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealOGT, x[0], cg_f32(c, 0.0), ""), x[0], cg_f32(c, 0.0),
                         "relu");
}
SCALAR(abs) { return cg_intrinsic(c, "llvm.fabs", c->f32, 1, x); }
SCALAR(square) { return LLVMBuildFMul(c->b, x[0], x[0], "square"); }
SCALAR(to_f32) { return LLVMBuildSIToFP(c->b, x[0], c->f32, "to_f32"); }
SCALAR(to_i32) {
  unsigned id = LLVMLookupIntrinsicID("llvm.fptosi.sat", 15);
  LLVMTypeRef types[2] = {c->i32, c->f32};
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(c->mod, id, types, 2);
  return LLVMBuildCall2(c->b, LLVMIntrinsicGetType(c->ctx, id, types, 2), fn, x, 1, "to_i32");
}
/* roundeven(x / scale), clamped to -127..127 (NaN through fptosi.sat: 0), as an i8 */
SCALAR(quantize) {
  LLVMValueRef q = LLVMBuildFDiv(c->b, x[0], x[1], "");
  q = cg_intrinsic(c, "llvm.roundeven", c->f32, 1, &q);
  q = LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealOGT, q, cg_f32(c, 127), ""), cg_f32(c, 127), q, "");
  q = LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealOLT, q, cg_f32(c, -127), ""), cg_f32(c, -127), q, "");
  LLVMValueRef i = cg_scalar_to_i32(c, n, &q, at);
  return LLVMBuildTrunc(c->b, i, c->i8, "quantize");
}
SCALAR(add) { return LLVMBuildFAdd(c->b, x[0], x[1], "add"); }
SCALAR(sub) { return LLVMBuildFSub(c->b, x[0], x[1], "sub"); }
SCALAR(mul) { return LLVMBuildFMul(c->b, x[0], x[1], "mul"); }
SCALAR(div) { return LLVMBuildFDiv(c->b, x[0], x[1], "div"); }
SCALAR(max) { return max_min(c, true, x[0], x[1]); }
SCALAR(min) { return max_min(c, false, x[0], x[1]); }
SCALAR(pow) { return cg_intrinsic(c, "llvm.pow", c->f32, 2, x); }
SCALAR(eq) { return compare(c, LLVMRealOEQ, LLVMIntEQ, x); }
SCALAR(ne) { return compare(c, LLVMRealUNE, LLVMIntNE, x); }
SCALAR(lt) { return compare(c, LLVMRealOLT, LLVMIntSLT, x); }
SCALAR(le) { return compare(c, LLVMRealOLE, LLVMIntSLE, x); }
SCALAR(gt) { return compare(c, LLVMRealOGT, LLVMIntSGT, x); }
SCALAR(ge) { return compare(c, LLVMRealOGE, LLVMIntSGE, x); }
SCALAR(select) {
  LLVMValueRef cond = LLVMBuildFCmp(c->b, LLVMRealUNE, x[0], cg_f32(c, 0.0), "");
  return LLVMBuildSelect(c->b, cond, x[1], x[2], "select");
}
/* 1 where the index operand equals the class (the index along the last dim) */
SCALAR(one_hot) {
  LLVMValueRef k = LLVMBuildTrunc(c->b, at->class_index, c->i32, "");
  return LLVMBuildUIToFP(c->b, LLVMBuildICmp(c->b, LLVMIntEQ, x[0], k, ""), c->f32, "one_hot");
}
SCALAR(rng_uniform) { return cg_philox_uniform(c, x[0], (uint64_t)n->attr[0].v[0], at->flat); }

#undef SCALAR

/* rt_random_uniform(seed, stream, index) of support/rt_random.h, bit for bit: Philox-4x32-10
 * with key (seed, 0) and counter (index lo, index hi, stream lo, stream hi); the top 24 bits of
 * word 0 times 2^-24. */
LLVMValueRef cg_philox_uniform(CgContext *c, LLVMValueRef seed, uint64_t stream, LLVMValueRef index) {
  LLVMBuilderRef b = c->b;
  LLVMValueRef v[4] = {LLVMBuildTrunc(b, index, c->i32, ""),
                       LLVMBuildTrunc(b, LLVMBuildLShr(b, index, cg_i64(c, 32), ""), c->i32, ""),
                       cg_i32(c, (int)(uint32_t)stream), cg_i32(c, (int)(uint32_t)(stream >> 32))};
  LLVMValueRef k0 = seed, k1 = cg_i32(c, 0);
  for (int r = 0; r < 10; r++) {
    if (r > 0) {
      k0 = LLVMBuildAdd(b, k0, cg_i32(c, (int)0x9E3779B9u), "");
      k1 = LLVMBuildAdd(b, k1, cg_i32(c, (int)0xBB67AE85u), "");
    }
    LLVMValueRef p0 = LLVMBuildMul(b, LLVMConstInt(c->i64, 0xD2511F53u, 0), LLVMBuildZExt(b, v[0], c->i64, ""), "");
    LLVMValueRef p1 = LLVMBuildMul(b, LLVMConstInt(c->i64, 0xCD9E8D57u, 0), LLVMBuildZExt(b, v[2], c->i64, ""), "");
    LLVMValueRef hi0 = LLVMBuildTrunc(b, LLVMBuildLShr(b, p0, cg_i64(c, 32), ""), c->i32, "");
    LLVMValueRef hi1 = LLVMBuildTrunc(b, LLVMBuildLShr(b, p1, cg_i64(c, 32), ""), c->i32, "");
    LLVMValueRef n0 = LLVMBuildXor(b, LLVMBuildXor(b, hi1, v[1], ""), k0, "");
    LLVMValueRef n1 = LLVMBuildTrunc(b, p1, c->i32, "");
    LLVMValueRef n2 = LLVMBuildXor(b, LLVMBuildXor(b, hi0, v[3], ""), k1, "");
    LLVMValueRef n3 = LLVMBuildTrunc(b, p0, c->i32, "");
    v[0] = n0, v[1] = n1, v[2] = n2, v[3] = n3;
  }
  LLVMValueRef top = LLVMBuildLShr(b, v[0], cg_i32(c, 8), "");
  return LLVMBuildFMul(b, LLVMBuildUIToFP(b, top, c->f32, ""), cg_f32(c, 0x1p-24), "uniform");
}
