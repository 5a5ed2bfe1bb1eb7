/* Schema checking shared by presets and experiment configs: a mapping is decoded through a table
 * of fields (key, type, offset into a struct, range), so both schemas state their keys once and
 * get the same diagnostics: unknown keys with the closest known key suggested, wrong types,
 * out-of-range values, unknown names in enumerations. Every problem is reported at the node that
 * causes it, and decoding continues so that one pass finds them all. */
#ifndef SMELT_FE_SCHEMA_H
#define SMELT_FE_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frontend/fe_yaml.h"
#include "support/rt_arena.h"
#include "support/rt_diag.h"

typedef struct FeCtx {
  const char *file; /* document name used in diagnostics */
  RtDiags *diags;
  RtArena *arena;   /* decoded strings are copied here */
} FeCtx;

typedef enum FeFieldType {
  FE_FIELD_SKIP,        /* a known key that the caller decodes itself (kind, type, name...) */
  FE_FIELD_INT,         /* int */
  FE_FIELD_INT64,       /* int64_t */
  FE_FIELD_NUMBER,      /* double (integers accepted) */
  FE_FIELD_BOOL,        /* bool */
  FE_FIELD_STRING,      /* const char *, copied into the arena */
  FE_FIELD_ENUM,        /* int: index into names */
  FE_FIELD_INT_PAIR,    /* int[2]: N (both) or [A, B] */
  FE_FIELD_NUMBER_PAIR, /* double[2]: [A, B] */
} FeFieldType;

/* FeField.flags: exclusive bounds; a required key (missing: "WHAT needs 'KEY'" at the mapping). */
enum { FE_OPEN_MIN = 1, FE_OPEN_MAX = 2, FE_REQUIRED = 4 };

typedef struct FeField {
  const char *key;
  FeFieldType type;
  size_t offset;                    /* into the destination struct */
  double min, max;                  /* numeric range, inclusive unless flagged; use +-INFINITY */
  unsigned flags;
  const char *const *names;         /* FE_FIELD_ENUM */
  int name_count;
} FeField;

typedef struct FeSchema {
  const char *what; /* "cross_entropy loss", "conv2d layer", "experiment settings" */
  const FeField *fields;
  int count;        /* at most 64 */
} FeSchema;

void fe_error(FeCtx *c, const FeNode *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void fe_warning(FeCtx *c, const FeNode *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Decodes every key of map through s into dst. Unknown keys are errors: when one is a key of a
 * sibling schema (another loss type, another layer kind) the message says so, otherwise the
 * closest key is suggested; missing FE_REQUIRED keys are errors. Returns a mask with bit i set
 * when fields[i] was present and valid. */
uint64_t fe_schema_decode(FeCtx *c, const FeNode *map, const FeSchema *s, void *dst,
                          const FeSchema *siblings, int sibling_count);

/* The same, calling custom(c, key, value, user) for FE_FIELD_SKIP keys in file order with the
 * others, so that diagnostics come out in the order of the file. */
typedef void (*FeCustomDecode)(FeCtx *c, const FeNode *key, const FeNode *value, void *user);
uint64_t fe_schema_decode_custom(FeCtx *c, const FeNode *map, const FeSchema *s, void *dst,
                                 const FeSchema *siblings, int sibling_count, FeCustomDecode custom,
                                 void *user);

/* rt_suggest, plus one swap of adjacent letters ("widht" -> "width"), the commonest typo that
 * plain edit distance counts twice. */
const char *fe_suggest(const char *word, const char *const *candidates, int n);

/* Decodes one value through field f into dst (at f->offset); false after reporting a problem. */
bool fe_field_decode(FeCtx *c, const FeNode *value, const FeField *f, void *dst);

/* Reports "WHAT must be a mapping, got ..." unless n is a mapping. */
bool fe_expect_map(FeCtx *c, const FeNode *n, const char *what);

/* Looks a scalar up in names. Unknown: "unknown NOUN 'x'; did you mean 'y'? (known: a, b)". */
bool fe_enum_decode(FeCtx *c, const FeNode *n, const char *noun, const char *const *names, int count,
                    int *out);

/* Typed scalar readers: false (without a diagnostic) when n is not a plain scalar of that type. */
bool fe_scalar_int(const FeNode *n, long long *out);
bool fe_scalar_number(const FeNode *n, double *out);
bool fe_scalar_bool(const FeNode *n, bool *out);

/* Writes "a, b, c" (names joined) into buf. */
const char *fe_names_join(const char *const *names, int count, char *buf, size_t size);

#endif
