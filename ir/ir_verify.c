/* The IR verifier (ir_verify.h). One pass over the nodes in id order: each node's own type,
 * then leaf inits or op operands/attributes, then the op's shape rule against the recorded
 * type. A node that fails its checks does not vouch for its type, so its users are not checked
 * against their rules (the node was already reported): one mistake, one message. Every value
 * is range-checked before it is used as an index, a count or a factor: the verifier must
 * survive any graph. */
#include "ir/ir_verify.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir_ops.h"
#include "support/rt_assert.h"

typedef struct Verifier {
  const IrGraph *g;
  const char *file;
  RtDiags *d;
  bool ok;
} Verifier;

static void report(Verifier *v, int line, int col, const char *subject, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* "file:line:col: error: SUBJECT: msg" when parsed, else "graph 'g': SUBJECT: msg" */
static void report(Verifier *v, int line, int col, const char *subject, const char *fmt, ...) {
  char msg[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (line > 0)
    rt_diag_error(v->d, v->file, line, col, "%s: %s", subject, msg);
  else
    rt_diag_error(v->d, v->file, 0, 0, "graph '%.60s': %s: %s", v->g->name ? v->g->name : "",
                  subject, msg);
  v->ok = false;
}

/* %name or %id, tolerating ids that are out of range */
static const char *label(const IrGraph *g, IrId id, char *buf, size_t size) {
  if (id >= 0 && id < g->n_nodes && g->nodes[id]->name)
    snprintf(buf, size, "%%%.60s", g->nodes[id]->name);
  else
    snprintf(buf, size, "%%%d", id);
  return buf;
}

/* "%name (op)" for any node; "%17 (op)" for an unnamed node built in code; just "op" for an
 * unnamed parsed node, whose number in the text may differ from its id */
static const char *node_subject(const IrGraph *g, IrId id, char *buf, size_t size) {
  const IrNode *n = g->nodes[id];
  const char *what = n->kind < 0 || n->kind >= IR_NODE_KIND_COUNT ? "?"
                     : n->kind != IR_NODE_OP                       ? ir_node_kind_name(n->kind)
                     : n->op >= 0 && n->op < IR_OP_COUNT           ? ir_op_info[n->op].name
                                                                   : "op";
  char lb[80];
  if (!n->name && n->line > 0)
    snprintf(buf, size, "%s", what);
  else
    snprintf(buf, size, "%s (%s)", label(g, id, lb, sizeof lb), what);
  return buf;
}

#define NODE_ERROR(v, id, ...)                                                               \
  do {                                                                                       \
    char subj_[128];                                                                         \
    const IrNode *nd_ = (v)->g->nodes[id];                                                   \
    report(v, nd_->line, nd_->col, node_subject((v)->g, id, subj_, sizeof subj_), __VA_ARGS__); \
  } while (0)

static bool type_valid(Verifier *v, IrId id, const IrType *t) {
  if (t->dtype != IR_F32 && t->dtype != IR_I32 && t->dtype != IR_I8) {
    NODE_ERROR(v, id, "invalid dtype %d", (int)t->dtype);
    return false;
  }
  if (t->shape.rank < 0 || t->shape.rank > IR_MAX_RANK) {
    NODE_ERROR(v, id, "rank %d is out of range (0 to %d)", t->shape.rank, IR_MAX_RANK);
    return false;
  }
  int64_t numel = 1;
  for (int i = 0; i < t->shape.rank; i++) {
    int64_t dim = t->shape.dims[i];
    if (dim < 1) {
      NODE_ERROR(v, id, "dimension %d is %lld; dimensions must be >= 1", i, (long long)dim);
      return false;
    }
    numel = dim > IR_MAX_NUMEL / numel ? IR_MAX_NUMEL + 1 : numel * dim;
  }
  if (numel > IR_MAX_NUMEL) {
    char ts[160];
    NODE_ERROR(v, id, "%s has more than %lld elements", ir_type_str(t, ts, sizeof ts),
               (long long)IR_MAX_NUMEL);
    return false;
  }
  return true;
}

static bool is_i32_value(double x) { return x == trunc(x) && x >= INT32_MIN && x <= INT32_MAX; }
/* i8 holds the symmetric range of quantized values */
static bool is_i8_value(double x) { return x == trunc(x) && x >= -127 && x <= 127; }
static bool is_value_of(IrDType t, double x) {
  return t == IR_I32 ? is_i32_value(x) : t == IR_I8 ? is_i8_value(x) : !isnan(x);
}

static void verify_init_value(Verifier *v, IrId id, const IrNode *n) {
  char num[40];
  snprintf(num, sizeof num, "%.17g", n->value);
  const char *init = ir_init_name(n->init);
  if (isnan(n->value)) {
    NODE_ERROR(v, id, "%s value is not a number", init);
  } else if (n->type.dtype != IR_F32) {
    const char *dt = ir_dtype_name(n->type.dtype);
    if (n->init == IR_INIT_NORMAL) NODE_ERROR(v, id, "normal init needs f32");
    if (n->init == IR_INIT_FILL && !is_value_of(n->type.dtype, n->value))
      NODE_ERROR(v, id, "fill value %s is not an %s value", num, dt);
    if (n->init == IR_INIT_UNIFORM && !(is_value_of(n->type.dtype, n->value) && n->value >= 1))
      NODE_ERROR(v, id, "%s uniform(%s) needs an integer bound >= 1", dt, num);
  } else if (n->init != IR_INIT_FILL && !(isfinite(n->value) && n->value >= 0)) {
    NODE_ERROR(v, id, "%s(%s) needs a finite value >= 0", init, num);
  }
}

static void verify_leaf(Verifier *v, IrId id, const IrNode *n, bool type_ok) {
  char ts[160];
  if (n->n_in != 0) NODE_ERROR(v, id, "a leaf takes no operands, got %d", n->n_in);
  if (n->kind == IR_NODE_PARAM && n->type.dtype == IR_I32) { /* f32, or i8 quantized weights */
    NODE_ERROR(v, id, "params are f32 or i8, got %s", type_ok ? ir_type_str(&n->type, ts, sizeof ts) : "i32");
    return;
  }
  if (n->init < 0 || n->init >= IR_INIT_COUNT) {
    NODE_ERROR(v, id, "invalid init %d", (int)n->init);
    return;
  }
  bool is_const = n->kind == IR_NODE_CONST;
  if (is_const && (n->init == IR_INIT_UNIFORM || n->init == IR_INIT_NORMAL))
    NODE_ERROR(v, id, "a const is zeros, ones, fill(v) or data(...), not %s", ir_init_name(n->init));
  if (!is_const && n->init == IR_INIT_DATA) NODE_ERROR(v, id, "only a const holds data(...)");
  if (n->init == IR_INIT_DATA && !n->data) NODE_ERROR(v, id, "init data(...) without elements");
  if (n->init != IR_INIT_DATA && n->data)
    NODE_ERROR(v, id, "holds data but its init is %s", ir_init_name(n->init));
  if (n->init == IR_INIT_FILL || n->init == IR_INIT_UNIFORM || n->init == IR_INIT_NORMAL)
    verify_init_value(v, id, n);
  if (!n->data || !type_ok || n->init != IR_INIT_DATA) return;
  int64_t numel = ir_shape_numel(&n->type.shape);
  for (int64_t i = 0; i < numel; i++) {
    double x = n->data[i];
    if (!is_value_of(n->type.dtype, x)) {
      NODE_ERROR(v, id, "element %lld (%.17g) is not %s%s", (long long)i, x,
                 isnan(x) ? "a number" : "an ", isnan(x) ? "" : n->type.dtype == IR_I8 ? "i8 value" : "i32 value");
      return;
    }
  }
}

/* product of a shape attribute, bounded, so that a rule may multiply its values safely */
static bool attr_shape_fits(const IrAttr *a) {
  int64_t numel = 1;
  for (int k = 0; k < a->n; k++) {
    if (a->v[k] < 1) return true; /* the shape rule reports it */
    if (a->v[k] > IR_MAX_NUMEL / numel) return false;
    numel *= a->v[k];
  }
  return true;
}

static bool verify_attrs(Verifier *v, IrId id, const IrNode *n) {
  const IrAttrSpec *spec = ir_op_info[n->op].attrs;
  bool ok = true;
  for (int i = 0; i < IR_MAX_ATTRS && spec[i].name; i++) {
    const IrAttr *a = &n->attr[i];
    bool in_range = true;
    if (spec[i].count >= 0 && a->n != spec[i].count) {
      NODE_ERROR(v, id, "attribute '%s' needs %d value%s, got %d", spec[i].name, spec[i].count,
                 spec[i].count == 1 ? "" : "s", a->n);
      ok = false;
      continue;
    }
    if (a->n < 0 || a->n > IR_ATTR_MAX_INTS) {
      NODE_ERROR(v, id, "attribute '%s' has %d values (0 to %d allowed)", spec[i].name, a->n,
                 IR_ATTR_MAX_INTS);
      ok = false;
      continue;
    }
    for (int k = 0; k < a->n; k++) {
      if (a->v[k] > IR_MAX_ATTR_VALUE || a->v[k] < -IR_MAX_ATTR_VALUE) {
        NODE_ERROR(v, id, "attribute '%s' value %lld is out of range", spec[i].name,
                   (long long)a->v[k]);
        ok = in_range = false;
        break;
      }
    }
    if (in_range && strcmp(spec[i].name, "shape") == 0 && !attr_shape_fits(a)) {
      NODE_ERROR(v, id, "attribute 'shape' describes more than %lld elements", (long long)IR_MAX_NUMEL);
      ok = false;
    }
  }
  return ok;
}

static bool reads_i8(const IrGraph *g, const IrNode *n) {
  for (int i = 0; i < n->n_in; i++)
    if (ir_type_of(g, n->in[i])->dtype == IR_I8) return true;
  return false;
}

static void verify_op(Verifier *v, IrId id, const IrNode *n, bool *type_ok) {
  if (n->op < 0 || n->op >= IR_OP_COUNT) {
    NODE_ERROR(v, id, "invalid op %d", (int)n->op);
    type_ok[id] = false;
    return;
  }
  const IrOpInfo *info = &ir_op_info[n->op];
  bool ok = true;
  if (n->n_in < 0 || (n->n_in > 0 && !n->in)) {
    NODE_ERROR(v, id, "broken operand list (%d operands)", n->n_in);
    type_ok[id] = false;
    return;
  }
  if (info->arity >= 0 && n->n_in != info->arity) {
    NODE_ERROR(v, id, "takes %d operand%s, got %d", info->arity, info->arity == 1 ? "" : "s", n->n_in);
    ok = false;
  } else if (info->arity < 0 && n->n_in < 1) {
    NODE_ERROR(v, id, "takes at least 1 operand, got 0");
    ok = false;
  } else if (info->arity < 0 && n->n_in > IR_MAX_VARIADIC) {
    NODE_ERROR(v, id, "takes at most %d operands (compiled kernels pass each as an argument), got %d: nest it, "
               "e.g. a concat of concats", IR_MAX_VARIADIC, n->n_in);
    ok = false;
  }
  for (int i = 0; i < n->n_in; i++) {
    IrId in = n->in[i];
    char lb[80];
    if (in < 0 || in >= v->g->n_nodes) {
      NODE_ERROR(v, id, "operand %d refers to node %d, which does not exist", i + 1, in);
      ok = false;
    } else if (in >= id) {
      NODE_ERROR(v, id, "operand %d (%s) is not defined before this node", i + 1,
                 label(v->g, in, lb, sizeof lb));
      ok = false;
    } else if (!type_ok[in]) {
      ok = false; /* reported at the operand */
    }
  }
  if (!verify_attrs(v, id, n) || !ok || !type_ok[id]) {
    type_ok[id] = false;
    return;
  }
  if (reads_i8(v->g, n) && !ir_op_reads_i8(n->op)) {
    NODE_ERROR(v, id, "%s does not take i8 operands (only matmul, conv2d and views such as reshape do)", info->name);
    type_ok[id] = false;
    return;
  }
  IrType want;
  char err[400] = "";
  if (!info->infer(v->g, n, &want, err, sizeof err)) {
    NODE_ERROR(v, id, "%s", err);
    type_ok[id] = false;
  } else if (!ir_type_eq(&want, &n->type)) {
    char a[160], b[160];
    NODE_ERROR(v, id, "declared type %s, but the shape rule gives %s",
               ir_type_str(&n->type, a, sizeof a), ir_type_str(&want, b, sizeof b));
    type_ok[id] = false;
  }
}

typedef struct NamedNode {
  const char *name;
  IrId id;
} NamedNode;

static int named_cmp(const void *a, const void *b) {
  const NamedNode *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : (x->id > y->id) - (x->id < y->id);
}

static void verify_names(Verifier *v) {
  const IrGraph *g = v->g;
  if (!ir_name_is_valid(g->name)) {
    rt_diag_error(v->d, v->file, 0, 0, "graph name '%.60s' is not a valid name", g->name ? g->name : "");
    v->ok = false;
  }
  NamedNode *named = rt_xmalloc((size_t)(g->n_nodes + 1) * sizeof *named);
  int n = 0;
  for (IrId id = 0; id < g->n_nodes; id++) {
    const char *name = g->nodes[id]->name;
    if (!name) continue;
    if (!ir_name_is_valid(name))
      NODE_ERROR(v, id, "'%.60s' is not a valid name (a letter or '_', then letters, digits, '_', '.')", name);
    named[n++] = (NamedNode){name, id};
  }
  qsort(named, (size_t)n, sizeof *named, named_cmp);
  for (int i = 1; i < n; i++)
    if (strcmp(named[i].name, named[i - 1].name) == 0)
      NODE_ERROR(v, named[i].id, "the name is already used by node %d", named[i - 1].id);
  free(named);
}

static void verify_outputs(Verifier *v, const IrSrcPos *pos) {
  for (int i = 0; i < v->g->n_outputs; i++) {
    IrId id = v->g->outputs[i];
    char subj[32];
    snprintf(subj, sizeof subj, "output %d", i);
    if (id < 0 || id >= v->g->n_nodes)
      report(v, pos ? pos[i].line : 0, pos ? pos[i].col : 0, subj,
             "refers to node %d, which does not exist", id);
  }
}

static void verify_updates(Verifier *v, const IrSrcPos *pos, const bool *type_ok) {
  const IrGraph *g = v->g;
  int *first = rt_xmalloc((size_t)(g->n_nodes + 1) * sizeof *first); /* update index per target */
  for (IrId id = 0; id < g->n_nodes; id++) first[id] = -1;
  for (int i = 0; i < g->n_updates; i++) {
    IrId t = g->updates[i].target, x = g->updates[i].value;
    int line = pos ? pos[i].line : 0, col = pos ? pos[i].col : 0;
    char subj[200] = "update", lt[80], lx[80], a[160], b[160];
    if (!pos)
      snprintf(subj, sizeof subj, "update %s <- %s", label(g, t, lt, sizeof lt), label(g, x, lx, sizeof lx));
    bool t_ok = t >= 0 && t < g->n_nodes, x_ok = x >= 0 && x < g->n_nodes;
    if (!t_ok) report(v, line, col, subj, "the target is node %d, which does not exist", t);
    if (!x_ok) report(v, line, col, subj, "the value is node %d, which does not exist", x);
    if (!t_ok) continue;
    const IrNode *tn = g->nodes[t];
    if (tn->kind != IR_NODE_PARAM && tn->kind != IR_NODE_STATE)
      report(v, line, col, subj, "the target is %s %s, not a param or state",
             tn->kind == IR_NODE_INPUT || tn->kind == IR_NODE_OP ? "an" : "a", ir_node_kind_name(tn->kind));
    if (x_ok && type_ok[t] && type_ok[x] && !ir_type_eq(&tn->type, &g->nodes[x]->type))
      report(v, line, col, subj, "the value is %s but the target is %s",
             ir_type_str(&g->nodes[x]->type, a, sizeof a), ir_type_str(&tn->type, b, sizeof b));
    if (first[t] >= 0 && pos)
      report(v, line, col, subj, "the target is already updated (at %d:%d)", pos[first[t]].line,
             pos[first[t]].col);
    else if (first[t] >= 0)
      report(v, line, col, subj, "the target is already updated by update %d", first[t]);
    else
      first[t] = i;
  }
  free(first);
}

bool ir_verify_at(const IrGraph *g, const char *file, const IrSrcPos *output_pos,
                  const IrSrcPos *update_pos, RtDiags *d) {
  Verifier v = {g, file, d, true};
  bool *type_ok = rt_xcalloc((size_t)g->n_nodes + 1, sizeof *type_ok);
  verify_names(&v);
  for (IrId id = 0; id < g->n_nodes; id++) {
    const IrNode *n = g->nodes[id];
    if (n->kind < 0 || n->kind >= IR_NODE_KIND_COUNT) {
      NODE_ERROR(&v, id, "invalid node kind %d", (int)n->kind);
      continue;
    }
    type_ok[id] = type_valid(&v, id, &n->type);
    if (n->kind == IR_NODE_OP)
      verify_op(&v, id, n, type_ok);
    else
      verify_leaf(&v, id, n, type_ok[id]);
  }
  verify_outputs(&v, output_pos);
  verify_updates(&v, update_pos, type_ok);
  free(type_ok);
  return v.ok;
}

bool ir_verify(const IrGraph *g, const char *file, RtDiags *d) {
  return ir_verify_at(g, file, NULL, NULL, d);
}
