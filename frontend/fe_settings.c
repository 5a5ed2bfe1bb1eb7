/* Decoding experiment settings: the YAML field tables, built from the one list of training
 * settings (runtime/rt_settings.def, whose `fe` column names the FeExperiment field), the
 * built-in defaults from the same list, and the three shapes a setting can take (a number or
 * name, a bare type name such as `adam`, or a mapping with `type:` and options). Data settings
 * (folders or synthetic) have forms of their own and their tables here. docs/config.md is the
 * user-facing copy; tests/unit/test_settings.c checks it against the list. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "frontend/fe_path.h"
#include "frontend/fe_settings.h"
#include "runtime/rt_synth.h"
#include "runtime/rt_synth_fonts.h"
#include "runtime/rt_synth_like.h"
#include "runtime/rt_trainer_main.h"
#include "support/rt_assert.h"

bool fe_metric_higher_is_better(FeMetric m) { return m != FE_METRIC_VAL_LOSS; }

#define F(T, key, type, member, lo, hi, fl) {key, type, offsetof(T, member), lo, hi, fl, NULL, 0}
#define SKIP(key) {key, FE_FIELD_SKIP, 0, 0, 0, 0, NULL, 0}
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define SCHEMA(what, fields) {what, fields, COUNT(fields)}

/* Where each row of rt_settings.def lives in FeExperiment, checked to be of the row's size. */
#define RT_SETTING(member, group, key, type, fe, ...)                                               \
  _Static_assert(sizeof(((FeExperiment *)0)->fe) == sizeof(RT_SETTING_CTYPE_##type),                \
                 "FeExperiment." #fe " does not hold an rt_settings.def " #type);
#include "runtime/rt_settings.def"
static const size_t FE_OFFSET[] = {
#define RT_SETTING(member, group, key, type, fe, ...) offsetof(FeExperiment, fe),
#include "runtime/rt_settings.def"
};

/* The frontend -> runtime handover and back (the built-in defaults), one line per type. */
#define TO_PAIR(dst, src) dst = RT_PAIR((src)[0], (src)[1])
#define FROM_PAIR(dst, src) ((dst)[0] = (src).v[0], (dst)[1] = (src).v[1])
#define TO_INT(dst, src) dst = (src)
#define TO_INT64 TO_INT
#define TO_NUMBER TO_INT
#define TO_BOOL TO_INT
#define TO_METRIC TO_INT
#define TO_OPTIMIZER TO_INT
#define TO_SCHEDULER TO_INT
#define TO_LOSS TO_INT
#define TO_PRECISION TO_INT
#define FROM_INT TO_INT
#define FROM_INT64 TO_INT
#define FROM_NUMBER TO_INT
#define FROM_BOOL TO_INT
#define FROM_METRIC TO_INT
#define FROM_OPTIMIZER TO_INT
#define FROM_SCHEDULER TO_INT
#define FROM_LOSS TO_INT
#define FROM_PRECISION TO_INT

RtSettings fe_experiment_settings(const FeExperiment *e) {
  RtSettings s;
#define RT_SETTING(member, group, key, type, fe, ...) TO_##type(s.member, e->fe);
#include "runtime/rt_settings.def"
  if (!e->loss.has_alpha) s.loss_alpha = NAN;
  return s;
}

/* Copies the rows of group (NULL: all) from s into e. */
static void settings_apply(FeExperiment *e, const RtSettings *s, const char *group) {
#define RT_SETTING(member, g, key, type, fe, ...) \
  if (!group || strcmp(group, g) == 0) FROM_##type(e->fe, s->member);
#include "runtime/rt_settings.def"
}

static FeFieldType field_type(RtSettingType t) {
  switch (t) {
    case RT_SET_INT: return FE_FIELD_INT;
    case RT_SET_INT64: return FE_FIELD_INT64;
    case RT_SET_NUMBER: return FE_FIELD_NUMBER;
    case RT_SET_BOOL: return FE_FIELD_BOOL;
    case RT_SET_PAIR: return FE_FIELD_NUMBER_PAIR;
    case RT_SET_METRIC:
    case RT_SET_PRECISION: return FE_FIELD_ENUM;
    default: return FE_FIELD_SKIP; /* a typed group's `type`, decoded by typed_decode */
  }
}

static FeField field_of(int row) {
  const RtSettingInfo *f = &RT_SETTING_INFO[row];
  return (FeField){f->key, field_type(f->type), FE_OFFSET[row], f->min, f->max,
                   f->flags & (FE_OPEN_MIN | FE_OPEN_MAX), f->names, f->name_count};
}

enum { GROUP_KINDS = 5, GROUP_FIELDS = 16 };
_Static_assert((int)RT_OPT_COUNT <= GROUP_KINDS && (int)RT_SCHED_COUNT <= GROUP_KINDS &&
                   (int)RT_LOSS_COUNT <= GROUP_KINDS,
               "a typed group has more types than GroupSchemas holds");

/* The schemas of one group of rt_settings.def, one per type of a typed group (`type` first, then
 * the options that type takes), offsets into FeExperiment. */
typedef struct GroupSchemas {
  FeField fields[GROUP_KINDS][GROUP_FIELDS];
  char what[GROUP_KINDS][64];
  FeSchema s[GROUP_KINDS];
  int count;
} GroupSchemas;

static void group_schemas(GroupSchemas *g, const char *group, const char *const *names, int kinds) {
  g->count = kinds;
  for (int k = 0; k < kinds; k++) {
    int n = 0;
    FeField *out = g->fields[k];
    for (int i = 0; i < RT_SETTING_COUNT; i++) {
      const RtSettingInfo *f = &RT_SETTING_INFO[i];
      if (strcmp(f->group, group) != 0 || !rt_setting_applies(f, names ? k : -1)) continue;
      RT_ASSERT(n < GROUP_FIELDS, "group %s has more than %d settings", group, GROUP_FIELDS);
      out[n++] = field_of(i);
    }
    snprintf(g->what[k], sizeof g->what[k], "%s%s%s", group, names ? " " : "", names ? names[k] : "");
    g->s[k] = (FeSchema){g->what[k], out, n};
  }
}

/* The experiment's own keys: `model`, its plain settings, and the groups and `data` by name. */
typedef struct RootSchema {
  FeField fields[64];
  FeSchema s;
} RootSchema;

static void root_schema(RootSchema *r) {
  FeField *out = r->fields;
  int n = 0;
  out[n++] = (FeField)F(FeExperiment, "model", FE_FIELD_STRING, model, 0, 0, 0);
  out[n++] = (FeField)SKIP("init");
  const char *group = "";
  int row = 0;
#define RT_SETTINGS_DATA out[n++] = (FeField)SKIP("data");
#define RT_SETTING(...)                                                      \
  if (!*RT_SETTING_INFO[row].group) out[n++] = field_of(row);                \
  else if (strcmp(group, RT_SETTING_INFO[row].group) != 0)                   \
    out[n++] = (FeField)SKIP(RT_SETTING_INFO[row].group);                    \
  group = RT_SETTING_INFO[row++].group;
#include "runtime/rt_settings.def"
  r->s = (FeSchema){"experiment settings", out, n};
}

static const FeField DATA_FOLDERS[] = {
    F(FeData, "train", FE_FIELD_STRING, train, 0, 0, 0),
    F(FeData, "val", FE_FIELD_STRING, val, 0, 0, 0),
    F(FeData, "val_split", FE_FIELD_NUMBER, val_split, 0, 1, FE_OPEN_MIN | FE_OPEN_MAX),
    F(FeData, "charset", FE_FIELD_STRING, charset, 0, 0, 0),
    SKIP("fresh"), /* refused with a reason (fresh_misplaced) */
};
static const FeField DATA_SYNTHETIC[] = {SKIP("synthetic"), F(FeData, "charset", FE_FIELD_STRING, charset, 0, 0, 0),
                                         SKIP("fresh")};
static const FeSchema DATA_FORMS[2] = {SCHEMA("folder data", DATA_FOLDERS),
                                       SCHEMA("synthetic data", DATA_SYNTHETIC)};
/* folders with fresh synthetic samples mixed into every epoch */
static const FeField DATA_MIXED[] = {
    F(FeData, "train", FE_FIELD_STRING, train, 0, 0, 0),
    F(FeData, "val", FE_FIELD_STRING, val, 0, 0, 0),
    F(FeData, "val_split", FE_FIELD_NUMBER, val_split, 0, 1, FE_OPEN_MIN | FE_OPEN_MAX),
    F(FeData, "charset", FE_FIELD_STRING, charset, 0, 0, 0),
    SKIP("synthetic"),
    SKIP("fresh"), /* refused with a reason (fresh_misplaced) */
};
static const FeSchema DATA_MIXED_FORM = SCHEMA("folder data with synthetic samples", DATA_MIXED);
static const FeField SYNTHETIC[] = {
    F(FeData, "train", FE_FIELD_INT, train_count, 1, 10000000, 0),
    F(FeData, "val", FE_FIELD_INT, val_count, 1, 10000000, 0),
    F(FeData, "seed", FE_FIELD_INT64, seed, 0, 9.2e18, 0),
    F(FeData, "length", FE_FIELD_INT_PAIR, length, 1, 1024, 0),
    /* the generator's style and size (synthetic_style) */
    F(FeData, "lines", FE_FIELD_INT, lines, 0, RT_SYNTH_MAX_LINES, 0),
    F(FeData, "char_colours", FE_FIELD_BOOL, char_colours, 0, 0, 0),
    F(FeData, "distort", FE_FIELD_NUMBER, distort, 0, RT_SYNTH_MAX_DISTORT, 0),
    F(FeData, "grey", FE_FIELD_BOOL, grey, 0, 0, 0),
    F(FeData, "height", FE_FIELD_INT, height, RT_SYNTH_MIN_SIZE, RT_SYNTH_MAX_HEIGHT, 0),
    F(FeData, "width", FE_FIELD_INT, width, RT_SYNTH_MIN_SIZE, RT_SYNTH_MAX_WIDTH, 0),
    F(FeData, "like", FE_FIELD_STRING, like, 0, 0, 0),
    F(FeData, "fresh", FE_FIELD_BOOL, fresh, 0, 0, 0), /* after the style keys: their bits are fixed */
    F(FeData, "mixed_styles", FE_FIELD_BOOL, mixed_styles, 0, 0, 0),
    SKIP("fonts"), /* a path or a list of them: fonts_decode */
};
static const FeSchema SYNTHETIC_SCHEMA = SCHEMA("synthetic", SYNTHETIC);
/* data's own keys, named for an unknown key of synthetic's (`charset` goes next to it) */
static const FeSchema DATA_AROUND_SYNTHETIC = SCHEMA("data, next to 'synthetic'", DATA_SYNTHETIC);

static FeData synthetic_builtin(void) {
  return (FeData){.synthetic = true, .val_split = RT_DEFAULT_VAL_SPLIT, .train_count = 4000, .val_count = 1000,
                  .seed = 1, .length = {4, 8}};
}

FeExperiment fe_experiment_builtin(void) {
  FeExperiment e = {.data = synthetic_builtin()};
  RtSettings s = rt_settings_defaults();
  settings_apply(&e, &s, NULL);
  return e;
}

/* A typed group switched to type t starts from that type's built-in options. */
static void group_reset(FeExperiment *e, const char *group, int t) {
  RtSettings s = rt_settings_defaults();
  rt_settings_reset_group(&s, group, t);
  settings_apply(e, &s, group);
  if (strcmp(group, "loss") == 0) e->loss.has_alpha = false;
}

/* A typed setting (optimizer, scheduler, loss): a bare name or a mapping whose `type` (or the
 * inherited type) picks the schema. Changing the type starts from that type's built-in options.
 * Returns the type. */
static int typed_decode(FeCtx *c, const FeNode *n, const char *group, const char *const *names, int count,
                        int type, FeExperiment *e) {
  const FeNode *tn = n;
  if (n->kind == FE_NODE_MAP) {
    tn = fe_node_get(n, "type");
  } else if (n->kind != FE_NODE_SCALAR || fe_node_is_null(n)) {
    char got[96], known[256];
    fe_error(c, n, "%s must be a name (%s) or a mapping with 'type', got %s", group,
             fe_names_join(names, count, known, sizeof known), fe_node_describe(n, got, sizeof got));
    return type;
  }
  int t = type < 0 ? 0 : type;
  if (tn && !fe_enum_decode(c, tn, group, names, count, &t)) return type;
  if (t != type) group_reset(e, group, t);
  if (n->kind == FE_NODE_MAP) {
    GroupSchemas g;
    group_schemas(&g, group, names, count);
    fe_schema_decode(c, n, &g.s[t], e, g.s, count);
  }
  return t;
}

/* `true`, `false`, or a mapping of options that switches the setting on unless it says otherwise
 * (early_stopping; augmentation takes presets too, augment_decode). */
static void switch_decode(FeCtx *c, const FeNode *n, const char *group, bool *enabled, FeExperiment *e) {
  GroupSchemas g;
  group_schemas(&g, group, NULL, 1);
  if (n->kind == FE_NODE_MAP) {
    *enabled = true;
    fe_schema_decode(c, n, &g.s[0], e, NULL, 0);
  } else if (!fe_scalar_bool(n, enabled)) {
    char got[96];
    fe_error(c, n, "%s must be true, false or a mapping of options, got %s", group,
             fe_node_describe(n, got, sizeof got));
  }
}

/* augmentation: `true`, `false`, a preset name (light, default, strong), or a mapping of options
 * that switches it on unless it says otherwise and may start from a preset
 * (`{preset: strong, rotation: 5}`). A preset sets every option, inherited ones included; the
 * mapping's own options then override it, whatever their order. */
static void augment_decode(FeCtx *c, const FeNode *n, FeExperiment *e) {
  bool on;
  if (n->kind == FE_NODE_SCALAR && fe_scalar_bool(n, &on)) {
    e->augmentation.enabled = on;
    return;
  }
  if (n->kind != FE_NODE_MAP && (n->kind != FE_NODE_SCALAR || fe_node_is_null(n))) {
    char got[96];
    fe_error(c, n, "augmentation must be true, false, light, default, strong or a mapping of options, got %s",
             fe_node_describe(n, got, sizeof got));
    return;
  }
  const FeNode *preset = n->kind == FE_NODE_MAP ? fe_node_get(n, "preset") : n;
  int p;
  if (preset) {
    if (!fe_enum_decode(c, preset, "augmentation preset", RT_AUG_PRESET_NAMES, RT_AUG_PRESET_COUNT, &p)) return;
    RtSettings s = rt_settings_defaults();
    rt_settings_aug_preset(&s, (RtAugPreset)p);
    settings_apply(e, &s, "augmentation");
  }
  if (n->kind != FE_NODE_MAP) return;
  GroupSchemas g;
  group_schemas(&g, "augmentation", NULL, 1);
  RT_ASSERT(g.s[0].count < GROUP_FIELDS, "no room for augmentation's preset key");
  g.fields[0][g.s[0].count++] = (FeField)SKIP("preset");
  e->augmentation.enabled = true;
  fe_schema_decode(c, n, &g.s[0], e, NULL, 0);
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

/* `fresh` anywhere but inside `synthetic:`: only generated data can be new every epoch. */
static void fresh_misplaced(FeCtx *c, const FeNode *data, bool synthetic) {
  const FeNode *at = fe_node_key(data, "fresh");
  if (!at) return;
  if (synthetic)
    fe_error(c, at, "fresh goes inside synthetic: data: {synthetic: {train: N, val: M, fresh: true}}");
  else
    fe_error(c, at,
             "fresh needs synthetic data (data: {synthetic: {..., fresh: true}}): the samples of data folders are "
             "the same every epoch");
}

/* `like: DIR` (relative to the config's folder): the charset, length range, image size and
 * greyness measured from a labelled folder (rt_synth_like.h), for what the mapping does not set
 * itself (`charset` of data, bits 3, 7, 8 of `set`). Measured whenever the config loads, even
 * when data folders are not checked: the values define the experiment (its classes, too). */
static void synthetic_like(FeCtx *c, const FeNode *at, uint64_t set, FeData *d, const char *base_dir,
                           bool has_charset) {
  const char *dir = fe_path_join(c->arena, base_dir, d->like);
  RtDiags ld = {0};
  RtSynthLike l;
  if (!rt_synth_like(dir, &l, &ld)) {
    for (int i = 0; i < ld.count; i++)
      if (ld.items[i].level == RT_DIAG_ERROR)
        fe_error(c, at, "like '%s': %s%s%s", dir, ld.items[i].file ? ld.items[i].file : "",
                 ld.items[i].file && *ld.items[i].file ? ": " : "", ld.items[i].msg);
    rt_diags_free(&ld);
    return;
  }
  if (ld.count) fe_warning(c, at, "like '%s': %s", dir, ld.items[ld.count - 1].msg); /* the loader's summary */
  rt_diags_free(&ld);
  d->like = dir;
  if (!has_charset) d->charset = rt_arena_strdup(c->arena, l.charset);
  if (!(set >> 3 & 1)) d->length[0] = l.min_len, d->length[1] = l.max_len;
  if (!(set >> 7 & 1)) d->grey = l.grey;
  if (!(set >> 8 & 1)) d->height = l.height, d->width = l.width;
  rt_synth_like_free(&l);
}

/* The style keys of a synthetic mapping (SYNTHETIC[4..10], bits of `set`): `lines: 0` and
 * `distort: 0` mean none (RT_SYNTH_NONE; unset is the default mix), height and width go
 * together, `like` fills in what is not set. */
static void synthetic_style(FeCtx *c, const FeNode *synth, uint64_t set, FeData *d, const char *base_dir,
                            bool has_charset) {
  if ((set >> 4 & 1) && d->lines == 0) d->lines = RT_SYNTH_NONE;
  if ((set >> 6 & 1) && d->distort == 0) d->distort = RT_SYNTH_NONE;
  bool h = set >> 8 & 1, w = set >> 9 & 1;
  if (h != w)
    fe_error(c, fe_node_key(synth, h ? "height" : "width"), "synthetic %s needs %s too (the image size)",
             h ? "height" : "width", h ? "width" : "height");
  if (set >> 10 & 1) synthetic_like(c, fe_node_get(synth, "like"), set, d, base_dir, has_charset);
}

/* One entry of fonts: a path relative to the config's folder, there when the config loads. */
static const char *font_path(FeCtx *c, const FeNode *n, const char *base_dir, bool skip) {
  char got[96];
  if (n->kind != FE_NODE_SCALAR || fe_node_is_null(n) || n->len == 0 || strlen(n->text) != n->len) {
    fe_error(c, n, "fonts must be a font file or folder, or a list of them, got %s",
             fe_node_describe(n, got, sizeof got));
    return NULL;
  }
  if (strchr(n->text, RT_SYNTH_FONTS_SEP)) {
    fe_error(c, n, "font path '%s' holds a ':', which the generator cannot take in a path", n->text);
    return NULL;
  }
  const char *path = fe_path_join(c->arena, base_dir, n->text);
  if (!skip && !fe_path_is_file(path) && !fe_path_is_dir(path)) {
    fe_error(c, n, "fonts '%s' is neither a font file nor a folder of them", path);
    return NULL;
  }
  return path;
}

/* fonts: a path or a list of paths (files and folders), as RtSynthOptions.fonts: the absolute
 * paths joined by ':'. NULL after an error. */
static const char *fonts_decode(FeCtx *c, const FeNode *n, const char *base_dir, bool skip) {
  if (n->kind != FE_NODE_SEQ) return font_path(c, n, base_dir, skip);
  if (n->count == 0) {
    fe_error(c, n, "fonts is an empty list: leave it out for the generator's DejaVu fonts");
    return NULL;
  }
  const char *paths[RT_SYNTH_MAX_FONTS];
  if (n->count > RT_SYNTH_MAX_FONTS) {
    fe_error(c, n, "fonts lists %d entries; the generator takes at most %d fonts", n->count, RT_SYNTH_MAX_FONTS);
    return NULL;
  }
  for (int i = 0; i < n->count; i++) {
    paths[i] = font_path(c, n->items[i], base_dir, skip);
    if (!paths[i]) return NULL;
  }
  char *joined = rt_arena_alloc(c->arena, rt_synth_fonts_join(paths, n->count, NULL));
  rt_synth_fonts_join(paths, n->count, joined);
  return joined;
}

/* Folders and synthetic samples together: the generated samples must be fresh (new every epoch,
 * mixed with the folder's) and validation is the folders' alone. */
static void mixed_check(FeCtx *c, const FeNode *synth, const FeData *d) {
  if (synth->kind != FE_NODE_MAP || !d->fresh)
    fe_error(c, synth,
             "next to data folders, synthetic samples are generated afresh every epoch and mixed with the folder's: "
             "synthetic: {train: N, fresh: true, ...}");
  else if (fe_node_get(synth, "val"))
    fe_error(c, fe_node_key(synth, "val"),
             "with data folders, validation is on the folders (data's 'val' or 'val_split'): leave out synthetic val");
}

/* data: `synthetic`, {synthetic: {...}}, {train: DIR, val: DIR}, or folders with fresh synthetic
 * samples mixed in ({train: DIR, val: DIR, synthetic: {train: N, fresh: true, ...}}). It always
 * replaces the inherited data entirely: a folder from the defaults is never mixed with synthetic
 * counts of an experiment's. */
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
  bool mixed = synth && (fe_node_get(n, "train") || fe_node_get(n, "val"));
  d->synthetic = synth != NULL;
  fe_schema_decode(c, n, mixed ? &DATA_MIXED_FORM : &DATA_FORMS[d->synthetic], d, DATA_FORMS, 2);
  fresh_misplaced(c, n, d->synthetic);
  if (d->charset) charset_check(c, fe_node_get(n, "charset"), d);
  if (!d->synthetic || mixed) {
    if (!fe_node_get(n, "train"))
      fe_error(c, n, "data needs 'train' (a folder with labels.tsv) or 'synthetic'");
    if (d->val && fe_node_get(n, "val_split"))
      fe_error(c, fe_node_get(n, "val_split"), "val_split is only used without 'val'");
    folder_check(c, n, "train", &d->train, base_dir, skip);
    folder_check(c, n, "val", &d->val, base_dir, skip);
    if (!mixed) return;
  }
  bool on = true;
  if (synth->kind == FE_NODE_MAP) {
    uint64_t set = fe_schema_decode(c, synth, &SYNTHETIC_SCHEMA, d, &DATA_AROUND_SYNTHETIC, 1);
    if ((set >> 3 & 1) && d->length[0] > d->length[1]) /* bit 3: SYNTHETIC[3], length */
      fe_error(c, fe_node_get(synth, "length"), "length [%d, %d] must be [min, max] with min <= max",
               d->length[0], d->length[1]);
    synthetic_style(c, synth, set, d, base_dir, d->charset != NULL);
    if (fe_node_get(synth, "fonts")) d->fonts = fonts_decode(c, fe_node_get(synth, "fonts"), base_dir, skip);
    if (d->like && d->charset && !d->charset_size) charset_check(c, fe_node_get(synth, "like"), d);
  } else if (!fe_node_is_null(synth) && !(fe_scalar_bool(synth, &on) && on)) {
    char got[96];
    fe_error(c, synth, "synthetic must be a mapping {train, val, seed, length, fresh} or true, got %s",
             fe_node_describe(synth, got, sizeof got));
    return;
  }
  if (mixed) {
    mixed_check(c, synth, d);
    d->val_count = 0; /* none generated: epoch e trains on generated samples [e N, (e + 1) N) */
  }
}

/* curriculum: a mapping of options ({epochs: K}), or false (none, also over a default's). */
static void curriculum_decode(FeCtx *c, const FeNode *n, FeExperiment *e) {
  bool on = true;
  if (n->kind == FE_NODE_MAP) {
    GroupSchemas g;
    group_schemas(&g, "curriculum", NULL, 1);
    fe_schema_decode(c, n, &g.s[0], e, NULL, 0);
  } else if (fe_scalar_bool(n, &on) && !on) {
    e->curriculum.epochs = 0;
  } else {
    char got[96];
    fe_error(c, n, "curriculum must be a mapping {epochs: K} or false, got %s", fe_node_describe(n, got, sizeof got));
  }
}

typedef struct Target {
  FeExperiment *e;
  const char *base_dir;
  bool skip_data_check;
} Target;

/* init: a checkpoint path (relative to the config) or null (none, e.g. against the defaults'). A
 * missing file is only a warning here: an earlier experiment of the same study may write it. */
static void init_decode(FeCtx *c, const FeNode *n, const char **init, const char *base_dir) {
  if (fe_node_is_null(n)) {
    *init = NULL;
    return;
  }
  if (n->kind != FE_NODE_SCALAR || !*n->text) {
    char got[96];
    fe_error(c, n, "init must be the path of a checkpoint (.safetensors) or null, got %s",
             fe_node_describe(n, got, sizeof got));
    return;
  }
  *init = fe_path_join(c->arena, base_dir, n->text);
  if (fe_path_is_dir(*init))
    fe_error(c, n, "init '%s' is a folder; give a checkpoint file such as %s/best.safetensors", *init, *init);
  else if (!fe_path_is_file(*init))
    fe_warning(c, n, "init checkpoint '%s' does not exist (yet): training fails to start unless an earlier run "
               "writes it", *init);
}

/* The settings with shapes of their own, decoded in file order with the plain ones. */
static void setting_decode(FeCtx *c, const FeNode *key, const FeNode *n, void *user) {
  Target *t = user;
  FeExperiment *e = t->e;
  const char *k = key->text;
  if (strcmp(k, "optimizer") == 0) {
    typed_decode(c, n, k, FE_OPTIMIZER_NAMES, FE_OPT_COUNT, (int)e->optimizer.kind, e);
  } else if (strcmp(k, "scheduler") == 0) {
    typed_decode(c, n, k, FE_SCHEDULER_NAMES, FE_SCHED_COUNT, (int)e->scheduler.kind, e);
  } else if (strcmp(k, "loss") == 0) {
    bool had_alpha = fe_node_get(n, "alpha") != NULL;
    typed_decode(c, n, k, FE_LOSS_NAMES, FE_LOSS_COUNT, (int)e->loss.kind, e);
    e->loss.has_alpha |= had_alpha && e->loss.kind == FE_LOSS_FOCAL;
  } else if (strcmp(k, "early_stopping") == 0) {
    switch_decode(c, n, k, &e->early_stopping.enabled, e);
  } else if (strcmp(k, "augmentation") == 0) {
    augment_decode(c, n, e);
  } else if (strcmp(k, "data") == 0) {
    data_decode(c, n, &e->data, t->base_dir, t->skip_data_check);
  } else if (strcmp(k, "init") == 0) {
    init_decode(c, n, &e->init, t->base_dir);
  } else if (strcmp(k, "curriculum") == 0) {
    curriculum_decode(c, n, e);
  }
}

void fe_settings_decode(FeCtx *c, const FeNode *map, FeExperiment *e, const char *base_dir,
                        bool skip_data_check) {
  Target t = {e, base_dir, skip_data_check};
  RootSchema r;
  root_schema(&r);
  fe_schema_decode_custom(c, map, &r.s, e, NULL, 0, setting_decode, &t);
}
