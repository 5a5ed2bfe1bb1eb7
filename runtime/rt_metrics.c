/* Edit distance, the recognition-metric accumulator and the greedy decoders (rt_metrics.h).
 * The edit distance is the Wagner-Fischer dynamic programme kept to one row over the shorter
 * sequence; validation labels are a few dozen symbols, so a small stack row covers them. */
#include "runtime/rt_metrics.h"

#include <math.h>
#include <stdlib.h>

#include "support/rt_assert.h"

int64_t rt_metrics_edit_distance(const int32_t *a, int64_t na, const int32_t *b, int64_t nb) {
  if (na < 0) na = 0;
  if (nb < 0) nb = 0;
  if (nb > na) { /* keep the row over the shorter sequence */
    const int32_t *t = a; a = b; b = t;
    int64_t tn = na; na = nb; nb = tn;
  }
  if (nb == 0) return na;
  int64_t stack_row[128];
  int64_t *row = nb + 1 <= 128 ? stack_row : rt_xmalloc((size_t)(nb + 1) * sizeof *row);
  /* row[j] = distance(a[:i], b[:j]) for the current i. */
  for (int64_t j = 0; j <= nb; j++) row[j] = j;
  for (int64_t i = 1; i <= na; i++) {
    int64_t diag = row[0]; /* distance(a[:i-1], b[:j-1]) */
    row[0] = i;
    for (int64_t j = 1; j <= nb; j++) {
      int64_t up = row[j];
      int64_t best = diag + (a[i - 1] != b[j - 1]); /* substitution or match */
      if (up + 1 < best) best = up + 1;             /* deletion from a */
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1; /* insertion into a */
      row[j] = best;
      diag = up;
    }
  }
  int64_t dist = row[nb];
  if (row != stack_row) free(row);
  return dist;
}

void rt_seq_metrics_add(RtSeqMetrics *m, const int32_t *pred, int64_t pred_len, const int32_t *ref,
                        int64_t ref_len) {
  if (pred_len < 0) pred_len = 0;
  if (ref_len < 0) ref_len = 0;
  int64_t dist = rt_metrics_edit_distance(pred, pred_len, ref, ref_len);
  m->samples++;
  m->exact += dist == 0;
  m->edits += dist;
  m->ref_symbols += ref_len;
  m->empty_refs += ref_len == 0;
}

static int64_t clamp_len(int64_t len, int64_t stride) { return len < 0 ? 0 : len > stride ? stride : len; }

void rt_seq_metrics_add_batch(RtSeqMetrics *m, int64_t batch, const int32_t *pred, int64_t pred_stride,
                              const int64_t *pred_len, const int32_t *ref, int64_t ref_stride,
                              const int64_t *ref_len) {
  RT_ASSERT(pred_stride >= 0 && ref_stride >= 0, "negative stride");
  for (int64_t b = 0; b < batch; b++)
    rt_seq_metrics_add(m, pred + b * pred_stride, clamp_len(pred_len[b], pred_stride),
                       ref + b * ref_stride, clamp_len(ref_len[b], ref_stride));
}

void rt_seq_metrics_merge(RtSeqMetrics *into, const RtSeqMetrics *from) {
  into->samples += from->samples;
  into->exact += from->exact;
  into->edits += from->edits;
  into->ref_symbols += from->ref_symbols;
  into->empty_refs += from->empty_refs;
}

double rt_seq_metrics_seq_acc(const RtSeqMetrics *m) {
  return m->samples ? (double)m->exact / (double)m->samples : NAN;
}

double rt_seq_metrics_cer(const RtSeqMetrics *m) {
  if (!m->samples) return NAN;
  return (double)m->edits / (double)(m->ref_symbols > 1 ? m->ref_symbols : 1);
}

double rt_seq_acc_stderr(double p, int64_t n) {
  if (n < 1 || !(p >= 0 && p <= 1)) return NAN;
  return sqrt(p * (1 - p) / (double)n);
}

double rt_seq_metrics_char_acc(const RtSeqMetrics *m) {
  if (!m->samples) return NAN;
  double acc = 1.0 - rt_seq_metrics_cer(m);
  return acc > 0.0 ? acc : 0.0;
}

int64_t rt_decode_attention(const int32_t *ids, int64_t n, int32_t end_id, int32_t *out) {
  int64_t k = 0;
  for (; k < n && ids[k] != end_id; k++) out[k] = ids[k];
  return k;
}

int64_t rt_decode_ctc_greedy(const int32_t *ids, int64_t n, int32_t blank_id, int32_t *out) {
  int64_t k = 0;
  int32_t prev = blank_id; /* held aside: out may overwrite ids[i - 1] */
  for (int64_t i = 0; i < n; i++) {
    int32_t id = ids[i];
    if (id != blank_id && (i == 0 || id != prev)) out[k++] = id;
    prev = id;
  }
  return k;
}
