/* Printer of the IR text format (docs/ir.md). One line per node in id order, then the outputs
 * in order, then the updates. Doubles are printed with the fewest digits that read back to the
 * same bits, so the text round-trips exactly through ir_parse. It is also the debugging dump of
 * possibly broken graphs, so it checks every id, rank and count before using it. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir_ops.h"
#include "ir/ir_text.h"
#include "support/rt_assert.h"

typedef struct StrBuf {
  char *s;
  size_t len, cap;
} StrBuf;

static void buf_printf(StrBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void buf_printf(StrBuf *b, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    RT_ASSERT(n >= 0, "vsnprintf failed");
    if (b->s && b->len + (size_t)n < b->cap) {
      b->len += (size_t)n;
      return;
    }
    b->cap = 2 * (b->cap + (size_t)n) + 256;
    b->s = rt_xrealloc(b->s, b->cap);
  }
}

char *ir_format_double(double v, char *buf, size_t size) {
  if (isnan(v)) {
    snprintf(buf, size, "nan");
    return buf;
  }
  if (isinf(v)) {
    snprintf(buf, size, v < 0 ? "-inf" : "inf");
    return buf;
  }
  char tmp[40];
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*g", prec, v);
    if (strtod(tmp, NULL) == v) break; /* %.17g always round-trips (IEEE 754 binary64) */
  }
  /* "1e-05" -> "1e-5", "1e+20" -> "1e20" */
  char *e = strchr(tmp, 'e');
  if (e) {
    char *src = e + 1, *dst = e + 1;
    if (*src == '+') src++;
    else if (*src == '-') *dst++ = *src++;
    while (*src == '0' && src[1]) src++;
    memmove(dst, src, strlen(src) + 1);
  }
  snprintf(buf, size, "%s", tmp);
  return buf;
}

static void print_label(StrBuf *b, const IrGraph *g, IrId id) {
  if (id >= 0 && id < g->n_nodes && g->nodes[id]->name)
    buf_printf(b, "%%%s", g->nodes[id]->name);
  else
    buf_printf(b, "%%%d", id);
}

static void print_type(StrBuf *b, const IrType *t) {
  int rank = t->shape.rank < 0 ? 0 : t->shape.rank > IR_MAX_RANK ? IR_MAX_RANK : t->shape.rank;
  buf_printf(b, "%s[", ir_dtype_name(t->dtype));
  for (int i = 0; i < rank; i++) buf_printf(b, i ? ",%lld" : "%lld", (long long)t->shape.dims[i]);
  buf_printf(b, "]");
}

static void print_double(StrBuf *b, double v) {
  char tmp[40];
  buf_printf(b, "%s", ir_format_double(v, tmp, sizeof tmp));
}

static void print_init(StrBuf *b, const IrNode *n) {
  switch (n->init) {
  case IR_INIT_ZEROS:
  case IR_INIT_ONES: buf_printf(b, "%s", ir_init_name(n->init)); break;
  case IR_INIT_FILL:
  case IR_INIT_UNIFORM:
  case IR_INIT_NORMAL:
    buf_printf(b, "%s(", ir_init_name(n->init));
    print_double(b, n->value);
    buf_printf(b, ")");
    break;
  case IR_INIT_DATA: {
    buf_printf(b, "data(");
    int64_t numel = n->data && n->type.shape.rank >= 0 && n->type.shape.rank <= IR_MAX_RANK
                        ? ir_shape_numel(&n->type.shape)
                        : 0;
    for (int64_t i = 0; i < numel; i++) {
      if (i) buf_printf(b, ", ");
      print_double(b, n->data[i]);
    }
    buf_printf(b, ")");
    break;
  }
  default: buf_printf(b, "init%d", (int)n->init); break;
  }
}

static void print_attrs(StrBuf *b, const IrNode *n) {
  const IrAttrSpec *spec = ir_op_info[n->op].attrs;
  for (int i = 0; i < IR_MAX_ATTRS && spec[i].name; i++) {
    const IrAttr *a = &n->attr[i];
    buf_printf(b, "%s%s=", i ? ", " : " {", spec[i].name);
    if (spec[i].count == 1 && a->n == 1) {
      buf_printf(b, "%lld", (long long)a->v[0]);
      continue;
    }
    int count = a->n < 0 ? 0 : a->n > IR_ATTR_MAX_INTS ? IR_ATTR_MAX_INTS : a->n;
    buf_printf(b, "[");
    for (int k = 0; k < count; k++) buf_printf(b, k ? ",%lld" : "%lld", (long long)a->v[k]);
    buf_printf(b, "]");
  }
  if (spec[0].name) buf_printf(b, "}");
}

static void print_node(StrBuf *b, const IrGraph *g, IrId id) {
  const IrNode *n = g->nodes[id];
  buf_printf(b, "  ");
  print_label(b, g, id);
  buf_printf(b, " = ");
  if (n->kind == IR_NODE_OP && n->op >= 0 && n->op < IR_OP_COUNT) {
    buf_printf(b, "%s(", ir_op_info[n->op].name);
    for (int i = 0; i < n->n_in; i++) {
      if (i) buf_printf(b, ", ");
      print_label(b, g, n->in[i]);
    }
    buf_printf(b, ")");
    print_attrs(b, n);
  } else if (n->kind == IR_NODE_OP) {
    buf_printf(b, "op%d()", (int)n->op);
  } else {
    buf_printf(b, "%s ", ir_node_kind_name(n->kind));
    print_init(b, n);
  }
  buf_printf(b, " : ");
  print_type(b, &n->type);
  buf_printf(b, "\n");
}

char *ir_print_to_string(const IrGraph *g) {
  StrBuf b = {0};
  buf_printf(&b, "graph %s {\n", g->name ? g->name : "main");
  for (IrId id = 0; id < g->n_nodes; id++) print_node(&b, g, id);
  for (int i = 0; i < g->n_outputs; i++) {
    buf_printf(&b, "  output ");
    print_label(&b, g, g->outputs[i]);
    buf_printf(&b, "\n");
  }
  for (int i = 0; i < g->n_updates; i++) {
    buf_printf(&b, "  update ");
    print_label(&b, g, g->updates[i].target);
    buf_printf(&b, " <- ");
    print_label(&b, g, g->updates[i].value);
    buf_printf(&b, "\n");
  }
  buf_printf(&b, "}\n");
  return b.s;
}

void ir_print(const IrGraph *g, FILE *out) {
  char *s = ir_print_to_string(g);
  fputs(s, out);
  free(s);
}
