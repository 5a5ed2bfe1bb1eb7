/* Diagnostics for user mistakes (YAML, IR text, data, CLI): collected, never fatal, printed as
 * `file:line:col: error: message` (line/col omitted when 0). Every parser and checker appends to
 * an RtDiags so that all problems in a file are reported, not just the first. */
#ifndef SMELT_RT_DIAG_H
#define SMELT_RT_DIAG_H

#include <stdio.h>

typedef enum RtDiagLevel { RT_DIAG_ERROR, RT_DIAG_WARNING, RT_DIAG_NOTE } RtDiagLevel;

typedef struct RtDiag {
  RtDiagLevel level;
  char *file; /* owned; may be "" */
  int line;   /* 1-based; 0 = whole file */
  int col;    /* 1-based; 0 = whole line */
  char *msg;  /* owned */
} RtDiag;

typedef struct RtDiags {
  RtDiag *items;
  int count, cap;
  int errors; /* number of RT_DIAG_ERROR items */
} RtDiags;

void rt_diag_add(RtDiags *d, RtDiagLevel level, const char *file, int line, int col,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
#define rt_diag_error(d, file, line, col, ...) rt_diag_add(d, RT_DIAG_ERROR, file, line, col, __VA_ARGS__)

/* Formats one diagnostic into buf the way rt_diags_print prints it (without newline). */
void rt_diag_format(const RtDiag *diag, char *buf, size_t size);
void rt_diags_print(const RtDiags *d, FILE *out); /* one line each, in the order added */
/* Gives the diagnostics from index `from` on that name no file (passes report positions of
 * parsed nodes without knowing the file) the file name `file`. */
void rt_diags_set_file(RtDiags *d, int from, const char *file);
void rt_diags_free(RtDiags *d);

/* s for a message, whole when it fits in size bytes (NUL included), else its start and its end
 * with "..." between (cut between UTF-8 characters), so that a huge path quoted in a message
 * leaves room for what went wrong. Writes buf (size >= 16) and returns it. */
const char *rt_diag_shorten(const char *s, char *buf, size_t size);

#endif
