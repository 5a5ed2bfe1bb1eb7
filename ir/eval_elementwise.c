/* Reference implementations of the elementwise ops: unary math, dtype casts, binary arithmetic,
 * comparisons and select. Binary ops, comparisons and select broadcast numpy-style (every
 * operand is read through broadcast strides while walking the output). Math is done in double;
 * IEEE special values follow C's <math.h> (log(0) = -inf, sqrt(-1) = nan, 1/0 = inf). */
#include <math.h>
#include <stdint.h>

#include "ir/eval_iter.h"

/* ---- unary ---- */

typedef double (*UnaryFn)(double);

static void eval_unary(const IrTensor *x, IrTensor *out, UnaryFn f) {
  int64_t n = eval_numel(out);
  for (int64_t i = 0; i < n; i++) out->data[i] = f(x->data[i]);
}

static double f_neg(double x) { return -x; }
static double f_rsqrt(double x) { return 1.0 / sqrt(x); }
/* 1 / (1 + e^-x), written so that exp never overflows */
static double f_sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + exp(-x));
  double e = exp(x);
  return e / (1.0 + e);
}
/* GELU in its tanh form (Hendrycks & Gimpel 2016, eq. 3; GPT-2, PyTorch's approximate="tanh"):
 * x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2 */
static double f_gelu(double x) { return 0.5 * x * (1.0 + tanh(IR_GELU_K * x * (1.0 + IR_GELU_C * x * x))); }
/* relu(nan) = 0 here; its VJP (mask x > 0) agrees */
static double f_relu(double x) { return x > 0 ? x : 0.0; }
static double f_square(double x) { return x * x; }
static double f_to_f32(double x) { return x; }
/* Truncation toward zero. C's (int32_t) cast is undefined out of range, so define it:
 * saturate to the i32 range and map nan to 0 (LLVM's llvm.fptosi.sat has these semantics). */
static double f_to_i32(double x) {
  if (isnan(x)) return 0.0;
  if (x >= 2147483647.0) return 2147483647.0;
  if (x <= -2147483648.0) return -2147483648.0;
  return trunc(x);
}

#define UNARY(name, fn)                                                            \
  void ir_eval_##name(const IrNode *n, const IrTensor *const *in, IrTensor *out) { \
    eval_unary(in[0], out, fn);                                                    \
  }

UNARY(neg, f_neg)
UNARY(exp, exp)
UNARY(log, log)
UNARY(sqrt, sqrt)
UNARY(rsqrt, f_rsqrt)
UNARY(tanh, tanh)
UNARY(sigmoid, f_sigmoid)
UNARY(gelu, f_gelu)
UNARY(relu, f_relu)
UNARY(abs, fabs)
UNARY(square, f_square)
UNARY(to_f32, f_to_f32)
UNARY(to_i32, f_to_i32)

/* one process: the identity (f_to_f32's) */
void ir_eval_all_sum(const IrNode *n, const IrTensor *const *in, IrTensor *out) { eval_unary(in[0], out, f_to_f32); }

/* ---- binary and comparisons ---- */

typedef double (*BinaryFn)(double, double);

static void eval_binary(const IrTensor *a, const IrTensor *b, IrTensor *out, BinaryFn f) {
  EvalIter it;
  eval_iter_init(&it, &out->type.shape);
  int ia = eval_iter_broadcast(&it, &a->type.shape), ib = eval_iter_broadcast(&it, &b->type.shape);
  int64_t n = eval_numel(out);
  for (int64_t i = 0; i < n; i++, eval_iter_next(&it))
    out->data[i] = f(a->data[it.off[ia]], b->data[it.off[ib]]);
}

static double f_add(double a, double b) { return a + b; }
static double f_sub(double a, double b) { return a - b; }
static double f_mul(double a, double b) { return a * b; }
static double f_div(double a, double b) { return a / b; }
/* max/min propagate nan (numpy's maximum/minimum), unlike C's fmax/fmin */
static double f_max(double a, double b) { return isnan(a) || isnan(b) ? NAN : a >= b ? a : b; }
static double f_min(double a, double b) { return isnan(a) || isnan(b) ? NAN : a <= b ? a : b; }
static double f_eq(double a, double b) { return a == b; }
static double f_ne(double a, double b) { return a != b; }
static double f_lt(double a, double b) { return a < b; }
static double f_le(double a, double b) { return a <= b; }
static double f_gt(double a, double b) { return a > b; }
static double f_ge(double a, double b) { return a >= b; }

#define BINARY(name, fn)                                                           \
  void ir_eval_##name(const IrNode *n, const IrTensor *const *in, IrTensor *out) { \
    eval_binary(in[0], in[1], out, fn);                                            \
  }

/* x / scale as f32 division gives it (the double quotient of two f32 values, rounded once to
 * f32, is the correctly rounded f32 quotient), rounded half to even, clamped to -127..127; nan 0 */
static double f_quantize(double x, double scale) {
  double q = nearbyint(ir_f32_round(x / scale));
  if (isnan(q)) return 0.0;
  return q > 127 ? 127.0 : q < -127 ? -127.0 : q;
}

BINARY(quantize, f_quantize)
BINARY(add, f_add)
BINARY(sub, f_sub)
BINARY(mul, f_mul)
BINARY(div, f_div)
BINARY(max, f_max)
BINARY(min, f_min)
BINARY(pow, pow)
BINARY(eq, f_eq)
BINARY(ne, f_ne)
BINARY(lt, f_lt)
BINARY(le, f_le)
BINARY(gt, f_gt)
BINARY(ge, f_ge)

/* ---- select ---- */

/* select(c, a, b) = c != 0 ? a : b (a nan condition counts as true, like any nonzero value) */
void ir_eval_select(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  EvalIter it;
  eval_iter_init(&it, &out->type.shape);
  int ic = eval_iter_broadcast(&it, &in[0]->type.shape);
  int ia = eval_iter_broadcast(&it, &in[1]->type.shape);
  int ib = eval_iter_broadcast(&it, &in[2]->type.shape);
  int64_t count = eval_numel(out);
  for (int64_t i = 0; i < count; i++, eval_iter_next(&it))
    out->data[i] = in[0]->data[it.off[ic]] != 0 ? in[1]->data[it.off[ia]] : in[2]->data[it.off[ib]];
}
