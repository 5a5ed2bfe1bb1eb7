/* Parser of the IR text format (docs/ir.md): recursive descent over ir_lex.c's tokens, one
 * statement per line. Nodes are appended with ir_graph_add_raw exactly as written, then the
 * verifier checks types and shapes at each node's line:col. A syntax error skips the rest of its
 * line, and the value that line defines is marked broken so that its uses do not cascade into
 * more errors. Everything is bounded: no recursion, no allocation sized by numbers in the text. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir_lex.h"
#include "ir/ir_ops.h"
#include "ir/ir_text.h"
#include "ir/ir_verify.h"
#include "support/rt_assert.h"
#include "support/rt_random.h"
#include "support/rt_suggest.h"

enum { MAX_ERRORS = 20, WORD_MAX = 64, NUMBER_MAX = 80 };
#define LABEL_BROKEN ((IrId)-2) /* defined by a line that had an error */

/* A defined label in the open-addressing symbol table; text NULL marks an empty slot. */
typedef struct Symbol {
  const char *text; /* points into the source, without the '%' */
  size_t len;
  IrId id; /* or LABEL_BROKEN */
  int line, col;
} Symbol;

typedef struct Parser {
  IrLexer lx;
  IrToken tok; /* the current token */
  const char *file;
  RtDiags *d;
  int errors;
  bool stop; /* too many errors */
  IrGraph *g;
  Symbol *syms; /* (cap_syms), a power of two */
  size_t n_syms, cap_syms;
  IrSrcPos *out_pos, *upd_pos; /* positions of output / update statements */
  int cap_out, cap_upd;
} Parser;

static void next(Parser *p) { p->tok = ir_lex_next(&p->lx); }

static void error_at(Parser *p, const IrToken *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void error_at(Parser *p, const IrToken *at, const char *fmt, ...) {
  if (p->stop) return;
  if (p->errors == MAX_ERRORS) {
    rt_diag_error(p->d, p->file, at->line, at->col, "too many errors; stopping");
    p->stop = true;
    return;
  }
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  rt_diag_error(p->d, p->file, at->line, at->col, "%s", msg);
  p->errors++;
}

/* "expected WHAT, found X", or the lexer's own message for a bad token */
static bool expected(Parser *p, const char *what) {
  char found[96];
  if (p->tok.kind == IR_TOK_ERROR)
    error_at(p, &p->tok, "%s", p->tok.error);
  else
    error_at(p, &p->tok, "expected %s, found %s", what, ir_tok_describe(&p->tok, found, sizeof found));
  return false;
}

static bool expect(Parser *p, IrTokKind kind, const char *what) {
  if (p->tok.kind != kind) return expected(p, what);
  next(p);
  return true;
}

static void skip_line(Parser *p) {
  while (p->tok.kind != IR_TOK_NEWLINE && p->tok.kind != IR_TOK_EOF) next(p);
}

static void skip_newlines(Parser *p) {
  while (p->tok.kind == IR_TOK_NEWLINE) next(p);
}

/* Copies an identifier into buf; a longer one is cut, which makes it unknown everywhere. */
static const char *word(const IrToken *t, char *buf) {
  size_t n = t->len < WORD_MAX - 1 ? t->len : WORD_MAX - 1;
  memcpy(buf, t->text, n);
  buf[n] = 0;
  return buf;
}

/* ---- symbols ---- */

static size_t hash_label(const char *s, size_t n) { return (size_t)rt_fnv1a64(s, n); }

static Symbol *sym_slot(Symbol *syms, size_t cap, const char *text, size_t len) {
  size_t i = hash_label(text, len) & (cap - 1);
  while (syms[i].text && !(syms[i].len == len && memcmp(syms[i].text, text, len) == 0))
    i = (i + 1) & (cap - 1);
  return &syms[i];
}

static Symbol *sym_find(Parser *p, const IrToken *label) {
  if (!p->cap_syms) return NULL;
  Symbol *s = sym_slot(p->syms, p->cap_syms, label->text, label->len);
  return s->text ? s : NULL;
}

static void sym_define(Parser *p, const IrToken *label, IrId id) {
  if (2 * (p->n_syms + 1) > p->cap_syms) { /* keep the load factor under 1/2 */
    size_t cap = p->cap_syms ? 2 * p->cap_syms : 64;
    Symbol *syms = rt_xcalloc(cap, sizeof *syms);
    for (size_t i = 0; i < p->cap_syms; i++)
      if (p->syms[i].text) *sym_slot(syms, cap, p->syms[i].text, p->syms[i].len) = p->syms[i];
    free(p->syms);
    p->syms = syms;
    p->cap_syms = cap;
  }
  *sym_slot(p->syms, p->cap_syms, label->text, label->len) =
      (Symbol){label->text, label->len, id, label->line, label->col};
  p->n_syms++;
}

/* A use of a value: its node id, or LABEL_BROKEN when the line defining it had an error (the
 * caller then drops its statement silently, after checking the rest of the line's syntax).
 * False when the use is itself an error (reported). */
static bool parse_use(Parser *p, IrId *id) {
  if (p->tok.kind != IR_TOK_LABEL) return expected(p, "a value such as %x");
  Symbol *s = sym_find(p, &p->tok);
  if (!s) {
    error_at(p, &p->tok, "use of undefined value %%%.*s", (int)(p->tok.len > 60 ? 60 : p->tok.len),
             p->tok.text);
    return false;
  }
  *id = s->id;
  next(p);
  return true;
}

/* ---- numbers and types ---- */

static bool parse_int(Parser *p, int64_t *out) {
  const IrToken *t = &p->tok;
  if (t->kind != IR_TOK_NUMBER) return expected(p, "an integer");
  char buf[NUMBER_MAX];
  bool digits = true;
  for (size_t i = (t->text[0] == '-' || t->text[0] == '+'); digits && i < t->len; i++)
    digits = t->text[i] >= '0' && t->text[i] <= '9';
  if (!digits) {
    char found[96];
    error_at(p, t, "expected an integer, found %s", ir_tok_describe(t, found, sizeof found));
    return false;
  }
  if (t->len >= sizeof buf) {
    error_at(p, t, "integer %.20s... is out of range", t->text);
    return false;
  }
  memcpy(buf, t->text, t->len);
  buf[t->len] = 0;
  errno = 0;
  long long v = strtoll(buf, NULL, 10);
  if (errno == ERANGE) {
    error_at(p, t, "integer %s is out of range", buf);
    return false;
  }
  *out = v;
  next(p);
  return true;
}

static bool parse_value(Parser *p, double *out) {
  const IrToken *t = &p->tok;
  if (ir_tok_is(t, "inf") || ir_tok_is(t, "nan")) {
    *out = t->text[0] == 'i' ? INFINITY : NAN;
    next(p);
    return true;
  }
  if (t->kind != IR_TOK_NUMBER) return expected(p, "a number");
  char buf[NUMBER_MAX];
  if (t->len >= sizeof buf) {
    error_at(p, t, "number too long (at most %d characters)", NUMBER_MAX - 1);
    return false;
  }
  memcpy(buf, t->text, t->len);
  buf[t->len] = 0;
  double v = strtod(buf, NULL);
  if (isinf(v) && !strstr(buf, "inf")) {
    error_at(p, t, "number %s is out of range", buf);
    return false;
  }
  *out = v;
  next(p);
  return true;
}

static bool parse_type(Parser *p, IrType *type) {
  static const char *const dtypes[] = {"f32", "i32", "i8"};
  char w[WORD_MAX];
  if (p->tok.kind != IR_TOK_IDENT) return expected(p, "a type such as f32[2,3]");
  if (ir_tok_is(&p->tok, "f32") || ir_tok_is(&p->tok, "i32") || ir_tok_is(&p->tok, "i8")) {
    *type = (IrType){ir_tok_is(&p->tok, "f32") ? IR_F32 : ir_tok_is(&p->tok, "i32") ? IR_I32 : IR_I8, {0}};
  } else {
    const char *s = rt_suggest(word(&p->tok, w), dtypes, 3);
    error_at(p, &p->tok, "unknown dtype '%s'%s%s%s", w, s ? "; did you mean '" : " (f32, i32 or i8)",
             s ? s : "", s ? "'?" : "");
    return false;
  }
  next(p);
  if (!expect(p, IR_TOK_LBRACKET, "'[' after the dtype")) return false;
  if (p->tok.kind == IR_TOK_RBRACKET) {
    next(p);
    return true;
  }
  for (;;) {
    IrToken at = p->tok;
    int64_t dim;
    if (!parse_int(p, &dim)) return false;
    if (type->shape.rank == IR_MAX_RANK) {
      error_at(p, &at, "a tensor has at most %d dimensions", IR_MAX_RANK);
      return false;
    }
    if (dim < 1) {
      error_at(p, &at, "dimension must be >= 1, got %lld", (long long)dim);
      return false;
    }
    type->shape.dims[type->shape.rank++] = dim;
    if (p->tok.kind == IR_TOK_RBRACKET) break;
    if (!expect(p, IR_TOK_COMMA, "',' or ']' in the shape")) return false;
  }
  next(p);
  return true;
}

/* numel with saturation, for comparing with a data count */
static int64_t numel_saturated(const IrShape *s) {
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++) n = s->dims[i] > INT64_MAX / n ? INT64_MAX : n * s->dims[i];
  return n;
}

/* ---- leaves ---- */

/* init: zeros | ones | fill(v) | uniform(v) | normal(v) | data(v, ...); data is malloc'ed */
static bool parse_init(Parser *p, IrNode *proto, double **data, int64_t *count) {
  static const char *const names[IR_INIT_COUNT] = {"zeros", "ones", "fill", "uniform", "normal",
                                                   "data"};
  char w[WORD_MAX];
  if (p->tok.kind != IR_TOK_IDENT)
    return expected(p, "an init (zeros, ones, fill(v), uniform(v), normal(v) or data(...))");
  int init = 0;
  while (init < IR_INIT_COUNT && !ir_tok_is(&p->tok, names[init])) init++;
  if (init == IR_INIT_COUNT) {
    const char *s = rt_suggest(word(&p->tok, w), names, IR_INIT_COUNT);
    if (s)
      error_at(p, &p->tok, "unknown init '%s'; did you mean '%s'?", w, s);
    else
      error_at(p, &p->tok, "unknown init '%s' (zeros, ones, fill, uniform, normal or data)", w);
    return false;
  }
  proto->init = (IrInit)init;
  next(p);
  if (init == IR_INIT_ZEROS || init == IR_INIT_ONES) return true;
  if (!expect(p, IR_TOK_LPAREN, "'(' after the init")) return false;
  if (init != IR_INIT_DATA) return parse_value(p, &proto->value) && expect(p, IR_TOK_RPAREN, "')'");
  size_t cap = 0;
  for (;;) {
    if ((size_t)*count == cap) {
      cap = cap ? 2 * cap : 16;
      *data = rt_xrealloc(*data, cap * sizeof **data);
    }
    if (!parse_value(p, &(*data)[*count])) return false;
    ++*count;
    if (p->tok.kind == IR_TOK_RPAREN) break;
    if (!expect(p, IR_TOK_COMMA, "',' or ')' in the data")) return false;
  }
  next(p);
  return true;
}

/* ---- op nodes ---- */

static bool parse_operands(Parser *p, IrId **in, int *n_in) {
  if (!expect(p, IR_TOK_LPAREN, "'(' after the op name")) return false;
  int cap = 0;
  while (p->tok.kind != IR_TOK_RPAREN) {
    if (*n_in) {
      if (!expect(p, IR_TOK_COMMA, "',' or ')' in the operand list")) return false;
    }
    if (*n_in == cap) {
      cap = cap ? 2 * cap : 4;
      *in = rt_xrealloc(*in, (size_t)cap * sizeof **in);
    }
    if (!parse_use(p, &(*in)[*n_in])) return false;
    ++*n_in;
  }
  next(p);
  return true;
}

/* value of one attribute: an int or a list [a,b,...] */
static bool parse_attr_value(Parser *p, const char *name, IrAttr *a) {
  *a = (IrAttr){0};
  if (p->tok.kind != IR_TOK_LBRACKET) {
    a->n = 1;
    return parse_int(p, &a->v[0]);
  }
  next(p);
  while (p->tok.kind != IR_TOK_RBRACKET) {
    if (a->n && !expect(p, IR_TOK_COMMA, "',' or ']' in the list")) return false;
    if (a->n == IR_ATTR_MAX_INTS) {
      error_at(p, &p->tok, "attribute '%s' has more than %d values", name, IR_ATTR_MAX_INTS);
      return false;
    }
    if (!parse_int(p, &a->v[a->n])) return false;
    a->n++;
  }
  next(p);
  return true;
}

static void unknown_attr(Parser *p, IrOp op, const IrToken *at) {
  const IrAttrSpec *spec = ir_op_info[op].attrs;
  const char *names[IR_MAX_ATTRS];
  char w[WORD_MAX], list[128] = "";
  int n = 0;
  for (; n < IR_MAX_ATTRS && spec[n].name; n++) {
    names[n] = spec[n].name;
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", n ? ", " : "", spec[n].name);
  }
  const char *op_name = ir_op_info[op].name, *s = rt_suggest(word(at, w), names, n);
  if (n == 0)
    error_at(p, at, "%s takes no attributes", op_name);
  else if (s)
    error_at(p, at, "unknown attribute '%s' for %s; did you mean '%s'?", w, op_name, s);
  else
    error_at(p, at, "unknown attribute '%s' for %s (it takes %s)", w, op_name, list);
}

/* optional {name=value, ...}: every attribute of the op exactly once, in any order */
static bool parse_attrs(Parser *p, IrOp op, const IrToken *op_tok, IrAttr *attrs) {
  const IrAttrSpec *spec = ir_op_info[op].attrs;
  bool given[IR_MAX_ATTRS] = {0};
  if (p->tok.kind == IR_TOK_LBRACE) {
    next(p);
    while (p->tok.kind != IR_TOK_RBRACE) {
      if (p->tok.kind != IR_TOK_IDENT) return expected(p, "an attribute name");
      char w[WORD_MAX];
      int i = ir_op_attr_index(op, word(&p->tok, w));
      if (i < 0 || p->tok.len >= WORD_MAX) {
        unknown_attr(p, op, &p->tok);
        return false;
      }
      if (given[i]) {
        error_at(p, &p->tok, "attribute '%s' is given twice", spec[i].name);
        return false;
      }
      given[i] = true;
      next(p);
      if (!expect(p, IR_TOK_EQUAL, "'=' after the attribute name")) return false;
      if (!parse_attr_value(p, spec[i].name, &attrs[i])) return false;
      if (p->tok.kind == IR_TOK_RBRACE) break;
      if (!expect(p, IR_TOK_COMMA, "',' or '}' in the attributes")) return false;
    }
    next(p);
  }
  bool ok = true;
  for (int i = 0; i < IR_MAX_ATTRS && spec[i].name; i++) {
    if (!given[i]) {
      error_at(p, op_tok, "%s is missing attribute '%s'", ir_op_info[op].name, spec[i].name);
      ok = false;
    }
  }
  return ok;
}

static void unknown_op(Parser *p, const IrToken *at) {
  const char *names[IR_OP_COUNT + 4] = {"input", "param", "state", "const"};
  for (int i = 0; i < IR_OP_COUNT; i++) names[4 + i] = ir_op_info[i].name;
  char w[WORD_MAX];
  const char *s = rt_suggest(word(at, w), names, IR_OP_COUNT + 4);
  if (s)
    error_at(p, at, "unknown op '%s'; did you mean '%s'?", w, s);
  else
    error_at(p, at, "unknown op '%s'", w);
}

/* ---- statements ---- */

/* the rest of `%label = ...` after the label; appends the node */
static bool parse_def_body(Parser *p, const IrToken *label) {
  static const char *const kinds[] = {"input", "param", "state", "const"};
  if (!expect(p, IR_TOK_EQUAL, "'=' after the value name")) return false;
  if (p->tok.kind != IR_TOK_IDENT) return expected(p, "an op or input, param, state, const");
  IrNode proto = {.op = IR_OP_COUNT, .line = label->line, .col = label->col};
  IrToken what = p->tok, init_tok = {0};
  IrId *in = NULL;
  double *data = NULL;
  int64_t count = 0;
  char *name = NULL;
  bool ok = false;
  int kind = 0;
  while (kind < 4 && !ir_tok_is(&what, kinds[kind])) kind++;
  next(p);
  if (kind < 4) {
    proto.kind = (IrNodeKind)kind;
    init_tok = p->tok;
    if (!parse_init(p, &proto, &data, &count)) goto done;
  } else {
    char w[WORD_MAX];
    IrOp op = what.len < WORD_MAX ? ir_op_by_name(word(&what, w)) : IR_OP_COUNT;
    if (op == IR_OP_COUNT) {
      unknown_op(p, &what);
      goto done;
    }
    proto.kind = IR_NODE_OP;
    proto.op = op;
    if (!parse_operands(p, &in, &proto.n_in) || !parse_attrs(p, op, &what, proto.attr)) goto done;
    proto.in = in;
  }
  if (!expect(p, IR_TOK_COLON, "':' before the type") || !parse_type(p, &proto.type)) goto done;
  if (proto.init == IR_INIT_DATA && proto.kind != IR_NODE_OP) {
    int64_t numel = numel_saturated(&proto.type.shape);
    if (count != numel) {
      char ts[160];
      error_at(p, &init_tok, "data has %lld elements, but %s holds %lld", (long long)count,
               ir_type_str(&proto.type, ts, sizeof ts), (long long)numel);
      goto done;
    }
    proto.data = data;
  }
  for (int i = 0; i < proto.n_in; i++) {
    if (in[i] == LABEL_BROKEN) { /* already reported where it was defined */
      sym_define(p, label, LABEL_BROKEN);
      ok = true;
      goto done;
    }
  }
  if (label->text[0] < '0' || label->text[0] > '9') {
    name = rt_xmalloc(label->len + 1);
    memcpy(name, label->text, label->len);
    name[label->len] = 0;
    proto.name = name;
  }
  sym_define(p, label, ir_graph_add_raw(p->g, &proto));
  ok = true;
done:
  free(in);
  free(data);
  free(name);
  return ok;
}

static bool parse_def(Parser *p) {
  IrToken label = p->tok;
  next(p);
  const Symbol *s = sym_find(p, &label);
  if (s) {
    error_at(p, &label, "'%%%.*s' is already defined (at %d:%d)", (int)(label.len > 60 ? 60 : label.len),
             label.text, s->line, s->col);
    return false;
  }
  if (parse_def_body(p, &label)) return true;
  sym_define(p, &label, LABEL_BROKEN);
  return false;
}

static void add_pos(IrSrcPos **pos, int *cap, int n, const IrToken *at) {
  if (n == *cap) {
    *cap = *cap ? 2 * *cap : 8;
    *pos = rt_xrealloc(*pos, (size_t)*cap * sizeof **pos);
  }
  (*pos)[n] = (IrSrcPos){at->line, at->col};
}

static bool parse_statement(Parser *p) {
  IrToken first = p->tok;
  if (first.kind == IR_TOK_LABEL) {
    if (!parse_def(p)) return false;
  } else if (ir_tok_is(&first, "output")) {
    IrId id;
    next(p);
    if (!parse_use(p, &id)) return false;
    if (id != LABEL_BROKEN) {
      add_pos(&p->out_pos, &p->cap_out, p->g->n_outputs, &first);
      ir_graph_add_output(p->g, id);
    }
  } else if (ir_tok_is(&first, "update")) {
    IrId target, value;
    next(p);
    if (!parse_use(p, &target) || !expect(p, IR_TOK_ARROW, "'<-' after the update target") ||
        !parse_use(p, &value))
      return false;
    if (target != LABEL_BROKEN && value != LABEL_BROKEN) {
      add_pos(&p->upd_pos, &p->cap_upd, p->g->n_updates, &first);
      ir_graph_add_update(p->g, target, value);
    }
  } else {
    return expected(p, "a statement (%name = ..., output or update) or '}'");
  }
  if (p->tok.kind != IR_TOK_NEWLINE && p->tok.kind != IR_TOK_EOF)
    return expected(p, "end of line after the statement");
  return true;
}

/* `graph NAME {`; false (reported) when it is not there */
static bool parse_header(Parser *p) {
  skip_newlines(p);
  if (!ir_tok_is(&p->tok, "graph")) {
    expected(p, "'graph NAME {'");
    /* a file that starts with statements: parse them as if the header were there */
    if (p->tok.kind != IR_TOK_LABEL && !ir_tok_is(&p->tok, "output") && !ir_tok_is(&p->tok, "update"))
      skip_line(p);
    return false;
  }
  next(p);
  if (p->tok.kind != IR_TOK_IDENT) {
    expected(p, "a graph name after 'graph'");
    skip_line(p);
    return false;
  }
  p->g->name = rt_arena_strndup(&p->g->arena, p->tok.text, p->tok.len);
  next(p);
  if (!expect(p, IR_TOK_LBRACE, "'{' after the graph name")) {
    skip_line(p);
    return false;
  }
  if (p->tok.kind != IR_TOK_NEWLINE && p->tok.kind != IR_TOK_EOF) {
    expected(p, "end of line after '{'");
    skip_line(p);
  }
  return true;
}

IrGraph *ir_parse(const char *text, size_t len, const char *file, RtDiags *d) {
  Parser p = {.file = file ? file : "<string>", .d = d, .g = ir_graph_new("main")};
  ir_lex_init(&p.lx, text ? text : "", text ? len : 0);
  next(&p);
  bool header = parse_header(&p);
  while (!p.stop) {
    skip_newlines(&p);
    if (p.tok.kind == IR_TOK_EOF) {
      if (header) expected(&p, "'}' at the end of the graph"); /* else said already */
      break;
    }
    if (p.tok.kind == IR_TOK_RBRACE) {
      next(&p);
      skip_newlines(&p);
      if (p.tok.kind != IR_TOK_EOF) error_at(&p, &p.tok, "unexpected text after the end of the graph");
      break;
    }
    if (!parse_statement(&p)) skip_line(&p);
  }
  /* the verifier needs a whole graph; say that its checks are still to come */
  if (p.errors > 0)
    rt_diag_add(d, RT_DIAG_NOTE, p.file, 0, 0,
                "the verifier did not run (types, shapes, updates): fix the errors above first");
  bool ok = p.errors == 0 && !p.stop && ir_verify_at(p.g, p.file, p.out_pos, p.upd_pos, d);
  free(p.syms);
  free(p.out_pos);
  free(p.upd_pos);
  if (ok) return p.g;
  ir_graph_free(p.g);
  return NULL;
}

IrGraph *ir_parse_file(const char *path, RtDiags *d) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    rt_diag_error(d, path, 0, 0, "cannot open: %s", strerror(errno));
    return NULL;
  }
  size_t len = 0, cap = 1 << 16;
  char *text = rt_xmalloc(cap);
  for (size_t n; (n = fread(text + len, 1, cap - len, f)) > 0;) {
    len += n;
    if (len == cap) text = rt_xrealloc(text, cap *= 2);
  }
  int failed = ferror(f), err = errno;
  fclose(f);
  IrGraph *g = NULL;
  if (failed)
    rt_diag_error(d, path, 0, 0, "cannot read: %s", strerror(err));
  else
    g = ir_parse(text, len, path, d);
  free(text);
  return g;
}
