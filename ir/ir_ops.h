/* The op table: the single place where an op is defined. Each row gives the op's name (its
 * spelling in IR text), arity, attributes, shape rule, reference implementation (what the op
 * means; the interpreter runs it and every backend is tested against it), VJP rule (autodiff),
 * kernel kind (how fusion may group it), property flags and, for GEMM-class ops, a work count. Passes and codegen ask the kind and
 * the flags, never the op's name. Adding an op = an IrOp entry in ir.h, a row in ir_ops.c, the
 * functions that row points to, and its emission row in codegen/cg_ops.c. See
 * docs/architecture.md. */
#ifndef SMELT_IR_OPS_H
#define SMELT_IR_OPS_H

#include "ir/ir.h"

/* A value in the reference interpreter. Every element is held as a double whatever the dtype:
 * f32 math is done in double precision (the oracle is more exact than any backend, and finite
 * differences can run in double), i32 values are held exactly. */
typedef struct IrTensor {
  IrType type;
  double *data; /* (numel) row-major */
} IrTensor;

/* Shape rule: the output type of op node n from its operands' types (ir_type_of(g, n->in[i]))
 * and its attributes. On a bad combination, writes a one-line message into err and returns
 * false. n->type is not read. */
typedef bool (*IrInferFn)(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);

/* Reference implementation: out->data (numel of n->type, zero-filled) from the operands'
 * values, with plain loops that are obviously correct. Never fails: inputs are verified. */
typedef void (*IrEvalFn)(const IrNode *n, const IrTensor *const *in, IrTensor *out);

/* VJP rule: given the gradient `gout` of a scalar loss w.r.t. node `id`'s output, appends ops to
 * g computing the gradient w.r.t. each operand i with need[i] set, and stores it in grad_in[i]
 * (with exactly the operand's type); leaves IR_NONE where the gradient is zero or not needed.
 * NULL in the table: the op cannot be differentiated (autodiff reports it). */
typedef void (*IrVjpFn)(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);

/* View rule of an IR_OPF_VIEW op (NULL for every other op): when the operand's element j is
 * read at *offset + sum(j[d] * in_strides[d]), the output's element i is read at the updated
 * *offset + sum(i[d] * out_strides[d]). False when no strided view expresses it (a reshape of a
 * non-contiguous operand). */
typedef bool (*IrViewFn)(const IrGraph *g, const IrNode *n, const int64_t *in_strides, int64_t *offset,
                         int64_t *out_strides);

/* Work rule of an IR_FUSE_GEMM op, or of an opaque op built around matrix products (an LSTM's
 * recurrence; NULL for every other op): the multiply-adds op node n does in its products, from
 * its operands' and its own shapes. GFLOP/s figures count 2 FLOPs per multiply-add of these
 * ops only (the convention of BLAS and of PyTorch's profilers): elementwise work is small next to
 * them and bound by memory, not arithmetic. */
typedef double (*IrMacsFn)(const IrGraph *g, const IrNode *n);

/* Kernel kind: how fusion may group the op (passes/fuse.h). */
typedef enum IrFusionClass {
  IR_FUSE_ELEMENTWISE, /* one output element per element of the iteration space: joins loop
                        * kernels and GEMM epilogues */
  IR_FUSE_REDUCTION,   /* reduce_* over axes (attribute 0) of its operand: a loop kernel's
                        * accumulator, with elementwise producers and an epilogue */
  IR_FUSE_LAYOUT,      /* moves elements (reshape, transpose, slice, concat, pad, broadcast) */
  IR_FUSE_GEMM,        /* matmul and convolutions: library/micro-kernel calls with epilogues */
  IR_FUSE_OPAQUE,      /* its own kernel: pooling, gather/scatter, argmax, ctc */
  IR_FUSE_CLASS_COUNT
} IrFusionClass;

/* Properties of an op that passes and codegen decide by (IrOpInfo.flags). */
enum {
  /* out[i] is a function of the operands' elements at index i (numpy broadcast) and of nothing
   * else: a fill in gives a fill out (folding), and the output may overwrite an operand read at
   * its own index (in-place writes in the memory plan). Not one_hot (its last dim is the class,
   * not an index of the operand) nor rng_uniform (a function of the index). */
  IR_OPF_POINTWISE = 1u << 0,
  /* a layout op expressible as a strided view of its one operand (reshape, transpose, slice,
   * broadcast; its `view` rule says how): fusion reads it through strides, never copies it
   * unless it must */
  IR_OPF_VIEW = 1u << 1,
  /* a kernel of its own that reads plain contiguous buffers and never fuses: every
   * IR_FUSE_OPAQUE op, and the layout ops that are no view (concat, pad) */
  IR_OPF_OWN_KERNEL = 1u << 2,
  /* draws random numbers (from a seed operand): never constant-folded */
  IR_OPF_RANDOM = 1u << 3,
  /* op(a, b) and op(b, a) give the same bits (CSE may swap operands); not max and min, whose
   * sign of zero depends on the order */
  IR_OPF_COMMUTATIVE = 1u << 4,
};

typedef struct IrAttrSpec {
  const char *name; /* NULL ends the list */
  int count;        /* exact number of ints; -1: any number up to IR_ATTR_MAX_INTS */
} IrAttrSpec;

/* The most operands a variadic op (concat) may take: a compiled kernel passes each operand as a
 * pointer argument and has 64 (codegen/cg_kernel.h), one kept for the result. ir_concat nests
 * longer concats; the verifier refuses a wider one in IR text. */
enum { IR_MAX_VARIADIC = 63 };

typedef struct IrOpInfo {
  const char *name;
  int arity; /* -1: one or more (concat), at most IR_MAX_VARIADIC */
  IrFusionClass fusion;
  unsigned flags; /* IR_OPF_* */
  IrAttrSpec attrs[IR_MAX_ATTRS];
  IrInferFn infer;
  IrEvalFn eval;
  IrVjpFn vjp;
  IrViewFn view;
  IrMacsFn macs;
} IrOpInfo;

extern const IrOpInfo ir_op_info[IR_OP_COUNT];

IrOp ir_op_by_name(const char *name); /* IR_OP_COUNT when unknown */
const char *ir_fusion_class_name(IrFusionClass c);
/* index of the named attribute in ir_op_info[op].attrs, or -1 */
int ir_op_attr_index(IrOp op, const char *name);

/* Multiply-adds of every GEMM-class op node of g (IrMacsFn): a graph's arithmetic work. */
double ir_graph_macs(const IrGraph *g);

/* The constants of gelu's tanh form, shared by its reference, VJP and codegen: sqrt(2/pi) and
 * the cubic's coefficient. */
#define IR_GELU_K 0.7978845608028654
#define IR_GELU_C 0.044715

static inline bool ir_op_has(IrOp op, unsigned flags) { return (ir_op_info[op].flags & flags) == flags; }
/* Whether op may read i8 operands: the quantized products (int8 inference) and views of them;
 * no other kernel handles 1-byte elements. */
static inline bool ir_op_reads_i8(IrOp op) {
  return op == IR_OP_MATMUL || op == IR_OP_CONV2D || op == IR_OP_LSTM_SCAN_I8 || ir_op_has(op, IR_OPF_VIEW);
}
static inline bool ir_op_is_reduce(IrOp op) { return ir_op_info[op].fusion == IR_FUSE_REDUCTION; }

#endif
