/* VJP rules of the elementwise ops: unary math, binary arithmetic with numpy broadcasting, and
 * select. Derivatives reuse the op's own output where that is cheaper (exp' = y, tanh' = 1 - y^2,
 * sigmoid' = y (1 - y)), so the backward pass reads one tensor instead of recomputing. Gradients
 * of broadcast operands are summed back to the operand's shape with ir_sum_to_shape. Kinks
 * (relu, abs, max, min at ties) take the subgradient documented at each rule. */
#include "ir/ir_builder.h"
#include "ir/ir_impl.h"

static IrId operand(const IrGraph *g, IrId id, int i) { return ir_node(g, id)->in[i]; }

/* A gradient of the op's (broadcast) output shape reduced to operand i's shape. */
static IrId to_operand(IrGraph *g, IrId id, int i, IrId grad) {
  return ir_sum_to_shape(g, grad, ir_type_of(g, operand(g, id, i))->shape);
}

/* Ops whose output is piecewise constant (compare, casts, one_hot, argmax, rng): the gradient
 * is zero almost everywhere, so every grad_in stays IR_NONE (autodiff adds nothing). */
void ir_vjp_none(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {}

/* ---- unary ---- */

void ir_vjp_neg(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  grad_in[0] = ir_neg(g, gout);
}

/* y = sum over processes p of x_p, and every process's loss reads y: d L / d x_p is the sum
 * over processes of d L_q / d y, another all_sum */
void ir_vjp_all_sum(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  grad_in[0] = ir_all_sum(g, gout);
}

/* d exp(x) = exp(x) = y */
void ir_vjp_exp(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  grad_in[0] = ir_mul(g, gout, id);
}

/* d log(x) = 1 / x */
void ir_vjp_log(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  grad_in[0] = ir_div(g, gout, operand(g, id, 0));
}

/* d sqrt(x) = 1 / (2 sqrt(x)) = 1 / (2y) */
void ir_vjp_sqrt(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  grad_in[0] = ir_div(g, ir_mul_scalar(g, gout, 0.5), id);
}

/* d x^(-1/2) = -1/2 x^(-3/2) = -1/2 y^3 */
void ir_vjp_rsqrt(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  IrId y3 = ir_mul(g, ir_square(g, id), id);
  grad_in[0] = ir_mul(g, ir_mul_scalar(g, gout, -0.5), y3);
}

/* d tanh(x) = 1 - y^2 */
void ir_vjp_tanh(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  IrId dy = ir_sub(g, ir_scalar(g, 1.0), ir_square(g, id));
  grad_in[0] = ir_mul(g, gout, dy);
}

/* d sigmoid(x) = y (1 - y) */
void ir_vjp_sigmoid(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  IrId dy = ir_mul(g, id, ir_sub(g, ir_scalar(g, 1.0), id));
  grad_in[0] = ir_mul(g, gout, dy);
}

/* gelu(x) = x (1 + t) / 2 with t = tanh(u), u = k x (1 + c x^2):
 * d gelu = (1 + t) / 2 + x (1 - t^2) k (1 + 3 c x^2) / 2, recomputing t from x */
void ir_vjp_gelu(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  IrId x = operand(g, id, 0), x2 = ir_square(g, x), one = ir_scalar(g, 1.0);
  IrId t = ir_tanh(g, ir_mul_scalar(g, ir_mul(g, x, ir_add_scalar(g, ir_mul_scalar(g, x2, IR_GELU_C), 1.0)), IR_GELU_K));
  IrId du = ir_mul_scalar(g, ir_add_scalar(g, ir_mul_scalar(g, x2, 3.0 * IR_GELU_C), 1.0), IR_GELU_K);
  IrId slope = ir_mul(g, ir_mul_scalar(g, x, 0.5), ir_mul(g, ir_sub(g, one, ir_square(g, t)), du));
  IrId dy = ir_add(g, ir_mul_scalar(g, ir_add(g, one, t), 0.5), slope);
  grad_in[0] = ir_mul(g, gout, dy);
}

/* relu'(x) = [x > 0]; at x = 0 the subgradient 0 is taken (as PyTorch does). Read from the
 * output, [relu(x) > 0] (the same mask, NaN included), so that the input need not be kept for
 * the backward pass and relu can overwrite it in place. */
void ir_vjp_relu(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  IrId zero = ir_scalar(g, 0.0);
  grad_in[0] = ir_select(g, ir_gt(g, id, zero), gout, zero);
}

/* abs'(x) = sign(x) = [x > 0] - [x < 0], so 0 at x = 0 (as PyTorch does). */
void ir_vjp_abs(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  IrId x = operand(g, id, 0), zero = ir_scalar(g, 0.0);
  IrId sign = ir_sub(g, ir_gt(g, x, zero), ir_lt(g, x, zero));
  grad_in[0] = ir_mul(g, gout, sign);
}

/* d x^2 = 2x */
void ir_vjp_square(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  grad_in[0] = ir_mul(g, ir_mul_scalar(g, gout, 2.0), operand(g, id, 0));
}

/* ---- binary (numpy broadcasting) ---- */

void ir_vjp_add(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  if (need[0]) grad_in[0] = to_operand(g, id, 0, gout);
  if (need[1]) grad_in[1] = to_operand(g, id, 1, gout);
}

void ir_vjp_sub(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  if (need[0]) grad_in[0] = to_operand(g, id, 0, gout);
  if (need[1]) grad_in[1] = ir_neg(g, to_operand(g, id, 1, gout)); /* negate after reducing */
}

void ir_vjp_mul(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  IrId a = operand(g, id, 0), b = operand(g, id, 1);
  if (need[0]) grad_in[0] = to_operand(g, id, 0, ir_mul(g, gout, b));
  if (need[1]) grad_in[1] = to_operand(g, id, 1, ir_mul(g, gout, a));
}

/* y = a / b: da = g / b, db = -g a / b^2 = -g y / b */
void ir_vjp_div(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  IrId b = operand(g, id, 1);
  IrId gb = ir_div(g, gout, b); /* shared by both */
  if (need[0]) grad_in[0] = to_operand(g, id, 0, gb);
  if (need[1]) grad_in[1] = to_operand(g, id, 1, ir_neg(g, ir_mul(g, gb, id)));
}

/* The gradient goes to the selected operand; `first` is the mask (1.0 / 0.0) of the elements
 * where operand 0 is the result, ties included, so ties go to the first operand (the same
 * "first wins" convention as argmax, reduce_max and maxpool2d_grad). */
static void route_by_mask(IrGraph *g, IrId id, IrId gout, IrId first, const bool *need,
                          IrId *grad_in) {
  IrId zero = ir_scalar(g, 0.0);
  if (need[0]) grad_in[0] = to_operand(g, id, 0, ir_select(g, first, gout, zero));
  if (need[1]) grad_in[1] = to_operand(g, id, 1, ir_select(g, first, zero, gout));
}

void ir_vjp_max(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  IrId first = ir_ge(g, operand(g, id, 0), operand(g, id, 1));
  route_by_mask(g, id, gout, first, need, grad_in);
}

void ir_vjp_min(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  IrId first = ir_le(g, operand(g, id, 0), operand(g, id, 1));
  route_by_mask(g, id, gout, first, need, grad_in);
}

/* y = a^b: da = g b a^(b-1); db = g y log(a), defined for a > 0 only: where a <= 0 the
 * exponent gradient is taken as 0 (PyTorch gives 0 at a = 0 and NaN below) so that a negative
 * base with an integral exponent, which pow allows, cannot poison the backward pass. */
void ir_vjp_pow(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  IrId a = operand(g, id, 0), b = operand(g, id, 1);
  if (need[0]) {
    IrId da = ir_mul(g, b, ir_pow(g, a, ir_add_scalar(g, b, -1.0)));
    grad_in[0] = to_operand(g, id, 0, ir_mul(g, gout, da));
  }
  if (need[1]) {
    IrId zero = ir_scalar(g, 0.0);
    IrId db = ir_mul(g, ir_mul(g, gout, id), ir_log(g, a));
    grad_in[1] = to_operand(g, id, 1, ir_select(g, ir_gt(g, a, zero), db, zero));
  }
}

/* select(c, a, b): the condition is piecewise constant (no gradient); a gets g where c != 0,
 * b gets it elsewhere. */
void ir_vjp_select(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  IrId c = operand(g, id, 0), zero = ir_scalar(g, 0.0);
  if (need[1]) grad_in[1] = to_operand(g, id, 1, ir_select(g, c, gout, zero));
  if (need[2]) grad_in[2] = to_operand(g, id, 2, ir_select(g, c, zero, gout));
}
