/* Decoding experiment settings: the field tables of every setting, the built-in defaults, and
 * the three shapes a setting can take (a number or name, a bare type name such as `adam`, or a
 * mapping with `type:` and options). docs/config.md is the user-facing copy of these tables;
 * keep the two in step. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "frontend/fe_path.h"
#include "frontend/fe_settings.h"

const char *const FE_METRIC_NAMES[FE_METRIC_COUNT] = {"val_seq_acc", "val_char_acc", "val_loss"};
const char *const FE_OPTIMIZER_NAMES[FE_OPT_COUNT] = {"adam", "adamw", "sgd"};
const char *const FE_SCHEDULER_NAMES[FE_SCHED_COUNT] = {"reduce_on_plateau", "cosine", "step", "constant"};
const char *const FE_LOSS_NAMES[FE_LOSS_COUNT] = {"cross_entropy", "focal", "ctc"};

bool fe_metric_higher_is_better(FeMetric m) { return m != FE_METRIC_VAL_LOSS; }

#define F(T, key, type, member, lo, hi, fl) {key, type, offsetof(T, member), lo, hi, fl, NULL, 0}
#define SKIP(key) {key, FE_FIELD_SKIP, 0, 0, 0, 0, NULL, 0}
#define METRIC(T, member) {"metric", FE_FIELD_ENUM, offsetof(T, member), 0, 0, 0, FE_METRIC_NAMES, FE_METRIC_COUNT}
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define SCHEMA(what, fields) {what, fields, COUNT(fields)}
#define INF INFINITY

static const FeField SETTINGS[] = {
    F(FeExperiment, "model", FE_FIELD_STRING, model, 0, 0, 0),
    F(FeExperiment, "batch_size", FE_FIELD_INT, batch_size, 1, 65536, 0),
    F(FeExperiment, "learning_rate", FE_FIELD_NUMBER, learning_rate, 0, INF, FE_OPEN_MIN),
    SKIP("optimizer"),
    F(FeExperiment, "weight_decay", FE_FIELD_NUMBER, weight_decay, 0, 1, FE_OPEN_MAX),
    SKIP("scheduler"),
    SKIP("loss"),
    F(FeExperiment, "dropout", FE_FIELD_NUMBER, dropout, 0, 1, FE_OPEN_MAX),
    F(FeExperiment, "epochs", FE_FIELD_INT, epochs, 1, 100000, 0),
    SKIP("early_stopping"),
    F(FeExperiment, "grad_clip", FE_FIELD_NUMBER, grad_clip, 0, INF, 0),
    F(FeExperiment, "seed", FE_FIELD_INT64, seed, 0, 9.2e18, 0),
    SKIP("data"),
    SKIP("augmentation"),
};
static const FeSchema SETTINGS_SCHEMA = SCHEMA("experiment settings", SETTINGS);

static const FeField ADAM[] = {
    SKIP("type"),
    F(FeOptimizer, "betas", FE_FIELD_NUMBER_PAIR, betas, 0, 1, FE_OPEN_MAX),
    F(FeOptimizer, "eps", FE_FIELD_NUMBER, eps, 0, 1, FE_OPEN_MIN | FE_OPEN_MAX),
};
static const FeField SGD[] = {
    SKIP("type"),
    F(FeOptimizer, "momentum", FE_FIELD_NUMBER, momentum, 0, 1, FE_OPEN_MAX),
    F(FeOptimizer, "nesterov", FE_FIELD_BOOL, nesterov, 0, 0, 0),
};
static const FeSchema OPTIMIZERS[FE_OPT_COUNT] = {
    SCHEMA("optimizer adam", ADAM), SCHEMA("optimizer adamw", ADAM), SCHEMA("optimizer sgd", SGD)};

static const FeField PLATEAU[] = {
    SKIP("type"),
    METRIC(FeScheduler, metric),
    F(FeScheduler, "factor", FE_FIELD_NUMBER, factor, 0, 1, FE_OPEN_MIN | FE_OPEN_MAX),
    F(FeScheduler, "patience", FE_FIELD_INT, patience, 0, 100000, 0),
    F(FeScheduler, "min_lr", FE_FIELD_NUMBER, min_lr, 0, INF, 0),
};
static const FeField COSINE[] = {
    SKIP("type"),
    F(FeScheduler, "warmup_epochs", FE_FIELD_INT, warmup_epochs, 0, 100000, 0),
    F(FeScheduler, "min_lr", FE_FIELD_NUMBER, min_lr, 0, INF, 0),
};
static const FeField STEP[] = {
    SKIP("type"),
    F(FeScheduler, "step_size", FE_FIELD_INT, step_size, 1, 100000, 0),
    F(FeScheduler, "gamma", FE_FIELD_NUMBER, gamma, 0, 1, FE_OPEN_MIN),
};
static const FeField CONSTANT[] = {SKIP("type")};
static const FeSchema SCHEDULERS[FE_SCHED_COUNT] = {
    SCHEMA("scheduler reduce_on_plateau", PLATEAU), SCHEMA("scheduler cosine", COSINE),
    SCHEMA("scheduler step", STEP), SCHEMA("scheduler constant", CONSTANT)};

static const FeField CROSS_ENTROPY[] = {
    SKIP("type"), F(FeLoss, "label_smoothing", FE_FIELD_NUMBER, label_smoothing, 0, 1, FE_OPEN_MAX)};
static const FeField FOCAL[] = {
    SKIP("type"),
    F(FeLoss, "gamma", FE_FIELD_NUMBER, gamma, 0, 10, 0),
    F(FeLoss, "alpha", FE_FIELD_NUMBER, alpha, 0, 1, FE_OPEN_MIN),
};
static const FeField CTC[] = {SKIP("type")};
static const FeSchema LOSSES[FE_LOSS_COUNT] = {
    SCHEMA("loss cross_entropy", CROSS_ENTROPY), SCHEMA("loss focal", FOCAL), SCHEMA("loss ctc", CTC)};

static const FeField EARLY[] = {
    F(FeEarlyStopping, "enabled", FE_FIELD_BOOL, enabled, 0, 0, 0),
    METRIC(FeEarlyStopping, metric),
    F(FeEarlyStopping, "patience", FE_FIELD_INT, patience, 0, 100000, 0),
    F(FeEarlyStopping, "min_delta", FE_FIELD_NUMBER, min_delta, 0, INF, 0),
};
static const FeSchema EARLY_SCHEMA = SCHEMA("early_stopping", EARLY);

static const FeField AUGMENT[] = {
    F(FeAugment, "enabled", FE_FIELD_BOOL, enabled, 0, 0, 0),
    F(FeAugment, "rotation", FE_FIELD_NUMBER, rotation, 0, 45, 0),
    F(FeAugment, "shear", FE_FIELD_NUMBER, shear, 0, 45, 0),
    F(FeAugment, "scale", FE_FIELD_NUMBER, scale, 0, 0.5, 0),
    F(FeAugment, "translate", FE_FIELD_NUMBER, translate, 0, 0.5, 0),
    F(FeAugment, "noise", FE_FIELD_NUMBER, noise, 0, 1, 0),
    F(FeAugment, "blur", FE_FIELD_NUMBER, blur, 0, 5, 0),
    F(FeAugment, "contrast", FE_FIELD_NUMBER, contrast, 0, 1, 0),
};
static const FeSchema AUGMENT_SCHEMA = SCHEMA("augmentation", AUGMENT);

static const FeField DATA_FOLDERS[] = {
    F(FeData, "train", FE_FIELD_STRING, train, 0, 0, 0),
    F(FeData, "val", FE_FIELD_STRING, val, 0, 0, 0),
    F(FeData, "val_split", FE_FIELD_NUMBER, val_split, 0, 1, FE_OPEN_MIN | FE_OPEN_MAX),
    F(FeData, "charset", FE_FIELD_STRING, charset, 0, 0, 0),
};
static const FeField DATA_SYNTHETIC[] = {SKIP("synthetic"), F(FeData, "charset", FE_FIELD_STRING, charset, 0, 0, 0)};
static const FeSchema DATA_FORMS[2] = {SCHEMA("folder data", DATA_FOLDERS),
                                       SCHEMA("synthetic data", DATA_SYNTHETIC)};
static const FeField SYNTHETIC[] = {
    F(FeData, "train", FE_FIELD_INT, train_count, 1, 10000000, 0),
    F(FeData, "val", FE_FIELD_INT, val_count, 1, 10000000, 0),
    F(FeData, "seed", FE_FIELD_INT64, seed, 0, 9.2e18, 0),
    F(FeData, "length", FE_FIELD_INT_PAIR, length, 1, 1024, 0),
};
static const FeSchema SYNTHETIC_SCHEMA = SCHEMA("synthetic", SYNTHETIC);

static FeOptimizer optimizer_builtin(int kind) {
  return (FeOptimizer){.kind = kind, .betas = {0.9, 0.999}, .eps = 1e-8, .momentum = 0.9};
}
static FeScheduler scheduler_builtin(int kind) {
  return (FeScheduler){.kind = kind, .metric = FE_METRIC_VAL_LOSS, .factor = 0.5, .patience = 10,
                       .min_lr = kind == FE_SCHED_COSINE ? 0 : 1e-6, .step_size = 10, .gamma = 0.1};
}
static FeLoss loss_builtin(int kind) { return (FeLoss){.kind = kind, .gamma = 2.0}; }
static FeData synthetic_builtin(void) {
  return (FeData){.synthetic = true, .val_split = 0.1, .train_count = 4000, .val_count = 1000,
                  .seed = 1, .length = {4, 8}};
}

FeExperiment fe_experiment_builtin(void) {
  return (FeExperiment){
      .batch_size = 32,
      .learning_rate = 1e-3,
      .optimizer = optimizer_builtin(FE_OPT_ADAM),
      .scheduler = scheduler_builtin(FE_SCHED_REDUCE_ON_PLATEAU),
      .loss = loss_builtin(FE_LOSS_UNSET),
      .epochs = 50,
      .early_stopping = {.enabled = true, .metric = FE_METRIC_VAL_SEQ_ACC, .patience = 15},
      .grad_clip = 5.0,
      .seed = 42,
      .data = synthetic_builtin(),
      .augmentation = {.enabled = true, .rotation = 3, .shear = 8, .scale = 0.05, .translate = 0.03,
                       .noise = 0.02, .blur = 0.6, .contrast = 0.2},
  };
}

/* A typed setting: a bare name or a mapping whose `type` (or the inherited type) picks the
 * schema. Changing the type starts from that type's built-in options. Returns the type. */
static int typed_decode(FeCtx *c, const FeNode *n, const char *noun, const char *const *names,
                        int count, const FeSchema *schemas, int type, void (*reset)(void *, int), void *dst) {
  const FeNode *tn = n;
  if (n->kind == FE_NODE_MAP) {
    tn = fe_node_get(n, "type");
  } else if (n->kind != FE_NODE_SCALAR || fe_node_is_null(n)) {
    char got[96], known[256];
    fe_error(c, n, "%s must be a name (%s) or a mapping with 'type', got %s", noun,
             fe_names_join(names, count, known, sizeof known), fe_node_describe(n, got, sizeof got));
    return type;
  }
  int t = type < 0 ? 0 : type;
  if (tn && !fe_enum_decode(c, tn, noun, names, count, &t)) return type;
  if (t != type) reset(dst, t);
  if (n->kind == FE_NODE_MAP) fe_schema_decode(c, n, &schemas[t], dst, schemas, count);
  return t;
}

static void reset_optimizer(void *p, int t) { *(FeOptimizer *)p = optimizer_builtin(t); }
static void reset_scheduler(void *p, int t) { *(FeScheduler *)p = scheduler_builtin(t); }
static void reset_loss(void *p, int t) { *(FeLoss *)p = loss_builtin(t); }

/* `true`, `false`, or a mapping of options that switches the setting on unless it says otherwise. */
static void switch_decode(FeCtx *c, const FeNode *n, const FeSchema *s, bool *enabled, void *dst) {
  if (n->kind == FE_NODE_MAP) {
    *enabled = true;
    fe_schema_decode(c, n, s, dst, NULL, 0);
  } else if (!fe_scalar_bool(n, enabled)) {
    char got[96];
    fe_error(c, n, "%s must be true, false or a mapping of options, got %s", s->what,
             fe_node_describe(n, got, sizeof got));
  }
}

/* Counts UTF-8 code points, rejecting control characters and repeated symbols. */
static void charset_check(FeCtx *c, const FeNode *n, FeData *d) {
  const unsigned char *s = (const unsigned char *)d->charset;
  size_t len = strlen(d->charset), starts[4096];
  int count = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < 0x20 || s[i] == 0x7f) {
      fe_error(c, n, "charset must not hold control characters (tab, newline, ...)");
      return;
    }
    if ((s[i] & 0xC0) == 0x80) continue;
    if (count == 4096) {
      fe_error(c, n, "charset holds more than 4096 symbols");
      return;
    }
    starts[count++] = i;
  }
  for (int a = 0; a < count; a++) {
    size_t la = (a + 1 < count ? starts[a + 1] : len) - starts[a];
    for (int b = 0; b < a; b++) {
      size_t lb = (b + 1 < count ? starts[b + 1] : len) - starts[b];
      if (la == lb && memcmp(s + starts[a], s + starts[b], la) == 0) {
        fe_error(c, n, "charset holds the symbol '%.*s' twice", (int)la, (const char *)s + starts[a]);
        return;
      }
    }
  }
  d->charset_size = count;
}

static void folder_check(FeCtx *c, const FeNode *data, const char *key, const char **path,
                         const char *base_dir, bool skip) {
  if (!*path) return;
  *path = fe_path_join(c->arena, base_dir, *path);
  if (skip) return;
  const FeNode *at = fe_node_get(data, key);
  char *labels = fe_path_join(c->arena, *path, "labels.tsv");
  if (!fe_path_is_dir(*path))
    fe_error(c, at, "data folder '%s' does not exist", *path);
  else if (!fe_path_is_file(labels))
    fe_error(c, at, "data folder '%s' has no labels.tsv (one 'image-path<TAB>text' per line)", *path);
}

/* data: `synthetic`, {synthetic: {...}} or {train: DIR, val: DIR}. It always replaces the
 * inherited data entirely: mixing a folder from the defaults with synthetic counts is never meant. */
static void data_decode(FeCtx *c, const FeNode *n, FeData *d, const char *base_dir, bool skip) {
  *d = synthetic_builtin();
  if (n->kind == FE_NODE_SCALAR && !fe_node_is_null(n) && strcmp(n->text, "synthetic") == 0) return;
  if (n->kind != FE_NODE_MAP) {
    char got[96];
    fe_error(c, n, "data must be 'synthetic', {synthetic: {...}} or {train: DIR, val: DIR}, got %s",
             fe_node_describe(n, got, sizeof got));
    return;
  }
  const FeNode *synth = fe_node_get(n, "synthetic");
  if (synth && (fe_node_get(n, "train") || fe_node_get(n, "val"))) {
    fe_error(c, fe_node_key(n, "synthetic"),
             "data takes either 'synthetic' or 'train'/'val' folders, not both");
    return;
  }
  d->synthetic = synth != NULL;
  fe_schema_decode(c, n, &DATA_FORMS[d->synthetic], d, DATA_FORMS, 2);
  if (d->charset) charset_check(c, fe_node_get(n, "charset"), d);
  if (!d->synthetic) {
    if (!fe_node_get(n, "train"))
      fe_error(c, n, "data needs 'train' (a folder with labels.tsv) or 'synthetic'");
    if (d->val && fe_node_get(n, "val_split"))
      fe_error(c, fe_node_get(n, "val_split"), "val_split is only used without 'val'");
    folder_check(c, n, "train", &d->train, base_dir, skip);
    folder_check(c, n, "val", &d->val, base_dir, skip);
    return;
  }
  bool on = true;
  if (synth->kind == FE_NODE_MAP) {
    uint64_t set = fe_schema_decode(c, synth, &SYNTHETIC_SCHEMA, d, NULL, 0);
    if ((set >> 3 & 1) && d->length[0] > d->length[1]) /* bit 3: SYNTHETIC[3], length */
      fe_error(c, fe_node_get(synth, "length"), "length [%d, %d] must be [min, max] with min <= max",
               d->length[0], d->length[1]);
  } else if (!fe_node_is_null(synth) && !(fe_scalar_bool(synth, &on) && on)) {
    char got[96];
    fe_error(c, synth, "synthetic must be a mapping {train, val, seed, length} or true, got %s",
             fe_node_describe(synth, got, sizeof got));
  }
}

typedef struct Target {
  FeExperiment *e;
  const char *base_dir;
  bool skip_data_check;
} Target;

/* The settings with shapes of their own, decoded in file order with the plain ones. */
static void setting_decode(FeCtx *c, const FeNode *key, const FeNode *n, void *user) {
  Target *t = user;
  FeExperiment *e = t->e;
  const char *k = key->text;
  if (strcmp(k, "optimizer") == 0) {
    typed_decode(c, n, "optimizer", FE_OPTIMIZER_NAMES, FE_OPT_COUNT, OPTIMIZERS, (int)e->optimizer.kind,
                 reset_optimizer, &e->optimizer);
  } else if (strcmp(k, "scheduler") == 0) {
    typed_decode(c, n, "scheduler", FE_SCHEDULER_NAMES, FE_SCHED_COUNT, SCHEDULERS, (int)e->scheduler.kind,
                 reset_scheduler, &e->scheduler);
  } else if (strcmp(k, "loss") == 0) {
    bool had_alpha = fe_node_get(n, "alpha") != NULL;
    typed_decode(c, n, "loss", FE_LOSS_NAMES, FE_LOSS_COUNT, LOSSES, (int)e->loss.kind, reset_loss, &e->loss);
    e->loss.has_alpha |= had_alpha && e->loss.kind == FE_LOSS_FOCAL;
  } else if (strcmp(k, "early_stopping") == 0) {
    switch_decode(c, n, &EARLY_SCHEMA, &e->early_stopping.enabled, &e->early_stopping);
  } else if (strcmp(k, "augmentation") == 0) {
    switch_decode(c, n, &AUGMENT_SCHEMA, &e->augmentation.enabled, &e->augmentation);
  } else if (strcmp(k, "data") == 0) {
    data_decode(c, n, &e->data, t->base_dir, t->skip_data_check);
  }
}

void fe_settings_decode(FeCtx *c, const FeNode *map, FeExperiment *e, const char *base_dir,
                        bool skip_data_check) {
  Target t = {e, base_dir, skip_data_check};
  fe_schema_decode_custom(c, map, &SETTINGS_SCHEMA, e, NULL, 0, setting_decode, &t);
}
