/* Internal to the IR text parser (ir_parse.c): the lexer. It splits a byte buffer (not
 * NUL-terminated, may hold any bytes: it is fuzzed) into tokens with 1-based line:col. A
 * statement is one line, so newlines are tokens; comments (# to end of line) and other
 * whitespace are skipped. Tokens point into the buffer, which must outlive them. */
#ifndef SMELT_IR_LEX_H
#define SMELT_IR_LEX_H

#include <stddef.h>

typedef enum IrTokKind {
  IR_TOK_EOF,
  IR_TOK_NEWLINE,
  IR_TOK_IDENT,  /* [A-Za-z_][A-Za-z0-9_.]*: keywords, op names, dtypes, attribute names */
  IR_TOK_LABEL,  /* %name or %123; text excludes the '%' */
  IR_TOK_NUMBER, /* [+-]? digits [. digits] [e [+-] digits], or [+-]inf */
  IR_TOK_EQUAL,
  IR_TOK_LPAREN,
  IR_TOK_RPAREN,
  IR_TOK_LBRACE,
  IR_TOK_RBRACE,
  IR_TOK_LBRACKET,
  IR_TOK_RBRACKET,
  IR_TOK_COMMA,
  IR_TOK_COLON,
  IR_TOK_ARROW, /* <- */
  IR_TOK_ERROR  /* a byte or label that cannot start a token; `error` says why */
} IrTokKind;

typedef struct IrToken {
  IrTokKind kind;
  const char *text; /* the token's bytes, `len` of them */
  size_t len;
  int line, col;
  char error[80]; /* IR_TOK_ERROR only */
} IrToken;

typedef struct IrLexer {
  const char *p, *end;
  int line, col;
} IrLexer;

void ir_lex_init(IrLexer *lx, const char *text, size_t len);
IrToken ir_lex_next(IrLexer *lx);
/* Describes a token for "expected X, found Y" messages: "end of line", "'='", "'foo'",
 * "%x", "number 3". */
const char *ir_tok_describe(const IrToken *t, char *buf, size_t size);
/* true when the token is an identifier spelled exactly `word` */
int ir_tok_is(const IrToken *t, const char *word);

#endif
