/* Recognition metrics over symbol-id sequences (fixed definitions, docs/outputs.md):
 *   sequence accuracy = exact matches / samples,
 *   CER               = sum of edit distances / max(sum of reference lengths, 1),
 *   character accuracy = max(0, 1 - CER).
 * Edit distance is Levenshtein's (unit-cost insertions, deletions, substitutions). Plus the two
 * greedy decoders that turn a model's per-step argmax ids into a symbol sequence. */
#ifndef SMELT_RT_METRICS_H
#define SMELT_RT_METRICS_H

#include <stdint.h>

/* Levenshtein distance between a[0..na) and b[0..nb); O(na * nb) time, O(min) memory. */
int64_t rt_metrics_edit_distance(const int32_t *a, int64_t na, const int32_t *b, int64_t nb);

/* Running totals; zero-initialise, add samples, read the rates. Totals (not rates) are kept so
 * that batches, threads or MPI ranks merge exactly.
 * Empty references: they count as samples (exact when the prediction is empty too), their edit
 * distance (= the prediction's length) adds to the numerator, and the denominator is
 * max(sum of reference lengths, 1), so an all-empty set scores CER = number of predicted symbols. */
typedef struct RtSeqMetrics {
  int64_t samples;     /* sequences seen */
  int64_t exact;       /* predictions equal to their reference */
  int64_t edits;       /* sum of edit distances */
  int64_t ref_symbols; /* sum of reference lengths */
  int64_t empty_refs;  /* references of length 0 (counted, reported for data checks) */
} RtSeqMetrics;

void rt_seq_metrics_add(RtSeqMetrics *m, const int32_t *pred, int64_t pred_len, const int32_t *ref,
                        int64_t ref_len);
/* A batch of B rows: pred (B, pred_stride) with pred_len (B), ref (B, ref_stride) with ref_len (B).
 * Lengths are clamped to [0, stride]. */
void rt_seq_metrics_add_batch(RtSeqMetrics *m, int64_t batch, const int32_t *pred, int64_t pred_stride,
                              const int64_t *pred_len, const int32_t *ref, int64_t ref_stride,
                              const int64_t *ref_len);
void rt_seq_metrics_merge(RtSeqMetrics *into, const RtSeqMetrics *from);

/* The rates. With no samples at all they are undefined and return NaN. */
double rt_seq_metrics_seq_acc(const RtSeqMetrics *m);
double rt_seq_metrics_char_acc(const RtSeqMetrics *m); /* floored at 0 */
double rt_seq_metrics_cer(const RtSeqMetrics *m);      /* not floored: may exceed 1 */
/* One standard error of a sequence accuracy p measured on n independent samples (binomial,
 * sqrt(p (1 - p) / n)): how far two models' figures on the same n samples may lie apart by the
 * draw of the samples alone. NaN for n < 1 or p outside [0, 1]. (Not given for character
 * accuracy: the symbols of one sample are not independent draws.) */
double rt_seq_acc_stderr(double p, int64_t n);

/* Attention decoding: the symbols before the first end_id (all n when there is none). Writes them
 * to out (which may be ids itself) and returns their count. */
int64_t rt_decode_attention(const int32_t *ids, int64_t n, int32_t end_id, int32_t *out);

/* Greedy CTC decoding (Graves et al. 2006, best path): merge runs of the same id, then drop
 * blank_id, so "a a - a" gives "a a" and "a a a" gives "a". out may be ids itself. */
int64_t rt_decode_ctc_greedy(const int32_t *ids, int64_t n, int32_t blank_id, int32_t *out);

#endif
