/* Lowering of the losses. The loss kind is compile-time; its hyperparameters (label smoothing,
 * focal gamma and alpha) are runtime scalar inputs so that one compiled step serves a sweep.
 * Attention losses are averaged over the valid target positions of the batch, t <= target_len
 * (the symbols and the end token), like PyTorch's mean over non-ignored targets; CTC follows
 * F.ctc_loss(reduction='mean'). */
#include <stdlib.h>

#include "frontend/fe_lower_impl.h"
#include "runtime/rt_assert.h"

/* (1 - p_t) is floored here before the power: the gradient of x^gamma is gamma x^(gamma - 1),
 * infinite or NaN at x = 0 for gamma < 1 (0 * inf at gamma = 0), and an f32 p_t can round to 1
 * (or above, with an approximate exp). The floor changes the loss only where p_t > 1 - 1e-12,
 * where the position's loss is below 1e-12 anyway; there its gradient through the weight is 0. */
#define FOCAL_FLOOR 1e-12

/* Per-position loss (S*B) from logits (S*B, K) and time-major targets (S*B) i32. */
static IrId position_loss(FeLowerCtx *c, FeLossKind kind, IrId logits, IrId targets, int K) {
  IrGraph *g = c->g;
  IrId logp = ir_log_softmax(g, logits, 1);
  IrId onehot = ir_one_hot(g, targets, K);
  if (kind == FE_LOSS_CROSS_ENTROPY) {
    /* PyTorch's label smoothing: (1 - eps) nll + eps mean_k(-log p_k) = -sum_k q_k log p_k with
     * q = (1 - eps) onehot + eps / K. */
    IrId eps = c->io->label_smoothing;
    IrId q = ir_add(g, ir_mul(g, onehot, ir_sub(g, ir_scalar(g, 1.0), eps)), ir_mul_scalar(g, eps, 1.0 / K));
    return ir_neg(g, ir_sum(g, ir_mul(g, q, logp), 1, (int[]){1}, false));
  }
  RT_ASSERT(kind == FE_LOSS_FOCAL, "loss %d on an attention head", (int)kind);
  /* Focal loss (Lin et al. 2017): -alpha (1 - p_t)^gamma log p_t. */
  IrId logp_t = ir_sum(g, ir_mul(g, onehot, logp), 1, (int[]){1}, false);
  IrId base = ir_max(g, ir_sub(g, ir_scalar(g, 1.0), ir_exp(g, logp_t)), ir_scalar(g, FOCAL_FLOOR));
  IrId weight = ir_mul(g, c->io->focal_alpha, ir_pow(g, base, c->io->focal_gamma));
  return ir_neg(g, ir_mul(g, weight, logp_t));
}

IrId fe_lower_loss_attention(FeLowerCtx *c, FeLossKind kind, IrId logits) {
  IrGraph *g = c->g;
  const FeLayer *head = c->p->head;
  int S = head->head.max_length + 1, B = c->batch, K = head->head.classes;
  IrId targets = ir_reshape(g, ir_transpose(g, c->io->target, 2, (int[]){1, 0}), IR_SHAPE((int64_t)S * B));
  IrId per = position_loss(c, kind, logits, targets, K);
  /* valid[t, b] = t <= target_len[b] */
  double *steps = rt_xmalloc((size_t)S * sizeof *steps);
  for (int t = 0; t < S; t++) steps[t] = t;
  IrId t_index = ir_const_data(g, IR_I32, IR_SHAPE(S, 1), steps);
  free(steps);
  IrId valid = ir_le(g, t_index, ir_reshape(g, c->io->target_len, IR_SHAPE(1, B)));
  valid = ir_reshape(g, valid, IR_SHAPE((int64_t)S * B));
  IrId total = ir_sum_all(g, ir_mul(g, valid, per));
  /* at least 1: only negative lengths could leave no valid position */
  IrId count = ir_max(g, ir_sum_all(g, valid), ir_scalar(g, 1.0));
  return ir_div(g, total, count);
}

/* F.ctc_loss(blank=0, reduction='mean'): each sample's -log p(target | x) divided by its target
 * length clamped to >= 1, then the mean over the batch. ctc_loss applies log_softmax itself.
 * A sample with target_len < 0 is a padding row (the last, partial batch of an epoch): it is
 * left out of the mean, as attention losses leave out its positions. */
IrId fe_lower_loss_ctc(FeLowerCtx *c, IrId logits) {
  IrGraph *g = c->g;
  IrId per = ir_ctc_loss(g, logits, c->io->target, c->io->target_len, FE_CTC_BLANK);
  IrId lenf = ir_to_f32(g, c->io->target_len);
  IrId len = ir_max(g, lenf, ir_scalar(g, 1.0));
  IrId real = ir_ge(g, lenf, ir_scalar(g, 0.0));
  IrId total = ir_sum_all(g, ir_mul(g, real, ir_div(g, per, len)));
  return ir_div(g, total, ir_max(g, ir_sum_all(g, real), ir_scalar(g, 1.0)));
}
