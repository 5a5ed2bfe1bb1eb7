/* Deep equality of two graphs (ir_text.h), the check behind the text round-trip tests and the
 * parser's fuzz target. It compares everything the text form carries and nothing else: source
 * positions are ignored, and so are the fields a node's kind does not use (attributes of leaves,
 * the value of a zeros/ones/data init). Doubles are compared bit for bit. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ir/ir_ops.h"
#include "ir/ir_text.h"

static bool differ(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool differ(char *why, size_t size, const char *fmt, ...) {
  if (why) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
  }
  return false;
}

static bool same_double(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static bool init_uses_value(IrInit init) {
  return init == IR_INIT_FILL || init == IR_INIT_UNIFORM || init == IR_INIT_NORMAL;
}

static bool same_str(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

#define DIFFERS(what) differ(why, size, "node %d: %s differs", id, what)

static bool node_equal(const IrNode *x, const IrNode *y, IrId id, char *why, size_t size) {
  if (x->kind != y->kind) return DIFFERS("kind");
  if (!ir_type_eq(&x->type, &y->type)) return DIFFERS("type");
  if (!same_str(x->name, y->name)) return DIFFERS("name");
  if (x->kind == IR_NODE_OP) {
    if (x->op != y->op) return DIFFERS("op");
    if (x->n_in != y->n_in) return DIFFERS("operand count");
    for (int i = 0; i < x->n_in; i++)
      if (x->in[i] != y->in[i]) return DIFFERS("operand");
    if (x->op < 0 || x->op >= IR_OP_COUNT) return true;
    for (int i = 0; i < IR_MAX_ATTRS && ir_op_info[x->op].attrs[i].name; i++) {
      const IrAttr *a = &x->attr[i], *b = &y->attr[i];
      if (a->n != b->n) return DIFFERS(ir_op_info[x->op].attrs[i].name);
      for (int k = 0; k < a->n && k < IR_ATTR_MAX_INTS; k++)
        if (a->v[k] != b->v[k]) return DIFFERS(ir_op_info[x->op].attrs[i].name);
    }
    return true;
  }
  if (x->n_in != y->n_in) return DIFFERS("operand count");
  if (x->init != y->init) return DIFFERS("init");
  if (init_uses_value(x->init) && !same_double(x->value, y->value))
    return DIFFERS("init value");
  if (!x->data != !y->data) return DIFFERS("data");
  if (x->data) {
    int64_t numel = ir_shape_numel(&x->type.shape);
    for (int64_t i = 0; i < numel; i++)
      if (!same_double(x->data[i], y->data[i])) return DIFFERS("data");
  }
  return true;
}

bool ir_graph_equal(const IrGraph *a, const IrGraph *b, char *why, size_t size) {
  if (!same_str(a->name, b->name)) return differ(why, size, "graph names differ");
  if (a->n_nodes != b->n_nodes)
    return differ(why, size, "node counts differ: %d vs %d", a->n_nodes, b->n_nodes);
  for (IrId id = 0; id < a->n_nodes; id++)
    if (!node_equal(a->nodes[id], b->nodes[id], id, why, size)) return false;
  if (a->n_outputs != b->n_outputs)
    return differ(why, size, "output counts differ: %d vs %d", a->n_outputs, b->n_outputs);
  for (int i = 0; i < a->n_outputs; i++)
    if (a->outputs[i] != b->outputs[i]) return differ(why, size, "output %d differs", i);
  if (a->n_updates != b->n_updates)
    return differ(why, size, "update counts differ: %d vs %d", a->n_updates, b->n_updates);
  for (int i = 0; i < a->n_updates; i++)
    if (a->updates[i].target != b->updates[i].target || a->updates[i].value != b->updates[i].value)
      return differ(why, size, "update %d differs", i);
  return true;
}
