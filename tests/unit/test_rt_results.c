/* The output-folder schema (runtime/rt_results.h): the key tables, results.json written and read
 * back field for field (best metrics from the best epoch, not the last; NaN as null), the writer
 * refusing inconsistent results, the reader rejecting schema violations (unknown, misspelt,
 * missing and duplicate keys, wrong types, best/final not matching the history, truncation),
 * metrics.jsonl appends, resume truncation and torn lines, the training diagnostics (per-layer
 * gradient norms, CTC blank rate: optional, so older files still load), and the TensorBoard
 * scalars of an epoch. */
#include <cjson/cJSON.h>
#include <dirent.h>
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

#include "runtime/rt_results.h"
#include "support/rt_fs.h"

static char tmp_dir[] = "/tmp/smelt_results_XXXXXX";
static char results_path[300], log_path[300];

static int setup(void **state) {
  (void)state;
  if (!mkdtemp(tmp_dir)) return -1;
  snprintf(results_path, sizeof results_path, "%s/%s", tmp_dir, RT_FILE_RESULTS);
  snprintf(log_path, sizeof log_path, "%s/%s", tmp_dir, RT_FILE_METRICS);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  DIR *dp = opendir(tmp_dir);
  struct dirent *e;
  while (dp && (e = readdir(dp))) {
    char p[600];
    snprintf(p, sizeof p, "%s/%s", tmp_dir, e->d_name);
    if (e->d_name[0] != '.') unlink(p);
  }
  if (dp) closedir(dp);
  rmdir(tmp_dir);
  return 0;
}

static bool has_diag(const RtDiags *d, const char *substring) {
  for (int i = 0; i < d->count; i++)
    if (strstr(d->items[i].msg, substring)) return true;
  return false;
}

static void expect_diag(RtDiags *d, const char *substring) {
  if (!has_diag(d, substring)) {
    rt_diags_print(d, stderr);
    fail_msg("no diagnostic containing '%s'", substring);
  }
}

/* Epoch e of a made-up run: sequence accuracy peaks at epoch 2. */
static RtEpochMetrics epoch_of(int e) {
  RtEpochMetrics m = {.epoch = e, .step = 125 * e};
  m.v[RT_METRIC_TRAIN_LOSS] = 2.0 / e;
  m.v[RT_METRIC_VAL_LOSS] = 2.5 / e + 0.1;
  m.v[RT_METRIC_VAL_SEQ_ACC] = e == 2 ? 0.75 : 0.5 + 0.01 * e;
  m.v[RT_METRIC_VAL_CHAR_ACC] = 0.9 + 0.01 * e;
  m.v[RT_METRIC_VAL_CER] = 0.1 - 0.01 * e;
  m.v[RT_METRIC_LR] = 1e-3 / e;
  m.v[RT_METRIC_SAMPLES_PER_S] = 1234.5 + e;
  m.v[RT_METRIC_SECONDS] = 3.25;
  return m;
}

static void fill_results(RtResults *r, RtEpochMetrics *h, int n) {
  for (int i = 0; i < n; i++) h[i] = epoch_of(i + 1);
  *r = (RtResults){
      .experiment = "conservative_small/seed1",
      .preset = "conservative_small",
      .status = RT_RUN_EARLY_STOPPED,
      .diverged_at_step = -1,
      .epochs_configured = 50,
      .best_epoch = n >= 2 ? 2 : n,
      .best_metric = RT_METRIC_VAL_SEQ_ACC,
      .history = h,
      .history_count = n,
      .params = 1234567,
      .wall_time_s = 61.5,
      .samples_per_s = 1300.25,
      .best_checkpoint = "best.safetensors",
      .last_checkpoint = "last.safetensors",
      .config_json = "{\"lr\": 0.001, \"batch_size\": 32, \"augment\": {\"rotate\": 5}}",
  };
}

static void test_key_tables(void **state) {
  (void)state;
  for (int m = 0; m < RT_METRIC_COUNT; m++) {
    assert_int_equal(rt_metric_parse(rt_metric_key((RtMetric)m)), m);
    for (int k = 0; k < m; k++) assert_string_not_equal(rt_metric_key((RtMetric)m), rt_metric_key((RtMetric)k));
  }
  assert_int_equal(rt_metric_parse("val_char_accuracy"), -1);
  assert_string_equal(rt_metric_key(RT_METRIC_VAL_CHAR_ACC), "val_char_acc");
  /* The TensorBoard tags the issues name, and no others. */
  const char *tags[] = {"train/loss", "val/loss", "val/char_acc", "val/seq_acc", "lr", "train/grad_norm",
                        "val/blank_rate", "val/attention_peak", "val/attention_forward"};
  int seen = 0;
  for (int m = 0; m < RT_METRIC_COUNT; m++) {
    const char *t = rt_metric_tb_tag((RtMetric)m);
    if (!t) continue;
    bool known = false;
    for (int k = 0; k < 9; k++) known |= strcmp(t, tags[k]) == 0;
    assert_true(known);
    seen++;
  }
  assert_int_equal(seen, 9);
  assert_string_equal(rt_metric_key(RT_METRIC_GRAD_NORM_TOTAL), "grad_norm_total");
  assert_string_equal(rt_metric_key(RT_METRIC_VAL_BLANK_RATE), "val_blank_rate");
  assert_true(rt_metric_better(RT_METRIC_VAL_SEQ_ACC, 0.8, 0.7));
  assert_false(rt_metric_better(RT_METRIC_VAL_SEQ_ACC, 0.7, 0.7));
  assert_true(rt_metric_better(RT_METRIC_VAL_LOSS, 0.5, 0.7));
  assert_false(rt_metric_better(RT_METRIC_VAL_LOSS, NAN, 0.7));
  assert_true(rt_metric_better(RT_METRIC_VAL_LOSS, 0.7, NAN));
  assert_string_equal(rt_run_status_name(RT_RUN_EARLY_STOPPED), "early_stopped");
  for (int k = 0; k < RT_CKPT_KEY_COUNT; k++)
    for (int j = 0; j < k; j++) assert_string_not_equal(rt_ckpt_key((RtCkptKey)k), rt_ckpt_key((RtCkptKey)j));
  assert_string_equal(rt_ckpt_key(RT_CKPT_CHARSET), "charset");
}

static void assert_epoch_equal(const RtEpochMetrics *a, const RtEpochMetrics *b) {
  assert_int_equal(a->epoch, b->epoch);
  assert_int_equal(a->step, b->step);
  for (int k = 0; k < RT_METRIC_COUNT; k++)
    if (!(a->v[k] == b->v[k] || (isnan(a->v[k]) && isnan(b->v[k]))))
      fail_msg("epoch %d %s: %.17g vs %.17g", a->epoch, rt_metric_key((RtMetric)k), a->v[k], b->v[k]);
  assert_int_equal(a->n_grad_norms, b->n_grad_norms);
  for (int i = 0; i < a->n_grad_norms; i++) {
    assert_string_equal(a->grad_norm[i].layer, b->grad_norm[i].layer);
    assert_true(a->grad_norm[i].norm == b->grad_norm[i].norm);
  }
}

/* Epoch e with the training diagnostics: three layers' gradient norms, their global norm and a
 * CTC blank rate. */
static RtEpochMetrics epoch_with_norms(int e) {
  RtEpochMetrics m = epoch_of(e);
  static const char *const layers[] = {"conv2d_1", "enc-rnn", "head"};
  for (int i = 0; i < 3; i++) {
    snprintf(m.grad_norm[i].layer, sizeof m.grad_norm[i].layer, "%s", layers[i]);
    m.grad_norm[i].norm = 0.1 * (i + 1) / e;
  }
  m.n_grad_norms = 3;
  m.v[RT_METRIC_GRAD_NORM_TOTAL] = 0.375 / e;
  m.v[RT_METRIC_VAL_BLANK_RATE] = 0.96875;
  m.v[RT_METRIC_MAX_LABEL_LEN] = NAN;
  return m;
}

static void test_results_round_trip(void **state) {
  (void)state;
  RtEpochMetrics h[3];
  RtResults r;
  fill_results(&r, h, 3);
  h[2].v[RT_METRIC_VAL_LOSS] = NAN; /* non-finite: null in JSON, NaN back */
  h[2].v[RT_METRIC_TRAIN_LOSS] = INFINITY;
  RtDiags d = {0};
  assert_true(rt_results_write(results_path, &r, &d));
  assert_int_equal(d.errors, 0);

  RtResults back;
  assert_true(rt_results_load(results_path, &back, &d));
  assert_string_equal(back.experiment, r.experiment);
  assert_string_equal(back.preset, r.preset);
  assert_int_equal(back.status, RT_RUN_EARLY_STOPPED);
  assert_null(back.error);
  assert_int_equal(back.diverged_at_step, -1);
  assert_int_equal(back.epochs_configured, 50);
  assert_int_equal(back.best_epoch, 2);
  assert_int_equal(back.best_metric, RT_METRIC_VAL_SEQ_ACC);
  assert_int_equal(back.history_count, 3);
  for (int i = 0; i < 2; i++) assert_epoch_equal(&back.history[i], &h[i]);
  assert_true(isnan(back.history[2].v[RT_METRIC_VAL_LOSS]));
  assert_true(isnan(back.history[2].v[RT_METRIC_TRAIN_LOSS]));
  assert_int_equal(back.params, 1234567);
  assert_true(back.wall_time_s == 61.5);
  assert_true(back.samples_per_s == 1300.25);
  assert_string_equal(back.best_checkpoint, "best.safetensors");
  assert_string_equal(back.last_checkpoint, "last.safetensors");
  assert_string_equal(back.config_json, "{\"lr\":0.001,\"batch_size\":32,\"augment\":{\"rotate\":5}}");
  rt_results_free(&back);

  /* Read the file with cJSON alone: best is epoch 2's entry, final the last one's. */
  uint8_t *text;
  size_t size;
  assert_true(rt_fs_read_file(results_path, &text, &size, &d));
  assert_int_equal(text[size - 1], '\n');
  cJSON *o = cJSON_Parse((char *)text);
  assert_non_null(o);
  const cJSON *best = cJSON_GetObjectItemCaseSensitive(o, "best");
  const cJSON *final = cJSON_GetObjectItemCaseSensitive(o, "final");
  assert_int_equal(cJSON_GetObjectItemCaseSensitive(best, "epoch")->valueint, 2);
  assert_true(cJSON_GetObjectItemCaseSensitive(best, "val_seq_acc")->valuedouble == 0.75);
  assert_int_equal(cJSON_GetObjectItemCaseSensitive(final, "epoch")->valueint, 3);
  assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(final, "val_loss")));
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "status")->valuestring, "early_stopped");
  assert_int_equal(cJSON_GetObjectItemCaseSensitive(o, "epochs_run")->valueint, 3);
  assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "error")));
  cJSON_Delete(o);
  free(text);
  rt_diags_free(&d);
}

static void test_results_statuses(void **state) {
  (void)state;
  RtEpochMetrics h[2];
  RtResults r;
  RtDiags d = {0};
  /* Diverged in the first epoch: no history, best and final null. */
  fill_results(&r, h, 0);
  r.status = RT_RUN_DIVERGED;
  r.best_epoch = -1;
  r.diverged_at_step = 17;
  r.error = "loss is NaN at step 17";
  r.best_checkpoint = r.last_checkpoint = NULL;
  assert_true(rt_results_write(results_path, &r, &d));
  RtResults back;
  assert_true(rt_results_load(results_path, &back, &d));
  assert_int_equal(back.status, RT_RUN_DIVERGED);
  assert_int_equal(back.diverged_at_step, 17);
  assert_string_equal(back.error, "loss is NaN at step 17");
  assert_int_equal(back.history_count, 0);
  assert_int_equal(back.best_epoch, -1);
  assert_null(back.best_checkpoint);
  rt_results_free(&back);
  /* Epochs ran but the selection metric never had a value (a NaN validation loss): no best. */
  fill_results(&r, h, 2);
  r.status = RT_RUN_OK;
  r.best_metric = RT_METRIC_VAL_LOSS;
  h[0].v[RT_METRIC_VAL_LOSS] = h[1].v[RT_METRIC_VAL_LOSS] = NAN;
  r.best_epoch = -1;
  assert_true(rt_results_write(results_path, &r, &d));
  assert_true(rt_results_load(results_path, &back, &d));
  assert_int_equal(back.best_epoch, -1);
  rt_results_free(&back);
  h[1].v[RT_METRIC_VAL_LOSS] = 0.5; /* now epoch 2 has a value: null is inconsistent */
  assert_false(rt_results_write(results_path, &r, &d));
  expect_diag(&d, "'best_epoch' is null but 2 epochs ran");
  rt_diags_free(&d);
  /* Failed, with its message. */
  fill_results(&r, h, 2);
  r.status = RT_RUN_FAILED;
  r.error = "data/labels.tsv:3: unknown symbol";
  assert_true(rt_results_write(results_path, &r, &d));
  assert_int_equal(d.errors, 0);

  /* Inconsistent results are refused, and the file on disk is left as it was. */
  fill_results(&r, h, 2);
  r.best_epoch = 5;
  assert_false(rt_results_write(results_path, &r, &d));
  expect_diag(&d, "'best_epoch' 5 but only 2 epochs ran");
  fill_results(&r, h, 2);
  r.status = RT_RUN_FAILED;
  assert_false(rt_results_write(results_path, &r, &d));
  expect_diag(&d, "status 'failed' needs an error message");
  fill_results(&r, h, 2);
  r.status = RT_RUN_DIVERGED;
  assert_false(rt_results_write(results_path, &r, &d));
  expect_diag(&d, "'diverged_at_step' must be set exactly when status is 'diverged'");
  fill_results(&r, h, 2);
  r.error = "an error for an ok run";
  assert_false(rt_results_write(results_path, &r, &d));
  expect_diag(&d, "status 'early_stopped' with an error message");
  fill_results(&r, h, 2);
  r.config_json = "{lr: 1}";
  assert_false(rt_results_write(results_path, &r, &d));
  expect_diag(&d, "config is not valid JSON text");
  fill_results(&r, h, 2);
  r.config_json = "[1, 2]";
  assert_false(rt_results_write(results_path, &r, &d));
  expect_diag(&d, "'config' must be an object");
  fill_results(&r, h, 2);
  h[1].epoch = 7;
  assert_false(rt_results_write(results_path, &r, &d));
  expect_diag(&d, "history[1]: epoch 7 where 2 was expected");
  fill_results(&r, h, 2);
  r.experiment = NULL;
  assert_false(rt_results_write(results_path, &r, &d));
  expect_diag(&d, "'experiment' must be a string");
  rt_diags_free(&d);
  assert_true(rt_results_load(results_path, &back, &d));
  assert_int_equal(back.status, RT_RUN_FAILED);
  rt_results_free(&back);
}

/* Writes a valid results.json, lets edit change its JSON tree, saves it, and expects the reader
 * to reject it with a diagnostic containing substring. */
static void expect_rejected(void (*edit)(cJSON *), const char *substring) {
  RtEpochMetrics h[3];
  RtResults r;
  fill_results(&r, h, 3);
  RtDiags d = {0};
  assert_true(rt_results_write(results_path, &r, &d));
  uint8_t *text;
  size_t size;
  assert_true(rt_fs_read_file(results_path, &text, &size, &d));
  cJSON *o = cJSON_Parse((char *)text);
  free(text);
  edit(o);
  char *out = cJSON_Print(o);
  cJSON_Delete(o);
  assert_true(rt_fs_write_atomic(results_path, out, strlen(out), &d));
  cJSON_free(out);
  RtResults back;
  assert_false(rt_results_load(results_path, &back, &d));
  assert_true(d.errors > 0);
  for (int i = 0; i < d.count; i++) assert_string_equal(d.items[i].file, results_path);
  expect_diag(&d, substring);
  assert_null(back.history);
  rt_diags_free(&d);
}

static cJSON *history_entry(cJSON *o, int i) { return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "history"), i); }

static void edit_unknown_top(cJSON *o) { cJSON_AddNumberToObject(o, "val_char_accuracy", 0.9); }
static void edit_misspelt_metric(cJSON *o) {
  cJSON *e = history_entry(o, 0);
  cJSON_AddItemToObject(e, "val_char_accuracy", cJSON_DetachItemFromObject(e, "val_char_acc"));
}
static void edit_missing_status(cJSON *o) { cJSON_DeleteItemFromObject(o, "status"); }
static void edit_missing_metric(cJSON *o) { cJSON_DeleteItemFromObject(cJSON_GetObjectItemCaseSensitive(o, "best"), "val_cer"); }
static void edit_string_int(cJSON *o) { cJSON_ReplaceItemInObject(o, "epochs_run", cJSON_CreateString("3")); }
static void edit_fraction(cJSON *o) { cJSON_ReplaceItemInObject(o, "params", cJSON_CreateNumber(1.5)); }
static void edit_best_value(cJSON *o) {
  cJSON_ReplaceItemInObject(cJSON_GetObjectItemCaseSensitive(o, "best"), "val_seq_acc", cJSON_CreateNumber(0.99));
}
static void edit_best_is_last(cJSON *o) { /* the mistake the study made: best taken from the last epoch */
  cJSON_ReplaceItemInObject(o, "best", cJSON_Duplicate(history_entry(o, 2), 1));
}
static void edit_final(cJSON *o) { cJSON_ReplaceItemInObject(o, "final", cJSON_Duplicate(history_entry(o, 0), 1)); }
static void edit_order(cJSON *o) {
  cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "history");
  cJSON_AddItemToArray(h, cJSON_DetachItemFromArray(h, 1)); /* epochs 1, 3, 2 */
}
static void edit_epochs_run(cJSON *o) { cJSON_ReplaceItemInObject(o, "epochs_run", cJSON_CreateNumber(4)); }
static void edit_status(cJSON *o) { cJSON_ReplaceItemInObject(o, "status", cJSON_CreateString("okay")); }
static void edit_version(cJSON *o) { cJSON_ReplaceItemInObject(o, "schema_version", cJSON_CreateNumber(2)); }
static void edit_config(cJSON *o) { cJSON_ReplaceItemInObject(o, "config", cJSON_CreateString("{}")); }
static void edit_checkpoints(cJSON *o) {
  cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(o, "checkpoints"), "best_of_all", "x");
}
static void edit_duplicate(cJSON *o) { cJSON_AddStringToObject(o, "preset", "other"); }
static void edit_best_metric(cJSON *o) { cJSON_ReplaceItemInObject(o, "best_metric", cJSON_CreateString("accuracy")); }
static void edit_not_object(cJSON *o) { cJSON_ReplaceItemInObject(o, "history", cJSON_CreateObject()); }
static void edit_entry_type(cJSON *o) { cJSON_ReplaceItemInArray(cJSON_GetObjectItemCaseSensitive(o, "history"), 1, cJSON_CreateNumber(2)); }
static void edit_metric_type(cJSON *o) { cJSON_ReplaceItemInObject(history_entry(o, 1), "lr", cJSON_CreateTrue()); }

static void test_results_schema_violations(void **state) {
  (void)state;
  expect_rejected(edit_unknown_top, "unknown key 'val_char_accuracy'");
  expect_rejected(edit_misspelt_metric, "history[0]: unknown key 'val_char_accuracy' (did you mean 'val_char_acc'?)");
  expect_rejected(edit_misspelt_metric, "history[0]: missing key 'val_char_acc'");
  expect_rejected(edit_missing_status, "missing key 'status'");
  expect_rejected(edit_missing_metric, "best: missing key 'val_cer'");
  expect_rejected(edit_string_int, "'epochs_run' must be an integer");
  expect_rejected(edit_fraction, "'params' must be an integer");
  expect_rejected(edit_best_value, "'best' differs from history entry of epoch 2");
  expect_rejected(edit_best_is_last, "'best' differs from history entry of epoch 2");
  expect_rejected(edit_final, "'final' differs from history entry of epoch 3");
  expect_rejected(edit_order, "history[1]: epoch 3 where 2 was expected");
  expect_rejected(edit_epochs_run, "'epochs_run' is 4 but history has 3 epochs");
  expect_rejected(edit_status, "'status' must be one of ok, early_stopped, diverged, failed (not 'okay')");
  expect_rejected(edit_version, "schema_version 2 is not 1");
  expect_rejected(edit_config, "'config' must be an object");
  expect_rejected(edit_checkpoints, "checkpoints: unknown key 'best_of_all'");
  expect_rejected(edit_duplicate, "duplicate key 'preset'");
  expect_rejected(edit_best_metric, "'best_metric' 'accuracy' is not a metric key");
  expect_rejected(edit_not_object, "'history' must be an array");
  expect_rejected(edit_entry_type, "history[1]: must be an object");
  expect_rejected(edit_metric_type, "history[1]: 'lr' must be a number or null");
}

static void test_results_not_json(void **state) {
  (void)state;
  RtEpochMetrics h[3];
  RtResults r, back;
  fill_results(&r, h, 3);
  RtDiags d = {0};
  assert_true(rt_results_write(results_path, &r, &d));
  uint8_t *text;
  size_t size;
  assert_true(rt_fs_read_file(results_path, &text, &size, &d));
  /* Every truncation that cuts into the JSON is an error (only the final newline may go). */
  for (size_t n = 0; n + 1 < size; n += 7) {
    assert_true(rt_fs_write_atomic(results_path, text, n, &d));
    assert_false(rt_results_load(results_path, &back, &d));
    assert_true(d.errors > 0);
    rt_diags_free(&d);
  }
  assert_true(rt_fs_write_atomic(results_path, "[]", 2, &d));
  assert_false(rt_results_load(results_path, &back, &d));
  expect_diag(&d, "must hold one JSON object");
  assert_true(rt_fs_write_atomic(results_path, "{} {}", 5, &d));
  assert_false(rt_results_load(results_path, &back, &d));
  expect_diag(&d, "not valid JSON");
  rt_diags_free(&d);
  char missing[400];
  snprintf(missing, sizeof missing, "%s/nothing.json", tmp_dir);
  assert_false(rt_results_load(missing, &back, &d));
  expect_diag(&d, "cannot open");
  rt_diags_free(&d);
  free(text);
}

static void test_epoch_log(void **state) {
  (void)state;
  RtDiags d = {0};
  RtEpochLog *log = rt_epoch_log_open(log_path, -1, &d);
  assert_non_null(log);
  RtEpochMetrics e[4];
  for (int i = 0; i < 4; i++) e[i] = epoch_of(i + 1);
  e[0].v[RT_METRIC_VAL_CER] = NAN;
  for (int i = 0; i < 3; i++) assert_true(rt_epoch_log_append(log, &e[i], &d));
  assert_false(rt_epoch_log_append(log, &e[0], &d)); /* out of order */
  expect_diag(&d, "epoch 1 appended after epoch 3");
  rt_diags_free(&d);
  rt_epoch_log_close(log);

  RtEpochMetrics *h;
  int32_t n;
  assert_true(rt_epoch_log_load(log_path, -1, &h, &n, &d));
  assert_int_equal(n, 3);
  for (int i = 0; i < 3; i++) assert_epoch_equal(&h[i], &e[i]);
  free(h);
  /* One object per line, with exactly the table's keys. */
  uint8_t *text;
  size_t size;
  assert_true(rt_fs_read_file(log_path, &text, &size, &d));
  char *nl = strchr((char *)text, '\n');
  *nl = 0;
  cJSON *o = cJSON_Parse((char *)text);
  assert_int_equal(cJSON_GetArraySize(o), RT_METRIC_COUNT + 2);
  assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "val_cer")));
  cJSON_Delete(o);
  *nl = '\n';

  /* Resume from a checkpoint after epoch 2: epoch 3's line goes, epoch 3 is appended again. */
  log = rt_epoch_log_open(log_path, 2, &d);
  assert_non_null(log);
  e[2].v[RT_METRIC_TRAIN_LOSS] = 0.125;
  assert_true(rt_epoch_log_append(log, &e[2], &d));
  assert_true(rt_epoch_log_append(log, &e[3], &d));
  rt_epoch_log_close(log);
  assert_true(rt_epoch_log_load(log_path, -1, &h, &n, &d));
  assert_int_equal(n, 4);
  assert_true(h[2].v[RT_METRIC_TRAIN_LOSS] == 0.125);
  free(h);
  /* A checkpoint claiming more epochs than the log has. */
  assert_null(rt_epoch_log_open(log_path, 6, &d));
  expect_diag(&d, "has 4 epochs, but the checkpoint to resume from completed 6");
  rt_diags_free(&d);

  /* A line torn by a crash: load refuses it, resuming before it drops it. */
  char torn[4096];
  size_t keep = (size_t)(strchr(strchr((char *)text, '\n') + 1, '\n') - (char *)text) + 1; /* two lines */
  memcpy(torn, text, keep);
  memcpy(torn + keep, "{\"epoch\":3,\"st", 14);
  assert_true(rt_fs_write_atomic(log_path, torn, keep + 14, &d));
  assert_false(rt_epoch_log_load(log_path, -1, &h, &n, &d));
  expect_diag(&d, "incomplete last line");
  assert_int_equal(d.items[0].line, 3);
  rt_diags_free(&d);
  assert_true(rt_epoch_log_load(log_path, 2, &h, &n, &d)); /* what a resume after epoch 2 reads */
  assert_int_equal(n, 2);
  assert_epoch_equal(&h[1], &e[1]);
  free(h);
  log = rt_epoch_log_open(log_path, 2, &d);
  assert_non_null(log);
  rt_epoch_log_close(log);
  assert_true(rt_epoch_log_load(log_path, -1, &h, &n, &d));
  assert_int_equal(n, 2);
  free(h);

  /* A misspelt key is reported with its line. */
  char *bad = strdup((char *)text);
  char *key = strstr(strchr(bad, '\n'), "val_char_acc");
  memcpy(key, "val_chxr_acc", 12); /* same length: the rest of the line stays valid */
  assert_true(rt_fs_write_atomic(log_path, bad, strlen(bad), &d));
  assert_false(rt_epoch_log_load(log_path, -1, &h, &n, &d));
  expect_diag(&d, "unknown key 'val_chxr_acc' (did you mean 'val_char_acc'?)");
  assert_int_equal(d.items[0].line, 2);
  assert_string_equal(d.items[0].file, log_path);
  rt_diags_free(&d);
  free(bad);

  /* A fresh run truncates; keep 0 too. */
  log = rt_epoch_log_open(log_path, 0, &d);
  rt_epoch_log_close(log);
  assert_true(rt_epoch_log_load(log_path, -1, &h, &n, &d));
  assert_int_equal(n, 0);
  free(h);
  free(text);
  assert_int_equal(d.errors, 0);
}

static void test_epoch_to_tensorboard(void **state) {
  (void)state;
  char dir[400];
  snprintf(dir, sizeof dir, "%s", tmp_dir);
  RtDiags d = {0};
  RtTbWriter *tb = rt_tb_open(dir, &d);
  assert_non_null(tb);
  RtEpochMetrics m = epoch_of(2);
  assert_true(rt_epoch_to_tensorboard(tb, &m, m.step, &d));
  uint8_t *data;
  size_t size;
  assert_true(rt_fs_read_file(rt_tb_path(tb), &data, &size, &d));
  const char *want[] = {"train/loss", "val/loss", "val/char_acc", "val/seq_acc", "lr"};
  for (int k = 0; k < 5; k++) assert_non_null(memmem(data, size, want[k], strlen(want[k])));
  assert_null(memmem(data, size, "val_cer", 7));
  assert_null(memmem(data, size, "grad_norm/", 10)); /* no layers */
  free(data);
  assert_true(rt_tb_close(tb, &d));

  /* the gradient norms, each layer under grad_norm/<layer>; an unrecorded metric has no scalar */
  char sub[450];
  snprintf(sub, sizeof sub, "%s/diag", tmp_dir);
  assert_true(rt_fs_mkdirs(sub, &d));
  tb = rt_tb_open(sub, &d);
  m = epoch_with_norms(2);
  m.v[RT_METRIC_VAL_BLANK_RATE] = NAN;
  assert_true(rt_epoch_to_tensorboard(tb, &m, m.step, &d));
  assert_true(rt_fs_read_file(rt_tb_path(tb), &data, &size, &d));
  const char *norms[] = {"grad_norm/conv2d_1", "grad_norm/enc-rnn", "grad_norm/head", "train/grad_norm"};
  for (int k = 0; k < 4; k++) assert_non_null(memmem(data, size, norms[k], strlen(norms[k])));
  assert_null(memmem(data, size, "blank_rate", 10));
  free(data);
  char path[700];
  snprintf(path, sizeof path, "%s", rt_tb_path(tb));
  assert_true(rt_tb_close(tb, &d));
  unlink(path);
  rmdir(sub);
}

/* The diagnostics of issue 17 round-trip through metrics.jsonl and results.json; lines written
 * before they existed (no grad_norm, grad_norm_total, val_blank_rate) still load, with NaN and
 * no layers; a malformed grad_norm is refused with its line. */
static void test_epoch_diagnostics(void **state) {
  (void)state;
  RtDiags d = {0};
  RtEpochMetrics e[2] = {epoch_with_norms(1), epoch_with_norms(2)};
  e[1].grad_norm[1].norm = NAN; /* null in JSON, NaN back */
  RtEpochLog *log = rt_epoch_log_open(log_path, -1, &d);
  assert_non_null(log);
  for (int i = 0; i < 2; i++) assert_true(rt_epoch_log_append(log, &e[i], &d));
  rt_epoch_log_close(log);
  RtEpochMetrics *h;
  int32_t n;
  assert_true(rt_epoch_log_load(log_path, -1, &h, &n, &d));
  assert_int_equal(n, 2);
  assert_epoch_equal(&h[0], &e[0]);
  assert_string_equal(h[1].grad_norm[1].layer, "enc-rnn");
  assert_true(isnan(h[1].grad_norm[1].norm));
  free(h);
  uint8_t *text;
  size_t size;
  assert_true(rt_fs_read_file(log_path, &text, &size, &d));
  assert_non_null(strstr((char *)text, "\"grad_norm\":{\"conv2d_1\":0.1,\"enc-rnn\":0.2,\"head\":0.30000000000000004}"));
  assert_non_null(strstr((char *)text, "\"grad_norm_total\":0.375,\"val_blank_rate\":0.96875"));
  assert_null(strstr((char *)text, "max_label_len"));
  free(text);

  /* results.json: the history keeps them, and best must match its entry in them too */
  RtResults r, back;
  RtEpochMetrics hist[2];
  fill_results(&r, hist, 2);
  hist[0] = epoch_with_norms(1);
  hist[1] = epoch_with_norms(2);
  assert_true(rt_results_write(results_path, &r, &d));
  assert_true(rt_results_load(results_path, &back, &d));
  for (int i = 0; i < 2; i++) assert_epoch_equal(&back.history[i], &hist[i]);
  rt_results_free(&back);
  assert_int_equal(d.errors, 0);

  /* A line from before: none of the new keys. */
  static const char old[] = "{\"epoch\":1,\"step\":6,\"train_loss\":7.9,\"val_loss\":3.7,\"val_char_acc\":0,"
                            "\"val_seq_acc\":0,\"val_cer\":1,\"lr\":0.01,\"samples_per_s\":4472.3,\"seconds\":0.02}\n";
  assert_true(rt_fs_write_atomic(log_path, old, strlen(old), &d));
  assert_true(rt_epoch_log_load(log_path, -1, &h, &n, &d));
  assert_int_equal(n, 1);
  assert_int_equal(h[0].n_grad_norms, 0);
  assert_true(isnan(h[0].v[RT_METRIC_GRAD_NORM_TOTAL]) && isnan(h[0].v[RT_METRIC_VAL_BLANK_RATE]));
  free(h);

  /* grad_norm must be an object of layer names to numbers */
  static const char *const bad[][2] = {
      {"\"grad_norm\":[0.5]", "'grad_norm' must be an object of layer names to numbers"},
      {"\"grad_norm\":{\"head\":\"big\"}", "'head' must be a number or null"},
      {"\"grad_norm\":{\"head\":1,\"head\":2}", "duplicate layer 'head'"},
      {"\"grad_norm\":{\"a_layer_name_far_longer_than_any_preset\":1}", "longer than 31 bytes"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    char line[512];
    snprintf(line, sizeof line, "%.*s,%s}\n", (int)strlen(old) - 2, old, bad[k][0]);
    assert_true(rt_fs_write_atomic(log_path, line, strlen(line), &d));
    assert_false(rt_epoch_log_load(log_path, -1, &h, &n, &d));
    expect_diag(&d, bad[k][1]);
    assert_int_equal(d.items[0].line, 1);
    rt_diags_free(&d);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_key_tables),
      cmocka_unit_test(test_results_round_trip),
      cmocka_unit_test(test_results_statuses),
      cmocka_unit_test(test_results_schema_violations),
      cmocka_unit_test(test_results_not_json),
      cmocka_unit_test(test_epoch_log),
      cmocka_unit_test(test_epoch_to_tensorboard),
      cmocka_unit_test(test_epoch_diagnostics),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
