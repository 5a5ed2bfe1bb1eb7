/* End-to-end training on small presets (tests/train/) and generated CAPTCHAs, through the real
 * path of `smelt train`: config -> data -> compiled model -> training loop -> outputs. The loss
 * falls; a run interrupted and resumed ends exactly like an uninterrupted one; a diverging run
 * is recorded with its step; the outputs parse back, with the plateau diagnostics (per-layer
 * gradient norms, CTC blank rate). */
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "test_support.h"

#include "driver/drv_pipeline.h"
#include "driver/experiment.h"
#include "driver/model_build.h"
#include "runtime/rt_image.h"
#include "runtime/rt_safetensors.h"
#include "runtime/rt_synth.h"
#include "runtime/rt_trainer_main.h"
#include "support/rt_fs.h"

static char tmp[] = "/tmp/smelt-train-XXXXXX";

/* A config with one experiment on `preset` (relative to tests/train), extra YAML lines allowed. */
/* A config of one experiment `run` on `preset` (a file of tests/train, or an absolute path). */
static FeConfig *config(const char *preset, const char *extra) {
  char text[2048];
  snprintf(text, sizeof text,
           "defaults:\n"
           "  epochs: 3\n  batch_size: 16\n  learning_rate: 0.01\n  scheduler: constant\n"
           "  early_stopping: false\n  seed: 7\n"
           "  data: {synthetic: {train: 96, val: 32, seed: 3, length: [1, 3]}, charset: '0123'}\n"
           "experiments:\n  run:\n    model: %s%s\n%s",
           preset[0] == '/' ? "" : SMELT_SOURCE_DIR "/tests/train/", preset, extra ? extra : "");
  RtDiags d = {0};
  FeConfig *c = fe_config_parse("test.yaml", text, strlen(text), NULL, &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  assert_non_null(c);
  return c;
}

typedef struct Trained {
  RtTrainSummary s;
  bool ok;
  char error[600]; /* the first error reported, if any */
} Trained;

enum { FRESH = 0, RESUME = 1, OVERWRITE = 2 }; /* how train() starts */

/* Trains the config's experiment into tmp/<name>, with `epochs` (0: the config's), stopping after
 * max_steps optimizer steps (0: no limit). */
static Trained train_steps(const FeConfig *c, const char *name, int epochs, int start, int64_t max_steps) {
  FeExperiment e = c->experiments[0];
  if (epochs) e.epochs = epochs;
  RtDiags d = {0};
  RtDataset *tr = NULL, *va = NULL;
  ExperimentData ed = {0};
  assert_true(experiment_load_data(&e, &ed, &tr, &va, &d));
  ModelBuild mb;
  ModelBuildOptions mo = {0};
  bool built = model_build(&e, &mo, &mb, &d);
  rt_diags_print(&d, stderr);
  assert_true(built);
  char out[512];
  snprintf(out, sizeof out, "%s/%s", tmp, name);
  char *json = experiment_json(&e);
  RtTrainConfig tc = experiment_train_config(&e, out, json);
  tc.resume = start == RESUME;
  tc.overwrite = start == OVERWRITE;
  tc.charset = va->charset.utf8; /* the training set's; fresh data has none */
  tc.progress = 0;
  tc.max_steps = max_steps;
  Trained t = {0};
  t.ok = rt_train(&mb.model, &tc, tr, va, &t.s, &d);
  for (int i = 0; i < d.count && !t.error[0]; i++)
    if (d.items[i].level == RT_DIAG_ERROR) rt_diag_format(&d.items[i], t.error, sizeof t.error);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  free(json);
  model_build_free(&mb);
  rt_dataset_free(tr);
  rt_dataset_free(va);
  return t;
}

static Trained train(const FeConfig *c, const char *name, int epochs, int start) {
  return train_steps(c, name, epochs, start, 0);
}

/* Trains, then checks results.json: every epoch recorded with a positive validation loss (the
 * evaluation step gets the loss's hyperparameters too), and the training loss of the last epoch
 * below `ratio` times the first's. */
static void check_loss_falls(const char *preset, const char *extra, const char *name, int epochs, double ratio) {
  FeConfig *c = config(preset, extra);
  Trained t = train(c, name, epochs, false);
  assert_true(t.ok);
  assert_int_equal(t.s.status, RT_RUN_OK);
  assert_int_equal(t.s.epochs_run, epochs);
  RtResults r;
  RtDiags d = {0};
  char path[512];
  snprintf(path, sizeof path, "%s/%s/results.json", tmp, name);
  assert_true(rt_results_load(path, &r, &d));
  assert_int_equal(r.history_count, epochs);
  for (int i = 0; i < epochs; i++) {
    double v = r.history[i].v[RT_METRIC_VAL_LOSS];
    if (!(isfinite(v) && v > 0)) fail_msg("%s: val_loss %g at epoch %d", name, v, i + 1);
  }
  bool ctc = strstr(preset, "ctc") != NULL;
  for (int i = 0; i < epochs; i++) { /* the diagnostics: a blank rate for CTC heads only, norms always */
    const RtEpochMetrics *e = &r.history[i];
    double blank = e->v[RT_METRIC_VAL_BLANK_RATE];
    if (ctc ? !(blank >= 0 && blank <= 1) : !isnan(blank))
      fail_msg("%s: val_blank_rate %g at epoch %d", name, blank, i + 1);
    /* attention heads only; a softmax's largest weight is at least 1/T, so above 0 */
    double peak = e->v[RT_METRIC_VAL_ATTENTION_PEAK], forward = e->v[RT_METRIC_VAL_ATTENTION_FORWARD];
    if (ctc ? !isnan(peak) || !isnan(forward) : !(peak > 0 && peak <= 1 + 1e-6 && forward >= 0 && forward <= 1))
      fail_msg("%s: val_attention_peak %g, val_attention_forward %g at epoch %d", name, peak, forward, i + 1);
    assert_true(e->n_grad_norms >= 4);
    for (int k = 0; k < e->n_grad_norms; k++) assert_true(isfinite(e->grad_norm[k].norm) && e->grad_norm[k].norm > 0);
    assert_true(isfinite(e->v[RT_METRIC_GRAD_NORM_TOTAL]));
  }
  double first = r.history[0].v[RT_METRIC_TRAIN_LOSS], last = r.history[epochs - 1].v[RT_METRIC_TRAIN_LOSS];
  printf("%s: train loss %.4f -> %.4f, val char acc %.3f\n", name, first, last,
         r.history[epochs - 1].v[RT_METRIC_VAL_CHAR_ACC]);
  assert_true(last < ratio * first);
  rt_results_free(&r);
  fe_config_free(c);
}

/* val_predictions.tsv holds every validation sample once, with its image, label and the best
 * epoch's prediction: the share of rows whose prediction equals the label is that epoch's
 * sequence accuracy, exactly. */
static void test_val_predictions_match_best_epoch(void **state) {
  FeConfig *c = config("mini_ctc.yaml", "    loss: ctc\n    learning_rate: 0.02\n");
  Trained t = train(c, "predictions", 60, FRESH);
  assert_true(t.ok);
  assert_true(t.s.best_epoch > 0);
  char path[512], line[512];
  snprintf(path, sizeof path, "%s/predictions/val_predictions.tsv", tmp);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  int rows = 0, right = 0;
  while (fgets(line, sizeof line, f)) {
    char *tab1 = strchr(line, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
    assert_non_null(tab2);
    *tab1 = *tab2 = '\0';
    tab2[1 + strcspn(tab2 + 1, "\n")] = '\0';
    assert_true(access(line, R_OK) == 0); /* the image, readable from here */
    right += strcmp(tab1 + 1, tab2 + 1) == 0;
    rows++;
  }
  fclose(f);
  assert_int_equal(rows, 32);
  assert_true(right > 0); /* 60 epochs read a few: the comparison below means something */
  printf("predictions: %d of %d right, best val_seq_acc %.4f\n", right, rows, t.s.best.v[RT_METRIC_VAL_SEQ_ACC]);
  assert_float_equal((double)right / rows, t.s.best.v[RT_METRIC_VAL_SEQ_ACC], 1e-9);
  fe_config_free(c);
  (void)state;
}

static void test_ctc_loss_falls(void **state) {
  check_loss_falls("mini_ctc.yaml", "    loss: ctc\n", "ctc", 6, 0.8);
}

static void test_attention_loss_falls_with_dropout(void **state) {
  check_loss_falls("mini_attention.yaml", "    loss: {type: cross_entropy, label_smoothing: 0.05}\n", "attention",
                   4, 0.9);
}

static void test_focal_loss_falls(void **state) {
  check_loss_falls("mini_attention.yaml", "    loss: {type: focal, gamma: 2.0, alpha: 0.5}\n", "focal", 3, 0.9);
}

/* precision: bf16 (the training step's products on bf16-rounded inputs; on AMX tiles where the
 * machine has them) learns like fp32, and results.json says which it was. */
static void test_bf16_loss_falls(void **state) {
  (void)state;
  char why[256];
  if (!drv_bf16_supported(NULL, why, sizeof why)) {
    printf("skipped: %s\n", why);
    return;
  }
  check_loss_falls("mini_ctc.yaml", "    loss: ctc\n    precision: bf16\n", "ctc_bf16", 6, 0.8);
  char path[512];
  snprintf(path, sizeof path, "%s/ctc_bf16/results.json", tmp);
  uint8_t *text = NULL;
  size_t len = 0;
  RtDiags d = {0};
  assert_true(rt_fs_read_file(path, &text, &len, &d));
  cJSON *o = cJSON_ParseWithLength((const char *)text, len);
  const cJSON *settings = cJSON_GetObjectItemCaseSensitive(o, "config");
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(settings, "precision")), "bf16");
  cJSON_Delete(o);
  free(text);
}

/* The bytes of every tensor of a checkpoint, for exact comparison. */
static bool same_checkpoints(const char *a, const char *b) {
  RtDiags d = {0};
  RtStFile *fa = rt_st_load(a, &d), *fb = rt_st_load(b, &d);
  bool same = fa && fb && rt_st_count(fa) == rt_st_count(fb);
  for (int i = 0; same && i < rt_st_count(fa); i++) {
    const RtStTensor *x = rt_st_tensor(fa, i), *y = rt_st_find(fb, x->name);
    same = y && x->nbytes == y->nbytes && !memcmp(x->data, y->data, x->nbytes);
  }
  rt_st_free(fa);
  rt_st_free(fb);
  rt_diags_free(&d);
  return same;
}

/* A run folder's file as text, for "left as it was" checks (tests/support). */
static char *slurp(const char *name, const char *file) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s/%s", tmp, name, file);
  return test_read_text(path, NULL);
}

/* A start into tmp/<name> that must be refused with `message`, leaving results.json as it was. */
static void expect_refused(const FeConfig *c, const char *name, int epochs, int start, const char *message) {
  char *before = slurp(name, "results.json");
  assert_non_null(before);
  Trained t = train(c, name, epochs, start);
  assert_false(t.ok);
  if (!strstr(t.error, message)) fail_msg("expected '%s', got '%s'", message, t.error);
  char *after = slurp(name, "results.json");
  assert_string_equal(before, after);
  free(before);
  free(after);
}

/* An earlier run is never lost by accident: a fresh start into its folder is refused (and
 * writes nothing), a resume with other settings or fewer epochs is refused, --overwrite starts
 * over, and a resume of a run that had stopped early trains no further. */
static void test_earlier_run_protected(void **state) {
  FeConfig *c = config("mini_ctc.yaml", "    loss: ctc\n");
  Trained first = train(c, "kept", 2, false);
  assert_true(first.ok);
  RtResults r;
  RtDiags rd = {0};
  char rpath[600];
  snprintf(rpath, sizeof rpath, "%s/kept/results.json", tmp);
  assert_true(rt_results_load(rpath, &r, &rd));
  double first_epoch_loss = r.history[0].v[RT_METRIC_TRAIN_LOSS];
  rt_results_free(&r);
  expect_refused(c, "kept", 2, FRESH, "holds an earlier run of 'run'; --resume continues it, --overwrite");
  expect_refused(c, "kept", 1, RESUME, "has completed 2 epochs, more than the 1 asked for");
  FeConfig *other = config("mini_ctc.yaml", "    loss: ctc\n    learning_rate: 0.02\n");
  expect_refused(other, "kept", 3, RESUME, "was trained with other settings (its setting 'learning_rate' differs: was 0.01, now 0.02)");
  fe_config_free(other);
  FeConfig *relabelled = config("mini_ctc.yaml", "    loss: ctc\n    data: {synthetic: {train: 96, val: 32, seed: 3, "
                                                 "length: [1, 3]}, charset: '3210'}\n");
  expect_refused(relabelled, "kept", 3, RESUME, "\"charset\":\"0123\"}, now {"); /* other class ids */
  fe_config_free(relabelled);
  Trained longer = train(c, "kept", 3, RESUME); /* extending the same run is fine */
  assert_true(longer.ok);
  assert_int_equal(longer.s.epochs_run, 3);

  /* --resume with nothing to resume from: a best checkpoint and results are kept, not wiped */
  char last[600];
  snprintf(last, sizeof last, "%s/kept/last.safetensors", tmp);
  assert_int_equal(unlink(last), 0);
  expect_refused(c, "kept", 4, RESUME, "no last.safetensors to resume from; --overwrite starts over");

  /* a folder whose labels changed in place: its symbols, hence the class ids, are others now */
  char folder[600], cmd[2000], synth[600];
  experiment_synth_dir(&c->experiments[0], synth, sizeof synth);
  snprintf(folder, sizeof folder, "%s/folder", tmp);
  snprintf(cmd, sizeof cmd, "rm -rf %s && cp -r %s %s", folder, synth, folder);
  assert_int_equal(system(cmd), 0);
  char extra[1600];
  snprintf(extra, sizeof extra, "    loss: ctc\n    data: {train: %s/train, val: %s/val}\n", folder, folder);
  FeConfig *folders = config("mini_ctc.yaml", extra);
  assert_null(folders->experiments[0].data.charset); /* from the labels */
  assert_true(train(folders, "folders", 1, FRESH).ok);
  snprintf(cmd, sizeof cmd, "cd %s && sed -i 's/3/2/g' train/labels.tsv val/labels.tsv", folder);
  assert_int_equal(system(cmd), 0); /* no '3' left: the charset is 012 */
  expect_refused(folders, "folders", 2, RESUME, "(its charset, the symbols of the data's labels, differs)");
  fe_config_free(folders);

  /* two trainers never write one folder: while one holds it, another is refused */
  char held[600];
  snprintf(held, sizeof held, "%s/kept", tmp);
  RtDiags ld = {0};
  int lock = rt_run_dir_lock(held, &ld);
  assert_true(lock >= 0);
  expect_refused(c, "kept", 4, OVERWRITE, "another trainer is writing to this folder");
  close(lock);
  rt_diags_free(&ld);

  /* an edited preset is another network, even where every tensor keeps its shape; comments and
   * layout are not */
  char preset[600];
  snprintf(preset, sizeof preset, "%s/edited.yaml", tmp);
  snprintf(cmd, sizeof cmd, "cp %s/tests/train/mini_ctc.yaml %s", SMELT_SOURCE_DIR, preset);
  assert_int_equal(system(cmd), 0);
  FeConfig *edited = config(preset, "    loss: ctc\n");
  assert_true(train(edited, "edited", 1, FRESH).ok);
  fe_config_free(edited);
  snprintf(cmd, sizeof cmd, "sed -i 's/^# /#  /; s/{kind: dropout}/{kind: dropout,   }/' %s", preset);
  assert_int_equal(system(cmd), 0);
  edited = config(preset, "    loss: ctc\n");
  assert_true(train(edited, "edited", 2, RESUME).ok);
  fe_config_free(edited);
  snprintf(cmd, sizeof cmd, "sed -i 's/{kind: dropout,   }/{kind: dropout, rate: 0.9}/' %s", preset);
  assert_int_equal(system(cmd), 0);
  edited = config(preset, "    loss: ctc\n");
  expect_refused(edited, "edited", 3, RESUME, "(its setting 'network' differs)");
  fe_config_free(edited);

  /* a cosine schedule depends on the run's length: extending it would bend the curve */
  FeConfig *cosine = config("mini_ctc.yaml", "    loss: ctc\n    scheduler: {type: cosine, warmup_epochs: 0}\n");
  assert_true(train(cosine, "cosine", 2, FRESH).ok);
  expect_refused(cosine, "cosine", 3, RESUME, "follows a cosine schedule over 2 epochs; resuming with 3");
  fe_config_free(cosine);

  /* early stopping with patience 0 on a metric that cannot improve after epoch 1 */
  FeConfig *early = config("mini_ctc.yaml", "    loss: ctc\n    early_stopping: {metric: val_loss, patience: 0, "
                                            "min_delta: 1000}\n");
  Trained stopped = train(early, "early", 4, false);
  assert_true(stopped.ok);
  assert_int_equal(stopped.s.status, RT_RUN_EARLY_STOPPED);
  assert_int_equal(stopped.s.epochs_run, 2);
  Trained resumed = train(early, "early", 4, true);
  assert_true(resumed.ok);
  assert_int_equal(resumed.s.status, RT_RUN_EARLY_STOPPED);
  assert_int_equal(resumed.s.epochs_run, 2);
  fe_config_free(early);

  Trained over = train(c, "kept", 1, OVERWRITE);
  assert_true(over.ok);
  assert_int_equal(over.s.epochs_run, 1);
  char path[600];
  snprintf(path, sizeof path, "%s/kept/metrics.jsonl", tmp);
  RtEpochMetrics *h;
  int32_t n;
  RtDiags d = {0};
  assert_true(rt_epoch_log_load(path, -1, &h, &n, &d));
  assert_int_equal(n, 1); /* the earlier run's lines are gone */
  assert_true(h[0].v[RT_METRIC_TRAIN_LOSS] == first_epoch_loss); /* a fresh start, not the old weights */
  free(h);
  fe_config_free(c);
}

/* Writes a file of `bytes` zeros into tmp/<run>/<file>. */
static void plant(const char *run, const char *file, size_t bytes) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s/%s", tmp, run, file);
  void *zeros = calloc(1, bytes + 1);
  RtDiags d = {0};
  assert_true(rt_fs_write_atomic(path, zeros, bytes, &d));
  free(zeros);
}

static bool exists(const char *run, const char *file) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s/%s", tmp, run, file);
  return access(path, F_OK) == 0;
}

/* Trains c's experiment for `epochs` into tmp/<whole>, and into tmp/<parts> interrupted after its
 * first epoch (after `first_steps` steps of the whole run when > 0, else as a 1-epoch run) and
 * then resumed: both must end with the same metrics and bit-identical last checkpoints. Returns
 * the resumed run's outcome. */
static Trained expect_resume_matches(const FeConfig *c, const char *whole, const char *parts, int epochs,
                                  int64_t first_steps) {
  Trained all = train(c, whole, epochs, FRESH);
  Trained part = first_steps > 0 ? train_steps(c, parts, epochs, FRESH, first_steps) : train(c, parts, 1, FRESH);
  assert_int_equal(part.s.epochs_run, 1);
  Trained rest = train(c, parts, epochs, RESUME);
  assert_true(all.ok && part.ok && rest.ok);
  assert_int_equal(rest.s.epochs_run, epochs);
  for (int k = 0; k < RT_METRIC_COUNT; k++) {
    if (k == RT_METRIC_SAMPLES_PER_S || k == RT_METRIC_SECONDS) continue;
    assert_float_equal(all.s.last.v[k], rest.s.last.v[k], 0.0);
  }
  assert_int_equal(all.s.last.n_grad_norms, rest.s.last.n_grad_norms); /* the diagnostics too */
  for (int k = 0; k < all.s.last.n_grad_norms; k++)
    assert_true(all.s.last.grad_norm[k].norm == rest.s.last.grad_norm[k].norm);
  char a[512], b[512];
  snprintf(a, sizeof a, "%s/%s/last.safetensors", tmp, whole);
  snprintf(b, sizeof b, "%s/%s/last.safetensors", tmp, parts);
  assert_true(same_checkpoints(a, b));
  return rest;
}

/* A trainer killed while writing a checkpoint or results.json leaves its temporary file; the
 * next run of the folder (resumed or started over) removes those, and only those. */
static void test_crash_leftovers_removed(void **state) {
  FeConfig *c = config("mini_ctc.yaml", "    loss: ctc\n");
  assert_true(train(c, "crashed", 1, FRESH).ok);
  static const char *const leftovers[] = {"best.safetensors.tmp.4242.0", "last.safetensors.tmp.4242.1",
                                          "results.json.tmp.17.3", "metrics.jsonl.tmp.99999.12"};
  static const char *const others[] = {"notes.tmp.1.2", "best.safetensors.tmp.1", "last.safetensors.tmp.1.2.bak",
                                       "best.safetensors.tmp.x.1", "other.safetensors.tmp.1.2", "best.safetensors.bak"};
  for (int round = 0; round < 2; round++) {
    for (size_t i = 0; i < sizeof leftovers / sizeof *leftovers; i++) plant("crashed", leftovers[i], 70000);
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) plant("crashed", others[i], 10);
    /* first a resume, then a fresh start over the run */
    Trained t = round == 0 ? train(c, "crashed", 2, RESUME) : train(c, "crashed", 1, OVERWRITE);
    assert_true(t.ok);
    for (size_t i = 0; i < sizeof leftovers / sizeof *leftovers; i++)
      if (exists("crashed", leftovers[i])) fail_msg("round %d: %s is still there", round, leftovers[i]);
    for (size_t i = 0; i < sizeof others / sizeof *others; i++)
      if (!exists("crashed", others[i])) fail_msg("round %d: %s was removed", round, others[i]);
  }
  fe_config_free(c);
}

static void test_resume_matches_uninterrupted(void **state) {
  FeConfig *c = config("mini_ctc.yaml", "    loss: ctc\n    dropout: 0.1\n"
                                        "    augmentation: {enabled: true}\n");
  Trained rest = expect_resume_matches(c, "whole", "parts", 3, 0);
  char a[512];
  /* the resumed run's wall time covers both processes: at least every epoch's own time */
  RtResults r;
  RtDiags d = {0};
  snprintf(a, sizeof a, "%s/parts/results.json", tmp);
  assert_true(rt_results_load(a, &r, &d));
  double epochs_time = 0;
  for (int i = 0; i < r.history_count; i++) epochs_time += r.history[i].v[RT_METRIC_SECONDS];
  if (!(r.wall_time_s >= epochs_time && r.wall_time_s <= rest.s.wall_seconds))
    fail_msg("wall time %.6f s, epochs %.6f s, summary %.6f s", r.wall_time_s, epochs_time, rest.s.wall_seconds);
  rt_results_free(&r);
  fe_config_free(c);
}

/* Issue 17's diagnostics of a one-step CTC epoch: metrics.jsonl records every layer with params
 * under its name (the preset's layers in order), each layer's norm is the square root of its
 * compiled grad_sq output, and with one step their squares add up to grad_norm_total's square;
 * the blank rate is a share of the validation time steps. */
static void test_diagnostics_one_step(void **state) {
  FeConfig *c = config("mini_ctc.yaml", "    loss: ctc\n    grad_clip: 0.5\n");
  Trained t = train_steps(c, "diagnostics", 1, FRESH, 1);
  assert_true(t.ok);
  char path[600];
  snprintf(path, sizeof path, "%s/diagnostics/metrics.jsonl", tmp);
  char *text = test_read_text(path, NULL);
  assert_non_null(text);
  cJSON *o = cJSON_Parse(text);
  assert_non_null(o);
  printf("metrics.jsonl: %s", text);
  static const char *const layers[] = {"conv2d_1", "batchnorm_1", "conv2d_2", "batchnorm_2", "lstm_1", "head"};
  const cJSON *norms = cJSON_GetObjectItemCaseSensitive(o, "grad_norm");
  assert_true(cJSON_IsObject(norms));
  assert_int_equal(cJSON_GetArraySize(norms), 6);
  double squares = 0;
  int k = 0;
  for (const cJSON *l = norms->child; l; l = l->next, k++) {
    assert_string_equal(l->string, layers[k]);
    assert_true(cJSON_IsNumber(l) && l->valuedouble > 0);
    squares += l->valuedouble * l->valuedouble;
  }
  const cJSON *total_item = cJSON_GetObjectItemCaseSensitive(o, "grad_norm_total");
  const cJSON *blank_item = cJSON_GetObjectItemCaseSensitive(o, "val_blank_rate");
  assert_true(cJSON_IsNumber(total_item) && cJSON_IsNumber(blank_item));
  double total = total_item->valuedouble;
  assert_float_equal(squares, total * total, 1e-9 * total * total);
  /* above the clipping threshold: the norms are the raw gradients', before clipping */
  assert_true(total > 0.5);
  double blank = blank_item->valuedouble;
  assert_true(blank >= 0 && blank <= 1);
  assert_true(t.s.last.v[RT_METRIC_VAL_BLANK_RATE] == blank);
  cJSON_Delete(o);
  free(text);
  fe_config_free(c);
  (void)state;
}

/* The per-epoch history of tmp/<name>/results.json (caller frees). */
static RtResults results_of(const char *name) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s/results.json", tmp, name);
  RtResults r;
  RtDiags d = {0};
  assert_true(rt_results_load(path, &r, &d));
  rt_diags_free(&d);
  return r;
}

/* one_cycle and a warm-up are functions of the step and of the state a checkpoint keeps: a run
 * stopped after its first epoch (6 steps) and resumed ends bit for bit like an uninterrupted one.
 * The loop gives them the run's steps: one_cycle over 3 x 6 steps rises until step
 * 0.4 * 18 - 1 = 6.2 (step 5 ends epoch 1) and ends at learning_rate / 25 / 1e4; a warm-up of 2
 * epochs reaches half the rate at the end of the first. */
static void test_resume_one_cycle_and_warmup(void **state) {
  const struct {
    const char *yaml, *name;
    double first_lr, last_lr; /* the rates of the last steps of epochs 1 and 3 */
  } runs[] = {
      {"    scheduler: {type: one_cycle, pct_start: 0.4}\n", "one_cycle",
       0.01 + (0.01 / 25 - 0.01) / 2 * (cos(M_PI * 5 / 6.2) + 1), 0.01 / 25 / 1e4},
      {"    scheduler: {type: reduce_on_plateau, warmup_epochs: 2, patience: 0}\n", "plateau_warmup", 0.01 * 6 / 12,
       NAN},
  };
  for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
    char extra[256], whole_dir[64], parts_dir[64];
    snprintf(extra, sizeof extra, "    loss: ctc\n%s", runs[i].yaml);
    snprintf(whole_dir, sizeof whole_dir, "%s_whole", runs[i].name);
    snprintf(parts_dir, sizeof parts_dir, "%s_parts", runs[i].name);
    FeConfig *c = config("mini_ctc.yaml", extra);
    expect_resume_matches(c, whole_dir, parts_dir, 3, 6); /* 6 steps: epoch 1 of the 3-epoch run */
    RtResults r = results_of(whole_dir);
    assert_int_equal(r.history_count, 3);
    assert_float_equal(r.history[0].v[RT_METRIC_LR], runs[i].first_lr, 1e-12);
    if (!isnan(runs[i].last_lr)) assert_float_equal(r.history[2].v[RT_METRIC_LR], runs[i].last_lr, 1e-15);
    rt_results_free(&r);
    if (i == 0) /* laid over the run's length, like cosine: its epochs cannot change midway */
      expect_refused(c, parts_dir, 4, RESUME, "follows a one_cycle schedule over 3 epochs; resuming with 4");
    fe_config_free(c);
  }
}

/* mini_attention with a stacked bidirectional LSTM (2 layers): five LSTMs with a gate bias, four
 * in the encoder and the decoder's cell. Written to tmp; returns its path. */
static const char *stacked_lstm_preset(void) {
  static char path[600];
  snprintf(path, sizeof path, "%s/stacked_lstm.yaml", tmp);
  char *text = test_read_text(SMELT_SOURCE_DIR "/tests/train/mini_attention.yaml", NULL);
  assert_non_null(text);
  const char *old = "{kind: lstm, hidden: 16, bidirectional: true}";
  char *at = strstr(text, old);
  assert_non_null(at);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "%.*s{kind: lstm, hidden: 16, layers: 2, bidirectional: true}%s", (int)(at - text), text,
          at + strlen(old));
  fclose(f);
  free(text);
  return path;
}

/* The gate biases of a model, by name, in state order. */
static const char *const LSTM_BIASES[] = {"lstm_1.l0.bias", "lstm_1.l0_reverse.bias", "lstm_1.l1.bias",
                                          "lstm_1.l1_reverse.bias", "head.cell.bias"};

/* lstm_forget_bias: the forget-gate block (the second of i, f, g, o) of every LSTM's bias, in
 * the encoder's layers and directions and in the attention decoder's cell, starts at the value;
 * every other number of the initial state is the one drawn without the setting (same seed). */
static void test_lstm_forget_bias_init(void **state) {
  FeConfig *c = config(stacked_lstm_preset(), "    lstm_forget_bias: 1.5\n");
  FeExperiment e = c->experiments[0];
  RtTrainConfig tc = experiment_train_config(&e, tmp, NULL);
  assert_float_equal(tc.lstm_forget_bias, 1.5, 0);
  RtDiags d = {0};
  ModelBuild mb;
  ModelBuildOptions mo = {0};
  assert_true(model_build(&e, &mo, &mb, &d));
  const RtModel *m = &mb.model;
  char *plain = rt_region_alloc(m->state_bytes), *set = rt_region_alloc(m->state_bytes);
  rt_model_init_state(m, plain, tc.seed, NAN);
  rt_model_init_state(m, set, tc.seed, tc.lstm_forget_bias);
  int biases = 0;
  for (int i = 0; i < m->n_state; i++) {
    const RtSlot *s = &m->state[i];
    const float *a = (const float *)(plain + s->offset), *b = (const float *)(set + s->offset);
    int64_t n = rt_slot_numel(s), h = n / 4;
    bool gate_bias = false;
    for (size_t k = 0; k < sizeof LSTM_BIASES / sizeof *LSTM_BIASES; k++) gate_bias |= !strcmp(s->name, LSTM_BIASES[k]);
    if (gate_bias != s->lstm_bias) fail_msg("%s: lstm_bias %d", s->name, s->lstm_bias);
    biases += gate_bias;
    for (int64_t j = 0; j < n; j++) {
      bool forget = gate_bias && j >= h && j < 2 * h;
      if (forget ? b[j] != 1.5f : memcmp(&a[j], &b[j], sizeof *a) != 0)
        fail_msg("%s[%" PRId64 "]: %g with the setting, %g without", s->name, j, b[j], a[j]);
    }
  }
  assert_int_equal(biases, 5);
  free(plain);
  free(set);
  model_build_free(&mb);
  rt_diags_free(&d);
  fe_config_free(c);
}

/* `smelt train` initialises with the setting: after one Adam step of 1e-6 (which moves every
 * number by at most the rate) each forget-gate block still holds the value. */
static void test_lstm_forget_bias_trained(void **state) {
  FeConfig *c = config(stacked_lstm_preset(), "    lstm_forget_bias: -2.0\n    learning_rate: 0.000001\n");
  assert_true(train_steps(c, "forget_bias", 1, FRESH, 1).ok);
  char path[600];
  snprintf(path, sizeof path, "%s/forget_bias/last.safetensors", tmp);
  RtDiags d = {0};
  RtStFile *f = rt_st_load(path, &d);
  assert_non_null(f);
  for (size_t k = 0; k < sizeof LSTM_BIASES / sizeof *LSTM_BIASES; k++) {
    const RtStTensor *t = rt_st_find(f, LSTM_BIASES[k]);
    assert_non_null(t);
    int64_t h = t->count / 4;
    for (int64_t j = 0; j < 4 * h; j++) {
      float v;
      memcpy(&v, t->data + j * sizeof v, sizeof v); /* the tensor data need not be aligned */
      bool forget = j >= h && j < 2 * h;
      if (forget ? fabsf(v + 2.0f) > 1e-5f : fabsf(v) > 0.26f) /* others: U(-1/sqrt(16), 1/sqrt(16)) */
        fail_msg("%s[%" PRId64 "] = %g", LSTM_BIASES[k], j, v);
    }
  }
  rt_st_free(f);
  rt_diags_free(&d);
  fe_config_free(c);
}

/* ema_decay: after one epoch, best.safetensors holds the average (the last checkpoint's
 * opt.ema.* tensors), not the trained weights, and its epoch's metrics are the average's; the
 * weights moved away from the average. A run resumed mid-way ends exactly as an uninterrupted one. */
static void test_ema_best_is_average(void **state) {
  FeConfig *c = config("mini_ctc.yaml", "    loss: ctc\n    ema_decay: 0.9\n");
  Trained t = train(c, "ema", 1, FRESH);
  assert_true(t.ok);
  char best[512], last[512];
  snprintf(best, sizeof best, "%s/ema/best.safetensors", tmp);
  snprintf(last, sizeof last, "%s/ema/last.safetensors", tmp);
  RtDiags d = {0};
  RtStFile *fb = rt_st_load(best, &d), *fl = rt_st_load(last, &d);
  assert_non_null(fb);
  assert_non_null(fl);
  int averaged = 0, moved = 0;
  for (int i = 0; i < rt_st_count(fb); i++) {
    const RtStTensor *x = rt_st_tensor(fb, i);
    assert_true(strncmp(x->name, "opt.ema.", 8) != 0); /* the best model carries no second copy */
    if (!strncmp(x->name, "opt.", 4)) continue;
    char name[300];
    snprintf(name, sizeof name, "opt.ema.%s", x->name);
    const RtStTensor *avg = rt_st_find(fl, name), *w = rt_st_find(fl, x->name);
    assert_non_null(avg);
    assert_non_null(w);
    assert_memory_equal(x->data, avg->data, x->nbytes);
    averaged++;
    moved += memcmp(w->data, avg->data, w->nbytes) != 0;
  }
  assert_true(averaged > 0);
  assert_true(moved > 0);
  rt_st_free(fb);
  rt_st_free(fl);
  rt_diags_free(&d);
  expect_resume_matches(c, "ema_whole", "ema_parts", 3, 0);
  fe_config_free(c);
  (void)state;
}

static const char FRESH_DATA[] = "    data: {synthetic: {train: 96, val: 32, seed: 3, length: [1, 3], fresh: true}, "
                                 "charset: '0123'}\n";

/* Fresh data with a curriculum: interrupted after epoch 1 and resumed, the run ends with the
 * metrics and weights of an uninterrupted one (every epoch's set is a function of the seed and
 * the epoch); the allowed label length of each epoch is recorded. */
static void test_fresh_resume_matches_uninterrupted(void **state) {
  char extra[512];
  snprintf(extra, sizeof extra, "    loss: ctc\n    curriculum: {epochs: 2}\n%s", FRESH_DATA);
  FeConfig *c = config("mini_ctc.yaml", extra);
  expect_resume_matches(c, "fresh-whole", "fresh-parts", 3, 0);
  RtResults r = results_of("fresh-parts");
  for (int e = 0; e < 3; e++) {
    assert_float_equal(r.history[e].v[RT_METRIC_MAX_LABEL_LEN], e + 1, 0.0); /* 1, 2, then all 3 */
    assert_int_equal(r.history[e].step, 6 * (e + 1));                      /* 96 fresh samples each */
  }
  rt_results_free(&r);
  fe_config_free(c);
}

/* Epoch 0 of fresh data is the fixed set (same samples, same order: the same training loss);
 * epoch 1 trains on new samples (another loss than the fixed set's second pass). */
static void test_fresh_epochs_are_new(void **state) {
  char extra[512];
  snprintf(extra, sizeof extra, "    loss: ctc\n%s", FRESH_DATA);
  FeConfig *fresh = config("mini_ctc.yaml", extra);
  FeConfig *fixed = config("mini_ctc.yaml", "    loss: ctc\n");
  Trained a = train(fresh, "fresh-new", 2, false), b = train(fixed, "fixed-same", 2, false);
  assert_true(a.ok && b.ok);
  RtResults ra = results_of("fresh-new"), rb = results_of("fixed-same");
  assert_float_equal(ra.history[0].v[RT_METRIC_TRAIN_LOSS], rb.history[0].v[RT_METRIC_TRAIN_LOSS], 0.0);
  assert_true(ra.history[1].v[RT_METRIC_TRAIN_LOSS] != rb.history[1].v[RT_METRIC_TRAIN_LOSS]);
  for (int e = 0; e < 2; e++)
    printf("epoch %d: fresh train %.6f val %.6f, fixed train %.6f val %.6f\n", e + 1,
           ra.history[e].v[RT_METRIC_TRAIN_LOSS], ra.history[e].v[RT_METRIC_VAL_LOSS],
           rb.history[e].v[RT_METRIC_TRAIN_LOSS], rb.history[e].v[RT_METRIC_VAL_LOSS]);
  assert_true(isfinite(ra.history[1].v[RT_METRIC_VAL_LOSS]));
  assert_true(isnan(rb.history[1].v[RT_METRIC_MAX_LABEL_LEN])); /* no curriculum: not recorded */
  rt_results_free(&ra);
  rt_results_free(&rb);
  fe_config_free(fresh);
  fe_config_free(fixed);
}

/* A folder mixed with fresh samples: every epoch trains on the folder's training part and the
 * epoch's generated samples together (the steps of 36 + 32 samples at batch 16), validates on
 * the folder's held-out part, records both in the settings, and resumes to the metrics and
 * weights of an uninterrupted run. The folder's labels have one length, the generated 1-3. */
static void test_mixed_folder_and_fresh(void **state) {
  char dir[600], extra[1400];
  snprintf(dir, sizeof dir, "%s/mixed-folder", tmp);
  RtSynthOptions so = {.charset = "0123", .min_len = 2, .max_len = 2};
  RtDiags d = {0};
  assert_true(rt_synth_generate(dir, 48, 9, &so, &d));
  snprintf(extra, sizeof extra,
           "    loss: ctc\n    data: {train: %s, val_split: 0.25, synthetic: {train: 32, seed: 3, length: [1, 3], "
           "fresh: true}}\n",
           dir);
  FeConfig *c = config("mini_ctc.yaml", extra);
  expect_resume_matches(c, "mixed-whole", "mixed-parts", 3, 0);
  RtResults r = results_of("mixed-parts");
  for (int e = 0; e < 3; e++) assert_int_equal(r.history[e].step, 5 * (e + 1)); /* ceil((36 + 32) / 16) */
  assert_non_null(strstr(r.config_json, "\"val_split\"")); /* the folder, and what is generated with it */
  assert_non_null(strstr(r.config_json, "\"synthetic_train\""));
  assert_null(strstr(r.config_json, "synthetic_val"));
  rt_results_free(&r);
  rt_diags_free(&d);
  fe_config_free(c);
  (void)state;
}

/* A curriculum on a fixed set leaves the longer labels out of the first epochs: epoch 0 trains on
 * the samples with the shortest labels only (its steps are those of that many samples), epoch 1
 * on those up to 2 symbols, and from epoch 2 (K) on everything. */
static void test_curriculum_on_fixed_set(void **state) {
  FeConfig *c = config("mini_ctc.yaml", "    loss: ctc\n    curriculum: {epochs: 2}\n");
  RtDataset *tr = NULL, *va = NULL;
  RtDiags d = {0};
  assert_true(experiment_load_data(&c->experiments[0], &(ExperimentData){0}, &tr, &va, &d));
  int upto[4] = {0}; /* samples with labels of at most n symbols */
  for (int i = 0; i < tr->count; i++)
    for (int n = tr->label_len[i]; n <= 3; n++) upto[n]++;
  assert_true(upto[1] > 0 && upto[1] < upto[2] && upto[2] < upto[3]);
  rt_dataset_free(tr);
  rt_dataset_free(va);
  Trained t = train(c, "curriculum", 3, false);
  assert_true(t.ok);
  RtResults r = results_of("curriculum");
  int64_t steps = 0;
  for (int e = 0; e < 3; e++) {
    int bound = e + 1;
    assert_float_equal(r.history[e].v[RT_METRIC_MAX_LABEL_LEN], bound, 0.0);
    steps += (upto[bound] + 15) / 16;
    assert_int_equal(r.history[e].step, steps);
  }
  rt_results_free(&r);
  fe_config_free(c);
}

/* The strong preset's CAPTCHA effects keep no state: a run resumed after epoch 1 ends exactly like
 * an uninterrupted one. */
static void test_resume_with_strong_augmentation(void **state) {
  FeConfig *c = config("mini_ctc.yaml", "    loss: ctc\n    augmentation: strong\n");
  assert_true(c->experiments[0].augmentation.lines > 0 && c->experiments[0].augmentation.wave > 0);
  expect_resume_matches(c, "strong_whole", "strong_parts", 2, 0);
  fe_config_free(c);
}


/* A folder without a validation folder is split the same way for every experiment, whatever its
 * seed: experiments of a sweep over seeds are validated on the same samples. */
static void test_split_ignores_seed(void **state) {
  FeConfig *synth = config("mini_ctc.yaml", "    loss: ctc\n");
  char dir[600], extra[1000];
  experiment_synth_dir(&synth->experiments[0], dir, sizeof dir);
  RtDataset *train = NULL, *val = NULL;
  RtDiags d = {0};
  assert_true(experiment_load_data(&synth->experiments[0], &(ExperimentData){0}, &train, &val, &d)); /* generated */
  rt_dataset_free(train);
  rt_dataset_free(val);
  fe_config_free(synth);
  const char *first = NULL;
  for (int seed = 1; seed <= 2; seed++) {
    snprintf(extra, sizeof extra, "    loss: ctc\n    seed: %d\n    data: {train: %s/train, val_split: 0.25}\n", seed,
             dir);
    FeConfig *c = config("mini_ctc.yaml", extra);
    assert_true(experiment_load_data(&c->experiments[0], &(ExperimentData){0}, &train, &val, &d));
    char *paths = calloc((size_t)val->count + 1, 64); /* "images/000012.png " each */
    for (int i = 0; i < val->count; i++) strcat(strcat(paths, val->paths[i]), " ");
    if (!first) first = paths;
    else assert_string_equal(first, paths);
    if (first != paths) free(paths);
    rt_dataset_free(train);
    rt_dataset_free(val);
    fe_config_free(c);
  }
  free((void *)first);
  rt_diags_free(&d);
}

/* The generator style of a config whose synthetic data (96/32, seed 3, lengths 1-3) adds `keys`,
 * as fresh samples get it after the trainer's JSON and back; its cache folder goes to dir. */
static RtSynthOptions styled(const char *keys, RtArena *arena, char *dir, size_t size) {
  char extra[512];
  snprintf(extra, sizeof extra,
           "    loss: ctc\n    data: {synthetic: {train: 96, val: 32, seed: 3, length: [1, 3], %s}, charset: '0123'}\n", keys);
  FeConfig *c = config("mini_ctc.yaml", extra);
  experiment_synth_dir(&c->experiments[0], dir, size);
  assert_non_null(strstr(dir, "-st"));
  RtTrainerData data = experiment_data(&c->experiments[0], arena), back;
  cJSON *json = rt_trainer_data_json(&data);
  RtDiags d = {0};
  assert_true(rt_trainer_data_from_json(json, &back, "test", &d));
  back.fresh = true;
  RtSynthOptions style = rt_trainer_fresh_config(&back).style;
  if (style.fonts) style.fonts = rt_arena_strdup(arena, style.fonts); /* json owns it */
  cJSON_Delete(json);
  fe_config_free(c);
  return style;
}

/* The generator's style in a config's synthetic mapping reaches the generated set (its own cache
 * folder, grey pictures of the size asked for, synth.json saying so) and survives the JSON that
 * built trainers embed; the default mix keeps its folder name. */
static void test_synthetic_style(void **state) {
  FeConfig *plain = config("mini_ctc.yaml", "    loss: ctc\n");
  FeConfig *c = config("mini_ctc.yaml", "    loss: ctc\n    data: {synthetic: {train: 96, val: 32, seed: 3, length: [1, 3],"
                                        " lines: 0, char_colours: true, distort: 2, grey: true, height: 32, width: 128},"
                                        " charset: '0123'}\n");
  const FeData *f = &c->experiments[0].data;
  assert_int_equal(f->lines, RT_SYNTH_NONE); /* `lines: 0`: none, not the default mix */
  assert_true(f->char_colours && f->grey && f->distort == 2 && f->height == 32 && f->width == 128);
  char dir[600], plain_dir[600];
  experiment_synth_dir(&c->experiments[0], dir, sizeof dir);
  experiment_synth_dir(&plain->experiments[0], plain_dir, sizeof plain_dir);
  assert_non_null(strstr(dir, "-st"));
  assert_null(strstr(plain_dir, "-st"));
  assert_true(strncmp(dir, plain_dir, strlen(plain_dir)) == 0); /* the same name, plus the style's hash */
  /* the trainer's JSON of the data, and back */
  RtArena arena = {0};
  RtTrainerData data = experiment_data(&c->experiments[0], &arena), back;
  cJSON *json = rt_trainer_data_json(&data);
  RtDiags d = {0};
  assert_true(rt_trainer_data_from_json(json, &back, "test", &d));
  assert_int_equal(back.synth_lines, RT_SYNTH_NONE);
  assert_true(back.synth_char_colours && back.synth_grey && back.synth_distort == 2);
  assert_true(back.synth_height == 32 && back.synth_width == 128);
  cJSON_Delete(json);
  RtTrainerData plain_data = experiment_data(&plain->experiments[0], &arena);
  json = rt_trainer_data_json(&plain_data);
  assert_null(cJSON_GetObjectItemCaseSensitive(json, "style"));
  cJSON_Delete(json);
  /* mixed styles, and fonts: each a folder of its own, kept by the JSON, passed on to fresh samples */
  char mixed_dir[600], fonts_dir[600];
  RtSynthOptions mixed = styled("mixed_styles: true", &arena, mixed_dir, sizeof mixed_dir);
  assert_true(mixed.mixed && mixed.lines == 0 && !mixed.char_colours && !mixed.fonts);
  RtSynthOptions fonts = styled("fonts: " RT_SYNTH_FONT_DIR "/DejaVuSerif.ttf", &arena, fonts_dir, sizeof fonts_dir);
  assert_true(!fonts.mixed && fonts.fonts && !strcmp(fonts.fonts, RT_SYNTH_FONT_DIR "/DejaVuSerif.ttf"));
  assert_true(strcmp(mixed_dir, dir) && strcmp(fonts_dir, dir) && strcmp(fonts_dir, mixed_dir));
  /* a list of fonts: the paths joined by ':' for the generator, a folder of its own */
  char list_dir[600];
  RtSynthOptions list = styled("fonts: [" RT_SYNTH_FONT_DIR "/DejaVuSerif.ttf, " RT_SYNTH_FONT_DIR "]", &arena,
                               list_dir, sizeof list_dir);
  assert_string_equal(list.fonts, RT_SYNTH_FONT_DIR "/DejaVuSerif.ttf:" RT_SYNTH_FONT_DIR);
  assert_true(strcmp(list_dir, fonts_dir) != 0);
  /* a missing fonts path is an error naming it, in a list too; and what a list cannot hold */
  static const struct {
    const char *fonts, *error;
  } bad_fonts[] = {
      {"no-such-fonts", "no-such-fonts' is neither a font file nor a folder of them"},
      {"[" RT_SYNTH_FONT_DIR ", no-such-fonts]", "no-such-fonts' is neither a font file nor a folder of them"},
      {"[]", "fonts is an empty list: leave it out for the generator's DejaVu fonts"},
      {"[" RT_SYNTH_FONT_DIR ", [a]]", "fonts must be a font file or folder, or a list of them, got a list"},
      {"['a:b']", "font path 'a:b' holds a ':', which the generator cannot take in a path"},
  };
  for (size_t i = 0; i < sizeof bad_fonts / sizeof *bad_fonts; i++) {
    char bad[800];
    snprintf(bad, sizeof bad,
             "experiments:\n  run:\n    model: " SMELT_SOURCE_DIR "/tests/train/mini_ctc.yaml\n    loss: ctc\n"
             "    data: {synthetic: {train: 8, val: 8, length: [1, 3], fonts: %s}, charset: '0123'}\n",
             bad_fonts[i].fonts);
    assert_null(fe_config_parse("test.yaml", bad, strlen(bad), NULL, &d));
    if (d.errors != 1 || !strstr(d.items[0].msg, bad_fonts[i].error)) fail_msg("%s: %s", bad_fonts[i].fonts, d.items[0].msg);
    rt_diags_free(&d);
  }
  rt_arena_free(&arena);
  /* generated as asked */
  RtDataset *train = NULL, *val = NULL;
  assert_true(experiment_load_data(&c->experiments[0], &(ExperimentData){0}, &train, &val, &d));
  assert_int_equal(train->count, 96);
  rt_dataset_free(train);
  rt_dataset_free(val);
  char path[700], err[256];
  snprintf(path, sizeof path, "%s/val/images/000100.png", dir);
  RtImage img;
  assert_true(rt_image_load(path, &img, err, sizeof err));
  assert_true(img.h == 32 && img.w == 128 && img.colourful == 0);
  rt_image_free(&img);
  snprintf(path, sizeof path, "%s/train/synth.json", dir);
  uint8_t *manifest;
  size_t size;
  assert_true(rt_fs_read_file(path, &manifest, &size, &d));
  assert_non_null(strstr((char *)manifest, "\"char_colours\":\ttrue"));
  free(manifest);
  rt_diags_free(&d);
  fe_config_free(c);
  fe_config_free(plain);
}


static void test_divergence_is_recorded(void **state) {
  FeConfig *c = config("mini_ctc.yaml", "    loss: ctc\n    learning_rate: 1.0e+30\n    optimizer: sgd\n");
  Trained t = train(c, "diverge", 0, false);
  assert_true(t.ok);
  assert_int_equal(t.s.status, RT_RUN_DIVERGED);
  assert_true(t.s.diverged_at_step >= 1);
  RtResults r;
  RtDiags d = {0};
  char path[512];
  snprintf(path, sizeof path, "%s/diverge/results.json", tmp);
  assert_true(rt_results_load(path, &r, &d));
  assert_int_equal(r.status, RT_RUN_DIVERGED);
  assert_int_equal(r.diverged_at_step, t.s.diverged_at_step);
  assert_non_null(strstr(r.error, "step"));
  rt_results_free(&r);
  fe_config_free(c);
}

static int setup(void **state) {
  if (!mkdtemp(tmp)) return -1;
  char cache[600];
  snprintf(cache, sizeof cache, "%s/cache", tmp);
  setenv("SMELT_CACHE_DIR", getenv("SMELT_CACHE_DIR") ? getenv("SMELT_CACHE_DIR") : cache, 1);
  return 0;
}

static int teardown(void **state) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ctc_loss_falls),
      cmocka_unit_test(test_diagnostics_one_step),
      cmocka_unit_test(test_val_predictions_match_best_epoch),
      cmocka_unit_test(test_attention_loss_falls_with_dropout),
      cmocka_unit_test(test_focal_loss_falls),
      cmocka_unit_test(test_bf16_loss_falls),
      cmocka_unit_test(test_resume_matches_uninterrupted),
      cmocka_unit_test(test_resume_with_strong_augmentation),
      cmocka_unit_test(test_resume_one_cycle_and_warmup),
      cmocka_unit_test(test_lstm_forget_bias_init),
      cmocka_unit_test(test_lstm_forget_bias_trained),
      cmocka_unit_test(test_ema_best_is_average),
      cmocka_unit_test(test_earlier_run_protected),
      cmocka_unit_test(test_crash_leftovers_removed),
      cmocka_unit_test(test_split_ignores_seed),
      cmocka_unit_test(test_divergence_is_recorded),
      cmocka_unit_test(test_synthetic_style),
      cmocka_unit_test(test_fresh_resume_matches_uninterrupted),
      cmocka_unit_test(test_fresh_epochs_are_new),
      cmocka_unit_test(test_mixed_folder_and_fresh),
      cmocka_unit_test(test_curriculum_on_fixed_set),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
