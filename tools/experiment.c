/* Experiment settings for the training loop, as JSON, and its data (experiment.h). */
#include "tools/experiment.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cg_cache.h"
#include "runtime/rt_synth.h"

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
  cJSON *data = cJSON_AddObjectToObject(o, "data");
  if (e->data.synthetic) {
    cJSON_AddNumberToObject(data, "synthetic_train", e->data.train_count);
    cJSON_AddNumberToObject(data, "synthetic_val", e->data.val_count);
    cJSON_AddNumberToObject(data, "seed", (double)e->data.seed);
  } else {
    cJSON_AddStringToObject(data, "train", e->data.train);
    if (e->data.val) cJSON_AddStringToObject(data, "val", e->data.val);
    else cJSON_AddNumberToObject(data, "val_split", e->data.val_split);
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

void experiment_synth_dir(const FeExperiment *e, char *buf, size_t size) {
  char cache[3000];
  if (!cg_cache_dir(cache, sizeof cache)) snprintf(cache, sizeof cache, ".smelt-cache");
  snprintf(buf, size, "%s/data/synth-s%" PRId64 "-n%d+%d-len%d-%d", cache, e->data.seed, e->data.train_count,
           e->data.val_count, e->data.length[0], e->data.length[1]);
}

static RtDataset *load(const char *dir, const char *charset, const FeExperiment *e, const ExperimentData *o,
                       RtDiags *d) {
  RtDatasetOptions opts = {.charset = charset, .max_label_len = e->preset->head->head.max_length,
                           .policy = o->skip_bad ? RT_DATA_SKIP : RT_DATA_STOP,
                           .height = e->preset->height, .width = e->preset->width};
  RtDataset *ds = rt_dataset_load(dir, &opts, d);
  if (ds && o->log)
    fprintf(o->log, "loaded %d samples from %s%s\n", ds->count, dir, ds->skipped ? " (some skipped)" : "");
  return ds;
}

bool experiment_load_data(const FeExperiment *e, const ExperimentData *o, RtDataset **train, RtDataset **val,
                          RtDiags *d) {
  *train = *val = NULL;
  const char *train_dir = o->train_dir, *val_dir = o->val_dir;
  char synth[4096], synth_train[4200], synth_val[4200];
  const char *charset = e->data.charset;
  if (!train_dir && e->data.synthetic) {
    experiment_synth_dir(e, synth, sizeof synth);
    snprintf(synth_train, sizeof synth_train, "%s/train", synth);
    snprintf(synth_val, sizeof synth_val, "%s/val", synth);
    RtSynthOptions so = {.charset = charset, .min_len = e->data.length[0], .max_len = e->data.length[1],
                         .reuse = true, .progress = o->log};
    if (o->log) fprintf(o->log, "synthetic data: %s\n", synth);
    if (!rt_synth_generate(synth_train, e->data.train_count, (uint64_t)e->data.seed, &so, d)) return false;
    so.first_index = e->data.train_count; /* validation continues the same set with new samples */
    if (!rt_synth_generate(synth_val, e->data.val_count, (uint64_t)e->data.seed, &so, d)) return false;
    train_dir = synth_train;
    val_dir = synth_val;
  } else if (!train_dir) {
    train_dir = e->data.train;
    val_dir = e->data.val;
  }
  RtDataset *all = load(train_dir, charset, e, o, d);
  if (!all) return false;
  if (val_dir) {
    *train = all;
    *val = load(val_dir, all->charset.utf8, e, o, d); /* the training set's symbols, in its order */
  } else if (!rt_dataset_split(all, e->data.val_split > 0 ? e->data.val_split : 0.2, (uint64_t)e->seed, train, val, d)) {
    rt_dataset_free(all);
    return false;
  } else {
    rt_dataset_free(all);
  }
  if (!*val) {
    rt_dataset_free(*train);
    *train = NULL;
    return false;
  }
  return true;
}
