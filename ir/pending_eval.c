/* TEMPORARY scaffolding while the interpreter is written: weak definitions that abort.
 * Delete this file once every ir_eval_* exists (eval_*.c). */
#include "ir/ir_impl.h"
#include "runtime/rt_assert.h"

__attribute__((weak)) void ir_eval_neg(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_neg not written yet"); }
__attribute__((weak)) void ir_eval_exp(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_exp not written yet"); }
__attribute__((weak)) void ir_eval_log(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_log not written yet"); }
__attribute__((weak)) void ir_eval_sqrt(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_sqrt not written yet"); }
__attribute__((weak)) void ir_eval_rsqrt(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_rsqrt not written yet"); }
__attribute__((weak)) void ir_eval_tanh(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_tanh not written yet"); }
__attribute__((weak)) void ir_eval_sigmoid(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_sigmoid not written yet"); }
__attribute__((weak)) void ir_eval_relu(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_relu not written yet"); }
__attribute__((weak)) void ir_eval_abs(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_abs not written yet"); }
__attribute__((weak)) void ir_eval_square(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_square not written yet"); }
__attribute__((weak)) void ir_eval_to_f32(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_to_f32 not written yet"); }
__attribute__((weak)) void ir_eval_to_i32(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_to_i32 not written yet"); }
__attribute__((weak)) void ir_eval_add(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_add not written yet"); }
__attribute__((weak)) void ir_eval_sub(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_sub not written yet"); }
__attribute__((weak)) void ir_eval_mul(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_mul not written yet"); }
__attribute__((weak)) void ir_eval_div(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_div not written yet"); }
__attribute__((weak)) void ir_eval_max(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_max not written yet"); }
__attribute__((weak)) void ir_eval_min(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_min not written yet"); }
__attribute__((weak)) void ir_eval_pow(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_pow not written yet"); }
__attribute__((weak)) void ir_eval_eq(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_eq not written yet"); }
__attribute__((weak)) void ir_eval_ne(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_ne not written yet"); }
__attribute__((weak)) void ir_eval_lt(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_lt not written yet"); }
__attribute__((weak)) void ir_eval_le(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_le not written yet"); }
__attribute__((weak)) void ir_eval_gt(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_gt not written yet"); }
__attribute__((weak)) void ir_eval_ge(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_ge not written yet"); }
__attribute__((weak)) void ir_eval_select(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_select not written yet"); }
__attribute__((weak)) void ir_eval_reduce_sum(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_reduce_sum not written yet"); }
__attribute__((weak)) void ir_eval_reduce_mean(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_reduce_mean not written yet"); }
__attribute__((weak)) void ir_eval_reduce_max(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_reduce_max not written yet"); }
__attribute__((weak)) void ir_eval_matmul(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_matmul not written yet"); }
__attribute__((weak)) void ir_eval_conv2d(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_conv2d not written yet"); }
__attribute__((weak)) void ir_eval_conv2d_grad_input(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_conv2d_grad_input not written yet"); }
__attribute__((weak)) void ir_eval_conv2d_grad_filter(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_conv2d_grad_filter not written yet"); }
__attribute__((weak)) void ir_eval_maxpool2d(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_maxpool2d not written yet"); }
__attribute__((weak)) void ir_eval_maxpool2d_grad(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_maxpool2d_grad not written yet"); }
__attribute__((weak)) void ir_eval_avgpool2d(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_avgpool2d not written yet"); }
__attribute__((weak)) void ir_eval_avgpool2d_grad(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_avgpool2d_grad not written yet"); }
__attribute__((weak)) void ir_eval_reshape(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_reshape not written yet"); }
__attribute__((weak)) void ir_eval_transpose(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_transpose not written yet"); }
__attribute__((weak)) void ir_eval_slice(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_slice not written yet"); }
__attribute__((weak)) void ir_eval_concat(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_concat not written yet"); }
__attribute__((weak)) void ir_eval_pad(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_pad not written yet"); }
__attribute__((weak)) void ir_eval_broadcast(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_broadcast not written yet"); }
__attribute__((weak)) void ir_eval_gather(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_gather not written yet"); }
__attribute__((weak)) void ir_eval_scatter_add(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_scatter_add not written yet"); }
__attribute__((weak)) void ir_eval_one_hot(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_one_hot not written yet"); }
__attribute__((weak)) void ir_eval_argmax(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_argmax not written yet"); }
__attribute__((weak)) void ir_eval_rng_uniform(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_rng_uniform not written yet"); }
__attribute__((weak)) void ir_eval_ctc_loss(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_ctc_loss not written yet"); }
__attribute__((weak)) void ir_eval_ctc_loss_grad(const IrNode *n, const IrTensor *const *in, IrTensor *out) { RT_ASSERT(0, "ir_eval_ctc_loss_grad not written yet"); }
