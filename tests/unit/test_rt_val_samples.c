/* The end-of-run summary of a run's val_predictions.tsv (runtime/rt_val_samples.h): the rows
 * shown, how many of the file are read with the standard error of that, the misreads line, and
 * nothing for a missing file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/rt_val_samples.h"
#include "test_support.h"

/* What rt_val_samples_print writes for a run folder holding `tsv` as its val_predictions.tsv
 * (NULL: no file), and its return value in *printed. Caller frees. */
static char *printed_for(const char *tsv, bool *printed) {
  char dir[] = "/tmp/smelt-val-samples-XXXXXX";
  assert_non_null(mkdtemp(dir));
  if (tsv) {
    char path[256];
    snprintf(path, sizeof path, "%s/val_predictions.tsv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(tsv, f);
    fclose(f);
  }
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  *printed = rt_val_samples_print(dir, 2, out);
  fclose(out);
  test_remove_tree(dir);
  return text;
}

static void test_summary_lines(void **state) {
  (void)state;
  bool printed;
  char *text = printed_for("a.png\tAB12\tAB12\nb.png\tC3\tC8\nc.png\tXYZ\tXYZ\nd.png\t77\t\n", &printed);
  assert_true(printed);
  assert_non_null(strstr(text, "  AB12   AB12   ok\n"));
  assert_non_null(strstr(text, "  C3     C8     wrong\n"));
  assert_null(strstr(text, "XYZ")); /* two rows shown */
  /* 2 of 4 read: sqrt(0.5 * 0.5 / 4) = 25 points */
  assert_non_null(strstr(text, "  read 2 of 4 (50.00%; standard error 25.00 points: a difference under about 50.0 is "
                               "this set's noise)\n  misread 2 of 4, most often:"));
  free(text);
  text = printed_for("a.png\tAB\tAB\n", &printed);
  assert_true(printed);
  assert_non_null(strstr(text, "  read 1 of 1 (100.00%)\n")); /* no standard error at 0 or all */
  assert_null(strstr(text, "misread"));
  free(text);
  text = printed_for(NULL, &printed);
  assert_false(printed);
  assert_string_equal(text, "");
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_summary_lines),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
