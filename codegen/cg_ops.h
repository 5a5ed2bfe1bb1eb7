/* Internal to codegen/: the emission table, codegen's own row per IrOp (designated by the op,
 * with a count assert in cg_ops.c, as ggml does), so that kernel code asks the table what to
 * emit for an op and never tests its name. What a row holds depends on how the op is compiled:
 *   CG_EMIT_SCALAR  a member of a loop nest: its value at one index from its operands' values
 *                   (cg_elementwise.c), plus what else of the loop it needs (CG_NEEDS_*);
 *   CG_EMIT_REDUCE  a loop nest's accumulator: identity, combining rule, mean or not;
 *   CG_EMIT_VIEW    a strided read of its operand (cg_loop.c), no code of its own;
 *   CG_EMIT_OPAQUE  a kernel of its own (cg_opaque.c);
 *   CG_EMIT_GEMM    a library call with an epilogue (cg_gemm.c).
 * test_codegen_ops checks that every op has a row agreeing with its kernel kind in ir_ops.c. */
#ifndef SMELT_CG_OPS_H
#define SMELT_CG_OPS_H

#include "codegen/cg_kernel.h"
#include "ir/ir_ops.h"

typedef enum CgEmitKind {
  CG_EMIT_NONE, /* a missing row */
  CG_EMIT_SCALAR,
  CG_EMIT_REDUCE,
  CG_EMIT_VIEW,
  CG_EMIT_OPAQUE,
  CG_EMIT_GEMM,
} CgEmitKind;

/* What a scalar op reads from the loop besides its operands. */
enum {
  /* the last dim of the iteration space is the op's own (one_hot's class): its operands span
   * the space without it, that loop is never merged, and the emitter gets its index */
  CG_NEEDS_CLASS_DIM = 1u << 0,
  /* the emitter gets the element's flat index over the space (rng_uniform's counter) */
  CG_NEEDS_FLAT_INDEX = 1u << 1,
  /* attribute 0 is baked into the code (rng_uniform's stream), so it is part of the code key */
  CG_NEEDS_ATTR0_KEY = 1u << 2,
};

/* Where a scalar op is evaluated, for ops with CG_NEEDS_*: NULL fields when not needed. */
typedef struct CgIndex {
  LLVMValueRef class_index; /* i64 index along the last dim (CG_NEEDS_CLASS_DIM) */
  LLVMValueRef flat;        /* i64 flat element index (CG_NEEDS_FLAT_INDEX) */
} CgIndex;

/* The value of op node n at one index from its operands' values x[] (scalars of their dtypes). */
typedef LLVMValueRef (*CgScalarFn)(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);

typedef struct CgReduce {
  double init; /* the accumulator's start: the identity of the combining rule */
  bool max;    /* combine by NaN-propagating max; otherwise by addition (blocked sums apply) */
  bool mean;   /* divide the sum by the number of reduced elements */
} CgReduce;

/* Rows of the kernel kinds keep their details private to their files. */
typedef struct CgOpaqueOp CgOpaqueOp;
typedef struct CgGemmOp CgGemmOp;

typedef struct CgOpEmit {
  CgEmitKind kind;
  CgScalarFn scalar;        /* CG_EMIT_SCALAR */
  unsigned needs;           /* CG_EMIT_SCALAR: CG_NEEDS_* */
  CgReduce reduce;          /* CG_EMIT_REDUCE */
  const CgOpaqueOp *opaque; /* CG_EMIT_OPAQUE */
  const CgGemmOp *gemm;     /* CG_EMIT_GEMM */
} CgOpEmit;

extern const CgOpEmit cg_op_emit[IR_OP_COUNT];

/* Scalar emitters (cg_elementwise.c). */
LLVMValueRef cg_scalar_neg(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_exp(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_log(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_sqrt(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_rsqrt(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_tanh(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_sigmoid(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_gelu(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_relu(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_abs(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_square(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_to_f32(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_to_i32(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_quantize(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_add(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_sub(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_mul(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_div(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_max(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_min(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_pow(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_eq(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_ne(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_lt(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_le(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_gt(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_ge(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_select(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_one_hot(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);
LLVMValueRef cg_scalar_rng_uniform(CgContext *c, const IrNode *n, LLVMValueRef *x, const CgIndex *at);

/* Opaque kernels (cg_opaque.c). */
extern const CgOpaqueOp cg_opaque_maxpool2d, cg_opaque_maxpool2d_grad, cg_opaque_avgpool2d,
    cg_opaque_avgpool2d_grad, cg_opaque_gather, cg_opaque_scatter_add, cg_opaque_argmax, cg_opaque_concat,
    cg_opaque_pad, cg_opaque_ctc_loss, cg_opaque_ctc_loss_grad, cg_opaque_all_sum;
/* The LSTM recurrence (cg_lstm.c). */
extern const CgOpaqueOp cg_opaque_lstm_scan, cg_opaque_lstm_scan_grad, cg_opaque_lstm_scan_i8;

/* GEMM kernels (cg_gemm.c). */
extern const CgGemmOp cg_gemm_matmul, cg_gemm_conv2d, cg_gemm_conv2d_grad_input, cg_gemm_conv2d_grad_filter;

#endif
