/* AMX tiles for our GEMMs (the bf16 one in cg_sgemm.c, the int8 one in cg_igemm.c): the tile
 * configuration both use (palette 1, eight tiles of 16 rows x 64 bytes) and the intrinsics,
 * whose tile numbers are immediates. Code that runs them needs a CPU with AMX and a process that
 * asked Linux for AMX state (runtime/rt_amx.h). */
#ifndef SMELT_CG_AMX_H
#define SMELT_CG_AMX_H

#include <stdbool.h>

#include "codegen/cg_context.h"

enum { CG_AMX_ROWS = 16, CG_AMX_ROW_BYTES = 64 };

/* Loads the configuration at the builder's position (a function's entry: ldtilecfg). */
void cg_amx_configure(CgContext *c);
/* The AMX intrinsic `name` (e.g. "llvm.x86.tdpbssd") on args. */
void cg_amx_call(CgContext *c, const char *name, LLVMValueRef *args, int n);
/* Tile number t as the intrinsics take it. */
LLVMValueRef cg_amx_tile(CgContext *c, int t);
/* tileloadd (load) or tilestored of tile t at p, rows stride_bytes apart. */
void cg_amx_tile_move(CgContext *c, bool load, int t, LLVMValueRef p, LLVMValueRef stride_bytes);

#endif
