/* Internal to codegen/: what an opaque kernel's row (cg_ops.c) holds, for the files that emit
 * opaque kernels (cg_opaque.c: pooling, indexing, layout, CTC; cg_lstm.c: the LSTM recurrence).
 * cg_describe_opaque gives every such kernel its operands, its output and (when the row asks for
 * one) a workspace, as pointer arguments in the order an Opaque lists them. */
#ifndef SMELT_CG_OPAQUE_H
#define SMELT_CG_OPAQUE_H

#include "codegen/cg_kernel.h"

typedef struct Opaque {
  IrOp op;
  int in[CG_MAX_ARGS], n_in, out; /* argument indices of the operands and the output */
  int ws;                         /* of the workspace; -1: none */
} Opaque;

/* Emits the kernel's body for its range [f->begin, f->end); mode is the row's. */
typedef void (*OpaqueEmitFn)(CgContext *c, CgFn *f, const Opaque *o, const IrGraph *g, const IrNode *n, int mode);
/* Sets s->parallel_items and s->grain for node n. */
typedef void (*OpaqueSplitFn)(CgKernelSpec *s, const IrGraph *g, const IrNode *n);
/* Bytes of workspace node n's kernel needs when split over `workers` threads. */
typedef int64_t (*OpaqueWorkspaceFn)(const IrGraph *g, const IrNode *n, int workers);

struct CgOpaqueOp {
  OpaqueEmitFn emit;
  OpaqueSplitFn split;             /* NULL: serial */
  int mode;                        /* passed to emit: a PoolMode, or 1 for a gradient */
  OpaqueWorkspaceFn workspace;     /* NULL: none */
};

/* The workspace of an opaque op's kernel (0 when its row has none). */
int64_t cg_opaque_workspace_bytes(const IrGraph *g, const IrNode *n, int workers);

#endif
