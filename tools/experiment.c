/* Experiment settings for the training loop, as JSON, and its data (experiment.h). */
#include "tools/experiment.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt_assert.h"
#include "runtime/rt_suggest.h"

static RtMetric metric_of(FeMetric m) {
  switch (m) {
    case FE_METRIC_VAL_SEQ_ACC: return RT_METRIC_VAL_SEQ_ACC;
    case FE_METRIC_VAL_CHAR_ACC: return RT_METRIC_VAL_CHAR_ACC;
    default: return RT_METRIC_VAL_LOSS;
  }
}

RtTrainConfig experiment_train_config(const FeExperiment *e, const char *out_dir, const char *config_json) {
  RtTrainConfig c = rt_train_config_defaults();
  c.experiment = e->name;
  c.out_dir = out_dir;
  c.config_json = config_json;
  c.epochs = e->epochs;
  c.seed = (uint64_t)e->seed;
  c.lr = e->learning_rate;
  c.beta1 = e->optimizer.betas[0];
  c.beta2 = e->optimizer.betas[1];
  c.eps = e->optimizer.eps;
  c.momentum = e->optimizer.momentum;
  c.weight_decay = e->weight_decay;
  c.grad_clip = e->grad_clip;
  c.dropout = e->dropout;
  c.label_smoothing = e->loss.label_smoothing;
  c.focal_gamma = e->loss.gamma;
  c.focal_alpha = e->loss.has_alpha ? e->loss.alpha : 1.0;
  static const RtScheduleKind kinds[FE_SCHED_COUNT] = {
      [FE_SCHED_REDUCE_ON_PLATEAU] = RT_SCHED_PLATEAU, [FE_SCHED_COSINE] = RT_SCHED_COSINE,
      [FE_SCHED_STEP] = RT_SCHED_STEP, [FE_SCHED_CONSTANT] = RT_SCHED_CONSTANT};
  const FeScheduler *s = &e->scheduler;
  c.schedule = (RtScheduleConfig){.kind = kinds[s->kind], .factor = s->factor, .patience = s->patience,
                                  .min_lr = s->min_lr, .warmup_epochs = s->warmup_epochs,
                                  .step_size = s->step_size, .gamma = s->gamma};
  c.schedule_metric = metric_of(s->metric);
  c.early_stopping = e->early_stopping.enabled;
  c.early_metric = metric_of(e->early_stopping.metric);
  c.patience = e->early_stopping.patience;
  c.min_delta = e->early_stopping.min_delta;
  const FeAugment *a = &e->augmentation;
  c.augment = rt_augment_defaults();
  c.augment.enabled = a->enabled;
  c.augment.rotation = a->rotation;
  c.augment.shear = a->shear;
  c.augment.scale = a->scale;
  c.augment.translate = a->translate;
  c.augment.noise = a->noise;
  c.augment.blur = a->blur;
  c.augment.contrast = a->contrast;
  return c;
}

char *experiment_json(const FeExperiment *e) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "name", e->name);
  cJSON_AddStringToObject(o, "model", e->model ? e->model : e->preset->name);
  cJSON_AddItemToObject(o, "network", fe_preset_json(e->preset)); /* an edited preset is other settings */
  cJSON_AddNumberToObject(o, "batch_size", e->batch_size);
  cJSON_AddNumberToObject(o, "learning_rate", e->learning_rate);
  cJSON *opt = cJSON_AddObjectToObject(o, "optimizer");
  cJSON_AddStringToObject(opt, "type", FE_OPTIMIZER_NAMES[e->optimizer.kind]);
  cJSON_AddItemToObject(opt, "betas", cJSON_CreateDoubleArray(e->optimizer.betas, 2));
  cJSON_AddNumberToObject(opt, "eps", e->optimizer.eps);
  cJSON_AddNumberToObject(opt, "momentum", e->optimizer.momentum);
  cJSON_AddBoolToObject(opt, "nesterov", e->optimizer.nesterov);
  cJSON_AddNumberToObject(o, "weight_decay", e->weight_decay);
  cJSON *sch = cJSON_AddObjectToObject(o, "scheduler");
  cJSON_AddStringToObject(sch, "type", FE_SCHEDULER_NAMES[e->scheduler.kind]);
  cJSON_AddStringToObject(sch, "metric", FE_METRIC_NAMES[e->scheduler.metric]);
  cJSON_AddNumberToObject(sch, "factor", e->scheduler.factor);
  cJSON_AddNumberToObject(sch, "patience", e->scheduler.patience);
  cJSON_AddNumberToObject(sch, "min_lr", e->scheduler.min_lr);
  cJSON_AddNumberToObject(sch, "warmup_epochs", e->scheduler.warmup_epochs);
  cJSON_AddNumberToObject(sch, "step_size", e->scheduler.step_size);
  cJSON_AddNumberToObject(sch, "gamma", e->scheduler.gamma);
  cJSON *loss = cJSON_AddObjectToObject(o, "loss");
  cJSON_AddStringToObject(loss, "type", FE_LOSS_NAMES[e->loss.kind]);
  cJSON_AddNumberToObject(loss, "label_smoothing", e->loss.label_smoothing);
  cJSON_AddNumberToObject(loss, "gamma", e->loss.gamma);
  if (e->loss.has_alpha) cJSON_AddNumberToObject(loss, "alpha", e->loss.alpha);
  cJSON_AddNumberToObject(o, "dropout", e->dropout);
  cJSON_AddNumberToObject(o, "epochs", e->epochs);
  cJSON *es = cJSON_AddObjectToObject(o, "early_stopping");
  cJSON_AddBoolToObject(es, "enabled", e->early_stopping.enabled);
  cJSON_AddStringToObject(es, "metric", FE_METRIC_NAMES[e->early_stopping.metric]);
  cJSON_AddNumberToObject(es, "patience", e->early_stopping.patience);
  cJSON_AddNumberToObject(es, "min_delta", e->early_stopping.min_delta);
  cJSON_AddNumberToObject(o, "grad_clip", e->grad_clip);
  cJSON_AddNumberToObject(o, "seed", (double)e->seed);
  if (e->data.synthetic) {
    cJSON *data = cJSON_AddObjectToObject(o, "data");
    cJSON_AddNumberToObject(data, "synthetic_train", e->data.train_count);
    cJSON_AddNumberToObject(data, "synthetic_val", e->data.val_count);
    cJSON_AddNumberToObject(data, "seed", (double)e->data.seed);
    cJSON_AddItemToObject(data, "length", cJSON_CreateIntArray(e->data.length, 2));
    if (e->data.charset) cJSON_AddStringToObject(data, "charset", e->data.charset);
  } else {
    cJSON_AddItemToObject(o, "data", rt_trainer_folder_data_json(e->data.train, e->data.val, e->data.val_split,
                                                                 e->data.charset));
  }
  cJSON *aug = cJSON_AddObjectToObject(o, "augmentation");
  cJSON_AddBoolToObject(aug, "enabled", e->augmentation.enabled);
  cJSON_AddNumberToObject(aug, "rotation", e->augmentation.rotation);
  cJSON_AddNumberToObject(aug, "shear", e->augmentation.shear);
  cJSON_AddNumberToObject(aug, "scale", e->augmentation.scale);
  cJSON_AddNumberToObject(aug, "translate", e->augmentation.translate);
  cJSON_AddNumberToObject(aug, "noise", e->augmentation.noise);
  cJSON_AddNumberToObject(aug, "blur", e->augmentation.blur);
  cJSON_AddNumberToObject(aug, "contrast", e->augmentation.contrast);
  char *text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return text;
}

const FeExperiment *experiment_pick(const FeConfig *cfg, const char *name, RtDiags *d) {
  const FeExperiment *e = name ? fe_config_find(cfg, name) : cfg->count == 1 ? &cfg->experiments[0] : NULL;
  if (e) return e;
  char list[1024] = "";
  const char **names = rt_xmalloc((size_t)cfg->count * sizeof *names);
  for (int i = 0; i < cfg->count; i++) {
    names[i] = cfg->experiments[i].name;
    snprintf(list + strlen(list), sizeof list - strlen(list), " %s", names[i]);
  }
  const char *guess = name ? rt_suggest(name, names, cfg->count) : NULL;
  free(names);
  if (guess) rt_diag_error(d, cfg->path, 0, 0, "no experiment '%s'; did you mean '%s'? (the config has:%s)", name, guess, list);
  else if (name) rt_diag_error(d, cfg->path, 0, 0, "no experiment '%s'; the config has:%s", name, list);
  else rt_diag_error(d, cfg->path, 0, 0, "the config has %d experiments; choose one with --experiment:%s", cfg->count, list);
  return NULL;
}

/* An absolute path for a data folder (a standalone trainer may run elsewhere). */
static const char *absolute(RtArena *arena, const char *path) {
  if (!path) return NULL;
  char buf[PATH_MAX];
  return rt_arena_strdup(arena, realpath(path, buf) ? buf : path);
}

bool experiment_set_epochs(FeExperiment *e, int epochs, RtDiags *d) {
  if (epochs) e->epochs = epochs;
  if (e->scheduler.kind == FE_SCHED_COSINE && e->scheduler.warmup_epochs >= e->epochs) {
    rt_diag_error(d, e->loc.file, e->loc.line, e->loc.col,
                  "experiment '%s': --epochs %d is not above the cosine schedule's warmup_epochs %d", e->name,
                  e->epochs, e->scheduler.warmup_epochs);
    return false;
  }
  return true;
}

RtTrainerData experiment_data(const FeExperiment *e, RtArena *arena) {
  const FeData *f = &e->data;
  return (RtTrainerData){.synthetic = f->synthetic, .train_dir = absolute(arena, f->train),
                         .val_dir = absolute(arena, f->val), .val_split = f->val_split,
                         .train_count = f->train_count, .val_count = f->val_count, .synth_seed = f->seed,
                         .min_len = f->length[0], .max_len = f->length[1], .charset = f->charset};
}

void experiment_synth_dir(const FeExperiment *e, char *buf, size_t size) {
  RtArena arena = {0};
  RtTrainerData data = experiment_data(e, &arena);
  rt_trainer_synth_dir(&data, buf, size);
  rt_arena_free(&arena);
}

bool experiment_load_data(const FeExperiment *e, const ExperimentData *o, RtDataset **train, RtDataset **val,
                          RtDiags *d) {
  RtArena arena = {0};
  RtTrainerData data = experiment_data(e, &arena);
  const FeLayer *head = e->preset->head;
  RtTrainerDataOptions to = {.skip_bad = o->skip_bad,
                             .max_label_len = head->head.max_length,
                             .ctc_steps = head->kind == FE_LAYER_CTC ? (int)head->in.dims[0] : 0,
                             .height = e->preset->height, .width = e->preset->width, .log = o->log};
  bool ok = rt_trainer_load_data(&data, &to, train, val, d);
  rt_arena_free(&arena);
  return ok;
}
