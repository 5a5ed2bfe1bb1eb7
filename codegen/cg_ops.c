/* The emission table (cg_ops.h): codegen's row for every op, designated by its IrOp so rows
 * cannot drift from the enum; the count assert below fails the build when an op is added
 * without one, and test_codegen_ops checks every row against the op table's kernel kind. */
#include "codegen/cg_ops.h"

_Static_assert(IR_OP_COUNT == 56, "a new op needs a row in cg_op_emit below");

#define SCALAR(e, fn) [e] = {.kind = CG_EMIT_SCALAR, .scalar = cg_scalar_##fn}
#define REDUCE(e, ...) [e] = {.kind = CG_EMIT_REDUCE, .reduce = {__VA_ARGS__}}
#define VIEW(e) [e] = {.kind = CG_EMIT_VIEW}
#define OPAQUE(e, nm) [e] = {.kind = CG_EMIT_OPAQUE, .opaque = &cg_opaque_##nm}
#define GEMM(e, nm) [e] = {.kind = CG_EMIT_GEMM, .gemm = &cg_gemm_##nm}

const CgOpEmit cg_op_emit[IR_OP_COUNT] = {
    SCALAR(IR_OP_NEG, neg),
    SCALAR(IR_OP_EXP, exp),
    SCALAR(IR_OP_LOG, log),
    SCALAR(IR_OP_SQRT, sqrt),
    SCALAR(IR_OP_RSQRT, rsqrt),
    SCALAR(IR_OP_TANH, tanh),
    SCALAR(IR_OP_SIGMOID, sigmoid),
    SCALAR(IR_OP_GELU, gelu),
    SCALAR(IR_OP_RELU, relu),
    SCALAR(IR_OP_ABS, abs),
    SCALAR(IR_OP_SQUARE, square),
    SCALAR(IR_OP_TO_F32, to_f32),
    SCALAR(IR_OP_TO_I32, to_i32),
    SCALAR(IR_OP_QUANTIZE, quantize),
    SCALAR(IR_OP_ADD, add),
    SCALAR(IR_OP_SUB, sub),
    SCALAR(IR_OP_MUL, mul),
    SCALAR(IR_OP_DIV, div),
    SCALAR(IR_OP_MAX, max),
    SCALAR(IR_OP_MIN, min),
    SCALAR(IR_OP_POW, pow),
    SCALAR(IR_OP_EQ, eq),
    SCALAR(IR_OP_NE, ne),
    SCALAR(IR_OP_LT, lt),
    SCALAR(IR_OP_LE, le),
    SCALAR(IR_OP_GT, gt),
    SCALAR(IR_OP_GE, ge),
    SCALAR(IR_OP_SELECT, select),
    REDUCE(IR_OP_REDUCE_SUM, .init = 0.0),
    REDUCE(IR_OP_REDUCE_MEAN, .init = 0.0, .mean = true),
    REDUCE(IR_OP_REDUCE_MAX, .init = -__builtin_inf(), .max = true),
    GEMM(IR_OP_MATMUL, matmul),
    GEMM(IR_OP_CONV2D, conv2d),
    GEMM(IR_OP_CONV2D_GRAD_INPUT, conv2d_grad_input),
    GEMM(IR_OP_CONV2D_GRAD_FILTER, conv2d_grad_filter),
    OPAQUE(IR_OP_MAXPOOL2D, maxpool2d),
    OPAQUE(IR_OP_MAXPOOL2D_GRAD, maxpool2d_grad),
    OPAQUE(IR_OP_AVGPOOL2D, avgpool2d),
    OPAQUE(IR_OP_AVGPOOL2D_GRAD, avgpool2d_grad),
    VIEW(IR_OP_RESHAPE),
    VIEW(IR_OP_TRANSPOSE),
    VIEW(IR_OP_SLICE),
    OPAQUE(IR_OP_CONCAT, concat),
    OPAQUE(IR_OP_PAD, pad),
    VIEW(IR_OP_BROADCAST),
    OPAQUE(IR_OP_GATHER, gather),
    OPAQUE(IR_OP_SCATTER_ADD, scatter_add),
    [IR_OP_ONE_HOT] = {.kind = CG_EMIT_SCALAR, .scalar = cg_scalar_one_hot, .needs = CG_NEEDS_CLASS_DIM},
    OPAQUE(IR_OP_ARGMAX, argmax),
    [IR_OP_RNG_UNIFORM] = {.kind = CG_EMIT_SCALAR, .scalar = cg_scalar_rng_uniform,
                           .needs = CG_NEEDS_FLAT_INDEX | CG_NEEDS_ATTR0_KEY},
    OPAQUE(IR_OP_CTC_LOSS, ctc_loss),
    OPAQUE(IR_OP_CTC_LOSS_GRAD, ctc_loss_grad),
    OPAQUE(IR_OP_LSTM_SCAN, lstm_scan),
    OPAQUE(IR_OP_LSTM_SCAN_GRAD, lstm_scan_grad),
    OPAQUE(IR_OP_LSTM_SCAN_I8, lstm_scan_i8),
    OPAQUE(IR_OP_ALL_SUM, all_sum),
};
