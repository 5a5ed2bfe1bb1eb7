/* Lowering of the built-in presets (fe_lower): every graph kind of every preset verifies, holds
 * exactly the preset's parameters under stable PyTorch-like names, and has the ABI's inputs and
 * outputs with the documented shapes; the INFER graph of every preset runs in the
 * interpreter and predict valid ids; small's training step builds; bad options are diagnosed.
 * Runs from the repository root (ctest's working directory). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frontend/fe_lower.h"
#include "ir/ir_interp.h"
#include "ir/ir_text.h"
#include "ir/ir_verify.h"
#include "passes/train_graph.h"

static FePreset *load(const char *name) {
  RtDiags d = {0};
  char path[512];
  snprintf(path, sizeof path, "%s/presets/%s.yaml", SMELT_SOURCE_DIR, name);
  FePreset *p = fe_preset_load(path, &d);
  rt_diags_print(&d, stderr);
  assert_int_equal(d.count, 0);
  assert_non_null(p);
  rt_diags_free(&d);
  return p;
}

static FeLossKind default_loss(const FePreset *p) {
  return p->head->kind == FE_LAYER_CTC ? FE_LOSS_CTC : FE_LOSS_CROSS_ENTROPY;
}

static IrGraph *lower(const FePreset *p, FeGraphKind kind, int batch, FeModelIO *io) {
  RtDiags d = {0};
  FeLowerOptions o = {.kind = kind, .batch = batch, .loss = default_loss(p)};
  IrGraph *g = fe_lower(p, &o, io, &d);
  rt_diags_print(&d, stderr);
  assert_int_equal(d.count, 0);
  assert_non_null(g);
  assert_string_equal(g->error, "");
  assert_true(ir_verify(g, NULL, &d));
  rt_diags_free(&d);
  return g;
}

static int64_t param_count(const IrGraph *g) {
  int64_t n = 0;
  for (IrId i = 0; i < g->n_nodes; i++)
    if (g->nodes[i]->kind == IR_NODE_PARAM) n += ir_shape_numel(&g->nodes[i]->type.shape);
  return n;
}

static void assert_type(const IrGraph *g, IrId id, IrDType dt, IrShape s) {
  assert_int_not_equal(id, IR_NONE);
  const IrType *t = ir_type_of(g, id);
  char got[96], want[96];
  IrType w = {dt, s};
  if (!ir_type_eq(t, &w))
    fail_msg("type %s, expected %s", ir_type_str(t, got, sizeof got), ir_type_str(&w, want, sizeof want));
}

/* The ABI of fe_lower.h for one preset, graph kind and batch. */
static void check_abi(const FePreset *p, FeGraphKind kind, int B) {
  FeModelIO io;
  IrGraph *g = lower(p, kind, B, &io);
  const FeLayer *head = p->head;
  bool ctc = head->kind == FE_LAYER_CTC;
  int L = head->head.max_length, K = head->head.classes, T = head->in.dims[0];
  assert_int_equal(param_count(g), p->params);
  assert_int_equal(io.max_len, L);
  assert_int_equal(io.classes, K);
  assert_int_equal(io.time_steps, T);
  assert_type(g, io.image, IR_F32, IR_SHAPE(B, p->channels, p->height, p->width));
  IrShape pred = ctc ? IR_SHAPE(B, T) : IR_SHAPE(B, L + 1);
  if (kind == FE_GRAPH_INFER) {
    assert_int_equal(io.target, IR_NONE);
    assert_int_equal(io.target_len, IR_NONE);
    assert_int_equal(io.loss, IR_NONE);
    assert_int_equal(io.label_smoothing, IR_NONE);
    assert_int_equal(g->n_outputs, 1);
    assert_int_equal(g->outputs[0], io.pred);
  } else {
    assert_type(g, io.target, IR_I32, ctc ? IR_SHAPE(B, L) : IR_SHAPE(B, L + 1));
    assert_type(g, io.target_len, IR_I32, IR_SHAPE(B));
    assert_type(g, io.loss, IR_F32, IR_SHAPE());
    assert_int_equal(g->outputs[0], io.loss);
    assert_int_equal(ir_graph_find(g, "loss"), io.loss);
    if (ctc) assert_int_equal(io.label_smoothing, IR_NONE);
    else assert_type(g, io.label_smoothing, IR_F32, IR_SHAPE());
  }
  if (kind == FE_GRAPH_EVAL) { /* attention heads add their weights: (B, L+1, T) */
    assert_int_equal(g->n_outputs, ctc ? 2 : 3);
    assert_int_equal(g->outputs[1], io.pred);
    if (ctc) assert_int_equal(io.attention, IR_NONE);
    else {
      assert_int_equal(g->outputs[2], io.attention);
      assert_type(g, io.attention, IR_F32, IR_SHAPE(B, L + 1, T));
      assert_int_equal(ir_graph_find(g, "attention"), io.attention);
    }
  } else assert_int_equal(io.attention, IR_NONE);
  if (kind == FE_GRAPH_TRAIN) {
    assert_int_equal(io.pred, IR_NONE);
    /* small's dropout takes its rate from the config: a rate input and a seed */
    assert_type(g, io.dropout, IR_F32, IR_SHAPE());
    assert_type(g, io.seed, IR_I32, IR_SHAPE());
  } else {
    assert_type(g, io.pred, IR_I32, pred);
    assert_int_equal(ir_graph_find(g, "pred"), io.pred);
    assert_int_equal(io.dropout, IR_NONE);
    assert_int_equal(io.seed, IR_NONE);
  }
  assert_int_equal(io.focal_gamma, IR_NONE);
  /* batch-norm running statistics: state in every kind, updated by TRAIN only */
  int bn = 0;
  for (int i = 0; i < p->layer_count; i++) bn += p->layers[i].kind == FE_LAYER_BATCHNORM;
  int states = 0;
  for (IrId i = 0; i < g->n_nodes; i++) states += g->nodes[i]->kind == IR_NODE_STATE;
  assert_int_equal(states, 2 * bn);
  assert_int_equal(g->n_updates, kind == FE_GRAPH_TRAIN ? 2 * bn : 0);
  ir_graph_free(g);
}

static void test_abi_all_presets(void **state) {
  (void)state;
  static const char *const names[] = {"small", "medium", "large", "ctc_small", "ctc_fast", "attention_fast", "ctc_wide48", "ctc_big48"};
  for (int i = 0; i < 8; i++) {
    FePreset *p = load(names[i]);
    check_abi(p, FE_GRAPH_INFER, 3);
    if (i == 0 || i >= 3) { /* medium and large differ from small only in sizes */
      check_abi(p, FE_GRAPH_TRAIN, 2);
      check_abi(p, FE_GRAPH_EVAL, 2);
    }
    fe_preset_free(p);
  }
}

/* Checkpoint names: PyTorch-like, and the same params in every graph kind. */
static void test_param_names(void **state) {
  (void)state;
  FePreset *p = load("small");
  IrGraph *train = lower(p, FE_GRAPH_TRAIN, 1, NULL), *infer = lower(p, FE_GRAPH_INFER, 1, NULL);
  static const struct {
    const char *name;
    IrNodeKind kind;
    IrShape shape;
  } expect[] = {
      {"conv2d_1.weight", IR_NODE_PARAM, IR_SHAPE(64, 1, 3, 3)},
      {"conv2d_7.weight", IR_NODE_PARAM, IR_SHAPE(512, 512, 2, 1)},
      {"conv2d_7.bias", IR_NODE_PARAM, IR_SHAPE(512)},
      {"batchnorm_1.weight", IR_NODE_PARAM, IR_SHAPE(64)},
      {"batchnorm_1.bias", IR_NODE_PARAM, IR_SHAPE(64)},
      {"batchnorm_1.running_mean", IR_NODE_STATE, IR_SHAPE(64)},
      {"batchnorm_6.running_var", IR_NODE_STATE, IR_SHAPE(512)},
      {"lstm_1.l0.weight_ih", IR_NODE_PARAM, IR_SHAPE(1280, 512)},
      {"lstm_1.l0.weight_hh", IR_NODE_PARAM, IR_SHAPE(1280, 320)},
      {"lstm_1.l0.bias", IR_NODE_PARAM, IR_SHAPE(1280)},
      {"lstm_1.l1_reverse.weight_ih", IR_NODE_PARAM, IR_SHAPE(1280, 640)},
      {"head.embedding.weight", IR_NODE_PARAM, IR_SHAPE(38, 128)},
      {"head.att_e.weight", IR_NODE_PARAM, IR_SHAPE(256, 640)},
      {"head.att_e.bias", IR_NODE_PARAM, IR_SHAPE(256)},
      {"head.att_h.weight", IR_NODE_PARAM, IR_SHAPE(256, 512)},
      {"head.att_v.weight", IR_NODE_PARAM, IR_SHAPE(1, 256)},
      {"head.cell.weight_ih", IR_NODE_PARAM, IR_SHAPE(2048, 768)},
      {"head.cell.weight_hh", IR_NODE_PARAM, IR_SHAPE(2048, 512)},
      {"head.cell.bias", IR_NODE_PARAM, IR_SHAPE(2048)},
      {"head.out.weight", IR_NODE_PARAM, IR_SHAPE(38, 1152)},
      {"head.out.bias", IR_NODE_PARAM, IR_SHAPE(38)},
  };
  for (size_t i = 0; i < sizeof expect / sizeof *expect; i++) {
    for (int k = 0; k < 2; k++) {
      IrGraph *g = k ? infer : train;
      IrId id = ir_graph_find(g, expect[i].name);
      if (id == IR_NONE) fail_msg("no node '%s'", expect[i].name);
      assert_int_equal(ir_node(g, id)->kind, expect[i].kind);
      assert_type(g, id, IR_F32, expect[i].shape);
    }
  }
  /* PyTorch's default inits: BN weight 1, LSTM U(-1/sqrt(h), 1/sqrt(h)), embedding N(0, 1) */
  assert_int_equal(ir_node(train, ir_graph_find(train, "batchnorm_1.weight"))->init, IR_INIT_ONES);
  const IrNode *w = ir_node(train, ir_graph_find(train, "lstm_1.l0.weight_hh"));
  assert_int_equal(w->init, IR_INIT_UNIFORM);
  assert_float_equal(w->value, 1 / sqrt(320.0), 1e-12);
  assert_int_equal(ir_node(train, ir_graph_find(train, "head.embedding.weight"))->init, IR_INIT_NORMAL);
  /* every param of one kind exists in the other with the same type */
  int n = 0;
  for (IrId i = 0; i < train->n_nodes; i++) {
    const IrNode *t = train->nodes[i];
    if (t->kind != IR_NODE_PARAM) continue;
    IrId j = ir_graph_find(infer, t->name);
    assert_int_not_equal(j, IR_NONE);
    assert_true(ir_type_eq(&t->type, ir_type_of(infer, j)));
    n++;
  }
  assert_int_equal(n, 8 + 12 + 12 + 10); /* 7 convs + 1 bias, 6 BNs x 2, 2 x 2 x 3 LSTM, head */
  ir_graph_free(train);
  ir_graph_free(infer);
  fe_preset_free(p);
}

/* Runs an INFER graph at batch 1 on random input; predictions must be class ids. */
static void run_infer(const char *name) {
  FePreset *p = load(name);
  FeModelIO io;
  IrGraph *g = lower(p, FE_GRAPH_INFER, 1, &io);
  IrInterp *it = ir_interp_new(g);
  ir_interp_init_leaves(it, 11);
  ir_interp_run(it, NULL);
  const IrTensor *pred = ir_interp_value(it, io.pred);
  int64_t n = ir_shape_numel(&pred->type.shape);
  bool ended = false;
  for (int64_t i = 0; i < n; i++) {
    double v = pred->data[i];
    assert_true(v >= 0 && v < io.classes && v == (int)v);
    if (p->head->kind == FE_LAYER_ATTENTION) { /* the stop mask: end forever after the first end */
      if (ended) assert_true(v == 1);
      ended |= v == 1;
    }
  }
  ir_interp_free(it);
  ir_graph_free(g);
  fe_preset_free(p);
}

static void test_small_infer_runs(void **state) {
  (void)state;
  run_infer("small");
}

static void test_ctc_small_infer_runs(void **state) {
  (void)state;
  run_infer("ctc_small");
}

static void test_fast_presets_infer_run(void **state) {
  (void)state;
  run_infer("ctc_fast");
  run_infer("attention_fast");
}

static void test_medium_and_large_infer_run(void **state) {
  (void)state;
  run_infer("medium");
  run_infer("large");
}

/* The full training step of small builds and verifies; node counts are printed because the
 * backend must handle graphs of that size. */
static void test_small_training_step_builds(void **state) {
  (void)state;
  FePreset *p = load("small");
  static const int batches[] = {2, 32};
  for (int i = 0; i < 2; i++) {
    FeModelIO io;
    IrGraph *g = lower(p, FE_GRAPH_TRAIN, batches[i], &io);
    int forward = g->n_nodes;
    RtDiags d = {0};
    PassOptimizer opt = {.kind = PASS_OPT_ADAM, .clip_grad_norm = true};
    PassTraining tr;
    assert_true(pass_build_training(g, io.loss, &opt, &tr, &d));
    rt_diags_print(&d, stderr);
    assert_int_equal(d.errors, 0);
    assert_int_equal(d.count, 0); /* every param is trained */
    assert_true(ir_verify(g, NULL, &d));
    assert_int_equal(tr.n_params, 42);
    assert_int_equal(tr.first_update, 12); /* the 6 BNs' running statistics come first */
    IrGraph *infer = lower(p, FE_GRAPH_INFER, batches[i], NULL);
    printf("small at batch %d: TRAIN forward %d nodes, with backward + Adam %d nodes; INFER %d nodes\n",
           batches[i], forward, g->n_nodes, infer->n_nodes);
    ir_graph_free(infer);
    ir_graph_free(g);
    rt_diags_free(&d);
  }
  fe_preset_free(p);
}

static void expect_error(const FePreset *p, FeLowerOptions o, const char *msg) {
  RtDiags d = {0};
  FeModelIO io;
  IrGraph *g = fe_lower(p, &o, &io, &d);
  assert_null(g);
  assert_int_equal(d.errors, 1);
  char line[512];
  rt_diag_format(&d.items[0], line, sizeof line);
  if (!strstr(line, msg)) fail_msg("diagnostic '%s' lacks '%s'", line, msg);
  assert_int_equal(io.loss, IR_NONE);
  rt_diags_free(&d);
}

static void test_bad_options(void **state) {
  (void)state;
  FePreset *small = load("small"), *ctc = load("ctc_small");
  expect_error(small, (FeLowerOptions){FE_GRAPH_INFER, 0, FE_LOSS_CROSS_ENTROPY, FE_QUANT_NONE, 0}, "batch size must be >= 1");
  expect_error(small, (FeLowerOptions){FE_GRAPH_TRAIN, 4, FE_LOSS_CTC, FE_QUANT_NONE, 0},
               "small.yaml:36:7: error: loss 'ctc' needs a CTC head, but preset 'small' has an attention head");
  expect_error(ctc, (FeLowerOptions){FE_GRAPH_EVAL, 4, FE_LOSS_FOCAL, FE_QUANT_NONE, 0}, "loss 'focal' needs an attention head");
  /* the loss is ignored for inference */
  RtDiags d = {0};
  IrGraph *g = fe_lower(ctc, &(FeLowerOptions){FE_GRAPH_INFER, 4, FE_LOSS_FOCAL, FE_QUANT_NONE, 0}, NULL, &d);
  assert_non_null(g);
  assert_int_equal(d.count, 0);
  ir_graph_free(g);
  fe_preset_free(small);
  fe_preset_free(ctc);
}

/* Layer names become IR names: '-' is '_', a leading digit gets '_'; collisions are reported. */
static void test_layer_names(void **state) {
  (void)state;
  const char *text = "input: {channels: 1, height: 1, width: 8}\n"
                     "encoder:\n"
                     "  - {kind: collapse_height}\n"
                     "  - {kind: linear, name: 2proj, features: 4}\n"
                     "  - {kind: lstm, name: enc-rnn, hidden: 3}\n"
                     "head: {kind: ctc, symbols: 3, max_length: 2}\n";
  RtDiags d = {0};
  FePreset *p = fe_preset_parse("mem/names.yaml", text, strlen(text), &d);
  assert_non_null(p);
  IrGraph *g = lower(p, FE_GRAPH_TRAIN, 2, NULL);
  assert_int_not_equal(ir_graph_find(g, "_2proj.weight"), IR_NONE);
  assert_int_not_equal(ir_graph_find(g, "enc_rnn.l0.weight_hh"), IR_NONE);
  ir_graph_free(g);
  fe_preset_free(p);
  const char *clash = "input: {channels: 1, height: 1, width: 8}\n"
                      "encoder:\n"
                      "  - {kind: collapse_height}\n"
                      "  - {kind: linear, name: a-b, features: 4}\n"
                      "  - {kind: linear, name: a_b, features: 4}\n"
                      "head: {kind: ctc, symbols: 3, max_length: 2}\n";
  p = fe_preset_parse("mem/clash.yaml", clash, strlen(clash), &d);
  assert_non_null(p);
  g = fe_lower(p, &(FeLowerOptions){FE_GRAPH_INFER, 1, FE_LOSS_CTC, FE_QUANT_NONE, 0}, NULL, &d);
  assert_null(g);
  assert_int_equal(d.errors, 1);
  char line[512];
  rt_diag_format(&d.items[0], line, sizeof line);
  assert_non_null(strstr(line, "mem/clash.yaml:5:5: error: layer 'a_b': its parameter name 'a_b.weight' is already taken"));
  rt_diags_free(&d);
  fe_preset_free(p);
}

/* Lowered graphs print and parse back identically, so `smelt ir` and `smelt run-ir` take them. */
static void test_text_round_trip(void **state) {
  (void)state;
  static const char *const files[] = {"tiny_attention", "tiny_ctc_mix"};
  for (int f = 0; f < 2; f++) {
    RtDiags d = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/tests/frontend/presets/%s.yaml", SMELT_SOURCE_DIR, files[f]);
    FePreset *p = fe_preset_load(path, &d);
    assert_non_null(p);
    for (int k = 0; k < FE_GRAPH_KIND_COUNT; k++) {
      IrGraph *g = lower(p, (FeGraphKind)k, 2, NULL);
      char *text = ir_print_to_string(g);
      IrGraph *back = ir_parse(text, strlen(text), g->name, &d);
      rt_diags_print(&d, stderr);
      assert_non_null(back);
      char why[256];
      if (!ir_graph_equal(g, back, why, sizeof why)) fail_msg("%s: %s", g->name, why);
      free(text);
      ir_graph_free(back);
      ir_graph_free(g);
    }
    fe_preset_free(p);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_abi_all_presets),
      cmocka_unit_test(test_param_names),
      cmocka_unit_test(test_small_infer_runs),
      cmocka_unit_test(test_ctc_small_infer_runs),
      cmocka_unit_test(test_fast_presets_infer_run),
      cmocka_unit_test(test_medium_and_large_infer_run),
      cmocka_unit_test(test_small_training_step_builds),
      cmocka_unit_test(test_bad_options),
      cmocka_unit_test(test_layer_names),
      cmocka_unit_test(test_text_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
