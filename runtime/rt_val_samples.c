/* Validation samples, label next to prediction, and the errors made most (rt_val_samples.h). */
#include "runtime/rt_val_samples.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/rt_charset.h"
#include "runtime/rt_misreads.h"
#include "runtime/rt_results.h"
#include "support/rt_assert.h"

/* Display width of UTF-8 text, counting code points (labels are short single-width symbols). */
static int width_of(const char *s) { return (int)rt_utf8_count(s, strlen(s), NULL); }

typedef struct Row {
  char *label, *pred;
} Row;

/* Splits "image<TAB>label<TAB>prediction" in place; false for a malformed line. */
static bool split_row(char *line, Row *r) {
  char *tab1 = strchr(line, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
  if (!tab2) return false;
  *tab1 = *tab2 = '\0';
  r->label = tab1 + 1;
  r->pred = tab2 + 1;
  r->pred[strcspn(r->pred, "\n")] = '\0';
  return true;
}

enum { ERRORS_SHOWN = 3 }; /* the most frequent errors named under the samples */

/* One line under the samples: the errors the best model makes most over the whole set. */
static void print_top_errors(Row *rows, int n, FILE *out) {
  const char **truth = rt_xmalloc((size_t)n * sizeof *truth), **read = rt_xmalloc((size_t)n * sizeof *read);
  for (int i = 0; i < n; i++) truth[i] = rows[i].label, read[i] = rows[i].pred;
  RtMisreads m;
  rt_misreads_count(truth, read, n, &m);
  if (m.misread) {
    fprintf(out, "  misread %d of %d, most often:", m.misread, m.samples);
    for (int i = 0; i < m.n_pairs && i < ERRORS_SHOWN; i++) {
      char t[8], r[8];
      fprintf(out, "%s %s -> %s %d%s", i ? "," : "", rt_misread_symbol(m.pairs[i].truth, "(none)", t),
              rt_misread_symbol(m.pairs[i].read, "(none)", r), m.pairs[i].count, i ? "" : " times");
    }
    fprintf(out, " (smelt eval --errors lists all)\n");
  }
  rt_misreads_free(&m);
  free(truth);
  free(read);
}

bool rt_val_samples_print(const char *run_dir, int count, FILE *out) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", run_dir, RT_FILE_VAL_PREDICTIONS);
  FILE *f = fopen(path, "r");
  if (!f) return false;
  int n = 0, cap = 64, w = 5;
  Row *rows = rt_xmalloc((size_t)cap * sizeof *rows);
  char line[4096];
  while (fgets(line, sizeof line, f)) {
    Row r;
    if (!split_row(line, &r)) continue;
    if (n == cap) rows = rt_xrealloc(rows, (size_t)(cap *= 2) * sizeof *rows);
    rows[n] = (Row){strdup(r.label), strdup(r.pred)};
    if (n < count && width_of(r.label) > w) w = width_of(r.label);
    n++;
  }
  fclose(f);
  if (n) {
    fprintf(out, "validation samples at the best epoch (%s):\n  %-*s  prediction\n", path, w, "label");
    for (int i = 0; i < n && i < count; i++) {
      int pad = w - width_of(rows[i].label);
      fprintf(out, "  %s%*s  %-*s  %s\n", rows[i].label, pad, "", w, *rows[i].pred ? rows[i].pred : "(none)",
              strcmp(rows[i].label, rows[i].pred) ? "wrong" : "ok");
    }
    print_top_errors(rows, n, out);
  }
  for (int i = 0; i < n; i++) {
    free(rows[i].label);
    free(rows[i].pred);
  }
  free(rows);
  return n > 0;
}
