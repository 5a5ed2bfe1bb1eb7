/* Preset schema: decodes a preset document (description, input, width_multiplier, encoder list,
 * head) into FeLayer records, each layer through its kind's row of the layer table (fe_layer.h:
 * field table, defaults, finishing), then hands the list to shape inference (fe_shape.c). Option
 * defaults follow PyTorch's constructors so that a preset reads like the nn.Sequential it
 * mirrors; head defaults are the peer's sizes. */
#include "frontend/fe_preset.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/fe_layer.h"
#include "frontend/fe_path.h"
#include "frontend/fe_schema.h"
#include "frontend/fe_shape.h"
#include "frontend/fe_yaml.h"
#include "support/rt_assert.h"

enum { MAX_LAYERS = 256 };

typedef struct Input {
  int channels, height, width;
} Input;
static const FeField INPUT_FIELDS[] = {
    {"channels", FE_FIELD_INT, offsetof(Input, channels), 1, 64, FE_REQUIRED, NULL, 0},
    {"height", FE_FIELD_INT, offsetof(Input, height), 1, 4096, FE_REQUIRED, NULL, 0},
    {"width", FE_FIELD_INT, offsetof(Input, width), 1, 4096, FE_REQUIRED, NULL, 0},
};
static const FeSchema INPUT_SCHEMA = FE_SCHEMA("input", INPUT_FIELDS);

typedef struct Top {
  const char *description;
  double width_multiplier;
} Top;
static const FeField TOP_FIELDS[] = {
    {"description", FE_FIELD_STRING, offsetof(Top, description), 0, 0, 0, NULL, 0},
    {"input", FE_FIELD_SKIP, 0, 0, 0, FE_REQUIRED, NULL, 0},
    {"width_multiplier", FE_FIELD_NUMBER, offsetof(Top, width_multiplier), 0, 16, FE_OPEN_MIN, NULL, 0},
    {"encoder", FE_FIELD_SKIP, 0, 0, 0, FE_REQUIRED, NULL, 0},
    {"head", FE_FIELD_SKIP, 0, 0, 0, FE_REQUIRED, NULL, 0},
};
static const FeSchema TOP_SCHEMA = FE_SCHEMA("a preset", TOP_FIELDS);

/* The kinds allowed in one place (the encoder or the head), in table order: their names and
 * schemas (the siblings of an unknown key), and which kind each is. */
typedef struct Kinds {
  int count;
  const char *names[FE_LAYER_KIND_COUNT];
  FeSchema schemas[FE_LAYER_KIND_COUNT];
  FeLayerKind kinds[FE_LAYER_KIND_COUNT];
} Kinds;

static void kinds_where(Kinds *k, bool head) {
  k->count = 0;
  for (int i = 0; i < FE_LAYER_KIND_COUNT; i++) {
    const FeLayerClass *row = fe_layer_class((FeLayerKind)i);
    if (row->head != head) continue;
    k->names[k->count] = FE_LAYER_KIND_NAMES[i];
    k->schemas[k->count] = row->schema;
    k->kinds[k->count++] = (FeLayerKind)i;
  }
}

/* Decodes the kind of a layer mapping into *at (an index into k); false after a diagnostic. */
static bool kind_decode(FeCtx *c, const FeNode *map, const Kinds *k, bool is_head, int *at) {
  const FeNode *kind = fe_node_get(map, "kind");
  if (!kind) {
    char known[256];
    fe_error(c, map, "%s needs 'kind' (one of: %s)", is_head ? "the head" : "a layer",
             fe_names_join(k->names, k->count, known, sizeof known));
    return false;
  }
  if (!is_head && kind->kind == FE_NODE_SCALAR)
    for (int i = 0; i < FE_LAYER_KIND_COUNT; i++)
      if (fe_layer_class((FeLayerKind)i)->head && strcmp(kind->text, FE_LAYER_KIND_NAMES[i]) == 0) {
        fe_error(c, kind, "'%s' is a head; put it under 'head:' after the encoder", kind->text);
        return false;
      }
  return fe_enum_decode(c, kind, is_head ? "head kind" : "layer kind", k->names, k->count, at);
}

/* Decodes one layer mapping; false when its kind is unknown (its options cannot be checked). */
static bool layer_decode(FeCtx *c, const FeNode *map, FeLayer *l, bool is_head) {
  Kinds k;
  int at;
  kinds_where(&k, is_head);
  l->loc = (FeLoc){c->file, map->line, map->col};
  if (!kind_decode(c, map, &k, is_head, &at)) return false;
  l->kind = k.kinds[at];
  const FeLayerClass *row = fe_layer_class(l->kind);
  if (row->defaults) row->defaults(l);
  fe_schema_decode(c, map, &k.schemas[at], l, k.schemas, k.count);
  if (row->finish) row->finish(c, l, map);
  return true;
}

static bool name_ok(const char *s) {
  for (; *s; s++)
    if (!(*s == '_' || *s == '-' || (*s >= '0' && *s <= '9') || ((*s | 32) >= 'a' && (*s | 32) <= 'z')))
      return false;
  return true;
}

/* Gives every layer its name: the one written, else kind_N counting layers of that kind. The
 * head is always "head". */
static void layer_names(FeCtx *c, FePreset *p, const FeNode *enc, int n) {
  int per_kind[FE_LAYER_KIND_COUNT] = {0};
  if (p->layer_count > n) p->layers[n].name = "head";
  for (int i = 0; i < n; i++) {
    FeLayer *l = &p->layers[i];
    const FeNode *name = fe_node_get(enc->items[i], "name");
    char buf[96];
    snprintf(buf, sizeof buf, "%s_%d", FE_LAYER_KIND_NAMES[l->kind], ++per_kind[l->kind]);
    l->name = rt_arena_strdup(&p->arena, buf);
    if (!name) continue;
    if (name->kind != FE_NODE_SCALAR || name->len == 0 || name->len > 24 ||
        strlen(name->text) != name->len || !name_ok(name->text)) {
      fe_error(c, name, "layer name must be 1-24 letters, digits, '_' or '-', got %s",
               fe_node_describe(name, buf, sizeof buf));
      continue;
    }
    l->name = rt_arena_strdup(&p->arena, name->text);
    if (strcmp(l->name, "head") == 0) fe_error(c, name, "layer name 'head' is reserved for the head");
  }
  /* Written names may also collide with the automatic names of other layers. */
  for (int i = 0; i < n; i++)
    for (int j = 0; j < i; j++)
      if (strcmp(p->layers[i].name, p->layers[j].name) == 0) {
        const FeNode *at = fe_node_get(enc->items[i], "name");
        fe_error(c, at ? at : fe_node_get(enc->items[j], "name"),
                 "duplicate layer name '%s' (layers at lines %d and %d)", p->layers[i].name,
                 p->layers[j].loc.line, p->layers[i].loc.line);
        break;
      }
}

/* What the top-level keys decode into, in file order. */
typedef struct Parts {
  FePreset *p;
  Top top;
  const FeNode *encoder; /* NULL unless a list of 1..MAX_LAYERS layers */
  FeLayer head;
  bool has_head;
  int broken; /* errors in input, encoder or head: shape inference would only add noise */
} Parts;

static void part_decode(FeCtx *c, const FeNode *key, const FeNode *n, void *user) {
  Parts *parts = user;
  FePreset *p = parts->p;
  int errors = c->diags->errors;
  char got[96];
  if (strcmp(key->text, "input") == 0) {
    Input in = {0};
    if (fe_expect_map(c, n, "input")) fe_schema_decode(c, n, &INPUT_SCHEMA, &in, NULL, 0);
    p->channels = in.channels, p->height = in.height, p->width = in.width;
  } else if (strcmp(key->text, "encoder") == 0) {
    if (n->kind != FE_NODE_SEQ) {
      fe_error(c, n, "encoder must be a list of layers, got %s", fe_node_describe(n, got, sizeof got));
    } else if (n->count == 0 || n->count > MAX_LAYERS) {
      fe_error(c, n, "encoder must hold 1 to %d layers, got %d", MAX_LAYERS, n->count);
    } else {
      p->layers = rt_arena_alloc(&p->arena, (size_t)(n->count + 1) * sizeof *p->layers);
      bool known = true;
      for (int i = 0; i < n->count; i++)
        known &= fe_expect_map(c, n->items[i], "each encoder layer") &&
                 layer_decode(c, n->items[i], &p->layers[i], false);
      if (known) parts->encoder = n;
    }
  } else if (strcmp(key->text, "head") == 0) {
    parts->has_head = fe_expect_map(c, n, "head") && layer_decode(c, n, &parts->head, true);
  }
  parts->broken += c->diags->errors - errors;
}

static FePreset *preset_decode(const FeDoc *doc, RtDiags *d) {
  int errors = d->errors;
  FePreset *p = rt_xcalloc(1, sizeof *p);
  FeCtx c = {rt_arena_strdup(&p->arena, doc->file), d, &p->arena};
  p->path = c.file;
  p->name = fe_path_stem(&p->arena, doc->file);
  const FeNode *root = doc->root;
  Parts parts = {.p = p, .top = {"", 1.0}};
  if (!root) {
    rt_diag_error(d, c.file, 1, 1, "empty preset; expected a mapping with input, encoder and head");
  } else if (fe_expect_map(&c, root, "a preset")) {
    fe_schema_decode_custom(&c, root, &TOP_SCHEMA, &parts.top, NULL, 0, part_decode, &parts);
  }
  p->description = parts.top.description;
  p->width_multiplier = parts.top.width_multiplier;
  if (parts.encoder && !parts.broken) {
    /* Infer the encoder's shapes even without a head: its problems are worth reporting now. */
    int n = parts.encoder->count;
    p->layer_count = n + parts.has_head;
    if (parts.has_head) p->layers[n] = parts.head;
    p->head = parts.has_head ? &p->layers[n] : NULL;
    layer_names(&c, p, parts.encoder, n);
    fe_preset_infer(p, &c);
  }
  if (d->errors != errors) {
    fe_preset_free(p);
    return NULL;
  }
  return p;
}

/* Decodes a parsed document; a preset comes back only if neither YAML nor schema found a problem
 * (duplicate keys leave a usable tree, so both kinds can be reported in one run). */
static FePreset *preset_from(FeDoc *doc, int errors, RtDiags *d) {
  FePreset *p = doc->root || d->errors == errors ? preset_decode(doc, d) : NULL;
  fe_yaml_free(doc);
  if (p && d->errors != errors) {
    fe_preset_free(p);
    p = NULL;
  }
  return p;
}

FePreset *fe_preset_parse(const char *file, const char *text, size_t len, RtDiags *d) {
  FeDoc doc;
  int errors = d->errors;
  fe_yaml_parse(&doc, file, text, len, d);
  return preset_from(&doc, errors, d);
}

FePreset *fe_preset_load(const char *path, RtDiags *d) {
  FeDoc doc;
  int errors = d->errors;
  fe_yaml_load(&doc, path, d);
  return preset_from(&doc, errors, d);
}

void fe_preset_free(FePreset *p) {
  if (!p) return;
  rt_arena_free(&p->arena);
  free(p);
}

bool fe_preset_is_ctc(const FePreset *p) { return fe_layer_class(p->head->kind)->ctc; }
