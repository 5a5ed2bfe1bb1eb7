/* Experiment configs: the example configs load and say what the study says; defaults merge into
 * experiments (same type merges options, another type starts afresh); bare names equal mappings;
 * the loss follows the head when unset; preset lookup order (option, presets_dir, $SMELT_PRESETS);
 * data folders; module sharing; the printed plan. Runs from the repository root. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "frontend/fe_config.h"
#include "frontend/fe_plan.h"
#include "runtime/rt_image.h"
#include "runtime/rt_settings.h"

static FeConfig *load_text(const char *file, const char *text, const FeLoadOptions *opts, RtDiags *d) {
  return fe_config_parse(file, text, strlen(text), opts, d);
}

/* Loads text that must be valid (no diagnostics at all). */
static FeConfig *valid(const char *text) {
  RtDiags d = {0};
  FeLoadOptions opts = {.presets_dir = SMELT_SOURCE_DIR "/presets"};
  FeConfig *c = load_text("mem.yaml", text, &opts, &d);
  if (d.count) rt_diags_print(&d, stderr);
  assert_int_equal(d.count, 0);
  assert_non_null(c);
  rt_diags_free(&d);
  return c;
}

static void test_phase3_example(void **state) {
  (void)state;
  RtDiags d = {0};
  FeConfig *c = fe_config_load(SMELT_SOURCE_DIR "/examples/phase3_training_configs.yaml", NULL, &d);
  if (d.count) rt_diags_print(&d, stderr);
  assert_int_equal(d.count, 0);
  assert_non_null(c);
  assert_int_equal(c->count, 7);
  static const struct {
    const char *name, *preset;
    int batch;
    double lr;
    FeLossKind loss;
  } want[] = {
      {"conservative_small", "small", 32, 0.001, FE_LOSS_CROSS_ENTROPY},
      {"baseline_optimized", "medium", 64, 0.002, FE_LOSS_CROSS_ENTROPY},
      {"focal_loss_experiment", "medium", 64, 0.0015, FE_LOSS_FOCAL},
      {"aggressive_learning", "medium", 128, 0.003, FE_LOSS_CROSS_ENTROPY},
      {"fast_convergence", "medium", 96, 0.005, FE_LOSS_CROSS_ENTROPY},
      {"large_model_regularized", "large", 32, 0.0005, FE_LOSS_CROSS_ENTROPY},
      {"ctc_alignment_free", "ctc_small", 32, 0.001, FE_LOSS_CTC},
  };
  for (int i = 0; i < 7; i++) {
    const FeExperiment *e = &c->experiments[i];
    assert_string_equal(e->name, want[i].name);
    assert_string_equal(e->preset->name, want[i].preset);
    assert_int_equal(e->batch_size, want[i].batch);
    assert_true(e->learning_rate == want[i].lr);
    assert_int_equal(e->loss.kind, want[i].loss);
    assert_int_equal(e->epochs, 50);
    assert_int_equal(e->optimizer.kind, FE_OPT_ADAM);
    assert_true(e->early_stopping.enabled);
    assert_int_equal(e->early_stopping.metric, FE_METRIC_VAL_SEQ_ACC);
    assert_int_equal(e->early_stopping.patience, 15);
    assert_int_equal(e->scheduler.kind, FE_SCHED_REDUCE_ON_PLATEAU);
    assert_int_equal(e->scheduler.metric, FE_METRIC_VAL_LOSS);
    assert_true(e->data.synthetic);
    assert_int_equal(e->data.train_count, 4000);
    assert_true(e->weight_decay == (i == 5 ? 5e-4 : 1e-4));
    if (want[i].loss == FE_LOSS_CROSS_ENTROPY) assert_true(e->loss.label_smoothing == 0.05);
  }
  assert_true(c->experiments[2].loss.gamma == 2.0);
  assert_true(c->experiments[5].dropout > c->experiments[0].dropout);
  assert_int_equal(c->preset_count, 4);
  assert_ptr_equal(c->experiments[1].preset, c->experiments[3].preset); /* loaded once */
  assert_ptr_equal(fe_config_find(c, "fast_convergence"), &c->experiments[4]);
  assert_null(fe_config_find(c, "nope"));
  fe_config_free(c);
  rt_diags_free(&d);
}

static void test_quickstart_example(void **state) {
  (void)state;
  RtDiags d = {0};
  FeConfig *c = fe_config_load(SMELT_SOURCE_DIR "/examples/quickstart.yaml", NULL, &d);
  assert_int_equal(d.count, 0);
  assert_non_null(c);
  /* sized for minutes on two cores: fast presets, at most 60,000 generated training samples in
   * all (60,000 on ctc_fast: 2m20s of the 2m46s `make run` measured on 2026-12-07) */
  assert_true(c->count >= 1 && c->count <= 2);
  long samples = 0;
  for (int i = 0; i < c->count; i++) {
    const FeExperiment *e = &c->experiments[i];
    assert_true(strstr(e->preset->name, "_fast") != NULL);
    assert_true(e->data.synthetic);
    samples += (long)e->epochs * e->data.train_count;
    assert_true(e->data.val_count <= 500);
  }
  assert_true(samples <= 60000);
  fe_config_free(c);
}

static void test_builtin_defaults_and_auto_loss(void **state) {
  (void)state;
  FeConfig *c = valid("experiments:\n  a: {model: small}\n  b: {model: ctc_small}\n");
  const FeExperiment *a = &c->experiments[0], *b = &c->experiments[1];
  FeExperiment def = fe_experiment_builtin();
  assert_int_equal(a->batch_size, def.batch_size);
  assert_int_equal(a->batch_size, 32);
  assert_true(a->learning_rate == 1e-3);
  assert_true(a->optimizer.betas[1] == 0.999 && a->optimizer.eps == 1e-8);
  assert_int_equal(a->scheduler.metric, FE_METRIC_VAL_LOSS);
  assert_int_equal(a->loss.kind, FE_LOSS_CROSS_ENTROPY);
  assert_int_equal(b->loss.kind, FE_LOSS_CTC);
  assert_true(a->data.synthetic && a->data.train_count == 4000 && a->data.val_count == 1000);
  assert_null(a->data.charset);
  assert_true(a->augmentation.enabled);
  assert_true(a->dropout == 0);
  fe_config_free(c);
}

static void test_merging(void **state) {
  (void)state;
  FeConfig *c = valid("defaults:\n"
                      "  model: small\n"
                      "  optimizer: {type: sgd, momentum: 0.8}\n"
                      "  loss: {type: focal, gamma: 3, alpha: 0.25}\n"
                      "  early_stopping: false\n"
                      "  augmentation: {rotation: 10}\n"
                      "  batch_size: 16\n"
                      "experiments:\n"
                      "  same_type: {optimizer: sgd, loss: focal}\n"
                      "  merged: {optimizer: {nesterov: true}, loss: {gamma: 1}, early_stopping: {patience: 4}}\n"
                      "  switched: {optimizer: adamw, loss: cross_entropy, augmentation: false, batch_size: 8}\n"
                      "  mapping: {optimizer: {type: adam, betas: [0.8, 0.9]}, loss: {type: cross_entropy,"
                      " label_smoothing: 0.1}, model: medium}\n");
  const FeExperiment *e = c->experiments;
  assert_int_equal(e[0].optimizer.kind, FE_OPT_SGD);
  assert_true(e[0].optimizer.momentum == 0.8); /* a bare name of the same type keeps the options */
  assert_true(e[0].loss.gamma == 3 && e[0].loss.has_alpha && e[0].loss.alpha == 0.25);
  assert_false(e[0].early_stopping.enabled);
  assert_int_equal(e[0].batch_size, 16);
  assert_true(e[0].augmentation.enabled && e[0].augmentation.rotation == 10);
  assert_true(e[0].augmentation.shear == fe_experiment_builtin().augmentation.shear);
  assert_true(e[1].optimizer.nesterov && e[1].optimizer.momentum == 0.8);
  assert_true(e[1].loss.gamma == 1 && e[1].loss.alpha == 0.25);
  assert_true(e[1].early_stopping.enabled && e[1].early_stopping.patience == 4);
  assert_int_equal(e[2].optimizer.kind, FE_OPT_ADAMW);
  assert_true(e[2].optimizer.betas[0] == 0.9);
  assert_int_equal(e[2].loss.kind, FE_LOSS_CROSS_ENTROPY);
  assert_false(e[2].loss.has_alpha);
  assert_true(e[2].loss.label_smoothing == 0);
  assert_false(e[2].augmentation.enabled);
  assert_int_equal(e[2].batch_size, 8);
  assert_true(e[3].optimizer.betas[0] == 0.8 && e[3].optimizer.betas[1] == 0.9);
  assert_true(e[3].loss.label_smoothing == 0.1);
  assert_string_equal(e[3].preset->name, "medium");
  fe_config_free(c);
}

/* `fresh` inside synthetic data, and the curriculum: off by default, merged from the defaults,
 * switched off again with `false`; fresh goes with the data (replaced as a whole). */
static void test_fresh_and_curriculum(void **state) {
  (void)state;
  FeConfig *c = valid("defaults:\n"
                      "  model: small\n"
                      "  curriculum: {epochs: 5}\n"
                      "  data: {synthetic: {train: 64, val: 16, fresh: true}}\n"
                      "experiments:\n"
                      "  inherits: {}\n"
                      "  own: {curriculum: {epochs: 2}, data: {synthetic: {train: 64, val: 16}}}\n"
                      "  none: {curriculum: false, data: synthetic}\n");
  const FeExperiment *e = c->experiments;
  assert_true(e[0].data.synthetic && e[0].data.fresh);
  assert_int_equal(e[0].curriculum.epochs, 5);
  assert_false(e[1].data.fresh);
  assert_int_equal(e[1].curriculum.epochs, 2);
  assert_false(e[2].data.fresh);
  assert_int_equal(e[2].curriculum.epochs, 0);
  assert_int_equal(fe_experiment_builtin().curriculum.epochs, 0);
  assert_false(fe_experiment_builtin().data.fresh);
  assert_int_equal(fe_experiment_settings(&e[0]).curriculum_epochs, 5);
  fe_config_free(c);
}

static void test_bare_name_equals_mapping(void **state) {
  (void)state;
  FeConfig *c = valid("experiments:\n"
                      "  bare: {model: small, optimizer: adamw, scheduler: cosine, loss: focal}\n"
                      "  mapped: {model: small, optimizer: {type: adamw}, scheduler: {type: cosine},"
                      " loss: {type: focal}}\n");
  const FeExperiment *a = &c->experiments[0], *b = &c->experiments[1];
  assert_memory_equal(&a->optimizer, &b->optimizer, sizeof a->optimizer);
  assert_memory_equal(&a->scheduler, &b->scheduler, sizeof a->scheduler);
  assert_memory_equal(&a->loss, &b->loss, sizeof a->loss);
  assert_true(a->loss.gamma == 2.0 && !a->loss.has_alpha);
  assert_int_equal(a->scheduler.kind, FE_SCHED_COSINE);
  assert_true(a->scheduler.min_lr == 0);
  fe_config_free(c);
}

/* `augmentation: NAME` is the preset; `{preset: NAME, ...}` starts from it (whatever the key
 * order) and overrides; a preset replaces inherited options; true/false keep their meaning. */
static void test_augmentation_presets(void **state) {
  (void)state;
  FeConfig *c = valid("defaults: {model: small, augmentation: {rotation: 10, lines: 7}}\n"
                      "experiments:\n"
                      "  strong: {augmentation: strong}\n"
                      "  tuned: {augmentation: {rotation: 2, preset: strong}}\n"
                      "  light: {augmentation: light}\n"
                      "  default: {augmentation: default}\n"
                      "  inherited: {augmentation: {wave: 1}}\n"
                      "  off: {augmentation: {preset: strong, enabled: false}}\n"
                      "  bool: {augmentation: true}\n");
  const FeExperiment *e = c->experiments;
  RtSettings want[RT_AUG_PRESET_COUNT];
  for (int p = 0; p < RT_AUG_PRESET_COUNT; p++) {
    want[p] = rt_settings_defaults();
    rt_settings_aug_preset(&want[p], (RtAugPreset)p);
  }
  RtSettings strong = fe_experiment_settings(&e[0]), tuned = fe_experiment_settings(&e[1]);
  RtSettings light = fe_experiment_settings(&e[2]), deflt = fe_experiment_settings(&e[3]);
  for (int i = 0; i < RT_SETTING_COUNT; i++) {
    const RtSettingInfo *f = &RT_SETTING_INFO[i];
    if (strcmp(f->group, "augmentation") != 0) continue;
    const RtSettings *pairs[3][2] = {{&strong, &want[RT_AUG_STRONG]}, {&light, &want[RT_AUG_LIGHT]},
                                     {&deflt, &want[RT_AUG_DEFAULT]}};
    for (int k = 0; k < 3; k++)
      if (memcmp((const char *)pairs[k][0] + f->offset, (const char *)pairs[k][1] + f->offset,
                 f->type == RT_SET_BOOL ? sizeof(bool) : f->type == RT_SET_INT ? sizeof(int) : sizeof(double)))
        fail_msg("augmentation.%s of experiment %d is not the preset's", f->key, k);
  }
  assert_true(strong.aug_lines > 0 && strong.aug_wave > 0 && strong.aug_erase > 0);
  assert_true(strong.aug_invert > 0 && strong.aug_gamma > 0);
  assert_true(deflt.aug_rotation == 3 && deflt.aug_lines == 0); /* the inherited 10 and 7 are gone */
  assert_true(tuned.aug_rotation == 2 && tuned.aug_shear == strong.aug_shear && tuned.aug_lines == strong.aug_lines);
  assert_true(e[4].augmentation.rotation == 10 && e[4].augmentation.lines == 7 && e[4].augmentation.wave == 1);
  assert_false(e[5].augmentation.enabled);
  assert_true(e[5].augmentation.lines == strong.aug_lines);
  assert_true(e[6].augmentation.enabled && e[6].augmentation.rotation == 10);
  fe_config_free(c);
}

static void test_preset_lookup_order(void **state) {
  (void)state;
  RtDiags d = {0};
  const char *text = "presets_dir: presets\nexperiments:\n  t: {model: tiny_ctc, data: {synthetic: {length: [2, 4]}}}\n";
  /* presets_dir is relative to the config's folder. */
  FeConfig *c = load_text(SMELT_SOURCE_DIR "/tests/frontend/cfg.yaml", text, NULL, &d);
  assert_int_equal(d.count, 0);
  assert_non_null(c);
  assert_string_equal(c->experiments[0].preset->name, "tiny_ctc");
  fe_config_free(c);
  /* The option wins over the file's presets_dir. */
  FeLoadOptions opts = {.presets_dir = SMELT_SOURCE_DIR "/presets"};
  c = load_text(SMELT_SOURCE_DIR "/tests/frontend/cfg.yaml", text, &opts, &d);
  assert_null(c);
  assert_int_equal(d.count, 1);
  assert_non_null(strstr(d.items[0].msg, "unknown preset 'tiny_ctc'"));
  rt_diags_free(&d);
  /* Without either, $SMELT_PRESETS. */
  setenv("SMELT_PRESETS", SMELT_SOURCE_DIR "/tests/frontend/presets", 1);
  c = load_text("x.yaml", "experiments: {t: {model: tiny_ctc, data: {synthetic: {length: 3}}}}", NULL, &d);
  unsetenv("SMELT_PRESETS");
  assert_int_equal(d.count, 0);
  assert_non_null(c);
  assert_string_equal(c->presets_dir, SMELT_SOURCE_DIR "/tests/frontend/presets");
  assert_int_equal(c->experiments[0].data.length[0], 3);
  fe_config_free(c);
  /* A path is taken relative to the config's folder. */
  c = load_text(SMELT_SOURCE_DIR "/tests/frontend/x.yaml",
                "experiments: {t: {model: presets/tiny_ctc.yaml, data: {synthetic: {length: [1, 2]}}}}", NULL, &d);
  assert_int_equal(d.count, 0);
  assert_non_null(c);
  assert_int_equal(c->experiments[0].preset->head->head.symbols, 10);
  fe_config_free(c);
}

static void test_data_folders(void **state) {
  (void)state;
  char dir[] = "/tmp/smelt_fe_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/train", dir);
  assert_int_equal(mkdir(path, 0700), 0);
  snprintf(path, sizeof path, "%s/train/labels.tsv", dir);
  FILE *f = fopen(path, "w");
  fputs("a.png\tAB12\n", f);
  fclose(f);
  snprintf(path, sizeof path, "%s/study.yaml", dir);
  RtDiags d = {0};
  FeLoadOptions opts = {.presets_dir = SMELT_SOURCE_DIR "/presets"};
  FeConfig *c = load_text(path, "experiments: {a: {model: small, data: {train: train, charset: ABC123}}}", &opts, &d);
  assert_int_equal(d.count, 0);
  assert_non_null(c);
  const FeData *data = &c->experiments[0].data;
  assert_false(data->synthetic);
  snprintf(path, sizeof path, "%s/train", dir);
  assert_string_equal(data->train, path);
  assert_null(data->val);
  assert_true(data->val_split == 0.1);
  assert_int_equal(data->charset_size, 6);
  fe_config_free(c);
  snprintf(path, sizeof path, "%s/study.yaml", dir);
  const char *missing = "experiments: {a: {model: small, data: {train: train, val: val}}}";
  c = load_text(path, missing, &opts, &d);
  assert_null(c);
  assert_int_equal(d.count, 1);
  assert_non_null(strstr(d.items[0].msg, "/val' does not exist"));
  rt_diags_free(&d);
  opts.skip_data_check = true;
  c = load_text(path, missing, &opts, &d);
  assert_non_null(c);
  fe_config_free(c);
  snprintf(path, sizeof path, "rm -rf '%s'", dir);
  assert_int_equal(system(path), 0);
}

/* data: {synthetic: {like: DIR}} measures DIR (relative to the config) for the charset, length
 * range, size and greyness; keys given beside it win; a folder without labels is an error at
 * `like`. */
static void test_synthetic_like(void **state) {
  (void)state;
  char dir[] = "/tmp/smelt_fe_like_XXXXXX", path[256], tsv[256] = "";
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/user", dir);
  assert_int_equal(mkdir(path, 0700), 0);
  static const char *const labels[3] = {"qa9", "a9qa", "99q"};
  for (int i = 0; i < 3; i++) {
    int h = 36 + 2 * i, w = 110 + 10 * i;
    unsigned char *px = calloc((size_t)h * w, 1);
    for (int p = 0; p < h * w; p++) px[p] = (unsigned char)(p % 7 ? 230 : 20);
    char err[256];
    snprintf(path, sizeof path, "%s/user/%d.png", dir, i);
    assert_true(rt_image_write_png(path, px, w, h, 1, err, sizeof err));
    free(px);
    snprintf(tsv + strlen(tsv), sizeof tsv - strlen(tsv), "%d.png\t%s\n", i, labels[i]);
  }
  snprintf(path, sizeof path, "%s/user/labels.tsv", dir);
  FILE *f = fopen(path, "w");
  fputs(tsv, f);
  fclose(f);
  snprintf(path, sizeof path, "%s/study.yaml", dir);
  RtDiags d = {0};
  FeLoadOptions opts = {.presets_dir = SMELT_SOURCE_DIR "/presets", .skip_data_check = true};
  FeConfig *c = load_text(path,
                          "experiments:\n"
                          "  like: {model: small, data: {synthetic: {like: user, lines: 3}}}\n"
                          "  own: {model: small, data: {synthetic: {like: user, length: [2, 6], grey: false,"
                          " height: 50, width: 200}, charset: 9aqz}}\n",
                          &opts, &d);
  if (d.count) rt_diags_print(&d, stderr);
  assert_int_equal(d.count, 0);
  const FeData *a = &c->experiments[0].data, *b = &c->experiments[1].data;
  assert_string_equal(a->charset, "9aq"); /* sorted, as training builds it from labels */
  assert_int_equal(a->charset_size, 3);
  assert_true(a->length[0] == 3 && a->length[1] == 4);
  assert_true(a->height == 38 && a->width == 120 && a->grey && a->lines == 3);
  assert_string_equal(b->charset, "9aqz");
  assert_true(b->length[0] == 2 && b->length[1] == 6 && !b->grey && b->height == 50 && b->width == 200);
  fe_config_free(c);
  c = load_text(path, "experiments: {a: {model: small, data: {synthetic: {like: nowhere}}}}", &opts, &d);
  assert_null(c);
  assert_true(d.errors > 0);
  assert_int_equal(d.items[0].line, 1);
  assert_non_null(strstr(d.items[0].msg, "like '"));
  assert_non_null(strstr(d.items[0].msg, "/nowhere'"));
  rt_diags_free(&d);
  snprintf(path, sizeof path, "rm -rf '%s'", dir);
  assert_int_equal(system(path), 0);
}

static void test_module_groups_and_plan(void **state) {
  (void)state;
  FeConfig *c = valid("defaults: {model: small, batch_size: 32}\n"
                      "experiments:\n"
                      "  a: {learning_rate: 0.001}\n"
                      "  b: {learning_rate: 0.002, dropout: 0.2, loss: {type: cross_entropy, label_smoothing: 0.1}}\n"
                      "  c: {batch_size: 64}\n"
                      "  d: {loss: focal}\n"
                      "  e: {optimizer: sgd}\n"
                      "  f: {model: ctc_small}\n"
                      "  g: {learning_rate: 0.01}\n");
  int group[7];
  assert_int_equal(fe_config_module_groups(c, group), 5);
  assert_memory_equal(group, ((int[]){0, 0, 1, 2, 3, 4, 0}), sizeof group);
  char *text;
  size_t len;
  FILE *f = open_memstream(&text, &len);
  fe_plan_print(c, f);
  fclose(f);
  assert_non_null(strstr(text, "mem.yaml: 7 experiments"));
  assert_non_null(strstr(text, "data: synthetic 4000/1000, length 4-8\n"));
  assert_non_null(strstr(text, "12,586,470"));
  assert_non_null(strstr(text, "9,642,597"));
  assert_non_null(strstr(text, "cross_entropy (label_smoothing 0.1)"));
  assert_non_null(strstr(text, "5 compiled modules"));
  assert_non_null(strstr(text, "  small, batch 32, cross_entropy, adam: a b g\n"));
  free(text);
  char buf[32];
  assert_string_equal(fe_format_count(1234567, buf, sizeof buf), "1,234,567");
  assert_string_equal(fe_format_count(999, buf, sizeof buf), "999");
  assert_string_equal(fe_format_count(-1000, buf, sizeof buf), "-1,000");
  fe_config_free(c);
}

static void test_warnings_do_not_fail(void **state) {
  (void)state;
  RtDiags d = {0};
  FeConfig *c = load_text(SMELT_SOURCE_DIR "/tests/frontend/w.yaml",
                          "experiments:\n  a: {model: presets/tiny_ctc.yaml, dropout: 0.3,"
                          " data: {synthetic: {length: [1, 4]}}}\n", NULL, &d);
  assert_non_null(c);
  assert_int_equal(d.count, 1);
  assert_int_equal(d.errors, 0);
  assert_int_equal(d.items[0].level, RT_DIAG_WARNING);
  assert_int_equal(d.items[0].line, 2);
  fe_config_free(c);
  rt_diags_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_phase3_example),         cmocka_unit_test(test_quickstart_example),
      cmocka_unit_test(test_builtin_defaults_and_auto_loss), cmocka_unit_test(test_merging),
      cmocka_unit_test(test_bare_name_equals_mapping), cmocka_unit_test(test_preset_lookup_order),
      cmocka_unit_test(test_data_folders),           cmocka_unit_test(test_module_groups_and_plan),
      cmocka_unit_test(test_warnings_do_not_fail),   cmocka_unit_test(test_fresh_and_curriculum),
      cmocka_unit_test(test_augmentation_presets),   cmocka_unit_test(test_synthetic_like),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
