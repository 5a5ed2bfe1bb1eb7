/* Internal to ir/: the functions the op table (ir_ops.c) points to. Shape rules are in
 * shape_*.c, reference implementations in eval_*.c, VJP rules in vjp_*.c, work rules in
 * cost_linalg.c. */
#ifndef SMELT_IR_IMPL_H
#define SMELT_IR_IMPL_H

#include "ir/ir_ops.h"

/* shape rules */
bool ir_infer_argmax(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_avgpool2d_grad(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_binary(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_broadcast(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_compare(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_concat(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_conv2d(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_conv2d_grad_filter(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_conv2d_grad_input(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_ctc_loss(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_ctc_loss_grad(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_gather(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_lstm_scan(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_lstm_scan_i8(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_lstm_scan_grad(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_matmul(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_maxpool2d_grad(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_one_hot(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_pad(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_pool2d(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_reduce(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_reshape(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_rng_uniform(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_scatter_add(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_select(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_slice(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_to_f32(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_quantize(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_to_i32(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_transpose(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);
bool ir_infer_unary(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen);

/* reference implementations */
void ir_eval_neg(const IrNode *n, const IrTensor *const *in, IrTensor *out);
/* all_sum in the interpreter's single process: the identity */
void ir_eval_all_sum(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_exp(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_log(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_sqrt(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_rsqrt(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_tanh(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_sigmoid(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_gelu(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_relu(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_abs(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_square(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_to_f32(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_quantize(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_to_i32(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_add(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_sub(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_mul(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_div(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_max(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_min(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_pow(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_eq(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_ne(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_lt(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_le(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_gt(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_ge(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_select(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_reduce_sum(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_reduce_mean(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_reduce_max(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_matmul(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_conv2d(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_conv2d_grad_input(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_conv2d_grad_filter(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_maxpool2d(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_maxpool2d_grad(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_avgpool2d(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_avgpool2d_grad(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_reshape(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_transpose(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_slice(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_concat(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_pad(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_broadcast(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_gather(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_scatter_add(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_one_hot(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_argmax(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_rng_uniform(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_ctc_loss(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_ctc_loss_grad(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_lstm_scan(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_lstm_scan_i8(const IrNode *n, const IrTensor *const *in, IrTensor *out);
void ir_eval_lstm_scan_grad(const IrNode *n, const IrTensor *const *in, IrTensor *out);

/* VJP rules; ir_vjp_none is for ops whose output is piecewise constant (zero gradient) */
void ir_vjp_none(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_neg(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_all_sum(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_exp(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_log(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_sqrt(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_rsqrt(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_tanh(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_sigmoid(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_gelu(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_relu(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_abs(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_square(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_add(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_sub(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_mul(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_div(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_max(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_min(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_pow(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_select(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_reduce_sum(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_reduce_mean(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_reduce_max(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_matmul(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_conv2d(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_maxpool2d(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_avgpool2d(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_reshape(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_transpose(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_slice(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_concat(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_pad(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_broadcast(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_gather(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_scatter_add(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_ctc_loss(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);
void ir_vjp_lstm_scan(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in);

/* view rules (view_layout.c) */
bool ir_view_reshape(const IrGraph *g, const IrNode *n, const int64_t *in_strides, int64_t *offset, int64_t *out_strides);
bool ir_view_transpose(const IrGraph *g, const IrNode *n, const int64_t *in_strides, int64_t *offset, int64_t *out_strides);
bool ir_view_slice(const IrGraph *g, const IrNode *n, const int64_t *in_strides, int64_t *offset, int64_t *out_strides);
bool ir_view_broadcast(const IrGraph *g, const IrNode *n, const int64_t *in_strides, int64_t *offset, int64_t *out_strides);

/* work rules of the GEMM-class ops and of the opaque ops that multiply matrices (cost_linalg.c) */
double ir_macs_matmul(const IrGraph *g, const IrNode *n);
double ir_macs_conv2d(const IrGraph *g, const IrNode *n);
double ir_macs_conv2d_grad_input(const IrGraph *g, const IrNode *n);
double ir_macs_conv2d_grad_filter(const IrGraph *g, const IrNode *n);
double ir_macs_lstm_scan(const IrGraph *g, const IrNode *n);
double ir_macs_lstm_scan_grad(const IrGraph *g, const IrNode *n);

#endif
