/* The labels.tsv parser: splits lines (LF or CRLF), checks each one and records the first
 * problem of a bad line with its column (1-based byte offset), so a message can point at the
 * exact spot. Memory only, no I/O: the dataset loader reads the file, the fuzzer feeds bytes. */
#include "runtime/rt_labels.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt_charset.h"
#include "support/rt_assert.h"

typedef struct Builder {
  RtLabels *out;
  int line_cap, problem_cap;
} Builder;

static void add_problem(Builder *b, int line, int col, bool fatal, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void add_problem(Builder *b, int line, int col, bool fatal, const char *fmt, ...) {
  RtLabels *l = b->out;
  if (l->problem_count == b->problem_cap) {
    b->problem_cap = b->problem_cap ? 2 * b->problem_cap : 16;
    l->problems = rt_xrealloc(l->problems, (size_t)b->problem_cap * sizeof *l->problems);
  }
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  l->problems[l->problem_count++] =
      (RtDataProblem){.line = line, .col = col, .fatal = fatal, .msg = rt_arena_strdup(&l->arena, buf)};
  if (fatal) l->bad_lines++;
}

/* The first problem of the line s[0..n) (CR of a CRLF already removed), or true if none. */
static bool check_line(Builder *b, int line, const char *s, size_t n, size_t *tab_out) {
  const char *nul = memchr(s, '\0', n);
  if (nul) {
    add_problem(b, line, (int)(nul - s) + 1, true, "NUL byte in the line (is this a text file?)");
    return false;
  }
  const char *cr = memchr(s, '\r', n);
  if (cr) {
    add_problem(b, line, (int)(cr - s) + 1, true,
                "carriage return inside the line (only LF or CRLF line endings are supported)");
    return false;
  }
  size_t bad;
  if (rt_utf8_count(s, n, &bad) < 0) {
    add_problem(b, line, (int)bad + 1, true, "invalid UTF-8 (byte 0x%02X)", (unsigned char)s[bad]);
    return false;
  }
  const char *tab = memchr(s, '\t', n);
  if (!tab) {
    add_problem(b, line, 0, true, "expected 'image-path<TAB>label', found no tab");
    return false;
  }
  size_t t = (size_t)(tab - s);
  const char *tab2 = memchr(tab + 1, '\t', n - t - 1);
  if (tab2) {
    add_problem(b, line, (int)(tab2 - s) + 1, true, "more than one tab (labels cannot contain tabs)");
    return false;
  }
  if (t == 0) {
    add_problem(b, line, 1, true, "empty image path");
    return false;
  }
  if (t + 1 == n) {
    add_problem(b, line, (int)t + 2, true, "empty label");
    return false;
  }
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    int k = rt_utf8_decode(s + i, n - i, &cp);
    if (i != t && rt_symbol_is_forbidden(cp)) {
      add_problem(b, line, (int)i + 1, true, "control character U+%04X in the %s", cp,
                  i < t ? "image path" : "label");
      return false;
    }
    i += (size_t)k;
  }
  *tab_out = t;
  return true;
}

void rt_labels_parse(const char *text, size_t len, RtLabels *out) {
  *out = (RtLabels){0};
  Builder b = {.out = out};
  size_t pos = 0;
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
    add_problem(&b, 1, 1, false, "UTF-8 byte order mark ignored");
    pos = 3;
  }
  for (int line = 1; pos < len; line++) {
    const char *s = text + pos;
    const char *nl = memchr(s, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - s) : len - pos;
    pos += n + (nl ? 1 : 0);
    if (n > 0 && s[n - 1] == '\r') n--; /* CRLF */
    if (n == 0) continue;
    if (n > INT32_MAX / 2) { /* a column would not fit in an int */
      add_problem(&b, line, 0, true, "line too long");
      continue;
    }
    size_t tab;
    if (!check_line(&b, line, s, n, &tab)) continue;
    if (out->count == b.line_cap) {
      b.line_cap = b.line_cap ? 2 * b.line_cap : 64;
      out->lines = rt_xrealloc(out->lines, (size_t)b.line_cap * sizeof *out->lines);
    }
    out->lines[out->count++] = (RtLabelLine){
        .line = line,
        .path = rt_arena_strndup(&out->arena, s, tab),
        .text = rt_arena_strndup(&out->arena, s + tab + 1, n - tab - 1),
    };
  }
}

void rt_labels_free(RtLabels *l) {
  free(l->lines);
  free(l->problems);
  rt_arena_free(&l->arena);
  *l = (RtLabels){0};
}
