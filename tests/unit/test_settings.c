/* The one list of training settings (runtime/rt_settings.def): docs/config.md's tables name every
 * setting with its default; the JSON writer and reader round-trip every field; the frontend's
 * built-in experiment is the list's defaults; the runtime configuration takes every setting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/fe_config.h"
#include "runtime/rt_settings.h"
#include "runtime/rt_trainer_main.h"

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
  s[n] = 0;
  fclose(f);
  return s;
}

static size_t field_size(const RtSettingInfo *f) {
  switch (f->type) {
    case RT_SET_INT64: return sizeof(int64_t);
    case RT_SET_NUMBER: return sizeof(double);
    case RT_SET_BOOL: return sizeof(bool);
    case RT_SET_PAIR: return sizeof(RtPair);
    default: return sizeof(int);
  }
}

/* Every field equal, bit for bit (a NaN default included); names the first that differs. */
static void assert_same_settings(const RtSettings *a, const RtSettings *b) {
  for (int i = 0; i < RT_SETTING_COUNT; i++) {
    const RtSettingInfo *f = &RT_SETTING_INFO[i];
    if (memcmp((const char *)a + f->offset, (const char *)b + f->offset, field_size(f)) != 0)
      fail_msg("setting %s.%s differs", f->group, f->key);
  }
}

/* ---- docs/config.md against the list ---- */

/* The line of doc that starts with prefix (NULL if none). */
static const char *line_starting(const char *doc, const char *prefix) {
  size_t n = strlen(prefix);
  for (const char *p = doc; p; p = strchr(p, '\n')) {
    if (*p == '\n') p++;
    if (strncmp(p, prefix, n) == 0) return p;
  }
  return NULL;
}

/* The text of the table row of a typed group's type `name` (first cell lists it), or NULL. */
static const char *type_row(const char *doc, const char *name, char *buf, size_t size) {
  for (const char *p = doc; p; p = strchr(p, '\n')) {
    if (*p == '\n') p++;
    if (*p != '|') continue;
    const char *end = strchr(p + 1, '|');
    size_t len = strcspn(p, "\n");
    char cell[128];
    snprintf(cell, sizeof cell, "%.*s", (int)(end - p - 1), p + 1);
    for (char *t = strtok(cell, ", "); t; t = strtok(NULL, ", "))
      if (strcmp(t, name) == 0) return snprintf(buf, size, "%.*s", (int)len, p), buf;
  }
  return NULL;
}

/* The paragraph that starts with "`group`" (up to the blank line), or NULL. */
static const char *paragraph(const char *doc, const char *group, char *buf, size_t size) {
  char prefix[64];
  snprintf(prefix, sizeof prefix, "`%s`", group);
  const char *p = line_starting(doc, prefix);
  if (!p) return NULL;
  const char *end = strstr(p, "\n\n");
  snprintf(buf, size, "%.*s", (int)(end ? end - p : (long)strlen(p)), p);
  return buf;
}

/* Whether the text after "`key` (" (in an options list) or "| `key` | " (the settings table)
 * starts with the default of row f for type kind. */
static bool default_matches(const RtSettingInfo *f, int kind, const char *text) {
  double want = rt_setting_default(f, kind);
  if (f->type == RT_SET_BOOL) return strncmp(text, want ? "true" : "false", want ? 4 : 5) == 0;
  if (f->type == RT_SET_METRIC || f->type == RT_SET_PRECISION || rt_setting_is_kind(f)) {
    if (want < 0) return strncmp(text, "by head", 7) == 0; /* the loss, until the head chooses */
    const char *name = f->names[(int)want];
    return strncmp(text, name, strlen(name)) == 0 && !(text[strlen(name)] == '_');
  }
  if (isnan(want)) return strncmp(text, "unset", 5) == 0;
  if (f->type == RT_SET_PAIR) {
    RtSettings s = rt_settings_defaults();
    const RtPair *p = (const RtPair *)((const char *)&s + f->offset);
    double a, b;
    return sscanf(text, "[%lf, %lf]", &a, &b) == 2 && a == p->v[0] && b == p->v[1];
  }
  char *end;
  double got = strtod(text, &end);
  return end != text && got == want;
}

/* The default given in text for key, "`key` (DEFAULT" */
static void check_option(const RtSettingInfo *f, int kind, const char *where, const char *text) {
  char pattern[80];
  snprintf(pattern, sizeof pattern, "`%s` (", f->key);
  const char *at = text ? strstr(text, pattern) : NULL;
  if (!at) fail_msg("docs/config.md: %s does not document %s.%s", where, f->group, f->key);
  if (!default_matches(f, kind, at + strlen(pattern)))
    fail_msg("docs/config.md: %s gives %s.%s another default than rt_settings.def (%.30s)", where, f->group, f->key,
             at + strlen(pattern));
}

static void check_settings_table(const char *doc, const RtSettingInfo *f) {
  char prefix[80];
  snprintf(prefix, sizeof prefix, "| `%s`", *f->group ? f->group : f->key);
  const char *row = line_starting(doc, prefix);
  if (!row) fail_msg("docs/config.md: the settings table has no row %s", prefix);
  if (*f->group && !rt_setting_is_kind(f)) return; /* early_stopping, augmentation: "on", options below */
  const char *cell = strchr(row + 1, '|') + 1;
  while (*cell == ' ') cell++;
  if (!default_matches(f, 0, cell))
    fail_msg("docs/config.md: the settings table gives %s another default than rt_settings.def (%.20s)", prefix, cell);
}

static void test_docs_match_the_list(void **state) {
  char *all = slurp(SMELT_SOURCE_DIR "/docs/config.md");
  const char *doc = strstr(all, "### Settings\n"); /* the experiment settings (presets come before) */
  assert_non_null(doc);
  char buf[4096];
  for (int i = 0; i < RT_SETTING_COUNT; i++) {
    const RtSettingInfo *f = &RT_SETTING_INFO[i];
    if (!*f->group || rt_setting_is_kind(f)) {
      check_settings_table(doc, f);
      continue;
    }
    const RtSettingInfo *kind_row = NULL; /* the group's `type` row, for typed groups */
    for (int k = 0; k < RT_SETTING_COUNT; k++)
      if (!strcmp(RT_SETTING_INFO[k].group, f->group) && rt_setting_is_kind(&RT_SETTING_INFO[k]))
        kind_row = &RT_SETTING_INFO[k];
    if (!kind_row) {
      if (strcmp(f->key, "enabled") == 0) check_settings_table(doc, f); /* the group's row */
      check_option(f, 0, f->group, paragraph(doc, f->group, buf, sizeof buf));
      continue;
    }
    for (int k = 0; k < kind_row->name_count; k++) {
      if (!rt_setting_applies(f, k)) continue;
      check_option(f, k, kind_row->names[k], type_row(doc, kind_row->names[k], buf, sizeof buf));
    }
  }
  free(all);
}

/* docs/config.md's table of augmentation presets: a column per augmentation setting (all but
 * `enabled`), a row per preset, each cell the value rt_settings_aug_preset gives. */
static void test_docs_match_the_augmentation_presets(void **state) {
  char *doc = slurp(SMELT_SOURCE_DIR "/docs/config.md");
  const char *header = line_starting(doc, "| preset    | rotation ");
  if (!header) fail_msg("docs/config.md has no table of augmentation presets ('| preset | ...')");
  char cols[24][32];
  int ncols = 0;
  for (const char *p = strchr(header + 1, '|'); p && *p == '|' && p[1] != '\n' && ncols < 24; p = strchr(p + 1, '|'))
    if (sscanf(p, "| %31[a-z_]", cols[ncols]) == 1) ncols++;
  int aug_rows = 0;
  for (int i = 0; i < RT_SETTING_COUNT; i++) {
    const RtSettingInfo *f = &RT_SETTING_INFO[i];
    if (strcmp(f->group, "augmentation") != 0 || strcmp(f->key, "enabled") == 0) continue;
    aug_rows++;
    bool found = false;
    for (int k = 0; k < ncols; k++) found |= strcmp(cols[k], f->key) == 0;
    if (!found) fail_msg("docs/config.md: the presets table has no column %s", f->key);
  }
  assert_int_equal(ncols, aug_rows);
  for (int p = 0; p < RT_AUG_PRESET_COUNT; p++) {
    char prefix[64];
    snprintf(prefix, sizeof prefix, "| `%s`", RT_AUG_PRESET_NAMES[p]);
    const char *row = line_starting(doc, prefix);
    if (!row) fail_msg("docs/config.md: the presets table has no row %s", prefix);
    RtSettings s = rt_settings_defaults();
    rt_settings_aug_preset(&s, (RtAugPreset)p);
    assert_true(s.aug_enabled);
    const char *cell = strchr(row + 1, '|');
    for (int k = 0; k < ncols; k++, cell = strchr(cell + 1, '|')) {
      assert_non_null(cell);
      double got = strtod(cell + 1, NULL), want = NAN;
      for (int i = 0; i < RT_SETTING_COUNT; i++) {
        const RtSettingInfo *f = &RT_SETTING_INFO[i];
        if (strcmp(f->group, "augmentation") || strcmp(f->key, cols[k])) continue;
        const char *v = (const char *)&s + f->offset;
        want = f->type == RT_SET_INT ? *(const int *)v : *(const double *)v;
      }
      if (got != want) fail_msg("docs/config.md: preset %s gives %s = %g, the code %g", RT_AUG_PRESET_NAMES[p], cols[k], got, want);
    }
  }
  /* `default` is the built-in augmentation exactly */
  RtSettings def = rt_settings_defaults(), preset = def;
  rt_settings_aug_preset(&preset, RT_AUG_DEFAULT);
  assert_memory_equal(&def, &preset, sizeof def);
  free(doc);
}

/* A settings table row for something that is not a setting fails too. */
static void test_docs_list_no_other_settings(void **state) {
  char *doc = slurp(SMELT_SOURCE_DIR "/docs/config.md");
  const char *p = strstr(doc, "### Settings\n");
  assert_non_null(p);
  const char *end = strstr(p + 1, "\n### ");
  int rows = 0;
  for (p = strstr(p, "\n| `"); p && p < end; p = strstr(p + 1, "\n| `")) {
    char key[64];
    assert_int_equal(sscanf(p, "\n| `%63[^`]`", key), 1);
    bool known = !strcmp(key, "model") || !strcmp(key, "data") || !strcmp(key, "init"); /* the frontend's */
    for (int i = 0; i < RT_SETTING_COUNT && !known; i++) {
      const RtSettingInfo *f = &RT_SETTING_INFO[i];
      known = !strcmp(key, *f->group ? f->group : f->key);
    }
    if (!known) fail_msg("docs/config.md lists a setting '%s' that rt_settings.def does not have", key);
    rows++;
  }
  assert_true(rows >= 10);
  free(doc);
}

/* ---- JSON ---- */

/* Settings with every field away from its default (an enumeration at its last name). */
static RtSettings changed_settings(void) {
  RtSettings s = rt_settings_defaults();
  for (int i = 0; i < RT_SETTING_COUNT; i++) {
    const RtSettingInfo *f = &RT_SETTING_INFO[i];
    char *p = (char *)&s + f->offset;
    switch (f->type) {
      case RT_SET_INT: *(int *)p += 3; break;
      case RT_SET_INT64: *(int64_t *)p = (int64_t)1 << 40; break;
      case RT_SET_NUMBER: *(double *)p = 0.125 * (i + 1); break;
      case RT_SET_BOOL: *(bool *)p = !*(bool *)p; break;
      case RT_SET_PAIR: *(RtPair *)p = RT_PAIR(0.25, 0.5); break;
      default: *(int *)p = f->name_count - 1;
    }
  }
  return s;
}

static void test_json_round_trip(void **state) {
  RtSettings s = changed_settings(), back = rt_settings_defaults();
  cJSON *o = cJSON_CreateObject();
  rt_settings_to_json(o, &s, cJSON_CreateString("data here"));
  RtDiags d = {0};
  assert_true(rt_settings_from_json(o, &back, "test", &d));
  assert_same_settings(&s, &back);
  /* groups nest, data sits where the list marks it (after sync_batchnorm) */
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "optimizer"), "type")->valuestring,
                      "sgd");
  const cJSON *data = cJSON_GetObjectItemCaseSensitive(o, "data");
  assert_string_equal(data->prev->string, "sync_batchnorm");
  assert_string_equal(data->next->string, "augmentation");
  cJSON_Delete(o);
  rt_diags_free(&d);
}

/* A run recorded before a setting existed resumes, and its sweep counts as complete, when the
 * setting's value is its default; a setting that differs still refuses. */
static void test_missing_setting_is_its_default(void **state) {
  RtSettings s = rt_settings_defaults();
  s.loss_kind = RT_LOSS_CTC; /* every experiment has one */
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "name", "e");
  rt_settings_to_json(o, &s, NULL);
  char *current = cJSON_PrintUnformatted(o);
  cJSON_DeleteItemFromObjectCaseSensitive(o, "sync_batchnorm");
  char *older = cJSON_PrintUnformatted(o);
  cJSON_ReplaceItemInObjectCaseSensitive(o, "seed", cJSON_CreateNumber(7));
  char *other = cJSON_PrintUnformatted(o);
  char key[64];
  assert_true(rt_config_same(older, current));
  assert_true(rt_config_resumable(older, current, key, sizeof key));
  assert_false(rt_config_same(other, current));
  assert_false(rt_config_resumable(other, current, key, sizeof key));
  assert_string_equal(key, "seed");
  char values[100];
  rt_config_difference(current, other, "seed", values, sizeof values);
  char expected[100];
  snprintf(expected, sizeof expected, "was %d, now 7", (int)rt_settings_defaults().seed);
  assert_string_equal(values, expected);
  s.sync_batchnorm = true;
  cJSON *n = cJSON_CreateObject();
  cJSON_AddStringToObject(n, "name", "e");
  rt_settings_to_json(n, &s, NULL);
  char *synced = cJSON_PrintUnformatted(n);
  assert_false(rt_config_resumable(older, synced, key, sizeof key));
  assert_string_equal(key, "sync_batchnorm");
  free(current), free(older), free(other), free(synced);
  cJSON_Delete(o);
  cJSON_Delete(n);
}

static void test_json_unset_alpha_is_left_out(void **state) {
  RtSettings s = rt_settings_defaults();
  assert_true(isnan(s.loss_alpha));
  s.loss_kind = RT_LOSS_FOCAL;
  cJSON *o = cJSON_CreateObject();
  rt_settings_to_json(o, &s, NULL);
  const cJSON *loss = cJSON_GetObjectItemCaseSensitive(o, "loss");
  assert_null(cJSON_GetObjectItemCaseSensitive(loss, "alpha"));
  assert_non_null(cJSON_GetObjectItemCaseSensitive(loss, "gamma"));
  assert_null(cJSON_GetObjectItemCaseSensitive(o, "data"));
  assert_float_equal(rt_settings_train_config(&s).focal_alpha, 1.0, 0);
  cJSON_Delete(o);
}

static void test_json_reader_names_the_bad_setting(void **state) {
  static const char *const bad[] = {
      "{\"optimizer\": {\"type\": \"adagrad\"}}", "{\"epochs\": \"5\"}", "{\"optimizer\": {\"betas\": [0.9]}}",
      "{\"early_stopping\": {\"metric\": \"val_cer\"}}", "[]"};
  static const char *const says[] = {"'optimizer.type'", "'epochs'", "'optimizer.betas'", "'early_stopping.metric'",
                                     "not a JSON object"};
  for (int i = 0; i < 5; i++) {
    RtSettings s = rt_settings_defaults();
    RtDiags d = {0};
    cJSON *o = cJSON_Parse(bad[i]);
    assert_false(rt_settings_from_json(o, &s, "trainer", &d));
    assert_int_equal(d.errors, 1);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    rt_diags_print(&d, f);
    fclose(f);
    if (!strstr(text, says[i]) || !strstr(text, "trainer")) fail_msg("for %s: %s", bad[i], text);
    free(text);
    cJSON_Delete(o);
    rt_diags_free(&d);
  }
}

/* ---- the frontend and the runtime take every setting from the list ---- */

static void test_frontend_defaults_are_the_lists(void **state) {
  FeExperiment e = fe_experiment_builtin();
  RtSettings from_fe = fe_experiment_settings(&e), defaults = rt_settings_defaults();
  assert_same_settings(&from_fe, &defaults);
  assert_int_equal(e.scheduler.kind, FE_SCHED_REDUCE_ON_PLATEAU);
  assert_true(e.scheduler.min_lr == 1e-6);
  RtSettings cos = defaults;
  rt_settings_reset_group(&cos, "scheduler", RT_SCHED_COSINE);
  assert_int_equal(cos.sched_kind, RT_SCHED_COSINE);
  assert_true(cos.sched_min_lr == 0); /* a cosine schedule decays to 0 unless told */
  assert_true(cos.learning_rate == defaults.learning_rate); /* other groups untouched */
}

static void test_train_config_takes_every_setting(void **state) {
  RtSettings s = changed_settings();
  RtTrainConfig c = rt_settings_train_config(&s);
  assert_int_equal(c.epochs, s.epochs);
  assert_true(c.lr == s.learning_rate && c.beta1 == 0.25 && c.beta2 == 0.5 && c.eps == s.opt_eps);
  assert_true(c.momentum == s.opt_momentum && c.weight_decay == s.weight_decay && c.grad_clip == s.grad_clip);
  assert_true(c.dropout == s.dropout && c.label_smoothing == s.loss_label_smoothing && c.focal_gamma == s.loss_gamma);
  assert_true(c.focal_alpha == s.loss_alpha);
  assert_true(c.lstm_forget_bias == s.lstm_forget_bias);
  assert_int_equal(c.schedule.kind, RT_SCHED_ONE_CYCLE);
  assert_true(c.schedule.factor == s.sched_factor && c.schedule.min_lr == s.sched_min_lr);
  assert_true(c.schedule.gamma == s.sched_gamma);
  assert_true(c.schedule.pct_start == s.sched_pct_start && c.schedule.div_factor == s.sched_div_factor);
  assert_true(c.schedule.final_div_factor == s.sched_final_div_factor);
  assert_int_equal(c.schedule.patience, s.sched_patience);
  assert_int_equal(c.schedule.warmup_epochs, s.sched_warmup_epochs);
  assert_int_equal(c.schedule.step_size, s.sched_step_size);
  assert_int_equal(c.schedule_metric, RT_METRIC_VAL_LOSS);
  assert_int_equal(c.early_metric, RT_METRIC_VAL_LOSS);
  assert_int_equal(c.early_stopping, s.early_enabled);
  assert_int_equal(c.patience, s.early_patience);
  assert_true(c.min_delta == s.early_min_delta);
  assert_int_equal(c.seed, (uint64_t)s.seed);
  const RtAugmentSettings *a = &c.augment;
  assert_int_equal(a->enabled, s.aug_enabled);
  assert_true(a->rotation == s.aug_rotation && a->shear == s.aug_shear && a->scale == s.aug_scale);
  assert_true(a->translate == s.aug_translate && a->noise == s.aug_noise && a->blur == s.aug_blur);
  assert_true(a->contrast == s.aug_contrast);
  assert_true(a->lines == s.aug_lines && a->wave == s.aug_wave && a->erase == s.aug_erase);
  assert_true(a->invert == s.aug_invert && a->gamma == s.aug_gamma);
}

static void test_warmup_checked_against_epochs(void **state) {
  RtSettings s = rt_settings_defaults();
  rt_settings_reset_group(&s, "scheduler", RT_SCHED_COSINE);
  s.sched_warmup_epochs = 3;
  s.epochs = 3;
  RtDiags d = {0};
  assert_false(rt_settings_check_epochs(&s, "mini", "mini.yaml", 2, 3, &d));
  assert_int_equal(d.errors, 1);
  s.epochs = 4;
  assert_true(rt_settings_check_epochs(&s, "mini", "mini.yaml", 2, 3, &d));
  rt_settings_reset_group(&s, "scheduler", RT_SCHED_STEP);
  s.epochs = 1;
  assert_true(rt_settings_check_epochs(&s, "mini", "mini.yaml", 2, 3, &d)); /* no warm-up by default */
  s.sched_warmup_epochs = 1; /* every schedule's warm-up is checked, and named */
  assert_false(rt_settings_check_epochs(&s, "mini", "mini.yaml", 2, 3, &d));
  char msg[256];
  rt_diag_format(&d.items[d.count - 1], msg, sizeof msg);
  assert_string_equal(msg, "mini.yaml:2:3: error: experiment 'mini': --epochs 1 is not above the step schedule's "
                           "warmup_epochs 1");
  rt_settings_reset_group(&s, "scheduler", RT_SCHED_ONE_CYCLE);
  assert_true(rt_settings_check_epochs(&s, "mini", "mini.yaml", 2, 3, &d)); /* one_cycle has no warm-up */
  rt_diags_free(&d);
}

/* A built trainer reads its embedded settings before anything else: a wrong entry stops it with
 * the setting named, a good one gives --help the experiment's name. */
static void test_trainer_reads_embedded_settings(void **state) {
  char prog[] = "trainer", help[] = "--help", epochs[] = "--epochs", two[] = "2";
  char *argv[] = {prog, help, NULL};
  RtTrainerSpec spec = {.config_json = "{\"name\": \"mini\", \"epochs\": \"3\", "
                                       "\"data\": {\"train\": \"/x\"}}",
                        .max_threads = 1, .built_from = "built from: a test"};
  assert_int_equal(rt_trainer_main(2, argv, &spec), 1);
  spec.config_json = "{\"name\": \"mini\", \"epochs\": 3, \"data\": {\"train\": \"/x\"}}";
  assert_int_equal(rt_trainer_main(2, argv, &spec), 0);
  spec.config_json = "{\"name\": \"mini\", \"scheduler\": {\"type\": \"cosine\", \"warmup_epochs\": 2}, "
                     "\"data\": {\"train\": \"/x\"}}";
  char *short_run[] = {prog, epochs, two, NULL};
  assert_int_equal(rt_trainer_main(3, short_run, &spec), 2); /* --epochs 2 leaves no room after the warm-up */
  spec.config_json = "{\"name\": \"mini\", \"data\": {\"val\": \"/x\"}}";
  assert_int_equal(rt_trainer_main(2, argv, &spec), 1); /* data without a training folder */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_docs_match_the_list),
      cmocka_unit_test(test_docs_list_no_other_settings),
      cmocka_unit_test(test_docs_match_the_augmentation_presets),
      cmocka_unit_test(test_json_round_trip),
      cmocka_unit_test(test_json_unset_alpha_is_left_out),
      cmocka_unit_test(test_missing_setting_is_its_default),
      cmocka_unit_test(test_json_reader_names_the_bad_setting),
      cmocka_unit_test(test_frontend_defaults_are_the_lists),
      cmocka_unit_test(test_train_config_takes_every_setting),
      cmocka_unit_test(test_warmup_checked_against_epochs),
      cmocka_unit_test(test_trainer_reads_embedded_settings),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
