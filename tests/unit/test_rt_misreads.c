/* What a model misreads (runtime/rt_misreads.h) on hand-made pairs: exact reads count nothing,
 * substitutions pair the true and the read symbol, a symbol missed or added pairs with nothing
 * and makes a wrong length, UTF-8 symbols pair whole, a missing prediction reads as empty, and
 * the pairs come most frequent first; the number of tallied edits is rt_metrics' edit distance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/rt_metrics.h"
#include "runtime/rt_misreads.h"

#define LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int count_of(const RtMisreads *m, uint32_t truth, uint32_t read) {
  for (int i = 0; i < m->n_pairs; i++)
    if (m->pairs[i].truth == truth && m->pairs[i].read == read) return m->pairs[i].count;
  return 0;
}

static void test_exact_reads_count_nothing(void **state) {
  (void)state;
  const char *truth[] = {"AB12", "", "XYZ"}, *read[] = {"AB12", "", "XYZ"};
  RtMisreads m;
  rt_misreads_count(truth, read, LEN(truth), &m);
  assert_int_equal(m.samples, 3);
  assert_int_equal(m.misread, 0);
  assert_int_equal(m.wrong_length, 0);
  assert_int_equal(m.n_pairs, 0);
  rt_misreads_free(&m);
}

static void test_substitutions_misses_and_additions(void **state) {
  (void)state;
  const char *truth[] = {"O9ZO75", "ABC", "AB", "0079", "K1"};
  const char *read[] = {"09Z075", "AC", "AXB", "OO79", "K1"};
  RtMisreads m;
  rt_misreads_count(truth, read, LEN(truth), &m);
  assert_int_equal(m.misread, 4);
  assert_int_equal(m.wrong_length, 2); /* ABC -> AC, AB -> AXB */
  assert_int_equal(count_of(&m, 'O', '0'), 2);
  assert_int_equal(count_of(&m, '0', 'O'), 2);
  assert_int_equal(count_of(&m, 'B', 0), 1);
  assert_int_equal(count_of(&m, 0, 'X'), 1);
  assert_int_equal(m.n_pairs, 4);
  /* most frequent first, ties by code point: '0' (0x30) before 'O' (0x4F), nothing (0) first */
  assert_int_equal(m.pairs[0].truth, '0');
  assert_int_equal(m.pairs[1].truth, 'O');
  assert_int_equal(m.pairs[2].truth, 0);
  assert_int_equal(m.pairs[3].truth, 'B');
  rt_misreads_free(&m);
  assert_null(m.pairs);
}

static void test_utf8_and_missing_prediction(void **state) {
  (void)state;
  const char *truth[] = {"\xc3\xa9" "1", "Z7"}, *read[] = {"e1", NULL};
  RtMisreads m;
  rt_misreads_count(truth, read, LEN(truth), &m);
  assert_int_equal(m.misread, 2);
  assert_int_equal(m.wrong_length, 1);
  assert_int_equal(count_of(&m, 0xE9, 'e'), 1);
  assert_int_equal(count_of(&m, 'Z', 0), 1);
  assert_int_equal(count_of(&m, '7', 0), 1);
  char buf[8];
  assert_string_equal(rt_misread_symbol(0xE9, "(none)", buf), "\xc3\xa9");
  assert_string_equal(rt_misread_symbol(0, "(none)", buf), "(none)");
  rt_misreads_free(&m);
}

/* An alignment tallies exactly as many edits as the edit distance (rt_metrics.h's). */
static void test_edits_match_edit_distance(void **state) {
  (void)state;
  const char *truth[] = {"kitten", "sunday", "GATTACA", "AAAA", "ABCDEFGH"};
  const char *read[] = {"sitting", "saturday", "TACAGAT", "", "HGFEDCBA"};
  for (int i = 0; i < LEN(truth); i++) {
    int32_t a[16], b[16];
    int64_t na = (int64_t)strlen(truth[i]), nb = (int64_t)strlen(read[i]);
    for (int64_t k = 0; k < na; k++) a[k] = truth[i][k];
    for (int64_t k = 0; k < nb; k++) b[k] = read[i][k];
    RtMisreads m;
    rt_misreads_count(&truth[i], &read[i], 1, &m);
    int64_t edits = 0;
    for (int k = 0; k < m.n_pairs; k++) edits += m.pairs[k].count;
    assert_int_equal(edits, rt_metrics_edit_distance(a, na, b, nb));
    assert_true(edits > 0);
    rt_misreads_free(&m);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exact_reads_count_nothing),
      cmocka_unit_test(test_substitutions_misses_and_additions),
      cmocka_unit_test(test_utf8_and_missing_prediction),
      cmocka_unit_test(test_edits_match_edit_distance),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
