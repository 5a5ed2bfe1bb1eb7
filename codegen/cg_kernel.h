/* Internal to codegen/: how one kernel of the plan becomes an LLVM function.
 *
 * Every kernel is emitted as an internal function
 *     void kernel(ptr noalias a0, ..., ptr noalias aN-1, i64 begin, i64 end, i32 worker)
 * whose pointer arguments point at the memory the kernel touches (each already offset to the
 * start of the value or view it reads), and which does the part [begin, end) of its parallel
 * range (the worker index picks its slice of the kernel's workspace). A thin trampoline
 * `void (ptr ctx, i64 begin, i64 end, i32 worker)` unpacks the pointers from ctx for the thread
 * pool. Identical kernels (same code key: ops, shapes, strides, aliasing) are emitted once. */
#ifndef SMELT_CG_KERNEL_H
#define SMELT_CG_KERNEL_H

#include "codegen/cg_context.h"
#include "codegen/cg_program.h"
#include "ir/ir_ops.h"
#include "passes/plan.h"

enum { CG_MAX_ARGS = 64 };
/* fusion bounds what a kernel reads and writes; a GEMM kernel adds its workspace */
_Static_assert(PASS_FUSE_MAX_ARGS + 8 <= CG_MAX_ARGS, "fusion's argument bound exceeds codegen's");
_Static_assert(IR_MAX_VARIADIC + 1 <= CG_MAX_ARGS, "a variadic op's operands and result exceed codegen's arguments");

/* One pointer argument: where its memory is at the call site, and how it is used. */
typedef struct CgArg {
  IrId value;     /* the LEAF or BUFFER value whose slot it points into; IR_NONE: workspace */
  int64_t offset; /* elements from the start of that slot (views of a slice) */
  bool written;
} CgArg;

/* A kernel being described: its arguments, and a code key that identifies its code. */
typedef struct CgKernelSpec {
  const PassPlan *plan;
  int index; /* kernel index in the schedule */
  CgArg args[CG_MAX_ARGS];
  int n_args;
  int64_t parallel_items; /* size of the range [0, n) split over workers; 1: serial */
  int64_t grain;          /* smallest chunk worth a thread */
  int64_t prologue_items; /* > 0: a prologue over [0, n), a function of its own (CgFn.prologue),
                           * runs to completion before the kernel's range (a Winograd
                           * convolution's filter transform, which every image reads) */
  char *key;              /* malloc'ed; identical keys => identical code */
  size_t key_len, key_cap;
  void *detail;           /* the kind's own analysis, made by describe, used by emit */
  void (*release)(void *detail); /* frees detail (set by describe) */
} CgKernelSpec;

void cg_spec_free(CgKernelSpec *s);

/* Adds (or finds) the argument for memory of `value` at element `offset`; returns its index. */
int cg_spec_arg(CgKernelSpec *s, IrId value, int64_t offset, bool written);
/* Appends printf-style text to the code key. */
void cg_spec_key(CgKernelSpec *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Emission state of one kernel function. */
typedef struct CgFn {
  LLVMValueRef fn;
  LLVMValueRef args[CG_MAX_ARGS]; /* the pointer parameters */
  LLVMValueRef begin, end, worker;
  bool prologue; /* emitting the spec's prologue phase rather than its main range */
} CgFn;

/* Creates the kernel function for spec (name given) and positions the builder in its entry. */
void cg_fn_begin(CgContext *c, CgFn *f, const CgKernelSpec *s, const char *name);
void cg_fn_end(CgContext *c, CgFn *f); /* ret void */

/* ---- loop nests (cg_loopnest.c) ---- */
typedef struct CgLoopNest {
  int rank;
  LLVMValueRef lo[IR_MAX_RANK], hi[IR_MAX_RANK]; /* i64 bounds per dim */
  LLVMValueRef idx[IR_MAX_RANK];                 /* induction variables, valid in the body */
  LLVMBasicBlockRef latch[IR_MAX_RANK], exit[IR_MAX_RANK];
  LLVMValueRef phi[IR_MAX_RANK];
} CgLoopNest;

/* Opens `rank` nested loops (outermost first) and leaves the builder in the innermost body. */
void cg_loop_open(CgContext *c, CgLoopNest *l, const char *name);
/* One loop over [lo, hi) (l->rank = 1), opened: the caller emits the body and closes it. */
void cg_loop_range(CgContext *c, CgLoopNest *l, LLVMValueRef lo, LLVMValueRef hi, const char *name);
/* Closes them all; the builder continues after the outermost loop. */
void cg_loop_close(CgContext *c, CgLoopNest *l);
/* i64 sum of idx[d] * strides[d] (+ base); strides are compile-time constants. */
LLVMValueRef cg_loop_offset(CgContext *c, const CgLoopNest *l, const int64_t *strides, int64_t base);
/* if (cond) { ... }: positions the builder inside and returns the block to continue at, which
 * cg_if_end closes into. */
LLVMBasicBlockRef cg_if_begin(CgContext *c, LLVMValueRef cond, const char *name);
void cg_if_end(CgContext *c, LLVMBasicBlockRef done);
/* Typed element address: ptr + offset elements of 4 bytes. */
LLVMValueRef cg_gep(CgContext *c, LLVMValueRef ptr, LLVMValueRef offset);

/* ---- scalar math (cg_math.c, cg_elementwise.c; per-op emitters: cg_ops.h) ---- */
LLVMValueRef cg_math_exp(CgContext *c, LLVMValueRef x);
LLVMValueRef cg_math_log(CgContext *c, LLVMValueRef x);
LLVMValueRef cg_math_tanh(CgContext *c, LLVMValueRef x);
LLVMValueRef cg_math_sigmoid(CgContext *c, LLVMValueRef x);
LLVMValueRef cg_intrinsic(CgContext *c, const char *name, LLVMTypeRef type, int n, LLVMValueRef *args);
LLVMValueRef cg_philox_uniform(CgContext *c, LLVMValueRef seed, uint64_t stream, LLVMValueRef index);
LLVMTypeRef cg_dtype(CgContext *c, IrDType t);

/* ---- kernel kinds ---- */
void cg_describe_loop(CgKernelSpec *s);
void cg_emit_loop(CgContext *c, CgFn *f, const CgKernelSpec *s);
void cg_describe_gemm(CgKernelSpec *s);
void cg_emit_gemm(CgContext *c, CgFn *f, const CgKernelSpec *s);
void cg_describe_opaque(CgKernelSpec *s);
void cg_emit_opaque(CgContext *c, CgFn *f, const CgKernelSpec *s);
/* Workspace a kernel needs, for the planner (PassPlanOptions.workspace_bytes; user: NULL or a
 * CgKernelOptions). */
int64_t cg_kernel_workspace_bytes(const IrGraph *g, const PassKernel *k, int workers, void *user);
int64_t cg_gemm_workspace_bytes(const IrGraph *g, const PassKernel *k, int workers, void *user);

#endif
