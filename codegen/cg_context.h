/* The codegen context: one LLVM context, module and builder for one compilation, the types we
 * use, and the options every emitter needs. Passed as the first argument to every cg_ function
 * (the c3c / PostgreSQL llvmjit habit). Emitters name their LLVM values and blocks so that a
 * dumped module reads like the IR it came from. */
#ifndef SMELT_CG_CONTEXT_H
#define SMELT_CG_CONTEXT_H

#include <llvm-c/Core.h>
#include <stdbool.h>

#include "support/rt_diag.h"

typedef struct CgContext {
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMBuilderRef b;
  LLVMTypeRef void_t, i1, i8, i32, i64, f32, ptr; /* ptr: the opaque pointer type */
  const char *prefix; /* exported symbols are <prefix>_<name>; internal ones are private */
  bool threaded;      /* kernels may be split over the runtime's thread pool
                       * (smelt_rt_parallel_for); off for deployable objects */
  int vector_bits;    /* host vector width, for tiling decisions */
  bool own_gemm;      /* GEMMs call our own kernels (cg_sgemm.h) instead of cblas_sgemm */
  bool bf16;          /* with own_gemm and 512-bit vectors: GEMMs multiply bf16-rounded inputs
                       * (cg_sgemm.h, `bf16`), except those reading a B packed beforehand */
  bool amx;           /* with bf16: on AMX tiles (the process holds AMX state, rt_amx.h) */
  bool vnni;          /* the target has AVX512-VNNI: int8 GEMMs use vpdpbusd (cg_igemm.h) */
  bool amx_int8;      /* int8 GEMMs' blocks of 32 rows on AMX-INT8 tiles (tdpbssd; the process
                       * holds AMX state, rt_amx.h) */
} CgContext;

/* Creates a fresh LLVM context and module named `name`. */
void cg_context_init(CgContext *c, const char *name, const char *prefix);
/* Disposes the builder, the module and the LLVM context. */
void cg_context_dispose(CgContext *c);

/* Declares (once) an external function of the module, e.g. cblas_sgemm. */
LLVMValueRef cg_declare(CgContext *c, const char *name, LLVMTypeRef fn_type);
/* An i64 / f32 / i32 constant. */
LLVMValueRef cg_i64(CgContext *c, long long v);
LLVMValueRef cg_i32(CgContext *c, int v);
LLVMValueRef cg_f32(CgContext *c, double v);

/* Copies an LLVM error message into d (file may be NULL) and frees it (LLVMDisposeMessage). */
void cg_diag_llvm_message(RtDiags *d, const char *what, char *message);

#endif
