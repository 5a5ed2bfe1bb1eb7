/* Internal to the reference interpreter (eval_*.c): one odometer over an N-d index space that
 * keeps a flat offset into each of several tensors, each with its own strides (0 where a tensor
 * is broadcast). Broadcasting, transposes, slices, pads and reductions are all this walk with
 * different strides, so no op carries its own index arithmetic:
 *
 *   EvalIter it;
 *   eval_iter_init(&it, &out->type.shape);
 *   int a = eval_iter_broadcast(&it, &in[0]->type.shape);
 *   for (int64_t i = 0; i < n; i++, eval_iter_next(&it)) out->data[i] = in[0]->data[it.off[a]];
 */
#ifndef SMELT_IR_EVAL_ITER_H
#define SMELT_IR_EVAL_ITER_H

#include "ir/ir_impl.h"
#include "support/rt_assert.h"

enum { EVAL_ITER_MAX_TENSORS = 4 };

typedef struct EvalIter {
  int rank, n_tensors;
  int64_t dims[IR_MAX_RANK], idx[IR_MAX_RANK];
  int64_t strides[EVAL_ITER_MAX_TENSORS][IR_MAX_RANK];
  int64_t off[EVAL_ITER_MAX_TENSORS]; /* flat offset of the current index in each tensor */
} EvalIter;

/* Walks `shape` in row-major order, starting at index 0, with no tensors attached yet. */
static inline void eval_iter_init(EvalIter *it, const IrShape *shape) {
  *it = (EvalIter){.rank = shape->rank};
  for (int d = 0; d < shape->rank; d++) it->dims[d] = shape->dims[d];
}

/* Attaches a tensor read or written at base + sum_d idx[d] * strides[d]; returns its slot. */
static inline int eval_iter_add(EvalIter *it, const int64_t *strides, int64_t base) {
  RT_ASSERT(it->n_tensors < EVAL_ITER_MAX_TENSORS, "too many tensors on one iterator");
  int k = it->n_tensors++;
  for (int d = 0; d < it->rank; d++) it->strides[k][d] = strides[d];
  it->off[k] = base;
  return k;
}

/* Attaches a tensor of shape `in` that numpy-broadcasts to the walked shape. */
static inline int eval_iter_broadcast(EvalIter *it, const IrShape *in) {
  IrShape walked = {.rank = it->rank};
  for (int d = 0; d < it->rank; d++) walked.dims[d] = it->dims[d];
  int64_t s[IR_MAX_RANK];
  ir_shape_broadcast_strides(in, &walked, s);
  return eval_iter_add(it, s, 0);
}

/* Steps to the next index (odometer: last dim fastest). Past the end it wraps to index 0. */
static inline void eval_iter_next(EvalIter *it) {
  for (int d = it->rank - 1; d >= 0; d--) {
    for (int k = 0; k < it->n_tensors; k++) it->off[k] += it->strides[k][d];
    if (++it->idx[d] < it->dims[d]) return;
    for (int k = 0; k < it->n_tensors; k++) it->off[k] -= it->strides[k][d] * it->dims[d];
    it->idx[d] = 0;
  }
}

static inline int64_t eval_numel(const IrTensor *t) { return ir_shape_numel(&t->type.shape); }

#endif
