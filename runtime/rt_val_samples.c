/* Validation samples, label next to prediction, how many the model reads (with the standard
 * error of that over the set) and the errors made most (rt_val_samples.h). */
#include "runtime/rt_val_samples.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/rt_charset.h"
#include "runtime/rt_metrics.h"
#include "runtime/rt_misreads.h"
#include "runtime/rt_results.h"
#include "support/rt_assert.h"

/* Display width of UTF-8 text, counting code points (labels are short single-width symbols). */
static int width_of(const char *s) { return (int)rt_utf8_count(s, strlen(s), NULL); }

/* The file's rows: labels[i] and preds[i], owned. */
typedef struct Rows {
  char **labels, **preds;
  int n, cap;
} Rows;

/* Splits "image<TAB>label<TAB>prediction" in place into *label and *pred; false for a
 * malformed line. */
static bool split_row(char *line, char **label, char **pred) {
  char *tab1 = strchr(line, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
  if (!tab2) return false;
  *tab1 = *tab2 = '\0';
  *label = tab1 + 1;
  *pred = tab2 + 1;
  (*pred)[strcspn(*pred, "\n")] = '\0';
  return true;
}

static void rows_add(Rows *r, const char *label, const char *pred) {
  if (r->n == r->cap) {
    r->cap = r->cap ? 2 * r->cap : 64;
    r->labels = rt_xrealloc(r->labels, (size_t)r->cap * sizeof *r->labels);
    r->preds = rt_xrealloc(r->preds, (size_t)r->cap * sizeof *r->preds);
  }
  r->labels[r->n] = rt_xstrdup(label);
  r->preds[r->n++] = rt_xstrdup(pred);
}

static void rows_free(Rows *r) {
  for (int i = 0; i < r->n; i++) {
    free(r->labels[i]);
    free(r->preds[i]);
  }
  free(r->labels);
  free(r->preds);
}

enum { ERRORS_SHOWN = 3 }; /* the most frequent errors named under the samples */

/* The line under the samples: how many of the set the best model reads, with the standard error
 * of that sequence accuracy (left out at none or all, where the binomial error is 0 and says
 * nothing). */
static void print_read(const RtMisreads *m, FILE *out) {
  int read = m->samples - m->misread;
  double acc = (double)read / m->samples;
  fprintf(out, "  read %d of %d (%.2f%%", read, m->samples, 100 * acc);
  if (read > 0 && read < m->samples) {
    double se = rt_seq_acc_stderr(acc, m->samples);
    fprintf(out, "; standard error %.2f points: a difference under about %.1f is this set's noise", 100 * se, 200 * se);
  }
  fputs(")\n", out);
}

/* Then, when any is misread: how many, and the errors the best model makes most over the set. */
static void print_top_errors(const RtMisreads *m, FILE *out) {
  if (!m->misread) return;
  fprintf(out, "  misread %d of %d, most often:", m->misread, m->samples);
  for (int i = 0; i < m->n_pairs && i < ERRORS_SHOWN; i++) {
    char t[8], r[8];
    fprintf(out, "%s %s -> %s %d%s", i ? "," : "", rt_misread_symbol(m->pairs[i].truth, "(none)", t),
            rt_misread_symbol(m->pairs[i].read, "(none)", r), m->pairs[i].count, i ? "" : " times");
  }
  fprintf(out, " (smelt eval --errors lists all)\n");
}

/* The rows of run_dir/val_predictions.tsv into *rows (malformed lines skipped), its path into
 * path; false when the file cannot be opened. */
static bool rows_load(const char *run_dir, char *path, size_t size, Rows *rows) {
  snprintf(path, size, "%s/%s", run_dir, RT_FILE_VAL_PREDICTIONS);
  FILE *f = fopen(path, "r");
  if (!f) return false;
  char line[4096], *label, *pred;
  while (fgets(line, sizeof line, f))
    if (split_row(line, &label, &pred)) rows_add(rows, label, pred);
  fclose(f);
  return true;
}

int rt_val_samples_count(const char *run_dir) {
  char path[4096];
  Rows rows = {0};
  rows_load(run_dir, path, sizeof path, &rows);
  rows_free(&rows);
  return rows.n;
}

bool rt_val_samples_print(const char *run_dir, int count, FILE *out) {
  char path[4096];
  Rows rows = {0};
  if (!rows_load(run_dir, path, sizeof path, &rows)) return false;
  int w = 5;
  for (int i = 0; i < rows.n && i < count; i++)
    if (width_of(rows.labels[i]) > w) w = width_of(rows.labels[i]);
  if (rows.n) {
    fprintf(out, "validation samples at the best epoch (%s):\n  %-*s  prediction\n", path, w, "label");
    for (int i = 0; i < rows.n && i < count; i++) {
      const char *l = rows.labels[i], *p = rows.preds[i];
      fprintf(out, "  %s%*s  %-*s  %s\n", l, w - width_of(l), "", w, *p ? p : "(none)", strcmp(l, p) ? "wrong" : "ok");
    }
    RtMisreads m;
    rt_misreads_count((const char *const *)rows.labels, (const char *const *)rows.preds, rows.n, &m);
    print_read(&m, out);
    print_top_errors(&m, out);
    rt_misreads_free(&m);
  }
  rows_free(&rows);
  return rows.n > 0;
}
