/* Table-driven decoding of YAML mappings into C structs, with the diagnostics every schema
 * shares. Typed values follow YAML's core schema for plain scalars only: a quoted "32" is a
 * string, and saying so in the message saves the user a puzzle. Numbers must be finite. */
#include "frontend/fe_schema.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/rt_assert.h"
#include "support/rt_suggest.h"

static void diag_at(FeCtx *c, RtDiagLevel level, const FeNode *at, const char *fmt, va_list ap) {
  char buf[900];
  vsnprintf(buf, sizeof buf, fmt, ap);
  rt_diag_add(c->diags, level, c->file, at ? at->line : 0, at ? at->col : 0, "%s", buf);
}

void fe_error(FeCtx *c, const FeNode *at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_at(c, RT_DIAG_ERROR, at, fmt, ap);
  va_end(ap);
}

void fe_warning(FeCtx *c, const FeNode *at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_at(c, RT_DIAG_WARNING, at, fmt, ap);
  va_end(ap);
}

const char *fe_names_join(const char *const *names, int count, char *buf, size_t size) {
  size_t o = 0;
  buf[0] = 0;
  for (int i = 0; i < count && o < size; i++)
    o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? ", " : "", names[i]);
  return buf;
}

const char *fe_suggest(const char *word, const char *const *candidates, int n) {
  const char *best = rt_suggest(word, candidates, n);
  size_t len = strlen(word);
  for (int i = 0; i < n && !best && len >= 2; i++) {
    if (strlen(candidates[i]) != len) continue;
    size_t first = 0;
    while (first < len && word[first] == candidates[i][first]) first++;
    if (first + 1 < len && word[first] == candidates[i][first + 1] &&
        word[first + 1] == candidates[i][first] &&
        strcmp(word + first + 2, candidates[i] + first + 2) == 0)
      best = candidates[i];
  }
  return best;
}

static bool only_chars(const FeNode *n, const char *allowed) {
  if (n->len == 0 || strlen(n->text) != n->len) return false;
  return strspn(n->text, allowed) == n->len;
}

bool fe_scalar_int(const FeNode *n, long long *out) {
  if (!n || n->kind != FE_NODE_SCALAR || !n->plain || !only_chars(n, "+-0123456789")) return false;
  char *end;
  errno = 0;
  long long v = strtoll(n->text, &end, 10);
  if (errno || *end) return false;
  *out = v;
  return true;
}

bool fe_scalar_number(const FeNode *n, double *out) {
  if (!n || n->kind != FE_NODE_SCALAR || !n->plain || !only_chars(n, "+-0123456789.eE")) return false;
  char *end;
  double v = strtod(n->text, &end);
  if (*end || end == n->text || !isfinite(v)) return false;
  *out = v;
  return true;
}

bool fe_scalar_bool(const FeNode *n, bool *out) {
  static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
  static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
  if (!n || n->kind != FE_NODE_SCALAR || !n->plain) return false;
  for (int i = 0; i < 9; i++) {
    if (strcmp(n->text, yes[i]) == 0) return *out = true, true;
    if (strcmp(n->text, no[i]) == 0) return *out = false, true;
  }
  return false;
}

bool fe_expect_map(FeCtx *c, const FeNode *n, const char *what) {
  if (n && n->kind == FE_NODE_MAP) return true;
  char buf[96];
  fe_error(c, n, "%s must be a mapping, got %s", what, fe_node_describe(n, buf, sizeof buf));
  return false;
}

bool fe_enum_decode(FeCtx *c, const FeNode *n, const char *noun, const char *const *names, int count,
                    int *out) {
  char known[512], got[96];
  fe_names_join(names, count, known, sizeof known);
  if (!n || n->kind != FE_NODE_SCALAR || fe_node_is_null(n)) {
    fe_error(c, n, "%s must be one of %s, got %s", noun, known, fe_node_describe(n, got, sizeof got));
    return false;
  }
  for (int i = 0; i < count; i++)
    if (strcmp(n->text, names[i]) == 0) return *out = i, true;
  const char *best = fe_suggest(n->text, names, count);
  fe_node_describe(n, got, sizeof got);
  if (best)
    fe_error(c, n, "unknown %s %s; did you mean '%s'? (known: %s)", noun, got, best, known);
  else
    fe_error(c, n, "unknown %s %s (known: %s)", noun, got, known);
  return false;
}

/* "must be in [0, 1)", "must be > 0", "must be >= 1" for a field's range. */
static const char *range_text(const FeField *f, char *buf, size_t size) {
  bool lo = isfinite(f->min), hi = isfinite(f->max);
  bool lo_open = f->flags & FE_OPEN_MIN, hi_open = f->flags & FE_OPEN_MAX;
  if (lo && hi)
    snprintf(buf, size, "in %c%.15g, %.15g%c", lo_open ? '(' : '[', f->min, f->max,
             hi_open ? ')' : ']');
  else if (lo)
    snprintf(buf, size, "%s %.15g", lo_open ? ">" : ">=", f->min);
  else if (hi)
    snprintf(buf, size, "%s %.15g", hi_open ? "<" : "<=", f->max);
  else
    buf[0] = 0;
  return buf;
}

static bool in_range(const FeField *f, double v) {
  if (f->flags & FE_OPEN_MIN ? v <= f->min : v < f->min) return false;
  if (f->flags & FE_OPEN_MAX ? v >= f->max : v > f->max) return false;
  return true;
}

/* One numeric scalar of a field (or of a pair), checked for type and range. */
static bool number_decode(FeCtx *c, const FeNode *n, const FeField *f, bool integer, double *out) {
  char got[96], range[96];
  double v = 0;
  long long iv;
  bool ok = integer ? fe_scalar_int(n, &iv) : fe_scalar_number(n, &v);
  if (!ok) {
    const char *kind = integer ? "an integer" : "a number";
    fe_node_describe(n, got, sizeof got);
    if (n && n->kind == FE_NODE_SCALAR && !n->plain && !fe_node_is_null(n))
      fe_error(c, n, "%s must be %s, got the quoted string %s; remove the quotes", f->key, kind, got);
    else if (integer && fe_scalar_number(n, &v))
      fe_error(c, n, "%s must be an integer, got %s", f->key, got);
    else
      fe_error(c, n, "%s must be %s, got %s", f->key, kind, got);
    return false;
  }
  if (integer) v = (double)iv;
  if (!in_range(f, v)) {
    fe_error(c, n, "%s must be %s, got %s", f->key, range_text(f, range, sizeof range),
             fe_node_describe(n, got, sizeof got));
    return false;
  }
  *out = v;
  return true;
}

static bool pair_decode(FeCtx *c, const FeNode *n, const FeField *f, bool integer, double out[2]) {
  if (integer && n && n->kind == FE_NODE_SCALAR) {
    if (!number_decode(c, n, f, true, &out[0])) return false;
    out[1] = out[0];
    return true;
  }
  if (!n || n->kind != FE_NODE_SEQ || n->count != 2) {
    char got[96];
    if (n && n->kind == FE_NODE_SEQ)
      snprintf(got, sizeof got, "a list of %d", n->count);
    else
      fe_node_describe(n, got, sizeof got);
    fe_error(c, n, "%s must be %s, got %s", f->key,
             integer ? "an integer or a list of two [a, b]" : "a list of two numbers [a, b]", got);
    return false;
  }
  bool ok0 = number_decode(c, n->items[0], f, integer, &out[0]);
  bool ok1 = number_decode(c, n->items[1], f, integer, &out[1]);
  return ok0 && ok1;
}

bool fe_field_decode(FeCtx *c, const FeNode *value, const FeField *f, void *dst) {
  char *p = (char *)dst + f->offset;
  char got[96];
  double v, pair[2];
  switch (f->type) {
  case FE_FIELD_SKIP:
    return true;
  case FE_FIELD_INT:
    if (!number_decode(c, value, f, true, &v)) return false;
    *(int *)p = (int)v;
    return true;
  case FE_FIELD_INT64: {
    long long iv;
    if (!number_decode(c, value, f, true, &v)) return false;
    fe_scalar_int(value, &iv); /* exact, where the double may have rounded */
    *(int64_t *)p = (int64_t)iv;
    return true;
  }
  case FE_FIELD_NUMBER:
    if (!number_decode(c, value, f, false, &v)) return false;
    *(double *)p = v;
    return true;
  case FE_FIELD_BOOL:
    if (!fe_scalar_bool(value, (bool *)p)) {
      fe_error(c, value, "%s must be true or false, got %s", f->key,
               fe_node_describe(value, got, sizeof got));
      return false;
    }
    return true;
  case FE_FIELD_STRING:
    if (!value || value->kind != FE_NODE_SCALAR || fe_node_is_null(value) || value->len == 0 ||
        strlen(value->text) != value->len) {
      fe_error(c, value, "%s must be a non-empty string, got %s", f->key,
               fe_node_describe(value, got, sizeof got));
      return false;
    }
    *(const char **)p = rt_arena_strdup(c->arena, value->text);
    return true;
  case FE_FIELD_ENUM:
    return fe_enum_decode(c, value, f->key, f->names, f->name_count, (int *)p);
  case FE_FIELD_INT_PAIR:
    if (!pair_decode(c, value, f, true, pair)) return false;
    ((int *)p)[0] = (int)pair[0];
    ((int *)p)[1] = (int)pair[1];
    return true;
  case FE_FIELD_NUMBER_PAIR:
    if (!pair_decode(c, value, f, false, pair)) return false;
    ((double *)p)[0] = pair[0];
    ((double *)p)[1] = pair[1];
    return true;
  }
  RT_ASSERT(0, "bad field type %d", (int)f->type);
}

static int field_index(const FeSchema *s, const char *key, size_t len) {
  for (int i = 0; i < s->count; i++)
    if (strlen(s->fields[i].key) == len && memcmp(s->fields[i].key, key, len) == 0) return i;
  return -1;
}

static void unknown_key(FeCtx *c, const FeNode *key, const FeSchema *s, const FeSchema *siblings,
                        int sibling_count) {
  char got[96];
  fe_node_describe(key, got, sizeof got);
  for (int i = 0; i < sibling_count; i++) {
    if (&siblings[i] != s && field_index(&siblings[i], key->text, key->len) >= 0) {
      fe_error(c, key, "unknown key %s for %s (it is an option of %s)", got, s->what,
               siblings[i].what);
      return;
    }
  }
  const char *names[64];
  for (int i = 0; i < s->count; i++) names[i] = s->fields[i].key;
  const char *best = fe_suggest(key->text, names, s->count);
  char known[512];
  if (best)
    fe_error(c, key, "unknown key %s; did you mean '%s'?", got, best);
  else if (s->count <= 10)
    fe_error(c, key, "unknown key %s for %s (known: %s)", got, s->what,
             fe_names_join(names, s->count, known, sizeof known));
  else
    fe_error(c, key, "unknown key %s for %s", got, s->what);
}

uint64_t fe_schema_decode(FeCtx *c, const FeNode *map, const FeSchema *s, void *dst,
                          const FeSchema *siblings, int sibling_count) {
  return fe_schema_decode_custom(c, map, s, dst, siblings, sibling_count, NULL, NULL);
}

uint64_t fe_schema_decode_custom(FeCtx *c, const FeNode *map, const FeSchema *s, void *dst,
                                 const FeSchema *siblings, int sibling_count, FeCustomDecode custom,
                                 void *user) {
  RT_ASSERT(s->count <= 64, "schema %s has more than 64 fields", s->what);
  uint64_t mask = 0, present = 0;
  if (!map || map->kind != FE_NODE_MAP) return 0;
  for (int i = 0; i < map->count; i++) {
    int f = field_index(s, map->keys[i]->text, map->keys[i]->len);
    if (f < 0) {
      unknown_key(c, map->keys[i], s, siblings, sibling_count);
      continue;
    }
    present |= (uint64_t)1 << f;
    if (s->fields[f].type == FE_FIELD_SKIP && custom) custom(c, map->keys[i], map->items[i], user);
    if (fe_field_decode(c, map->items[i], &s->fields[f], dst)) mask |= (uint64_t)1 << f;
  }
  for (int f = 0; f < s->count; f++)
    if ((s->fields[f].flags & FE_REQUIRED) && !(present >> f & 1))
      fe_error(c, map, "%s needs '%s'", s->what, s->fields[f].key);
  return mask;
}
