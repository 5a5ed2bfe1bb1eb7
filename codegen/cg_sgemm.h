/* Our own single-precision GEMM, emitted as LLVM IR per shape: C = op(A) op(B) (+ C), row-major,
 * with K, the leading dimensions, the transposes and beta fixed at compile time and the rows and
 * columns (M, N) given at run time, as every GEMM of a plan has them (codegen/cg_gemm.c).
 * Each NR-wide panel of op(B) is packed, KC rows at a time, into a buffer on the stack; an
 * MR x NR tile of C is held in vector registers while the K loop runs FMAs on broadcasts of
 * op(A) and the packed rows; the last columns use masked loads and stores, the last rows a
 * one-row tile; fewer than 24 rows of C read an untransposed B in place instead of packing it.
 * Against B^T (A not transposed), fewer than 24 rows of C are dot products on vectors instead.
 * The tiles sum every element of C over k in order; the dot products in lanes, then across
 * them. Which path a call takes depends on its M, and a GEMM's splits depend on its shape only
 * (cg_gemm.c), so results are the same for any thread count. */
#ifndef SMELT_CG_SGEMM_H
#define SMELT_CG_SGEMM_H

#include <stdbool.h>
#include <stdint.h>

#include "codegen/cg_context.h"

typedef struct CgSgemmShape {
  bool ta, tb;          /* op(A) = A^T (A stored K x M) / op(B) = B^T (B stored N x K) */
  int64_t k;            /* K >= 1 */
  int64_t lda, ldb, ldc; /* leading dimensions (row strides) of A, B and C as stored */
  bool accumulate;      /* beta = 1: C += op(A) op(B); otherwise C = op(A) op(B) */
} CgSgemmShape;

/* The function `void (i64 m, i64 n, ptr a, ptr b, ptr c)` for this shape on vectors of
 * vector_bits (128, 256 or 512), defined in c's module the first time it is asked for
 * (internal linkage, named after the shape); m, n >= 0. Its packing buffers take about 180 KiB
 * of the calling thread's stack (the pool's threads have 8 MiB). */
LLVMValueRef cg_sgemm_function(CgContext *c, const CgSgemmShape *s, int vector_bits);

/* Its type, for LLVMBuildCall2. */
LLVMTypeRef cg_sgemm_type(CgContext *c);

#endif
