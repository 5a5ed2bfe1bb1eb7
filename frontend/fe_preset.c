/* Preset schema: decodes a preset document (description, input, width_multiplier, encoder list,
 * head) into FeLayer records, one field table per layer kind, then hands the list to shape
 * inference (fe_shape.c). Option defaults follow PyTorch's constructors so that a preset reads
 * like the nn.Sequential it mirrors; head defaults are the peer's sizes. */
#include "frontend/fe_preset.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/fe_path.h"
#include "frontend/fe_schema.h"
#include "frontend/fe_shape.h"
#include "frontend/fe_yaml.h"
#include "runtime/rt_assert.h"

const char *const FE_LAYER_KIND_NAMES[FE_LAYER_KIND_COUNT] = {
    "conv2d", "batchnorm", "relu", "maxpool", "dropout", "collapse_height", "lstm", "linear",
    "attention", "ctc"};
enum { ENCODER_KIND_COUNT = FE_LAYER_ATTENTION, MAX_LAYERS = 256 };

#define L(member) offsetof(FeLayer, member)
#define KIND_NAME {"kind", FE_FIELD_SKIP, 0, 0, 0, FE_REQUIRED, NULL, 0}, {"name", FE_FIELD_SKIP, 0, 0, 0, 0, NULL, 0}
#define INT_F(key, member, lo, hi, fl) {key, FE_FIELD_INT, L(member), lo, hi, fl, NULL, 0}
#define PAIR_F(key, member, lo, hi, fl) {key, FE_FIELD_INT_PAIR, L(member), lo, hi, fl, NULL, 0}
#define BOOL_F(key, member) {key, FE_FIELD_BOOL, L(member), 0, 0, 0, NULL, 0}
#define NUM_F(key, member, lo, hi, fl) {key, FE_FIELD_NUMBER, L(member), lo, hi, fl, NULL, 0}

static const FeField CONV_FIELDS[] = {
    KIND_NAME,
    INT_F("channels", conv.channels, 1, 65536, FE_REQUIRED),
    PAIR_F("kernel", conv.kernel, 1, 64, 0),
    PAIR_F("stride", conv.stride, 1, 64, 0),
    PAIR_F("padding", conv.padding, 0, 64, 0),
    BOOL_F("bias", conv.bias),
    BOOL_F("scaled", conv.scaled),
};
static const FeField BN_FIELDS[] = {
    KIND_NAME,
    NUM_F("eps", bn.eps, 0, 1, FE_OPEN_MIN | FE_OPEN_MAX),
    NUM_F("momentum", bn.momentum, 0, 1, 0),
};
static const FeField PLAIN_FIELDS[] = {KIND_NAME};
static const FeField POOL_FIELDS[] = {
    KIND_NAME,
    PAIR_F("kernel", pool.kernel, 1, 64, FE_REQUIRED),
    PAIR_F("stride", pool.stride, 1, 64, 0),
    PAIR_F("padding", pool.padding, 0, 32, 0),
};
static const FeField DROPOUT_FIELDS[] = {KIND_NAME, NUM_F("rate", dropout.rate, 0, 1, FE_OPEN_MAX)};
static const FeField LSTM_FIELDS[] = {
    KIND_NAME,
    INT_F("hidden", lstm.hidden, 1, 16384, FE_REQUIRED),
    INT_F("layers", lstm.layers, 1, FE_LSTM_MAX_LAYERS, 0),
    BOOL_F("bidirectional", lstm.bidirectional),
};
static const FeField LINEAR_FIELDS[] = {
    KIND_NAME,
    INT_F("features", linear.features, 1, 1 << 20, FE_REQUIRED),
    BOOL_F("bias", linear.bias),
};
#define HEAD_COMMON \
  {"kind", FE_FIELD_SKIP, 0, 0, 0, FE_REQUIRED, NULL, 0}, \
  INT_F("symbols", head.symbols, 1, 100000, 0), INT_F("max_length", head.max_length, 1, 1024, 0)
static const FeField ATTENTION_FIELDS[] = {
    HEAD_COMMON,
    INT_F("embedding", head.embedding, 1, 16384, 0),
    INT_F("attention", head.attention, 1, 16384, 0),
    INT_F("hidden", head.hidden, 1, 16384, 0),
};
static const FeField CTC_FIELDS[] = {HEAD_COMMON};

#define SCHEMA(what, fields) {what, fields, (int)(sizeof fields / sizeof fields[0])}
static const FeSchema LAYER_SCHEMAS[FE_LAYER_KIND_COUNT] = {
    SCHEMA("conv2d layer", CONV_FIELDS),       SCHEMA("batchnorm layer", BN_FIELDS),
    SCHEMA("relu layer", PLAIN_FIELDS),        SCHEMA("maxpool layer", POOL_FIELDS),
    SCHEMA("dropout layer", DROPOUT_FIELDS),   SCHEMA("collapse_height layer", PLAIN_FIELDS),
    SCHEMA("lstm layer", LSTM_FIELDS),         SCHEMA("linear layer", LINEAR_FIELDS),
    SCHEMA("attention head", ATTENTION_FIELDS), SCHEMA("ctc head", CTC_FIELDS),
};

typedef struct Input {
  int channels, height, width;
} Input;
static const FeField INPUT_FIELDS[] = {
    {"channels", FE_FIELD_INT, offsetof(Input, channels), 1, 64, FE_REQUIRED, NULL, 0},
    {"height", FE_FIELD_INT, offsetof(Input, height), 1, 4096, FE_REQUIRED, NULL, 0},
    {"width", FE_FIELD_INT, offsetof(Input, width), 1, 4096, FE_REQUIRED, NULL, 0},
};
static const FeSchema INPUT_SCHEMA = SCHEMA("input", INPUT_FIELDS);

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
static const FeSchema TOP_SCHEMA = SCHEMA("a preset", TOP_FIELDS);

static void layer_defaults(FeLayer *l) {
  switch (l->kind) {
  case FE_LAYER_CONV2D:
    l->conv.kernel[0] = l->conv.kernel[1] = 3;
    l->conv.stride[0] = l->conv.stride[1] = 1;
    l->conv.bias = l->conv.scaled = true;
    break;
  case FE_LAYER_BATCHNORM:
    l->bn.eps = 1e-5;
    l->bn.momentum = 0.1;
    break;
  case FE_LAYER_MAXPOOL:
    l->pool.stride[0] = -1; /* defaults to the kernel, as in PyTorch */
    break;
  case FE_LAYER_DROPOUT:
    l->dropout.rate = -1;
    break;
  case FE_LAYER_LSTM:
    l->lstm.layers = 1;
    break;
  case FE_LAYER_LINEAR:
    l->linear.bias = true;
    break;
  case FE_LAYER_ATTENTION:
    l->head.embedding = 128;
    l->head.attention = 256;
    l->head.hidden = 512;
    /* fallthrough */
  case FE_LAYER_CTC:
    l->head.symbols = 36;
    l->head.max_length = 8;
    break;
  default:
    break;
  }
}

/* Settles the options that depend on others once the mapping is decoded. */
static void layer_finish(FeCtx *c, FeLayer *l, const FeNode *map) {
  if (l->kind == FE_LAYER_MAXPOOL) {
    if (l->pool.stride[0] < 0) memcpy(l->pool.stride, l->pool.kernel, sizeof l->pool.stride);
    for (int i = 0; i < 2; i++)
      if (2 * l->pool.padding[i] > l->pool.kernel[i]) {
        fe_error(c, fe_node_get(map, "padding"), "maxpool padding %d must be at most half the kernel (%d)",
                 l->pool.padding[i], l->pool.kernel[i]);
        break;
      }
  } else if (l->kind == FE_LAYER_DROPOUT) {
    l->dropout.from_config = l->dropout.rate < 0;
    if (l->dropout.from_config) l->dropout.rate = 0;
  } else if (l->kind == FE_LAYER_ATTENTION || l->kind == FE_LAYER_CTC) {
    l->head.classes = l->head.symbols + (l->kind == FE_LAYER_ATTENTION ? 2 : 1);
  }
}

/* Decodes one layer mapping; false when its kind is unknown (its options cannot be checked). */
static bool layer_decode(FeCtx *c, const FeNode *map, FeLayer *l, bool is_head) {
  static const char *const head_kinds[] = {"attention", "ctc"};
  const FeNode *kind = fe_node_get(map, "kind");
  l->loc = (FeLoc){c->file, map->line, map->col};
  if (!kind) {
    char known[256];
    fe_error(c, map, "%s needs 'kind' (one of: %s)", is_head ? "the head" : "a layer",
             is_head ? "attention, ctc"
                     : fe_names_join(FE_LAYER_KIND_NAMES, ENCODER_KIND_COUNT, known, sizeof known));
    return false;
  }
  int k;
  if (is_head) {
    if (!fe_enum_decode(c, kind, "head kind", head_kinds, 2, &k)) return false;
    l->kind = k == 0 ? FE_LAYER_ATTENTION : FE_LAYER_CTC;
  } else {
    if (kind->kind == FE_NODE_SCALAR &&
        (strcmp(kind->text, "attention") == 0 || strcmp(kind->text, "ctc") == 0)) {
      fe_error(c, kind, "'%s' is a head; put it under 'head:' after the encoder", kind->text);
      return false;
    }
    if (!fe_enum_decode(c, kind, "layer kind", FE_LAYER_KIND_NAMES, ENCODER_KIND_COUNT, &k))
      return false;
    l->kind = (FeLayerKind)k;
  }
  layer_defaults(l);
  const FeSchema *siblings = is_head ? &LAYER_SCHEMAS[FE_LAYER_ATTENTION] : LAYER_SCHEMAS;
  fe_schema_decode(c, map, &LAYER_SCHEMAS[l->kind], l, siblings,
                   is_head ? 2 : ENCODER_KIND_COUNT);
  layer_finish(c, l, map);
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
