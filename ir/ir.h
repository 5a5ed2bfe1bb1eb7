/* The tensor IR: static-shape tensors, SSA nodes, graphs. Everything below the frontend speaks it.
 * A graph is an append-only list of nodes in definition order (every input of a node is defined
 * before it), plus its outputs and its state updates. Nodes live in the graph's arena: an
 * IrNode pointer stays valid for the graph's whole life, even while nodes are appended.
 * Ops are defined once, in the table of ir_ops.h. */
#ifndef SMELT_IR_H
#define SMELT_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "support/rt_arena.h"

enum { IR_MAX_RANK = 6, IR_MAX_ATTRS = 4, IR_ATTR_MAX_INTS = 12 };

typedef int32_t IrId; /* index of a node in its graph */
#define IR_NONE ((IrId)-1)

/* f32 and i32 take 4 bytes an element; i8 (int8 quantized weights and activations, values
 * -127..127: docs/quantization.md) one. */
typedef enum IrDType { IR_F32, IR_I32, IR_I8 } IrDType;

typedef struct IrShape {
  int rank;
  int64_t dims[IR_MAX_RANK];
} IrShape;

typedef struct IrType {
  IrDType dtype;
  IrShape shape;
} IrType;

/* IR_SHAPE(2, 3) is the shape [2, 3]; IR_SHAPE() is a scalar. */
#define IR_SHAPE(...) ((IrShape){.rank = IR_NARGS_(__VA_ARGS__), .dims = {__VA_ARGS__}})
#define IR_NARGS_(...) ((int)(sizeof((int64_t[]){0, ##__VA_ARGS__}) / sizeof(int64_t)) - 1)

typedef enum IrNodeKind {
  IR_NODE_INPUT, /* per-call data: images, labels, runtime scalars such as the learning rate */
  IR_NODE_PARAM, /* trainable, persistent */
  IR_NODE_STATE, /* persistent, not trainable: BN running stats, optimizer moments, step */
  IR_NODE_CONST, /* compile-time constant */
  IR_NODE_OP,
  IR_NODE_KIND_COUNT
} IrNodeKind;

/* Every op; its row in ir_op_info (ir_ops.c) says everything else about it. */
typedef enum IrOp {
  /* elementwise unary, f32 -> f32 */
  IR_OP_NEG, IR_OP_EXP, IR_OP_LOG, IR_OP_SQRT, IR_OP_RSQRT, IR_OP_TANH, IR_OP_SIGMOID,
  IR_OP_GELU, IR_OP_RELU, IR_OP_ABS, IR_OP_SQUARE,
  /* dtype conversion: to_f32 (i32 -> f32, exact), to_i32 (f32 -> i32, truncating toward 0) */
  IR_OP_TO_F32, IR_OP_TO_I32,
  /* quantize(x, scale) = clamp(round-half-even(f32(x / scale)), -127, 127) as i8, broadcasting */
  IR_OP_QUANTIZE,
  /* elementwise binary with numpy broadcasting, f32 */
  IR_OP_ADD, IR_OP_SUB, IR_OP_MUL, IR_OP_DIV, IR_OP_MAX, IR_OP_MIN, IR_OP_POW,
  /* comparisons with broadcasting, operands of one dtype, result f32 1.0 / 0.0 */
  IR_OP_EQ, IR_OP_NE, IR_OP_LT, IR_OP_LE, IR_OP_GT, IR_OP_GE,
  /* select(cond, a, b) = cond != 0 ? a : b, broadcasting all three */
  IR_OP_SELECT,
  /* reductions over `axes`, optionally keeping them as size 1 */
  IR_OP_REDUCE_SUM, IR_OP_REDUCE_MEAN, IR_OP_REDUCE_MAX,
  /* (..., M, K) x (..., K, N); trans_a/trans_b swap the last two dims of an operand */
  IR_OP_MATMUL,
  /* NCHW convolution, filter (O, C, KH, KW), and its two gradients */
  IR_OP_CONV2D, IR_OP_CONV2D_GRAD_INPUT, IR_OP_CONV2D_GRAD_FILTER,
  /* NCHW pooling and gradients */
  IR_OP_MAXPOOL2D, IR_OP_MAXPOOL2D_GRAD, IR_OP_AVGPOOL2D, IR_OP_AVGPOOL2D_GRAD,
  /* layout */
  IR_OP_RESHAPE, IR_OP_TRANSPOSE, IR_OP_SLICE, IR_OP_CONCAT, IR_OP_PAD, IR_OP_BROADCAST,
  /* indexing */
  IR_OP_GATHER, IR_OP_SCATTER_ADD, IR_OP_ONE_HOT, IR_OP_ARGMAX,
  /* counter-based uniform random numbers in [0, 1) */
  IR_OP_RNG_UNIFORM,
  /* connectionist temporal classification, opaque */
  IR_OP_CTC_LOSS, IR_OP_CTC_LOSS_GRAD,
  /* an LSTM layer's recurrence over all time steps and directions, and its gradient, opaque */
  IR_OP_LSTM_SCAN, IR_OP_LSTM_SCAN_GRAD,
  /* lstm_scan with int8 recurrent weights (inference): xproj, w_hh i8, w_scale per direction */
  IR_OP_LSTM_SCAN_I8,
  /* all_sum(x): x summed over the processes of a data-parallel run (runtime/rt_collective.h), the
   * same on every process; x itself in one process. A synchronised batch norm's statistics. */
  IR_OP_ALL_SUM,
  IR_OP_COUNT
} IrOp;

/* How a param or state node starts out, what a const node holds, and for input nodes what
 * test data `smelt run-ir` feeds them (i32 UNIFORM(v): integers in [0, v)). */
typedef enum IrInit {
  IR_INIT_ZEROS,
  IR_INIT_ONES,
  IR_INIT_FILL,    /* every element = value */
  IR_INIT_UNIFORM, /* uniform in [-value, value); i32: integers in [0, value) */
  IR_INIT_NORMAL,  /* normal with mean 0, std value */
  IR_INIT_DATA,    /* explicit elements in `data` (consts only) */
  IR_INIT_COUNT
} IrInit;

/* One named attribute: a short list of integers (a single int is a list of one). */
typedef struct IrAttr {
  int n;
  int64_t v[IR_ATTR_MAX_INTS];
} IrAttr;

typedef struct IrNode {
  IrNodeKind kind;
  IrOp op; /* kind == IR_NODE_OP only */
  IrType type;
  int n_in;
  IrId *in;                  /* (n_in) operands, all defined earlier */
  IrAttr attr[IR_MAX_ATTRS]; /* meaning per op: ir_op_info[op].attrs[i] names attr[i] */
  const char *name;          /* NULL: printed as %<id> */
  IrInit init;               /* param/state/const */
  double value;              /* FILL value, UNIFORM bound, NORMAL std */
  double *data;              /* IR_INIT_DATA: numel elements */
  int line, col;             /* where it was parsed from; 0 when built in code */
} IrNode;

/* `target` (a param or state node) takes the value of `value` after the graph has run. */
typedef struct IrUpdate {
  IrId target, value;
} IrUpdate;

typedef struct IrGraph {
  RtArena arena; /* nodes, operand lists, names, const data */
  const char *name;
  IrNode **nodes; /* (n_nodes) */
  int n_nodes, cap_nodes;
  IrId *outputs; /* (n_outputs); by convention outputs[0] is the loss of a training program */
  int n_outputs, cap_outputs;
  IrUpdate *updates; /* (n_updates) */
  int n_updates, cap_updates;
  char error[512]; /* first builder error (bad shapes...), "" when none */
} IrGraph;

/* ---- shapes and types (ir_type.c) ---- */
int64_t ir_shape_numel(const IrShape *s);
bool ir_shape_eq(const IrShape *a, const IrShape *b);
bool ir_type_eq(const IrType *a, const IrType *b);
/* numpy broadcasting of a and b into *out; false if incompatible */
bool ir_shape_broadcast(const IrShape *a, const IrShape *b, IrShape *out);
/* row-major strides in elements */
void ir_shape_strides(const IrShape *s, int64_t *strides);
/* do `strides` walk s's elements in row-major order without gaps (size-1 dims ignored)? */
bool ir_shape_strides_contiguous(const IrShape *s, const int64_t *strides);
/* strides for reading `in` while iterating over the (broadcast) shape `out`: one per dim of
 * out, 0 where `in` is broadcast (missing leading dim or size 1) */
void ir_shape_broadcast_strides(const IrShape *in, const IrShape *out, int64_t *strides);
const char *ir_dtype_name(IrDType t);
/* bytes an element of dtype t takes in memory */
int ir_dtype_size(IrDType t);
/* v rounded to the nearest f32 (ties to even), subnormals included, whatever the thread's
 * floating-point mode: smelt runs with flush-to-zero (runtime/rt_fpenv.h), under which
 * (float)v gives 0 for a subnormal result, but the interpreter and constant folding define
 * IEEE results. */
double ir_f32_round(double v);
/* True when v lies in the f32 subnormal range, 0 < |v| < 2^-126 (FLT_MIN, 1.18e-38). */
bool ir_f32_is_subnormal(double v);
/* "f32[2,3]" into buf; returns buf */
char *ir_type_str(const IrType *t, char *buf, size_t size);
const char *ir_node_kind_name(IrNodeKind k);
const char *ir_init_name(IrInit init);

/* ---- graphs (ir_graph.c) ---- */
IrGraph *ir_graph_new(const char *name);
void ir_graph_free(IrGraph *g);
IrNode *ir_node(const IrGraph *g, IrId id); /* asserts id is valid */
const IrType *ir_type_of(const IrGraph *g, IrId id);
/* Appends a node of any kind with no inputs (input/param/state/const); returns its id. */
IrId ir_graph_add_leaf(IrGraph *g, IrNodeKind kind, const char *name, IrType type);
bool ir_name_is_valid(const char *name);
/* Appends an op node and infers its type with the op's shape rule. On a bad combination of
 * operands or attributes it records the problem in g->error (first one wins) and returns
 * IR_NONE; any IR_NONE operand also yields IR_NONE, so builder chains need one check at the end. */
IrId ir_graph_add_op(IrGraph *g, IrOp op, int n_in, const IrId *in, const IrAttr *attrs);
/* Appends a copy of *proto as is (kind, op, type, operands, attrs, name, init, data, position),
 * without running any shape rule: for the text parser, whose output the verifier then checks.
 * Operand list, name and data are copied into the graph's arena. */
IrId ir_graph_add_raw(IrGraph *g, const IrNode *proto);
void ir_graph_add_output(IrGraph *g, IrId id);
void ir_graph_add_update(IrGraph *g, IrId target, IrId value);
void ir_graph_set_name(IrGraph *g, IrId id, const char *name);
IrId ir_graph_find(const IrGraph *g, const char *name); /* by node name; IR_NONE if absent */
/* Printable name of a node, its name or its number ("%w1", "%17"), written into buf.
 * Names start with a letter or '_' and hold letters, digits, '_' and '.'; unique per graph. */
const char *ir_node_label(const IrGraph *g, IrId id, char *buf, size_t size);

#endif
