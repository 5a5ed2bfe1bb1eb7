/* Experiment settings for the training loop, as JSON, and its data (experiment.h). */
#include "driver/experiment.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "support/rt_assert.h"
#include "support/rt_suggest.h"

RtTrainConfig experiment_train_config(const FeExperiment *e, const char *out_dir, const char *config_json) {
  RtSettings s = fe_experiment_settings(e);
  RtTrainConfig c = rt_settings_train_config(&s);
  c.experiment = e->name;
  c.out_dir = out_dir;
  c.config_json = config_json;
  c.init_path = e->init;
  RtArena arena = {0};
  RtTrainerData data = experiment_data(e, &arena);
  c.fresh = rt_trainer_fresh_config(&data); /* holds no pointer into the arena: charset is e's */
  rt_arena_free(&arena);
  return c;
}

/* An absolute path for a data folder or checkpoint (a standalone trainer may run elsewhere). */
static const char *absolute(RtArena *arena, const char *path) {
  if (!path) return NULL;
  char buf[PATH_MAX];
  return rt_arena_strdup(arena, realpath(path, buf) ? buf : path);
}

char *experiment_json(const FeExperiment *e) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "name", e->name);
  cJSON_AddStringToObject(o, "model", e->model ? e->model : e->preset->name);
  cJSON_AddItemToObject(o, "network", fe_preset_json(e->preset)); /* an edited preset is other settings */
  RtSettings s = fe_experiment_settings(e);
  RtArena arena = {0};
  if (e->init) cJSON_AddStringToObject(o, "init", absolute(&arena, e->init)); /* a trainer runs anywhere */
  RtTrainerData data = experiment_data(e, &arena);
  rt_settings_to_json(o, &s, rt_trainer_data_json(&data));
  rt_arena_free(&arena);
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


bool experiment_set_epochs(FeExperiment *e, int epochs, RtDiags *d) {
  if (epochs) e->epochs = epochs;
  RtSettings s = fe_experiment_settings(e);
  return rt_settings_check_epochs(&s, e->name, e->loc.file, e->loc.line, e->loc.col, d);
}

RtTrainerData experiment_data(const FeExperiment *e, RtArena *arena) {
  const FeData *f = &e->data;
  return (RtTrainerData){.synthetic = f->synthetic, .train_dir = absolute(arena, f->train),
                         .val_dir = absolute(arena, f->val), .val_split = f->val_split,
                         .train_count = f->train_count, .val_count = f->val_count, .synth_seed = f->seed,
                         .min_len = f->length[0], .max_len = f->length[1], .fresh = f->synthetic && f->fresh,
                         .charset = f->charset, .synth_lines = f->lines, .synth_char_colours = f->char_colours,
                         .synth_distort = f->distort, .synth_grey = f->grey, .synth_height = f->height,
                         .synth_width = f->width, .synth_mixed = f->mixed_styles, .synth_fonts = f->fonts};
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
                             .ctc_steps = fe_preset_is_ctc(e->preset) ? (int)head->in.dims[0] : 0,
                             .height = e->preset->height, .width = e->preset->width, .log = o->log};
  bool ok = rt_trainer_load_data(&data, &to, train, val, d);
  rt_arena_free(&arena);
  return ok;
}
