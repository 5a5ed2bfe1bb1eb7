/* Fusion: groups the op nodes of a graph into kernels, the units codegen emits as one function
 * and the schedule runs in order. What becomes a kernel:
 *   LOOP   a loop nest over an iteration space: chains of elementwise ops, reductions over that
 *          space with their elementwise producers, and epilogue elementwise ops over the reduced
 *          result; layout ops on materialised values are folded into strided reads (views).
 *   GEMM   a matmul or convolution (library call) plus its elementwise epilogue.
 *   OPAQUE one op with a kernel of its own (pooling, gather/scatter, argmax, CTC, ...).
 * Values read across kernels are materialised in buffers; values used only inside their kernel
 * live in registers. Expensive ops are never duplicated: each op belongs to exactly one kernel. */
#ifndef SMELT_PASS_FUSE_H
#define SMELT_PASS_FUSE_H

#include <stdio.h>

#include "ir/ir.h"

/* Most ops one kernel holds. LLVM's loop vectoriser takes time quadratic in the size of a loop
 * body (a chain of 5,000 elementwise ops as one kernel: 33 s of CPU through `smelt run-ir
 * --compare`; cut into kernels of 64: 0.5 s), while fusing beyond a few dozen ops saves almost
 * no memory traffic. A longer chain is cut into kernels of this many ops, whose code is mostly
 * identical and emitted once. The presets' largest kernels hold 23 ops. */
#define PASS_FUSE_MAX_OPS 64
/* Most values one kernel reads from memory or writes there: each is a pointer argument of its
 * function, and codegen takes at most CG_MAX_ARGS (64) of them, a few kept for GEMM operands and
 * workspaces (checked there). A sum of many values (the gradient of a weight shared by 256 time
 * steps) is cut into kernels reading at most this many. */
#define PASS_FUSE_MAX_ARGS 56

typedef enum PassKernelKind { PASS_KERNEL_LOOP, PASS_KERNEL_GEMM, PASS_KERNEL_OPAQUE } PassKernelKind;

/* How a node's value exists at run time. */
typedef enum PassValueKind {
  PASS_VALUE_LEAF,   /* input/param/state/const: lives in its region */
  PASS_VALUE_BUFFER, /* written by its kernel to a buffer of its own */
  PASS_VALUE_LOCAL,  /* computed and consumed inside one kernel; no memory */
  PASS_VALUE_VIEW,   /* a layout op on another value, read through strides, never copied */
} PassValueKind;

/* A strided view: element i of the viewing value (row-major index vector idx) is element
 * offset + sum(idx[d] * strides[d]) of `base`'s buffer. */
typedef struct PassView {
  IrId base; /* a LEAF or BUFFER value */
  int64_t offset;
  int64_t strides[IR_MAX_RANK]; /* one per dim of the viewing value */
} PassView;

typedef struct PassValue {
  PassValueKind kind;
  int kernel;    /* the kernel computing it (BUFFER, LOCAL), else -1 */
  PassView view; /* VIEW: how to read it; BUFFER and LEAF: itself, contiguous */
} PassValue;

typedef struct PassKernel {
  PassKernelKind kind;
  IrShape space;    /* LOOP: the iteration space (the shape of its widest ops) */
  IrId *ops;        /* (n_ops) member op nodes, in graph order; for GEMM/OPAQUE ops[0] is the main op */
  bool *epilogue;   /* (n_ops) computed after the main loop, over the reduced space (LOOP with
                     * reductions) or the library call's output (GEMM) */
  int n_ops;
  IrId *outputs;    /* (n_outputs) member values it writes to buffers */
  int n_outputs;
  int n_reductions; /* LOOP: member reduce ops (all over the same axes of `space`) */
  int unique;       /* index of the first kernel with the same code (itself when first) */
} PassKernel;

typedef struct PassFusion {
  const IrGraph *g; /* not owned */
  PassValue *values; /* (g->n_nodes) */
  PassKernel *kernels; /* (n_kernels), in schedule order */
  int n_kernels;
  int n_unique; /* kernels with distinct code */
} PassFusion;

typedef struct PassFuseOptions {
  bool no_fusion;    /* every op a kernel of its own (for differential tests) */
  FILE *explain;     /* when set, one line per producer/consumer pair that was not fused, and why */
} PassFuseOptions;

/* The view of layout op m (reshape, transpose, slice, broadcast) over its operand read through
 * `in`; false when no strided view expresses it (a reshape of a non-contiguous view). */
bool pass_view_compose(const IrGraph *g, const IrNode *m, const PassView *in, PassView *out);

/* Fuses the op nodes of g (which must verify and not change while the result lives). */
PassFusion *pass_fuse(const IrGraph *g, const PassFuseOptions *opt);
void pass_fusion_free(PassFusion *f);
/* Kernel listing for `smelt ir --stage fused`. */
void pass_fusion_print(const PassFusion *f, FILE *out);

#endif
