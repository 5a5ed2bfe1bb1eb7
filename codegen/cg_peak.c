/* The fp32 peak micro-benchmark (cg_peak.h): a loop of CG_PEAK_CHAINS vector FMAs, each chain
 * carried from one iteration to the next, a = a * m + k with m just below 1 so that the values
 * stay finite however long it runs. */
#include "codegen/cg_peak.h"

#include <stdint.h>

#include "codegen/cg_kernel.h"

static LLVMValueRef splat(CgContext *c, int lanes, double v) {
  LLVMValueRef e[16];
  for (int i = 0; i < lanes; i++) e[i] = cg_f32(c, v);
  return LLVMConstVector(e, (unsigned)lanes);
}

double cg_peak_flops_per_iteration(int vector_bits) { return 2.0 * CG_PEAK_CHAINS * (vector_bits / 32); }

void cg_peak_emit(CgContext *c, int vector_bits) {
  int lanes = vector_bits / 32;
  LLVMTypeRef vec = LLVMVectorType(c->f32, (unsigned)lanes);
  LLVMTypeRef fn_type = LLVMFunctionType(c->f32, &c->i64, 1, false);
  LLVMValueRef fn = LLVMAddFunction(c->mod, CG_PEAK_SYMBOL, fn_type);
  LLVMValueRef iterations = LLVMGetParam(fn, 0);
  LLVMSetValueName2(iterations, "iterations", 10);
  LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(c->ctx, fn, "entry");
  LLVMBasicBlockRef loop = LLVMAppendBasicBlockInContext(c->ctx, fn, "loop");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->ctx, fn, "done");
  LLVMPositionBuilderAtEnd(c->b, entry);
  LLVMBuildBr(c->b, loop);

  LLVMPositionBuilderAtEnd(c->b, loop);
  LLVMValueRef i = LLVMBuildPhi(c->b, c->i64, "i"), acc[CG_PEAK_CHAINS], next[CG_PEAK_CHAINS];
  LLVMValueRef m = splat(c, lanes, 0.9999), k = splat(c, lanes, 1e-4);
  for (int a = 0; a < CG_PEAK_CHAINS; a++) acc[a] = LLVMBuildPhi(c->b, vec, "acc");
  for (int a = 0; a < CG_PEAK_CHAINS; a++) {
    LLVMValueRef args[3] = {acc[a], m, k};
    next[a] = cg_intrinsic(c, "llvm.fmuladd", vec, 3, args);
  }
  LLVMValueRef i_next = LLVMBuildAdd(c->b, i, cg_i64(c, 1), "i.next");
  LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, i_next, iterations, "more"), loop, done);
  LLVMValueRef zero = cg_i64(c, 0);
  LLVMAddIncoming(i, &zero, &entry, 1);
  LLVMAddIncoming(i, &i_next, &loop, 1);
  for (int a = 0; a < CG_PEAK_CHAINS; a++) {
    LLVMValueRef start = splat(c, lanes, 1.0 + a / 64.0);
    LLVMAddIncoming(acc[a], &start, &entry, 1);
    LLVMAddIncoming(acc[a], &next[a], &loop, 1);
  }

  LLVMPositionBuilderAtEnd(c->b, done);
  LLVMValueRef sum = next[0];
  for (int a = 1; a < CG_PEAK_CHAINS; a++) sum = LLVMBuildFAdd(c->b, sum, next[a], "sum");
  LLVMValueRef lanes_sum = cg_f32(c, 0);
  for (int l = 0; l < lanes; l++)
    lanes_sum = LLVMBuildFAdd(c->b, lanes_sum, LLVMBuildExtractElement(c->b, sum, cg_i32(c, l), ""), "total");
  LLVMBuildRet(c->b, lanes_sum);
}
