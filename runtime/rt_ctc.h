/* Connectionist temporal classification (Graves, Fernandez, Gomez, Schmidhuber, ICML 2006):
 * the loss -log p(l | x) of one sample and its gradient w.r.t. the raw logits, by the
 * forward-backward recursion over the extended label sequence in log space, in double.
 * The one implementation: the reference interpreter (ir/eval_ctc.c) and compiled training steps
 * (smelt_rt_ctc_loss*, called by generated code) both use it. */
#ifndef SMELT_RT_CTC_H
#define SMELT_RT_CTC_H

#include <stdint.h>

typedef struct RtCtc RtCtc;

/* Working set for samples of up to T time steps, C classes and L labels. */
RtCtc *rt_ctc_new(int64_t t_len, int64_t classes, int64_t max_labels);
void rt_ctc_free(RtCtc *c);

/* One sample: logits (T, C) raw scores, labels[0..len) (len clamped to [0, max_labels]).
 * Returns the loss; +inf when the labelling is impossible (a label outside [0, C), or too few
 * time steps). When grad is not NULL, writes g * d loss / d logits (T, C) there: g * (softmax -
 * posterior), Graves et al. eq. 16; all zeros for an impossible labelling or g == 0. */
double rt_ctc_sample(RtCtc *c, const double *logits, const int64_t *labels, int64_t len, int64_t blank,
                     double g, double *grad);

/* Entry points of generated code (f32 tensors, i32 labels), one call per batch.
 * logits (B, T, C), labels (B, L), label_len (B) -> loss (B), or grad (B, T, C) from g (B). */
void smelt_rt_ctc_loss(const float *logits, const int32_t *labels, const int32_t *label_len,
                       int64_t batch, int64_t t_len, int64_t classes, int64_t max_labels,
                       int64_t blank, float *loss);
void smelt_rt_ctc_loss_grad(const float *logits, const int32_t *labels, const int32_t *label_len,
                            const float *g, int64_t batch, int64_t t_len, int64_t classes,
                            int64_t max_labels, int64_t blank, float *grad);

#endif
