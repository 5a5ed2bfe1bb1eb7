/* The output-folder schema (rt_results.h): key tables, results.json and metrics.jsonl.
 * One function per JSON shape converts both ways (epoch_to_json / epoch_from_json,
 * results_to_json / results_from_json); the writer runs the reader's validator on the tree it is
 * about to write, so the two cannot drift apart. All JSON goes through cJSON. */
#include "runtime/rt_results.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/rt_assert.h"
#include "support/rt_fs.h"
#include "support/rt_json.h"
#include "support/rt_suggest.h"

#ifndef SMELT_VERSION
#define SMELT_VERSION "unknown"
#endif

enum { SCHEMA_VERSION = 1 };

static const struct {
  const char *key, *tb_tag;
  bool higher_is_better;
  bool optional; /* recorded only when not NaN: runs that do not have it keep their files as before */
} METRICS[] = {
    [RT_METRIC_TRAIN_LOSS] = {"train_loss", "train/loss", false},
    [RT_METRIC_VAL_LOSS] = {"val_loss", "val/loss", false},
    [RT_METRIC_VAL_CHAR_ACC] = {"val_char_acc", "val/char_acc", true},
    [RT_METRIC_VAL_SEQ_ACC] = {"val_seq_acc", "val/seq_acc", true},
    [RT_METRIC_VAL_CER] = {"val_cer", NULL, false},
    [RT_METRIC_LR] = {"lr", "lr", false},
    [RT_METRIC_SAMPLES_PER_S] = {"samples_per_s", NULL, true},
    [RT_METRIC_SECONDS] = {"seconds", NULL, false},
    [RT_METRIC_MAX_LABEL_LEN] = {"max_label_len", NULL, false, true},
    [RT_METRIC_GRAD_NORM_TOTAL] = {"grad_norm_total", "train/grad_norm", false, true},
    [RT_METRIC_VAL_BLANK_RATE] = {"val_blank_rate", "val/blank_rate", false, true},
    [RT_METRIC_VAL_ATTENTION_PEAK] = {"val_attention_peak", "val/attention_peak", true, true},
    [RT_METRIC_VAL_ATTENTION_FORWARD] = {"val_attention_forward", "val/attention_forward", true, true},
};
_Static_assert(sizeof METRICS / sizeof METRICS[0] == RT_METRIC_COUNT, "one METRICS row per RtMetric");

static const char *const CKPT_KEYS[] = {
    [RT_CKPT_FORMAT] = "format",           [RT_CKPT_SMELT_VERSION] = "smelt_version",
    [RT_CKPT_PRESET_NAME] = "preset_name", [RT_CKPT_PRESET] = "preset",
    [RT_CKPT_CHARSET] = "charset",         [RT_CKPT_INPUT_SIZE] = "input_size",
    [RT_CKPT_CONFIG] = "config",           [RT_CKPT_EPOCH] = "epoch",
    [RT_CKPT_STEP] = "step",               [RT_CKPT_RNG_STATE] = "rng_state",
    [RT_CKPT_DATA_ORDER] = "data_order",   [RT_CKPT_BEST_METRIC] = "best_metric",
    [RT_CKPT_BEST_VALUE] = "best_value",   [RT_CKPT_BEST_EPOCH] = "best_epoch",
    [RT_CKPT_TRAINER_STATE] = "trainer_state", [RT_CKPT_QUANTIZED] = "quantized",
    [RT_CKPT_CALIBRATION] = "calibration",
};
_Static_assert(sizeof CKPT_KEYS / sizeof CKPT_KEYS[0] == RT_CKPT_KEY_COUNT, "one CKPT_KEYS row per RtCkptKey");

static const char *const STATUS[] = {"ok", "early_stopped", "diverged", "failed"};
_Static_assert(sizeof STATUS / sizeof STATUS[0] == RT_RUN_STATUS_COUNT, "one STATUS row per RtRunStatus");

/* results.json top-level keys, in the order written. */
static const char *const TOP_KEYS[] = {
    "schema_version", "smelt_version", "experiment", "preset", "status", "error", "diverged_at_step",
    "epochs_run", "epochs_configured", "best_epoch", "best_metric", "best", "final", "history",
    "params", "wall_time_s", "samples_per_s", "checkpoints", "config"};
enum { TOP_COUNT = sizeof TOP_KEYS / sizeof TOP_KEYS[0] };
static const char *const CKPT_PATH_KEYS[] = {"best", "last"};

const char *rt_metric_key(RtMetric m) { return METRICS[m].key; }
const char *rt_metric_tb_tag(RtMetric m) { return METRICS[m].tb_tag; }
bool rt_metric_higher_is_better(RtMetric m) { return METRICS[m].higher_is_better; }
const char *rt_ckpt_key(RtCkptKey k) { return CKPT_KEYS[k]; }
const char *rt_run_status_name(RtRunStatus s) { return STATUS[s]; }

int rt_metric_parse(const char *s) {
  for (int m = 0; m < RT_METRIC_COUNT; m++)
    if (strcmp(s, METRICS[m].key) == 0) return m;
  return -1;
}

bool rt_metric_better(RtMetric m, double a, double b) {
  if (isnan(a)) return false;
  if (isnan(b)) return true;
  return METRICS[m].higher_is_better ? a > b : a < b;
}

/* ---- Checking JSON against the schema ---- */

/* Where a problem is: the file, a line (metrics.jsonl) and a path inside the document; and
 * where to report it. */
typedef struct Where {
  const char *file;
  int line;
  const char *path; /* "" for the top level, "history[3]", ... */
  RtDiags *d;
} Where;

#define BAD(w, ...) bad(w, __VA_ARGS__)
static void bad(const Where *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void bad(const Where *w, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  rt_diag_error(w->d, w->file, w->line, 0, "%s%s%s", w->path, w->path[0] ? ": " : "", msg);
}

/* Unknown, duplicate and missing keys of object o against keys[0..n), of which the first
 * `required` must be there. */
static bool keys_check(const Where *w, const cJSON *o, const char *const *keys, int n, int required) {
  bool ok = true;
  for (const cJSON *c = o->child; c; c = c->next) {
    int k = 0;
    while (k < n && strcmp(keys[k], c->string) != 0) k++;
    if (k == n) {
      const char *s = rt_suggest(c->string, keys, n);
      BAD(w, "unknown key '%s'%s%s%s", c->string, s ? " (did you mean '" : "", s ? s : "", s ? "'?)" : "");
      ok = false;
    }
    for (const cJSON *e = o->child; e != c; e = e->next)
      if (strcmp(e->string, c->string) == 0) {
        BAD(w, "duplicate key '%s'", c->string);
        ok = false;
        break;
      }
  }
  for (int k = 0; k < required; k++)
    if (!cJSON_GetObjectItemCaseSensitive(o, keys[k])) {
      BAD(w, "missing key '%s'", keys[k]);
      ok = false;
    }
  return ok;
}

/* An integer in [lo, hi]; null accepted (as -1) when nullable. */
static bool json_int(const Where *w, const cJSON *v, const char *key, int64_t lo, int64_t hi, bool nullable,
                     int64_t *out) {
  if (nullable && cJSON_IsNull(v)) {
    *out = -1;
    return true;
  }
  double x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
  if (!(x >= (double)lo && x <= (double)hi) || x != floor(x)) {
    BAD(w, "'%s' must be an integer in [%lld, %lld]%s", key, (long long)lo, (long long)hi, nullable ? " or null" : "");
    return false;
  }
  *out = (int64_t)x;
  return true;
}

/* A number; null reads as NaN. */
static bool json_num(const Where *w, const cJSON *v, const char *key, double *out) {
  if (cJSON_IsNull(v)) return *out = NAN, true;
  if (!cJSON_IsNumber(v)) {
    BAD(w, "'%s' must be a number or null", key);
    return false;
  }
  *out = v->valuedouble;
  return true;
}

/* A string (copied into arena, or NULL when no arena); null accepted as NULL when nullable. */
static bool json_str(const Where *w, const cJSON *v, const char *key, bool nullable, RtArena *arena,
                     const char **out) {
  *out = NULL;
  if (nullable && cJSON_IsNull(v)) return true;
  if (!cJSON_IsString(v)) {
    BAD(w, "'%s' must be a string%s", key, nullable ? " or null" : "");
    return false;
  }
  if (arena) *out = rt_arena_strdup(arena, v->valuestring);
  return true;
}

enum { EPOCH_KEYS = RT_METRIC_COUNT + 3 }; /* epoch, step, the metrics, grad_norm */

/* An epoch's keys, the required ones first (*required of them). */
static const char **epoch_keys(int *required) {
  static const char *keys[EPOCH_KEYS];
  int n = 0;
  keys[n++] = "epoch";
  keys[n++] = "step";
  for (int pass = 0; pass < 2; pass++) {
    for (int m = 0; m < RT_METRIC_COUNT; m++)
      if (METRICS[m].optional == (pass == 1)) keys[n++] = METRICS[m].key;
    if (pass == 0) *required = n;
  }
  keys[n++] = RT_KEY_GRAD_NORM;
  return keys;
}

/* The optional per-layer norms: an object of at most RT_GRAD_LAYERS_MAX layer names, each shorter
 * than RT_LAYER_NAME_MAX bytes, to numbers (or null). */
static bool grad_norms_from_json(const Where *w, const cJSON *o, RtEpochMetrics *m) {
  m->n_grad_norms = 0;
  if (!o) return true;
  if (!cJSON_IsObject(o)) {
    BAD(w, "'%s' must be an object of layer names to numbers", RT_KEY_GRAD_NORM);
    return false;
  }
  bool ok = true;
  for (const cJSON *c = o->child; c; c = c->next) {
    if (m->n_grad_norms == RT_GRAD_LAYERS_MAX) {
      BAD(w, "'%s' has more than %d layers", RT_KEY_GRAD_NORM, RT_GRAD_LAYERS_MAX);
      return false;
    }
    if (strlen(c->string) >= RT_LAYER_NAME_MAX || !c->string[0]) {
      BAD(w, "'%s': layer name '%s' is empty or longer than %d bytes", RT_KEY_GRAD_NORM, c->string,
          RT_LAYER_NAME_MAX - 1);
      ok = false;
      continue;
    }
    for (const cJSON *e = o->child; e != c; e = e->next)
      if (!strcmp(e->string, c->string)) {
        BAD(w, "'%s': duplicate layer '%s'", RT_KEY_GRAD_NORM, c->string);
        ok = false;
      }
    RtLayerNorm *l = &m->grad_norm[m->n_grad_norms++];
    snprintf(l->layer, sizeof l->layer, "%s", c->string);
    ok &= json_num(w, c, c->string, &l->norm);
  }
  return ok;
}

static bool epoch_from_json(const Where *w, const cJSON *o, RtEpochMetrics *m) {
  if (!cJSON_IsObject(o)) {
    BAD(w, "must be an object with the keys of one epoch");
    return false;
  }
  int required;
  const char **keys = epoch_keys(&required);
  if (!keys_check(w, o, keys, EPOCH_KEYS, required)) return false;
  bool ok = true;
  int64_t epoch = 0;
  ok &= json_int(w, cJSON_GetObjectItemCaseSensitive(o, "epoch"), "epoch", 1, INT32_MAX, false, &epoch);
  ok &= json_int(w, cJSON_GetObjectItemCaseSensitive(o, "step"), "step", 0, INT64_C(1) << 53, false, &m->step);
  m->epoch = (int32_t)epoch;
  for (int k = 0; k < RT_METRIC_COUNT; k++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, METRICS[k].key);
    if (!v && METRICS[k].optional) m->v[k] = NAN;
    else ok &= json_num(w, v, METRICS[k].key, &m->v[k]);
  }
  ok &= grad_norms_from_json(w, cJSON_GetObjectItemCaseSensitive(o, RT_KEY_GRAD_NORM), m);
  return ok;
}

static cJSON *json_int64(int64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "%lld", (long long)v);
  return cJSON_CreateRaw(buf);
}
static cJSON *json_str_or_null(const char *s) { return s ? cJSON_CreateString(s) : cJSON_CreateNull(); }

static cJSON *epoch_to_json(const RtEpochMetrics *m) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddItemToObject(o, "epoch", json_int64(m->epoch));
  cJSON_AddItemToObject(o, "step", json_int64(m->step));
  for (int k = 0; k < RT_METRIC_COUNT; k++)
    if (!(METRICS[k].optional && isnan(m->v[k]))) cJSON_AddItemToObject(o, METRICS[k].key, rt_json_exact_number(m->v[k]));
  if (m->n_grad_norms > 0) {
    cJSON *g = cJSON_AddObjectToObject(o, RT_KEY_GRAD_NORM);
    for (int i = 0; i < m->n_grad_norms; i++)
      cJSON_AddItemToObject(g, m->grad_norm[i].layer, rt_json_exact_number(m->grad_norm[i].norm));
  }
  return o;
}

static bool same_number(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

static bool epoch_equal(const RtEpochMetrics *a, const RtEpochMetrics *b) {
  if (a->epoch != b->epoch || a->step != b->step) return false;
  for (int k = 0; k < RT_METRIC_COUNT; k++)
    if (!same_number(a->v[k], b->v[k])) return false;
  if (a->n_grad_norms != b->n_grad_norms) return false;
  for (int i = 0; i < a->n_grad_norms; i++)
    if (strcmp(a->grad_norm[i].layer, b->grad_norm[i].layer) || !same_number(a->grad_norm[i].norm, b->grad_norm[i].norm))
      return false;
  return true;
}

/* ---- results.json ---- */

static cJSON *results_to_json(const RtResults *r, RtDiags *d, const char *path) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "schema_version", SCHEMA_VERSION);
  cJSON_AddStringToObject(o, "smelt_version", SMELT_VERSION);
  cJSON_AddItemToObject(o, "experiment", json_str_or_null(r->experiment));
  cJSON_AddItemToObject(o, "preset", json_str_or_null(r->preset));
  cJSON_AddItemToObject(o, "status", json_str_or_null(r->status < RT_RUN_STATUS_COUNT ? STATUS[r->status] : NULL));
  cJSON_AddItemToObject(o, "error", json_str_or_null(r->error));
  cJSON_AddItemToObject(o, "diverged_at_step",
                        r->diverged_at_step >= 0 ? json_int64(r->diverged_at_step) : cJSON_CreateNull());
  cJSON_AddNumberToObject(o, "epochs_run", r->history_count);
  cJSON_AddNumberToObject(o, "epochs_configured", r->epochs_configured);
  cJSON_AddItemToObject(o, "best_epoch", r->best_epoch >= 0 ? cJSON_CreateNumber(r->best_epoch) : cJSON_CreateNull());
  cJSON_AddItemToObject(o, "best_metric",
                        json_str_or_null(r->best_metric < RT_METRIC_COUNT ? METRICS[r->best_metric].key : NULL));
  /* Best metrics are the history entry of the best epoch, never the last one's. */
  bool best_known = r->best_epoch >= 1 && r->best_epoch <= r->history_count;
  cJSON_AddItemToObject(o, "best", best_known ? epoch_to_json(&r->history[r->best_epoch - 1]) : cJSON_CreateNull());
  cJSON_AddItemToObject(o, "final",
                        r->history_count > 0 ? epoch_to_json(&r->history[r->history_count - 1]) : cJSON_CreateNull());
  cJSON *h = cJSON_AddArrayToObject(o, "history");
  for (int i = 0; i < r->history_count; i++) cJSON_AddItemToArray(h, epoch_to_json(&r->history[i]));
  cJSON_AddItemToObject(o, "params", json_int64(r->params));
  cJSON_AddItemToObject(o, "wall_time_s", rt_json_exact_number(r->wall_time_s));
  cJSON_AddItemToObject(o, "samples_per_s", rt_json_exact_number(r->samples_per_s));
  cJSON *ck = cJSON_AddObjectToObject(o, "checkpoints");
  cJSON_AddItemToObject(ck, "best", json_str_or_null(r->best_checkpoint));
  cJSON_AddItemToObject(ck, "last", json_str_or_null(r->last_checkpoint));
  cJSON *config = cJSON_Parse(r->config_json ? r->config_json : "{}");
  if (!config) {
    rt_diag_error(d, path, 0, 0, "config is not valid JSON text");
    config = cJSON_CreateNull(); /* the validator then reports the key */
  }
  cJSON_AddItemToObject(o, "config", config);
  return o;
}

/* Validates a results.json tree; fills r (strings in r->arena) when it is not NULL. */
static bool results_from_json(const char *file, const cJSON *o, RtResults *r, RtDiags *d) {
  Where top = {file, 0, "", d};
  if (!cJSON_IsObject(o)) {
    BAD(&top, "results.json must hold one JSON object");
    return false;
  }
  if (!keys_check(&top, o, TOP_KEYS, TOP_COUNT, TOP_COUNT)) return false;
  RtResults tmp = {0};
  RtArena *arena = r ? &r->arena : NULL;
  r = r ? r : &tmp;
#define ITEM(k) cJSON_GetObjectItemCaseSensitive(o, k)
  bool ok = true;
  int64_t version = 0, run = 0, cfg = 0, best_epoch = -1;
  const char *status = NULL, *metric = NULL, *ignored;
  if (json_int(&top, ITEM("schema_version"), "schema_version", 0, INT32_MAX, false, &version) && version != SCHEMA_VERSION) {
    BAD(&top, "schema_version %lld is not %d", (long long)version, SCHEMA_VERSION);
    ok = false;
  }
  ok &= json_str(&top, ITEM("smelt_version"), "smelt_version", false, NULL, &ignored);
  ok &= json_str(&top, ITEM("experiment"), "experiment", false, arena, &r->experiment);
  ok &= json_str(&top, ITEM("preset"), "preset", false, arena, &r->preset);
  ok &= json_str(&top, ITEM("error"), "error", true, arena, &r->error);
  ok &= json_int(&top, ITEM("diverged_at_step"), "diverged_at_step", 0, INT64_C(1) << 53, true, &r->diverged_at_step);
  ok &= json_int(&top, ITEM("epochs_run"), "epochs_run", 0, INT32_MAX, false, &run);
  ok &= json_int(&top, ITEM("epochs_configured"), "epochs_configured", 0, INT32_MAX, false, &cfg);
  ok &= json_int(&top, ITEM("best_epoch"), "best_epoch", 1, INT32_MAX, true, &best_epoch);
  ok &= json_int(&top, ITEM("params"), "params", 0, INT64_C(1) << 53, false, &r->params);
  ok &= json_num(&top, ITEM("wall_time_s"), "wall_time_s", &r->wall_time_s);
  ok &= json_num(&top, ITEM("samples_per_s"), "samples_per_s", &r->samples_per_s);
  r->epochs_configured = (int32_t)cfg;
  r->best_epoch = (int32_t)best_epoch;
  if (json_str(&top, ITEM("status"), "status", false, NULL, &ignored)) {
    status = ITEM("status")->valuestring;
    int s = 0;
    while (s < RT_RUN_STATUS_COUNT && strcmp(STATUS[s], status) != 0) s++;
    if (s == RT_RUN_STATUS_COUNT) {
      BAD(&top, "'status' must be one of ok, early_stopped, diverged, failed (not '%s')", status);
      ok = false;
    } else {
      r->status = (RtRunStatus)s;
      if (s == RT_RUN_FAILED && cJSON_IsNull(ITEM("error"))) BAD(&top, "status 'failed' needs an error message"), ok = false;
      if ((s == RT_RUN_OK || s == RT_RUN_EARLY_STOPPED) && !cJSON_IsNull(ITEM("error")))
        BAD(&top, "status '%s' with an error message", status), ok = false;
      if ((s == RT_RUN_DIVERGED) != !cJSON_IsNull(ITEM("diverged_at_step")))
        BAD(&top, "'diverged_at_step' must be set exactly when status is 'diverged'"), ok = false;
    }
  } else {
    ok = false;
  }
  if (json_str(&top, ITEM("best_metric"), "best_metric", false, NULL, &ignored)) {
    metric = ITEM("best_metric")->valuestring;
    int m = rt_metric_parse(metric);
    if (m < 0) BAD(&top, "'best_metric' '%s' is not a metric key", metric), ok = false;
    else r->best_metric = (RtMetric)m;
  } else {
    ok = false;
  }
  const cJSON *ck = ITEM("checkpoints");
  Where wck = {file, 0, "checkpoints", d};
  if (!cJSON_IsObject(ck)) BAD(&top, "'checkpoints' must be an object"), ok = false;
  else if (!keys_check(&wck, ck, CKPT_PATH_KEYS, 2, 2)) ok = false;
  else {
    ok &= json_str(&wck, cJSON_GetObjectItemCaseSensitive(ck, "best"), "best", true, arena, &r->best_checkpoint);
    ok &= json_str(&wck, cJSON_GetObjectItemCaseSensitive(ck, "last"), "last", true, arena, &r->last_checkpoint);
  }
  if (!cJSON_IsObject(ITEM("config"))) BAD(&top, "'config' must be an object"), ok = false;
  else if (arena) {
    char *text = cJSON_PrintUnformatted(ITEM("config"));
    r->config_json = rt_arena_strdup(arena, text);
    cJSON_free(text);
  }
  /* History: epochs 1..n in order, n = epochs_run; best and final are copies of its entries. */
  const cJSON *h = ITEM("history");
  int n = cJSON_IsArray(h) ? cJSON_GetArraySize(h) : -1;
  if (n < 0) {
    BAD(&top, "'history' must be an array");
    ok = false;
    n = 0;
  }
  RtEpochMetrics *hist = arena ? rt_arena_alloc(arena, (size_t)(n ? n : 1) * sizeof *hist)
                               : rt_xcalloc((size_t)(n ? n : 1), sizeof *hist);
  bool hist_ok = n >= 0 && cJSON_IsArray(h);
  int i = 0;
  for (const cJSON *e = cJSON_IsArray(h) ? h->child : NULL; e; e = e->next, i++) {
    char where[48];
    snprintf(where, sizeof where, "history[%d]", i);
    Where we = {file, 0, where, d};
    if (!epoch_from_json(&we, e, &hist[i])) hist_ok = false;
    else if (hist[i].epoch != i + 1) BAD(&we, "epoch %d where %d was expected", hist[i].epoch, i + 1), hist_ok = false;
  }
  ok &= hist_ok;
  if (cJSON_IsArray(h) && run != n) BAD(&top, "'epochs_run' is %lld but history has %d epochs", (long long)run, n), ok = false;
  const char *names[2] = {"best", "final"};
  int at[2] = {(int)best_epoch, n};
  for (int k = 0; k < 2; k++) {
    const cJSON *v = ITEM(names[k]);
    Where wk = {file, 0, names[k], d};
    RtEpochMetrics m;
    if (at[k] < 1 || at[k] > n) { /* no such epoch: must be null */
      if (!cJSON_IsNull(v)) BAD(&top, "'%s' must be null: no history entry for epoch %d", names[k], at[k]), ok = false;
    } else if (epoch_from_json(&wk, v, &m)) {
      if (hist_ok && !epoch_equal(&m, &hist[at[k] - 1]))
        BAD(&top, "'%s' differs from history entry of epoch %d", names[k], at[k]), ok = false;
    } else {
      ok = false;
    }
  }
  if (best_epoch > n) BAD(&top, "'best_epoch' %lld but only %d epochs ran", (long long)best_epoch, n), ok = false;
  if (n > 0 && best_epoch < 0 && hist_ok) {
    /* null is right only when no epoch has a value of best_metric (all NaN) */
    bool any = false;
    for (int i = 0; i < n && r->best_metric < RT_METRIC_COUNT; i++) any |= !isnan(hist[i].v[r->best_metric]);
    if (any) BAD(&top, "'best_epoch' is null but %d epochs ran", n), ok = false;
  }
#undef ITEM
  r->history = hist;
  r->history_count = n;
  if (!arena) free(hist);
  return ok;
}

bool rt_results_write(const char *path, const RtResults *r, RtDiags *d) {
  int errors = d->errors;
  cJSON *o = results_to_json(r, d, path);
  char *text = cJSON_Print(o);
  cJSON_Delete(o);
  /* Validate exactly the text that goes to disk, parsed back. */
  cJSON *back = cJSON_Parse(text);
  RT_ASSERT(back, "cJSON cannot read what it printed");
  bool ok = results_from_json(path, back, NULL, d) && d->errors == errors;
  cJSON_Delete(back);
  if (ok) {
    size_t n = strlen(text);
    text[n] = '\n'; /* replaces the NUL: the file ends with a newline */
    ok = rt_fs_write_atomic(path, text, n + 1, d);
  }
  cJSON_free(text);
  return ok;
}

bool rt_results_load(const char *path, RtResults *r, RtDiags *d) {
  *r = (RtResults){0};
  uint8_t *text;
  size_t size;
  if (!rt_fs_read_file(path, &text, &size, d)) return false;
  const char *end = NULL;
  cJSON *o = cJSON_ParseWithLengthOpts((const char *)text, size, &end, 0);
  size_t at = end ? (size_t)(end - (const char *)text) : 0;
  while (o && at < size && strchr(" \t\r\n", text[at]) && text[at]) at++;
  bool ok = false;
  if (!o || at < size) {
    rt_diag_error(d, path, 0, 0, "not valid JSON (%s at byte %zu)", o ? "text after the object" : "error", at);
  } else {
    ok = results_from_json(path, o, r, d);
  }
  cJSON_Delete(o);
  free(text);
  if (!ok) rt_results_free(r);
  return ok;
}

void rt_results_free(RtResults *r) {
  rt_arena_free(&r->arena);
  *r = (RtResults){0};
}

/* ---- metrics.jsonl ---- */

struct RtEpochLog {
  int fd;
  char *path;
  int32_t last_epoch; /* epochs in the file so far */
};

/* Parses the first max_lines lines of text (all when max_lines < 0) into a malloc'ed history;
 * *consumed gets the bytes they span, newlines included. */
static bool log_parse(const char *path, const char *text, size_t size, int32_t max_lines, RtEpochMetrics **history,
                      int32_t *count, size_t *consumed, RtDiags *d) {
  int32_t n = 0, cap = 0;
  RtEpochMetrics *h = NULL;
  size_t pos = 0;
  bool ok = true;
  for (int line = 1; ok && pos < size && (max_lines < 0 || n < max_lines); line++) {
    const char *nl = memchr(text + pos, '\n', size - pos);
    Where w = {path, line, "", d};
    if (!nl) {
      BAD(&w, "incomplete last line (no newline): the run was interrupted while writing it");
      ok = false;
      break;
    }
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(text + pos, (size_t)(nl - text - pos), &end, 0);
    if (!o) {
      BAD(&w, "not a JSON object");
      ok = false;
    } else {
      for (const char *c = end; c < nl; c++)
        if (!strchr(" \t\r", *c) || !*c) {
          BAD(&w, "text after the JSON object");
          ok = false;
          break;
        }
      if (n == cap) {
        cap = cap ? 2 * cap : 64;
        h = rt_xrealloc(h, (size_t)cap * sizeof *h);
      }
      if (ok && epoch_from_json(&w, o, &h[n])) {
        if (h[n].epoch != n + 1) BAD(&w, "epoch %d where %d was expected", h[n].epoch, n + 1), ok = false;
        n++;
      } else {
        ok = false;
      }
    }
    cJSON_Delete(o);
    pos = (size_t)(nl - text) + 1;
  }
  if (!ok) {
    free(h);
    return false;
  }
  *history = h;
  *count = n;
  *consumed = pos;
  return true;
}

bool rt_epoch_log_load(const char *path, int32_t max_epochs, RtEpochMetrics **history, int32_t *count, RtDiags *d) {
  *history = NULL;
  *count = 0;
  uint8_t *text;
  size_t size, consumed;
  if (!rt_fs_read_file(path, &text, &size, d)) return false;
  bool ok = log_parse(path, (const char *)text, size, max_epochs, history, count, &consumed, d);
  free(text);
  return ok;
}

RtEpochLog *rt_epoch_log_open(const char *path, int32_t keep_epochs, RtDiags *d) {
  int flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC;
  if (keep_epochs <= 0) flags |= O_TRUNC; /* fresh, or resuming from before epoch 1 */
  if (keep_epochs > 0) {
    /* Resuming: keep the first keep_epochs lines; anything after them was written after the
     * checkpoint we resume from and will be written again. */
    uint8_t *text;
    size_t size, consumed = 0;
    RtEpochMetrics *h = NULL;
    int32_t n = 0;
    if (!rt_fs_read_file(path, &text, &size, d)) return NULL;
    bool ok = log_parse(path, (const char *)text, size, keep_epochs, &h, &n, &consumed, d);
    if (ok && n < keep_epochs) {
      rt_diag_error(d, path, 0, 0, "has %d epochs, but the checkpoint to resume from completed %d", n, keep_epochs);
      ok = false;
    }
    if (ok && consumed < size) ok = rt_fs_write_atomic(path, text, consumed, d);
    free(text);
    free(h);
    if (!ok) return NULL;
  }
  int fd = open(path, flags, 0666);
  if (fd < 0) {
    rt_diag_error(d, path, 0, 0, "cannot open for appending: %s", strerror(errno));
    return NULL;
  }
  RtEpochLog *log = rt_xcalloc(1, sizeof *log);
  *log = (RtEpochLog){.fd = fd, .path = rt_xstrdup(path), .last_epoch = keep_epochs > 0 ? keep_epochs : 0};
  return log;
}

bool rt_epoch_log_append(RtEpochLog *log, const RtEpochMetrics *m, RtDiags *d) {
  if (m->epoch != log->last_epoch + 1) {
    rt_diag_error(d, log->path, 0, 0, "epoch %d appended after epoch %d", m->epoch, log->last_epoch);
    return false;
  }
  cJSON *o = epoch_to_json(m);
  char *json = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  size_t n = strlen(json);
  char *line = rt_xmalloc(n + 1);
  memcpy(line, json, n);
  line[n] = '\n';
  cJSON_free(json);
  /* One write per line: with O_APPEND a reader never sees two lines interleaved. */
  size_t done = 0;
  int err = 0;
  while (done < n + 1) {
    ssize_t k = write(log->fd, line + done, n + 1 - done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      err = k < 0 ? errno : EIO;
      break;
    }
    done += (size_t)k;
  }
  free(line);
  if (!err && fdatasync(log->fd) != 0 && errno != EINVAL) err = errno;
  if (err) {
    rt_diag_error(d, log->path, 0, 0, "cannot append epoch %d: %s", m->epoch, strerror(err));
    return false;
  }
  log->last_epoch = m->epoch;
  return true;
}

void rt_epoch_log_close(RtEpochLog *log) {
  if (!log) return;
  close(log->fd);
  free(log->path);
  free(log);
}

bool rt_epoch_to_tensorboard(RtTbWriter *tb, const RtEpochMetrics *m, int64_t step, RtDiags *d) {
  for (int k = 0; k < RT_METRIC_COUNT; k++)
    if (METRICS[k].tb_tag && !(METRICS[k].optional && isnan(m->v[k]))) rt_tb_scalar(tb, METRICS[k].tb_tag, step, m->v[k]);
  for (int i = 0; i < m->n_grad_norms; i++) {
    char tag[sizeof RT_TB_GRAD_NORM + RT_LAYER_NAME_MAX];
    snprintf(tag, sizeof tag, "%s%s", RT_TB_GRAD_NORM, m->grad_norm[i].layer);
    rt_tb_scalar(tb, tag, step, m->grad_norm[i].norm);
  }
  return rt_tb_flush(tb, d);
}
