/* Reference implementations of the reductions (reduce_sum, reduce_mean, reduce_max over a set
 * of axes, with or without keepdims) and argmax. A reduction walks its input once and adds each
 * element into the output slot it falls in: the output is read with stride 0 along the reduced
 * axes. Sums are accumulated in input order in double. */
#include <math.h>

#include "ir/eval_iter.h"

/* Attaches the output of a reduction to an iterator over the input: the output's strides in the
 * keepdims layout (same memory order with or without keepdims), zeroed on reduced axes.
 * Returns the number of input elements that fall into each output element. */
static int64_t reduce_attach(const IrNode *n, const IrShape *in, EvalIter *it, int *slot) {
  const IrAttr *axes = &n->attr[0];
  IrShape kept = *in;
  int64_t count = 1;
  for (int i = 0; i < axes->n; i++) {
    count *= in->dims[axes->v[i]];
    kept.dims[axes->v[i]] = 1;
  }
  int64_t s[IR_MAX_RANK];
  ir_shape_strides(&kept, s);
  for (int i = 0; i < axes->n; i++) s[axes->v[i]] = 0;
  eval_iter_init(it, in);
  *slot = eval_iter_add(it, s, 0);
  return count;
}

static int64_t reduce_sum_into(const IrNode *n, const IrTensor *x, IrTensor *out) {
  EvalIter it;
  int o;
  int64_t count = reduce_attach(n, &x->type.shape, &it, &o);
  int64_t total = eval_numel(x);
  for (int64_t i = 0; i < total; i++, eval_iter_next(&it)) out->data[it.off[o]] += x->data[i];
  return count;
}

void ir_eval_reduce_sum(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  reduce_sum_into(n, in[0], out);
}

void ir_eval_reduce_mean(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  int64_t count = reduce_sum_into(n, in[0], out);
  int64_t m = eval_numel(out);
  for (int64_t i = 0; i < m; i++) out->data[i] /= (double)count;
}

/* Maximum; a nan anywhere in the reduced set makes the result nan (numpy's max). */
void ir_eval_reduce_max(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  int64_t m = eval_numel(out);
  for (int64_t i = 0; i < m; i++) out->data[i] = -INFINITY;
  EvalIter it;
  int o;
  reduce_attach(n, &in[0]->type.shape, &it, &o);
  int64_t total = eval_numel(in[0]);
  for (int64_t i = 0; i < total; i++, eval_iter_next(&it)) {
    double v = in[0]->data[i], *r = &out->data[it.off[o]];
    if (v > *r || isnan(v)) *r = v;
  }
}

/* Index of the first maximum along `axis` (strictly greater replaces); nans are skipped unless
 * every element is nan, in which case the result is 0. */
void ir_eval_argmax(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  const IrShape *s = &in[0]->type.shape;
  int axis = (int)n->attr[0].v[0];
  int64_t outer = 1, len = s->dims[axis], inner = 1;
  for (int d = 0; d < axis; d++) outer *= s->dims[d];
  for (int d = axis + 1; d < s->rank; d++) inner *= s->dims[d];
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t j = 0; j < inner; j++) {
      const double *x = in[0]->data + o * len * inner + j;
      int64_t best = 0;
      for (int64_t k = 1; k < len; k++)
        if (x[k * inner] > x[best * inner] || (isnan(x[best * inner]) && !isnan(x[k * inner])))
          best = k;
      out->data[o * inner + j] = (double)best;
    }
  }
}
