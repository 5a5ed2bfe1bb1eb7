/* The one table of external functions generated code may call: OpenBLAS, the C library's memory
 * and math functions that LLVM lowers intrinsics to, and the runtime's entry points. The JIT
 * defines exactly these (cg_jit.c) and nothing else, so an unregistered call fails loudly; the
 * emitters declare externals from the same table, so the two cannot drift apart. To let
 * generated code call something new, add one row to SYMBOLS in cg_symbols.c. */
#ifndef SMELT_CG_SYMBOLS_H
#define SMELT_CG_SYMBOLS_H

#include <llvm-c/Core.h>

#include "codegen/cg_context.h"

typedef struct CgExternSymbol {
  const char *name;      /* the C name (ORC adds any platform prefix) */
  void (*address)(void); /* what the JIT binds the name to */
  /* the C prototype in LLVM terms: return type, then the parameters in parentheses, one letter
   * each: v void, f float, i i32 (int, enums, blasint), l i64 (int64_t, size_t), p pointer.
   * "f(ff)" is float(float, float). */
  const char *signature;
} CgExternSymbol;

/* The table and its length. */
const CgExternSymbol *cg_extern_symbols(int *n);
/* The row for `name`, or NULL when generated code may not call it. */
const CgExternSymbol *cg_extern_symbol_find(const char *name);
/* The LLVM function type of s's signature, in ctx. */
LLVMTypeRef cg_extern_type(LLVMContextRef ctx, const CgExternSymbol *s);
/* Declares the registered external `name` in c's module (once) with its table type. Naming an
 * unregistered function is a codegen bug (RT_ASSERT). */
LLVMValueRef cg_declare_extern(CgContext *c, const char *name);

#endif
