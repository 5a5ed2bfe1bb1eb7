/* An experiment's training settings as one flat struct, expanded from runtime/rt_settings.def, with
 * what every user of them shares: the spellings of optimizers, schedules, losses and metrics,
 * the built-in defaults, the JSON form (written into checkpoints and results by `smelt train`,
 * embedded in built trainers and read back by them), the checks that tie settings together
 * (a warm-up shorter than the run), and the training loop's RtTrainConfig made from them.
 * The runtime is the lowest layer, so the frontend decodes YAML into the same list. */
#ifndef SMELT_RT_SETTINGS_H
#define SMELT_RT_SETTINGS_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/rt_schedule.h"
#include "runtime/rt_train.h"
#include "support/rt_diag.h"

typedef enum RtOptimizerKind { RT_OPT_ADAM, RT_OPT_ADAMW, RT_OPT_SGD, RT_OPT_COUNT } RtOptimizerKind;
typedef enum RtLossKind {
  RT_LOSS_UNSET = -1, /* until the preset's head chooses (frontend) */
  RT_LOSS_CROSS_ENTROPY, RT_LOSS_FOCAL, RT_LOSS_CTC, RT_LOSS_COUNT
} RtLossKind;
/* The metrics a setting can name (schedule, early stopping), in the order of their names. */
typedef enum RtSettingMetric {
  RT_SET_METRIC_VAL_SEQ_ACC, RT_SET_METRIC_VAL_CHAR_ACC, RT_SET_METRIC_VAL_LOSS, RT_SET_METRIC_COUNT
} RtSettingMetric;

/* The spellings in configs and JSON, indexed by the enums above (and RtScheduleKind). */
extern const char *const RT_OPTIMIZER_NAMES[RT_OPT_COUNT];    /* adam, adamw, sgd */
extern const char *const RT_SCHEDULER_NAMES[RT_SCHED_COUNT];  /* reduce_on_plateau, cosine, step, constant, one_cycle */
extern const char *const RT_LOSS_NAMES[RT_LOSS_COUNT];        /* cross_entropy, focal, ctc */
/* the arithmetic of the training step's matrix products (the `precision` setting) */
typedef enum RtPrecision { RT_PRECISION_FP32, RT_PRECISION_BF16, RT_PRECISION_COUNT } RtPrecision;
extern const char *const RT_PRECISION_NAMES[RT_PRECISION_COUNT]; /* fp32, bf16 */
extern const char *const RT_SET_METRIC_NAMES[RT_SET_METRIC_COUNT]; /* val_seq_acc, val_char_acc, val_loss */

/* The index of name in names, or -1. */
int rt_settings_name_index(const char *name, const char *const *names, int count);
/* The results metric a setting names. */
RtMetric rt_setting_metric(RtSettingMetric m);

typedef struct RtPair {
  double v[2];
} RtPair;
#define RT_PAIR(a, b) ((RtPair){{(a), (b)}})
#define RT_ONLY(kind) (1u << (kind))
/* RtSettingInfo.flags: exclusive bounds; an optional number (NaN when unset, left out of JSON). */
enum { RT_SET_OPEN_MIN = 1, RT_SET_OPEN_MAX = 2, RT_SET_OPTIONAL = 8 };

#define RT_SETTING_CTYPE_INT int
#define RT_SETTING_CTYPE_INT64 int64_t
#define RT_SETTING_CTYPE_NUMBER double
#define RT_SETTING_CTYPE_BOOL bool
#define RT_SETTING_CTYPE_PAIR RtPair
#define RT_SETTING_CTYPE_METRIC int
#define RT_SETTING_CTYPE_OPTIMIZER int
#define RT_SETTING_CTYPE_SCHEDULER int
#define RT_SETTING_CTYPE_LOSS int
#define RT_SETTING_CTYPE_PRECISION int

typedef struct RtSettings {
#define RT_SETTING(member, group, key, type, ...) RT_SETTING_CTYPE_##type member;
#include "runtime/rt_settings.def"
} RtSettings;

typedef enum RtSettingType {
  RT_SET_INT, RT_SET_INT64, RT_SET_NUMBER, RT_SET_BOOL, RT_SET_PAIR,
  RT_SET_METRIC, RT_SET_OPTIMIZER, RT_SET_SCHEDULER, RT_SET_LOSS, RT_SET_PRECISION
} RtSettingType;

/* One row of rt_settings.def, for code that walks the list (JSON, YAML tables, docs check). */
typedef struct RtSettingInfo {
  const char *group, *key;
  RtSettingType type;
  size_t offset;             /* into RtSettings */
  double min, max;
  unsigned flags, only;
  const char *doc;
  const char *const *names;  /* enumerations: their spellings */
  int name_count;
} RtSettingInfo;

extern const RtSettingInfo RT_SETTING_INFO[];
extern const int RT_SETTING_COUNT;

/* A typed group's `type` row (optimizer, scheduler, loss). */
bool rt_setting_is_kind(const RtSettingInfo *f);
/* Whether row f applies to a group of type kind (untyped groups: always). */
bool rt_setting_applies(const RtSettingInfo *f, int kind);

/* The built-in defaults. */
RtSettings rt_settings_defaults(void);

/* Augmentation presets: `augmentation: light | default | strong` (docs/config.md). `default` is
 * the group's built-in values; `strong` adds the CAPTCHA effects (lines, wave, erase, invert,
 * gamma). */
typedef enum RtAugPreset { RT_AUG_LIGHT, RT_AUG_DEFAULT, RT_AUG_STRONG, RT_AUG_PRESET_COUNT } RtAugPreset;
extern const char *const RT_AUG_PRESET_NAMES[RT_AUG_PRESET_COUNT]; /* light, default, strong */
/* Sets every augmentation setting of s to preset p's value (enabled included). */
void rt_settings_aug_preset(RtSettings *s, RtAugPreset p);
/* Sets the options of group to the built-in ones of type kind (a typed group's type to kind):
 * what a config that switches to another optimizer, schedule or loss starts from. */
void rt_settings_reset_group(RtSettings *s, const char *group, int kind);
/* The default of row f as a double for a group of type kind (pairs: the first number). */
double rt_setting_default(const RtSettingInfo *f, int kind);

struct cJSON;
/* Adds the settings to o in the order of rt_settings.def, groups as nested objects; `data`
 * (owned by o afterwards; may be NULL) goes where the list marks it. */
void rt_settings_to_json(struct cJSON *o, const RtSettings *s, struct cJSON *data);
/* Reads the settings in object o (as rt_settings_to_json wrote them) over *s: keys absent keep
 * s's values. False with an error naming `what` and the key for each wrong type or unknown name
 * (the other keys are read all the same). */
bool rt_settings_from_json(const struct cJSON *o, RtSettings *s, const char *what, RtDiags *d);

/* After an --epochs override: a schedule's warm-up must still end before the last epoch
 * (rt_schedule_warmup_fits); false with an error at file:line:col naming the experiment. */
bool rt_settings_check_epochs(const RtSettings *s, const char *experiment, const char *file, int line, int col,
                              RtDiags *d);

/* The training loop's configuration of these settings (rt_train_config_defaults for the rest). */
RtTrainConfig rt_settings_train_config(const RtSettings *s);

#endif
