/* Our own single-precision GEMM, emitted as LLVM IR per shape: C = op(A) op(B) (+ C), row-major,
 * one function per combination of transposes and beta, K, the leading dimensions, the rows and
 * the columns given at run time (codegen/cg_gemm.c passes its plan's constants).
 * Blocks of op(A) (MC x KC) and each NR-wide panel of op(B) (KC rows of it) are packed into
 * buffers on the stack (B^T's panels transposed in registers, a square of vectors at a time);
 * an MR x NR tile of C is held in vector registers while the K loop runs FMAs on broadcasts of
 * op(A) and the packed rows; the last columns use masked loads and stores, the rows left over
 * one masked tile of MR or MR/2 rows; fewer than 24 rows of C (any number, with b_in_place) read
 * an untransposed B in place instead of packing it, and a B packed whole by its caller
 * (b_packed) is read as it lies. Against B^T (A not transposed), fewer than 4 rows of C are dot
 * products on vectors instead, four columns side by side.
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
  bool b_in_place;      /* an untransposed B is read where it is for any M, never packed: the
                         * caller calls again and again with the same B, which stays in cache
                         * (an LSTM's recurrent weights) */
  bool b_packed;        /* B points at op(B) already packed whole (cg_sgemm_pack_b_call): the
                         * same B for many calls is packed once */
  bool bf16;            /* A and B rounded to bfloat16 (to nearest even) as they are packed, the
                         * products of pairs of k summed in fp32 (AVX512-BF16's vdpbf16ps): twice
                         * the multiply-adds an instruction; 512-bit vectors only, B packed by
                         * the call itself; the caller checks that the CPU has AVX512-BF16 */
  bool amx;             /* with bf16: AMX tiles (tdpbf16ps, 32 x 32 blocks of C) instead of
                         * vdpbf16ps; the caller checks that the CPU has AMX-BF16 and that the
                         * process was granted AMX state (rt_amx_enable) */
} CgSgemmShape;

/* The function `void (i64 m, i64 n, i64 k, i64 lda, i64 ldb, i64 ldc, ptr a, ptr b, ptr c)` for
 * s's transposes and beta on vectors of vector_bits (128, 256 or 512), defined in c's module the
 * first time it is asked for (internal linkage, named after them: one function serves every K
 * and leading dimension, which keeps compile time down); m, n >= 0, k >= 1. Its packing buffers
 * take about 550 KiB of the calling thread's stack (the pool's threads have 8 MiB). */
LLVMValueRef cg_sgemm_function(CgContext *c, const CgSgemmShape *s, int vector_bits);

/* Floats of op(B) (k x n) packed whole for calls with b_packed (a little more than k x n). */
int64_t cg_sgemm_packed_b_floats(int64_t n, int64_t k);
/* A call at the builder's position packing op(B) (k x n: B^T when tb, leading dimension ldb)
 * into dst, whole, for later calls with b_packed and the same K. */
void cg_sgemm_pack_b_call(CgContext *c, bool tb, int64_t k, int64_t ldb, int vector_bits, LLVMValueRef n, LLVMValueRef b,
                          LLVMValueRef dst);

/* Its type, for LLVMBuildCall2. */
LLVMTypeRef cg_sgemm_type(CgContext *c);

/* A call of it at the builder's position: C (m x n) (+)= op(A) op(B) with s's K and leading
 * dimensions. */
void cg_sgemm_call(CgContext *c, const CgSgemmShape *s, int vector_bits, LLVMValueRef m, LLVMValueRef n,
                   LLVMValueRef a, LLVMValueRef b, LLVMValueRef cmat);

/* C (m x n, ldc) = op(A) op(B) (+ C when beta = 1), row-major: the one place GEMMs are emitted
 * (codegen/cg_gemm.c): our own kernel above, or OpenBLAS's cblas_sgemm without
 * CgContext.own_gemm. */
void cg_emit_sgemm(CgContext *c, bool ta, bool tb, LLVMValueRef m, LLVMValueRef n, int64_t k, LLVMValueRef a,
                   int64_t lda, LLVMValueRef b, int64_t ldb, float beta, LLVMValueRef cc, int64_t ldc);
/* The same for a shape given whole (b_in_place is a hint OpenBLAS does not take). */
void cg_emit_sgemm_shape(CgContext *c, const CgSgemmShape *s, LLVMValueRef m, LLVMValueRef n, LLVMValueRef a,
                         LLVMValueRef b, LLVMValueRef cc);

#endif
