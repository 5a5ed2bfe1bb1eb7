/* Recognition metrics (runtime/rt_metrics.h) on hand-made cases: edit distances with known
 * answers (insertions, deletions, substitutions, empty sides, long sequences past the stack row),
 * agreement with a full-matrix Levenshtein on random pairs, the accumulator's sequence accuracy,
 * character accuracy (floored) and CER with empty predictions and empty references, batches,
 * merging, and the attention and greedy CTC decoders (also in place). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/rt_metrics.h"

#define LEN(a) ((int64_t)(sizeof(a) / sizeof((a)[0])))
/* Doubles compared within eps (cmocka 1.1.5 only compares floats). */
#define assert_near(a, b, eps)                                                              \
  do {                                                                                      \
    double a_ = (a), b_ = (b);                                                              \
    if (!(fabs(a_ - b_) <= (eps))) fail_msg("%s = %.17g, expected %.17g", #a, a_, b_);       \
  } while (0)

/* Symbol ids from a string, one id per character: sequences read like words in the tests. */
static int64_t ids_of(const char *s, int32_t *out) {
  int64_t n = (int64_t)strlen(s);
  for (int64_t i = 0; i < n; i++) out[i] = (int32_t)(unsigned char)s[i];
  return n;
}

static int64_t dist_str(const char *a, const char *b) {
  int32_t x[256], y[256];
  int64_t nx = ids_of(a, x), ny = ids_of(b, y);
  return rt_metrics_edit_distance(x, nx, y, ny);
}

static void test_edit_distance_known(void **state) {
  (void)state;
  assert_int_equal(dist_str("", ""), 0);
  assert_int_equal(dist_str("abc", "abc"), 0);
  assert_int_equal(dist_str("", "abcd"), 4);     /* empty prediction: every symbol inserted */
  assert_int_equal(dist_str("abcd", ""), 4);     /* empty reference: every symbol deleted */
  assert_int_equal(dist_str("abc", "abxc"), 1);  /* one insertion */
  assert_int_equal(dist_str("abxc", "abc"), 1);  /* one deletion */
  assert_int_equal(dist_str("abc", "axc"), 1);   /* one substitution */
  assert_int_equal(dist_str("kitten", "sitting"), 3);
  assert_int_equal(dist_str("flaw", "lawn"), 2);
  assert_int_equal(dist_str("ab", "ba"), 2);     /* no transpositions in Levenshtein */
  assert_int_equal(dist_str("aaaa", "b"), 4);
  assert_int_equal(dist_str("intention", "execution"), 5);
  /* Negative lengths count as empty. */
  int32_t a[2] = {1, 2};
  assert_int_equal(rt_metrics_edit_distance(a, -3, a, 2), 2);
}

static void test_edit_distance_long(void **state) {
  (void)state;
  enum { N = 300 };
  static int32_t a[N], b[N + 1];
  for (int i = 0; i < N; i++) a[i] = i, b[i + 1] = i;
  b[0] = -1; /* b = [-1, a...]: one insertion in front */
  assert_int_equal(rt_metrics_edit_distance(a, N, b, N + 1), 1);
  assert_int_equal(rt_metrics_edit_distance(b, N + 1, a, N), 1);
  for (int i = 0; i < N; i++) b[i] = i + 1; /* shifted by one: delete 0, append N */
  assert_int_equal(rt_metrics_edit_distance(a, N, b, N), 2);
  assert_int_equal(rt_metrics_edit_distance(a, N, b, 0), N);
}

/* Full (na+1) x (nb+1) matrix, the textbook recurrence. */
static int64_t levenshtein_matrix(const int32_t *a, int na, const int32_t *b, int nb) {
  int64_t m[17][17];
  for (int i = 0; i <= na; i++) m[i][0] = i;
  for (int j = 0; j <= nb; j++) m[0][j] = j;
  for (int i = 1; i <= na; i++)
    for (int j = 1; j <= nb; j++) {
      int64_t best = m[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      if (m[i - 1][j] + 1 < best) best = m[i - 1][j] + 1;
      if (m[i][j - 1] + 1 < best) best = m[i][j - 1] + 1;
      m[i][j] = best;
    }
  return m[na][nb];
}

static void test_edit_distance_random(void **state) {
  (void)state;
  srand(12345);
  for (int trial = 0; trial < 2000; trial++) {
    int32_t a[16], b[16];
    int na = rand() % 17, nb = rand() % 17, alphabet = 1 + rand() % 4;
    for (int i = 0; i < na; i++) a[i] = rand() % alphabet;
    for (int i = 0; i < nb; i++) b[i] = rand() % alphabet;
    int64_t want = levenshtein_matrix(a, na, b, nb);
    assert_int_equal(rt_metrics_edit_distance(a, na, b, nb), want);
    assert_int_equal(rt_metrics_edit_distance(b, nb, a, na), want);
  }
}

static void add_str(RtSeqMetrics *m, const char *pred, const char *ref) {
  int32_t p[64], r[64];
  int64_t np = ids_of(pred, p), nr = ids_of(ref, r);
  rt_seq_metrics_add(m, p, np, r, nr);
}

static void test_accumulator_hand_made(void **state) {
  (void)state;
  RtSeqMetrics m = {0};
  add_str(&m, "abc", "abc");   /* perfect */
  add_str(&m, "ab", "abcd");   /* two deletions */
  add_str(&m, "axc", "abc");   /* one substitution */
  add_str(&m, "abcde", "ab");  /* three insertions */
  assert_int_equal(m.samples, 4);
  assert_int_equal(m.exact, 1);
  assert_int_equal(m.edits, 6);
  assert_int_equal(m.ref_symbols, 12);
  assert_int_equal(m.empty_refs, 0);
  assert_near(rt_seq_metrics_seq_acc(&m), 0.25, 1e-15);
  assert_near(rt_seq_metrics_cer(&m), 0.5, 1e-15);
  assert_near(rt_seq_metrics_char_acc(&m), 0.5, 1e-15);
}

static void test_accumulator_perfect_and_empty_predictions(void **state) {
  (void)state;
  RtSeqMetrics m = {0};
  add_str(&m, "hello", "hello");
  add_str(&m, "w", "w");
  assert_near(rt_seq_metrics_seq_acc(&m), 1.0, 0);
  assert_near(rt_seq_metrics_char_acc(&m), 1.0, 0);
  assert_near(rt_seq_metrics_cer(&m), 0.0, 0);

  RtSeqMetrics e = {0}; /* a model that predicts nothing */
  add_str(&e, "", "abc");
  add_str(&e, "", "de");
  assert_int_equal(e.edits, 5);
  assert_near(rt_seq_metrics_seq_acc(&e), 0.0, 0);
  assert_near(rt_seq_metrics_char_acc(&e), 0.0, 0);
  assert_near(rt_seq_metrics_cer(&e), 1.0, 0);
}

static void test_accumulator_floor_and_cer_above_one(void **state) {
  (void)state;
  RtSeqMetrics m = {0};
  add_str(&m, "xxxxxxxx", "ab"); /* 8 edits (2 substitutions + 6 insertions) over 2 symbols */
  assert_int_equal(m.edits, 8);
  assert_near(rt_seq_metrics_cer(&m), 4.0, 0);    /* not floored */
  assert_near(rt_seq_metrics_char_acc(&m), 0.0, 0); /* floored at 0, not -3 */
}

static void test_accumulator_empty_references(void **state) {
  (void)state;
  RtSeqMetrics m = {0};
  add_str(&m, "", "");   /* empty reference, empty prediction: exact */
  assert_int_equal(m.exact, 1);
  assert_int_equal(m.empty_refs, 1);
  assert_near(rt_seq_metrics_seq_acc(&m), 1.0, 0);
  assert_near(rt_seq_metrics_cer(&m), 0.0, 0); /* 0 / max(0, 1) */
  assert_near(rt_seq_metrics_char_acc(&m), 1.0, 0);
  add_str(&m, "ab", ""); /* empty reference, two symbols predicted: 2 edits, denominator still 1 */
  assert_int_equal(m.edits, 2);
  assert_near(rt_seq_metrics_seq_acc(&m), 0.5, 0);
  assert_near(rt_seq_metrics_cer(&m), 2.0, 0);
  assert_near(rt_seq_metrics_char_acc(&m), 0.0, 0);
  add_str(&m, "abcd", "abcd"); /* now the denominator is the 4 reference symbols */
  assert_int_equal(m.empty_refs, 2);
  assert_near(rt_seq_metrics_cer(&m), 0.5, 0);
  assert_near(rt_seq_metrics_char_acc(&m), 0.5, 0);
  assert_near(rt_seq_metrics_seq_acc(&m), 2.0 / 3.0, 1e-15);
}

static void test_accumulator_no_samples(void **state) {
  (void)state;
  RtSeqMetrics m = {0};
  assert_true(isnan(rt_seq_metrics_seq_acc(&m)));
  assert_true(isnan(rt_seq_metrics_char_acc(&m)));
  assert_true(isnan(rt_seq_metrics_cer(&m)));
}

static void test_accumulator_batch_and_merge(void **state) {
  (void)state;
  /* Rows padded to stride 4 with junk that must be ignored; lengths clamped to the stride. */
  int32_t pred[3 * 4] = {1, 2, 3, 99, /**/ 5, 99, 99, 99, /**/ 7, 8, 9, 10};
  int64_t pred_len[3] = {3, 1, 9};
  int32_t ref[3 * 5] = {1, 2, 3, 77, 77, /**/ 5, 6, 77, 77, 77, /**/ 7, 8, 9, 10, 77};
  int64_t ref_len[3] = {3, 2, 4};
  RtSeqMetrics batch = {0};
  rt_seq_metrics_add_batch(&batch, 3, pred, 4, pred_len, ref, 5, ref_len);
  assert_int_equal(batch.samples, 3);
  assert_int_equal(batch.exact, 2);
  assert_int_equal(batch.edits, 1);
  assert_int_equal(batch.ref_symbols, 9);

  RtSeqMetrics one = {0}, two = {0}, all = {0};
  add_str(&one, "abc", "abd");
  add_str(&two, "", "xy");
  add_str(&two, "q", "q");
  add_str(&all, "abc", "abd");
  add_str(&all, "", "xy");
  add_str(&all, "q", "q");
  rt_seq_metrics_merge(&one, &two);
  assert_memory_equal(&one, &all, sizeof all);
}

static void test_decode_attention(void **state) {
  (void)state;
  enum { END = 0 };
  int32_t out[8];
  int32_t a[] = {5, 6, 7, END, 8, END};
  assert_int_equal(rt_decode_attention(a, LEN(a), END, out), 3);
  assert_int_equal(out[0], 5);
  assert_int_equal(out[2], 7);
  int32_t b[] = {END, 5, 6}; /* end first: empty prediction */
  assert_int_equal(rt_decode_attention(b, LEN(b), END, out), 0);
  int32_t c[] = {4, 4, 3}; /* no end token: the whole sequence */
  assert_int_equal(rt_decode_attention(c, LEN(c), END, out), 3);
  assert_int_equal(out[1], 4);
  assert_int_equal(rt_decode_attention(c, 0, END, out), 0);
  int32_t d[] = {9, 8, 2, 1}; /* another end id; in place */
  assert_int_equal(rt_decode_attention(d, LEN(d), 2, d), 2);
  assert_int_equal(d[0], 9);
  assert_int_equal(d[1], 8);
}

static void check_ctc(const int32_t *in, int64_t n, int32_t blank, const int32_t *want, int64_t want_n) {
  int32_t out[32], inplace[32];
  assert_int_equal(rt_decode_ctc_greedy(in, n, blank, out), want_n);
  if (want_n) assert_memory_equal(out, want, (size_t)want_n * sizeof *want);
  memcpy(inplace, in, (size_t)n * sizeof *in);
  assert_int_equal(rt_decode_ctc_greedy(inplace, n, blank, inplace), want_n);
  if (want_n) assert_memory_equal(inplace, want, (size_t)want_n * sizeof *want);
}

static void test_decode_ctc(void **state) {
  (void)state;
  enum { B = 0 };
  int32_t a[] = {1, 1, B, 1}, wa[] = {1, 1}; /* a blank separates a doubled letter */
  check_ctc(a, LEN(a), B, wa, 2);
  int32_t b[] = {1, 1, 1}, wb[] = {1}; /* repeats merge */
  check_ctc(b, LEN(b), B, wb, 1);
  int32_t c[] = {B, 3, 3, B, B, 4, 4, B, 3}, wc[] = {3, 4, 3};
  check_ctc(c, LEN(c), B, wc, 3);
  int32_t d[] = {B, B, B}; /* all blank: empty */
  check_ctc(d, LEN(d), B, NULL, 0);
  check_ctc(d, 0, B, NULL, 0);
  int32_t e[] = {2, 5, 5, 2, 5, 1, 1}, we[] = {2, 2, 1}; /* blank is the last class here (5) */
  check_ctc(e, LEN(e), 5, we, 3);
  int32_t f[] = {7, 8, 7, 8}, wf[] = {7, 8, 7, 8}; /* alternating: nothing merges */
  check_ctc(f, LEN(f), B, wf, 4);
}

/* The binomial standard error of a sequence accuracy: known values, the ends, bad input. */
static void test_seq_acc_stderr(void **state) {
  (void)state;
  assert_true(fabs(rt_seq_acc_stderr(0.95, 1000) - 0.0068920) < 1e-7); /* sqrt(0.95 * 0.05 / 1000) */
  assert_true(fabs(rt_seq_acc_stderr(0.5, 100) - 0.05) < 1e-12);
  assert_true(rt_seq_acc_stderr(0.95, 10000) < rt_seq_acc_stderr(0.95, 1000)); /* shrinks with n */
  assert_true(rt_seq_acc_stderr(0.0, 32) == 0.0 && rt_seq_acc_stderr(1.0, 32) == 0.0);
  assert_true(isnan(rt_seq_acc_stderr(0.5, 0)) && isnan(rt_seq_acc_stderr(1.5, 10)) && isnan(rt_seq_acc_stderr(NAN, 10)));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_edit_distance_known),
      cmocka_unit_test(test_edit_distance_long),
      cmocka_unit_test(test_edit_distance_random),
      cmocka_unit_test(test_accumulator_hand_made),
      cmocka_unit_test(test_accumulator_perfect_and_empty_predictions),
      cmocka_unit_test(test_accumulator_floor_and_cer_above_one),
      cmocka_unit_test(test_accumulator_empty_references),
      cmocka_unit_test(test_accumulator_no_samples),
      cmocka_unit_test(test_accumulator_batch_and_merge),
      cmocka_unit_test(test_decode_attention),
      cmocka_unit_test(test_decode_ctc),
      cmocka_unit_test(test_seq_acc_stderr),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
