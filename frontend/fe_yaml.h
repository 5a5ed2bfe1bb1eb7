/* YAML loader: libyaml events -> a small document tree (mappings, sequences, scalars) where every
 * node and every mapping key carries its 1-based line and column, so that the schema checkers can
 * point at the offending text. Syntax errors, duplicate keys, non-scalar keys, aliases and several
 * documents in one stream become diagnostics; nothing here aborts on user input. The tree lives in
 * the FeDoc's arena and is freed at once by fe_yaml_free. */
#ifndef SMELT_FE_YAML_H
#define SMELT_FE_YAML_H

#include <stdbool.h>
#include <stddef.h>

#include "support/rt_arena.h"
#include "support/rt_diag.h"

typedef enum FeNodeKind { FE_NODE_SCALAR, FE_NODE_MAP, FE_NODE_SEQ } FeNodeKind;

typedef struct FeNode FeNode;
struct FeNode {
  FeNodeKind kind;
  int line, col;   /* 1-based start of the node in the file */
  const char *text; /* scalars: NUL-terminated value (may hold earlier NULs from escapes) */
  size_t len;       /* scalars: byte length of text */
  bool plain;       /* scalars: unquoted, so `null`, `true`, `12` are typed; quoted ones are strings */
  FeNode **keys;    /* maps: count scalar keys, in file order, no duplicates */
  FeNode **items;   /* maps: the value of keys[i]; sequences: the elements */
  int count;
};

typedef struct FeDoc {
  const char *file; /* as given for diagnostics (arena copy) */
  FeNode *root;     /* NULL when the stream holds no document (empty file, comments only) */
  RtArena arena;
} FeDoc;

/* Parses len bytes of text (need not be NUL-terminated) into doc, naming it `file` in
 * diagnostics. Returns false when any error was added to d (a syntax error stops the parse, the
 * other problems do not); doc->root is then whatever could be built and may be NULL.
 * The caller releases doc with fe_yaml_free in every case. */
bool fe_yaml_parse(FeDoc *doc, const char *file, const char *text, size_t len, RtDiags *d);

/* Reads path (a regular file of at most 16 MiB) and parses it as above. */
bool fe_yaml_load(FeDoc *doc, const char *path, RtDiags *d);

void fe_yaml_free(FeDoc *doc);

/* The value of key in a mapping, or NULL (also when map is NULL or not a mapping). */
const FeNode *fe_node_get(const FeNode *map, const char *key);
/* The key node of key in a mapping, or NULL; used to point diagnostics at a key. */
const FeNode *fe_node_key(const FeNode *map, const char *key);
/* A plain scalar spelling null: empty, `~`, `null`, `Null`, `NULL`. */
bool fe_node_is_null(const FeNode *n);
/* Writes what a diagnostic says it got into buf and returns buf: "a mapping", "a list",
 * "nothing (null)", or "'text'" (escaped and shortened). size >= 16. */
const char *fe_node_describe(const FeNode *n, char *buf, size_t size);

#endif
