/* Our int8 GEMM, emitted as LLVM IR per shape: C (m x n, i32) = A (m x k, i8, row-major)
 * op(B) (k x n, i8; B^T stored n x k when tb), exact integer sums (int8 inference,
 * docs/quantization.md).
 * B is packed a panel of NR columns and a block of k at a time into groups of four k per column
 * (the operand layout of AVX512-VNNI's vpdpbusd and of AMX's B tiles), with the panel's column
 * sums, or packed whole beforehand (b_packed); A is read where it is. With amx_int8, blocks of
 * 32 rows of C run on AMX tiles (tdpbssd, signed x signed). The other rows take 32-bit broadcasts
 * of four k of a row and vpdpbusd, which multiplies unsigned by signed bytes, so A enters as
 * a + 128 (a flipped sign bit) and 128 times B's column sums are taken off the result:
 * sum (a + 128) b - 128 sum b = sum a b, exactly. Without VNNI (or below 512-bit vectors) the
 * same products run as 32-bit multiplies of the bytes taken apart (slower, same result).
 * Integer sums are exact, so every path, split and thread count gives the same bits. */
#ifndef SMELT_CG_IGEMM_H
#define SMELT_CG_IGEMM_H

#include <stdbool.h>
#include <stdint.h>

#include "codegen/cg_context.h"

typedef struct CgIgemmShape {
  bool tb;               /* op(B) = B^T (B stored n x k) */
  int64_t k;             /* K >= 1 */
  int64_t lda, ldb, ldc; /* leading dimensions, in elements, as stored */
  bool b_packed;         /* B points at op(B) packed whole by cg_igemm_pack_b_call (same shape,
                          * same context flags): a B used again and again is packed once */
} CgIgemmShape;

/* A call at the builder's position: C (m x n) = A op(B) for s, on vectors of c->vector_bits,
 * with vpdpbusd when c->vnni. The function (`void (i64 m, i64 n, ptr a, ptr b, ptr c)`, internal)
 * is defined once per shape in c's module; it keeps a packed panel (at most 32 KiB) on the stack. */
void cg_emit_igemm(CgContext *c, const CgIgemmShape *s, LLVMValueRef m, LLVMValueRef n, LLVMValueRef a,
                   LLVMValueRef b, LLVMValueRef cc);

/* At least cg_igemm_packed_b_bytes for any context (a planner's workspace, before codegen). */
int64_t cg_igemm_packed_b_bytes_max(int64_t k, int64_t n);
/* Bytes of op(B) (k x n) packed whole for c and s (s->b_packed as for the calls reading it). */
int64_t cg_igemm_packed_b_bytes(const CgContext *c, const CgIgemmShape *s, int64_t n);
/* A call at the builder's position packing op(B) (n columns) from b into dst (64-byte aligned). */
void cg_igemm_pack_b_call(CgContext *c, const CgIgemmShape *s, LLVMValueRef n, LLVMValueRef b, LLVMValueRef dst);

#endif
