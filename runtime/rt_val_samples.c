/* Validation samples, label next to prediction (rt_val_samples.h). */
#include "runtime/rt_val_samples.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/rt_charset.h"
#include "runtime/rt_results.h"

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

bool rt_val_samples_print(const char *run_dir, int count, FILE *out) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", run_dir, RT_FILE_VAL_PREDICTIONS);
  FILE *f = fopen(path, "r");
  if (!f) return false;
  Row *rows = calloc((size_t)count, sizeof *rows);
  char line[4096];
  int n = 0, w = 5;
  while (n < count && fgets(line, sizeof line, f)) {
    Row r;
    if (!split_row(line, &r)) continue;
    rows[n] = (Row){strdup(r.label), strdup(r.pred)};
    if (width_of(r.label) > w) w = width_of(r.label);
    n++;
  }
  fclose(f);
  if (n) {
    fprintf(out, "validation samples at the best epoch (%s):\n  %-*s  prediction\n", path, w, "label");
    for (int i = 0; i < n; i++) {
      int pad = w - width_of(rows[i].label);
      fprintf(out, "  %s%*s  %-*s  %s\n", rows[i].label, pad, "", w, *rows[i].pred ? rows[i].pred : "(none)",
              strcmp(rows[i].label, rows[i].pred) ? "wrong" : "ok");
    }
  }
  for (int i = 0; i < n; i++) {
    free(rows[i].label);
    free(rows[i].pred);
  }
  free(rows);
  return n > 0;
}
