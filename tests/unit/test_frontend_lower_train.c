/* The lowered TRAIN and EVAL graphs of tiny presets (tests/frontend/presets/) in the reference
 * interpreter: gradients of every loss against finite differences (batch-norm in training mode,
 * with and without dropout), loss values against the formulas evaluated here, EVAL against TRAIN
 * when the running statistics are the batch's, greedy predictions and their stop mask, and a
 * few Adam steps on one batch that must lower the loss. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "frontend/fe_lower_impl.h" /* fe_lower_stop_mask */
#include "ir/ir_builder.h"
#include "ir/ir_interp.h"
#include "ir/ir_verify.h"
#include "passes/grad_check.h"
#include "passes/train_graph.h"
#include "runtime/rt_ctc.h"

static FePreset *load(const char *name) {
  RtDiags d = {0};
  char path[512];
  snprintf(path, sizeof path, "%s/tests/frontend/presets/%s.yaml", SMELT_SOURCE_DIR, name);
  FePreset *p = fe_preset_load(path, &d);
  rt_diags_print(&d, stderr);
  assert_int_equal(d.count, 0);
  assert_non_null(p);
  return p;
}

static IrGraph *lower(const FePreset *p, FeGraphKind kind, int batch, FeLossKind loss, FeModelIO *io) {
  RtDiags d = {0};
  IrGraph *g = fe_lower(p, &(FeLowerOptions){kind, batch, loss, FE_QUANT_NONE, 0}, io, &d);
  rt_diags_print(&d, stderr);
  assert_int_equal(d.count, 0);
  assert_non_null(g);
  assert_true(ir_verify(g, NULL, &d));
  return g;
}

/* The default a runtime scalar input is fed with (its FILL value). */
static void set_fill(IrGraph *g, IrId id, double v) {
  assert_int_not_equal(id, IR_NONE);
  assert_int_equal(ir_node(g, id)->init, IR_INIT_FILL);
  ir_node(g, id)->value = v;
}

static void grad_check(const IrGraph *g) {
  bool ok = pass_grad_check(g, 5, NULL, stdout);
  if (!ok) fail_msg("gradient check of %s failed", g->name);
}

static void test_grad_cross_entropy(void **state) {
  (void)state;
  FePreset *p = load("tiny_attention");
  FeModelIO io;
  IrGraph *g = lower(p, FE_GRAPH_TRAIN, 2, FE_LOSS_CROSS_ENTROPY, &io);
  set_fill(g, io.label_smoothing, 0.1);
  set_fill(g, io.dropout, 0.0);
  grad_check(g);
  ir_graph_free(g);
  fe_preset_free(p);
}

static void test_grad_focal(void **state) {
  (void)state;
  FePreset *p = load("tiny_attention");
  FeModelIO io;
  IrGraph *g = lower(p, FE_GRAPH_TRAIN, 2, FE_LOSS_FOCAL, &io);
  assert_int_equal(io.label_smoothing, IR_NONE);
  set_fill(g, io.focal_alpha, 0.25);
  grad_check(g); /* gamma 2, the default */
  set_fill(g, io.focal_gamma, 0.5);
  grad_check(g);
  ir_graph_free(g);
  fe_preset_free(p);
}

static void test_grad_ctc(void **state) {
  (void)state;
  /* tiny_ctc_mix has a fixed-rate dropout: active in TRAIN, deterministic for a given seed */
  static const char *const names[] = {"tiny_ctc", "tiny_ctc_mix"};
  for (int i = 0; i < 2; i++) {
    FePreset *p = load(names[i]);
    FeModelIO io;
    IrGraph *g = lower(p, FE_GRAPH_TRAIN, 3, FE_LOSS_CTC, &io);
    assert_int_equal(io.dropout, IR_NONE); /* neither takes its rate from the config */
    assert_true(i == 0 ? io.seed == IR_NONE : io.seed != IR_NONE);
    grad_check(g);
    ir_graph_free(g);
    fe_preset_free(p);
  }
}

static void test_grad_with_dropout(void **state) {
  (void)state;
  FePreset *p = load("tiny_attention");
  FeModelIO io;
  IrGraph *g = lower(p, FE_GRAPH_TRAIN, 2, FE_LOSS_CROSS_ENTROPY, &io);
  set_fill(g, io.dropout, 0.3);
  set_fill(g, io.seed, 17);
  grad_check(g);
  ir_graph_free(g);
  fe_preset_free(p);
}

/* Runs g on leaves from `seed`, with the given dropout rate and RNG seed when g has them. */
static IrInterp *run(const IrGraph *g, const FeModelIO *io, uint64_t seed, double dropout, int rng_seed) {
  IrInterp *it = ir_interp_new(g);
  ir_interp_init_leaves(it, seed);
  if (io->dropout != IR_NONE) ir_interp_value(it, io->dropout)->data[0] = dropout;
  if (io->seed != IR_NONE) ir_interp_value(it, io->seed)->data[0] = rng_seed;
  ir_interp_run(it, NULL);
  return it;
}

static double loss_of(const IrGraph *g, const FeModelIO *io, double dropout, int rng_seed) {
  IrInterp *it = run(g, io, 3, dropout, rng_seed);
  double v = ir_interp_value(it, io->loss)->data[0];
  ir_interp_free(it);
  return v;
}

static void test_dropout_seed(void **state) {
  (void)state;
  FePreset *p = load("tiny_attention");
  FeModelIO io;
  IrGraph *g = lower(p, FE_GRAPH_TRAIN, 2, FE_LOSS_CROSS_ENTROPY, &io);
  double a = loss_of(g, &io, 0.3, 1), b = loss_of(g, &io, 0.3, 1), c = loss_of(g, &io, 0.3, 2);
  assert_true(a == b);
  assert_true(fabs(a - c) > 1e-6); /* another step, another mask */
  /* rate 0: the seed does not matter, and the loss is the no-dropout one */
  assert_true(loss_of(g, &io, 0.0, 1) == loss_of(g, &io, 0.0, 2));
  ir_graph_free(g);
  fe_preset_free(p);
}

/* Writes i32 labels into an input. */
static void set_ints(IrInterp *it, IrId id, const int *v, int n) {
  IrTensor *t = ir_interp_value(it, id);
  assert_int_equal(ir_shape_numel(&t->type.shape), n);
  for (int i = 0; i < n; i++) t->data[i] = v[i];
}

enum { TB = 3, TS = 4 }; /* tiny_attention: max_length 3 -> 4 decoder steps */
/* symbol ids + 2, then end (1), padded with end; the lengths count the symbols */
static const int TARGET[TB * TS] = {2, 3, 1, 1, /**/ 5, 4, 3, 1, /**/ 1, 1, 1, 1};
static const int TARGET_LEN[TB] = {2, 3, 0};

/* The attention losses against their formulas on the TRAIN graph's logits (B, S, K). */
static void check_attention_loss(FeLossKind kind, double smoothing, double gamma, double alpha) {
  FePreset *p = load("tiny_attention");
  FeModelIO io;
  IrGraph *g = lower(p, FE_GRAPH_TRAIN, TB, kind, &io);
  IrInterp *it = ir_interp_new(g);
  ir_interp_init_leaves(it, 9);
  set_ints(it, io.target, TARGET, TB * TS);
  set_ints(it, io.target_len, TARGET_LEN, TB);
  if (kind == FE_LOSS_CROSS_ENTROPY) ir_interp_value(it, io.label_smoothing)->data[0] = smoothing;
  else {
    ir_interp_value(it, io.focal_gamma)->data[0] = gamma;
    ir_interp_value(it, io.focal_alpha)->data[0] = alpha;
  }
  ir_interp_run(it, NULL);
  assert_int_equal(g->n_outputs, 2);
  const IrTensor *logits = ir_interp_value(it, g->outputs[1]);
  int K = io.classes;
  assert_int_equal(logits->type.shape.dims[2], K);
  double total = 0;
  int count = 0;
  for (int b = 0; b < TB; b++)
    for (int t = 0; t <= TARGET_LEN[b]; t++, count++) {
      const double *z = logits->data + (b * TS + t) * K;
      double m = z[0], sum = 0, sum_logp = 0;
      for (int k = 1; k < K; k++) m = fmax(m, z[k]);
      for (int k = 0; k < K; k++) sum += exp(z[k] - m);
      for (int k = 0; k < K; k++) sum_logp += z[k] - m - log(sum);
      double logp_y = z[TARGET[b * TS + t]] - m - log(sum);
      if (kind == FE_LOSS_CROSS_ENTROPY)
        total += (1 - smoothing) * -logp_y + smoothing * (float)(1.0 / K) * -sum_logp; /* an f32 const */
      else
        total += -alpha * pow(1 - exp(logp_y), gamma) * logp_y;
    }
  double loss = ir_interp_value(it, io.loss)->data[0];
  assert_int_equal(count, 3 + 4 + 1);
  if (!(fabs(loss - total / count) < 1e-12 * fabs(loss))) fail_msg("loss %.15g, expected %.15g", loss, total / count);
  ir_interp_free(it);
  ir_graph_free(g);
  fe_preset_free(p);
}

static void test_attention_loss_values(void **state) {
  (void)state;
  check_attention_loss(FE_LOSS_CROSS_ENTROPY, 0.0, 0, 0);
  check_attention_loss(FE_LOSS_CROSS_ENTROPY, 0.1, 0, 0);
  check_attention_loss(FE_LOSS_FOCAL, 0, 2.0, 1.0);
  check_attention_loss(FE_LOSS_FOCAL, 0, 0.0, 0.25);
  check_attention_loss(FE_LOSS_FOCAL, 0, 1.5, 0.5);
}

/* A confident model: p_t rounds to 1, so 1 - p_t = 0 where x^gamma has an infinite (gamma < 1)
 * or NaN (gamma = 0) derivative; the floor in the lowering must keep every gradient finite. */
static void test_focal_gradients_finite_when_confident(void **state) {
  (void)state;
  FePreset *p = load("tiny_attention");
  FeModelIO io;
  IrGraph *g = lower(p, FE_GRAPH_TRAIN, TB, FE_LOSS_FOCAL, &io);
  RtDiags d = {0};
  PassTraining tr;
  assert_true(pass_build_training(g, io.loss, &(PassOptimizer){.kind = PASS_OPT_SGD}, &tr, &d));
  static const double gammas[] = {0.0, 0.5, 1.0, 2.0};
  for (int k = 0; k < 4; k++) {
    IrInterp *it = ir_interp_new(g);
    ir_interp_init_leaves(it, 2);
    ir_interp_value(it, ir_graph_find(g, "head.out.bias"))->data[3] = 80; /* always class 3 */
    static const int target[TB * TS] = {3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3}, len[TB] = {3, 3, 3};
    set_ints(it, io.target, target, TB * TS);
    set_ints(it, io.target_len, len, TB);
    ir_interp_value(it, io.focal_gamma)->data[0] = gammas[k];
    ir_interp_run(it, NULL);
    double loss = ir_interp_value(it, io.loss)->data[0];
    assert_true(loss >= 0 && loss < 1e-20);
    for (int i = 0; i < tr.n_params; i++) {
      const IrTensor *grad = ir_interp_value(it, tr.grads[i]);
      for (int64_t j = 0; j < ir_shape_numel(&grad->type.shape); j++)
        if (!isfinite(grad->data[j])) fail_msg("gamma %g: gradient of %s is %g", gammas[k], ir_node(g, tr.params[i])->name, grad->data[j]);
    }
    ir_interp_free(it);
  }
  ir_graph_free(g);
  fe_preset_free(p);
}

/* CTC: F.ctc_loss(reduction='mean') = mean over samples of loss / max(target_len, 1). */
static void test_ctc_loss_value(void **state) {
  (void)state;
  FePreset *p = load("tiny_ctc_mix");
  FeModelIO io;
  enum { B = 3, L = 4 };
  IrGraph *g = lower(p, FE_GRAPH_TRAIN, B, FE_LOSS_CTC, &io);
  IrInterp *it = ir_interp_new(g);
  ir_interp_init_leaves(it, 4);
  static const int target[B * L] = {1, 2, 2, 5, /**/ 3, 0, 0, 0, /**/ 0, 0, 0, 0}, len[B] = {4, 1, 0};
  set_ints(it, io.target, target, B * L);
  set_ints(it, io.target_len, len, B);
  ir_interp_run(it, NULL);
  const IrTensor *logits = ir_interp_value(it, g->outputs[1]);
  int T = io.time_steps, C = io.classes;
  RtCtc *ctc = rt_ctc_new(T, C, L);
  double expect = 0;
  for (int b = 0; b < B; b++) {
    int64_t labels[L];
    for (int i = 0; i < L; i++) labels[i] = target[b * L + i];
    expect += rt_ctc_sample(ctc, logits->data + b * T * C, labels, len[b], 0, 0, NULL) / fmax(len[b], 1) / B;
  }
  rt_ctc_free(ctc);
  assert_float_equal(ir_interp_value(it, io.loss)->data[0], expect, 1e-12 * expect);
  ir_interp_free(it);
  ir_graph_free(g);
  fe_preset_free(p);
}

/* EVAL normalises with the running statistics; set to the batch's (recovered from TRAIN's
 * running-statistic updates, running = (1 - m) running + m stat, variance unbiased), the EVAL
 * loss is the TRAIN loss with dropout 0. */
static void test_eval_matches_train(void **state) {
  (void)state;
  FePreset *p = load("tiny_attention");
  enum { B = 2 };
  FeModelIO tio, eio;
  IrGraph *train = lower(p, FE_GRAPH_TRAIN, B, FE_LOSS_CROSS_ENTROPY, &tio);
  IrGraph *eval = lower(p, FE_GRAPH_EVAL, B, FE_LOSS_CROSS_ENTROPY, &eio);
  IrInterp *ti = run(train, &tio, 21, 0.0, 0);
  IrInterp *ei = ir_interp_new(eval);
  ir_interp_init_leaves(ei, 21); /* the same params, image and labels: leaves are seeded by name */
  int n_bn = 0;
  for (int i = 0; i < p->layer_count; i++) {
    const FeLayer *l = &p->layers[i];
    if (l->kind != FE_LAYER_BATCHNORM) continue;
    n_bn++;
    double m = l->bn.momentum, n = (double)B * l->in.dims[1] * l->in.dims[2];
    char name[96];
    for (int which = 0; which < 2; which++) {
      snprintf(name, sizeof name, "%s.%s", l->name, which ? "running_var" : "running_mean");
      IrId target = ir_graph_find(train, name);
      IrId value = IR_NONE;
      for (int u = 0; u < train->n_updates; u++)
        if (train->updates[u].target == target) value = train->updates[u].value;
      assert_int_not_equal(value, IR_NONE);
      const IrTensor *upd = ir_interp_value(ti, value);
      IrTensor *dst = ir_interp_value(ei, ir_graph_find(eval, name));
      for (int c = 0; c < l->in.dims[0]; c++) {
        double v = upd->data[c]; /* from running mean 0, running var 1 */
        /* the factors are f32 constants in the graph, rounded to float */
        dst->data[c] = which ? (v - (float)(1 - m)) / (float)(m * n / (n - 1)) : v / (float)m;
      }
    }
  }
  assert_int_equal(n_bn, 2);
  ir_interp_run(ei, NULL);
  double tl = ir_interp_value(ti, tio.loss)->data[0], el = ir_interp_value(ei, eio.loss)->data[0];
  if (!(fabs(tl - el) < 1e-9 * fabs(tl))) fail_msg("TRAIN loss %.15g, EVAL loss %.15g", tl, el);
  ir_interp_free(ti);
  ir_interp_free(ei);
  ir_graph_free(train);
  ir_graph_free(eval);
  fe_preset_free(p);
}

/* EVAL's greedy predictions are INFER's, and obey the stop mask. */
static void test_eval_pred_is_infer_pred(void **state) {
  (void)state;
  FePreset *p = load("tiny_attention");
  enum { B = 4 };
  FeModelIO eio, iio;
  IrGraph *eval = lower(p, FE_GRAPH_EVAL, B, FE_LOSS_CROSS_ENTROPY, &eio);
  IrGraph *infer = lower(p, FE_GRAPH_INFER, B, FE_LOSS_CROSS_ENTROPY, &iio);
  for (uint64_t seed = 1; seed <= 4; seed++) {
    IrInterp *ei = run(eval, &eio, seed, 0, 0), *ii = run(infer, &iio, seed, 0, 0);
    const IrTensor *a = ir_interp_value(ei, eio.pred), *b = ir_interp_value(ii, iio.pred);
    for (int s = 0; s < B; s++) {
      bool ended = false;
      for (int t = 0; t < TS; t++) {
        double v = a->data[s * TS + t];
        assert_true(v == b->data[s * TS + t]);
        assert_true(v >= 0 && v < eio.classes);
        if (ended) assert_true(v == 1);
        ended |= v == 1;
      }
    }
    ir_interp_free(ei);
    ir_interp_free(ii);
  }
  ir_graph_free(eval);
  ir_graph_free(infer);
  fe_preset_free(p);
}

/* fe_lower_stop_mask: after the first end, end. */
static void test_stop_mask(void **state) {
  (void)state;
  static const double raw[3 * 5] = {4, 1, 3, 1, 5, /**/ 1, 2, 2, 2, 2, /**/ 3, 4, 5, 6, 7};
  static const double want[3 * 5] = {4, 1, 1, 1, 1, /**/ 1, 1, 1, 1, 1, /**/ 3, 4, 5, 6, 7};
  IrGraph *g = ir_graph_new("stop");
  IrId out = fe_lower_stop_mask(g, ir_const_data(g, IR_I32, IR_SHAPE(3, 5), raw), 1);
  assert_int_not_equal(out, IR_NONE);
  ir_graph_add_output(g, out);
  RtDiags d = {0};
  assert_true(ir_verify(g, NULL, &d));
  assert_int_equal(ir_type_of(g, out)->dtype, IR_I32);
  IrInterp *it = ir_interp_new(g);
  ir_interp_run(it, NULL);
  assert_memory_equal(ir_interp_value(it, out)->data, want, sizeof want);
  ir_interp_free(it);
  ir_graph_free(g);
}

/* A few Adam steps on one fixed batch: the loss must fall. */
static void check_training(const char *name, FeLossKind loss, int steps, double lr, double factor) {
  FePreset *p = load(name);
  FeModelIO io;
  IrGraph *g = lower(p, FE_GRAPH_TRAIN, 3, loss, &io);
  RtDiags d = {0};
  PassTraining tr;
  assert_true(pass_build_training(g, io.loss, &(PassOptimizer){.kind = PASS_OPT_ADAM}, &tr, &d));
  assert_true(ir_verify(g, NULL, &d));
  IrInterp *it = ir_interp_new(g);
  ir_interp_init_leaves(it, 8);
  if (loss == FE_LOSS_CTC) {
    static const int target[3 * 4] = {1, 2, 3, 0, /**/ 4, 4, 0, 0, /**/ 5, 1, 2, 3}, len[3] = {3, 2, 4};
    set_ints(it, io.target, target, 12);
    set_ints(it, io.target_len, len, 3);
  } else {
    set_ints(it, io.target, TARGET, TB * TS);
    set_ints(it, io.target_len, TARGET_LEN, TB);
  }
  ir_interp_value(it, tr.lr)->data[0] = lr;
  double first = 0, last = 0;
  for (int s = 0; s < steps; s++) {
    ir_interp_value(it, tr.step)->data[0] = s + 1;
    if (io.seed != IR_NONE) ir_interp_value(it, io.seed)->data[0] = s;
    ir_interp_run(it, NULL);
    last = ir_interp_value(it, io.loss)->data[0];
    if (s == 0) first = last;
    ir_interp_apply_updates(it);
  }
  printf("%s: loss %.4f -> %.4f after %d Adam steps\n", name, first, last, steps);
  assert_true(isfinite(first) && last < factor * first);
  ir_interp_free(it);
  ir_graph_free(g);
  fe_preset_free(p);
}

static void test_training_lowers_loss(void **state) {
  (void)state;
  check_training("tiny_attention", FE_LOSS_CROSS_ENTROPY, 30, 0.02, 0.5);
  check_training("tiny_ctc_mix", FE_LOSS_CTC, 30, 0.02, 0.8);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_grad_cross_entropy),
      cmocka_unit_test(test_grad_focal),
      cmocka_unit_test(test_grad_ctc),
      cmocka_unit_test(test_grad_with_dropout),
      cmocka_unit_test(test_dropout_seed),
      cmocka_unit_test(test_attention_loss_values),
      cmocka_unit_test(test_focal_gradients_finite_when_confident),
      cmocka_unit_test(test_ctc_loss_value),
      cmocka_unit_test(test_eval_matches_train),
      cmocka_unit_test(test_eval_pred_is_infer_pred),
      cmocka_unit_test(test_stop_mask),
      cmocka_unit_test(test_training_lowers_loss),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
