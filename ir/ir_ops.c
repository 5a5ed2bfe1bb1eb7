/* The op table (see ir_ops.h). Rows are designated by IrOp so they cannot drift from the enum;
 * test_interp checks that every row is filled in and that kinds and flags agree; codegen has
 * its own row per op (codegen/cg_ops.c). Shape rules live in shape_*.c,
 * reference implementations in eval_*.c, VJP rules in vjp_*.c, work counts in cost_linalg.c. */
#include "ir/ir_ops.h"

#include <string.h>

#include "ir/ir_impl.h"

_Static_assert(IR_OP_COUNT == 56, "a new op needs a row in ir_op_info below");

#define NO_ATTRS {{0}}
#define PW IR_OPF_POINTWISE
#define COMM (IR_OPF_POINTWISE | IR_OPF_COMMUTATIVE)
#define OWN IR_OPF_OWN_KERNEL
#define VIEW IR_OPF_VIEW
#define UNARY(e, nm, fn) [e] = {nm, 1, IR_FUSE_ELEMENTWISE, PW, NO_ATTRS, ir_infer_unary, ir_eval_##fn, ir_vjp_##fn}
#define BINARY(e, nm, fn, fl) [e] = {nm, 2, IR_FUSE_ELEMENTWISE, fl, NO_ATTRS, ir_infer_binary, ir_eval_##fn, ir_vjp_##fn}
#define COMPARE(e, nm, fn, fl) [e] = {nm, 2, IR_FUSE_ELEMENTWISE, fl, NO_ATTRS, ir_infer_compare, ir_eval_##fn, ir_vjp_none}
#define REDUCE(e, nm, fn) [e] = {nm, 1, IR_FUSE_REDUCTION, 0, {{"axes", -1}, {"keepdims", 1}}, ir_infer_reduce, ir_eval_##fn, ir_vjp_##fn}
#define CONV_ATTRS {"stride", 2}, {"pad", 4}, {"dilation", 2}
#define POOL_ATTRS {"window", 2}, {"stride", 2}, {"pad", 4}

const IrOpInfo ir_op_info[IR_OP_COUNT] = {
    UNARY(IR_OP_NEG, "neg", neg),
    UNARY(IR_OP_EXP, "exp", exp),
    UNARY(IR_OP_LOG, "log", log),
    UNARY(IR_OP_SQRT, "sqrt", sqrt),
    UNARY(IR_OP_RSQRT, "rsqrt", rsqrt),
    UNARY(IR_OP_TANH, "tanh", tanh),
    UNARY(IR_OP_SIGMOID, "sigmoid", sigmoid),
    UNARY(IR_OP_GELU, "gelu", gelu),
    UNARY(IR_OP_RELU, "relu", relu),
    UNARY(IR_OP_ABS, "abs", abs),
    UNARY(IR_OP_SQUARE, "square", square),
    [IR_OP_TO_F32] = {"to_f32", 1, IR_FUSE_ELEMENTWISE, PW, NO_ATTRS, ir_infer_to_f32, ir_eval_to_f32, ir_vjp_none},
    [IR_OP_TO_I32] = {"to_i32", 1, IR_FUSE_ELEMENTWISE, PW, NO_ATTRS, ir_infer_to_i32, ir_eval_to_i32, ir_vjp_none},
    [IR_OP_QUANTIZE] = {"quantize", 2, IR_FUSE_ELEMENTWISE, PW, NO_ATTRS, ir_infer_quantize, ir_eval_quantize, ir_vjp_none},
    BINARY(IR_OP_ADD, "add", add, COMM),
    BINARY(IR_OP_SUB, "sub", sub, PW),
    BINARY(IR_OP_MUL, "mul", mul, COMM),
    BINARY(IR_OP_DIV, "div", div, PW),
    BINARY(IR_OP_MAX, "max", max, PW),
    BINARY(IR_OP_MIN, "min", min, PW),
    BINARY(IR_OP_POW, "pow", pow, PW),
    COMPARE(IR_OP_EQ, "eq", eq, COMM),
    COMPARE(IR_OP_NE, "ne", ne, COMM),
    COMPARE(IR_OP_LT, "lt", lt, PW),
    COMPARE(IR_OP_LE, "le", le, PW),
    COMPARE(IR_OP_GT, "gt", gt, PW),
    COMPARE(IR_OP_GE, "ge", ge, PW),
    [IR_OP_SELECT] = {"select", 3, IR_FUSE_ELEMENTWISE, PW, NO_ATTRS, ir_infer_select, ir_eval_select, ir_vjp_select},
    REDUCE(IR_OP_REDUCE_SUM, "reduce_sum", reduce_sum),
    REDUCE(IR_OP_REDUCE_MEAN, "reduce_mean", reduce_mean),
    REDUCE(IR_OP_REDUCE_MAX, "reduce_max", reduce_max),
    [IR_OP_MATMUL] = {"matmul", 2, IR_FUSE_GEMM, 0, {{"trans_a", 1}, {"trans_b", 1}},
                      ir_infer_matmul, ir_eval_matmul, ir_vjp_matmul, NULL, ir_macs_matmul},
    [IR_OP_CONV2D] = {"conv2d", 2, IR_FUSE_GEMM, 0, {CONV_ATTRS},
                      ir_infer_conv2d, ir_eval_conv2d, ir_vjp_conv2d, NULL, ir_macs_conv2d},
    [IR_OP_CONV2D_GRAD_INPUT] = {"conv2d_grad_input", 2, IR_FUSE_GEMM, 0, {CONV_ATTRS, {"input_hw", 2}},
                                 ir_infer_conv2d_grad_input, ir_eval_conv2d_grad_input, NULL, NULL,
                                 ir_macs_conv2d_grad_input},
    [IR_OP_CONV2D_GRAD_FILTER] = {"conv2d_grad_filter", 2, IR_FUSE_GEMM, 0, {CONV_ATTRS, {"kernel_hw", 2}},
                                  ir_infer_conv2d_grad_filter, ir_eval_conv2d_grad_filter, NULL, NULL,
                                  ir_macs_conv2d_grad_filter},
    [IR_OP_MAXPOOL2D] = {"maxpool2d", 1, IR_FUSE_OPAQUE, OWN, {POOL_ATTRS},
                         ir_infer_pool2d, ir_eval_maxpool2d, ir_vjp_maxpool2d},
    [IR_OP_MAXPOOL2D_GRAD] = {"maxpool2d_grad", 2, IR_FUSE_OPAQUE, OWN, {POOL_ATTRS},
                              ir_infer_maxpool2d_grad, ir_eval_maxpool2d_grad, NULL},
    [IR_OP_AVGPOOL2D] = {"avgpool2d", 1, IR_FUSE_OPAQUE, OWN, {POOL_ATTRS},
                         ir_infer_pool2d, ir_eval_avgpool2d, ir_vjp_avgpool2d},
    [IR_OP_AVGPOOL2D_GRAD] = {"avgpool2d_grad", 1, IR_FUSE_OPAQUE, OWN, {POOL_ATTRS, {"input_hw", 2}},
                              ir_infer_avgpool2d_grad, ir_eval_avgpool2d_grad, NULL},
    [IR_OP_RESHAPE] = {"reshape", 1, IR_FUSE_LAYOUT, VIEW, {{"shape", -1}},
                       ir_infer_reshape, ir_eval_reshape, ir_vjp_reshape, ir_view_reshape},
    [IR_OP_TRANSPOSE] = {"transpose", 1, IR_FUSE_LAYOUT, VIEW, {{"perm", -1}},
                         ir_infer_transpose, ir_eval_transpose, ir_vjp_transpose, ir_view_transpose},
    [IR_OP_SLICE] = {"slice", 1, IR_FUSE_LAYOUT, VIEW, {{"start", -1}, {"end", -1}, {"step", -1}},
                     ir_infer_slice, ir_eval_slice, ir_vjp_slice, ir_view_slice},
    [IR_OP_CONCAT] = {"concat", -1, IR_FUSE_LAYOUT, OWN, {{"axis", 1}},
                      ir_infer_concat, ir_eval_concat, ir_vjp_concat},
    [IR_OP_PAD] = {"pad", 1, IR_FUSE_LAYOUT, OWN, {{"before", -1}, {"after", -1}},
                   ir_infer_pad, ir_eval_pad, ir_vjp_pad},
    [IR_OP_BROADCAST] = {"broadcast", 1, IR_FUSE_LAYOUT, VIEW, {{"shape", -1}},
                         ir_infer_broadcast, ir_eval_broadcast, ir_vjp_broadcast, ir_view_broadcast},
    [IR_OP_GATHER] = {"gather", 2, IR_FUSE_OPAQUE, OWN, NO_ATTRS, ir_infer_gather, ir_eval_gather, ir_vjp_gather},
    [IR_OP_SCATTER_ADD] = {"scatter_add", 2, IR_FUSE_OPAQUE, OWN, {{"rows", 1}},
                           ir_infer_scatter_add, ir_eval_scatter_add, ir_vjp_scatter_add},
    [IR_OP_ONE_HOT] = {"one_hot", 1, IR_FUSE_ELEMENTWISE, 0, {{"depth", 1}},
                       ir_infer_one_hot, ir_eval_one_hot, ir_vjp_none},
    [IR_OP_ARGMAX] = {"argmax", 1, IR_FUSE_OPAQUE, OWN, {{"axis", 1}},
                      ir_infer_argmax, ir_eval_argmax, ir_vjp_none},
    [IR_OP_RNG_UNIFORM] = {"rng_uniform", 1, IR_FUSE_ELEMENTWISE, IR_OPF_RANDOM, {{"stream", 1}, {"shape", -1}},
                           ir_infer_rng_uniform, ir_eval_rng_uniform, ir_vjp_none},
    [IR_OP_CTC_LOSS] = {"ctc_loss", 3, IR_FUSE_OPAQUE, OWN, {{"blank", 1}},
                        ir_infer_ctc_loss, ir_eval_ctc_loss, ir_vjp_ctc_loss},
    [IR_OP_CTC_LOSS_GRAD] = {"ctc_loss_grad", 4, IR_FUSE_OPAQUE, OWN, {{"blank", 1}},
                             ir_infer_ctc_loss_grad, ir_eval_ctc_loss_grad, NULL},
    [IR_OP_LSTM_SCAN] = {"lstm_scan", -1, IR_FUSE_OPAQUE, OWN, {{"save", 1}},
                         ir_infer_lstm_scan, ir_eval_lstm_scan, ir_vjp_lstm_scan, NULL, ir_macs_lstm_scan},
    [IR_OP_LSTM_SCAN_GRAD] = {"lstm_scan_grad", -1, IR_FUSE_OPAQUE, OWN, NO_ATTRS,
                              ir_infer_lstm_scan_grad, ir_eval_lstm_scan_grad, NULL, NULL,
                              ir_macs_lstm_scan_grad},
    [IR_OP_LSTM_SCAN_I8] = {"lstm_scan_i8", -1, IR_FUSE_OPAQUE, OWN, NO_ATTRS,
                            ir_infer_lstm_scan_i8, ir_eval_lstm_scan_i8, NULL, NULL, ir_macs_lstm_scan},
    [IR_OP_ALL_SUM] = {"all_sum", 1, IR_FUSE_OPAQUE, OWN, NO_ATTRS, ir_infer_unary, ir_eval_all_sum, ir_vjp_all_sum},
};

IrOp ir_op_by_name(const char *name) {
  for (int op = 0; op < IR_OP_COUNT; op++)
    if (strcmp(ir_op_info[op].name, name) == 0) return (IrOp)op;
  return IR_OP_COUNT;
}

const char *ir_fusion_class_name(IrFusionClass c) {
  static const char *const names[IR_FUSE_CLASS_COUNT] = {"elementwise", "reduction", "layout",
                                                         "gemm", "opaque"};
  return c < IR_FUSE_CLASS_COUNT ? names[c] : "?";
}

int ir_op_attr_index(IrOp op, const char *name) {
  for (int i = 0; i < IR_MAX_ATTRS && ir_op_info[op].attrs[i].name; i++)
    if (strcmp(ir_op_info[op].attrs[i].name, name) == 0) return i;
  return -1;
}
