/* Lexer of the IR text format (see ir_lex.h and docs/ir.md). It never reads past `end` and
 * turns every byte it cannot use into an IR_TOK_ERROR token, so that any input, however broken,
 * yields a finite token stream ending in IR_TOK_EOF. Columns count bytes. */
#include "ir/ir_lex.h"

#include <stdio.h>
#include <string.h>

static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_name_char(int c) { return is_alpha(c) || is_digit(c) || c == '.'; }

void ir_lex_init(IrLexer *lx, const char *text, size_t len) {
  *lx = (IrLexer){text, text + len, 1, 1};
}

static int peek(const IrLexer *lx, size_t k) {
  return lx->p + k < lx->end ? (unsigned char)lx->p[k] : -1;
}

static void advance(IrLexer *lx, size_t k) {
  lx->p += k;
  lx->col += (int)k;
}

static void skip_blanks(IrLexer *lx) {
  for (;;) {
    int c = peek(lx, 0);
    if (c == ' ' || c == '\t' || c == '\r') {
      advance(lx, 1);
    } else if (c == '#') {
      while (peek(lx, 0) != -1 && peek(lx, 0) != '\n') advance(lx, 1);
    } else {
      return;
    }
  }
}

/* Length of a number starting at the cursor, 0 if none starts here. */
static size_t number_length(const IrLexer *lx) {
  size_t k = 0;
  if (peek(lx, 0) == '-' || peek(lx, 0) == '+') k = 1;
  if (peek(lx, k) == 'i' && peek(lx, k + 1) == 'n' && peek(lx, k + 2) == 'f' && k == 1 &&
      !is_name_char(peek(lx, k + 3)))
    return k + 3;
  size_t digits = 0;
  while (is_digit(peek(lx, k))) k++, digits++;
  if (peek(lx, k) == '.') {
    size_t frac = 0;
    while (is_digit(peek(lx, k + 1 + frac))) frac++;
    if (digits + frac == 0) return 0;
    k += 1 + frac;
    digits += frac;
  }
  if (digits == 0) return 0;
  if (peek(lx, k) == 'e' || peek(lx, k) == 'E') {
    size_t e = k + 1;
    if (peek(lx, e) == '-' || peek(lx, e) == '+') e++;
    if (is_digit(peek(lx, e))) {
      while (is_digit(peek(lx, e))) e++;
      k = e;
    }
  }
  return k;
}

IrToken ir_lex_next(IrLexer *lx) {
  skip_blanks(lx);
  IrToken t = {.kind = IR_TOK_EOF, .text = lx->p, .len = 0, .line = lx->line, .col = lx->col};
  int c = peek(lx, 0);
  if (c == -1) return t;
  if (c == '\n') {
    t.kind = IR_TOK_NEWLINE;
    t.len = 1;
    lx->p++;
    lx->line++;
    lx->col = 1;
    return t;
  }
  size_t n;
  if (is_alpha(c)) {
    for (n = 1; is_name_char(peek(lx, n)); n++) {}
    t.kind = IR_TOK_IDENT;
  } else if ((n = number_length(lx)) > 0) {
    t.kind = IR_TOK_NUMBER;
  } else if (c == '%') {
    for (n = 1; is_name_char(peek(lx, n)); n++) {}
    t.kind = IR_TOK_LABEL;
    t.text = lx->p + 1;
    t.len = n - 1;
    /* a label is a name (letter or '_' first) or a node number (digits only) */
    int ok = t.len > 0 && is_alpha((unsigned char)t.text[0]);
    if (t.len > 0 && is_digit((unsigned char)t.text[0])) {
      ok = 1;
      for (size_t i = 0; i < t.len; i++) ok &= is_digit((unsigned char)t.text[i]);
    }
    if (!ok) {
      t.kind = IR_TOK_ERROR;
      if (t.len == 0)
        snprintf(t.error, sizeof t.error, "expected a name or a number after '%%'");
      else
        snprintf(t.error, sizeof t.error, "invalid value name '%%%.*s'",
                 (int)(t.len > 40 ? 40 : t.len), t.text);
    }
    advance(lx, n);
    return t;
  } else {
    static const struct {
      char c;
      IrTokKind kind;
    } punct[] = {{'=', IR_TOK_EQUAL},    {'(', IR_TOK_LPAREN},   {')', IR_TOK_RPAREN},
                 {'{', IR_TOK_LBRACE},   {'}', IR_TOK_RBRACE},   {'[', IR_TOK_LBRACKET},
                 {']', IR_TOK_RBRACKET}, {',', IR_TOK_COMMA},    {':', IR_TOK_COLON}};
    n = 1;
    t.kind = IR_TOK_ERROR;
    for (size_t i = 0; i < sizeof punct / sizeof punct[0]; i++)
      if (c == punct[i].c) t.kind = punct[i].kind;
    if (c == '<' && peek(lx, 1) == '-') {
      t.kind = IR_TOK_ARROW;
      n = 2;
    }
    if (t.kind == IR_TOK_ERROR) {
      if (c > ' ' && c < 127)
        snprintf(t.error, sizeof t.error, "unexpected character '%c'", c);
      else
        snprintf(t.error, sizeof t.error, "unexpected byte 0x%02x", c);
    }
  }
  t.len = n;
  advance(lx, n);
  return t;
}

const char *ir_tok_describe(const IrToken *t, char *buf, size_t size) {
  int len = (int)(t->len > 40 ? 40 : t->len);
  switch (t->kind) {
  case IR_TOK_EOF: snprintf(buf, size, "end of file"); break;
  case IR_TOK_NEWLINE: snprintf(buf, size, "end of line"); break;
  case IR_TOK_LABEL: snprintf(buf, size, "%%%.*s", len, t->text); break;
  case IR_TOK_NUMBER: snprintf(buf, size, "number %.*s", len, t->text); break;
  case IR_TOK_ERROR: snprintf(buf, size, "%s", t->error); break;
  default: snprintf(buf, size, "'%.*s'", len, t->text); break;
  }
  return buf;
}

int ir_tok_is(const IrToken *t, const char *word) {
  size_t n = strlen(word);
  return t->kind == IR_TOK_IDENT && t->len == n && memcmp(t->text, word, n) == 0;
}
