/* rt_misreads.h: Levenshtein alignment of each misread sample, its substitutions, misses and
 * additions tallied per pair of symbols. */
#include "runtime/rt_misreads.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/rt_charset.h"
#include "support/rt_assert.h"

/* The code points of s into a new array (*n of them); an invalid byte counts as U+FFFD. */
static uint32_t *code_points(const char *s, int *n) {
  size_t len = s ? strlen(s) : 0;
  uint32_t *cps = rt_xmalloc((len + 1) * sizeof *cps);
  *n = 0;
  for (size_t i = 0; i < len;) {
    uint32_t cp;
    int k = rt_utf8_decode(s + i, len - i, &cp);
    if (k <= 0) cp = 0xFFFD, k = 1;
    cps[(*n)++] = cp;
    i += (size_t)k;
  }
  return cps;
}

static void tally(RtMisreads *m, int *cap, uint32_t truth, uint32_t read) {
  for (int i = 0; i < m->n_pairs; i++)
    if (m->pairs[i].truth == truth && m->pairs[i].read == read) {
      m->pairs[i].count++;
      return;
    }
  if (m->n_pairs == *cap) m->pairs = rt_xrealloc(m->pairs, (size_t)(*cap = *cap ? 2 * *cap : 16) * sizeof *m->pairs);
  m->pairs[m->n_pairs++] = (RtMisreadPair){truth, read, 1};
}

/* One minimum-edit alignment of a (truth) and b (read), its edits tallied. Ties go to a
 * substitution, then a missed symbol, so the same pair of texts always aligns the same way. */
static void align(RtMisreads *m, int *cap, const uint32_t *a, int na, const uint32_t *b, int nb) {
  int w = nb + 1;
  int *dist = rt_xmalloc((size_t)(na + 1) * (size_t)w * sizeof *dist);
  for (int i = 0; i <= na; i++)
    for (int j = 0; j <= nb; j++) {
      int v;
      if (i == 0) v = j;
      else if (j == 0) v = i;
      else {
        v = dist[(i - 1) * w + j - 1] + (a[i - 1] != b[j - 1]);
        if (dist[(i - 1) * w + j] + 1 < v) v = dist[(i - 1) * w + j] + 1;
        if (dist[i * w + j - 1] + 1 < v) v = dist[i * w + j - 1] + 1;
      }
      dist[i * w + j] = v;
    }
  for (int i = na, j = nb; i > 0 || j > 0;) {
    int here = dist[i * w + j];
    if (i > 0 && j > 0 && dist[(i - 1) * w + j - 1] + (a[i - 1] != b[j - 1]) == here) {
      if (a[i - 1] != b[j - 1]) tally(m, cap, a[i - 1], b[j - 1]);
      i--, j--;
    } else if (i > 0 && dist[(i - 1) * w + j] + 1 == here) {
      tally(m, cap, a[--i], 0);
    } else {
      tally(m, cap, 0, b[--j]);
    }
  }
  free(dist);
}

static int most_frequent_first(const void *x, const void *y) {
  const RtMisreadPair *p = x, *q = y;
  if (p->count != q->count) return q->count - p->count;
  if (p->truth != q->truth) return p->truth < q->truth ? -1 : 1;
  return p->read < q->read ? -1 : p->read > q->read;
}

void rt_misreads_count(const char *const *truth, const char *const *read, int n, RtMisreads *out) {
  *out = (RtMisreads){.samples = n};
  int cap = 0;
  for (int i = 0; i < n; i++) {
    const char *t = truth[i] ? truth[i] : "", *r = read[i] ? read[i] : "";
    if (!strcmp(t, r)) continue;
    int na, nb;
    uint32_t *a = code_points(t, &na), *b = code_points(r, &nb);
    out->misread++;
    out->wrong_length += na != nb;
    align(out, &cap, a, na, b, nb);
    free(a);
    free(b);
  }
  if (out->n_pairs > 1) qsort(out->pairs, (size_t)out->n_pairs, sizeof *out->pairs, most_frequent_first);
}

void rt_misreads_free(RtMisreads *m) {
  free(m->pairs);
  *m = (RtMisreads){0};
}

const char *rt_misread_symbol(uint32_t cp, const char *none, char buf[8]) {
  if (!cp) return none;
  buf[rt_utf8_encode(cp, buf)] = 0;
  return buf;
}
