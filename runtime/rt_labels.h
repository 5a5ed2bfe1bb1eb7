/* labels.tsv, the index of a dataset folder (PaddleOCR's format): one `relative/path<TAB>text`
 * line per sample, UTF-8, LF or CRLF line endings. The parser never fails: it returns the good
 * lines and one problem per bad line (with line and column), and the dataset loader decides
 * whether a problem stops the load or skips the sample. Works on memory only (fuzzed). */
#ifndef SMELT_RT_LABELS_H
#define SMELT_RT_LABELS_H

#include <stdbool.h>
#include <stddef.h>

#include "support/rt_arena.h"

typedef struct RtLabelLine {
  int line;         /* 1-based */
  const char *path; /* as written (relative to the folder, or absolute) */
  const char *text; /* the label, valid UTF-8 without control characters */
} RtLabelLine;

/* Something wrong with one line. `fatal` problems drop the line; the others (a byte order mark)
 * are worth a warning only. */
typedef struct RtDataProblem {
  int line, col; /* col 0: the whole line */
  bool fatal;
  const char *msg;
} RtDataProblem;

typedef struct RtLabels {
  RtLabelLine *lines; /* good lines, in file order */
  int count;
  RtDataProblem *problems; /* in file order */
  int problem_count;
  int bad_lines;           /* lines dropped by a fatal problem */
  RtArena arena;           /* owns everything above */
} RtLabels;

/* Parses text[0..len) (need not be NUL-terminated). Empty lines are ignored; a UTF-8 byte order
 * mark at the very start is ignored with a warning. A line is bad when it has a NUL byte, a
 * carriage return other than the one of a CRLF ending, invalid UTF-8, no tab or more than one,
 * an empty path or label, or a control character (rt_symbol_is_forbidden). */
void rt_labels_parse(const char *text, size_t len, RtLabels *out);
void rt_labels_free(RtLabels *l);

#endif
