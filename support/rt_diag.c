/* Collecting, formatting and printing RtDiags. */
#include "support/rt_diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "support/rt_assert.h"

static const char *const LEVEL_NAMES[] = {"error", "warning", "note"};

void rt_diag_add(RtDiags *d, RtDiagLevel level, const char *file, int line, int col,
                 const char *fmt, ...) {
  if (d->count == d->cap) {
    d->cap = d->cap ? 2 * d->cap : 8;
    d->items = rt_xrealloc(d->items, (size_t)d->cap * sizeof *d->items);
  }
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  d->items[d->count++] = (RtDiag){level, rt_xstrdup(file ? file : ""), line, col, rt_xstrdup(buf)};
  if (level == RT_DIAG_ERROR) d->errors++;
}

void rt_diag_format(const RtDiag *diag, char *buf, size_t size) {
  const char *level = LEVEL_NAMES[diag->level];
  if (diag->line > 0 && diag->col > 0)
    snprintf(buf, size, "%s:%d:%d: %s: %s", diag->file, diag->line, diag->col, level, diag->msg);
  else if (diag->line > 0)
    snprintf(buf, size, "%s:%d: %s: %s", diag->file, diag->line, level, diag->msg);
  else if (diag->file[0])
    snprintf(buf, size, "%s: %s: %s", diag->file, level, diag->msg);
  else
    snprintf(buf, size, "%s: %s", level, diag->msg);
}

void rt_diags_print(const RtDiags *d, FILE *out) {
  char buf[1400];
  for (int i = 0; i < d->count; i++) {
    rt_diag_format(&d->items[i], buf, sizeof buf);
    fprintf(out, "%s\n", buf);
  }
}

void rt_diags_set_file(RtDiags *d, int from, const char *file) {
  for (int i = from; i < d->count; i++) {
    if (d->items[i].file[0]) continue;
    free(d->items[i].file);
    d->items[i].file = rt_xstrdup(file);
  }
}

void rt_diags_free(RtDiags *d) {
  for (int i = 0; i < d->count; i++) {
    free(d->items[i].file);
    free(d->items[i].msg);
  }
  free(d->items);
  *d = (RtDiags){0};
}

const char *rt_diag_shorten(const char *s, char *buf, size_t size) {
  RT_ASSERT(size >= 16, "buffer too small");
  size_t n = strlen(s);
  if (n < size) {
    memcpy(buf, s, n + 1);
    return buf;
  }
  size_t head = (size - 4) / 2, tail = size - 4 - head;
  while (head > 0 && ((unsigned char)s[head] & 0xC0) == 0x80) head--; /* s[head] starts a character */
  size_t from = n - tail;
  while (from < n && ((unsigned char)s[from] & 0xC0) == 0x80) from++;
  memcpy(buf, s, head);
  memcpy(buf + head, "...", 3);
  memcpy(buf + head + 3, s + from, n - from + 1);
  return buf;
}
