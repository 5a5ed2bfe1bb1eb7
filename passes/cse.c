/* Common-subexpression elimination (pass_cse in simplify.h). One walk in id order with an
 * open-addressing hash table of the new graph's op and const nodes: an op whose op, remapped
 * operands and attributes match an earlier node, or a const whose type and value match an
 * earlier const, is mapped to that node instead of being copied. Operands are remapped before
 * hashing, so whole duplicated subtrees merge bottom-up in the same walk. Linear time. */
#include <stdlib.h>
#include <string.h>

#include "ir/ir_ops.h"
#include "passes/simplify_impl.h"
#include "support/rt_assert.h"

typedef struct CseTable {
  IrId *slots;      /* (cap) ids in the new graph; IR_NONE marks an empty slot */
  uint64_t *hashes; /* (cap) hash of each slot's node */
  size_t cap;       /* a power of two, more than twice the number of entries */
} CseTable;

/* An op or const of the old graph, looked up with its operands already remapped. */
typedef struct CseKey {
  const IrNode *n;   /* the old node */
  const IrId *in;    /* (n->n_in) remapped operands */
} CseKey;

/* splitmix64's finaliser: a cheap, well-mixed step for combining words */
static uint64_t mix(uint64_t h, uint64_t x) {
  h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

static uint64_t bits_of(double v) {
  uint64_t b;
  memcpy(&b, &v, sizeof b);
  return b;
}

/* ops that give the same bits with swapped operands (IR_OPF_COMMUTATIVE) */
static bool commutes(IrOp op) { return ir_op_has(op, IR_OPF_COMMUTATIVE); }

static uint64_t hash_type(uint64_t h, const IrType *t) {
  h = mix(h, (uint64_t)t->dtype);
  h = mix(h, (uint64_t)t->shape.rank);
  for (int d = 0; d < t->shape.rank; d++) h = mix(h, (uint64_t)t->shape.dims[d]);
  return h;
}

static uint64_t hash_key(const CseKey *k) {
  const IrNode *n = k->n;
  uint64_t h = mix((uint64_t)n->kind, n->kind == IR_NODE_OP ? (uint64_t)n->op : 0);
  h = hash_type(h, &n->type);
  if (n->kind == IR_NODE_CONST) {
    double v;
    if (simplify_const_uniform(n, &v)) return mix(h, bits_of(v));
    int64_t numel = ir_shape_numel(&n->type.shape);
    for (int64_t i = 0; i < numel; i++) h = mix(h, bits_of(n->data[i]));
    return mix(h, 1);
  }
  if (commutes(n->op)) { /* order-independent: hash the smaller operand first */
    bool swap = k->in[1] < k->in[0];
    h = mix(mix(h, (uint64_t)k->in[swap]), (uint64_t)k->in[!swap]);
  } else {
    for (int i = 0; i < n->n_in; i++) h = mix(h, (uint64_t)k->in[i]);
  }
  const IrAttrSpec *spec = ir_op_info[n->op].attrs;
  for (int i = 0; i < IR_MAX_ATTRS && spec[i].name; i++) {
    h = mix(h, (uint64_t)n->attr[i].n);
    for (int j = 0; j < n->attr[i].n; j++) h = mix(h, (uint64_t)n->attr[i].v[j]);
  }
  return h;
}

static bool same_const(const IrNode *a, const IrNode *b) {
  double va, vb;
  bool ua = simplify_const_uniform(a, &va), ub = simplify_const_uniform(b, &vb);
  if (ua || ub) return ua && ub && bits_of(va) == bits_of(vb);
  return memcmp(a->data, b->data, (size_t)ir_shape_numel(&a->type.shape) * sizeof *a->data) == 0;
}

static bool same_operands(const CseKey *k, const IrNode *m) {
  const IrNode *n = k->n;
  if (m->n_in != n->n_in) return false;
  if (commutes(n->op) && m->in[0] == k->in[1] && m->in[1] == k->in[0]) return true;
  return memcmp(m->in, k->in, (size_t)n->n_in * sizeof *k->in) == 0;
}

static bool same_attrs(const IrNode *a, const IrNode *b) {
  const IrAttrSpec *spec = ir_op_info[a->op].attrs;
  for (int i = 0; i < IR_MAX_ATTRS && spec[i].name; i++) {
    if (a->attr[i].n != b->attr[i].n) return false;
    for (int j = 0; j < a->attr[i].n; j++)
      if (a->attr[i].v[j] != b->attr[i].v[j]) return false;
  }
  return true;
}

/* Does new-graph node m compute the same value as key k? */
static bool key_matches(const CseKey *k, const IrNode *m) {
  const IrNode *n = k->n;
  if (m->kind != n->kind || !ir_type_eq(&m->type, &n->type)) return false;
  if (n->kind == IR_NODE_CONST) return same_const(n, m);
  return m->op == n->op && same_operands(k, m) && same_attrs(n, m);
}

/* The new-graph node matching k, or IR_NONE; *slot gets where k would be inserted. */
static IrId table_find(const CseTable *t, const IrGraph *dst, const CseKey *k, uint64_t h,
                       size_t *slot) {
  size_t i = (size_t)h & (t->cap - 1);
  while (t->slots[i] != IR_NONE) {
    if (t->hashes[i] == h && key_matches(k, ir_node(dst, t->slots[i]))) return t->slots[i];
    i = (i + 1) & (t->cap - 1);
  }
  *slot = i;
  return IR_NONE;
}

IrGraph *pass_cse_map(const IrGraph *g, PassSimplifyStats *stats, IrId *map) {
  PassRewrite rw;
  pass_rewrite_begin(&rw, g);
  CseTable t = {.cap = 16};
  while (t.cap < 2 * (size_t)g->n_nodes + 2) t.cap *= 2;
  t.slots = rt_xmalloc(t.cap * sizeof *t.slots);
  t.hashes = rt_xmalloc(t.cap * sizeof *t.hashes);
  for (size_t i = 0; i < t.cap; i++) t.slots[i] = IR_NONE;
  IrId *in = NULL;
  int in_cap = 0;
  for (IrId id = 0; id < g->n_nodes; id++) {
    const IrNode *n = g->nodes[id];
    if (n->kind != IR_NODE_OP && n->kind != IR_NODE_CONST) { /* the program's interface */
      pass_rewrite_copy(&rw, id);
      continue;
    }
    if (n->n_in > in_cap) {
      in_cap = n->n_in;
      in = rt_xrealloc(in, (size_t)in_cap * sizeof *in);
    }
    for (int i = 0; i < n->n_in; i++) in[i] = pass_rewrite_value(&rw, n->in[i]);
    CseKey key = {n, in};
    uint64_t h = hash_key(&key);
    size_t slot = 0;
    IrId same = table_find(&t, rw.dst, &key, h, &slot);
    if (same != IR_NONE) {
      pass_rewrite_replace(&rw, id, same, false);
      simplify_count(stats, n->kind == IR_NODE_OP ? PASS_RULE_CSE_OP : PASS_RULE_CSE_CONST);
      continue;
    }
    t.slots[slot] = pass_rewrite_copy(&rw, id);
    t.hashes[slot] = h;
  }
  free(in);
  free(t.slots);
  free(t.hashes);
  return simplify_finish(&rw, stats, map);
}

IrGraph *pass_cse(const IrGraph *g, PassSimplifyStats *stats) { return pass_cse_map(g, stats, NULL); }
