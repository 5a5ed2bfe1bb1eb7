/* Internal to codegen/: the loop-nest machinery of LOOP kernels, shared with GEMM epilogues.
 * A CgLoop describes members (ops computed per index), accesses (strided memory reads/stores
 * over the iteration space S) and the loop structure; cg_loop_emit turns it into IR. */
#ifndef SMELT_CG_LOOP_H
#define SMELT_CG_LOOP_H

#include "codegen/cg_kernel.h"

typedef struct CgAccess {
  int arg;                       /* pointer argument; -1 for the flat element index (rng) */
  IrDType dtype;
  int64_t strides[IR_MAX_RANK];  /* elements per step of each dim of S */
} CgAccess;

typedef enum CgRefKind { CG_REF_MEMBER, CG_REF_READ, CG_REF_CONST } CgRefKind;
typedef struct CgRef {
  CgRefKind kind;
  int index;    /* member index, or access index */
  double value; /* CG_REF_CONST: a fill constant, emitted as an immediate */
  IrDType dtype;
} CgRef;

typedef struct CgMember {
  IrId id;
  bool epilogue;  /* computed over the reduced space after the main loop */
  bool reduction; /* accumulates into its store access */
  CgRef in[4];
  int store;      /* access it is written to, -1: register only */
} CgMember;

typedef struct CgLoop {
  IrShape space, reduced;
  bool is_reduced[IR_MAX_RANK];
  CgMember *members;
  int n_members;
  CgAccess *access;
  int n_access, cap_access;
  int flat_access; /* natural strides of S, for rng_uniform's element index; -1 if unused */
  bool onehot;     /* the last dim of S must stay a loop of its own (its index is the class) */
  /* loop structure (cg_loop_shape): loops outermost first; loop_dim = the innermost dim of S
   * in the merged group, whose strides the loop uses */
  int n_loops;
  int64_t loop_size[IR_MAX_RANK];
  int loop_dim[IR_MAX_RANK];
  bool loop_reduced[IR_MAX_RANK];
  bool parallel; /* loop 0 may be split over threads */
} CgLoop;

/* Describes members ops[0..n) of space S (epilogue[i]: member i is computed over `reduced`
 * after the main loop), registering their memory as spec arguments. */
void cg_loop_describe(CgKernelSpec *s, CgLoop *l, const IrShape *space, const IrShape *reduced,
                      const bool *is_reduced, const IrId *ops, int n, const bool *epilogue);
void cg_loop_shape(CgLoop *l, bool allow_merge);
void cg_loop_key(CgKernelSpec *s, const CgLoop *l);
/* Emits init, main and epilogue passes. lo/hi (per loop, may be NULL) bound every loop;
 * otherwise loop 0 runs [begin, end) of the kernel when parallel, every loop its full size. */
void cg_loop_emit(CgContext *c, const CgLoop *l, const CgFn *f, const IrGraph *g,
                  LLVMValueRef const *lo, LLVMValueRef const *hi);
void cg_loop_free(CgLoop *l);

#endif
