/* Builds the FeNode tree from libyaml's event stream with an explicit stack of open containers,
 * so deeply nested input cannot overflow the C stack. libyaml reports only the first syntax
 * error; everything structural it accepts but smelt does not (duplicate keys, aliases, complex
 * keys, a second document) is reported here and parsing goes on where that is meaningful. */
#include "frontend/fe_yaml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "frontend/fe_path.h"
#include "frontend/fe_strmap.h"
#include "support/rt_assert.h"

/* A mapping with more keys than this indexes them, so that finding duplicates among a config's
 * hundred thousand experiments is not a scan of all earlier keys per key. */
enum { YAML_MAX_DEPTH = 64, YAML_SCAN_KEYS = 8 };

typedef struct Frame {
  FeNode *node;
  FeNode **kids; /* maps: key, value, key, value...; a NULL key drops its pair */
  int n, cap;
  FeStrMap index; /* maps past YAML_SCAN_KEYS keys: key text -> its position in kids */
} Frame;

typedef struct Builder {
  FeDoc *doc;
  RtDiags *diags;
  Frame stack[YAML_MAX_DEPTH];
  int depth;
  bool ok;
  bool broken; /* syntax error or too deep: the tree is incomplete */
} Builder;

static void error_at(Builder *b, int line, int col, const char *msg) {
  rt_diag_error(b->diags, b->doc->file, line, col, "%s", msg);
  b->ok = false;
}

static FeNode *node_new(Builder *b, FeNodeKind kind, const yaml_mark_t *mark) {
  FeNode *n = rt_arena_alloc(&b->doc->arena, sizeof *n);
  n->kind = kind;
  n->line = (int)mark->line + 1;
  n->col = (int)mark->column + 1;
  n->text = "";
  return n;
}

static void frame_push_kid(Frame *f, FeNode *kid) {
  if (f->n == f->cap) {
    f->cap = f->cap ? 2 * f->cap : 8;
    f->kids = rt_xrealloc(f->kids, (size_t)f->cap * sizeof *f->kids);
  }
  f->kids[f->n++] = kid;
}

/* An earlier key of the mapping with the same text as n, or NULL. */
static const FeNode *earlier_key(Frame *f, const FeNode *n) {
  if (f->n / 2 <= YAML_SCAN_KEYS) {
    for (int i = 0; i < f->n; i += 2) {
      FeNode *k = f->kids[i];
      if (k && k->len == n->len && memcmp(k->text, n->text, n->len) == 0) return k;
    }
    if (f->n / 2 < YAML_SCAN_KEYS) return NULL;
    for (int i = 0; i < f->n; i += 2) /* the scan ends here: index the keys so far */
      if (f->kids[i]) fe_strmap_put(&f->index, f->kids[i]->text, f->kids[i]->len, i);
  }
  int at = fe_strmap_put(&f->index, n->text, n->len, f->n);
  return at >= 0 ? f->kids[at] : NULL;
}

/* Hands a finished node to its parent (or makes it the root). Keys are checked here: they must
 * be scalars and unique within their mapping. */
static void attach(Builder *b, FeNode *n) {
  if (b->depth == 0) {
    b->doc->root = n;
    return;
  }
  Frame *f = &b->stack[b->depth - 1];
  if (f->node->kind == FE_NODE_MAP && f->n % 2 == 0) {
    if (n->kind != FE_NODE_SCALAR) {
      error_at(b, n->line, n->col,
               n->kind == FE_NODE_MAP ? "mapping keys must be plain names, not mappings"
                                      : "mapping keys must be plain names, not lists");
      n = NULL;
    } else {
      const FeNode *k = earlier_key(f, n);
      if (k) {
        char buf[96];
        rt_diag_error(b->diags, b->doc->file, n->line, n->col, "duplicate key %s (first defined at line %d)",
                      fe_node_describe(n, buf, sizeof buf), k->line);
        b->ok = false;
        n = NULL;
      }
    }
  }
  frame_push_kid(f, n);
}

static bool open_container(Builder *b, FeNodeKind kind, const yaml_mark_t *mark) {
  if (b->depth == YAML_MAX_DEPTH) {
    error_at(b, (int)mark->line + 1, (int)mark->column + 1,
             "nesting is too deep (more than 64 levels)");
    b->broken = true;
    return false;
  }
  b->stack[b->depth++] = (Frame){.node = node_new(b, kind, mark)};
  return true;
}

static void close_container(Builder *b) {
  Frame *f = &b->stack[--b->depth];
  FeNode *n = f->node;
  RtArena *a = &b->doc->arena;
  if (n->kind == FE_NODE_SEQ) {
    n->count = f->n;
    n->items = rt_arena_memdup(a, f->kids, (size_t)f->n * sizeof *f->kids);
  } else {
    int pairs = f->n / 2;
    n->keys = rt_arena_alloc(a, (size_t)pairs * sizeof *n->keys);
    n->items = rt_arena_alloc(a, (size_t)pairs * sizeof *n->items);
    for (int i = 0; i < pairs; i++) {
      if (!f->kids[2 * i]) continue;
      n->keys[n->count] = f->kids[2 * i];
      n->items[n->count++] = f->kids[2 * i + 1];
    }
  }
  free(f->kids);
  fe_strmap_free(&f->index);
  attach(b, n);
}

/* Turns a libyaml failure into one diagnostic at the position libyaml names. */
static void report_syntax(Builder *b, const yaml_parser_t *p, const char *text, size_t len) {
  if (p->error == YAML_READER_ERROR) {
    int line = 1, col = 1;
    for (size_t i = 0; i < p->problem_offset && i < len; i++, col++)
      if (text[i] == '\n') line++, col = 0;
    rt_diag_error(b->diags, b->doc->file, line, col, "invalid text: %s", p->problem);
  } else if (p->error == YAML_MEMORY_ERROR || !p->problem) {
    rt_diag_error(b->diags, b->doc->file, 0, 0, "YAML parser failed (out of memory)");
  } else if (p->context) {
    rt_diag_error(b->diags, b->doc->file, (int)p->problem_mark.line + 1,
                  (int)p->problem_mark.column + 1,
                  "YAML syntax error: %s (%s that starts at line %d, column %d)", p->problem,
                  p->context, (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
  } else {
    rt_diag_error(b->diags, b->doc->file, (int)p->problem_mark.line + 1,
                  (int)p->problem_mark.column + 1, "YAML syntax error: %s", p->problem);
  }
  b->ok = false;
  b->broken = true;
}

bool fe_yaml_parse(FeDoc *doc, const char *file, const char *text, size_t len, RtDiags *d) {
  *doc = (FeDoc){0};
  doc->file = rt_arena_strdup(&doc->arena, file ? file : "");
  Builder b = {.doc = doc, .diags = d, .ok = true};
  yaml_parser_t p;
  if (!yaml_parser_initialize(&p)) {
    rt_diag_error(d, doc->file, 0, 0, "YAML parser failed to start (out of memory)");
    return false;
  }
  yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
  int documents = 0;
  bool done = false;
  while (!done) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&p, &ev)) {
      report_syntax(&b, &p, text, len);
      break;
    }
    const yaml_mark_t *m = &ev.start_mark;
    switch (ev.type) {
    case YAML_STREAM_END_EVENT:
      done = true;
      break;
    case YAML_DOCUMENT_START_EVENT:
      if (++documents > 1) {
        error_at(&b, (int)m->line + 1, (int)m->column + 1,
                 "a second YAML document; a file holds exactly one");
        done = true;
      }
      break;
    case YAML_SCALAR_EVENT: {
      FeNode *n = node_new(&b, FE_NODE_SCALAR, m);
      n->len = ev.data.scalar.length;
      n->text = rt_arena_strndup(&doc->arena, (const char *)ev.data.scalar.value, n->len);
      n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
      attach(&b, n);
      break;
    }
    case YAML_ALIAS_EVENT: {
      error_at(&b, (int)m->line + 1, (int)m->column + 1,
               "YAML aliases (*name) are not supported; put shared settings under 'defaults'");
      FeNode *n = node_new(&b, FE_NODE_SCALAR, m);
      n->plain = true; /* reads as null, so the tree keeps its shape */
      attach(&b, n);
      break;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
      if (!open_container(&b, ev.type == YAML_SEQUENCE_START_EVENT ? FE_NODE_SEQ : FE_NODE_MAP, m))
        done = true;
      break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      if (b.depth > 0) close_container(&b);
      break;
    default:
      break;
    }
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&p);
  while (b.depth > 0) { /* unfinished containers after an error */
    free(b.stack[--b.depth].kids);
    fe_strmap_free(&b.stack[b.depth].index);
  }
  /* A partial tree would produce follow-on errors that are not the user's; after duplicate keys
   * or aliases the tree is whole and the schema checks can still find the other problems. */
  if (b.broken) doc->root = NULL;
  return b.ok;
}

bool fe_yaml_load(FeDoc *doc, const char *path, RtDiags *d) {
  char why[128];
  size_t len = 0;
  char *text = fe_file_read(path, &len, why, sizeof why);
  if (!text) {
    *doc = (FeDoc){0};
    doc->file = rt_arena_strdup(&doc->arena, path);
    rt_diag_error(d, path, 0, 0, "cannot read: %s", why);
    return false;
  }
  bool ok = fe_yaml_parse(doc, path, text, len, d);
  free(text);
  return ok;
}

void fe_yaml_free(FeDoc *doc) {
  rt_arena_free(&doc->arena);
  *doc = (FeDoc){0};
}

const FeNode *fe_node_key(const FeNode *map, const char *key) {
  if (!map || map->kind != FE_NODE_MAP) return NULL;
  size_t n = strlen(key);
  for (int i = 0; i < map->count; i++)
    if (map->keys[i]->len == n && memcmp(map->keys[i]->text, key, n) == 0) return map->keys[i];
  return NULL;
}

const FeNode *fe_node_get(const FeNode *map, const char *key) {
  const FeNode *k = fe_node_key(map, key);
  if (!k) return NULL;
  for (int i = 0; i < map->count; i++)
    if (map->keys[i] == k) return map->items[i];
  return NULL;
}

bool fe_node_is_null(const FeNode *n) {
  if (!n || n->kind != FE_NODE_SCALAR || !n->plain) return false;
  return n->len == 0 || strcmp(n->text, "~") == 0 || strcmp(n->text, "null") == 0 ||
         strcmp(n->text, "Null") == 0 || strcmp(n->text, "NULL") == 0;
}

const char *fe_node_describe(const FeNode *n, char *buf, size_t size) {
  RT_ASSERT(size >= 16, "buffer too small");
  const char *fixed = !n || fe_node_is_null(n) ? "nothing (null)"
                      : n->kind == FE_NODE_MAP ? "a mapping"
                      : n->kind == FE_NODE_SEQ ? "a list"
                                               : NULL;
  if (fixed) {
    snprintf(buf, size, "%s", fixed);
    return buf;
  }
  /* Quote and escape so that control characters or huge values cannot garble the message. */
  size_t o = 0;
  buf[o++] = '\'';
  for (size_t i = 0; i < n->len; i++) {
    unsigned char c = (unsigned char)n->text[i];
    if ((o + 8 >= size || i >= 48) && (c & 0xC0) != 0x80) { /* cut between UTF-8 characters */
      memcpy(buf + o, "...", 3);
      o += 3;
      break;
    }
    if (c < 0x20 || c == 0x7f)
      o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
    else
      buf[o++] = (char)c;
  }
  buf[o++] = '\'';
  buf[o] = 0;
  return buf;
}
