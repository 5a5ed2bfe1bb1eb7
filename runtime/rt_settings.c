/* Training settings from one list (rt_settings.h): the row table, defaults, JSON both ways, and the
 * runtime configuration made from them. Everything here walks RT_SETTING_INFO or expands
 * rt_settings.def, so no setting is named twice. */
#include "runtime/rt_settings.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "support/rt_assert.h"

const char *const RT_OPTIMIZER_NAMES[RT_OPT_COUNT] = {"adam", "adamw", "sgd"};
const char *const RT_SCHEDULER_NAMES[RT_SCHED_COUNT] = {"reduce_on_plateau", "cosine", "step", "constant",
                                                         "one_cycle"};
const char *const RT_LOSS_NAMES[RT_LOSS_COUNT] = {"cross_entropy", "focal", "ctc"};
const char *const RT_SET_METRIC_NAMES[RT_SET_METRIC_COUNT] = {"val_seq_acc", "val_char_acc", "val_loss"};
const char *const RT_PRECISION_NAMES[RT_PRECISION_COUNT] = {"fp32", "bf16"};

int rt_settings_name_index(const char *name, const char *const *names, int count) {
  for (int i = 0; name && i < count; i++)
    if (strcmp(name, names[i]) == 0) return i;
  return -1;
}

RtMetric rt_setting_metric(RtSettingMetric m) {
  static const RtMetric of[RT_SET_METRIC_COUNT] = {RT_METRIC_VAL_SEQ_ACC, RT_METRIC_VAL_CHAR_ACC, RT_METRIC_VAL_LOSS};
  return of[m];
}

#define NAMES_INT NULL, 0
#define NAMES_INT64 NULL, 0
#define NAMES_NUMBER NULL, 0
#define NAMES_BOOL NULL, 0
#define NAMES_PAIR NULL, 0
#define NAMES_METRIC RT_SET_METRIC_NAMES, RT_SET_METRIC_COUNT
#define NAMES_OPTIMIZER RT_OPTIMIZER_NAMES, RT_OPT_COUNT
#define NAMES_SCHEDULER RT_SCHEDULER_NAMES, RT_SCHED_COUNT
#define NAMES_LOSS RT_LOSS_NAMES, RT_LOSS_COUNT
#define NAMES_PRECISION RT_PRECISION_NAMES, RT_PRECISION_COUNT

const RtSettingInfo RT_SETTING_INFO[] = {
#define RT_SETTING(member, group, key, type, fe, deflt, lo, hi, flags, only, doc) \
  {group, key, RT_SET_##type, offsetof(RtSettings, member), lo, hi, flags, only, doc, NAMES_##type},
#include "runtime/rt_settings.def"
};
const int RT_SETTING_COUNT = (int)(sizeof RT_SETTING_INFO / sizeof RT_SETTING_INFO[0]);

bool rt_setting_is_kind(const RtSettingInfo *f) {
  return f->type == RT_SET_OPTIMIZER || f->type == RT_SET_SCHEDULER || f->type == RT_SET_LOSS;
}

bool rt_setting_applies(const RtSettingInfo *f, int kind) { return !f->only || (kind >= 0 && (f->only >> kind & 1)); }

/* A typed group's type takes the kind asked for; every other row its default, which may depend on
 * that kind (a cosine schedule's min_lr is 0). */
#define SET_INT(dst, d) dst = (d)
#define SET_INT64(dst, d) dst = (d)
#define SET_NUMBER(dst, d) dst = (d)
#define SET_BOOL(dst, d) dst = (d)
#define SET_PAIR(dst, d) dst = d
#define SET_METRIC(dst, d) dst = (d)
#define SET_OPTIMIZER(dst, d) dst = kind
#define SET_SCHEDULER(dst, d) dst = kind
#define SET_LOSS(dst, d) dst = kind
#define SET_PRECISION(dst, d) dst = (d)

void rt_settings_reset_group(RtSettings *s, const char *group, int kind) {
#define RT_SETTING(member, g, key, type, fe, deflt, ...) \
  if (strcmp(g, group) == 0) SET_##type(s->member, deflt);
#include "runtime/rt_settings.def"
}

#define VALUE_INT(d) (double)(d)
#define VALUE_INT64(d) (double)(d)
#define VALUE_NUMBER(d) (double)(d)
#define VALUE_BOOL(d) (double)(d)
#define VALUE_PAIR(d) (d).v[0]
#define VALUE_METRIC(d) (double)(d)
#define VALUE_OPTIMIZER(d) (double)(d)
#define VALUE_SCHEDULER(d) (double)(d)
#define VALUE_LOSS(d) (double)(d)
#define VALUE_PRECISION(d) (double)(d)

double rt_setting_default(const RtSettingInfo *f, int kind) {
  const RtSettingInfo *row = RT_SETTING_INFO;
#define RT_SETTING(member, g, key, type, fe, deflt, ...) \
  if (f == row++) return VALUE_##type(deflt);
#include "runtime/rt_settings.def"
  RT_ASSERT(0, "setting %s is not a row of RT_SETTING_INFO", f->key);
}

RtSettings rt_settings_defaults(void) {
  RtSettings s;
  memset(&s, 0, sizeof s);
  const char *group = NULL;
  for (int i = 0; i < RT_SETTING_COUNT; i++) { /* each group at its built-in type */
    const RtSettingInfo *f = &RT_SETTING_INFO[i];
    if (group && strcmp(group, f->group) == 0) continue;
    group = f->group;
    rt_settings_reset_group(&s, group, rt_setting_is_kind(f) ? (int)rt_setting_default(f, 0) : 0);
  }
  return s;
}

const char *const RT_AUG_PRESET_NAMES[RT_AUG_PRESET_COUNT] = {"light", "default", "strong"};

/* light: half the default geometry, a third of its photometry; strong: about twice the default
 * plus the CAPTCHA effects, for small real sets and for synthetic data meant to transfer. */
void rt_settings_aug_preset(RtSettings *s, RtAugPreset p) {
  rt_settings_reset_group(s, "augmentation", 0);
  if (p == RT_AUG_LIGHT) {
    s->aug_rotation = 1.5, s->aug_shear = 4, s->aug_scale = 0.03, s->aug_translate = 0.02;
    s->aug_noise = 0.01, s->aug_blur = 0.3, s->aug_contrast = 0.1;
  } else if (p == RT_AUG_STRONG) {
    s->aug_rotation = 5, s->aug_shear = 15, s->aug_scale = 0.1, s->aug_translate = 0.05;
    s->aug_noise = 0.05, s->aug_blur = 1.0, s->aug_contrast = 0.4;
    s->aug_lines = 3, s->aug_wave = 1.5, s->aug_erase = 2, s->aug_invert = 0.1, s->aug_gamma = 0.5;
  }
}

static cJSON *group_object(cJSON *o, const char *group) {
  if (!*group) return o;
  cJSON *g = cJSON_GetObjectItemCaseSensitive(o, group);
  return g ? g : cJSON_AddObjectToObject(o, group);
}

static void field_to_json(cJSON *o, const RtSettingInfo *f, const void *p) {
  switch (f->type) {
    case RT_SET_INT: cJSON_AddNumberToObject(o, f->key, *(const int *)p); break;
    case RT_SET_INT64: cJSON_AddNumberToObject(o, f->key, (double)*(const int64_t *)p); break;
    case RT_SET_NUMBER:
      if (!((f->flags & RT_SET_OPTIONAL) && isnan(*(const double *)p)))
        cJSON_AddNumberToObject(o, f->key, *(const double *)p);
      break;
    case RT_SET_BOOL: cJSON_AddBoolToObject(o, f->key, *(const bool *)p); break;
    case RT_SET_PAIR: cJSON_AddItemToObject(o, f->key, cJSON_CreateDoubleArray(((const RtPair *)p)->v, 2)); break;
    default: {
      int v = *(const int *)p;
      RT_ASSERT(v >= 0 && v < f->name_count, "setting %s has no name for %d", f->key, v);
      cJSON_AddStringToObject(o, f->key, f->names[v]);
    }
  }
}

void rt_settings_to_json(cJSON *o, const RtSettings *s, cJSON *data) {
  const RtSettingInfo *f = RT_SETTING_INFO;
#define RT_SETTINGS_DATA \
  if (data) cJSON_AddItemToObject(o, "data", data);
#define RT_SETTING(member, ...) \
  field_to_json(group_object(o, f->group), f, &s->member), f++;
#include "runtime/rt_settings.def"
}

static bool field_from_json(const cJSON *v, const RtSettingInfo *f, void *p, const char *what, RtDiags *d) {
  const char *group = *f->group ? f->group : "", *dot = *f->group ? "." : "";
  switch (f->type) {
    case RT_SET_INT:
    case RT_SET_INT64:
    case RT_SET_NUMBER:
      if (!cJSON_IsNumber(v)) break;
      if (f->type == RT_SET_INT) *(int *)p = v->valueint;
      else if (f->type == RT_SET_INT64) *(int64_t *)p = (int64_t)v->valuedouble;
      else *(double *)p = v->valuedouble;
      return true;
    case RT_SET_BOOL:
      if (!cJSON_IsBool(v)) break;
      *(bool *)p = cJSON_IsTrue(v);
      return true;
    case RT_SET_PAIR: {
      if (cJSON_GetArraySize(v) != 2 || !cJSON_IsNumber(v->child) || !cJSON_IsNumber(v->child->next)) break;
      RtPair *pair = p;
      pair->v[0] = v->child->valuedouble;
      pair->v[1] = v->child->next->valuedouble;
      return true;
    }
    default: {
      int i = rt_settings_name_index(cJSON_GetStringValue(v), f->names, f->name_count);
      if (i < 0) break;
      *(int *)p = i;
      return true;
    }
  }
  rt_diag_error(d, what, 0, 0, "setting '%s%s%s' has a value of the wrong type or an unknown name", group, dot, f->key);
  return false;
}

bool rt_settings_from_json(const cJSON *o, RtSettings *s, const char *what, RtDiags *d) {
  if (!cJSON_IsObject(o)) {
    rt_diag_error(d, what, 0, 0, "the experiment's settings are not a JSON object");
    return false;
  }
  bool ok = true; /* every bad entry reported; the good ones read all the same */
  for (int i = 0; i < RT_SETTING_COUNT; i++) {
    const RtSettingInfo *f = &RT_SETTING_INFO[i];
    const cJSON *g = *f->group ? cJSON_GetObjectItemCaseSensitive(o, f->group) : o;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(g, f->key);
    if (v && !field_from_json(v, f, (char *)s + f->offset, what, d)) ok = false;
  }
  return ok;
}

bool rt_settings_check_epochs(const RtSettings *s, const char *experiment, const char *file, int line, int col,
                              RtDiags *d) {
  if (rt_schedule_warmup_fits((RtScheduleKind)s->sched_kind, s->sched_warmup_epochs, s->epochs)) return true;
  rt_diag_error(d, file, line, col, "experiment '%s': --epochs %d is not above the %s schedule's warmup_epochs %d",
                experiment, s->epochs, RT_SCHEDULER_NAMES[s->sched_kind], s->sched_warmup_epochs);
  return false;
}

RtTrainConfig rt_settings_train_config(const RtSettings *s) {
  RtTrainConfig c = rt_train_config_defaults();
  c.epochs = s->epochs;
  c.seed = (uint64_t)s->seed;
  c.lr = s->learning_rate;
  c.beta1 = s->opt_betas.v[0];
  c.beta2 = s->opt_betas.v[1];
  c.eps = s->opt_eps;
  c.momentum = s->opt_momentum;
  c.weight_decay = s->weight_decay;
  c.grad_clip = s->grad_clip;
  c.dropout = s->dropout;
  c.label_smoothing = s->loss_label_smoothing;
  c.focal_gamma = s->loss_gamma;
  c.focal_alpha = isnan(s->loss_alpha) ? 1.0 : s->loss_alpha;
  c.lstm_forget_bias = s->lstm_forget_bias;
  c.ema_decay = s->ema_decay;
  c.schedule = (RtScheduleConfig){.kind = (RtScheduleKind)s->sched_kind, .factor = s->sched_factor,
                                  .patience = s->sched_patience, .min_lr = s->sched_min_lr,
                                  .warmup_epochs = s->sched_warmup_epochs, .step_size = s->sched_step_size,
                                  .restart_epochs = s->sched_restart_epochs, .restart_mult = s->sched_restart_mult,
                                  .gamma = s->sched_gamma, .pct_start = s->sched_pct_start,
                                  .div_factor = s->sched_div_factor, .final_div_factor = s->sched_final_div_factor};
  c.schedule_metric = rt_setting_metric(s->sched_metric);
  c.early_stopping = s->early_enabled;
  c.early_metric = rt_setting_metric(s->early_metric);
  c.patience = s->early_patience;
  c.min_delta = s->early_min_delta;
  c.augment = rt_augment_defaults();
  c.augment.enabled = s->aug_enabled;
  c.augment.rotation = s->aug_rotation;
  c.augment.shear = s->aug_shear;
  c.augment.scale = s->aug_scale;
  c.augment.translate = s->aug_translate;
  c.augment.noise = s->aug_noise;
  c.augment.blur = s->aug_blur;
  c.augment.contrast = s->aug_contrast;
  c.curriculum_epochs = s->curriculum_epochs;
  c.augment.lines = s->aug_lines;
  c.augment.wave = s->aug_wave;
  c.augment.erase = s->aug_erase;
  c.augment.invert = s->aug_invert;
  c.augment.gamma = s->aug_gamma;
  return c;
}
