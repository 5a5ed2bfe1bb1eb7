/* CgContext set-up and the small helpers every emitter uses. */
#include "codegen/cg_context.h"

#include <string.h>

void cg_context_init(CgContext *c, const char *name, const char *prefix) {
  memset(c, 0, sizeof *c);
  c->ctx = LLVMContextCreate();
  c->mod = LLVMModuleCreateWithNameInContext(name, c->ctx);
  c->b = LLVMCreateBuilderInContext(c->ctx);
  c->void_t = LLVMVoidTypeInContext(c->ctx);
  c->i1 = LLVMInt1TypeInContext(c->ctx);
  c->i8 = LLVMInt8TypeInContext(c->ctx);
  c->i32 = LLVMInt32TypeInContext(c->ctx);
  c->i64 = LLVMInt64TypeInContext(c->ctx);
  c->f32 = LLVMFloatTypeInContext(c->ctx);
  c->ptr = LLVMPointerTypeInContext(c->ctx, 0);
  c->prefix = prefix;
  c->vector_bits = 512;
}

void cg_context_dispose(CgContext *c) {
  if (c->b) LLVMDisposeBuilder(c->b);
  if (c->mod) LLVMDisposeModule(c->mod);
  if (c->ctx) LLVMContextDispose(c->ctx);
  memset(c, 0, sizeof *c);
}

LLVMValueRef cg_declare(CgContext *c, const char *name, LLVMTypeRef fn_type) {
  LLVMValueRef f = LLVMGetNamedFunction(c->mod, name);
  if (!f) f = LLVMAddFunction(c->mod, name, fn_type);
  return f;
}

LLVMValueRef cg_i64(CgContext *c, long long v) { return LLVMConstInt(c->i64, (unsigned long long)v, 1); }

LLVMValueRef cg_i32(CgContext *c, int v) { return LLVMConstInt(c->i32, (unsigned long long)(long long)v, 1); }

LLVMValueRef cg_f32(CgContext *c, double v) { return LLVMConstReal(c->f32, v); }

void cg_diag_llvm_message(RtDiags *d, const char *what, char *message) {
  rt_diag_error(d, NULL, 0, 0, "%s: %s", what, message ? message : "(no message)");
  if (message) LLVMDisposeMessage(message);
}
