/* Reference implementation of connectionist temporal classification (Graves, Fernandez, Gomez,
 * Schmidhuber, "Connectionist Temporal Classification", ICML 2006): the loss -log p(l | x) and
 * its gradient w.r.t. the raw logits, by the forward-backward recursion over the extended label
 * sequence l' = (blank, l1, blank, l2, ..., lL, blank) of S = 2L + 1 symbols, in log space.
 * Per sample: label_len is clamped to [0, L]; a label outside [0, C) or too few time steps
 * (fewer than L plus the number of equal neighbours) make p = 0: loss +inf, gradient 0. */
#include <math.h>
#include <stdlib.h>

#include "ir/eval_iter.h"

/* log(e^a + e^b), exact when either is -inf (log 0) */
static double log_add(double a, double b) {
  if (a == -INFINITY) return b;
  if (b == -INFINITY) return a;
  return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

/* One sample's working set; arrays sized for the longest label of the batch. */
typedef struct Ctc {
  int64_t t_len, classes, s_len;
  int64_t *ext;  /* (S) extended labels: blank at even s, label (s-1)/2 at odd s */
  double *logp;  /* (T, C) log_softmax of the logits */
  double *alpha; /* (T, S) log of the summed probability of prefixes ending at s at time t,
                  * y_t(l'_s) included */
  double *beta;  /* (T, S) log of the summed probability of the suffixes after time t that
                  * complete the labelling from s, y_t(l'_s) excluded */
} Ctc;

static Ctc ctc_new(const IrTensor *logits, const IrTensor *labels) {
  Ctc c = {logits->type.shape.dims[1], logits->type.shape.dims[2],
           2 * labels->type.shape.dims[1] + 1};
  c.ext = rt_xmalloc((size_t)c.s_len * sizeof *c.ext);
  c.logp = rt_xmalloc((size_t)(c.t_len * c.classes) * sizeof *c.logp);
  c.alpha = rt_xmalloc((size_t)(c.t_len * c.s_len) * sizeof *c.alpha);
  c.beta = rt_xmalloc((size_t)(c.t_len * c.s_len) * sizeof *c.beta);
  return c;
}

static void ctc_free(Ctc *c) {
  free(c->ext);
  free(c->logp);
  free(c->alpha);
  free(c->beta);
}

/* Loads sample b: log_softmax over classes and the extended labels. False when a label is not
 * a class (the labelling then has probability 0). */
static bool ctc_load(Ctc *c, const IrTensor *const *in, int64_t b, int64_t blank) {
  const double *x = in[0]->data + b * c->t_len * c->classes;
  for (int64_t t = 0; t < c->t_len; t++) {
    const double *row = x + t * c->classes;
    double m = row[0], sum = 0;
    for (int64_t k = 1; k < c->classes; k++) m = fmax(m, row[k]);
    for (int64_t k = 0; k < c->classes; k++) sum += exp(row[k] - m);
    for (int64_t k = 0; k < c->classes; k++) c->logp[t * c->classes + k] = row[k] - m - log(sum);
  }
  int64_t max_len = in[1]->type.shape.dims[1];
  int64_t len = (int64_t)in[2]->data[b];
  len = len < 0 ? 0 : len > max_len ? max_len : len;
  c->s_len = 2 * len + 1;
  bool ok = true;
  for (int64_t s = 0; s < c->s_len; s++) {
    c->ext[s] = s % 2 == 0 ? blank : (int64_t)in[1]->data[b * max_len + s / 2];
    ok = ok && c->ext[s] >= 0 && c->ext[s] < c->classes;
  }
  return ok;
}

/* The transition s-2 -> s skips a blank: only into a label, and not between equal labels
 * (their separating blank is what tells "aa" from "a"). */
static bool ctc_can_skip(const Ctc *c, int64_t s) {
  return s % 2 == 1 && s >= 2 && c->ext[s] != c->ext[s - 2];
}

#define LOGP(t, s) c->logp[(t) * c->classes + c->ext[s]]

/* Forward recursion (Graves et al. eq. 6-7); returns log p(l | x). */
static double ctc_forward(Ctc *c) {
  int64_t S = c->s_len, T = c->t_len;
  double *a = c->alpha;
  for (int64_t s = 0; s < S; s++) a[s] = s < 2 ? LOGP(0, s) : -INFINITY;
  for (int64_t t = 1; t < T; t++) {
    const double *prev = a + (t - 1) * S;
    for (int64_t s = 0; s < S; s++) {
      double acc = prev[s];
      if (s >= 1) acc = log_add(acc, prev[s - 1]);
      if (ctc_can_skip(c, s)) acc = log_add(acc, prev[s - 2]);
      a[t * S + s] = acc + LOGP(t, s);
    }
  }
  double last = a[(T - 1) * S + S - 1];
  return S > 1 ? log_add(last, a[(T - 1) * S + S - 2]) : last;
}

/* Backward recursion (Graves et al. eq. 10-11, with y_t(l'_s) moved out of beta_t(s)). */
static void ctc_backward(Ctc *c) {
  int64_t S = c->s_len, T = c->t_len;
  double *bt = c->beta;
  for (int64_t s = 0; s < S; s++) bt[(T - 1) * S + s] = s >= S - 2 ? 0.0 : -INFINITY;
  for (int64_t t = T - 2; t >= 0; t--) {
    const double *next = bt + (t + 1) * S;
    for (int64_t s = 0; s < S; s++) {
      double acc = next[s] + LOGP(t + 1, s);
      if (s + 1 < S) acc = log_add(acc, next[s + 1] + LOGP(t + 1, s + 1));
      if (s + 2 < S && ctc_can_skip(c, s + 2)) acc = log_add(acc, next[s + 2] + LOGP(t + 1, s + 2));
      bt[t * S + s] = acc;
    }
  }
}

/* loss[b] = -log p(labels[b] | logits[b]) */
void ir_eval_ctc_loss(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  Ctc c = ctc_new(in[0], in[1]);
  for (int64_t b = 0; b < out->type.shape.dims[0]; b++)
    out->data[b] = ctc_load(&c, in, b, n->attr[0].v[0]) ? -ctc_forward(&c) : INFINITY;
  ctc_free(&c);
}

/* d(sum_b g[b] loss[b]) / d logits[b,t,k] = g[b] (y_t(k) - gamma_t(k)), Graves et al. eq. 16,
 * where y = softmax(logits) and gamma_t(k) = (1/p) sum over s with l'_s = k of
 * alpha_t(s) beta_t(s) is the posterior probability of emitting k at time t. */
void ir_eval_ctc_loss_grad(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  Ctc c = ctc_new(in[0], in[1]);
  int64_t T = c.t_len, C = c.classes;
  double *log_gamma = rt_xmalloc((size_t)C * sizeof *log_gamma);
  for (int64_t b = 0; b < out->type.shape.dims[0]; b++) {
    double g = in[3]->data[b], log_p = -INFINITY;
    if (ctc_load(&c, in, b, n->attr[0].v[0])) log_p = ctc_forward(&c);
    if (log_p == -INFINITY || g == 0) continue; /* impossible labelling: gradient 0 */
    ctc_backward(&c);
    int64_t S = c.s_len;
    for (int64_t t = 0; t < T; t++) {
      for (int64_t k = 0; k < C; k++) log_gamma[k] = -INFINITY;
      for (int64_t s = 0; s < S; s++)
        log_gamma[c.ext[s]] = log_add(log_gamma[c.ext[s]], c.alpha[t * S + s] + c.beta[t * S + s]);
      double *dx = out->data + (b * T + t) * C;
      for (int64_t k = 0; k < C; k++)
        dx[k] = g * (exp(c.logp[t * C + k]) - exp(log_gamma[k] - log_p));
    }
  }
  free(log_gamma);
  ctc_free(&c);
}
