/* Graph construction: appending nodes (running the op's shape rule), outputs, updates, names. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir_ops.h"
#include "support/rt_assert.h"

IrGraph *ir_graph_new(const char *name) {
  IrGraph *g = rt_xcalloc(1, sizeof *g);
  g->name = rt_arena_strdup(&g->arena, name ? name : "main");
  return g;
}

void ir_graph_free(IrGraph *g) {
  if (!g) return;
  rt_arena_free(&g->arena);
  free(g->nodes);
  free(g->outputs);
  free(g->updates);
  free(g);
}

IrNode *ir_node(const IrGraph *g, IrId id) {
  RT_ASSERT(id >= 0 && id < g->n_nodes, "node id %d out of range (graph has %d)", id, g->n_nodes);
  return g->nodes[id];
}

const IrType *ir_type_of(const IrGraph *g, IrId id) { return &ir_node(g, id)->type; }

bool ir_name_is_valid(const char *name) {
  if (!name || !(isalpha((unsigned char)name[0]) || name[0] == '_')) return false;
  for (const char *p = name; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.')) return false;
  return true;
}

static IrId graph_append(IrGraph *g, IrNode *node) {
  if (g->n_nodes == g->cap_nodes) {
    g->cap_nodes = g->cap_nodes ? 2 * g->cap_nodes : 64;
    g->nodes = rt_xrealloc(g->nodes, (size_t)g->cap_nodes * sizeof *g->nodes);
  }
  g->nodes[g->n_nodes] = node;
  return g->n_nodes++;
}

IrId ir_graph_add_leaf(IrGraph *g, IrNodeKind kind, const char *name, IrType type) {
  RT_ASSERT(kind != IR_NODE_OP, "use ir_graph_add_op for op nodes");
  IrNode *n = rt_arena_alloc(&g->arena, sizeof *n);
  n->kind = kind;
  n->op = IR_OP_COUNT;
  n->type = type;
  IrId id = graph_append(g, n);
  if (name) ir_graph_set_name(g, id, name);
  return id;
}

static void graph_error(IrGraph *g, const char *fmt, const char *op, const char *msg) {
  if (!g->error[0]) snprintf(g->error, sizeof g->error, fmt, op, msg);
}

IrId ir_graph_add_op(IrGraph *g, IrOp op, int n_in, const IrId *in, const IrAttr *attrs) {
  RT_ASSERT(op >= 0 && op < IR_OP_COUNT, "bad op %d", (int)op);
  const IrOpInfo *info = &ir_op_info[op];
  for (int i = 0; i < n_in; i++)
    if (in[i] == IR_NONE) return IR_NONE;
  if (info->arity >= 0 ? n_in != info->arity : n_in < 1) {
    graph_error(g, "%s: %s", info->name, "wrong number of operands");
    return IR_NONE;
  }
  IrNode *n = rt_arena_alloc(&g->arena, sizeof *n);
  n->kind = IR_NODE_OP;
  n->op = op;
  n->n_in = n_in;
  n->in = rt_arena_memdup(&g->arena, in, (size_t)n_in * sizeof *in);
  for (int i = 0; i < IR_MAX_ATTRS && info->attrs[i].name; i++) {
    if (attrs) n->attr[i] = attrs[i];
    int want = info->attrs[i].count, got = n->attr[i].n;
    if (want >= 0 ? got != want : got > IR_ATTR_MAX_INTS) {
      char msg[96];
      snprintf(msg, sizeof msg, "attribute '%s' needs %d values, got %d", info->attrs[i].name,
               want, got);
      graph_error(g, "%s: %s", info->name, msg);
      return IR_NONE;
    }
  }
  char err[400] = "";
  if (!info->infer(g, n, &n->type, err, sizeof err)) {
    graph_error(g, "%s: %s", info->name, err);
    return IR_NONE; /* the node stays in the arena, unreferenced */
  }
  return graph_append(g, n);
}

IrId ir_graph_add_raw(IrGraph *g, const IrNode *proto) {
  IrNode *n = rt_arena_memdup(&g->arena, proto, sizeof *n);
  n->in = proto->n_in ? rt_arena_memdup(&g->arena, proto->in, (size_t)proto->n_in * sizeof *n->in)
                      : NULL;
  n->name = proto->name ? rt_arena_strdup(&g->arena, proto->name) : NULL;
  if (proto->data)
    n->data = rt_arena_memdup(&g->arena, proto->data,
                              (size_t)ir_shape_numel(&proto->type.shape) * sizeof *n->data);
  return graph_append(g, n);
}

void ir_graph_add_output(IrGraph *g, IrId id) {
  RT_ASSERT(id >= 0 && id < g->n_nodes, "output %d is not a node", id);
  if (g->n_outputs == g->cap_outputs) {
    g->cap_outputs = g->cap_outputs ? 2 * g->cap_outputs : 8;
    g->outputs = rt_xrealloc(g->outputs, (size_t)g->cap_outputs * sizeof *g->outputs);
  }
  g->outputs[g->n_outputs++] = id;
}

void ir_graph_add_update(IrGraph *g, IrId target, IrId value) {
  RT_ASSERT(target >= 0 && target < g->n_nodes && value >= 0 && value < g->n_nodes,
            "update %d <- %d names a missing node", target, value);
  if (g->n_updates == g->cap_updates) {
    g->cap_updates = g->cap_updates ? 2 * g->cap_updates : 16;
    g->updates = rt_xrealloc(g->updates, (size_t)g->cap_updates * sizeof *g->updates);
  }
  g->updates[g->n_updates++] = (IrUpdate){target, value};
}

void ir_graph_set_name(IrGraph *g, IrId id, const char *name) {
  RT_ASSERT(ir_name_is_valid(name), "invalid node name '%s'", name);
  RT_ASSERT(ir_graph_find(g, name) == IR_NONE, "duplicate node name '%s'", name);
  ir_node(g, id)->name = rt_arena_strdup(&g->arena, name);
}

IrId ir_graph_find(const IrGraph *g, const char *name) {
  for (IrId i = 0; i < g->n_nodes; i++)
    if (g->nodes[i]->name && strcmp(g->nodes[i]->name, name) == 0) return i;
  return IR_NONE;
}

const char *ir_node_label(const IrGraph *g, IrId id, char *buf, size_t size) {
  const IrNode *n = ir_node(g, id);
  if (n->name)
    snprintf(buf, size, "%%%s", n->name);
  else
    snprintf(buf, size, "%%%d", id);
  return buf;
}
