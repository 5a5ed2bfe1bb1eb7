/* Reference implementation of the CTC loss and its gradient: per sample, the shared double
 * precision implementation in runtime/rt_ctc.c (Graves et al. 2006, log-space forward-backward).
 * label_len is clamped to [0, L]; an impossible labelling gives loss +inf and gradient 0. */
#include <stdlib.h>

#include "ir/eval_iter.h"
#include "runtime/rt_ctc.h"

/* Runs rt_ctc_sample over the batch; grad_out (B, T, C) or NULL for the loss. */
static void ctc_batch(const IrNode *n, const IrTensor *const *in, const IrTensor *g, IrTensor *out,
                      bool grad) {
  const int64_t *d = in[0]->type.shape.dims;
  int64_t B = d[0], T = d[1], C = d[2], L = in[1]->type.shape.dims[1];
  RtCtc *c = rt_ctc_new(T, C, L);
  int64_t *labels = rt_xmalloc((size_t)(L + 1) * sizeof *labels);
  for (int64_t b = 0; b < B; b++) {
    for (int64_t i = 0; i < L; i++) labels[i] = (int64_t)in[1]->data[b * L + i];
    const double *x = in[0]->data + b * T * C;
    int64_t len = (int64_t)in[2]->data[b];
    if (grad)
      rt_ctc_sample(c, x, labels, len, n->attr[0].v[0], g->data[b], out->data + b * T * C);
    else
      out->data[b] = rt_ctc_sample(c, x, labels, len, n->attr[0].v[0], 0, NULL);
  }
  free(labels);
  rt_ctc_free(c);
}

/* loss[b] = -log p(labels[b] | logits[b]) */
void ir_eval_ctc_loss(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  ctc_batch(n, in, NULL, out, false);
}

/* d(sum_b g[b] loss[b]) / d logits */
void ir_eval_ctc_loss_grad(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  ctc_batch(n, in, in[3], out, true);
}
