/* Reference implementations of the indexing ops: gather (rows of a table by i32 index),
 * scatter_add (its transpose: add rows into a zero table), one_hot. Indices outside the table
 * are not errors, because they come from data: gather reads a zero row, scatter_add drops the
 * update, one_hot gives an all-zero row. */
#include <string.h>

#include "ir/eval_iter.h"

/* Row r of a table of `rows` rows, or -1 when r is out of range. */
static int64_t row_index(double r, int64_t rows) {
  return r >= 0 && r < (double)rows ? (int64_t)r : -1;
}

/* table (V, S...), idx (I...) -> out (I..., S...): out[i, :] = table[idx[i], :] */
void ir_eval_gather(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  const IrTensor *table = in[0], *idx = in[1];
  int64_t rows = table->type.shape.dims[0], row_size = eval_numel(table) / rows;
  int64_t count = eval_numel(idx);
  for (int64_t i = 0; i < count; i++) {
    int64_t r = row_index(idx->data[i], rows);
    if (r >= 0)
      memcpy(out->data + i * row_size, table->data + r * row_size,
             (size_t)row_size * sizeof(double));
  }
}

/* idx (I...), upd (I..., S...) -> out (rows, S...): out[idx[i], :] += upd[i, :] */
void ir_eval_scatter_add(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  const IrTensor *idx = in[0], *upd = in[1];
  int64_t rows = out->type.shape.dims[0], row_size = eval_numel(out) / rows;
  int64_t count = eval_numel(idx);
  for (int64_t i = 0; i < count; i++) {
    int64_t r = row_index(idx->data[i], rows);
    if (r < 0) continue;
    for (int64_t j = 0; j < row_size; j++)
      out->data[r * row_size + j] += upd->data[i * row_size + j];
  }
}

/* idx (I...) -> out (I..., depth): out[i, k] = (idx[i] == k) */
void ir_eval_one_hot(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  int64_t depth = n->attr[0].v[0], count = eval_numel(in[0]);
  for (int64_t i = 0; i < count; i++) {
    int64_t k = row_index(in[0]->data[i], depth);
    if (k >= 0) out->data[i * depth + k] = 1.0;
  }
}
