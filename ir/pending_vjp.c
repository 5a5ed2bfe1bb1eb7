/* TEMPORARY scaffolding while VJP rules are written: weak definitions that abort.
 * Delete this file once every ir_vjp_* exists (vjp_*.c). */
#include "ir/ir_impl.h"
#include "runtime/rt_assert.h"

__attribute__((weak)) void ir_vjp_none(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_none not written yet"); }
__attribute__((weak)) void ir_vjp_neg(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_neg not written yet"); }
__attribute__((weak)) void ir_vjp_exp(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_exp not written yet"); }
__attribute__((weak)) void ir_vjp_log(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_log not written yet"); }
__attribute__((weak)) void ir_vjp_sqrt(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_sqrt not written yet"); }
__attribute__((weak)) void ir_vjp_rsqrt(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_rsqrt not written yet"); }
__attribute__((weak)) void ir_vjp_tanh(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_tanh not written yet"); }
__attribute__((weak)) void ir_vjp_sigmoid(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_sigmoid not written yet"); }
__attribute__((weak)) void ir_vjp_relu(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_relu not written yet"); }
__attribute__((weak)) void ir_vjp_abs(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_abs not written yet"); }
__attribute__((weak)) void ir_vjp_square(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_square not written yet"); }
__attribute__((weak)) void ir_vjp_add(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_add not written yet"); }
__attribute__((weak)) void ir_vjp_sub(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_sub not written yet"); }
__attribute__((weak)) void ir_vjp_mul(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_mul not written yet"); }
__attribute__((weak)) void ir_vjp_div(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_div not written yet"); }
__attribute__((weak)) void ir_vjp_max(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_max not written yet"); }
__attribute__((weak)) void ir_vjp_min(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_min not written yet"); }
__attribute__((weak)) void ir_vjp_pow(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_pow not written yet"); }
__attribute__((weak)) void ir_vjp_select(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_select not written yet"); }
__attribute__((weak)) void ir_vjp_reduce_sum(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_reduce_sum not written yet"); }
__attribute__((weak)) void ir_vjp_reduce_mean(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_reduce_mean not written yet"); }
__attribute__((weak)) void ir_vjp_reduce_max(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_reduce_max not written yet"); }
__attribute__((weak)) void ir_vjp_matmul(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_matmul not written yet"); }
__attribute__((weak)) void ir_vjp_conv2d(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_conv2d not written yet"); }
__attribute__((weak)) void ir_vjp_maxpool2d(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_maxpool2d not written yet"); }
__attribute__((weak)) void ir_vjp_avgpool2d(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_avgpool2d not written yet"); }
__attribute__((weak)) void ir_vjp_reshape(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_reshape not written yet"); }
__attribute__((weak)) void ir_vjp_transpose(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_transpose not written yet"); }
__attribute__((weak)) void ir_vjp_slice(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_slice not written yet"); }
__attribute__((weak)) void ir_vjp_concat(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_concat not written yet"); }
__attribute__((weak)) void ir_vjp_pad(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_pad not written yet"); }
__attribute__((weak)) void ir_vjp_broadcast(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_broadcast not written yet"); }
__attribute__((weak)) void ir_vjp_gather(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_gather not written yet"); }
__attribute__((weak)) void ir_vjp_scatter_add(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_scatter_add not written yet"); }
__attribute__((weak)) void ir_vjp_ctc_loss(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) { RT_ASSERT(0, "ir_vjp_ctc_loss not written yet"); }
