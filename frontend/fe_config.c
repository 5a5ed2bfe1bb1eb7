/* Experiment config loading: the top level (presets_dir, defaults, experiments), merging each
 * experiment over the decoded defaults, loading every distinct preset once, and running the
 * per-experiment checks. All problems of a file are collected before it is rejected; a config is
 * returned only when it has none, so nothing downstream ever sees a half-valid experiment. */
#include "frontend/fe_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/fe_path.h"
#include "frontend/fe_settings.h"
#include "frontend/fe_strmap.h"
#include "support/rt_assert.h"

typedef struct Top {
  const char *presets_dir;
} Top;
static const FeField TOP_FIELDS[] = {
    {"presets_dir", FE_FIELD_STRING, offsetof(Top, presets_dir), 0, 0, 0, NULL, 0},
    {"defaults", FE_FIELD_SKIP, 0, 0, 0, 0, NULL, 0},
    {"experiments", FE_FIELD_SKIP, 0, 0, 0, FE_REQUIRED, NULL, 0},
};
static const FeSchema TOP_SCHEMA = {"a config", TOP_FIELDS, 3};

/* Presets already resolved in this config, by resolved reference; failures are cached too so a
 * bad preset shared by seven experiments is reported once. */
typedef struct PresetCache {
  FeStrMap index; /* reference -> position in presets */
  FePreset **presets;
  int count;
} PresetCache;

typedef struct Loader {
  FeCtx ctx;
  FeConfig *cfg;
  const char *base_dir; /* the config file's folder: relative paths start here */
  const FeLoadOptions *opts;
  PresetCache cache;
} Loader;

static bool experiment_name_ok(const FeNode *k) {
  if (k->len == 0 || k->len > 64 || strlen(k->text) != k->len || k->text[0] == '.') return false;
  for (const char *s = k->text; *s; s++)
    if (!(*s == '_' || *s == '-' || *s == '.' || (*s >= '0' && *s <= '9') ||
          ((*s | 32) >= 'a' && (*s | 32) <= 'z')))
      return false;
  return true;
}

static const FePreset *preset_get(Loader *L, const char *model, FeLoc at) {
  bool is_path = strchr(model, '/') || fe_str_ends_with(model, ".yaml") || fe_str_ends_with(model, ".yml");
  const char *ref = is_path ? fe_path_join(&L->cfg->arena, L->base_dir, model) : model;
  int cached = fe_strmap_get(&L->cache.index, ref, strlen(ref));
  if (cached >= 0) return L->cache.presets[cached];
  RtDiags *d = L->ctx.diags;
  int before = d->count;
  FePreset *p = fe_preset_resolve(ref, L->cfg->presets_dir, at, d);
  for (int i = before; !p && i < d->count; i++)
    if (strcmp(d->items[i].file, at.file) != 0) { /* the problems are inside the preset file */
      rt_diag_add(d, RT_DIAG_NOTE, at.file, at.line, at.col, "preset '%s', used here, has the errors above",
                  model);
      break;
    }
  int n = L->cache.count++;
  L->cache.presets = rt_xrealloc(L->cache.presets, (size_t)L->cache.count * sizeof *L->cache.presets);
  L->cache.presets[n] = p;
  fe_strmap_put(&L->cache.index, ref, strlen(ref), n); /* ref lives in the config's arena or is a static name */
  return p;
}

static void experiment_load(Loader *L, const FeNode *key, const FeNode *value, const FeExperiment *base,
                            const FeNode *defaults, FeExperiment *e) {
  FeCtx *c = &L->ctx;
  char got[96];
  *e = *base;
  e->name = rt_arena_strdup(&L->cfg->arena, key->text);
  e->loc = (FeLoc){c->file, key->line, key->col};
  if (!experiment_name_ok(key))
    fe_error(c, key, "experiment name %s may only hold letters, digits, '_', '-' and '.' (it names a folder)",
             fe_node_describe(key, got, sizeof got));
  const FeNode *map = fe_node_is_null(value) ? NULL : value;
  if (map && !fe_expect_map(c, map, "an experiment")) return;
  if (map) fe_settings_decode(c, map, e, L->base_dir, L->opts->skip_data_check);
  const FeNode *model = fe_node_get(map, "model");
  if (!model) model = fe_node_get(defaults, "model");
  if (!e->model || !model || model->kind != FE_NODE_SCALAR || fe_node_is_null(model)) {
    if (!model) fe_error(c, key, "experiment '%s' has no 'model'; set it here or in 'defaults'", e->name);
    return; /* else the model value was invalid and has been reported */
  }
  e->preset = preset_get(L, e->model, (FeLoc){c->file, model->line, model->col});
  if (e->preset) fe_experiment_check(c, e, map, defaults, key);
}

static FeConfig *config_decode(const FeDoc *doc, const FeLoadOptions *opts, RtDiags *d) {
  static const FeLoadOptions no_opts = {0};
  int errors = d->errors;
  FeConfig *cfg = rt_xcalloc(1, sizeof *cfg);
  Loader L = {.cfg = cfg, .opts = opts ? opts : &no_opts};
  L.ctx = (FeCtx){rt_arena_strdup(&cfg->arena, doc->file), d, &cfg->arena};
  cfg->path = L.ctx.file;
  L.base_dir = fe_path_dir(&cfg->arena, cfg->path);
  const FeNode *root = doc->root;
  Top top = {0};
  if (!root) {
    rt_diag_error(d, cfg->path, 1, 1, "empty config; expected a mapping with 'experiments' (and 'defaults')");
  } else if (fe_expect_map(&L.ctx, root, "a config")) {
    fe_schema_decode(&L.ctx, root, &TOP_SCHEMA, &top, NULL, 0);
    if (L.opts->presets_dir) {
      cfg->presets_dir = rt_arena_strdup(&cfg->arena, L.opts->presets_dir);
    } else if (top.presets_dir) {
      cfg->presets_dir = fe_path_join(&cfg->arena, L.base_dir, top.presets_dir);
      if (!fe_path_is_dir(cfg->presets_dir))
        fe_error(&L.ctx, fe_node_get(root, "presets_dir"), "presets folder '%s' does not exist",
                 cfg->presets_dir);
    } else {
      char *dir = fe_presets_default_dir();
      cfg->presets_dir = rt_arena_strdup(&cfg->arena, dir);
      free(dir);
    }
    FeExperiment base = fe_experiment_builtin();
    const FeNode *defaults = fe_node_get(root, "defaults");
    if (fe_node_is_null(defaults)) defaults = NULL;
    if (defaults && fe_expect_map(&L.ctx, defaults, "defaults"))
      fe_settings_decode(&L.ctx, defaults, &base, L.base_dir, L.opts->skip_data_check);
    else
      defaults = NULL;
    const FeNode *exps = fe_node_get(root, "experiments");
    if (exps && fe_expect_map(&L.ctx, exps, "experiments")) {
      if (exps->count == 0) fe_error(&L.ctx, exps, "experiments is empty; add at least one");
      cfg->experiments = rt_arena_alloc(&cfg->arena, (size_t)exps->count * sizeof *cfg->experiments);
      cfg->count = exps->count;
      for (int i = 0; i < exps->count; i++)
        experiment_load(&L, exps->keys[i], exps->items[i], &base, defaults, &cfg->experiments[i]);
    }
  }
  /* The config owns the presets that loaded; the cache's arrays go. */
  cfg->presets = rt_arena_alloc(&cfg->arena, (size_t)(L.cache.count + 1) * sizeof *cfg->presets);
  for (int i = 0; i < L.cache.count; i++)
    if (L.cache.presets[i]) cfg->presets[cfg->preset_count++] = L.cache.presets[i];
  fe_strmap_free(&L.cache.index);
  free(L.cache.presets);
  if (d->errors != errors) {
    fe_config_free(cfg);
    return NULL;
  }
  return cfg;
}

/* Decodes a parsed document; a config comes back only if neither YAML nor schema found a problem. */
static FeConfig *config_from(FeDoc *doc, int errors, const FeLoadOptions *opts, RtDiags *d) {
  FeConfig *c = doc->root || d->errors == errors ? config_decode(doc, opts, d) : NULL;
  fe_yaml_free(doc);
  if (c && d->errors != errors) {
    fe_config_free(c);
    c = NULL;
  }
  return c;
}

FeConfig *fe_config_parse(const char *file, const char *text, size_t len, const FeLoadOptions *opts,
                          RtDiags *d) {
  FeDoc doc;
  int errors = d->errors;
  fe_yaml_parse(&doc, file, text, len, d);
  return config_from(&doc, errors, opts, d);
}

FeConfig *fe_config_load(const char *path, const FeLoadOptions *opts, RtDiags *d) {
  FeDoc doc;
  int errors = d->errors;
  fe_yaml_load(&doc, path, d);
  return config_from(&doc, errors, opts, d);
}

void fe_config_free(FeConfig *c) {
  if (!c) return;
  for (int i = 0; i < c->preset_count; i++) fe_preset_free(c->presets[i]);
  rt_arena_free(&c->arena);
  free(c);
}

const FeExperiment *fe_config_find(const FeConfig *c, const char *name) {
  for (int i = 0; i < c->count; i++)
    if (strcmp(c->experiments[i].name, name) == 0) return &c->experiments[i];
  return NULL;
}

/* What decides an experiment's compiled module, as text: two experiments share a module exactly
 * when their keys are equal. The text lives in a; its length goes to *len. */
static char *module_key(RtArena *a, const FeExperiment *e, size_t *len) {
  int nesterov = e->optimizer.kind == FE_OPT_SGD && e->optimizer.nesterov;
  int clip = e->grad_clip > 0; /* clipping is compiled in when used */
  size_t size = strlen(e->preset->path) + 64;
  char *buf = rt_arena_alloc(a, size);
  *len = (size_t)snprintf(buf, size, "%d %d %d %d %d %d %s", e->batch_size, (int)e->loss.kind,
                          (int)e->optimizer.kind, nesterov, clip, e->precision, e->preset->path);
  return buf;
}

int fe_config_module_groups(const FeConfig *c, int *group_of) {
  RtArena keys = {0};
  FeStrMap groups = {0};
  for (int i = 0; i < c->count; i++) {
    size_t len;
    const char *key = module_key(&keys, &c->experiments[i], &len);
    int g = fe_strmap_put(&groups, key, len, (int)groups.count);
    group_of[i] = g >= 0 ? g : (int)groups.count - 1;
  }
  int n = (int)groups.count;
  fe_strmap_free(&groups);
  rt_arena_free(&keys);
  return n;
}
