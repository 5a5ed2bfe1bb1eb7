/* CTC loss and gradient (rt_ctc.h): Graves et al. 2006, forward-backward in log space over the
 * extended label sequence l' = (blank, l1, blank, l2, ..., lL, blank) of S = 2L + 1 symbols.
 * A label outside [0, C) or too few time steps (fewer than L plus the number of equal
 * neighbours) make p = 0: loss +inf, gradient 0. */
#include "runtime/rt_ctc.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "support/rt_assert.h"

/* log(e^a + e^b), exact when either is -inf (log 0) */
static double log_add(double a, double b) {
  if (a == -INFINITY) return b;
  if (b == -INFINITY) return a;
  return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

/* One sample's working set; arrays sized for the longest label allowed. */
struct RtCtc {
  int64_t t_len, classes, s_len;
  int64_t *ext;  /* (S) extended labels: blank at even s, label (s-1)/2 at odd s */
  double *logp;  /* (T, C) log_softmax of the logits */
  double *alpha; /* (T, S) log of the summed probability of prefixes ending at s at time t,
                  * y_t(l'_s) included */
  double *beta;  /* (T, S) log of the summed probability of the suffixes after time t that
                  * complete the labelling from s, y_t(l'_s) excluded */
  double *log_gamma; /* (C) */
  int64_t max_labels;
};
typedef RtCtc Ctc;

RtCtc *rt_ctc_new(int64_t t_len, int64_t classes, int64_t max_labels) {
  RtCtc *c = rt_xcalloc(1, sizeof *c);
  c->t_len = t_len;
  c->classes = classes;
  c->max_labels = max_labels;
  int64_t s_max = 2 * max_labels + 1;
  c->ext = rt_xmalloc((size_t)s_max * sizeof *c->ext);
  c->logp = rt_xmalloc((size_t)(t_len * classes) * sizeof *c->logp);
  c->alpha = rt_xmalloc((size_t)(t_len * s_max) * sizeof *c->alpha);
  c->beta = rt_xmalloc((size_t)(t_len * s_max) * sizeof *c->beta);
  c->log_gamma = rt_xmalloc((size_t)classes * sizeof *c->log_gamma);
  return c;
}

void rt_ctc_free(RtCtc *c) {
  if (!c) return;
  free(c->ext);
  free(c->logp);
  free(c->alpha);
  free(c->beta);
  free(c->log_gamma);
  free(c);
}

/* Loads one sample: log_softmax over classes and the extended labels. False when a label is
 * not a class (the labelling then has probability 0). */
static bool ctc_load(Ctc *c, const double *x, const int64_t *labels, int64_t len, int64_t blank) {
  for (int64_t t = 0; t < c->t_len; t++) {
    const double *row = x + t * c->classes;
    double m = row[0], sum = 0;
    for (int64_t k = 1; k < c->classes; k++) m = fmax(m, row[k]);
    for (int64_t k = 0; k < c->classes; k++) sum += exp(row[k] - m);
    for (int64_t k = 0; k < c->classes; k++) c->logp[t * c->classes + k] = row[k] - m - log(sum);
  }
  len = len < 0 ? 0 : len > c->max_labels ? c->max_labels : len;
  c->s_len = 2 * len + 1;
  bool ok = true;
  for (int64_t s = 0; s < c->s_len; s++) {
    c->ext[s] = s % 2 == 0 ? blank : labels[s / 2];
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

double rt_ctc_sample(RtCtc *c, const double *logits, const int64_t *labels, int64_t len, int64_t blank,
                     double g, double *grad) {
  int64_t T = c->t_len, C = c->classes;
  double log_p = ctc_load(c, logits, labels, len, blank) ? ctc_forward(c) : -INFINITY;
  if (!grad) return -log_p;
  for (int64_t i = 0; i < T * C; i++) grad[i] = 0;
  if (log_p == -INFINITY || g == 0) return -log_p; /* impossible labelling: gradient 0 */
  ctc_backward(c);
  int64_t S = c->s_len;
  double *log_gamma = c->log_gamma;
  for (int64_t t = 0; t < T; t++) {
    for (int64_t k = 0; k < C; k++) log_gamma[k] = -INFINITY;
    for (int64_t s = 0; s < S; s++)
      log_gamma[c->ext[s]] = log_add(log_gamma[c->ext[s]], c->alpha[t * S + s] + c->beta[t * S + s]);
    double *dx = grad + t * C;
    for (int64_t k = 0; k < C; k++) dx[k] = g * (exp(c->logp[t * C + k]) - exp(log_gamma[k] - log_p));
  }
  return -log_p;
}

/* Converts one sample of f32 logits and i32 labels for rt_ctc_sample. */
static void load_sample(const float *logits, const int32_t *labels, int64_t b, int64_t tc, int64_t max_labels,
                        double *x, int64_t *lab) {
  for (int64_t i = 0; i < tc; i++) x[i] = logits[b * tc + i];
  for (int64_t i = 0; i < max_labels; i++) lab[i] = labels[b * max_labels + i];
}

void smelt_rt_ctc_loss(const float *logits, const int32_t *labels, const int32_t *label_len,
                       int64_t batch, int64_t t_len, int64_t classes, int64_t max_labels,
                       int64_t blank, float *loss) {
  RtCtc *c = rt_ctc_new(t_len, classes, max_labels);
  double *x = rt_xmalloc((size_t)(t_len * classes) * sizeof *x);
  int64_t *lab = rt_xmalloc((size_t)(max_labels + 1) * sizeof *lab);
  for (int64_t b = 0; b < batch; b++) {
    load_sample(logits, labels, b, t_len * classes, max_labels, x, lab);
    loss[b] = (float)rt_ctc_sample(c, x, lab, label_len[b], blank, 0, NULL);
  }
  free(lab);
  free(x);
  rt_ctc_free(c);
}

void smelt_rt_ctc_loss_grad(const float *logits, const int32_t *labels, const int32_t *label_len,
                            const float *g, int64_t batch, int64_t t_len, int64_t classes,
                            int64_t max_labels, int64_t blank, float *grad) {
  int64_t tc = t_len * classes;
  RtCtc *c = rt_ctc_new(t_len, classes, max_labels);
  double *x = rt_xmalloc((size_t)tc * sizeof *x), *dx = rt_xmalloc((size_t)tc * sizeof *dx);
  int64_t *lab = rt_xmalloc((size_t)(max_labels + 1) * sizeof *lab);
  for (int64_t b = 0; b < batch; b++) {
    load_sample(logits, labels, b, tc, max_labels, x, lab);
    rt_ctc_sample(c, x, lab, label_len[b], blank, g[b], dx);
    for (int64_t i = 0; i < tc; i++) grad[b * tc + i] = (float)dx[i];
  }
  free(lab);
  free(x);
  free(dx);
  rt_ctc_free(c);
}
