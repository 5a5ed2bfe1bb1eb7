/* Tests of the interpreter's CTC loss and gradient: the loss against a brute-force sum over
 * every alignment (all C^T paths, collapsed by removing repeats then blanks), including
 * repeated labels, empty labels, labels that need more time steps than there are, and labels
 * that are not classes; the gradient against central differences of the brute-force loss. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "interp_check.h"

enum { B = 6, T = 4, C = 3, L = 3 };

/* labels (B, L), label_len (B); entries past label_len are garbage that must be ignored */
static const double labels[B * L] = {1,  2,  99,  /* plain */
                                     1,  1,  99,  /* repeat: needs a blank between */
                                     99, 99, 99,  /* empty */
                                     2,  99, 99,  /* single */
                                     1,  1,  1,   /* needs 5 steps, only 4: impossible */
                                     7,  99, 99}; /* 7 is not a class: impossible */
static const double label_len[B] = {2, 2, 0, 1, 3, 1};

static void fill(double *x, int64_t n, uint32_t seed) {
  for (int64_t i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    x[i] = 3.0 * ((double)(seed >> 8) / (double)(1u << 23) - 1.0);
  }
}

/* p(label | x) for one sample: sum over all C^T paths that collapse to the label of the
 * product of per-step softmax probabilities. */
static double brute_prob(const double *x, const double *label, int len, int blank) {
  double y[T][C];
  for (int t = 0; t < T; t++) {
    double z = 0;
    for (int k = 0; k < C; k++) z += exp(x[t * C + k]);
    for (int k = 0; k < C; k++) y[t][k] = exp(x[t * C + k]) / z;
  }
  int paths = 1;
  for (int t = 0; t < T; t++) paths *= C;
  double p = 0;
  for (int code = 0; code < paths; code++) {
    int path[T], rest = code, out[T], n = 0, prev = -1;
    for (int t = T - 1; t >= 0; t--, rest /= C) path[t] = rest % C;
    for (int t = 0; t < T; t++) {
      if (path[t] != prev && path[t] != blank) out[n++] = path[t];
      prev = path[t];
    }
    bool match = n == len;
    for (int i = 0; match && i < n; i++) match = out[i] == (int)label[i];
    if (match) {
      double q = 1;
      for (int t = 0; t < T; t++) q *= y[t][path[t]];
      p += q;
    }
  }
  return p;
}

/* Builds ctc_loss and ctc_loss_grad over exact (not float-rounded) logits; runs them. */
typedef struct CtcRun {
  IrGraph *g;
  IrInterp *it;
  IrId loss, grad;
} CtcRun;

static CtcRun ctc_run(const double *x, const double *gvec, int blank) {
  CtcRun r = {.g = ir_graph_new("ctc")};
  IrId xi = ir_input(r.g, "logits", IR_F32, IR_SHAPE(B, T, C));
  IrId li = ci(r.g, IR_SHAPE(B, L), labels), ni = ci(r.g, IR_SHAPE(B), label_len);
  IrId gi = cf(r.g, IR_SHAPE(B), gvec);
  r.loss = ir_ctc_loss(r.g, xi, li, ni, blank);
  r.grad = ir_ctc_loss_grad(r.g, xi, li, ni, gi, blank);
  assert_true(r.loss != IR_NONE && r.grad != IR_NONE);
  r.it = ir_interp_new(r.g);
  memcpy(ir_interp_value(r.it, xi)->data, x, B * T * C * sizeof *x);
  memcpy(ir_interp_value(r.it, gi)->data, gvec, B * sizeof *gvec); /* exact, not float-rounded */
  ir_interp_run(r.it, NULL);
  return r;
}

static void ctc_run_free(CtcRun *r) {
  ir_interp_free(r->it);
  ir_graph_free(r->g);
}

static void check_loss_against_brute_force(int blank, uint32_t seed) {
  double x[B * T * C];
  fill(x, B * T * C, seed);
  CtcRun r = ctc_run(x, VALS(1, 1, 1, 1, 1, 1), blank);
  const double *loss = ir_interp_value(r.it, r.loss)->data;
  for (int b = 0; b < B; b++) {
    double p = brute_prob(x + b * T * C, labels + b * L, (int)label_len[b], blank);
    if (b >= 4) {
      assert_true(p == 0 && loss[b] == INFINITY);
    } else {
      assert_true(p > 1e-6);
      if (!close_to(loss[b], -log(p), 1e-12))
        fail_msg("sample %d (blank %d): loss %.17g, brute force %.17g", b, blank, loss[b], -log(p));
    }
  }
  ctc_run_free(&r);
}

static void test_ctc_loss_brute_force(void **state) {
  check_loss_against_brute_force(0, 11);
  check_loss_against_brute_force(0, 12);
}

/* The blank need not be class 0; with blank 1, the label 1 of samples 0, 1, 4 is the blank
 * symbol, which the definition still covers (but the brute force collapses it away, so only
 * the samples without label 1 are comparable). */
static void test_ctc_loss_other_blank(void **state) {
  double x[B * T * C];
  fill(x, B * T * C, 13);
  CtcRun r = ctc_run(x, VALS(1, 1, 1, 1, 1, 1), 0);
  CtcRun s = ctc_run(x, VALS(1, 1, 1, 1, 1, 1), 1);
  const double *loss = ir_interp_value(s.it, s.loss)->data;
  for (int b = 2; b <= 3; b++) {
    double p = brute_prob(x + b * T * C, labels + b * L, (int)label_len[b], 1);
    assert_true(close_to(loss[b], -log(p), 1e-12));
    assert_true(loss[b] != ir_interp_value(r.it, r.loss)->data[b]);
  }
  ctc_run_free(&r);
  ctc_run_free(&s);
}

/* d(sum_b g[b] loss[b]) / d logits against central differences of the brute-force loss;
 * impossible samples get a zero gradient. */
static void test_ctc_grad_central_differences(void **state) {
  double x[B * T * C];
  const double gvec[B] = {0.5, -1.0, 2.0, 1.5, 1.0, 1.0};
  fill(x, B * T * C, 21);
  CtcRun r = ctc_run(x, gvec, 0);
  const double *grad = ir_interp_value(r.it, r.grad)->data;
  const double h = 1e-5;
  for (int b = 0; b < B; b++)
    for (int i = 0; i < T * C; i++) {
      double *xb = x + b * T * C, keep = xb[i], want = 0;
      if (b < 4) {
        xb[i] = keep + h;
        double up = -log(brute_prob(xb, labels + b * L, (int)label_len[b], 0));
        xb[i] = keep - h;
        double down = -log(brute_prob(xb, labels + b * L, (int)label_len[b], 0));
        xb[i] = keep;
        want = gvec[b] * (up - down) / (2 * h);
      }
      double got = grad[b * T * C + i];
      if (b >= 4) assert_true(got == 0.0);
      if (!(fabs(got - want) < 1e-7))
        fail_msg("sample %d element %d: gradient %.12g, central difference %.12g", b, i, got, want);
    }
  /* softmax minus a posterior: every time step's gradient sums to zero */
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++) {
      double s = 0;
      for (int k = 0; k < C; k++) s += grad[(b * T + t) * C + k];
      assert_true(fabs(s) < 1e-12);
    }
  ctc_run_free(&r);
}

/* Number of length-n paths over C classes that collapse to label (len m, blank 0): an automaton
 * whose state is (labels emitted j, last symbol blank or label j). */
static double count_alignments(int n, const int *label, int m) {
  double on_blank[8] = {1}, on_label[8] = {0}; /* before step 0: nothing emitted, "blank" */
  for (int t = 0; t < n; t++) {
    double nb[8] = {0}, nl[8] = {0};
    for (int j = 0; j <= m; j++) {
      nb[j] += on_blank[j] + on_label[j]; /* emit a blank */
      if (j >= 1) nl[j] += on_label[j];   /* repeat label j */
      if (j < m) {                        /* emit label j+1 */
        nl[j + 1] += on_blank[j];
        if (j >= 1 && label[j] != label[j - 1]) nl[j + 1] += on_label[j];
      }
    }
    memcpy(on_blank, nb, sizeof nb);
    memcpy(on_label, nl, sizeof nl);
  }
  return on_blank[m] + on_label[m];
}

/* Uniform logits over a long sequence: p = (number of alignments) / C^T is below the smallest
 * double, so only a log-space recursion gets loss = T log C - log(count) right. */
static void test_ctc_long_sequence_log_space(void **state) {
  enum { TT = 600, CC = 5 };
  IrGraph *g = ir_graph_new("ctc_long");
  IrId xi = ir_input(g, "logits", IR_F32, IR_SHAPE(1, TT, CC)); /* zeros */
  IrId loss =
      ir_ctc_loss(g, xi, ci(g, IR_SHAPE(1, 4), VALS(1, 2, 2, 1)), ci(g, IR_SHAPE(1), VALS(4)), 0);
  double want = TT * log((double)CC) - log(count_alignments(TT, (int[]){1, 2, 2, 1}, 4));
  assert_true(want > 745); /* exp(-want) underflows to 0 */
  expect_node(g, loss, IR_F32, IR_SHAPE(1), &want, 1e-12);
  ir_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ctc_loss_brute_force),
      cmocka_unit_test(test_ctc_loss_other_blank),
      cmocka_unit_test(test_ctc_grad_central_differences),
      cmocka_unit_test(test_ctc_long_sequence_log_space),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
