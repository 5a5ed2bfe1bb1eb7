/* Checkpoints (rt_checkpoint.h) on top of the safetensors reader and writer. */
#include "runtime/rt_checkpoint.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt_charset.h"
#include "runtime/rt_ema.h"
#include "runtime/rt_safetensors.h"
#include "support/rt_assert.h"
#include "support/rt_json.h"

#define FORMAT "smelt-checkpoint-1"

static void add_number(cJSON *o, const char *key, double x) { cJSON_AddItemToObject(o, key, rt_json_exact_number(x)); }

/* The schedule and early-stopping state, and the run's totals, with numbers that read back
 * exactly (a best value one bit low would count the same value as an improvement). */
static char *trainer_state_json(const RtCheckpointInfo *info) {
  cJSON *o = cJSON_CreateObject(), *s = cJSON_AddObjectToObject(o, "schedule"),
        *e = cJSON_AddObjectToObject(o, "early_stopping"), *t = cJSON_AddObjectToObject(o, "totals");
  add_number(s, "epochs", info->schedule.cfg.epochs); /* the run length the schedule was planned for */
  add_number(s, "lr", info->schedule.lr);
  add_number(s, "best", info->schedule.has_best ? info->schedule.best : 0);
  cJSON_AddBoolToObject(s, "has_best", info->schedule.has_best);
  add_number(s, "bad_epochs", info->schedule.bad_epochs);
  add_number(s, "reductions", info->schedule.reductions);
  add_number(e, "best", info->early.has_best ? info->early.best : 0);
  cJSON_AddBoolToObject(e, "has_best", info->early.has_best);
  add_number(e, "best_epoch", info->early.best_epoch);
  add_number(e, "bad_epochs", info->early.bad_epochs);
  add_number(t, "wall_seconds", info->wall_seconds);
  add_number(t, "train_seconds", info->train_seconds);
  add_number(t, "trained_samples", (double)info->trained_samples);
  char *text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return text;
}

static bool number(const cJSON *o, const char *key, double *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (cJSON_IsBool(v)) {
    *out = cJSON_IsTrue(v);
    return true;
  }
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return false;
  *out = v->valuedouble;
  return true;
}

/* A count stored as a JSON number: whole and within [lo, hi]. */
static bool count(const cJSON *o, const char *key, double lo, double hi, double *out) {
  return number(o, key, out) && *out == floor(*out) && *out >= lo && *out <= hi;
}

static bool parse_trainer_state(const char *text, RtCheckpointInfo *info) {
  cJSON *o = text ? cJSON_Parse(text) : NULL;
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "schedule"),
              *e = cJSON_GetObjectItemCaseSensitive(o, "early_stopping"), *t = cJSON_GetObjectItemCaseSensitive(o, "totals");
  double v[13];
  bool ok = s && e && t && count(s, "epochs", 1, INT32_MAX, &v[12]) && number(s, "lr", &v[0]) && number(s, "best", &v[1]) && number(s, "has_best", &v[2]) &&
            count(s, "bad_epochs", 0, INT32_MAX, &v[3]) && count(s, "reductions", 0, INT32_MAX, &v[4]) &&
            number(e, "best", &v[5]) && number(e, "has_best", &v[6]) &&
            count(e, "best_epoch", -1, INT32_MAX, &v[7]) && count(e, "bad_epochs", 0, INT32_MAX, &v[8]) &&
            number(t, "wall_seconds", &v[9]) && number(t, "train_seconds", &v[10]) &&
            count(t, "trained_samples", 0, 9007199254740992.0, &v[11]);
  if (ok) {
    info->schedule.lr = v[0], info->schedule.best = v[1], info->schedule.has_best = v[2] != 0;
    info->schedule.bad_epochs = (int)v[3], info->schedule.reductions = (int)v[4];
    info->early.best = v[5], info->early.has_best = v[6] != 0, info->early.best_epoch = (int)v[7];
    info->early.bad_epochs = (int)v[8];
    info->schedule.cfg.epochs = (int)v[12];
    info->wall_seconds = v[9], info->train_seconds = v[10], info->trained_samples = (int64_t)v[11];
  }
  cJSON_Delete(o);
  return ok;
}

/* The checkpoint name of slot s's moving average (rt_ema.h), into dst. */
static const char *ema_name(char *dst, size_t size, const RtSlot *s) {
  snprintf(dst, size, "%s%s", RT_EMA_PREFIX, s->name);
  return dst;
}

bool rt_checkpoint_save(const char *path, const RtModel *m, const void *state, const RtCheckpointInfo *info,
                        RtDiags *d) {
  RtStWriter *w = rt_st_writer_new();
  for (int i = 0; i < m->n_state; i++) {
    const RtSlot *s = &m->state[i];
    rt_st_writer_add(w, s->name, RT_ST_F32, s->rank, s->dims, (const char *)state + s->offset);
  }
  char name[512];
  for (int i = 0; i < m->n_state && info->ema; i++) {
    const RtSlot *s = &m->state[i];
    if (rt_ema_covers(s))
      rt_st_writer_add(w, ema_name(name, sizeof name, s), RT_ST_F32, s->rank, s->dims, (const char *)info->ema + s->offset);
  }
  char buf[64];
  rt_st_writer_set_meta(w, rt_ckpt_key(RT_CKPT_FORMAT), FORMAT);
  rt_st_writer_set_meta(w, rt_ckpt_key(RT_CKPT_SMELT_VERSION), SMELT_VERSION);
  rt_st_writer_set_meta(w, rt_ckpt_key(RT_CKPT_PRESET_NAME), m->preset_name ? m->preset_name : "");
  rt_st_writer_set_meta(w, rt_ckpt_key(RT_CKPT_PRESET), m->preset_text ? m->preset_text : "");
  rt_st_writer_set_meta(w, rt_ckpt_key(RT_CKPT_CHARSET), info->charset ? info->charset : "");
  snprintf(buf, sizeof buf, "%dx%dx%d", m->channels, m->height, m->width);
  rt_st_writer_set_meta(w, rt_ckpt_key(RT_CKPT_INPUT_SIZE), buf);
  rt_st_writer_set_meta(w, rt_ckpt_key(RT_CKPT_CONFIG), info->config_json ? info->config_json : "{}");
  snprintf(buf, sizeof buf, "%d", info->epoch);
  rt_st_writer_set_meta(w, rt_ckpt_key(RT_CKPT_EPOCH), buf);
  snprintf(buf, sizeof buf, "%" PRId64, info->step);
  rt_st_writer_set_meta(w, rt_ckpt_key(RT_CKPT_STEP), buf);
  /* every random stream is a function of (seed, epoch, step): the seed is the whole state */
  snprintf(buf, sizeof buf, "philox:%" PRIu64, info->seed);
  rt_st_writer_set_meta(w, rt_ckpt_key(RT_CKPT_RNG_STATE), buf);
  snprintf(buf, sizeof buf, "shuffle:%" PRIu64 ":epoch:%d", info->seed, info->epoch);
  rt_st_writer_set_meta(w, rt_ckpt_key(RT_CKPT_DATA_ORDER), buf);
  rt_st_writer_set_meta(w, rt_ckpt_key(RT_CKPT_BEST_METRIC), rt_metric_key(info->best_metric));
  snprintf(buf, sizeof buf, "%.17g", info->best_value);
  rt_st_writer_set_meta(w, rt_ckpt_key(RT_CKPT_BEST_VALUE), buf);
  snprintf(buf, sizeof buf, "%d", info->best_epoch);
  rt_st_writer_set_meta(w, rt_ckpt_key(RT_CKPT_BEST_EPOCH), buf);
  char *ts = trainer_state_json(info);
  rt_st_writer_set_meta(w, rt_ckpt_key(RT_CKPT_TRAINER_STATE), ts);
  free(ts);
  bool ok = rt_st_writer_write(w, path, d);
  rt_st_writer_free(w);
  return ok;
}

static bool meta_int(const RtStFile *f, RtCkptKey k, int64_t *out) {
  const char *v = rt_st_meta(f, rt_ckpt_key(k));
  if (!v) return false;
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (errno || end == v || *end) return false;
  *out = x;
  return true;
}

bool rt_checkpoint_check_meta(const RtStFile *f, const char *path, RtDiags *d) {
  const char *format = rt_st_meta(f, rt_ckpt_key(RT_CKPT_FORMAT));
  if (!format || strcmp(format, FORMAT)) { /* what else the file holds may mean something else */
    rt_diag_error(d, path, 0, 0, "not a smelt checkpoint (format '%s', expected '%s')", format ? format : "none", FORMAT);
    return false;
  }
  bool ok = true;
  const char *preset = rt_st_meta(f, rt_ckpt_key(RT_CKPT_PRESET));
  if (!preset || !*preset) {
    rt_diag_error(d, path, 0, 0, "the checkpoint's metadata holds no preset: its model cannot be rebuilt");
    ok = false;
  }
  const char *charset = rt_st_meta(f, rt_ckpt_key(RT_CKPT_CHARSET));
  RtCharset cs;
  char err[200];
  if (!charset) {
    rt_diag_error(d, path, 0, 0, "the checkpoint's metadata holds no charset: its class ids have no symbols");
    ok = false;
  } else if (!rt_charset_init(&cs, charset, err, sizeof err)) {
    rt_diag_error(d, path, 0, 0, "the checkpoint's %s", err);
    ok = false;
  } else {
    rt_charset_free(&cs);
  }
  return ok;
}

bool rt_checkpoint_check_symbols(const RtStFile *f, const char *path, int symbols, RtDiags *d) {
  const char *charset = rt_st_meta(f, rt_ckpt_key(RT_CKPT_CHARSET));
  int64_t count = charset ? rt_utf8_count(charset, strlen(charset), NULL) : 0;
  if (count <= symbols) return true;
  rt_diag_error(d, path, 0, 0, "the checkpoint's charset has %lld symbols, but its model has room for %d",
                (long long)count, symbols);
  return false;
}

/* The weight average of a run with ema_decay, when the caller wants it and the file has one
 * (whether it should, the caller judges from the stored settings). */
static void read_ema(const RtStFile *f, const RtModel *m, RtCheckpointInfo *info, RtDiags *d) {
  info->has_ema = false;
  if (!info->ema) return;
  char name[512];
  int before = d->errors;
  for (int i = 0; i < m->n_state && d->errors == before; i++) {
    const RtSlot *s = &m->state[i];
    if (!rt_ema_covers(s)) continue;
    ema_name(name, sizeof name, s);
    if (!info->has_ema && !rt_st_find(f, name)) return; /* none stored */
    info->has_ema = true;
    rt_st_read(f, name, RT_ST_F32, s->rank, s->dims, (char *)info->ema + s->offset, d);
  }
}

bool rt_checkpoint_load(const char *path, const RtModel *m, void *state, RtCheckpointInfo *info, RtDiags *d) {
  RtStFile *f = rt_st_load(path, d);
  if (!f) return false;
  int before = d->errors;
  if (rt_checkpoint_check_meta(f, path, d)) rt_checkpoint_check_symbols(f, path, m->symbols, d);
  if (d->errors == before && rt_st_meta(f, rt_ckpt_key(RT_CKPT_QUANTIZED)))
    rt_diag_error(d, path, 0, 0,
                  "is a quantized inference checkpoint (smelt quantize): training resumes from the fp32 checkpoint it "
                  "was made from");
  for (int i = 0; i < m->n_state && d->errors == before; i++) {
    const RtSlot *s = &m->state[i];
    rt_st_read(f, s->name, RT_ST_F32, s->rank, s->dims, (char *)state + s->offset, d);
  }
  read_ema(f, m, info, d);
  int64_t epoch = 0, step = 0, best_epoch = -1;
  if (d->errors == before && (!meta_int(f, RT_CKPT_EPOCH, &epoch) || !meta_int(f, RT_CKPT_STEP, &step) ||
                              !meta_int(f, RT_CKPT_BEST_EPOCH, &best_epoch) || epoch < 1 || epoch > INT32_MAX ||
                              step < 0 || best_epoch < 0 || best_epoch > epoch))
    rt_diag_error(d, path, 0, 0, "checkpoint metadata lacks a valid epoch, step or best_epoch");
  if (d->errors == before && !parse_trainer_state(rt_st_meta(f, rt_ckpt_key(RT_CKPT_TRAINER_STATE)), info))
    rt_diag_error(d, path, 0, 0,
                  "checkpoint metadata has no valid trainer_state (damaged, or written by an older smelt): "
                  "it can be evaluated and deployed, not resumed");
  /* the early-stopping state indexes the run's history: it must agree with the epoch counts */
  if (d->errors == before &&
      (info->early.best_epoch >= epoch || info->early.best_epoch + 1 != best_epoch || info->wall_seconds < 0 ||
       info->train_seconds < 0))
    rt_diag_error(d, path, 0, 0, "checkpoint trainer_state disagrees with its epoch and best_epoch");
  const char *best = rt_st_meta(f, rt_ckpt_key(RT_CKPT_BEST_VALUE));
  const char *metric = rt_st_meta(f, rt_ckpt_key(RT_CKPT_BEST_METRIC));
  if (d->errors == before) {
    info->epoch = (int32_t)epoch;
    info->step = step;
    info->best_epoch = (int32_t)best_epoch;
    info->best_value = best ? strtod(best, NULL) : NAN;
    int mk = metric ? rt_metric_parse(metric) : -1;
    info->best_metric = mk >= 0 ? (RtMetric)mk : RT_METRIC_VAL_LOSS;
    const char *cs = rt_st_meta(f, rt_ckpt_key(RT_CKPT_CHARSET)), *cfg = rt_st_meta(f, rt_ckpt_key(RT_CKPT_CONFIG));
    info->charset = cs ? rt_xstrdup(cs) : NULL;
    info->config_json = cfg ? rt_xstrdup(cfg) : NULL;
  }
  rt_st_free(f);
  return d->errors == before;
}
