/* Scalar LLVM IR for the elementwise ops, matching the reference implementations in
 * ir/eval_elementwise.c (same NaN rules: max/min propagate NaN, relu(NaN) = 0, select takes a
 * NaN condition as true, to_i32 saturates and maps NaN to 0). Loops around these vectorise. */
#include "codegen/cg_kernel.h"
#include "ir/ir_ops.h"
#include "runtime/rt_assert.h"

LLVMTypeRef cg_dtype(CgContext *c, IrDType t) { return t == IR_F32 ? c->f32 : c->i32; }

static LLVMValueRef bool_to_f32(CgContext *c, LLVMValueRef b) {
  return LLVMBuildUIToFP(c->b, b, c->f32, "");
}

static LLVMValueRef compare(CgContext *c, IrOp op, LLVMValueRef a, LLVMValueRef b, bool is_int) {
  static const LLVMRealPredicate real[] = {LLVMRealOEQ, LLVMRealUNE, LLVMRealOLT,
                                           LLVMRealOLE, LLVMRealOGT, LLVMRealOGE};
  static const LLVMIntPredicate ints[] = {LLVMIntEQ, LLVMIntNE, LLVMIntSLT,
                                          LLVMIntSLE, LLVMIntSGT, LLVMIntSGE};
  int i = (int)op - (int)IR_OP_EQ;
  LLVMValueRef r = is_int ? LLVMBuildICmp(c->b, ints[i], a, b, "") : LLVMBuildFCmp(c->b, real[i], a, b, "");
  return bool_to_f32(c, r);
}

/* a >= b ? a : b (max) or a <= b ? a : b (min), NaN if either is NaN */
static LLVMValueRef max_min(CgContext *c, bool is_max, LLVMValueRef a, LLVMValueRef b) {
  LLVMValueRef pick = LLVMBuildFCmp(c->b, is_max ? LLVMRealOGE : LLVMRealOLE, a, b, "");
  LLVMValueRef r = LLVMBuildSelect(c->b, pick, a, b, "");
  LLVMValueRef nan = LLVMBuildFCmp(c->b, LLVMRealUNO, a, b, "");
  return LLVMBuildSelect(c->b, nan, cg_f32(c, __builtin_nanf("")), r, "");
}

LLVMValueRef cg_emit_elementwise(CgContext *c, const IrNode *n, LLVMValueRef *x) {
  LLVMBuilderRef b = c->b;
  switch (n->op) {
    case IR_OP_NEG: return LLVMBuildFNeg(b, x[0], "neg");
    case IR_OP_EXP: return cg_math_exp(c, x[0]);
    case IR_OP_LOG: return cg_math_log(c, x[0]);
    case IR_OP_SQRT: return cg_intrinsic(c, "llvm.sqrt", c->f32, 1, x);
    case IR_OP_RSQRT:
      return LLVMBuildFDiv(b, cg_f32(c, 1.0), cg_intrinsic(c, "llvm.sqrt", c->f32, 1, x), "rsqrt");
    case IR_OP_TANH: return cg_math_tanh(c, x[0]);
    case IR_OP_SIGMOID: return cg_math_sigmoid(c, x[0]);
    case IR_OP_RELU:
      return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, x[0], cg_f32(c, 0.0), ""), x[0],
                             cg_f32(c, 0.0), "relu");
    case IR_OP_ABS: return cg_intrinsic(c, "llvm.fabs", c->f32, 1, x);
    case IR_OP_SQUARE: return LLVMBuildFMul(b, x[0], x[0], "square");
    case IR_OP_TO_F32: return LLVMBuildSIToFP(b, x[0], c->f32, "to_f32");
    case IR_OP_TO_I32: {
      unsigned id = LLVMLookupIntrinsicID("llvm.fptosi.sat", 15);
      LLVMTypeRef types[2] = {c->i32, c->f32};
      LLVMValueRef fn = LLVMGetIntrinsicDeclaration(c->mod, id, types, 2);
      return LLVMBuildCall2(b, LLVMIntrinsicGetType(c->ctx, id, types, 2), fn, x, 1, "to_i32");
    }
    case IR_OP_ADD: return LLVMBuildFAdd(b, x[0], x[1], "add");
    case IR_OP_SUB: return LLVMBuildFSub(b, x[0], x[1], "sub");
    case IR_OP_MUL: return LLVMBuildFMul(b, x[0], x[1], "mul");
    case IR_OP_DIV: return LLVMBuildFDiv(b, x[0], x[1], "div");
    case IR_OP_MAX: return max_min(c, true, x[0], x[1]);
    case IR_OP_MIN: return max_min(c, false, x[0], x[1]);
    case IR_OP_POW: return cg_intrinsic(c, "llvm.pow", c->f32, 2, x);
    case IR_OP_EQ: case IR_OP_NE: case IR_OP_LT: case IR_OP_LE: case IR_OP_GT: case IR_OP_GE:
      return compare(c, n->op, x[0], x[1], LLVMTypeOf(x[0]) == c->i32);
    case IR_OP_SELECT: {
      LLVMValueRef cond = LLVMBuildFCmp(b, LLVMRealUNE, x[0], cg_f32(c, 0.0), "");
      return LLVMBuildSelect(b, cond, x[1], x[2], "select");
    }
    default:
      RT_ASSERT(0, "op %s is not a scalar elementwise op", ir_op_info[n->op].name);
  }
}

/* rt_random_uniform(seed, stream, index) of runtime/rt_random.h, bit for bit: Philox-4x32-10
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
