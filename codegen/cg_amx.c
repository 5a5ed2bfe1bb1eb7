/* AMX tile configuration and intrinsics (cg_amx.h). */
#include "codegen/cg_amx.h"

#include <string.h>

void cg_amx_call(CgContext *c, const char *name, LLVMValueRef *args, int n) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMBuildCall2(c->b, LLVMIntrinsicGetType(c->ctx, id, NULL, 0), LLVMGetIntrinsicDeclaration(c->mod, id, NULL, 0), args,
                 (unsigned)n, "");
}

LLVMValueRef cg_amx_tile(CgContext *c, int t) { return LLVMConstInt(c->i8, (unsigned long long)t, 0); }

void cg_amx_tile_move(CgContext *c, bool load, int t, LLVMValueRef p, LLVMValueRef stride_bytes) {
  LLVMValueRef args[3] = {cg_amx_tile(c, t), p, stride_bytes};
  cg_amx_call(c, load ? "llvm.x86.tileloadd64" : "llvm.x86.tilestored64", args, 3);
}

void cg_amx_configure(CgContext *c) {
  LLVMValueRef cfg = LLVMBuildAlloca(c->b, LLVMArrayType(c->i8, 64), "tilecfg");
  LLVMSetAlignment(cfg, 64);
  uint8_t bytes[64] = {1}; /* palette 1; bytes 16.. the tiles' row bytes (16 bits each), 48.. their rows */
  for (int t = 0; t < 8; t++) bytes[16 + 2 * t] = CG_AMX_ROW_BYTES, bytes[48 + t] = CG_AMX_ROWS;
  LLVMValueRef init[64];
  for (int i = 0; i < 64; i++) init[i] = LLVMConstInt(c->i8, bytes[i], 0);
  LLVMBuildStore(c->b, LLVMConstArray(c->i8, init, 64), cfg);
  cg_amx_call(c, "llvm.x86.ldtilecfg", &cfg, 1);
}
