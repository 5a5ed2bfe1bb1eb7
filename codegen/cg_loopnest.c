/* Canonical counted loop nests (for i = lo; i < hi; i++), the shape LLVM's loop vectoriser
 * expects, address arithmetic over them, and if-blocks. */
#include <stdio.h>

#include "codegen/cg_kernel.h"

void cg_loop_open(CgContext *c, CgLoopNest *l, const char *name) {
  LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(c->b));
  for (int d = 0; d < l->rank; d++) {
    char nm[64];
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(c->b);
    snprintf(nm, sizeof nm, "%s.d%d", name, d);
    LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(c->ctx, fn, nm);
    snprintf(nm, sizeof nm, "%s.d%d.body", name, d);
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c->ctx, fn, nm);
    snprintf(nm, sizeof nm, "%s.d%d.latch", name, d);
    l->latch[d] = LLVMAppendBasicBlockInContext(c->ctx, fn, nm);
    snprintf(nm, sizeof nm, "%s.d%d.exit", name, d);
    l->exit[d] = LLVMAppendBasicBlockInContext(c->ctx, fn, nm);
    /* guard: skip empty ranges, then a bottom-tested loop */
    LLVMValueRef nonempty = LLVMBuildICmp(c->b, LLVMIntSLT, l->lo[d], l->hi[d], "nonempty");
    LLVMBuildCondBr(c->b, nonempty, head, l->exit[d]);
    LLVMPositionBuilderAtEnd(c->b, head);
    snprintf(nm, sizeof nm, "i%d", d);
    l->phi[d] = LLVMBuildPhi(c->b, c->i64, nm);
    LLVMAddIncoming(l->phi[d], &l->lo[d], &pre, 1);
    l->idx[d] = l->phi[d];
    LLVMBuildBr(c->b, body);
    LLVMPositionBuilderAtEnd(c->b, body);
  }
}

void cg_loop_range(CgContext *c, CgLoopNest *l, LLVMValueRef lo, LLVMValueRef hi, const char *name) {
  l->rank = 1;
  l->lo[0] = lo;
  l->hi[0] = hi;
  cg_loop_open(c, l, name);
}

void cg_loop_close(CgContext *c, CgLoopNest *l) {
  for (int d = l->rank - 1; d >= 0; d--) {
    LLVMBuildBr(c->b, l->latch[d]);
    LLVMPositionBuilderAtEnd(c->b, l->latch[d]);
    LLVMValueRef next = LLVMBuildNSWAdd(c->b, l->phi[d], cg_i64(c, 1), "next");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(c->b);
    LLVMAddIncoming(l->phi[d], &next, &latch, 1);
    LLVMValueRef more = LLVMBuildICmp(c->b, LLVMIntSLT, next, l->hi[d], "more");
    LLVMBasicBlockRef head = LLVMGetInstructionParent(l->phi[d]);
    LLVMBuildCondBr(c->b, more, head, l->exit[d]);
    LLVMPositionBuilderAtEnd(c->b, l->exit[d]);
  }
}

LLVMValueRef cg_loop_offset(CgContext *c, const CgLoopNest *l, const int64_t *strides, int64_t base) {
  LLVMValueRef off = cg_i64(c, base);
  for (int d = 0; d < l->rank; d++) {
    if (strides[d] == 0) continue;
    LLVMValueRef term = strides[d] == 1 ? l->idx[d] : LLVMBuildNSWMul(c->b, l->idx[d], cg_i64(c, strides[d]), "");
    off = LLVMBuildNSWAdd(c->b, off, term, "");
  }
  return off;
}

LLVMValueRef cg_gep(CgContext *c, LLVMValueRef ptr, LLVMValueRef offset) {
  return LLVMBuildInBoundsGEP2(c->b, c->f32, ptr, &offset, 1, "");
}

LLVMBasicBlockRef cg_if_begin(CgContext *c, LLVMValueRef cond, const char *name) {
  LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(c->b));
  LLVMBasicBlockRef then = LLVMAppendBasicBlockInContext(c->ctx, fn, name);
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->ctx, fn, "endif");
  LLVMBuildCondBr(c->b, cond, then, done);
  LLVMPositionBuilderAtEnd(c->b, then);
  return done;
}

void cg_if_end(CgContext *c, LLVMBasicBlockRef done) {
  LLVMBuildBr(c->b, done);
  LLVMPositionBuilderAtEnd(c->b, done);
}
