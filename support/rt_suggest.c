/* Levenshtein distance and closest-candidate lookup for diagnostics. */
#include "support/rt_suggest.h"

#include <stdlib.h>
#include <string.h>

#include "support/rt_assert.h"

int rt_edit_distance(const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b);
  int *row = rt_xmalloc((nb + 1) * sizeof *row); /* row[j] = distance(a[:i], b[:j]) */
  for (size_t j = 0; j <= nb; j++) row[j] = (int)j;
  for (size_t i = 1; i <= na; i++) {
    int diag = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= nb; j++) {
      int up = row[j];
      int best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  int d = row[nb];
  free(row);
  return d;
}

static int is_prefix(const char *p, const char *s) { return strncmp(p, s, strlen(p)) == 0; }

const char *rt_suggest(const char *word, const char *const *candidates, int n) {
  size_t len = strlen(word);
  int limit = len / 3 > 1 ? (int)(len / 3) : 1;
  const char *best = NULL;
  int best_d = 1 << 30;
  for (int i = 0; i < n; i++) {
    int d = rt_edit_distance(word, candidates[i]);
    int plausible = d <= limit || (len >= 2 && (is_prefix(word, candidates[i]) ||
                                                is_prefix(candidates[i], word)));
    if (plausible && d < best_d) {
      best = candidates[i];
      best_d = d;
    }
  }
  return best;
}
